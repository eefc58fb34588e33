"""BBS proofs (draft-irtf-cfrg-bbs-signatures-09 §3.5.3 ProofGen, §3.5.4 ProofVerify, §3.6.3 CoreProofGen, §3.6.4
CoreProofVerify, §3.7 the proof protocol subroutines): zero-knowledge proofs of knowledge of a signature that
disclose a chosen subset of the signed messages, bound to the header and a presentation header.

Randomness is injected (``random_scalars``): §4.2.1 ``calculate_random_scalars`` by default, the draft's mocked
scalars in the test vectors (§8.1).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import NamedTuple

from py_arkworks_bls12381 import GT, G1Point, G2Point

from ssi.bbs._common import check_disclosed_indexes, require_messages, require_octets
from ssi.bbs._generators import calculate_domain, create_generators, messages_to_scalars, p1
from ssi.bbs._octets import (
    Proof,
    i2osp8,
    i2osp_scalar,
    octets_to_proof,
    octets_to_pubkey,
    octets_to_signature,
    proof_to_octets,
    scalar,
    serialize_points,
)
from ssi.bbs._signature import msm, verify
from ssi.bbs._suite import BLS12_381_SHA_256, EXPAND_LEN, MAX_MESSAGES, Ciphersuite, R
from ssi.errors import BbsError, BbsInputError, BbsVerificationError

#: ``calculate_random_scalars(count)`` (§4.2.1): ``count`` uniformly random scalars in 0..r-1.
RandomScalars = Callable[[int], Sequence[int]]

_MINUS_BP2 = -G2Point()


def calculate_random_scalars(count: int) -> list[int]:
    """§4.2.1: ``r_i = OS2IP(get_random(expand_len)) mod r`` from the operating system's CSPRNG (§6.7: "the
    randomness used in ProofGen MUST be unique in each call")."""
    return [int.from_bytes(secrets.token_bytes(EXPAND_LEN), "big") % R for _ in range(count)]


class ProofInit(NamedTuple):
    """``init_res`` of §3.7.1 / §3.7.3: ``(Abar, Bbar, D, T1, T2, domain)``."""

    a_bar: G1Point
    b_bar: G1Point
    d: G1Point
    t1: G1Point
    t2: G1Point
    domain: int


def challenge(
    init: ProofInit, disclosed: Sequence[tuple[int, int]], ph: bytes, *, api_id: bytes, suite: Ciphersuite
) -> int:
    """§3.7.4 ``ProofChallengeCalculate`` over ``disclosed = ((i1, msg_i1), ..., (iR, msg_iR))``:
    ``hash_to_scalar(serialize((R, i1, msg_i1, ..., iR, msg_iR, Abar, Bbar, D, T1, T2, domain))
    || I2OSP(length(ph), 8) || ph, api_id || "H2S_")``."""
    parts = [i2osp8(len(disclosed))]
    for index, message in disclosed:
        parts += [i2osp8(index), i2osp_scalar(message)]
    parts += [serialize_points([init.a_bar, init.b_bar, init.d, init.t1, init.t2]), i2osp_scalar(init.domain)]
    parts += [i2osp8(len(ph)), ph]
    return suite.hash_to_scalar(b"".join(parts), api_id + b"H2S_")


def proof_init(
    pk: bytes,
    signature: tuple[G1Point, int],
    generators: Sequence[G1Point],
    messages: Sequence[int],
    *,
    random_scalars: Sequence[int],
    header: bytes,
    undisclosed_indexes: Sequence[int],
    api_id: bytes,
    suite: Ciphersuite,
) -> ProofInit:
    """§3.7.1 ``ProofInit`` (inputs already checked by the caller)."""
    a, e = signature
    r1, r2, e_tilde, r1_tilde, r3_tilde, *m_tilde = random_scalars
    h = generators[1:]
    # 1. domain = calculate_domain(PK, Q_1, (H_1, ..., H_L), header, api_id)
    domain = calculate_domain(pk, generators, header, api_id=api_id, suite=suite)
    # 2. B = P1 + Q_1 * domain + H_1 * msg_1 + ... + H_L * msg_L
    b = msm([p1(suite), *generators], [1, domain, *messages])
    # 3. D = B * r2; 4. Abar = A * (r1 * r2); 5. Bbar = D * r1 - Abar * e
    d = b * scalar(r2)
    a_bar = a * scalar(r1 * r2)
    b_bar = msm([d, a_bar], [r1, R - e])
    # 6. T1 = Abar * e~ + D * r1~; 7. T2 = D * r3~ + H_j1 * m~_j1 + ... + H_jU * m~_jU
    t1 = msm([a_bar, d], [e_tilde, r1_tilde])
    t2 = msm([d, *(h[j] for j in undisclosed_indexes)], [r3_tilde, *m_tilde])
    return ProofInit(a_bar, b_bar, d, t1, t2, domain)


def proof_gen(
    pk: bytes,
    signature: bytes,
    messages: Sequence[bytes] = (),
    disclosed_indexes: Sequence[int] = (),
    *,
    header: bytes = b"",
    ph: bytes = b"",
    suite: Ciphersuite = BLS12_381_SHA_256,
    random_scalars: RandomScalars = calculate_random_scalars,
    check_signature: bool = True,
) -> bytes:
    """§3.5.3 ``ProofGen(PK, signature, header, ph, messages, disclosed_indexes)`` (CoreProofGen §3.6.3): a proof
    disclosing ``messages[i]`` for each ``i`` in ``disclosed_indexes`` (strictly ascending), bound to ``header`` and
    the presentation header ``ph``.

    ``check_signature``: §3.6.3 "It is RECOMMENDED to validate that signature [...] with the CoreVerify operation";
    on by default, a holder that verified the signature on receipt may skip the pairing here.
    """
    octets_to_pubkey(pk)  # §6.1: the public key is deserialized first, in CoreProofGen too
    require_octets(header, "header")
    require_octets(ph, "presentation header")
    require_messages(messages)
    # CoreProofGen Deserialization 1-3: (A, e) = octets_to_signature(signature)
    a, e = octets_to_signature(signature)
    if check_signature:
        verify(pk, signature, messages, header=header, suite=suite)
    api_id = suite.api_id
    msgs = messages_to_scalars(messages, api_id, suite)
    generators = create_generators(len(msgs) + 1, api_id, suite)
    # 4-11: R <= L, every index in 0..L-1, ascending; undisclosed_indexes = (0, 1, ..., L - 1) \ disclosed_indexes
    disclosed = check_disclosed_indexes(disclosed_indexes, len(msgs))
    disclosed_set = set(disclosed)
    undisclosed = [j for j in range(len(msgs)) if j not in disclosed_set]
    # 1. random_scalars = calculate_random_scalars(5+U)
    count = 5 + len(undisclosed)
    randoms = list(random_scalars(count))
    if len(randoms) != count or any(not isinstance(x, int) or not 0 <= x < R for x in randoms):
        raise BbsInputError(f"the random source must give {count} scalars in 0..r-1", reason="bbs_random_scalars")
    if randoms[0] == 0 or randoms[1] == 0:  # r1 blinds A; r2 is inverted in ProofFinalize
        raise BbsError("random scalars r1 and r2 must not be zero", reason="bbs_random_scalars")
    # 2. init_res = ProofInit(PK, signature_result, generators, random_scalars, header, messages, undisclosed_indexes)
    init = proof_init(
        pk,
        (a, e),
        generators,
        msgs,
        random_scalars=randoms,
        header=header,
        undisclosed_indexes=undisclosed,
        api_id=api_id,
        suite=suite,
    )
    # 4. challenge = ProofChallengeCalculate(init_res, disclosed_messages, disclosed_indexes, ph, api_id)
    c = challenge(init, [(i, msgs[i]) for i in disclosed], ph, api_id=api_id, suite=suite)
    # 6. proof = ProofFinalize(init_res, challenge, e, random_scalars, undisclosed_messages)  (§3.7.2)
    r1, r2, e_tilde, r1_tilde, r3_tilde, *m_tilde = randoms
    r3 = pow(r2, -1, R)  # 1. r3 = r2^-1 (mod r)
    proof = Proof(
        init.a_bar,
        init.b_bar,
        init.d,
        (e_tilde + e * c) % R,  # 2. e^ = e~ + e_value * challenge
        (r1_tilde - r1 * c) % R,  # 3. r1^ = r1~ - r1 * challenge
        (r3_tilde - r3 * c) % R,  # 4. r3^ = r3~ - r3 * challenge
        # 5. for j in (1, ..., U): m^_j = m~_j + undisclosed_j * challenge (mod r)
        tuple((mt + msgs[j] * c) % R for mt, j in zip(m_tilde, undisclosed, strict=True)),
        c,
    )
    return proof_to_octets(proof)


def proof_verify_init(
    pk: bytes,
    proof: Proof,
    generators: Sequence[G1Point],
    disclosed: Sequence[tuple[int, int]],
    *,
    header: bytes,
    api_id: bytes,
    suite: Ciphersuite,
) -> ProofInit:
    """§3.7.3 ``ProofVerifyInit`` over ``disclosed = ((i1, msg_i1), ...)``, indexes already checked against
    ``L = R + U``."""
    h = generators[1:]
    disclosed_set = {i for i, _ in disclosed}
    undisclosed = [j for j in range(len(h)) if j not in disclosed_set]
    c = proof.challenge
    # 1. domain = calculate_domain(PK, Q_1, (H_1, ..., H_L), header, api_id)
    domain = calculate_domain(pk, generators, header, api_id=api_id, suite=suite)
    # 2. T1 = Bbar * c + Abar * e^ + D * r1^
    t1 = msm([proof.b_bar, proof.a_bar, proof.d], [c, proof.e_hat, proof.r1_hat])
    # 3. Bv = P1 + Q_1 * domain + H_i1 * msg_i1 + ... + H_iR * msg_iR
    # 4. T2 = Bv * c + D * r3^ + H_j1 * m^_j1 + ... + H_jU * m^_jU   (one multi-scalar multiplication)
    t2 = msm(
        [p1(suite), generators[0], *(h[i] for i, _ in disclosed), proof.d, *(h[j] for j in undisclosed)],
        [c, domain * c, *(m * c for _, m in disclosed), proof.r3_hat, *proof.commitments],
    )
    return ProofInit(proof.a_bar, proof.b_bar, proof.d, t1, t2, domain)


def proof_verify(
    pk: bytes,
    proof: bytes,
    disclosed_messages: Sequence[bytes] = (),
    disclosed_indexes: Sequence[int] = (),
    *,
    header: bytes = b"",
    ph: bytes = b"",
    suite: Ciphersuite = BLS12_381_SHA_256,
) -> None:
    """§3.5.4 ``ProofVerify(PK, proof, header, ph, disclosed_messages, disclosed_indexes)`` (CoreProofVerify
    §3.6.4). Returns on VALID; raises :class:`BbsEncodingError` for a malformed proof or key, :class:`BbsInputError`
    for indexes or messages that do not fit the proof, :class:`BbsVerificationError` (``bbs_challenge_mismatch``,
    ``bbs_proof_invalid``) when it does not verify."""
    require_octets(header, "header")
    require_octets(ph, "presentation header")
    require_messages(disclosed_messages)
    # CoreProofVerify Deserialization 1-5: octets_to_proof, octets_to_pubkey
    decoded = octets_to_proof(proof, max_commitments=MAX_MESSAGES)
    w = octets_to_pubkey(pk)
    # ProofVerifyInit Deserialization 2-8: L = R + U; "if i < 0 or i > L - 1, return INVALID";
    # "if length(disclosed_messages) != R, return INVALID"
    if not isinstance(disclosed_indexes, (list, tuple)):
        raise BbsInputError("disclosed indexes must be a list of integers", reason="bbs_index_not_integer")
    total = len(disclosed_indexes) + len(decoded.commitments)
    indexes = check_disclosed_indexes(disclosed_indexes, total)
    if len(disclosed_messages) != len(indexes):
        raise BbsInputError("one disclosed message per disclosed index is needed", reason="bbs_message_count")
    api_id = suite.api_id
    msgs = messages_to_scalars(disclosed_messages, api_id, suite)
    # ProofVerify 2. generators = create_generators(U + R + 1, api_id)
    generators = create_generators(total + 1, api_id, suite)
    disclosed = list(zip(indexes, msgs, strict=True))
    init = proof_verify_init(pk, decoded, generators, disclosed, header=header, api_id=api_id, suite=suite)
    # 3. challenge = ProofChallengeCalculate(...); 5. "if cp != challenge, return INVALID"
    if challenge(init, disclosed, ph, api_id=api_id, suite=suite) != decoded.challenge:
        raise BbsVerificationError("BBS proof does not verify (challenge)", reason="bbs_challenge_mismatch")
    # 6. "if h(Abar, W) * h(Bbar, -BP2) != Identity_GT, return INVALID"
    if not GT.pairing_check([decoded.a_bar, decoded.b_bar], [w, _MINUS_BP2]):
        raise BbsVerificationError("BBS proof does not verify (pairing)", reason="bbs_proof_invalid")
