"""The demo portal's session across the login (verifier/portal.py): the session identifier changes when the citizen
logs in, so an identifier planted in the browser beforehand (session fixation, RFC 6819 §4.2.4 / OWASP Session
Management: "renew the session ID after any privilege level change") never becomes a logged-in session. Over real
HTTP: authlib portal ↔ verifier's OpenID Provider ↔ test wallet."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
from oidc_support import op_env

from infra.server import LoopbackServer
from verifier.app import free_loopback_port
from verifier.portal import COOKIE, PortalConfig, create_portal_app, portal_registration

SECRET = "p" * 40


def test_login_renews_the_portal_session_id(tmp_path: Path) -> None:
    port = free_loopback_port()
    base = f"http://127.0.0.1:{port}"
    registration = portal_registration(
        PortalConfig(op_url="", base_url=base, client_secret=SECRET), scopes=["pid_basic"]
    )
    with op_env(tmp_path, extra_clients=[registration]) as env:
        portal = create_portal_app(PortalConfig(op_url=env.url, base_url=base, client_secret=SECRET))
        with (
            LoopbackServer(portal, port=port),
            httpx.Client(timeout=30, follow_redirects=False) as victim,
            httpx.Client(timeout=30, follow_redirects=False) as attacker,
            httpx.Client(timeout=30) as phone,
        ):
            attacker.get(f"{base}/")
            planted = attacker.cookies[COOKIE]
            # the attacker's identifier, planted in the victim's browser
            victim.cookies.set(COOKIE, planted, domain="127.0.0.1")
            to_op = victim.get(f"{base}/login/identify")
            assert to_op.status_code == 302, to_op.text
            started = victim.get(to_op.headers["location"])
            assert started.status_code == 303, started.text
            page = victim.get(f"{env.url}{started.headers['location']}")
            found = re.search(r'id="same-device" href="([^"]+)"', page.text)
            assert found, page.text
            presented = env.wallet(phone, env.credential()).present(html.unescape(found.group(1)))
            back = victim.get(presented.body["redirect_uri"])
            assert back.status_code == 303, back.text
            callback = victim.get(back.headers["location"])
            assert callback.status_code == 303, callback.text
            assert 'id="logged-in"' in victim.get(f"{base}/").text  # the victim is logged in …
            assert victim.cookies[COOKIE] != planted  # … under a new identifier
            assert 'id="logged-in"' not in attacker.get(f"{base}/").text  # the planted one is not logged in
