"""Shared pieces of the CLI tests: the stable output contract of every command (JSON on stdout; a failure is exit 1
with ``{"error", "error_description"}`` and one ``govssi: …`` line on stderr, never a traceback) and a development
chain with the ERC-1056 registry served on loopback."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

from ledger.client import ChainClient, SoftwareChainSigner
from ledger.deploy import deploy_contracts
from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer, serve


def cli_ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """Exit 0 with a JSON object on stdout."""
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def cli_failure(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """Exit 1, ``{"error", "error_description"}`` on stdout, one ``govssi: …`` line on stderr, no traceback."""
    assert result.returncode == 1, result
    out: dict[str, Any] = json.loads(result.stdout)
    assert set(out) == {"error", "error_description"}
    assert result.stderr.startswith("govssi: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    return out


def did_registry_node(chain_id: int = 1337) -> Iterator[tuple[RpcServer, str]]:
    """A local chain served on 127.0.0.1 with the contracts deployed: ``(server, did_registry_address)``."""
    server = serve(JsonRpcHandler(EthereumApi(LocalChain.in_memory(chain_id))))
    with ChainClient(server.url) as client:
        registry = deploy_contracts(client, SoftwareChainSigner.generate()).did_registry
    yield server, registry
    server.stop()
