"""did:ethr over Ethereum JSON-RPC on 127.0.0.1 (the local chain served by ``ledger.node.serve``): the same documents
as in-process, the driver configured by URL, and a clear error once the node is gone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from did_ethr_support import account
from eth_utils.address import to_checksum_address
from node_support import deploy_registry
from web3 import Web3

from ledger.client import ChainClient
from ledger.did_ethr import EthrDidController, EthrDidDriver, ethr_did
from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, LocalChainProvider, RpcServer, serve
from ssi.clock import FrozenClock
from ssi.did import DidResolver
from ssi.errors import ChainUnavailable, DidError
from ssi.keys import PrivateKey

CHAIN_ID = 4711


@pytest.fixture
def node() -> Iterator[tuple[RpcServer, LocalChain, str]]:
    chain = LocalChain.in_memory(CHAIN_ID, clock=FrozenClock(1_750_000_000))
    registry = str(to_checksum_address(deploy_registry(chain)))
    server = serve(JsonRpcHandler(EthereumApi(chain)))
    yield server, chain, registry
    server.stop()


def test_same_documents_over_http_and_in_process(node: tuple[RpcServer, LocalChain, str]) -> None:
    server, chain, registry = node
    ctl = EthrDidController(ChainClient(server.url), registry, account("issuer"))
    ctl.publish_key(PrivateKey.generate("ES256").public_key)
    ctl.add_delegate("sigAuth", account("d").address)
    ctl.set_attribute("did/svc/Hub", b"https://hub.example")
    did = ctl.did()
    assert did.startswith("did:ethr:0x1267:")  # 4711
    now = float(chain.head().timestamp) + 1
    over_http = EthrDidDriver({CHAIN_ID: (server.url, registry)}, clock=lambda: now)
    in_process = EthrDidDriver({CHAIN_ID: (Web3(LocalChainProvider(chain)), registry)}, clock=lambda: now)
    for parameters in ({}, {"versionId": "3"}):
        assert over_http.resolve_result(did, parameters) == in_process.resolve_result(did, parameters)
    assert len(over_http.resolve(did).verification_method) == 3


def test_driver_for_an_rpc_url_asks_the_chain_id(node: tuple[RpcServer, LocalChain, str]) -> None:
    server, _, registry = node
    driver = EthrDidDriver.for_rpc(server.url, registry)
    assert driver.network("0x1267").chain_id == CHAIN_ID
    assert driver.resolve(ethr_did(account("x").address, CHAIN_ID)).id.startswith("did:ethr:0x1267:")


def test_node_gone(node: tuple[RpcServer, LocalChain, str]) -> None:
    server, _, registry = node
    did = ethr_did(account("x").address, CHAIN_ID)
    EthrDidDriver({CHAIN_ID: (server.url, registry)}).resolve(did)
    server.stop()
    driver = EthrDidDriver({CHAIN_ID: (server.url, registry)}, timeout=2)  # a new connection: refused
    with pytest.raises(ChainUnavailable):
        driver.resolve(did)
    with pytest.raises(DidError) as info:
        DidResolver([driver]).resolve(did)
    assert info.value.reason == "internalError"
