"""The hardened HttpFetcher, against real servers on 127.0.0.1 (HTTP, and HTTPS with a self-signed certificate):
no redirects, size limits, one deadline for the whole request, no private/loopback targets unless allowed, and no
DNS rebinding (the connection goes to the address that was checked)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ssi.errors import FetchError, InputTooLarge
from ssi.fetch import FetchResponse, HttpFetcher

Route = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, Route]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = routes
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = self.server.routes.get(self.path.split("?", 1)[0])
        if route is None:
            _reply(self, 404, b"")
        else:
            route(self)

    def log_message(self, *args: Any) -> None:
        pass


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if "Content-Length" not in (headers or {}):
        handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)


@dataclass
class Site:
    server: _Server
    scheme: str = "http"
    routes: dict[str, Route] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def _serve(routes: dict[str, Route], context: ssl.SSLContext | None = None) -> _Server:
    httpd = _Server(routes)
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


def _close(httpd: _Server) -> None:
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    routes: dict[str, Route] = {}
    httpd = _serve(routes)
    yield Site(httpd, routes=routes)
    _close(httpd)


LOCAL = {"allow_http": True, "allow_loopback": True}


def test_fetches_over_http_when_allowed(site: Site) -> None:
    site.routes["/doc"] = lambda h: _reply(h, 200, b'{"a":1}', {"Content-Type": "application/json; charset=utf-8"})
    response = HttpFetcher(accept="application/did+json", **LOCAL)(site.url("/doc?x=1"))
    assert response == FetchResponse(
        status=200, body=b'{"a":1}', content_type="application/json", headers=response.headers
    )
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    path, headers = site.server.requests[0]
    assert path == "/doc?x=1"
    assert headers["host"] == f"127.0.0.1:{site.port}"
    assert headers["accept"] == "application/did+json"
    assert headers["accept-encoding"] == "identity"


def test_non_success_statuses_are_returned_without_body(site: Site) -> None:
    site.routes["/gone"] = lambda h: _reply(h, 410, b"secret error page")
    assert HttpFetcher(**LOCAL)(site.url("/gone")) == FetchResponse(status=410, body=b"", headers=_any_headers())
    assert HttpFetcher(**LOCAL)(site.url("/missing")).status == 404


def _any_headers() -> Any:
    class _Any(dict[str, str]):
        def __eq__(self, other: object) -> bool:
            return isinstance(other, dict)

    return _Any()


# -- scheme and URL checks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "insecure_url"),  # https only unless allow_http
        ("ftp://example.com/", "insecure_url"),
        ("/relative", "insecure_url"),
        ("file:///etc/passwd", "insecure_url"),
        ("https:///path", "bad_url"),
        ("https://user:pw@example.com/", "bad_url"),
        ("https://example.com:99999/", "bad_url"),
        ("https://example.com:x/", "bad_url"),
        ("https://[::1/", "bad_url"),
    ],
)
def test_url_checks(url: str, reason: str) -> None:
    with pytest.raises(FetchError) as info:
        HttpFetcher()(url)
    assert info.value.reason == reason


def test_control_characters_in_the_path_are_refused() -> None:
    with pytest.raises(FetchError) as info:
        HttpFetcher(**LOCAL)("http://127.0.0.1:1/a\r\nX-Injected: 1")
    assert info.value.reason == "bad_url"


# -- SSRF: private and loopback targets ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2"])
def test_loopback_is_refused_by_default(site: Site, host: str) -> None:
    site.routes["/"] = lambda h: _reply(h, 200, b"internal")
    with pytest.raises(FetchError) as info:
        HttpFetcher(allow_http=True)(site.url("/", host=host))
    assert info.value.reason == "private_address"
    assert site.server.requests == []


def test_allow_private_and_allow_loopback(site: Site) -> None:
    site.routes["/"] = lambda h: _reply(h, 200, b"ok")
    assert HttpFetcher(allow_http=True, allow_private=True)(site.url()).body == b"ok"
    assert HttpFetcher(allow_http=True, allow_loopback=True)(site.url(host="localhost")).body == b"ok"


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: list[list[str]]) -> list[str]:
    """Replace DNS: the n-th look-up answers answers[min(n, last)]. Returns the looked-up host names."""
    calls: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        answer = answers[min(len(calls), len(answers) - 1)]
        calls.append(host)
        out = []
        for addr in answer:
            family = socket.AF_INET6 if ":" in addr else socket.AF_INET
            sockaddr = (addr, int(port), 0, 0) if family == socket.AF_INET6 else (addr, int(port))
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.1.2.3"],
        ["192.168.1.1"],
        ["169.254.169.254"],  # cloud metadata
        ["100.64.0.1"],  # shared address space
        ["0.0.0.0"],
        ["::1"],
        ["fe80::1"],
        ["fc00::1"],
        ["::ffff:127.0.0.1"],  # IPv4-mapped loopback
        ["224.0.0.1"],
        ["93.184.215.14", "127.0.0.1"],  # every address must be allowed, not just the first
    ],
)
def test_every_resolved_address_must_be_public(monkeypatch: pytest.MonkeyPatch, addresses: list[str]) -> None:
    _fake_dns(monkeypatch, [addresses])
    monkeypatch.setattr(socket.socket, "connect", _no_connect)
    with pytest.raises(FetchError) as info:
        HttpFetcher()("https://did.example/.well-known/did.json")
    assert info.value.reason == "private_address"


def _no_connect(*args: Any) -> None:
    raise AssertionError("a refused target must never be connected to")


def test_dns_rebinding_the_connection_uses_the_checked_address(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first look-up says 127.0.0.1 (checked and allowed); any later look-up would say 127.0.0.2, where nothing
    listens. urllib resolved twice (check, then connect): a rebinding name could pass the check with one address
    and be connected to another. The fetcher resolves once and connects to exactly what it checked."""
    site.routes["/did.json"] = lambda h: _reply(h, 200, b"pinned")
    calls = _fake_dns(monkeypatch, [["127.0.0.1"], ["127.0.0.2"]])
    response = HttpFetcher(**LOCAL)(f"http://rebind.example:{site.port}/did.json")
    assert response.body == b"pinned"
    assert calls == ["rebind.example"]  # exactly one look-up
    assert site.server.requests[0][1]["host"] == f"rebind.example:{site.port}"  # the name, not the address


def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(FetchError) as info:
        HttpFetcher()("https://nonexistent.example/")
    assert info.value.reason == "dns"


# -- redirects ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [300, 301, 302, 303, 304, 307, 308])
def test_redirects_are_refused(site: Site, status: int) -> None:
    site.routes["/from"] = lambda h: _reply(h, status, b"", {"Location": "/to"})
    site.routes["/to"] = lambda h: _reply(h, 200, b"followed")
    with pytest.raises(FetchError) as info:
        HttpFetcher(**LOCAL)(site.url("/from"))
    assert info.value.reason == "redirect"
    assert [path for path, _ in site.server.requests] == ["/from"]


# -- size limits --------------------------------------------------------------------------------------------------


def _chunked(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Connection", "close")
    handler.end_headers()
    for i in range(0, len(body), 1000):
        chunk = body[i : i + 1000]
        handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    handler.wfile.write(b"0\r\n\r\n")


def _unframed(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """No Content-Length, no chunking: the body ends when the connection closes."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
    handler.close_connection = True


def test_size_limit(site: Site) -> None:
    limit = 10_000
    site.routes["/exact"] = lambda h: _reply(h, 200, b"x" * limit)
    site.routes["/declared"] = lambda h: _reply(h, 200, b"x" * (limit + 1))
    site.routes["/lying"] = lambda h: _reply(h, 200, b"x" * (limit * 3), {"Content-Length": str(limit * 3)})
    site.routes["/chunked"] = lambda h: _chunked(h, b"x" * (limit + 1))
    site.routes["/unframed"] = lambda h: _unframed(h, b"x" * (limit + 1))
    fetcher = HttpFetcher(max_size=limit, **LOCAL)
    assert len(fetcher(site.url("/exact")).body) == limit
    for path in ("/declared", "/lying", "/chunked", "/unframed"):
        with pytest.raises(InputTooLarge):
            fetcher(site.url(path))


def test_chunked_and_unframed_bodies_within_the_limit(site: Site) -> None:
    site.routes["/chunked"] = lambda h: _chunked(h, b"y" * 2500)
    site.routes["/unframed"] = lambda h: _unframed(h, b"z" * 10)
    assert HttpFetcher(**LOCAL)(site.url("/chunked")).body == b"y" * 2500
    assert HttpFetcher(**LOCAL)(site.url("/unframed")).body == b"z" * 10


# -- one deadline for the whole request ---------------------------------------------------------------------------


def test_timeout_waiting_for_the_response(site: Site) -> None:
    site.routes["/slow"] = lambda h: (h.server.stop.wait(2.0), _reply(h, 200, b"late"))  # type: ignore[func-returns-value]
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        HttpFetcher(timeout=0.3, **LOCAL)(site.url("/slow"))
    assert info.value.reason == "timeout"
    assert time.monotonic() - start < 1.5


def _drip(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n")
    handler.wfile.flush()
    for _ in range(100):  # one byte every 50 ms: each read is quick, the whole response is not
        if handler.server.stop.wait(0.05):  # type: ignore[attr-defined]
            return
        handler.wfile.write(b"x")
        handler.wfile.flush()


def test_timeout_is_a_deadline_not_a_per_read_limit(site: Site) -> None:
    """A server that sends one byte at a time never trips a per-read timeout; the deadline still ends the fetch."""
    site.routes["/drip"] = _drip
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        HttpFetcher(timeout=0.5, **LOCAL)(site.url("/drip"))
    assert info.value.reason == "timeout"
    assert time.monotonic() - start < 2.0


def test_connection_refused() -> None:
    with socket.socket() as probe:  # a port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as info:
        HttpFetcher(**LOCAL)(f"http://127.0.0.1:{port}/")
    assert info.value.reason == "unreachable"


# -- HTTPS --------------------------------------------------------------------------------------------------------


def _certificate(tmp_path: Path, names: list[str], stem: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{stem}.pem", tmp_path / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def https_site(tmp_path: Path) -> Iterator[tuple[Site, Path]]:
    """An HTTPS server on 127.0.0.1 whose self-signed certificate names 'localhost' and 'did.example'."""
    cert, key = _certificate(tmp_path, ["localhost", "did.example"], "server")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    routes: dict[str, Route] = {"/did.json": lambda h: _reply(h, 200, b"over tls")}
    httpd = _serve(routes, server_context)
    yield Site(httpd, scheme="https", routes=routes), cert
    _close(httpd)


def _trusting(cert: Path) -> ssl.SSLContext:
    """Test-only trust configuration: trust exactly the self-signed test certificate."""
    return ssl.create_default_context(cafile=str(cert))


def test_https_with_a_test_trust_anchor(https_site: tuple[Site, Path]) -> None:
    site, cert = https_site
    fetcher = HttpFetcher(allow_loopback=True, ssl_context=_trusting(cert))
    assert fetcher(site.url("/did.json", host="localhost")).body == b"over tls"


def test_https_verifies_against_the_url_host_name_not_the_address(
    https_site: tuple[Site, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket is connected to the checked address (127.0.0.1), but SNI and certificate verification use the
    host name from the URL."""
    site, cert = https_site
    _fake_dns(monkeypatch, [["127.0.0.1"]])
    fetcher = HttpFetcher(allow_loopback=True, ssl_context=_trusting(cert))
    assert fetcher(site.url("/did.json", host="did.example")).body == b"over tls"
    with pytest.raises(FetchError) as info:  # the certificate does not name other.example
        fetcher(site.url("/did.json", host="other.example"))
    assert info.value.reason == "tls"


def test_https_untrusted_certificate_is_refused(https_site: tuple[Site, Path], tmp_path: Path) -> None:
    site, _ = https_site
    with pytest.raises(FetchError) as info:  # the system trust store does not know the test certificate
        HttpFetcher(allow_loopback=True)(site.url("/did.json", host="localhost"))
    assert info.value.reason == "tls"
    other_cert, _ = _certificate(tmp_path, ["localhost"], "other")
    with pytest.raises(FetchError) as info:  # trusting another self-signed certificate does not help
        HttpFetcher(allow_loopback=True, ssl_context=_trusting(other_cert))(site.url("/did.json", host="localhost"))
    assert info.value.reason == "tls"


def test_ssl_context_must_verify() -> None:
    """The test hook cannot switch verification off."""
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    with pytest.raises(ValueError):
        HttpFetcher(ssl_context=unverified)
    unverified.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError):
        HttpFetcher(ssl_context=unverified)
    with pytest.raises(ValueError):
        HttpFetcher(ssl_context=ssl._create_unverified_context())


def test_https_is_refused_to_loopback_by_default(https_site: tuple[Site, Path]) -> None:
    site, cert = https_site
    with pytest.raises(FetchError) as info:
        HttpFetcher(ssl_context=_trusting(cert))(site.url("/did.json", host="localhost"))
    assert info.value.reason == "private_address"
