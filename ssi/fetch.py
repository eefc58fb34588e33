"""Injected fetchers: the only way ``ssi`` reaches the network.

``Fetcher`` is a callable ``(url) -> FetchResponse``. :class:`HttpFetcher` is the default implementation, built on the
standard library and hardened for fetching attacker-influenced URLs (did:web documents, status lists):

- HTTPS only (plain HTTP only when ``allow_http`` is set, for tests and the development setup on 127.0.0.1);
- no redirects (a 3xx is an error: a redirect could point a resolver at an internal host);
- timeouts on connect and read, and a response size limit enforced while reading;
- hosts that resolve to private, loopback, link-local, multicast or reserved addresses are refused unless
  ``allow_private`` is set (SSRF protection); every resolved address must be public.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from ssi.errors import FetchError, InputTooLarge


@dataclass(frozen=True, slots=True)
class FetchResponse:
    status: int
    body: bytes
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Fetcher = Callable[[str], FetchResponse]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]  # noqa: PLR0917
        raise FetchError(f"refusing to follow a redirect (HTTP {code})", reason="redirect")


def _is_public(addr: str) -> bool:
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class HttpFetcher:
    """A hardened GET fetcher (see module docstring)."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_size: int = 256 * 1024,
        allow_http: bool = False,
        allow_private: bool = False,
        accept: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_size = max_size
        self.allow_http = allow_http
        self.allow_private = allow_private
        self.accept = accept
        self._opener = urllib.request.build_opener(_NoRedirect())

    def _check_target(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" and not (self.allow_http and parts.scheme == "http"):
            raise FetchError(
                f"only https URLs may be fetched, not {parts.scheme or 'a relative URL'}", reason="insecure_url"
            )
        if not parts.hostname:
            raise FetchError("URL has no host", reason="bad_url")
        if parts.username or parts.password:
            raise FetchError("URL must not carry credentials", reason="bad_url")
        if self.allow_private:
            return
        try:
            infos = socket.getaddrinfo(
                parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError):
            raise FetchError(f"cannot resolve host {parts.hostname}", reason="dns") from None
        for info in infos:
            if not _is_public(str(info[4][0])):
                raise FetchError(f"host {parts.hostname} resolves to a non-public address", reason="private_address")

    def __call__(self, url: str) -> FetchResponse:
        self._check_target(url)
        req = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked in _check_target
        if self.accept:
            req.add_header("Accept", self.accept)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                declared = resp.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_size:
                    raise InputTooLarge(f"response is larger than {self.max_size} bytes")
                body = resp.read(self.max_size + 1)
                if len(body) > self.max_size:
                    raise InputTooLarge(f"response is larger than {self.max_size} bytes")
                return FetchResponse(
                    status=resp.status,
                    body=body,
                    content_type=resp.headers.get_content_type(),
                    headers={k.lower(): v for k, v in resp.headers.items()},
                )
        except urllib.error.HTTPError as exc:
            return FetchResponse(status=exc.code, body=b"", content_type=None)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FetchError(f"fetching {url} failed: {type(exc).__name__}", reason="unreachable") from None
