"""PID issuance benchmark: PID issuances per second end to end (issue 9, "Benchmark").

Run: ``.venv/bin/python -m bench.pid_bench [--seconds S] [--iterations N] [--batch K] [--json] [--no-pin]``.

Setup: a fresh data directory; ``govssi issuer serve --no-chain`` as a subprocess on a free loopback port with the
PID provider role (``GOVSSI_ISSUER_PID_AUTHORITY=pid``, the demo eID PKI, the demo wallet provider, SQLite, encrypted
key files) — one uvicorn worker; in this process one wallet (:class:`wallet_sim.wallet.Wallet`, its encrypted store
and simulated secure element) and the test card of ERIKA MUSTERMANN with its PIN set.

One issuance is everything :func:`wallet_sim.pid.issue_pid` does, over real HTTP: both metadata documents, a fresh DPoP
key and wallet attestation instance key, PAR with the attestation, the authorization request (the provider opens an
eID session: ephemeral key, signed request), the card's answer (PIN, terminal authentication of the CVCA → DV →
terminal chain, access rights, chip authentication MAC), the eID response (the provider verifies chip and passive
authentication and maps the PID), the token request (DPoP nonce round trip, attestation, PKCE), the nonce and
credential requests (``--batch`` key proofs with a key attestation, SD-JWT VCs signed with status entries recorded),
the wallet's checks of the credentials (issuer key from the JWT VC issuer metadata) and storing them.

Reported: issuances per second (sequential, one wallet), latency p50/p99 per issuance, and the client's share of CPU
time. CPUs: the benchmark pins itself to one CPU and the issuer to another when there are two or more (``--no-pin``
leaves both). Figures are never asserted in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from bench.sdjwt_bench import environment, measure, pin_to_one_cpu

CARD = "erika"
CARD_PIN = "123456"
WALLET_PIN = "246810"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def pid_issuer_process(data_dir: Path, *, cpu: int | None) -> Iterator[str]:
    """``govssi issuer serve`` with the PID provider role; yields the PID provider's credential issuer URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    env.update(
        {
            "GOVSSI_DATA_DIR": str(data_dir),
            "GOVSSI_ISSUER_PUBLIC_URL": base,
            "GOVSSI_DEV_ALLOW_HTTP": "1",
            "GOVSSI_ISSUER_PID_AUTHORITY": "pid",
            "GOVSSI_KEY_PASSPHRASE": "bench passphrase",
            "GOVSSI_ISSUER_BOOTSTRAP_KEY": "bench-bootstrap-key-0001",
        }
    )
    command = [sys.executable, "-c", "from govssi.cli import main; main()", "issuer", "serve", "--no-chain"]
    command += ["--port", str(port), "--host", "127.0.0.1"]
    log = (data_dir / "issuer.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(process.pid, {cpu})
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the issuer exited: {(data_dir / 'issuer.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the issuer did not start in time")
            time.sleep(0.1)
        yield f"{base}/issuers/pid"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def run_benchmark(*, seconds: float, iterations: int | None, batch: int, pin: bool) -> dict[str, Any]:
    from wallet_sim.eid import EidCards
    from wallet_sim.eid.citizens import find_citizen
    from wallet_sim.pid import issue_pid
    from wallet_sim.store import FAST_KDF
    from wallet_sim.wallet import Wallet

    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = pin and len(allowed) >= 2
    issuer_cpu = allowed[0] if pinned else None
    with tempfile.TemporaryDirectory(prefix="govssi-pid-bench-") as tmp:
        root = Path(tmp)
        (root / "issuer").mkdir()
        with pid_issuer_process(root / "issuer", cpu=issuer_cpu) as url:
            cpu = pin_to_one_cpu(allowed[-1]) if pinned else None
            wallet = Wallet.create(root / "wallet", WALLET_PIN, kdf=FAST_KDF, allow_http_loopback=True, batch=batch)
            card = EidCards(root / "wallet" / "eid").card(CARD)
            card.change_pin(find_citizen(CARD).transport_pin, CARD_PIN)
            issued: list[str] = []

            def issue() -> None:
                result = issue_pid(wallet, url, card=card, pin=CARD_PIN, batch=batch)
                if len(result.stored.instances) != batch or result.stored.vct != "urn:eudi:pid:de:1":
                    raise RuntimeError("the PID issuance returned something else")
                issued.append(result.stored.id)

            try:
                result = measure(issue, seconds=seconds, iterations=iterations)
                held = len(wallet.credentials())
            finally:
                wallet.close()
    return {
        "issuances": asdict(result),
        "batch": batch,
        "workload": {"issued_total": len(issued), "held_by_wallet": held, "issuer_cpu": issuer_cpu},
        "environment": {
            **environment(cpu),
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        },
    }


def format_table(report: dict[str, Any]) -> str:
    row = report["issuances"]
    return "\n".join(
        [
            "PID issuance end to end (PAR, eID card, token, credential; one wallet, sequential)",
            f"  batch {report['batch']} credential(s) per issuance, "
            f"{row['iterations']} issuances in {row['seconds']} s",
            f"  {row['ops_per_s']:.2f} issuances/s   "
            f"p50 {row['p50_us'] / 1000:.1f} ms   p99 {row['p99_us'] / 1000:.1f} ms",
            f"  client CPU only: {row['cpu_ops_per_s']:.2f} issuances/s of this process's CPU time",
            f"  load average during the run: {report['environment'].get('load_average')}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pid_bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="How long to measure (default 10).")
    parser.add_argument("--iterations", type=int, default=None, help="Exactly this many issuances instead.")
    parser.add_argument("--batch", type=int, default=1, help="Credentials (keys) per issuance (default 1).")
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    parser.add_argument("--no-pin", action="store_true", help="Do not pin the benchmark and the issuer to CPUs.")
    args = parser.parse_args(argv)
    report = run_benchmark(seconds=args.seconds, iterations=args.iterations, batch=args.batch, pin=not args.no_pin)
    sys.stdout.write((json.dumps(report, indent=2) if args.json else format_table(report)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
