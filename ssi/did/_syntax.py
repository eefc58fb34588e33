"""DID and DID URL syntax (W3C DID Core 1.0 §3).

§3.1 "All DIDs MUST conform to the DID Syntax ABNF Rules"::

    did                = "did:" method-name ":" method-specific-id
    method-name        = 1*method-char
    method-char        = %x61-7A / DIGIT
    method-specific-id = *( *idchar ":" ) 1*idchar
    idchar             = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
    pct-encoded        = "%" HEXDIG HEXDIG

§3.2 "All DID URLs MUST conform to the DID URL Syntax ABNF Rules"::

    did-url = did path-abempty [ "?" query ] [ "#" fragment ]

with ``path-abempty``, ``query`` and ``fragment`` from RFC 3986 §3.3-§3.5. §3.2.2: relative DID URLs in a DID
document are resolved with RFC 3986 §5 against the DID.

DIDs are compared as strings, exactly: no case folding and no percent-decoding (RFC 3986 §6.2.1), so a DID that
differs from another only in the case of a percent-encoding is a different DID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ssi.errors import DidError

MAX_DID_URL_LENGTH = 4096
"""Longest DID or DID URL accepted (did:jwk of a P-256 key is ~180 characters); longer input is refused unparsed."""

_PCT = r"%[0-9A-Fa-f]{2}"
_IDCHAR = rf"(?:[A-Za-z0-9._-]|{_PCT})"
# RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
_PCHAR = rf"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|{_PCT})"

_DID = re.compile(rf"did:(?P<method>[a-z0-9]+):(?P<msid>(?:{_IDCHAR}*:)*{_IDCHAR}+)")
_PATH_ABEMPTY = re.compile(rf"(?:/{_PCHAR}*)*")  # RFC 3986 §3.3
_QUERY_OR_FRAGMENT = re.compile(rf"(?:{_PCHAR}|[/?])*")  # RFC 3986 §3.4 and §3.5 (same production)


@dataclass(frozen=True, slots=True)
class Did:
    """A DID (§3.1), split into its method name and method-specific identifier."""

    method: str
    method_specific_id: str

    def __str__(self) -> str:
        return f"did:{self.method}:{self.method_specific_id}"


@dataclass(frozen=True, slots=True)
class DidUrl:
    """A DID URL (§3.2). ``path`` is ``""`` or starts with ``/``; ``query``/``fragment`` are ``None`` when absent."""

    did: Did
    path: str = ""
    query: str | None = None
    fragment: str | None = None

    @property
    def is_did(self) -> bool:
        """True when the URL is a bare DID (no path, query or fragment)."""
        return not self.path and self.query is None and self.fragment is None

    def __str__(self) -> str:
        text = str(self.did) + self.path
        if self.query is not None:
            text += "?" + self.query
        if self.fragment is not None:
            text += "#" + self.fragment
        return text


def _check_text(text: object, what: str, reason: str) -> str:
    if not isinstance(text, str):
        raise DidError(f"{what} must be a string", reason=reason)
    if len(text) > MAX_DID_URL_LENGTH:
        raise DidError(f"{what} is longer than {MAX_DID_URL_LENGTH} characters", reason=reason)
    return text


def _split_did(text: str) -> tuple[str, str]:
    """Split at the first '/', '?' or '#': none of them is an ``idchar`` or ':' so the DID ends there (§3.2)."""
    end = len(text)
    for delimiter in "/?#":
        index = text.find(delimiter)
        if index != -1:
            end = min(end, index)
    return text[:end], text[end:]


def _did_from_match(text: str, reason: str) -> Did:
    match = _DID.fullmatch(text)
    if match is None:
        raise DidError(
            "not a DID: expected did:<method-name>:<method-specific-id> with a lower-case method name and "
            "method-specific-id characters A-Z a-z 0-9 . - _ : or %XX (DID Core §3.1)",
            reason=reason,
        )
    return Did(method=match["method"], method_specific_id=match["msid"])


def parse_did(text: str) -> Did:
    """Parse a DID (§3.1). A DID URL (with path, query or fragment) is not a DID and is refused (``invalidDid``)."""
    text = _check_text(text, "DID", "invalidDid")
    did_part, rest = _split_did(text)
    if rest:
        raise DidError("a DID must not have a path, query or fragment (DID Core §3.1)", reason="invalidDid")
    return _did_from_match(did_part, "invalidDid")


def is_did(text: object) -> bool:
    """True when ``text`` is a syntactically valid DID (§3.1)."""
    try:
        parse_did(text)  # type: ignore[arg-type]
    except DidError:
        return False
    return True


def _parse_tail(tail: str) -> tuple[str, str | None, str | None]:
    fragment: str | None = None
    query: str | None = None
    if "#" in tail:
        tail, fragment = tail.split("#", 1)
    if "?" in tail:
        tail, query = tail.split("?", 1)
    path = tail
    # §3.2 path-abempty / query / fragment from RFC 3986 §3.3-§3.5
    if not _PATH_ABEMPTY.fullmatch(path):
        raise DidError("DID URL path does not conform to RFC 3986 path-abempty (DID Core §3.2)", reason="invalidDidUrl")
    if query is not None and not _QUERY_OR_FRAGMENT.fullmatch(query):
        raise DidError("DID URL query does not conform to RFC 3986 §3.4 (DID Core §3.2)", reason="invalidDidUrl")
    if fragment is not None and not _QUERY_OR_FRAGMENT.fullmatch(fragment):
        raise DidError("DID URL fragment does not conform to RFC 3986 §3.5 (DID Core §3.2)", reason="invalidDidUrl")
    return path, query, fragment


def parse_did_url(text: str) -> DidUrl:
    """Parse an absolute DID URL (§3.2); a bare DID is a DID URL too. Errors carry ``invalidDidUrl``."""
    text = _check_text(text, "DID URL", "invalidDidUrl")
    did_part, tail = _split_did(text)
    did = _did_from_match(did_part, "invalidDidUrl")
    path, query, fragment = _parse_tail(tail)
    return DidUrl(did=did, path=path, query=query, fragment=fragment)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4."""
    output: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith("./") or path.startswith("/./"):
            path = path[2:]
        elif path == "/.":
            path = "/"
        elif path.startswith("/../"):
            path = path[3:]
            if output:
                output.pop()
        elif path == "/..":
            path = "/"
            if output:
                output.pop()
        elif path in (".", ".."):
            path = ""
        else:
            start = 1 if path.startswith("/") else 0
            end = path.find("/", start)
            if end == -1:
                end = len(path)
            output.append(path[:end])
            path = path[end:]
    return "".join(output)


def resolve_did_url(reference: str, base: Did | str) -> DidUrl:
    """Resolve a DID URL reference found in the DID document of ``base`` (DID Core §3.2.2, RFC 3986 §5.2).

    An absolute DID URL is parsed as is. A relative reference (``#key-1``, ``?service=x``, ``/path``, ``path``) is
    resolved against the DID, whose "authority is a combination of <method-name>:<method-specific-id>" (§3.2.2),
    so the base path is empty: ``#key-1`` becomes ``<did>#key-1`` and ``a/../b`` becomes ``<did>/b``. References with
    another scheme (``https:…``) or a network path (``//host``) are not DID URLs and are refused.
    """
    reference = _check_text(reference, "DID URL reference", "invalidDidUrl")
    base_did = parse_did(base) if isinstance(base, str) else base
    if reference.startswith("did:"):
        return parse_did_url(reference)
    if reference.startswith("//") or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", reference):
        raise DidError(
            "reference is neither a DID URL nor a relative DID URL (DID Core §3.2.2)", reason="invalidDidUrl"
        )
    path, query, fragment = _parse_relative(reference)
    return DidUrl(did=base_did, path=path, query=query, fragment=fragment)


def _parse_relative(reference: str) -> tuple[str, str | None, str | None]:
    # RFC 3986 §4.2 relative-ref = relative-part [ "?" query ] [ "#" fragment ]; §5.2.2 with an empty base path.
    fragment: str | None = None
    query: str | None = None
    rest = reference
    if "#" in rest:
        rest, fragment = rest.split("#", 1)
    if "?" in rest:
        rest, query = rest.split("?", 1)
    if rest:
        if not rest.startswith("/"):
            rest = "/" + rest  # §5.2.3 merge: base has an authority and an empty path
        rest = _remove_dot_segments(rest)
    path, query, fragment = _parse_tail(
        rest + ("?" + query if query is not None else "") + ("#" + fragment if fragment is not None else "")
    )
    return path, query, fragment
