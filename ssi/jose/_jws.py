"""JWS (RFC 7515) compact and JSON serializations with an explicit algorithm allowlist.

Parsing is ours and strict (the JOSE header is security-relevant input); the JWA signature primitives come from
``cryptography`` through :class:`ssi.keys.PublicKey`. Every verify takes the caller's allowlist of ``alg`` values:

- ``none`` and HMAC (``HS*``) are never accepted, whatever the caller passes (RFC 8725 §3.1, §3.2: algorithm
  verification and confusion);
- the key's algorithm must equal the header ``alg`` (no alg/key confusion);
- ``crit`` (RFC 7515 §4.1.11): "Recipients MUST reject the JWS if the critical list contains any Header Parameter
  names not understood" — we understand only those the caller lists in ``understood_crit``;
- ``kid`` (RFC 7515 §4.1.4): "The 'kid' value MUST be a case-sensitive string";
- inputs larger than ``max_size`` (default 64 KiB) are refused before any decoding.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import EncodingError, InputTooLarge, JoseError, SsiError, UnsupportedAlgorithm
from ssi.keys import ALGORITHMS, PublicKey, Signer

DEFAULT_MAX_SIZE = 64 * 1024
#: Algorithms never accepted, whatever an allowlist says.
FORBIDDEN_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})
#: Header parameters registered by RFC 7515 §4.1 that must not appear in ``crit`` (§4.1.11).
_REGISTERED = frozenset({"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit"})

KeyResolver = Callable[[Mapping[str, Any]], PublicKey]
"""Given the protected header, return the key to verify with (or raise an ``SsiError``)."""


@dataclass(frozen=True, slots=True)
class VerifiedJws:
    """A JWS whose signature has been verified."""

    header: dict[str, Any]
    payload: bytes
    key: PublicKey
    signing_input: bytes = field(repr=False)

    def json_payload(self) -> Any:
        return json_loads(self.payload)


def _check_allowlist(algorithms: Collection[str]) -> None:
    if isinstance(algorithms, str):
        # A string is a Collection[str] too, and `alg in "ES256K"` would accept "ES256" as a substring.
        raise UnsupportedAlgorithm(
            "the algorithm allowlist must be a collection of names", reason="malformed_allowlist"
        )
    if not FORBIDDEN_ALGORITHMS.isdisjoint(algorithms):
        bad = set(algorithms) & FORBIDDEN_ALGORITHMS
        raise UnsupportedAlgorithm(f"algorithm(s) {sorted(bad)} can never be allowed", reason="forbidden_algorithm")


def check_header(header: Any, algorithms: Collection[str], understood_crit: Collection[str] = ()) -> str:
    """Validate a protected header; return its ``alg``."""
    if not isinstance(header, dict):
        raise JoseError("JOSE header must be a JSON object", reason="malformed_header")
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise JoseError("JOSE header lacks a string 'alg'", reason="malformed_header")
    if alg in FORBIDDEN_ALGORITHMS:
        raise UnsupportedAlgorithm(f"algorithm {alg!r} is never accepted", reason="forbidden_algorithm")
    if alg not in algorithms:
        raise UnsupportedAlgorithm(f"algorithm {alg!r} is not allowed here", reason="algorithm_not_allowed")
    if "kid" in header and not isinstance(header["kid"], str):
        raise JoseError("'kid' header parameter must be a string (RFC 7515 §4.1.4)", reason="malformed_kid")
    if "crit" in header:
        crit = header["crit"]
        # RFC 7515 §4.1.11: a non-empty array of strings, not registered names, all present, all understood.
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise JoseError("'crit' must be a non-empty array of strings", reason="malformed_crit")
        for name in crit:
            if name in _REGISTERED:
                raise JoseError(f"'crit' must not list the registered parameter {name!r}", reason="malformed_crit")
            if name not in understood_crit:
                raise JoseError(f"critical header parameter {name!r} is not understood", reason="unknown_crit")
            if name not in header:
                raise JoseError(f"critical header parameter {name!r} is missing", reason="malformed_crit")
    return alg


def _signing_input(protected_b64: str, payload_b64: str) -> bytes:
    return f"{protected_b64}.{payload_b64}".encode("ascii")


#: Encoded protected headers by their members, for headers whose names and values are all exactly ``str`` (``typ``,
#: ``alg``, ``kid``: what an issuer and a wallet sign every JWS with); emptied when full. ``True == 1`` and a str
#: subclass cannot reach another header's encoding: only exact ``str`` members are keys.
_ENCODED_HEADER_CACHE: dict[tuple[tuple[str, str], ...], str] = {}
_ENCODED_HEADER_CACHE_SIZE = 256


def encode_protected_header(header: dict[str, Any]) -> str:
    """``BASE64URL(UTF8(JWS Protected Header))`` (RFC 7515 §5.1 steps 3-4) in compact JSON, members in order."""
    items = tuple(header.items())
    if all(type(k) is str and type(v) is str for k, v in items):
        cached = _ENCODED_HEADER_CACHE.get(items)
        if cached is None:
            cached = b64url_encode(json_dumps(header).encode("utf-8"))
            if len(_ENCODED_HEADER_CACHE) >= _ENCODED_HEADER_CACHE_SIZE:
                _ENCODED_HEADER_CACHE.clear()
            _ENCODED_HEADER_CACHE[items] = cached
        return cached
    return b64url_encode(json_dumps(header).encode("utf-8"))


def sign_compact(payload: bytes, signer: Signer, header: Mapping[str, Any] | None = None) -> str:
    """Produce a compact JWS (RFC 7515 §7.1). ``alg`` (and ``kid`` if the signer has one) come from the signer."""
    hdr = dict(header or {})
    hdr["alg"] = signer.alg
    if signer.kid is not None and "kid" not in hdr:
        hdr["kid"] = signer.kid
    protected = encode_protected_header(hdr)
    payload_b64 = b64url_encode(payload)
    sig = signer.sign(_signing_input(protected, payload_b64))
    return f"{protected}.{payload_b64}.{b64url_encode(sig)}"


def _resolve_key(key: PublicKey | KeyResolver, header: Mapping[str, Any]) -> PublicKey:
    return key if isinstance(key, PublicKey) else key(header)


#: Decoded protected headers by their encoded text. One issuer key signs every credential under the same header, and
#: a wallet signs its KB-JWTs under one header too, so a verifier sees the same few headers again and again. Only
#: headers that decoded to a JSON object are kept (errors are raised anew each time), as private copies that are
#: never handed out; the cache is emptied when full, so it holds at most _HEADER_CACHE_SIZE texts of at most
#: _HEADER_CACHE_TEXT characters. Each entry also says whether the header is flat (no member value is a container,
#: so ``dict.copy`` is a full copy) and, for a header :func:`check_header` can only refuse for its ``alg`` (a string
#: that is never accepted or not allowlisted; no ``crit``; ``kid`` absent or a string), that ``alg``.
_HEADER_CACHE: dict[str, tuple[dict[str, Any], bool, str | None]] = {}
_HEADER_CACHE_SIZE = 256
_HEADER_CACHE_TEXT = 16 * 1024


def _copy_json(value: Any) -> Any:
    """A copy of decoded JSON that shares no container with ``value`` (its strings and numbers are immutable)."""
    if isinstance(value, dict):
        return {k: _copy_json(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def _simple_alg(header: dict[str, Any]) -> str | None:
    """``alg`` when ``check_header(header, algorithms)`` returns it for every allowlist that contains it and raises
    for every other (no ``crit``, a string ``kid`` if any, an ``alg`` that is a string and never forbidden)."""
    alg = header.get("alg")
    if type(alg) is not str or alg in FORBIDDEN_ALGORITHMS or "crit" in header:
        return None
    if "kid" in header and not isinstance(header["kid"], str):
        return None
    return alg


def _header_entry(protected_b64: str) -> tuple[dict[str, Any], bool, str | None]:
    """The cache entry of an encoded protected header, decoded (and cached) on a miss. The header in it is the
    cache's own: callers must not change it or hand it out."""
    entry = _HEADER_CACHE.get(protected_b64)
    if entry is not None:
        return entry
    try:
        header = json_loads(b64url_decode(protected_b64))
    except EncodingError as exc:
        raise JoseError(f"JOSE header is malformed: {exc.description}", reason="malformed_header") from None
    if not isinstance(header, dict):
        raise JoseError("JOSE header must be a JSON object", reason="malformed_header")
    entry = (header, not any(isinstance(v, (dict, list)) for v in header.values()), _simple_alg(header))
    if len(protected_b64) <= _HEADER_CACHE_TEXT:
        if len(_HEADER_CACHE) >= _HEADER_CACHE_SIZE:
            _HEADER_CACHE.clear()
        _HEADER_CACHE[protected_b64] = entry
    return entry


def decode_protected_header(protected_b64: str) -> dict[str, Any]:
    """The JOSE header of an encoded protected header: base64url, then JSON, then a JSON object (RFC 7515 §5.2 steps
    2-4, strict on every layer). Returns a new dict on every call; the caller may change it."""
    header, flat, _ = _header_entry(protected_b64)
    return header.copy() if flat else _copy_json(header)


def _split_compact_jws(token: str, max_size: int) -> tuple[int, int]:
    """The positions of the two dots of a compact JWS (RFC 7515 §7.1: exactly three parts)."""
    if not isinstance(token, str):
        raise JoseError("JWS must be a string", reason="malformed_jws")
    if len(token) > max_size:
        raise InputTooLarge(f"JWS is larger than {max_size} bytes")
    # three searches for the dots (memchr) instead of splitting the text into a list of new strings
    first = token.find(".")
    second = token.find(".", first + 1) if first >= 0 else -1
    if second < 0 or token.find(".", second + 1) >= 0:
        raise JoseError("compact JWS must have exactly three parts", reason="malformed_jws")
    return first, second


def parse_compact(token: str, *, max_size: int = DEFAULT_MAX_SIZE) -> tuple[str, str, str, dict[str, Any]]:
    """Split a compact JWS and decode its protected header (no verification)."""
    first, second = _split_compact_jws(token, max_size)
    protected_b64 = token[:first]
    return protected_b64, token[first + 1 : second], token[second + 1 :], decode_protected_header(protected_b64)


def verify_compact_parts(
    token: str,
    key: PublicKey | KeyResolver,
    algorithms: Collection[str],
    *,
    understood_crit: Collection[str] = (),
    max_size: int = DEFAULT_MAX_SIZE,
    copy_header: bool = True,
) -> tuple[dict[str, Any], bytes, PublicKey, bytes]:
    """:func:`verify_compact` returning ``(header, payload, key, signing_input)`` without the result object. With
    ``copy_header`` false the header is the decoded-header cache's own object, for a caller that only reads it and
    never keeps it (a key resolver is always given a copy)."""
    _check_allowlist(algorithms)
    first, second = _split_compact_jws(token, max_size)
    protected_b64 = token[:first]
    cached, flat, alg = _header_entry(protected_b64)
    if alg is None or alg not in algorithms:
        alg = check_header(cached, algorithms, understood_crit)  # the full check, and its error
    header = cached
    if copy_header or not isinstance(key, PublicKey):
        header = cached.copy() if flat else _copy_json(cached)
    try:
        payload = b64url_decode(token[first + 1 : second])
        sig = b64url_decode(token[second + 1 :])
    except EncodingError as exc:
        raise JoseError(f"JWS payload or signature is malformed: {exc.description}", reason="malformed_jws") from None
    public = key if isinstance(key, PublicKey) else key(header)
    # RFC 7515 §5.2 step 8: the signing input is ASCII(BASE64URL(header) || '.' || BASE64URL(payload)), the text up to
    # the second dot (both parts decoded as base64url just now, so the text is ASCII)
    signing_input = token[:second].encode("ascii")
    public.verify(alg, signing_input, sig)
    return header, payload, public, signing_input


def verify_compact(
    token: str,
    key: PublicKey | KeyResolver,
    algorithms: Collection[str],
    *,
    understood_crit: Collection[str] = (),
    max_size: int = DEFAULT_MAX_SIZE,
) -> VerifiedJws:
    """Verify a compact JWS (RFC 7515 §5.2) against an explicit allowlist of algorithms."""
    header, payload, public, signing_input = verify_compact_parts(
        token, key, algorithms, understood_crit=understood_crit, max_size=max_size
    )
    return VerifiedJws(header=header, payload=payload, key=public, signing_input=signing_input)


# --- JWS JSON serialization (RFC 7515 §7.2) -----------------------------------------------------------------------


def sign_json(
    payload: bytes,
    signers: list[Signer],
    *,
    headers: list[Mapping[str, Any]] | None = None,
    unprotected: list[Mapping[str, Any]] | None = None,
    flattened: bool = True,
) -> dict[str, Any]:
    """Produce a JWS JSON serialization: flattened (§7.2.2, one signer) or general (§7.2.1)."""
    if not signers:
        raise JoseError("at least one signer is required", reason="malformed_jws")
    if flattened and len(signers) != 1:
        raise JoseError(
            "the flattened serialization carries exactly one signature (RFC 7515 §7.2.2)", reason="malformed_jws"
        )
    payload_b64 = b64url_encode(payload)
    sigs: list[dict[str, Any]] = []
    for i, signer in enumerate(signers):
        hdr = dict(headers[i]) if headers else {}
        extra = dict(unprotected[i]) if unprotected and unprotected[i] else {}
        hdr["alg"] = signer.alg
        if signer.kid is not None and "kid" not in hdr and "kid" not in extra:
            hdr["kid"] = signer.kid
        if set(hdr) & set(extra) or "crit" in extra:
            # §7.2.1: the protected and unprotected parameter sets MUST be disjoint; §4.1.11: crit is protected.
            raise JoseError(
                "protected and unprotected header parameters must be disjoint (RFC 7515 §7.2.1)",
                reason="malformed_header",
            )
        protected = b64url_encode(json_dumps(hdr).encode("utf-8"))
        entry: dict[str, Any] = {
            "protected": protected,
            "signature": b64url_encode(signer.sign(_signing_input(protected, payload_b64))),
        }
        if extra:
            entry["header"] = extra
        sigs.append(entry)
    if flattened:
        return {"payload": payload_b64, **sigs[0]}
    return {"payload": payload_b64, "signatures": sigs}


def _json_signature_entries(jws: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "signatures" in jws:
        # §7.2.1: general syntax; "signature"/"protected"/"header" MUST NOT also appear at the top level.
        if any(k in jws for k in ("signature", "protected", "header")):
            raise JoseError("general JWS JSON must not mix in flattened members", reason="malformed_jws")
        entries = jws["signatures"]
        if not isinstance(entries, list) or not entries:
            raise JoseError("'signatures' must be a non-empty array", reason="malformed_jws")
        if not all(isinstance(e, Mapping) for e in entries):
            raise JoseError("each signature entry must be a JSON object", reason="malformed_jws")
        return entries
    return [jws]


def verify_json(
    jws: Mapping[str, Any],
    key: PublicKey | KeyResolver,
    algorithms: Collection[str],
    *,
    understood_crit: Collection[str] = (),
    require_all: bool = False,
    max_size: int = DEFAULT_MAX_SIZE,
) -> VerifiedJws:
    """Verify a JWS JSON serialization (RFC 7515 §7.2).

    With the general syntax, the key resolver is asked for each signature; the first that verifies is returned
    (or, with ``require_all``, every one must verify). Header parameters from the unprotected ``header`` are merged
    into the returned header, but §7.2.1 requires the two sets to be disjoint, which we enforce. The encoded
    members together must not exceed ``max_size`` characters; that is checked before anything is decoded.
    """
    _check_allowlist(algorithms)
    if not isinstance(jws, Mapping) or not isinstance(jws.get("payload"), str):
        raise JoseError("JWS JSON must be an object with a string 'payload'", reason="malformed_jws")
    payload_b64 = jws["payload"]
    entries = _json_signature_entries(jws)
    encoded = [e.get(m) for e in entries for m in ("protected", "signature")]
    if len(payload_b64) + sum(len(v) for v in encoded if isinstance(v, str)) > max_size:
        raise InputTooLarge(f"JWS is larger than {max_size} bytes")
    try:
        payload = b64url_decode(payload_b64)
    except EncodingError as exc:
        raise JoseError(f"JWS payload is malformed: {exc.description}", reason="malformed_jws") from None
    last_error: SsiError | None = None
    verified: VerifiedJws | None = None
    for entry in entries:
        protected_b64, sig_b64 = entry.get("protected"), entry.get("signature")
        if not isinstance(protected_b64, str) or not isinstance(sig_b64, str):
            raise JoseError("signature entry needs string 'protected' and 'signature'", reason="malformed_jws")
        unprotected = entry.get("header", {})
        if not isinstance(unprotected, Mapping):
            raise JoseError("'header' must be a JSON object", reason="malformed_jws")
        try:
            protected = json_loads(b64url_decode(protected_b64))
            sig = b64url_decode(sig_b64)
        except EncodingError as exc:
            raise JoseError(f"JWS JSON entry is malformed: {exc.description}", reason="malformed_header") from None
        if not isinstance(protected, dict):
            raise JoseError("protected header must be a JSON object", reason="malformed_header")
        if set(protected) & set(unprotected):
            raise JoseError(
                "protected and unprotected header parameters must be disjoint (RFC 7515 §7.2.1)",
                reason="malformed_header",
            )
        if "alg" in unprotected or "crit" in unprotected:
            # 'alg' must be integrity protected here; 'crit' MUST be protected (§4.1.11).
            raise JoseError("'alg' and 'crit' must be in the protected header", reason="malformed_header")
        alg = check_header(protected, algorithms, understood_crit)
        merged = {**protected, **unprotected}
        if "kid" in merged and not isinstance(merged["kid"], str):
            raise JoseError("'kid' header parameter must be a string (RFC 7515 §4.1.4)", reason="malformed_kid")
        signing_input = _signing_input(protected_b64, payload_b64)
        try:
            public = _resolve_key(key, merged)
            public.verify(alg, signing_input, sig)
        except SsiError as exc:
            if require_all:
                raise
            last_error = exc
            continue
        verified = verified or VerifiedJws(header=merged, payload=payload, key=public, signing_input=signing_input)
        if not require_all:
            break
    if verified is None:
        assert last_error is not None
        raise last_error
    return verified


def supported_algorithms() -> frozenset[str]:
    return frozenset(ALGORITHMS)
