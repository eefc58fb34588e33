"""``govssi sdjwt decode|issue|present|verify``: the STABLE debugging CLI (see govssi/cli/sdjwt.py's docstring).

Run as scripts run it: the real command in a subprocess (``govssi`` fixture in conftest.py). The contract (DESIGN.md
§3): success → JSON (or the documented text) on stdout, exit 0; a refused check → ``{"error", "error_description"}``
on stdout and one line on stderr, exit 1; wrong usage → one line on stderr, exit 2; never a traceback.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ssi.encoding import b64url_json
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.sd_jwt import HeldSdJwt, issue_sd_jwt, split_compact
from ssi.sd_jwt._common import digest, hash_function

AUD = "https://verifier.example.org"
NONCE = "n-0S6_WzA2Mj"
CLAIMS = {
    "sub": "user_42",
    "given_name": "Erika",
    "family_name": "Mustermann",
    "address": {"street_address": "Heidestraße 17", "locality": "Köln", "country": "DE"},
    "nationalities": ["DE", "FR"],
}
ISSUER_KEY = PrivateKey.generate("ES256")
HOLDER_KEY = PrivateKey.generate("ES256")
OTHER_KEY = PrivateKey.generate("ES256")
EDDSA_KEY = PrivateKey.generate("EdDSA")


def _write(path: Path, obj: Any) -> str:
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path.name


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return {
        "issuer": _write(tmp_path / "issuer.jwk", ISSUER_KEY.private_jwk()),
        "issuer_pub": _write(tmp_path / "issuer.pub.jwk", ISSUER_KEY.public_key.jwk),
        "holder": _write(tmp_path / "holder.jwk", HOLDER_KEY.private_jwk()),
        "holder_pub": _write(tmp_path / "holder.pub.jwk", HOLDER_KEY.public_key.jwk),
        "other": _write(tmp_path / "other.jwk", OTHER_KEY.private_jwk()),
        "other_pub": _write(tmp_path / "other.pub.jwk", OTHER_KEY.public_key.jwk),
        "eddsa": _write(tmp_path / "eddsa.jwk", EDDSA_KEY.private_jwk()),
        "claims": _write(tmp_path / "claims.json", CLAIMS),
    }


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def _failure(result: subprocess.CompletedProcess[str], error: str | None = None) -> dict[str, Any]:
    """Exit 1, ``{"error", "error_description"}`` on stdout, ONE line on stderr, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    out = json.loads(result.stdout)
    assert set(out) == {"error", "error_description"}
    assert isinstance(out["error_description"], str) and out["error_description"]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("govssi: "), result.stderr
    if error is not None:
        assert out["error"] == error, out
    return dict(out)


def _usage(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 2 with a message on stderr and nothing on stdout; no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


def _issue(govssi: Any, files: dict[str, str], *extra: str) -> str:
    out = _ok(govssi("sdjwt", "issue", "--claims", files["claims"], "--issuer-key", files["issuer"],
                     "--holder-jwk", files["holder_pub"], *extra))  # fmt: skip
    return out


def _save(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return name


def _payload(compact: str) -> dict[str, Any]:
    payload: dict[str, Any] = b64url_json(compact.split("~", maxsplit=1)[0].split(".")[1])
    return payload


def _header(compact: str) -> dict[str, Any]:
    header: dict[str, Any] = b64url_json(compact.split("~", maxsplit=1)[0].split(".", maxsplit=1)[0])
    return header


# --- issue ----------------------------------------------------------------------------------------------------------


def test_issue_prints_the_compact_sd_jwt_ending_in_tilde(govssi: Any, files: dict[str, str]) -> None:
    """``issue``: "the compact SD-JWT (ending in ``~``) on stdout"; the Holder key goes into ``cnf.jwk``."""
    out = _issue(govssi, files)
    assert out.endswith("~\n") and out.count("\n") == 1
    compact = out.strip()
    parts = split_compact(compact)
    assert parts.disclosures == () and parts.kb_jwt is None
    payload = _payload(compact)
    assert payload == {**CLAIMS, "cnf": {"jwk": HOLDER_KEY.public_key.jwk}}
    assert _header(compact)["alg"] == "ES256"


def test_issue_sd_makes_the_listed_paths_disclosable(govssi: Any, files: dict[str, str]) -> None:
    compact = _issue(govssi, files, "--sd", "given_name, address.locality,nationalities.1").strip()
    held = HeldSdJwt.parse(compact)
    assert {c.path for c in held.disclosed} == {("given_name",), ("address", "locality"), ("nationalities", 1)}
    payload = _payload(compact)
    assert "given_name" not in payload and "locality" not in payload["address"]
    assert payload["nationalities"][0] == "DE" and set(payload["nationalities"][1]) == {"..."}
    assert held.claims == {**CLAIMS, "cnf": {"jwk": HOLDER_KEY.public_key.jwk}}


def test_issue_sd_all_makes_everything_disclosable_but_cnf(govssi: Any, files: dict[str, str]) -> None:
    """``--sd-all``: "Make every claim disclosable, recursively" (the Holder key stays in the clear)."""
    compact = _issue(govssi, files, "--sd-all").strip()
    held = HeldSdJwt.parse(compact)
    assert {c.path for c in held.disclosed} == {
        ("sub",),
        ("given_name",),
        ("family_name",),
        ("address",),
        ("address", "street_address"),
        ("address", "locality"),
        ("address", "country"),
        ("nationalities",),
        ("nationalities", 0),
        ("nationalities", 1),
    }
    assert _payload(compact)["cnf"] == {"jwk": HOLDER_KEY.public_key.jwk}
    assert set(_payload(compact)) == {"_sd", "_sd_alg", "cnf"}


def test_issue_sd_and_sd_all_exclude_each_other(govssi: Any, files: dict[str, str]) -> None:
    _usage(govssi("sdjwt", "issue", "--claims", files["claims"], "--issuer-key", files["issuer"],
                  "--holder-jwk", files["holder_pub"], "--sd", "sub", "--sd-all"))  # fmt: skip


def test_issue_unknown_sd_path_fails_cleanly(govssi: Any, files: dict[str, str]) -> None:
    result = govssi("sdjwt", "issue", "--claims", files["claims"], "--issuer-key", files["issuer"],
                    "--holder-jwk", files["holder_pub"], "--sd", "given_nmae")  # fmt: skip
    _failure(result, "unknown_claim_path")


def test_issue_vct_gives_an_sd_jwt_vc(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    """``--vct``: "Issue an SD-JWT VC (typ dc+sd-jwt)"; registered claims of the claims file stay in the clear."""
    claims = {**CLAIMS, "iss": "https://issuer.example", "exp": 4102444800}
    name = _write(tmp_path / "vc_claims.json", claims)
    out = _ok(govssi("sdjwt", "issue", "--claims", name, "--issuer-key", files["issuer"],
                     "--holder-jwk", files["holder_pub"], "--vct", "urn:eudi:pid:1", "--sd-all"))  # fmt: skip
    compact = out.strip()
    assert compact.endswith("~")
    assert _header(compact)["typ"] == "dc+sd-jwt"
    payload = _payload(compact)
    assert payload["vct"] == "urn:eudi:pid:1"
    assert payload["iss"] == "https://issuer.example" and payload["exp"] == 4102444800
    assert payload["cnf"] == {"jwk": HOLDER_KEY.public_key.jwk}
    assert isinstance(payload["iat"], int)
    assert {c.path[0] for c in HeldSdJwt.parse(compact).disclosed} == set(CLAIMS)


def test_issue_vct_refuses_cnf_or_vct_in_the_claims_file(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    for extra in ({"cnf": {"jwk": {}}}, {"vct": "x"}):
        name = _write(tmp_path / "bad.json", {**CLAIMS, **extra})
        _usage(govssi("sdjwt", "issue", "--claims", name, "--issuer-key", files["issuer"],
                      "--holder-jwk", files["holder_pub"], "--vct", "urn:x"))  # fmt: skip


@pytest.mark.parametrize("extra", [{"exp": "tomorrow"}, {"nbf": True}, {"status": "revoked"}, {"iss": 42}])
def test_issue_vct_with_malformed_registered_claims_fails_cleanly(
    govssi: Any, tmp_path: Path, files: dict[str, str], extra: dict[str, Any]
) -> None:
    """Registered claims from the claims file are validated: exit 1 with the error object, never a traceback."""
    name = _write(tmp_path / "bad.json", {**CLAIMS, **extra})
    result = govssi("sdjwt", "issue", "--claims", name, "--issuer-key", files["issuer"],
                    "--holder-jwk", files["holder_pub"], "--vct", "urn:x")  # fmt: skip
    _failure(result)


def test_issue_alg_mismatch_is_a_usage_error(govssi: Any, files: dict[str, str]) -> None:
    """``--alg``: "ES256 or EdDSA; must match the issuer key" — exit 2."""
    base = ["sdjwt", "issue", "--claims", files["claims"], "--holder-jwk", files["holder_pub"]]
    _usage(govssi(*base, "--issuer-key", files["issuer"], "--alg", "EdDSA"))
    _usage(govssi(*base, "--issuer-key", files["eddsa"], "--alg", "ES256"))
    _usage(govssi(*base, "--issuer-key", files["issuer"], "--alg", "HS256"))
    out = _ok(govssi(*base, "--issuer-key", files["eddsa"], "--alg", "EdDSA"))
    assert _header(out.strip())["alg"] == "EdDSA"


def test_issue_with_a_public_issuer_key_fails(govssi: Any, files: dict[str, str]) -> None:
    result = govssi("sdjwt", "issue", "--claims", files["claims"], "--issuer-key", files["issuer_pub"],
                    "--holder-jwk", files["holder_pub"])  # fmt: skip
    _failure(result, "not_private")


# --- present + verify ------------------------------------------------------------------------------------------------


def _issued_file(govssi: Any, tmp_path: Path, files: dict[str, str], *extra: str) -> str:
    return _save(tmp_path, "issued.txt", _issue(govssi, files, *extra))


def _present(govssi: Any, files: dict[str, str], issued: str, disclose: str) -> str:
    return _ok(govssi("sdjwt", "present", issued, "--holder-key", files["holder"], "--disclose", disclose,
                      "--aud", AUD, "--nonce", NONCE))  # fmt: skip


def test_present_then_verify_exit_0_with_the_claims(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    """``present`` adds a KB-JWT; ``verify --aud --nonce`` prints the verified claims as JSON (exit 0)."""
    issued = _issued_file(govssi, tmp_path, files, "--sd", "given_name,family_name,address.locality")
    presentation = _present(govssi, files, issued, "given_name,address.locality").strip()
    parts = split_compact(presentation)
    assert parts.kb_jwt is not None and len(parts.disclosures) == 2
    kb = b64url_json(parts.kb_jwt.split(".")[1])
    assert kb["aud"] == AUD and kb["nonce"] == NONCE
    assert kb["sd_hash"] == digest(parts.sd_jwt, hash_function("sha-256"))
    name = _save(tmp_path, "presentation.txt", presentation + "\n")
    out = _ok(govssi("sdjwt", "verify", name, "--issuer-jwk", files["issuer_pub"], "--aud", AUD, "--nonce", NONCE))
    claims = json.loads(out)
    expected = {**CLAIMS, "cnf": {"jwk": HOLDER_KEY.public_key.jwk}}
    del expected["family_name"]
    assert claims == expected


def test_present_vc_then_verify(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    issued = _issued_file(govssi, tmp_path, files, "--vct", "urn:eudi:pid:1", "--sd", "given_name,family_name")
    name = _save(tmp_path, "p.txt", _present(govssi, files, issued, "family_name"))
    claims = json.loads(_ok(govssi("sdjwt", "verify", name, "--issuer-jwk", files["issuer_pub"],
                                   "--aud", AUD, "--nonce", NONCE)))  # fmt: skip
    assert claims["vct"] == "urn:eudi:pid:1" and claims["family_name"] == "Mustermann"
    assert "given_name" not in claims


def test_present_with_a_key_that_is_not_the_cnf_key(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    issued = _issued_file(govssi, tmp_path, files, "--sd", "given_name")
    result = govssi("sdjwt", "present", issued, "--holder-key", files["other"], "--disclose", "given_name",
                    "--aud", AUD, "--nonce", NONCE)  # fmt: skip
    _failure(result, "kb_wrong_key")


def test_present_rejects_an_sd_jwt_kb(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    """RFC 9901 §7.2: a Holder that receives an SD-JWT+KB rejects it."""
    issued = _issued_file(govssi, tmp_path, files, "--sd", "given_name")
    presented = _save(tmp_path, "p.txt", _present(govssi, files, issued, "given_name"))
    result = govssi("sdjwt", "present", presented, "--holder-key", files["holder"], "--disclose", "given_name",
                    "--aud", AUD, "--nonce", NONCE)  # fmt: skip
    _failure(result, "kb_unexpected")


def test_verify_wrong_nonce_exit_1_json_error_one_stderr_line(
    govssi: Any, tmp_path: Path, files: dict[str, str]
) -> None:
    """A refused check: exit 1, ``{"error", "error_description"}`` on stdout, ONE line on stderr, no traceback."""
    issued = _issued_file(govssi, tmp_path, files, "--sd", "given_name")
    name = _save(tmp_path, "p.txt", _present(govssi, files, issued, "given_name"))
    result = govssi("sdjwt", "verify", name, "--issuer-jwk", files["issuer_pub"], "--aud", AUD, "--nonce", "other")
    out = _failure(result, "kb_wrong_nonce")
    assert "nonce" in out["error_description"]
    wrong_aud = govssi("sdjwt", "verify", name, "--issuer-jwk", files["issuer_pub"], "--aud", "x", "--nonce", NONCE)
    _failure(wrong_aud, "kb_wrong_aud")


def test_verify_with_the_wrong_issuer_key(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    issued = _issued_file(govssi, tmp_path, files)
    _failure(govssi("sdjwt", "verify", issued, "--issuer-jwk", files["other_pub"], "--no-kb"), "invalid_signature")


def test_verify_key_bound_credential_without_aud_nonce_or_no_kb(
    govssi: Any, tmp_path: Path, files: dict[str, str]
) -> None:
    """ "Without ``--aud/--nonce``, a credential carrying ``cnf`` is accepted only with ``--no-kb``" — exit 1."""
    issued = _issued_file(govssi, tmp_path, files, "--sd", "given_name")
    _failure(govssi("sdjwt", "verify", issued, "--issuer-jwk", files["issuer_pub"]), "kb_required")
    presented = _save(tmp_path, "p.txt", _present(govssi, files, issued, "given_name"))
    _failure(govssi("sdjwt", "verify", presented, "--issuer-jwk", files["issuer_pub"]), "kb_required")


def test_verify_no_kb(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    """``--no-kb``: "Accept without Key Binding (no KB-JWT expected)"; a KB-JWT is then refused (RFC 9901 §4)."""
    issued = _issued_file(govssi, tmp_path, files, "--sd-all")
    claims = json.loads(_ok(govssi("sdjwt", "verify", issued, "--issuer-jwk", files["issuer_pub"], "--no-kb")))
    assert claims == {**CLAIMS, "cnf": {"jwk": HOLDER_KEY.public_key.jwk}}
    presented = _save(tmp_path, "p.txt", _present(govssi, files, issued, "given_name"))
    _failure(govssi("sdjwt", "verify", presented, "--issuer-jwk", files["issuer_pub"], "--no-kb"), "kb_unexpected")


def test_verify_usage_errors(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    issued = _issued_file(govssi, tmp_path, files)
    _usage(govssi("sdjwt", "verify", issued, "--issuer-jwk", files["issuer_pub"], "--aud", AUD))
    _usage(govssi("sdjwt", "verify", issued, "--issuer-jwk", files["issuer_pub"], "--nonce", NONCE))
    _usage(govssi("sdjwt", "verify", issued, "--issuer-jwk", files["issuer_pub"], "--no-kb", "--aud", AUD,
                  "--nonce", NONCE))  # fmt: skip
    _usage(govssi("sdjwt", "verify", issued))


def test_verify_requires_kb_when_aud_and_nonce_are_given(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    """RFC 9901 §7.3 step 2: with ``--aud/--nonce`` Key Binding is required; a plain SD-JWT is refused."""
    issued = _issued_file(govssi, tmp_path, files)
    result = govssi("sdjwt", "verify", issued, "--issuer-jwk", files["issuer_pub"], "--aud", AUD, "--nonce", NONCE)
    _failure(result, "kb_missing")


def test_verify_json_serialization(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    """The commands accept the RFC 9901 §8 JSON serialization as well (``parse_presentation_text``)."""
    issued = issue_sd_jwt(
        {**CLAIMS, "cnf": {"jwk": HOLDER_KEY.public_key.jwk}},
        SoftwareSigner(ISSUER_KEY),
        disclosable=[("given_name",)],
        serialization="json",
    )
    text = HeldSdJwt.parse(issued.to_json()).present([("given_name",)])
    name = _save(tmp_path, "p.json", text)
    claims = json.loads(_ok(govssi("sdjwt", "verify", name, "--issuer-jwk", files["issuer_pub"], "--no-kb")))
    assert claims["given_name"] == "Erika"
    decoded = json.loads(_ok(govssi("sdjwt", "decode", name)))
    assert decoded["disclosures"][0]["fills"] == "given_name"


def test_verify_garbage_fails_cleanly(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    for i, text in enumerate(["not an sd-jwt", "a.b.c~", '{"payload": 1}', "~~~", "é~ü~"]):
        name = _save(tmp_path, f"g{i}.txt", text)
        _failure(govssi("sdjwt", "verify", name, "--issuer-jwk", files["issuer_pub"], "--no-kb"))
        _failure(govssi("sdjwt", "decode", name))
    _failure(govssi("sdjwt", "verify", "missing.txt", "--issuer-jwk", files["issuer_pub"], "--no-kb"))


# --- decode ----------------------------------------------------------------------------------------------------------


def test_decode_shows_each_disclosure_with_digest_and_fills(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    """``decode``: "header, payload, each Disclosure and the digest it fills" — nothing verified."""
    issued = _issued_file(govssi, tmp_path, files, "--sd", "given_name,address,address.locality,nationalities.0")
    out = json.loads(_ok(govssi("sdjwt", "decode", issued)))
    assert out["header"]["alg"] == "ES256"
    assert out["sd_alg"] == "sha-256"
    assert out["payload"]["cnf"] == {"jwk": HOLDER_KEY.public_key.jwk}
    assert "key_binding_jwt" not in out and "processing_error" not in out
    fills = {d["fills"] for d in out["disclosures"]}
    assert fills == {"given_name", "address", "address.locality", "nationalities.0"}
    compact = (tmp_path / issued).read_text().strip()
    for entry in out["disclosures"]:
        assert entry["digest"] == digest(entry["disclosure"], hash_function("sha-256"))
        assert set(entry) >= {"disclosure", "digest", "salt", "claim_name", "value", "fills"}
        assert entry["disclosure"] in compact
    by_fill = {d["fills"]: d for d in out["disclosures"]}
    assert by_fill["given_name"]["claim_name"] == "given_name" and by_fill["given_name"]["value"] == "Erika"
    assert by_fill["nationalities.0"]["claim_name"] is None and by_fill["nationalities.0"]["value"] == "DE"
    assert by_fill["address.locality"]["value"] == "Köln"


def test_decode_presentation_shows_the_kb_jwt(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    issued = _issued_file(govssi, tmp_path, files, "--sd", "given_name")
    presented = _save(tmp_path, "p.txt", _present(govssi, files, issued, "given_name"))
    out = json.loads(_ok(govssi("sdjwt", "decode", presented)))
    assert out["key_binding_jwt"]["header"] == {"typ": "kb+jwt", "alg": "ES256"}
    assert out["key_binding_jwt"]["payload"]["nonce"] == NONCE


def test_decode_reports_processing_errors_without_failing(govssi: Any, tmp_path: Path, files: dict[str, str]) -> None:
    """A Disclosure that fills nothing is shown with ``fills: null`` and a ``processing_error`` (RFC 9901 §7.1
    step 5); a malformed one with its ``error``."""
    compact = _issue(govssi, files, "--sd", "given_name").strip()
    stranger = "WyJzYWx0IiwgImlzX2FkbWluIiwgdHJ1ZV0"  # ["salt", "is_admin", true]
    name = _save(tmp_path, "t.txt", compact + stranger + "~")
    out = json.loads(_ok(govssi("sdjwt", "decode", name)))
    assert out["processing_error"]["error"] == "unreferenced_disclosure"
    entry = next(d for d in out["disclosures"] if d["disclosure"] == stranger)
    assert entry["fills"] is None and entry["claim_name"] == "is_admin"
    malformed = _save(tmp_path, "m.txt", compact + "bm90LWpzb24~")  # "not-json"
    out = json.loads(_ok(govssi("sdjwt", "decode", malformed)))
    bad = next(d for d in out["disclosures"] if d["disclosure"] == "bm90LWpzb24")
    assert "error" in bad and bad["fills"] is None
