"""The web wallet's card PIN pages (wallet_sim/web/eid_pin.py) over real HTTP with form posts: the transport PIN
change before the first eID use, the retry counter, the CAN after the second wrong PIN and the PUK after the third
(BSI TR-03127 §3.3.3, §3.3.5), in German and English, with the session's CSRF token."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "govssi"))

from demo_browser_support import ARGS, CHROMIUM, axe_violations, install_axe

from infra.server import LoopbackServer
from ssi.errors import EidCardRefused
from wallet_sim.eid import EidCards
from wallet_sim.eid.card import CardState
from wallet_sim.eid.citizens import find_citizen
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet
from wallet_sim.web import create_wallet_app

WALLET_PIN = "246810"
ERIKA = find_citizen("erika")
ISSUER = "https://pid.example/issuers/pid"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _state(data_dir: Path) -> tuple[CardState, int]:
    status = EidCards(data_dir / "eid").card("erika").status()
    return status.state, status.retry_counter


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[tuple[httpx.Client, str, Path]]:
    """A served web wallet, set up, with the session's CSRF token."""
    data_dir = tmp_path / "wallet"
    app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True)
    with LoopbackServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as web:
        csrf = _csrf(web.get("/").text)
        assert web.post("/setup", data={"csrf": csrf, "pin": WALLET_PIN, "pin_again": WALLET_PIN}).status_code == 303
        yield web, csrf, data_dir


def test_transport_pin_changed_before_the_first_eid_use(wallet: tuple[httpx.Client, str, Path]) -> None:
    """TR-03127 §3.3.3: the transport PIN "can only be used to set an operational eID PIN" — choosing the new card for
    the PID leads to its PIN page first (nothing is sent to the provider); two differing new PINs and a wrongly sized
    PIN are refused before the card (no attempt used); a wrong transport PIN costs one; the right one sets the 6-digit
    PIN and leads back to the PID page with the card and provider kept."""
    web, csrf, data_dir = wallet
    start = web.get("/pid")
    assert "ERIKA MUSTERMANN: Transport-PIN ändern" in start.text and 'href="/pid/cards/erika"' in start.text
    chosen = web.post("/pid", data={"csrf": csrf, "issuer": ISSUER, "card": "erika"})
    assert chosen.status_code == 303
    target = urlsplit(chosen.headers["location"])
    assert target.path == "/pid/cards/erika" and parse_qs(target.query) == {"issuer": [ISSUER]}
    page = web.get(chosen.headers["location"])
    assert page.status_code == 200 and "<h1>Transport-PIN ändern</h1>" in page.text
    assert 'role="status">Ändern Sie zuerst die Transport-PIN' in page.text
    assert '<label for="old">Transport-PIN (5 Ziffern)</label>' in page.text
    assert 'pattern="[0-9]{5}"' in page.text and 'inputmode="numeric"' in page.text
    assert '<label for="new_again">Neue PIN wiederholen</label>' in page.text and 'id="can"' not in page.text
    assert f'name="issuer" value="{ISSUER}"' in page.text

    form = {"csrf": csrf, "issuer": ISSUER, "old": ERIKA.transport_pin, "new": "123456", "new_again": "123465"}
    differ = web.post("/pid/cards/erika/pin", data=form)
    assert differ.status_code == 400 and "Die beiden neuen PINs stimmen nicht überein." in differ.text
    assert 'role="alert"' in differ.text and 'aria-invalid="true"' in differ.text
    short = web.post("/pid/cards/erika/pin", data=form | {"old": "1234", "new_again": "123456"})
    assert short.status_code == 400 and "Transport-PIN: bitte genau 5 Ziffern eingeben." in short.text
    assert _state(data_dir) == (CardState.TRANSPORT_PIN, 3)  # refused before the card

    wrong_old = "00000" if ERIKA.transport_pin != "00000" else "11111"
    wrong = web.post("/pid/cards/erika/pin", data=form | {"old": wrong_old, "new_again": "123456"})
    assert wrong.status_code == 400 and "Die Transport-PIN ist falsch. Noch 2 Versuche." in wrong.text
    assert _state(data_dir) == (CardState.TRANSPORT_PIN, 2)

    forged = web.post("/pid/cards/erika/pin", data=form | {"csrf": "forged", "new_again": "123456"})
    assert forged.status_code == 400 and _state(data_dir) == (CardState.TRANSPORT_PIN, 2)

    changed = web.post("/pid/cards/erika/pin", data=form | {"new_again": "123456"})
    assert changed.status_code == 303
    back = urlsplit(changed.headers["location"])
    assert back.path == "/pid" and parse_qs(back.query) == {"card": ["erika"], "issuer": [ISSUER]}
    assert _state(data_dir) == (CardState.ACTIVE, 3)
    EidCards(data_dir / "eid").card("erika").verify_pin("123456")  # the new PIN is the card's PIN
    pid_page = web.get(changed.headers["location"])
    assert "Die PIN von ERIKA MUSTERMANN ist geändert." in pid_page.text
    assert 'value="erika" checked' in pid_page.text and f'value="{ISSUER}"' in pid_page.text
    assert re.search(r"ERIKA MUSTERMANN \(\w+\) — bereit", pid_page.text)
    assert "ERIKA MUSTERMANN: PIN ändern" in pid_page.text
    again = web.get("/pid/cards/erika")
    assert '<label for="old">Bisherige PIN (6 Ziffern)</label>' in again.text and 'pattern="[0-9]{6}"' in again.text


def test_can_after_two_wrong_pins_then_puk_after_three(wallet: tuple[httpx.Client, str, Path]) -> None:
    """TR-03127 §3.3.3: after the second wrong PIN "the third attempt to enter the PIN is not enabled until the CAN
    printed on the card has been successfully entered" (a wrong CAN costs no attempt, §3.3.1); after the third the PIN
    is blocked and only the PUK page is offered; §3.3.5: the PUK resets the retry counter (every use counted). In
    English (``?lang=en``)."""
    web, csrf, data_dir = wallet
    assert "<h1>Change the transport PIN</h1>" in web.get("/pid/cards/erika?lang=en").text
    form = {"csrf": csrf, "old": "00000" if ERIKA.transport_pin != "00000" else "11111"}
    form |= {"new": "123456", "new_again": "123456"}
    first = web.post("/pid/cards/erika/pin", data=form)
    assert "The transport PIN is wrong. 2 attempts left." in first.text
    second = web.post("/pid/cards/erika/pin", data=form)
    assert second.status_code == 400
    assert "The PIN is wrong. One attempt left: enter the card access number (CAN) first." in second.text
    assert '<label for="can">Card access number (CAN, 6 digits)</label>' in second.text
    assert _state(data_dir) == (CardState.CAN_REQUIRED, 1)

    no_can = web.post("/pid/cards/erika/pin", data=form | {"old": ERIKA.transport_pin})
    assert no_can.status_code == 400 and "Two wrong PINs: enter the card access number (CAN) first." in no_can.text
    wrong_can = "000000" if ERIKA.can != "000000" else "111111"
    bad_can = web.post("/pid/cards/erika/pin", data=form | {"old": ERIKA.transport_pin, "can": wrong_can})
    assert "The card access number (CAN) is wrong. That costs no PIN attempt." in bad_can.text
    assert _state(data_dir) == (CardState.CAN_REQUIRED, 1)

    third = web.post("/pid/cards/erika/pin", data=form | {"can": ERIKA.can})
    assert "The PIN is wrong and now blocked. Unblock it with the PUK." in third.text
    assert "<h1>Unblock the PIN with the PUK</h1>" in third.text and 'action="/pid/cards/erika/unblock"' in third.text
    assert 'action="/pid/cards/erika/pin"' not in third.text
    assert _state(data_dir) == (CardState.BLOCKED, 0)
    pid_page = web.get("/pid")
    assert "ERIKA MUSTERMANN: unblock with the PUK" in pid_page.text
    blocked = web.post("/pid/cards/erika/pin", data=form | {"old": ERIKA.transport_pin, "can": ERIKA.can})
    assert "The PIN is blocked. Unblock it with the PUK." in blocked.text

    wrong_puk = "0000000000" if ERIKA.puk != "0000000000" else "1111111111"
    bad = web.post("/pid/cards/erika/unblock", data={"csrf": csrf, "puk": wrong_puk})
    assert bad.status_code == 400 and "The PUK is wrong. 9 PUK uses left." in bad.text
    short = web.post("/pid/cards/erika/unblock", data={"csrf": csrf, "puk": "123"})
    assert "PUK: please enter exactly 10 digits." in short.text
    assert EidCards(data_dir / "eid").card("erika").status().puk_uses_left == 9  # the short one never reached it
    unblocked = web.post("/pid/cards/erika/unblock", data={"csrf": csrf, "puk": ERIKA.puk})
    assert unblocked.status_code == 303 and unblocked.headers["location"] == "/pid?card=erika"
    assert "The card of ERIKA MUSTERMANN is unblocked: 3 PIN attempts (8 PUK uses left)." in web.get("/pid").text
    assert _state(data_dir) == (CardState.TRANSPORT_PIN, 3)  # the transport PIN stays until it is changed
    changed = web.post("/pid/cards/erika/pin", data=form | {"old": ERIKA.transport_pin})
    assert changed.status_code == 303 and _state(data_dir) == (CardState.ACTIVE, 3)


def test_card_pages_need_an_open_wallet_and_a_known_card(tmp_path: Path) -> None:
    """Without an open wallet the setup page answers and the card is untouched; an unknown card is a 404 page."""
    data_dir = tmp_path / "wallet"
    app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True)
    with LoopbackServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as web:
        csrf = _csrf(web.get("/").text)
        form = {"csrf": csrf, "old": ERIKA.transport_pin, "new": "123456", "new_again": "123456"}
        locked = web.post("/pid/cards/erika/pin", data=form)
        assert 'action="/setup"' in locked.text and 'action="/pid/cards' not in locked.text
        assert _state(data_dir) == (CardState.TRANSPORT_PIN, 3)
        assert web.post("/setup", data={"csrf": csrf, "pin": WALLET_PIN, "pin_again": WALLET_PIN}).status_code == 303
        unknown = web.get("/pid/cards/nobody")
        assert unknown.status_code == 404 and "Diesen Ausweis gibt es nicht." in unknown.text
        assert web.post("/pid/cards/nobody/pin", data=form).status_code == 404


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_pin_pages_in_chromium_by_keyboard_and_axe(tmp_path: Path) -> None:
    """Issue 13 ("Pages accessible (BITV 2.0 / WCAG 2.1 AA basics)"): each field is found by its label, the transport
    PIN is changed with the keyboard alone, and axe-core finds no serious or critical WCAG 2.1 A/AA violation on the
    transport PIN, CAN and PUK forms (the wallet's CSP forbids injected scripts: this context bypasses it for axe)."""
    from playwright.sync_api import sync_playwright

    reason = install_axe()
    data_dir = tmp_path / "wallet"
    Wallet.create(data_dir, WALLET_PIN, kdf=FAST_KDF).close()
    app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True)
    wrong = "00000" if ERIKA.transport_pin != "00000" else "11111"
    found: dict[str, Any] = {}
    with LoopbackServer(app) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page: Any = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="de-DE", bypass_csp=True
        ).new_page()
        page.goto(server.url + "/")
        page.get_by_label("Wallet-PIN", exact=True).fill(WALLET_PIN)
        page.keyboard.press("Enter")
        page.get_by_role("link", name="PID mit dem Ausweis holen").click()
        page.get_by_role("link", name="ERIKA MUSTERMANN: Transport-PIN ändern").click()
        page.get_by_role("heading", name="Transport-PIN ändern").wait_for()
        if reason is None:
            found["transport"] = axe_violations(page)
        for _ in range(2):  # two wrong transport PINs: the CAN field appears
            page.get_by_label("Transport-PIN (5 Ziffern)").fill(wrong)
            page.get_by_label("Neue PIN (6 Ziffern)").fill("123456")
            page.get_by_label("Neue PIN wiederholen").fill("123456")
            page.get_by_role("button", name="PIN ändern").click()
            page.get_by_role("alert").wait_for()
        assert "Noch ein Versuch" in page.get_by_role("alert").inner_text()
        can = page.get_by_label("Zugangsnummer (CAN, 6 Ziffern)")
        assert can.get_attribute("inputmode") == "numeric"
        if reason is None:
            found["can"] = axe_violations(page)
        page.get_by_label("Transport-PIN (5 Ziffern)").focus()  # the keyboard alone from here
        page.keyboard.type(ERIKA.transport_pin)
        for value in ("123456", "123456", ERIKA.can):
            page.keyboard.press("Tab")
            page.keyboard.type(value)
        page.keyboard.press("Enter")
        page.get_by_role("status").wait_for()
        assert "Die PIN von ERIKA MUSTERMANN ist geändert" in page.get_by_role("status").inner_text()
        assert _state(data_dir) == (CardState.ACTIVE, 3)
        card = EidCards(data_dir / "eid").card("erika")
        for _ in range(3):  # block the (now active) PIN for the PUK page
            with pytest.raises(EidCardRefused, match=r"^wrong PIN"):
                card.verify_pin("654321", can=ERIKA.can)
        page.goto(server.url + "/pid/cards/erika")
        page.get_by_label("PUK (10 Ziffern)").wait_for()
        if reason is None:
            found["puk"] = axe_violations(page)
        browser.close()
    if reason is not None:
        pytest.skip(reason)
    assert found == {"transport": [], "can": [], "puk": []}, found
