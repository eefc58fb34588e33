"""The verifier's own pages: start a presentation in a browser (a cookie binds the session to it), follow it (QR code,
same-device link, status), and see the result only in that browser — a captured redirect opened elsewhere shows
nothing (OpenID4VP 1.0 §14.2 session fixation)."""

from __future__ import annotations

import html
import re

import httpx
from conftest import Env


def browser(env: Env) -> httpx.Client:
    return httpx.Client(base_url=env.url, timeout=30, follow_redirects=False)


def start(client: httpx.Client, preset: str = "pid_identification") -> str:
    started = client.post("/present", data={"preset": preset})
    assert started.status_code == 303 and started.headers["location"] == "/present"
    cookie = started.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = client.get("/present")
    assert page.status_code == 200
    assert "<svg" in page.text and 'src="/static/verifier.js"' in page.text
    match = re.search(r'href="(openid4vp://[^"]+)"', page.text)
    assert match is not None
    return html.unescape(match.group(1))


def test_index_lists_the_presets(fresh: Env) -> None:
    with browser(fresh) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'value="age_over_18"' in page.text
        assert "content-security-policy" in page.headers
        assert client.get("/static/verifier.js").status_code == 200


def test_cross_device_result_only_in_the_starting_browser(fresh: Env) -> None:
    with browser(fresh) as desktop, browser(fresh) as phone_browser:
        link = start(desktop)
        assert desktop.get("/present/status").json()["status"] == "created"
        assert phone_browser.get("/present/status").status_code == 404  # no cookie, no session
        presented = fresh.wallet(fresh.credential()).present(link)
        assert presented.response.status_code == 200
        # the browser flow redirects with a response_code; the phone's browser opens it without the cookie
        redirect = presented.body["redirect_uri"]
        assert "/done?response_code=" in redirect
        elsewhere = phone_browser.get(redirect.replace(fresh.url, ""))
        assert elsewhere.status_code == 200 and "MUSTERMANN" not in elsewhere.text
        assert desktop.get("/present/status").json()["status"] == "verified"
        result = desktop.get(redirect.replace(fresh.url, ""))
        assert result.status_code == 200 and "MUSTERMANN" in result.text
        assert "MUSTERMANN" not in desktop.get("/done").text  # shown once


def test_refusal_page(fresh: Env) -> None:
    with browser(fresh) as client:
        link = start(client)
        fresh.trust.accreditations.clear()
        fresh.wallet(fresh.credential()).present(link)
        page = client.get("/done")
        assert "issuer_not_accredited" in page.text


def test_event_stream_for_the_browser(fresh: Env) -> None:
    with browser(fresh) as client:
        start(client)
        with client.stream("GET", "/present/events") as stream:
            first = next(line for line in stream.iter_lines() if line.startswith("data: "))
        assert '"created"' in first
    with browser(fresh) as stranger:
        assert stranger.get("/present/events").status_code == 404
