"""The guided citizen journey of ``govssi demo`` (issue 13), driven through the real pages in headless Chromium
(Playwright with Debian's chromium, DESIGN.md §3) against a booted demo, with screenshots:

1. in the web wallet, set up the wallet, pick ERIKA MUSTERMANN's card for the PID, change its transport PIN on the page
   the wallet shows first (as the "Try it" page says), obtain the PID through the eID flow (provider prefilled, card
   chosen, PIN pad);
2. in the issuer's admin web UI, the clerk creates a residential parking permit offer; the wallet takes it from the
   QR code *image* (decoded by the wallet) with the tx_code;
3. at the Bürgerportal Musterstadt, log in with the wallet cross-device (the QR code on the login page, decoded from a
   screenshot and handed to the wallet in another browser) with the PID, and same-device with the permit; the portal
   shows exactly what it received and the pairwise ``sub``;
4. the clerk revokes the permit; the next portal login that asks for it is refused with the reason.

No page answers with a server error along the way. Screenshots go to ``$DEMO_SCREENSHOTS_DIR`` (docs/img for the
README) or the test's temporary directory."""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from demo_browser_support import CHROMIUM, headless_chromium, running_demo

from govssi.demo.stack import DEMO_API_KEY, DemoStack
from wallet_sim.eid.citizens import find_citizen

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

WALLET_PIN = "246810"
CARD_PIN = "123456"
PERMIT_FIELDS = [  # the admin UI's field ids (its labels carry "required" markers)
    ("f-claims-family_name", "MUSTERMANN"),
    ("f-claims-given_name", "ERIKA"),
    ("f-claims-address-street_address", "HEIDESTRASSE 17"),
    ("f-claims-address-postal_code", "51147"),
    ("f-claims-address-locality", "KÖLN"),
    ("f-claims-license_plate", "K-EM 1964"),
    ("f-claims-parking_zone", "K3"),
    ("f-claims-valid_until", "2099-06-30"),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with running_demo(Path(tmp_path_factory.mktemp("demo"))) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as chromium:
        yield chromium


class Journey:
    """The browsers of the journey (the citizen's computer, her phone's wallet, the clerk's desk) and what they saw."""

    def __init__(self, browser: Any, demo: DemoStack, shots: Path) -> None:
        self.demo = demo
        self.shots = shots
        self.server_errors: list[str] = []
        self.console_errors: list[str] = []
        self.desk = self._context(browser, {"width": 1280, "height": 900})
        self.phone = self._context(browser, {"width": 412, "height": 915})
        self.computer = self._context(browser, {"width": 1280, "height": 900})

    def _context(self, browser: Any, viewport: dict[str, int]) -> Any:
        context = browser.new_context(locale="de-DE", viewport=viewport)
        context.on("response", self._watch)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        return page

    def _console(self, message: Any) -> None:
        # a refusal page answers 4xx on purpose (the browser logs that as a failed load); server errors are counted
        # from the responses themselves
        if message.type == "error" and "the server responded with a status of 4" not in message.text:
            self.console_errors.append(message.text)

    def _watch(self, response: Any) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")

    def shot(self, page: Any, name: str) -> None:
        page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


def decode_qr(png: bytes) -> str:
    import zxingcpp  # type: ignore[import-not-found]
    from PIL import Image

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code in the image"
    return str(results[0].text)


def _wait_anchored(demo: DemoStack, *, newer_than: int, pid: bool = False) -> int:
    """The status list version of the municipal authority (or the PID provider) once one newer than ``newer_than`` is
    anchored on the chain with no change waiting for publication (a credential verifies from then on)."""
    issuer = demo.info["issuer"]
    admin = f"{issuer['pid_issuer' if pid else 'credential_issuer']}/admin"
    key = issuer["pid_api_key"] if pid else DEMO_API_KEY
    deadline = time.monotonic() + 30
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {key}"}) as http:
        while time.monotonic() < deadline:
            lists = http.get(f"{admin}/status-lists").json()["status_lists"]
            latest = lists[0] if lists else {"version": 0}
            if (
                latest["version"] > newer_than
                and latest["anchor_state"] == "anchored"
                and not latest["pending_changes"]
            ):
                return int(latest["version"])
            time.sleep(0.3)
    raise AssertionError(f"no anchored status list newer than version {newer_than}")


def test_the_citizen_journey_through_the_real_pages(browser: Any, demo: DemoStack, tmp_path: Path) -> None:
    shots = Path(os.environ.get("DEMO_SCREENSHOTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    journey = Journey(browser, demo, shots)
    info = demo.info
    start = journey.computer
    start.goto(info["start_page"] + "/?lang=de")
    start.get_by_role("heading", name="Testidentitäten (simulierte Ausweise)").wait_for()
    start.goto(info["start_page"] + "/try?lang=de")
    step = start.get_by_text(re.compile("Die Wallet verlangt zuerst, die Transport-PIN zu ändern"))
    assert "Transport-PIN 13579, neue PIN 123456" in step.inner_text(), "the Try it page explains the PIN change"

    # -- 1. the PID through the eID --------------------------------------------------------------------------------
    phone = journey.phone
    phone.goto(info["wallet"])
    phone.get_by_label("Wallet-PIN", exact=True).fill(WALLET_PIN)
    phone.locator("#pin_again").fill(WALLET_PIN)
    phone.locator("#pin_again").press("Enter")
    phone.get_by_role("heading", name="Meine Nachweise").wait_for()
    phone.get_by_role("link", name="PID mit dem Ausweis holen").click()
    phone.get_by_role("heading", name="PID mit dem Online-Ausweis").wait_for()
    assert phone.get_by_label("Adresse des PID-Anbieters").input_value() == info["issuer"]["pid_issuer"]
    # the card still has its transport PIN: the wallet asks to change it first (TR-03127 §3.3.3)
    phone.get_by_role("radio", name=re.compile("ERIKA MUSTERMANN")).check()
    phone.get_by_role("button", name="Weiter").click()
    phone.get_by_role("heading", name="Transport-PIN ändern").wait_for()
    assert "Ändern Sie zuerst die Transport-PIN" in phone.get_by_role("status").inner_text()
    phone.get_by_label("Transport-PIN (5 Ziffern)").fill(find_citizen("erika").transport_pin)
    phone.get_by_label("Neue PIN (6 Ziffern)").fill(CARD_PIN)
    phone.get_by_label("Neue PIN wiederholen").fill(CARD_PIN)
    journey.shot(phone, "journey-1-transport-pin")
    phone.get_by_role("button", name="PIN ändern").click()
    phone.get_by_role("heading", name="PID mit dem Online-Ausweis").wait_for()
    assert "Die PIN von ERIKA MUSTERMANN ist geändert" in phone.get_by_role("status").inner_text()
    assert phone.get_by_label("Adresse des PID-Anbieters").input_value() == info["issuer"]["pid_issuer"]
    phone.get_by_role("radio", name=re.compile("ERIKA MUSTERMANN")).check()
    phone.get_by_role("button", name="Weiter").click()
    phone.get_by_role("heading", name="Dieser Anbieter möchte Daten aus Ihrem Ausweis lesen").wait_for()
    journey.shot(phone, "journey-1-eid-consent")
    phone.get_by_label("Ausweis-PIN (6 Ziffern)").fill(CARD_PIN)
    phone.get_by_role("button", name="Mit PIN freigeben").click()
    phone.get_by_text("Ihr PID ist gespeichert.").wait_for()
    journey.shot(phone, "journey-1-pid-stored")

    # -- 2. the parking permit by QR code ------------------------------------------------------------------------
    desk = journey.desk
    desk.goto(info["issuer"]["admin_ui"] + "login")
    desk.locator("#username").fill(info["issuer"]["clerk"]["username"])
    desk.locator("#password").fill(info["issuer"]["clerk"]["password"])
    desk.locator("form.stack button[type=submit]").click()
    desk.get_by_role("heading", name="Übersicht").wait_for()
    desk.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Neues Angebot").click()
    desk.get_by_role("heading", name="Neues Angebot").wait_for()
    desk.get_by_label("Nachweisart").select_option("bewohnerparkausweis")
    desk.get_by_role("button", name="Nachweisart wählen").click()
    desk.get_by_role("heading", name="Angaben für: Bewohnerparkausweis").wait_for()
    for field_id, value in PERMIT_FIELDS:
        desk.locator(f"#{field_id}").fill(value)
    desk.get_by_role("button", name="Angebot erstellen").click()
    desk.get_by_role("heading", name="Angebot erstellt").wait_for()
    qr = desk.get_by_role("img", name=re.compile("QR-Code des Angebots"))
    qr_file = shots / "journey-2-offer-qr-code.png"
    qr.screenshot(path=str(qr_file))
    tx_code = desk.locator("#tx-code").inner_text().split(":")[-1].replace(" ", "").strip()
    journey.shot(desk, "journey-2-offer")
    phone.goto(info["wallet"])
    phone.get_by_role("link", name="Nachweis empfangen").click()
    phone.get_by_label("Foto oder Bild des QR-Codes (PNG oder JPEG)").set_input_files(str(qr_file))
    phone.get_by_role("button", name="Weiter").click()
    phone.get_by_role("heading", name="Angebot prüfen").wait_for()
    phone.get_by_label("Transaktionscode (6 Ziffern)").fill(tx_code)
    phone.get_by_label("Transaktionscode (6 Ziffern)").press("Enter")
    phone.get_by_role("heading", name="Nachweis angekommen").wait_for()
    phone.get_by_role("button", name="Speichern").click()
    phone.get_by_role("status").wait_for()
    journey.shot(phone, "journey-2-permit-stored")
    anchored = _wait_anchored(demo, newer_than=0)
    _wait_anchored(demo, newer_than=0, pid=True)

    # -- 3. portal login: cross-device with the PID, same-device with the permit ----------------------------------
    portal = journey.computer
    portal.goto(info["portal"])
    portal.locator("#login-identify").click()
    portal.locator("#login-status").wait_for()
    journey.shot(portal, "journey-3-login-qr")
    link = decode_qr(portal.locator(".qr").screenshot())
    assert link.startswith("openid4vp://")
    phone.goto(info["wallet"] + "present")
    phone.get_by_label("Link der Anfrage").fill(link)
    phone.get_by_role("button", name="Weiter").click()
    phone.get_by_role("heading", name="Angaben teilen?").wait_for()
    assert phone.locator(".verifier-name").inner_text() == "Bürgerportal Musterstadt"
    journey.shot(phone, "journey-3-wallet-consent")
    phone.get_by_role("button", name="Teilen").click()
    phone.get_by_role("heading", name="Angaben geteilt").wait_for()
    # the login page follows the presentation and continues to the portal by itself
    portal.locator("#logged-in").wait_for(timeout=30_000)
    received = json.loads(portal.locator("#received").inner_text())
    assert received == {"given_name": "ERIKA", "family_name": "MUSTERMANN", "birthdate": "1964-08-12"}
    assert portal.locator("#sub-kind").inner_text() == "pairwise"
    journey.shot(portal, "journey-3-portal-pid")

    def same_device_parking_login() -> None:
        """The login page's same-device link opens the wallet (the OS would hand openid4vp:// to it; here it is the
        web wallet's /openid4vp with the same query), the wallet shares and hands the browser back."""
        portal.goto(info["portal"])
        portal.locator("#login-parking").click()
        href = portal.locator("#same-device").get_attribute("href")
        assert href and href.startswith("openid4vp://")
        portal.goto(info["wallet"] + "openid4vp?" + urlsplit(href).query)

    same_device_parking_login()
    portal.get_by_label("Wallet-PIN", exact=True).fill(WALLET_PIN)  # the wallet is locked in this browser
    portal.get_by_label("Wallet-PIN", exact=True).press("Enter")
    portal.get_by_role("heading", name="Angaben teilen?").wait_for()
    portal.get_by_role("button", name="Teilen").click()
    portal.get_by_role("heading", name="Angaben geteilt").wait_for()
    portal.get_by_role("link", name=re.compile("Weiter zu")).click()
    portal.locator("#logged-in").wait_for(timeout=30_000)
    received = json.loads(portal.locator("#received").inner_text())
    assert received == {"parking_permit": {"license_plate": "K-EM 1964", "parking_zone": "K3"}}
    journey.shot(portal, "journey-3-portal-permit")

    # -- 4. revocation -----------------------------------------------------------------------------------------------
    valid_permits = info["issuer"]["admin_ui"] + "credentials?status=valid&type=bewohnerparkausweis"
    desk.goto(valid_permits)
    desk.get_by_role("heading", name="Ausgestellte Nachweise").wait_for()
    while desk.locator("table tbody tr").count():  # batch issuance: revoke every copy of the permit
        desk.locator("table tbody tr a").first.click()
        desk.get_by_label(re.compile("Ja, endgültig widerrufen")).check()
        desk.get_by_role("button", name="Widerrufen").click()
        desk.get_by_text("Der Nachweis wurde widerrufen.").wait_for()
        journey.shot(desk, "journey-4-revoked")
        desk.goto(valid_permits)
    _wait_anchored(demo, newer_than=anchored)
    same_device_parking_login()
    portal.get_by_role("button", name="Anfrage ansehen").click()  # unlocked now: nothing is fetched before this
    portal.get_by_role("heading", name="Angaben teilen?").wait_for()
    portal.get_by_role("button", name="Teilen").click()
    portal.get_by_role("heading", name="Nicht angenommen").wait_for()
    assert "credential_revoked" in portal.get_by_role("alert").inner_text()
    journey.shot(portal, "journey-4-wallet-refused")
    portal.goto(info["verifier"]["url"] + "/authorize/complete")
    portal.locator("#login-error").wait_for()
    assert "credential_revoked" in portal.locator("#login-error").inner_text()  # the portal says why
    assert portal.locator("#logged-in").count() == 0
    journey.shot(portal, "journey-4-portal-refused")

    # the start page and the explorer show what the journey left on the chain: anchored status list versions, and
    # no personal data of any test citizen
    start.goto(info["start_page"] + "/?lang=de")
    anchors = re.search(r"(\d+) Statuslisten-Anker", start.locator(".triangle").inner_text())
    assert anchors and int(anchors.group(1)) >= 2, "the permit's list, anchored before and after the revocation"
    journey.shot(start, "demo-start")
    start.goto(info["start_page"] + "/explorer?lang=de")
    assert "keine Treffer" in start.locator("p.ok").inner_text()
    journey.shot(start, "demo-explorer")

    assert journey.server_errors == []
    assert journey.console_errors == []
