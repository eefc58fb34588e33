"""The consent screen in headless Chromium (Playwright driving Debian's chromium, as tests/wallet_sim/
test_web_browser.py): a citizen pastes a verifier's request, reads who asks and why, leaves an optional claim out
with the keyboard, shares, and follows the link back to the verifier; then declines a second request in English.
The verifier is govssi's, over HTTP; what it received is checked there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from presentation_support import PID, running_verifier, store_pid

from infra.server import LoopbackServer
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import load_pem_certificates
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet
from wallet_sim.web import create_wallet_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PIN = "246810"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

QUERY: dict[str, Any] = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [PID]},
            "claims": [
                {"id": "name", "path": ["family_name"]},
                {"id": "geburt", "path": ["birthdate"]},
            ],
            "claim_sets": [["name", "geburt"], ["name"]],
        }
    ],
    "credential_sets": [{"options": [["pid"]], "purpose": {"de": "Ausleihe in der Stadtbibliothek", "en": "Library"}}],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def test_consent_screen_in_chromium(browser: Any, tmp_path: Path) -> None:
    with running_verifier(tmp_path / "verifier") as verifier:
        data_dir = tmp_path / "wallet"
        with Wallet.create(data_dir, PIN, kdf=FAST_KDF, allow_http_loopback=True) as wallet:
            store_pid(wallet, verifier.issuer)
        policy = WalletRequestPolicy(
            x509_anchors=load_pem_certificates(verifier.ca_pem.read_bytes()), allow_http_loopback=True
        )
        app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True, verifier_policy=policy)
        same_device = verifier.create(QUERY, flow="same_device", redirect_uri=f"{verifier.url}/done")
        with LoopbackServer(app) as server:
            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.goto(server.url + "/")
            page.get_by_label("Wallet-PIN").fill(PIN)
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="Meine Nachweise").wait_for()
            page.get_by_role("link", name="Nachweis vorzeigen").click()
            page.get_by_label("Link der Anfrage").fill(same_device["authorization_request"])
            page.get_by_role("button", name="Weiter").click()
            page.get_by_role("heading", name="Angaben teilen?").wait_for()
            # who asks, verified, and why
            assert page.locator(".verifier-name").inner_text() == "Bürgerportal Musterstadt"
            assert page.get_by_text("Geprüft über: X.509-Zertifikat (Hash)").is_visible()
            assert page.get_by_text("Ausleihe in der Stadtbibliothek").is_visible()
            assert "Familienname: MUSTERMANN (erforderlich)" in page.locator("ul.claims").inner_text()
            # the optional claim: a labelled checkbox, checked as the verifier prefers; unchecked with the keyboard
            birthdate = page.get_by_role("checkbox", name="Geburtsdatum: 1964-08-12")
            assert birthdate.is_checked()
            birthdate.focus()
            page.keyboard.press("Space")
            assert not birthdate.is_checked()
            page.get_by_role("button", name="Teilen").click()
            page.get_by_role("heading", name="Angaben geteilt").wait_for()
            assert "an Bürgerportal Musterstadt übermittelt" in page.get_by_role("status").inner_text()
            # same device: the link back carries the response_code (§8.2)
            back = page.get_by_role("link", name="Weiter zu 127.0.0.1")
            assert "response_code=" in (back.get_attribute("href") or "")
            assert errors == [], errors  # no CSP violations or script errors
            back.click()
            page.wait_for_url(f"{verifier.url}/done?response_code=*")
            # what the verifier received: the family name only
            code = page.url.split("response_code=")[1]
            result = verifier.result(same_device["session"], response_code=code)
            assert result["credentials"]["pid"][0]["claims"] == {"family_name": "MUSTERMANN"}

            # a second request, in English, declined
            declined = verifier.create(QUERY)
            page.goto(server.url + "/present?lang=en")
            page.get_by_label("Request link").fill(declined["authorization_request"])
            page.get_by_role("button", name="Continue").click()
            page.get_by_role("heading", name="Share your details?").wait_for()
            assert page.get_by_text("Verified through: X.509 certificate (hash)").is_visible()
            page.get_by_role("button", name="Decline").click()
            page.get_by_role("heading", name="Declined").wait_for()
            context.close()
        answer = verifier.result(declined["session"])
        assert answer["status"] == "wallet_error" and answer["error"] == "access_denied"
