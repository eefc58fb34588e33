"""Key Attestations in JWT format (OpenID4VCI 1.0 Appendix D) and their two uses in a Credential Request: in the
``key_attestation`` header of a ``jwt`` key proof (Appendix F.1) and as the ``attestation`` proof type (F.3).

The wallet's key storage component (or its wallet provider) signs a ``key-attestation+jwt`` listing the public keys it
holds (``attested_keys``) and how well it resists attacks (``key_storage``, ``user_authentication``, Appendix D.2).
HAIP 1.0 §4.5.1: "Wallets MUST support key attestations as defined in Annex D" and "If batch issuance is used, all
public keys used in Credential Request SHOULD be attested within a single key attestation"; the signer's certificate
chain travels in ``x5c`` and is validated against the wallet providers the issuer trusts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509

from ssi.encoding import json_dumps
from ssi.errors import InvalidProof, KeyError_, SsiError
from ssi.jose import decode_jwt, parse_compact, sign_compact
from ssi.keys import PublicKey, Signer
from ssi.oid4vci._common import PROOF_JWT_TYP
from ssi.oid4vci.proof import MAX_PROOF_SIZE, VerifiedKeyProof, verify_proof_jwt
from ssi.x509 import verify_x5c

__all__ = [
    "ATTESTATION_PROOF_TYPE",
    "ISO_18045_BASIC",
    "ISO_18045_ENHANCED_BASIC",
    "ISO_18045_HIGH",
    "ISO_18045_MODERATE",
    "KEY_ATTESTATION_TYP",
    "VerifiedKeyAttestation",
    "create_attested_proof_jwt",
    "create_key_attestation",
    "verify_attested_proof_jwt",
    "verify_key_attestation",
]

#: D.1: "typ: REQUIRED. MUST be key-attestation+jwt".
KEY_ATTESTATION_TYP: Final = "key-attestation+jwt"
#: F: the proof type that carries a key attestation without proof of possession.
ATTESTATION_PROOF_TYPE: Final = "attestation"
#: D.2 Attack Potential Resistance values.
ISO_18045_HIGH: Final = "iso_18045_high"
ISO_18045_MODERATE: Final = "iso_18045_moderate"
ISO_18045_ENHANCED_BASIC: Final = "iso_18045_enhanced-basic"
ISO_18045_BASIC: Final = "iso_18045_basic"

MAX_ATTESTED_KEYS = 100
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")


@dataclass(frozen=True, slots=True)
class VerifiedKeyAttestation:
    """A key attestation that passed :func:`verify_key_attestation`."""

    attested_keys: tuple[PublicKey, ...]
    key_storage: tuple[str, ...]
    user_authentication: tuple[str, ...]
    nonce: str | None
    claims: dict[str, Any]
    chain: tuple[x509.Certificate, ...]

    def attests(self, key: PublicKey) -> bool:
        return key in self.attested_keys


def create_key_attestation(
    signer: Signer,
    x5c: Sequence[str],
    *,
    attested_keys: Sequence[Mapping[str, Any]],
    now: float,
    lifetime: float = 86400,
    nonce: str | None = None,
    key_storage: Sequence[str] = (),
    user_authentication: Sequence[str] = (),
    issuer: str | None = None,
    certification: str | None = None,
) -> str:
    """A key attestation (D.1): header ``typ``, ``alg``, ``x5c``; claims ``iat`` (REQUIRED), ``exp`` ("MUST be
    present if the attestation is used with the JWT proof type" — always set here), ``attested_keys`` ("REQUIRED. A
    non-empty array of attested keys"), and the optional ``key_storage``, ``user_authentication``, ``nonce`` (F.1:
    "If the Credential Issuer provided a c_nonce, the nonce claim in the key attestation MUST be set to" it),
    ``certification``, ``iss``."""
    if not attested_keys:
        raise KeyError_("a key attestation attests at least one key (D.1)", reason="no_attested_keys")
    for jwk in attested_keys:
        if any(member in jwk for member in _PRIVATE_MEMBERS):
            raise KeyError_("attested_keys must hold public keys only", reason="private_jwk")
    claims: dict[str, Any] = {}
    if issuer is not None:
        claims["iss"] = issuer
    claims.update(iat=int(now), exp=int(now + lifetime), attested_keys=[dict(k) for k in attested_keys])
    if key_storage:
        claims["key_storage"] = list(key_storage)
    if user_authentication:
        claims["user_authentication"] = list(user_authentication)
    if certification is not None:
        claims["certification"] = certification
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"typ": KEY_ATTESTATION_TYP, "x5c": list(x5c)}
    return sign_compact(json_dumps(claims).encode("utf-8"), _NoKid(signer), header)


def create_attested_proof_jwt(
    signer: Signer,
    key_attestation: str,
    *,
    audience: str,
    now: float,
    nonce: str | None = None,
    client_id: str | None = None,
) -> str:
    """A ``jwt`` key proof (F.1) whose header also carries ``key_attestation`` ("JOSE Header containing a key
    attestation as described in Appendix D"); the key stays in ``jwk`` (binding method ``jwk``)."""
    claims: dict[str, Any] = {}
    if client_id is not None:
        claims["iss"] = client_id
    claims["aud"] = audience
    claims["iat"] = int(now)
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"typ": PROOF_JWT_TYP, "jwk": dict(signer.public_jwk), "key_attestation": key_attestation}
    return sign_compact(json_dumps(claims).encode("utf-8"), _NoKid(signer), header)


class _NoKid:
    """``kid`` "MUST NOT be present if jwk or x5c is present" (F.1); a key attestation names its key by ``x5c``."""

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


def _strings(claims: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = claims.get(name)
    if value is None:
        return ()
    # D.1: "OPTIONAL. A non-empty array of case sensitive strings".
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidProof(f"key attestation {name} must be a non-empty array of strings", reason="ka_malformed")
    return tuple(value)


def verify_key_attestation(
    token: Any,
    *,
    anchors: Sequence[x509.Certificate],
    now: float,
    nonce: str | None = None,
    algorithms: Collection[str] = ("ES256",),
    required_key_storage: Collection[str] = (),
    required_user_authentication: Collection[str] = (),
    skew: float = 60.0,
) -> VerifiedKeyAttestation:
    """Verify a key attestation (Appendix D.1); every failure is ``invalid_proof`` with a specific reason:

    - ``typ`` ``key-attestation+jwt``; ``alg`` not ``none`` nor a MAC and allowlisted (F.1: the ``alg`` of a
      ``key_attestation`` "MUST match one of the values listed in the proof_signing_alg_values_supported");
    - the signature by the ``x5c`` leaf, whose chain validates to one of ``anchors`` (the trusted wallet providers);
    - ``iat`` REQUIRED, ``exp`` REQUIRED (it is used with the jwt proof type) and not passed;
    - ``attested_keys`` a non-empty array of public JWKs;
    - ``nonce`` equal to the issuer's ``c_nonce`` when one is expected (F.1);
    - ``key_storage`` / ``user_authentication`` contain one of the accepted values, when the issuer's
      ``key_attestations_required`` names some (§12.2.4).
    """
    if not isinstance(token, str) or not token:
        raise InvalidProof("a key attestation must be a compact JWT", reason="ka_malformed")
    try:
        header = parse_compact(token, max_size=MAX_PROOF_SIZE)[3]
        chain = verify_x5c(header.get("x5c"), anchors, now=now)
        verified = decode_jwt(
            token,
            chain.public_key,
            tuple(algorithms),
            typ=KEY_ATTESTATION_TYP,
            clock=lambda: now,
            skew=skew,
            require=("iat", "exp"),
            max_size=MAX_PROOF_SIZE,
        )
    except SsiError as exc:
        raise InvalidProof(f"key attestation rejected: {exc.description}", reason="ka_invalid") from None
    claims = verified.claims
    raw_keys = claims.get("attested_keys")
    if not isinstance(raw_keys, list) or not raw_keys or len(raw_keys) > MAX_ATTESTED_KEYS:
        raise InvalidProof("key attestation attested_keys must be a non-empty array", reason="ka_no_keys")
    keys = []
    for jwk in raw_keys:
        if not isinstance(jwk, dict) or any(member in jwk for member in _PRIVATE_MEMBERS):
            raise InvalidProof("attested_keys must hold public JWKs", reason="ka_bad_key")
        try:
            keys.append(PublicKey.from_jwk(jwk))
        except KeyError_:
            raise InvalidProof("an attested key is not a usable JWK", reason="ka_bad_key") from None
    got_nonce = claims.get("nonce")
    if nonce is not None and got_nonce != nonce:
        raise InvalidProof("key attestation nonce is not the c_nonce (F.1)", reason="ka_wrong_nonce")
    key_storage = _strings(claims, "key_storage")
    user_authentication = _strings(claims, "user_authentication")
    if required_key_storage and not set(key_storage) & set(required_key_storage):
        raise InvalidProof("key storage does not meet the issuer's requirement", reason="ka_key_storage")
    if required_user_authentication and not set(user_authentication) & set(required_user_authentication):
        raise InvalidProof("user authentication does not meet the issuer's requirement", reason="ka_user_auth")
    return VerifiedKeyAttestation(
        attested_keys=tuple(keys),
        key_storage=key_storage,
        user_authentication=user_authentication,
        nonce=got_nonce if isinstance(got_nonce, str) else None,
        claims=claims,
        chain=chain.chain,
    )


def verify_attested_proof_jwt(
    proof: Any,
    *,
    anchors: Sequence[x509.Certificate],
    audience: str,
    now: float,
    algorithms: Collection[str] = ("ES256",),
    client_id: str | None = None,
    nonce_required: bool = True,
    required_key_storage: Collection[str] = (),
    required_user_authentication: Collection[str] = (),
) -> tuple[VerifiedKeyProof, VerifiedKeyAttestation]:
    """A ``jwt`` key proof with a ``key_attestation`` header: the proof by F.4 (:func:`verify_proof_jwt`), the
    attestation by D.1 with the proof's ``nonce`` as the expected one (F.1), and "the Credential Issuer MUST validate
    that the JWT used as a proof is signed by a key contained in the attestation in the JOSE Header" (D.1)."""
    verified = verify_proof_jwt(
        proof,
        audience=audience,
        now=now,
        algorithms=algorithms,
        nonce_required=nonce_required,
        client_id=client_id,
    )
    header = parse_compact(proof, max_size=MAX_PROOF_SIZE)[3]
    if "key_attestation" not in header:
        raise InvalidProof("the key proof carries no key_attestation", reason="ka_missing")
    attestation = verify_key_attestation(
        header["key_attestation"],
        anchors=anchors,
        now=now,
        nonce=verified.nonce,
        algorithms=algorithms,
        required_key_storage=required_key_storage,
        required_user_authentication=required_user_authentication,
    )
    if not attestation.attests(verified.public_key):
        raise InvalidProof("the proof key is not among the attested keys (D.1)", reason="ka_key_not_attested")
    return verified, attestation
