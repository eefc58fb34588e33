"""When a transaction on a Clique (EIP-225) network is final: the depth no partitioned minority of signers can undo.

Clique has no finality gadget; a block is replaced when a heavier chain (more total difficulty) appears. What bounds
that is the rule set itself (docs/ledger.md, "Finality on a Clique network", has the derivation):

- a signer seals at most one of any ``⌊N/2⌋ + 1`` consecutive blocks (EIP-225: "signers can only sign one block in
  every SIGNER_LIMIT consecutive blocks"), so a minority of ``m ≤ ⌊(N−1)/2⌋`` signers cut off from the others can
  extend a fork by at most ``m`` blocks, weighing at most ``2m`` (an in-turn block has difficulty 2);
- the majority keeps sealing; each of its blocks weighs at least 1.

A block ``d`` deep on the majority's chain (itself and ``d − 1`` blocks on top) lies behind ``d`` majority blocks
since any fork point, weighing at least ``d``; with ``d ≥ 2m + 1`` that is more than the minority's ``2m`` can reach,
so no minority chain is ever heavier. And on the minority side no block ever gets ``d − 1 ≥ m`` blocks on top. So
for ``N`` signers the finality depth is ``2·⌊(N−1)/2⌋ + 1`` blocks — 7 for 7 signers — that is ``2·⌊(N−1)/2⌋``
confirmations (blocks on top).

One case the minority/majority argument leaves out: an even ``N`` split in two halves, where neither side has a
majority. Each half seals at most ``N/2`` blocks past the fork, so a depth above ``N/2`` is never reached on either
side. ``2·⌊(N−1)/2⌋ + 1 = N − 1`` exceeds ``N/2`` for every even ``N ≥ 4``; for ``N = 2`` it is 1, and a 1:1 split
lets each signer seal one block, the in-turn one weighing more — so the depth for 2 signers is 2
(``max(2·⌊(N−1)/2⌋ + 1, ⌊N/2⌋ + 1)`` in general). The bound assumes one partition at a time (into any number of
groups) and a fixed signer set; a network that splits again before it healed, differently, can outweigh anything (no
Clique depth is safe then).
"""

from __future__ import annotations

__all__ = ["clique_confirmations", "clique_finality_depth"]


def clique_finality_depth(signers: int) -> int:
    """``2·⌊(N−1)/2⌋ + 1`` (2 for ``N = 2``): the blocks (the transaction's own and those on top) after which no
    partitioned minority of ``N`` signers, and no half of an evenly split network, can replace a block."""
    if signers < 1:
        raise ValueError("a Clique network has at least one signer")
    return max(2 * ((signers - 1) // 2) + 1, signers // 2 + 1)


def clique_confirmations(signers: int) -> int:
    """The confirmations (blocks on top of the transaction's block) that make a transaction final: depth − 1."""
    return clique_finality_depth(signers) - 1
