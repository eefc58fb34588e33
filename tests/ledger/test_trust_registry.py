"""``ledger.trust``: the trusted-issuer registry from Python — members' proposals and votes through ``ledger.client``,
cached and event-invalidated accreditation lookups, and the Python rule agreeing with the contract's
``isAccredited`` (issue 5, "Python side")."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient, SoftwareChainSigner
from ledger.node import LocalChain, LocalChainProvider
from ledger.trust import (
    AccreditationStatus,
    ProposalKind,
    ProposalState,
    RegistryMember,
    TrustRegistry,
    issuer_key,
)
from ssi.clock import FrozenClock
from ssi.errors import TransactionFailed

DAY = 86_400
START = 1_800_000_000
PID = "urn:eudi:pid:de:1"
RESIDENCE = "https://issuer.example/vct/residence"
MDL = "org.iso.18013.5.1.mDL"
SPKI = hashlib.sha256(b"the KBA issuer's certificate key").digest()


class Ticker:
    """A monotonic clock for the cache's ``max_staleness`` (moved by hand)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Coop:
    chain: LocalChain
    clock: FrozenClock
    client: ChainClient
    registry: TrustRegistry
    members: list[RegistryMember]
    issuer: SoftwareChainSigner

    @property
    def did(self) -> str:
        return f"did:ethr:0x539:{self.issuer.address.lower()}"

    def decide(self, propose: Any) -> Any:
        """``propose(member)`` by the first member, the second member's yes vote decides (quorum 2 of 3)."""
        outcome = propose(self.members[0])
        assert outcome.proposal.state is ProposalState.OPEN and outcome.proposal.yes == 1
        decided = self.members[1].vote(outcome.proposal.id)
        assert decided.proposal.state is ProposalState.EXECUTED
        return decided

    def accredit(self, did: str | None = None, types: tuple[str, ...] = (PID, RESIDENCE), **options: Any) -> int:
        now = int(self.clock())
        window = {"valid_from": now - DAY, "valid_until": now + 365 * DAY} | options
        outcome = self.decide(lambda m: m.propose_accreditation(did or self.did, types, **window))
        assert outcome.accreditation_id is not None
        return int(outcome.accreditation_id)


@pytest.fixture
def coop(tmp_path: Path) -> Iterator[Coop]:
    clock = FrozenClock(START)
    chain = LocalChain.in_memory(clock=clock)
    client = ChainClient(LocalChainProvider(chain))
    bootstrap_development_chain(client, tmp_path)
    registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
    members = [RegistryMember(registry, signer) for signer in dev_member_signers()]
    yield Coop(chain, clock, client, registry, members, SoftwareChainSigner.generate())
    chain.close()


def test_members_quorum_and_voting_period(coop: Coop) -> None:
    assert coop.registry.members() == [m.signer.address for m in coop.members]
    assert coop.registry.quorum() == 2 and coop.registry.voting_period() == 7 * DAY
    assert coop.registry.is_member(coop.members[2].signer.address)
    assert not coop.registry.is_member(coop.issuer.address)


def test_accreditation_by_did_and_by_certificate_key(coop: Coop) -> None:
    """Both routes lead to the same accreditation; the did:ethr of this chain gives the identity for anchoring."""
    accreditation_id = coop.accredit(cert_key_sha256=SPKI)
    now = coop.clock()
    by_did = coop.registry.is_accredited(coop.did, PID, now)
    by_cert = coop.registry.is_accredited(SPKI, PID, now)
    assert by_did is not None and by_did == by_cert and by_did.id == accreditation_id
    assert by_did.identity == coop.issuer.address and by_did.cert_key_sha256 == SPKI
    assert by_did.credential_types == (PID, RESIDENCE) and by_did.status is AccreditationStatus.ACTIVE
    assert coop.registry.is_accredited(SPKI.hex(), RESIDENCE, now) == by_did  # hex works as well
    assert coop.registry.is_accredited(coop.did, MDL, now) is None
    assert coop.registry.check(coop.did, MDL, now).reason == "type_not_accredited"
    assert coop.registry.check("did:web:unknown.example", PID, now).to_json() == {
        "accredited": False,
        "reason": "not_accredited",
        "accreditation": None,
    }
    assert [a.id for a in coop.registry.accreditations()] == [accreditation_id]


def test_a_did_ethr_of_another_network_gets_no_identity(coop: Coop) -> None:
    other_network = f"did:ethr:0x1:{coop.issuer.address.lower()}"
    accreditation_id = coop.accredit(other_network)
    assert coop.registry.accreditation_by_id(accreditation_id).identity is None


def test_proposal_views(coop: Coop) -> None:
    outcome = coop.members[0].propose_admission(coop.issuer.address)
    proposal = outcome.proposal
    assert proposal.kind is ProposalKind.ADD_MEMBER and proposal.parameters == {"member": coop.issuer.address}
    assert proposal.proposer == coop.members[0].signer.address and (proposal.yes, proposal.no) == (1, 0)
    assert proposal.expires_at == proposal.created_at + 7 * DAY
    assert outcome.transaction_hash.startswith("0x") and outcome.block_number == coop.client.block_number()
    second = coop.members[1].propose_accreditation(
        coop.did, [PID], valid_from=START, valid_until=START + DAY, cert_key_sha256=SPKI
    )
    assert second.proposal.parameters == {
        "did": coop.did,
        "identity": coop.issuer.address,
        "cert_key_sha256": SPKI.hex(),
        "credential_types": [PID],
        "valid_from": START,
        "valid_until": START + DAY,
    }
    assert [p.id for p in coop.registry.proposals(open_only=True)] == [1, 2]
    coop.clock.advance(8 * DAY)
    coop.members[2].propose_compromise(SPKI, START)  # a block after the first two expired
    assert coop.registry.proposal(1).state is ProposalState.EXPIRED
    assert [p.id for p in coop.registry.proposals(open_only=True)] == [3]
    assert coop.registry.proposal(3).parameters == {"issuer_key": SPKI.hex(), "since": START}
    assert coop.registry.proposal(3).to_json()["kind"] == "mark_compromised"


def test_contract_refusals_carry_the_contracts_code(coop: Coop) -> None:
    """A refusal is TransactionFailed with the contract's code as reason (the CLI shows it as ``error``)."""
    outsider = RegistryMember(coop.registry, coop.issuer)
    with pytest.raises(TransactionFailed) as refused:
        outsider.propose_admission(coop.issuer.address)
    assert refused.value.reason == "not_member"
    outcome = coop.members[0].propose_admission(coop.issuer.address)
    with pytest.raises(TransactionFailed) as refused:
        coop.members[0].vote(outcome.proposal.id)
    assert refused.value.reason == "already_voted"
    with pytest.raises(TransactionFailed) as refused:
        coop.members[0].propose_removal(coop.issuer.address)
    assert refused.value.reason == "not_a_member"


def test_suspension_revocation_and_reasons(coop: Coop) -> None:
    coop.accredit(cert_key_sha256=SPKI)
    now = coop.clock()
    coop.decide(lambda m: m.propose_suspension(coop.did))
    assert coop.registry.is_accredited(coop.did, PID, now) is None
    check = coop.registry.check(SPKI, PID, now)
    assert (check.accredited, check.reason) == (False, "suspended")
    found = coop.registry.accreditation(coop.did)
    assert found is not None and found.status is AccreditationStatus.SUSPENDED
    coop.decide(lambda m: m.propose_reinstatement(SPKI))
    assert coop.registry.is_accredited(coop.did, PID, now) is not None
    coop.decide(lambda m: m.propose_revocation(coop.did))
    assert coop.registry.check(coop.did, PID, now).reason == "revoked"


def test_compromised_since_and_windows(coop: Coop) -> None:
    now = int(coop.clock())
    coop.accredit(cert_key_sha256=SPKI, valid_from=now, valid_until=now + 10 * DAY)
    registry = coop.registry
    assert registry.check(coop.did, PID, now - 1).reason == "not_yet_valid"
    assert registry.check(coop.did, PID, now + 10 * DAY).reason == "expired"
    assert registry.is_accredited(coop.did, PID, now + 10 * DAY - 1) is not None
    coop.decide(lambda m: m.propose_compromise(SPKI, now + DAY))
    assert registry.is_accredited(coop.did, PID, now + DAY - 1) is not None
    assert registry.check(coop.did, PID, now + DAY).reason == "key_compromised"
    found = registry.accreditation(SPKI)
    assert found is not None and found.compromised_since == now + DAY


# -- the cache ------------------------------------------------------------------------------------------------------


def test_cached_lookups_follow_the_registrys_events(coop: Coop) -> None:
    """A repeated lookup is a cache hit; a vote that changes the accreditation drops it (the next lookup reads the
    chain again); negative answers are cached and dropped when the issuer is accredited."""
    registry = coop.registry
    now = coop.clock()
    assert registry.is_accredited(coop.did, PID, now) is None
    assert registry.is_accredited(coop.did, PID, now) is None
    assert (registry.stats.loads, registry.stats.hits) == (1, 1)
    accreditation_id = coop.accredit(cert_key_sha256=SPKI)
    assert registry.is_accredited(coop.did, PID, now) is not None
    assert registry.stats.loads == 2 and registry.stats.invalidations >= 1
    for _ in range(5):
        assert registry.is_accredited(coop.did, RESIDENCE, now) is not None
    assert registry.stats.loads == 2 and registry.stats.hits == 6
    # governance traffic that does not touch the accreditation keeps the cache
    coop.members[0].propose_admission(coop.issuer.address)
    assert registry.is_accredited(coop.did, PID, now) is not None and registry.stats.loads == 2
    coop.decide(lambda m: m.propose_suspension(accreditation_id))
    assert registry.is_accredited(coop.did, PID, now) is None  # dropped by AccreditationStatusChanged
    assert registry.stats.loads == 3


def test_max_staleness_skips_the_head_request(coop: Coop) -> None:
    ticker = Ticker()
    registry = TrustRegistry(coop.client, DEV_ADDRESSES.trusted_issuer_registry, max_staleness=2.0, monotonic=ticker)
    now = coop.clock()
    assert registry.is_accredited(coop.did, PID, now) is None
    syncs = registry.stats.syncs
    coop.accredit()
    ticker.now += 1.0
    assert registry.is_accredited(coop.did, PID, now) is None  # within max_staleness: the old answer
    assert registry.stats.syncs == syncs
    ticker.now += 1.5
    assert registry.is_accredited(coop.did, PID, now) is not None
    assert registry.stats.syncs == syncs + 1


def test_a_cache_of_size_zero_always_reads(coop: Coop) -> None:
    registry = TrustRegistry(coop.client, DEV_ADDRESSES.trusted_issuer_registry, cache_size=0)
    coop.accredit()
    for _ in range(3):
        assert registry.is_accredited(coop.did, PID, coop.clock()) is not None
    assert (registry.stats.loads, registry.stats.hits) == (3, 0)


# -- the Python rule is the contract's rule -------------------------------------------------------------------------


@pytest.fixture
def states(coop: Coop) -> tuple[Coop, list[str]]:
    """Issuers in every state: active, suspended, revoked, superseded, compromised, short window."""
    now = int(coop.clock())
    dids = [f"did:web:issuer{n}.example" for n in range(6)]
    coop.accredit(dids[0], (PID,))
    coop.decide(lambda m: m.propose_suspension(coop.accredit(dids[1], (PID, MDL))))
    coop.decide(lambda m: m.propose_revocation(coop.accredit(dids[2], (PID,))))
    coop.accredit(dids[3], (PID,))
    coop.accredit(dids[3], (MDL,))  # supersedes
    coop.accredit(dids[4], (PID,), cert_key_sha256=SPKI)
    coop.decide(lambda m: m.propose_compromise(SPKI, now + 5))
    coop.accredit(dids[5], (PID, MDL), valid_from=now + 1000, valid_until=now + 2000)
    return coop, dids


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    issuer=st.integers(0, 6),
    credential_type=st.sampled_from([PID, MDL, RESIDENCE]),
    # every edge: windows start a day back (or at +1000) and end at +2000 or a year ahead, compromise at +5
    offset=st.integers(-3 * DAY, 3 * DAY) | st.sampled_from([-DAY - 1, -DAY, 4, 5, 6, 999, 1000, 1999, 2000]),
)
def test_python_rule_equals_the_contract(
    states: tuple[Coop, list[str]], issuer: int, credential_type: str, offset: int
) -> None:
    """Whatever the issuer's state, type and time, the cached answer is the contract's ``isAccredited``."""
    coop, dids = states
    subject: str | bytes = dids[issuer] if issuer < 6 else SPKI
    at = START + offset
    on_chain = coop.registry.is_accredited_on_chain(subject, credential_type, at)
    assert (coop.registry.is_accredited(subject, credential_type, at) is not None) == on_chain
    assert issuer_key(subject) == (SPKI if issuer == 6 else issuer_key(dids[issuer]))
