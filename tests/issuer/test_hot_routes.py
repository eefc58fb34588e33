"""The token, nonce and credential endpoints are served as plain Starlette routes (``infra.http.PlainRoute``, no
FastAPI parameter or dependency machinery): the answers a client gets are the ones FastAPI gave — a malformed
authority in the path refused as FastAPI refuses a ``Slug`` (400 ``invalid_request`` naming ``path.slug``), an
unknown one 404, another method 405 with ``Allow`` — through the same middlewares (security headers, metrics by route
template) and error handlers (OAuth error shape, RFC 6749 §5.1 ``Cache-Control: no-store``), with a fresh
``DPoP-Nonce`` on every answer of the routes themselves (RFC 9449 §8), and still described in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from issuer_support import PUBLIC_URL, make_issuer, settings
from starlette.routing import Route

from infra.http import PlainRoute
from issuer import create_app

HOT = ("token", "nonce", "credential")
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path, token_rate_limit=0), issuer=make_issuer(tmp_path, token_rate_limit=0))
    with TestClient(app, base_url=PUBLIC_URL) as test_client:
        yield test_client


def _security_headers_and_no_store(headers: object) -> None:
    assert headers["cache-control"] == "no-store"  # type: ignore[index]
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]  # type: ignore[index]


def test_hot_routes_are_plain_routes_matched_before_their_fastapi_declarations(client: TestClient) -> None:
    routes = client.app.router.routes  # type: ignore[attr-defined]
    plain = [i for i, r in enumerate(routes) if isinstance(r, PlainRoute)]
    assert [routes[i].path for i in plain] == [f"/issuers/{{slug}}/{name}" for name in HOT]
    # Every route before them has a literal path (ops, the PID provider's for its authority): none takes a slug.
    assert all("{" not in getattr(r, "path", "") for r in routes[: plain[0]])
    for name in HOT:
        path = f"/issuers/{{slug}}/{name}"
        matching = [(i, r) for i, r in enumerate(routes) if isinstance(r, Route) and r.path == path]
        (_, first), (_, declared) = matching
        assert isinstance(first, PlainRoute) and not isinstance(first, APIRoute) and first.methods == {"POST"}
        assert isinstance(declared, APIRoute)
        operation = client.app.openapi()["paths"][path]["post"]  # type: ignore[attr-defined]
        (parameter,) = operation["parameters"]
        assert parameter["name"] == "slug" and parameter["schema"]["pattern"] == "^[a-z0-9][a-z0-9-]{1,39}$"


@pytest.mark.parametrize("name", HOT)
@pytest.mark.parametrize("slug", ["NO_SUCH", "a", "-demo", "x" * 41, "demo%0A", "d%C3%A9mo"])
def test_malformed_authority_answers_as_fastapi_does(client: TestClient, name: str, slug: str) -> None:
    """The answer FastAPI's ``Slug`` validation gives on a route it still serves (the metadata document), byte for
    byte; "demo\\n" included (Python's ``$`` would accept a trailing newline, pydantic's pattern does not)."""
    expected = client.get(f"/.well-known/openid-credential-issuer/issuers/{slug}")
    answer = client.post(f"/issuers/{slug}/{name}", content=b"grant_type=x", headers=FORM)
    assert answer.status_code == expected.status_code == 400
    assert answer.content == expected.content
    assert answer.json()["error"] == "invalid_request" and answer.json()["error_description"].startswith("path.slug:")
    assert "dpop-nonce" not in answer.headers  # refused before the route's own code, as before
    _security_headers_and_no_store(answer.headers)


@pytest.mark.parametrize("name", HOT)
def test_unknown_authority_is_not_found(client: TestClient, name: str) -> None:
    answer = client.post(f"/issuers/nobody/{name}", content=b"grant_type=x", headers=FORM)
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "error_description": "no such credential issuer here"}
    _security_headers_and_no_store(answer.headers)


@pytest.mark.parametrize("name", HOT)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_method_is_405_with_allow(client: TestClient, name: str, method: str) -> None:
    answer = client.request(method, f"/issuers/demo/{name}")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    assert answer.json() == {"error": "invalid_request", "error_description": "Method Not Allowed"}
    _security_headers_and_no_store(answer.headers)
    metrics = client.get("/metrics").text
    assert f'method="{method}",route="/issuers/{{slug}}/{name}",service="issuer",status="405"' in metrics


def test_answers_headers_and_metrics_by_route_template(client: TestClient) -> None:
    nonce = client.post("/issuers/demo/nonce")
    assert nonce.status_code == 200 and set(nonce.json()) == {"c_nonce"}
    assert nonce.headers["content-type"] == "application/json" and nonce.headers["dpop-nonce"]
    _security_headers_and_no_store(nonce.headers)
    token = client.post("/issuers/demo/token", content=b"grant_type=x", headers=FORM)
    assert token.status_code == 400 and token.json()["error"] == "unsupported_grant_type"
    assert token.headers["dpop-nonce"]
    _security_headers_and_no_store(token.headers)
    not_a_form = client.post("/issuers/demo/token", json={"grant_type": "x"})
    assert not_a_form.status_code == 400 and not_a_form.json() == {
        "error": "invalid_request",
        "error_description": "Content-Type must be application/x-www-form-urlencoded",
    }
    assert not_a_form.headers["dpop-nonce"]
    credential = client.post("/issuers/demo/credential", json={"credential_configuration_id": "bewohnerparkausweis"})
    assert credential.status_code == 401 and credential.json()["error"] == "invalid_token"
    assert credential.headers["www-authenticate"].startswith('DPoP error="invalid_token"')
    assert credential.headers["dpop-nonce"]
    _security_headers_and_no_store(credential.headers)
    not_json = client.post("/issuers/demo/credential", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_request"
    metrics = client.get("/metrics").text
    for line in (
        'method="POST",route="/issuers/{slug}/nonce",service="issuer",status="200"} 1.0',
        'method="POST",route="/issuers/{slug}/token",service="issuer",status="400"} 2.0',
        'method="POST",route="/issuers/{slug}/credential",service="issuer",status="401"} 1.0',
        'method="POST",route="/issuers/{slug}/credential",service="issuer",status="400"} 1.0',
    ):
        assert line in metrics, line


def test_pid_provider_routes_still_win_for_its_authority(tmp_path: Path) -> None:
    """The PID provider's literal ``/issuers/pid/token`` and ``/credential`` come before the plain routes and answer
    for its authority (the metrics name the route that answered); its nonce endpoint is the plain route's."""
    from pid_support import pid_issuer

    with pid_issuer(tmp_path) as env:
        routes = env.server._config.app.router.routes  # type: ignore[attr-defined]
        paths = [getattr(r, "path", "") for r in routes]
        plain = paths.index("/issuers/{slug}/token")
        assert paths.index("/issuers/pid/token") < plain and paths.index("/issuers/pid/credential") < plain
        for name in HOT:
            assert env.http.post(f"{env.credential_issuer}/{name}", json={}).headers["dpop-nonce"]
        metrics = env.http.get(f"{env.server.url}/metrics").text
        for route in ("/issuers/pid/token", "/issuers/{slug}/nonce", "/issuers/pid/credential"):
            assert f'method="POST",route="{route}",service="issuer"' in metrics, route
        assert 'route="/issuers/{slug}/token"' not in metrics and 'route="/issuers/{slug}/credential"' not in metrics
