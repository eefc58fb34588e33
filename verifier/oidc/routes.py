"""The OpenID Provider's HTTP surface (thin routes over :class:`verifier.oidc.provider.OpenIdProvider`):

- ``GET /.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4), ``GET /jwks.json``;
- ``GET /authorize`` → ``/authorize/login`` (the login page: same-device link, QR code, status) →
  ``/authorize/return`` (the wallet's redirect) or ``/authorize/complete`` (when the page sees the result) → the
  portal's ``redirect_uri``;
- ``POST /token`` (§3.1.3), ``GET``/``POST /userinfo`` (§5.3).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from infra.http import OAuthHTTPError, read_form
from ssi.errors import InvalidClient, InvalidToken, SsiError
from verifier.oidc.provider import AuthorizationError, LoginNotFound, OpenIdProvider
from verifier.service import ResultNotReady

__all__ = ["LOGIN_COOKIE", "oidc_router"]

LOGIN_COOKIE = "govssi_oidc_login"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _qr_svg(data: str) -> str:
    from verifier.app import qr_svg

    return qr_svg(data)


def oidc_router(provider: OpenIdProvider, *, secure_cookie: bool) -> APIRouter:
    router = APIRouter()
    templates = Jinja2Templates(directory=str(_TEMPLATES))

    def error_page(request: Request, error: AuthorizationError, status: int = 400) -> HTMLResponse:
        context = {"error": error.code, "description": error.description}
        return templates.TemplateResponse(request, "oidc_error.html", context, status_code=status, headers=_NO_STORE)

    def cookie(request: Request) -> tuple[str, str]:
        login_id, _, binding = request.cookies.get(LOGIN_COOKIE, "").partition(".")
        return login_id, binding

    @router.get("/.well-known/openid-configuration", tags=["openid provider"])
    async def discovery() -> JSONResponse:
        return JSONResponse(provider.metadata())

    @router.get("/jwks.json", tags=["openid provider"])
    async def jwks() -> JSONResponse:
        return JSONResponse(provider.jwks(), headers={"Cache-Control": "max-age=300"})

    @router.get("/authorize", tags=["openid provider"], response_class=HTMLResponse)
    async def authorize(request: Request) -> Response:
        """Authorization Endpoint (§3.1.2). Errors go back to the portal, except for an unknown client or redirect
        URI (shown here, RFC 6749 §4.1.2.1)."""
        params = dict(request.query_params)
        if len(request.query_params.multi_items()) != len(params):
            # RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
            error = AuthorizationError("invalid_request", "a parameter is repeated", redirect=False)
            return error_page(request, error)
        return await authorize_with(request, params)

    @router.post("/authorize", tags=["openid provider"], response_class=HTMLResponse)
    async def authorize_post(request: Request) -> Response:
        """§3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET and POST methods … at the
        Authorization Endpoint" — POST with the parameters form-serialised (§13.2). A malformed body or a repeated
        parameter is shown, never redirected (the redirect URI is not established)."""
        try:
            params = await read_form(request)
        except OAuthHTTPError as exc:
            return error_page(request, AuthorizationError("invalid_request", exc.description, redirect=False))
        return await authorize_with(request, params)

    async def authorize_with(request: Request, params: dict[str, str]) -> Response:
        try:
            begun = await run_in_threadpool(provider.begin, params)
        except AuthorizationError as error:
            if not error.redirect:
                return error_page(request, error)
            return RedirectResponse(
                provider.error_redirect(params["redirect_uri"], error, params.get("state")), status_code=303
            )
        response = RedirectResponse("/authorize/login", status_code=303, headers=_NO_STORE)
        response.set_cookie(
            LOGIN_COOKIE,
            f"{begun.login_id}.{begun.binding}",
            max_age=begun.expires_in,
            path="/authorize",
            httponly=True,
            samesite="lax",
            secure=secure_cookie,
        )
        return response

    @router.get("/authorize/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(request: Request) -> HTMLResponse:
        login_id, binding = cookie(request)
        try:
            record = await run_in_threadpool(provider.login, login_id, binding)
        except LoginNotFound as exc:
            return error_page(request, AuthorizationError("login_expired", exc.description), status=404)
        client = provider.registry.get(record["client_id"])
        link = record["link"]
        context = {
            "client_name": client.client_name if client else record["client_id"],
            "scopes": [client.scopes[s] for s in record["scopes"]] if client else [],
            "identifying": record["identifying"],
            "link": link,
            "qr": _qr_svg(link),
        }
        return templates.TemplateResponse(request, "oidc_login.html", context, headers=_NO_STORE)

    @router.get("/authorize/status", include_in_schema=False)
    async def login_status(request: Request) -> JSONResponse:
        login_id, binding = cookie(request)
        try:
            status = await run_in_threadpool(provider.status, login_id, binding)
        except LoginNotFound:
            status = "expired"
        return JSONResponse({"status": status}, headers=_NO_STORE)

    async def finish(request: Request) -> Response:
        login_id, binding = cookie(request)
        try:
            target = await run_in_threadpool(provider.complete, login_id, binding)
        except ResultNotReady:
            return RedirectResponse("/authorize/login", status_code=303, headers=_NO_STORE)
        except LoginNotFound as exc:
            return error_page(request, AuthorizationError("login_expired", exc.description), status=404)
        response = RedirectResponse(target, status_code=303, headers=_NO_STORE)
        response.delete_cookie(LOGIN_COOKIE, path="/authorize")
        return response

    @router.get("/authorize/complete", include_in_schema=False)
    async def complete(request: Request) -> Response:
        return await finish(request)

    @router.get("/authorize/return", response_class=HTMLResponse, include_in_schema=False)
    async def wallet_return(request: Request, response_code: str = "") -> Response:
        """The wallet's redirect (OpenID4VP 1.0 §8.2 ``redirect_uri`` with ``response_code``). In the browser that
        started the login the login completes; anywhere else (a phone after scanning the QR code) it only says so."""
        login_id, binding = cookie(request)
        try:
            owned = await run_in_threadpool(provider.owns_code, login_id, binding, response_code)
        except LoginNotFound:
            owned = False
        if owned:
            return await finish(request)
        return templates.TemplateResponse(request, "oidc_elsewhere.html", {}, headers=_NO_STORE)

    @router.post("/token", tags=["openid provider"])
    async def token(request: Request) -> JSONResponse:
        """Token Endpoint (§3.1.3): ``authorization_code`` with PKCE; ``client_secret_basic`` or
        ``private_key_jwt``."""
        form = await read_form(request)
        authorization = request.headers.get("authorization")
        try:
            answer = await run_in_threadpool(provider.token, form, authorization)
        except InvalidClient as exc:
            # RFC 6749 §5.2: 401 with WWW-Authenticate when the client tried HTTP authentication
            headers = {"WWW-Authenticate": 'Basic realm="token"'} if authorization else {}
            raise OAuthHTTPError("invalid_client", exc.description, status=401, headers=headers) from None
        except SsiError as exc:
            raise OAuthHTTPError.from_ssi(exc, status=400) from None
        return JSONResponse(answer, headers=_NO_STORE)

    async def userinfo(request: Request) -> JSONResponse:
        """UserInfo Endpoint (§5.3): the Bearer access token (RFC 6750 §2.1)."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not value.strip():
                raise InvalidToken("a Bearer access token is required")
            claims = await run_in_threadpool(provider.userinfo, value.strip())
        except InvalidToken as exc:
            challenge = 'Bearer error="invalid_token"' if value else "Bearer"
            raise OAuthHTTPError(
                "invalid_token", exc.description, status=401, headers={"WWW-Authenticate": challenge}
            ) from None
        return JSONResponse(claims, headers=_NO_STORE)

    router.add_api_route("/userinfo", userinfo, methods=["GET", "POST"], tags=["openid provider"])
    return router
