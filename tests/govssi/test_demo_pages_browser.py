"""The demo's own pages (start, ledger explorer, "Try it") in headless Chromium over real HTTP against a booted demo
(issue 13: "Pages accessible (BITV 2.0 / WCAG 2.1 AA basics)"): axe-core finds no serious or critical WCAG 2.1 A/AA
violation in German and English; the keyboard basics hold (skip link first with visible focus, moving focus to the
main content); no console errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_browser_support import CHROMIUM, axe_violations, focused, headless_chromium, install_axe, running_demo

from govssi.demo.stack import DemoStack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

PAGES = ("/", "/explorer", "/try")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with running_demo(Path(tmp_path_factory.mktemp("demo"))) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as chromium:
        yield chromium


@pytest.mark.parametrize("lang", ["de", "en"])
def test_axe_finds_no_serious_violations_on_the_demo_pages(browser: Any, demo: DemoStack, lang: str) -> None:
    reason = install_axe()
    if reason is not None:
        pytest.skip(reason)
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    found = {}
    for path in PAGES:
        answer = page.goto(f"{demo.info['start_page']}{path}?lang={lang}")
        assert answer is not None and answer.status == 200, path
        assert page.locator("html").get_attribute("lang") == lang
        found[path] = axe_violations(page)
    context.close()
    assert found == {path: [] for path in PAGES}, found
    assert problems == []


def test_keyboard_skip_link_and_visible_focus(browser: Any, demo: DemoStack) -> None:
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    for path in PAGES:
        page.goto(f"{demo.info['start_page']}{path}?lang=de")
        page.keyboard.press("Tab")
        first = focused(page)
        assert first["text"] == "Zum Inhalt springen", path
        assert first["outline"] != "none", path
        assert page.get_by_role("link", name="Zum Inhalt springen").is_visible()
        page.keyboard.press("Enter")
        assert focused(page)["id"] == "main", path
        if path != "/explorer":  # the explorer's content has no links: Tab leaves it
            page.keyboard.press("Tab")  # the next stop after the skip target is inside the main content
            assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)"), path
            assert focused(page)["outline"] != "none", path
    context.close()


def test_axe_finds_no_serious_violations_on_every_roles_first_page(browser: Any, demo: DemoStack) -> None:
    """The pages a newcomer reaches from the start page: the wallet's setup, the clerk's login, the verifier, the
    portal and the OpenID Provider's login page with its QR code. The services send a CSP that forbids injected
    scripts; this context bypasses it for axe (the pages are the same)."""
    reason = install_axe()
    if reason is not None:
        pytest.skip(reason)
    info = demo.info
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    page = context.new_page()
    found = {}
    for name, url in [
        ("wallet", info["wallet"]),
        ("admin login", info["issuer"]["admin_ui"] + "login"),
        ("verifier", info["verifier"]["url"] + "/"),
        ("portal", info["portal"]),
    ]:
        answer = page.goto(url)
        assert answer is not None and answer.status == 200, name
        found[name] = axe_violations(page)
    page.locator("#login-identify").click()
    page.locator("#login-status").wait_for()
    found["OpenID Provider login"] = axe_violations(page)
    context.close()
    assert found == {name: [] for name in found}, found
