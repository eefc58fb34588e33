"""The StatusListAnchor contract (issue 5, "Status-list anchor"), on an in-process EVM.

An accredited issuer (a did:ethr identity whose ERC-1056 owner sends) records per status list version the URI hash,
the SHA-256 of the Status List Token and the time; batches of many lists in one transaction; nothing about holders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from eth_utils.crypto import keccak
from trust_support import DAY, PID, TrustChain, deploy_trust_chain

ISSUER_DID_PREFIX = "did:ethr:0x539:"


def uri_hash(uri: str) -> bytes:
    return keccak(uri.encode())


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@pytest.fixture(scope="module")
def deployed() -> tuple[TrustChain, int]:
    chain = deploy_trust_chain(3)
    return chain, chain.tester.take_snapshot()


@pytest.fixture
def chain(deployed: tuple[TrustChain, int]) -> Iterator[TrustChain]:
    trust_chain, snapshot = deployed
    trust_chain.tester.revert_to_snapshot(snapshot)
    yield trust_chain


@pytest.fixture
def issuer(chain: TrustChain) -> str:
    """An accredited did:ethr issuer: its identity address (an eth-tester account that owns itself)."""
    identity = chain.outsiders[0]
    chain.accredit(ISSUER_DID_PREFIX + identity, [PID], identity=identity)
    return identity


def test_anchor_records_digest_version_and_time(chain: TrustChain, issuer: str) -> None:
    anchor = chain.anchor
    list_uri = uri_hash("https://issuer.example/status/1")
    assert anchor.functions.latest(issuer, list_uri).call() == [b"\0" * 32, 0, 0]
    receipt = chain.send(anchor.functions.anchor(issuer, list_uri, digest("v1")), issuer)
    time = chain.now()
    assert anchor.functions.latest(issuer, list_uri).call() == [digest("v1"), 1, time]
    assert chain.events(receipt, anchor) == [
        (
            "StatusListAnchored",
            {"issuer": issuer, "uriHash": list_uri, "statusListSha256": digest("v1"), "version": 1, "time": time},
        )
    ]
    chain.advance(60)
    chain.send(anchor.functions.anchor(issuer, list_uri, digest("v2")), issuer)
    assert anchor.functions.latest(issuer, list_uri).call() == [digest("v2"), 2, chain.now()]
    # the older version stays findable in the events: a verifier holding v1 sees it was rolled back
    logs = anchor.events.StatusListAnchored().get_logs(from_block=0, argument_filters={"uriHash": list_uri})
    assert [(log["args"]["version"], log["args"]["statusListSha256"]) for log in logs] == [
        (1, digest("v1")),
        (2, digest("v2")),
    ]


def test_an_unchanged_digest_changes_nothing(chain: TrustChain, issuer: str) -> None:
    anchor = chain.anchor
    list_uri = uri_hash("https://issuer.example/status/1")
    chain.send(anchor.functions.anchor(issuer, list_uri, digest("v1")), issuer)
    before = anchor.functions.latest(issuer, list_uri).call()
    receipt = chain.send(anchor.functions.anchor(issuer, list_uri, digest("v1")), issuer)
    assert chain.events(receipt, anchor) == []
    assert anchor.functions.latest(issuer, list_uri).call() == before


def test_batch_anchors_many_lists_in_one_transaction(chain: TrustChain, issuer: str) -> None:
    anchor = chain.anchor
    uris = [uri_hash(f"https://issuer.example/status/{i}") for i in range(20)]
    receipt = chain.send(anchor.functions.anchorBatch(issuer, uris, [digest(f"{i}") for i in range(20)]), issuer)
    events = chain.events(receipt, anchor)
    assert len(events) == 20 and {args["version"] for _, args in events} == {1}
    # the next publication: five lists changed, the rest re-anchored unchanged (no event, no new version)
    digests = [digest(f"{i}'" if i < 5 else f"{i}") for i in range(20)]
    receipt = chain.send(anchor.functions.anchorBatch(issuer, uris, digests), issuer)
    assert [args["uriHash"] for _, args in chain.events(receipt, anchor)] == uris[:5]
    assert anchor.functions.latest(issuer, uris[0]).call()[:2] == [digest("0'"), 2]
    assert anchor.functions.latest(issuer, uris[19]).call()[:2] == [digest("19"), 1]


def test_batch_limits(chain: TrustChain, issuer: str) -> None:
    anchor = chain.anchor
    one = [uri_hash("u")]
    assert "length_mismatch" in chain.reverts(anchor.functions.anchorBatch(issuer, one, []), issuer)
    assert "bad_batch" in chain.reverts(anchor.functions.anchorBatch(issuer, [], []), issuer)
    limit = anchor.functions.MAX_BATCH().call()
    too_many = [uri_hash(str(i)) for i in range(limit + 1)]
    assert "bad_batch" in chain.reverts(anchor.functions.anchorBatch(issuer, too_many, too_many), issuer)
    assert "zero_hash" in chain.reverts(anchor.functions.anchor(issuer, b"\0" * 32, digest("x")), issuer)
    assert "zero_hash" in chain.reverts(anchor.functions.anchor(issuer, one[0], b"\0" * 32), issuer)


def test_only_the_identitys_owner_may_anchor(chain: TrustChain, issuer: str) -> None:
    """The sender must be the issuer identity's current owner in the ERC-1056 registry (owner changes included)."""
    anchor = chain.anchor
    list_uri = uri_hash("https://issuer.example/status/1")
    stranger = chain.outsiders[1]
    assert "not_owner" in chain.reverts(anchor.functions.anchor(issuer, list_uri, digest("x")), stranger)
    chain.send(chain.did_registry.functions.changeOwner(issuer, stranger), issuer)
    assert "not_owner" in chain.reverts(anchor.functions.anchor(issuer, list_uri, digest("x")), issuer)
    chain.send(anchor.functions.anchor(issuer, list_uri, digest("x")), stranger)
    assert anchor.functions.latest(issuer, list_uri).call()[1] == 1


def test_only_accredited_issuers_may_anchor(chain: TrustChain, issuer: str) -> None:
    """Unaccredited: refused. Suspended: still allowed (it must publish revocations). Revoked: refused."""
    anchor = chain.anchor
    list_uri = uri_hash("https://issuer.example/status/1")
    unaccredited = chain.outsiders[1]
    call = anchor.functions.anchor(unaccredited, list_uri, digest("x"))
    assert "not_accredited" in chain.reverts(call, unaccredited)
    chain.decide(chain.registry.functions.proposeSuspension(1))
    chain.send(anchor.functions.anchor(issuer, list_uri, digest("while suspended")), issuer)
    chain.decide(chain.registry.functions.proposeRevocation(1))
    assert "not_accredited" in chain.reverts(anchor.functions.anchor(issuer, list_uri, digest("y")), issuer)
    assert "not_accredited" in chain.reverts(anchor.functions.anchorBatch(issuer, [list_uri], [digest("y")]), issuer)


def test_issuers_have_separate_namespaces(chain: TrustChain, issuer: str) -> None:
    """The same URI hash under another issuer is another list: an issuer cannot overwrite another's anchors."""
    second = chain.outsiders[1]
    chain.accredit(ISSUER_DID_PREFIX + second, [PID], identity=second, valid_until=chain.now() + DAY)
    list_uri = uri_hash("https://issuer.example/status/1")
    chain.send(chain.anchor.functions.anchor(issuer, list_uri, digest("a")), issuer)
    chain.send(chain.anchor.functions.anchor(second, list_uri, digest("b")), second)
    assert chain.anchor.functions.latest(issuer, list_uri).call()[0] == digest("a")
    assert chain.anchor.functions.latest(second, list_uri).call()[0] == digest("b")


def test_wiring_and_interface(chain: TrustChain) -> None:
    """The anchor names both registries; its only writes are ``anchor`` and ``anchorBatch``, and its event holds
    hashes, a counter, a time and the issuer's address: no field could carry a status index or a holder's data."""
    anchor = chain.anchor
    assert anchor.functions.trustedIssuers().call() == chain.registry.address
    assert anchor.functions.didRegistry().call() == chain.did_registry.address
    writes = {e["name"] for e in anchor.abi if e["type"] == "function" and e["stateMutability"] == "nonpayable"}
    assert writes == {"anchor", "anchorBatch"}
    (event,) = [e for e in anchor.abi if e["type"] == "event"]
    assert [(i["name"], i["type"]) for i in event["inputs"]] == [
        ("issuer", "address"),
        ("uriHash", "bytes32"),
        ("statusListSha256", "bytes32"),
        ("version", "uint64"),
        ("time", "uint64"),
    ]
