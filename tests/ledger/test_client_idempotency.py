"""Idempotent delivery: a transaction resent after a timeout, a failover or a dropped pool entry applies exactly once.

Between the client and the chain (the local node or anvil) sits a JSON-RPC proxy on 127.0.0.1 that misbehaves on
``eth_sendRawTransaction`` the way real deployments do: it forwards the transaction and then never answers (the
client times out although the node has the transaction), it answers for a mined transaction with geth's "nonce too
low" instead of "already known", or it swallows the transaction while claiming success (a node that lost it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from client_support import Backend, CannedServer, backend, dev_signer, rpc_error, rpc_result
from eth_utils.crypto import keccak

from ledger.client import ChainClient, ClientPolicy, FailoverPolicy, call_data
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.erc1056 import bytes32

ARTIFACT = load_artifact(DID_REGISTRY)
FAST = FailoverPolicy(attempt_timeout=0.5, request_budget=1.5, backoff_initial=0.2, backoff_max=1.0)
POLICY = ClientPolicy(poll_interval=0.02, receipt_timeout=10, rebroadcast_interval=0.3, delivery_timeout=10)
STALL = 1.0  # longer than the attempt timeout


@pytest.fixture(scope="module", params=["node", "anvil"])
def node(request: pytest.FixtureRequest) -> Iterator[tuple[Backend, str]]:
    """A backend with the registry deployed (its address)."""
    with backend(request.param) as started:
        client = ChainClient.connect([started.url], policy=POLICY)
        registry, _ = client.deploy(ARTIFACT, sender=dev_signer(0))
        client.close()
        yield started, str(registry.address)


class Proxy:
    """Forwards JSON-RPC to ``upstream``; ``on_send(request, forward)`` decides what eth_sendRawTransaction gets."""

    def __init__(self, upstream: str, on_send: Callable[[Any, Callable[[], tuple[int, bytes]]], tuple[int, bytes]]):
        self.sends: list[str] = []
        self._lock = threading.Lock()

        def forward(request: Any) -> tuple[int, bytes]:
            answer = requests.post(upstream, json=request, timeout=10)
            return answer.status_code, answer.content

        def respond(request: Any) -> tuple[int, bytes]:
            if isinstance(request, dict) and request.get("method") == "eth_sendRawTransaction":
                with self._lock:
                    self.sends.append(request["params"][0])
                return on_send(request, lambda: forward(request))
            return forward(request)

        self.server = CannedServer(respond)
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()


def _hash_of(raw_hex: str) -> str:
    return "0x" + keccak(bytes.fromhex(raw_hex[2:])).hex()


def _receipt_of(upstream: str, tx_hash: str) -> Any:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": [tx_hash]}
    return requests.post(upstream, json=body, timeout=5).json().get("result")


def _stall_after_forwarding(times: int) -> Callable[[Any, Callable[[], tuple[int, bytes]]], tuple[int, bytes]]:
    remaining = [times]

    def on_send(request: Any, forward: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        answer = forward()  # the node has it now
        if remaining[0] > 0:
            remaining[0] -= 1
            time.sleep(STALL)  # ...but the client never hears so in time
        return answer

    return on_send


def _setup(node: tuple[Backend, str], identity_index: int) -> tuple[Any, Any, str, bytes]:
    started, address = node
    signer = dev_signer(identity_index)
    reader = ChainClient([started.url], policy=POLICY)
    registry = reader.contract(address, ARTIFACT)
    to, data = call_data(registry.functions.setAttribute(signer.address, bytes32("did/svc/Once"), b"x", 60))
    assert to is not None
    return signer, reader, to, data


def _count_effects(reader: ChainClient, address: str, identity: str, from_block: int) -> int:
    registry = reader.contract(address, ARTIFACT)
    events = reader.get_logs(
        registry.events.DIDAttributeChanged, from_block=from_block, argument_filters={"identity": identity}
    )
    return len(events)


def test_timeout_after_the_node_took_it_then_failover_applies_once(node: tuple[Backend, str]) -> None:
    """The first endpoint forwards the transaction and stalls; the client times out and delivers the same bytes to the
    second endpoint, which knows them: one nonce used, one event."""
    started, address = node
    signer, reader, to, data = _setup(node, 1)
    start_block = reader.block_number() + 1
    nonce_before = reader.transaction_count(signer.address)
    proxy = Proxy(started.url, _stall_after_forwarding(1))
    client = ChainClient([proxy.url, started.url], policy=POLICY, failover=FAST)
    try:
        signed = client.send(signer, to=to, data=data)
        receipt = client.wait_for_receipt(signed)
        assert receipt["status"] == 1
        assert proxy.sends == ["0x" + signed.raw.hex()]  # delivered there once, then the same bytes went direct
        assert reader.transaction_count(signer.address) == nonce_before + 1
        assert _count_effects(reader, address, signer.address, start_block) == 1
    finally:
        client.close()
        proxy.close()
        reader.close()


def test_retry_on_the_same_endpoint_meets_nonce_too_low_and_is_recognised(node: tuple[Backend, str]) -> None:
    """geth answers a resend of a mined transaction with "nonce too low": the client checks that the node knows the
    hash, and takes it as delivered (not as a conflict to re-sign — that would apply the change twice)."""
    started, address = node
    signer, reader, to, data = _setup(node, 2)
    start_block = reader.block_number() + 1
    nonce_before = reader.transaction_count(signer.address)
    stalled = [False]

    def geth_like(request: Any, forward: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        if not stalled[0]:
            stalled[0] = True
            answer = forward()
            time.sleep(STALL)
            return answer
        mined = _receipt_of(started.url, _hash_of(request["params"][0]))
        if mined is not None:
            return rpc_error(request, -32000, "nonce too low: next nonce 99, tx nonce 1")
        return forward()

    proxy = Proxy(started.url, geth_like)
    client = ChainClient([proxy.url], policy=POLICY, failover=FAST)
    try:
        signed = client.send(signer, to=to, data=data)
        receipt = client.wait_for_receipt(signed)
        assert receipt["status"] == 1
        assert len(proxy.sends) >= 2 and len(set(proxy.sends)) == 1  # retried, with the very same bytes
        assert reader.transaction_count(signer.address) == nonce_before + 1
        assert _count_effects(reader, address, signer.address, start_block) == 1
    finally:
        client.close()
        proxy.close()
        reader.close()


def test_dropped_transaction_is_rebroadcast_unchanged(node: tuple[Backend, str]) -> None:
    """A node that says it took the transaction but lost it: while no receipt appears, the same bytes go out again."""
    started, address = node
    signer, reader, to, data = _setup(node, 3)
    start_block = reader.block_number() + 1
    swallowed = [False]

    def lossy(request: Any, forward: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        if not swallowed[0]:
            swallowed[0] = True
            return rpc_result(request, _hash_of(request["params"][0]))  # "accepted", never forwarded
        return forward()

    proxy = Proxy(started.url, lossy)
    client = ChainClient([proxy.url], policy=POLICY, failover=FAST)
    try:
        signed = client.send(signer, to=to, data=data)
        assert _receipt_of(started.url, signed.hash_hex) is None  # really lost
        receipt = client.wait_for_receipt(signed)
        assert bytes(receipt["transactionHash"]) == signed.hash
        assert len(proxy.sends) == 2 and proxy.sends[0] == proxy.sends[1] == "0x" + signed.raw.hex()
        assert _count_effects(reader, address, signer.address, start_block) == 1
    finally:
        client.close()
        proxy.close()
        reader.close()


def test_proxy_is_transparent(node: tuple[Backend, str]) -> None:
    """Control: the proxy itself changes nothing when it behaves."""
    started, _ = node
    proxy = Proxy(started.url, lambda request, forward: forward())
    client = ChainClient.connect([proxy.url], policy=POLICY, failover=FAST)
    try:
        assert client.chain_id == started.chain_id
        signer = dev_signer(4)
        receipt = client.wait_for_receipt(client.send(signer, to=signer.address, value=1, gas=21_000))
        assert receipt["status"] == 1 and len(proxy.sends) == 1
    finally:
        client.close()
        proxy.close()
