"""Every test vector of draft-irtf-cfrg-bbs-signatures for both ciphersuites (§8 and Appendix D), read from
``../shared/bbs-fixtures`` (draft repository commit a6a445dd, see its SOURCE.md).

Valid cases are reproduced byte for byte (signatures are deterministic, §3.6.1; proofs use the draft's mocked random
scalars, §8.1) with their traces (domain, B, Abar, Bbar, D, T1, T2, challenge); invalid cases must be refused.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bbs_support import FIXTURES, SUITE_DIRS, load, mocked_random_scalars, needs_fixtures

from ssi import bbs
from ssi.bbs._generators import calculate_domain, create_generators, messages_to_scalars, p1
from ssi.bbs._octets import octets_to_proof, octets_to_signature
from ssi.bbs._proof import ProofInit, proof_init, proof_verify_init
from ssi.bbs._signature import msm
from ssi.errors import BbsError, BbsInputError, BbsVerificationError

pytestmark = needs_fixtures

SUITES = sorted(SUITE_DIRS)


def _cases(kind: str, *, valid_only: bool = False) -> list[Any]:
    if not FIXTURES.is_dir():
        return []
    return [
        pytest.param(suite_dir, path.name, id=f"{suite_dir}/{path.stem}")
        for suite_dir in SUITES
        for path in sorted((FIXTURES / suite_dir / kind).glob("*.json"))
        if not valid_only or json.loads(path.read_text())["result"]["valid"]
    ]


def _hex(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def test_every_fixture_file_is_covered() -> None:
    """10 signature and 15 proof cases per suite (the issue's signature001-010, proof001-015)."""
    assert len(_cases("signature")) == 2 * 10
    assert len(_cases("proof")) == 2 * 15
    assert len(_cases("proof", valid_only=True)) == 2 * 5


@pytest.mark.parametrize("suite_dir", SUITES)
def test_generators_and_p1(suite_dir: str) -> None:
    """§4.1.1 create_generators and the §7.2 fixed point P1."""
    suite, fixture = SUITE_DIRS[suite_dir], load(suite_dir, "generators.json")
    assert p1(suite).to_compressed_bytes().hex() == fixture["P1"]
    generators = create_generators(len(fixture["MsgGenerators"]) + 1, suite.api_id, suite)
    assert generators[0].to_compressed_bytes().hex() == fixture["Q1"]
    assert [g.to_compressed_bytes().hex() for g in generators[1:]] == fixture["MsgGenerators"]


@pytest.mark.parametrize("suite_dir", SUITES)
def test_keypair(suite_dir: str) -> None:
    """§3.4.1 KeyGen (with the fixture's key_dst) and §3.4.2 SkToPk."""
    suite, fixture = SUITE_DIRS[suite_dir], load(suite_dir, "keypair.json")
    sk = bbs.keygen(
        bytes.fromhex(fixture["keyMaterial"]),
        bytes.fromhex(fixture["keyInfo"]),
        bytes.fromhex(fixture["keyDst"]),
        suite=suite,
    )
    assert sk.hex() == fixture["keyPair"]["secretKey"]
    assert bbs.sk_to_pk(sk).hex() == fixture["keyPair"]["publicKey"]


@pytest.mark.parametrize("suite_dir", SUITES)
def test_hash_to_scalar(suite_dir: str) -> None:
    """§4.2.2 hash_to_scalar."""
    suite, fixture = SUITE_DIRS[suite_dir], load(suite_dir, "h2s.json")
    value = suite.hash_to_scalar(bytes.fromhex(fixture["message"]), bytes.fromhex(fixture["dst"]))
    assert f"{value:064x}" == fixture["scalar"]


@pytest.mark.parametrize("suite_dir", SUITES)
def test_map_messages_to_scalars(suite_dir: str) -> None:
    """§4.1.2 messages_to_scalars, with its DST ``api_id || "MAP_MSG_TO_SCALAR_AS_HASH_"``."""
    suite, fixture = SUITE_DIRS[suite_dir], load(suite_dir, "MapMessageToScalarAsHash.json")
    assert bytes.fromhex(fixture["dst"]) == suite.api_id + b"MAP_MSG_TO_SCALAR_AS_HASH_"
    scalars = messages_to_scalars(_hex([c["message"] for c in fixture["cases"]]), suite.api_id, suite)
    assert [f"{s:064x}" for s in scalars] == [c["scalar"] for c in fixture["cases"]]


@pytest.mark.parametrize("suite_dir", SUITES)
def test_mocked_random_scalars(suite_dir: str) -> None:
    """§8.1 seeded_random_scalars with the fixture's SEED and DST."""
    fixture = load(suite_dir, "mockedRng.json")
    scalars = mocked_random_scalars(suite_dir)(fixture["count"])
    assert [f"{s:064x}" for s in scalars] == fixture["mockedScalars"]


@pytest.mark.parametrize(("suite_dir", "name"), _cases("signature"))
def test_signature_fixture(suite_dir: str, name: str) -> None:
    """§3.5.1 Sign reproduces every valid signature (with the trace's domain and B); §3.5.2 Verify accepts exactly
    the valid cases."""
    suite, case = SUITE_DIRS[suite_dir], load(suite_dir, f"signature/{name}")
    pk = bytes.fromhex(case["signerKeyPair"]["publicKey"])
    header, messages = bytes.fromhex(case["header"]), _hex(case["messages"])
    signature = bytes.fromhex(case["signature"])
    if case["result"]["valid"]:
        sk = bytes.fromhex(case["signerKeyPair"]["secretKey"])
        assert bbs.sign(sk, pk, messages, header=header, suite=suite) == signature
        msgs = messages_to_scalars(messages, suite.api_id, suite)
        generators = create_generators(len(messages) + 1, suite.api_id, suite)
        domain = calculate_domain(pk, generators, header, api_id=suite.api_id, suite=suite)
        assert f"{domain:064x}" == case["trace"]["domain"]
        b = msm([p1(suite), *generators], [1, domain, *msgs])
        assert b.to_compressed_bytes().hex() == case["trace"]["B"]
        bbs.verify(pk, signature, messages, header=header, suite=suite)
    else:
        with pytest.raises(BbsVerificationError) as raised:
            bbs.verify(pk, signature, messages, header=header, suite=suite)
        assert raised.value.reason == "bbs_signature_invalid", case["result"]["reason"]


@pytest.mark.parametrize(("suite_dir", "name"), _cases("proof"))
def test_proof_fixture(suite_dir: str, name: str) -> None:
    """§3.5.3 ProofGen with the mocked random scalars reproduces every valid proof and its trace; §3.5.4 ProofVerify
    accepts exactly the valid cases, and its ProofVerifyInit recomputes the prover's T1 and T2."""
    suite, case = SUITE_DIRS[suite_dir], load(suite_dir, f"proof/{name}")
    pk, signature = bytes.fromhex(case["signerPublicKey"]), bytes.fromhex(case["signature"])
    header, ph = bytes.fromhex(case["header"]), bytes.fromhex(case["presentationHeader"])
    messages, indexes = _hex(case["messages"]), case["disclosedIndexes"]
    proof = bytes.fromhex(case["proof"])
    disclosed = [messages[i] for i in indexes] if all(0 <= i < len(messages) for i in indexes) else []
    if not case["result"]["valid"]:
        with pytest.raises((BbsVerificationError, BbsInputError)) as raised:
            bbs.proof_verify(pk, proof, disclosed, indexes, header=header, ph=ph, suite=suite)
        assert raised.value.reason in {"bbs_challenge_mismatch", "bbs_indexes_not_ascending"}, raised.value
        return
    random_scalars = mocked_random_scalars(suite_dir)
    generated = bbs.proof_gen(
        pk, signature, messages, indexes, header=header, ph=ph, suite=suite, random_scalars=random_scalars
    )
    assert generated.hex() == case["proof"]
    bbs.proof_verify(pk, proof, disclosed, indexes, header=header, ph=ph, suite=suite)

    trace = case["trace"]
    undisclosed = [j for j in range(len(messages)) if j not in indexes]
    randoms = random_scalars(5 + len(undisclosed))
    named = dict(zip(("r1", "r2", "e_tilde", "r1_tilde", "r3_tilde"), randoms, strict=False))
    assert {k: f"{v:064x}" for k, v in named.items()} == {k: trace["random_scalars"][k] for k in named}
    assert [f"{m:064x}" for m in randoms[5:]] == trace["random_scalars"]["m_tilde_scalars"]
    msgs = messages_to_scalars(messages, suite.api_id, suite)
    generators = create_generators(len(messages) + 1, suite.api_id, suite)
    init = proof_init(
        pk,
        octets_to_signature(signature),
        generators,
        msgs,
        random_scalars=randoms,
        header=header,
        undisclosed_indexes=undisclosed,
        api_id=suite.api_id,
        suite=suite,
    )
    _assert_trace(init, trace)
    verifier_init = proof_verify_init(
        pk,
        octets_to_proof(proof, max_commitments=len(messages)),
        generators,
        [(i, msgs[i]) for i in indexes],
        header=header,
        api_id=suite.api_id,
        suite=suite,
    )
    _assert_trace(verifier_init, trace)
    assert f"{octets_to_proof(proof, max_commitments=len(messages)).challenge:064x}" == trace["challenge"]


def _assert_trace(init: ProofInit, trace: dict[str, Any]) -> None:
    points = {"A_bar": init.a_bar, "B_bar": init.b_bar, "D": init.d, "T1": init.t1, "T2": init.t2}
    assert {k: p.to_compressed_bytes().hex() for k, p in points.items()} == {k: trace[k] for k in points}
    assert f"{init.domain:064x}" == trace["domain"]


@pytest.mark.parametrize(("suite_dir", "name"), _cases("proof", valid_only=True))
def test_proof_fixture_under_the_other_suite_fails(suite_dir: str, name: str) -> None:
    """Domain separation: a valid proof of one ciphersuite never verifies under the other."""
    case = load(suite_dir, f"proof/{name}")
    other = next(s for d, s in SUITE_DIRS.items() if d != suite_dir)
    messages, indexes = _hex(case["messages"]), case["disclosedIndexes"]
    with pytest.raises(BbsError):
        bbs.proof_verify(
            bytes.fromhex(case["signerPublicKey"]),
            bytes.fromhex(case["proof"]),
            [messages[i] for i in indexes],
            indexes,
            header=bytes.fromhex(case["header"]),
            ph=bytes.fromhex(case["presentationHeader"]),
            suite=other,
        )


def test_fixture_messages_file_matches_the_cases() -> None:
    """``messages.json`` is the list the multi-message cases sign (draft §8.2)."""
    messages = json.loads((FIXTURES / "messages.json").read_text())
    for suite_dir in SUITES:
        assert load(suite_dir, "signature/signature004.json")["messages"] == messages
