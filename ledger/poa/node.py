"""One node of the network model: its Clique chain, transaction pool, sealer, peers and JSON-RPC server.

In-process: ``PoaNode(data_dir, genesis, signer=…, port=…, peers=[…]).start()`` … ``stop()``.
As a process (what :class:`ledger.poa.Network` starts for every node)::

    python -m ledger.poa.node --data-dir DIR --genesis DIR/../genesis.json --port 8545 \\
        --peers http://127.0.0.1:8546,… [--key-file DIR/validator.jwk] [--parent-pid PID]

It prints one JSON line on stdout when it serves (``url``, ``signer``, ``block_number``, ``data_dir``), logs JSON lines
on stderr, stops cleanly on SIGTERM or SIGINT — and by itself when the process ``--parent-pid`` names has gone, so a
launcher that dies leaves no nodes behind. SIGUSR1 writes every thread's stack to stderr (a stuck node's
diagnosis). The key file may be encrypted (``$GOVSSI_KEY_PASSPHRASE``).
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import logging
import os
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from eth.abc import BlockAPI

from ledger.client.signer import ChainSigner, SoftwareChainSigner
from ledger.node import JsonRpcHandler, RpcServer
from ledger.poa.chain import CliqueChain, HeadChange
from ledger.poa.genesis import CliqueGenesis
from ledger.poa.peers import PeerSet
from ledger.poa.rpc import node_api
from ledger.poa.sealer import Sealer
from ssi.clock import Clock, system_clock
from ssi.errors import SsiError
from ssi.keys import load_private_key

__all__ = ["PoaNode", "main"]

_log = logging.getLogger("ledger.poa")


class _NodeServer(RpcServer):
    """The node's JSON-RPC server; stopping it also cuts the open keep-alive connections, so a node stopped in
    process answers nothing more — as a stopped node process does (``RpcServer.stop`` lets them live on)."""

    def __init__(self, rpc: JsonRpcHandler, port: int) -> None:
        super().__init__(rpc, port)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def stop(self) -> None:
        super().stop()
        with self._open_lock:
            connections, self._open = self._open, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class PoaNode:
    """A network node (see the module docstring). Without ``signer`` it follows the chain but does not seal (a
    signer voted in later needs its key: restart the node with it)."""

    def __init__(
        self,
        data_dir: Path,
        genesis: CliqueGenesis,
        *,
        signer: ChainSigner | None = None,
        port: int = 0,
        peers: Sequence[str] = (),
        sync_interval: float = 1.0,
        clock: Clock = system_clock,
        rng: random.Random | None = None,
        on_replay: Callable[[int, int], None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.genesis = genesis
        self._signer = signer
        self._port = port
        self._initial_peers = list(peers)
        self._sync_interval = sync_interval
        self._clock = clock
        self._rng = rng
        self._on_replay = on_replay
        self._chain: CliqueChain | None = None
        self._peers: PeerSet | None = None
        self.sealer: Sealer | None = None
        self._server: RpcServer | None = None

    @property
    def chain(self) -> CliqueChain:
        if self._chain is None:
            raise RuntimeError("the node is not started")
        return self._chain

    @property
    def peers(self) -> PeerSet:
        if self._peers is None:
            raise RuntimeError("the node is not started")
        return self._peers

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the node is not started")
        return self._server.url

    def start(self) -> PoaNode:
        """Open the chain (replaying its block log), listen, then start syncing and sealing."""
        self._chain = CliqueChain.open(self.data_dir, self.genesis, on_replay=self._on_replay)
        try:
            self._server = _NodeServer(JsonRpcHandler(node_api(self)), self._port)
        except BaseException:
            self._chain.close()
            raise
        self._peers = PeerSet(
            self._chain, self._initial_peers, self_url=self._server.url, sync_interval=self._sync_interval
        )
        self._chain.on_transactions(self._peers.broadcast_transactions)
        self._chain.on_head(self._gossip_restored)
        if self._signer is not None:
            self.sealer = Sealer(
                self._chain,
                self._signer,
                on_sealed=self._gossip_sealed,
                clock=self._clock,
                rng=self._rng,
                ready=self._peers.initial_sync,
            )
        self._server.start()
        self._peers.start()
        if self.sealer is not None:
            self.sealer.start()
        return self

    def _gossip_sealed(self, block: BlockAPI, raw: bytes) -> None:
        self.peers.broadcast_block(raw)

    def _gossip_restored(self, change: HeadChange) -> None:
        """Transactions of blocks a reorganisation replaced are pooled again here; the other side of a healed
        partition may never have seen them, so they are passed on."""
        if change.restored:
            self.peers.broadcast_transactions(list(change.restored))

    def stop(self) -> None:
        """Stop sealing, syncing and serving; close the chain (every sealed block is durable already)."""
        if self.sealer is not None:
            self.sealer.stop()
        if self._peers is not None:
            self._peers.stop()
        if self._server is not None:
            self._server.stop()
        if self._chain is not None:
            self._chain.close()

    def __enter__(self) -> PoaNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ledger.poa.node", description="One node of the PoA network model.")
    parser.add_argument("--data-dir", type=Path, required=True, help="the node's data directory")
    parser.add_argument("--genesis", type=Path, required=True, help="the network's genesis.json")
    parser.add_argument("--port", type=int, default=0, help="JSON-RPC port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--peers", default="", help="comma-separated peer URLs")
    parser.add_argument("--key-file", type=Path, help="the signer's secp256k1 key file (a validator)")
    parser.add_argument("--sync-interval", type=float, default=1.0, help="seconds between status rounds")
    parser.add_argument("--parent-pid", type=int, help="stop when this process is gone")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """The node process (see the module docstring); exit 0 after a clean stop, 1 if it could not start."""
    from ledger.poa import ecrecover

    ecrecover.install()
    options = _arguments(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines())
    logging.basicConfig(level=options.log_level.upper(), handlers=[handler])
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)  # every thread's stack, into the log
    try:
        genesis = CliqueGenesis.read(options.genesis)
        signer = None
        if options.key_file is not None:
            signer = SoftwareChainSigner(load_private_key(options.key_file, os.environ.get("GOVSSI_KEY_PASSPHRASE")))
        peers = [url for url in options.peers.split(",") if url.strip()]
        node = PoaNode(
            options.data_dir,
            genesis,
            signer=signer,
            port=options.port,
            peers=peers,
            sync_interval=options.sync_interval,
        ).start()
    except (SsiError, OSError) as exc:
        description = exc.description if isinstance(exc, SsiError) else str(exc)
        sys.stdout.write(
            json.dumps({"error": getattr(exc, "reason", "io_error"), "error_description": description}) + "\n"
        )
        sys.stdout.flush()
        return 1
    ready = {
        "url": node.url,
        "signer": None if signer is None else signer.address,
        "block_number": node.chain.block_number,
        "data_dir": str(options.data_dir),
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    _log.info("node serving at %s", node.url)
    if options.parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(options.parent_pid, stop), daemon=True).start()
    stop.wait()
    node.stop()
    _log.info("node stopped")
    return 0


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    while not stop.is_set():
        if os.getppid() != parent_pid:
            _log.warning("launcher %d is gone; stopping", parent_pid)
            stop.set()
            return
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
