"""The node's HTTP transport: JSON-RPC over HTTP/1.1 on 127.0.0.1 (stdlib ``ThreadingHTTPServer``).

HTTP rules, as geth's HTTP endpoint applies them:
- ``POST /`` with ``Content-Type: application/json`` and a ``Content-Length`` of at most :data:`MAX_REQUEST` bytes
  (5 MiB); otherwise 415, 411 or 413, each with a JSON-RPC error body;
- any other method or path: 405/404 with a JSON body; ``GET /healthz`` answers ``{"status": "ok", ...}``;
- keep-alive connections; a client that stops sending is dropped after :data:`IDLE_TIMEOUT` seconds.
Every request runs in its own thread; the chain's lock serialises the work, so any number of services can share the
chain through one node.
"""

from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from ledger.node.rpc import JsonRpcHandler
from ledger.node.schema import INVALID_REQUEST, RpcError

__all__ = ["IDLE_TIMEOUT", "MAX_REQUEST", "RpcServer", "serve"]

MAX_REQUEST = 5 * 1024 * 1024
IDLE_TIMEOUT = 30.0
_log = logging.getLogger("ledger.node")


class _RpcRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes; with Nagle's algorithm the body waits for the client's delayed ACK (~40 ms
    # per request on a keep-alive connection).
    disable_nagle_algorithm = True
    # Buffered writes: the status line, headers and body of a response leave in one send when the handler returns
    # (BaseHTTPRequestHandler flushes after each request), not in two.
    wbufsize = -1
    server_version = "govssi-ledger-node"
    timeout = IDLE_TIMEOUT
    server: RpcServer
    _json_types: ClassVar[tuple[str, ...]] = ("application/json", "application/json-rpc", "application/jsonrequest")

    def version_string(self) -> str:
        return self.server_version

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/":
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not_found"})
            return
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type not in self._json_types:
            self._reject(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "invalid content type, only application/json is supported")
            return
        if self.headers.get("Transfer-Encoding") is not None:
            self._reject(HTTPStatus.LENGTH_REQUIRED, "chunked requests are not supported; send Content-Length")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._reject(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return
        if length < 0 or length > MAX_REQUEST:
            self._reject(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request larger than {MAX_REQUEST} bytes")
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return
        response = self.server.rpc.handle(body)
        if response is None:
            self.send_response(HTTPStatus.NO_CONTENT)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(HTTPStatus.OK, response)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/healthz":
            chain = self.server.rpc.api.chain
            self._send_json(HTTPStatus.OK, {"status": "ok", "chain_id": chain.chain_id, "block": chain.block_number})
            return
        self._method_not_allowed()

    def do_PUT(self) -> None:
        self._method_not_allowed()

    do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_PUT

    def _method_not_allowed(self) -> None:
        self.close_connection = True  # the body (if any) was not read
        self._send_json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "method_not_allowed"}, allow="POST")

    def _reject(self, status: HTTPStatus, message: str) -> None:
        self.close_connection = True  # the body was not read
        error = RpcError(INVALID_REQUEST, message).to_json()
        self._send_json(status, {"jsonrpc": "2.0", "id": None, "error": error})

    def _send_json(self, status: HTTPStatus, obj: Any, *, allow: str | None = None) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), allow=allow)

    def _send(self, status: HTTPStatus, body: bytes, *, allow: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if allow is not None:
            self.send_header("Allow", allow)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if _log.isEnabledFor(logging.DEBUG):  # called for every request: format only when it is logged
            _log.debug("http %s", format % args)


class RpcServer(ThreadingHTTPServer):
    """A JSON-RPC HTTP server bound to 127.0.0.1; :meth:`start` serves in a background thread."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, rpc: JsonRpcHandler, port: int = 0, host: str = "127.0.0.1") -> None:
        self.rpc = rpc
        super().__init__((host, port), _RpcRequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RpcServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="ledger-node-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests and close the socket (requests in flight finish on their daemon threads)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


def serve(rpc: JsonRpcHandler, port: int = 0) -> RpcServer:
    """Serve ``rpc`` on ``http://127.0.0.1:<port>`` (0: any free port) in a background thread."""
    return RpcServer(rpc, port).start()
