"""``govssi keys generate`` and the CLI output contract (DESIGN.md §3: JSON on stdout, exit 0/1/2, no tracebacks)."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ssi.keys import ALGORITHMS, PublicKey, is_encrypted, jwk_thumbprint, load_private_key, read_jwk_file

PASSPHRASE = "Heidestraße 17, 51147 Köln"


def _assert_clean_stderr(result: subprocess.CompletedProcess[str]) -> None:
    """Never a traceback; a failure says one human line."""
    assert "Traceback" not in result.stderr
    assert "Error:" not in result.stderr or result.returncode == 2
    assert len(result.stderr.strip().splitlines()) <= 1 or result.returncode == 2


def _assert_failure_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 1, result
    out = json.loads(result.stdout)
    assert set(out) == {"error", "error_description"}
    assert out["error"] and out["error_description"]
    assert result.stderr.startswith("govssi: ")
    assert len(result.stderr.strip().splitlines()) == 1
    _assert_clean_stderr(result)
    return dict(out)


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_generate_each_algorithm(govssi: Any, tmp_path: Path, alg: str) -> None:
    result = govssi("keys", "generate", "--alg", alg, "--out", "key.jwk")
    assert result.returncode == 0, result.stderr
    _assert_clean_stderr(result)
    out = json.loads(result.stdout)
    assert set(out) == {"alg", "kid", "public_jwk", "file", "encrypted", "did_key", "did_jwk"}
    assert out["did_key"].startswith("did:key:z") and out["did_jwk"].startswith("did:jwk:")
    assert out["alg"] == alg
    assert out["encrypted"] is False
    assert out["file"] == "key.jwk"
    public = out["public_jwk"]
    assert "d" not in public
    assert public["kid"] == out["kid"] == jwk_thumbprint(public)  # RFC 7638 thumbprint by default
    assert PublicKey.from_jwk(public).alg == alg

    path = tmp_path / "key.jwk"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_private_key(path)
    assert key.alg == alg
    assert key.public_key == PublicKey.from_jwk(public)
    assert read_jwk_file(path)["kid"] == out["kid"]


@pytest.mark.parametrize("encrypt", [False, True])
def test_generate_says_one_human_line_and_keeps_stdout(govssi: Any, tmp_path: Path, encrypt: bool) -> None:
    """README, "The govssi command line": commands meant for scripts print one JSON object on stdout "and one human
    line on stderr". The line names the key and the file (never key material); stdout stays the JSON document it
    always was — same members in the same order, indented as :func:`govssi.cli._output.emit` prints it."""
    args = ["keys", "generate", "--alg", "ES256", "--out", "key.jwk", "--kid", "k-2026"]
    env = {"GOVSSI_KEY_PASSPHRASE": PASSPHRASE} if encrypt else None
    result = govssi(*args, *(["--encrypt"] if encrypt else []), env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert list(out) == ["alg", "kid", "public_jwk", "file", "encrypted", "did_key", "did_jwk"]
    assert result.stdout == json.dumps(out, indent=2, ensure_ascii=False) + "\n"
    (line,) = result.stderr.splitlines()
    assert line.startswith("govssi: ") and "ES256" in line and "k-2026" in line and "key.jwk" in line
    assert ("(encrypted" in line) is encrypt and ("(not encrypted" in line) is not encrypt
    private = read_jwk_file(tmp_path / "key.jwk")
    assert not encrypt or is_encrypted(private)
    if not encrypt:
        assert private["d"] not in result.stderr + result.stdout


def test_passphrase_prompt_goes_to_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At a terminal the passphrase is asked on stderr: stdout carries only the JSON (``generate --encrypt > key.json``
    must stay parseable)."""
    from typer.testing import CliRunner

    from govssi.cli import keys

    monkeypatch.delenv("GOVSSI_KEY_PASSPHRASE", raising=False)
    monkeypatch.setattr(keys, "_interactive", lambda: True)
    out_file = tmp_path / "k.jwk"
    result = CliRunner().invoke(
        keys.app, ["generate", "--alg", "ES256", "--out", str(out_file), "--encrypt"], input=f"{PASSPHRASE}\n" * 2
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert json.loads(result.stdout)["encrypted"] is True
    assert "Passphrase" in result.stderr and "Passphrase" not in result.stdout
    assert is_encrypted(read_jwk_file(out_file))


def test_generate_with_explicit_kid(govssi: Any, tmp_path: Path) -> None:
    result = govssi("keys", "generate", "--alg", "ES256", "--out", "k.jwk", "--kid", "issuer-2026-1")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["kid"] == out["public_jwk"]["kid"] == "issuer-2026-1"
    assert read_jwk_file(tmp_path / "k.jwk")["kid"] == "issuer-2026-1"


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_generate_encrypted_with_passphrase_from_environment(govssi: Any, tmp_path: Path, alg: str) -> None:
    result = govssi(
        "keys", "generate", "--alg", alg, "--out", "k.json", "--encrypt", env={"GOVSSI_KEY_PASSPHRASE": PASSPHRASE}
    )
    assert result.returncode == 0, result.stderr
    _assert_clean_stderr(result)
    out = json.loads(result.stdout)
    assert out["encrypted"] is True
    path = tmp_path / "k.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = read_jwk_file(path)
    assert is_encrypted(doc)
    assert "d" not in doc["public_jwk"]
    assert doc["kid"] == out["kid"]
    key = load_private_key(path, PASSPHRASE)
    assert key.public_key == PublicKey.from_jwk(out["public_jwk"])
    assert PASSPHRASE not in result.stdout + result.stderr


@pytest.mark.parametrize("alg", ["RS256", "none", "HS256", "es256", "ES384", "Ed25519", ""])
def test_bad_alg_is_a_usage_error(govssi: Any, tmp_path: Path, alg: str) -> None:
    result = govssi("keys", "generate", "--alg", alg, "--out", "k.jwk")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--alg" in result.stderr
    _assert_clean_stderr(result)
    assert not (tmp_path / "k.jwk").exists()


@pytest.mark.parametrize("env", [{}, {"GOVSSI_KEY_PASSPHRASE": ""}])
def test_encrypt_without_passphrase_and_no_tty_is_a_usage_error(
    govssi: Any, tmp_path: Path, env: dict[str, str]
) -> None:
    result = govssi("keys", "generate", "--alg", "ES256", "--out", "k.json", "--encrypt", env=env)
    assert result.returncode == 2
    assert "GOVSSI_KEY_PASSPHRASE" in result.stderr
    _assert_clean_stderr(result)
    assert not (tmp_path / "k.json").exists()


def test_existing_file_is_not_overwritten(govssi: Any, tmp_path: Path) -> None:
    path = tmp_path / "k.jwk"
    path.write_text("precious")
    result = govssi("keys", "generate", "--alg", "ES256", "--out", "k.jwk")
    out = _assert_failure_json(result)
    assert out["error"] == "exists"
    assert path.read_text() == "precious"


def test_unwritable_location_fails_with_json(govssi: Any) -> None:
    _assert_failure_json(govssi("keys", "generate", "--alg", "EdDSA", "--out", "missing/dir/k.jwk"))


def test_undecodable_passphrase_fails_without_traceback(govssi: Any, tmp_path: Path) -> None:
    """Invalid UTF-8 in the environment reaches Python as surrogate escapes; refuse it as a failed check."""
    result = govssi(
        "keys", "generate", "--alg", "ES256", "--out", "k.json", "--encrypt", env={b"GOVSSI_KEY_PASSPHRASE": b"pw\xff"}
    )
    _assert_failure_json(result)
    assert not (tmp_path / "k.json").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "generate", "--alg", "ES256"),  # --out missing
        ("keys", "generate", "--out", "k.jwk"),  # --alg missing
        ("keys", "generate", "--alg", "ES256", "--out", "k.jwk", "--bogus"),
        ("keys", "frobnicate"),
    ],
)
def test_click_usage_errors_exit_2_without_traceback(govssi: Any, tmp_path: Path, args: tuple[str, ...]) -> None:
    result = govssi(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "k.jwk").exists()
