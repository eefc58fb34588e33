"""``govssi did serve``: DID resolution over HTTP on 127.0.0.1 (``GET /1.0/identifiers/{did}``, ``/healthz``) —
one JSON line when ready, did:ethr through ``--rpc``/``--registry``, SIGTERM stops it with exit 0, usage errors
exit 2, a taken port exits 1 with the JSON error form."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import GOVSSI, Runner

from ledger.client import ChainClient, SoftwareChainSigner
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.did_ethr import ethr_did
from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer, dev_account_keys, serve
from ssi.did import did_key_from_public_key
from ssi.keys import PrivateKey

CHAIN_ID = 4243


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[RpcServer, str]]:
    server = serve(JsonRpcHandler(EthereumApi(LocalChain.in_memory(CHAIN_ID))))
    with ChainClient.connect(server.url) as client:
        deployer = SoftwareChainSigner.from_private_bytes(dev_account_keys()[0])
        contract, _ = client.deploy(load_artifact(DID_REGISTRY), sender=deployer)
    yield server, str(contract.address)
    server.stop()


def _ready_line(process: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, Any]:
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], timeout)
    assert readable, "govssi did serve printed nothing"
    line: dict[str, Any] = json.loads(process.stdout.readline())
    return line


def _get(base_url: str, path: str, accept: str = "*/*") -> tuple[int, Any, str]:
    """(status, JSON body, Content-Type) of a GET; error statuses too."""
    request = urllib.request.Request(base_url + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read()), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers["Content-Type"]


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_serve_resolves_and_stops_on_sigterm(chain: tuple[RpcServer, str]) -> None:
    """The chain's URLs from $GOVSSI_CHAIN_RPC, a dead one first (failover)."""
    server, registry = chain
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ["GOVSSI_CHAIN_RPC"] = f"{_dead_url()},{server.url}"
    command = [*GOVSSI, "did", "serve", "--port", "0", "--registry", registry]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ
    )
    try:
        ready = _ready_line(process)
        assert set(ready) == {"url", "methods"}
        assert ready["url"].startswith("http://127.0.0.1:")
        assert ready["methods"] == ["ethr", "jwk", "key", "web"]
        url = ready["url"]
        assert _get(url, "/healthz")[1]["status"] == "ok"
        did = ethr_did(SoftwareChainSigner.generate().address, CHAIN_ID)
        status, document, content_type = _get(url, f"/1.0/identifiers/{did}", "application/did+json")
        assert (status, content_type, document["id"]) == (200, "application/did+json", did)
        did_key = did_key_from_public_key(PrivateKey.generate("ES256").public_key)
        assert _get(url, f"/1.0/identifiers/{did_key}")[1]["didDocument"]["id"] == did_key
        assert _get(url, "/1.0/identifiers/did:example:1")[0] == 501
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "govssi: DID resolver stopped"


def test_no_chain_node(govssi: Runner) -> None:
    registry = "0x" + "11" * 20
    result = govssi("did", "serve", "--port", "0", "--rpc", _dead_url(), "--registry", registry, "--timeout", "1")
    assert result.returncode == 1, result
    assert json.loads(result.stdout)["error"] == "chain_unavailable"


def test_port_in_use(govssi: Runner) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = govssi("did", "serve", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1, result
    assert json.loads(result.stdout)["error"] == "address_in_use"
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--rpc", "http://127.0.0.1:1"],
        ["--registry", "0x" + "11" * 20],
        ["--rpc", "ftp://x", "--registry", "0x" + "11" * 20],
        ["--port", "70000"],
    ],
)
def test_usage_errors(govssi: Runner, args: list[str]) -> None:
    result = govssi("did", "serve", *args)
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
