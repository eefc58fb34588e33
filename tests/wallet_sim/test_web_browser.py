"""The web wallet in headless Chromium (Playwright driving Debian's chromium, DESIGN.md §3): a citizen sets up the
wallet, receives a credential by uploading a photo of the authority's QR code, enters the transaction code, checks
the claims, stores it, opens its details in English and deletes it — with the keyboard where a person would."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
from conftest import PIN, RunningIssuer

from infra.server import LoopbackServer
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet
from wallet_sim.web import create_wallet_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def test_receive_by_qr_upload_in_chromium(browser: Any, running_issuer: RunningIssuer, tmp_path: Path) -> None:
    offer = running_issuer.offer("bewohnerparkausweis")
    qr_file = tmp_path / "angebot.png"
    buffer = io.BytesIO()
    qrcode.make(offer["offer_uri"]).get_image().save(buffer, format="PNG")
    qr_file.write_bytes(buffer.getvalue())
    data_dir = tmp_path / "wallet"
    app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True)
    with LoopbackServer(app) as server:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")  # a phone
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(server.url + "/")
        assert page.locator("html").get_attribute("lang") == "de"
        # Set up the wallet with the keyboard only: labels lead to the fields.
        page.get_by_label("Wallet-PIN", exact=True).focus()
        page.keyboard.type(PIN)
        page.keyboard.press("Tab")
        page.keyboard.press("Tab") if page.evaluate("document.activeElement.id") != "pin_again" else None
        page.keyboard.type(PIN)
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Meine Nachweise").wait_for()
        page.get_by_role("link", name="Nachweis empfangen").click()
        # Receive: upload the QR image (the phone's camera picture).
        page.get_by_label("Foto oder Bild des QR-Codes (PNG oder JPEG)").set_input_files(str(qr_file))
        page.get_by_role("button", name="Weiter").click()
        page.get_by_role("heading", name="Angebot prüfen").wait_for()
        assert page.get_by_text("Bewohnerparkausweis").first.is_visible()
        tx = page.get_by_label("Transaktionscode (6 Ziffern)")
        assert tx.get_attribute("inputmode") == "numeric"
        tx.fill(offer["tx_code"])
        tx.press("Enter")
        page.get_by_role("heading", name="Nachweis angekommen").wait_for()
        table = page.get_by_role("table")
        assert "MUSTERMANN" in table.inner_text() and "K-EM 1964" in table.inner_text()
        page.get_by_role("button", name="Speichern").click()
        page.get_by_role("status").wait_for()
        assert "gespeichert" in page.get_by_role("status").inner_text()
        assert page.get_by_role("table").get_by_text("Parkzone").is_visible()
        # The card on the overview carries the issuer's colours (through the generated stylesheet).
        page.get_by_role("link", name="Zurück zur Übersicht").click()
        card = page.locator("li.card").first
        assert card.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 78, 121)"
        assert "Bewohnerparkausweis" in card.inner_text()
        # English details, then delete with confirmation.
        card.get_by_role("link").click()
        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", name="Residential parking permit").wait_for()
        page.get_by_role("link", name="Delete").click()
        page.get_by_role("button", name="Delete for good").click()
        page.get_by_role("status").wait_for()
        assert page.locator("li.card").count() == 0
        assert errors == [], errors  # no CSP violations or script errors
        context.close()
    with Wallet.open(data_dir, PIN) as wallet:
        assert wallet.credentials() == [] and wallet.secure_element.key_count() == 0
    assert running_issuer.offer_state(offer["offer_id"])["state"] == "delivered"
