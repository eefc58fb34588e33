"""did:key (W3C CCG "The did:key Method" v0.7), producing ``Multikey`` verification methods.

    did-key-format := did:key:<mb-value>
    mb-value       := z[a-km-zA-HJ-NP-Z1-9]+

Supported keys: Ed25519 (multicodec 0xed), P-256 (0x1200) and secp256k1 (0xe7), see :mod:`ssi.did._multikey`.
X25519 key-agreement derivation (``enableEncryptionKeyDerivation``) is not done, so documents have no
``keyAgreement``. The optional version component (``did:key:1:z…``) is refused: it would give the same key a second
identifier, and identifiers are compared as strings.
"""

from __future__ import annotations

from typing import Final

from ssi.did._document import DID_CONTEXT, MULTIKEY_TYPE, DidDocument
from ssi.did._multikey import MULTIBASE_BASE58BTC, decode_multikey, encode_multikey
from ssi.did._syntax import parse_did
from ssi.errors import DidError
from ssi.keys import PublicKey

METHOD: Final = "key"
MULTIKEY_CONTEXT: Final = "https://w3id.org/security/multikey/v1"


def did_key_from_public_key(key: PublicKey) -> str:
    """did:key §3.1 Create: ``did:key:`` + multibase(base58btc, multicodec(type, raw public key))."""
    return f"did:key:{encode_multikey(key)}"


def _multibase_value(did: str) -> str:
    parsed = parse_did(did)
    # did:key §3.1.1 step 3: "The scheme MUST be the value did. The method MUST be the value key. [...] The
    # multibaseValue MUST be a string and begin with the letter z. If any of these requirements fail, an
    # invalidDid error MUST be raised."
    if parsed.method != METHOD:
        raise DidError(f"not a did:key DID (method {parsed.method!r})", reason="invalidDid")
    value = parsed.method_specific_id
    if ":" in value:
        raise DidError("did:key with a version component is not supported; use did:key:<mb-value>", reason="invalidDid")
    if not value.startswith(MULTIBASE_BASE58BTC):
        raise DidError("did:key multibase value must begin with 'z' (base58btc)", reason="invalidDid")
    return value


def public_key_from_did_key(did: str) -> PublicKey:
    """Decode the public key of a did:key DID (did:key §3.1.4 "Decode Public Key Algorithm")."""
    value = _multibase_value(did)
    key = decode_multikey(value)
    if encode_multikey(key) != value:  # pragma: no cover - the decoders above accept only canonical encodings
        raise DidError("did:key value is not the canonical encoding of its key", reason="invalidDid")
    return key


def resolve_did_key(did: str) -> DidDocument:
    """did:key §3.1.1 "Document Creation Algorithm" with ``publicKeyFormat`` ``Multikey``."""
    value = _multibase_value(did)
    public_key_from_did_key(did)  # the key must decode and lie on its curve before we describe it
    vm_id = f"{did}#{value}"
    return DidDocument.from_json(
        {
            "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
            "id": did,
            "verificationMethod": [
                {"id": vm_id, "type": MULTIKEY_TYPE, "controller": did, "publicKeyMultibase": value},
            ],
            # "Initialize the authentication, assertionMethod, capabilityInvocation, and the capabilityDelegation
            # properties in document to an array where the first item is the value of the id property in
            # signatureVerificationMethod."
            "authentication": [vm_id],
            "assertionMethod": [vm_id],
            "capabilityInvocation": [vm_id],
            "capabilityDelegation": [vm_id],
        }
    )


class DidKeyDriver:
    """did:key resolver driver (pure computation, no I/O)."""

    method: Final = METHOD

    def resolve(self, did: str) -> DidDocument:
        return resolve_did_key(did)
