"""Following one contract's logs, so that caches of its views are dropped exactly when the contract changes.

The pattern of the did:ethr cache (``ledger.did_ethr._cache``): a contract's state changes only in transactions that
emit its events (both govssi contracts emit one for every change). :meth:`ContractFollower.sync` asks for the head
block (``eth_blockNumber``, one cheap request for every cached entry); when the chain moved, it reads the contract's
logs over the new blocks (one ``eth_getLogs``) and hands them to ``on_logs`` with the new head, which drops what they
name. If the block last seen has another hash now, or the chain got shorter (a reorganisation), ``on_reset`` drops
everything. The cache keeps the head it was told of together with a generation counter (both under its lock): a read
made at that head is stored only if no invalidation or reset happened meanwhile, so nothing stale is ever cached.
``max_staleness`` (seconds) lets a busy reader skip the head request for a while: one block period costs at most one
block of delay, since the contract cannot change faster than blocks are made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from web3.exceptions import BlockNotFound

from ledger.client import ChainClient
from ledger.client.rpc_errors import rpc_errors
from ledger.lru import Lru

__all__ = ["CacheStats", "ContractFollower", "Lru"]


@dataclass
class CacheStats:
    """Counters for tests, metrics and the benchmark."""

    lookups: int = 0
    hits: int = 0
    loads: int = 0
    invalidations: int = 0
    resets: int = 0
    syncs: int = 0


class ContractFollower:
    """The head as last seen and the contract's logs since, for one contract on one chain."""

    def __init__(
        self,
        client: ChainClient,
        address: str,
        *,
        on_logs: Callable[[Sequence[Any], int], None],
        on_reset: Callable[[int], None],
        stats: CacheStats,
        max_staleness: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_staleness < 0:
            raise ValueError("max_staleness must not be negative")
        self.client = client
        self.address = str(to_checksum_address(address))
        self.max_staleness = float(max_staleness)
        self._on_logs = on_logs
        self._on_reset = on_reset
        self._stats = stats
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.head: int | None = None
        self._head_hash = b""
        self._checked_at = float("-inf")

    def _block_hash(self, number: int) -> bytes | None:
        def get() -> bytes | None:
            try:
                return bytes(self.client.w3.eth.get_block(number)["hash"])
            except BlockNotFound:
                return None

        with rpc_errors("the chain", "eth_getBlockByNumber"):
            return get()

    def sync(self, *, force: bool = False) -> int:
        """Bring the caches up to the head (or accept a head at most ``max_staleness`` old, unless ``force``); the
        head block's number. Reads made for the caches use this block, so what they store is never older."""
        asked = self._monotonic()
        with self._lock:
            fresh = asked - self._checked_at <= self.max_staleness or self._checked_at > asked
            if self.head is not None and not force and fresh:
                return self.head  # fresh enough, or another thread synced after we asked
            number = self.client.block_number()
            self._stats.syncs += 1
            if self.head is None or number < self.head:
                self._reset(number)
            elif number > self.head:
                if self._block_hash(self.head) != self._head_hash:
                    self._reset(number)  # the block we followed is gone: a reorganisation
                else:
                    logs = self.client.get_logs({"address": self.address}, from_block=self.head + 1, to_block=number)
                    head_hash = self._block_hash(number) or b""
                    self._on_logs(logs, number)
                    self.head, self._head_hash = number, head_hash
            self._checked_at = self._monotonic()
            return number

    def _reset(self, number: int) -> None:
        head_hash = self._block_hash(number) or b""
        self._stats.resets += 1
        self._on_reset(number)
        self.head, self._head_hash = number, head_hash
