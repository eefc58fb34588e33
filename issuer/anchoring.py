"""Anchoring published Status List Tokens on the chain (DESIGN.md §1: "digests of published status lists").

Each version of a status list the issuer publishes gets its SHA-256 recorded in the cooperative's status-list anchor
contract (``ledger/contracts/StatusListAnchor.sol``), sent by the authority's did:ethr controller key; a verifier then
tells the current list from a rolled-back or substituted one (``ledger.trust.StatusAnchorReader.check``). The chain
holds the URI's hash, the token's hash, a version and a time: no index, nothing about a holder.

:class:`StatusListAnchoring` is the seam :mod:`issuer.publishing` calls — many lists per call, as the contract takes
them in batches:

- :class:`LedgerStatusAnchoring` — Ledger II's writer, ``ledger.trust.anchor_status_lists``, against the anchor at
  ``GOVSSI_STATUS_ANCHOR``. ``ledger.trust`` is imported when first used: a build without it reports
  ``unavailable`` with the reason instead of failing to start.
- :class:`NoStatusAnchoring` — no chain configured (``not_configured``); lists are published unanchored.

Outcomes are data, never exceptions: ``anchored`` (the transactions), ``refused`` (the contract said no: the key does
not own the DID, the DID is not accredited — retrying soon will not help), ``unavailable`` (the chain did not answer;
retry), ``not_configured``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ssi.errors import ChainError, TransactionFailed

if TYPE_CHECKING:
    from ledger.client import ChainClient, ChainSigner

__all__ = [
    "AnchorOutcome",
    "LedgerStatusAnchoring",
    "NoStatusAnchoring",
    "StatusListAnchoring",
]

log = logging.getLogger("govssi.issuer.anchoring")

ANCHORED, REFUSED, UNAVAILABLE, NOT_CONFIGURED = "anchored", "refused", "unavailable", "not_configured"


@dataclass(frozen=True)
class AnchorOutcome:
    state: str
    detail: str | None = None
    transactions: list[str] = field(default_factory=list)


class StatusListAnchoring(Protocol):
    """Records ``(status list URI, SHA-256 of its token)`` pairs on the chain for the DID ``did`` controlled by
    ``controller``. ``source`` says what this is (for ``GET /status`` and the logs)."""

    source: str

    def anchor(self, controller: ChainSigner, did: str | None, lists: Sequence[tuple[str, bytes]]) -> AnchorOutcome: ...


class NoStatusAnchoring:
    """No chain: nothing is anchored (the published lists say ``not_configured``)."""

    def __init__(self, reason: str = "no chain configured") -> None:
        self.source = reason

    def anchor(self, controller: ChainSigner, did: str | None, lists: Sequence[tuple[str, bytes]]) -> AnchorOutcome:
        return AnchorOutcome(NOT_CONFIGURED, self.source)


class LedgerStatusAnchoring:
    """``ledger.trust.anchor_status_lists`` on ``client`` against the status-list anchor at ``address``."""

    def __init__(self, client: ChainClient, address: str, *, timeout: float = 30.0) -> None:
        self.client = client
        self.address = address
        self.timeout = timeout
        self.source = f"status-list anchor {address}"

    def anchor(self, controller: ChainSigner, did: str | None, lists: Sequence[tuple[str, bytes]]) -> AnchorOutcome:
        if not lists:
            return AnchorOutcome(ANCHORED)
        try:
            from ledger.trust import anchor_status_lists
        except ImportError as exc:  # a build without Ledger II's writer
            return AnchorOutcome(UNAVAILABLE, f"ledger.trust is not part of this build ({exc.name})")
        try:
            result: Any = anchor_status_lists(
                self.client, self.address, controller, list(lists), issuer=did, timeout=self.timeout
            )
        except TransactionFailed as exc:
            log.error("status list anchoring refused", extra={"fields": {"reason": exc.reason, "did": did}})
            return AnchorOutcome(REFUSED, f"{exc.reason}: {exc.description}"[:200])
        except ChainError as exc:
            log.warning("status list anchoring failed", extra={"fields": {"reason": exc.reason, "did": did}})
            return AnchorOutcome(UNAVAILABLE, f"{exc.reason}: {exc.description}"[:200])
        return AnchorOutcome(ANCHORED, None, list(result.transactions))
