"""The cooperative's TrustedIssuerRegistry contract (issue 5, "Trusted-issuer registry"), on an in-process EVM.

Every path the issue lists: a vote by a non-member, a double vote, quorum edge cases, an expired accreditation,
removing the last member, re-admission; suspension, reinstatement, revocation, compromised-since; both issuer keys (DID
and certificate key) leading to the same accreditation; an event for every change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from eth_abi.abi import decode as abi_decode
from eth_tester.exceptions import TransactionFailed
from trust_support import (
    ACTIVE,
    DAY,
    DIPLOMA,
    EXECUTED,
    MDL,
    OPEN,
    PID,
    REJECTED,
    REVOKED,
    SUPERSEDED,
    SUSPENDED,
    VOTING_PERIOD,
    TrustChain,
    cert_key,
    deploy_trust_chain,
    did_key,
    type_hash,
)
from web3.exceptions import ContractLogicError

ISSUER = "did:ethr:0x539:0x1111111111111111111111111111111111111111"
OTHER = "did:web:kba.example"
ZERO = "0x" + "00" * 20
NO_CERT = b"\0" * 32


@pytest.fixture(scope="module")
def chains() -> Iterator[Callable[[int], TrustChain]]:
    """A chain per member count, reverted to its freshly deployed state for every test that asks for it."""
    made: dict[int, tuple[TrustChain, int]] = {}

    def fresh(member_count: int) -> TrustChain:
        if member_count not in made:
            chain = deploy_trust_chain(member_count)
            made[member_count] = (chain, chain.tester.take_snapshot())
        chain, snapshot = made[member_count]
        chain.tester.revert_to_snapshot(snapshot)
        return chain

    yield fresh


@pytest.fixture
def coop(chains: Callable[[int], TrustChain]) -> TrustChain:
    """A cooperative of three genesis members (quorum 2)."""
    return chains(3)


# -- deployment ----------------------------------------------------------------------------------------------------


def test_genesis_members_and_their_events(coop: TrustChain) -> None:
    """The constructor admits the genesis members (MemberAdded with proposal id 0) and fixes the voting period."""
    registry = coop.registry
    assert coop.current_members() == coop.members
    assert registry.functions.memberCount().call() == 3 and registry.functions.quorum().call() == 2
    assert all(registry.functions.isMember(m).call() for m in coop.members)
    assert not registry.functions.isMember(coop.outsiders[0]).call()
    assert registry.functions.votingPeriod().call() == VOTING_PERIOD
    assert registry.functions.proposalCount().call() == 0
    assert registry.functions.accreditationCount().call() == 0
    logs = registry.events.MemberAdded().get_logs(from_block=0)
    assert [(log["args"]["member"], log["args"]["proposalId"]) for log in logs] == [(m, 0) for m in coop.members]


@pytest.mark.parametrize(
    ("members", "period", "reason"),
    [
        ([], 3600, "no_members"),
        (["a", "a"], 3600, "already_member"),
        (["zero"], 3600, "zero_address"),
        (["a"], 59, "voting_period"),
    ],
)
def test_constructor_refuses_bad_genesis(coop: TrustChain, members: list[str], period: int, reason: str) -> None:
    from ledger.contracts import TRUSTED_ISSUER_REGISTRY, load_artifact

    named = {"a": coop.accounts[5], "zero": ZERO}
    artifact = load_artifact(TRUSTED_ISSUER_REGISTRY)
    factory = coop.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    assert reason in coop.reverts(factory.constructor([named[m] for m in members], period), coop.accounts[0])


# -- who may propose and vote ---------------------------------------------------------------------------------------


def test_non_member_can_neither_propose_nor_vote(coop: TrustChain) -> None:
    outsider = coop.outsiders[0]
    registry = coop.registry
    assert "not_member" in coop.reverts(registry.functions.proposeAddMember(outsider), outsider)
    coop.send(registry.functions.proposeAddMember(coop.outsiders[1]), coop.members[0])
    assert "not_member" in coop.reverts(registry.functions.vote(1, True), outsider)
    assert "not_member" in coop.reverts(registry.functions.execute(1), outsider)
    assert coop.proposal(1)["yes"] == 1 and coop.proposal(1)["state"] == OPEN


def test_double_vote_is_refused(coop: TrustChain) -> None:
    """The proposer's proposal counts as its yes vote; nobody votes twice, either way round."""
    registry = coop.registry
    coop.send(registry.functions.proposeAddMember(coop.outsiders[0]), coop.members[0])
    assert registry.functions.ballot(1, coop.members[0]).call() == 1
    assert "already_voted" in coop.reverts(registry.functions.vote(1, True), coop.members[0])
    assert "already_voted" in coop.reverts(registry.functions.vote(1, False), coop.members[0])
    coop.send(registry.functions.vote(1, False), coop.members[1])  # 1:1 of three, still open
    assert registry.functions.ballot(1, coop.members[1]).call() == 2
    assert "already_voted" in coop.reverts(registry.functions.vote(1, True), coop.members[1])
    assert coop.proposal(1)["yes"] == 1 and coop.proposal(1)["no"] == 1 and coop.proposal(1)["state"] == OPEN


def test_votes_on_unknown_decided_and_expired_proposals(coop: TrustChain) -> None:
    registry = coop.registry
    assert "no_proposal" in coop.reverts(registry.functions.vote(0, True), coop.members[0])
    assert "no_proposal" in coop.reverts(registry.functions.vote(7, True), coop.members[0])
    coop.decide(registry.functions.proposeAddMember(coop.outsiders[0]))
    assert "not_open" in coop.reverts(registry.functions.vote(1, True), coop.members[2])
    coop.send(registry.functions.proposeAddMember(coop.outsiders[1]), coop.members[0])
    proposal = coop.proposal(2)
    assert proposal["expires"] == proposal["created"] + VOTING_PERIOD
    coop.advance(VOTING_PERIOD)
    assert "expired" in coop.reverts(registry.functions.vote(2, True), coop.members[1])
    assert coop.proposal(2)["state"] == OPEN  # stays open on chain; readers see it is past expiresAt


# -- quorum edge cases ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("member_count", "quorum"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4)])
def test_quorum_is_a_strict_majority(chains: Callable[[int], TrustChain], member_count: int, quorum: int) -> None:
    """Executed exactly on the vote that brings the yes votes to ``members // 2 + 1``, not one vote earlier."""
    chain = chains(member_count)
    registry = chain.registry
    assert registry.functions.quorum().call() == quorum
    newcomer = chain.outsiders[0]
    receipt = chain.send(registry.functions.proposeAddMember(newcomer), chain.members[0])
    for voter in chain.members[1:quorum]:
        assert chain.proposal(1)["state"] == OPEN
        receipt = chain.send(registry.functions.vote(1, True), voter)
    assert chain.proposal(1)["state"] == EXECUTED
    assert [name for name, _ in chain.events(receipt)][-2:] == ["MemberAdded", "ProposalExecuted"]
    assert registry.functions.isMember(newcomer).call()


def test_a_single_member_decides_alone(chains: Callable[[int], TrustChain]) -> None:
    """One member: the proposal is the deciding vote (quorum 1), executed in the same transaction."""
    chain = chains(1)
    receipt = chain.send(chain.registry.functions.proposeAddMember(chain.outsiders[0]), chain.members[0])
    assert [name for name, _ in chain.events(receipt)] == [
        "ProposalCreated",
        "VoteCast",
        "MemberAdded",
        "ProposalExecuted",
    ]


@pytest.mark.parametrize(("member_count", "no_votes_to_reject"), [(2, 1), (3, 2), (4, 2), (5, 3)])
def test_rejected_once_a_majority_is_impossible(
    chains: Callable[[int], TrustChain], member_count: int, no_votes_to_reject: int
) -> None:
    chain = chains(member_count)
    registry = chain.registry
    chain.send(registry.functions.proposeAddMember(chain.outsiders[0]), chain.members[0])
    for index, voter in enumerate(chain.members[1 : 1 + no_votes_to_reject], start=1):
        receipt = chain.send(registry.functions.vote(1, False), voter)
        expected = REJECTED if index == no_votes_to_reject else OPEN
        assert chain.proposal(1)["state"] == expected
    assert [name for name, _ in chain.events(receipt)] == ["VoteCast", "ProposalRejected"]
    assert not registry.functions.isMember(chain.outsiders[0]).call()


def test_tie_in_an_even_cooperative_is_not_a_majority(chains: Callable[[int], TrustChain]) -> None:
    chain = chains(4)
    registry = chain.registry
    chain.send(registry.functions.proposeAddMember(chain.outsiders[0]), chain.members[0])
    chain.send(registry.functions.vote(1, True), chain.members[1])
    proposal = chain.proposal(1)
    assert (proposal["kind"], proposal["state"], proposal["yes"], proposal["no"]) == (1, OPEN, 2, 0)
    assert proposal["proposer"] == chain.members[0]
    chain.send(registry.functions.vote(1, False), chain.members[2])
    assert chain.proposal(1)["state"] == OPEN  # 2:1, the fourth vote decides either way


def test_votes_count_over_the_current_members(chains: Callable[[int], TrustChain]) -> None:
    """A removed member's vote stops counting; a proposal that has its majority after a removal is decided with
    ``execute`` (and not before)."""
    chain = chains(4)
    registry = chain.registry
    a, b, c, d = chain.members
    chain.send(registry.functions.proposeAddMember(chain.outsiders[0]), a)
    chain.send(registry.functions.vote(1, True), b)  # 2 of quorum 3
    assert "no_majority" in chain.reverts(registry.functions.execute(1), a)
    chain.decide(registry.functions.proposeRemoveMember(d), [a, b, c])  # proposal 2
    assert registry.functions.quorum().call() == 2
    assert chain.proposal(1)["yes"] == 2 and chain.proposal(1)["state"] == OPEN
    receipt = chain.send(registry.functions.execute(1), c)
    assert [name for name, _ in chain.events(receipt)] == ["MemberAdded", "ProposalExecuted"]
    # a removed voter's yes no longer counts
    chain.send(registry.functions.proposeAddMember(chain.outsiders[1]), b)  # proposal 3: b yes
    chain.decide(registry.functions.proposeRemoveMember(b), [a, c, chain.outsiders[0]])  # proposal 4
    assert chain.proposal(3)["yes"] == 0


# -- membership -----------------------------------------------------------------------------------------------------


def test_removing_the_last_member_is_refused(chains: Callable[[int], TrustChain]) -> None:
    chain = chains(2)
    registry = chain.registry
    a, b = chain.members
    assert "last_member" not in chain.reverts(registry.functions.proposeRemoveMember(chain.outsiders[0]), a)
    chain.decide(registry.functions.proposeRemoveMember(b))
    assert chain.current_members() == [a]
    assert "last_member" in chain.reverts(registry.functions.proposeRemoveMember(a), a)
    assert "not_a_member" in chain.reverts(registry.functions.proposeRemoveMember(b), a)


def test_removal_and_readmission(coop: TrustChain) -> None:
    """A removed member can no longer propose or vote; a new vote re-admits it, and it votes again."""
    registry = coop.registry
    a, b, c = coop.members
    receipt = coop.decide(registry.functions.proposeRemoveMember(c))
    assert ("MemberRemoved", {"member": c, "proposalId": 1}) in coop.events(receipt)
    assert coop.current_members() == [a, b]
    assert "not_member" in coop.reverts(registry.functions.proposeAddMember(coop.outsiders[0]), c)
    coop.send(registry.functions.proposeAddMember(coop.outsiders[0]), a)  # proposal 2, open (quorum 2 of 2)
    assert "not_member" in coop.reverts(registry.functions.vote(2, True), c)
    assert "already_member" in coop.reverts(registry.functions.proposeAddMember(b), a)
    receipt = coop.decide(registry.functions.proposeAddMember(c), [a, b])  # proposal 3
    assert ("MemberAdded", {"member": c, "proposalId": 3}) in coop.events(receipt)
    assert registry.functions.isMember(c).call()
    receipt = coop.send(registry.functions.vote(2, True), c)
    assert coop.proposal(2)["state"] == EXECUTED
    assert registry.functions.memberCount().call() == 4


def test_add_member_refuses_zero_and_existing(coop: TrustChain) -> None:
    registry = coop.registry
    assert "zero_address" in coop.reverts(registry.functions.proposeAddMember(ZERO), coop.members[0])
    assert "already_member" in coop.reverts(registry.functions.proposeAddMember(coop.members[1]), coop.members[0])


def test_a_vote_that_cannot_apply_reverts(coop: TrustChain) -> None:
    """Two proposals to admit the same account: once one is executed, the other cannot complete (its deciding vote
    reverts with the reason) and expires."""
    registry = coop.registry
    a, b, c = coop.members
    newcomer = coop.outsiders[0]
    coop.send(registry.functions.proposeAddMember(newcomer), a)
    coop.send(registry.functions.proposeAddMember(newcomer), b)
    coop.send(registry.functions.vote(1, True), c)  # executed: four members, quorum 3
    coop.send(registry.functions.vote(2, True), c)  # 2 of 3
    assert "already_member" in coop.reverts(registry.functions.vote(2, True), newcomer)
    assert coop.proposal(2)["state"] == OPEN and coop.proposal(2)["yes"] == 2


# -- accreditations -------------------------------------------------------------------------------------------------


def test_accreditation_by_did_and_by_certificate_key(coop: TrustChain) -> None:
    """Both issuer keys lead to the same accreditation; only the accredited types count."""
    identity = coop.outsiders[0]
    spki = cert_key("kba")
    accreditation_id = coop.accredit(ISSUER, [PID, MDL], cert=spki, identity=identity)
    now = coop.now()
    registry = coop.registry
    for key in (did_key(ISSUER), spki):
        assert registry.functions.accreditationOf(key).call() == accreditation_id
        assert coop.accredited(key, PID, now) and coop.accredited(key, MDL, now)
        assert not coop.accredited(key, DIPLOMA, now)
    assert registry.functions.accreditationOfIdentity(identity).call() == accreditation_id
    record = coop.record(accreditation_id)
    assert record["did"] == ISSUER and record["types"] == [PID, MDL] and record["status"] == ACTIVE
    assert record["cert"] == spki and record["identity"] == identity and record["compromised_since"] == 0
    assert registry.functions.coversType(accreditation_id, type_hash(MDL)).call()
    found_id, found = registry.functions.accreditationFor(spki).call()
    assert found_id == accreditation_id and found[0] == ISSUER
    assert registry.functions.accreditationFor(did_key(OTHER)).call()[0] == 0
    assert not coop.accredited(did_key(OTHER), PID, now)
    assert registry.functions.canAnchor(identity).call()


def test_accredited_event_carries_everything_public(coop: TrustChain) -> None:
    registry = coop.registry
    start, end = coop.now(), coop.now() + 30 * DAY
    spki = cert_key("kba")
    receipt = coop.decide(registry.functions.proposeAccreditation(ISSUER, ZERO, spki, [PID], start, end))
    events = coop.events(receipt)
    assert [name for name, _ in events] == ["VoteCast", "IssuerAccredited", "ProposalExecuted"]
    args = events[1][1]
    assert args == {
        "accreditationId": 1,
        "didKey": did_key(ISSUER),
        "certKeySha256": spki,
        "did": ISSUER,
        "identity": ZERO,
        "credentialTypes": [PID],
        "validFrom": start,
        "validUntil": end,
        "proposalId": 1,
    }
    # the proposal's data is the ABI encoding of the request, readable by anyone before the vote
    proposal = coop.proposal(1)
    (request,) = abi_decode(["(string,address,bytes32,string[],uint64,uint64)"], proposal["data"])
    assert request[0] == ISSUER and list(request[3]) == [PID]


def test_validity_window_and_expired_accreditation(coop: TrustChain) -> None:
    """``validFrom`` inclusive, ``validUntil`` exclusive; once the window has passed, nothing is accredited now —
    and credentials dated inside the window still are."""
    start = coop.now() + 10
    end = start + 2 * DAY
    coop.accredit(ISSUER, [PID], valid_from=start, valid_until=end)
    key = did_key(ISSUER)
    assert not coop.accredited(key, PID, start - 1)
    assert coop.accredited(key, PID, start) and coop.accredited(key, PID, end - 1)
    assert not coop.accredited(key, PID, end)
    coop.advance(3 * DAY)
    assert coop.now() > end
    assert not coop.accredited(key, PID, coop.now())
    assert coop.accredited(key, PID, end - 1)


@pytest.mark.parametrize(
    ("did", "types", "window", "reason"),
    [
        ("", [PID], (-DAY, DAY), "bad_did"),
        ("d" * 257, [PID], (-DAY, DAY), "bad_did"),
        (ISSUER, [], (-DAY, DAY), "bad_types"),
        (ISSUER, [PID, ""], (-DAY, DAY), "bad_types"),
        (ISSUER, ["t"] * 33, (-DAY, DAY), "bad_types"),
        (ISSUER, ["t" * 257], (-DAY, DAY), "bad_types"),
        (ISSUER, [PID], (DAY, DAY), "bad_window"),
        (ISSUER, [PID], (2 * DAY, DAY), "bad_window"),
        (ISSUER, [PID], (-2 * DAY, -DAY), "window_in_past"),
    ],
)
def test_accreditation_proposals_are_checked(
    coop: TrustChain, did: str, types: list[str], window: tuple[int, int], reason: str
) -> None:
    """Bounded DID and type names (1..256 bytes, 1..32 types) and a window that ends after now; ``window`` is
    (validFrom, validUntil) relative to the latest block."""
    now = coop.now()
    call = coop.registry.functions.proposeAccreditation(did, ZERO, NO_CERT, types, now + window[0], now + window[1])
    assert reason in coop.reverts(call, coop.members[0])


def test_the_longest_accepted_names(coop: TrustChain) -> None:
    types = ["t" * 256] + [f"type {i}" for i in range(31)]
    coop.accredit("d" * 256, types)
    assert coop.accredited(did_key("d" * 256), "t" * 256, coop.now())
    assert coop.accredited(did_key("d" * 256), "type 30", coop.now())


def test_suspension_reinstatement_and_revocation(coop: TrustChain) -> None:
    registry = coop.registry
    accreditation_id = coop.accredit(ISSUER, [PID], identity=coop.outsiders[0])
    key, now = did_key(ISSUER), coop.now()
    receipt = coop.decide(registry.functions.proposeSuspension(accreditation_id))
    assert ("AccreditationStatusChanged", {"accreditationId": 1, "status": SUSPENDED, "proposalId": 2}) in coop.events(
        receipt
    )
    assert not coop.accredited(key, PID, now)
    assert registry.functions.canAnchor(coop.outsiders[0]).call()  # a suspended issuer still publishes revocations
    assert "not_active" in coop.reverts(registry.functions.proposeSuspension(accreditation_id), coop.members[0])
    coop.decide(registry.functions.proposeReinstatement(accreditation_id))
    assert coop.accredited(key, PID, now)
    assert "not_suspended" in coop.reverts(registry.functions.proposeReinstatement(accreditation_id), coop.members[0])
    receipt = coop.decide(registry.functions.proposeRevocation(accreditation_id))
    assert ("AccreditationStatusChanged", {"accreditationId": 1, "status": REVOKED, "proposalId": 4}) in coop.events(
        receipt
    )
    assert not coop.accredited(key, PID, now) and coop.record(accreditation_id)["status"] == REVOKED
    assert not registry.functions.canAnchor(coop.outsiders[0]).call()
    for propose in (registry.functions.proposeSuspension, registry.functions.proposeReinstatement):
        assert "not_" in coop.reverts(propose(accreditation_id), coop.members[0])
    assert "not_live" in coop.reverts(registry.functions.proposeRevocation(accreditation_id), coop.members[0])
    assert "no_accreditation" in coop.reverts(registry.functions.proposeRevocation(9), coop.members[0])


def test_revoking_a_suspended_accreditation(coop: TrustChain) -> None:
    accreditation_id = coop.accredit(ISSUER, [PID])
    coop.decide(coop.registry.functions.proposeSuspension(accreditation_id))
    coop.decide(coop.registry.functions.proposeRevocation(accreditation_id))
    assert coop.record(accreditation_id)["status"] == REVOKED


def test_compromised_since(coop: TrustChain) -> None:
    """A key marked compromised since T: credentials dated before T still count, from T on none (by either issuer
    key); a later mark never moves T later, an earlier one does; the key is never accredited again."""
    registry = coop.registry
    spki = cert_key("kba")
    accreditation_id = coop.accredit(ISSUER, [PID], cert=spki)
    since = coop.now() - 3600
    receipt = coop.decide(registry.functions.proposeCompromise(spki, since))
    assert ("KeyCompromised", {"issuerKey": spki, "accreditationId": 1, "since": since, "proposalId": 2}) in (
        coop.events(receipt)
    )
    for key in (spki, did_key(ISSUER)):
        assert coop.accredited(key, PID, since - 1)
        assert not coop.accredited(key, PID, since) and not coop.accredited(key, PID, coop.now())
    assert coop.record(accreditation_id)["compromised_since"] == since
    assert coop.record(accreditation_id)["status"] == ACTIVE  # the status is the members' separate decision
    receipt = coop.decide(registry.functions.proposeCompromise(spki, since + 100))
    assert coop.events(receipt)[1][1]["since"] == since
    assert registry.functions.keyCompromisedSince(spki).call() == since
    coop.decide(registry.functions.proposeCompromise(spki, since - 100))
    assert coop.record(accreditation_id)["compromised_since"] == since - 100
    # never accredited again, not even for the same DID
    call = registry.functions.proposeAccreditation(OTHER, ZERO, spki, [PID], coop.now(), coop.now() + DAY)
    assert "key_compromised" in coop.reverts(call, coop.members[0])
    # a new certificate key for the same DID is a fresh start
    renewed = coop.accredit(ISSUER, [PID], cert=cert_key("kba 2"))
    assert coop.accredited(did_key(ISSUER), PID, coop.now())
    assert coop.record(renewed)["compromised_since"] == 0
    assert not coop.accredited(spki, PID, since - 1)  # the old key names the superseded accreditation


def test_compromise_of_an_unaccredited_key_blocks_it_in_advance(coop: TrustChain) -> None:
    registry = coop.registry
    receipt = coop.decide(registry.functions.proposeCompromise(did_key(ISSUER), 1))
    assert coop.events(receipt)[1] == (
        "KeyCompromised",
        {"issuerKey": did_key(ISSUER), "accreditationId": 0, "since": 1, "proposalId": 1},
    )
    call = registry.functions.proposeAccreditation(ISSUER, ZERO, NO_CERT, [PID], coop.now(), coop.now() + DAY)
    assert "key_compromised" in coop.reverts(call, coop.members[0])
    assert "zero_key" in coop.reverts(registry.functions.proposeCompromise(NO_CERT, 1), coop.members[0])
    assert "zero_time" in coop.reverts(registry.functions.proposeCompromise(cert_key("x"), 0), coop.members[0])


def test_reaccreditation_supersedes(coop: TrustChain) -> None:
    """Accrediting a DID again (new types, new certificate key) replaces its accreditation: the old one is
    Superseded, the DID and the new key lead to the new one, the old key to nothing valid."""
    registry = coop.registry
    identity = coop.outsiders[0]
    first = coop.accredit(ISSUER, [PID], cert=cert_key("old"), identity=identity)
    receipt = coop.decide(
        registry.functions.proposeAccreditation(
            ISSUER, identity, cert_key("new"), [PID, DIPLOMA], coop.now(), coop.now() + DAY
        )
    )
    names = [name for name, _ in coop.events(receipt)]
    assert names == ["VoteCast", "AccreditationStatusChanged", "IssuerAccredited", "ProposalExecuted"]
    assert coop.record(first)["status"] == SUPERSEDED
    now = coop.now()
    assert coop.accredited(did_key(ISSUER), DIPLOMA, now) and coop.accredited(cert_key("new"), DIPLOMA, now)
    assert not coop.accredited(cert_key("old"), PID, now)
    assert registry.functions.accreditationOfIdentity(identity).call() == 2
    assert "not_live" in coop.reverts(registry.functions.proposeRevocation(first), coop.members[0])


def test_keys_of_a_live_accreditation_cannot_be_claimed_by_another_did(coop: TrustChain) -> None:
    registry = coop.registry
    identity = coop.outsiders[0]
    first = coop.accredit(ISSUER, [PID], cert=cert_key("kba"), identity=identity)
    now = coop.now()
    claim_cert = registry.functions.proposeAccreditation(OTHER, ZERO, cert_key("kba"), [PID], now, now + DAY)
    assert "cert_key_in_use" in coop.reverts(claim_cert, coop.members[0])
    claim_identity = registry.functions.proposeAccreditation(OTHER, identity, NO_CERT, [PID], now, now + DAY)
    assert "identity_in_use" in coop.reverts(claim_identity, coop.members[0])
    coop.decide(registry.functions.proposeRevocation(first))
    coop.decide(registry.functions.proposeAccreditation(OTHER, identity, cert_key("kba"), [PID], now, now + DAY))
    assert coop.accredited(cert_key("kba"), PID, now)
    assert registry.functions.getAccreditation(2).call()[0] == OTHER


def test_every_change_emits_an_event(coop: TrustChain) -> None:
    """Each state-changing function's successful transaction emits registry events: a proposal ``ProposalCreated``
    and ``VoteCast``; a vote ``VoteCast``, and the deciding vote the change and ``ProposalExecuted``."""
    registry = coop.registry
    accreditation_id = coop.accredit(ISSUER, [PID], cert=cert_key("k"))
    changes = [
        (registry.functions.proposeSuspension(accreditation_id), "AccreditationStatusChanged"),
        (registry.functions.proposeReinstatement(accreditation_id), "AccreditationStatusChanged"),
        (registry.functions.proposeCompromise(cert_key("k"), 5), "KeyCompromised"),
        (registry.functions.proposeRevocation(accreditation_id), "AccreditationStatusChanged"),
        (
            registry.functions.proposeAccreditation(OTHER, ZERO, NO_CERT, [PID], coop.now(), coop.now() + DAY),
            "IssuerAccredited",
        ),
        (registry.functions.proposeAddMember(coop.outsiders[0]), "MemberAdded"),
        (registry.functions.proposeRemoveMember(coop.members[2]), "MemberRemoved"),
    ]
    for call, change in changes:
        proposer, *voters = coop.current_members()
        proposal_receipt = coop.send(call, proposer)
        assert [name for name, _ in coop.events(proposal_receipt)] == ["ProposalCreated", "VoteCast"]
        proposal_id = coop.last_proposal()
        for voter in voters:
            receipt = coop.send(registry.functions.vote(proposal_id, True), voter)
            names = [name for name, _ in coop.events(receipt)]
            if coop.proposal(proposal_id)["state"] == EXECUTED:
                assert names == ["VoteCast", change, "ProposalExecuted"]
                break
            assert names == ["VoteCast"]
        assert coop.proposal(proposal_id)["state"] == EXECUTED
    functions = {
        e["name"] for e in registry.abi if e.get("stateMutability") == "nonpayable" and e["type"] == "function"
    }
    assert functions == {
        "proposeAddMember",
        "proposeRemoveMember",
        "proposeAccreditation",
        "proposeSuspension",
        "proposeReinstatement",
        "proposeRevocation",
        "proposeCompromise",
        "vote",
        "execute",
    }


def test_views_reject_unknown_ids(coop: TrustChain) -> None:
    with pytest.raises((ContractLogicError, TransactionFailed), match="no_accreditation"):
        coop.registry.functions.getAccreditation(0).call()
    with pytest.raises((ContractLogicError, TransactionFailed), match="no_proposal"):
        coop.registry.functions.getProposal(1).call()
