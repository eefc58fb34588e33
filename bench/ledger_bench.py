"""Ledger benchmark: did:ethr resolution latency (cached and uncached) over loopback JSON-RPC, and transactions per
second through ``ledger.client``, against ``govssi ledger node`` started as a subprocess.

Run: ``.venv/bin/python -m bench.ledger_bench [--seconds S] [--tx-seconds S] [--json] [--profile]``.

Setup: a fresh data directory; ``govssi ledger node --port 0`` (the persistent local chain: py-evm, an fsync'ed
block journal, JSON-RPC over HTTP on 127.0.0.1); the ERC-1056 registry deployed through :class:`ChainClient`; an
issuer's did:ethr with a realistic history — three keys (P-256 as Multikey, Ed25519, secp256k1), one ``sigAuth``
delegate, one ``did/svc`` service and one routine rotation (a new P-256 key published, the old one revoked): seven
registry transactions in seven blocks, so an uncached resolution walks seven blocks of history.

Measurements (the resolver is :class:`ssi.did.DidResolver` with :class:`ledger.did_ethr.EthrDidDriver`, reading
through a :class:`ledger.client.ChainClient`'s failover provider, as the services do):

- **cached**: one resolver resolves the DID again and again. The driver's cache follows the chain: each resolution
  asks for the head block (one ``eth_blockNumber``) and, the chain not having moved, answers from the cache.
- **cached, max_staleness**: the same with ``max_staleness`` (default 2 s, one QBFT block period): no request while
  the head is fresh enough (informational; no target).
- **uncached**: a new driver and resolver (empty cache) for every resolution over the same client (a warm connection):
  the head and its block, ``changed(identity)`` (``eth_call``), then ``eth_getLogs`` and the block of each history
  block — 17 requests (the driver's chain-id check is answered by the client's provider, which verified the node).
- **tx/s sequential**: ``setAttribute`` transactions through :meth:`ChainClient.transact` (estimate gas, fees,
  nonce, sign, send, receipt), one after another from one sender;
- **tx/s 4 threads**: the same from four threads sharing one client and one sender (the client's nonce management
  keeps the nonces consecutive; checked at the end).

Targets (issue 4): cached p50 < 1 ms; uncached p99 < 30 ms. The output says whether they were met.

CPUs: the benchmark pins itself to one CPU (the last allowed unless ``--cpu``) and the node to another one when there
are two or more (``--no-pin`` leaves both). Latencies are per operation (``perf_counter_ns`` between consecutive
operations), p50/p99 by nearest rank. The default run takes about 35 s (bounded: every phase has a time budget; the
node must start within 60 s).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import os
import platform
import pstats
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.sdjwt_bench import Measurement, _nearest_rank, measure, pin_to_one_cpu

TARGET_CACHED_P50_US = 1_000.0
TARGET_UNCACHED_P99_US = 30_000.0
YEAR = 365 * 24 * 3600
THREADS = 4
#: Upper bound for starting the node (imports, genesis) and for the setup transactions.
START_TIMEOUT_S = 60.0


# --- the node ------------------------------------------------------------------------------------------------------


@dataclass
class RunningNode:
    process: subprocess.Popen[str]
    rpc_url: str
    chain_id: int


def _node_command(data_dir: Path) -> list[str]:
    script = Path(sys.executable).with_name("govssi")
    base = [str(script)] if script.exists() else [sys.executable, "-c", "from govssi.cli import main; main()"]
    return [*base, "ledger", "node", "--port", "0", "--data-dir", str(data_dir)]


@contextlib.contextmanager
def ledger_node(data_dir: Path, cpu: int | None = None) -> Iterator[RunningNode]:
    """``govssi ledger node`` on a free port, stopped with SIGTERM at the end."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    process = subprocess.Popen(
        _node_command(data_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    try:
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(process.pid, {cpu})
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        line = process.stdout.readline() if readable else ""
        if not line:
            raise RuntimeError(f"govssi ledger node did not start: {process.stderr.read() if process.stderr else ''}")
        ready = json.loads(line)
        yield RunningNode(process, str(ready["rpc_url"]), int(ready["chain_id"]))
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


# --- the workload --------------------------------------------------------------------------------------------------


class LedgerWorkload:
    """A registry and an issuer's did:ethr with a realistic history on the node at ``rpc_url``."""

    def __init__(self, rpc_url: str) -> None:
        from ledger.client import ChainClient, SoftwareChainSigner
        from ledger.contracts import DID_REGISTRY, load_artifact
        from ledger.did_ethr import ethr_did
        from ssi.keys import PrivateKey

        self.client = ChainClient.connect(rpc_url)
        self.chain_id = self.client.chain_id
        # New keys without ether: the local chain's base fee is 0, so they pay nothing. (Not the development accounts:
        # importing ledger.node for them would load the EVM into this process, which a resolver never has.)
        self.deployer = SoftwareChainSigner.generate()
        self.issuer = SoftwareChainSigner.generate()
        self.sender = SoftwareChainSigner.generate()
        self.registry, _ = self.client.deploy(load_artifact(DID_REGISTRY), sender=self.deployer)
        self.registry_address = str(self.registry.address)
        self.did = ethr_did(self.issuer.address, self.chain_id)
        keys = [PrivateKey.generate(alg).public_key for alg in ("ES256", "EdDSA", "ES256K")]
        for key in keys:
            self._publish(key)
        self._issuer_call("addDelegate", _bytes32("sigAuth"), SoftwareChainSigner.generate().address, YEAR)
        self._issuer_call("setAttribute", _bytes32("did/svc/LinkedDomains"), b"https://pid-issuer.example.de", YEAR)
        self._publish(PrivateKey.generate("ES256").public_key)  # the rotation: a new P-256 key, the old one revoked
        self._revoke(keys[0])
        self.history_blocks = 7
        self._sent = 0
        self._sent_lock = threading.Lock()

    def _issuer_call(self, function: str, *args: Any) -> None:
        call = getattr(self.registry.functions, function)(self.issuer.address, *args)
        self.client.transact(call, sender=self.issuer)

    def _publish(self, key: Any) -> None:
        from ledger.did_ethr import key_attribute

        name, value = key_attribute(key)
        self._issuer_call("setAttribute", _bytes32(name), value, YEAR)

    def _revoke(self, key: Any) -> None:
        from ledger.did_ethr import key_attribute

        name, value = key_attribute(key)
        self._issuer_call("revokeAttribute", _bytes32(name), value)

    # -- resolution ----------------------------------------------------------------------------------------------

    def resolver(self, *, max_staleness: float = 0.0) -> Any:
        from ledger.did_ethr import EthrDidDriver
        from ssi.did import DidResolver

        driver = EthrDidDriver({self.chain_id: (self.client.w3, self.registry_address)}, max_staleness=max_staleness)
        return DidResolver([driver], cache_ttl=0)

    def resolve_uncached(self) -> Any:
        return self.resolver().resolve(self.did)

    def check_document(self, document: Any) -> None:
        """The document is what the history says: controller, three current keys, the delegate; one service."""
        methods = len(document.verification_method)
        if document.id != self.did or methods != 5 or len(document.service) != 1:
            raise RuntimeError(f"unexpected document: {methods} verification methods, {len(document.service)} services")

    def requests_per_resolution(self) -> dict[str, dict[str, int]]:
        """JSON-RPC requests a node answered for one uncached and one cached resolution, by method."""
        provider = self.client.provider
        counts: dict[str, dict[str, int]] = {}
        resolver = self.resolver()
        for kind in ("uncached", "cached"):
            before = dict(provider.answered)
            resolver.resolve(self.did)
            counts[kind] = {m: n - before.get(m, 0) for m, n in provider.answered.items() if n != before.get(m, 0)}
        return counts

    # -- transactions --------------------------------------------------------------------------------------------

    def set_attribute(self) -> None:
        with self._sent_lock:
            self._sent += 1
            index = self._sent
        value = f"https://bench.example/{index}".encode()
        call = self.registry.functions.setAttribute(self.sender.address, _bytes32("did/svc/Bench"), value, YEAR)
        receipt = self.client.transact(call, sender=self.sender)
        if int(receipt["status"]) != 1:
            raise RuntimeError("setAttribute failed")

    def nonce(self) -> int:
        return self.client.transaction_count(self.sender.address)

    def close(self) -> None:
        self.client.close()


def _bytes32(name: str) -> bytes:
    from ledger.erc1056 import bytes32

    return bytes32(name)


def measure_threads(op: Callable[[], object], *, threads: int, seconds: float, iterations: int | None) -> Measurement:
    """``threads`` threads run ``op`` until ``seconds`` pass (or ``iterations`` operations in all are done); latency
    is each operation's own duration, throughput all operations over the elapsed time."""
    latencies: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = time.perf_counter_ns()
    deadline = start + int(seconds * 1e9)
    budget = [iterations if iterations is not None else -1]
    cpu_start = time.process_time_ns()

    def worker() -> None:
        while True:
            with lock:
                if budget[0] == 0 or errors:
                    return
                budget[0] -= 1
            began = time.perf_counter_ns()
            try:
                op()
            except BaseException as exc:  # reported after the run
                with lock:
                    errors.append(exc)
                return
            ended = time.perf_counter_ns()
            with lock:
                latencies.append(ended - began)
            if iterations is None and ended >= deadline:
                return

    pool = [threading.Thread(target=worker, name=f"bench-tx-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    elapsed = (time.perf_counter_ns() - start) / 1e9
    cpu = (time.process_time_ns() - cpu_start) / 1e9
    ordered = sorted(latencies)
    return Measurement(
        iterations=len(latencies),
        seconds=round(elapsed, 3),
        ops_per_s=len(latencies) / elapsed,
        mean_us=sum(latencies) / len(latencies) / 1000.0,
        p50_us=_nearest_rank(ordered, 0.50),
        p99_us=_nearest_rank(ordered, 0.99),
        # this process's CPU time over all worker threads (the node runs in its own process)
        cpu_ops_per_s=len(latencies) / cpu if cpu > 0 else math.inf,
    )


# --- the run -------------------------------------------------------------------------------------------------------

RESOLUTION_ROWS = ("cached", "cached_stale", "uncached")
TRANSACTION_ROWS = ("sequential", "threads")


def run_benchmark(
    *,
    seconds: float = 5.0,
    tx_seconds: float = 5.0,
    iterations: int | None = None,
    max_staleness: float = 2.0,
    node_cpu: int | None = None,
) -> dict[str, Any]:
    """Start a node, build the workload, measure; the results as plain data."""
    with tempfile.TemporaryDirectory(prefix="govssi-ledger-bench-") as data_dir:
        started = time.perf_counter()
        with ledger_node(Path(data_dir), cpu=node_cpu) as node:
            work = LedgerWorkload(node.rpc_url)
            try:
                setup_s = time.perf_counter() - started
                work.check_document(work.resolve_uncached())
                requests = work.requests_per_resolution()
                cached_resolver = work.resolver()
                stale_resolver = work.resolver(max_staleness=max_staleness)

                def run(op: Callable[[], object]) -> Measurement:
                    return measure(op, seconds=seconds, iterations=iterations)

                resolution = {
                    "cached": run(lambda: cached_resolver.resolve(work.did)),
                    "cached_stale": run(lambda: stale_resolver.resolve(work.did)),
                    "uncached": run(work.resolve_uncached),
                }
                work.check_document(cached_resolver.resolve(work.did))
                nonce_before = work.nonce()
                transactions = {
                    "sequential": measure_threads(
                        work.set_attribute, threads=1, seconds=tx_seconds, iterations=iterations
                    ),
                    "threads": measure_threads(
                        work.set_attribute, threads=THREADS, seconds=tx_seconds, iterations=iterations
                    ),
                }
                sent = sum(m.iterations for m in transactions.values())
                moved = work.nonce() - nonce_before
                if moved != sent:
                    raise RuntimeError(f"{sent} transactions sent, but the sender's nonce moved {moved}")
                head = work.client.block_number()
            finally:
                work.close()
    cached_p50 = resolution["cached"].p50_us
    uncached_p99 = resolution["uncached"].p99_us
    return {
        "workload": {
            "did": work.did,
            "history": "3 keys (P-256 Multikey, Ed25519, secp256k1), 1 sigAuth delegate, 1 service, 1 rotation",
            "history_blocks": work.history_blocks,
            "verification_methods": 5,
            "json_rpc_requests": requests,
            "max_staleness_s": max_staleness,
            "threads": THREADS,
            "head_block": head,
            "setup_s": round(setup_s, 2),
        },
        "resolution": {name: asdict(m) for name, m in resolution.items()},
        "transactions": {name: asdict(m) for name, m in transactions.items()},
        "targets": {
            "cached_p50_us": {
                "target": TARGET_CACHED_P50_US,
                "value": cached_p50,
                "met": cached_p50 < TARGET_CACHED_P50_US,
            },
            "uncached_p99_us": {
                "target": TARGET_UNCACHED_P99_US,
                "value": uncached_p99,
                "met": uncached_p99 < TARGET_UNCACHED_P99_US,
            },
        },
    }


def environment(cpu: int | None, node_cpu: int | None) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "web3": metadata.version("web3"),
        "py_evm": metadata.version("py-evm"),
        "cpu": cpu,
        "node_cpu": node_cpu,
    }


_LABELS = {
    "cached": "did:ethr resolve, cached",
    "cached_stale": "did:ethr resolve, cached, max_staleness",
    "uncached": "did:ethr resolve, uncached",
    "sequential": "setAttribute tx, sequential",
    "threads": f"setAttribute tx, {THREADS} threads",
}


def format_table(report: dict[str, Any]) -> str:
    env, work = report["environment"], report["workload"]
    requests = {kind: sum(by_method.values()) for kind, by_method in work["json_rpc_requests"].items()}
    lines = [
        f"Ledger benchmark: govssi ledger node over loopback JSON-RPC; {work['did']}",
        f"history: {work['history']} ({work['history_blocks']} blocks); JSON-RPC requests per resolution: "
        f"uncached {requests['uncached']}, cached {requests['cached']}; max_staleness {work['max_staleness_s']} s",
        f"Python {env['python']}, web3 {env['web3']}, py-evm {env['py_evm']}; bench CPU "
        f"{env['cpu'] if env['cpu'] is not None else 'not pinned'}, node CPU "
        f"{env['node_cpu'] if env['node_cpu'] is not None else 'not pinned'}; setup {work['setup_s']} s",
        "",
        f"{'measurement':<42} {'ops/s':>10} {'mean µs':>10} {'p50 µs':>10} {'p99 µs':>10} {'n':>7}",
    ]
    for group in ("resolution", "transactions"):
        for name, m in report[group].items():
            lines.append(
                f"{_LABELS[name]:<42} {m['ops_per_s']:>10.1f} {m['mean_us']:>10.1f} {m['p50_us']:>10.1f} "
                f"{m['p99_us']:>10.1f} {m['iterations']:>7}"
            )
    lines.append("")
    targets = report["targets"]
    cached, uncached = targets["cached_p50_us"], targets["uncached_p99_us"]
    lines.append(
        f"targets: cached p50 {cached['value'] / 1000:.3f} ms < {cached['target'] / 1000:g} ms: "
        f"{'met' if cached['met'] else 'NOT met'}; uncached p99 {uncached['value'] / 1000:.2f} ms < "
        f"{uncached['target'] / 1000:g} ms: {'met' if uncached['met'] else 'NOT met'}"
    )
    return "\n".join(lines)


# --- profile -------------------------------------------------------------------------------------------------------


def profile_resolution(kind: str = "uncached", count: int = 200, top: int = 20, node_cpu: int | None = None) -> str:
    """cProfile over ``count`` resolutions (``uncached`` or ``cached``) in this process; the node is not profiled."""
    with (
        tempfile.TemporaryDirectory(prefix="govssi-ledger-bench-") as data_dir,
        ledger_node(Path(data_dir), cpu=node_cpu) as node,
    ):
        work = LedgerWorkload(node.rpc_url)
        resolver = work.resolver()
        op = work.resolve_uncached if kind == "uncached" else (lambda: resolver.resolve(work.did))
        op()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            op()
        profiler.disable()
        work.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return f"cProfile over {count} {kind} resolutions (times for all of them)\n" + out.getvalue()


# --- command line --------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each resolution measurement (5)")
    parser.add_argument("--tx-seconds", type=float, default=5.0, help="duration of each transaction measurement (5)")
    parser.add_argument("--iterations", type=int, help="a fixed number of operations per measurement instead")
    parser.add_argument("--max-staleness", type=float, default=2.0, help="max_staleness of the second cached row")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--profile", choices=("uncached", "cached"), help="profile resolutions instead")
    parser.add_argument("--profile-count", type=int, default=200, help="resolutions to profile (200)")
    parser.add_argument("--cpu", type=int, help="CPU to pin the benchmark to (default: the last allowed one)")
    parser.add_argument("--no-pin", action="store_true", help="pin neither the benchmark nor the node")
    args = parser.parse_args(argv)
    if min(args.seconds, args.tx_seconds) <= 0 or (args.iterations is not None and args.iterations < 1):
        parser.error("--seconds, --tx-seconds and --iterations must be positive")
    cpu = node_cpu = None
    if not args.no_pin and hasattr(os, "sched_getaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        cpu = pin_to_one_cpu(args.cpu)
        others = [c for c in allowed if c != cpu]
        node_cpu = others[-1] if others else None
    if args.profile:
        print(profile_resolution(args.profile, args.profile_count, node_cpu=node_cpu))
        return 0
    report = run_benchmark(
        seconds=args.seconds,
        tx_seconds=args.tx_seconds,
        iterations=args.iterations,
        max_staleness=args.max_staleness,
        node_cpu=node_cpu,
    )
    report = {"environment": environment(cpu, node_cpu), **report}
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
