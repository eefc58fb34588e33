"""``govssi verifier serve`` answers every request on a keep-alive connection at once: its listening socket names
``IPPROTO_TCP`` so that asyncio sets ``TCP_NODELAY`` on each accepted connection (RFC 896's Nagle algorithm held the
response body — written after the head — until the client's delayed ACK, about 40 ms, from the second request of a
connection on: a wallet's Response URI post, an OIDC login's redirects)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOVSSI = [sys.executable, "-c", "from govssi.cli import main; main()"]


def _get(conn: socket.socket, host: str, path: str) -> bytes:
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k.lower() == b"content-length"
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head


def test_serve_runs_uvicorn_on_uvloop_and_httptools_with_nodelay() -> None:
    """The stack the serve commands run (:func:`govssi.cli._serving.serve_announced` on
    :func:`govssi.cli.issuer.listening_socket`): uvicorn's ``auto`` choices are the C ones (uvloop, httptools — the
    project's dependencies) and the connection uvicorn accepted has ``TCP_NODELAY`` on (uvloop sets it on every TCP
    transport; asyncio would only for an ``IPPROTO_TCP`` listener)."""
    import uvicorn
    import uvloop
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from govssi.cli._serving import serve_announced
    from govssi.cli.issuer import listening_socket

    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        seen["loop"] = asyncio.get_running_loop()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    sock = listening_socket("127.0.0.1")
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    started = threading.Event()
    thread = threading.Thread(target=serve_announced, args=(server, sock, started.set), daemon=True)
    thread.start()
    try:
        assert started.wait(30)
        with socket.create_connection((host, port), timeout=10) as conn:
            assert _get(conn, f"{host}:{port}", "/").startswith(b"HTTP/1.1 200")
            connections = list(server.server_state.connections)
            assert [type(c) for c in connections] == [HttpToolsProtocol]
            accepted = connections[0].transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert isinstance(seen["loop"], uvloop.Loop)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.mark.slow
def test_keep_alive_requests_are_not_held_back(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update(PYTHONPATH=str(ROOT), GOVSSI_DATA_DIR=str(tmp_path), GOVSSI_DEV_ALLOW_HTTP="1")
    process = subprocess.Popen(
        [*GOVSSI, "verifier", "serve", "--port", "0"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["verifier_url"]
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            times = []
            for _ in range(8):
                started = time.perf_counter()
                assert _get(conn, f"{host}:{port}", "/healthz").startswith(b"HTTP/1.1 200")
                times.append(time.perf_counter() - started)
        # With Nagle's algorithm on, every answer after the first took 40 ms or more (the delayed ACK).
        assert sorted(times)[len(times) // 2] < 0.038, times
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


@pytest.mark.slow
def test_workers_share_the_listening_socket_and_the_sessions(tmp_path: Path) -> None:
    """``serve --workers 2``: two uvicorn processes on one socket; a session created through one connection is seen
    through every other (the store is shared, OpenID4VP 1.0 §5 state kept server-side); SIGTERM stops them all."""
    import httpx

    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update(PYTHONPATH=str(ROOT), GOVSSI_DATA_DIR=str(tmp_path), GOVSSI_DEV_ALLOW_HTTP="1")
    process = subprocess.Popen(
        [*GOVSSI, "verifier", "serve", "--port", "0", "--workers", "2"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    workers: list[int] = []
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["workers"] == 2 and ready["sessions"] == "database"
        url = ready["verifier_url"]
        workers = _children(process.pid)
        assert len(workers) >= 2  # the two workers (spawned; a resource tracker may be there too)
        created = httpx.post(f"{url}/api/presentations", json={"preset": "age_over_18"}, timeout=10)
        assert created.status_code == 201, created.text
        session = created.json()["session"]
        for _ in range(20):  # a new connection each time: the kernel hands them to either worker
            status = httpx.get(f"{url}/api/presentations/{session}/status", timeout=10)
            assert status.status_code == 200 and status.json()["status"] == "created"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0
    time.sleep(0.5)
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
