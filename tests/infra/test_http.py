"""infra.http over real HTTP: the OAuth error shape (RFC 6749 §5.2) for every failure, limits, headers, ops routes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry

from infra.http import (
    MetricsMiddleware,
    OAuthHTTPError,
    RequestLimitsMiddleware,
    SecurityHeadersMiddleware,
    install_error_handlers,
    ops_router,
    read_form,
    read_json,
)
from infra.server import LoopbackServer
from ssi.errors import InvalidDpopProof, SsiError


def _app() -> FastAPI:
    app = FastAPI()
    registry = CollectorRegistry()
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, registry=registry, service="test")
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=1024)
    app.include_router(ops_router(registry, {"always": lambda: True}))

    @app.post("/json")
    async def json_route(request: Request) -> dict[str, object]:
        return {"got": await read_json(request)}

    @app.post("/form")
    async def form_route(request: Request) -> dict[str, object]:
        return {"got": await read_form(request)}

    @app.get("/ssi-error")
    async def ssi_error() -> None:
        raise InvalidDpopProof("bad proof")

    @app.get("/client-error")
    async def client_error() -> None:
        raise _client_error()

    @app.get("/explicit")
    async def explicit() -> None:
        raise OAuthHTTPError("use_dpop_nonce", "nonce needed", status=400, headers={"DPoP-Nonce": "n1"})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/typed")
    async def typed(count: int) -> dict[str, int]:
        return {"count": count}

    return app


def _client_error() -> SsiError:
    error = SsiError("client authentication failed")
    error.code = "invalid_client"
    return error


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with LoopbackServer(_app()) as server:
        yield server.url


def test_rfc6749_s5_2_ssi_error_shape_and_no_store(base_url: str) -> None:
    response = httpx.get(base_url + "/ssi-error")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_dpop_proof", "error_description": "bad proof"}
    assert response.headers["cache-control"] == "no-store"


def test_rfc6749_s5_2_invalid_client_is_401(base_url: str) -> None:
    assert httpx.get(base_url + "/client-error").status_code == 401


def test_explicit_status_and_headers(base_url: str) -> None:
    response = httpx.get(base_url + "/explicit")
    assert response.status_code == 400
    assert response.headers["dpop-nonce"] == "n1"
    assert response.json()["error"] == "use_dpop_nonce"


def test_unexpected_exception_is_500_without_internals(base_url: str) -> None:
    response = httpx.get(base_url + "/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "server_error", "error_description": "internal error"}
    assert "secret" not in response.text


def test_validation_error_is_invalid_request(base_url: str) -> None:
    response = httpx.get(base_url + "/typed", params={"count": "many"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_unknown_route_is_json_404(base_url: str) -> None:
    response = httpx.get(base_url + "/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_body_limit_by_content_length_and_by_stream(base_url: str) -> None:
    big = b'{"a": "' + b"x" * 2000 + b'"}'
    response = httpx.post(base_url + "/json", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"

    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = httpx.post(base_url + "/json", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"a": 1, "a": 2}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"{", "application/json"),
        (b'{"a": NaN}', "application/json"),
        (b'{"a": 1}', "text/plain"),
    ],
)
def test_strict_json_bodies(base_url: str, body: bytes, content_type: str) -> None:
    response = httpx.post(base_url + "/json", content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_rfc6749_s3_1_repeated_form_parameter_refused(base_url: str) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert httpx.post(base_url + "/form", content=b"a=1&b=2", headers=headers).json() == {"got": {"a": "1", "b": "2"}}
    response = httpx.post(base_url + "/form", content=b"a=1&a=2", headers=headers)
    assert response.status_code == 400
    assert "repeated" in response.json()["error_description"]


def test_security_headers(base_url: str) -> None:
    headers = httpx.get(base_url + "/healthz").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in headers  # plain HTTP: RFC 6797 §7.2


def test_healthz_and_metrics(base_url: str) -> None:
    assert httpx.get(base_url + "/healthz").json() == {"status": "ok", "failing": []}
    httpx.get(base_url + "/nope")
    metrics = httpx.get(base_url + "/metrics").text
    assert "govssi_http_requests_total" in metrics
    assert 'status="404"' in metrics
