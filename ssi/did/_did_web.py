"""did:web (W3C CCG "did:web Method Specification"): a DID document served over HTTPS by the domain in the DID.

    web-did = "did:web:" domain-name * (":" path)

Read (Resolve), as the spec lists the steps:

1. Replace ":" with "/" in the method specific identifier to obtain the fully qualified domain name and optional path.
2. If the domain contains a port percent decode the colon.
3. Generate an HTTPS URL to the expected location of the DID document by prepending https://.
4. If no path has been specified in the URL, append /.well-known.
5. Append /did.json to complete the URL.
6. Perform an HTTP GET request to the URL using an agent that can successfully negotiate a secure HTTPS connection.
7. Verify that the ID of the resolved DID document matches the Web DID being resolved.

The HTTP GET goes through an injected :data:`ssi.fetch.Fetcher` (use :class:`ssi.fetch.HttpFetcher`: no redirects,
timeouts, size limit, no private or loopback targets, no DNS rebinding). The driver adds its own document size
limit and refuses relative DID URLs in the document ("Whenever a DID URL is present within a did:web document, it
must be an absolute URL. [...] prevents key confusion attacks").
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Final

from ssi.did._document import MEDIA_TYPE, DidDocument
from ssi.did._syntax import parse_did
from ssi.errors import DidError, DidNotFound, SsiError
from ssi.fetch import Fetcher, HttpFetcher

METHOD: Final = "web"
DEFAULT_MAX_DOCUMENT_SIZE: Final = 64 * 1024
ACCEPT: Final = f"{MEDIA_TYPE}, application/json;q=0.9"

_LABEL: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")  # RFC 1123 §2.1 host name label
_TOP_LABEL: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_DOMAIN_AND_PORT: Final = re.compile(r"(?P<host>[A-Za-z0-9.-]+)(?:%3[Aa](?P<port>[0-9]{1,5}))?")


def _check_host(host: str) -> None:
    # "The method specific identifier is a fully qualified domain name [...] (RFC1035, RFC1123, RFC2181) [...] it
    # MUST NOT include IP addresses." 'localhost' (RFC 6761 §6.3) is the one single-label name we accept, for the
    # development setup; the fetcher refuses loopback targets unless configured otherwise.
    if host.lower() == "localhost":
        return
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise DidError("did:web domain must be a fully qualified domain name (RFC 1035/1123)", reason="invalidDid")
    if not _TOP_LABEL.fullmatch(labels[-1]):
        # a numeric top-level label is how IPv4 addresses (also 127.1, 0x7f.1) look: refused
        raise DidError("did:web must not use an IP address", reason="invalidDid")


def _check_path_segment(segment: str) -> None:
    if not segment:
        raise DidError("did:web path segments must not be empty", reason="invalidDid")
    decoded = urllib.parse.unquote(segment, errors="strict")
    # A segment that is, or decodes to, '.' or '..' or contains a '/' would move the request to another path on
    # the server (RFC 3986 §5.2.4 dot-segment removal, or a server that decodes %2F).
    if decoded in (".", "..") or any(ch in decoded for ch in "/\\?#") or not decoded.isprintable():
        raise DidError("did:web path segment must not be a dot-segment or contain '/'", reason="invalidDid")


def did_web_to_url(did: str, *, http_for_localhost: bool = False) -> str:
    """Steps 1-5: the URL of the DID document of a did:web DID.

    ``http_for_localhost`` uses ``http://`` for ``did:web:localhost…`` (development and tests only).
    """
    parsed = parse_did(did)
    if parsed.method != METHOD:
        raise DidError(f"not a did:web DID (method {parsed.method!r})", reason="invalidDid")
    domain, *path = parsed.method_specific_id.split(":")
    match = _DOMAIN_AND_PORT.fullmatch(domain)
    if match is None:
        raise DidError("did:web domain may contain only a host name and a %3A-encoded port", reason="invalidDid")
    host, port = match["host"], match["port"]
    _check_host(host)
    if port is not None and (port.startswith("0") or not 1 <= int(port) <= 65535):
        raise DidError("did:web port must be a number from 1 to 65535", reason="invalidDid")
    try:
        for segment in path:
            _check_path_segment(segment)
    except UnicodeDecodeError:
        raise DidError("did:web path segment is not UTF-8 when percent-decoded", reason="invalidDid") from None
    scheme = "http" if http_for_localhost and host.lower() == "localhost" else "https"
    authority = host if port is None else f"{host}:{port}"
    location = "/" + "/".join(path) if path else "/.well-known"
    return f"{scheme}://{authority}{location}/did.json"


class DidWebDriver:
    """did:web resolver driver; all I/O goes through the injected ``fetcher``."""

    method: Final = METHOD

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        max_document_size: int = DEFAULT_MAX_DOCUMENT_SIZE,
        http_for_localhost: bool = False,
    ) -> None:
        self._fetcher = fetcher
        self.max_document_size = max_document_size
        self.http_for_localhost = http_for_localhost

    def resolve(self, did: str) -> DidDocument:
        url = did_web_to_url(did, http_for_localhost=self.http_for_localhost)
        # 6. HTTP GET
        try:
            response = self._fetcher(url)
        except SsiError as exc:
            raise DidError(
                f"the did:web document could not be fetched: {exc.description}", reason="internalError"
            ) from exc
        if response.status in (404, 410):
            raise DidNotFound(f"no DID document at {url} (HTTP {response.status})")
        if response.status != 200:
            raise DidError(f"fetching the did:web document returned HTTP {response.status}", reason="internalError")
        if len(response.body) > self.max_document_size:
            raise DidError(
                f"the did:web document is larger than {self.max_document_size} bytes", reason="invalidDidDocument"
            )
        try:
            document = DidDocument.from_json(response.body, allow_relative_urls=False)
        except DidError:
            raise
        except SsiError as exc:  # malformed JSON / UTF-8
            raise DidError(
                f"the did:web document is not valid JSON: {exc.description}", reason="invalidDidDocument"
            ) from None
        # 7. "Verify that the ID of the resolved DID document matches the Web DID being resolved."
        if document.id != did:
            raise DidError("the did:web document id does not match the DID", reason="invalidDidDocument")
        return document


def did_web_http_fetcher(**kwargs: Any) -> HttpFetcher:
    """An :class:`ssi.fetch.HttpFetcher` that asks for ``application/did+json`` (callers may override any option)."""
    kwargs.setdefault("accept", ACCEPT)
    return HttpFetcher(**kwargs)
