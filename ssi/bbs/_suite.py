"""BLS12-381 ciphersuites of the BBS draft (draft-irtf-cfrg-bbs-signatures-09 §7.2) and the hashing they define.

- ``expand_message_xmd`` (RFC 9380 §5.3.1, SHA-256) and ``expand_message_xof`` (RFC 9380 §5.3.2, SHAKE-256);
- ``hash_to_curve_g1``: ``BLS12381G1_XMD:SHA-256_SSWU_RO_`` (RFC 9380 §8.8.1) comes from py-arkworks-bls12381;
  ``BLS12381G1_XOF:SHAKE-256_SSWU_RO_`` (draft Appendix A.1) is hash_to_field with expand_message_xof (ours) followed
  by the library's map_to_curve, which already clears the cofactor — a multiplication by ``h_eff``, so
  ``clear_cofactor(Q0 + Q1) == clear_cofactor(Q0) + clear_cofactor(Q1)`` (RFC 9380 §3, §7);
- ``hash_to_scalar`` (draft §4.2.2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from py_arkworks_bls12381 import G1Point

from ssi.errors import BbsInputError

#: The prime order of G1 and G2 (draft Appendix B).
R: Final = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: The base field modulus of BLS12-381 (draft Appendix A.1, ``p``).
P: Final = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
#: §7.2.1/§7.2.2 basic parameters, identical for both suites.
OCTET_SCALAR_LENGTH: Final = 32
OCTET_POINT_LENGTH: Final = 48
OCTET_G2_POINT_LENGTH: Final = 96
EXPAND_LEN: Final = 48  # ceil((ceil(log2(r)) + k) / 8) with k = 128
#: Our bound on the number of signed messages (the draft allows up to 2^64 - 1). Every operation checks it before
#: creating generators, so a hostile proof cannot make a verifier hash thousands of points to the curve.
MAX_MESSAGES: Final = 1024
_HASH_TO_FIELD_L: Final = 64  # RFC 9380 §8.8.1 / draft A.1: L = 64 for BLS12-381 G1

ExpandMessage = Callable[[bytes, bytes, int], bytes]


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """RFC 9380 §5.3.1 ``expand_message_xmd`` with SHA-256 (b_in_bytes = 32, s_in_bytes = 64)."""
    ell = -(-len_in_bytes // 32)
    # 2. "ABORT if ell > 255 or len_in_bytes > 65535 or len(DST) > 255"
    if ell > 255 or len_in_bytes > 65535 or len(dst) > 255:
        raise BbsInputError("expand_message_xmd: output or DST too long", reason="bbs_expand_message_abort")
    dst_prime = dst + bytes([len(dst)])
    b_0 = hashlib.sha256(bytes(64) + msg + len_in_bytes.to_bytes(2, "big") + b"\x00" + dst_prime).digest()
    b_i = hashlib.sha256(b_0 + b"\x01" + dst_prime).digest()
    blocks = [b_i]
    for i in range(2, ell + 1):
        strxor = (int.from_bytes(b_0, "big") ^ int.from_bytes(b_i, "big")).to_bytes(32, "big")
        b_i = hashlib.sha256(strxor + bytes([i]) + dst_prime).digest()
        blocks.append(b_i)
    return b"".join(blocks)[:len_in_bytes]


def expand_message_xof(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """RFC 9380 §5.3.2 ``expand_message_xof`` with SHAKE-256."""
    # 1. "ABORT if len_in_bytes > 65535 or len(DST) > 255"
    if len_in_bytes > 65535 or len(dst) > 255:
        raise BbsInputError("expand_message_xof: output or DST too long", reason="bbs_expand_message_abort")
    dst_prime = dst + bytes([len(dst)])
    return hashlib.shake_256(msg + len_in_bytes.to_bytes(2, "big") + dst_prime).digest(len_in_bytes)


def _hash_to_curve_g1_xof(msg: bytes, dst: bytes) -> G1Point:
    """``BLS12381G1_XOF:SHAKE-256_SSWU_RO_`` (draft Appendix A.1): hash_to_field(msg, 2) with expand_message_xof,
    then ``map_to_curve`` on each element (SSWU + 11-isogeny + cofactor clearing, in the library), then the sum."""
    uniform = expand_message_xof(msg, dst, 2 * _HASH_TO_FIELD_L)
    u0 = int.from_bytes(uniform[:_HASH_TO_FIELD_L], "big") % P
    u1 = int.from_bytes(uniform[_HASH_TO_FIELD_L:], "big") % P
    return G1Point.map_from_fp_be(u0.to_bytes(48, "big")) + G1Point.map_from_fp_be(u1.to_bytes(48, "big"))


@dataclass(frozen=True, eq=False)
class Ciphersuite:
    """A BBS ciphersuite (draft §7.1): its id and the hash-to-curve suite's ``expand_message`` and
    ``hash_to_curve_g1``. Use the module constants :data:`BLS12_381_SHA_256` and :data:`BLS12_381_SHAKE_256`."""

    name: str
    ciphersuite_id: bytes
    expand_message: ExpandMessage
    hash_to_curve_g1: Callable[[bytes, bytes], G1Point]

    @property
    def api_id(self) -> bytes:
        """§3.5: the BBS Signatures Interface's ``api_id = ciphersuite_id || "H2G_HM2S_"``."""
        return self.ciphersuite_id + b"H2G_HM2S_"

    def hash_to_scalar(self, msg: bytes, dst: bytes) -> int:
        """§4.2.2 ``hash_to_scalar``: "ABORT if length(dst) > 255"; ``OS2IP(expand_message(msg, dst, expand_len))
        mod r``."""
        if len(dst) > 255:
            raise BbsInputError("hash_to_scalar: dst longer than 255 octets", reason="bbs_dst_too_long")
        return int.from_bytes(self.expand_message(msg, dst, EXPAND_LEN), "big") % R

    def __repr__(self) -> str:
        return f"Ciphersuite({self.name})"


#: §7.2.2 BLS12-381-SHA-256.
BLS12_381_SHA_256: Final = Ciphersuite(
    name="BLS12-381-SHA-256",
    ciphersuite_id=b"BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_",
    expand_message=expand_message_xmd,
    hash_to_curve_g1=G1Point.hash_to_curve,
)
#: §7.2.1 BLS12-381-SHAKE-256.
BLS12_381_SHAKE_256: Final = Ciphersuite(
    name="BLS12-381-SHAKE-256",
    ciphersuite_id=b"BBS_BLS12381G1_XOF:SHAKE-256_SSWU_RO_",
    expand_message=expand_message_xof,
    hash_to_curve_g1=_hash_to_curve_g1_xof,
)
CIPHERSUITES: Final = {s.name: s for s in (BLS12_381_SHA_256, BLS12_381_SHAKE_256)}
