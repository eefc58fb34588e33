"""The authority's admin JSON API (issue 7): credentials and their status, subjects, deferred requests, credential
types, API keys, status lists and the audit log — each change audited in its transaction, never a claim value in an
answer; and the wallet-facing deferred/notification endpoints and the token endpoint's rate limit over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from issuer_support import ADMIN, PUBLIC_URL, SAMPLE_CLAIMS, make_issuer, settings

import issuer
from issuer import Issuer, create_app
from ssi.dpop import create_dpop_proof
from ssi.keys import SoftwareSigner
from ssi.oid4vci import PRE_AUTHORIZED_CODE_GRANT, create_proof_jwt

ISSUER = f"{PUBLIC_URL}/issuers/demo"


@pytest.fixture
def service(tmp_path: Path) -> Issuer:
    return make_issuer(tmp_path)


@pytest.fixture
def client(tmp_path: Path, service: Issuer) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path), issuer=service), base_url=PUBLIC_URL) as test_client:
        yield test_client


class HttpWallet:
    """Just enough of a wallet over the TestClient: offer → token → nonce → credential, DPoP throughout."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.key = SoftwareSigner.generate()
        self.nonce: str | None = None
        self.token: str | None = None

    def _dpop(self, url: str, token: str | None = None) -> str:
        return create_dpop_proof(self.key, htm="POST", htu=url, now=time.time(), nonce=self.nonce, access_token=token)

    def post(self, path: str, *, json: Any = None, data: Any = None, token: bool = False) -> Any:
        url = f"{ISSUER}{path}"
        headers = {"DPoP": self._dpop(url, self.token if token else None)}
        if token:
            headers["Authorization"] = f"DPoP {self.token}"
        response = self.client.post(url, json=json, data=data, headers=headers)
        self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
        if response.status_code in (400, 401) and "use_dpop_nonce" in response.text + str(response.headers):
            return self.post(path, json=json, data=data, token=token)
        return response

    def receive(self, type_id: str = "bewohnerparkausweis", keys: int = 1, **claims: Any) -> Any:
        offer = self.client.post(
            "/issuers/demo/admin/offers",
            headers=ADMIN,
            json={
                "credential_configuration_id": type_id,
                "claims": {**SAMPLE_CLAIMS[type_id.split("_", maxsplit=1)[0]], **claims},
                "tx_code": False,
            },
        ).json()
        code = offer["credential_offer"]["grants"][PRE_AUTHORIZED_CODE_GRANT]["pre-authorized_code"]
        answer = self.post("/token", data={"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": code})
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]
        c_nonce = self.client.post(f"{ISSUER}/nonce").json()["c_nonce"]
        proofs = [
            create_proof_jwt(SoftwareSigner.generate(), audience=ISSUER, now=time.time(), nonce=c_nonce)
            for _ in range(keys)
        ]
        response = self.post(
            "/credential", json={"credential_configuration_id": type_id, "proofs": {"jwt": proofs}}, token=True
        )
        return offer, response


def test_metadata_advertises_deferred_and_notification_endpoints(client: TestClient) -> None:
    """§12.2.4: deferred_credential_endpoint and notification_endpoint (OPTIONAL) where they are served."""
    doc = client.get("/.well-known/openid-credential-issuer/issuers/demo").json()
    assert doc["deferred_credential_endpoint"] == f"{ISSUER}/deferred-credential"
    assert doc["notification_endpoint"] == f"{ISSUER}/notification"


def test_credentials_list_and_status_changes_over_http(client: TestClient) -> None:
    wallet = HttpWallet(client)
    offer, response = wallet.receive(keys=2)
    assert response.status_code == 200 and response.json()["notification_id"]
    listed = client.get("/issuers/demo/admin/credentials", headers=ADMIN).json()["credentials"]
    assert len(listed) == 2 and {c["offer_id"] for c in listed} == {offer["offer_id"]}
    first = listed[0]
    assert set(first) >= {"credential_id", "credential_configuration_id", "status", "issued_at", "holder_jkt"}
    assert "MUSTERMANN" not in str(listed)
    revoked = client.post(f"/issuers/demo/admin/credentials/{first['credential_id']}/revoke", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["credential"]["status"] == "revoked"
    refused = client.post(f"/issuers/demo/admin/credentials/{first['credential_id']}/unsuspend", headers=ADMIN)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert client.post("/issuers/demo/admin/credentials/cUnknown1/revoke", headers=ADMIN).status_code == 404
    assert client.post(
        f"/issuers/demo/admin/credentials/{first['credential_id']}/delete", headers=ADMIN
    ).status_code in (
        400,
        404,
        405,
    )
    only_revoked = client.get("/issuers/demo/admin/credentials?status=revoked", headers=ADMIN).json()
    assert [c["credential_id"] for c in only_revoked["credentials"]] == [first["credential_id"]]
    one = client.get(f"/issuers/demo/admin/credentials/{first['credential_id']}", headers=ADMIN).json()
    assert one["status_list"]["uri"].startswith(f"{ISSUER}/status-lists/")


def test_subject_endpoints_take_the_value_in_the_body(client: TestClient) -> None:
    wallet = HttpWallet(client)
    wallet.receive(license_plate="K-AB 12")
    wallet.receive(license_plate="K-AB 12")
    found = client.post(
        "/issuers/demo/admin/subjects/credentials", headers=ADMIN, json={"kind": "license_plate", "value": "kab12"}
    )
    assert len(found.json()["credentials"]) == 2
    suspended = client.post(
        "/issuers/demo/admin/subjects/suspend", headers=ADMIN, json={"kind": "license_plate", "value": "K AB 12"}
    )
    assert suspended.status_code == 200 and len(suspended.json()["changed"]) == 2
    bad = client.post("/issuers/demo/admin/subjects/revoke", headers=ADMIN, json={"kind": "license_plate"})
    assert bad.status_code == 400


def test_deferred_flow_and_notification_over_http(client: TestClient, service: Issuer) -> None:
    document = dict(service.context.tenant("demo").types["bewohnerparkausweis"].document)
    document.update(id="bewohnerparkausweis_pruefung", requires_approval=True)
    put = client.put("/issuers/demo/admin/credential-types/bewohnerparkausweis_pruefung", headers=ADMIN, json=document)
    assert put.status_code == 200
    wallet = HttpWallet(client)
    offer, response = wallet.receive("bewohnerparkausweis_pruefung")
    assert response.status_code == 202 and response.headers["cache-control"] == "no-store"
    transaction_id = response.json()["transaction_id"]
    pending = wallet.post("/deferred-credential", json={"transaction_id": transaction_id}, token=True)
    assert pending.status_code == 202 and pending.json()["transaction_id"] == transaction_id
    queue = client.get("/issuers/demo/admin/deferred", headers=ADMIN).json()["requests"]
    assert [r["offer_id"] for r in queue] == [offer["offer_id"]]
    approved = client.post(f"/issuers/demo/admin/offers/{offer['offer_id']}/approve", headers=ADMIN)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    delivered = wallet.post("/deferred-credential", json={"transaction_id": transaction_id}, token=True)
    assert delivered.status_code == 200 and len(delivered.json()["credentials"]) == 1
    again = wallet.post("/deferred-credential", json={"transaction_id": transaction_id}, token=True)
    assert again.status_code == 400 and again.json()["error"] == "invalid_transaction_id"
    notification = wallet.post(
        "/notification",
        json={"notification_id": delivered.json()["notification_id"], "event": "credential_accepted"},
        token=True,
    )
    assert notification.status_code == 204 and notification.content == b""
    wrong = wallet.post(
        "/notification", json={"notification_id": "n-other", "event": "credential_accepted"}, token=True
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_notification_id"
    anonymous = client.post(f"{ISSUER}/notification", json={"notification_id": "x", "event": "credential_accepted"})
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    state = client.get(f"/issuers/demo/admin/offers/{offer['offer_id']}", headers=ADMIN).json()
    assert state["state"] == "delivered" and state["claims_stored"] is False


def test_api_keys_types_lists_and_audit(client: TestClient) -> None:
    created = client.post("/issuers/demo/admin/api-keys", headers=ADMIN, json={"label": "clerk CLI"})
    assert created.status_code == 201
    key, key_id = created.json()["api_key"], created.json()["key_id"]
    listed = client.get("/issuers/demo/admin/api-keys", headers={"Authorization": f"Bearer {key}"}).json()["api_keys"]
    assert any(k["key_id"] == key_id and k["revoked_at"] is None for k in listed)
    assert key not in str(listed)
    assert client.delete(f"/issuers/demo/admin/api-keys/{key_id}", headers=ADMIN).status_code == 204
    assert client.get("/issuers/demo/admin/api-keys", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert client.delete(f"/issuers/demo/admin/api-keys/{key_id}", headers=ADMIN).status_code == 404
    types = client.get("/issuers/demo/admin/credential-types", headers=ADMIN).json()["credential_types"]
    shipped = {path.stem for path in (Path(issuer.__file__).parent / "credential_types").glob("*.json")}
    assert set(types) == shipped >= {"bewohnerparkausweis", "meldebescheinigung", "dienstausweis"}
    HttpWallet(client).receive()
    lists = client.get("/issuers/demo/admin/status-lists", headers=ADMIN).json()["status_lists"]
    assert lists[0]["number"] == 1 and lists[0]["bits"] == 2
    entries = client.get("/issuers/demo/admin/audit", headers=ADMIN).json()["entries"]
    actions = [e["action"] for e in entries]
    assert actions[:2] == ["api_key.create", "api_key.revoke"] and "credential.issue" in actions
    assert all(e["actor"].startswith(("apikey:", "wallet")) for e in entries)
    assert client.get("/issuers/demo/admin/audit?after=1&limit=1", headers=ADMIN).json()["entries"][0]["seq"] == 2
    assert client.get("/issuers/demo/admin/audit/verify", headers=ADMIN).json()["ok"] is True
    offers = client.get("/issuers/demo/admin/offers", headers=ADMIN).json()["offers"]
    assert len(offers) == 1 and offers[0]["state"] == "delivered" and "claims" not in offers[0]


def test_admin_api_needs_this_authoritys_key(client: TestClient, service: Issuer) -> None:
    other = service.context.storage.create_authority("bonn", "Bonn", "Bonn")
    other_key = service.context.storage.create_api_key(other.id, "bonn")
    for method, path in (
        ("GET", "/issuers/demo/admin/credentials"),
        ("POST", "/issuers/demo/admin/credentials/cX1/revoke"),
        ("GET", "/issuers/demo/admin/audit"),
        ("POST", "/issuers/demo/admin/api-keys"),
    ):
        for headers in ({}, {"Authorization": f"Bearer {other_key}"}, {"Authorization": "Basic abc"}):
            response = client.request(method, path, headers=headers, json={"label": "x"})
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["error"] == "invalid_token"


def test_token_endpoint_rate_limit(tmp_path: Path) -> None:
    """Issue 7: rate limits on the token endpoint — 429 with an OAuth error body (``slow_down``) and Retry-After."""
    service = make_issuer(tmp_path, token_rate_limit=3, token_rate_window=60.0)
    with TestClient(create_app(settings(tmp_path), issuer=service), base_url=PUBLIC_URL) as client:
        statuses = []
        for _ in range(5):
            response = client.post(
                f"{ISSUER}/token",
                data={"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "x"},
            )
            statuses.append(response.status_code)
        assert statuses[:3] == [400, 400, 400] and statuses[3:] == [429, 429]
        assert response.json()["error"] == "slow_down"
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert response.headers["cache-control"] == "no-store"
