"""Key proofs of the ``jwt`` proof type (OpenID4VCI 1.0 Appendix F.1) and their verification (Appendix F.4).

The wallet signs, with the key the credential is to be bound to, a JWT typed ``openid4vci-proof+jwt`` whose ``aud``
is the Credential Issuer Identifier and whose ``nonce`` is a server-provided ``c_nonce``. The issuer checks the list
of F.4; whether the ``c_nonce`` is one it issued (and still accepts) is the caller's to decide with its nonce store
(:class:`VerifiedKeyProof` returns it), because that needs shared state.

Key binding is by ``jwk`` only (``cryptographic_binding_methods_supported: ["jwk"]``); proofs naming their key by
``kid`` (a DID URL) or ``x5c`` are refused as unsupported rather than half-checked.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ssi.encoding import json_dumps
from ssi.errors import InvalidProof, KeyError_, SsiError
from ssi.jose import sign_compact, verify_compact
from ssi.keys import PublicKey, Signer
from ssi.oid4vci._common import PROOF_JWT_TYP

__all__ = ["VerifiedKeyProof", "check_distinct_keys", "create_proof_jwt", "verify_proof_jwt"]

#: A key proof is a few hundred bytes; a key attestation in its header may add a few KiB.
MAX_PROOF_SIZE = 16 * 1024
MAX_NONCE_LENGTH = 512
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")


@dataclass(frozen=True, slots=True)
class VerifiedKeyProof:
    """A key proof that passed F.4: the key to bind the credential to, and the ``c_nonce`` it carries."""

    public_key: PublicKey
    jwk: dict[str, str]
    nonce: str | None
    iat: float

    @property
    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint of the proven key."""
        return self.public_key.thumbprint()


def create_proof_jwt(
    signer: Signer,
    *,
    audience: str,
    now: float,
    nonce: str | None = None,
    client_id: str | None = None,
) -> str:
    """A ``jwt`` key proof (F.1): header ``typ``, ``alg``, ``jwk``; claims ``aud``, ``iat``, ``nonce`` and, only for a
    client that authenticated at the token endpoint, ``iss`` = its ``client_id``."""
    claims: dict[str, Any] = {}
    if client_id is not None:
        claims["iss"] = client_id
    claims["aud"] = audience
    claims["iat"] = int(now)
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"typ": PROOF_JWT_TYP, "jwk": dict(signer.public_jwk)}
    return sign_compact(json_dumps(claims).encode("utf-8"), _NoKid(signer), header)


class _NoKid:
    """F.1: ``kid`` "MUST NOT be present if jwk or x5c is present" — the signer's kid is left out."""

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


def _header_key(header: Any) -> PublicKey:
    # F.4: "the key proof is explicitly typed using header parameters as defined for that proof type".
    if header.get("typ") != PROOF_JWT_TYP:
        raise InvalidProof("key proof typ must be openid4vci-proof+jwt (Appendix F.1)", reason="proof_wrong_typ")
    present = [name for name in ("kid", "jwk", "x5c") if name in header]
    if len(present) > 1:
        # F.1: kid "MUST NOT be present if jwk or x5c is present"; jwk "MUST NOT be present if kid or x5c is present".
        raise InvalidProof(
            "key proof header must name its key by exactly one of kid, jwk, x5c", reason="proof_key_ambiguous"
        )
    if present != ["jwk"]:
        raise InvalidProof(
            "key proofs must carry the key in the jwk header (binding method jwk)", reason="proof_key_unsupported"
        )
    jwk = header["jwk"]
    if not isinstance(jwk, dict):
        raise InvalidProof("key proof jwk must be a JSON object", reason="proof_malformed_jwk")
    # F.4: "the header parameter does not contain a private key".
    if any(member in jwk for member in _PRIVATE_MEMBERS):
        raise InvalidProof("key proof jwk contains private key material", reason="proof_private_jwk")
    try:
        return PublicKey.from_jwk(jwk)
    except KeyError_ as exc:
        raise InvalidProof(f"key proof jwk is invalid: {exc.description}", reason="proof_malformed_jwk") from None


def verify_proof_jwt(
    proof: Any,
    *,
    audience: str,
    now: float,
    algorithms: Collection[str] = ("ES256",),
    nonce_required: bool = True,
    client_id: str | None = None,
    max_age: float = 300.0,
    skew: float = 60.0,
) -> VerifiedKeyProof:
    """Verify one ``jwt`` key proof by Appendix F.4 (the ``c_nonce`` value itself is checked by the caller):

    1. "all required claims for that proof type are contained" — ``aud`` (string), ``iat`` (number), and ``nonce``
       when the issuer has a Nonce Endpoint (F.1: "It MUST be present when the issuer has a Nonce Endpoint"; a
       missing one is ``invalid_proof``, §8.3.1.2 item 3);
    2. "the key proof is explicitly typed" — ``typ`` ``openid4vci-proof+jwt``;
    3. "alg parameter value is not none, is supported by the application, and is acceptable per local policy" —
       ``algorithms`` (the configuration's ``proof_signing_alg_values_supported``);
    4. "the signature on the key proof verifies with the public key contained in the header parameter";
    5. "the header parameter does not contain a private key";
    6. "the creation time of the JWT ... is within an acceptable window" — ``iat`` at most ``skew`` seconds ahead and
       at most ``max_age`` + ``skew`` seconds old.

    Also F.1 ``aud``: "MUST be the Credential Issuer Identifier"; ``iss``: "MUST be the client_id of the Client making
    the Credential request. This claim MUST be omitted if the access token ... was obtained from a Pre-Authorized Code
    Flow through anonymous access to the token endpoint" (``client_id=None``).
    """
    if not isinstance(proof, str) or not proof:
        raise InvalidProof("each jwt key proof must be a non-empty string", reason="proof_malformed")
    if len(proof) > MAX_PROOF_SIZE:
        raise InvalidProof("key proof is too large", reason="proof_too_large")
    try:
        verified = verify_compact(proof, _header_key, tuple(algorithms), max_size=MAX_PROOF_SIZE)  # 2.-5.
        claims = verified.json_payload()
    except InvalidProof:
        raise
    except SsiError as exc:  # JOSE checks, signature, size, malformed JSON payload
        raise InvalidProof(f"key proof rejected: {exc.description}", reason=f"proof_{exc.reason}") from None
    if not isinstance(claims, dict):
        raise InvalidProof("key proof payload must be a JSON object", reason="proof_malformed")
    aud = claims.get("aud")
    if not isinstance(aud, str):  # 1.
        raise InvalidProof("key proof aud is REQUIRED and must be a string (F.1)", reason="proof_missing_aud")
    if aud != audience:
        raise InvalidProof("key proof aud is not this Credential Issuer", reason="proof_wrong_aud")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidProof("key proof iat is REQUIRED and must be a number (F.1)", reason="proof_missing_iat")
    if iat > now + skew:  # 6.
        raise InvalidProof("key proof was issued in the future", reason="proof_iat_future")
    if iat < now - max_age - skew:
        raise InvalidProof("key proof is too old", reason="proof_iat_too_old")
    iss = claims.get("iss")
    if client_id is None and iss is not None:
        raise InvalidProof(
            "key proof iss MUST be omitted after anonymous access to the token endpoint (F.1)",
            reason="proof_unexpected_iss",
        )
    if client_id is not None and iss is not None and iss != client_id:
        raise InvalidProof("key proof iss is not the client_id of the client", reason="proof_wrong_iss")
    nonce = claims.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or not nonce or len(nonce) > MAX_NONCE_LENGTH):
        raise InvalidProof("key proof nonce must be a string (F.1)", reason="proof_malformed_nonce")
    if nonce_required and nonce is None:
        raise InvalidProof("key proof lacks the c_nonce (F.1, §8.3.1.2)", reason="proof_missing_nonce")
    return VerifiedKeyProof(public_key=verified.key, jwk=verified.key.jwk, nonce=nonce, iat=float(iat))


def check_distinct_keys(proofs: Sequence[VerifiedKeyProof]) -> None:
    """Batch issuance binds each credential to its own key (§3.3.2: the batch "SHOULD contain different
    Cryptographic Data ... each credential should be bound to different cryptographic keys"; §8.3: "Each key
    provided by the Wallet is used to bind to, at most, one Credential"): a key proven twice is refused."""
    seen: set[str] = set()
    for proof in proofs:
        thumbprint = proof.thumbprint
        if thumbprint in seen:
            raise InvalidProof("the same key is proven twice in one request", reason="proof_duplicate_key")
        seen.add(thumbprint)
