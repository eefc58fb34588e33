"""The network launcher: N validator nodes of the model as separate processes on 127.0.0.1, from one directory.

Layout of the network directory (created on first start)::

    DIR/network.json         chain id, period, epoch, and the nodes (index, signer address, last port)
    DIR/genesis.json         the Clique genesis (ledger.poa.genesis) every node reads
    DIR/node-<i>/validator.jwk   node i's secp256k1 signer key (mode 0600; encrypted when $GOVSSI_KEY_PASSPHRASE is set)
    DIR/node-<i>/blocks.rlp  node i's block log; node.log its JSON log lines

Node ``i`` serves JSON-RPC on ``base_port + i`` (``base_port=0``: free ports chosen at start) and has every other
node as a peer. :class:`Network` also does what the fault tests need: kill or stop one node and start it again, cut
the network into groups (``admin_removePeer`` on both sides of every cut) and heal it, add a node whose key is not
a signer yet (it follows the chain until a majority votes it in), and ask every node for its status.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from eth_utils.address import to_checksum_address

from ledger.client.signer import ethereum_address
from ledger.poa.genesis import DEFAULT_EPOCH, DEFAULT_PERIOD, CliqueGenesis
from ledger.poa.peers import PeerClient, PeerError
from ssi.errors import ChainError, ChainStorageError
from ssi.keys import PrivateKey, load_private_key, write_key_file

__all__ = ["DEFAULT_BASE_PORT", "NETWORK_FILE", "Network", "NodeStatus", "network_urls"]

DEFAULT_BASE_PORT: Final = 8545
NETWORK_FILE: Final = "network.json"
KEY_FILE: Final = "validator.jwk"
_FORMAT: Final = "govssi-poa-network/1"
_PASSPHRASE_ENV: Final = "GOVSSI_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret


@dataclass(frozen=True)
class NodeStatus:
    """One row of the network's status table."""

    index: int
    url: str
    #: The node's signer key's address (every node has one; it seals only while it is in the signer set).
    address: str
    running: bool
    #: In the signer set at the node's head.
    signer: bool = False
    height: int | None = None
    head_hash: str | None = None
    peers: int | None = None
    #: Who sealed the node's head block.
    last_signer: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "url": self.url,
            "address": self.address,
            "running": self.running,
            "signer": self.signer,
            "height": self.height,
            "head_hash": self.head_hash,
            "peers": self.peers,
            "last_signer": self.last_signer,
            "error": self.error,
        }


class _NodeProcess:
    def __init__(self, index: int, address: str, port: int) -> None:
        self.index = index
        self.address = address
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Network:
    """A network of the model (see the module docstring)::

        network = Network(Path("net"), validators=7, period=2).start()
        client = ChainClient.connect(network.urls)   # failover over all nodes
        ...
        network.stop()

    ``start`` creates keys and genesis on first use and waits until every node serves; ``stop`` (also on leaving a
    ``with`` block) stops every node process (SIGTERM, then SIGKILL after ``stop_timeout``).
    """

    def __init__(
        self,
        data_dir: Path,
        validators: int = 7,
        period: int = DEFAULT_PERIOD,
        base_port: int = DEFAULT_BASE_PORT,
        *,
        chain_id: int = 1337,
        epoch: int = DEFAULT_EPOCH,
        sync_interval: float = 1.0,
        ready_timeout: float = 120.0,
        stop_timeout: float = 10.0,
        python: str = sys.executable,
        log_level: str = "INFO",
        genesis_timestamp: int | None = None,
    ) -> None:
        if validators < 1:
            raise ValueError("a network needs at least one validator")
        if not 0 <= base_port <= 65535 - validators:
            raise ValueError("base_port + validators must be a valid port")
        self.data_dir = Path(data_dir)
        self.validators = validators
        self.period = period
        self.base_port = base_port
        self.chain_id = chain_id
        self.epoch = epoch
        self.sync_interval = sync_interval
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.python = python
        self.log_level = log_level
        self.genesis_timestamp = genesis_timestamp
        self._nodes: list[_NodeProcess] = []
        self.genesis: CliqueGenesis | None = None

    # -- files -----------------------------------------------------------------------------------------------------

    def _node_dir(self, index: int) -> Path:
        return self.data_dir / f"node-{index}"

    def create(self) -> Network:
        """Read the network directory, or create the keys, the genesis (at ``genesis_timestamp``, default now) and
        ``network.json`` (what :meth:`start` does first; alone, e.g. to pre-build a chain into the node directories)."""
        self._prepare()
        return self

    def node_dir(self, index: int) -> Path:
        """Node ``index``'s data directory (its key, block log and log file)."""
        return self._node_dir(index)

    def _prepare(self) -> None:
        manifest = self.data_dir / NETWORK_FILE
        if manifest.exists():
            doc = _read_json(manifest)
            try:
                nodes = [(int(node["index"]), str(node["address"]), int(node.get("port", 0))) for node in doc["nodes"]]
                genesis = CliqueGenesis.read(self.data_dir / "genesis.json")
            except (KeyError, TypeError, ValueError) as exc:
                raise ChainStorageError(f"{manifest} is malformed: {exc}", reason="network_format") from None
            if len(genesis.signers) != self.validators or genesis.period != self.period:
                raise ChainStorageError(
                    f"{self.data_dir} holds a network of {len(genesis.signers)} validators with a {genesis.period} s "
                    f"period, not {self.validators} with {self.period} s",
                    reason="network_mismatch",
                )
            self.genesis = genesis
            self.chain_id, self.epoch = genesis.chain_id, genesis.epoch
            self._nodes = [_NodeProcess(index, address, port) for index, address, port in nodes]
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        addresses = [self._create_key(index) for index in range(self.validators)]
        self.genesis = CliqueGenesis.development(
            addresses,
            chain_id=self.chain_id,
            timestamp=int(time.time()) if self.genesis_timestamp is None else self.genesis_timestamp,
            period=self.period,
            epoch=self.epoch,
        )
        self.genesis.write(self.data_dir / "genesis.json")
        self._nodes = [_NodeProcess(index, address, 0) for index, address in enumerate(addresses)]
        self._write_manifest()

    def _create_key(self, index: int) -> str:
        directory = self._node_dir(index)
        directory.mkdir(parents=True, exist_ok=True)
        key_file = directory / KEY_FILE
        if key_file.exists():  # a previous first start stopped half-way
            key = load_private_key(key_file, os.environ.get(_PASSPHRASE_ENV))
        else:
            key = PrivateKey.generate("ES256K")
            write_key_file(key_file, key, passphrase=os.environ.get(_PASSPHRASE_ENV))
        return ethereum_address(key.public_key)

    def _write_manifest(self) -> None:
        assert self.genesis is not None
        doc = {
            "format": _FORMAT,
            "chain_id": self.genesis.chain_id,
            "period": self.genesis.period,
            "epoch": self.genesis.epoch,
            "nodes": [{"index": node.index, "address": node.address, "port": node.port} for node in self._nodes],
        }
        temporary = self.data_dir / (NETWORK_FILE + ".tmp")
        temporary.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.data_dir / NETWORK_FILE)

    # -- processes -------------------------------------------------------------------------------------------------

    def start(self) -> Network:
        """Start every node (keys and genesis on first start) and wait until all serve; the network on success.
        Raises :class:`~ssi.errors.ChainError` (and stops what it started) if a node does not come up."""
        self._prepare()
        ports = self._ports(len(self._nodes))
        for node, port in zip(self._nodes, ports, strict=True):
            node.port = port
        self._write_manifest()
        try:
            for node in self._nodes:
                self._spawn(node)
            for node in self._nodes:
                self._await_ready(node, time.monotonic() + self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _ports(self, count: int) -> list[int]:
        if self.base_port:
            return [self.base_port + index for index in range(count)]
        return _free_ports(count)

    def _peer_urls(self, node: _NodeProcess) -> list[str]:
        return [other.url for other in self._nodes if other is not node]

    def _spawn(self, node: _NodeProcess) -> None:
        directory = self._node_dir(node.index)
        directory.mkdir(parents=True, exist_ok=True)
        if node.log is None or node.log.closed:
            node.log = open(directory / "node.log", "ab")  # noqa: SIM115 - closed when the node is stopped
        command = [
            self.python,
            "-m",
            "ledger.poa",
            "--data-dir",
            str(directory),
            "--genesis",
            str(self.data_dir / "genesis.json"),
            "--port",
            str(node.port),
            "--peers",
            ",".join(self._peer_urls(node)),
            "--key-file",
            str(directory / KEY_FILE),
            "--sync-interval",
            str(self.sync_interval),
            "--parent-pid",
            str(os.getpid()),
            "--log-level",
            self.log_level,
        ]
        node.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module, our arguments
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=node.log,
            start_new_session=True,  # Ctrl-C reaches the launcher only; it stops the nodes in order
        )

    def _await_ready(self, node: _NodeProcess, deadline: float) -> None:
        process = node.process
        assert process is not None and process.stdout is not None
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChainError(
                    f"node {node.index} did not start within {self.ready_timeout:g} s", reason="node_start"
                )
            readable, _, _ = select.select([process.stdout], [], [], min(left, 0.5))
            if readable:
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
            elif process.poll() is not None:
                break
        process.stdout.close()
        try:
            ready = json.loads(line)
        except ValueError:
            ready = None
        if not isinstance(ready, dict) or "url" not in ready:
            detail = ready.get("error_description") if isinstance(ready, dict) else None
            raise ChainError(
                f"node {node.index} failed to start: {detail or self._log_tail(node)}", reason="node_start"
            )

    def _log_tail(self, node: _NodeProcess) -> str:
        try:
            lines = (self._node_dir(node.index) / "node.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1][:300] if lines else "no output"

    def stop(self) -> None:
        """Stop every node: SIGTERM, then SIGKILL for those still running after ``stop_timeout`` seconds."""
        for node in self._nodes:
            if node.running:
                assert node.process is not None
                with contextlib.suppress(ProcessLookupError):
                    node.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for node in self._nodes:
            self._reap(node, deadline)

    def _reap(self, node: _NodeProcess, deadline: float) -> None:
        process = node.process
        if process is not None:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None and not process.stdout.closed:
                process.stdout.close()
        if node.log is not None:
            node.log.close()
            node.log = None

    def __enter__(self) -> Network:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- single nodes ----------------------------------------------------------------------------------------------

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (a crash: nothing is flushed beyond what the node made durable)."""
        node = self._nodes[index]
        if node.process is not None and node.running:
            node.process.kill()
        self._reap(node, time.monotonic() + self.stop_timeout)

    def stop_node(self, index: int) -> None:
        """Stop node ``index`` cleanly (SIGTERM)."""
        node = self._nodes[index]
        if node.process is not None and node.running:
            node.process.send_signal(signal.SIGTERM)
        self._reap(node, time.monotonic() + self.stop_timeout)

    def start_node(self, index: int) -> None:
        """Start node ``index`` again (same port, same data: it replays its log, then syncs from its peers)."""
        node = self._nodes[index]
        if node.running:
            return
        self._spawn(node)
        self._await_ready(node, time.monotonic() + self.ready_timeout)

    def add_node(self) -> int:
        """Start one more node with a new key that is not a signer (it follows the chain; a majority's
        ``clique_propose`` votes make it one). Every running node takes it as a peer. Its index."""
        if self.genesis is None:
            raise RuntimeError("start the network first")
        index = len(self._nodes)
        address = self._create_key(index)
        port = self.base_port + index if self.base_port else _free_ports(1)[0]
        node = _NodeProcess(index, address, port)
        self._nodes.append(node)
        self._write_manifest()
        self._spawn(node)
        self._await_ready(node, time.monotonic() + self.ready_timeout)
        for other in self._nodes[:-1]:
            if other.running:
                self.call(other.index, "admin_addPeer", [node.url])
        return index

    # -- talking to nodes ------------------------------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        """Every node's JSON-RPC URL, node 0 first (what ``ChainClient`` / ``GOVSSI_CHAIN_RPC`` take)."""
        return [node.url for node in self._nodes]

    @property
    def rpc(self) -> str:
        """:attr:`urls` comma-separated, the ``GOVSSI_CHAIN_RPC`` form."""
        return ",".join(self.urls)

    @property
    def addresses(self) -> list[str]:
        """Every node's signer key address, by index."""
        return [node.address for node in self._nodes]

    def running(self, index: int) -> bool:
        return self._nodes[index].running

    def call(self, index: int, method: str, params: list[Any] | None = None, *, timeout: float = 5.0) -> Any:
        """One JSON-RPC call to node ``index``; :class:`~ssi.errors.ChainError` if it fails."""
        client = PeerClient(self._nodes[index].url, timeout=timeout)
        try:
            return client.call(method, params or [])
        except PeerError as exc:
            raise ChainError(f"node {index}: {exc}", reason="node_unavailable") from None
        finally:
            client.close()

    def status(self) -> list[NodeStatus]:
        """Every node's height, head, peers and last block's signer (queried in parallel; a node that does not
        answer within a second is shown with its error)."""
        with ThreadPoolExecutor(max_workers=max(1, len(self._nodes))) as pool:
            return list(pool.map(self._node_status, self._nodes))

    def _node_status(self, node: _NodeProcess) -> NodeStatus:
        if not node.running:
            return NodeStatus(node.index, node.url, node.address, running=False)
        client = PeerClient(node.url, timeout=1.0)
        try:
            head = client.call("eth_getBlockByNumber", ["latest", False])
            number = int(head["number"], 16)
            last = client.call("clique_getSigner", [head["hash"]]) if number > 0 else None
            signers = client.call("clique_getSigners", [head["number"]])
            return NodeStatus(
                node.index,
                node.url,
                node.address,
                running=True,
                signer=node.address in signers,
                height=number,
                head_hash=str(head["hash"]),
                peers=int(client.call("net_peerCount", []), 16),
                last_signer=None if last is None else str(to_checksum_address(last)),
            )
        except (PeerError, KeyError, TypeError, ValueError) as exc:
            return NodeStatus(node.index, node.url, node.address, running=True, error=str(exc))
        finally:
            client.close()

    def partition(self, groups: Sequence[Sequence[int]]) -> None:
        """Cut the network into ``groups`` of node indexes: nodes in different groups drop each other as peers."""
        group_of = {index: number for number, group in enumerate(groups) for index in group}
        for node in self._nodes:
            if not node.running or node.index not in group_of:
                continue
            for other in self._nodes:
                if other is not node and group_of.get(other.index) != group_of[node.index]:
                    self.call(node.index, "admin_removePeer", [other.url])

    def heal(self) -> None:
        """Undo :meth:`partition`: every running node has every other node as a peer again."""
        for node in self._nodes:
            if node.running:
                for other in self._nodes:
                    if other is not node:
                        self.call(node.index, "admin_addPeer", [other.url])

    def wait_for(self, condition: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
        """Poll ``condition`` until it holds (``True``) or ``timeout`` seconds pass (``False``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return True
            except ChainError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)


def network_urls(data_dir: Path) -> list[str]:
    """The JSON-RPC URLs of the network in ``data_dir`` (``network.json``: the ports of its last start), node 0
    first — what ``--chain poa`` connects to. :class:`~ssi.errors.ChainStorageError` (``no_network``) when there is
    no network there or it was never started. Whether the nodes run is for the caller to find out."""
    manifest = Path(data_dir) / NETWORK_FILE
    if not manifest.exists():
        raise ChainStorageError(
            f"no PoA network in {data_dir} (start one with `govssi ledger network`)", reason="no_network"
        )
    doc = _read_json(manifest)
    try:
        ports = [int(node["port"]) for node in sorted(doc["nodes"], key=lambda node: int(node["index"]))]
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainStorageError(f"{manifest} is malformed: {exc}", reason="network_format") from None
    if not ports or not all(0 < port < 65536 for port in ports):
        raise ChainStorageError(f"the network in {data_dir} was never started", reason="no_network")
    return [f"http://127.0.0.1:{port}" for port in ports]


def _free_ports(count: int) -> list[int]:
    """Ports the OS hands out for port 0 right now (held together, so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ChainStorageError(f"cannot read {path}: {exc}", reason="network_format") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ChainStorageError(f"{path} is not a {_FORMAT} file", reason="network_format")
    return doc
