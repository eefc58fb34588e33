"""Demo portal "Bürgerportal Musterstadt": an ordinary OpenID Connect relying party (authlib's Starlette client — the
kind of client a citizen portal, Servicekonto or Keycloak realm already has) that logs citizens in through the
verifier's OpenID Provider, with three login options, and shows what it received and why.

::

    portal = create_portal_app(PortalConfig(op_url=..., base_url=..., client_id=..., client_secret=...))
    registry = PortalRegistry.from_document({"clients": [portal_registration(config)]}, dev_allow_http=True)

The portal keeps its sessions in memory on the server (cookie: a random id); it stores the ID Token's claims for the
session only, as a portal would.
"""

from __future__ import annotations

import json
import secrets
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401 - its filter first, ours in front of it

with warnings.catch_warnings():
    # authlib 1.9 warns on import that it falls back to httpx (the client pinned in constraints.txt) because the
    # package "httpx2" is not installed: nothing a portal operator can act on, and noise at every demo boot.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, OAuthError  # type: ignore[import-untyped]
    from authlib.oauth2.rfc7523 import PrivateKeyJWT  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from joserfc.jwk import ECKey
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.http import SecurityHeadersMiddleware

__all__ = ["LOGIN_OPTIONS", "PortalConfig", "create_portal_app", "portal_registration"]

_HERE = Path(__file__).parent
#: token endpoint client authentication methods (names, not secrets)
PRIVATE_KEY_JWT, CLIENT_SECRET_BASIC = "private_key_jwt", "client_secret_basic"
COOKIE = "musterstadt_session"
MAX_SESSIONS = 10_000
#: a session entry asking the session middleware for a new identifier (set when the citizen logs in)
RENEW = "_renew_id"


@dataclass(frozen=True)
class LoginOption:
    key: str
    label: str
    scope: str
    why: str


#: What the portal offers, and why it asks for what it asks.
LOGIN_OPTIONS: dict[str, LoginOption] = {
    option.key: option
    for option in (
        LoginOption(
            "identify",
            "Mit Ausweis-Daten anmelden (Servicekonto)",
            "openid pid_basic",
            "Für Anträge braucht das Portal Ihren Namen und Ihr Geburtsdatum; Sie erhalten ein Pseudonym, das nur "
            "dieses Portal kennt und bei jeder Anmeldung gleich bleibt.",
        ),
        LoginOption(
            "age",
            "Nur Volljährigkeit nachweisen",
            "openid age_over_18",
            "Für den Jugendschutz genügt die Bestätigung 'volljährig'; das Portal erfährt weder Name noch "
            "Geburtsdatum und bekommt für jede Anmeldung eine neue Kennung.",
        ),
        LoginOption(
            "parking",
            "Bewohnerparkausweis vorzeigen",
            "openid parking_permit",
            "Zur Verlängerung prüft das Portal Kennzeichen und Parkzone Ihres Bewohnerparkausweises.",
        ),
    )
}


@dataclass(frozen=True)
class PortalConfig:
    op_url: str
    base_url: str
    client_id: str = "buergerportal-musterstadt"
    client_name: str = "Bürgerportal Musterstadt"
    #: client_secret_basic …
    client_secret: str | None = None
    #: … or private_key_jwt with this private JWK (ES256)
    private_jwk: Mapping[str, Any] | None = None
    options: Mapping[str, LoginOption] = field(default_factory=lambda: dict(LOGIN_OPTIONS))
    #: the session cookie's name (cookies are per host, not per port: two portals on one host need two names)
    cookie_name: str = COOKIE
    #: the pairwise sector (OpenID Connect Core §8.1; default at the provider: the redirect URI's host)
    sector_identifier: str | None = None

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url.rstrip('/')}/callback"


def portal_registration(config: PortalConfig, *, scopes: list[str] | None = None) -> dict[str, Any]:
    """The client entry the OpenID Provider needs for this portal (verifier/oidc/clients.py)."""
    entry: dict[str, Any] = {
        "client_id": config.client_id,
        "client_name": config.client_name,
        "redirect_uris": [config.redirect_uri],
        "scopes": scopes
        if scopes is not None
        else sorted({s for o in config.options.values() for s in o.scope.split()} - {"openid"}),
    }
    if config.sector_identifier is not None:
        entry["sector_identifier"] = config.sector_identifier
    if config.private_jwk is not None:
        public = {k: v for k, v in config.private_jwk.items() if k not in {"d"}}
        entry.update(token_endpoint_auth_method=PRIVATE_KEY_JWT, jwks={"keys": [public]})
    else:
        entry.update(token_endpoint_auth_method=CLIENT_SECRET_BASIC, client_secret=config.client_secret)
    return entry


class _ServerSessions:
    """``request.session`` kept on the server: the cookie carries only a random id (no signed client-side state, so
    no extra dependency and nothing of the citizen's in the browser)."""

    def __init__(self, app: ASGIApp, cookie_name: str = COOKIE) -> None:
        self.app = app
        self.cookie_name = cookie_name
        self.sessions: dict[str, dict[str, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        sid = request.cookies.get(self.cookie_name, "")
        fresh = sid not in self.sessions
        if fresh:
            sid = secrets.token_urlsafe(32)
            if len(self.sessions) >= MAX_SESSIONS:  # a demo: forget the oldest rather than grow without bound
                del self.sessions[next(iter(self.sessions))]
            self.sessions[sid] = {}
        session = scope["session"] = self.sessions[sid]

        async def send_with_cookie(message: Message) -> None:
            nonlocal sid, fresh
            if message["type"] == "http.response.start" and session.pop(RENEW, False):
                # a login renews the identifier (session fixation: an identifier planted before the login never
                # becomes a logged-in session)
                self.sessions.pop(sid, None)
                sid, fresh = secrets.token_urlsafe(32), True
                self.sessions[sid] = session
            if message["type"] == "http.response.start" and fresh:
                headers = list(message.get("headers", []))
                cookie = f"{self.cookie_name}={sid}; Path=/; HttpOnly; SameSite=Lax"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def create_portal_app(config: PortalConfig) -> FastAPI:
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    oauth = OAuth()
    client_kwargs: dict[str, Any] = {"code_challenge_method": "S256", "timeout": 15.0}
    secret: Any = config.client_secret
    methods = None
    if config.private_jwk is not None:
        secret = ECKey.import_key(dict(config.private_jwk))
        client_kwargs["token_endpoint_auth_method"] = PRIVATE_KEY_JWT
        methods = [PrivateKeyJWT(alg="ES256")]
    else:
        client_kwargs["token_endpoint_auth_method"] = CLIENT_SECRET_BASIC
    oauth.register(
        "govssi",
        client_id=config.client_id,
        client_secret=secret,
        server_metadata_url=f"{config.op_url.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
        client_auth_methods=methods,
    )
    app = FastAPI(title=config.client_name, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(_ServerSessions, cookie_name=config.cookie_name)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    remote: Any = oauth.create_client("govssi")

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        session = request.session
        context = {
            "portal": config.client_name,
            "options": list(config.options.values()),
            "login": session.get("login"),
            "error": session.pop("error", None),
        }
        return templates.TemplateResponse(request, "oidc_portal.html", context, headers={"Cache-Control": "no-store"})

    @app.get("/login/{option}")
    async def login(request: Request, option: str) -> Response:
        chosen = config.options.get(option)
        if chosen is None:
            return RedirectResponse("/", status_code=303)
        request.session["option"] = option
        response: Response = await remote.authorize_redirect(request, config.redirect_uri, scope=chosen.scope)
        return response

    @app.get("/callback")
    async def callback(request: Request) -> Response:
        try:
            token = await remote.authorize_access_token(request)
        except OAuthError as exc:
            request.session["error"] = {"error": exc.error, "description": exc.description}
            request.session.pop("login", None)
            return RedirectResponse("/", status_code=303)
        option = config.options.get(request.session.pop("option", ""), None)
        claims = dict(token["userinfo"])
        userinfo = dict(await remote.userinfo(token=token))
        protocol = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sub", "acr", "azp", "sid"}
        received = {k: v for k, v in claims.items() if k not in protocol}
        request.session[RENEW] = True
        request.session["login"] = {
            "option": option.label if option else None,
            "scope": token.get("scope"),
            "why": option.why if option else None,
            "sub": claims["sub"],
            "sub_kind": "transient" if str(claims["sub"]).startswith("t-") else "pairwise",
            "acr": claims.get("acr"),
            "received": received,
            "received_json": json.dumps(received, ensure_ascii=False, indent=2),
            "userinfo_matches": userinfo == {"sub": claims["sub"], **received},
            "id_token_claims": json.dumps(claims, ensure_ascii=False, indent=2),
        }
        return RedirectResponse("/", status_code=303)

    @app.get("/logout")
    async def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    return app


def main(argv: list[str] | None = None) -> int:
    """``python -m verifier.portal registration|serve``: the client document the verifier needs
    (``GOVSSI_VERIFIER_OIDC_CLIENTS``), and the portal under uvicorn. The client secret comes from
    ``GOVSSI_PORTAL_CLIENT_SECRET`` (``registration`` makes one up when it is unset and prints it in the document)."""
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser(prog="python -m verifier.portal", description=main.__doc__)
    parser.add_argument("command", choices=("registration", "serve"))
    parser.add_argument("--base-url", required=True, help="where browsers reach the portal, e.g. http://127.0.0.1:8200")
    parser.add_argument("--op-url", default="", help="the verifier (OpenID Provider), for serve")
    parser.add_argument("--parking-vct", default=None, help="registration: the vct of the Bewohnerparkausweis")
    parser.add_argument("--port", type=int, default=None, help="serve: the port (default: the base URL's)")
    args = parser.parse_args(argv)
    secret = os.environ.get("GOVSSI_PORTAL_CLIENT_SECRET") or secrets.token_urlsafe(32)
    config = PortalConfig(op_url=args.op_url, base_url=args.base_url, client_secret=secret)
    if args.command == "registration":
        document: dict[str, Any] = {"clients": [portal_registration(config)]}
        if args.parking_vct:
            document["scopes"] = {
                "parking_permit": {
                    "description": "Bewohnerparkausweis: Kennzeichen und Parkzone",
                    "credentials": [
                        {
                            "id": "parking_permit",
                            "format": "dc+sd-jwt",
                            "meta": {"vct_values": [args.parking_vct]},
                            "claims": [{"path": ["license_plate"]}, {"path": ["parking_zone"]}],
                        }
                    ],
                }
            }
        else:
            document["clients"][0]["scopes"] = ["pid_basic", "age_over_18"]
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    if not args.op_url or "GOVSSI_PORTAL_CLIENT_SECRET" not in os.environ:
        print("serve needs --op-url and GOVSSI_PORTAL_CLIENT_SECRET", file=sys.stderr)
        return 2
    from urllib.parse import urlsplit

    import uvicorn

    port = args.port or urlsplit(args.base_url).port or 8200
    uvicorn.run(create_portal_app(config), host="127.0.0.1", port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
