"""The issuer's HTTP surface (FastAPI, in-process through Starlette's TestClient): status codes, headers and error
bodies as the specifications prescribe them, the metadata documents at their well-known URLs, the admin API and the
input limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from issuer_support import ADMIN, PUBLIC_URL, SAMPLE_CLAIMS, demo_ca, make_issuer, settings

from issuer import Issuer, create_app
from ssi.dpop import create_dpop_proof
from ssi.keys import PublicKey, SoftwareSigner
from ssi.oid4vci import PRE_AUTHORIZED_CODE_GRANT, create_proof_jwt
from ssi.x509 import verify_x5c

ISSUER = f"{PUBLIC_URL}/issuers/demo"


@pytest.fixture
def service(tmp_path: Path) -> Issuer:
    return make_issuer(tmp_path)


@pytest.fixture
def client(tmp_path: Path, service: Issuer) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path), issuer=service)
    with TestClient(app, base_url=PUBLIC_URL) as test_client:
        yield test_client


def _offer(client: TestClient, type_id: str = "bewohnerparkausweis", **extra: object) -> dict[str, object]:
    response = client.post(
        "/issuers/demo/admin/offers",
        headers=ADMIN,
        json={"credential_configuration_id": type_id, "claims": SAMPLE_CLAIMS[type_id], **extra},
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, object] = response.json()
    return body


def _token_form(offer: dict[str, object]) -> dict[str, str]:
    grants = offer["credential_offer"]["grants"]  # type: ignore[index]
    code = grants[PRE_AUTHORIZED_CODE_GRANT]["pre-authorized_code"]
    return {"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": code, "tx_code": str(offer["tx_code"])}


def _dpop(key: SoftwareSigner, url: str, nonce: str | None, token: str | None = None) -> str:
    return create_dpop_proof(key, htm="POST", htu=url, now=time.time(), nonce=nonce, access_token=token)


def test_credential_issuer_metadata(client: TestClient) -> None:
    response = client.get("/.well-known/openid-credential-issuer/issuers/demo")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc["credential_issuer"] == ISSUER
    assert doc["credential_endpoint"] == f"{ISSUER}/credential" and doc["nonce_endpoint"] == f"{ISSUER}/nonce"
    assert doc["batch_credential_issuance"] == {"batch_size": 10}
    assert {d["locale"] for d in doc["display"]} == {"de-DE", "en-US"}
    configs = {k: v for k, v in doc["credential_configurations_supported"].items() if v["format"] == "dc+sd-jwt"}
    assert set(configs) == {"bewohnerparkausweis", "meldebescheinigung", "dienstausweis"}
    for type_id, config in configs.items():
        assert config["vct"] == f"{ISSUER}/vct/{type_id}" and config["scope"] == type_id
        assert config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == ["ES256", "EdDSA"]
    assert "did" not in doc  # no chain configured here


def test_authorization_server_metadata(client: TestClient) -> None:
    doc = client.get("/.well-known/oauth-authorization-server/issuers/demo").json()
    assert doc["issuer"] == ISSUER and doc["token_endpoint"] == f"{ISSUER}/token"
    assert doc["pre-authorized_grant_anonymous_access_supported"] is True
    assert doc["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA"]


def test_jwt_vc_issuer_metadata_carries_the_x5c_chain(client: TestClient, service: Issuer) -> None:
    doc = client.get("/.well-known/jwt-vc-issuer/issuers/demo").json()
    assert doc["issuer"] == ISSUER
    (key,) = doc["jwks"]["keys"]
    chain = verify_x5c(key["x5c"], [demo_ca().certificate], now=time.time())
    assert chain.public_key == PublicKey.from_jwk(key)
    keys = service.context.keys(service.context.tenant("demo"))
    assert key["kid"] == keys.signer.kid and key["alg"] == "ES256" and key["use"] == "sig"


def test_type_metadata_at_the_vct_url(client: TestClient) -> None:
    doc = client.get("/issuers/demo/vct/dienstausweis").json()
    assert doc["vct"] == f"{ISSUER}/vct/dienstausweis"
    assert client.get("/issuers/demo/vct/unknown").status_code == 404


def test_unknown_authority_and_malformed_paths(client: TestClient) -> None:
    response = client.get("/.well-known/openid-credential-issuer/issuers/nobody")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert client.get("/.well-known/openid-credential-issuer/issuers/NO_SUCH").status_code == 400


def test_full_flow_and_headers(client: TestClient) -> None:
    offer = _offer(client)
    document = client.get(f"/issuers/demo/credential-offer/{offer['offer_id']}")
    assert document.status_code == 200 and document.headers["content-type"] == "application/json"
    assert document.headers["cache-control"] == "no-store"
    dpop_key = SoftwareSigner.generate()
    token_url = f"{ISSUER}/token"
    # RFC 9449 §8: first request without a nonce → 400 use_dpop_nonce with DPoP-Nonce.
    first = client.post(
        "/issuers/demo/token", data=_token_form(offer), headers={"DPoP": _dpop(dpop_key, token_url, None)}
    )
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    token = client.post(
        "/issuers/demo/token", data=_token_form(offer), headers={"DPoP": _dpop(dpop_key, token_url, nonce)}
    )
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    assert token.json()["token_type"] == "DPoP"
    access_token = token.json()["access_token"]
    nonce = token.headers["DPoP-Nonce"]
    c_nonce_response = client.post("/issuers/demo/nonce")
    assert c_nonce_response.status_code == 200 and c_nonce_response.headers["cache-control"] == "no-store"
    assert "DPoP-Nonce" in c_nonce_response.headers
    c_nonce = c_nonce_response.json()["c_nonce"]
    holder = SoftwareSigner.generate()
    body = {
        "credential_configuration_id": "bewohnerparkausweis",
        "proofs": {"jwt": [create_proof_jwt(holder, audience=ISSUER, now=time.time(), nonce=c_nonce)]},
    }
    credential_url = f"{ISSUER}/credential"
    response = client.post(
        "/issuers/demo/credential",
        json=body,
        headers={"Authorization": f"DPoP {access_token}", "DPoP": _dpop(dpop_key, credential_url, nonce, access_token)},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store" and "DPoP-Nonce" in response.headers
    assert len(response.json()["credentials"]) == 1
    # Security headers on every response.
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_token_errors(client: TestClient) -> None:
    offer = _offer(client)
    form = {**_token_form(offer), "tx_code": "x"}
    key = SoftwareSigner.generate()
    nonce = client.post("/issuers/demo/nonce").headers["DPoP-Nonce"]
    response = client.post("/issuers/demo/token", data=form, headers={"DPoP": _dpop(key, f"{ISSUER}/token", nonce)})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant" and response.headers["cache-control"] == "no-store"
    assert client.post("/issuers/demo/token", json=form).json()["error"] == "invalid_request"  # not a form
    repeated = client.post(
        "/issuers/demo/token",
        content="grant_type=a&grant_type=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"
    unsupported = client.post("/issuers/demo/token", data={"grant_type": "password"})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


def test_credential_endpoint_authorization_errors(client: TestClient) -> None:
    """RFC 6750 §3 / RFC 9449 §7.1: 401 with a WWW-Authenticate challenge naming the error."""
    missing = client.post("/issuers/demo/credential", json={"credential_configuration_id": "x"})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
    assert missing.headers["www-authenticate"].startswith('DPoP error="invalid_token"')
    assert 'algs="ES256 EdDSA"' in missing.headers["www-authenticate"]
    bearer = client.post("/issuers/demo/credential", json={}, headers={"Authorization": "Bearer nope"})
    assert bearer.status_code == 401 and bearer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    offer = _offer(client)
    key = SoftwareSigner.generate()
    nonce = client.post("/issuers/demo/nonce").headers["DPoP-Nonce"]
    token = client.post(
        "/issuers/demo/token", data=_token_form(offer), headers={"DPoP": _dpop(key, f"{ISSUER}/token", nonce)}
    ).json()["access_token"]
    no_nonce = client.post(
        "/issuers/demo/credential",
        json={},
        headers={"Authorization": f"DPoP {token}", "DPoP": _dpop(key, f"{ISSUER}/credential", None, token)},
    )
    assert no_nonce.status_code == 401 and no_nonce.json()["error"] == "use_dpop_nonce"
    assert 'error="use_dpop_nonce"' in no_nonce.headers["www-authenticate"] and "DPoP-Nonce" in no_nonce.headers
    bad_proof = client.post(
        "/issuers/demo/credential",
        json={"credential_configuration_id": "bewohnerparkausweis", "proofs": {"jwt": ["x"]}},
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": _dpop(key, f"{ISSUER}/credential", no_nonce.headers["DPoP-Nonce"], token),
        },
    )
    assert bad_proof.status_code == 400 and bad_proof.json()["error"] == "invalid_proof"
    description = bad_proof.json()["error_description"]
    assert description.isascii() and '"' not in description and "\\" not in description


def test_admin_api_requires_the_authority_key(client: TestClient, service: Issuer) -> None:
    body = {"credential_configuration_id": "dienstausweis", "claims": SAMPLE_CLAIMS["dienstausweis"]}
    assert client.post("/issuers/demo/admin/offers", json=body).status_code == 401
    assert (
        client.post("/issuers/demo/admin/offers", json=body, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    other = service.context.storage.create_authority("koeln", "Stadt Köln", "City of Cologne")
    other_key = service.context.storage.create_api_key(other.id, "clerk")
    refused = client.post("/issuers/demo/admin/offers", json=body, headers={"Authorization": f"Bearer {other_key}"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    wrong_type = client.post("/issuers/koeln/admin/offers", json=body, headers={"Authorization": f"Bearer {other_key}"})
    assert wrong_type.status_code == 404  # Köln has no types yet


def test_admin_offer_input_errors(client: TestClient) -> None:
    bad_claims = client.post(
        "/issuers/demo/admin/offers",
        headers=ADMIN,
        json={"credential_configuration_id": "dienstausweis", "claims": {"family_name": "X"}},
    )
    assert bad_claims.status_code == 400 and bad_claims.json()["error"] == "invalid_request"
    for body in (
        {},
        {"credential_configuration_id": 5},
        {"credential_configuration_id": "dienstausweis", "tx_code": "yes"},
    ):
        assert client.post("/issuers/demo/admin/offers", headers=ADMIN, json=body).status_code == 400
    offer = _offer(client, "dienstausweis", tx_code=False)
    assert offer["tx_code"] is None
    status = client.get(f"/issuers/demo/admin/offers/{offer['offer_id']}", headers=ADMIN).json()
    assert status["state"] == "offered" and status["tx_code_required"] is False


def test_admin_adds_a_credential_type(client: TestClient) -> None:
    document = {
        "id": "fischereischein",
        "display": [{"locale": "de-DE", "name": "Fischereischein"}, {"locale": "en-US", "name": "Fishing licence"}],
        "claims": [{"path": ["family_name"], "mandatory": True}],
    }
    assert client.put("/issuers/demo/admin/credential-types/fischereischein", json=document).status_code == 401
    mismatch = client.put("/issuers/demo/admin/credential-types/other", headers=ADMIN, json=document)
    assert mismatch.status_code == 400
    invalid = client.put("/issuers/demo/admin/credential-types/fischereischein", headers=ADMIN, json={"id": "x"})
    assert invalid.status_code == 400
    added = client.put("/issuers/demo/admin/credential-types/fischereischein", headers=ADMIN, json=document)
    assert added.status_code == 200 and added.json()["vct"] == f"{ISSUER}/vct/fischereischein"
    metadata = client.get("/.well-known/openid-credential-issuer/issuers/demo").json()
    assert "fischereischein" in metadata["credential_configurations_supported"]


def test_input_limits(client: TestClient) -> None:
    huge = client.post(
        "/issuers/demo/credential", content=b"{" + b" " * 300_000 + b"}", headers={"Content-Type": "application/json"}
    )
    assert huge.status_code == 413 and huge.json()["error"] == "invalid_request"
    long_code = client.post(
        "/issuers/demo/token", data={"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "a" * 600}
    )
    assert long_code.status_code == 400
    nested = client.post(
        "/issuers/demo/admin/offers",
        headers={**ADMIN, "Content-Type": "application/json"},
        content=b"[" * 1000 + b"]" * 1000,
    )
    assert nested.status_code == 400


def test_operations_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    client.get("/issuers")
    assert 'route="/issuers"' in client.get("/metrics").text
    issuers = client.get("/issuers").json()["credential_issuers"]
    assert issuers == [{"authority": "demo", "credential_issuer": ISSUER, "did": None}]
    status = client.get("/status").json()
    assert status["chain"] == {"configured": False}
    (entry,) = status["authorities"]
    assert entry["anchored"] is False and set(entry["accreditation"].values()) == {"unknown"}
    assert client.get("/openapi.json").status_code == 200
