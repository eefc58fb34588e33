"""Peers over loopback HTTP: gossip of blocks and transactions, status polling, sync, heaviest-chain catch-up.

The network model's wire protocol is JSON-RPC on each node's own port (the node's methods in :mod:`ledger.poa.rpc`),
not devp2p. What a node does with its peers:

- **gossip**: a block the node sealed, or received and made its head, goes to every peer (``poa_newBlock``);
  transactions accepted through ``eth_sendRawTransaction`` go to every peer in batches (``poa_newTransactions``).
  Each peer has its own sender thread and bounded queue, so a slow or dead peer delays nobody; while a peer is
  unreachable its messages are dropped (it catches up by syncing) and it is retried with a growing back-off.
- **status and sync**: every ``sync_interval`` seconds — and at once when a gossiped block's parent is unknown —
  the node asks each peer for its head and total difficulty (``poa_status``; peers of another genesis are ignored).
  If a peer's chain is heavier — or as heavy, with a head the node has never seen (the EIP-3436 block choice rule
  may prefer it, :func:`ledger.poa.clique.choice_rank`; a gossiped block can be lost) — the node fetches that chain
  backwards from the peer's head (``poa_getBlocks``,
  :data:`SYNC_BATCH` blocks a request, each block's hash checked against the link it was asked for) down to a block
  it knows, then imports the new blocks oldest first — every one checked like any other block (seal, EIP-225 rules,
  execution), so a peer can waste a node's time but never make it accept an invalid block. That one mechanism
  covers start-up, restart after downtime, and healing after a partition (the heavier side wins, EIP-225 fork
  choice).

A node that is syncing on start does not seal (:attr:`PeerSet.initial_sync`), so a restarted signer does not build
on a stale head.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from eth.abc import BlockAPI

from ledger.client.http1 import AnswerTooLarge, ConnectionDropped, Http1Connection, MalformedAnswer
from ledger.poa.chain import CliqueChain
from ssi.clock import Clock
from ssi.errors import InvalidBlock

__all__ = ["MAX_SYNC_BLOCKS", "SYNC_BATCH", "PeerClient", "PeerError", "PeerSet", "PeerStatus"]

#: Blocks per ``poa_getBlocks`` request.
SYNC_BATCH: Final = 256
#: The most blocks one sync round fetches before it imports (a longer gap takes several rounds).
MAX_SYNC_BLOCKS: Final = 50_000
_QUEUE: Final = 256
_MAX_ANSWER: Final = 64 * 1024 * 1024
_log = logging.getLogger("ledger.poa")


class PeerError(Exception):
    """A peer did not answer usefully (unreachable, timed out, a malformed or error answer)."""


class PeerClient:
    """JSON-RPC calls to one peer over one keep-alive HTTP/1.1 connection (:mod:`ledger.client.http1`).
    Not thread-safe: each thread that talks to a peer has its own client."""

    def __init__(self, url: str, *, timeout: float = 2.0, clock: Clock = time.monotonic) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"a peer URL is http://host:port, not {url!r}")
        self.url = url
        self.timeout = timeout
        self._clock = clock
        self._connection = Http1Connection(parts.hostname, parts.port, clock=clock)
        self._head = (
            f"POST / HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            "User-Agent: govssi-poa-node\r\n"
        ).encode("ascii")
        self._ids = itertools.count(1)

    def call(self, method: str, params: list[Any], *, timeout: float | None = None) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}).encode()
        deadline = self._clock() + (self.timeout if timeout is None else timeout)
        try:
            status, raw = self._connection.post(self._head, body, deadline, max_bytes=_MAX_ANSWER)
        except (OSError, TimeoutError, ConnectionDropped, MalformedAnswer, AnswerTooLarge) as exc:
            self._connection.close()
            raise PeerError(f"{self.url}: {type(exc).__name__}") from None
        if status != 200:
            raise PeerError(f"{self.url}: HTTP {status}")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise PeerError(f"{self.url}: not JSON") from None
        if not isinstance(answer, dict):
            raise PeerError(f"{self.url}: not a JSON-RPC answer")
        if "error" in answer:
            error = answer["error"]
            message = error.get("message") if isinstance(error, dict) else None
            raise PeerError(f"{self.url}: {method} refused: {message}")
        return answer.get("result")

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True)
class PeerStatus:
    """What a node knows about one peer (``admin_peers``)."""

    url: str
    #: The peer answered its last status request (or a gossip message since).
    alive: bool
    head_number: int | None
    head_hash: bytes | None
    total_difficulty: int | None
    last_error: str | None


class _Peer:
    def __init__(self, url: str, timeout: float, clock: Clock) -> None:
        self.url = url
        self.outbox: queue.Queue[tuple[str, list[Any]] | None] = queue.Queue(maxsize=_QUEUE)
        self.sender = PeerClient(url, timeout=timeout, clock=clock)
        self.poller = PeerClient(url, timeout=timeout, clock=clock)
        self.alive = False
        self.head_number: int | None = None
        self.head_hash: bytes | None = None
        self.total_difficulty: int | None = None
        self.last_error: str | None = None
        self.failures = 0
        self.retry_at = 0.0
        self.thread: threading.Thread | None = None
        self.closed = threading.Event()

    def status(self) -> PeerStatus:
        return PeerStatus(
            self.url, self.alive, self.head_number, self.head_hash, self.total_difficulty, self.last_error
        )


class PeerSet:
    """A node's peers (see the module docstring). ``self_url`` is never added as a peer."""

    def __init__(
        self,
        chain: CliqueChain,
        urls: list[str],
        *,
        self_url: str = "",
        sync_interval: float = 1.0,
        timeout: float = 2.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.chain = chain
        self.self_url = self_url
        self.sync_interval = sync_interval
        self.timeout = timeout
        self._clock = clock
        self._genesis = chain.header(0).hash  # type: ignore[union-attr]  # block 0 always exists
        self._peers: dict[str, _Peer] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._wake = threading.Event()
        self._sync_thread: threading.Thread | None = None
        #: Set once the first sync round after start is over (the sealer waits for it).
        self.initial_sync = threading.Event()
        #: (starting, current, highest) block numbers while importing fetched blocks, else ``None``.
        self.syncing: tuple[int, int, int] | None = None
        for url in urls:
            self.add(url)

    # -- membership ------------------------------------------------------------------------------------------------

    def add(self, url: str) -> bool:
        """Add a peer (``False`` if it is known, or this node); its sender starts with the set."""
        url = url.rstrip("/")
        if url == self.self_url.rstrip("/"):
            return False
        with self._lock:
            if url in self._peers:
                return False
            peer = _Peer(url, self.timeout, self._clock)
            self._peers[url] = peer
        if self._sync_thread is not None:
            self._start_sender(peer)
            self._wake.set()
        return True

    def remove(self, url: str) -> bool:
        """Drop a peer: nothing more is sent to it or asked of it (its sender thread ends by itself)."""
        with self._lock:
            peer = self._peers.pop(url.rstrip("/"), None)
        if peer is None:
            return False
        self._stop_sender(peer)
        return True

    def statuses(self) -> list[PeerStatus]:
        with self._lock:
            return [peer.status() for peer in self._peers.values()]

    @property
    def alive_count(self) -> int:
        with self._lock:
            return sum(peer.alive for peer in self._peers.values())

    # -- life cycle ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            peers = list(self._peers.values())
        for peer in peers:
            self._start_sender(peer)
        self._sync_thread = threading.Thread(target=self._sync_loop, name="poa-sync", daemon=True)
        self._sync_thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        with self._lock:
            peers = list(self._peers.values())
        for peer in peers:
            self._stop_sender(peer)
        for peer in peers:
            if peer.thread is not None:
                peer.thread.join(timeout=5)
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=10)

    def _start_sender(self, peer: _Peer) -> None:
        peer.thread = threading.Thread(target=self._send_loop, args=(peer,), name=f"poa-gossip {peer.url}", daemon=True)
        peer.thread.start()

    def _stop_sender(self, peer: _Peer) -> None:
        """Tell the peer's sender to end (it closes the peer's connections); never waits for it."""
        peer.closed.set()
        with contextlib.suppress(queue.Full):
            peer.outbox.put_nowait(None)
        if peer.thread is None:
            peer.sender.close()
            peer.poller.close()

    # -- gossip ----------------------------------------------------------------------------------------------------

    def broadcast_block(self, raw: bytes) -> None:
        """Send a block (its RLP) to every peer."""
        self._broadcast("poa_newBlock", ["0x" + raw.hex()])

    def broadcast_transactions(self, raw_transactions: list[bytes]) -> None:
        self._broadcast("poa_newTransactions", [["0x" + raw.hex() for raw in raw_transactions]])

    def _broadcast(self, method: str, params: list[Any]) -> None:
        with self._lock:
            peers = list(self._peers.values())
        for peer in peers:
            try:
                peer.outbox.put_nowait((method, params))
            except queue.Full:  # the peer is far behind: it will sync
                _log.debug("gossip queue of %s full; message dropped", peer.url)

    def _send_loop(self, peer: _Peer) -> None:
        try:
            while not peer.closed.is_set():
                batch = [peer.outbox.get()]
                while True:  # whatever queued up meanwhile goes out now, transactions in one request
                    try:
                        batch.append(peer.outbox.get_nowait())
                    except queue.Empty:
                        break
                messages = [message for message in batch if message is not None]
                transactions = [
                    raw for method, params in messages if method == "poa_newTransactions" for raw in params[0]
                ]
                outgoing = [(method, params) for method, params in messages if method != "poa_newTransactions"]
                if transactions:
                    outgoing.insert(0, ("poa_newTransactions", [transactions]))
                for method, params in outgoing:
                    # While the peer is in back-off, wait it out rather than drop: transactions have no other way
                    # to reach it (blocks would come by sync).
                    pause = peer.retry_at - self._clock()
                    if pause > 0 and peer.closed.wait(pause):
                        return
                    try:
                        peer.sender.call(method, params)
                    except PeerError as exc:
                        self._failed(peer, str(exc))
                    else:
                        self._answered(peer)
        finally:
            peer.sender.close()
            peer.poller.close()

    def _failed(self, peer: _Peer, error: str) -> None:
        with self._lock:
            peer.failures += 1
            peer.alive = False
            peer.last_error = error
            peer.retry_at = self._clock() + min(0.25 * 2 ** min(peer.failures - 1, 5), 5.0)

    def _answered(self, peer: _Peer) -> None:
        with self._lock:
            peer.failures = 0
            peer.alive = True
            peer.last_error = None
            peer.retry_at = 0.0

    # -- status and sync -------------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Run a status and sync round now (e.g. a gossiped block's parent is unknown)."""
        self._wake.set()

    def _sync_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                self.sync_round()
            except Exception:  # a bug must not end syncing for the node's lifetime
                _log.exception("sync round failed")
            self.initial_sync.set()
            self._wake.wait(self.sync_interval)
            self._wake.clear()

    def sync_round(self) -> None:
        """Ask every peer for its head; catch up with the heaviest chain if it is heavier than ours, or with an
        equally heavy one whose head we do not know (importing it applies the EIP-3436 block choice rule: all nodes
        that know the same heads choose the same one)."""
        with self._lock:
            peers = list(self._peers.values())
        for peer in peers:
            if self._stopped.is_set():
                return
            self._poll(peer)
        candidates = [peer for peer in peers if peer.alive and peer.total_difficulty is not None]
        for peer in sorted(candidates, key=lambda p: -(p.total_difficulty or 0)):
            ours = self.chain.total_difficulty()
            if (peer.total_difficulty or 0) < ours or self._stopped.is_set():
                return
            if peer.total_difficulty == ours and (peer.head_hash is None or self.chain.knows(peer.head_hash)):
                continue
            if self._catch_up(peer):
                return

    def _poll(self, peer: _Peer) -> None:
        try:
            status = peer.poller.call("poa_status", [])
            if not isinstance(status, dict) or status.get("genesis") != "0x" + self._genesis.hex():
                raise PeerError(f"{peer.url}: another network (genesis differs)")
            number, head, td = int(status["number"], 16), bytes.fromhex(status["hash"][2:]), int(status["td"], 16)
        except PeerError as exc:
            self._failed(peer, str(exc))
            return
        except (KeyError, TypeError, ValueError):
            self._failed(peer, f"{peer.url}: malformed poa_status answer")
            return
        with self._lock:
            peer.head_number, peer.head_hash, peer.total_difficulty = number, head, td
        self._answered(peer)

    def _catch_up(self, peer: _Peer) -> bool:
        """Fetch the peer's chain back to a block we know and import it; whether anything was imported."""
        wanted = peer.head_hash
        assert wanted is not None
        fetched: list[BlockAPI] = []
        try:
            while not self.chain.knows(wanted):
                if len(fetched) >= MAX_SYNC_BLOCKS or self._stopped.is_set():
                    break
                batch = peer.poller.call("poa_getBlocks", ["0x" + wanted.hex(), SYNC_BATCH], timeout=10.0)
                if not isinstance(batch, list) or not batch:
                    raise PeerError(f"{peer.url}: has no block 0x{wanted.hex()}")
                for item in batch:
                    block = self.chain.decode_block(bytes.fromhex(str(item)[2:]))
                    if block.hash != wanted:
                        raise PeerError(f"{peer.url}: sent block 0x{block.hash.hex()} for 0x{wanted.hex()}")
                    fetched.append(block)
                    wanted = block.header.parent_hash
                    if self.chain.knows(wanted):
                        break
        except (PeerError, InvalidBlock, ValueError) as exc:
            self._failed(peer, str(exc))
            return False
        if not fetched or not self.chain.knows(fetched[-1].header.parent_hash):
            return False
        return self._import_fetched(peer, fetched[::-1])

    def _import_fetched(self, peer: _Peer, blocks: list[BlockAPI]) -> bool:
        start = self.chain.block_number
        highest = blocks[-1].number
        imported = False
        try:
            for block in blocks:
                if self._stopped.is_set():
                    break
                self.syncing = (start, self.chain.block_number, highest)
                self.chain.import_block(block, sync=False)
                imported = True
        except InvalidBlock as exc:
            _log.warning("peer %s offered an invalid chain: %s", peer.url, exc.description)
            self._failed(peer, f"invalid block from peer: {exc.reason}")
        finally:
            self.syncing = None
            self.chain.flush()
        if imported:
            _log.info("synced from %s: head %d", peer.url, self.chain.block_number)
        return imported
