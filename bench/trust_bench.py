"""Trust benchmark: accreditation lookups (cached and uncached) and status-list anchoring with batching, over loopback
JSON-RPC against ``govssi ledger node`` started as a subprocess (issue 5, "Benchmark").

Run: ``.venv/bin/python -m bench.trust_bench [--seconds S] [--anchor-txs N] [--json] [--no-pin]``.

Setup: a fresh data directory; ``govssi ledger node --port 0`` (py-evm, fsync'ed block journal, JSON-RPC over HTTP
on 127.0.0.1); the development deployment (``ledger.bootstrap``: DID registry, trusted-issuer registry with the demo
cooperative of three members, status-list anchor) sent through :class:`ledger.client.ChainClient`; ``--issuers``
accredited issuers (default 20; each a proposal and a vote), the measured one with a did:ethr, a certificate key and
two credential types.

Lookups (:class:`ledger.trust.TrustRegistry`, as the verifier uses it):

- **cached**: ``is_accredited(did, vct, now)`` again and again: one ``eth_blockNumber`` (the cache follows the
  registry's events), then the cached accreditation;
- **cached, max_staleness**: the same with ``max_staleness`` (default 2 s, one QBFT block period): no request;
- **uncached**: the cache emptied before every lookup: ``eth_blockNumber`` and one ``eth_call`` (``accreditationFor``);
- **contract isAccredited**: the contract's own view, one ``eth_call`` (no cache, informational).

Anchoring (:func:`ledger.trust.anchor_status_lists`, as the issuer uses it): for each batch size, ``--anchor-txs``
transactions (after three warm-up ones) that each anchor a new version of the same ``size`` lists (the steady state:
an issuer re-anchors its lists after publishing); each through ``ChainClient.transact`` (estimate gas, fees, nonce,
sign, send, receipt). Reported: transactions/s, anchors/s (= size × transactions/s), latency per transaction, gas per
anchored list from the receipts, and how many lists one block's gas limit would take.

CPUs: the benchmark pins itself to one CPU and the node to another when there are two or more (``--no-pin`` leaves
both). Latencies are per operation, p50/p99 by nearest rank. Figures are never asserted in tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.ledger_bench import environment, ledger_node
from bench.sdjwt_bench import measure, pin_to_one_cpu

PID = "urn:eudi:pid:de:1"
RESIDENCE = "https://kba.example/vct/residence"
BATCH_SIZES = (1, 16, 64, 256)
LOOKUP_ROWS = ("cached", "cached_stale", "uncached", "contract")
DAY = 86_400


class TrustWorkload:
    """The development deployment with accredited issuers on the node at ``rpc_url``."""

    def __init__(self, rpc_url: str, *, issuers: int) -> None:
        from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain, dev_member_signers
        from ledger.client import ChainClient, SoftwareChainSigner
        from ledger.trust import RegistryMember, TrustRegistry

        self.client = ChainClient.connect(rpc_url)
        self.chain_id = self.client.chain_id
        bootstrap_development_chain(self.client)
        self.addresses = DEV_ADDRESSES
        registry = TrustRegistry(self.client, DEV_ADDRESSES.trusted_issuer_registry)
        members = [RegistryMember(registry, signer) for signer in dev_member_signers()]
        now = int(self.client.w3.eth.get_block("latest")["timestamp"])

        def accredit(did: str, cert: bytes | None) -> None:
            proposal = members[0].propose_accreditation(
                did, [PID, RESIDENCE], valid_from=now - DAY, valid_until=now + 365 * DAY, cert_key_sha256=cert
            )
            if members[1].vote(proposal.proposal.id).accreditation_id is None:
                raise RuntimeError("the accreditation was not executed")

        for n in range(max(0, issuers - 1)):
            accredit(f"did:web:issuer{n}.bench.example", hashlib.sha256(f"certificate key {n}".encode()).digest())
        self.issuer = SoftwareChainSigner.generate()
        self.did = f"did:ethr:0x{self.chain_id:x}:{self.issuer.address.lower()}"
        self.cert_key = hashlib.sha256(b"the measured issuer's certificate key").digest()
        accredit(self.did, self.cert_key)
        self.issuers = issuers
        self.now = now

    def registry(self, *, max_staleness: float = 0.0) -> Any:
        from ledger.trust import TrustRegistry

        return TrustRegistry(self.client, self.addresses.trusted_issuer_registry, max_staleness=max_staleness)

    def requests(self, op: Callable[[], object]) -> dict[str, int]:
        """JSON-RPC requests the node answered for one ``op``, by method."""
        provider = self.client.provider
        before = dict(provider.answered)  # type: ignore[attr-defined]
        op()
        after = provider.answered  # type: ignore[attr-defined]
        return {method: n - before.get(method, 0) for method, n in after.items() if n != before.get(method, 0)}

    def anchor_round(self, size: int, version: int) -> str:
        """Anchor version ``version`` of ``size`` lists in one transaction; its hash."""
        from ledger.trust import anchor_status_lists

        lists = [
            (f"https://kba.example/status/{size}/{n}", hashlib.sha256(f"{size}/{n} v{version}".encode()).digest())
            for n in range(size)
        ]
        result = anchor_status_lists(
            self.client, self.addresses.status_anchor, self.issuer, lists, batch_size=size, timeout=120
        )
        if len(result.transactions) != 1 or len(result.anchored) != size:
            raise RuntimeError(f"a batch of {size} was not anchored in one transaction")
        return result.transactions[0]

    def gas_used(self, transaction: str) -> int:
        return int(self.client.w3.eth.get_transaction_receipt(transaction)["gasUsed"])  # type: ignore[arg-type]

    def close(self) -> None:
        self.client.close()


class AnchorRounds:
    """Successive new versions of the same ``size`` lists, one transaction each."""

    def __init__(self, work: TrustWorkload, size: int) -> None:
        self.work, self.size, self.version, self.last = work, size, 0, ""

    def next(self) -> None:
        self.version += 1
        self.last = self.work.anchor_round(self.size, self.version)


def run_benchmark(
    *,
    seconds: float = 3.0,
    anchor_txs: int = 5,
    issuers: int = 20,
    max_staleness: float = 2.0,
    iterations: int | None = None,
    node_cpu: int | None = None,
) -> dict[str, Any]:
    """Start a node, build the workload, measure; the results as plain data."""
    with tempfile.TemporaryDirectory(prefix="govssi-trust-bench-") as data_dir:
        started = time.perf_counter()
        with ledger_node(Path(data_dir), cpu=node_cpu) as node:
            work = TrustWorkload(node.rpc_url, issuers=issuers)
            try:
                setup_s = time.perf_counter() - started
                cached = work.registry()
                stale = work.registry(max_staleness=max_staleness)
                uncached = work.registry()
                now = work.now

                def lookup(registry: Any) -> None:
                    if registry.is_accredited(work.did, PID, now) is None:
                        raise RuntimeError("the issuer is not accredited")

                def lookup_uncached() -> None:
                    uncached.clear()
                    lookup(uncached)

                def contract() -> None:
                    if not cached.is_accredited_on_chain(work.did, PID, now):
                        raise RuntimeError("the contract says the issuer is not accredited")

                ops: dict[str, Callable[[], None]] = {
                    "cached": lambda: lookup(cached),
                    "cached_stale": lambda: lookup(stale),
                    "uncached": lookup_uncached,
                    "contract": contract,
                }
                for registry in (cached, stale, uncached):  # each follower's first sync reads the head block
                    lookup(registry)
                requests = {name: work.requests(op) for name, op in ops.items()}
                lookups = {name: measure(op, seconds=seconds, iterations=iterations) for name, op in ops.items()}
                if cached.is_accredited(work.cert_key, RESIDENCE, now) != cached.is_accredited(work.did, PID, now):
                    raise RuntimeError("the certificate key does not lead to the DID's accreditation")

                anchoring: dict[str, Any] = {}
                for size in BATCH_SIZES:
                    rounds = AnchorRounds(work, size)
                    m = measure(rounds.next, seconds=0.0, iterations=iterations or anchor_txs)
                    gas = work.gas_used(rounds.last)
                    anchoring[str(size)] = {
                        **asdict(m),
                        "lists_per_tx": size,
                        "anchors_per_s": size * m.ops_per_s,
                        "gas_per_tx": gas,
                        "gas_per_list": gas // size,
                    }
                block_gas_limit = int(work.client.w3.eth.get_block("latest")["gasLimit"])
                head = work.client.block_number()
            finally:
                work.close()
    per_list = anchoring[str(BATCH_SIZES[-1])]["gas_per_list"]
    return {
        "workload": {
            "did": work.did,
            "accredited_issuers": work.issuers,
            "members": 3,
            "credential_types": [PID, RESIDENCE],
            "json_rpc_requests": requests,
            "max_staleness_s": max_staleness,
            "head_block": head,
            "setup_s": round(setup_s, 2),
        },
        "lookups": {name: asdict(m) for name, m in lookups.items()},
        "anchoring": anchoring,
        "limits": {
            "max_batch": 512,
            "block_gas_limit": block_gas_limit,
            "lists_per_block_by_gas": block_gas_limit // per_list,
        },
    }


_LABELS = {
    "cached": "is_accredited, cached",
    "cached_stale": "is_accredited, cached, max_staleness",
    "uncached": "is_accredited, uncached",
    "contract": "contract isAccredited (eth_call)",
}


def format_table(report: dict[str, Any]) -> str:
    env, work = report["environment"], report["workload"]
    requests = {name: sum(by_method.values()) for name, by_method in work["json_rpc_requests"].items()}
    lines = [
        f"Trust benchmark: govssi ledger node over loopback JSON-RPC; {work['accredited_issuers']} accredited "
        f"issuers, {work['members']} members; max_staleness {work['max_staleness_s']} s",
        "JSON-RPC requests per lookup: " + ", ".join(f"{_LABELS[name]} {n}" for name, n in requests.items()),
        f"Python {env['python']}, web3 {env['web3']}, py-evm {env['py_evm']}; bench CPU "
        f"{env['cpu'] if env['cpu'] is not None else 'not pinned'}, node CPU "
        f"{env['node_cpu'] if env['node_cpu'] is not None else 'not pinned'}; setup {work['setup_s']} s",
        "",
        f"{'lookup':<40} {'ops/s':>10} {'mean µs':>10} {'p50 µs':>10} {'p99 µs':>10} {'n':>7}",
    ]
    for name, m in report["lookups"].items():
        lines.append(
            f"{_LABELS[name]:<40} {m['ops_per_s']:>10.1f} {m['mean_us']:>10.1f} {m['p50_us']:>10.1f} "
            f"{m['p99_us']:>10.1f} {m['iterations']:>7}"
        )
    lines += [
        "",
        f"{'anchoring (new versions)':<26} {'lists/tx':>9} {'tx/s':>8} {'anchors/s':>10} {'p50 ms/tx':>10} "
        f"{'p99 ms/tx':>10} {'gas/tx':>10} {'gas/list':>9} {'n':>4}",
    ]
    for size, m in report["anchoring"].items():
        lines.append(
            f"{'anchorBatch x' + size:<26} {m['lists_per_tx']:>9} {m['ops_per_s']:>8.2f} {m['anchors_per_s']:>10.1f} "
            f"{m['p50_us'] / 1000:>10.1f} {m['p99_us'] / 1000:>10.1f} {m['gas_per_tx']:>10} {m['gas_per_list']:>9} "
            f"{m['iterations']:>4}"
        )
    limits = report["limits"]
    lines.append(
        f"lists per transaction: at most {limits['max_batch']} (contract); block gas limit "
        f"{limits['block_gas_limit']:,} takes {limits['lists_per_block_by_gas']:,} list updates"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trust_bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each lookup measurement (3)")
    parser.add_argument("--anchor-txs", type=int, default=5, help="measured transactions per batch size (5)")
    parser.add_argument("--issuers", type=int, default=20, help="accredited issuers in the registry (20)")
    parser.add_argument("--iterations", type=int, help="a fixed number of operations per measurement instead")
    parser.add_argument("--max-staleness", type=float, default=2.0, help="max_staleness of the second cached row")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--cpu", type=int, help="CPU to pin the benchmark to (default: the last allowed one)")
    parser.add_argument("--no-pin", action="store_true", help="pin neither the benchmark nor the node")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.anchor_txs < 1 or args.issuers < 1 or (args.iterations or 1) < 1:
        parser.error("--seconds, --anchor-txs, --issuers and --iterations must be positive")
    cpu = node_cpu = None
    if not args.no_pin and hasattr(os, "sched_getaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        cpu = pin_to_one_cpu(args.cpu)
        others = [c for c in allowed if c != cpu]
        node_cpu = others[-1] if others else None
    report = run_benchmark(
        seconds=args.seconds,
        anchor_txs=args.anchor_txs,
        issuers=args.issuers,
        max_staleness=args.max_staleness,
        iterations=args.iterations,
        node_cpu=node_cpu,
    )
    report = {"environment": environment(cpu, node_cpu), **report}
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
