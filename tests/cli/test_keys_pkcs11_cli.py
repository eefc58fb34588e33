"""``govssi keys pkcs11 generate|show|list`` against a SoftHSM2 token (the CLI output contract of DESIGN.md §3; the
PIN only from the environment or a file, never in output)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ssi.keys import PublicKey, jwk_thumbprint

# The SoftHSM2 test token helper lives with the ssi.keys tests (pytest puts only this directory on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssi" / "keys"))
from softhsm_support import USER_PIN, SoftHsm, skip_reason

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

TOKEN = "govssi-cli"


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    softhsm = SoftHsm.create(tmp_path_factory.mktemp("softhsm"))
    softhsm.init_token(TOKEN)
    return softhsm  # used by subprocesses only: this process's PKCS#11 state is not touched


def _env(hsm: SoftHsm, **extra: str) -> dict[str, str]:
    return {**hsm.env, "GOVSSI_PKCS11_PIN": USER_PIN, **extra}


def _ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """Success: the JSON document on stdout (as ``emit`` prints it) and one human line on stderr (README)."""
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    assert result.stdout == json.dumps(out, indent=2, ensure_ascii=False) + "\n"
    (line,) = result.stderr.splitlines()
    assert line.startswith("govssi: ") and USER_PIN not in line
    return out


def _refused(result: subprocess.CompletedProcess[str], error: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    out = json.loads(result.stdout)
    assert set(out) == {"error", "error_description"}
    assert out["error"] == error
    assert result.stderr.startswith("govssi: ") and len(result.stderr.strip().splitlines()) == 1


def test_generate_show_and_list(govssi: Any, hsm: SoftHsm) -> None:
    token = ["--module", hsm.module, "--token-label", TOKEN]
    made = _ok(
        govssi("keys", "pkcs11", "generate", *token, "--key-label", "issuer-2025", "--key-id", "0a0b", env=_env(hsm))
    )
    assert made["alg"] == "ES256"
    assert made["pkcs11"] == {"module": hsm.module, "token_label": TOKEN, "key_label": "issuer-2025", "key_id": "0a0b"}
    public = made["public_jwk"]
    assert "d" not in public and public["kid"] == made["kid"] == jwk_thumbprint(public)
    assert PublicKey.from_jwk(public).alg == "ES256"
    assert made["did_key"].startswith("did:key:z") and made["did_jwk"].startswith("did:jwk:")
    assert USER_PIN not in made["pkcs11"].values()

    by_label = _ok(govssi("keys", "pkcs11", "show", *token, "--key-label", "issuer-2025", env=_env(hsm)))
    by_id = _ok(govssi("keys", "pkcs11", "show", *token, "--key-id", "0A0B", env=_env(hsm)))
    assert by_label == by_id == made

    listed = _ok(govssi("keys", "pkcs11", "list", *token, env=_env(hsm)))
    assert {"key_label": "issuer-2025", "key_id": "0a0b", "alg": "ES256"} in listed["keys"]

    # the label is taken now: refused, not a second key with the same label
    again = govssi("keys", "pkcs11", "generate", *token, "--key-label", "issuer-2025", env=_env(hsm))
    _refused(again, "pkcs11_key_exists")


def test_chain_key_with_module_from_env_and_pin_from_file(govssi: Any, hsm: SoftHsm, tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text(USER_PIN + "\n")
    env = {**hsm.env, "GOVSSI_PKCS11_PIN_FILE": str(pin_file), "GOVSSI_PKCS11_MODULE": hsm.module}
    made = _ok(
        govssi("keys", "pkcs11", "generate", "--token-label", TOKEN, "--key-label", "chain", "--alg", "ES256K", env=env)
    )
    assert made["alg"] == "ES256K" and made["public_jwk"]["crv"] == "secp256k1"
    assert made["ethereum_address"].startswith("0x") and len(made["ethereum_address"]) == 42


def test_wrong_pin_is_refused_without_echoing_it(govssi: Any, hsm: SoftHsm) -> None:
    args = ["keys", "pkcs11", "list", "--module", hsm.module, "--token-label", TOKEN]
    result = govssi(*args, env=_env(hsm, GOVSSI_PKCS11_PIN="999999"))
    _refused(result, "pkcs11_pin_incorrect")
    assert "999999" not in result.stdout + result.stderr


def test_refusals_and_usage_errors(govssi: Any, hsm: SoftHsm) -> None:
    token = ["--module", hsm.module, "--token-label", TOKEN]
    _refused(
        govssi("keys", "pkcs11", "list", "--module", hsm.module, "--token-label", "nope", env=_env(hsm)),
        "pkcs11_token_not_found",
    )
    _refused(govssi("keys", "pkcs11", "show", *token, "--key-label", "missing", env=_env(hsm)), "pkcs11_key_not_found")
    for args, env in (
        (["list", *token], hsm.env),  # no PIN and no terminal to ask on
        (["generate", *token, "--key-label", "x", "--alg", "EdDSA"], _env(hsm)),
        (["generate", *token, "--key-label", "x", "--key-id", "zz"], _env(hsm)),
        (["show", *token], _env(hsm)),
    ):
        result = govssi("keys", "pkcs11", *args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("govssi: usage: ") and len(result.stderr.strip().splitlines()) == 1
