"""Security of the admin web UI (issue 7: "sessions with secure cookies; CSRF protection on every form", "rate
limits on login"; OWASP ASVS 4.0 V3 sessions, V4 access control, V13/V14 headers): cookie attributes, a new session
id at login (fixation), idle timeout and absolute lifetime, CSRF token and Origin on every POST, login rate limits,
role and authority checks, no open redirect, a strict CSP and no inline script or style in any template."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from admin_ui_support import ADMIN_USER, CLERK, Browser, add_staff, browser, csrf_of, ui_app
from fastapi import FastAPI
from fastapi.testclient import TestClient
from issuer_support import make_issuer

from issuer import Issuer
from ssi.clock import FrozenClock

PAGES = ["/", "/offers", "/offers/new", "/credentials", "/deferred", "/types", "/api-keys", "/users"]
FORMS = [  # (path posted to, page with the form)
    ("/offers", "/offers/new"),
    ("/logout", "/"),
    ("/api-keys", "/api-keys"),
    ("/types", "/types"),
    ("/users", "/users"),
    ("/subjects/status", "/credentials"),
]


@pytest.fixture
def app(issuer: Issuer, tmp_path: Path) -> FastAPI:
    app = ui_app(issuer, tmp_path)
    add_staff(app, issuer)
    return app


@pytest.fixture
def b(app: FastAPI) -> Browser:
    return browser(app)


def session_cookie(b: Browser) -> str:
    value = b.client.cookies.get("__Host-govssi-admin")
    assert value is not None
    return value


def test_cookie_attributes_on_tls(b: Browser) -> None:
    """RFC 6265bis: HttpOnly, SameSite=Strict, Secure with the __Host- prefix (Path=/, no Domain)."""
    header = b.get("/login").headers["set-cookie"]
    assert header.startswith("__Host-govssi-admin=")
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path"} <= attributes and "domain" not in attributes
    assert "samesite=strict" in header.lower() and "path=/" in header.lower()


def test_cookie_without_secure_on_plain_http(tmp_path: Path) -> None:
    """Development on http://127.0.0.1: a Secure cookie would never come back, so it is not marked Secure (and cannot
    carry the __Host- prefix); still HttpOnly and SameSite=Strict."""
    local = make_issuer(tmp_path, public_url="http://127.0.0.1:8080", dev_allow_http=True)
    app = ui_app(local, tmp_path)
    header = TestClient(app, base_url="http://127.0.0.1:8080").get("/admin/demo/login").headers["set-cookie"]
    assert header.startswith("govssi-admin=")
    assert "secure" not in header.lower() and "httponly" in header.lower() and "samesite=strict" in header.lower()


def test_new_session_id_at_login(b: Browser) -> None:
    """Session fixation (OWASP ASVS 3.2.1): the pre-login id is dropped and does not become signed in."""
    b.get("/login")
    before = session_cookie(b)
    b.login()
    after = session_cookie(b)
    assert after != before
    assert b.get("/offers").status_code == 200
    b.client.cookies.set("__Host-govssi-admin", before)
    response = b.get("/offers")
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/demo/login")


def test_pages_need_login(b: Browser) -> None:
    for path in PAGES:
        response = b.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/demo/login"), path


def test_forms_need_login(b: Browser) -> None:
    csrf = csrf_of(b.get("/login").text)
    for path, _page in FORMS:
        response = b.post(path, {}, csrf=csrf)
        assert response.status_code == 303 and "/login" in response.headers["location"], path


def test_idle_timeout(b: Browser, issuer: Issuer) -> None:
    clock = issuer.context.clock
    assert isinstance(clock, FrozenClock)
    b.login()
    clock.advance(14 * 60)
    assert b.get("/offers").status_code == 200  # activity moves the idle expiry
    clock.advance(14 * 60)
    assert b.get("/offers").status_code == 200
    clock.advance(15 * 60 + 1)
    assert b.get("/offers").status_code == 303


def test_absolute_lifetime(b: Browser, issuer: Issuer) -> None:
    clock = issuer.context.clock
    assert isinstance(clock, FrozenClock)
    b.login()
    for _ in range(8 * 6):
        clock.advance(10 * 60)
        response = b.get("/offers")
    assert response.status_code == 303  # eight hours at most, however active


@pytest.mark.parametrize(("path", "page"), FORMS)
def test_csrf_token_required(b: Browser, path: str, page: str) -> None:
    b.login(ADMIN_USER)
    assert b.post(path, {}, csrf="").status_code == 403
    assert b.post(path, {}, csrf="x" * 43).status_code == 403
    response = b.client.post(b.base + path, data={}, headers={"Origin": "https://issuer.example.de"})
    assert response.status_code == 403
    assert "Formular abgelehnt" in response.text and "<h1>" in response.text


def test_csrf_token_of_another_session_refused(app: FastAPI, b: Browser) -> None:
    other = browser(app)
    other.login(CLERK)
    foreign = csrf_of(other.get("/offers/new").text)
    b.login(CLERK)
    assert b.post("/offers", {"type": "bewohnerparkausweis"}, csrf=foreign).status_code == 403


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "null",
        "https://evil.example",
        "http://issuer.example.de",
        "https://issuer.example.de:8443",
        "https://issuer.example.de.evil.example",
    ],
)
def test_origin_must_be_ours(b: Browser, origin: str | None) -> None:
    b.login(ADMIN_USER)
    response = b.post("/api-keys", {"label": "Schluessel-von-fremder-Seite"}, origin=origin)
    assert response.status_code == 403
    assert "Schluessel-von-fremder-Seite" not in b.get("/api-keys").text


def test_login_form_itself_is_protected(b: Browser) -> None:
    """Login CSRF: a foreign site must not sign a browser into an account of its choice."""
    b.get("/login")
    data = {"username": CLERK[0], "password": CLERK[1]}
    assert b.post("/login", data, origin="https://evil.example").status_code == 403
    assert b.post("/login", data, csrf="forged-token-000000000000000000000000000").status_code == 403
    assert b.get("/offers").status_code == 303


def test_wrong_password_rate_limit(b: Browser, issuer: Issuer) -> None:
    """Five attempts per account name in five minutes; then 429 with Retry-After, even for the right password."""
    for _ in range(5):
        response = b.post("/login", {"username": CLERK[0], "password": "wrong-password-1"}, page="/login")
        assert response.status_code == 401
        assert "Benutzername oder Passwort ist falsch" in response.text
    limited = b.post("/login", {"username": CLERK[0], "password": CLERK[1]}, page="/login")
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 300
    assert 'role="alert"' in limited.text and "Zu viele Anmeldeversuche" in limited.text
    assert b.get("/offers").status_code == 303
    clock = issuer.context.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(int(limited.headers["retry-after"]))
    assert b.login().status_code == 303


def test_rate_limit_per_client_address(b: Browser) -> None:
    """Ten attempts per address in five minutes, whatever account names are tried (password spraying)."""
    codes = [
        b.post("/login", {"username": f"user{i}", "password": "wrong-password-1"}, page="/login").status_code
        for i in range(11)
    ]
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_failed_login_says_nothing_about_the_account(b: Browser) -> None:
    unknown = b.post("/login", {"username": "nobody", "password": "wrong-password-1"}, page="/login")
    wrong = b.post("/login", {"username": CLERK[0], "password": "wrong-password-1"}, page="/login")
    strip = re.compile(r'value="[^"]*"')
    assert unknown.status_code == wrong.status_code == 401
    assert strip.sub("", unknown.text).replace("nobody", "X") == strip.sub("", wrong.text).replace(CLERK[0], "X")


def test_empty_fields_are_named(b: Browser) -> None:
    response = b.post("/login", {"username": "", "password": ""}, page="/login")
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text and 'href="#username"' in response.text


@pytest.mark.parametrize("path", ["/api-keys", "/users"])
def test_clerk_cannot_manage_api_keys_or_users(b: Browser, path: str) -> None:
    b.login(CLERK)
    assert b.get(path).status_code == 403
    csrf = csrf_of(b.get("/offers").text)
    assert (
        b.post(path, {"label": "x", "username": "x", "password": "x" * 20, "role": "admin"}, csrf=csrf).status_code
        == 403
    )
    assert "api-keys" not in b.get("/offers").text  # not offered in the navigation either


def test_clerk_cannot_upload_types_or_revoke_keys(b: Browser, issuer: Issuer) -> None:
    b.login(CLERK)
    csrf = csrf_of(b.get("/types").text)
    assert "multipart/form-data" not in b.get("/types").text
    assert b.post("/types", {"document": "{}"}, csrf=csrf).status_code == 403
    key_id = issuer.admin.api_keys(issuer.context.tenant("demo"))[0].key_id
    assert b.post(f"/api-keys/{key_id}/revoke", {}, csrf=csrf).status_code == 403
    assert issuer.admin.api_keys(issuer.context.tenant("demo"))[0].revoked_at is None


def test_admin_may(b: Browser) -> None:
    b.login(ADMIN_USER)
    for path in PAGES:
        assert b.get(path).status_code == 200, path


def test_session_is_bound_to_its_authority(b: Browser, issuer: Issuer) -> None:
    issuer.context.storage.create_authority("koeln", "Stadt Köln", "City of Cologne")
    b.login(CLERK)
    response = b.client.get("/admin/koeln/offers", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/koeln/login")
    assert b.client.get("/admin/nowhere/login").status_code == 404
    assert b.client.get("/admin/NOT_A_SLUG/login").status_code == 404


def test_disabled_account_session_ends(b: Browser, app: FastAPI, issuer: Issuer) -> None:
    b.login(CLERK)
    app.state.admin_ui.accounts.disable(issuer.context.tenant("demo").authority.id, CLERK[0])
    assert b.get("/offers").status_code == 303


def test_logout_ends_the_session(b: Browser) -> None:
    b.login(CLERK)
    signed_in = session_cookie(b)
    response = b.post("/logout", {}, page="/")
    assert response.status_code == 303 and response.headers["location"] == "/admin/demo/login"
    b.client.cookies.set("__Host-govssi-admin", signed_in)
    assert b.get("/offers").status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/admin/demo//evil",
        "/elsewhere",
        "/admin/koeln/offers",
        "/admin/demo/\\evil",
    ],
)
def test_no_open_redirect_after_login(b: Browser, target: str) -> None:
    csrf = csrf_of(b.get("/login").text)
    response = b.post("/login", {"username": CLERK[0], "password": CLERK[1], "next": target}, csrf=csrf)
    assert response.status_code == 303 and response.headers["location"] == "/admin/demo/"


def test_redirect_back_to_the_page_asked_for(b: Browser) -> None:
    asked = b.get("/credentials")
    assert asked.headers["location"] == "/admin/demo/login?next=%2Fadmin%2Fdemo%2Fcredentials"
    page = b.client.get(asked.headers["location"])
    assert 'name="next" value="/admin/demo/credentials"' in page.text
    response = b.post(
        "/login",
        {"username": CLERK[0], "password": CLERK[1], "next": "/admin/demo/credentials"},
        csrf=csrf_of(page.text),
    )
    assert response.headers["location"] == "/admin/demo/credentials"


def test_security_headers(b: Browser) -> None:
    b.login(CLERK)
    for path in ["/login", "/offers/new"]:
        headers = b.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
        assert "unsafe-inline" not in csp
        assert headers["cache-control"] == "no-store"
        assert headers["referrer-policy"] == "same-origin"  # no-referrer would send Origin: null on posts
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["strict-transport-security"].startswith("max-age=")


def test_no_inline_script_or_style_in_templates() -> None:
    """The CSP allows neither; the templates must not need them."""
    templates = resources.files("issuer.web").joinpath("templates")
    for entry in templates.iterdir():
        text = entry.read_text("utf-8")
        assert "<script" not in text and "<style" not in text and " style=" not in text, entry.name
        assert not re.search(r"\son[a-z]+=", text), entry.name  # no event handler attributes


def test_static_files(b: Browser) -> None:
    css = b.client.get("/admin/static/admin.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert b.client.get("/admin/static/../app.py").status_code == 404
    assert b.client.get("/admin/static/secret.txt").status_code == 404
