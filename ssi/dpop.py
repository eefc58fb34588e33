"""OAuth 2.0 Demonstrating Proof of Possession (DPoP), RFC 9449 — both roles.

The client (the wallet) proves possession of a key with a fresh ``dpop+jwt`` for every request
(:func:`create_dpop_proof`); the server (authorization server, resource server) checks it
(:func:`verify_dpop_proof`). HAIP 1.0 requires DPoP for every grant.

Replay of ``jti`` is the caller's to detect (it needs shared storage): ``verify_dpop_proof`` returns the ``jti`` and
``iat`` and the caller records the ``jti`` for at least ``max_age + skew`` seconds (RFC 9449 §11.1).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import InvalidDpopProof, JoseError, KeyError_, UseDpopNonce
from ssi.jose import sign_compact, verify_compact
from ssi.keys import PublicKey, Signer

__all__ = [
    "DPOP_TYP",
    "DpopProof",
    "access_token_hash",
    "create_dpop_proof",
    "normalize_htu",
    "verify_dpop_proof",
]

DPOP_TYP = "dpop+jwt"
#: Proofs are tiny; anything bigger is not a DPoP proof (defence against resource exhaustion).
MAX_PROOF_SIZE = 8 * 1024
MAX_JTI_LENGTH = 256
MAX_NONCE_LENGTH = 512


@dataclass(frozen=True)
class DpopProof:
    """A verified DPoP proof: the key it proves (``jkt`` = RFC 7638 thumbprint, RFC 9449 §6.1) and its identifiers."""

    jkt: str
    jti: str
    iat: float
    public_key: PublicKey
    nonce: str | None


def normalize_htu(url: str) -> str:
    """The ``htu`` form of a URL: "without query and fragment parts" (RFC 9449 §4.2), scheme and host lower case,
    default ports dropped (the syntax-based normalisation of RFC 3986 §6.2.2–6.2.3 that §4.3 point 9 refers to)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and not ((scheme == "https" and port == 443) or (scheme == "http" and port == 80)):
        host = f"{host}:{port}"
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, "", ""))


def access_token_hash(access_token: str) -> str:
    """``ath``: "the base64url-encoded SHA-256 hash of the ASCII encoding of the associated access token's value"
    (RFC 9449 §4.2)."""
    return b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())


def create_dpop_proof(
    signer: Signer,
    *,
    htm: str,
    htu: str,
    now: float,
    nonce: str | None = None,
    access_token: str | None = None,
    jti: str | None = None,
) -> str:
    """A DPoP proof JWT (RFC 9449 §4.2): header ``typ`` ``dpop+jwt``, ``alg``, ``jwk`` (public only); claims ``jti``,
    ``htm``, ``htu`` (without query and fragment), ``iat``, and ``ath`` when presenting an access token, ``nonce``
    when the server provided one."""
    claims: dict[str, Any] = {
        "jti": jti or b64url_encode(secrets.token_bytes(16)),
        "htm": htm,
        "htu": normalize_htu(htu),
        "iat": int(now),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    header = {"typ": DPOP_TYP, "jwk": dict(signer.public_jwk)}
    # The proof names its key by value; a `kid` would only tie proofs to a stored key needlessly.
    return sign_compact(json_dumps(claims).encode(), _WithoutKid(signer), header)


class _WithoutKid:
    """The signer with ``kid`` hidden: RFC 9449 proofs carry the key itself in ``jwk``."""

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


def _header_key(header: dict[str, Any]) -> PublicKey:
    """§4.3 point 7: "the jwk JOSE Header Parameter does not contain a private key"; point 5/6: a valid public key
    for an asymmetric algorithm."""
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidDpopProof("DPoP proof header has no jwk", reason="dpop_missing_jwk")
    if any(member in jwk for member in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise InvalidDpopProof("DPoP proof header jwk contains private key material", reason="dpop_private_jwk")
    try:
        return PublicKey.from_jwk(jwk)
    except KeyError_ as exc:
        raise InvalidDpopProof(f"DPoP proof jwk is invalid: {exc.description}", reason="dpop_invalid_jwk") from None


def verify_dpop_proof(
    proof: str,
    *,
    htm: str,
    htu: str,
    now: float,
    nonce: str | None = None,
    nonce_required: bool = False,
    access_token: str | None = None,
    jkt: str | None = None,
    max_age: float = 60.0,
    skew: float = 5.0,
    algorithms: Collection[str] = ("ES256", "EdDSA"),
) -> DpopProof:
    """Check a DPoP proof by the list of RFC 9449 §4.3 (replay of ``jti``, point 12, is the caller's):

    1. "there is not more than one DPoP HTTP request header field" — the caller passes exactly one value;
    2. "the DPoP HTTP request header field value is a single and well-formed JWT";
    3. "all required claims per Section 4.2 are contained in the JWT";
    4. "the typ JOSE Header Parameter has the value dpop+jwt";
    5. "the alg JOSE Header Parameter indicates a registered asymmetric digital signature algorithm, is not none, is
       supported by the application, and is acceptable per local policy";
    6. "the JWT signature verifies with the public key contained in the jwk JOSE Header Parameter";
    7. "the jwk JOSE Header Parameter does not contain a private key";
    8. "the htm claim matches the HTTP method of the current request";
    9. "the htu claim matches the HTTP URI value for the HTTP request in which the JWT was received, ignoring any
       query and fragment parts";
    10. "if the server provided a nonce value to the client, the nonce claim matches the server-provided nonce";
    11. "the creation time of the JWT, as determined by either the iat claim or a server managed timestamp via the
        nonce claim, is within an acceptable window";
    13. "if presented to a protected resource in conjunction with an access token": ``ath`` equals the hash of the
        token and the key matches the one the token is bound to (``jkt``, §6).
    """
    if not isinstance(proof, str) or not proof:
        raise InvalidDpopProof("DPoP proof is missing", reason="dpop_missing")
    if len(proof) > MAX_PROOF_SIZE:
        raise InvalidDpopProof("DPoP proof is too large", reason="dpop_too_large")
    key_holder: list[PublicKey] = []

    def header_key(header: Any) -> PublicKey:
        if header.get("typ") != DPOP_TYP:  # 4.
            raise InvalidDpopProof("DPoP proof typ must be dpop+jwt", reason="dpop_wrong_typ")
        key = _header_key(header)  # 7.
        key_holder.append(key)
        return key

    try:
        verified = verify_compact(proof, header_key, algorithms, max_size=MAX_PROOF_SIZE)  # 2., 5., 6.
        claims = verified.json_payload()
    except InvalidDpopProof:
        raise
    except JoseError as exc:
        raise InvalidDpopProof(f"DPoP proof rejected: {exc.description}", reason=f"dpop_{exc.reason}") from None
    if not isinstance(claims, dict):
        raise InvalidDpopProof("DPoP proof payload must be a JSON object", reason="dpop_malformed")
    public_key = key_holder[-1]
    # 3. jti, htm, htu, iat are required (§4.2); ath when an access token is presented.
    jti, claim_htm, claim_htu, iat = (claims.get(name) for name in ("jti", "htm", "htu", "iat"))
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise InvalidDpopProof("DPoP proof needs a jti string", reason="dpop_missing_jti")
    if not isinstance(claim_htm, str) or not isinstance(claim_htu, str):
        raise InvalidDpopProof("DPoP proof needs htm and htu strings", reason="dpop_missing_claim")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidDpopProof("DPoP proof needs a numeric iat", reason="dpop_missing_iat")
    if claim_htm != htm:  # 8. (method names are case-sensitive, RFC 9110 §9.1)
        raise InvalidDpopProof("DPoP proof htm does not match the request method", reason="dpop_wrong_htm")
    try:
        htu_matches = normalize_htu(claim_htu) == normalize_htu(htu)
    except ValueError:
        htu_matches = False
    if not htu_matches:  # 9.
        raise InvalidDpopProof("DPoP proof htu does not match the request URI", reason="dpop_wrong_htu")
    claim_nonce = claims.get("nonce")
    if claim_nonce is not None and (not isinstance(claim_nonce, str) or len(claim_nonce) > MAX_NONCE_LENGTH):
        raise InvalidDpopProof("DPoP proof nonce must be a string", reason="dpop_malformed_nonce")
    if nonce_required or nonce is not None:  # 10. (§8: answer use_dpop_nonce so the client retries with it)
        if claim_nonce is None:
            raise UseDpopNonce("the server requires a DPoP nonce", reason="dpop_nonce_missing")
        if nonce is None or not secrets.compare_digest(claim_nonce, nonce):
            raise UseDpopNonce("the DPoP nonce is wrong or stale", reason="dpop_nonce_wrong")
    if iat > now + skew or iat < now - max_age - skew:  # 11.
        raise InvalidDpopProof("DPoP proof iat is outside the acceptable window", reason="dpop_iat_window")
    thumbprint = public_key.thumbprint()
    if access_token is not None:  # 13.
        ath = claims.get("ath")
        if not isinstance(ath, str) or not secrets.compare_digest(ath, access_token_hash(access_token)):
            raise InvalidDpopProof("DPoP proof ath does not match the access token", reason="dpop_wrong_ath")
    if jkt is not None and not secrets.compare_digest(thumbprint, jkt):
        raise InvalidDpopProof("DPoP proof key is not the key the token is bound to", reason="dpop_wrong_key")
    return DpopProof(jkt=thumbprint, jti=jti, iat=float(iat), public_key=public_key, nonce=claim_nonce)
