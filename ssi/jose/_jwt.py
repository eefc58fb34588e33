"""JWT (RFC 7519) on top of our JWS layer: typed headers and time claims with an injected clock.

- RFC 7519 §4.1.4 ``exp``: "the current date/time MUST be before the expiration date/time";
- §4.1.5 ``nbf``: "the current date/time MUST be after or equal to the not-before date/time";
- §4.1.6 ``iat``: we additionally reject an ``iat`` in the future (beyond the skew), as RFC 9901 §7.3 and
  OpenID4VCI require for KB-JWTs and proofs.
All three must be JSON numbers (NumericDate, §2); booleans are not numbers.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ssi.clock import Clock, system_clock
from ssi.encoding import json_dumps, json_loads
from ssi.errors import EncodingError, JoseError, TokenExpired, TokenNotYetValid
from ssi.jose._jws import DEFAULT_MAX_SIZE, KeyResolver, sign_compact, verify_compact
from ssi.keys import PublicKey, Signer


def numeric_date(claims: Mapping[str, Any], name: str, *, required: bool = False) -> float | None:
    """Read a NumericDate claim (RFC 7519 §2); reject non-numbers."""
    if name not in claims:
        if required:
            raise JoseError(f"required claim {name!r} is missing", reason=f"missing_{name}")
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JoseError(f"claim {name!r} must be a NumericDate", reason=f"malformed_{name}")
    try:
        seconds = float(value)
    except OverflowError:  # a JSON integer with hundreds of digits
        raise JoseError(f"claim {name!r} is out of range", reason=f"malformed_{name}") from None
    if not math.isfinite(seconds):
        raise JoseError(f"claim {name!r} must be a finite NumericDate", reason=f"malformed_{name}")
    return seconds


def check_time_claims(
    claims: Mapping[str, Any],
    *,
    now: float,
    skew: float = 60.0,
    require: Collection[str] = (),
) -> None:
    """Check ``exp``, ``nbf`` and ``iat`` against ``now`` allowing ``skew`` seconds of clock difference."""
    exp = numeric_date(claims, "exp", required="exp" in require)
    nbf = numeric_date(claims, "nbf", required="nbf" in require)
    iat = numeric_date(claims, "iat", required="iat" in require)
    if exp is not None and now - skew >= exp:
        raise TokenExpired("token has expired")
    if nbf is not None and now + skew < nbf:
        raise TokenNotYetValid("token is not valid yet (nbf)")
    if iat is not None and now + skew < iat:
        raise TokenNotYetValid("token was issued in the future (iat)", reason="iat_in_future")


def encode_jwt(
    claims: Mapping[str, Any], signer: Signer, *, typ: str | None = None, header: Mapping[str, Any] | None = None
) -> str:
    """Sign a JWT; ``typ`` goes into the protected header (RFC 7519 §5.1, RFC 8725 §3.11 explicit typing)."""
    hdr = dict(header or {})
    if typ is not None:
        hdr["typ"] = typ
    return sign_compact(json_dumps(dict(claims)).encode("utf-8"), signer, hdr)


@dataclass(frozen=True, slots=True)
class VerifiedJwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    key: PublicKey


def decode_jwt(
    token: str,
    key: PublicKey | KeyResolver,
    algorithms: Collection[str],
    *,
    typ: str | Collection[str] | None = None,
    clock: Clock = system_clock,
    skew: float = 60.0,
    require: Collection[str] = (),
    understood_crit: Collection[str] = (),
    max_size: int = DEFAULT_MAX_SIZE,
) -> VerifiedJwt:
    """Verify signature, explicit ``typ`` (RFC 8725 §3.11) and time claims; return header and claims."""
    verified = verify_compact(token, key, algorithms, understood_crit=understood_crit, max_size=max_size)
    if typ is not None:
        allowed = {typ} if isinstance(typ, str) else set(typ)
        header_typ = verified.header.get("typ")
        # RFC 7515 §4.1.9: 'typ' is a string; an array here is not hashable and must fail as a wrong type, not crash.
        if not isinstance(header_typ, str) or header_typ not in allowed:
            raise JoseError(f"JWT 'typ' must be one of {sorted(allowed)}", reason="wrong_typ")
    try:
        claims = json_loads(verified.payload)
    except EncodingError as exc:
        raise JoseError(f"JWT claims are not valid JSON: {exc.description}", reason="malformed_claims") from None
    if not isinstance(claims, dict):
        raise JoseError("JWT claims must be a JSON object", reason="malformed_claims")
    check_time_claims(claims, now=clock(), skew=skew, require=require)
    return VerifiedJwt(header=verified.header, claims=claims, key=verified.key)
