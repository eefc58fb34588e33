"""The ledger's errors, in one place, all :class:`ssi.errors.SsiError` subclasses so services map them to HTTP once.

``ChainError`` and its first subclasses (``ChainUnavailable``, ``ChainStorageError``, ``TransactionRejected``,
``ExecutionReverted``) were defined in ``ssi/errors.py`` by the node work and are re-exported here unchanged, so
``except ledger.errors.ChainError`` catches the node's, the deployer's and the client's errors alike. The client adds:

- :class:`ChainIdMismatch` — the configured JSON-RPC endpoints are not all the same chain (or not the expected one);
- :class:`TransactionFailed` — a transaction reverted (at gas estimation, or mined with receipt status 0), with the
  revert reason when the node gives one;
- :class:`TransactionNotConfirmed` — a transaction's fate is not known in time (no node took it, or it was not mined /
  not deep enough before the deadline); it carries the signed bytes, which may be resent as they are: same nonce, same
  hash, so a resend never applies twice.
"""

from __future__ import annotations

from ssi.errors import ChainError, ChainStorageError, ChainUnavailable, ExecutionReverted, TransactionRejected

__all__ = [
    "ChainError",
    "ChainIdMismatch",
    "ChainStorageError",
    "ChainUnavailable",
    "ExecutionReverted",
    "TransactionFailed",
    "TransactionNotConfirmed",
    "TransactionRejected",
]


class ChainIdMismatch(ChainError):
    """An endpoint answered ``eth_chainId`` with another chain than the others (or than the one configured).

    Sending to the wrong chain would sign transactions for a network nobody meant (EIP-155 replay protection only
    makes them invalid elsewhere, it does not stop reads from the wrong registry), so this is a configuration error.
    """

    reason = "chain_id_mismatch"


class TransactionFailed(ExecutionReverted):
    """A transaction reverted. ``transaction_hash`` is ``None`` when it reverted at gas estimation and was never sent;
    ``revert_reason`` is the ``Error(string)`` message when there is one; ``data`` the raw revert data if known."""

    reason = "transaction_failed"

    def __init__(
        self,
        description: str,
        *,
        transaction_hash: bytes | None = None,
        revert_reason: str | None = None,
        data: bytes = b"",
        reason: str | None = None,
    ) -> None:
        super().__init__(description, data=data, reason=reason)
        self.transaction_hash = transaction_hash
        self.revert_reason = revert_reason


class TransactionNotConfirmed(ChainUnavailable):
    """A signed transaction whose fate is unknown within the deadline: maybe no node took it, maybe it is pending or
    not yet ``confirmations`` deep. ``raw_transaction`` can be resent as it is (``ChainClient.resend``): it has the
    same nonce and hash, so it is applied at most once."""

    reason = "transaction_not_confirmed"

    def __init__(self, description: str, *, transaction_hash: bytes, raw_transaction: bytes | None = None) -> None:
        super().__init__(description)
        self.transaction_hash = transaction_hash
        self.raw_transaction = raw_transaction
