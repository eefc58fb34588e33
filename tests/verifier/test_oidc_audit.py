"""Security review of the OpenID Provider facade (issue 11): the rules a review found unenforced, each with the rule
it comes from. Over real HTTP (verifier + test wallet on 127.0.0.1)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_support import ERIKA, Login, OpEnv, op_env

A_CB = "https://portal-a.example/cb"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpEnv]:
    with op_env(tmp_path_factory.mktemp("oidc_audit")) as env:
        yield env


# --- OpenID Connect Core 1.0 §3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET and POST methods
# defined in RFC 7231 at the Authorization Endpoint." (POST: application/x-www-form-urlencoded, §13.2) -------------


def test_authorization_request_by_post_oidc_core_3_1_2_1(env: OpEnv) -> None:
    """A form-posted authorization request starts the login exactly as the GET one, and the login completes."""
    login = Login("portal-a", A_CB, "openid pid_basic")
    with env.browser() as browser:
        started = browser.post(f"{env.url}/authorize", data=login.params())
        assert started.status_code == 303, started.text
        assert started.headers["location"] == "/authorize/login"
        page = browser.get(f"{env.url}/authorize/login")
        assert page.status_code == 200 and 'id="same-device"' in page.text


def test_post_authorization_request_errors_follow_rfc6749_4_1_2_1(env: OpEnv) -> None:
    """By POST too: an unregistered redirect URI is shown, never redirected to; other errors go back with state and
    iss (RFC 9207 §2); a repeated parameter (RFC 6749 §3.1) is shown."""
    login = Login("portal-a", A_CB, "openid pid_basic")
    with env.browser() as browser:
        shown = browser.post(f"{env.url}/authorize", data=login.params(redirect_uri="https://evil.example/cb"))
        assert shown.status_code == 400 and "location" not in shown.headers and 'id="error"' in shown.text
        refused = browser.post(f"{env.url}/authorize", data=login.params(prompt="none"))
        assert refused.status_code == 303
        location = refused.headers["location"]
        assert location.startswith(A_CB + "?")
        answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert answer == {"error": "login_required", "error_description": answer["error_description"],
                          "state": login.state, "iss": env.url}  # fmt: skip
        body = "&".join(f"{k}={v}" for k, v in login.params().items()) + "&state=again"
        repeated = browser.post(
            f"{env.url}/authorize", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert repeated.status_code == 400 and "location" not in repeated.headers and 'id="error"' in repeated.text


def test_post_authorization_request_full_login(env: OpEnv) -> None:
    """The code of a POSTed authorization request redeems like any other (RFC 6749 §4.1.3)."""
    login = Login("portal-a", A_CB, "openid pid_basic")
    with env.browser() as browser:
        started = browser.post(f"{env.url}/authorize", data=login.params())
        assert started.status_code == 303, started.text
        page = browser.get(f"{env.url}/authorize/login")
        found = re.search(r'id="same-device" href="([^"]+)"', page.text)
        assert found, page.text
        login.link = html.unescape(found.group(1))
        with httpx.Client(timeout=30) as wallet_http:
            presented = env.wallet(wallet_http, env.credential(ERIKA)).present(login.link)
        login.final = browser.get(presented.body["redirect_uri"])
    token = env.redeem(login)
    assert token.status_code == 200, token.text
    assert env.id_token_claims(token.json()["id_token"])["nonce"] == login.nonce
