"""The verifier's HTTP surface (FastAPI): thin routes over :class:`verifier.service.PresentationService`.

- Relying-party API (JSON; ``Authorization: Bearer`` when ``GOVSSI_VERIFIER_API_KEY`` is set, for creating):
  ``POST /api/presentations`` (a DCQL query or a preset; flow; response mode) → ``session``,
  ``authorization_request``, ``request_uri``; ``GET /api/presentations/{session}/status`` (polling),
  ``…/events`` (server-sent events), ``…/qr.svg``, ``…/result`` (once; same-device with ``response_code``);
  ``GET /api/presets``.
- Wallet endpoints (OpenID4VP 1.0): ``GET``/``POST /request/{state}`` (Request URI, §5.10),
  ``POST /response/{state}`` (Response URI, §8.2).
- Pages: ``/`` (start a presentation), ``/present`` (QR code, same-device link, live status), ``/done`` (the
  wallet's redirect back), and ``/healthz``, ``/metrics``, ``/docs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import qrcode  # type: ignore[import-untyped]
import qrcode.image.svg  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from infra.ephemeral import EphemeralStore
from infra.http import (
    MetricsMiddleware,
    OAuthHTTPError,
    PlainRoute,
    RequestLimitsMiddleware,
    SecurityHeadersMiddleware,
    install_error_handlers,
    ops_router,
    read_form,
)
from infra.server import LoopbackServer
from ssi.errors import SsiError
from ssi.oid4vp import REQUEST_OBJECT_MEDIA_TYPE
from verifier.service import FINAL, PresentationNotFound, PresentationService, ResultNotReady
from verifier.settings import VerifierSettings

__all__ = ["create_app", "loopback_verifier"]

_NO_STORE = {"Cache-Control": "no-store"}
_HERE = Path(__file__).parent
COOKIE = "govssi_presentation"


def qr_svg(data: str) -> str:
    """An inline SVG QR code (one ``<path>``, scalable)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=4)
    text: str = image.to_string(encoding="unicode")
    return text


class CreatePresentation(BaseModel):
    """A presentation request: ``dcql_query`` (OpenID4VP 1.0 §6) or the name of a ``preset``."""

    model_config = ConfigDict(extra="forbid")

    dcql_query: dict[str, Any] | None = None
    preset: str | None = Field(default=None, max_length=128)
    flow: str = Field(default="cross_device", pattern="^(cross_device|same_device)$")
    response_mode: str | None = Field(default=None, pattern="^(direct_post|direct_post\\.jwt)$")
    redirect_uri: str | None = Field(default=None, max_length=2048)


def _check_redirect(uri: str | None, dev_allow_http: bool) -> None:
    from urllib.parse import urlsplit

    if uri is None:
        return
    parts = urlsplit(uri)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if (
        not parts.hostname
        or parts.fragment
        or not (parts.scheme == "https" or (dev_allow_http and loopback and parts.scheme == "http"))
    ):
        raise OAuthHTTPError("invalid_request", "redirect_uri must be an absolute https URL without fragment")


def create_app(
    settings: VerifierSettings,
    *,
    service: PresentationService,
    store: EphemeralStore | None = None,
    oidc: Any = None,
) -> FastAPI:
    """The verifier's ASGI app around a built :class:`PresentationService` (see :func:`verifier.build_verifier`).
    ``oidc``: the OpenID Provider for portals (:mod:`verifier.oidc`); ``None`` builds it from the environment when
    portal clients are configured, ``False`` leaves it out."""
    registry = CollectorRegistry()
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    store = store or service.store

    # Response URI posts are verified by a few threads of their own, in arrival order (GOVSSI_VERIFIER_VERIFY_THREADS),
    # not by the shared pool of every other route: dozens of verifications in the shared pool took turns at the GIL
    # and were answered out of order (bench/README.md, verifier, fifth pass).
    verify_pools = [ThreadPoolExecutor(max_workers=settings.verify_threads, thread_name_prefix="verify")]

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(store.purge_expired)
        try:
            yield
        finally:  # its threads end; a later start of the same app (tests) gets a fresh pool
            verify_pools[0].shutdown(wait=False, cancel_futures=True)
            verify_pools[0] = ThreadPoolExecutor(max_workers=settings.verify_threads, thread_name_prefix="verify")

    app = FastAPI(
        title="govssi verifier",
        version="1.0",
        description="OpenID for Verifiable Presentations 1.0 (HAIP 1.0) with DCQL: signed requests by reference, "
        "direct_post and direct_post.jwt, SD-JWT VC verification with issuer trust and status from the chain.",
        lifespan=lifespan,
    )
    app.state.service = service
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, registry=registry, service="verifier")

    # -- wallet endpoints (OpenID4VP 1.0) -------------------------------------------------------------------------
    # Registered first, the Response URI before all: routes are matched in order, and every wallet response would
    # otherwise be tried against the ops, static, OpenID Provider and relying-party routes first
    # (bench/verifier_bench.py, the verifier's hot path).

    on_event_loop = settings.verify_on_event_loop

    async def response_uri_endpoint(request: Request) -> JSONResponse:
        """Response URI (§8.2 direct_post, §8.3.1 direct_post.jwt). 200 with ``redirect_uri`` (HAIP 1.0), or 400
        with ``error``, ``error_description`` and the specific ``reason``."""
        state: str = request.path_params["state"]
        form = await read_form(request, max_bytes=settings.max_body_bytes)
        try:
            if on_event_loop:  # GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP: nothing in it waits on the network
                answer = service.handle_response(state, form)
            else:
                answer = await asyncio.get_running_loop().run_in_executor(
                    verify_pools[0], service.handle_response, state, form
                )
        except SsiError as exc:
            return JSONResponse(
                {"error": "invalid_request", "error_description": exc.description, "reason": exc.reason},
                status_code=400,
                headers=_NO_STORE,
            )
        return JSONResponse(answer, headers=_NO_STORE)

    # Served as a plain Starlette route, matched before every other: FastAPI's parameter and dependency machinery
    # (solve_dependencies, request_params_to_args) cost each verification about 0.05 ms of CPU for one path
    # parameter (bench/README.md, verifier, fourth pass). The middlewares and exception handlers are the app's, as
    # for every route. The FastAPI declaration below describes it in the OpenAPI document; it is never matched.
    app.router.routes.insert(0, PlainRoute("/response/{state}", response_uri_endpoint, methods=["POST"]))

    @app.post("/response/{state}", tags=["wallet"])
    async def response_uri(state: str, request: Request) -> JSONResponse:
        """Response URI (§8.2 direct_post, §8.3.1 direct_post.jwt). 200 with ``redirect_uri`` (HAIP 1.0), or 400
        with ``error``, ``error_description`` and the specific ``reason``."""
        return await response_uri_endpoint(request)  # pragma: no cover - the Starlette route above answers

    @app.get("/request/{state}", tags=["wallet"], response_class=Response)
    async def request_uri_get(state: str) -> Response:
        """Request URI, ``request_uri_method`` ``get`` (RFC 9101 §5.2): the signed Request Object."""
        token = await run_in_threadpool(lambda: service.request_object(state))
        return Response(token, media_type=REQUEST_OBJECT_MEDIA_TYPE, headers=_NO_STORE)

    @app.post("/request/{state}", tags=["wallet"], response_class=Response)
    async def request_uri_post(state: str, request: Request) -> Response:
        """Request URI, ``request_uri_method`` ``post`` (§5.10): ``wallet_nonce`` and ``wallet_metadata``."""
        form = await read_form(request)
        token = await run_in_threadpool(lambda: service.request_object(state, form))
        return Response(token, media_type=REQUEST_OBJECT_MEDIA_TYPE, headers=_NO_STORE)

    def store_reachable() -> bool:
        store.get("health", "probe")  # raises when the database or Redis is down
        return True

    app.include_router(ops_router(registry, {"store": store_reachable}))
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    def require_api_key(request: Request) -> None:
        if settings.api_key is None:
            return
        header = request.headers.get("authorization", "")
        given = header[7:] if header[:7].lower() == "bearer " else ""
        if not hmac.compare_digest(given.encode(), settings.api_key.get_secret_value().encode()):
            raise OAuthHTTPError(
                "invalid_token", "an API key is required", status=401, headers={"WWW-Authenticate": "Bearer"}
            )

    if oidc is None:
        from verifier.oidc import build_provider

        oidc = build_provider(settings, service)
    if oidc:
        from verifier.oidc import oidc_router

        app.include_router(oidc_router(oidc, secure_cookie=settings.public_url.startswith("https://")))
        app.state.oidc = oidc

    # -- relying-party API --------------------------------------------------------------------------------------

    @app.post("/api/presentations", status_code=201, tags=["relying party"])
    async def create_presentation(request: Request, body: CreatePresentation) -> JSONResponse:
        """Create a presentation request; give ``authorization_request`` to the wallet (link or QR code)."""
        require_api_key(request)
        _check_redirect(body.redirect_uri, settings.dev_allow_http)
        query, purpose = service.query_for(dcql_query=body.dcql_query, preset=body.preset)
        created = await run_in_threadpool(
            lambda: service.create(
                query,
                flow=body.flow,
                response_mode=body.response_mode,
                redirect_uri=body.redirect_uri,
                purpose=purpose,
            )
        )
        out = created.to_json()
        base = f"{settings.public_url}/api/presentations/{created.transaction_id}"
        out.update(status_uri=f"{base}/status", events_uri=f"{base}/events", qr_svg_uri=f"{base}/qr.svg")
        return JSONResponse(out, status_code=201, headers=_NO_STORE)

    @app.get("/api/presentations/{session}/status", tags=["relying party"])
    async def presentation_status(session: str) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(service.status, session), headers=_NO_STORE)

    @app.get("/api/presentations/{session}/result", tags=["relying party"])
    async def presentation_result(session: str, response_code: str | None = None) -> JSONResponse:
        """The verified claims per Credential Query, or the refusal — once. 202 while the wallet has not answered."""
        try:
            result = await run_in_threadpool(lambda: service.result(session, response_code=response_code))
        except ResultNotReady as pending:
            return JSONResponse({"status": pending.status}, status_code=202, headers=_NO_STORE)
        return JSONResponse(result, headers=_NO_STORE)

    @app.get("/api/presentations/{session}/qr.svg", tags=["relying party"])
    async def presentation_qr(session: str) -> Response:
        link = await run_in_threadpool(_link_of, session)
        return Response(qr_svg(link), media_type="image/svg+xml", headers=_NO_STORE)

    def _link_of(session: str) -> str:
        data = service.store.get("vp_link", session)
        if data is None:
            raise PresentationNotFound("no such presentation session (unknown or expired)")
        return str(data["link"])

    @app.get("/api/presentations/{session}/events", tags=["relying party"])
    async def presentation_events(session: str) -> StreamingResponse:
        """Server-sent events: one ``status`` event per change, until the session is decided or expires."""
        await run_in_threadpool(service.status, session)  # 404 before the stream starts
        return StreamingResponse(_events(session, None), media_type="text/event-stream", headers=_NO_STORE)

    async def _events(session: str, binding: str | None) -> AsyncIterator[str]:
        last = None
        deadline = time.monotonic() + settings.session_ttl
        while time.monotonic() < deadline:
            try:
                status = await run_in_threadpool(lambda: service.status(session, binding=binding))
            except PresentationNotFound:
                yield 'event: status\ndata: {"status": "expired"}\n\n'
                return
            if status["status"] != last:
                last = status["status"]
                yield f"event: status\ndata: {json.dumps(status)}\n\n"
            if last in FINAL:
                return
            await asyncio.sleep(0.5)

    @app.get("/api/presets", tags=["relying party"])
    async def presets() -> JSONResponse:
        return JSONResponse({"presets": [p.to_json() for p in service.presets.values()]})

    # -- pages ----------------------------------------------------------------------------------------------------

    secure_cookie = settings.public_url.startswith("https://")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {"presets": list(service.presets.values())})

    @app.post("/present", include_in_schema=False)
    async def start(request: Request) -> Response:
        form = await read_form(request)
        binding = secrets.token_urlsafe(32)
        query, purpose = service.query_for(preset=form.get("preset", ""))
        created = await run_in_threadpool(
            lambda: service.create(query, flow="browser", purpose=purpose, binding=binding)
        )
        response = RedirectResponse("/present", status_code=303)
        cookie = f"{created.transaction_id}.{binding}"
        response.set_cookie(
            COOKIE, cookie, httponly=True, samesite="lax", secure=secure_cookie, max_age=int(settings.session_ttl)
        )
        return response

    def _cookie(request: Request) -> tuple[str, str]:
        value = request.cookies.get(COOKIE, "")
        transaction_id, _, binding = value.partition(".")
        if not transaction_id or not binding:
            raise PresentationNotFound("no presentation in this browser")
        return transaction_id, binding

    @app.get("/present", response_class=HTMLResponse, include_in_schema=False)
    async def present(request: Request) -> HTMLResponse:
        transaction_id, binding = _cookie(request)
        status = await run_in_threadpool(lambda: service.status(transaction_id, binding=binding))
        link = await run_in_threadpool(_link_of, transaction_id)
        context = {"link": link, "qr": qr_svg(link), "status": status["status"]}
        return templates.TemplateResponse(request, "present.html", context, headers=_NO_STORE)

    @app.get("/present/status", include_in_schema=False)
    async def present_status(request: Request) -> JSONResponse:
        transaction_id, binding = _cookie(request)
        return JSONResponse(await run_in_threadpool(lambda: service.status(transaction_id, binding=binding)))

    @app.get("/present/events", include_in_schema=False)
    async def present_events(request: Request) -> StreamingResponse:
        transaction_id, binding = _cookie(request)
        await run_in_threadpool(lambda: service.status(transaction_id, binding=binding))
        return StreamingResponse(_events(transaction_id, binding), media_type="text/event-stream", headers=_NO_STORE)

    @app.get("/done", response_class=HTMLResponse, include_in_schema=False)
    async def done(request: Request, response_code: str | None = None) -> HTMLResponse:
        """Where the wallet sends the browser. The result shows only in the browser that started the presentation
        (its cookie); anywhere else — the phone of a cross-device flow, a captured redirect — just "done"."""
        result = None
        try:
            transaction_id, binding = _cookie(request)
        except PresentationNotFound:
            transaction_id = binding = ""
        if transaction_id:
            code_owner = await run_in_threadpool(lambda: service.transaction_for_code(response_code or ""))
            if response_code is None or code_owner == transaction_id:
                try:
                    result = await run_in_threadpool(lambda: service.result(transaction_id, binding=binding))
                except (PresentationNotFound, ResultNotReady):
                    result = None
        return templates.TemplateResponse(request, "done.html", {"result": result}, headers=_NO_STORE)

    return app


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def loopback_verifier(
    settings: VerifierSettings | None = None, *, port: int | None = None, **dependencies: Any
) -> Iterator[tuple[LoopbackServer, PresentationService]]:
    """Run a verifier over real HTTP on 127.0.0.1 for tests and the demo (``public_url`` the loopback URL, with
    ``dev_allow_http``). ``dependencies`` go to :func:`verifier.build_verifier`."""
    from verifier import build_verifier

    base = settings or VerifierSettings()
    for attempt in range(3):
        chosen = port or free_loopback_port()
        configured = base.model_copy(update={"public_url": f"http://127.0.0.1:{chosen}", "dev_allow_http": True})
        service = build_verifier(configured, **dependencies)
        server = LoopbackServer(create_app(configured, service=service), port=chosen)
        try:
            server.start()
        except RuntimeError:
            if attempt == 2 or port is not None:
                raise
            continue
        try:
            yield server, service
        finally:
            server.stop()
        return
