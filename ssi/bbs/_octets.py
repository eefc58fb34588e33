"""Octet encodings of the BBS draft (draft-irtf-cfrg-bbs-signatures-09 §4.2.4, Appendix B.2), decoded strictly.

Every decoded point is checked as the draft requires ("applications MUST execute all the subgroup checks", §6.2):
exactly one canonical compressed encoding (the library accepts some non-canonical identity encodings, so we
re-encode and compare), on the curve, not the identity, in the prime-order subgroup. Scalars must satisfy
``0 < s < r``. Each failure has its own ``reason``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Final, NamedTuple

from py_arkworks_bls12381 import G1Point, G2Point, Scalar

from ssi.bbs._suite import MAX_MESSAGES, OCTET_G2_POINT_LENGTH, OCTET_POINT_LENGTH, OCTET_SCALAR_LENGTH, R
from ssi.errors import BbsEncodingError

_G1_IDENTITY: Final = G1Point.identity()
_G2_IDENTITY: Final = G2Point.identity()
SIGNATURE_LENGTH: Final = OCTET_POINT_LENGTH + OCTET_SCALAR_LENGTH
#: §4.2.4.5 step 1: ``proof_len_floor = 3 * octet_point_length + 4 * octet_scalar_length``.
PROOF_LENGTH_FLOOR: Final = 3 * OCTET_POINT_LENGTH + 4 * OCTET_SCALAR_LENGTH


def scalar(value: int) -> Scalar:
    """An integer mod r as a library scalar (through octets: much faster than ``Scalar(int)``)."""
    return Scalar.from_be_bytes((value % R).to_bytes(32, "big"))


def i2osp_scalar(value: int) -> bytes:
    """§3.3.5: "Scalars will be serialized using I2OSP with [...] octet_scalar_length"."""
    return value.to_bytes(OCTET_SCALAR_LENGTH, "big")


def i2osp8(value: int) -> bytes:
    """§3.3.5: "Non-negative integers will be serialized using I2OSP with an output length of 8 bytes"."""
    return value.to_bytes(8, "big")


def octets_to_scalar(data: bytes, what: str) -> int:
    """OS2IP of a ``octet_scalar_length`` string; §4.2.4.3 step 11 / §4.2.4.5 step 14: INVALID if ``s = 0`` or
    ``s >= r``."""
    if len(data) != OCTET_SCALAR_LENGTH:
        raise BbsEncodingError(f"{what} must be {OCTET_SCALAR_LENGTH} octets", reason="bbs_invalid_length")
    value = int.from_bytes(data, "big")
    if value == 0 or value >= R:
        raise BbsEncodingError(f"{what} is not a scalar in 1..r-1", reason="bbs_scalar_out_of_range")
    return value


def octets_to_point_g1(data: bytes, what: str) -> G1Point:
    """``octets_to_point_E1`` (Appendix B.2.2) + not the identity + ``subgroup_check_G1`` (§4.2.4.3 steps 4-7)."""
    if len(data) != OCTET_POINT_LENGTH:
        raise BbsEncodingError(f"{what} must be {OCTET_POINT_LENGTH} octets", reason="bbs_invalid_length")
    try:
        point = G1Point.from_compressed_bytes_unchecked(data)
    except ValueError:
        raise BbsEncodingError(f"{what} is not a compressed point of E1", reason="bbs_invalid_point") from None
    if point.to_compressed_bytes() != data:
        # B.2.2: "If m_byte equals 0x20 or 0x60 or 0xE0, output INVALID"; "If I_bit is 1 [...] If s_string is not
        # the all zeros string, output INVALID"
        raise BbsEncodingError(f"{what} is not a canonical point encoding", reason="bbs_noncanonical_point")
    if point == _G1_IDENTITY:
        raise BbsEncodingError(f"{what} is the identity point", reason="bbs_identity_point")
    if not point.is_in_subgroup():
        raise BbsEncodingError(f"{what} is not in the subgroup G1", reason="bbs_point_not_in_subgroup")
    return point


def octets_to_pubkey(pk: bytes) -> G2Point:
    """§4.2.4.6 ``octets_to_pubkey``: a point of E2, in G2, not the identity. "implementations MAY cache the result
    of those steps" — we do, per encoded key (a failed decoding is never cached)."""
    if not isinstance(pk, bytes) or len(pk) != OCTET_G2_POINT_LENGTH:
        raise BbsEncodingError(f"public key must be {OCTET_G2_POINT_LENGTH} octets", reason="bbs_invalid_length")
    return _decode_pubkey(pk)


@functools.lru_cache(maxsize=256)
def _decode_pubkey(pk: bytes) -> G2Point:
    try:
        point = G2Point.from_compressed_bytes_unchecked(pk)
    except ValueError:
        raise BbsEncodingError("public key is not a compressed point of E2", reason="bbs_invalid_point") from None
    if point.to_compressed_bytes() != pk:
        raise BbsEncodingError("public key is not a canonical point encoding", reason="bbs_noncanonical_point")
    # 3. "if subgroup_check_G2(W) is INVALID, return INVALID"; 4. "if W == Identity_G2, return INVALID"
    if point == _G2_IDENTITY:
        raise BbsEncodingError("public key is the identity point", reason="bbs_identity_point")
    if not point.is_in_subgroup():
        raise BbsEncodingError("public key is not in the subgroup G2", reason="bbs_point_not_in_subgroup")
    return point


def octets_to_signature(signature: bytes) -> tuple[G1Point, int]:
    """§4.2.4.3 ``octets_to_signature``: ``(A, e)`` with A a non-identity point of G1 and ``0 < e < r``."""
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LENGTH:
        raise BbsEncodingError(f"signature must be {SIGNATURE_LENGTH} octets", reason="bbs_invalid_length")
    a = octets_to_point_g1(signature[:OCTET_POINT_LENGTH], "signature point A")
    e = octets_to_scalar(signature[OCTET_POINT_LENGTH:], "signature scalar e")
    return a, e


class Proof(NamedTuple):
    """A decoded proof (§3.7.2 step 6): ``(Abar, Bbar, D, e^, r1^, r3^, (m^_j1, ..., m^_jU), c)``."""

    a_bar: G1Point
    b_bar: G1Point
    d: G1Point
    e_hat: int
    r1_hat: int
    r3_hat: int
    commitments: tuple[int, ...]
    challenge: int


def proof_to_octets(proof: Proof) -> bytes:
    """§4.2.4.4 ``proof_to_octets``: ``serialize((Abar, Bbar, D, e^, r1^, r3^, m^_1, ..., m^_U, c))``."""
    scalars = (proof.e_hat, proof.r1_hat, proof.r3_hat, *proof.commitments, proof.challenge)
    return b"".join(
        [p.to_compressed_bytes() for p in (proof.a_bar, proof.b_bar, proof.d)] + [i2osp_scalar(s) for s in scalars]
    )


def octets_to_proof(data: bytes, *, max_commitments: int = MAX_MESSAGES) -> Proof:
    """§4.2.4.5 ``octets_to_proof``: three non-identity points of G1, then at least four scalars in 1..r-1, nothing
    left over. ``max_commitments`` bounds the undisclosed-message count before any work is done."""
    if not isinstance(data, bytes):
        raise BbsEncodingError("proof must be an octet string", reason="bbs_invalid_length")
    # 2. "if length(proof_octets) < proof_len_floor, return INVALID"; 17. "if index != length(proof_octets)"
    if len(data) < PROOF_LENGTH_FLOOR or (len(data) - 3 * OCTET_POINT_LENGTH) % OCTET_SCALAR_LENGTH:
        raise BbsEncodingError("proof length does not fit 3 points and 4 or more scalars", reason="bbs_invalid_length")
    count = (len(data) - 3 * OCTET_POINT_LENGTH) // OCTET_SCALAR_LENGTH
    if count - 4 > max_commitments:
        raise BbsEncodingError("proof has more undisclosed messages than allowed", reason="bbs_too_many_messages")
    names = ("Abar", "Bbar", "D")
    points = [
        octets_to_point_g1(data[i * OCTET_POINT_LENGTH : (i + 1) * OCTET_POINT_LENGTH], f"proof point {names[i]}")
        for i in range(3)
    ]
    offset = 3 * OCTET_POINT_LENGTH
    scalars = [
        octets_to_scalar(
            data[offset + j * OCTET_SCALAR_LENGTH : offset + (j + 1) * OCTET_SCALAR_LENGTH], "proof scalar"
        )
        for j in range(count)
    ]
    return Proof(points[0], points[1], points[2], scalars[0], scalars[1], scalars[2], tuple(scalars[3:-1]), scalars[-1])


def serialize_points(points: Sequence[G1Point]) -> bytes:
    """§4.2.4.1 ``serialize`` for a run of G1 points (``point_to_octets_E1``, compressed)."""
    return b"".join(p.to_compressed_bytes() for p in points)
