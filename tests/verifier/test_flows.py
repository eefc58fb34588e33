"""End to end over real HTTP: the relying party creates a request, the wallet fetches it by reference
(``request_uri_method=post`` with ``wallet_nonce``), presents, and the relying party fetches the verified result once
— for both response modes (OpenID4VP 1.0 §8.2, §8.3.1), cross-device (QR code, status polling and server-sent events)
and same-device (``response_code`` in the redirect, HAIP 1.0)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import Env

MODES = ["direct_post.jwt", "direct_post"]


@pytest.mark.parametrize("mode", MODES)
def test_cross_device_flow(fresh: Env, mode: str) -> None:
    created = fresh.create(response_mode=mode)
    assert created["authorization_request"].startswith("openid4vp://?client_id=x509_hash%3A")
    assert created["request_uri"].startswith(fresh.url + "/request/")
    session = created["session"]
    assert fresh.http.get(f"{fresh.url}/api/presentations/{session}/status").json()["status"] == "created"
    pending = fresh.result(session)
    assert pending.status_code == 202 and pending.json() == {"status": "created"}
    qr = fresh.http.get(created["qr_svg_uri"])
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml") and "<svg" in qr.text

    wallet = fresh.wallet(fresh.credential())
    presented = wallet.present(created["authorization_request"])
    assert presented.response.status_code == 200, presented.response.text
    assert presented.body == {"redirect_uri": f"{fresh.url}/done"}
    assert presented.request.response_mode == mode
    assert fresh.http.get(f"{fresh.url}/api/presentations/{session}/status").json()["status"] == "verified"

    result = fresh.result(session)
    assert result.status_code == 200
    body = result.json()
    assert body["status"] == "verified"
    (pid,) = body["credentials"]["pid"]
    assert pid["claims"] == {"given_name": "ERIKA", "family_name": "MUSTERMANN", "birthdate": "1964-08-12"}
    assert pid["issuer"] == fresh.issuer.url and pid["vct"] == "urn:eudi:pid:de:1"
    assert pid["status"] == "valid" and pid["status_anchored"] is True and pid["holder_binding"] is True
    assert pid["accreditation"]["did"].startswith("did:ethr:")
    # once
    assert fresh.result(session).status_code == 404


def test_server_sent_events_follow_the_session(fresh: Env) -> None:
    created = fresh.create()
    wallet = fresh.wallet(fresh.credential())
    statuses = []
    with fresh.http.stream("GET", created["events_uri"]) as stream:
        lines = stream.iter_lines()
        for line in lines:
            if line.startswith("data: "):
                statuses.append(json.loads(line[6:])["status"])
                if statuses == ["created"]:
                    assert wallet.present(created["authorization_request"]).response.status_code == 200
                if statuses[-1] == "verified":
                    break
    assert statuses[0] == "created" and statuses[-1] == "verified"


@pytest.mark.parametrize("mode", MODES)
def test_same_device_flow_with_response_code(fresh: Env, mode: str) -> None:
    """HAIP 1.0: the Verifier returns a redirect_uri; with the same-device flow it carries a fresh response_code that
    the relying party needs to fetch the result — a captured redirect alone is useless (§14.2)."""
    portal = "https://portal.example/callback?x=1"
    created = fresh.create(flow="same_device", response_mode=mode, redirect_uri=portal)
    wallet = fresh.wallet(fresh.credential())
    presented = wallet.present(created["authorization_request"])
    redirect = presented.body["redirect_uri"]
    assert redirect.startswith("https://portal.example/callback?x=1&response_code=")
    code = parse_qs(urlsplit(redirect).query)["response_code"][0]
    assert len(code) >= 32
    session = created["session"]
    assert fresh.result(session).status_code == 404  # without the code
    assert fresh.result(session, response_code="not-the-code").status_code == 404
    other = fresh.create(flow="same_device")
    assert fresh.result(other["session"], response_code=code).status_code == 404  # the code of another session
    result = fresh.result(session, response_code=code)
    assert result.status_code == 200 and result.json()["status"] == "verified"
    assert fresh.result(session, response_code=code).status_code == 404


def test_wallet_declines_section_8_5(fresh: Env) -> None:
    created = fresh.create()
    presented = fresh.wallet(fresh.credential()).decline(created["authorization_request"])
    assert presented.response.status_code == 200
    result = fresh.result(created["session"]).json()
    assert result["status"] == "wallet_error" and result["error"] == "access_denied"


def test_dcql_query_from_the_relying_party(fresh: Env) -> None:
    query = {
        "credentials": [
            {
                "id": "over18",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["urn:eudi:pid:de:1"]},
                "claims": [{"path": ["age_equal_or_over", "18"], "values": [True]}],
            }
        ]
    }
    created = fresh.create(dcql_query=query, preset=None)
    assert fresh.wallet(fresh.credential()).present(created["authorization_request"]).response.status_code == 200
    body = fresh.result(created["session"]).json()
    assert body["credentials"]["over18"][0]["claims"] == {"age_equal_or_over": {"18": True}}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"preset": "nope"}, 400),
        ({"preset": None, "dcql_query": {"credentials": []}}, 400),
        (
            {
                "preset": None,
                "dcql_query": {"credentials": [{"id": "m", "format": "mso_mdoc", "meta": {"doctype_value": "x"}}]},
            },
            400,
        ),
        ({"flow": "sideways"}, 400),
        ({"response_mode": "fragment"}, 400),
        ({"flow": "same_device", "redirect_uri": "http://evil.example/cb"}, 400),
        ({"redirect_uri": "https://portal.example/cb"}, 400),
        ({"unknown": 1}, 400),
    ],
)
def test_bad_creation_requests(fresh: Env, body: dict, status: int) -> None:
    body.setdefault("preset", "pid_identification")
    if body.get("preset") is None:
        body.pop("preset")
    answer = fresh.http.post(f"{fresh.url}/api/presentations", json=body)
    assert answer.status_code == status, answer.text
    assert set(answer.json()) >= {"error", "error_description"}


def test_request_object_is_handed_out_once(fresh: Env) -> None:
    created = fresh.create()
    wallet = fresh.wallet(fresh.credential())
    wallet.fetch_request(created["authorization_request"])
    again = fresh.http.get(created["request_uri"])
    assert again.status_code == 400
    assert fresh.http.get(f"{fresh.url}/request/unknown-request").status_code == 404


def test_presets_and_ops(fresh: Env) -> None:
    names = [p["name"] for p in fresh.http.get(f"{fresh.url}/api/presets").json()["presets"]]
    assert {"pid_identification", "age_over_18", "pid_address"} <= set(names)
    assert fresh.http.get(f"{fresh.url}/healthz").status_code == 200
    assert "verifier" in fresh.http.get(f"{fresh.url}/metrics").text
    assert fresh.http.get(f"{fresh.url}/openapi.json").status_code == 200
