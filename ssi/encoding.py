"""Strict encodings shared by every spec module.

- base64url without padding (RFC 7515 §2, RFC 4648 §5): padding, whitespace and characters outside the URL-safe
  alphabet are rejected, and so are non-canonical encodings (trailing bits that are not zero), so one value has
  exactly one encoding. This matters for SD-JWT, where digests are computed over the encoded form.
- JSON (RFC 8259 §4: "The names within an object SHOULD be unique"): we reject duplicate member names, because two
  parsers that pick different duplicates see different claims (RFC 9901 §7.1 step 2 / RFC 7515 §5.2 step 4).
"""

from __future__ import annotations

import json
import math
import re
from _json import encode_basestring, make_encoder  # the C encoder json.dumps uses (CPython)
from collections.abc import Callable
from typing import Any

import pybase64

from ssi.errors import EncodingError

#: RFC 4648 §5: the two characters of the URL-safe alphabet in place of '+' and '/'.
_URL_ALTCHARS = b"-_"
_URL_TO_STD_CHECKED = bytes.maketrans(b"-_+/=", b"+/!!!")
_encode_as_string = pybase64.b64encode_as_string
_decode = pybase64.b64decode
_PADDING = (b"", b"", b"==", b"=")  # by length mod 4 (1 is impossible)
#: By length mod 4: the characters that may end the text, i.e. whose unused low bits (4 or 2) are zero.
_CANONICAL_LAST = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    # pybase64's SIMD encoder writes the URL-safe alphabet directly (altchars); '=' only ever ends a base64 text
    return _encode_as_string(data, _URL_ALTCHARS).rstrip("=")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode strict, canonical, unpadded base64url; raise ``EncodingError`` otherwise."""
    if isinstance(text, str):
        try:
            data = text.encode("ascii")
        except UnicodeEncodeError:
            raise EncodingError("base64url value is not ASCII", reason="bad_base64url") from None
    elif isinstance(text, bytes):
        if not text.isascii():
            raise EncodingError("base64url value is not ASCII", reason="bad_base64url")
        data = text
    else:
        raise EncodingError("base64url value must be text", reason="bad_base64url")
    size = len(data)
    rem = size & 3
    if rem == 1:
        raise EncodingError("base64url value has an impossible length", reason="bad_base64url")
    # '-' and '_' become '+' and '/'; '+', '/' and '=' (base64, but not unpadded base64url) become '!', which is in no
    # base64 alphabet, and the padding this unpadded form leaves out is added: pybase64's strict mode (validate,
    # standard alphabet) then refuses every character the URL-safe alphabet does not have, in C (SIMD).
    try:
        raw = _decode(data.translate(_URL_TO_STD_CHECKED) + _PADDING[rem], None, True)
    except ValueError:  # binascii.Error
        raise EncodingError(
            "base64url value contains characters outside the URL-safe alphabet or padding", reason="bad_base64url"
        ) from None
    if rem and data[-1] not in _CANONICAL_LAST[rem]:
        # RFC 4648 §3.5: the pad bits of the last character must be zero; otherwise two texts decode to one value.
        raise EncodingError("base64url value is not canonically encoded", reason="bad_base64url")
    return raw


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):  # fewer members than pairs: a name repeated (the common case stays in C)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise EncodingError(f"JSON object has a duplicate member name {key!r}", reason="duplicate_json_key")
            seen.add(key)
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


#: RFC 8259 §9: "An implementation may set limits on the maximum depth of nesting." Checked before parsing, so the
#: outcome does not depend on the interpreter's recursion limit: libraries raise it (py_ecc and py-evm to 100000), and
#: then the C parser overflows the C stack on a nesting bomb instead of raising RecursionError.
MAX_JSON_DEPTH = 500
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _nested_too_deep(text: str) -> bool:
    """Only called when ``text`` has more opening brackets than MAX_JSON_DEPTH: it cannot nest deeper than that."""
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):  # brackets outside strings only
        if bracket in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        else:
            depth -= 1
    return False


# Built once: ``json.loads`` with options constructs a new decoder on every call.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
)
# What JSONDecoder.decode does (RFC 8259 §2: whitespace around the one value, nothing else), minus two Python calls.
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]  # set in __init__
_WHITESPACE = " \t\n\r"  # RFC 8259 §2: ws


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
    # a text shorter than the limit cannot hold that many brackets: no need to count them
    if len(data) > MAX_JSON_DEPTH and data.count("[") + data.count("{") > MAX_JSON_DEPTH and _nested_too_deep(data):
        raise EncodingError(f"JSON nesting is deeper than {MAX_JSON_DEPTH} levels", reason="json_too_deep")
    try:
        result, end = _SCAN(data, len(data) - len(data.lstrip(_WHITESPACE)))
        if end != len(data.rstrip(_WHITESPACE)):  # a JSON value never ends in whitespace
            raise EncodingError("malformed JSON: data after the value", reason="bad_json")
    except EncodingError:
        raise
    except RecursionError:
        raise EncodingError("JSON nesting is too deep", reason="json_too_deep") from None
    except StopIteration:  # the scanner's way of saying "Expecting value"
        raise EncodingError("malformed JSON: JSONDecodeError", reason="bad_json") from None
    except (ValueError, TypeError) as exc:
        raise EncodingError(f"malformed JSON: {exc.__class__.__name__}", reason="bad_json") from None
    # no backslash, no escape: a one-character search (memchr) rules out most texts before the substring search
    if "\\" in data and "\\u" in data and _SURROGATE_ESCAPE.search(data) and _has_surrogate(result):
        raise EncodingError("JSON string contains a lone surrogate escape", reason="bad_utf8")
    return result


def _not_json(obj: Any) -> Any:
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


def json_dumps(obj: Any) -> str:
    """Compact JSON, UTF-8 kept as is (used for signing inputs and disclosures)."""
    # What json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False) runs, without its three
    # Python frames; a fresh markers dict per call keeps the circular-reference check (ValueError, as json.dumps).
    return "".join(make_encoder({}, _not_json, encode_basestring, None, ":", ",", False, False, False)(obj, 0))


#: One shared C encoder without circular-reference bookkeeping (``markers`` None): only for values known to be
#: acyclic. A fresh encoder per call (``json_dumps``) costs about as much as encoding a short array.
_ACYCLIC_ENCODER = make_encoder(None, _not_json, encode_basestring, None, ":", ",", False, False, False)


def json_dumps_acyclic(obj: Any) -> str:
    """:func:`json_dumps` for a value that cannot contain a reference cycle, e.g. a tree just built by a recursive
    walk (which would never have returned on a cycle). Same text and the same errors for anything else; a cyclic
    value would raise ``RecursionError`` instead of ``ValueError``."""
    return "".join(_ACYCLIC_ENCODER(obj, 0))


def b64url_json(data: str | bytes) -> Any:
    """Decode base64url, then JSON (strict on both layers)."""
    return json_loads(b64url_decode(data))
