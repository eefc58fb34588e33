"""The Verifier's role: RFC 9901 §7.1 (verify the SD-JWT) and §7.3 (verify the presentation and its KB-JWT).

Every check of §7.1 and §7.3 is enforced; each failure raises :class:`~ssi.errors.SdJwtError` (or
:class:`~ssi.errors.KeyBindingError`, or a JOSE error from ``ssi.jose``) with a specific ``reason``. The Issuer's
key is supplied by the caller (a key, or a resolver over the JOSE header for x5c/DID lookups).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ssi.clock import Clock, system_clock
from ssi.encoding import b64url_json, json_loads
from ssi.errors import EncodingError, JoseError, KeyBindingError, SdJwtError, SsiError
from ssi.jose import KeyResolver, check_time_claims, numeric_date, verify_compact_parts, verify_json
from ssi.keys import PublicKey
from ssi.sd_jwt._common import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_DISCLOSURES,
    DEFAULT_MAX_SIZE,
    KB_JWT_TYP,
    digest,
    hash_function,
    slots_maker,
)
from ssi.sd_jwt._processing import DisclosedClaim, process_payload
from ssi.sd_jwt._serialization import SdJwtParts, split_compact, split_json

#: HAIP 1.0: ES256 is the algorithm every party must support. Callers widen the allowlist deliberately.
DEFAULT_ALGORITHMS = frozenset({"ES256"})
#: The validity claims ``check_time_claims`` reads (RFC 7519 §4.1.4-4.1.6).
_TIME_CLAIMS = frozenset({"exp", "nbf", "iat"})


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    """What a Verifier requires. Key Binding is decided here, never by what the Holder sent (§7.3 step 1)."""

    algorithms: frozenset[str] = DEFAULT_ALGORITHMS
    #: Accepted ``typ`` values of the Issuer-signed JWT (§9.11 explicit typing); ``None`` accepts any.
    typ: frozenset[str] | None = None
    require_key_binding: bool = True
    audience: str | None = None
    nonce: str | None = None
    kb_algorithms: frozenset[str] = DEFAULT_ALGORITHMS
    #: §7.3 step 5.5: "the creation time of the Key Binding JWT ... is within an acceptable window".
    kb_max_age: float = 300.0
    skew: float = 60.0
    #: §7.1 step 6: validity-controlling claims that must be present in the processed payload.
    required_claims: frozenset[str] = frozenset()
    max_size: int = DEFAULT_MAX_SIZE
    max_disclosures: int = DEFAULT_MAX_DISCLOSURES
    max_depth: int = DEFAULT_MAX_DEPTH
    understood_crit: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class VerifiedSdJwt:
    """The result of a successful verification: the Processed SD-JWT Payload and what was disclosed."""

    header: dict[str, Any]
    claims: dict[str, Any]
    disclosed: tuple[DisclosedClaim, ...]
    issuer_key: PublicKey
    key_binding: dict[str, Any] | None
    #: The Issuer-signed JWT payload as signed (with ``_sd`` digests), for status/cnf lookups.
    signed_payload: dict[str, Any]


#: ``VerifiedSdJwt(header, claims, disclosed, issuer_key, key_binding, signed_payload)`` without the frozen
#: dataclass ``__init__``.
_make_verified = slots_maker(VerifiedSdJwt)


def _split(presentation: str | Mapping[str, Any], policy: VerificationPolicy) -> SdJwtParts:
    # the text test first: a str is never a Mapping, and the Mapping test is an ABC check
    if not isinstance(presentation, str) and isinstance(presentation, Mapping):
        return split_json(presentation, max_size=policy.max_size, max_disclosures=policy.max_disclosures)
    return split_compact(presentation, max_size=policy.max_size, max_disclosures=policy.max_disclosures)


def _verify_issuer_jwt(
    parts: SdJwtParts, issuer_key: PublicKey | KeyResolver, policy: VerificationPolicy, typ: frozenset[str] | None
) -> tuple[dict[str, Any], dict[str, Any], PublicKey]:
    """§7.1 step 2: allowlisted algorithm (never ``none``), signature per RFC 7515 §5.2, explicit type.

    ``typ`` is read from the *protected* header only: in the JSON serialization, unprotected header parameters "are
    not protected against tampering" (§8.1), so a ``typ`` there would let anyone relabel another kind of JWT signed
    by the same key — the confusion explicit typing prevents (§9.11, RFC 8725 §3.11).
    """
    if parts.jws_json is not None:
        verified = verify_json(
            parts.jws_json,
            issuer_key,
            policy.algorithms,
            understood_crit=policy.understood_crit,
            max_size=policy.max_size,
        )
        protected = b64url_json(verified.signing_input.split(b".", 1)[0])
        header, payload_bytes, key = verified.header, verified.payload, verified.key
    else:
        header, payload_bytes, key, _ = verify_compact_parts(
            parts.issuer_jwt,
            issuer_key,
            policy.algorithms,
            understood_crit=policy.understood_crit,
            max_size=policy.max_size,
        )
        protected = header
    typ_value = protected.get("typ")  # may be any JSON value, e.g. an (unhashable) array
    if typ is not None and (not isinstance(typ_value, str) or typ_value not in typ):
        raise SdJwtError(f"Issuer-signed JWT 'typ' must be one of {sorted(typ)}", reason="wrong_typ")
    try:
        payload = json_loads(payload_bytes)
    except EncodingError as exc:
        raise SdJwtError(
            f"Issuer-signed JWT payload is not JSON: {exc.description}", reason="malformed_sd_jwt"
        ) from None
    if not isinstance(payload, dict):
        raise SdJwtError("Issuer-signed JWT payload must be a JSON object", reason="malformed_sd_jwt")
    return header, payload, key


def _holder_key(signed_payload: Mapping[str, Any]) -> PublicKey:
    """§7.3 step 5.1: the Holder's key comes from the SD-JWT — here ``cnf.jwk`` (RFC 7800 §3.2)."""
    cnf = signed_payload.get("cnf")
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict):
        raise KeyBindingError("Key Binding is required but the SD-JWT has no 'cnf' with a 'jwk'", reason="kb_no_cnf")
    try:
        return PublicKey.from_jwk(cnf["jwk"])
    except SsiError as exc:
        raise KeyBindingError(f"'cnf.jwk' is not a usable key: {exc.description}", reason="kb_no_cnf") from None


def verify_key_binding(
    kb_jwt: str, sd_jwt: str, holder_key: PublicKey, sd_alg: str, policy: VerificationPolicy, *, now: float
) -> dict[str, Any]:
    """§7.3 step 5.2-5.8."""
    try:
        # the header is only read here: the decoded-header cache's own object, not a copy
        header, payload, _, _ = verify_compact_parts(
            kb_jwt, holder_key, policy.kb_algorithms, max_size=policy.max_size, copy_header=False
        )
    except JoseError as exc:
        # step 5.2-5.3: allowlisted algorithm and a valid signature by the cnf key
        raise KeyBindingError(f"KB-JWT: {exc.description}", reason=f"kb_{exc.reason}") from None
    if header.get("typ") != KB_JWT_TYP:  # step 5.4
        raise KeyBindingError("KB-JWT 'typ' must be 'kb+jwt' (§7.3 step 5.4)", reason="kb_wrong_typ")
    try:
        claims = json_loads(payload)
    except EncodingError as exc:
        raise KeyBindingError(f"KB-JWT payload is not JSON: {exc.description}", reason="kb_malformed") from None
    if not isinstance(claims, dict):
        raise KeyBindingError("KB-JWT payload must be a JSON object", reason="kb_malformed")
    # step 5.5: iat REQUIRED (§4.3) and within the acceptable window
    try:
        iat = numeric_date(claims, "iat", required=True)
    except JoseError as exc:
        raise KeyBindingError(f"KB-JWT: {exc.description}", reason="kb_malformed") from None
    assert iat is not None
    if iat > now + policy.skew:
        raise KeyBindingError("KB-JWT 'iat' is in the future (§7.3 step 5.5)", reason="kb_iat_in_future")
    if iat < now - policy.kb_max_age - policy.skew:
        raise KeyBindingError("KB-JWT is too old (§7.3 step 5.5)", reason="kb_stale")
    # step 5.6: bound to this transaction and this Verifier. §4.3: aud "MUST be a single string", nonce a string.
    if not isinstance(claims.get("nonce"), str) or claims["nonce"] != policy.nonce:
        raise KeyBindingError("KB-JWT 'nonce' does not match (§7.3 step 5.6)", reason="kb_wrong_nonce")
    if not isinstance(claims.get("aud"), str) or claims["aud"] != policy.audience:
        raise KeyBindingError("KB-JWT 'aud' does not match this Verifier (§7.3 step 5.6)", reason="kb_wrong_aud")
    # step 5.7: sd_hash over <Issuer-signed JWT>~<D1>~...~<DN>~ with the _sd_alg hash
    if claims.get("sd_hash") != digest(sd_jwt, hash_function(sd_alg)):
        raise KeyBindingError(
            "KB-JWT 'sd_hash' does not match the presented SD-JWT (§7.3 step 5.7)", reason="kb_sd_hash_mismatch"
        )
    # step 5.8: valid in all other respects (exp/nbf if present)
    try:
        check_time_claims(claims, now=now, skew=policy.skew)
    except JoseError as exc:
        raise KeyBindingError(f"KB-JWT: {exc.description}", reason=f"kb_{exc.reason}") from None
    return claims


def verify_sd_jwt(
    presentation: str | Mapping[str, Any],
    issuer_key: PublicKey | KeyResolver,
    policy: VerificationPolicy,
    *,
    clock: Clock = system_clock,
) -> VerifiedSdJwt:
    """Verify an SD-JWT or SD-JWT+KB (compact text, or a §8 JSON object) per RFC 9901 §7.1 and §7.3."""
    return verify_with_typ(presentation, issuer_key, policy, typ=policy.typ, clock=clock)


def verify_with_typ(
    presentation: str | Mapping[str, Any],
    issuer_key: PublicKey | KeyResolver,
    policy: VerificationPolicy,
    *,
    typ: frozenset[str] | None,
    clock: Clock,
) -> VerifiedSdJwt:
    """:func:`verify_sd_jwt` with the accepted ``typ`` values given apart from the policy (profiles such as SD-JWT VC
    fix them, and a policy is per transaction: copying it on every verification would cost more than the check)."""
    if policy.require_key_binding and (not policy.audience or not policy.nonce):
        raise SdJwtError("a Verifier that requires Key Binding must know its audience and nonce", reason="bad_policy")
    parts = _split(presentation, policy)
    # §7.3 step 2 / §4: the Verifier's policy decides whether a KB-JWT must (or must not) be there.
    if policy.require_key_binding and parts.kb_jwt is None:
        raise KeyBindingError(
            "Key Binding is required but the presentation has no KB-JWT (§7.3 step 2)", reason="kb_missing"
        )
    if not policy.require_key_binding and parts.kb_jwt is not None:
        raise SdJwtError(
            "expected an SD-JWT, got an SD-JWT+KB: the last component must be empty (§4)", reason="kb_unexpected"
        )
    header, payload, key = _verify_issuer_jwt(parts, issuer_key, policy, typ)
    processed = process_payload(payload, parts.disclosures, max_depth=policy.max_depth)
    now = clock()
    # §7.1 step 6: validity claims in the processed payload; required ones must be present
    check_time_claims(processed.claims, now=now, skew=policy.skew, require=policy.required_claims & _TIME_CLAIMS)
    for name in policy.required_claims - _TIME_CLAIMS:
        if name not in processed.claims:
            raise SdJwtError(f"required claim {name!r} is missing (§7.1 step 6)", reason=f"missing_{name}")
    kb_claims = None
    if parts.kb_jwt is not None:
        # §4.3.1: sd_hash is over the compact SD-JWT without the KB-JWT. For compact input that is the presented text
        # up to its KB-JWT (split_compact cut it at '~', so re-joining the parts gives the same characters).
        text = presentation if isinstance(presentation, str) else None
        sd_jwt = parts.sd_jwt if text is None else text[: len(text) - len(parts.kb_jwt)]
        kb_claims = verify_key_binding(parts.kb_jwt, sd_jwt, _holder_key(payload), processed.sd_alg, policy, now=now)
    return _make_verified(header, processed.claims, processed.disclosed, key, kb_claims, payload)
