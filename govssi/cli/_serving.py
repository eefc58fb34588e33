"""Running uvicorn from the serve commands: one ``uvicorn.Server`` on the event loop uvicorn itself would pick, or
several worker processes, each accepting on its own listening socket of one ``SO_REUSEPORT`` group."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from uvicorn.supervisors.multiprocess import Multiprocess, Process

__all__ = ["WorkerSlots", "serve_announced", "worker_sockets"]

logger = logging.getLogger("uvicorn.error")


def serve_announced(server: Any, sock: Any, announce: Callable[[], Awaitable[None] | None]) -> None:
    """Serve ``server`` (a ``uvicorn.Server``) on the bound ``sock`` until it stops; call ``announce`` once it accepts
    connections (a client may connect the moment it reads the ready line).

    The loop comes from the server's config (``loop="auto"``: uvloop when installed, else asyncio), as
    ``uvicorn.Server.run`` does — a bare ``asyncio.run`` would always run the pure-Python loop. With either loop an
    accepted connection has ``TCP_NODELAY`` (uvloop sets it on every TCP transport; asyncio on sockets whose protocol
    is ``IPPROTO_TCP``, see :func:`govssi.cli.issuer.listening_socket`)."""

    async def main() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started:
            announced = announce()
            if announced is not None:
                await announced
        await serving

    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(main())


def _tcp_socket(host: str) -> socket.socket:
    # IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then (see listening_socket)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def worker_sockets(host: str, port: int, count: int, *, backlog: int = 2048) -> list[socket.socket]:
    """``count`` listening TCP sockets on ``host:port`` (``0``: a free port), one per worker process.

    Why not one socket shared by all workers: every worker's event loop waits on it, and whichever wakes first
    accepts everything queued. Keep-alive clients that open their connections in a burst (a load balancer, a
    connection pool) then land mostly on one worker, which saturates while the others idle — measured with the
    verifier benchmark's 64 connections: 62 on one worker and 2 on the other, failing at 610 verifications/s with the
    machine's second core half idle. With ``SO_REUSEPORT`` (Linux ≥ 3.9) each worker has its own socket of one group,
    and the kernel hands each new connection to one of them by a hash of its addresses and ports, so connections are
    spread evenly whatever their timing (as nginx's ``reuseport`` and gunicorn's ``--reuse-port``).

    The address is first bound once without ``SO_REUSEPORT`` and released: a port in use by anything (another
    instance with its own group included) fails with ``OSError`` as a plain bind would, instead of quietly joining
    that group. Only sockets of the same user can join a group (the kernel checks the effective UID). Without
    ``SO_REUSEPORT`` (not Linux/BSD) the result is one socket that every worker shares."""
    if count < 1:
        raise ValueError("count must be at least 1")
    probe = _tcp_socket(host)
    try:
        probe.bind((host, port))
        port = int(probe.getsockname()[1])
    finally:
        probe.close()
    if count == 1 or not hasattr(socket, "SO_REUSEPORT"):
        sock = _tcp_socket(host)
        try:
            sock.bind((host, port))
            sock.listen(backlog)
        except OSError:
            sock.close()
            raise
        return [sock]
    group: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = _tcp_socket(host)
            group.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
        for sock in group:  # listening only once all are bound: a connection never finds a partial group
            sock.listen(backlog)
    except OSError:
        for sock in group:
            sock.close()
        raise
    return group


class WorkerSlots(Multiprocess):
    """uvicorn's supervisor (``uvicorn.supervisors.Multiprocess``: restarts a dead or hung worker, SIGHUP replaces
    them one by one, SIGINT/SIGTERM stop them) with one listening socket per worker: worker *i* accepts only on
    ``sockets[i % len(sockets)]`` (see :func:`worker_sockets`). The parent keeps every socket open, so a connection
    the kernel hashed to a worker that is restarting waits in its socket's backlog for the replacement instead of
    being refused. ``on_ready`` is called once every first worker has started serving.

    The number of workers is the number of sockets: SIGTTIN/SIGTTOU (add/remove a worker) are ignored, since a
    socket without a worker would hold its share of connections unanswered."""

    def __init__(
        self,
        config: Any,
        sockets: Sequence[socket.socket],
        *,
        on_ready: Callable[[], None] | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        super().__init__(config, sockets=list(sockets))
        self.processes_num = len(sockets)
        self._on_ready = on_ready
        self._startup_timeout = startup_timeout

    def _process(self, index: int) -> Process:
        return Process(self.config, [self.sockets[index % len(self.sockets)]])

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            process = self._process(index)
            process.start()
            self.processes.append(process)
        deadline = time.monotonic() + self._startup_timeout
        for process in self.processes:
            while not self.signal_queue and process.process.is_alive() and time.monotonic() < deadline:
                if process.is_ready(timeout=1):
                    break
                time.sleep(0.05)
            else:
                return  # a signal, a worker that died (handled by the supervisor's loop) or too slow: no ready line
        if self._on_ready is not None:
            self._on_ready()

    def restart_all(self) -> None:
        """Each worker replaced in turn by a new one on the same socket, which starts before the old one stops."""
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._process(index)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    logger.error(f"New worker [{new.pid}] was not ready in time; keeping [{old.pid}].")
                return
            old.terminate()
            old.join()
            self.processes[index] = new

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung: kill it
            process.join()
            from uvicorn.config import STARTUP_FAILURE

            if process.exitcode == STARTUP_FAILURE:  # the app cannot start: every restart would fail the same way
                logger.error(f"Worker [{process.pid}] failed to start, stopping.")
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info(f"Worker [{process.pid}] died")
            replacement = self._process(index)
            replacement.start()
            self.processes[index] = replacement

    def handle_ttin(self) -> None:
        logger.info("SIGTTIN ignored: one worker per listening socket")

    def handle_ttou(self) -> None:
        logger.info("SIGTTOU ignored: one worker per listening socket")
