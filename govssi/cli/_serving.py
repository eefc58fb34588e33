"""Running a ``uvicorn.Server`` from the serve commands on the event loop uvicorn itself would pick."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["serve_announced"]


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
