"""The Clique finality depth 2·⌊(N−1)/2⌋ + 1 (docs/ledger.md, "Finality on a Clique network"), checked by exhausting
the EIP-225 rules for small N.

Model: a network of N signers splits at a fork point into a minority of m ≤ ⌊(N−1)/2⌋ signers and the rest. Both
sides share the chain up to the fork, in particular who signed its last ⌊N/2⌋ blocks (the signer-limit window). Each
side seals only with its own signers, obeying "one block in every ⌊N/2⌋ + 1" (SIGNER_LIMIT); block weight is 2 in
turn (height mod N = the signer's index), else 1. The fork choice keeps the strictly heavier chain.

For every minority, every fork height and every possible shared window, the search finds (a) the heaviest fork the
minority can seal and (b) the lightest k-block chain the majority can seal. Depth d is safe when every minority fork
weighs less than every d-block majority chain; the tests show d = 2·⌊(N−1)/2⌋ + 1 is safe and d − 1 is not. An even
N split in halves has no majority: neither half gets past N/2 blocks, so any depth above N/2 is safe — which
2·⌊(N−1)/2⌋ + 1 is for N ≥ 4 but not for N = 2, whose depth is therefore 2.
"""

from __future__ import annotations

import functools
import itertools

import pytest

from ledger.client.finality import clique_confirmations, clique_finality_depth
from ledger.poa.clique import signer_limit


def test_depth_formula() -> None:
    assert [clique_finality_depth(n) for n in range(1, 10)] == [1, 2, 3, 3, 5, 5, 7, 7, 9]
    assert clique_finality_depth(7) == 7 and clique_confirmations(7) == 6
    with pytest.raises(ValueError):
        clique_finality_depth(0)


def _search(n: int, side: frozenset[int], window: tuple[int, ...], fork: int, blocks: int, best: str) -> int | None:
    """The heaviest (``best="max"``, any length up to ``blocks``) or lightest (``best="min"``, exactly ``blocks``)
    chain ``side`` can seal after the shared ``window`` (signers of the last blocks, oldest first) starting at
    height ``fork``; ``None`` if no chain of that length exists."""
    limit = signer_limit(n) - 1  # how many previous blocks a signer must not appear in

    @functools.cache
    def go(recent: tuple[int, ...], height: int, left: int) -> int | None:
        if left == 0:
            return 0
        results = []
        for signer in side:
            if signer in recent[len(recent) - limit :] if limit else False:
                continue
            weight = 2 if height % n == signer else 1
            rest = go((*recent, signer)[-limit:] if limit else (), height + 1, left - 1)
            if rest is not None:
                results.append(weight + rest)
        if best == "max":
            return max(results, default=0)
        return min(results, default=None)

    return go(window[-limit:] if limit else (), fork, blocks)


def _windows(n: int) -> list[tuple[int, ...]]:
    """Every signer window a valid chain can end with: distinct signers of the last ⌊N/2⌋ blocks."""
    size = signer_limit(n) - 1
    return [window for window in itertools.permutations(range(n), size)]


def _splits(n: int, depth: int) -> tuple[int, int]:
    """Over every split into a largest allowed minority and the rest and every shared window: (the heaviest fork a
    minority can seal, how many of the splits let the minority's fork weigh at least as much as the lightest
    ``depth``-block chain of the majority). The fork height is 0 without loss of generality: renaming signer ``i``
    to ``i − f mod N`` turns a fork at height ``f`` into one at height 0 with the same turns."""
    m = (n - 1) // 2
    heaviest = 0
    unsafe = 0
    for minority in itertools.combinations(range(n), m):
        majority = frozenset(range(n)) - frozenset(minority)
        for window in _windows(n):
            fork_weight = _search(n, frozenset(minority), window, 0, m + 1, "max") or 0
            lightest = _search(n, majority, window, 0, depth, "min")
            assert lightest is not None, "a majority can always go on sealing"
            heaviest = max(heaviest, fork_weight)
            unsafe += fork_weight >= lightest
    return heaviest, unsafe


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7])
def test_no_minority_outweighs_the_finality_depth(n: int) -> None:
    heaviest, unsafe = _splits(n, clique_finality_depth(n))
    assert heaviest == 2 * ((n - 1) // 2)  # m blocks at most, every one possibly in turn
    assert unsafe == 0  # the majority's chain is always strictly heavier


@pytest.mark.parametrize("n", [3, 5, 7])
def test_one_block_less_is_not_enough(n: int) -> None:
    """At depth 2·⌊(N−1)/2⌋ the majority's chain can weigh exactly what the minority's does: a tie, and a node that
    saw the minority's fork first keeps it."""
    _, unsafe = _splits(n, clique_finality_depth(n) - 1)
    assert unsafe > 0


@pytest.mark.parametrize("n", [3, 5, 7])
def test_a_minority_seals_at_most_m_blocks(n: int) -> None:
    """The signer limit stops a minority of m after at most m blocks past the fork."""
    m = (n - 1) // 2
    for window in _windows(n):
        assert _search(n, frozenset(range(m)), window, 0, m + 1, "min") is None


@pytest.mark.parametrize("n", [2, 4, 6])
def test_an_even_split_in_halves_reaches_no_final_block(n: int) -> None:
    """EIP-225 signer limit with no majority: each half of N/2 signers seals at most N/2 blocks past the fork, fewer
    than the finality depth, so nothing either half mined is ever reported final."""
    half = n // 2
    for group in itertools.combinations(range(n), half):
        for window in _windows(n):
            assert _search(n, frozenset(group), window, 0, half + 1, "min") is None
    assert clique_finality_depth(n) > half


def test_two_signers_split_one_to_one_lose_a_block_at_depth_one() -> None:
    """Why the depth for N = 2 is 2, not 2·⌊(N−1)/2⌋ + 1 = 1: split 1:1 after a block sealed by neither (genesis),
    each signer seals one block; the in-turn one weighs 2, so the other side's block — depth 1 there — is replaced."""
    in_turn_fork = _search(2, frozenset({1}), (), 1, 1, "max")  # height 1: signer 1's turn
    out_of_turn_fork = _search(2, frozenset({0}), (), 1, 1, "max")
    assert (in_turn_fork, out_of_turn_fork) == (2, 1)
    assert _search(2, frozenset({0}), (), 1, 2, "min") is None  # and no side gets a second block: depth 2 is safe
