"""The ledger's errors: re-exported from :mod:`ssi.errors`, where the one exception hierarchy lives (DESIGN.md §2;
docs/decisions.md), so ``except ledger.errors.ChainError`` catches the node's, the deployer's and the client's errors
alike and services map them to HTTP in one place.

- ``ChainError``: base; ``ChainUnavailable`` (no node answered in time), ``ChainStorageError`` (the node's journal),
  ``TransactionRejected`` (a node refused a transaction), ``ExecutionReverted`` (a call or transaction reverted);
- ``ChainIdMismatch``: the configured JSON-RPC endpoints are not all the same chain (or not the expected one);
- ``TransactionFailed``: a transaction reverted (at gas estimation, or mined with status 0), with the revert reason;
- ``TransactionNotConfirmed``: a transaction's fate is not known in time; it carries the signed bytes, which may be
  resent as they are (same nonce, same hash, so a resend never applies twice); ``ChainStalled``, a kind of it: the
  chain stopped growing meanwhile (a Clique network without a majority of its signers online);
- ``InvalidBlock``: a block breaks a consensus rule (the PoA network model, ``ledger.poa``).
"""

from __future__ import annotations

from ssi.errors import (
    ChainError,
    ChainIdMismatch,
    ChainStalled,
    ChainStorageError,
    ChainUnavailable,
    ExecutionReverted,
    InvalidBlock,
    TransactionFailed,
    TransactionNotConfirmed,
    TransactionRejected,
)

__all__ = [
    "ChainError",
    "ChainIdMismatch",
    "ChainStalled",
    "ChainStorageError",
    "ChainUnavailable",
    "ExecutionReverted",
    "InvalidBlock",
    "TransactionFailed",
    "TransactionNotConfirmed",
    "TransactionRejected",
]
