"""Helpers for the DID resolver endpoint tests: an ASGI app served by uvicorn on 127.0.0.1 in a thread, and did:ethr
identities written through ``ledger.client`` on a local chain node served over real JSON-RPC."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from eth_utils.address import to_checksum_address
from web3.contract import Contract

from ledger.client import ChainClient, SoftwareChainSigner
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.did_ethr import ethr_did, key_attribute
from ledger.erc1056 import bytes32
from ledger.node import dev_account_keys
from ssi.keys import PublicKey

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
YEAR = 365 * 24 * 3600


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in a background thread; yields the base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


@dataclass(frozen=True)
class Reply:
    """An HTTP response: status, headers (lower-case names) and body."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.content)


def http_get(base_url: str, path: str, headers: dict[str, str] | None = None) -> Reply:
    """``GET base_url + path`` with the path sent exactly as given (no normalisation), over a new connection."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def dev_signer(index: int) -> SoftwareChainSigner:
    return SoftwareChainSigner.from_private_bytes(dev_account_keys()[index])


@dataclass
class EthrIdentity:
    """A did:ethr whose owner writes to the registry through :class:`ChainClient`."""

    client: ChainClient
    registry: Contract
    owner: SoftwareChainSigner
    blocks: list[int] = field(default_factory=list)

    @property
    def address(self) -> str:
        return str(to_checksum_address(self.owner.address))

    @property
    def did(self) -> str:
        return ethr_did(self.address, self.client.chain_id)

    def _send(self, function: str, *args: Any) -> int:
        call = getattr(self.registry.functions, function)(self.address, *args)
        receipt = self.client.transact(call, sender=self.owner)
        block = int(receipt["blockNumber"])
        self.blocks.append(block)
        return block

    def publish_key(self, key: PublicKey, purpose: str = "veriKey") -> int:
        name, value = key_attribute(key, purpose)
        return self._send("setAttribute", bytes32(name), value, YEAR)

    def revoke_key(self, key: PublicKey, purpose: str = "veriKey") -> int:
        name, value = key_attribute(key, purpose)
        return self._send("revokeAttribute", bytes32(name), value)

    def add_delegate(self, delegate: str, delegate_type: str = "sigAuth") -> int:
        return self._send("addDelegate", bytes32(delegate_type), to_checksum_address(delegate), YEAR)

    def add_service(self, kind: str, endpoint: str) -> int:
        return self._send("setAttribute", bytes32(f"did/svc/{kind}"), endpoint.encode(), YEAR)

    def deactivate(self) -> int:
        return self._send("changeOwner", ZERO_ADDRESS)


def deploy_registry(client: ChainClient, deployer: SoftwareChainSigner) -> Contract:
    contract, _ = client.deploy(load_artifact(DID_REGISTRY), sender=deployer)
    return contract
