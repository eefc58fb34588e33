"""A signer's sealing loop (EIP-225 "Block authorization", as geth's Clique ``Seal`` schedules it).

For every new head, a signer that is authorised and has not signed one of the last ``⌊N/2⌋`` blocks prepares the
next block's time, ``max(parent.timestamp + BLOCK_PERIOD, now)``, and waits until then — in turn at once, out of turn
plus a random wiggle of up to ``(⌊N/2⌋ + 1) · 500 ms``, so that the in-turn signer's block (difficulty 2) usually
arrives first and out-of-turn signers (difficulty 1) rarely race each other. If the head changes meanwhile it starts
over; otherwise it builds the block from the pool, seals it, imports it (durably: a signer must not forget a block it
signed) and hands it to ``on_sealed`` for gossip.

Votes: ``clique_propose(address, authorize)`` keeps a proposal until ``clique_discard``; each block the signer seals
carries one valid proposal, chosen at random (EIP-225 "Voting": adding a non-signer or dropping a signer), or none;
checkpoint blocks carry none. py-evm counts the votes; more than half of the signers adding or dropping an address
changes the signer set.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

import rlp  # type: ignore[import-untyped]
from eth.abc import BlockAPI
from eth_utils.address import to_canonical_address

from ledger.client.signer import ChainSigner
from ledger.poa.chain import CliqueChain, HeadChange
from ledger.poa.clique import in_turn, signer_limit, wiggle_window
from ssi.clock import Clock, system_clock
from ssi.errors import ChainError, InvalidBlock

__all__ = ["Sealer"]

_log = logging.getLogger("ledger.poa")
#: How often an unauthorised or recently-signed signer looks again even if no head arrives.
_IDLE_RECHECK = 1.0


class Sealer:
    """Seals blocks for ``signer`` on ``chain`` (see the module docstring). ``clock`` is wall time in seconds (block
    timestamps), ``rng`` draws the wiggle and the vote; ``ready`` (if given) must be set before the first block."""

    def __init__(
        self,
        chain: CliqueChain,
        signer: ChainSigner,
        *,
        on_sealed: Callable[[BlockAPI, bytes], None] | None = None,
        clock: Clock = system_clock,
        rng: random.Random | None = None,
        ready: threading.Event | None = None,
    ) -> None:
        self.chain = chain
        self.signer = signer
        self.address = bytes(to_canonical_address(signer.address))
        self._on_sealed = on_sealed
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - timing jitter and vote order, not secrets
        self._ready = ready
        self._proposals: dict[bytes, bool] = {}
        self._lock = threading.Lock()
        self._head_moved = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.sealed = 0
        chain.on_head(self._moved)

    # -- votes -----------------------------------------------------------------------------------------------------

    def propose(self, subject: bytes, authorize: bool) -> None:
        """``clique_propose``: vote to add (``authorize``) or drop ``subject`` in the blocks this signer seals."""
        with self._lock:
            self._proposals[bytes(subject)] = authorize

    def discard(self, subject: bytes) -> None:
        """``clique_discard``: stop voting on ``subject``."""
        with self._lock:
            self._proposals.pop(bytes(subject), None)

    def proposals(self) -> dict[bytes, bool]:
        with self._lock:
            return dict(self._proposals)

    def _vote(self, signers: list[bytes]) -> tuple[bytes, bool] | None:
        with self._lock:
            valid = sorted(
                (subject, authorize)
                for subject, authorize in self._proposals.items()
                if (subject in signers) != authorize  # add a non-signer, or drop a signer
            )
        return self._rng.choice(valid) if valid else None

    # -- the loop --------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="poa-sealer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._head_moved.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _moved(self, change: HeadChange) -> None:
        self._head_moved.set()

    def _run(self) -> None:
        if self._ready is not None:
            while not self._ready.wait(0.2):
                if self._stopped.is_set():
                    return
        while not self._stopped.is_set():
            try:
                self._seal_once()
            except Exception:  # keep sealing after an unexpected failure (logged), as a validator must
                _log.exception("sealing failed")
                self._stopped.wait(_IDLE_RECHECK)

    def _seal_once(self) -> None:
        self._head_moved.clear()
        head = self.chain.head()
        signers = self.chain.signers_after(head)
        recent = self.chain.recent_signers(head, signer_limit(len(signers)) - 1)
        if self.address not in signers or self.address in recent:
            self._head_moved.wait(_IDLE_RECHECK)
            return
        number = head.block_number + 1
        timestamp = max(head.timestamp + self.chain.genesis.period, int(self._clock()))
        delay = timestamp - self._clock()
        if not in_turn(number, self.address, signers):
            delay += self._rng.uniform(0, wiggle_window(len(signers)))
        if delay > 0 and self._head_moved.wait(delay):
            return  # a new head arrived first: start over on it
        if self._stopped.is_set():
            return
        with self.chain.lock:
            if self.chain.head().hash != head.hash:
                return
            block = self.chain.build_block(self.signer, timestamp=timestamp, vote=self._vote(signers))
            try:
                self.chain.import_block(block, sync=True)
            except (InvalidBlock, ChainError) as exc:
                _log.error("own block %d refused: %s", number, exc.description)
                return
        self.sealed += 1
        _log.debug("sealed block %d (%d transactions)", number, len(block.transactions))
        if self._on_sealed is not None:
            self._on_sealed(block, rlp.encode(block))
