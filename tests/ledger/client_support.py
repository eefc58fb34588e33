"""Chains and broken endpoints for the ledger client tests, all on 127.0.0.1.

- :func:`local_node`: the committed local chain node (``ledger.node``), served over real HTTP JSON-RPC on a free port
  in this process (its HTTP server runs in a thread).
- :func:`anvil_node`: Foundry's anvil from the pinned npm package in ``ledger/anvil`` (installed here with ``npm ci``
  from the lock file, like ``ledger/build.py`` installs solc-js), started as a subprocess on a free port.
- :class:`SilentServer` accepts connections and never answers; :class:`CannedServer` answers HTTP with canned bytes;
  :func:`dead_url` is a port nobody listens on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from ledger.client import SoftwareChainSigner
from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer, dev_account_keys

ANVIL_DIR = Path(__file__).resolve().parents[2] / "ledger" / "anvil"
ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"
ANVIL_BINARY = ANVIL_DIR / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
NPM_TIMEOUT_S = 300


def dev_signer(index: int = 0) -> SoftwareChainSigner:
    """A funded development account (the public test mnemonic both the local node and anvil fund)."""
    return SoftwareChainSigner.from_private_bytes(dev_account_keys()[index])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def dead_url() -> str:
    """A URL whose port refuses connections (bound a moment ago, closed again)."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass
class Backend:
    """A chain node reachable over HTTP JSON-RPC."""

    name: str
    url: str
    chain_id: int
    stop: Callable[[], None]


class KillableRpcServer(RpcServer):
    """The node's HTTP server whose :meth:`stop` also cuts open keep-alive connections, as a dying node process
    would (``RpcServer.stop`` lets connections in flight finish, so a client's pooled connection would live on)."""

    def __init__(self, chain: LocalChain, port: int = 0) -> None:
        super().__init__(JsonRpcHandler(EthereumApi(chain)), port)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def stop(self) -> None:
        super().stop()
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.clear()


def serve_chain(chain: LocalChain, port: int = 0) -> KillableRpcServer:
    server = KillableRpcServer(chain, port)
    server.start()
    return server


@contextlib.contextmanager
def local_node(chain_id: int = 1337, port: int = 0) -> Iterator[Backend]:
    chain = LocalChain.in_memory(chain_id)
    server = serve_chain(chain, port)
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.stop()

    try:
        yield Backend("node", server.url, chain_id, stop)
    finally:
        stop()
        chain.close()


def anvil_unavailable() -> str | None:
    """Why anvil cannot run here (no npm, or the pinned package does not install), or ``None``. Installs it."""
    if ANVIL_BINARY.is_file() and _installed_version() == _pinned_version():
        return None
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"anvil tests need {' and '.join(missing)} on PATH to install {ANVIL_PACKAGE}"
    with (ANVIL_DIR / ".npm-install.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers install once
        try:
            if not (ANVIL_BINARY.is_file() and _installed_version() == _pinned_version()):
                completed = subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                    cwd=ANVIL_DIR,
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT_S,
                    check=False,
                )
                if completed.returncode != 0:
                    tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
                    return f"npm ci of {ANVIL_PACKAGE}@{_pinned_version()} failed: {' | '.join(tail)}"
        except subprocess.TimeoutExpired:
            return f"npm ci of {ANVIL_PACKAGE} took longer than {NPM_TIMEOUT_S} s"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if not ANVIL_BINARY.is_file():
        return f"{ANVIL_PACKAGE} installed no anvil binary (not linux-x64?)"
    return None


def _pinned_version() -> str:
    manifest = json.loads((ANVIL_DIR / "package.json").read_text("utf-8"))
    version: str = manifest["dependencies"][ANVIL_PACKAGE]
    return version


def _installed_version() -> str | None:
    installed = ANVIL_BINARY.parent.parent / "package.json"
    if not installed.is_file():
        return None
    version = json.loads(installed.read_text("utf-8")).get("version")
    return str(version) if version else None


@contextlib.contextmanager
def anvil_node(chain_id: int = 31337, *extra: str) -> Iterator[Backend]:
    """anvil on a free port (automine: one block per transaction, like the local node)."""
    port = free_port()
    process = subprocess.Popen(
        [str(ANVIL_BINARY), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = requests.post(
                    url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1
                )
                if answer.ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"anvil did not start: {stderr[-500:]}")
            time.sleep(0.05)
        yield Backend("anvil", url, chain_id, stop)
    finally:
        stop()


@contextlib.contextmanager
def backend(name: str) -> Iterator[Backend]:
    """``"node"`` (the local chain node) or ``"anvil"`` (skipped with the reason when it cannot be installed)."""
    if name == "anvil":
        reason = anvil_unavailable()
        if reason:
            pytest.skip(reason)
        with anvil_node() as started:
            yield started
    else:
        with local_node() as started:
            yield started


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung node)."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while self._running:
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(connection)  # keep it open, say nothing

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=2)
        for connection in self._held:
            connection.close()
        self._socket.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class CannedServer:
    """An HTTP server on 127.0.0.1 whose answers come from ``respond(request_json) -> (status, body bytes)``."""

    def __init__(self, respond: Callable[[Any], tuple[int, bytes]]) -> None:
        self.requests: list[Any] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes (see ledger/node/server.py)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    request = json.loads(body)
                except ValueError:
                    request = None
                canned.requests.append(request)
                status, answer = respond(request)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> CannedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def rpc_result(request: Any, result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()


def rpc_error(request: Any, code: int, message: str) -> tuple[int, bytes]:
    return 200, json.dumps(
        {"jsonrpc": "2.0", "id": request["id"], "error": {"code": code, "message": message}}
    ).encode()
