"""``govssi bbs keygen|sign|verify|proof|verify-proof``: the STABLE debugging CLI on the BBS draft fixtures' JSON
conventions (see govssi/cli/bbs.py's docstring), run as scripts run it (a subprocess, ``govssi`` fixture).

Fixture files are read from ``../shared/bbs-fixtures`` (never copied); the CLI takes them directly as ``--messages``.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ssi import bbs

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = (REPO_ROOT / ".." / "shared" / "bbs-fixtures").resolve()
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"BBS fixtures not found at {FIXTURES}")


def _fixture(suite_dir: str, name: str) -> tuple[Path, dict[str, Any]]:
    path = FIXTURES / suite_dir / name
    return path, json.loads(path.read_text())


def _ok(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _refused(result: Any, error: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert json.loads(result.stdout)["error"] == error
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def _usage(result: Any, text: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("govssi: usage: ") and text in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("suite", ["BLS12-381-SHA-256", "bls12-381-shake-256"])
def test_keygen_prints_a_matching_key_pair(govssi: Any, suite: str) -> None:
    out = _ok(govssi("bbs", "keygen", "--suite", suite))
    assert out["ciphersuite"] == suite.upper()
    pair = out["keyPair"]
    assert bbs.sk_to_pk(bytes.fromhex(pair["secretKey"])).hex() == pair["publicKey"]


def test_keygen_out_keeps_the_secret_off_stdout(govssi: Any, tmp_path: Path) -> None:
    out = _ok(govssi("bbs", "keygen", "--out", "sk.hex"))
    assert "secretKey" not in out["keyPair"] and out["secretKeyFile"] == "sk.hex"
    path = tmp_path / "sk.hex"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert bbs.sk_to_pk(bytes.fromhex(path.read_text().strip())).hex() == out["keyPair"]["publicKey"]
    _refused(govssi("bbs", "keygen", "--out", "sk.hex"), "io_error")  # never overwrites


@needs_fixtures
@pytest.mark.parametrize("suite_dir", ["bls12-381-sha-256", "bls12-381-shake-256"])
def test_sign_reproduces_the_fixture_and_verify_accepts_it(govssi: Any, tmp_path: Path, suite_dir: str) -> None:
    """signature004 (10 messages): --sk HEX and --sk-file give the fixture's signature; verify takes the output."""
    path, case = _fixture(suite_dir, "signature/signature004.json")
    suite = ["--suite", suite_dir.upper()]
    sk, header = case["signerKeyPair"]["secretKey"], case["header"]
    out = _ok(govssi("bbs", "sign", "--sk", sk, "--header", header, "--messages", str(path), *suite))
    assert out["signature"] == case["signature"] and out["publicKey"] == case["signerKeyPair"]["publicKey"]
    (tmp_path / "sk.hex").write_text(sk + "\n")
    (tmp_path / "signed.json").write_text(json.dumps(out))
    again = _ok(govssi("bbs", "sign", "--sk-file", "sk.hex", "--header", header, "--messages", "signed.json", *suite))
    assert again == out
    pk = out["publicKey"]
    verified = _ok(
        govssi(
            "bbs",
            "verify",
            "--pk",
            pk,
            "--signature",
            out["signature"],
            "--header",
            header,
            "--messages",
            "signed.json",
            *suite,
        )
    )
    assert verified["valid"] is True and verified["messages"] == 10


@needs_fixtures
def test_verify_refuses_an_invalid_fixture(govssi: Any) -> None:
    path, case = _fixture("bls12-381-sha-256", "signature/signature002.json")  # modified message
    result = govssi(
        "bbs",
        "verify",
        "--pk",
        case["signerKeyPair"]["publicKey"],
        "--signature",
        case["signature"],
        "--header",
        case["header"],
        "--messages",
        str(path),
    )
    _refused(result, "bbs_signature_invalid")


@needs_fixtures
def test_verify_proof_accepts_the_fixture_proof(govssi: Any, tmp_path: Path) -> None:
    _, case = _fixture("bls12-381-sha-256", "proof/proof003.json")
    indexes = case["disclosedIndexes"]
    (tmp_path / "disclosed.json").write_text(json.dumps([case["messages"][i] for i in indexes]))
    args = [
        "--pk",
        case["signerPublicKey"],
        "--proof",
        case["proof"],
        "--header",
        case["header"],
        "--messages",
        "disclosed.json",
        "--disclose",
        ",".join(map(str, indexes)),
    ]
    assert _ok(govssi("bbs", "verify-proof", *args, "--ph", case["presentationHeader"]))["valid"] is True
    _refused(govssi("bbs", "verify-proof", *args, "--ph", "00"), "bbs_challenge_mismatch")


@needs_fixtures
def test_proof_round_trip_and_freshness(govssi: Any, tmp_path: Path) -> None:
    """proof → verify-proof with the proof's own output as the messages file; two proofs differ (fresh randomness)."""
    path, case = _fixture("bls12-381-sha-256", "signature/signature004.json")
    args = [
        "--pk",
        case["signerKeyPair"]["publicKey"],
        "--signature",
        case["signature"],
        "--header",
        case["header"],
        "--ph",
        "c0ffee",
        "--messages",
        str(path),
        "--disclose",
        "0,2,4",
    ]
    first, second = _ok(govssi("bbs", "proof", *args)), _ok(govssi("bbs", "proof", *args))
    assert first["proof"] != second["proof"]
    assert first["disclosedMessages"] == [case["messages"][i] for i in (0, 2, 4)] and first["totalMessages"] == 10
    (tmp_path / "p.json").write_text(json.dumps(first))
    check = [
        "--pk",
        first["publicKey"],
        "--proof",
        first["proof"],
        "--header",
        case["header"],
        "--messages",
        "p.json",
        "--disclose",
        "0,2,4",
    ]
    assert _ok(govssi("bbs", "verify-proof", *check, "--ph", "c0ffee"))["disclosedIndexes"] == [0, 2, 4]
    _refused(govssi("bbs", "verify-proof", *check, "--ph", "c0ffef"), "bbs_challenge_mismatch")
    _refused(govssi("bbs", "proof", *args[:-1], "4,2"), "bbs_indexes_not_ascending")
    _refused(govssi("bbs", "proof", *args[:-1], "10"), "bbs_index_out_of_range")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["sign", "--messages", "m.json"], "exactly one of --sk HEX or --sk-file"),
        (["sign", "--sk", "01", "--sk-file", "f", "--messages", "m.json"], "exactly one of"),
        (["sign", "--sk", "0g", "--messages", "m.json"], "--sk must be hex"),
        (["sign", "--sk", "012", "--messages", "m.json"], "--sk must be hex"),
        (["verify", "--pk", "00", "--signature", "00", "--messages", "m.json", "--suite", "P-256"], "--suite"),
        (["proof", "--pk", "00", "--signature", "00", "--messages", "m.json", "--disclose", "1,x"], "--disclose"),
        (["proof", "--pk", "00", "--signature", "00", "--messages", "m.json", "--disclose", "-1"], "--disclose"),
    ],
)
def test_usage_errors(govssi: Any, tmp_path: Path, args: list[str], text: str) -> None:
    (tmp_path / "m.json").write_text("[]")
    _usage(govssi("bbs", *args), text)


def test_pk_must_match_the_secret_key(govssi: Any, tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('["00"]')
    other = bbs.sk_to_pk(bbs.keygen(b"o" * 32)).hex()
    _usage(govssi("bbs", "sign", "--sk", bbs.keygen(b"k" * 32).hex(), "--pk", other, "--messages", "m.json"), "--pk")


@pytest.mark.parametrize("content", ['{"messages": "00"}', '["0"]', "[1]", "not json", '{"other": []}'])
def test_bad_messages_file_is_refused(govssi: Any, tmp_path: Path, content: str) -> None:
    (tmp_path / "m.json").write_text(content)
    result = govssi("bbs", "sign", "--sk", bbs.keygen(b"k" * 32).hex(), "--messages", "m.json")
    assert result.returncode == 1 and json.loads(result.stdout)["error"] == "bad_input_file", result.stdout


def test_library_refusals_carry_the_reason(govssi: Any, tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('["00"]')
    _refused(govssi("bbs", "sign", "--sk", "00" * 32, "--messages", "m.json"), "bbs_invalid_secret_key")
    sk = bbs.keygen(b"k" * 32)
    signature = bbs.sign(sk, bbs.sk_to_pk(sk), [b"\x00"]).hex()
    identity = "c0" + "00" * 95  # the identity of G2 (§4.2.4.6 step 4)
    _refused(
        govssi("bbs", "verify", "--pk", identity, "--signature", signature, "--messages", "m.json"),
        "bbs_identity_point",
    )
    _refused(
        govssi("bbs", "verify", "--pk", identity, "--signature", "00" * 80, "--messages", "m.json"), "bbs_invalid_point"
    )  # the signature is decoded first (CoreVerify Deserialization 1)
