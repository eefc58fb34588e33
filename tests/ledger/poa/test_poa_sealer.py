"""The sealing loop's schedule (EIP-225 "Block authorization"; geth's Clique ``Seal``): the in-turn signer seals at the
block's time, an out-of-turn signer only after a random wiggle of up to ``(⌊N/2⌋ + 1) · 500 ms``, a signer that
sealed one of the last ``⌊N/2⌋`` blocks not at all; votes from ``clique_propose`` ride in the sealed blocks."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from eth.consensus.clique.constants import NONCE_AUTH
from poa_support import address, genesis_for, grow, signers, wait_until

from ledger.client import SoftwareChainSigner
from ledger.poa import CliqueChain, CliqueGenesis, Sealer
from ledger.poa.clique import WIGGLE_TIME, in_turn, wiggle_window


class _RecordingRandom(random.Random):
    """Draws a fixed wiggle and remembers the ranges asked for."""

    def __init__(self, wiggle: float) -> None:
        super().__init__(0)
        self.wiggle = wiggle
        self.asked: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return self.wiggle


@pytest.fixture
def keys() -> list[SoftwareChainSigner]:
    return signers(3, seed=60)


@pytest.fixture
def genesis(keys: list[SoftwareChainSigner]) -> CliqueGenesis:
    return genesis_for(keys, period=1, age=100)


@pytest.fixture
def sealers() -> Iterator[list[Sealer]]:
    started: list[Sealer] = []
    yield started
    for sealer in started:
        sealer.stop()


def _whole_seconds() -> float:
    """Wall time cut to the second: the block time is then exactly "now", so the wait is the wiggle alone."""
    return float(int(time.time()))


def _start(sealers: list[Sealer], chain: CliqueChain, key: SoftwareChainSigner, rng: random.Random) -> float:
    sealer = Sealer(chain, key, rng=rng, clock=_whole_seconds)
    sealers.append(sealer)
    began = time.monotonic()
    sealer.start()
    return began


def test_in_turn_seals_at_once_out_of_turn_after_the_wiggle(
    keys: list[SoftwareChainSigner], genesis: CliqueGenesis, sealers: list[Sealer]
) -> None:
    """Two signers, each alone on its own copy of the chain, both allowed to seal block 1: the in-turn one draws no
    wiggle and seals with difficulty 2; the out-of-turn one draws from [0, (⌊3/2⌋ + 1) · 0.5 s] = [0, 1 s] and seals
    with difficulty 1 only after the drawn delay."""
    assert wiggle_window(3) == 2 * WIGGLE_TIME == 1.0
    current = sorted(address(key) for key in keys)
    first = next(key for key in keys if in_turn(1, address(key), current))
    second = next(key for key in keys if not in_turn(1, address(key), current))
    mine, theirs = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    in_turn_rng, out_of_turn_rng = _RecordingRandom(0.9), _RecordingRandom(0.9)
    began_in_turn = _start(sealers, mine, first, in_turn_rng)
    began_out_of_turn = _start(sealers, theirs, second, out_of_turn_rng)
    assert wait_until(lambda: mine.block_number >= 1, timeout=10)
    in_turn_took = time.monotonic() - began_in_turn
    assert wait_until(lambda: theirs.block_number >= 1, timeout=10)
    out_of_turn_took = time.monotonic() - began_out_of_turn
    assert mine.header(1).difficulty == 2 and theirs.header(1).difficulty == 1  # type: ignore[union-attr]
    assert in_turn_rng.asked == []  # in turn: no wiggle (and then it signed recently: no more blocks)
    assert out_of_turn_rng.asked == [(0, 1.0)]
    assert out_of_turn_took >= 0.85 and in_turn_took < out_of_turn_took


def test_a_signer_that_sealed_recently_waits(
    keys: list[SoftwareChainSigner], genesis: CliqueGenesis, sealers: list[Sealer]
) -> None:
    """With 3 signers the signer limit is 2: the signer of block 1 may not seal block 2, so alone it seals nothing."""
    chain = CliqueChain.in_memory(genesis)
    (block,) = grow(chain, keys, 1)
    last = next(key for key in keys if address(key) == chain.seal_signer(block.header))
    _start(sealers, chain, last, _RecordingRandom(0.0))
    time.sleep(1.5)
    assert chain.block_number == 1


def test_proposals_are_carried_as_votes(
    keys: list[SoftwareChainSigner], genesis: CliqueGenesis, sealers: list[Sealer]
) -> None:
    """clique_propose: the signer's next block names the subject in its coinbase with the authorise nonce."""
    chain = CliqueChain.in_memory(genesis)
    subject = SoftwareChainSigner.from_private_bytes(b"\x61" * 32)
    current = sorted(address(key) for key in keys)
    first = next(key for key in keys if in_turn(1, address(key), current))
    sealer = Sealer(chain, first, rng=_RecordingRandom(0.0))
    sealers.append(sealer)
    sealer.propose(address(subject), True)
    assert sealer.proposals() == {address(subject): True}
    sealer.start()
    assert wait_until(lambda: chain.block_number >= 1, timeout=10)
    header = chain.header(1)
    assert header is not None and header.coinbase == address(subject) and header.nonce == NONCE_AUTH
    assert chain.tally(header) == {address(subject): (True, 1)}
