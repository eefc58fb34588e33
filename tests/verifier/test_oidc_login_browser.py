"""The login in headless Chromium (Playwright driving Debian's chromium, DESIGN.md §3): the demo portal's button
leads to the verifier's login page, the wallet on "another device" answers the QR code's request, and the page —
following the presentation's status with its script under the verifier's Content-Security-Policy — continues by
itself back to the portal, which shows what it received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from oidc_support import op_env

from infra.server import LoopbackServer
from verifier.app import free_loopback_port
from verifier.portal import PortalConfig, create_portal_app, portal_registration

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


def test_login_page_follows_the_wallet_and_returns_to_the_portal(browser: Any, tmp_path: Path) -> None:
    port = free_loopback_port()
    config = PortalConfig(op_url="", base_url=f"http://127.0.0.1:{port}", client_secret="p" * 40)
    with op_env(tmp_path, extra_clients=[portal_registration(config, scopes=["pid_basic", "age_over_18"])]) as env:
        portal = create_portal_app(PortalConfig(op_url=env.url, base_url=config.base_url, client_secret="p" * 40))
        with LoopbackServer(portal, port=port), httpx.Client(timeout=30) as phone:
            context = browser.new_context(locale="de-DE")
            page = context.new_page()
            failed: list[str] = []
            console: list[str] = []
            page.on(
                "console",
                lambda m: (
                    console.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource")
                    else None
                ),
            )
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
            page.goto(config.base_url + "/")
            page.click("#login-identify")
            page.wait_for_url(f"{env.url}/authorize/login")
            assert page.locator(".qr svg").count() == 1
            link = page.locator("#same-device").get_attribute("href")
            assert link and link.startswith("openid4vp://")
            presented = env.wallet(phone, env.credential()).present(link)
            assert presented.response.status_code == 200
            page.wait_for_selector("#logged-in", timeout=15000)  # the page's script took it from here
            received = json.loads(page.locator("#received").inner_text())
            assert received == {"given_name": "ERIKA", "family_name": "MUSTERMANN", "birthdate": "1964-08-12"}
            assert page.locator("#sub-kind").inner_text() == "pairwise"
            assert page.locator("#userinfo").inner_text() == "ja"
            assert failed == []  # no missing script or style sheet, no failed status poll
            assert console == []  # e.g. no script refused by the Content-Security-Policy
            context.close()
