"""Ethereum JSON-RPC conformance of the local chain node over real HTTP on 127.0.0.1.

web3.py's ``HTTPProvider`` drives the node as it would drive geth: deploy the ERC-1056 registry, change attributes,
read events with topic filters, call ``identityOwner``. Raw requests check the JSON-RPC 2.0 envelope (§4-§6 error
objects, batches, notifications) and the HTTP rules (size limit, content type) — and that nothing ever answers with a
500 or a traceback.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from node_support import ARTIFACT, STRANGER, dev, signed
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError

from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, LocalChainProvider, RpcServer, serve
from ledger.node.server import MAX_REQUEST

ATTRIBUTE_CHANGED = "0x" + keccak(b"DIDAttributeChanged(address,bytes32,bytes,uint256,uint256)").hex()
OWNER_CHANGED = "0x" + keccak(b"DIDOwnerChanged(address,address,uint256)").hex()
DELEGATE_CHANGED = "0x" + keccak(b"DIDDelegateChanged(address,bytes32,address,uint256,uint256)").hex()
QUANTITY = re.compile(r"0x(0|[1-9a-f][0-9a-f]*)")
HASH = re.compile(r"0x[0-9a-f]{64}")


@dataclass
class Node:
    chain: LocalChain
    server: RpcServer
    w3: Web3
    registry: Contract
    #: Block numbers of the setup transactions, by name.
    blocks: dict[str, int]

    @property
    def url(self) -> str:
        return self.server.url

    def rpc(self, method: str, *params: Any) -> dict[str, Any]:
        """One request; the whole response object."""
        body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}
        response = requests.post(self.url, json=body, timeout=10)
        assert response.status_code == 200, response.text
        decoded: dict[str, Any] = response.json()
        assert decoded["jsonrpc"] == "2.0" and decoded["id"] == 7
        return decoded

    def result(self, method: str, *params: Any) -> Any:
        response = self.rpc(method, *params)
        assert "error" not in response, response
        return response["result"]

    def error(self, method: str, *params: Any) -> dict[str, Any]:
        response = self.rpc(method, *params)
        assert "result" not in response, response
        error: dict[str, Any] = response["error"]
        assert isinstance(error["code"], int) and isinstance(error["message"], str)
        return error

    def transact(self, call: Any, account: Any) -> Any:
        tx = call.build_transaction(
            {"from": account.address, "nonce": self.w3.eth.get_transaction_count(account.address)}
        )
        tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)


def _hex32(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def _topic(address: str) -> str:
    return "0x" + address[2:].lower().rjust(64, "0")


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    chain = LocalChain.in_memory()
    server = serve(JsonRpcHandler(EthereumApi(chain)))
    w3 = Web3(Web3.HTTPProvider(server.url, request_kwargs={"timeout": 10}))
    alice, bob = dev(0), dev(1)
    factory = w3.eth.contract(abi=ARTIFACT.abi, bytecode=ARTIFACT.bytecode)
    deploy = factory.constructor().build_transaction({"from": alice.address, "nonce": 0})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(alice.sign_transaction(deploy).raw_transaction)
    )
    registry = w3.eth.contract(address=receipt["contractAddress"], abi=ARTIFACT.abi)
    setup = Node(chain, server, w3, registry, {"deploy": receipt["blockNumber"]})
    functions = registry.functions
    steps = [
        (
            "alice_service",
            functions.setAttribute(alice.address, _hex32("did/svc/Hub"), b"https://a.example", 86400),
            alice,
        ),
        (
            "bob_key",
            functions.setAttribute(bob.address, _hex32("did/pub/Ed25519/veriKey/base64"), b"k" * 32, 86400),
            bob,
        ),
        ("alice_delegate", functions.addDelegate(alice.address, _hex32("sigAuth"), bob.address, 86400), alice),
        ("alice_owner", functions.changeOwner(alice.address, dev(2).address), alice),
    ]
    for name, call, account in steps:
        setup.blocks[name] = setup.transact(call, account)["blockNumber"]
    yield setup
    server.stop()


# -- identity of the chain ---------------------------------------------------------------------------------------


def test_chain_identity_methods(node: Node) -> None:
    assert node.result("eth_chainId") == "0x539"
    assert node.result("net_version") == "1337"
    assert node.result("web3_clientVersion").startswith("govssi/v")
    assert node.result("eth_syncing") is False
    assert node.result("eth_accounts") == []  # no node-held keys
    assert node.result("eth_gasPrice") == "0x0" and node.result("eth_maxPriorityFeePerGas") == "0x0"
    assert QUANTITY.fullmatch(node.result("eth_blockNumber"))
    assert node.w3.eth.chain_id == 1337 and node.w3.is_connected()


def test_the_node_holds_no_keys(node: Node) -> None:
    error = node.error("eth_sendTransaction", {"from": dev(0).address, "to": dev(1).address})
    assert error["code"] == -32000 and "eth_sendRawTransaction" in error["message"]


# -- the DID registry through web3.py ----------------------------------------------------------------------------


def test_registry_through_web3(node: Node) -> None:
    alice, bob = dev(0), dev(1)
    functions = node.registry.functions
    assert functions.identityOwner(alice.address).call() == dev(2).address
    assert functions.identityOwner(bob.address).call() == bob.address
    assert functions.changed(alice.address).call() == node.blocks["alice_owner"]
    assert functions.validDelegate(alice.address, _hex32("sigAuth"), bob.address).call() is True
    # Historical state by block number: before the owner change alice owned herself.
    assert functions.identityOwner(alice.address).call(block_identifier=node.blocks["alice_delegate"]) == alice.address
    events = node.registry.events.DIDAttributeChanged().get_logs(
        from_block=0, argument_filters={"identity": bob.address}
    )
    assert [(event["blockNumber"], event["args"]["value"]) for event in events] == [(node.blocks["bob_key"], b"k" * 32)]


def test_revert_is_error_code_3_with_data(node: Node) -> None:
    """geth's revert error: code 3, "execution reverted: <reason>", data = the ABI-encoded Error(string)."""
    call = node.registry.functions.changeOwner(dev(1).address, STRANGER.address)
    with pytest.raises(ContractLogicError, match="bad_actor"):
        call.call({"from": STRANGER.address})
    data = call._encode_transaction_data()
    error = node.error("eth_call", {"from": STRANGER.address, "to": node.registry.address, "input": data}, "latest")
    assert error["code"] == 3
    assert error["message"] == "execution reverted: bad_actor"
    assert error["data"].startswith("0x08c379a0")
    error = node.error("eth_estimateGas", {"from": STRANGER.address, "to": node.registry.address, "data": data})
    assert error["code"] == 3


def test_call_and_estimate_with_block_selectors(node: Node) -> None:
    data = node.registry.functions.changed(dev(0).address)._encode_transaction_data()
    call = {"to": node.registry.address, "data": data}
    before = node.blocks["alice_service"] - 1
    assert int(node.result("eth_call", call, hex(before)), 16) == 0
    assert int(node.result("eth_call", call, "latest"), 16) == node.blocks["alice_owner"]
    block_hash = node.result("eth_getBlockByNumber", hex(before), False)["hash"]
    assert int(node.result("eth_call", call, {"blockHash": block_hash}), 16) == 0  # EIP-1898
    assert int(node.result("eth_call", call, {"blockNumber": hex(before)}), 16) == 0
    assert node.error("eth_call", call, hex(10**9)) == {"code": -32000, "message": "header not found"}
    estimate = int(node.result("eth_estimateGas", {"from": dev(0).address, "to": dev(1).address, "value": "0x1"}), 16)
    assert estimate == 21000


# -- blocks, transactions, receipts ------------------------------------------------------------------------------


BLOCK_FIELDS = {
    "number", "hash", "parentHash", "nonce", "sha3Uncles", "logsBloom", "transactionsRoot", "stateRoot",
    "receiptsRoot", "miner", "difficulty", "extraData", "size", "gasLimit", "gasUsed", "timestamp", "transactions",
    "uncles", "baseFeePerGas", "mixHash", "withdrawals", "withdrawalsRoot", "blobGasUsed", "excessBlobGas",
    "parentBeaconBlockRoot",
}  # fmt: skip


def test_block_fields(node: Node) -> None:
    number = node.blocks["alice_service"]
    block = node.result("eth_getBlockByNumber", hex(number), False)
    assert set(block) >= BLOCK_FIELDS
    assert block["number"] == hex(number) and HASH.fullmatch(block["hash"])
    assert len(block["logsBloom"]) == 2 + 512 and len(block["nonce"]) == 2 + 16
    assert block["parentHash"] == node.result("eth_getBlockByNumber", hex(number - 1), False)["hash"]
    assert int(block["timestamp"], 16) > int(
        node.result("eth_getBlockByNumber", hex(number - 1), False)["timestamp"], 16
    )
    assert len(block["transactions"]) == 1 and HASH.fullmatch(block["transactions"][0])
    assert node.result("eth_getBlockByHash", block["hash"], False) == block
    full = node.result("eth_getBlockByNumber", hex(number), True)
    tx = full["transactions"][0]
    assert tx == node.result("eth_getTransactionByHash", block["transactions"][0])
    assert tx["from"] == dev(0).address.lower() and tx["to"] == node.registry.address.lower()
    assert tx["blockHash"] == block["hash"] and tx["transactionIndex"] == "0x0" and tx["type"] == "0x2"
    assert node.result("eth_getTransactionByBlockNumberAndIndex", hex(number), "0x0") == tx
    assert node.result("eth_getTransactionByBlockHashAndIndex", block["hash"], "0x0") == tx
    assert node.result("eth_getBlockTransactionCountByNumber", hex(number)) == "0x1"
    assert node.result("eth_getBlockByNumber", "earliest", False)["number"] == "0x0"
    assert node.result("eth_getBlockByNumber", "pending", False)["number"] == node.result("eth_blockNumber")
    assert node.result("eth_getBlockByNumber", hex(10**9), False) is None
    assert node.result("eth_getBlockByHash", "0x" + "00" * 32, False) is None
    web3_block = node.w3.eth.get_block(number)  # web3's own formatters accept every field
    assert web3_block["hash"].to_0x_hex() == block["hash"]


def test_receipt_fields(node: Node) -> None:
    number = node.blocks["alice_service"]
    tx_hash = node.result("eth_getBlockByNumber", hex(number), False)["transactions"][0]
    receipt = node.result("eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1" and receipt["blockNumber"] == hex(number)
    assert receipt["gasUsed"] == receipt["cumulativeGasUsed"] and receipt["contractAddress"] is None
    assert receipt["effectiveGasPrice"] == "0x0" and receipt["type"] == "0x2"
    (log,) = receipt["logs"]
    assert log["topics"][0] == ATTRIBUTE_CHANGED and log["address"] == node.registry.address.lower()
    assert log["transactionHash"] == tx_hash and log["logIndex"] == "0x0" and log["removed"] is False
    assert node.result("eth_getBlockReceipts", hex(number)) == [receipt]
    deployment = node.w3.eth.get_transaction_receipt(node.w3.eth.get_block(node.blocks["deploy"])["transactions"][0])
    assert deployment["contractAddress"] == node.registry.address
    assert node.result("eth_getTransactionReceipt", "0x" + "11" * 32) is None
    assert node.result("eth_getTransactionByHash", "0x" + "11" * 32) is None


def test_account_state(node: Node) -> None:
    alice = dev(0).address
    latest = int(node.result("eth_getTransactionCount", alice, "latest"), 16)
    assert latest >= 4 and node.result("eth_getTransactionCount", alice, "pending") == hex(latest)
    assert node.result("eth_getTransactionCount", alice, "earliest") == "0x0"
    assert node.result("eth_getBalance", alice, "latest") == hex(10_000 * 10**18)  # zero fees: nothing spent
    assert node.result("eth_getCode", node.registry.address, "latest") == ARTIFACT.deployed_bytecode
    assert node.result("eth_getCode", node.registry.address, "earliest") == "0x"
    slot = node.result("eth_getStorageAt", node.registry.address, "0x0", "latest")
    assert HASH.fullmatch(slot)


def test_fee_history(node: Node) -> None:
    history = node.result("eth_feeHistory", "0x3", "latest", [25, 75])
    head = int(node.result("eth_blockNumber"), 16)
    assert history["oldestBlock"] == hex(head - 2)
    assert history["baseFeePerGas"] == ["0x0"] * 4  # three blocks plus the next one
    assert len(history["gasUsedRatio"]) == 3 and all(0 < ratio < 1 for ratio in history["gasUsedRatio"])
    assert history["reward"] == [["0x0", "0x0"]] * 3
    assert node.w3.eth.fee_history(2, "latest")["oldestBlock"] == head - 1
    assert node.error("eth_feeHistory", "0x0", "latest")["code"] == -32602


# -- logs --------------------------------------------------------------------------------------------------------


def _log_blocks(node: Node, **query: Any) -> list[int]:
    return [int(log["blockNumber"], 16) for log in node.result("eth_getLogs", query)]


def test_get_logs_with_address_and_topic_filters(node: Node) -> None:
    """Topic positions AND together; inside a position an array is OR, and null (or []) matches anything."""
    b = node.blocks
    registry = node.registry.address
    everything = [b["alice_service"], b["bob_key"], b["alice_delegate"], b["alice_owner"]]
    assert _log_blocks(node, fromBlock="earliest", toBlock="latest", address=registry)[:4] == everything
    assert _log_blocks(node, fromBlock="0x0", address=[registry, dev(5).address], topics=[ATTRIBUTE_CHANGED])[:2] == [
        b["alice_service"],
        b["bob_key"],
    ]
    alice = _topic(dev(0).address)
    assert _log_blocks(node, fromBlock="0x0", toBlock=hex(b["alice_owner"]), topics=[None, alice]) == [
        b["alice_service"],
        b["alice_delegate"],
        b["alice_owner"],
    ]
    assert _log_blocks(
        node, fromBlock="0x0", toBlock=hex(b["alice_owner"]), topics=[[OWNER_CHANGED, DELEGATE_CHANGED], alice]
    ) == [b["alice_delegate"], b["alice_owner"]]
    assert _log_blocks(node, fromBlock="0x0", toBlock=hex(b["alice_owner"]), topics=[[], [alice, None]]) == everything
    assert _log_blocks(node, fromBlock="0x0", address=dev(5).address) == []
    assert _log_blocks(node, fromBlock=hex(b["bob_key"]), toBlock=hex(b["bob_key"])) == [b["bob_key"]]
    block_hash = node.result("eth_getBlockByNumber", hex(b["bob_key"]), False)["hash"]
    assert _log_blocks(node, blockHash=block_hash) == [b["bob_key"]]  # EIP-234
    assert _log_blocks(node, fromBlock=hex(10**6), toBlock=hex(10**6 + 5)) == []  # beyond the head: nothing yet
    assert _log_blocks(node, fromBlock=hex(b["alice_owner"]), toBlock=hex(10**6))[:1] == [b["alice_owner"]]  # clamped


@pytest.mark.parametrize(
    "query",
    [
        {"fromBlock": "0x5", "toBlock": "0x4"},
        {"blockHash": "0x" + "00" * 32, "fromBlock": "0x0"},
        {"topics": [None, None, None, None, None]},
        {"topics": ["0x1234"]},
        {"address": "0xnotanaddress"},
        {"fromBlock": "0x01"},
        {"fromBlock": 5},
        {"toBlock": "newest"},
        {"unknownField": 1},
    ],
)
def test_get_logs_rejects_bad_filters(node: Node, query: dict[str, Any]) -> None:
    assert node.error("eth_getLogs", query)["code"] == -32602


def test_get_logs_unknown_block_hash(node: Node) -> None:
    assert node.error("eth_getLogs", {"blockHash": "0x" + "00" * 32}) == {"code": -32000, "message": "unknown block"}


def test_polling_filters(node: Node) -> None:
    query = {"fromBlock": "0x0", "address": node.registry.address, "topics": [ATTRIBUTE_CHANGED]}
    log_filter = node.result("eth_newFilter", query)
    block_filter = node.result("eth_newBlockFilter")
    assert node.result("eth_getFilterChanges", log_filter) == []
    receipt = node.transact(node.registry.functions.setAttribute(dev(3).address, _hex32("x"), b"y", 60), dev(3))
    changes = node.result("eth_getFilterChanges", log_filter)
    assert [change["transactionHash"] for change in changes] == [receipt["transactionHash"].to_0x_hex()]
    assert node.result("eth_getFilterChanges", log_filter) == []  # only what is new since the last poll
    assert node.result("eth_getFilterChanges", block_filter) == [receipt["blockHash"].to_0x_hex()]
    # Changes start at the filter's creation; eth_getFilterLogs answers the whole range (here: from block 0).
    assert len(node.result("eth_getFilterLogs", log_filter)) >= 3
    assert node.result("eth_uninstallFilter", log_filter) is True
    assert node.result("eth_uninstallFilter", log_filter) is False
    assert node.error("eth_getFilterChanges", log_filter) == {"code": -32000, "message": "filter not found"}


# -- sending -----------------------------------------------------------------------------------------------------


def test_send_raw_transaction_errors(node: Node) -> None:
    error = node.error("eth_sendRawTransaction", "0x" + signed(dev(0), nonce=0, to=b"\x01" * 20).hex())
    assert error["code"] == -32000 and error["message"].startswith("nonce too low")
    assert node.error("eth_sendRawTransaction", "0x02c0")["code"] == -32000
    assert node.error("eth_sendRawTransaction", "0x0")["code"] == -32602
    with pytest.raises(Web3RPCError, match="nonce too low"):
        node.w3.eth.send_raw_transaction(signed(dev(0), nonce=0, to=b"\x01" * 20))


def test_concurrent_senders_share_the_chain(node: Node) -> None:
    """Several services (threads, each its own HTTP connection) sending at once: every transaction is mined once."""
    start = int(node.result("eth_blockNumber"), 16)
    errors: list[BaseException] = []

    def service(index: int) -> None:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 20}))
        account = dev(4 + index)
        try:
            for nonce in range(5):
                raw = signed(account, nonce=nonce, to=b"\x01" * 20, value=1, gas=21_000)
                receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), timeout=20)
                assert receipt["status"] == 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=service, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert int(node.result("eth_blockNumber"), 16) == start + 20
    assert node.w3.eth.get_balance("0x" + "01" * 20) >= 20


# -- the JSON-RPC envelope and HTTP ------------------------------------------------------------------------------


def _post(node: Node, body: bytes, content_type: str = "application/json") -> requests.Response:
    return requests.post(node.url, data=body, headers={"Content-Type": content_type}, timeout=10)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getBalance", ["0x1234", "latest"]),
        ("eth_getBalance", [dev(0).address, "0x01"]),
        ("eth_getBalance", [dev(0).address, "latest", "extra"]),
        ("eth_getBlockByNumber", ["latest"]),
        ("eth_getBlockByNumber", ["latest", "yes"]),
        ("eth_getBlockByHash", ["0xabc", False]),
        ("eth_call", ["not an object"]),
        ("eth_call", [{"to": dev(0).address, "data": "0x12", "input": "0x34"}]),
        ("eth_call", [{"to": dev(0).address, "data": "0x123"}]),
        ("eth_sendRawTransaction", ["deadbeef"]),
        ("eth_chainId", ["unexpected"]),
        ("eth_getTransactionReceipt", [None]),
    ],
)
def test_bad_params_are_error_32602(node: Node, method: str, params: list[Any]) -> None:
    error = node.error(method, *params)
    assert error["code"] == -32602 and error["message"].startswith("invalid params")


def test_unknown_method_is_error_32601(node: Node) -> None:
    assert node.error("eth_mineBitcoin")["code"] == -32601


def test_named_params_are_refused(node: Node) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": {"address": "0x00"}}).encode()
    assert _post(node, body).json()["error"]["code"] == -32602


@pytest.mark.parametrize(
    "body", [b"{", b"\xff\xfe", b'{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"', b"[" * 100_000]
)
def test_malformed_json_is_error_32700(node: Node, body: bytes) -> None:
    response = _post(node, body)
    assert response.status_code == 200
    assert response.json() == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}


@pytest.mark.parametrize(
    "request_object",
    [
        {"id": 1, "method": "eth_chainId"},
        {"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        {"jsonrpc": "2.0", "id": {"x": 1}, "method": "eth_chainId"},
        "eth_chainId",
        17,
    ],
)
def test_invalid_requests_are_error_32600(node: Node, request_object: Any) -> None:
    response = _post(node, json.dumps(request_object).encode()).json()
    assert response["error"]["code"] == -32600


def test_batches(node: Node) -> None:
    """JSON-RPC 2.0 §6: one response per non-notification, matched by id; bad members get their own errors."""
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
        {"jsonrpc": "2.0", "method": "eth_blockNumber"},  # notification: no response
        {"jsonrpc": "2.0", "id": 2, "method": "no_such_method"},
        1,
        {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": ["0x00"]},
    ]
    responses = _post(node, json.dumps(batch).encode()).json()
    assert [(r["id"], r.get("result"), r.get("error", {}).get("code")) for r in responses] == [
        ("a", "0x539", None),
        (2, None, -32601),
        (None, None, -32600),
        (3, None, -32602),
    ]
    assert _post(node, b"[]").json()["error"]["code"] == -32600
    assert (
        _post(
            node, json.dumps([{"jsonrpc": "2.0", "id": n, "method": "eth_chainId"} for n in range(101)]).encode()
        ).json()["error"]["code"]
        == -32600
    )
    with node.w3.batch_requests() as web3_batch:  # web3.py's own batch support
        web3_batch.add(node.w3.eth.get_block(0))
        web3_batch.add(node.w3.eth.get_balance(dev(0).address))
        block, balance = web3_batch.execute()
    assert block["number"] == 0 and balance == 10_000 * 10**18


def test_notifications_get_no_response(node: Node) -> None:
    response = _post(node, b'{"jsonrpc": "2.0", "method": "eth_chainId"}')
    assert response.status_code == 204 and response.content == b""
    response = _post(node, b'[{"jsonrpc": "2.0", "method": "eth_chainId"}, {"jsonrpc": "2.0", "method": "nope"}]')
    assert response.status_code == 204 and response.content == b""


def test_http_rules(node: Node) -> None:
    too_large = _post(node, b" " * (MAX_REQUEST + 1))
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == -32600
    assert _post(node, b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', "text/plain").status_code == 415
    ok = _post(node, b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', "application/json; charset=utf-8")
    assert ok.json()["result"] == "0x539"
    assert requests.get(node.url, timeout=10).status_code == 405
    assert requests.post(node.url + "/other", json={}, timeout=10).status_code == 404
    health = requests.get(node.url + "/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["chain_id"] == 1337


def test_keep_alive_connection_serves_many_requests(node: Node) -> None:
    with requests.Session() as session:
        for _ in range(20):
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}
            assert session.post(node.url, json=body, timeout=10).json()["result"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.sampled_from(["latest", "0x0", "0x" + "ab" * 20]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(sorted(EthereumApi(LocalChain.in_memory()).methods)),
    params=st.lists(JSON_VALUES, max_size=4),
)
def test_arbitrary_params_never_cause_an_internal_error(node: Node, method: str, params: list[Any]) -> None:
    """Whatever the params, the answer is a result or a JSON-RPC error the client caused — never -32603 or a 500."""
    if method == "eth_sendRawTransaction":
        params = params[:1]  # a valid transaction is not going to be generated; keep the chain unchanged anyway
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    response = _post(node, body)
    assert response.status_code == 200
    decoded = response.json()
    assert ("result" in decoded) != ("error" in decoded)
    if "error" in decoded:
        assert decoded["error"]["code"] in (-32602, -32000, -32005, 3), decoded


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bodies_get_a_json_rpc_answer(body: bytes) -> None:
    """Any request body: a JSON-RPC response (or none for notifications), never an exception (JSON-RPC 2.0 §5)."""
    handler = JsonRpcHandler(EthereumApi(_IDLE_CHAIN))
    response = handler.handle(body)
    if response is not None:
        decoded = json.loads(response)
        for item in decoded if isinstance(decoded, list) else [decoded]:
            assert item["jsonrpc"] == "2.0" and ("result" in item) != ("error" in item)
            assert item.get("error", {}).get("code") != -32603


_IDLE_CHAIN = LocalChain.in_memory()


def test_in_process_provider_answers_like_http(node: Node) -> None:
    """The in-process provider runs the very same handler: same answers, no socket."""
    local = Web3(LocalChainProvider(node.chain))
    number = node.blocks["bob_key"]
    assert local.eth.get_block(number) == node.w3.eth.get_block(number)
    assert (
        local.eth.get_logs({"fromBlock": 0, "address": node.registry.address})[:4]
        == node.w3.eth.get_logs({"fromBlock": 0, "address": node.registry.address})[:4]
    )
