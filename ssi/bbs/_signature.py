"""BBS signatures (draft-irtf-cfrg-bbs-signatures-09 §3.5.1 Sign, §3.5.2 Verify, §3.6.1 CoreSign, §3.6.2
CoreVerify) over octet-string messages with the BBS Signatures Interface (``api_id = ciphersuite_id ||
"H2G_HM2S_"``)."""

from __future__ import annotations

from collections.abc import Sequence

from py_arkworks_bls12381 import GT, G1Point, G2Point

from ssi.bbs._common import require_messages, require_octets
from ssi.bbs._generators import calculate_domain, create_generators, messages_to_scalars, p1
from ssi.bbs._keys import octets_to_secret_key
from ssi.bbs._octets import i2osp_scalar, octets_to_pubkey, octets_to_signature, scalar
from ssi.bbs._suite import BLS12_381_SHA_256, Ciphersuite, R
from ssi.errors import BbsError, BbsVerificationError

_BP2 = G2Point()


def msm(points: Sequence[G1Point], scalars: Sequence[int]) -> G1Point:
    """``P_1 * s_1 + ... + P_n * s_n`` in one multi-scalar multiplication (scalars as integers, taken mod r)."""
    return G1Point.multiexp_unchecked(list(points), [scalar(s) for s in scalars])


def sign(
    sk: bytes,
    pk: bytes,
    messages: Sequence[bytes] = (),
    *,
    header: bytes = b"",
    suite: Ciphersuite = BLS12_381_SHA_256,
) -> bytes:
    """§3.5.1 ``Sign(SK, PK, header, messages)`` (CoreSign §3.6.1): a deterministic signature ``(A, e)``, 80 octets.

    ``pk`` is decoded first (§6.1: "It is RECOMMENDED [...] that they deserialize the public key first using the
    octets_to_pubkey procedure"); it must be SkToPk(sk), or nothing signed will ever verify.
    """
    sk_int = octets_to_secret_key(sk)
    octets_to_pubkey(pk)
    require_octets(header, "header")
    api_id = suite.api_id
    # Sign 1. message_scalars = messages_to_scalars(messages, api_id)
    msgs = messages_to_scalars(require_messages(messages), api_id, suite)
    # Sign 2. generators = create_generators(length(messages) + 1, api_id)
    generators = create_generators(len(msgs) + 1, api_id, suite)
    # CoreSign 1. domain = calculate_domain(PK, Q_1, (H_1, ..., H_L), header, api_id)
    domain = calculate_domain(pk, generators, header, api_id=api_id, suite=suite)
    # 2. e = hash_to_scalar(serialize((SK, msg_1, ..., msg_L, domain)), hash_to_scalar_dst)
    e = suite.hash_to_scalar(b"".join(i2osp_scalar(s) for s in (sk_int, *msgs, domain)), api_id + b"H2S_")
    # Note to §3.6.1: "Implementations MAY elect to check (SK + e) = 0 mod r prior to step 4"
    if (sk_int + e) % R == 0:
        raise BbsError("SK + e = 0 mod r: no signature for this input", reason="bbs_signing_failed")
    # 3. B = P1 + Q_1 * domain + H_1 * msg_1 + ... + H_L * msg_L; 4. A = B * (1 / (SK + e)), as one sum
    inverse = pow(sk_int + e, -1, R)
    a = msm([p1(suite), *generators], [inverse, domain * inverse, *(m * inverse for m in msgs)])
    # 5. return signature_to_octets((A, e))
    return a.to_compressed_bytes() + i2osp_scalar(e)


def verify(
    pk: bytes,
    signature: bytes,
    messages: Sequence[bytes] = (),
    *,
    header: bytes = b"",
    suite: Ciphersuite = BLS12_381_SHA_256,
) -> None:
    """§3.5.2 ``Verify(PK, signature, header, messages)`` (CoreVerify §3.6.2). Returns on VALID; raises
    :class:`BbsEncodingError` for a malformed signature or key, :class:`BbsVerificationError`
    (``bbs_signature_invalid``) when it does not verify."""
    # CoreVerify Deserialization 1-5: octets_to_signature, octets_to_pubkey
    a, e = octets_to_signature(signature)
    w = octets_to_pubkey(pk)
    require_octets(header, "header")
    api_id = suite.api_id
    msgs = messages_to_scalars(require_messages(messages), api_id, suite)
    generators = create_generators(len(msgs) + 1, api_id, suite)
    # 1. domain = calculate_domain(PK, Q_1, (H_1, ..., H_L), header, api_id)
    domain = calculate_domain(pk, generators, header, api_id=api_id, suite=suite)
    # 2. B = P1 + Q_1 * domain + H_1 * msg_1 + ... + H_L * msg_L, computed as A * e - B in one sum
    a_e_minus_b = msm([a, p1(suite), *generators], [e, R - 1, R - domain, *(R - m for m in msgs)])
    # 3. "if h(A, W) * h(A * e - B, BP2) != Identity_GT, return INVALID"
    if not GT.pairing_check([a, a_e_minus_b], [w, _BP2]):
        raise BbsVerificationError("BBS signature does not verify", reason="bbs_signature_invalid")
