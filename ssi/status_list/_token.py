"""Status List Tokens in JWT format (§5.1): issue (Status Issuer) and verify (Relying Party).

§5.1 header: ``typ`` "REQUIRED. The JWT type MUST be `statuslist+jwt`."
§5.1 claims:

- ``sub``: "REQUIRED ... MUST specify the URI of the Status List Token. The value MUST be equal to that of the `uri`
  claim contained in the `status_list` claim of the Referenced Token."
- ``iat``: "REQUIRED ... MUST specify the time at which the Status List Token was issued."
- ``exp``: "RECOMMENDED ... if present, MUST specify the time at which the Status List Token is considered expired";
- ``ttl``: "RECOMMENDED ... the maximum amount of time, in seconds, that the Status List Token can be cached ... The
  value of the claim MUST be a positive number encoded in JSON as a number."
- ``status_list``: "REQUIRED ... MUST specify the Status List conforming to the structure defined in §4.2."

Rules 2 and 3: "Relying Parties MUST reject JWTs with an invalid signature" and "MUST reject JWTs that are not valid in
all other respects per [RFC7519]" — signature, ``alg`` allowlist, ``typ`` and time claims are checked by
:func:`ssi.jose.decode_jwt`; its errors are re-raised as :class:`StatusListError` (reason ``token_<jose reason>``,
the original as ``__cause__``) so that an expired *status list token* is never mistaken for an expired credential.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ssi.clock import Clock, system_clock
from ssi.errors import InputTooLarge, JoseError, StatusListError
from ssi.jose import KeyResolver, decode_jwt, encode_jwt
from ssi.keys import PublicKey, Signer
from ssi.status_list._list import DEFAULT_MAX_DECOMPRESSED_SIZE, StatusList
from ssi.status_list._uri import check_uri

STATUS_LIST_JWT_TYP = "statuslist+jwt"
"""§5.1: the JWT ``typ`` of a Status List Token."""
STATUS_LIST_JWT_MEDIA_TYPE = "application/statuslist+jwt"
"""§8.1/§8.2: the media type to ask for and to expect in the response."""
DEFAULT_MAX_TOKEN_SIZE = 4 * 1024 * 1024
"""Status List Tokens larger than this (in bytes of compact serialization) are refused before parsing."""

#: Claims this module writes; extra claims given by the caller must not override them.
_OWN_CLAIMS = frozenset({"sub", "iat", "exp", "ttl", "status_list"})
#: Header parameters set by the signer or by §5.1 itself.
_OWN_HEADER = frozenset({"alg", "typ"})


def _finite_number(value: Any, name: str) -> float:
    # JSON numbers only (booleans are not numbers); huge integers and 1e400 must not become inf or OverflowError.
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise StatusListError(f"'{name}' must be a finite JSON number", reason=f"malformed_{name}")


def _positive_number(value: Any, name: str) -> float:
    number = _finite_number(value, name)
    if number <= 0:
        raise StatusListError(f"'{name}' must be a positive number (§5.1)", reason=f"malformed_{name}")
    return number


def issue_status_list_token(
    status_list: StatusList,
    *,
    uri: str,
    signer: Signer,
    iat: int | None = None,
    exp: int | None = None,
    ttl: int | float | None = None,
    header: Mapping[str, Any] | None = None,
    claims: Mapping[str, Any] | None = None,
    clock: Clock = system_clock,
) -> str:
    """Sign a Status List Token (§5.1) for the list published at ``uri``.

    ``iat`` defaults to the clock's current second; ``exp`` and ``ttl`` are RECOMMENDED (§13.7: "Both `ttl` and
    `exp` are RECOMMENDED to be used by the Status Issuer"). ``header`` adds JOSE header parameters such as ``x5c``
    or ``kid`` (§11.3); ``claims`` adds other claims such as ``iss`` (§5.1 rule 1: "The JWT MAY contain other
    claims").
    """
    check_uri(uri, "sub")
    issued_at = int(clock()) if iat is None else iat
    payload: dict[str, Any] = dict(claims or {})
    clash = _OWN_CLAIMS & set(payload)
    if clash:
        raise StatusListError(f"extra claims must not override {sorted(clash)}", reason="reserved_claim")
    hdr = dict(header or {})
    if _OWN_HEADER & set(hdr):
        raise StatusListError("'alg' and 'typ' are set by the signer and §5.1", reason="reserved_header")
    payload["sub"] = uri
    payload["iat"] = issued_at
    if exp is not None:
        if isinstance(exp, bool) or not isinstance(exp, int) or exp <= issued_at:
            raise StatusListError("'exp' must be an integer NumericDate after 'iat'", reason="malformed_exp")
        payload["exp"] = exp
    if ttl is not None:
        _positive_number(ttl, "ttl")
        payload["ttl"] = ttl
    payload["status_list"] = status_list.to_json()
    return encode_jwt(payload, signer, typ=STATUS_LIST_JWT_TYP, header=hdr)


@dataclass(frozen=True, slots=True)
class StatusListToken:
    """A verified Status List Token. ``status_list`` is read-only."""

    uri: str
    issued_at: float
    expires_at: float | None
    ttl: float | None
    status_list: StatusList
    header: dict[str, Any] = field(repr=False)
    claims: dict[str, Any] = field(repr=False)

    def status(self, idx: int) -> int:
        """§8.3 step 6: the status value at ``idx``; out of bounds is an error (``index_out_of_range``)."""
        return self.status_list.get(idx)


def verify_status_list_token(
    token: str,
    key: PublicKey | KeyResolver,
    algorithms: Collection[str],
    *,
    uri: str | None = None,
    clock: Clock = system_clock,
    skew: float = 60.0,
    max_token_age: float | None = None,
    max_size: int = DEFAULT_MAX_TOKEN_SIZE,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> StatusListToken:
    """Verify a Status List Token in JWT format (§8.3 steps 3-5) and decode its Status List.

    ``uri`` is the ``uri`` of the Referenced Token's reference: §8.3 step 4a, "The subject claim (`sub` or `2`) of the
    Status List Token MUST be equal to the `uri` claim in the `status_list` object of the Referenced Token".
    ``max_token_age`` is an optional freshness policy on ``iat`` (§8.3 step 4b: "If the Relying Party has local
    policies regarding the freshness of the Status List Token, it SHOULD check the issued at claim").
    """
    if not isinstance(token, str):
        raise StatusListError("status list token must be a string", reason="malformed_token")
    try:
        # §8.3 step 3a: RFC 7519 §7.2 validation, with signature (§5.1 rule 2), typ (§5.1 header) and
        # step 4c: "If the expiration time is defined (`exp` or `4`), it MUST be checked if the Status List Token
        # is expired" (decode_jwt rejects an expired token and an iat in the future).
        verified = decode_jwt(
            token,
            key,
            algorithms,
            typ=STATUS_LIST_JWT_TYP,
            clock=clock,
            skew=skew,
            require=("iat",),  # §5.1 iat: REQUIRED
            max_size=max_size,
        )
    except InputTooLarge as exc:
        raise StatusListError(f"status list token is larger than {max_size} bytes", reason="token_too_large") from exc
    except JoseError as exc:
        raise StatusListError(f"status list token rejected: {exc.description}", reason=f"token_{exc.reason}") from exc
    except OverflowError:
        # A NumericDate with hundreds of digits cannot become a float; whatever layer notices, it is malformed.
        raise StatusListError("status list token has an out-of-range number", reason="token_malformed_claims") from None
    claims = verified.claims
    # §8.3 step 3b: the REQUIRED claims exist; step 4: all existing claims are checked.
    if "sub" not in claims:
        raise StatusListError("status list token lacks the REQUIRED 'sub' (§5.1)", reason="missing_sub")
    sub = check_uri(claims["sub"], "sub")
    if uri is not None and sub != uri:
        raise StatusListError(
            "status list token 'sub' does not equal the Referenced Token's 'uri' (§8.3)", reason="sub_mismatch"
        )
    issued_at = _finite_number(claims["iat"], "iat")
    expires_at = _finite_number(claims["exp"], "exp") if "exp" in claims else None
    ttl = _positive_number(claims["ttl"], "ttl") if "ttl" in claims else None
    if max_token_age is not None and clock() - issued_at > max_token_age:
        raise StatusListError("status list token is older than the local freshness policy", reason="token_too_old")
    if "status_list" not in claims:
        raise StatusListError("status list token lacks the REQUIRED 'status_list' (§5.1)", reason="missing_status_list")
    status_list = StatusList.from_json(claims["status_list"], max_decompressed_size=max_decompressed_size)
    return StatusListToken(
        uri=sub,
        issued_at=issued_at,
        expires_at=expires_at,
        ttl=ttl,
        status_list=status_list,
        header=verified.header,
        claims=claims,
    )
