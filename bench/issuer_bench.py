"""Issuer benchmark: the full OpenID4VCI pre-authorized flow (token → nonce → credential, DPoP-bound) over loopback
HTTP against ``govssi issuer serve`` under open-loop load; the highest rate at which p99 of every request stays under
50 ms, on SQLite and PostgreSQL (issue 7, "Robustness and performance").

Run: ``.venv/bin/python -m bench.issuer_bench [--db sqlite,postgresql] [--workers 2] [--seconds 5] [--json]``;
``--rate R`` measures one rate instead of searching; ``--profile`` runs the server in one process under cProfile
(every thread) at ``--rate`` and prints where the server's time goes per credential.

Setup per database: a fresh data directory (and for PostgreSQL a fresh database on ``--postgres-url``'s server,
dropped afterwards); ``govssi issuer serve --port 0 --no-chain --workers N`` as a subprocess (uvicorn worker
processes on one socket; key files; short-lived state in the same database; token rate limit off). Before each step
the offers it needs are created through the admin API (``POST /issuers/demo/admin/offers``, no transaction code,
the parking permit of the sample citizen) and each flow's DPoP key and holder key are generated — outside the
measured time.

Each flow is one wallet: ``POST /token`` (pre-authorized code, DPoP proof with the server's DPoP nonce), ``POST
/nonce`` (``c_nonce``), ``POST /credential`` (DPoP proof with ``ath``, one ``jwt`` key proof) → one SD-JWT VC with
its random status index. The client carries the latest ``DPoP-Nonce`` the server sent (a wallet that met this issuer
before; a wallet's very first token request would be answered ``use_dpop_nonce`` and repeated). Open loop: flows
start at fixed intervals of 1/rate whatever the server does; the token request's latency counts from the flow's
scheduled start (queueing in the client included: no coordinated omission), the others from when they are sent.
The client is one asyncio process with keep-alive HTTP/1.1 connections (a minimal reader, so the client's own cost
stays small; no garbage collection in it during a step); it shares the 2 CPUs with the server.

A step passes when every flow succeeded and p99 of each of the three requests is under ``--p99-ms`` (50). The search
starts at ``--start-rate`` and multiplies the rate by 1.5 until a step fails (or ``--max-rate``; when the first step
fails it halves the rate until one passes), then bisects ``--refine`` times. Reported per step: credentials/s
achieved, p50/p99/max per request, CPU seconds per credential of the server processes and of the client, and with a
local PostgreSQL server of the backends serving the issuer's database, and the CPUs busy machine-wide during the
step (``/proc/stat``: saturation, or other processes at work). Figures are never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import io
import json
import os
import pstats
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from bench.sdjwt_bench import _location, _nearest_rank, environment, format_profile
from bench.verifier_bench import _collector_paused, run_generator

API_KEY = "bench-bootstrap-key-0001"
TYPE_ID = "bewohnerparkausweis"
CLAIMS = {
    "family_name": "MUSTERMANN",
    "given_name": "ERIKA",
    "address": {"street_address": "HEIDESTRASSE 17", "postal_code": "51147", "locality": "KÖLN"},
    "license_plate": "K-EM 1964",
    "parking_zone": "K3",
    "valid_until": "2099-06-30",
}
REQUESTS = ("token", "nonce", "credential")
DATABASES = ("sqlite", "postgresql")
PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
_ROOT = Path(__file__).resolve().parents[1]


# --- the server ----------------------------------------------------------------------------------------------------


def _backend_cpu_seconds(database_url: str | None) -> dict[int, float] | None:
    """CPU seconds per PostgreSQL backend connected to ``database_url``'s database (``pg_stat_activity``; their
    ``/proc`` entries, so only for a server on this machine), or ``None``."""
    if not database_url or not database_url.startswith("postgresql"):
        return None
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = database_url.split("?", 1)[0].replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            pids = [
                int(row[0])
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
                )
            ]
    except psycopg.Error:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None  # not a local server (or the backend just ended)
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def _machine_ticks() -> tuple[int, int] | None:
    """(all, idle + iowait) clock ticks of every CPU since boot (``/proc/stat``'s first line), or ``None``."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(values[:8]), values[3] + values[4]) if len(values) >= 5 else None


def _cores_busy(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """CPUs busy on average between two :func:`_machine_ticks` readings (every process: the server, PostgreSQL, the
    client and whatever else runs on the machine), or ``None``."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    busy = 1.0 - (after[1] - before[1]) / (after[0] - before[0])
    return busy * (os.cpu_count() or 1)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants (Linux /proc; 0 elsewhere)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        children: dict[int, list[int]] = {}
        stats: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
            stats[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, ValueError, AttributeError):
        return 0.0
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


@dataclass
class IssuerProcess:
    process: subprocess.Popen[bytes]
    base: str  # http://127.0.0.1:port/issuers/demo
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def issuer_server(
    data_dir: Path,
    *,
    database_url: str | None,
    workers: int,
    profile_out: Path | None = None,
    profile_cpu: bool = False,
) -> Iterator[IssuerProcess]:
    """``govssi issuer serve`` on a free port; with ``profile_out`` one process under cProfile (every thread)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    env.update(
        {
            "GOVSSI_DATA_DIR": str(data_dir),
            "GOVSSI_DEV_ALLOW_HTTP": "1",
            "GOVSSI_ISSUER_BOOTSTRAP_KEY": API_KEY,
            "GOVSSI_KEY_PASSPHRASE": "bench passphrase",
            "GOVSSI_TOKEN_RATE_LIMIT": "0",
            "PYTHONPATH": str(_ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    if database_url:
        env["GOVSSI_DATABASE_URL"] = database_url
    serve = ["issuer", "serve", "--port", "0", "--no-chain", "--workers", str(workers)]
    if profile_out is not None:
        clock = ["--cpu"] if profile_cpu else []
        command = [
            sys.executable,
            "-m",
            "bench.issuer_bench",
            "--serve-profiled",
            str(profile_out),
            *clock,
            "--",
            *serve,
        ]
    else:
        command = [sys.executable, "-c", "from govssi.cli import main; main()", *serve]
    log = data_dir / "serve.log"
    with open(log, "ab") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=stderr, cwd=_ROOT)
    server = IssuerProcess(process, "", log)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the issuer did not start: {log.read_text(errors='replace')[-2000:]}")
        ready = json.loads(line)
        server.base = str(ready["credential_issuers"][0])
        yield server
    finally:
        server.stop()


def _serve_profiled(out: Path, argv: list[str], *, cpu: bool = False) -> int:
    """The child of ``--profile``: ``govssi <argv>`` with cProfile in every thread; the merged stats go to ``out``.
    ``cpu``: each thread's CPU time (``time.thread_time``) instead of wall time, so waiting for the database, for locks
    or for the CPU counts nothing."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def new_profile() -> cProfile.Profile:
        return cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()

    def start(_frame: Any, _event: str, _arg: Any) -> None:  # the first event in a new thread
        profile = new_profile()
        with lock:
            profiles.append(profile)
        profile.enable()

    # uvicorn re-raises the SIGTERM it handled once it has shut down: with the default action the process would end
    # before the stats are written.
    signal.signal(signal.SIGTERM, lambda *_: None)

    def reset(_signum: int, _frame: Any) -> None:  # SIGUSR1: the measured step starts now
        with lock:
            for profile in profiles:
                profile.clear()
        _reset_marker(out).touch()  # the parent waits for this before it starts the step

    signal.signal(signal.SIGUSR1, reset)
    main_profile = new_profile()
    profiles.append(main_profile)
    threading.setprofile(start)
    from govssi.cli import main

    main_profile.enable()
    try:
        main(argv)
    except SystemExit:
        pass
    finally:
        main_profile.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        with lock:
            stats = pstats.Stats(profiles[0], stream=io.StringIO())
            for profile in profiles[1:]:
                with contextlib.suppress(TypeError):  # a thread that never recorded anything
                    stats.add(profile)
        stats.dump_stats(str(out))
    return 0


# --- a minimal keep-alive HTTP/1.1 client (asyncio) ----------------------------------------------------------------


class HttpError(Exception):
    pass


class Connections:
    """Keep-alive connections to one host: a flow takes one, sends its requests on it, gives it back."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = head.encode("latin-1") + b"\r\n" + body
        while True:
            reused = bool(self.idle)
            conn = self.idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            writer.write(request)
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                writer.close()
                if reused and not getattr(exc, "partial", b""):
                    # An idle keep-alive connection the server had closed (uvicorn's keep-alive timeout) before the
                    # request arrived: not an answer; send it again on another connection, as HTTP clients do.
                    continue
                raise HttpError(f"connection lost: {exc}") from None
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if "content-length" not in fields:
            writer.close()
            raise HttpError("no Content-Length in the answer")
        payload = await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append(conn)
        return status, fields, payload

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


# --- the workload --------------------------------------------------------------------------------------------------


@dataclass
class Wallet:
    """One flow's material, prepared before the step: the offer's code, a DPoP key, a holder key."""

    code: str
    dpop_key: Any
    holder: Any
    token_proof: str = ""


@dataclass
class StepResult:
    rate: float
    flows: int
    completed: int
    errors: int
    seconds: float
    credentials_per_s: float
    latency_ms: dict[str, dict[str, float]]
    server_cpu_ms_per_credential: float
    client_cpu_ms_per_credential: float
    passed: bool
    first_error: str | None = None
    #: CPU of the PostgreSQL backends serving the issuer's database (local server only; ``None`` otherwise): the
    #: database's share of a credential (the WAL writer and other shared server processes are not included).
    database_cpu_ms_per_credential: float | None = None
    #: CPUs busy on average during the step, machine-wide (``/proc/stat``): near the core count, the machine is
    #: saturated; well above what the server, database and client account for, something else was running.
    machine_cores_busy: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(int(v * 1e6) for v in values)  # µs; _nearest_rank divides by 1000: ms
    return {"p50": _nearest_rank(ordered, 0.50), "p99": _nearest_rank(ordered, 0.99), "max": ordered[-1] / 1000.0}


@dataclass
class Workload:
    base: str
    server_pid: int
    p99_ms: float = 50.0
    offer_threads: int = 4
    dpop_nonce: str | None = None
    log: list[str] = field(default_factory=list)
    #: The issuer's PostgreSQL database (``postgresql+psycopg://…/name``) when its backends' CPU should be measured.
    database_url: str | None = None
    #: The load generator's event loop: "uvloop" (when installed) or "asyncio" (the standard library's).
    client_loop: str = "uvloop"

    def __post_init__(self) -> None:
        parts = urlsplit(self.base)
        self.host, self.port = parts.hostname or "127.0.0.1", int(parts.port or 80)
        self.path = parts.path
        self.token_url, self.credential_url = f"{self.base}/token", f"{self.base}/credential"

    # -- preparation (not measured) --

    def create_offers(self, count: int) -> list[str]:
        """``count`` offers through the admin API; their pre-authorized codes."""
        import httpx

        def batch(n: int) -> list[str]:
            codes = []
            with httpx.Client(timeout=60) as http:
                for _ in range(n):
                    response = http.post(
                        f"{self.base}/admin/offers",
                        headers={"Authorization": f"Bearer {API_KEY}"},
                        json={"credential_configuration_id": TYPE_ID, "claims": CLAIMS, "tx_code": False},
                    )
                    if response.status_code != 201:
                        raise RuntimeError(f"offer refused: {response.status_code} {response.text[:200]}")
                    grants = response.json()["credential_offer"]["grants"]
                    codes.append(grants[PRE_AUTHORIZED]["pre-authorized_code"])
            return codes

        threads = max(1, min(self.offer_threads, count))
        shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            return [code for codes in pool.map(batch, shares) for code in codes]

    def fresh_dpop_nonce(self) -> str:
        import httpx

        response = httpx.post(f"{self.base}/nonce", timeout=30)
        response.raise_for_status()
        return str(response.headers["DPoP-Nonce"])

    def prepare(self, count: int) -> list[Wallet]:
        from ssi.dpop import create_dpop_proof
        from ssi.keys import SoftwareSigner

        codes = self.create_offers(count)
        self.dpop_nonce = self.fresh_dpop_nonce()
        now = time.time()
        wallets = []
        for code in codes:
            wallet = Wallet(code, SoftwareSigner.generate("ES256"), SoftwareSigner.generate("ES256"))
            # Signed now (valid 300 s with the server nonce of now): the step starts right after.
            wallet.token_proof = create_dpop_proof(
                wallet.dpop_key, htm="POST", htu=self.token_url, now=now, nonce=self.dpop_nonce
            )
            wallets.append(wallet)
        return wallets

    # -- one step --

    async def _flow(
        self, wallet: Wallet, scheduled: float, conns: Connections, latencies: dict[str, list[float]]
    ) -> None:
        from ssi.dpop import create_dpop_proof
        from ssi.oid4vci import create_proof_jwt

        clock = time.perf_counter
        form = urlencode({"grant_type": PRE_AUTHORIZED, "pre-authorized_code": wallet.code}).encode()
        status, fields, body = await conns.request(
            "POST",
            f"{self.path}/token",
            {"Content-Type": "application/x-www-form-urlencoded", "DPoP": wallet.token_proof},
            form,
        )
        latencies["token"].append(clock() - scheduled)
        if status != 200:
            raise HttpError(f"token: {status} {body[:200]!r}")
        self.dpop_nonce = fields.get("dpop-nonce", self.dpop_nonce)
        access_token = json.loads(body)["access_token"]
        sent = clock()
        status, fields, body = await conns.request("POST", f"{self.path}/nonce", {})
        latencies["nonce"].append(clock() - sent)
        if status != 200:
            raise HttpError(f"nonce: {status} {body[:200]!r}")
        c_nonce = json.loads(body)["c_nonce"]
        now = time.time()
        proof = create_proof_jwt(wallet.holder, audience=self.base, now=now, nonce=c_nonce)
        dpop = create_dpop_proof(
            wallet.dpop_key,
            htm="POST",
            htu=self.credential_url,
            now=now,
            nonce=fields.get("dpop-nonce", self.dpop_nonce),
            access_token=access_token,
        )
        request = json.dumps({"credential_configuration_id": TYPE_ID, "proofs": {"jwt": [proof]}}).encode()
        sent = clock()
        status, fields, body = await conns.request(
            "POST",
            f"{self.path}/credential",
            {"Content-Type": "application/json", "Authorization": f"DPoP {access_token}", "DPoP": dpop},
            request,
        )
        latencies["credential"].append(clock() - sent)
        if status != 200:
            raise HttpError(f"credential: {status} {body[:200]!r}")
        self.dpop_nonce = fields.get("dpop-nonce", self.dpop_nonce)
        if not json.loads(body)["credentials"][0]["credential"].count("~"):
            raise HttpError("credential: not an SD-JWT")

    async def _step(self, wallets: list[Wallet], rate: float) -> tuple[dict[str, list[float]], int, str | None, float]:
        conns = Connections(self.host, self.port)
        latencies: dict[str, list[float]] = {name: [] for name in REQUESTS}
        errors: list[str] = []
        tasks: list[asyncio.Task[None]] = []

        async def guarded(wallet: Wallet, scheduled: float) -> None:
            try:
                await self._flow(wallet, scheduled, conns, latencies)
            except Exception as exc:  # counted, the first one reported
                errors.append(f"{type(exc).__name__}: {exc}")

        start = time.perf_counter() + 0.02
        for i, wallet in enumerate(wallets):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(guarded(wallet, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        conns.close()
        return latencies, len(errors), (errors[0] if errors else None), elapsed

    def run_step(self, rate: float, seconds: float, *, before: Any = None) -> StepResult:
        count = max(1, round(rate * seconds))
        wallets = self.prepare(count)
        if before is not None:
            before()
        server_cpu = _cpu_seconds(self.server_pid)
        database_before = _backend_cpu_seconds(self.database_url)
        machine_before = _machine_ticks()
        client_cpu = time.process_time()
        # No collections of the generator's heap while it generates load (as bench.verifier_bench): a pause there
        # delays reading every answer in flight and is counted as the server's latency. On uvloop unless
        # ``client_loop`` is "asyncio": the generator shares the two cores with the server and PostgreSQL, so its own
        # CPU per request is capacity taken from them (bench/README.md, issuer, seventh pass).
        if self.client_loop == "asyncio":
            with _collector_paused():
                latencies, errors, first_error, elapsed = asyncio.run(self._step(wallets, rate))
        else:
            latencies, errors, first_error, elapsed = run_generator(self._step(wallets, rate))
        client_cpu = time.process_time() - client_cpu
        machine_cores = _cores_busy(machine_before, _machine_ticks())
        server_cpu = _cpu_seconds(self.server_pid) - server_cpu
        database_after = _backend_cpu_seconds(self.database_url)
        database_cpu: float | None = None
        if database_before is not None and database_after is not None:
            # Backends present at both ends: their CPU during the step (a backend started meanwhile counts whole).
            database_cpu = sum(v - database_before.get(pid, 0.0) for pid, v in database_after.items())
        completed = count - errors
        summary = {name: _summary(values) for name, values in latencies.items()}
        passed = errors == 0 and all(summary[name]["p99"] < self.p99_ms for name in REQUESTS)
        return StepResult(
            rate=rate,
            flows=count,
            completed=completed,
            errors=errors,
            seconds=elapsed,
            credentials_per_s=completed / elapsed if elapsed > 0 else 0.0,
            latency_ms=summary,
            server_cpu_ms_per_credential=1000 * server_cpu / max(1, completed),
            client_cpu_ms_per_credential=1000 * client_cpu / max(1, completed),
            passed=passed,
            first_error=first_error,
            database_cpu_ms_per_credential=None if database_cpu is None else 1000 * database_cpu / max(1, completed),
            machine_cores_busy=machine_cores,
        )


def search(
    workload: Workload,
    *,
    seconds: float,
    start_rate: float,
    max_rate: float,
    refine: int,
    min_rate: float = 1.0,
    on_step: Any = None,
) -> dict[str, Any]:
    """Raise the rate ×1.5 until a step fails (halve it while the first rates fail), then bisect ``refine`` times;
    the best passing step."""
    steps: list[StepResult] = []

    def step(rate: float) -> StepResult:
        result = workload.run_step(rate, seconds)
        steps.append(result)
        if on_step is not None:
            on_step(result)
        return result

    rate, good, bad = start_rate, None, None
    while rate <= max_rate:
        result = step(rate)
        if not result.passed:
            bad = rate
            break
        good = rate
        rate = round(rate * 1.5, 1)
    while good is None and bad is not None and bad / 2 >= min_rate:  # the first step failed: halve
        rate = round(bad / 2, 1)
        if step(rate).passed:
            good = rate
        else:
            bad = rate
    low, high = (good or 0.0), (bad or 0.0)
    if good is not None and bad is not None:
        for _ in range(refine):
            middle = round((low + high) / 2, 1)
            if middle <= low or middle >= high:
                break
            if step(middle).passed:
                low = middle
            else:
                high = middle
    best = max((s for s in steps if s.passed), key=lambda s: s.rate, default=None)
    return {
        "best_rate": best.rate if best else None,
        "best": best.to_json() if best else None,
        "first_failing_rate": high if bad is not None else None,
        "steps": [s.to_json() for s in steps],
    }


# --- databases -----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, data_dir: Path, postgres_url: str, options: str = "") -> Iterator[str | None]:
    """``None`` (SQLite in the data directory) or a fresh PostgreSQL database on ``postgres_url``'s server;
    ``options`` are session settings for the issuer's connections (libpq ``options``, e.g.
    ``-c synchronous_commit=off``)."""
    if kind == "sqlite":
        yield None
        return
    import psycopg

    name = f"govssi_bench_{secrets.token_hex(5)}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}" + (f"?options={quote(options)}" if options else "")
    finally:
        with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_benchmark(
    *,
    databases: Sequence[str] = DATABASES,
    workers: int = 2,
    seconds: float = 5.0,
    rate: float | None = None,
    start_rate: float = 25.0,
    max_rate: float = 1000.0,
    refine: int = 2,
    p99_ms: float = 50.0,
    postgres_url: str = DEFAULT_POSTGRES,
    postgres_options: str = "",
    progress: Any = None,
    client_loop: str = "uvloop",
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in databases:
        data_dir = Path(tempfile.mkdtemp(prefix=f"govssi-issuer-bench-{kind}-"))
        try:
            with (
                database(kind, data_dir, postgres_url, postgres_options) as url,
                issuer_server(data_dir, database_url=url, workers=workers) as server,
            ):
                workload = Workload(
                    server.base, server.process.pid, p99_ms=p99_ms, database_url=url, client_loop=client_loop
                )
                workload.run_step(min(start_rate, 10.0), 1.0)  # warm-up: imports, caches, connections
                report = functools.partial(progress, kind) if progress else None
                if rate is not None:
                    result = workload.run_step(rate, seconds)
                    if report:
                        report(result)
                    results[kind] = {
                        "best_rate": rate if result.passed else None,
                        "best": result.to_json() if result.passed else None,
                        "first_failing_rate": None if result.passed else rate,
                        "steps": [result.to_json()],
                    }
                else:
                    results[kind] = search(
                        workload,
                        seconds=seconds,
                        start_rate=start_rate,
                        max_rate=max_rate,
                        refine=refine,
                        on_step=report,
                    )
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "setup": {
            "workers": workers,
            "seconds_per_step": seconds,
            "p99_limit_ms": p99_ms,
            "type": TYPE_ID,
            "postgres_options": postgres_options,
        },
        "databases": results,
    }


def _reset_marker(out: Path) -> Path:
    return out.with_name(out.name + ".reset")


def _reset_profile(pid: int, out: Path, timeout: float = 30.0) -> None:
    """SIGUSR1 to the profiled server, then wait until its handler has cleared the stats: the signal is handled in
    the server's main thread whenever that thread next runs, which under load could be after the step's first
    requests (they would be partly or not at all in the profile)."""
    marker = _reset_marker(out)
    marker.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the profiled issuer did not reset its profile within {timeout:.0f} s")
        time.sleep(0.005)


def profile_server(
    *,
    kind: str,
    rate: float,
    seconds: float,
    top: int,
    postgres_url: str = DEFAULT_POSTGRES,
    profile_cpu: bool = False,
) -> dict[str, Any]:
    """One step at ``rate`` against one server process under cProfile; per-credential times of the top functions
    (``profile_cpu``: CPU time of each thread instead of wall time)."""
    data_dir = Path(tempfile.mkdtemp(prefix="govssi-issuer-profile-"))
    out = data_dir / "server.prof"
    try:
        with database(kind, data_dir, postgres_url) as url:
            with issuer_server(
                data_dir, database_url=url, workers=1, profile_out=out, profile_cpu=profile_cpu
            ) as server:
                workload = Workload(server.base, server.process.pid)
                workload.run_step(min(rate, 10.0), 1.0)
                pid = server.process.pid
                result = workload.run_step(rate, seconds, before=lambda: _reset_profile(pid, out))
            stats = pstats.Stats(str(out), stream=io.StringIO())
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    count = max(1, result.completed)
    rows = []
    for func, (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func[2] in _WAITS:
            continue
        rows.append(
            {
                "function": _location(func),
                "calls_per_op": calls / count,
                "tottime_us": tottime * 1e6 / count,
                "cumtime_us": cumtime * 1e6 / count,
            }
        )
    busy = sum(r["tottime_us"] for r in rows)
    project = [r for r in rows if r["function"].split("/", 1)[0] in ("issuer", "ssi", "infra")]
    by_package: dict[str, float] = {}
    for r in rows:
        group = _package(r["function"])
        by_package[group] = by_package.get(group, 0.0) + r["tottime_us"]
    return {
        "operation": f"issuer credential flow ({kind}, {rate}/s; all server threads, "
        + ("CPU time per thread)" if profile_cpu else "idle waits left out)"),
        "count": count,
        "profiled_us_per_op": busy,
        # Own time per credential by package; "database round trips" is psycopg waiting for the server's answers.
        "by_package_us": dict(sorted(by_package.items(), key=lambda kv: -kv[1])),
        # Cumulative times of govssi's own functions (they include waiting for locks and the database).
        "by_cumtime": sorted(project, key=lambda r: -r["cumtime_us"])[:top],
        "by_tottime": sorted(rows, key=lambda r: -r["tottime_us"])[:top],
        "step": result.to_json(),
    }


def _package(location: str) -> str:
    """The group a profiled function's own time is reported under (``--profile``'s per-package table)."""
    if location.startswith("psycopg/connection.py") and location.endswith("(wait)"):
        return "database round trips (waiting)"
    head = location.split("/", 1)[0] if "/" in location else location
    if head in ("issuer", "ssi", "infra", "psycopg", "sqlalchemy", "cryptography", "pydantic", "anyio"):
        return head
    if head in ("starlette", "fastapi", "uvicorn", "h11", "httptools"):
        return "http (starlette/fastapi/uvicorn)"
    if "cryptography" in location or "openssl" in location:
        return "cryptography"
    return "other (stdlib, builtins)"


#: Threads waiting for work (idle worker threads, the event loop's epoll): not time spent on a credential.
_WAITS = frozenset(
    {
        "<method 'acquire' of '_thread.lock' objects>",
        "<method '_acquire_restore' of '_thread.RLock' objects>",
        "<method 'poll' of 'select.epoll' objects>",
        "<method 'select' of 'select.epoll' objects>",
    }
)


# --- output --------------------------------------------------------------------------------------------------------


def format_step(kind: str, s: dict[str, Any] | StepResult) -> str:
    row = s.to_json() if isinstance(s, StepResult) else s
    lat = row["latency_ms"]
    parts = " ".join(f"{n} {lat[n]['p50']:.1f}/{lat[n]['p99']:.1f}" for n in REQUESTS)
    verdict = "ok" if row["passed"] else "FAIL"
    error = f"  ({row['errors']} errors: {row['first_error']})" if row["errors"] else ""
    database = row.get("database_cpu_ms_per_credential")
    if database is not None:
        verdict = f"database {database:.1f}  {verdict}"
    cores = row.get("machine_cores_busy")
    if cores is not None:
        verdict = f"machine {cores:.2f} cores busy  {verdict}"
    return (
        f"{kind:<10} {row['rate']:>7.1f}/s {row['credentials_per_s']:>7.1f} cred/s  p50/p99 ms: {parts}  "
        f"cpu ms/cred server {row['server_cpu_ms_per_credential']:.1f} client {row['client_cpu_ms_per_credential']:.1f}"
        f"  {verdict}{error}"
    )


def format_table(report: dict[str, Any]) -> str:
    setup = report["setup"]
    lines = [
        f"issuer pre-authorized flow (token → nonce → credential, DPoP) over loopback HTTP; {setup['workers']} "
        f"uvicorn workers; {setup['seconds_per_step']} s per step; pass: no error and p99 < {setup['p99_limit_ms']} ms "
        "for each request",
        "",
    ]
    for kind, result in report["databases"].items():
        for step in result["steps"]:
            lines.append(format_step(kind, step))
        best = result["best_rate"]
        lines.append(
            f"{kind}: highest passing rate {best}/s"
            + (f" (first failing: {result['first_failing_rate']}/s)" if result["first_failing_rate"] else "")
            if best is not None
            else f"{kind}: no rate passed"
        )
        lines.append("")
    pg = report["databases"].get("postgresql")
    if pg is not None:
        met = pg["best_rate"] is not None and pg["best_rate"] >= 250
        lines.append(f"target ≥ 250 credentials/s with PostgreSQL: {'met' if met else 'NOT met'}")
    return "\n".join(lines).rstrip()


# --- command line --------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve-profiled"]:
        rest, cpu = argv[2:], argv[2:3] == ["--cpu"]
        rest = rest[1:] if cpu else rest
        return _serve_profiled(Path(argv[1]), rest[1:] if rest[:1] == ["--"] else rest, cpu=cpu)
    parser = argparse.ArgumentParser(prog="python -m bench.issuer_bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", default="sqlite,postgresql", help="databases, comma-separated (sqlite,postgresql)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (2)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each step (5)")
    parser.add_argument("--rate", type=float, help="measure this rate only (credentials/s) instead of searching")
    parser.add_argument("--start-rate", type=float, default=25.0, help="first rate of the search (25/s)")
    parser.add_argument("--max-rate", type=float, default=1000.0, help="the search stops here (1000/s)")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps after the first failure (2)")
    parser.add_argument("--p99-ms", type=float, default=50.0, help="p99 limit per request (50 ms)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help=f"PostgreSQL server ({DEFAULT_POSTGRES})")
    parser.add_argument(
        "--postgres-options", default="", help="session settings, e.g. '-c synchronous_commit=off' (what-if runs)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--profile", action="store_true", help="cProfile the server at --rate (default 50/s)")
    parser.add_argument(
        "--profile-cpu", action="store_true", help="with --profile: each thread's CPU time instead of wall time"
    )
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile table (25)")
    parser.add_argument(
        "--client-loop",
        choices=["uvloop", "asyncio"],
        default="uvloop",
        help="the load generator's event loop (uvloop: less of the shared CPU per request)",
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    if not kinds or any(k not in DATABASES for k in kinds):
        parser.error(f"--db takes {', '.join(DATABASES)}")
    if args.workers < 1 or args.seconds <= 0 or (args.rate is not None and args.rate <= 0) or args.start_rate <= 0:
        parser.error("--workers, --seconds, --rate and --start-rate must be positive")
    if args.profile:
        profile = profile_server(
            kind=kinds[0],
            rate=args.rate or 50.0,
            seconds=args.seconds,
            top=args.top,
            postgres_url=args.postgres_url,
            profile_cpu=args.profile_cpu,
        )
        print(json.dumps(profile, indent=2) if args.json else format_profile(profile))
        if not args.json:
            print("\nown time per credential by package (µs, under the profiler):")
            for group, micros in profile["by_package_us"].items():
                print(f"  {micros:>9.1f}  {group}")
            print("\nthe profiled step: " + format_step(kinds[0], profile["step"]))
        return 0

    def progress(kind: str, step: StepResult) -> None:
        if not args.quiet:
            sys.stderr.write(format_step(kind, step) + "\n")
            sys.stderr.flush()

    report = run_benchmark(
        databases=kinds,
        workers=args.workers,
        seconds=args.seconds,
        rate=args.rate,
        start_rate=args.start_rate,
        max_rate=args.max_rate,
        refine=args.refine,
        p99_ms=args.p99_ms,
        postgres_url=args.postgres_url,
        postgres_options=args.postgres_options,
        progress=progress,
        client_loop=args.client_loop,
    )
    report = {"environment": environment(None), **report}
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
