"""End to end over real HTTP (uvicorn on 127.0.0.1): the pre-authorized code flow with transaction code, DPoP and a
batch, for each shipped credential type, with our own small OpenID4VCI client (tests/issuer/vci_client.py). The
credentials are verified as a verifier would: x5c chain to the CA, signature, typ, vct, iss, cnf per holder key,
status entries."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))

from issuer_support import ADMIN, SAMPLE_CLAIMS, demo_ca
from vci_client import VciTestClient

from issuer import IssuerSettings, MemoryKeyring, loopback_issuer
from ssi.jose import parse_compact
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import verify_sd_jwt_vc
from ssi.x509 import verify_x5c


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, httpx.Client]]:
    settings = IssuerSettings(
        data_dir=tmp_path_factory.mktemp("issuer"), bootstrap_key="test-bootstrap-key-0001", key_passphrase="pw"
    )
    with (
        loopback_issuer(settings, keyring=MemoryKeyring(demo_ca())) as (_server, issuer),
        httpx.Client(timeout=20) as http,
    ):
        assert issuer.bootstrap is not None
        yield issuer.bootstrap.credential_issuer, http


@pytest.mark.parametrize("type_id", sorted(SAMPLE_CLAIMS))
def test_pre_authorized_flow_with_tx_code_dpop_and_batch(running: tuple[str, httpx.Client], type_id: str) -> None:
    credential_issuer, http = running
    created = http.post(
        f"{credential_issuer}/admin/offers",
        headers=ADMIN,
        json={"credential_configuration_id": type_id, "claims": SAMPLE_CLAIMS[type_id]},
    )
    assert created.status_code == 201, created.text
    offer = created.json()
    assert offer["qr_svg"].startswith("<svg")
    holders = [SoftwareSigner.generate("ES256") for _ in range(3)]
    credentials = VciTestClient(http).receive(offer["offer_uri"], offer["tx_code"], holders)
    assert len(credentials) == 3
    vct = f"{credential_issuer}/vct/{type_id}"
    indexes = set()
    for credential, holder in zip(credentials, holders, strict=True):
        header = parse_compact(credential.split("~")[0])[3]
        chain = verify_x5c(header["x5c"], [demo_ca().certificate], now=time.time())
        held = HeldSdJwt.parse(credential)
        presentation = held.present(
            [c.path for c in held.disclosed], holder=holder, audience="https://verifier.example", nonce="n-1"
        )
        verified = verify_sd_jwt_vc(
            presentation,
            chain.public_key,
            VerificationPolicy(audience="https://verifier.example", nonce="n-1"),
            expected_vct=vct,
        )
        payload = verified.signed_payload
        assert payload["iss"] == credential_issuer
        assert payload["cnf"]["jwk"] == holder.public_jwk
        assert verified.claims["family_name"] == "MUSTERMANN"
        indexes.add((payload["status"]["status_list"]["uri"], payload["status"]["status_list"]["idx"]))
    assert len(indexes) == 3
    state = http.get(f"{credential_issuer}/admin/offers/{offer['offer_id']}", headers=ADMIN).json()
    assert state["state"] == "delivered" and state["claims_stored"] is False and state["credentials_issued"] == 3
    type_metadata = http.get(vct)
    assert type_metadata.status_code == 200 and type_metadata.json()["vct"] == vct
