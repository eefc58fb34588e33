"""Whatever a node answers, the ledger client raises only ``SsiError`` subclasses (CONVENTIONS: "arbitrary bytes raise
only our SsiError subclasses"), within its time bounds: a scripted node on 127.0.0.1 answers every method with
hypothesis-generated JSON, JSON-RPC results and errors, or raw bytes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from client_support import CannedServer, rpc_result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.client import ChainClient, ClientPolicy, FailoverPolicy, SoftwareChainSigner
from ledger.contracts import DID_REGISTRY, load_artifact
from ssi.errors import SsiError

FAST = FailoverPolicy(attempt_timeout=0.5, request_budget=1.5, backoff_initial=0.5, backoff_max=4.0)

JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20)
HEXISH = st.sampled_from(["0x", "0x0", "0x1", "0xzz", "0x" + "ab" * 32, "0x" + "00" * 20, "1", ""])
JSON_VALUES = st.recursive(
    JSON_SCALARS | HEXISH,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
ANSWERS = (
    st.builds(lambda result: {"jsonrpc": "2.0", "id": 0, "result": result}, JSON_VALUES)
    | st.builds(
        lambda code, message, data: {
            "jsonrpc": "2.0",
            "id": 0,
            "error": {"code": code, "message": message, "data": data},
        },
        st.integers(-33000, 5),
        st.sampled_from(["execution reverted", "nonce too low", "already known", "x", "query returned more than 1"]),
        JSON_VALUES,
    )
    | JSON_VALUES
)


class GarbageNode:
    """A node that answers eth_chainId correctly and everything else with :attr:`body` (the request id patched in)."""

    def __init__(self) -> None:
        self.body = b""
        self.server = CannedServer(self.respond)

    def respond(self, request: Any) -> tuple[int, bytes]:
        if isinstance(request, dict) and request.get("method") == "eth_chainId":
            return rpc_result(request, "0x539")
        body = self.body
        if body.startswith(b"{") and isinstance(request, dict):
            decoded = json.loads(body)
            if isinstance(decoded, dict) and "id" in decoded:
                decoded["id"] = request.get("id")
                body = json.dumps(decoded).encode()
        return 200, body


@pytest.fixture(scope="module")
def garbage_node() -> Iterator[GarbageNode]:
    node = GarbageNode()
    yield node
    node.server.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=ANSWERS, raw=st.binary(max_size=40))
def test_arbitrary_answers_raise_only_our_errors(garbage_node: GarbageNode, answer: Any, raw: bytes) -> None:
    """Whatever a node answers (any JSON, any JSON-RPC result or error, any bytes), the client raises only SsiError
    subclasses — never a web3, requests or builtin exception — and never hangs."""
    policy = ClientPolicy(receipt_timeout=0.02, delivery_timeout=0.02, poll_interval=0.01, nonce_attempts=1)
    client = ChainClient.connect([garbage_node.server.url], policy=policy, failover=FAST)
    registry = client.contract("0x" + "11" * 20, load_artifact(DID_REGISTRY))
    signer = SoftwareChainSigner.from_private_bytes(bytes(31) + b"\x01")
    operations: list[Callable[[], object]] = [
        client.block_number,
        client.fees,
        lambda: client.transaction_count(signer.address),
        lambda: client.call(registry.functions.identityOwner("0x" + "22" * 20)),
        lambda: client.get_logs(registry.events.DIDOwnerChanged, from_block=0, to_block=3, chunk_size=2),
        lambda: client.wait_for_receipt(bytes(32), confirmations=1),
        lambda: client.send(signer, to=signer.address, value=0, gas=21_000),
        lambda: client.resend(raw or b"\x01"),
    ]
    for body in (json.dumps(answer).encode(), raw):
        garbage_node.body = body
        for operation in operations:
            with contextlib.suppress(SsiError):
                operation()
    client.close()
