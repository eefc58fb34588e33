"""The web wallet's PID journey (issue 9: "the same journey in the web UI (pick a card, PIN pad, see requested data and
the provider's name before consenting)"), against the real PID provider over HTTP: with form posts, and in headless
Chromium with the keyboard."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))

from pid_support import PidEnv, pid_issuer

from infra.server import LoopbackServer
from wallet_sim.eid import EidCards
from wallet_sim.eid.citizens import find_citizen
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet
from wallet_sim.web import create_wallet_app

WALLET_PIN = "246810"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PidEnv]:
    with pid_issuer(tmp_path_factory.mktemp("pid-web")) as running:
        yield running


def _card_with_pin(data_dir: Path) -> None:
    """The wallet's test card of ERIKA MUSTERMANN with its transport PIN changed to 123456."""
    EidCards(data_dir / "eid").card("erika").change_pin(find_citizen("erika").transport_pin, "123456")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_pid_journey_by_form_posts(env: PidEnv, tmp_path: Path) -> None:
    """Consent page first (provider name, required and optional data, PIN field with the numeric keypad); a wrong PIN
    shows the card's answer and keeps the session open; with the right PIN and the birth name cleared, the PID is
    stored without it. Nothing is read before consent: declining deletes the flow's keys."""
    data_dir = tmp_path / "wallet"
    _card_with_pin(data_dir)
    app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True)
    with LoopbackServer(app) as server, httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as web:
        csrf = _csrf(web.get("/").text)
        assert web.post("/setup", data={"csrf": csrf, "pin": WALLET_PIN, "pin_again": WALLET_PIN}).status_code == 200
        start = web.get("/pid")
        assert "ERIKA MUSTERMANN" in start.text and 'name="card"' in start.text
        consent = web.post("/pid", data={"csrf": csrf, "issuer": env.credential_issuer, "card": "erika"})
        assert consent.status_code == 200
        assert "govssi Demo PID-Provider" in consent.text and "DEPIDPROV00001" in consent.text
        assert "Geburtsname" in consent.text and 'value="DG13" checked' in consent.text
        assert 'inputmode="numeric"' in consent.text
        flow = re.search(r"/pid/([^/]+)/approve", consent.text).group(1)  # type: ignore[union-attr]
        release = ["DG6", "DG7", "DG10", "DG17"]  # DG13 (birth name) cleared
        wrong = web.post(f"/pid/{flow}/approve", data={"csrf": csrf, "pin": "111111", "release": release})
        assert wrong.status_code == 400 and 'role="alert"' in wrong.text
        assert "Die PIN ist falsch. Noch 2 Versuche." in wrong.text  # the card's answer in the citizen's language
        stored = web.post(f"/pid/{flow}/approve", data={"csrf": csrf, "pin": "123456", "release": release})
        assert stored.status_code == 200 and "/credentials/c_" in str(stored.url)
        assert "MUSTERMANN" in stored.text and "GABLER" not in stored.text
        again = web.post(f"/pid/{flow}/approve", data={"csrf": csrf, "pin": "123456", "release": release})
        assert again.status_code == 400  # the flow is over
        consent = web.post("/pid", data={"csrf": csrf, "issuer": env.credential_issuer, "card": "erika"})
        other = re.search(r"/pid/([^/]+)/approve", consent.text).group(1)  # type: ignore[union-attr]
        assert web.post(f"/pid/{other}/decline", data={"csrf": csrf}).status_code == 200
        forged = web.post("/pid", data={"csrf": "x", "issuer": env.credential_issuer, "card": "erika"})
        assert forged.status_code == 400
    with Wallet.open(data_dir, WALLET_PIN) as wallet:
        (pid,) = wallet.credentials()
        assert pid.vct == "urn:eudi:pid:de:1" and "birth_family_name" not in pid.claims
        assert wallet.secure_element.key_count() == 3 + 2  # holder keys + the PID's DPoP and instance keys


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_pid_journey_in_chromium(env: PidEnv, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    data_dir = tmp_path / "wallet"
    _card_with_pin(data_dir)
    Wallet.create(data_dir, WALLET_PIN, kdf=FAST_KDF).close()
    app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True)
    with LoopbackServer(app) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page: Any = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE").new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(server.url + "/")
        page.get_by_label("Wallet-PIN", exact=True).fill(WALLET_PIN)
        page.keyboard.press("Enter")
        page.get_by_role("link", name="PID mit dem Ausweis holen").click()
        page.get_by_label("Adresse des PID-Anbieters").fill(env.credential_issuer)
        page.get_by_label(re.compile("ERIKA MUSTERMANN")).check()
        page.get_by_role("button", name="Weiter").click()
        page.get_by_role("heading", name="Online-Ausweis").wait_for()
        assert page.get_by_text("govssi Demo PID-Provider").is_visible()
        page.get_by_label("Geburtsname").uncheck()
        pin = page.get_by_label("Ausweis-PIN (6 Ziffern)")
        assert pin.get_attribute("inputmode") == "numeric"
        pin.focus()
        page.keyboard.type("123456")
        page.keyboard.press("Enter")
        page.get_by_role("status").wait_for()
        assert "gespeichert" in page.get_by_role("status").inner_text()
        assert page.get_by_text("MUSTERMANN").first.is_visible() and page.get_by_text("GABLER").count() == 0
        assert errors == [], errors
        browser.close()
