"""BBS signatures, draft-irtf-cfrg-bbs-signatures-09, on py-arkworks-bls12381 (DESIGN.md §3 "BBS is ours").

The BBS Signatures Interface on octet strings (``api_id = ciphersuite_id || "H2G_HM2S_"``), ciphersuites
BLS12-381-SHA-256 (default) and BLS12-381-SHAKE-256:

- :func:`keygen` / :func:`generate_secret_key` / :func:`sk_to_pk` — §3.4;
- :func:`sign` / :func:`verify` — §3.5.1, §3.5.2;
- :func:`proof_gen` / :func:`proof_verify` — §3.5.3, §3.5.4, with header and presentation header;
- :func:`public_key_to_multikey` / :func:`public_key_from_multikey` — Multikey ``bls12_381-g2-pub`` (0xeb).

Keys, signatures and proofs are octet strings as in the draft (SK 32, PK 96, signature 80, proof 272 + 32·U octets).
Every input is validated: point encodings (canonical, on the curve, in the subgroup, not the identity), scalar
ranges, message counts, disclosed-index order and bounds; failures are :class:`ssi.errors.BbsError` subclasses with
a specific ``reason``. Verification raises on failure and returns ``None`` on success.
"""

from ssi.bbs._generators import create_generators, messages_to_scalars
from ssi.bbs._keys import generate_secret_key, keygen, octets_to_secret_key, sk_to_pk
from ssi.bbs._multikey import BLS12_381_G2_PUB_PREFIX, public_key_from_multikey, public_key_to_multikey
from ssi.bbs._octets import PROOF_LENGTH_FLOOR, SIGNATURE_LENGTH, octets_to_proof, octets_to_pubkey
from ssi.bbs._proof import RandomScalars, calculate_random_scalars, proof_gen, proof_verify
from ssi.bbs._signature import sign, verify
from ssi.bbs._suite import (
    BLS12_381_SHA_256,
    BLS12_381_SHAKE_256,
    CIPHERSUITES,
    MAX_MESSAGES,
    Ciphersuite,
    expand_message_xmd,
    expand_message_xof,
)

__all__ = [
    "BLS12_381_G2_PUB_PREFIX",
    "BLS12_381_SHAKE_256",
    "BLS12_381_SHA_256",
    "CIPHERSUITES",
    "MAX_MESSAGES",
    "PROOF_LENGTH_FLOOR",
    "SIGNATURE_LENGTH",
    "Ciphersuite",
    "RandomScalars",
    "calculate_random_scalars",
    "create_generators",
    "expand_message_xmd",
    "expand_message_xof",
    "generate_secret_key",
    "keygen",
    "messages_to_scalars",
    "octets_to_proof",
    "octets_to_pubkey",
    "octets_to_secret_key",
    "proof_gen",
    "proof_verify",
    "public_key_from_multikey",
    "public_key_to_multikey",
    "sign",
    "sk_to_pk",
    "verify",
]
