"""Encrypted Authorization Responses (OpenID4VP 1.0 §8.3) for Response Mode ``direct_post.jwt`` (§8.3.1), with
joserfc as the JWE implementation (docs/decisions.md).

HAIP 1.0: JWE ``alg`` ``ECDH-ES`` with keys on P-256 and ``enc`` ``A128GCM`` MUST be supported; govssi also offers
``A256GCM``. The Verifier makes one ephemeral key per request (:meth:`ResponseEncryptionKey.generate`) and publishes
it in ``client_metadata.jwks`` (§5.1: "This allows the Verifier to pass ephemeral keys specific to this
Authorization Request"), so a response encrypted for one request cannot be decrypted for another.

§8.3 rules enforced here:
- "The alg parameter MUST be present in the JWKs" and "The JWE alg algorithm used MUST be equal to the alg value of
  the chosen jwk";
- "If the selected public key contains a kid parameter, the JWE MUST include the same value in the kid JWE Header";
- "The JWE enc content encryption algorithm used is obtained from the encrypted_response_enc_values_supported
  parameter ..., allowing for the default value of A128GCM when not explicitly set";
- "the payload of the encrypted JWT response MUST include the contents of the response ... as top-level JSON
  members".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError as JoserfcError
from joserfc.jwk import ECKey

from ssi.encoding import b64url_json, json_dumps, json_loads
from ssi.errors import EncodingError, InputTooLarge, InvalidAuthorizationResponse, Oid4vpError
from ssi.keys import PrivateKey

__all__ = [
    "DEFAULT_ENC",
    "ECDH_ES",
    "SUPPORTED_ENC",
    "ResponseEncryptionKey",
    "choose_encryption",
    "decrypt_response",
    "encrypt_response",
]

ECDH_ES = "ECDH-ES"
#: §8.3: "allowing for the default value of A128GCM when not explicitly set".
DEFAULT_ENC = "A128GCM"
SUPPORTED_ENC = ("A128GCM", "A256GCM")
#: A JWE larger than this is refused before any decoding (an encrypted VP Token of a few credentials is a few KiB).
MAX_JWE_SIZE = 256 * 1024


def _registry(algorithms: Sequence[str]) -> jwe.JWERegistry:
    """joserfc's registry allowing exactly ``algorithms``; its ciphertext bound (64 KiB by default) raised to ours,
    which :func:`decrypt_response` checks before decoding."""
    registry = jwe.JWERegistry(algorithms=list(algorithms))
    registry.max_ciphertext_length = MAX_JWE_SIZE
    return registry


@dataclass(frozen=True)
class ResponseEncryptionKey:
    """An ephemeral P-256 key agreement key of one Authorization Request. ``private_jwk`` goes into the request's
    session (never elsewhere); ``public_jwk`` into ``client_metadata.jwks``."""

    private_jwk: dict[str, str]

    @classmethod
    def generate(cls, kid: str) -> ResponseEncryptionKey:
        jwk = dict(PrivateKey.generate("ES256").private_jwk())
        jwk.update(kid=kid, use="enc", alg=ECDH_ES)
        return cls(jwk)

    @property
    def kid(self) -> str:
        return self.private_jwk["kid"]

    @property
    def public_jwk(self) -> dict[str, str]:
        return {k: v for k, v in self.private_jwk.items() if k != "d"}


def client_metadata(
    key: ResponseEncryptionKey, *, enc_values: Sequence[str] = SUPPORTED_ENC, vp_formats: Mapping[str, Any]
) -> dict[str, Any]:
    """``client_metadata`` (§5.1, §11.1) announcing the encryption key, the accepted ``enc`` values and formats."""
    return {
        "jwks": {"keys": [key.public_jwk]},
        "encrypted_response_enc_values_supported": list(enc_values),
        "vp_formats_supported": dict(vp_formats),
    }


def choose_encryption(metadata: Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
    """The Wallet's choice (§8.3): a P-256 ``ECDH-ES`` key from ``client_metadata.jwks`` and an ``enc`` it supports
    from ``encrypted_response_enc_values_supported`` (default ``A128GCM``). Raises ``Oid4vpError``
    (``invalid_request``) when the Verifier offers nothing usable."""
    jwks = (metadata or {}).get("jwks")
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise Oid4vpError("client_metadata has no jwks to encrypt the response to (§8.3)", reason="no_encryption_key")
    chosen = None
    for jwk in keys:
        if (
            isinstance(jwk, dict)
            and jwk.get("kty") == "EC"
            and jwk.get("crv") == "P-256"
            and jwk.get("alg") == ECDH_ES  # §8.3 "The alg parameter MUST be present in the JWKs."
            and jwk.get("use", "enc") == "enc"
            and "d" not in jwk
        ):
            chosen = jwk
            break
    if chosen is None:
        raise Oid4vpError("client_metadata offers no P-256 ECDH-ES key (HAIP 1.0)", reason="no_encryption_key")
    offered = (metadata or {}).get("encrypted_response_enc_values_supported", [DEFAULT_ENC])
    if not isinstance(offered, list):
        raise Oid4vpError("encrypted_response_enc_values_supported must be an array", reason="bad_client_metadata")
    for enc in offered:
        if enc in SUPPORTED_ENC:
            return dict(chosen), enc
    raise Oid4vpError("the Verifier offers no content encryption this wallet supports", reason="unsupported_enc")


def encrypt_response(payload: Mapping[str, Any], jwk: Mapping[str, Any], enc: str) -> str:
    """The Wallet encrypts the Authorization Response parameters to the Verifier's key: an unsigned, encrypted JWT
    (§8.3 "implementations MUST use an unsigned, encrypted JWT as described in RFC 7519")."""
    if enc not in SUPPORTED_ENC:
        raise Oid4vpError(f"content encryption {enc!r} is not supported", reason="unsupported_enc")
    header: dict[str, Any] = {"alg": ECDH_ES, "enc": enc}
    if "kid" in jwk:
        header["kid"] = jwk["kid"]  # §8.3 "the JWE MUST include the same value in the kid JWE Header Parameter"
    try:
        public = ECKey.import_key({k: v for k, v in jwk.items() if k != "d"})
        plaintext = json_dumps(dict(payload)).encode("utf-8")
        return jwe.encrypt_compact(header, plaintext, public, registry=_registry([ECDH_ES, enc]))
    except (JoserfcError, ValueError, TypeError) as exc:
        raise Oid4vpError(
            f"cannot encrypt to the Verifier's key: {type(exc).__name__}", reason="bad_encryption_key"
        ) from None


def decrypt_response(
    token: Any,
    key: ResponseEncryptionKey,
    *,
    enc_values: Sequence[str] = SUPPORTED_ENC,
    error: Callable[..., Oid4vpError] = InvalidAuthorizationResponse,
) -> dict[str, Any]:
    """The Verifier decrypts a ``response`` (§8.3.1) with the request's key; the result is the JSON object of
    Authorization Response parameters. Every failure is ``InvalidAuthorizationResponse`` with a specific reason:
    ``response_too_large``, ``response_malformed``, ``response_wrong_alg`` (not ECDH-ES, or an ``enc`` we did not
    offer), ``response_wrong_key`` (``kid`` of another key), ``response_decryption_failed`` (encrypted to another key,
    or tampered)."""
    if not isinstance(token, str) or not token:
        raise error("'response' must be a JWE compact serialization (§8.3.1)", reason="response_malformed")
    if len(token) > MAX_JWE_SIZE:
        raise error(f"'response' is larger than {MAX_JWE_SIZE} bytes", reason="response_too_large")
    parts = token.split(".")
    if len(parts) != 5:
        raise error("'response' must be a JWE compact serialization (§8.3.1)", reason="response_malformed")
    try:
        header = b64url_json(parts[0])
    except (EncodingError, InputTooLarge):
        raise error("the JWE header is malformed", reason="response_malformed") from None
    if not isinstance(header, dict):
        raise error("the JWE header must be a JSON object", reason="response_malformed")
    if header.get("alg") != ECDH_ES or header.get("enc") not in enc_values:
        raise error("the response must use ECDH-ES with an offered enc (§8.3, HAIP 1.0)", reason="response_wrong_alg")
    if "kid" in header and header["kid"] != key.kid:
        raise error("the response was encrypted to another key (kid, §8.3)", reason="response_wrong_key")
    if parts[1]:
        # ECDH-ES is direct key agreement (RFC 7518 §4.6): "the JWE Encrypted Key MUST be the empty octet sequence"
        raise error("ECDH-ES responses carry no encrypted key", reason="response_malformed")
    try:
        private = ECKey.import_key(dict[str, str | list[str]](key.private_jwk))
        plaintext = jwe.decrypt_compact(token, private, registry=_registry([ECDH_ES, *enc_values])).plaintext
    except (JoserfcError, ValueError, TypeError, KeyError):
        raise error(
            "the response does not decrypt with this request's key", reason="response_decryption_failed"
        ) from None
    try:
        payload = json_loads(plaintext or b"")
    except EncodingError:
        raise error("the decrypted response is not JSON", reason="response_malformed") from None
    if not isinstance(payload, dict):
        raise error("the decrypted response must be a JSON object (§8.3)", reason="response_malformed")
    return payload
