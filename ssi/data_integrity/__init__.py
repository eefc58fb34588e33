"""W3C Verifiable Credential Data Integrity 1.0 with the ``bbs-2023`` cryptosuite (vc-di-bbs), JSON-LD processing
with every context bundled (nothing is fetched), RDFC-1.0 canonicalization with a work limit, and the selective
disclosure functions of vc-di-ecdsa §3.3 that bbs-2023 uses.

- issuer: :func:`create_base_proof`;
- holder: :func:`verify_base_proof`, :func:`derive_proof` (with :func:`presentation_header`);
- verifier: :func:`verify_derived_proof` with a :data:`PublicKeyLookup` (:func:`did_public_key_lookup`).
"""

from ssi.data_integrity._jsonld import (
    BUNDLED_CONTEXTS,
    CREDENTIALS_V2,
    GOVSSI_V1,
    ContextLoader,
    bundled_context,
    canonical_nquads,
)
from ssi.data_integrity._selective import json_pointer_to_paths, select_json_ld
from ssi.data_integrity._types import expanded_types
from ssi.data_integrity.bbs_2023 import (
    CRYPTOSUITE,
    PROOF_TYPE,
    BaseProofValue,
    DerivedProofValue,
    PublicKeyLookup,
    VerifiedDocument,
    create_base_proof,
    derive_proof,
    did_public_key_lookup,
    presentation_header,
    verify_base_proof,
    verify_derived_proof,
)

__all__ = [
    "BUNDLED_CONTEXTS",
    "CREDENTIALS_V2",
    "CRYPTOSUITE",
    "GOVSSI_V1",
    "PROOF_TYPE",
    "BaseProofValue",
    "ContextLoader",
    "DerivedProofValue",
    "PublicKeyLookup",
    "VerifiedDocument",
    "bundled_context",
    "canonical_nquads",
    "create_base_proof",
    "derive_proof",
    "did_public_key_lookup",
    "expanded_types",
    "json_pointer_to_paths",
    "presentation_header",
    "select_json_ld",
    "verify_base_proof",
    "verify_derived_proof",
]
