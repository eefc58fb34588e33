"""Input validation of ``ssi.bbs`` (draft-irtf-cfrg-bbs-signatures-09): each rule refused with its own reason, never
a crash. Point decoding follows §4.2.4.3/§4.2.4.5/§4.2.4.6 and Appendix B.2.2; §6.2: "applications MUST execute all
the subgroup checks defined by this document"."""

from __future__ import annotations

from typing import Any

import pytest
from py_arkworks_bls12381 import G1Point, G2Point

from ssi import bbs
from ssi.bbs._suite import EXPAND_LEN, P, R
from ssi.errors import BbsEncodingError, BbsError, BbsInputError, BbsVerificationError

SK = bbs.keygen(b"k" * 32)
PK = bbs.sk_to_pk(SK)
MESSAGES = [b"alpha", b"beta", b"gamma", b"delta"]
SIGNATURE = bbs.sign(SK, PK, MESSAGES, header=b"hdr")
PROOF = bbs.proof_gen(PK, SIGNATURE, MESSAGES, [1, 3], header=b"hdr", ph=b"ph")


def _g1(x: int, flags: int = 0x80) -> bytes:
    data = bytearray(x.to_bytes(48, "big"))
    data[0] |= flags
    return bytes(data)


def _is_square(value: int) -> bool:
    return pow(value % P, (P - 1) // 2, P) == 1


# x = 4: 4^3 + 4 is a square mod p, so (4, y) is on E1 — but the cofactor of E1 is large, and it is not in G1.
_G1_NOT_IN_SUBGROUP = _g1(next(x for x in range(1, 100) if _is_square(x**3 + 4)))
_G1_NOT_ON_CURVE = _g1(next(x for x in range(1, 100) if not _is_square(x**3 + 4)))
# x = (x_0 = 5, x_1 = 0) is on E2, not in G2 (checked in the test)
_G2_NOT_IN_SUBGROUP = bytes([0x80]) + bytes(94) + b"\x05"
_G1_BAD: dict[str, tuple[bytes, str]] = {
    "short": (_g1(1)[:47], "bbs_invalid_length"),
    "uncompressed flag": (_g1(4, 0x00), "bbs_invalid_point"),
    "x >= p": (_g1(P), "bbs_invalid_point"),
    "not on curve": (_G1_NOT_ON_CURVE, "bbs_invalid_point"),
    "identity": (_g1(0, 0xC0), "bbs_identity_point"),
    "identity with sign bit (0xE0)": (_g1(0, 0xE0), "bbs_noncanonical_point"),
    "identity flag with non-zero x": (_g1(1, 0xC0), "bbs_noncanonical_point"),
    "not in subgroup": (_G1_NOT_IN_SUBGROUP, "bbs_point_not_in_subgroup"),
}


def _reason(exc_type: type[BbsError], fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(exc_type) as raised:
        fn(*args, **kwargs)
    return raised.value.reason


def test_the_crafted_points_are_what_they_claim() -> None:
    assert not G1Point.from_compressed_bytes_unchecked(_G1_NOT_IN_SUBGROUP).is_in_subgroup()
    assert not G2Point.from_compressed_bytes_unchecked(_G2_NOT_IN_SUBGROUP).is_in_subgroup()


# --- public keys (§4.2.4.6) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pk", "reason"),
    [
        (PK[:95], "bbs_invalid_length"),
        (PK + b"\x00", "bbs_invalid_length"),
        (bytes([0xC0]) + bytes(95), "bbs_identity_point"),
        (bytes([0xE0]) + bytes(95), "bbs_noncanonical_point"),
        (_G2_NOT_IN_SUBGROUP, "bbs_point_not_in_subgroup"),
        (_g1(P) + bytes(48), "bbs_invalid_point"),  # x_1 = p is no field element
        (bytes(96), "bbs_invalid_point"),  # no compression flag
    ],
)
def test_public_key_is_refused_everywhere(pk: bytes, reason: str) -> None:
    """§4.2.4.6 steps 1-4, in Sign (§6.1 recommends it), Verify, ProofGen and ProofVerify alike."""
    assert _reason(BbsEncodingError, bbs.octets_to_pubkey, pk) == reason
    assert _reason(BbsEncodingError, bbs.verify, pk, SIGNATURE, MESSAGES, header=b"hdr") == reason
    assert _reason(BbsEncodingError, bbs.sign, SK, pk, MESSAGES) == reason
    assert _reason(BbsEncodingError, bbs.proof_gen, pk, SIGNATURE, MESSAGES, [0]) == reason
    assert _reason(BbsEncodingError, bbs.proof_verify, pk, PROOF, [b"beta", b"delta"], [1, 3]) == reason


def test_public_key_must_be_bytes() -> None:
    assert _reason(BbsEncodingError, bbs.octets_to_pubkey, bytearray(PK)) == "bbs_invalid_length"


# --- signatures (§4.2.4.3) -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("point", "reason"), list(_G1_BAD.values()), ids=list(_G1_BAD))
def test_signature_point(point: bytes, reason: str) -> None:
    """§4.2.4.3 steps 4-7: A is a point of E1, not the identity, in G1 (and encoded canonically)."""
    signature = point + SIGNATURE[48:]
    expected = "bbs_invalid_length" if len(signature) != 80 else reason
    assert _reason(BbsEncodingError, bbs.verify, PK, signature, MESSAGES, header=b"hdr") == expected


@pytest.mark.parametrize("e", [0, R, R + 1, 2**256 - 1])
def test_signature_scalar_range(e: int) -> None:
    """§4.2.4.3 step 11: "if e = 0 or e >= r, return INVALID"."""
    signature = SIGNATURE[:48] + e.to_bytes(32, "big")
    assert _reason(BbsEncodingError, bbs.verify, PK, signature, MESSAGES, header=b"hdr") == "bbs_scalar_out_of_range"
    assert _reason(BbsEncodingError, bbs.proof_gen, PK, signature, MESSAGES, [0]) == "bbs_scalar_out_of_range"


@pytest.mark.parametrize("length", [0, 79, 81, 48])
def test_signature_length(length: int) -> None:
    signature = (SIGNATURE * 2)[:length]
    assert _reason(BbsEncodingError, bbs.verify, PK, signature, MESSAGES) == "bbs_invalid_length"


def test_signature_with_the_wrong_key_or_header() -> None:
    other = bbs.sk_to_pk(bbs.keygen(b"o" * 32))
    assert _reason(BbsVerificationError, bbs.verify, other, SIGNATURE, MESSAGES, header=b"hdr") == (
        "bbs_signature_invalid"
    )
    assert _reason(BbsVerificationError, bbs.verify, PK, SIGNATURE, MESSAGES) == "bbs_signature_invalid"


# --- proofs (§4.2.4.5) -----------------------------------------------------------------------------------------------


_G1_BAD_48 = {name: case for name, case in _G1_BAD.items() if len(case[0]) == 48}


@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize(("point", "reason"), list(_G1_BAD_48.values()), ids=list(_G1_BAD_48))
def test_proof_points(position: int, point: bytes, reason: str) -> None:
    """§4.2.4.5 steps 6-8 for Abar, Bbar and D: "if A_i is INVALID or Identity_G1, return INVALID"; subgroup check."""
    proof = PROOF[: 48 * position] + point + PROOF[48 * (position + 1) :]
    assert _reason(BbsEncodingError, bbs.proof_verify, PK, proof, [b"beta", b"delta"], [1, 3], header=b"hdr") == reason


@pytest.mark.parametrize("position", range(6))  # e^, r1^, r3^, m^_1, m^_2, c
@pytest.mark.parametrize("value", [0, R, 2**256 - 1])
def test_proof_scalars(position: int, value: int) -> None:
    """§4.2.4.5 step 14: "if s_j = 0 or if s_j >= r, return INVALID", for every scalar of the proof."""
    offset = 144 + 32 * position
    proof = PROOF[:offset] + value.to_bytes(32, "big") + PROOF[offset + 32 :]
    assert _reason(BbsEncodingError, bbs.proof_verify, PK, proof, [b"beta", b"delta"], [1, 3]) == (
        "bbs_scalar_out_of_range"
    )


@pytest.mark.parametrize("length", [0, 271, 273, 272 + 31, 272 + 33])
def test_proof_length(length: int) -> None:
    """§4.2.4.5 step 2 (at least 3 points and 4 scalars) and step 17 (no partial scalar left over)."""
    proof = (PROOF * 2)[:length]
    assert _reason(BbsEncodingError, bbs.proof_verify, PK, proof, [], []) == "bbs_invalid_length"


def test_proof_with_more_undisclosed_messages_than_we_allow_is_refused_before_any_work() -> None:
    proof = PROOF[:144] + PROOF[144:176] * (4 + bbs.MAX_MESSAGES + 1)
    assert _reason(BbsEncodingError, bbs.proof_verify, PK, proof, [], []) == "bbs_too_many_messages"


def test_proof_must_be_bytes() -> None:
    assert _reason(BbsEncodingError, bbs.proof_verify, PK, bytearray(PROOF), [], []) == "bbs_invalid_length"


@pytest.mark.parametrize(
    ("messages", "indexes", "reason"),
    [
        ([b"beta", b"delta"], [3, 1], "bbs_indexes_not_ascending"),
        ([b"beta", b"beta"], [1, 1], "bbs_indexes_not_ascending"),
        ([b"beta", b"delta"], [1, 4], "bbs_index_out_of_range"),  # L = R + U = 4
        ([b"beta", b"delta"], [-1, 3], "bbs_index_out_of_range"),
        ([b"beta"], [1, 3], "bbs_message_count"),
        ([b"beta", b"delta", b"x"], [1, 3], "bbs_message_count"),
        ([b"beta", b"delta"], [1, True], "bbs_index_not_integer"),
        ([b"beta", b"delta"], [1, "3"], "bbs_index_not_integer"),
        ([b"beta", b"delta"], (i for i in (1, 3)), "bbs_index_not_integer"),
        (["beta", "delta"], [1, 3], "bbs_message_not_octets"),
        (b"beta", [1, 3], "bbs_message_not_octets"),
    ],
)
def test_proof_verify_arguments(messages: Any, indexes: Any, reason: str) -> None:
    """§3.7.3 Deserialization 6 ("if i < 0 or i > L - 1, return INVALID") and 8 ("if length(disclosed_messages) != R,
    return INVALID"); indexes "in ascending order"."""
    assert _reason(BbsInputError, bbs.proof_verify, PK, PROOF, messages, indexes, header=b"hdr", ph=b"ph") == reason


def test_proof_verify_reasons_for_wrong_context() -> None:
    disclosed = [b"beta", b"delta"]
    bbs.proof_verify(PK, PROOF, disclosed, [1, 3], header=b"hdr", ph=b"ph")
    for kwargs in ({"header": b"hdr", "ph": b"other"}, {"header": b"other", "ph": b"ph"}):
        assert _reason(BbsVerificationError, bbs.proof_verify, PK, PROOF, disclosed, [1, 3], **kwargs) == (
            "bbs_challenge_mismatch"
        )
    assert _reason(BbsVerificationError, bbs.proof_verify, PK, PROOF, [b"beta", b"x"], [1, 3], header=b"hdr", ph=b"ph")


def test_proof_from_a_signature_by_another_key_fails_the_pairing_check() -> None:
    """CoreProofVerify step 6 on its own: a forger signs with its own secret key but PK's domain (Sign cannot tell,
    §6.1 only checks that PK decodes) and proves honestly — the challenge matches, the pairing does not."""
    forged = bbs.sign(bbs.keygen(b"o" * 32), PK, MESSAGES)
    proof = bbs.proof_gen(PK, forged, MESSAGES, [0], check_signature=False)
    assert _reason(BbsVerificationError, bbs.proof_verify, PK, proof, [b"alpha"], [0]) == "bbs_proof_invalid"


# --- ProofGen arguments (§3.6.3) -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indexes", "reason"),
    [
        ([4], "bbs_index_out_of_range"),
        ([-1], "bbs_index_out_of_range"),
        ([0, 1, 2, 3, 4], "bbs_index_out_of_range"),  # R > L
        ([2, 1], "bbs_indexes_not_ascending"),
        ([1, 1], "bbs_indexes_not_ascending"),
        ([False], "bbs_index_not_integer"),
        ([1.0], "bbs_index_not_integer"),
        ({1, 2}, "bbs_index_not_integer"),
    ],
)
def test_proof_gen_indexes(indexes: Any, reason: str) -> None:
    """§3.6.3 Deserialization 6 ("if R > L, return INVALID") and 8 ("if i < 0 or i > L - 1, return INVALID")."""
    assert _reason(BbsInputError, bbs.proof_gen, PK, SIGNATURE, MESSAGES, indexes, header=b"hdr") == reason


def test_proof_gen_checks_the_signature_unless_told_not_to() -> None:
    """§3.6.3: "It is RECOMMENDED to validate that signature"; without the check the proof is made and fails."""
    assert _reason(BbsVerificationError, bbs.proof_gen, PK, SIGNATURE, MESSAGES, [0]) == "bbs_signature_invalid"
    proof = bbs.proof_gen(PK, SIGNATURE, MESSAGES, [0], check_signature=False)
    with pytest.raises(BbsVerificationError):
        bbs.proof_verify(PK, proof, [b"alpha"], [0])


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (lambda n: [1] * (n - 1), "bbs_random_scalars"),
        (lambda n: [1] * (n + 1), "bbs_random_scalars"),
        (lambda n: [R] + [1] * (n - 1), "bbs_random_scalars"),
        (lambda n: [-1] + [1] * (n - 1), "bbs_random_scalars"),
        (lambda n: [0] + [1] * (n - 1), "bbs_random_scalars"),
        (lambda n: [1, 0] + [1] * (n - 2), "bbs_random_scalars"),
        (lambda n: [1.5] * n, "bbs_random_scalars"),
    ],
)
def test_random_scalars_are_checked(source: Any, reason: str) -> None:
    with pytest.raises(BbsError) as raised:
        bbs.proof_gen(PK, SIGNATURE, MESSAGES, [0], header=b"hdr", random_scalars=source)
    assert raised.value.reason == reason


def test_random_scalars_are_fresh() -> None:
    """§6.7: "the randomness used in ProofGen MUST be unique in each call"."""
    scalars = bbs.calculate_random_scalars(50)
    assert len(set(scalars)) == 50 and all(0 <= s < R for s in scalars)
    assert bbs.proof_gen(PK, SIGNATURE, MESSAGES, [0], header=b"hdr") != bbs.proof_gen(
        PK, SIGNATURE, MESSAGES, [0], header=b"hdr"
    )


# --- keys (§3.4) -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sk", [bytes(32), R.to_bytes(32, "big"), (R + 1).to_bytes(32, "big"), b"\x01" * 31, b""])
def test_secret_key_range(sk: bytes) -> None:
    """§3.4.2: "a secret integer such that 0 < SK < r", 32 octets."""
    assert _reason(BbsInputError, bbs.sk_to_pk, sk) == "bbs_invalid_secret_key"
    assert _reason(BbsInputError, bbs.sign, sk, PK, MESSAGES) == "bbs_invalid_secret_key"


def test_keygen_rules() -> None:
    """§3.4.1 steps 1-2: key_material at least 32 octets, key_info at most 65535."""
    assert _reason(BbsInputError, bbs.keygen, b"k" * 31) == "bbs_key_material_too_short"
    assert _reason(BbsInputError, bbs.keygen, b"k" * 32, b"i" * 65536) == "bbs_key_info_too_long"
    assert _reason(BbsInputError, bbs.keygen, "k" * 32) == "bbs_key_material"
    assert bbs.keygen(b"k" * 32, b"i" * 65535) != bbs.keygen(b"k" * 32)
    assert bbs.keygen(b"k" * 32, b"a") != bbs.keygen(b"k" * 32, b"b")
    assert len(bbs.generate_secret_key()) == 32 and bbs.generate_secret_key() != bbs.generate_secret_key()


def test_keygen_default_dst_is_the_drafts_text() -> None:
    """§3.4.1: key_dst "Defaults to the octet string ciphersuite_id || "KEYGEN_DST_""."""
    suite = bbs.BLS12_381_SHA_256
    assert bbs.keygen(b"k" * 32) == bbs.keygen(b"k" * 32, b"", suite.ciphersuite_id + b"KEYGEN_DST_")


# --- messages, header, hashing ---------------------------------------------------------------------------------------


def test_message_and_header_types() -> None:
    assert _reason(BbsInputError, bbs.sign, SK, PK, ["text"]) == "bbs_message_not_octets"
    assert _reason(BbsInputError, bbs.sign, SK, PK, b"abc") == "bbs_message_not_octets"
    assert _reason(BbsInputError, bbs.sign, SK, PK, MESSAGES, header="hdr") == "bbs_not_octets"
    assert _reason(BbsInputError, bbs.verify, PK, SIGNATURE, MESSAGES, header=None) == "bbs_not_octets"
    assert _reason(BbsInputError, bbs.proof_verify, PK, PROOF, [], [], ph="x") == "bbs_not_octets"


def test_message_count_limit() -> None:
    """Our bound (the draft allows 2^64 - 1): checked before generators are made."""
    too_many = [b""] * (bbs.MAX_MESSAGES + 1)
    assert _reason(BbsInputError, bbs.sign, SK, PK, too_many) == "bbs_too_many_messages"
    assert _reason(BbsInputError, bbs.create_generators, bbs.MAX_MESSAGES + 2, b"x", bbs.BLS12_381_SHA_256) == (
        "bbs_too_many_messages"
    )


def test_empty_message_list_signs_and_proves() -> None:
    """``messages`` defaults to the empty array (§3.5.1); a proof then discloses nothing and has no commitments."""
    signature = bbs.sign(SK, PK)
    bbs.verify(PK, signature)
    proof = bbs.proof_gen(PK, signature, ph=b"n")
    assert len(proof) == bbs.PROOF_LENGTH_FLOOR
    bbs.proof_verify(PK, proof, ph=b"n")


@pytest.mark.parametrize("suite", [bbs.BLS12_381_SHA_256, bbs.BLS12_381_SHAKE_256], ids=lambda s: s.name)
def test_hash_to_scalar_dst_limit(suite: bbs.Ciphersuite) -> None:
    """§4.2.2: "ABORT if: length(dst) > 255"."""
    suite.hash_to_scalar(b"m", b"d" * 255)
    assert _reason(BbsInputError, suite.hash_to_scalar, b"m", b"d" * 256) == "bbs_dst_too_long"


def test_expand_message_limits() -> None:
    """RFC 9380 §5.3.1 step 2 / §5.3.2 step 1: ABORT for len_in_bytes > 65535 (and ell > 255 for XMD)."""
    assert len(bbs.expand_message_xmd(b"", b"d", 255 * 32)) == 255 * 32
    assert _reason(BbsInputError, bbs.expand_message_xmd, b"", b"d", 255 * 32 + 1) == "bbs_expand_message_abort"
    assert len(bbs.expand_message_xof(b"", b"d", 65535)) == 65535
    assert _reason(BbsInputError, bbs.expand_message_xof, b"", b"d", 65536) == "bbs_expand_message_abort"
    assert len(bbs.expand_message_xmd(b"", b"d", EXPAND_LEN)) == EXPAND_LEN
