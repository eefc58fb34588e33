"""Run an ASGI app with uvicorn on loopback in a background thread — for end-to-end tests and the demo."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

__all__ = ["LoopbackServer"]


class LoopbackServer:
    """``with LoopbackServer(app) as server: httpx.get(server.url + "/healthz")``. Port 0 picks a free port."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 20.0) -> None:
        self._config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._server.run, name="loopback-uvicorn", daemon=True)
        self._startup_timeout = startup_timeout
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        # uvicorn installs signal handlers only on the main thread; in this thread it leaves them alone.
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("uvicorn failed to start")
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start in time")
            time.sleep(0.01)
        sockets = [sock for server in self._server.servers for sock in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
