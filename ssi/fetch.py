"""Injected fetchers: the only way ``ssi`` reaches the network.

``Fetcher`` is a callable ``(url) -> FetchResponse``. :class:`HttpFetcher` is the default implementation, built on the
standard library and hardened for fetching attacker-influenced URLs (did:web documents, status lists):

- HTTPS only (plain HTTP only when ``allow_http`` is set, for tests and the development setup on 127.0.0.1);
  certificates and host names are always verified;
- no redirects (a 3xx is an error: a redirect could point a resolver at an internal host);
- one deadline (``timeout``) for connecting, sending and reading the whole response, and a response size limit
  enforced while reading;
- hosts that resolve to private, loopback, link-local, multicast or reserved addresses are refused unless
  ``allow_private`` (or, for loopback only, ``allow_loopback``) is set (SSRF protection); every resolved address
  must be allowed;
- no DNS rebinding: the host name is resolved once, and the connection goes to exactly the addresses that were
  checked (a second look-up, as ``urllib`` would do, could return an internal address). TLS still verifies the
  certificate against the host name from the URL (SNI and ``check_hostname``), not against the address.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ssi.errors import FetchError, InputTooLarge


@dataclass(frozen=True, slots=True)
class FetchResponse:
    status: int
    body: bytes
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Fetcher = Callable[[str], FetchResponse]

_SockAddr = tuple[Any, ...]
_AddrInfo = tuple[socket.AddressFamily, int, _SockAddr]


def _ip(addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_public(addr: str) -> bool:
    ip = _ip(addr)
    return ip.is_global and not ip.is_multicast


def _is_loopback(addr: str) -> bool:
    return _ip(addr).is_loopback


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    host_header: str
    request_target: str


class _DeadlineReader(io.RawIOBase):
    """Raw socket reads that never wait past the request's deadline (a slow sender cannot stretch the timeout)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        # makefile() holds a reference, so the socket stays open when http.client closes its own handle early
        # ("Connection: close" hands the socket over to the response).
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline exceeded while reading the response")
        self._sock.settimeout(remaining)
        result: int | None = self._raw.readinto(buffer)
        if result is None:  # pragma: no cover - blocking sockets never return None
            raise TimeoutError("socket would block")
        return result

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def _response_class(deadline: float) -> type[http.client.HTTPResponse]:
    class _DeadlineResponse(http.client.HTTPResponse):
        def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
            super().__init__(sock, *args, **kwargs)
            plain = self.fp  # the makefile() reader without a deadline: replaced
            self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))
            plain.close()

    return _DeadlineResponse


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection over a socket that :class:`HttpFetcher` opened to an address it checked itself.

    For HTTPS the socket is already TLS-wrapped (certificate verified against the URL's host name).
    """

    def __init__(self, target: _Target, sock: socket.socket, deadline: float) -> None:
        super().__init__(target.host, target.port)
        self._pinned_sock = sock
        self.response_class = _response_class(deadline)

    def connect(self) -> None:
        self.sock = self._pinned_sock


class HttpFetcher:
    """A hardened GET fetcher (see module docstring).

    ``ssl_context`` replaces the system trust store for HTTPS — meant for tests that serve a self-signed
    certificate on 127.0.0.1. It must still verify certificates and host names (``CERT_REQUIRED`` and
    ``check_hostname``); a context that does not is refused with ``ValueError``.
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_size: int = 256 * 1024,
        allow_http: bool = False,
        allow_private: bool = False,
        allow_loopback: bool = False,
        accept: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if ssl_context is not None and (ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname):
            raise ValueError("ssl_context must verify certificates and host names (CERT_REQUIRED, check_hostname)")
        self.timeout = timeout
        self.max_size = max_size
        self.allow_http = allow_http
        self.allow_private = allow_private
        self.allow_loopback = allow_loopback
        self.accept = accept
        self._ssl_context = ssl_context

    def _parse(self, url: str) -> _Target:
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError:
            raise FetchError("URL is malformed", reason="bad_url") from None
        if parts.scheme != "https" and not (self.allow_http and parts.scheme == "http"):
            raise FetchError(
                f"only https URLs may be fetched, not {parts.scheme or 'a relative URL'}", reason="insecure_url"
            )
        if not parts.hostname:
            raise FetchError("URL has no host", reason="bad_url")
        if parts.username is not None or parts.password is not None:
            raise FetchError("URL must not carry credentials", reason="bad_url")
        try:
            host = parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
        except UnicodeError:
            raise FetchError("URL host is not a valid domain name", reason="bad_url") from None
        if any(ch in host for ch in "\x00\r\n\t /\\"):
            raise FetchError("URL host contains invalid characters", reason="bad_url")
        default_port = 443 if parts.scheme == "https" else 80
        bracketed = f"[{host}]" if ":" in host else host
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
            raise FetchError("URL path contains control characters or spaces", reason="bad_url")
        return _Target(
            scheme=parts.scheme,
            host=host,
            port=port or default_port,
            host_header=bracketed if port is None else f"{bracketed}:{port}",
            request_target=target,
        )

    def _addresses(self, target: _Target) -> list[_AddrInfo]:
        """Resolve the host once and check every address; only these are ever connected to."""
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise FetchError(f"cannot resolve host {target.host}", reason="dns") from None
        if not infos:
            raise FetchError(f"host {target.host} has no addresses", reason="dns")
        for info in infos:
            addr = str(info[4][0])
            if self.allow_private or _is_public(addr) or (self.allow_loopback and _is_loopback(addr)):
                continue
            raise FetchError(f"host {target.host} resolves to a non-public address", reason="private_address")
        return [(info[0], info[2], info[4]) for info in infos]

    def _connect(self, target: _Target, addresses: list[_AddrInfo], deadline: float) -> socket.socket:
        last: OSError | None = None
        for family, proto, sockaddr in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline exceeded while connecting")
            sock = socket.socket(family, socket.SOCK_STREAM, proto)
            sock.settimeout(remaining)
            try:
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            if target.scheme == "https":
                context = self._ssl_context or ssl.create_default_context()
                try:
                    # the certificate is checked against the URL's host name, not the address we connected to
                    return context.wrap_socket(sock, server_hostname=target.host)
                except BaseException:
                    sock.close()
                    raise
            return sock
        raise last or OSError("no address to connect to")

    def __call__(self, url: str) -> FetchResponse:
        deadline = time.monotonic() + self.timeout
        target = self._parse(url)
        addresses = self._addresses(target)
        try:
            sock = self._connect(target, addresses, deadline)
            conn = _PinnedConnection(target, sock, deadline)
            try:
                return self._exchange(conn, sock, target, deadline)
            finally:
                conn.close()
        except (FetchError, InputTooLarge):
            raise
        except TimeoutError:
            raise FetchError(f"fetching {url} timed out after {self.timeout} s", reason="timeout") from None
        except ssl.SSLError as exc:
            raise FetchError(f"TLS with {target.host} failed: {type(exc).__name__}", reason="tls") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise FetchError(f"fetching {url} failed: {type(exc).__name__}", reason="unreachable") from None

    def _exchange(
        self, conn: _PinnedConnection, sock: socket.socket, target: _Target, deadline: float
    ) -> FetchResponse:
        conn.putrequest("GET", target.request_target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", target.host_header)
        conn.putheader("Accept-Encoding", "identity")
        conn.putheader("Connection", "close")
        conn.putheader("User-Agent", "govssi")
        if self.accept:
            conn.putheader("Accept", self.accept)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        conn.endheaders()
        with conn.getresponse() as resp:  # closing it releases the socket on every path
            headers = {k.lower(): v for k, v in resp.getheaders()}
            if 300 <= resp.status < 400:
                raise FetchError(f"refusing to follow a redirect (HTTP {resp.status})", reason="redirect")
            if not 200 <= resp.status < 300:
                return FetchResponse(status=resp.status, body=b"", content_type=None, headers=headers)
            declared = resp.getheader("Content-Length")
            if declared is not None and declared.strip().isdigit() and int(declared) > self.max_size:
                raise InputTooLarge(f"response is larger than {self.max_size} bytes")
            body = resp.read(self.max_size + 1)
            if len(body) > self.max_size:
                raise InputTooLarge(f"response is larger than {self.max_size} bytes")
            return FetchResponse(
                status=resp.status,
                body=body,
                content_type=resp.headers.get_content_type() if "content-type" in headers else None,
                headers=headers,
            )
