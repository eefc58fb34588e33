"""Property tests for ``ssi.bbs``: sign/verify and proof round trips for any messages, headers and disclosures, in
both ciphersuites; any tampering (a flipped bit, a changed message, header or presentation header, another key)
makes verification fail with a ``BbsError`` (never another exception); two proofs of one signature share nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssi import bbs
from ssi.bbs._octets import octets_to_proof, proof_to_octets
from ssi.errors import BbsError

SUITES = [bbs.BLS12_381_SHA_256, bbs.BLS12_381_SHAKE_256]
KEYS = {suite.name: bbs.keygen(b"property-test-key-material-32-bytes", suite=suite) for suite in SUITES}
PKS = {name: bbs.sk_to_pk(sk) for name, sk in KEYS.items()}

# pairings cost milliseconds: few, but varied, examples
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

suites = st.sampled_from(SUITES)
message_lists = st.lists(st.binary(max_size=40), max_size=8)


@st.composite
def signed(draw: Any) -> tuple[bbs.Ciphersuite, list[bytes], bytes, bytes]:
    suite = draw(suites)
    messages = draw(message_lists)
    header = draw(st.binary(max_size=24))
    return suite, messages, header, bbs.sign(KEYS[suite.name], PKS[suite.name], messages, header=header, suite=suite)


@st.composite
def proved(draw: Any) -> tuple[bbs.Ciphersuite, list[bytes], list[int], bytes, bytes, bytes]:
    suite, messages, header, signature = draw(signed())
    indexes = sorted(draw(st.sets(st.integers(0, len(messages) - 1))) if messages else [])
    ph = draw(st.binary(max_size=24))
    proof = bbs.proof_gen(
        PKS[suite.name], signature, messages, indexes, header=header, ph=ph, suite=suite, check_signature=False
    )
    return suite, messages, indexes, header, ph, proof


def _fails(fn: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        fn(*args, **kwargs)
    except BbsError:
        return True
    return False


@FEW
@given(signed())
def test_sign_verify_round_trip(case: Any) -> None:
    suite, messages, header, signature = case
    assert len(signature) == bbs.SIGNATURE_LENGTH
    bbs.verify(PKS[suite.name], signature, messages, header=header, suite=suite)
    # deterministic (§3.6.1)
    assert bbs.sign(KEYS[suite.name], PKS[suite.name], messages, header=header, suite=suite) == signature


@FEW
@given(signed(), st.data())
def test_tampered_signature_inputs_fail(case: Any, data: Any) -> None:
    suite, messages, header, signature = case
    pk = PKS[suite.name]
    bit = data.draw(st.integers(0, 8 * len(signature) - 1))
    flipped = bytearray(signature)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert _fails(bbs.verify, pk, bytes(flipped), messages, header=header, suite=suite)
    assert _fails(bbs.verify, pk, signature, messages, header=header + b"x", suite=suite)
    assert _fails(bbs.verify, pk, signature, [*messages, b""], header=header, suite=suite)
    if messages:
        i = data.draw(st.integers(0, len(messages) - 1))
        changed = [*messages[:i], messages[i] + b"!", *messages[i + 1 :]]
        assert _fails(bbs.verify, pk, signature, changed, header=header, suite=suite)
        assert _fails(bbs.verify, pk, signature, messages[:-1], header=header, suite=suite)
    other = next(s for s in SUITES if s is not suite)
    assert _fails(bbs.verify, pk, signature, messages, header=header, suite=other)


@FEW
@given(proved())
def test_proof_round_trip(case: Any) -> None:
    suite, messages, indexes, header, ph, proof = case
    assert len(proof) == bbs.PROOF_LENGTH_FLOOR + 32 * (len(messages) - len(indexes))
    bbs.proof_verify(PKS[suite.name], proof, [messages[i] for i in indexes], indexes, header=header, ph=ph, suite=suite)
    decoded = octets_to_proof(proof, max_commitments=bbs.MAX_MESSAGES)
    assert proof_to_octets(decoded) == proof


@FEW
@given(proved(), st.data())
def test_tampered_proof_inputs_fail(case: Any, data: Any) -> None:
    suite, messages, indexes, header, ph, proof = case
    pk = PKS[suite.name]
    disclosed = [messages[i] for i in indexes]
    bit = data.draw(st.integers(0, 8 * len(proof) - 1))
    flipped = bytearray(proof)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert _fails(bbs.proof_verify, pk, bytes(flipped), disclosed, indexes, header=header, ph=ph, suite=suite)
    assert _fails(bbs.proof_verify, pk, proof, disclosed, indexes, header=header, ph=ph + b"x", suite=suite)
    assert _fails(bbs.proof_verify, pk, proof, disclosed, indexes, header=header + b"x", ph=ph, suite=suite)
    other_pk = bbs.sk_to_pk(bbs.keygen(b"another-key-material-of-32-bytes!", suite=suite))
    assert _fails(bbs.proof_verify, other_pk, proof, disclosed, indexes, header=header, ph=ph, suite=suite)
    if indexes:
        k = data.draw(st.integers(0, len(indexes) - 1))
        changed = [*disclosed[:k], disclosed[k] + b"!", *disclosed[k + 1 :]]
        assert _fails(bbs.proof_verify, pk, proof, changed, indexes, header=header, ph=ph, suite=suite)
        # the same messages claimed at other positions
        if len(messages) > len(indexes):
            moved = sorted({*indexes[:k], *indexes[k + 1 :], next(j for j in range(len(messages)) if j not in indexes)})
            assert _fails(bbs.proof_verify, pk, proof, disclosed, moved, header=header, ph=ph, suite=suite)
    if len(indexes) < len(messages):
        # claiming one more disclosed message than the proof was made for
        j = next(j for j in range(len(messages)) if j not in indexes)
        more = sorted([*indexes, j])
        assert _fails(bbs.proof_verify, pk, proof, [messages[i] for i in more], more, header=header, ph=ph, suite=suite)


@FEW
@given(signed())
def test_two_proofs_of_one_signature_share_no_bytes_beyond_chance(case: Any) -> None:
    """§3.3.7 Unlinkability: every proof value is freshly randomised — no point or scalar repeats between two proofs
    of the same signature with the same disclosures."""
    suite, messages, header, signature = case
    pk = PKS[suite.name]
    first, second = (
        octets_to_proof(bbs.proof_gen(pk, signature, messages, [], header=header, suite=suite), max_commitments=99)
        for _ in range(2)
    )
    for name in ("a_bar", "b_bar", "d"):
        assert getattr(first, name) != getattr(second, name)
    assert {first.e_hat, first.r1_hat, first.r3_hat, first.challenge, *first.commitments}.isdisjoint(
        {second.e_hat, second.r1_hat, second.r3_hat, second.challenge, *second.commitments}
    )
