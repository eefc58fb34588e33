"""HTTP plumbing for the FastAPI services: errors, request limits, security headers, health and metrics.

Errors leave a service in one shape only, the OAuth 2.0 error response (RFC 6749 §5.2): a JSON object with ``error``
and ``error_description``. ``SsiError`` carries its code; the status comes from :data:`STATUS_BY_CODE` (or from an
:class:`OAuthHTTPError` a route raises when the protocol prescribes another status or headers). Unexpected
exceptions become ``500 server_error`` without internals; validation failures ``400 invalid_request``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ssi.encoding import json_loads
from ssi.errors import EncodingError, SsiError

__all__ = [
    "STATUS_BY_CODE",
    "MetricsMiddleware",
    "OAuthHTTPError",
    "PlainRoute",
    "RequestLimitsMiddleware",
    "SecurityHeadersMiddleware",
    "configure_json_logging",
    "error_response",
    "install_error_handlers",
    "ops_router",
    "read_form",
    "read_json",
]

log = logging.getLogger("govssi.http")

#: HTTP status per error code. RFC 6749 §5.2: 400 except invalid_client (401); RFC 6750 §3.1: invalid_token 401,
#: insufficient_scope 403; OpenID4VCI 1.0 §8.3.1 credential errors 400; RFC 9449 §7.1 resource-server DPoP errors 401
#: (token endpoints answer DPoP errors with 400 — routes raise OAuthHTTPError for that).
STATUS_BY_CODE: dict[str, int] = {
    "invalid_client": 401,
    "invalid_token": 401,
    "unauthorized": 401,
    "insufficient_scope": 403,
    "access_denied": 403,
    "not_found": 404,
    "slow_down": 429,
    "rate_limited": 429,
    "server_error": 500,
    "temporarily_unavailable": 503,
    "chain_unavailable": 503,
}

#: Largest accepted form, in parameters (RFC 6749 requests have a handful).
MAX_FORM_FIELDS = 64


class OAuthHTTPError(Exception):
    """An error response with an explicit status and headers (e.g. ``WWW-Authenticate``, ``DPoP-Nonce``)."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    @classmethod
    def from_ssi(
        cls, exc: SsiError, *, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> OAuthHTTPError:
        return cls(exc.code, exc.description, status=status or STATUS_BY_CODE.get(exc.code, 400), headers=headers)


def error_response(
    error: str, description: str, status: int = 400, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The OAuth error object (RFC 6749 §5.2), never cached (RFC 6749 §5.1 ``Cache-Control: no-store``)."""
    merged = {"Cache-Control": "no-store"}
    merged.update(headers or {})
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=merged)


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception a route can raise to the OAuth error shape, in one place per service (DESIGN.md §2)."""

    async def on_oauth(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuthHTTPError)
        return error_response(exc.error, exc.description, exc.status, exc.headers)

    async def on_ssi(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SsiError)
        return error_response(exc.code, exc.description, STATUS_BY_CODE.get(exc.code, 400))

    async def on_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "request"
        return error_response("invalid_request", f"{where}: {first.get('msg', 'invalid value')}"[:300])

    async def on_http(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error = {401: "invalid_token", 404: "not_found", 405: "invalid_request", 413: "invalid_request"}.get(
            exc.status_code, "invalid_request" if exc.status_code < 500 else "server_error"
        )
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return error_response(error, detail, exc.status_code, getattr(exc, "headers", None))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response("server_error", "internal error", 500)

    app.add_exception_handler(OAuthHTTPError, on_oauth)
    app.add_exception_handler(SsiError, on_ssi)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


async def _send_json(send: Send, status: int, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class PlainRoute(Route):
    """A Starlette route for a hot endpoint (``endpoint(request) -> Response``), without FastAPI's parameter and
    dependency machinery, that names itself in the scope (``scope["route"]``) as FastAPI's routes do: the metrics
    middleware labels requests with the matched route's template. The app's middlewares and exception handlers apply
    as for every route; the endpoint reads its path parameters from ``request.path_params`` and checks them itself."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


class RequestLimitsMiddleware:
    """Refuse bodies over ``max_body_bytes`` with 413 before a route reads them: by ``Content-Length`` up front, and
    by counting while streaming when the length is not declared (chunked)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 256 * 1024) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_body_bytes:
                    await _send_json(
                        send, 413, {"error": "invalid_request", "error_description": "request body too large"}
                    )
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_json(send, 413, {"error": "invalid_request", "error_description": "request body too large"})


class _BodyTooLarge(Exception):
    pass


DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    """Headers every response carries: CSP with ``frame-ancestors 'none'`` (clickjacking), ``nosniff``, no referrer
    leaks, and HSTS when the request came over TLS (RFC 6797 §7.2: not over plain HTTP)."""

    def __init__(self, app: ASGIApp, csp: str = DEFAULT_CSP) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(name, value) for name, value in self.headers if name not in present]
                if tls:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


class MetricsMiddleware:
    """Prometheus request counter and latency histogram per route template and status."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry, service: str) -> None:
        self.app = app
        self.requests = Counter(
            "govssi_http_requests", "HTTP requests", ["service", "method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "govssi_http_request_seconds", "HTTP request latency", ["service", "route"], registry=registry
        )
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.requests.labels(self.service, scope.get("method", ""), template, str(status)).inc()
            self.latency.labels(self.service, template).observe(time.perf_counter() - start)


async def read_json(request: Request, *, max_bytes: int = 256 * 1024) -> dict[str, Any]:
    """A JSON object body, parsed strictly (duplicate names, NaN, lone surrogates, excessive nesting refused)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise OAuthHTTPError("invalid_request", "Content-Type must be application/json")
    body = await request.body()
    if len(body) > max_bytes:
        raise OAuthHTTPError("invalid_request", "request body too large", status=413)
    try:
        value = json_loads(body)
    except EncodingError as exc:
        raise OAuthHTTPError("invalid_request", f"body is not valid JSON: {exc.description}") from None
    if not isinstance(value, dict):
        raise OAuthHTTPError("invalid_request", "body must be a JSON object")
    return value


async def read_form(request: Request, *, max_bytes: int = 64 * 1024) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body. RFC 6749 §3.1: "Request and response parameters MUST NOT be
    included more than once" — a repeated parameter is ``invalid_request``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthHTTPError("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > max_bytes:
        raise OAuthHTTPError("invalid_request", "request body too large", status=413)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise OAuthHTTPError("invalid_request", "malformed form body") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthHTTPError("invalid_request", f"parameter {name!r} is repeated")
        form[name] = value
    return form


def ops_router(
    registry: CollectorRegistry, checks: Mapping[str, Callable[[], Awaitable[bool] | bool]] | None = None
) -> APIRouter:
    """``GET /healthz`` (200 when every check passes, else 503 with the failing names) and ``GET /metrics``
    (Prometheus text format)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> Response:
        failing = []
        for name, check in (checks or {}).items():
            try:
                result = check()
                ok = await result if not isinstance(result, bool) else result
            except Exception:
                ok = False
            if not ok:
                failing.append(name)
        status = 503 if failing else 200
        body = {"status": "ok" if not failing else "degraded", "failing": failing}
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Structured JSON log lines on stderr (DESIGN.md §3). Callers log identifiers and outcomes, never claim values,
    keys or tokens; pass extra fields as ``extra={"fields": {...}}``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger("govssi")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
