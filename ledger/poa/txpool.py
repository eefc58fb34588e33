"""A node's transaction pool: signed transactions accepted but not yet in a canonical block.

Rules (geth's pool, simplified to what a free-gas network of a few services needs):

- admission is the single node's (:func:`ledger.node.chain.check_transaction`: chain id, signature, gas, fees,
  funds) against the head state, except that the nonce may run up to :data:`MAX_NONCE_AHEAD` ahead of the
  account's, so transactions sent in quick succession, or reaching this node out of order by gossip, wait here;
- a transaction already pooled is accepted again without change (delivery is idempotent); another transaction with
  the same sender and nonce replaces it only if it pays at least 10 % more tip, as geth requires
  ("replacement transaction underpriced" otherwise);
- a block is filled sender by sender, oldest sender first, each sender's transactions in nonce order from the
  account's nonce, stopping at a gap;
- when the head changes, transactions the new canonical chain holds leave the pool, and those of blocks that were
  replaced come back (a reorganisation does not lose them); the pending nonce (``eth_getTransactionCount`` at
  ``pending``) counts the account's consecutive pooled transactions.

At most :data:`MAX_POOL` transactions and :data:`MAX_PER_SENDER` per sender; a full pool refuses new ones.
Not thread-safe: the chain's lock guards it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from eth.abc import SignedTransactionAPI

from ssi.errors import TransactionRejected

__all__ = ["MAX_NONCE_AHEAD", "MAX_PER_SENDER", "MAX_POOL", "PooledTransaction", "TxPool"]

MAX_POOL: Final = 4096
MAX_PER_SENDER: Final = 64
MAX_NONCE_AHEAD: Final = 64
_PRICE_BUMP_PERCENT: Final = 10


@dataclass(frozen=True)
class PooledTransaction:
    tx: SignedTransactionAPI
    raw: bytes
    sender: bytes
    #: Arrival order, for fairness between senders.
    sequence: int

    @property
    def tip(self) -> int:
        return int(self.tx.max_priority_fee_per_gas if self.tx.type_id == 2 else self.tx.gas_price)


class TxPool:
    """Pooled transactions by hash and by (sender, nonce)."""

    def __init__(self) -> None:
        self._by_hash: dict[bytes, PooledTransaction] = {}
        self._by_sender: dict[bytes, dict[int, bytes]] = {}
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: bytes) -> PooledTransaction | None:
        return self._by_hash.get(tx_hash)

    def add(self, tx: SignedTransactionAPI, raw: bytes, sender: bytes) -> bool:
        """Pool ``tx`` (already checked against the head state); ``False`` if it was pooled already."""
        if tx.hash in self._by_hash:
            return False
        nonces = self._by_sender.setdefault(sender, {})
        existing_hash = nonces.get(tx.nonce)
        entry = PooledTransaction(tx, raw, sender, next(self._sequence))
        if existing_hash is not None:
            existing = self._by_hash[existing_hash]
            if entry.tip * 100 < existing.tip * (100 + _PRICE_BUMP_PERCENT) or entry.tip == existing.tip:
                raise TransactionRejected(
                    "replacement transaction underpriced", reason="replacement_underpriced"
                ) from None
            del self._by_hash[existing_hash]
            entry = PooledTransaction(tx, raw, sender, existing.sequence)
        elif len(nonces) >= MAX_PER_SENDER:
            raise TransactionRejected(f"too many pending transactions of 0x{sender.hex()}", reason="pool_full")
        elif len(self._by_hash) >= MAX_POOL:
            raise TransactionRejected("transaction pool is full", reason="pool_full")
        nonces[tx.nonce] = tx.hash
        self._by_hash[tx.hash] = entry
        return True

    def remove(self, tx_hash: bytes) -> None:
        entry = self._by_hash.pop(tx_hash, None)
        if entry is None:
            return
        nonces = self._by_sender.get(entry.sender)
        if nonces is not None:
            if nonces.get(entry.tx.nonce) == tx_hash:
                del nonces[entry.tx.nonce]
            if not nonces:
                del self._by_sender[entry.sender]

    def pending_nonce(self, sender: bytes, account_nonce: int) -> int:
        """The nonce after ``sender``'s consecutive pooled transactions from ``account_nonce`` on."""
        nonces = self._by_sender.get(sender, {})
        nonce = account_nonce
        while nonce in nonces:
            nonce += 1
        return nonce

    def senders(self) -> list[bytes]:
        """Senders with pooled transactions, the one waiting longest first."""
        return sorted(
            self._by_sender,
            key=lambda sender: min(self._by_hash[tx_hash].sequence for tx_hash in self._by_sender[sender].values()),
        )

    def sequence_from(self, sender: bytes, account_nonce: int) -> Iterator[PooledTransaction]:
        """``sender``'s transactions with consecutive nonces from ``account_nonce``."""
        nonces = self._by_sender.get(sender, {})
        nonce = account_nonce
        while nonce in nonces:
            yield self._by_hash[nonces[nonce]]
            nonce += 1

    def prune(self, sender: bytes, account_nonce: int) -> None:
        """Drop ``sender``'s transactions with nonces below ``account_nonce`` (mined, or replaced in a block)."""
        for nonce, tx_hash in list(self._by_sender.get(sender, {}).items()):
            if nonce < account_nonce:
                self.remove(tx_hash)

    def all_senders(self) -> list[bytes]:
        return list(self._by_sender)
