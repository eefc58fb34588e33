"""SD-JWT VC (draft-ietf-oauth-sd-jwt-vc-13, the version HAIP 1.0 pins): the credential profile over RFC 9901.

- §3.2.1: "The ``typ`` header parameter of the SD-JWT MUST be present. The ``typ`` value MUST use ``dc+sd-jwt``."
  The legacy ``vc+sd-jwt`` is accepted only when the caller opts in (the draft RECOMMENDS accepting it for a
  transitional period; we make that a deliberate configuration, off by default).
- §3.2.2.1: ``vct`` is REQUIRED, a case-sensitive string.
- §3.2.2.2: ``iss``, ``nbf``, ``exp``, ``cnf``, ``vct``, ``vct#integrity`` and ``status`` (including any of their
  sub-claims) "MUST NOT be included in the Disclosures, i.e., cannot be selectively disclosed"; ``sub`` and ``iat``
  MAY be. ``cnf`` is REQUIRED when Key Binding is supported (RECOMMENDED as a JWK, RFC 7800 §3.2).
- §3.2.2.3 / Token Status List: ``status.status_list`` is ``{"idx": <non-negative int>, "uri": <string>}``.
- §3.2.2.4: without selectively disclosable claims there is no ``_sd`` claim and no Disclosure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Literal

from ssi.clock import Clock, system_clock
from ssi.errors import SdJwtError
from ssi.jose import KeyResolver
from ssi.keys import PublicKey, Signer
from ssi.sd_jwt._common import DEFAULT_SD_ALG, ClaimPath
from ssi.sd_jwt.issue import SYSTEM_RANDOM, IssuedSdJwt, RandomSource, issue_sd_jwt
from ssi.sd_jwt.verify import VerificationPolicy, VerifiedSdJwt, verify_with_typ

SD_JWT_VC_TYP = "dc+sd-jwt"
LEGACY_SD_JWT_VC_TYP = "vc+sd-jwt"
MEDIA_TYPE = "application/dc+sd-jwt"
#: §3.2.2.2: registered claims that can never be selectively disclosed.
NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"})


def check_status_claim(status: Any) -> None:
    """Structure of ``status`` with the ``status_list`` mechanism (Token Status List §6.1)."""
    if not isinstance(status, dict):
        raise SdJwtError("'status' must be a JSON object", reason="malformed_status")
    if "status_list" in status:
        ref = status["status_list"]
        if not isinstance(ref, dict):
            raise SdJwtError("'status.status_list' must be a JSON object", reason="malformed_status")
        idx, uri = ref.get("idx"), ref.get("uri")
        if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
            raise SdJwtError("'status.status_list.idx' must be a non-negative integer", reason="malformed_status")
        if not isinstance(uri, str) or not uri:
            raise SdJwtError("'status.status_list.uri' must be a non-empty string", reason="malformed_status")


def _numeric_date(name: str, value: Any) -> int:
    """RFC 7519 §2 NumericDate for ``exp``/``nbf``: a finite JSON number (inputs may come from untyped JSON)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SdJwtError(f"{name!r} must be a finite number of seconds (NumericDate)", reason="bad_claims")
    return int(value)


def issue_sd_jwt_vc(
    claims: Mapping[str, Any],
    signer: Signer,
    *,
    vct: str,
    issuer: str | None = None,
    holder_jwk: Mapping[str, Any] | PublicKey | None = None,
    status: Mapping[str, Any] | None = None,
    disclosable: Iterable[ClaimPath] = (),
    valid_for: float | None = None,
    expires_at: float | None = None,
    not_before: float | None = None,
    clock: Clock = system_clock,
    header: Mapping[str, Any] | None = None,
    legacy_typ: bool = False,
    sd_alg: str = DEFAULT_SD_ALG,
    decoys: int = 0,
    rng: RandomSource = SYSTEM_RANDOM,
    serialization: Literal["compact", "json"] = "compact",
) -> IssuedSdJwt:
    """Issue an SD-JWT VC. Registered claims are parameters, so they cannot end up in a Disclosure by mistake.

    ``holder_jwk`` (``cnf.jwk``, RFC 7800 §3.2) is a public JWK, checked here, or a :class:`PublicKey` the caller has
    already imported (e.g. from the key proof it verified), written with exactly its REQUIRED members.

    ``exp`` is ``expires_at`` or ``iat + valid_for`` (not both); ``nbf`` is ``not_before``.
    """
    if valid_for is not None and expires_at is not None:
        raise SdJwtError("give valid_for or expires_at, not both", reason="bad_claims")
    if not isinstance(vct, str) or not vct:
        raise SdJwtError("'vct' is REQUIRED and must be a non-empty string (§3.2.2.1)", reason="missing_vct")
    clash = NEVER_DISCLOSABLE & set(claims)
    if clash:
        raise SdJwtError(f"pass {sorted(clash)} as parameters, not as claims", reason="bad_claims")
    paths = list(disclosable)
    for path in paths:
        if path and path[0] in NEVER_DISCLOSABLE:
            raise SdJwtError(
                f"claim {path[0]!r} MUST NOT be selectively disclosable (§3.2.2.2)", reason="never_disclosable"
            )
    if issuer is not None and not isinstance(issuer, str):
        raise SdJwtError("'iss' must be a string (RFC 7519 §4.1.1)", reason="malformed_iss")
    now = int(clock())
    payload: dict[str, Any] = {"vct": vct}
    if issuer is not None:
        payload["iss"] = issuer
    payload["iat"] = now
    if not_before is not None:
        payload["nbf"] = _numeric_date("nbf", not_before)
    if valid_for is not None:
        payload["exp"] = now + _numeric_date("valid_for", valid_for)
    elif expires_at is not None:
        payload["exp"] = _numeric_date("exp", expires_at)
    if isinstance(holder_jwk, PublicKey):
        # already imported (strictly, by PublicKey.from_jwk or from a private key): the public members only
        payload["cnf"] = {"jwk": holder_jwk.jwk}
    elif holder_jwk is not None:
        PublicKey.from_jwk(holder_jwk)  # refuse a malformed or private key before signing it into a credential
        if "d" in holder_jwk:
            raise SdJwtError("'cnf.jwk' must be a public key", reason="bad_claims")
        payload["cnf"] = {"jwk": dict(holder_jwk)}
    if status is not None:
        if not isinstance(status, (dict, Mapping)):
            raise SdJwtError("'status' must be a JSON object", reason="malformed_status")
        check_status_claim(dict(status))
        payload["status"] = dict(status)
    payload.update(claims)
    typ = LEGACY_SD_JWT_VC_TYP if legacy_typ else SD_JWT_VC_TYP
    hdr = {**dict(header or {}), "typ": typ}
    return issue_sd_jwt(
        payload,
        signer,
        disclosable=paths,
        header=hdr,
        sd_alg=sd_alg,
        decoys=decoys,
        rng=rng,
        serialization=serialization,
    )


_VC_TYPS = frozenset({SD_JWT_VC_TYP})
_VC_TYPS_WITH_LEGACY = frozenset({SD_JWT_VC_TYP, LEGACY_SD_JWT_VC_TYP})


def vc_policy(base: VerificationPolicy, *, accept_legacy_typ: bool = False) -> VerificationPolicy:
    """The base policy with the SD-JWT VC ``typ`` rule applied."""
    return replace(base, typ=_VC_TYPS_WITH_LEGACY if accept_legacy_typ else _VC_TYPS)


def verify_sd_jwt_vc(
    presentation: str | Mapping[str, Any],
    issuer_key: PublicKey | KeyResolver,
    policy: VerificationPolicy,
    *,
    expected_vct: str | Iterable[str] | None = None,
    accept_legacy_typ: bool = False,
    clock: Clock = system_clock,
) -> VerifiedSdJwt:
    """Verify an SD-JWT VC presentation: RFC 9901 §7 plus the SD-JWT VC rules (§3.4 of the draft)."""
    # The policy with the SD-JWT VC typ rule (what vc_policy builds), without copying the policy each time.
    typ = _VC_TYPS_WITH_LEGACY if accept_legacy_typ else _VC_TYPS
    result = verify_with_typ(presentation, issuer_key, policy, typ=typ, clock=clock)
    for claim in result.disclosed:
        if claim.path and claim.path[0] in NEVER_DISCLOSABLE:
            raise SdJwtError(
                f"claim {claim.path[0]!r} was selectively disclosed, which §3.2.2.2 forbids", reason="never_disclosable"
            )
    signed = result.signed_payload
    vct = signed.get("vct")
    if not isinstance(vct, str) or not vct:
        raise SdJwtError("'vct' is REQUIRED and must be a string (§3.2.2.1)", reason="missing_vct")
    if expected_vct is not None:
        allowed = {expected_vct} if isinstance(expected_vct, str) else set(expected_vct)
        if vct not in allowed:
            raise SdJwtError(f"credential type {vct!r} is not the one requested", reason="wrong_vct")
    if "iss" in signed and not isinstance(signed["iss"], str):
        raise SdJwtError("'iss' must be a string", reason="malformed_iss")
    if "status" in signed:
        check_status_claim(signed["status"])
    if "cnf" in signed and not isinstance(signed["cnf"], dict):
        raise SdJwtError("'cnf' must be a JSON object (RFC 7800 §3.1)", reason="malformed_cnf")
    return result
