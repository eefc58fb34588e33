"""The failover provider's HTTP transport (``ledger.client.endpoints``): keep-alive connections over ``http.client``,
idle connections the node closed, chunked and ``Connection: close`` answers, credentials and paths in URLs, the
pool bound, and ``eth_chainId`` answered from the verified chain id (web3 asks for it before every ``eth_call``)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from client_support import KillableRpcServer
from web3 import Web3
from web3.types import RPCEndpoint

from ledger.client import ChainClient, FailoverPolicy, FailoverProvider
from ledger.node import LocalChain

FAST = FailoverPolicy(attempt_timeout=2.0, request_budget=4.0)
#: The ``recorded`` fixture: host:port, each request's path and headers, the methods asked.
Recorded = tuple[str, list[dict[str, Any]], list[str]]


class CountingNode(KillableRpcServer):
    """The local node, counting the TCP connections it accepts."""

    def __init__(self, chain: LocalChain) -> None:
        super().__init__(chain)
        self.connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)

    def drop_connections(self) -> None:
        """Close the open keep-alive connections from the node's side, as an idle timeout does."""
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


@pytest.fixture
def node() -> Iterator[CountingNode]:
    chain = LocalChain.in_memory(1337)
    server = CountingNode(chain)
    server.start()
    yield server
    server.stop()
    chain.close()


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """A JSON-RPC server recording each request's path and headers; answers chainId 1337 and blockNumber 0x2a, the
    body chunked and the connection closed for method ``chunked``."""
    seen: list[dict[str, Any]] = []
    methods: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "headers": dict(self.headers)})
            methods.append(request["method"])
            result = "0x539" if request["method"] == "eth_chainId" else "0x2a"
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if request["method"] == "chunked":
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                for piece in (body[:7], body[7:]):
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", seen, methods
    server.shutdown()
    server.server_close()


def _block_number(provider: FailoverProvider) -> int:
    return int(provider.make_request(RPCEndpoint("eth_blockNumber"), [])["result"], 16)


def test_requests_share_one_keep_alive_connection(node: CountingNode) -> None:
    client = ChainClient.connect([node.url], failover=FAST)
    for _ in range(20):
        client.block_number()
    assert node.connections <= 2  # the chain-id probe, then one connection for everything
    client.close()


def test_an_idle_connection_the_node_closed_is_replaced(node: CountingNode) -> None:
    """The node drops idle keep-alive connections (IDLE_TIMEOUT): the next request opens a new one; the endpoint is
    not counted as failed."""
    client = ChainClient.connect([node.url], failover=FAST)
    client.block_number()
    node.drop_connections()
    assert client.block_number() == 0
    status = client.provider.status()[0]
    assert status.healthy and status.consecutive_failures == 0
    client.close()


def test_chain_id_is_answered_from_the_verified_endpoints(recorded: Recorded) -> None:
    """web3 asks for eth_chainId before every eth_call and eth_estimateGas; the provider knows it (every endpoint was
    checked to serve it before use), so it answers without a round trip — but not before any endpoint is verified."""
    host, _, methods = recorded
    provider = FailoverProvider([f"http://{host}"], policy=FAST)
    w3 = Web3(provider)
    assert w3.eth.chain_id == 1337  # unverified: asked from the node (and that verifies it)
    asked = methods.count("eth_chainId")
    assert asked >= 1
    for _ in range(5):
        assert w3.eth.chain_id == 1337
    assert methods.count("eth_chainId") == asked
    assert provider.is_connected()  # a real request, not the remembered answer
    assert methods.count("eth_chainId") == asked + 1
    assert provider.answered.get("eth_chainId") == 2  # the first one and is_connected (not the verification probe)
    provider.close()


def test_answers_are_counted_by_method(node: CountingNode) -> None:
    provider = FailoverProvider([node.url], policy=FAST)
    for _ in range(3):
        _block_number(provider)
    provider.make_request(RPCEndpoint("eth_getBlockByNumber"), ["0x0", False])
    assert provider.answered == {"eth_blockNumber": 3, "eth_getBlockByNumber": 1}
    provider.close()


def test_path_query_and_credentials_of_the_url(recorded: Recorded) -> None:
    """The URL's path and query are the request target; its user info is sent as HTTP Basic authentication (never
    shown: errors and status name scheme://host:port only)."""
    host, seen, _ = recorded
    provider = FailoverProvider([f"http://user%40x:p%3Ass@{host}/rpc/v1?key=SECRET"], policy=FAST)
    assert _block_number(provider) == 42
    request = seen[-1]
    assert request["path"] == "/rpc/v1?key=SECRET"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"user@x:p:ss").decode()
    assert request["headers"]["Content-Type"] == "application/json"
    assert "SECRET" not in repr(provider) and "user" not in str(provider.status())
    provider.close()


def test_chunked_answers_and_connection_close(recorded: Recorded) -> None:
    host, _, methods = recorded
    provider = FailoverProvider([f"http://{host}"], policy=FAST)
    for _ in range(3):  # each answer closes the connection: the next request opens a new one
        response = provider.make_request(RPCEndpoint("chunked"), [])
        assert response["result"] == "0x2a"
    assert methods.count("chunked") == 3
    assert _block_number(provider) == 42
    assert provider.status()[0].consecutive_failures == 0
    provider.close()


def test_concurrent_requests_and_the_idle_pool_bound(node: CountingNode) -> None:
    provider = FailoverProvider(
        [node.url], policy=FailoverPolicy(attempt_timeout=5.0, request_budget=10.0, pool_size=2)
    )
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                _block_number(provider)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert provider.answered["eth_blockNumber"] == 60
    idle: Callable[[], int] = lambda: len(provider._endpoints[0].connections._idle)  # noqa: E731
    assert idle() <= 2
    provider.close()
    assert idle() == 0
