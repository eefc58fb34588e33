"""End to end over real HTTP with an independent OpenID4VCI 1.0 client: ``@openid4vc/openid4vci`` (OpenWallet
Foundation Labs oid4vc-ts, the library under Credo), pinned in ``tests/interop/oid4vci-npm`` and installed here on
demand with ``npm ci``. For each shipped credential type: offer by reference with transaction code, DPoP-bound token
(client authentication "none" with a client_id, so the key proofs carry ``iss``), nonce endpoint, batch of two. The
credentials are checked in Python: x5c chain to the CA, SD-JWT VC verification with each holder key."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))

from issuer_support import ADMIN, SAMPLE_CLAIMS, demo_ca

from issuer import IssuerSettings, MemoryKeyring, loopback_issuer
from ssi.jose import parse_compact
from ssi.keys import PublicKey
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import verify_sd_jwt_vc
from ssi.x509 import verify_x5c

NPM_DIR = Path(__file__).resolve().parents[1] / "interop" / "oid4vci-npm"
PACKAGE = "@openid4vc/openid4vci"
NPM_TIMEOUT_S = 300


def _pinned() -> str:
    return str(json.loads((NPM_DIR / "package.json").read_text("utf-8"))["dependencies"][PACKAGE])


def _install() -> str | None:
    """``npm ci`` of the pinned client unless present; the reason it cannot run, or ``None``."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not on PATH"
    installed = NPM_DIR / "node_modules" / "@openid4vc" / "openid4vci" / "package.json"

    def present() -> bool:
        return installed.is_file() and json.loads(installed.read_text("utf-8")).get("version") == _pinned()

    if present():
        return None
    with (NPM_DIR / ".npm-install.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not present():
                done = subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                    cwd=NPM_DIR,
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT_S,
                    check=False,
                )
                if done.returncode != 0:
                    return f"npm ci of {PACKAGE} failed: {done.stderr.strip()[-300:]}"
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"npm ci of {PACKAGE} failed: {exc}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return None if present() else f"{PACKAGE} is not installed after npm ci"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, httpx.Client]]:
    reason = _install()
    if reason is not None:
        pytest.skip(reason)
    settings = IssuerSettings(data_dir=tmp_path_factory.mktemp("issuer"), bootstrap_key=ADMIN["Authorization"][7:])
    keyring = MemoryKeyring(demo_ca())
    with loopback_issuer(settings, keyring=keyring) as (_server, issuer), httpx.Client(timeout=20) as http:
        assert issuer.bootstrap is not None
        yield issuer.bootstrap.credential_issuer, http


def _run_client(offer_uri: str, tx_code: str | None, holders: int) -> dict[str, object]:
    done = subprocess.run(
        ["node", str(NPM_DIR / "flow.mjs")],
        input=json.dumps({"offer_uri": offer_uri, "tx_code": tx_code, "holders": holders, "client_id": "npm-wallet"}),
        cwd=NPM_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result: dict[str, object] = json.loads(done.stdout or "{}")
    assert done.returncode == 0, (result, done.stderr[-2000:])
    return result


@pytest.mark.parametrize("type_id", sorted(SAMPLE_CLAIMS))
def test_independent_client_receives_each_credential_type(running: tuple[str, httpx.Client], type_id: str) -> None:
    credential_issuer, http = running
    offer = http.post(
        f"{credential_issuer}/admin/offers",
        headers=ADMIN,
        json={"credential_configuration_id": type_id, "claims": SAMPLE_CLAIMS[type_id]},
    ).json()
    result = _run_client(offer["offer_uri"], offer["tx_code"], holders=2)
    assert result["token_type"] == "DPoP"
    credentials = result["credentials"]
    holder_jwks = result["holder_jwks"]
    assert isinstance(credentials, list) and isinstance(holder_jwks, list) and len(credentials) == 2
    for credential, jwk in zip(credentials, holder_jwks, strict=True):
        header = parse_compact(credential.split("~")[0])[3]
        chain = verify_x5c(header["x5c"], [demo_ca().certificate], now=time.time())
        held = HeldSdJwt.parse(credential)
        assert held.holder_jwk == jwk
        verified = verify_sd_jwt_vc(
            credential,
            chain.public_key,
            VerificationPolicy(require_key_binding=False),
            expected_vct=f"{credential_issuer}/vct/{type_id}",
        )
        assert verified.signed_payload["iss"] == credential_issuer
        assert PublicKey.from_jwk(verified.signed_payload["cnf"]["jwk"]) == PublicKey.from_jwk(jwk)
        assert verified.claims["given_name"] == "ERIKA"
    state = http.get(f"{credential_issuer}/admin/offers/{offer['offer_id']}", headers=ADMIN).json()
    assert state["state"] == "delivered" and state["credentials_issued"] == 2


def test_independent_client_offer_by_value_without_tx_code(running: tuple[str, httpx.Client]) -> None:
    credential_issuer, http = running
    offer = http.post(
        f"{credential_issuer}/admin/offers",
        headers=ADMIN,
        json={
            "credential_configuration_id": "dienstausweis",
            "claims": SAMPLE_CLAIMS["dienstausweis"],
            "tx_code": False,
        },
    ).json()
    assert offer["tx_code"] is None
    result = _run_client(offer["offer_uri_by_value"], None, holders=1)
    assert len(result["credentials"]) == 1  # type: ignore[arg-type]
