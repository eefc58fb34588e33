"""Failover, timeouts and the chain-id check of ``ledger.client`` over real HTTP on 127.0.0.1.

Endpoints: the local chain node (``ledger.node`` served over JSON-RPC), a port nobody listens on, a server that
accepts and never answers, and canned HTTP servers (non-JSON-RPC answers, HTTP errors, PoA blocks, log limits).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from client_support import (
    Backend,
    CannedServer,
    SilentServer,
    dead_url,
    free_port,
    local_node,
    rpc_error,
    rpc_result,
    serve_chain,
)
from web3.types import RPCEndpoint

from ledger.client import ChainClient, FailoverPolicy, FailoverProvider, display_url
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.errors import ChainError, ChainIdMismatch, ChainUnavailable
from ledger.node import LocalChain
from ssi.clock import FrozenClock
from ssi.errors import SsiError

FAST = FailoverPolicy(attempt_timeout=0.5, request_budget=1.5, backoff_initial=0.5, backoff_max=4.0)


@pytest.fixture(scope="module")
def node() -> Iterator[Backend]:
    with local_node(1337) as backend:
        yield backend


def _timed(action: Any) -> tuple[Any, float]:
    start = time.monotonic()
    result = action()
    return result, time.monotonic() - start


# -- failover ----------------------------------------------------------------------------------------------------------


def test_dead_first_url_fails_over_to_the_second(node: Backend) -> None:
    """A refused connection is an endpoint failure: the request moves on; the dead URL is then skipped (back-off)."""
    dead = dead_url()
    client = ChainClient([dead, node.url], failover=FAST)
    assert client.block_number() >= 0
    first, second = client.provider.status()
    assert not first.healthy and first.consecutive_failures == 1 and first.last_error == "connection refused"
    assert second.healthy and second.verified
    client.block_number()
    assert client.provider.status()[0].consecutive_failures == 1  # skipped while backing off, not retried
    client.close()


def test_hanging_url_is_timed_out_then_skipped(node: Backend) -> None:
    """A node that accepts and never answers costs one attempt timeout, once; later requests skip it."""
    with SilentServer() as silent:
        client = ChainClient([silent.url, node.url], failover=FAST)
        chain_id, first = _timed(client.check_chain_id)
        assert chain_id == 1337
        assert 0.4 < first < 2.0  # about the attempt timeout (0.5 s), not a hang
        status = client.provider.status()[0]
        assert not status.healthy and "timed out" in (status.last_error or "")
        _, later = _timed(client.block_number)
        assert later < FAST.attempt_timeout  # the hung node is in back-off: not waited for again
        accepted = silent.accepted
        for _ in range(5):
            client.block_number()
        assert silent.accepted == accepted
        client.close()


def test_hanging_url_first_in_a_request_is_bounded(node: Backend) -> None:
    """Without a chain-id check first, the request itself times the hung node out and answers from the next."""
    with SilentServer() as silent:
        client = ChainClient([silent.url, node.url], failover=FAST)
        number, took = _timed(client.block_number)
        assert number >= 0 and 0.4 < took < 2.0
        client.close()


def test_all_down_is_chain_unavailable_quickly() -> None:
    """No node answers: ChainUnavailable (code temporarily_unavailable) within the request budget, naming each URL."""
    with SilentServer() as silent:
        dead = dead_url()
        client = ChainClient([dead, silent.url], failover=FAST)
        start = time.monotonic()
        with pytest.raises(ChainUnavailable) as unavailable:
            client.block_number()
        assert time.monotonic() - start < FAST.request_budget + 0.5
        assert unavailable.value.code == "temporarily_unavailable"
        assert display_url(dead) in unavailable.value.description
        assert display_url(silent.url) in unavailable.value.description
        assert "connection refused" in unavailable.value.description and "timed out" in unavailable.value.description
        # Both in back-off now: still tried (last resort), still bounded.
        start = time.monotonic()
        with pytest.raises(ChainUnavailable):
            client.check_chain_id()
        assert time.monotonic() - start < FAST.request_budget + 0.5
        client.close()


def test_request_budget_bounds_many_hung_nodes() -> None:
    """Five hung nodes with a 0.5 s attempt timeout and a 1.5 s budget: the request gives up after the budget."""
    silents = [SilentServer() for _ in range(5)]
    try:
        client = ChainClient([silent.url for silent in silents], failover=FAST)
        start = time.monotonic()
        with pytest.raises(ChainUnavailable) as unavailable:
            client.block_number()
        assert time.monotonic() - start < FAST.request_budget + 0.6
        assert "budget" in unavailable.value.description
        client.close()
    finally:
        for silent in silents:
            silent.close()


def test_error_messages_never_show_url_paths_or_secrets() -> None:
    """Endpoint URLs often carry API keys in the path or query: errors show scheme://host:port only."""
    secret_url = dead_url() + "/v3/SECRET-PROJECT-KEY?token=SECRET"
    client = ChainClient([secret_url], failover=FAST)
    with pytest.raises(ChainUnavailable) as unavailable:
        client.block_number()
    assert "SECRET" not in str(unavailable.value) and "SECRET" not in repr(client.provider)
    assert display_url("https://user:pw@rpc.example:8545/key?x=1") == "https://rpc.example:8545"
    client.close()


def test_backoff_doubles_and_resets_on_success(node: Backend) -> None:
    """Back-off: initial, doubling per consecutive failure, capped; an answer resets it (injected clock)."""
    assert [FAST.backoff(n) for n in (1, 2, 3, 4, 5, 50)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    clock = FrozenClock(1000.0)
    port = free_port()
    provider = FailoverProvider([f"http://127.0.0.1:{port}", node.url], policy=FAST, clock=clock)
    request = RPCEndpoint("eth_blockNumber")
    provider.make_request(request, [])
    assert provider.status()[0].retry_in == 0.5
    clock.advance(0.6)  # back-off over: tried first again, fails again
    provider.make_request(request, [])
    assert provider.status()[0].consecutive_failures == 2 and provider.status()[0].retry_in == 1.0
    chain = LocalChain.in_memory(1337)
    server = serve_chain(chain, port)  # the first node comes back
    try:
        provider.make_request(request, [])  # still in back-off: the second node answers
        assert provider.status()[0].consecutive_failures == 2
        clock.advance(1.1)
        provider.make_request(request, [])
        first = provider.status()[0]
        assert first.healthy and first.verified and first.consecutive_failures == 0 and first.last_error is None
    finally:
        server.stop()
        chain.close()
        provider.close()


# -- one chain (EIP-695 eth_chainId) ---------------------------------------------------------------------------------


def test_endpoints_of_different_chains_are_refused(node: Backend) -> None:
    with local_node(1338) as other:
        with pytest.raises(ChainIdMismatch) as mismatch:
            ChainClient.connect([node.url, other.url], failover=FAST)
        assert "1337" in mismatch.value.description and "1338" in mismatch.value.description
        assert isinstance(mismatch.value, ChainError) and isinstance(mismatch.value, SsiError)
    with pytest.raises(ChainIdMismatch):
        ChainClient.connect([node.url], chain_id=5, failover=FAST)
    assert ChainClient.connect([node.url], chain_id=1337, failover=FAST).chain_id == 1337


def test_a_node_of_another_chain_that_appears_later_is_never_used(node: Backend) -> None:
    """An endpoint down at start is verified when it answers; on another chain it serves nothing."""
    port = free_port()
    primary_chain = LocalChain.in_memory(1337)
    primary = serve_chain(primary_chain)
    client = ChainClient.connect([primary.url, f"http://127.0.0.1:{port}"], failover=FAST)
    assert client.chain_id == 1337
    wrong_chain = LocalChain.in_memory(4242)
    wrong = serve_chain(wrong_chain, port)
    primary.stop()  # only the wrong chain answers now
    try:
        with pytest.raises(ChainUnavailable) as unavailable:
            client.block_number()
        assert "wrong chain: chain id 4242, expected 1337" in unavailable.value.description
        assert not client.provider.status()[1].verified
    finally:
        wrong.stop()
        wrong_chain.close()
        primary_chain.close()
        client.close()


def test_a_replaced_node_is_verified_again(node: Backend) -> None:
    """After any failure an endpoint must prove its chain id again before it serves requests."""
    port = free_port()
    chain = LocalChain.in_memory(1337)
    server = serve_chain(chain, port)
    clock = FrozenClock(0.0)
    provider = FailoverProvider([server.url, node.url], policy=FAST, clock=clock)
    provider.check_chain_id()
    server.stop()
    chain.close()
    provider.make_request(RPCEndpoint("eth_blockNumber"), [])  # fails over
    replacement_chain = LocalChain.in_memory(9)
    replacement = serve_chain(replacement_chain, port)
    try:
        clock.advance(10)
        provider.make_request(RPCEndpoint("eth_blockNumber"), [])
        first = provider.status()[0]
        assert not first.verified and first.last_error == "wrong chain: chain id 9, expected 1337"
    finally:
        replacement.stop()
        replacement_chain.close()
        provider.close()


# -- what counts as an answer (JSON-RPC 2.0 §5) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "failure"),
    [
        (200, b"<html>proxy login</html>", "not JSON"),
        (200, b'{"jsonrpc": "1.0", "id": 1, "result": "0x1"}', "not a JSON-RPC 2.0 response"),
        (200, b'{"jsonrpc": "2.0", "id": 1}', "not a JSON-RPC 2.0 response"),
        (200, b'{"jsonrpc": "2.0", "id": 1, "error": "bad"}', "not a JSON-RPC 2.0 response"),
        (200, b"[]", "not a JSON-RPC 2.0 response"),
        (503, b"busy", "HTTP 503"),
        (429, b"{}", "HTTP 429"),
    ],
)
def test_non_answers_fail_over(node: Backend, status: int, body: bytes, failure: str) -> None:
    with CannedServer(lambda request: (status, body)) as canned:
        client = ChainClient([canned.url, node.url], failover=FAST)
        assert client.chain_id == 1337
        assert client.provider.status()[0].last_error is not None
        assert failure in (client.provider.status()[0].last_error or "")
        client.close()


def test_oversized_answer_is_a_failure(node: Backend) -> None:
    policy = FailoverPolicy(attempt_timeout=0.5, request_budget=1.5, max_response_bytes=200)
    client = ChainClient([node.url], failover=policy)
    with pytest.raises(ChainUnavailable, match="larger than 200 bytes"):
        client.w3.eth.get_block("latest")
    client.close()


def test_json_rpc_errors_are_answers_not_failures(node: Backend) -> None:
    """An error object means the node works and refused the request: no failover, the endpoint stays healthy."""
    client = ChainClient([node.url], failover=FAST)
    response = client.provider.make_request(RPCEndpoint("eth_bogus"), [])
    assert response["error"]["code"] == -32601
    registry = client.contract("0x" + "11" * 20, load_artifact(DID_REGISTRY))
    with pytest.raises(ChainError) as refused:
        client.call(registry.functions.identityOwner("0x" + "22" * 20), block=10**9)  # a block that does not exist
    assert refused.value.reason == "rpc_error" and not isinstance(refused.value, ChainUnavailable)
    status = client.provider.status()[0]
    assert status.healthy and status.consecutive_failures == 0
    client.close()


def test_proof_of_authority_blocks_parse() -> None:
    """Clique/QBFT blocks carry 97+ bytes of extraData (vanity, seals); the PoA middleware lets web3 parse them."""
    extra = "0x" + "d8" * 32 + "11" * 65  # 32 bytes vanity + 65 bytes seal
    block = {
        "number": "0x10",
        "hash": "0x" + "ab" * 32,
        "parentHash": "0x" + "cd" * 32,
        "nonce": "0x0000000000000000",
        "sha3Uncles": "0x" + "00" * 32,
        "logsBloom": "0x" + "00" * 256,
        "transactionsRoot": "0x" + "00" * 32,
        "stateRoot": "0x" + "00" * 32,
        "receiptsRoot": "0x" + "00" * 32,
        "miner": "0x" + "00" * 20,
        "difficulty": "0x2",
        "totalDifficulty": "0x21",
        "extraData": extra,
        "size": "0x260",
        "gasLimit": "0x1c9c380",
        "gasUsed": "0x0",
        "timestamp": "0x65000000",
        "transactions": [],
        "uncles": [],
        "mixHash": "0x" + "00" * 32,
    }

    def respond(request: Any) -> tuple[int, bytes]:
        if request["method"] == "eth_chainId":
            return rpc_result(request, "0x539")
        if request["method"] == "eth_getBlockByNumber":
            return rpc_result(request, block)
        return rpc_error(request, -32601, "method not found")

    with CannedServer(respond) as canned:
        client = ChainClient.connect([canned.url], failover=FAST)
        parsed = client.w3.eth.get_block(16)
        assert parsed["number"] == 16
        assert bytes(parsed["proofOfAuthorityData"]) == bytes.fromhex(extra[2:])
        client.close()


def test_log_ranges_are_chunked_and_halved_when_a_node_refuses_them() -> None:
    """eth_getLogs over [0, 20] in chunks of 8; a node that refuses ranges over 3 blocks (-32005) gets halves."""
    ranges: list[tuple[int, int]] = []

    def respond(request: Any) -> tuple[int, bytes]:
        if request["method"] == "eth_chainId":
            return rpc_result(request, "0x539")
        if request["method"] == "eth_blockNumber":
            return rpc_result(request, "0x14")
        if request["method"] == "eth_getLogs":
            (query,) = request["params"]
            start, stop = int(query["fromBlock"], 16), int(query["toBlock"], 16)
            if stop - start + 1 > 3:
                return rpc_error(request, -32005, "query returned more than 10000 results")
            ranges.append((start, stop))
            log = {
                "address": "0x" + "11" * 20,
                "topics": [],
                "data": "0x",
                "blockNumber": hex(start),
                "blockHash": "0x" + "22" * 32,
                "transactionHash": "0x" + "33" * 32,
                "transactionIndex": "0x0",
                "logIndex": "0x0",
                "removed": False,
            }
            return rpc_result(request, [log])
        return rpc_error(request, -32601, "method not found")

    with CannedServer(respond) as canned:
        client = ChainClient.connect([canned.url], failover=FAST)
        logs = client.get_logs({"address": "0x" + "11" * 20}, from_block=0, chunk_size=8)
        covered = [block for start, stop in ranges for block in range(start, stop + 1)]
        assert covered == list(range(21))  # every block once, in order
        assert all(stop - start + 1 <= 3 for start, stop in ranges)
        assert [log["blockNumber"] for log in logs] == [start for start, _ in ranges]
        client.close()


def test_batch_requests_go_through_failover(node: Backend) -> None:
    client = ChainClient([dead_url(), node.url], failover=FAST)
    with client.w3.batch_requests() as batch:
        batch.add(client.w3.eth.get_block(0))
        batch.add(client.w3.eth.get_block("latest"))
        genesis, latest = cast(list[Any], batch.execute())
    assert genesis["number"] == 0 and latest["number"] >= 0
    client.close()


def test_urls_from_configuration_strings(node: Backend) -> None:
    """GOVSSI_CHAIN_RPC=url1,url2 — a comma-separated list is accepted as it is."""
    client = ChainClient(f" {dead_url()} , {node.url} ,", failover=FAST)
    assert len(client.provider.status()) == 2 and client.chain_id == 1337
    client.close()
    for bad in ("", "ftp://127.0.0.1:1", [node.url, node.url]):
        with pytest.raises(ValueError):
            ChainClient(bad)


def test_policies_are_validated() -> None:
    with pytest.raises(ValueError):
        FailoverPolicy(attempt_timeout=2, request_budget=1)
    with pytest.raises(ValueError):
        FailoverPolicy(backoff_initial=0)
    assert json.loads(json.dumps(FAST.backoff(1))) == 0.5
