"""The wallet's HTTP rules (OpenID4VCI 1.0 §4.1.3, §8–§11 "MUST utilize TLS"; §12.2.4 https endpoints): https only,
no redirects, bounded answers, strict JSON, the issuer's error code carried in one sanitised line."""

from __future__ import annotations

import httpx
import pytest

from ssi.errors import FetchError, IssuerError, Oid4vciError
from wallet_sim.oid4vci.http import IssuerHttp


def client(handler: httpx.MockTransport, **kw: object) -> IssuerHttp:
    return IssuerHttp(httpx.Client(transport=handler), **kw)  # type: ignore[arg-type]


def test_http_refused_unless_loopback_in_development() -> None:
    calls: list[str] = []
    transport = httpx.MockTransport(lambda r: calls.append(str(r.url)) or httpx.Response(200, json={}))
    with pytest.raises(Oid4vciError):
        client(transport).get_json("http://issuer.example/x", "issuer metadata")
    with pytest.raises(Oid4vciError):
        client(transport, allow_http_loopback=True).get_json("http://issuer.example/x", "issuer metadata")
    client(transport, allow_http_loopback=True).get_json("http://127.0.0.1:8080/x", "issuer metadata")
    assert calls == ["http://127.0.0.1:8080/x"]


def test_redirects_are_not_followed() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(302, headers={"Location": "http://evil.example/"}))
    with pytest.raises(FetchError) as info:
        client(transport).get_json("https://issuer.example/x", "credential offer")
    assert info.value.reason == "unexpected_redirect"


def test_answer_size_is_bounded() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=b"{" + b" " * 5000 + b"}", headers={"content-type": "application/json"})
    )
    with pytest.raises(FetchError) as info:
        client(transport, max_bytes=1000).get_json("https://issuer.example/x", "issuer metadata")
    assert info.value.reason == "response_too_large"


def test_strict_json() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=b'{"a": 1, "a": 2}', headers={"content-type": "application/json"})
    )
    with pytest.raises(FetchError) as info:
        client(transport).get_json("https://issuer.example/x", "issuer metadata")
    assert info.value.reason == "bad_response"
    html = httpx.MockTransport(lambda r: httpx.Response(200, text="<html>"))
    with pytest.raises(FetchError):
        client(html).get_json("https://issuer.example/x", "issuer metadata")


def test_error_code_and_sanitised_description() -> None:
    body = {"error": "invalid_grant", "error_description": 'bad\x1b[31m code\n"quoted"'}
    transport = httpx.MockTransport(lambda r: httpx.Response(400, json=body))
    http = client(transport)
    answer = http.request("POST", "https://issuer.example/token", "token request", form={"a": "b"})
    with pytest.raises(IssuerError) as info:
        http.raise_for_error(answer, "token request")
    assert info.value.code == "invalid_grant" and info.value.status == 400
    assert "\x1b" not in info.value.description and "\n" not in info.value.description
    server = httpx.MockTransport(lambda r: httpx.Response(503, text="down"))
    with pytest.raises(IssuerError) as info:
        client(server).get_json("https://issuer.example/x", "issuer metadata")
    assert info.value.code == "server_error" and info.value.reason == "issuer_server_error"


def test_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(FetchError) as info:
        client(httpx.MockTransport(refuse)).get_json("https://issuer.example/x", "issuer metadata")
    assert info.value.reason == "issuer_unreachable" and "issuer.example" in info.value.description


def test_www_authenticate_error_parameter() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(401, headers={"WWW-Authenticate": 'DPoP error="use_dpop_nonce", algs="ES256"'})
    )
    answer = client(transport).request("POST", "https://issuer.example/credential", "credential request", json={})
    assert answer.www_authenticate_error() == "use_dpop_nonce"
