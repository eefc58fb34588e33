"""Key generation of the BBS draft (draft-irtf-cfrg-bbs-signatures-09 §3.4): KeyGen, SkToPk, and the strict
decoding of a secret key (an integer ``0 < SK < r`` as 32 octets, I2OSP)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from py_arkworks_bls12381 import G2Point

from ssi.bbs._octets import i2osp_scalar, scalar
from ssi.bbs._suite import BLS12_381_SHA_256, OCTET_SCALAR_LENGTH, Ciphersuite, R
from ssi.errors import BbsInputError


def keygen(
    key_material: bytes, key_info: bytes = b"", key_dst: bytes | None = None, *, suite: Ciphersuite = BLS12_381_SHA_256
) -> bytes:
    """§3.4.1 ``KeyGen``: ``hash_to_scalar(key_material || I2OSP(length(key_info), 2) || key_info, key_dst)``.

    ``key_dst`` defaults to ``ciphersuite_id || "KEYGEN_DST_"`` as the draft's text says (its fixtures pass
    ``api_id || "KEYGEN_DST_"`` explicitly; KeyGen "is not required for compatibility").
    """
    if not isinstance(key_material, bytes) or not isinstance(key_info, bytes):
        raise BbsInputError("key_material and key_info must be octet strings", reason="bbs_key_material")
    # 1. "if length(key_material) < 32, return INVALID"
    if len(key_material) < 32:
        raise BbsInputError("key_material must be at least 32 octets", reason="bbs_key_material_too_short")
    # 2. "if length(key_info) > 65535, return INVALID"
    if len(key_info) > 65535:
        raise BbsInputError("key_info must be at most 65535 octets", reason="bbs_key_info_too_long")
    dst = suite.ciphersuite_id + b"KEYGEN_DST_" if key_dst is None else key_dst
    sk = suite.hash_to_scalar(key_material + len(key_info).to_bytes(2, "big") + key_info, dst)
    # 5. "if SK is INVALID, return INVALID" (SK must satisfy 0 < SK < r)
    if sk == 0:
        raise BbsInputError("key material hashes to the zero scalar", reason="bbs_invalid_secret_key")
    return i2osp_scalar(sk)


def generate_secret_key(
    random_bytes: Callable[[int], bytes] = secrets.token_bytes, *, suite: Ciphersuite = BLS12_381_SHA_256
) -> bytes:
    """A fresh secret key: KeyGen over 32 octets from a CSPRNG (§6.7: "key_material [...] MUST be infeasible to
    guess")."""
    return keygen(random_bytes(32), suite=suite)


def octets_to_secret_key(sk: bytes) -> int:
    """A secret key as 32 octets (I2OSP) with ``0 < SK < r`` (§3.4.2 "a secret integer such that 0 < SK < r")."""
    if not isinstance(sk, bytes) or len(sk) != OCTET_SCALAR_LENGTH:
        raise BbsInputError(f"secret key must be {OCTET_SCALAR_LENGTH} octets", reason="bbs_invalid_secret_key")
    value = int.from_bytes(sk, "big")
    if not 0 < value < R:
        raise BbsInputError("secret key must be in 1..r-1", reason="bbs_invalid_secret_key")
    return value


def sk_to_pk(sk: bytes) -> bytes:
    """§3.4.2 ``SkToPk``: ``point_to_octets_E2(SK * BP2)``."""
    return (G2Point() * scalar(octets_to_secret_key(sk))).to_compressed_bytes()
