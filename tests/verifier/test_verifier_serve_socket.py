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
def test_workers_have_their_own_sockets_and_share_the_sessions(tmp_path: Path) -> None:
    """``serve --workers 2``: two uvicorn processes, each on its own listening socket of the port (``SO_REUSEPORT``),
    connections spread over both; a session created through one connection is seen through every other (the store
    is shared, OpenID4VP 1.0 §5 state kept server-side); SIGTERM stops them all."""
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
        # each worker accepts on a listening socket of its own (one SO_REUSEPORT group on the port) …
        port = int(url.rsplit(":", 1)[1])
        listening = _tcp_inodes(port, listen=True)
        assert len(listening) == 2
        held = {pid: _socket_inodes(pid) & listening for pid in workers}
        serving = {pid: inodes for pid, inodes in held.items() if inodes}
        assert len(serving) == 2 and all(len(inodes) == 1 for inodes in serving.values())
        assert set.union(*serving.values()) == listening
        # … and the kernel spreads new connections over both (all 24 on one worker: probability 2**-23)
        conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(24)]
        try:
            for conn in conns:
                assert _get(conn, f"127.0.0.1:{port}", "/healthz").startswith(b"HTTP/1.1 200")
            accepted = _tcp_inodes(port, listen=False)
            per_worker = {pid: len(_socket_inodes(pid) & accepted) for pid in serving}
            assert sum(per_worker.values()) == 24 and min(per_worker.values()) > 0, per_worker
        finally:
            for conn in conns:
                conn.close()
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


def _tcp_inodes(port: int, *, listen: bool) -> set[int]:
    """Socket inodes of the machine's IPv4 TCP sockets on local ``port``: listening ones, or the others."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and (fields[3] == "0A") == listen:
            inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process ``pid`` holds (``/proc/<pid>/fd``)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _accept_all(sock: socket.socket) -> int:
    sock.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_worker_sockets_are_one_reuseport_group_that_spreads_connections() -> None:
    """:func:`govssi.cli._serving.worker_sockets`: one listening socket per worker on one port (``SO_REUSEPORT``,
    ``IPPROTO_TCP`` for ``TCP_NODELAY``); the kernel hands each new connection to one of them by a hash, so a burst
    of connections reaches every worker — with one shared socket the first worker to wake accepted almost all."""
    from govssi.cli._serving import worker_sockets

    group = worker_sockets("127.0.0.1", 0, 3)
    try:
        assert len(group) == 3 and len({s.fileno() for s in group}) == 3
        port = group[0].getsockname()[1]
        assert all(s.getsockname() == ("127.0.0.1", port) for s in group)
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in group)
        assert all(s.proto == socket.IPPROTO_TCP for s in group)
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(150)]
        time.sleep(0.2)
        accepted = [_accept_all(s) for s in group]
        for client in clients:
            client.close()
        # hashed: every socket gets a share (none at all for one of three: probability about 3 * (2/3)**150)
        assert sum(accepted) == 150 and min(accepted) > 10, accepted
    finally:
        for sock in group:
            sock.close()


def test_worker_sockets_refuse_a_port_in_use() -> None:
    """A port another socket listens on — a plain one, or another instance's group — fails as a plain bind would
    (``EADDRINUSE``) instead of joining that group and taking a share of its connections."""
    from govssi.cli._serving import worker_sockets

    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen()
    group = worker_sockets("127.0.0.1", 0, 2)
    try:
        for port in (plain.getsockname()[1], group[0].getsockname()[1]):
            with pytest.raises(OSError):
                worker_sockets("127.0.0.1", port, 2)
        single = worker_sockets("127.0.0.1", 0, 1)
        assert len(single) == 1 and not single[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        single[0].close()
    finally:
        plain.close()
        for sock in group:
            sock.close()
