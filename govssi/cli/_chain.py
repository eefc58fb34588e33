"""Chain options shared by the commands that talk to a chain (``ledger deploy``, ``did create ethr``, ``did resolve``).

``--rpc`` takes one JSON-RPC URL or several, comma-separated (failover, in that order of preference); without it the
commands read ``GOVSSI_CHAIN_RPC`` (DESIGN.md §3: ``GOVSSI_CHAIN_RPC=url1,url2``). Every URL must be http(s) with a
host; anything else is a usage error (exit 2). The client is bounded by the command's ``--timeout``: each attempt at a
node, each request over all nodes and the wait for a transaction, so "no node answers" is an error (exit 1,
``chain_unavailable``), never a hang.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from govssi.cli._output import usage_error

if TYPE_CHECKING:
    from ledger.client import ChainClient

__all__ = [
    "CHAIN_RPC_ENV",
    "RPC_HELP",
    "AllowHttpLoopbackOption",
    "RegistryOption",
    "RpcOption",
    "TimeoutOption",
    "chain_client",
    "required_rpc_urls",
    "rpc_urls",
]

CHAIN_RPC_ENV = "GOVSSI_CHAIN_RPC"
RPC_HELP = (
    "JSON-RPC URL of the chain, or several comma-separated for failover (http://127.0.0.1:8545,http://10.0.0.2:8545) "
    f"\\[default: ${CHAIN_RPC_ENV}]."
)
#: One attempt at one node never takes longer than this, whatever --timeout says (the next node gets its turn).
# Options shared by the commands that read DIDs from a chain (one declaration, the same help everywhere).
RpcOption = Annotated[str | None, typer.Option("--rpc", help="did:ethr: " + RPC_HELP)]
RegistryOption = Annotated[
    str | None, typer.Option("--registry", help="Address of the ERC-1056 DID registry on that chain.")
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, help="did:ethr: seconds to wait for the chain's nodes.")
]
AllowHttpLoopbackOption = Annotated[
    bool,
    typer.Option(
        "--allow-http-loopback",
        help="Development and tests only: fetch did:web:localhost… over plain HTTP, and allow loopback addresses.",
    ),
]

ATTEMPT_TIMEOUT = 5.0
#: One request over all nodes.
REQUEST_BUDGET = 12.0


def required_rpc_urls(option: str | None) -> list[str]:
    """:func:`rpc_urls`, and a usage error when neither ``--rpc`` nor ``$GOVSSI_CHAIN_RPC`` is set."""
    urls = rpc_urls(option)
    if urls is None:
        usage_error(f"--rpc (or {CHAIN_RPC_ENV}) is needed: the chain's JSON-RPC URL(s), comma-separated")
    return urls


def rpc_urls(option: str | None) -> list[str] | None:
    """The chain's JSON-RPC URLs from ``--rpc`` or, without it, ``$GOVSSI_CHAIN_RPC``; ``None`` when neither is set.
    A malformed list is a usage error."""
    source = "--rpc"
    value = option
    if value is None:
        value = os.environ.get(CHAIN_RPC_ENV) or None
        source = CHAIN_RPC_ENV
    if value is None:
        return None
    urls = [part.strip() for part in value.split(",") if part.strip()]
    if not urls:
        usage_error(f"{source} names no JSON-RPC URL")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            usage_error(f"{source} must list http:// or https:// URLs with a host")
    if len(set(urls)) != len(urls):
        usage_error(f"{source} lists the same URL twice")
    return urls


def chain_client(
    urls: list[str], *, timeout: float, confirmations: int | None = 0, backoff: float | None = None
) -> ChainClient:
    """A :class:`ChainClient` over ``urls`` whose endpoints have answered with one chain id, bounded by ``timeout``.

    ``confirmations``: blocks on top of a transaction before it counts; ``None``: the network's finality depth (on a
    Clique network ``2·⌊(N−1)/2⌋`` for ``N`` signers, else 0 — ``ledger.client.finality``).

    ``backoff``: how long a node that failed is tried only after the others (default: the client's 0.5 s, doubling).
    Commands that send several requests pass their whole run time, so that a silent node costs one attempt, not one
    per request (each request's budget is --timeout; an attempt at a silent node would use it up)."""
    from ledger.client import ChainClient, ClientPolicy, FailoverPolicy

    attempt = min(timeout, ATTEMPT_TIMEOUT)
    budget = max(attempt, min(timeout, REQUEST_BUDGET))
    if backoff is None:
        failover = FailoverPolicy(attempt_timeout=attempt, request_budget=budget)
    else:
        failover = FailoverPolicy(
            attempt_timeout=attempt, request_budget=budget, backoff_initial=backoff, backoff_max=max(backoff, 30.0)
        )
    policy = ClientPolicy(confirmations=confirmations, receipt_timeout=timeout, delivery_timeout=timeout)
    return ChainClient.connect(urls, policy=policy, failover=failover)
