"""Confirmation depth, exactly: ``receipt block + confirmations <= head``, and a receipt whose block was reorganised
away does not count. A scripted JSON-RPC node on 127.0.0.1 controls the head and the blocks precisely."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from client_support import CannedServer, rpc_error, rpc_result

from ledger.client import ChainClient, ClientPolicy, FailoverPolicy
from ledger.errors import TransactionFailed, TransactionNotConfirmed

TX_HASH = bytes.fromhex("aa" * 32)
POLICY = ClientPolicy(poll_interval=0.01, receipt_timeout=5)
FAILOVER = FailoverPolicy(attempt_timeout=1, request_budget=2)


class ScriptedNode:
    """Head, canonical block hashes and the receipt's location, changed by the test while the client waits."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.head = 10
        self.canonical: dict[int, str] = {number: "0x" + f"{number:064x}" for number in range(0, 100)}
        self.receipt_block: int | None = 10
        self.receipt_hash = self.canonical[10]
        self.status = 1

    def respond(self, request: Any) -> tuple[int, bytes]:
        method, params = request["method"], request.get("params", [])
        with self.lock:
            if method == "eth_chainId":
                return rpc_result(request, "0x539")
            if method == "eth_blockNumber":
                return rpc_result(request, hex(self.head))
            if method == "eth_getTransactionReceipt":
                if self.receipt_block is None:
                    return rpc_result(request, None)
                return rpc_result(request, self._receipt())
            if method == "eth_getBlockByNumber":
                number = int(params[0], 16)
                return rpc_result(request, _block(number, self.canonical[number]) if number <= self.head else None)
            if method == "eth_getTransactionByHash":
                return rpc_result(request, None)
        return rpc_error(request, -32601, f"the method {method} does not exist")

    def _receipt(self) -> dict[str, Any]:
        assert self.receipt_block is not None
        return {
            "transactionHash": "0x" + TX_HASH.hex(),
            "transactionIndex": "0x0",
            "blockHash": self.receipt_hash,
            "blockNumber": hex(self.receipt_block),
            "from": "0x" + "11" * 20,
            "to": "0x" + "22" * 20,
            "cumulativeGasUsed": "0x5208",
            "gasUsed": "0x5208",
            "effectiveGasPrice": "0x0",
            "contractAddress": None,
            "logs": [],
            "logsBloom": "0x" + "00" * 256,
            "status": hex(self.status),
            "type": "0x2",
        }


def _block(number: int, block_hash: str) -> dict[str, Any]:
    return {
        "number": hex(number),
        "hash": block_hash,
        "parentHash": "0x" + "00" * 32,
        "nonce": "0x0000000000000000",
        "sha3Uncles": "0x" + "00" * 32,
        "logsBloom": "0x" + "00" * 256,
        "transactionsRoot": "0x" + "00" * 32,
        "stateRoot": "0x" + "00" * 32,
        "receiptsRoot": "0x" + "00" * 32,
        "miner": "0x" + "00" * 20,
        "difficulty": "0x0",
        "extraData": "0x",
        "size": "0x200",
        "gasLimit": "0x1c9c380",
        "gasUsed": "0x0",
        "timestamp": hex(1_700_000_000 + number),
        "baseFeePerGas": "0x0",
        "transactions": [],
        "uncles": [],
        "mixHash": "0x" + "00" * 32,
    }


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedNode, ChainClient]]:
    node = ScriptedNode()
    with CannedServer(node.respond) as server:
        client = ChainClient([server.url], policy=POLICY, failover=FAILOVER)
        yield node, client
        client.close()


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_depth_is_reached_exactly_at_block_plus_depth(scripted: tuple[ScriptedNode, ChainClient], depth: int) -> None:
    """Mined in block 10: with head 10 + depth - 1 not yet confirmed; with head 10 + depth confirmed."""
    node, client = scripted
    node.head = 10 + depth - 1
    if depth > 0:
        with pytest.raises(TransactionNotConfirmed) as pending:
            client.wait_for_receipt(TX_HASH, confirmations=depth, timeout=0.2)
        assert f"waiting for {depth} confirmations" in pending.value.description
        assert pending.value.transaction_hash == TX_HASH and pending.value.raw_transaction is None
    node.head = 10 + depth
    receipt = client.wait_for_receipt(TX_HASH, confirmations=depth, timeout=1)
    assert receipt["blockNumber"] == 10


def test_policy_default_depth(scripted: tuple[ScriptedNode, ChainClient]) -> None:
    node, _ = scripted
    with CannedServer(node.respond) as server:
        deep = ChainClient([server.url], policy=ClientPolicy(confirmations=2, poll_interval=0.01), failover=FAILOVER)
        node.head = 11
        with pytest.raises(TransactionNotConfirmed):
            deep.wait_for_receipt(TX_HASH, timeout=0.2)
        node.head = 12
        assert deep.wait_for_receipt(TX_HASH, timeout=1)["blockNumber"] == 10
        deep.close()


def test_receipt_of_a_reorganised_block_does_not_count(scripted: tuple[ScriptedNode, ChainClient]) -> None:
    """The receipt says block 10 with hash H, but the canonical block 10 now has another hash: keep waiting until the
    receipt is (re-)mined in a canonical block and deep enough there."""
    node, client = scripted
    node.head = 20
    node.receipt_hash = "0x" + "ee" * 32  # a block that is no longer canonical
    with pytest.raises(TransactionNotConfirmed):
        client.wait_for_receipt(TX_HASH, confirmations=2, timeout=0.2)
    with node.lock:
        node.receipt_block, node.receipt_hash = 19, node.canonical[19]  # re-mined in block 19
    with pytest.raises(TransactionNotConfirmed):
        client.wait_for_receipt(TX_HASH, confirmations=2, timeout=0.2)  # 19 + 2 > 20
    node.head = 21
    assert client.wait_for_receipt(TX_HASH, confirmations=2, timeout=1)["blockNumber"] == 19


def test_status_zero_is_transaction_failed(scripted: tuple[ScriptedNode, ChainClient]) -> None:
    node, client = scripted
    node.status = 0
    with pytest.raises(TransactionFailed) as failed:
        client.wait_for_receipt(TX_HASH, timeout=1)
    assert failed.value.transaction_hash == TX_HASH and failed.value.reason == "transaction_failed"


def test_unknown_transaction_times_out_without_hanging(scripted: tuple[ScriptedNode, ChainClient]) -> None:
    node, client = scripted
    node.receipt_block = None
    with pytest.raises(TransactionNotConfirmed, match="not mined yet"):
        client.wait_for_receipt(TX_HASH, timeout=0.2)
