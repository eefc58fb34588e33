"""``govssi issuer serve`` answers every request on a keep-alive connection at once: its listening socket names
``IPPROTO_TCP`` so that asyncio sets ``TCP_NODELAY`` on each accepted connection (RFC 896's Nagle algorithm would
hold the response body until the client's delayed ACK, about 40 ms, from the second request of a connection on)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from pathlib import Path

from test_cli import API_KEY, GOVSSI, _env

from govssi.cli.issuer import listening_socket


def test_accepted_connections_get_tcp_nodelay() -> None:
    """asyncio (``base_events._set_nodelay``) sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP."""
    seen: list[int] = []

    async def main() -> None:
        sock = listening_socket("127.0.0.1")
        sock.bind(("127.0.0.1", 0))

        async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0


def test_keep_alive_requests_are_not_held_back(tmp_path: Path) -> None:
    env = _env(
        {
            "GOVSSI_DATA_DIR": str(tmp_path),
            "GOVSSI_DEV_ALLOW_HTTP": "1",
            "GOVSSI_ISSUER_BOOTSTRAP_KEY": API_KEY,
            "GOVSSI_KEY_PASSPHRASE": "pw",
        }
    )
    process = subprocess.Popen(
        [*GOVSSI, "issuer", "serve", "--port", "0", "--no-chain"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        base = json.loads(process.stdout.readline())["issuer_url"]
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            times = []
            for _ in range(8):
                started = time.perf_counter()
                conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    int(v)
                    for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                    if k.lower() == b"content-length"
                )
                while len(body) < length:
                    body += conn.recv(65536)
                times.append(time.perf_counter() - started)
        # With Nagle's algorithm on, every answer after the first took 40 ms or more (the delayed ACK).
        assert sorted(times)[len(times) // 2] < 0.038, times
    finally:
        process.terminate()
        process.wait(timeout=30)
