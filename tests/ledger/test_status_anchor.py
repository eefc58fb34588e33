"""``ledger.trust``: status-list anchoring from Python — an accredited did:ethr issuer anchors many lists per
transaction, a verifier reads the latest digest (cached, dropped on the anchor's events) and tells a current list from
a rolled-back or substituted one (issue 5, "Status-list anchor")."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient, SoftwareChainSigner
from ledger.node import LocalChain, LocalChainProvider
from ledger.trust import (
    DEFAULT_ANCHOR_BATCH,
    AnchoringResult,
    RegistryMember,
    StatusAnchorReader,
    TrustRegistry,
    anchor_status_lists,
)
from ssi.clock import FrozenClock
from ssi.errors import TransactionFailed

START = 1_800_000_000
DAY = 86_400


def token_sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def uri(n: int) -> str:
    return f"https://kba.example/status/{n}"


@dataclass
class Setup:
    client: ChainClient
    issuer: SoftwareChainSigner
    members: list[RegistryMember]
    reader: StatusAnchorReader

    @property
    def did(self) -> str:
        return f"did:ethr:0x539:{self.issuer.address.lower()}"

    def anchor(self, lists: list[tuple[str, bytes]], batch_size: int = DEFAULT_ANCHOR_BATCH) -> AnchoringResult:
        return anchor_status_lists(self.client, DEV_ADDRESSES.status_anchor, self.issuer, lists, batch_size=batch_size)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    chain = LocalChain.in_memory(clock=FrozenClock(START))
    client = ChainClient(LocalChainProvider(chain))
    bootstrap_development_chain(client, tmp_path)
    registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
    members = [RegistryMember(registry, signer) for signer in dev_member_signers()]
    issuer = SoftwareChainSigner.generate()
    did = f"did:ethr:0x539:{issuer.address.lower()}"
    proposal = members[0].propose_accreditation(did, ["urn:eudi:pid:de:1"], valid_from=START, valid_until=START + DAY)
    members[1].vote(proposal.proposal.id)
    yield Setup(client, issuer, members, StatusAnchorReader(client, DEV_ADDRESSES.status_anchor))
    chain.close()


def test_batches_many_lists_per_transaction(setup: Setup) -> None:
    """300 lists in batches of 128: three transactions; the second round (one transaction) with 10 changed lists
    records only those."""
    lists = [(uri(n), token_sha256(f"list {n} v1")) for n in range(300)]
    result = setup.anchor(lists, batch_size=128)
    assert len(result.transactions) == 3
    assert result.anchored == {uri(n): 1 for n in range(300)} and result.unchanged == []
    changed = [(u, token_sha256(f"{u} v2") if n < 10 else d) for n, (u, d) in enumerate(lists)]
    second = setup.anchor(changed, batch_size=512)
    assert len(second.transactions) == 1
    assert second.anchored == {uri(n): 2 for n in range(10)}
    assert len(second.unchanged) == 290
    latest = setup.reader.latest(setup.did, uri(3))
    assert latest is not None and latest.sha256 == token_sha256(f"{uri(3)} v2") and latest.version == 2
    assert setup.reader.latest(setup.issuer.address, uri(299)) == setup.reader.latest(setup.did, uri(299))
    assert setup.reader.latest(setup.did, "https://kba.example/status/unknown") is None


def test_verifier_tells_current_from_rolled_back_and_substituted(setup: Setup) -> None:
    setup.anchor([(uri(1), token_sha256("v1"))])
    setup.anchor([(uri(1), token_sha256("v2"))])
    reader = setup.reader
    assert reader.check(setup.did, uri(1), token_sha256("v2")).state == "current"
    rolled_back = reader.check(setup.did, uri(1), token_sha256("v1"))
    assert rolled_back.state == "rolled_back" and rolled_back.matched is not None and rolled_back.matched.version == 1
    assert rolled_back.latest is not None and rolled_back.latest.version == 2
    assert reader.check(setup.did, uri(1), token_sha256("forged")).state == "unknown"
    assert reader.check(setup.did, uri(2), token_sha256("v1")).state == "not_anchored"
    history = reader.history(setup.did, uri(1))
    assert [(entry.version, entry.sha256) for entry in history] == [(1, token_sha256("v1")), (2, token_sha256("v2"))]
    assert history[0].time < history[1].time and history[0].block is not None


def test_cached_latest_is_dropped_by_a_new_anchor(setup: Setup) -> None:
    reader = setup.reader
    assert reader.anchored_digest(setup.did, uri(1)) is None
    assert reader.latest(setup.did, uri(1)) is None
    assert (reader.stats.loads, reader.stats.hits) == (1, 1)
    setup.anchor([(uri(1), token_sha256("v1")), (uri(2), token_sha256("v1"))])
    first = reader.latest(setup.did, uri(1))
    assert first is not None and first.version == 1 and reader.stats.loads == 2
    assert reader.latest(setup.did, uri(1)) == first and reader.stats.hits == 2
    setup.anchor([(uri(2), token_sha256("v2"))])  # another list: uri(1) stays cached
    assert reader.latest(setup.did, uri(1)) == first and reader.stats.loads == 2
    setup.anchor([(uri(1), token_sha256("v2"))])
    second = reader.latest(setup.did, uri(1))
    assert second is not None and second.version == 2 and reader.stats.loads == 3


def test_only_an_accredited_owner_anchors(setup: Setup) -> None:
    stranger = SoftwareChainSigner.generate()
    with pytest.raises(TransactionFailed) as refused:
        anchor_status_lists(setup.client, DEV_ADDRESSES.status_anchor, stranger, [(uri(1), token_sha256("x"))])
    assert refused.value.reason == "not_accredited"
    with pytest.raises(TransactionFailed) as refused:
        anchor_status_lists(
            setup.client, DEV_ADDRESSES.status_anchor, stranger, [(uri(1), token_sha256("x"))], issuer=setup.did
        )
    assert refused.value.reason == "not_owner"


def test_input_is_checked_before_anything_is_sent(setup: Setup) -> None:
    with pytest.raises(ValueError, match="32-byte"):
        setup.anchor([(uri(1), b"short")])
    with pytest.raises(ValueError, match="non-empty URI"):
        setup.anchor([("", token_sha256("x"))])
    with pytest.raises(ValueError, match="batch_size"):
        setup.anchor([(uri(1), token_sha256("x"))], batch_size=513)
    assert setup.client.transaction_count(setup.issuer.address) == 0
