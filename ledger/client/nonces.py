"""Account nonces for concurrent senders (Yellow Paper §4.1: an account's nonce counts its transactions; a transaction
is valid only with exactly the sender's current nonce, so each nonce is used once and in order).

One counter per sender address, seeded from ``eth_getTransactionCount(address, "pending")`` (transactions the node
has accepted but not mined count too). A sender holds its counter's lock from reading the nonce until the node has
taken the signed transaction: nonces are therefore handed out without gaps and reach the node in order — which
nodes without a queue for future nonces (the local node, some QBFT setups) require, and which keeps any node's pool
from holding gapped transactions. Waiting for receipts happens outside the lock, so many transactions of one sender
can be in flight at once.

The counter is thrown away (and re-read from the chain on next use) whenever the node's view and ours may differ:
``nonce too low`` (another process used the account), ``nonce too high``, a replacement refused, or any failure to
deliver. It advances only when the node has accepted the transaction (or already knew it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["NonceSlot", "Nonces"]


class NonceSlot:
    """The nonce reserved for one transaction. Call :meth:`used` once the node took the transaction; leaving the
    ``with`` block without it (or after :meth:`resync`) makes the next sender re-read the nonce from the chain."""

    __slots__ = ("_outcome", "nonce")

    def __init__(self, nonce: int) -> None:
        self.nonce = nonce
        self._outcome: bool | None = None

    def used(self) -> None:
        self._outcome = True

    def resync(self) -> None:
        self._outcome = False


class _Counter:
    __slots__ = ("lock", "next")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next: int | None = None


class Nonces:
    """Thread-safe nonce counters, one per sender. ``pending_count(address)`` reads the chain's pending nonce."""

    def __init__(self, pending_count: Callable[[str], int]) -> None:
        self._pending_count = pending_count
        self._counters: dict[str, _Counter] = {}
        self._guard = threading.Lock()

    def _counter(self, address: str) -> _Counter:
        with self._guard:
            counter = self._counters.get(address)
            if counter is None:
                counter = self._counters[address] = _Counter()
            return counter

    @contextmanager
    def reserve(self, address: str) -> Iterator[NonceSlot]:
        """Hold ``address``'s next nonce for one transaction (other senders of ``address`` wait)."""
        counter = self._counter(address)
        with counter.lock:
            if counter.next is None:
                counter.next = int(self._pending_count(address))
            slot = NonceSlot(counter.next)
            try:
                yield slot
            finally:
                # _outcome is None when the block left by an exception before deciding: the node may or may not
                # have the transaction, so only the chain can say what the next nonce is.
                counter.next = slot.nonce + 1 if slot._outcome else None

    def forget(self, address: str) -> None:
        """Re-read ``address``'s nonce from the chain on next use (e.g. after another process sent for it)."""
        counter = self._counter(address)
        with counter.lock:
            counter.next = None

    def peek(self, address: str) -> int | None:
        """The next nonce this process would use for ``address``, or ``None`` if it will be read from the chain."""
        return self._counter(address).next
