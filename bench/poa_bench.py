"""PoA network model benchmark: boot time, blocks per second, transactions per second confirmed at depth 1 and at the
Clique finality depth, and the time a node needs to catch up a backlog of blocks.

Run: ``.venv/bin/python -m bench.poa_bench [--validators 7] [--period 1] [--transactions 200] [--backlog 1000]
[--json]``.

Every network is ``ledger.poa.Network`` in a fresh temporary directory — one process per validator on 127.0.0.1
(free ports), period 1 s unless ``--period`` says otherwise. Rows:

- **boot**: a new network from nothing (validator keys, genesis, N node processes) until every node serves JSON-RPC;
- **blocks/s**: node 0's head observed every 50 ms for ``--block-seconds``; the rate and the intervals between new
  heads (p50/p99). At most one block per period by EIP-225's timestamp rule;
- **tx/s, depth 1** and **tx/s, final depth**: ``--transactions`` ERC-1056 ``setAttribute`` transactions from
  ``--senders`` development accounts, sent through one ``ChainClient`` over all node URLs (nonce, sign, deliver;
  one thread per sender) while a watcher follows node 0's canonical chain block by block (reorganisations
  included): the rate is transactions / (last one at that depth − first sent), the latency is per transaction from
  its delivery to the moment its block was seen (depth 1: in a block, 0 confirmations) or the head first stood
  ``depth − 1`` blocks above it (the final depth ``2·⌊(N−1)/2⌋ + 1``, the client's default on Clique networks).
  Then the same number again, **pre-signed** and delivered raw (``eth_sendRawTransaction``) round-robin over the
  nodes, one thread per sender: what the network takes when the senders are not the limit;
- **catch-up**: a chain of ``--backlog`` blocks is built in advance with the validators' keys (in-turn seals, one
  period apart, genesis back-dated) into all but the last node's directory; the network starts (the **replay** row:
  nodes re-import their block logs), the last node is restarted with an empty chain, and the row is the time from
  its start until its head reaches the others' (process start, sync over loopback HTTP, full validation and
  execution of every block).

Figures are never asserted (``tests/bench/test_poa_bench_smoke.py`` runs a tiny configuration).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eth_utils.address import to_canonical_address

from ledger.client import ChainClient, ClientPolicy, FailoverPolicy, SignedTransaction, SoftwareChainSigner, call_data
from ledger.client.finality import clique_finality_depth
from ledger.client.transactions import sign_transaction
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.node import dev_account_keys
from ledger.poa import CliqueChain, Network
from ledger.poa.clique import in_turn
from ledger.poa.peers import PeerClient
from ssi.keys import load_private_key

_POLL = 0.05


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def _summary(values: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": round(_percentile(values, 0.5) * 1000, 1), "p99_ms": round(_percentile(values, 0.99) * 1000, 1)}


def _height(network: Network, index: int = 0) -> int:
    return int(network.call(index, "eth_blockNumber"), 16)


def measure_boot(directory: Path, validators: int, period: int) -> tuple[Network, float]:
    started = time.monotonic()
    network = Network(directory, validators=validators, period=period, base_port=0).start()
    return network, time.monotonic() - started


def measure_blocks(network: Network, seconds: float) -> dict[str, Any]:
    """New heads at node 0, watched every 50 ms."""
    arrivals: list[float] = []
    last = _height(network)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        height = _height(network)
        if height > last:
            arrivals.extend([time.monotonic()] * (height - last))
            last = height
        time.sleep(_POLL)
    intervals = [b - a for a, b in itertools.pairwise(arrivals)]
    return {
        "blocks": len(arrivals),
        "seconds": seconds,
        "blocks_per_s": round(len(arrivals) / seconds, 3),
        **_summary(intervals),
    }


class _BlockWatcher(threading.Thread):
    """Follows node 0's canonical chain from the start of the measurement: when each block was first seen, and when
    the head first reached its finality depth. A reorganisation (the last block seen is no longer canonical) drops
    the replaced blocks, so what is left at the end is the canonical chain."""

    def __init__(self, url: str, depth: int) -> None:
        super().__init__(name="poa-bench-watcher", daemon=True)
        self._client = PeerClient(url, timeout=5)
        self.depth = depth
        #: number -> (hash, transaction hashes, monotonic time first seen)
        self.blocks: dict[int, tuple[str, list[str], float]] = {}
        #: number -> monotonic time the head first stood ``depth - 1`` blocks above it
        self.final: dict[int, float] = {}
        self.start_number = int(self._client.call("eth_blockNumber", []), 16)
        self._next = self.start_number + 1
        self._halt = threading.Event()
        self.error: BaseException | None = None

    def _block(self, number: int) -> dict[str, Any] | None:
        block: dict[str, Any] | None = self._client.call("eth_getBlockByNumber", [hex(number), False])
        return block

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                head = int(self._client.call("eth_blockNumber", []), 16)
                while self._next - 1 in self.blocks and not self._still_canonical(self._next - 1):
                    self._next -= 1  # replaced by a heavier chain: forget it, fetch the new one
                    self.blocks.pop(self._next, None)
                    self.final.pop(self._next, None)
                now = time.monotonic()
                for number in range(self._next, head + 1):
                    block = self._block(number)
                    if block is None:  # the head moved back meanwhile (a shorter, heavier chain)
                        break
                    self.blocks[number] = (block["hash"], list(block["transactions"]), now)
                    self._next = number + 1
                for number in list(self.blocks):
                    if number not in self.final and head >= number + self.depth - 1:
                        self.final[number] = now
                self._halt.wait(_POLL)
        except BaseException as exc:  # reported by the measurement
            self.error = exc
        finally:
            self._client.close()

    def _still_canonical(self, number: int) -> bool:
        block = self._block(number)
        return block is not None and block["hash"] == self.blocks[number][0]

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def located(self) -> dict[str, int]:
        """Transaction hash -> number of the canonical block holding it."""
        return {tx: number for number, (_, txs, _) in list(self.blocks.items()) for tx in txs}


def measure_transactions(network: Network, transactions: int, senders: int) -> dict[str, Any]:
    """Two rounds of ``transactions`` setAttribute calls, each watched until final: through one ``ChainClient`` (what
    a service does: nonce, sign, deliver with failover) and then pre-signed and delivered raw, round-robin over the
    nodes (what the network takes when the senders are not the limit). The first round's figures are the top-level
    keys, the second's are under ``presigned``."""
    policy = ClientPolicy(receipt_timeout=120, poll_interval=_POLL)
    failover = FailoverPolicy(attempt_timeout=2, request_budget=6)
    client = ChainClient.connect(network.urls, policy=policy, failover=failover)
    try:
        accounts = [SoftwareChainSigner.from_private_bytes(key) for key in dev_account_keys()[:senders]]
        registry, _ = client.deploy(load_artifact(DID_REGISTRY), sender=accounts[0], confirmations=0)
        final_depth = clique_finality_depth(client.clique_signers() or 1)
        per_sender = [transactions // senders + (1 if i < transactions % senders else 0) for i in range(senders)]

        def call(account: SoftwareChainSigner, label: str, n: int) -> tuple[str, bytes]:
            name = f"did/svc/{label}{n}".encode().ljust(32, b"\0")
            return call_data(registry.functions.setAttribute(account.address, name, b"x", 3600))

        def through_client(account: SoftwareChainSigner, count: int, record: Callable[[bytes], None]) -> None:
            for n in range(count):
                to, data = call(account, "Bench", n)
                record(client.send(account, to=to, data=data, gas=200_000).hash)

        first = _watched_round(network, final_depth, accounts, per_sender, through_client)

        signed: dict[str, list[SignedTransaction]] = {}
        for account, count in zip(accounts, per_sender, strict=True):
            nonce = client.transaction_count(account.address, "pending")
            signed[account.address] = []
            for n in range(count):
                to, data = call(account, "Presigned", n)
                fields = {"chainId": client.chain_id, "nonce": nonce + n, "to": to, "data": data, "value": 0}
                fields |= {"gas": 200_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
                signed[account.address].append(sign_transaction(account, fields))

        def raw(account: SoftwareChainSigner, count: int, record: Callable[[bytes], None]) -> None:
            index = accounts.index(account)
            peers = [PeerClient(url, timeout=10) for url in network.urls]
            try:
                for n, transaction in enumerate(signed[account.address][:count]):
                    peers[(index + n) % len(peers)].call("eth_sendRawTransaction", ["0x" + transaction.raw.hex()])
                    record(transaction.hash)
            finally:
                for peer in peers:
                    peer.close()

        second = _watched_round(network, final_depth, accounts, per_sender, raw)
        return {**first, "presigned": second}
    finally:
        client.close()


def _watched_round(
    network: Network,
    final_depth: int,
    accounts: list[SoftwareChainSigner],
    per_sender: list[int],
    send: Callable[[SoftwareChainSigner, int, Callable[[bytes], None]], None],
) -> dict[str, Any]:
    """One round: a watcher follows the chain while one thread per sender runs ``send``; then wait until every
    transaction is final (at most 180 s) and summarise."""
    sent: list[tuple[str, float]] = []
    lock = threading.Lock()

    def record(tx_hash: bytes) -> None:
        with lock:
            sent.append(("0x" + tx_hash.hex(), time.monotonic()))

    watcher = _BlockWatcher(network.urls[0], final_depth)
    watcher.start()
    try:
        first_sent = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(accounts)) as pool:
            list(pool.map(lambda account, count: send(account, count, record), accounts, per_sender))
        sending_seconds = time.monotonic() - first_sent
        wanted = {tx for tx, _ in sent}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and watcher.error is None:
            located = watcher.located()
            if all(tx in located and located[tx] in watcher.final for tx in wanted):
                break
            time.sleep(_POLL)
    finally:
        watcher.stop()
    if watcher.error is not None:
        raise RuntimeError(f"watching the chain failed: {watcher.error}")
    located = watcher.located()
    done = [tx for tx in wanted if tx in located and located[tx] in watcher.final]
    if len(done) < len(wanted):
        raise RuntimeError(f"only {len(done)} of {len(wanted)} transactions final within 180 s")
    at = dict(sent)
    mined_at = {tx: watcher.blocks[located[tx]][2] for tx in wanted}
    final_at = {tx: watcher.final[located[tx]] for tx in wanted}
    depth1 = [max(0.0, mined_at[tx] - at[tx]) for tx in wanted]
    deep = [max(0.0, final_at[tx] - at[tx]) for tx in wanted]
    return {
        "transactions": len(sent),
        "senders": len(accounts),
        "sending_seconds": round(sending_seconds, 2),
        "blocks_used": len({located[tx] for tx in wanted}),
        "final_depth": final_depth,
        "depth_1": {"tx_per_s": round(len(sent) / (max(mined_at.values()) - first_sent), 2), **_summary(depth1)},
        "final": {"tx_per_s": round(len(sent) / (max(final_at.values()) - first_sent), 2), **_summary(deep)},
    }


def measure_catch_up(directory: Path, validators: int, period: int, backlog: int) -> dict[str, Any]:
    network = Network(
        directory,
        validators=validators,
        period=period,
        base_port=0,
        genesis_timestamp=int(time.time()) - backlog * period - 600,
    ).create()
    genesis = network.genesis
    assert genesis is not None
    keys = [SoftwareChainSigner(load_private_key(network.node_dir(i) / "validator.jwk")) for i in range(validators)]
    started = time.monotonic()
    with CliqueChain.open(network.node_dir(0), genesis) as chain:
        for number in range(1, backlog + 1):
            signers = chain.signers_after(chain.head())
            signer = next(k for k in keys if in_turn(number, bytes(to_canonical_address(k.address)), signers))
            chain.import_block(chain.build_block(signer, timestamp=genesis.timestamp + number * period), sync=False)
        chain.flush()
    build_seconds = time.monotonic() - started
    for index in range(1, validators - 1):
        shutil.copy(network.node_dir(0) / "blocks.rlp", network.node_dir(index) / "blocks.rlp")
    last = validators - 1
    started = time.monotonic()
    network.start()
    replay_seconds = time.monotonic() - started
    try:
        network.kill(last)
        (network.node_dir(last) / "blocks.rlp").unlink(missing_ok=True)
        target = _height(network, 0)
        started = time.monotonic()
        network.start_node(last)
        ready = time.monotonic() - started
        deadline = started + 600
        while _height(network, last) < target:
            if time.monotonic() > deadline:
                raise RuntimeError("the restarted node did not catch up within 600 s")
            time.sleep(_POLL)
        seconds = time.monotonic() - started
    finally:
        network.stop()
    return {
        "backlog": backlog,
        "target_height": target,
        "build_seconds": round(build_seconds, 2),
        "replay_start_seconds": round(replay_seconds, 2),
        "node_ready_seconds": round(ready, 2),
        "catch_up_seconds": round(seconds, 2),
        "blocks_per_s": round(target / seconds, 1),
    }


def run_benchmark(
    *, validators: int, period: int, transactions: int, senders: int, backlog: int, block_seconds: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="govssi-poa-bench-") as temporary:
        root = Path(temporary)
        network, boot_seconds = measure_boot(root / "net", validators, period)
        try:
            blocks = measure_blocks(network, block_seconds)
            txs = measure_transactions(network, transactions, senders)
        finally:
            network.stop()
        catch_up = measure_catch_up(root / "catch-up", validators, period, backlog)
    return {
        "environment": {"python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus()},
        "network": {"validators": validators, "period_s": period},
        "boot_seconds": round(boot_seconds, 2),
        "blocks": blocks,
        "transactions": txs,
        "catch_up": catch_up,
    }


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def format_table(report: dict[str, Any]) -> str:
    net, blocks, txs, catch = report["network"], report["blocks"], report["transactions"], report["catch_up"]
    rows = [
        (f"boot, {net['validators']} nodes (fresh)", f"{report['boot_seconds']} s", "", ""),
        (f"blocks/s (period {net['period_s']} s)", f"{blocks['blocks_per_s']}", blocks["p50_ms"], blocks["p99_ms"]),
        (
            f"tx/s confirmed at depth 1 ({txs['transactions']} tx)",
            f"{txs['depth_1']['tx_per_s']}",
            txs["depth_1"]["p50_ms"],
            txs["depth_1"]["p99_ms"],
        ),
        (
            f"tx/s confirmed at final depth {txs['final_depth']}",
            f"{txs['final']['tx_per_s']}",
            txs["final"]["p50_ms"],
            txs["final"]["p99_ms"],
        ),
        (
            f"  pre-signed, raw: tx/s at depth 1 ({txs['presigned']['transactions']} tx)",
            f"{txs['presigned']['depth_1']['tx_per_s']}",
            txs["presigned"]["depth_1"]["p50_ms"],
            txs["presigned"]["depth_1"]["p99_ms"],
        ),
        (
            f"  pre-signed, raw: tx/s at final depth {txs['final_depth']}",
            f"{txs['presigned']['final']['tx_per_s']}",
            txs["presigned"]["final"]["p50_ms"],
            txs["presigned"]["final"]["p99_ms"],
        ),
        (f"replay at start ({catch['backlog']} blocks)", f"{catch['replay_start_seconds']} s", "", ""),
        (
            f"catch-up of {catch['target_height']} blocks",
            f"{catch['catch_up_seconds']} s ({catch['blocks_per_s']} blocks/s)",
            "",
            "",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    lines = [f"{'measurement':<{width}}  {'ops/s or time':>28}  {'p50 ms':>10}  {'p99 ms':>10}"]
    lines += [f"{name:<{width}}  {value:>28}  {p50!s:>10}  {p99!s:>10}" for name, value, p50, p99 in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.poa_bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--validators", type=int, default=7)
    parser.add_argument("--period", type=int, default=1)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--block-seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    if min(args.validators, args.period, args.transactions, args.senders, args.backlog) < 1 or args.senders > 10:
        parser.error("counts must be positive; at most 10 senders (the funded development accounts)")
    report = run_benchmark(
        validators=args.validators,
        period=args.period,
        transactions=args.transactions,
        senders=args.senders,
        backlog=args.backlog,
        block_seconds=args.block_seconds,
    )
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
