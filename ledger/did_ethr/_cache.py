"""The did:ethr cache: identity histories and built documents, invalidated by the registry's own events.

A DID document changes only when (a) the registry emits ``DIDOwnerChanged``, ``DIDDelegateChanged`` or
``DIDAttributeChanged`` for its identity, or (b) time passes a ``validTo`` (or reaches a block stamped in the future).
(b) is handled where documents are built (:attr:`DocumentVersion.valid_until`); (a) here, by following the registry's
logs: :meth:`RegistryCache.sync` asks for the head block (``eth_blockNumber``, one cheap request for *all* DIDs), and
when the chain has moved on, reads the registry's DID events in the new blocks (one ``eth_getLogs``) and drops what is
cached for each identity they name. Histories are read at the synced head, so a cached history is never older than
the block the feed has seen.

``max_staleness`` (seconds) lets a busy verifier skip the head request for a while: 0 (the default) checks on every
resolution; one block period (e.g. 2 s on a QBFT network) costs at most one block of delay, since the registry cannot
change faster than blocks are made. Reorganisations: if the block the feed last saw has another hash now (or the
chain is shorter), everything is dropped and read again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from ledger.did_ethr._events import RegistryEvent
from ledger.did_ethr._registry import RegistryReader, decode, identity_history
from ledger.lru import Lru

__all__ = ["CacheStats", "RegistryCache"]


@dataclass
class CacheStats:
    """Counters for tests and metrics."""

    history_loads: int = 0
    history_hits: int = 0
    result_hits: int = 0
    invalidations: int = 0
    resets: int = 0
    syncs: int = 0


@dataclass
class _Head:
    number: int | None = None
    block_hash: bytes = b""
    timestamp: int = 0
    checked_at: float = field(default=float("-inf"))


def _head(number: int, block: tuple[int, bytes] | None) -> _Head:
    if block is None:
        return _Head(number=number)
    return _Head(number=number, block_hash=block[1], timestamp=block[0])


class RegistryCache:
    """Histories, block times and built results of one registry, kept fresh by following its logs."""

    def __init__(
        self,
        reader: RegistryReader,
        *,
        max_staleness: float = 0.0,
        size: int = 1024,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_staleness < 0 or size < 0:
            raise ValueError("max_staleness and size must not be negative")
        self.reader = reader
        self.max_staleness = float(max_staleness)
        self.stats = CacheStats()
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._head = _Head()
        self._histories: Lru[tuple[int, tuple[RegistryEvent, ...]]] = Lru(size)
        self._results: Lru[tuple[str, float, Any]] = Lru(size)
        self._timestamps: Lru[int] = Lru(max(size, 4096))
        self._generation: dict[str, int] = {}

    # -- following the chain -----------------------------------------------------------------------------------------

    def sync(self, *, force: bool = False) -> tuple[int, int]:
        """Bring the cache up to the chain head (or accept a head at most ``max_staleness`` old, unless ``force``);
        return the head block's number and timestamp."""
        asked = self._monotonic()
        with self._sync_lock:
            head = self._head
            fresh = not force and asked - head.checked_at <= self.max_staleness
            if head.number is not None and (fresh or head.checked_at > asked):
                return head.number, head.timestamp  # fresh enough, or another thread synced after we asked
            number = self.reader.block_number()
            self.stats.syncs += 1
            if head.number is None or number < head.number:
                self._reset(number)
            elif number > head.number:
                seen = self.reader.block(head.number)
                if seen is None or seen[1] != head.block_hash:
                    self._reset(number)  # the block we followed is gone: a reorganisation
                else:
                    self._follow(head.number + 1, number)
            self._head.checked_at = self._monotonic()
            return number, self._head.timestamp

    def _reset(self, number: int) -> None:
        block = self.reader.block(number)
        with self._lock:
            self.stats.resets += 1
            self._histories.items.clear()
            self._results.items.clear()
            self._timestamps.items.clear()
            self._generation = {key: value + 1 for key, value in self._generation.items()}
            self._head = _head(number, block)

    def _follow(self, first: int, last: int) -> None:
        logs = self.reader.registry_logs(first, last)
        block = self.reader.block(last)
        identities = set()
        for log in logs:
            decoded = decode(log, 0)
            if decoded is not None:
                identities.add(decoded.identity)
        with self._lock:
            for identity in identities:
                self._invalidate(identity)
            self._head = _head(last, block)

    def _invalidate(self, identity: str) -> None:
        self.stats.invalidations += 1
        self._generation[identity] = self._generation.get(identity, 0) + 1
        self._histories.items.pop(identity, None)
        for key in [key for key, value in self._results.items.items() if value[0] == identity]:
            del self._results.items[key]

    # -- cached reads --------------------------------------------------------------------------------------------------

    def block_timestamp(self, number: int) -> int:
        with self._lock:
            cached = self._timestamps.get(number)
        if cached is not None:
            return cached
        block = self.reader.block(number)
        if block is None:
            raise LookupError(number)
        with self._lock:
            self._timestamps.put(number, block[0])
        return block[0]

    def history(self, identity: str, head: int) -> tuple[RegistryEvent, ...]:
        """The identity's events as of ``head`` (the block :meth:`sync` returned)."""
        with self._lock:
            cached = self._histories.get(identity)
            generation = self._generation.get(identity, 0)
            if cached is not None:  # still here: no event for the identity since it was read
                self.stats.history_hits += 1
                return cached[1]
        events = identity_history(self.reader, identity, head, self.block_timestamp)
        with self._lock:
            self.stats.history_loads += 1
            if self._generation.get(identity, 0) == generation and self._head.number == head:
                self._histories.put(identity, (head, events))
        return events

    def result(self, key: Hashable, now: float) -> Any:
        """A cached built result for ``key`` still valid at ``now``, else ``None``."""
        with self._lock:
            entry = self._results.get(key)
            if entry is None or now >= entry[1]:
                return None
            self.stats.result_hits += 1
            return entry[2]

    def store_result(self, key: Hashable, identity: str, valid_until: float, value: Any, *, head: int) -> None:
        with self._lock:
            if self._head.number == head:  # built from what the cache knows now
                self._results.put(key, (identity, valid_until, value))
