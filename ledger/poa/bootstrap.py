"""govssi's contracts on a network of the model: the development deployment of ``govssi ledger node --bootstrap``
(:mod:`ledger.bootstrap`), made through the network's nodes and waited for until it is final.

``govssi ledger network --bootstrap`` and ``govssi issuer serve --chain poa`` call :func:`bootstrap_network`: on
first use the fixed development deployer creates the DID registry, the trusted-issuer registry (with the demo
cooperative's three members) and the status-list anchor with its nonces 0, 1, 2 — so they land at
:data:`ledger.bootstrap.DEV_ADDRESSES`, the defaults of ``GOVSSI_DID_REGISTRY``, ``GOVSSI_TRUSTED_ISSUER_REGISTRY``
and ``GOVSSI_STATUS_ANCHOR`` that every service falls back to — and the members' key files go to
``<network dir>/cooperative``. Later calls find the contracts and deploy nothing (idempotent), and return at once.

The three deployments are sent one after the other without waiting for confirmations; then the call waits until the
block holding all three is ``2·⌊(N−1)/2⌋ + 1`` deep (:func:`ledger.client.finality.clique_finality_depth`) and
checks that they are still there: what it reports cannot be undone by a partitioned minority of signers. If the
network stops sealing meanwhile (fewer than half of the signers online), it ends with
:class:`~ssi.errors.ChainUnavailable` (reason ``chain_stalled``) instead of waiting.

DEVELOPMENT ONLY, as :mod:`ledger.bootstrap`: the deployer's and the members' keys are derived from published strings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from ledger.bootstrap import DEV_ADDRESSES, BootstrapResult, bootstrap_development_chain, is_development_chain
from ledger.client import ChainClient, ClientPolicy, FailoverPolicy
from ledger.contracts import DID_REGISTRY, STATUS_LIST_ANCHOR, TRUSTED_ISSUER_REGISTRY, load_artifact
from ssi.errors import ChainError, ChainUnavailable

__all__ = ["bootstrap_network", "wait_until_final"]

#: Seconds without a new block after which the wait for finality gives up (a stalled network).
STALL_SECONDS: Final = 20.0


def bootstrap_network(
    urls: Sequence[str], network_dir: Path | None, *, timeout: float = 120.0, poll_interval: float = 0.2
) -> BootstrapResult:
    """Deploy govssi's development contracts through the nodes at ``urls`` (failover) unless they are there, wait
    until they are final, and write the demo members' keys under ``network_dir/cooperative``.

    Refuses (``not_development``) a chain whose id is not a development id — the keys are public."""
    policy = ClientPolicy(confirmations=0, receipt_timeout=timeout, poll_interval=poll_interval)
    failover = FailoverPolicy(attempt_timeout=2.0, request_budget=10.0)
    with ChainClient.connect(list(urls), policy=policy, failover=failover) as client:
        if not is_development_chain(client.chain_id):
            raise ChainError(
                f"chain {client.chain_id} is not a development chain; the development contracts' keys are public",
                reason="not_development",
            )
        result = bootstrap_development_chain(client, network_dir)
        if not result.deployed:  # found there: deployed (and waited for) by an earlier call
            return result
        deadline = time.monotonic() + timeout
        while True:  # the contracts in a block that is final (a reorganisation moves them to a later block)
            number = client.block_number()
            if _contracts_at(client, number) and wait_until_final(
                client, number, timeout=max(1.0, deadline - time.monotonic()), poll_interval=poll_interval
            ):
                return result  # the same block, now final, holds them
            if time.monotonic() > deadline:
                raise ChainError(f"the contracts were not final within {timeout:g} s", reason="timeout")
            time.sleep(poll_interval)


def wait_until_final(client: ChainClient, number: int, *, timeout: float, poll_interval: float = 0.2) -> bool:
    """Wait until block ``number`` of the canonical chain has the network's finality depth (the client's
    :meth:`~ledger.client.ChainClient.finality_confirmations` blocks on top): ``True`` when it is still the block seen
    at that height when the wait began, ``False`` when a heavier chain replaced it meanwhile. ``ChainUnavailable``
    (reason ``chain_stalled``) when no block comes for :data:`STALL_SECONDS`; ``ChainError`` (``timeout``) at the
    deadline."""
    confirmations = client.finality_confirmations()
    block_hash = bytes(client.w3.eth.get_block(number)["hash"])
    deadline = time.monotonic() + timeout
    last_head, last_move = client.block_number(), time.monotonic()
    while True:
        head = client.block_number()
        now = time.monotonic()
        if head != last_head:
            last_head, last_move = head, now
        if head >= number + confirmations:
            return bytes(client.w3.eth.get_block(number)["hash"]) == block_hash
        if now - last_move > STALL_SECONDS:
            raise ChainUnavailable(
                f"no new block for {STALL_SECONDS:g} s at block {head}: a Clique network seals only while more than "
                "half of its signers are online",
                reason="chain_stalled",
            )
        if now > deadline:
            raise ChainError(f"block {number} not final within {timeout:g} s (head {head})", reason="timeout")
        time.sleep(poll_interval)


def _contracts_at(client: ChainClient, number: int) -> bool:
    """The three development contracts are at their addresses with their artifacts' code at block ``number``."""
    expected = {
        DEV_ADDRESSES.did_registry: DID_REGISTRY,
        DEV_ADDRESSES.trusted_issuer_registry: TRUSTED_ISSUER_REGISTRY,
        DEV_ADDRESSES.status_anchor: STATUS_LIST_ANCHOR,
    }
    return all(
        client.code(address, number) == bytes.fromhex(load_artifact(name).deployed_bytecode[2:])
        for address, name in expected.items()
    )
