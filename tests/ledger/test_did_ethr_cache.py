"""The did:ethr cache (``ledger.did_ethr.RegistryCache``): cached documents cost one ``eth_blockNumber``; a new
``DIDOwnerChanged``/``DIDDelegateChanged``/``DIDAttributeChanged`` for the identity invalidates it, a change of
another identity does not; a ``validTo`` passing invalidates without any event; reorganisations reset it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from did_ethr_support import EthrTestChain, account, did_of

from ledger.did_ethr import RegistryCache
from ssi.clock import FrozenClock
from ssi.did import DidResolver


@pytest.fixture
def t() -> EthrTestChain:
    return EthrTestChain.create()


def _calls(t: EthrTestChain, action: Any) -> dict[str, int]:
    t.provider.reset()
    action()
    return dict(t.provider.calls)


def test_cached_resolution_costs_one_block_number_request(t: EthrTestChain) -> None:
    ctl = t.controller("issuer")
    ctl.set_attribute("did/svc/Hub", b"https://hub.example")
    driver = t.driver()
    first = driver.resolve(did_of(ctl))
    calls = _calls(t, lambda: driver.resolve(did_of(ctl)))
    assert calls == {"eth_blockNumber": 1}
    assert driver.resolve(did_of(ctl)) is first or driver.resolve(did_of(ctl)) == first
    assert driver.network("0x539").cache.stats.result_hits >= 1


@pytest.mark.parametrize("change", ["owner", "delegate", "attribute"])
def test_a_new_event_of_the_identity_invalidates(t: EthrTestChain, change: str) -> None:
    """Each of the three ERC-1056 events invalidates the identity's cached history and documents."""
    ctl = t.controller("issuer")
    did = did_of(ctl)
    driver = t.driver()
    before = driver.resolve(did)
    if change == "owner":
        ctl.change_owner(account("new owner").address)
    elif change == "delegate":
        ctl.add_delegate("veriKey", account("d").address)
    else:
        ctl.set_attribute("did/svc/Hub", b"https://hub.example")
    t.advance(1)
    after = driver.resolve(did)
    assert after != before
    stats = driver.network("0x539").cache.stats
    assert stats.invalidations == 1 and stats.history_loads == 2


def test_a_change_of_another_identity_does_not_invalidate(t: EthrTestChain) -> None:
    issuer, other = t.controller("issuer"), t.controller("other")
    driver = t.driver()
    driver.resolve(did_of(issuer))
    other.set_attribute("did/svc/Hub", b"https://hub.example")
    calls = _calls(t, lambda: driver.resolve(did_of(issuer)))
    assert "eth_call" not in calls  # no history read for the issuer: only the feed's head, hash and log requests
    assert calls.get("eth_getLogs") == 1
    assert driver.network("0x539").cache.stats.history_loads == 1


def test_a_passing_valid_to_invalidates_without_an_event(t: EthrTestChain) -> None:
    """Delegates and attributes expire by time alone; the cached document is valid only until then."""
    ctl = t.controller("issuer")
    did = did_of(ctl)
    valid_to = t.timestamp(ctl.add_delegate("veriKey", account("d").address, 100).block_number) + 100
    driver = t.driver()
    assert len(driver.resolve(did).verification_method) == 2
    t.now.now = valid_to
    assert len(driver.resolve(did).verification_method) == 2  # validTo is inclusive
    t.now.now = valid_to + 1
    calls = _calls(t, lambda: driver.resolve(did))
    assert calls == {"eth_blockNumber": 1}  # rebuilt from the cached history
    assert len(driver.resolve(did).verification_method) == 1


def test_versions_are_built_from_the_cached_history(t: EthrTestChain) -> None:
    ctl = t.controller("issuer")
    did = did_of(ctl)
    first = ctl.set_attribute("did/svc/Hub", b"https://hub.example").block_number
    ctl.set_attribute("did/svc/Other", b"https://other.example")
    driver = t.driver()
    driver.resolve(did)
    calls = _calls(t, lambda: driver.resolve_result(did, {"versionId": str(first)}))
    assert set(calls) <= {"eth_blockNumber", "eth_getBlockByNumber"} and "eth_getLogs" not in calls
    assert len(driver.resolve_result(did, {"versionId": str(first)}).document.service) == 1


def test_max_staleness_skips_the_head_request() -> None:
    """With ``max_staleness`` the feed asks for the head at most that often: cached answers cost no request at all
    and a change shows within that time."""
    t = EthrTestChain.create()
    monotonic = FrozenClock(0)
    ctl = t.controller("issuer")
    driver = t.driver(max_staleness=2.0, monotonic=monotonic)
    did = did_of(ctl)
    driver.resolve(did)
    ctl.set_attribute("did/svc/Hub", b"https://hub.example")
    assert _calls(t, lambda: driver.resolve(did)) == {}
    assert not driver.resolve(did).service  # not seen yet
    monotonic.advance(2.5)
    assert driver.resolve(did).service


def test_a_version_beyond_the_stale_head_forces_a_sync() -> None:
    t = EthrTestChain.create()
    monotonic = FrozenClock(0)
    ctl = t.controller("issuer")
    driver = t.driver(max_staleness=60.0, monotonic=monotonic)
    did = did_of(ctl)
    driver.resolve(did)
    block = ctl.set_attribute("did/svc/Hub", b"https://hub.example").block_number
    assert driver.resolve_at(did, block=block).document.service


def test_lru_bound(t: EthrTestChain) -> None:
    driver = t.driver(cache_size=1)
    first, second = did_of(t.controller("a")), did_of(t.controller("b"))
    for did in (first, second, first):
        driver.resolve(did)
    assert driver.network("0x539").cache.stats.history_loads == 3


def test_resolver_cache_stays_out_of_the_way(t: EthrTestChain) -> None:
    """``manages_own_cache``: ``DidResolver``'s TTL cache does not hold did:ethr documents."""
    ctl = t.controller("issuer")
    resolver = DidResolver([t.driver()], cache_ttl=3600)
    resolver.resolve(did_of(ctl))
    ctl.add_delegate("veriKey", account("d").address)
    assert len(resolver.resolve(did_of(ctl)).verification_method) == 2


def test_concurrent_resolution_while_the_chain_changes(t: EthrTestChain) -> None:
    ctl = t.controller("issuer")
    did = did_of(ctl)
    driver = t.driver()
    errors: list[BaseException] = []
    stop = threading.Event()

    def resolve_loop() -> None:
        while not stop.is_set():
            try:
                driver.resolve(did)
            except BaseException as exc:  # collected and asserted on below
                errors.append(exc)
                return

    threads = [threading.Thread(target=resolve_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for index in range(5):
            ctl.set_attribute(f"did/svc/S{index}", b"https://s.example")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors
    t.advance(1)
    assert len(driver.resolve(did).service) == 5


# -- reorganisations (a fake chain) ------------------------------------------------------------------------------------


class FakeChain:
    """Just what RegistryCache asks: head, block hashes, logs, and an identity with no history."""

    registry = "0x" + "00" * 20

    def __init__(self) -> None:
        self.head = 10
        self.hashes = {n: bytes([n]) * 32 for n in range(100)}
        self.history_reads = 0

    def block_number(self) -> int:
        return self.head

    def block(self, number: int) -> tuple[int, bytes] | None:
        return (1000 + number, self.hashes[number]) if number <= self.head else None

    def registry_logs(self, first: int, last: int) -> list[Any]:
        return []

    def changed(self, identity: str, block: int) -> int:
        self.history_reads += 1
        return 0


def test_a_reorganisation_resets_the_cache() -> None:
    """If the block the feed last saw has another hash now, or the chain got shorter, nothing cached is trusted."""
    chain = FakeChain()
    cache = RegistryCache(chain)  # type: ignore[arg-type]
    identity = "0x" + "11" * 20
    cache.history(identity, cache.sync()[0])
    chain.head = 12
    cache.history(identity, cache.sync()[0])
    assert (chain.history_reads, cache.stats.resets) == (1, 1)  # the first sync is a reset (nothing known yet)
    chain.hashes[12] = b"\xee" * 32  # block 12 replaced
    chain.head = 13
    cache.history(identity, cache.sync()[0])
    assert (chain.history_reads, cache.stats.resets) == (2, 2)
    chain.head = 11  # shorter chain
    cache.history(identity, cache.sync()[0])
    assert (chain.history_reads, cache.stats.resets) == (3, 3)
    with pytest.raises(ValueError):
        RegistryCache(chain, max_staleness=-1)  # type: ignore[arg-type]
