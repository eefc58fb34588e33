"""Decentralized Identifiers (W3C DID Core 1.0): syntax, the DID document model, and resolution.

- :func:`parse_did` / :func:`parse_did_url` — §3.1 / §3.2 syntax; :func:`resolve_did_url` — §3.2.2 relative URLs;
- :class:`DidDocument` — §5 data model with strict JSON parsing (§6.2) and verification method look-up;
- did:key (Multikey; Ed25519, P-256, secp256k1), did:jwk, did:web (through an injected fetcher);
- :class:`DidResolver` — method drivers (:class:`DidMethodDriver`) and a TTL cache; :func:`default_resolver`;
  :class:`ResolutionResult` — a document with its metadata (drivers implementing :class:`DidResolutionDriver`).
"""

from ssi.did._did_jwk import (
    DidJwkDriver,
    did_jwk_from_public_key,
    jwk_from_did_jwk,
    public_key_from_did_jwk,
    resolve_did_jwk,
)
from ssi.did._did_key import DidKeyDriver, did_key_from_public_key, public_key_from_did_key, resolve_did_key
from ssi.did._did_web import DidWebDriver, did_web_http_fetcher, did_web_to_url
from ssi.did._document import (
    DID_CONTEXT,
    MEDIA_TYPE,
    RELATIONSHIPS,
    DidDocument,
    Service,
    VerificationMethod,
    VerificationRelationship,
)
from ssi.did._multikey import decode_multikey, encode_multikey
from ssi.did._resolver import (
    DidMethodDriver,
    DidResolutionDriver,
    DidResolver,
    ResolutionResult,
    default_resolver,
    did_parameters,
)
from ssi.did._syntax import Did, DidUrl, is_did, parse_did, parse_did_url, resolve_did_url

__all__ = [
    "DID_CONTEXT",
    "MEDIA_TYPE",
    "RELATIONSHIPS",
    "Did",
    "DidDocument",
    "DidJwkDriver",
    "DidKeyDriver",
    "DidMethodDriver",
    "DidResolutionDriver",
    "DidResolver",
    "DidUrl",
    "DidWebDriver",
    "ResolutionResult",
    "Service",
    "VerificationMethod",
    "VerificationRelationship",
    "decode_multikey",
    "default_resolver",
    "did_jwk_from_public_key",
    "did_key_from_public_key",
    "did_parameters",
    "did_web_http_fetcher",
    "did_web_to_url",
    "encode_multikey",
    "is_did",
    "jwk_from_did_jwk",
    "parse_did",
    "parse_did_url",
    "public_key_from_did_jwk",
    "public_key_from_did_key",
    "resolve_did_jwk",
    "resolve_did_key",
    "resolve_did_url",
]
