"""A syntax check for the URIs the Token Status List carries (``uri``, ``sub``, ``aggregation_uri``).

§6.2: "The value of `uri` MUST be a URI conforming to [RFC3986]". RFC 3986 §3 (``URI = scheme ":" hier-part
[ "?" query ] [ "#" fragment ]``) requires a scheme, so relative references are refused; §2 limits the characters to
the unreserved and reserved sets plus percent-encodings (§2.1: "%" followed by two hex digits). This is a syntax
check only; whether a URI may be fetched is the fetcher's decision (ssi.fetch).
"""

from __future__ import annotations

import re
from typing import Any

from ssi.errors import StatusListError

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_uri(value: Any, name: str) -> str:
    """Return ``value`` if it is an absolute URI per RFC 3986; raise ``StatusListError`` (``malformed_<name>``)."""
    if not isinstance(value, str):
        raise StatusListError(f"'{name}' must be a string", reason=f"malformed_{name}")
    if (
        not _SCHEME.match(value)
        or not _URI_CHARS.fullmatch(value)
        or _BAD_PERCENT.search(value)
        or value.count("#") > 1  # RFC 3986 §3.5: the fragment cannot contain another "#"
    ):
        raise StatusListError(f"'{name}' must be an absolute URI conforming to RFC 3986", reason=f"malformed_{name}")
    return value
