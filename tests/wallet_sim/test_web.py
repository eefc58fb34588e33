"""The web wallet over HTTP (ASGI test client): setup and unlock, CSRF and Origin checks, security headers, the
receive flow against the real issuer, details and deletion, language switch, card colours without inline styles."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from conftest import PIN, RunningIssuer
from fastapi.testclient import TestClient
from PIL import Image

from infra.server import LoopbackServer
from ssi.clock import FrozenClock
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet
from wallet_sim.web import create_wallet_app


def csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_wallet_app(tmp_path / "w", kdf=FAST_KDF, allow_http_loopback=True)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def setup(client: TestClient) -> str:
    page = client.get("/")
    assert page.status_code == 200 and 'action="/setup"' in page.text
    token = csrf(page.text)
    response = client.post("/setup", data={"csrf": token, "pin": PIN, "pin_again": PIN}, follow_redirects=True)
    assert response.status_code == 200 and 'href="/receive"' in response.text
    return token


def test_security_headers_and_cookie(client: TestClient) -> None:
    page = client.get("/")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "<html lang=" in page.text and 'class="skip"' in page.text


def test_forms_need_the_session_csrf_token_and_our_origin(client: TestClient) -> None:
    token = csrf(client.get("/").text)
    assert client.post("/setup", data={"pin": PIN, "pin_again": PIN}).status_code == 400
    assert client.post("/setup", data={"csrf": "forged", "pin": PIN, "pin_again": PIN}).status_code == 400
    foreign = client.post(
        "/setup", data={"csrf": token, "pin": PIN, "pin_again": PIN}, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status_code == 400
    other = TestClient(client.app, base_url="http://127.0.0.1")  # another browser: another session and token
    assert other.post("/setup", data={"csrf": token, "pin": PIN, "pin_again": PIN}).status_code == 400
    assert not Wallet.exists(client.app.state.data_dir)  # type: ignore[attr-defined]


def test_setup_validation_and_unlock(client: TestClient) -> None:
    token = csrf(client.get("/").text)
    differ = client.post("/setup", data={"csrf": token, "pin": PIN, "pin_again": "135790"})
    assert differ.status_code == 400 and 'role="alert"' in differ.text
    weak = client.post("/setup", data={"csrf": token, "pin": "1234", "pin_again": "1234"})
    assert weak.status_code == 400
    setup(client)
    client.post("/lock", data={"csrf": token})
    unlock_page = client.get("/")
    assert 'action="/unlock"' in unlock_page.text
    wrong = client.post("/unlock", data={"csrf": token, "pin": "999999"})
    assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text
    assert "Die Wallet-PIN ist falsch (noch 4 Versuche bis zu einer Wartezeit)." in wrong.text
    ok = client.post("/unlock", data={"csrf": token, "pin": PIN}, follow_redirects=True)
    assert 'href="/receive"' in ok.text


def test_receive_flow_by_link_with_wrong_then_right_tx_code(client: TestClient, running_issuer: RunningIssuer) -> None:
    token = setup(client)
    offer = running_issuer.offer("bewohnerparkausweis")
    page = client.post("/receive", data={"csrf": token, "offer": offer["offer_uri"]}, files={"qr": ("", b"")})
    assert page.status_code == 200, page.text
    assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text
    action = re.search(r'action="(/receive/[^"]+/request)"', page.text)
    assert action
    wrong = "000000" if offer["tx_code"] != "000000" else "111111"
    refused = client.post(action.group(1), data={"csrf": token, "tx_code": wrong})
    assert refused.status_code == 400 and "Transaktionscode nicht angenommen" in refused.text  # in the page language
    assert "transaction code" not in refused.text.split('role="alert"')[1].split("</p>")[0]
    preview = client.post(action.group(1), data={"csrf": token, "tx_code": offer["tx_code"]})
    assert preview.status_code == 200 and "MUSTERMANN" in preview.text and "Kennzeichen" in preview.text
    accept = re.search(r'action="(/received/[^"]+/accept)"', preview.text)
    assert accept
    details = client.post(accept.group(1), data={"csrf": token}, follow_redirects=True)
    assert details.status_code == 200 and "Bewohnerparkausweis" in details.text and 'role="status"' in details.text
    assert "K-EM 1964" in details.text and "Anschrift – Ort" in details.text
    english = client.get(str(details.url) + "?lang=en")
    assert "Residential parking permit" in english.text and 'lang="en"' in english.text
    css = client.get("/cards.css")
    assert re.search(r"\.card-c_[\w-]+ \{ background: #1F4E79; color: #FFFFFF; \}", css.text)
    assert "style=" not in details.text  # colours via the stylesheet: the CSP forbids inline styles
    credential_id = str(details.url).rstrip("/").split("/")[-1].split("?")[0]
    confirm = client.get(f"/credentials/{credential_id}/delete")
    assert confirm.status_code == 200
    deleted = client.post(f"/credentials/{credential_id}/delete", data={"csrf": token}, follow_redirects=True)
    assert deleted.status_code == 200 and credential_id not in deleted.text
    assert client.get(f"/credentials/{credential_id}").status_code == 404


def test_decline_in_the_browser(client: TestClient, running_issuer: RunningIssuer) -> None:
    token = setup(client)
    offer = running_issuer.offer("dienstausweis", tx_code=False)
    page = client.post("/receive", data={"csrf": token, "offer": offer["offer_uri"]}, files={"qr": ("", b"")})
    action = re.search(r'action="(/receive/[^"]+/request)"', page.text)
    assert action and "tx_code" not in page.text.split("<form")[1].split("</form>")[0].replace("csrf", "")
    preview = client.post(action.group(1), data={"csrf": token})
    decline = re.search(r'action="(/received/[^"]+/decline)"', preview.text)
    assert decline
    home = client.post(decline.group(1), data={"csrf": token}, follow_redirects=True)
    assert 'role="status"' in home.text and "Sachbearbeiterin" not in home.text


def test_bad_offer_and_bad_image_are_shown_not_crashed(client: TestClient) -> None:
    token = setup(client)
    blank = io.BytesIO()
    Image.new("RGB", (120, 120), "white").save(blank, format="PNG")
    for data, files, german, english in (
        (
            {"offer": "https://example.org/x"},
            {"qr": ("", b"")},
            "kein gültiges Angebot",
            "not a valid credential offer",
        ),
        ({"offer": ""}, {"qr": ("x.png", b"not an image")}, "kein PNG- oder JPEG-Bild", "not a PNG or JPEG image"),
        ({"offer": ""}, {"qr": ("b.png", blank.getvalue())}, "kein lesbarer QR-Code", "readable QR code"),
        ({"offer": ""}, {"qr": ("", b"")}, "Link ein oder", "link or"),
    ):
        page = client.post("/receive", data={"csrf": token, **data}, files=files)
        assert page.status_code == 400 and 'role="alert"' in page.text
        assert german in page.text, page.text
        client.get("/?lang=en")
        page = client.post("/receive", data={"csrf": token, **data}, files=files)
        assert page.status_code == 400 and english in page.text, page.text
        client.get("/?lang=de")


def test_unreachable_and_unknown_issuer_in_the_page_language(client: TestClient, running_issuer: RunningIssuer) -> None:
    token = setup(client)

    def link(issuer: str) -> str:
        grants = {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "abc"}}
        offer = {"credential_issuer": issuer, "credential_configuration_ids": ["x"], "grants": grants}
        return "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer))

    for issuer, german in (
        (f"{running_issuer.base_url}/issuers/nobody", "kein Aussteller von Nachweisen"),
        ("http://127.0.0.1:9/issuers/x", "nicht erreichbar"),
    ):
        page = client.post("/receive", data={"csrf": token, "offer": link(issuer)}, files={"qr": ("", b"")})
        assert page.status_code == 400 and german in page.text, page.text


def test_served_over_real_http(tmp_path: Path) -> None:
    app = create_wallet_app(tmp_path / "w", kdf=FAST_KDF)
    with LoopbackServer(app) as server:
        response = httpx.get(server.url + "/")
        assert response.status_code == 200 and "govssi" in response.text
        assert httpx.get(server.url + "/static/wallet.css").status_code == 200


def test_idle_session_is_locked(tmp_path: Path) -> None:
    clock = FrozenClock(1_800_000_000)
    app = create_wallet_app(tmp_path / "w", kdf=FAST_KDF, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        setup(client)
        clock.advance(16 * 60)  # IDLE_SECONDS is 15 minutes
        page = client.get("/")
        assert 'action="/unlock"' in page.text  # a new session: the wallet was closed


def test_deferred_issuance_in_the_browser(tmp_path: Path) -> None:
    """A 202 from the issuer shows "takes a while"; the overview lists the pending issuance; "ask now" before the
    issuer's interval (§8.3) sends nothing and says how long to wait, after it fetches the credentials."""
    from fake_issuer import FakeIssuer, serve

    clock = FrozenClock(time.time())
    running = serve(FakeIssuer(mode="deferred", pending_polls=0, interval=30, clock=clock))
    fake = next(running)
    app = create_wallet_app(tmp_path / "w", kdf=FAST_KDF, allow_http_loopback=True, clock=clock)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            token = setup(client)
            page = client.post("/receive", data={"csrf": token, "offer": fake.offer()}, files={"qr": ("", b"")})
            action = re.search(r'action="(/receive/[^"]+/request)"', page.text)
            assert action
            waiting = client.post(action.group(1), data={"csrf": token, "tx_code": "493536"})
            assert waiting.status_code == 200 and "Ausstellung dauert noch" in waiting.text
            home = client.get("/")
            poll = re.search(r'action="(/pending/[^"]+/poll)"', home.text)
            assert poll and "Testausweis" in home.text
            early = client.post(poll.group(1), data={"csrf": token})
            assert "frühestens in 30 Sekunden" in early.text and "MUSTERMANN" not in early.text
            assert [t["polls"] for t in fake.transactions.values()] == [0]
            clock.advance(30)
            preview = client.post(poll.group(1), data={"csrf": token})
            assert "MUSTERMANN" in preview.text
            accept = re.search(r'action="(/received/[^"]+/accept)"', preview.text)
            assert accept
            details = client.post(accept.group(1), data={"csrf": token}, follow_redirects=True)
            assert "Testausweis" in details.text
            assert 'action="/pending/' not in client.get("/").text
            assert fake.notifications[-1]["event"] == "credential_accepted"
    finally:
        next(running, None)


def test_offer_of_two_credentials_asks_for_each(client: TestClient) -> None:
    """An offer may name several credential configurations (OpenID4VCI §4.1.1): each received credential is shown
    for consent in turn — none is dropped unseen — and the issuer learns each decision (§11.1)."""
    from fake_issuer import FakeIssuer, serve

    running = serve(FakeIssuer(configurations=("permit", "permit_copy")))
    fake = next(running)
    try:
        token = setup(client)
        page = client.post("/receive", data={"csrf": token, "offer": fake.offer()}, files={"qr": ("", b"")})
        action = re.search(r'action="(/receive/[^"]+/request)"', page.text)
        assert action
        first = client.post(action.group(1), data={"csrf": token, "tx_code": "493536"})
        accept = re.search(r'action="(/received/[^"]+/accept)"', first.text)
        assert accept and "MUSTERMANN" in first.text
        second = client.post(accept.group(1), data={"csrf": token}, follow_redirects=True)
        assert "Der Nachweis wurde gespeichert." in second.text
        decline = re.search(r'action="(/received/[^"]+/decline)"', second.text)
        assert decline and decline.group(1) != accept.group(1).replace("/accept", "/decline")
        done = client.post(decline.group(1), data={"csrf": token}, follow_redirects=True)
        assert "abgelehnt" in done.text and "/received/" not in done.text
        assert [n["event"] for n in fake.notifications] == ["credential_accepted", "credential_deleted"]
    finally:
        next(running, None)


def test_undecided_credentials_are_declined_when_the_session_ends(tmp_path: Path) -> None:
    """A received credential the user neither stored nor declined before the session closed (15 minutes idle) is
    declined then: its keys are destroyed and the issuer is told ``credential_deleted`` — nothing waits half-done."""
    from fake_issuer import FakeIssuer, serve

    clock = FrozenClock(time.time())
    running = serve(FakeIssuer(clock=clock))
    fake = next(running)
    data_dir = tmp_path / "w"
    app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True, clock=clock)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            token = setup(client)
            page = client.post("/receive", data={"csrf": token, "offer": fake.offer()}, files={"qr": ("", b"")})
            action = re.search(r'action="(/receive/[^"]+/request)"', page.text)
            assert action
            preview = client.post(action.group(1), data={"csrf": token, "tx_code": "493536"})
            assert "/accept" in preview.text
            clock.advance(16 * 60)  # IDLE_SECONDS is 15 minutes
            assert 'action="/unlock"' in client.get("/").text
        assert [n["event"] for n in fake.notifications] == ["credential_deleted"]
        with Wallet.open(data_dir, PIN) as wallet:
            assert wallet.credentials() == [] and wallet.secure_element.key_count() == 0
    finally:
        next(running, None)
