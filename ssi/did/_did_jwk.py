"""did:jwk (did:jwk Method Specification): a DID whose method-specific id is the base64url of a public JWK.

    did-jwk-format  := did:jwk:<base64url-value>
    base64url-value := [A-Za-z0-9_-]+

Supported JWKs: EC P-256 and secp256k1, OKP Ed25519 (signature keys) and OKP X25519 (key agreement only, with
``"use": "enc"``). "Only JWKs containing public key material may be used, a JWK for a private key must never be used
and must be rejected by all implementations when encountered."
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ssi.did._document import _PRIVATE_JWK_MEMBERS, DID_CONTEXT, DidDocument
from ssi.did._syntax import parse_did
from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import DidError, EncodingError, KeyError_
from ssi.keys import PublicKey

METHOD: Final = "jwk"
JWS_2020_CONTEXT: Final = "https://w3id.org/security/suites/jws-2020/v1"
_SIGNATURE_RELATIONSHIPS: Final = ("assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation")


def did_jwk_from_public_key(key: PublicKey) -> str:
    """did:jwk Create: serialize the public JWK (REQUIRED members, sorted, no whitespace) and base64url it."""
    return "did:jwk:" + b64url_encode(json_dumps(dict(sorted(key.jwk.items()))).encode("utf-8"))


def jwk_from_did_jwk(did: str) -> dict[str, Any]:
    """did:jwk Read steps 1-4: decode and validate the JWK of a did:jwk DID."""
    parsed = parse_did(did)
    if parsed.method != METHOD:
        raise DidError(f"not a did:jwk DID (method {parsed.method!r})", reason="invalidDid")
    value = parsed.method_specific_id
    # 1. Remove the prefix did:jwk:  2. Decode the remaining string using base64url  3. Parse as UTF-8 JSON
    try:
        jwk = json_loads(b64url_decode(value))
    except EncodingError as exc:
        raise DidError(f"did:jwk value is not base64url-encoded JSON: {exc.description}", reason="invalidDid") from None
    if not isinstance(jwk, dict):
        raise DidError("did:jwk value must encode a JSON object (a JWK)", reason="invalidDid")
    # 4. Validate the JWK properties
    _validate(jwk)
    return jwk


def _validate(jwk: Mapping[str, Any]) -> None:
    if _PRIVATE_JWK_MEMBERS & set(jwk):
        # Security Considerations: "a JWK for a private key must never be used and must be rejected"
        raise DidError("did:jwk must not contain private key material", reason="invalidDid")
    use = jwk.get("use")
    if use is not None and use not in ("sig", "enc"):
        raise DidError("did:jwk 'use' must be 'sig' or 'enc' (RFC 7517 §4.2)", reason="invalidPublicKey")
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "X25519":
        x = jwk.get("x")
        try:
            raw = b64url_decode(x) if isinstance(x, str) else b""
        except EncodingError:
            raw = b""
        if len(raw) != 32:
            raise DidError(
                "X25519 JWK 'x' must be 32 base64url-encoded octets (RFC 8037 §2)", reason="invalidPublicKey"
            )
        if use != "enc":
            # "the curve [...] X25519 is only valid for "enc" (see RFC 8037)"
            raise DidError('an X25519 did:jwk must have "use": "enc"', reason="invalidPublicKey")
        return
    if not isinstance(jwk.get("kty"), str) or not isinstance(jwk.get("crv"), str):
        raise DidError("did:jwk key type is not supported (EC, OKP with a 'crv')", reason="unsupportedPublicKeyType")
    try:
        key = PublicKey.from_jwk(jwk)
    except KeyError_ as exc:
        reason = "unsupportedPublicKeyType" if exc.reason == "unsupported_key" else "invalidPublicKey"
        raise DidError(f"did:jwk key: {exc.description}", reason=reason) from None
    # PublicKey.from_jwk already refused Ed25519 points off the curve.
    if key.alg == "EdDSA" and use == "enc":
        # "the curve ed25519 is only valid for "sig" use"
        raise DidError('an Ed25519 did:jwk cannot have "use": "enc"', reason="invalidPublicKey")


def public_key_from_did_jwk(did: str) -> PublicKey:
    """The verification key of a did:jwk DID (signature keys only)."""
    jwk = jwk_from_did_jwk(did)
    try:
        return PublicKey.from_jwk(jwk)
    except KeyError_ as exc:
        raise DidError(f"did:jwk key: {exc.description}", reason="unsupportedPublicKeyType") from None


def resolve_did_jwk(did: str) -> DidDocument:
    """did:jwk Read step 5: the DID document, with the single verification method ``#0``."""
    jwk = jwk_from_did_jwk(did)
    vm_id = f"{did}#0"  # "the DID URL fragment identifier is always a fixed #0 value"
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT, JWS_2020_CONTEXT],
        "id": did,
        "verificationMethod": [{"id": vm_id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}],
    }
    use = jwk.get("use")
    # "If the JWK contains a use property with the value "sig" then the keyAgreement property is not included in
    # the DID Document. If the use value is "enc" then only the keyAgreement property is included"
    if use != "enc":
        for name in _SIGNATURE_RELATIONSHIPS:
            document[name] = [vm_id]
    if use != "sig":
        document["keyAgreement"] = [vm_id]
    return DidDocument.from_json(document)


class DidJwkDriver:
    """did:jwk resolver driver (pure computation, no I/O)."""

    method: Final = METHOD

    def resolve(self, did: str) -> DidDocument:
        return resolve_did_jwk(did)
