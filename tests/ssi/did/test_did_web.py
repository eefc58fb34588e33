"""did:web (W3C CCG did:web Method Specification): DID → URL, and resolution through an injected fetcher."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from did_vectors import DID_WEB_EXAMPLE_ETHEREUM, DID_WEB_EXAMPLE_JWK, DID_WEB_URLS

from ssi.did import DidWebDriver, did_web_http_fetcher, did_web_to_url
from ssi.errors import DidError, DidNotFound, FetchError, InputTooLarge
from ssi.fetch import FetchResponse
from ssi.keys import PrivateKey

# -- Read steps 1-5: the URL --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("did", "url"), DID_WEB_URLS.items())
def test_read_steps_1_to_5_spec_examples(did: str, url: str) -> None:
    assert did_web_to_url(did) == url


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),  # 4. no path → /.well-known
        ("did:web:example.com%3a8443", "https://example.com:8443/.well-known/did.json"),  # %3a: HEXDIG any case
        ("did:web:sub.example.com:a:b:c", "https://sub.example.com/a/b/c/did.json"),  # 1. ':' → '/'
        ("did:web:example.com:user%20x", "https://example.com/user%20x/did.json"),  # pct-encoding kept as is
        ("did:web:localhost%3A8000", "https://localhost:8000/.well-known/did.json"),
        ("did:web:xn--bcher-kva.example", "https://xn--bcher-kva.example/.well-known/did.json"),
    ],
)
def test_read_steps_1_to_5(did: str, url: str) -> None:
    assert did_web_to_url(did) == url


def test_http_only_for_localhost_when_asked() -> None:
    assert did_web_to_url("did:web:localhost%3A8000", http_for_localhost=True) == (
        "http://localhost:8000/.well-known/did.json"
    )
    assert did_web_to_url("did:web:example.com", http_for_localhost=True).startswith("https://")


@pytest.mark.parametrize(
    ("did", "rule"),
    [
        ("did:web:127.0.0.1", "MUST NOT include IP addresses"),
        ("did:web:127.1", "IPv4 short form"),
        ("did:web:0x7f.1", "IPv4 hex form"),
        ("did:web:10.0.0.1%3A443", "IP address with port"),
        ("did:web:intranet", "a fully qualified domain name"),
        ("did:web:example.com.", "empty label"),
        ("did:web:-example.com", "a label does not start with '-' (RFC 1123)"),
        ("did:web:example-.com", "a label does not end with '-'"),
        ("did:web:" + "a" * 64 + ".com", "labels are at most 63 octets (RFC 1035 §2.3.4)"),
        ("did:web:" + ".".join(["a" * 60] * 5), "names are at most 253 octets"),
        ("did:web:exa%6Dple.com", "only the port colon may be percent-encoded"),
        ("did:web:example.com%2F..", "an encoded slash in the domain"),
        ("did:web:example.com%3A", "the port needs digits"),
        ("did:web:example.com%3A0", "port 0"),
        ("did:web:example.com%3A65536", "port above 65535"),
        ("did:web:example.com%3A0443", "a port with a leading zero is a second spelling"),
        ("did:web:example.com:..:admin", "a dot-segment in the path"),
        ("did:web:example.com:.", "a dot-segment in the path"),
        ("did:web:example.com:%2E%2E", "an encoded dot-segment"),
        ("did:web:example.com:a%2Fb", "an encoded '/' in a path segment"),
        ("did:web:example.com:a%5Cb", "an encoded '\\' in a path segment"),
        ("did:web:example.com:a%3Fb", "an encoded '?' in a path segment"),
        ("did:web:example.com:a%00", "a control character"),
        ("did:web:example.com:%FF", "not UTF-8"),
        ("did:web:example.com::user", "an empty path segment"),
        ("did:key:example.com", "not did:web"),
        ("did:web:example.com#frag", "a DID URL"),
    ],
)
def test_method_specific_identifier_rules(did: str, rule: str) -> None:
    with pytest.raises(DidError) as info:
        did_web_to_url(did)
    assert info.value.reason == "invalidDid", rule


# -- Read steps 6-7: fetching through an injected fetcher ---------------------------------------------------------


class FakeFetcher:
    def __init__(self, response: FetchResponse | Exception) -> None:
        self.response = response
        self.urls: list[str] = []

    def __call__(self, url: str) -> FetchResponse:
        self.urls.append(url)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def _ok(doc: Any) -> FetchResponse:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return FetchResponse(status=200, body=body, content_type="application/did+json")


def _reason(fetcher: FakeFetcher, did: str = "did:web:example.com", **kwargs: Any) -> str:
    with pytest.raises(DidError) as info:
        DidWebDriver(fetcher, **kwargs).resolve(did)
    return info.value.reason


def test_resolves_the_spec_example_jwk_document() -> None:
    fetcher = FakeFetcher(_ok(DID_WEB_EXAMPLE_JWK))
    doc = DidWebDriver(fetcher).resolve("did:web:example.com")
    assert fetcher.urls == ["https://example.com/.well-known/did.json"]
    assert doc.public_key("did:web:example.com#key-0", "assertionMethod").alg == "EdDSA"
    assert doc.public_key("did:web:example.com#key-2", "authentication").alg == "ES256"
    with pytest.raises(DidError) as info:
        doc.public_key("did:web:example.com#key-1", "keyAgreement")  # X25519: not a verification key here
    assert info.value.reason == "unsupportedPublicKeyType"
    with pytest.raises(DidError) as info:
        doc.public_key("did:web:example.com#key-1", "assertionMethod")
    assert info.value.reason == "invalidVerificationRelationship"


def test_resolves_the_spec_example_ethereum_document() -> None:
    doc = DidWebDriver(FakeFetcher(_ok(DID_WEB_EXAMPLE_ETHEREUM))).resolve("did:web:example.com")
    assert doc.verification_method[0].type == "EcdsaSecp256k1RecoveryMethod2020"
    assert doc.to_json() == DID_WEB_EXAMPLE_ETHEREUM


def test_step_7_document_id_must_equal_the_did() -> None:
    """ "Verify that the ID of the resolved DID document matches the Web DID being resolved.\""""
    other = {**DID_WEB_EXAMPLE_ETHEREUM, "id": "did:web:attacker.example"}
    assert _reason(FakeFetcher(_ok(other))) in ("invalidDidDocument",)
    sub = json.loads(json.dumps(DID_WEB_EXAMPLE_ETHEREUM).replace("did:web:example.com", "did:web:example.com:u"))
    assert _reason(FakeFetcher(_ok(sub))) == "invalidDidDocument"


def test_relative_did_urls_are_refused() -> None:
    """ "Whenever a DID URL is present within a did:web document, it must be an absolute URL." """
    doc = json.loads(json.dumps(DID_WEB_EXAMPLE_JWK))
    doc["authentication"] = ["#key-0"]
    assert _reason(FakeFetcher(_ok(doc))) == "invalidDidDocument"
    doc = json.loads(json.dumps(DID_WEB_EXAMPLE_JWK))
    doc["verificationMethod"][0]["id"] = "#key-0"
    assert _reason(FakeFetcher(_ok(doc))) == "invalidDidDocument"


@pytest.mark.parametrize("status", [404, 410])
def test_missing_document_is_not_found(status: int) -> None:
    with pytest.raises(DidNotFound):
        DidWebDriver(FakeFetcher(FetchResponse(status=status, body=b""))).resolve("did:web:example.com")


@pytest.mark.parametrize("status", [201, 204, 500, 503, 403])
def test_other_statuses_fail(status: int) -> None:
    assert _reason(FakeFetcher(FetchResponse(status=status, body=b""))) == "internalError"


@pytest.mark.parametrize(
    "error",
    [
        FetchError("refusing to follow a redirect (HTTP 302)", reason="redirect"),
        FetchError("host resolves to a non-public address", reason="private_address"),
        FetchError("timed out", reason="timeout"),
        InputTooLarge("response is larger than 262144 bytes"),
    ],
)
def test_fetch_failures_are_resolution_errors(error: Exception) -> None:
    fetcher = FakeFetcher(error)
    with pytest.raises(DidError) as info:
        DidWebDriver(fetcher).resolve("did:web:example.com")
    assert info.value.reason == "internalError"
    assert info.value.__cause__ is error


def test_document_size_limit() -> None:
    body = json.dumps(DID_WEB_EXAMPLE_ETHEREUM).encode()
    assert DidWebDriver(FakeFetcher(_ok(body)), max_document_size=len(body)).resolve("did:web:example.com")
    assert _reason(FakeFetcher(_ok(body)), max_document_size=len(body) - 1) == "invalidDidDocument"


@pytest.mark.parametrize(
    "body", [b"<html>", b"\xff", b"[]", b'{"id": "did:web:example.com", "id": "did:web:x.example"}']
)
def test_malformed_documents(body: bytes) -> None:
    assert _reason(FakeFetcher(_ok(body))) == "invalidDidDocument"


def test_invalid_did_is_refused_before_fetching() -> None:
    fetcher = FakeFetcher(_ok(DID_WEB_EXAMPLE_JWK))
    assert _reason(fetcher, "did:web:127.0.0.1") == "invalidDid"
    assert fetcher.urls == []


# -- against a real server on 127.0.0.1, through the hardened HttpFetcher ------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[int, dict[str, str], bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        status, headers, body = self.server.routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.routes = {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _did_document(did: str) -> bytes:
    key = PrivateKey.generate("ES256").public_key
    return json.dumps(
        {
            "id": did,
            "verificationMethod": [
                {"id": f"{did}#k", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": key.jwk}
            ],
            "assertionMethod": [f"{did}#k"],
        }
    ).encode()


def test_resolution_over_http_on_localhost(server: _Server) -> None:
    port = server.server_address[1]
    did = f"did:web:localhost%3A{port}:issuer:dept-7"
    server.routes["/issuer/dept-7/did.json"] = (200, {"Content-Type": "application/did+json"}, _did_document(did))
    fetcher = did_web_http_fetcher(allow_http=True, allow_loopback=True, timeout=5)
    doc = DidWebDriver(fetcher, http_for_localhost=True).resolve(did)
    assert doc.public_key(f"{did}#k", "assertionMethod").alg == "ES256"


def test_loopback_is_refused_by_default(server: _Server) -> None:
    """A did:web that points at an internal address must not be fetched (SSRF)."""
    port = server.server_address[1]
    did = f"did:web:localhost%3A{port}"
    server.routes["/.well-known/did.json"] = (200, {}, _did_document(did))
    with pytest.raises(DidError) as info:
        DidWebDriver(did_web_http_fetcher(allow_http=True), http_for_localhost=True).resolve(did)
    assert info.value.reason == "internalError"
    assert isinstance(info.value.__cause__, FetchError) and info.value.__cause__.reason == "private_address"


def test_redirects_are_not_followed(server: _Server) -> None:
    port = server.server_address[1]
    did = f"did:web:localhost%3A{port}"
    server.routes["/.well-known/did.json"] = (302, {"Location": "/elsewhere/did.json"}, b"")
    server.routes["/elsewhere/did.json"] = (200, {}, _did_document(did))
    fetcher = did_web_http_fetcher(allow_http=True, allow_loopback=True)
    with pytest.raises(DidError) as info:
        DidWebDriver(fetcher, http_for_localhost=True).resolve(did)
    assert isinstance(info.value.__cause__, FetchError) and info.value.__cause__.reason == "redirect"
