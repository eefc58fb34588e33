"""The admin web UI in headless Chromium (Playwright driving Debian's chromium, DESIGN.md §3) over real HTTP: a clerk
logs in and creates a parking-permit offer with the keyboard only and sees the QR code (decoded from the screenshot
with zxing-cpp: it is the offer link), with the page's CSP enforced and no console errors; keyboard basics (skip
link first, visible focus); and axe-core (pinned in tests/issuer/web/axe, installed on demand with ``npm ci``) finds
no serious or critical WCAG 2.1 A/AA violation on the login, offer form and offer pages."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# the browser and axe-core helpers shared with the demo's tests (tests/govssi/demo_browser_support.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "govssi"))

from admin_ui_support import CLERK, FAST_HASHER
from demo_browser_support import CHROMIUM, axe_violations, headless_chromium, install_axe
from issuer_support import API_KEY, demo_ca

from issuer import IssuerSettings, MemoryKeyring, loopback_issuer
from issuer.web import StaffAccounts, create_staff_account

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The issuer with its admin UI on 127.0.0.1 and a clerk account; yields the UI's base URL."""
    settings = IssuerSettings(
        data_dir=tmp_path_factory.mktemp("issuer"), bootstrap_key=API_KEY, key_passphrase="test passphrase"
    )
    with loopback_issuer(settings, keyring=MemoryKeyring(demo_ca())) as (server, issuer):
        accounts = StaffAccounts(issuer.context.storage.engine, hasher=FAST_HASHER)
        tenant = issuer.context.tenant("demo")
        create_staff_account(issuer, accounts, tenant, username=CLERK[0], password=CLERK[1], role="clerk", actor="t:t")
        yield f"{server.url}/admin/demo"


def active(page: Any) -> dict[str, str]:
    return dict(
        page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return {tag: e.tagName, id: e.id, text: e.textContent.trim(), outline: s.outlineStyle,"
            " shadow: s.boxShadow}; }"
        )
    )


def tab_to(page: Any, element_id: str, limit: int = 15) -> None:
    """Press Tab until the element has focus (it is reachable by keyboard in a sensible number of steps)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if active(page)["id"] == element_id:
            return
    raise AssertionError(f"#{element_id} not reached with {limit} Tab presses")


def decode_qr(png: bytes) -> str:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code in the screenshot"
    return str(results[0].text)


def test_clerk_creates_a_parking_permit_offer_with_the_keyboard(browser: Any, site: str) -> None:
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(site + "/login")
    assert page.locator("html").get_attribute("lang") == "de"
    # Keyboard basics: the skip link comes first, its focus is visible, and it moves focus to the main content.
    page.keyboard.press("Tab")
    first = active(page)
    assert first["text"] == "Zum Inhalt springen"
    assert first["outline"] != "none" and first["shadow"] != "none"
    assert page.get_by_role("link", name="Zum Inhalt springen").is_visible()
    page.keyboard.press("Enter")
    assert active(page)["id"] == "main"
    # Log in with the keyboard only.
    tab_to(page, "username")
    page.keyboard.type(CLERK[0])
    page.keyboard.press("Tab")
    assert active(page)["id"] == "password"
    page.keyboard.type(CLERK[1])
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Übersicht").wait_for()
    # To the offer form: the navigation is reachable and links have visible focus.
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Neues Angebot").focus()
    assert active(page)["outline"] != "none"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Neues Angebot").wait_for()
    kind = page.get_by_label("Nachweisart")
    kind.focus()
    kind.select_option("bewohnerparkausweis")  # the list holds more types (bbs-2023 ones) than the parking permit
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Nachweisart wählen"
    page.get_by_role("heading", name="Angaben für: Bewohnerparkausweis").wait_for()
    # Every field is found by its label (WCAG 2.1 SC 1.3.1 / 4.1.2) and filled from the keyboard.
    values = [
        ("Familienname", "MUSTERMANN"),
        ("Vorname", "ERIKA"),
        ("Straße und Hausnummer", "HEIDESTRASSE 17"),
        ("Postleitzahl", "51147"),
        ("Ort", "KÖLN"),
        ("Kennzeichen", "K-EM 1964"),
        ("Parkzone", "K3"),
    ]
    for label, value in values:
        page.get_by_label(label).focus()
        page.keyboard.type(value)
    page.get_by_label("Gültig bis").fill("2099-06-30")
    assert page.get_by_label("Mit Transaktionscode schützen").is_checked()
    page.get_by_role("button", name="Angebot erstellen").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Angebot erstellt").wait_for()
    # The QR code is on screen and carries the offer link.
    image = page.get_by_role("img", name="QR-Code des Angebots für den Nachweis Bewohnerparkausweis")
    assert image.is_visible()
    box = image.bounding_box()
    assert box is not None and box["width"] >= 200
    link = page.locator("#offer-link").input_value()
    assert link.startswith("openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1")
    assert decode_qr(image.screenshot()) == link
    code = page.locator("#tx-code").inner_text().split(":")[-1].replace(" ", "").strip()
    assert code.isdigit() and len(code) == 6
    # Printed, only the offer: navigation and notices are hidden by the print stylesheet.
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation", name="Hauptnavigation").is_visible()
    assert image.is_visible()
    page.emulate_media(media="screen")
    assert problems == [], problems
    context.close()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_axe_finds_no_serious_violations(browser: Any, site: str, lang: str) -> None:
    reason = install_axe()
    if reason is not None:
        pytest.skip(reason)
    # axe is injected as a script; the UI's CSP allows none, so this context bypasses CSP (the pages are the same).
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    page = context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    page.goto(f"{site}/login?lang={lang}")
    found["login"] = axe_violations(page)
    page.locator("#username").fill(CLERK[0])
    page.locator("#password").fill(CLERK[1])
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(f"{site}/")
    found["overview"] = axe_violations(page)
    page.goto(f"{site}/offers/new?type=bewohnerparkausweis")
    found["offer form"] = axe_violations(page)
    page.locator("form.stack button[type=submit]").click()  # empty: every mandatory field in error
    page.locator(".error-summary").wait_for()
    found["offer form with errors"] = axe_violations(page)
    for field_id, value in [("f-claims-family_name", "MUSTERMANN"), ("f-claims-given_name", "ERIKA"),
                            ("f-claims-address-street_address", "HEIDESTRASSE 17"),
                            ("f-claims-address-postal_code", "51147"), ("f-claims-address-locality", "KÖLN"),
                            ("f-claims-license_plate", "K-EM 1964"), ("f-claims-parking_zone", "K3"),
                            ("f-claims-valid_until", "2099-06-30")]:  # fmt: skip
        page.locator(f"#{field_id}").fill(value)
    page.locator("form.stack button[type=submit]").click()
    page.locator("#offer-qr").wait_for()
    found["offer"] = axe_violations(page)
    context.close()
    assert found == {name: [] for name in found}, found
