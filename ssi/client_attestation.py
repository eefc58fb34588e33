"""OAuth 2.0 Attestation-Based Client Authentication (draft-ietf-oauth-attestation-based-client-auth) as OpenID4VCI
1.0 Appendix E uses it for Wallet Attestations and HAIP 1.0 §4.4.1 profiles it — both roles, pure.

A Client Attester (the wallet provider) signs a **Client Attestation JWT** (``oauth-client-attestation+jwt``) naming
the client (``sub`` = ``client_id``) and a key of the client instance (``cnf.jwk``); the instance proves possession of
that key per request with a **Client Attestation PoP JWT** (``oauth-client-attestation-pop+jwt``). Both travel in the
HTTP header fields ``OAuth-Client-Attestation`` and ``OAuth-Client-Attestation-PoP``.

HAIP 1.0 §4.4.1: "The public key certificate, and optionally a trust certificate chain, used to validate the
signature on the Wallet Attestation MUST be included in the x5c JOSE header", so attestations here always carry
``x5c`` and are verified against configured wallet-provider trust anchors (:func:`ssi.x509.verify_x5c`). Replay of the
PoP's ``jti`` is the caller's to detect with its store, as for DPoP.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509

from ssi.errors import InvalidClient, JoseError, KeyError_, SsiError
from ssi.jose import decode_jwt, encode_jwt, parse_compact
from ssi.keys import PublicKey, Signer
from ssi.x509 import verify_x5c

__all__ = [
    "ATTESTATION_HEADER",
    "ATTESTATION_POP_HEADER",
    "ATTESTATION_POP_TYP",
    "ATTESTATION_TYP",
    "AUTH_METHOD",
    "CHALLENGE_HEADER",
    "VerifiedClientAttestation",
    "create_client_attestation",
    "create_client_attestation_pop",
    "verify_client_attestation",
]

#: §5.1: "The typ (JWT type) header MUST be oauth-client-attestation+jwt".
ATTESTATION_TYP: Final = "oauth-client-attestation+jwt"
#: §5.2: "The typ (JWT type) header MUST be oauth-client-attestation-pop+jwt".
ATTESTATION_POP_TYP: Final = "oauth-client-attestation-pop+jwt"
#: §5.1 / §5.2: the HTTP header fields carrying them; §6.2: the one carrying a fresh challenge.
ATTESTATION_HEADER: Final = "OAuth-Client-Attestation"
ATTESTATION_POP_HEADER: Final = "OAuth-Client-Attestation-PoP"
CHALLENGE_HEADER: Final = "OAuth-Client-Attestation-Challenge"
#: §11: the ``token_endpoint_auth_method`` value of this method (with the Client Attestation PoP JWT).
AUTH_METHOD: Final = "attest_jwt_client_auth"

MAX_ATTESTATION_SIZE = 16 * 1024
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")


@dataclass(frozen=True, slots=True)
class VerifiedClientAttestation:
    """A Client Attestation and its PoP that passed §7.1 and §7.2: the client, its instance key, the attester."""

    client_id: str
    instance_key: PublicKey
    claims: dict[str, Any]
    pop_claims: dict[str, Any]
    attester_chain: tuple[x509.Certificate, ...]

    @property
    def jti(self) -> str:
        """The PoP's ``jti``, for the caller's replay store (§12.1)."""
        return str(self.pop_claims["jti"])


def create_client_attestation(
    attester: Signer,
    x5c: Sequence[str],
    *,
    client_id: str,
    instance_jwk: Mapping[str, Any],
    now: float,
    lifetime: float = 3600,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """A Client Attestation JWT (§5.1): ``sub`` = ``client_id`` ("REQUIRED"), ``exp`` ("REQUIRED"), ``cnf.jwk``
    ("REQUIRED ... The key MUST be expressed using the jwk representation"), ``iat``; the attester's certificate
    chain in ``x5c`` (HAIP 1.0 §4.4.1). ``extra_claims`` adds e.g. OpenID4VCI Appendix E ``wallet_name``,
    ``wallet_link``, ``iss``."""
    if any(member in instance_jwk for member in _PRIVATE_MEMBERS):
        raise KeyError_("cnf.jwk must be a public key", reason="private_jwk")
    claims: dict[str, Any] = dict(extra_claims or {})
    claims.update(sub=client_id, iat=int(now), exp=int(now + lifetime), cnf={"jwk": dict(instance_jwk)})
    return encode_jwt(claims, attester, typ=ATTESTATION_TYP, header={"x5c": list(x5c)})


def create_client_attestation_pop(
    instance: Signer,
    *,
    audience: str,
    now: float,
    client_id: str | None = None,
    challenge: str | None = None,
    jti: str | None = None,
) -> str:
    """A Client Attestation PoP JWT (§5.2): ``aud`` ("the RFC 8414 issuer identifier URL of the Authorization
    Server"), ``jti``, ``iat``, and ``challenge`` when the server provided one (§6). ``client_id`` adds ``iss``,
    which earlier revisions of the draft (those OpenID4VCI 1.0 cites) require and the current one lets servers
    ignore ("All claims that are not understood by implementations MUST be ignored")."""
    claims: dict[str, Any] = {}
    if client_id is not None:
        claims["iss"] = client_id
    claims.update(aud=audience, jti=jti or secrets.token_urlsafe(18), iat=int(now))
    if challenge is not None:
        claims["challenge"] = challenge
    return encode_jwt(claims, _KeyOnly(instance), typ=ATTESTATION_POP_TYP)


class _KeyOnly:
    """A PoP names no key: the verifier takes it from the attestation's ``cnf`` (§5.2 rule 3)."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    @property
    def alg(self) -> str:
        return self._signer.alg

    @property
    def kid(self) -> None:
        return None

    @property
    def public_jwk(self) -> dict[str, str]:
        return self._signer.public_jwk

    def sign(self, data: bytes) -> bytes:
        return self._signer.sign(data)


def _single(values: Sequence[str], name: str) -> str:
    # §7.1 item 1 / §7.2 item 1: "There is precisely one ... HTTP request header field".
    if len(values) != 1 or not values[0]:
        raise InvalidClient(f"exactly one {name} header field is required", reason="attestation_header_count")
    if len(values[0]) > MAX_ATTESTATION_SIZE:
        raise InvalidClient(f"{name} is too large", reason="attestation_too_large")
    return values[0]


def verify_client_attestation(
    attestation_headers: Sequence[str],
    pop_headers: Sequence[str],
    *,
    anchors: Sequence[x509.Certificate],
    audience: str,
    now: float,
    client_id: str | None = None,
    challenge: str | None = None,
    algorithms: Collection[str] = ("ES256",),
    max_pop_age: float = 300.0,
    skew: float = 60.0,
) -> VerifiedClientAttestation:
    """Verify a Client Attestation with its PoP (§7.1 and §7.2). Every failure is ``invalid_client`` (RFC 6749
    §5.2, the draft's §7.4) with a specific ``reason``.

    Attestation (§7.1): 1. precisely one header; 2. required claims and header parameters (``typ``, ``sub``,
    ``exp``, ``cnf``); 3. ``alg`` allowlisted; 4. signature by a trusted attester — here the ``x5c`` leaf, validated
    to ``anchors`` (HAIP 1.0 §4.4.1); 5. ``cnf`` is not a private key; 6. fresh (``exp``, ``iat``); 7. "If a
    client_id is provided in the request ... this client_id matches the sub claim".
    PoP (§7.2): 1. precisely one header; 2. ``typ``, ``aud``, ``jti``, ``iat``; 3. ``alg``; 4. signature by the
    ``cnf`` key; 5. ``challenge`` equal to the server-provided one, if any; 6. ``iat`` within ``max_pop_age``;
    7. ``aud`` is this authorization server's issuer identifier.
    """
    token = _single(attestation_headers, ATTESTATION_HEADER)
    pop = _single(pop_headers, ATTESTATION_POP_HEADER)
    try:
        header = parse_compact(token, max_size=MAX_ATTESTATION_SIZE)[3]
        chain = verify_x5c(header.get("x5c"), anchors, now=now)  # 4.
        verified = decode_jwt(
            token,
            chain.public_key,
            tuple(algorithms),  # 3.
            typ=ATTESTATION_TYP,  # 2.
            clock=lambda: now,
            skew=skew,
            require=("exp",),  # 6.
            max_size=MAX_ATTESTATION_SIZE,
        )
    except SsiError as exc:
        raise InvalidClient(f"client attestation rejected: {exc.description}", reason="attestation_invalid") from None
    claims = verified.claims
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:  # 2.
        raise InvalidClient("client attestation lacks the REQUIRED sub", reason="attestation_missing_sub")
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):  # 2.
        raise InvalidClient("client attestation lacks the REQUIRED cnf.jwk", reason="attestation_missing_cnf")
    if any(member in jwk for member in _PRIVATE_MEMBERS):  # 5.
        raise InvalidClient("client attestation cnf holds a private key", reason="attestation_private_cnf")
    try:
        instance_key = PublicKey.from_jwk(jwk)
    except KeyError_:
        raise InvalidClient("client attestation cnf.jwk is not a usable key", reason="attestation_bad_cnf") from None
    if client_id is not None and client_id != sub:  # 7.
        raise InvalidClient("client_id is not the sub of the client attestation", reason="attestation_wrong_client")
    try:
        pop_verified = decode_jwt(
            pop,
            instance_key,  # 4.
            tuple(algorithms),  # 3.
            typ=ATTESTATION_POP_TYP,  # 2.
            clock=lambda: now,
            skew=skew,
            require=("iat",),
            max_size=MAX_ATTESTATION_SIZE,
        )
    except (JoseError, SsiError) as exc:
        raise InvalidClient(f"client attestation PoP rejected: {exc.description}", reason="pop_invalid") from None
    pop_claims = pop_verified.claims
    jti = pop_claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:  # 2.
        raise InvalidClient("client attestation PoP lacks a jti", reason="pop_missing_jti")
    if pop_claims.get("aud") != audience:  # 7.
        raise InvalidClient("client attestation PoP is meant for another audience", reason="pop_wrong_aud")
    iat = pop_claims["iat"]
    if iat < now - max_pop_age - skew:  # 6.
        raise InvalidClient("client attestation PoP is too old", reason="pop_too_old")
    if challenge is not None and pop_claims.get("challenge") != challenge:  # 5.
        raise InvalidClient("client attestation PoP lacks the server's challenge", reason="pop_wrong_challenge")
    return VerifiedClientAttestation(
        client_id=sub,
        instance_key=instance_key,
        claims=claims,
        pop_claims=pop_claims,
        attester_chain=chain.chain,
    )
