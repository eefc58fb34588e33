"""Strict encodings shared by every spec module.

- base64url without padding (RFC 7515 §2, RFC 4648 §5): padding, whitespace and characters outside the URL-safe
  alphabet are rejected, and so are non-canonical encodings (trailing bits that are not zero), so one value has
  exactly one encoding. This matters for SD-JWT, where digests are computed over the encoded form.
- JSON (RFC 8259 §4: "The names within an object SHOULD be unique"): we reject duplicate member names, because two
  parsers that pick different duplicates see different claims (RFC 9901 §7.1 step 2 / RFC 7515 §5.2 step 4).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from ssi.errors import EncodingError

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_PARTIAL = (2, 3)  # length mod 4 values whose last character carries unused low bits
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode strict, canonical, unpadded base64url; raise ``EncodingError`` otherwise."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise EncodingError("base64url value is not ASCII", reason="bad_base64url") from None
    if not _B64URL.fullmatch(text):
        raise EncodingError(
            "base64url value contains characters outside the URL-safe alphabet or padding", reason="bad_base64url"
        )
    rem = len(text) % 4
    if rem == 1:
        raise EncodingError("base64url value has an impossible length", reason="bad_base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - regex above already excludes these
        raise EncodingError("base64url value cannot be decoded", reason="bad_base64url") from None
    if rem in _PARTIAL and b64url_encode(raw) != text:
        raise EncodingError("base64url value is not canonically encoded", reason="bad_base64url")
    return raw


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise EncodingError(f"JSON object has a duplicate member name {key!r}", reason="duplicate_json_key")
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise EncodingError(f"JSON contains the non-standard constant {name}", reason="bad_json")


def _finite_float(text: str) -> float:
    # RFC 8259 §6: "Numeric values that cannot be represented [...] (such as Infinity and NaN) are not permitted";
    # Python turns 1e400 into inf silently, which later cannot be re-serialized or compared meaningfully.
    value = float(text)
    if not math.isfinite(value):
        raise EncodingError("JSON number is out of the IEEE 754 double range", reason="bad_json")
    return value


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_loads(data: str | bytes) -> Any:
    """Parse JSON per RFC 8259, rejecting duplicate names, NaN/Infinity and invalid UTF-8.

    Strings must be Unicode scalar values (RFC 8259 §8.2, RFC 7493 §2.1): an escaped lone surrogate such as
    ``"\\ud800"`` is rejected like invalid UTF-8, since it cannot be encoded again (signing inputs, digests).
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise EncodingError("JSON text is not valid UTF-8", reason="bad_utf8") from None
    elif _SURROGATE.search(data):
        raise EncodingError("JSON text contains a lone surrogate", reason="bad_utf8")
    try:
        result = json.loads(
            data, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except EncodingError:
        raise
    except RecursionError:
        raise EncodingError("JSON nesting is too deep", reason="json_too_deep") from None
    except (ValueError, TypeError) as exc:
        raise EncodingError(f"malformed JSON: {exc.__class__.__name__}", reason="bad_json") from None
    if _SURROGATE_ESCAPE.search(data) and _has_surrogate(result):
        raise EncodingError("JSON string contains a lone surrogate escape", reason="bad_utf8")
    return result


def json_dumps(obj: Any) -> str:
    """Compact JSON, UTF-8 kept as is (used for signing inputs and disclosures)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def b64url_json(data: str | bytes) -> Any:
    """Decode base64url, then JSON (strict on both layers)."""
    return json_loads(b64url_decode(data))
