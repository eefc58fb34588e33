"""Verifier benchmark (issue "Verifier II", "Throughput"): OpenID4VP ``direct_post`` verifications over loopback HTTP,
open-loop, and full OpenID Connect logins through the OpenID Provider facade.

Run: ``.venv/bin/python -m bench.verifier_bench [--workers N] [--seconds S] [--start-rate R] [--max-rate R]
[--login-clients C] [--login-seconds S] [--json] [--profile]``.

Setup (all on 127.0.0.1): ``--workers`` uvicorn processes (default 2), each accepting on its own listening socket
of one ``SO_REUSEPORT`` group (``govssi.cli._serving.worker_sockets``, as ``govssi verifier serve --workers N``),
serve the verifier app (``verifier.create_app`` with the OpenID Provider mounted); sessions live in **Redis**
(``GOVSSI_REDIS_URL``, default ``redis://127.0.0.1:6379/0``; a fresh key prefix, deleted afterwards; the verifier's
store, ``verifier.VerifierRedisStore``, as ``build_verifier`` picks for ``GOVSSI_REDIS_URL``) so any worker
serves any step, as several verifier instances would. Trust and status are cached: the issuer is accredited in an
in-memory trust policy (the chain's answers; the chain's own lookups are measured by ``bench.trust_bench``) and the
status list is fetched once per worker and then served from the verifier's status cache (``status_max_age``).
The workers verify as the product does by default: each response in one of the worker's own verification threads
(``GOVSSI_VERIFIER_VERIFY_THREADS``, default 2); ``--verify-on-event-loop`` measures
``GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP`` instead (nothing in a verification waits on the network here).

**direct_post verifications** — what is measured is the Response URI, ``POST /response/{state}``, each carrying one
SD-JWT VC PID presentation (``given_name``, ``family_name``, ``birthdate`` disclosed, KB-JWT) for a session created
beforehand (``PresentationService.create``, preset ``pid_identification``, ``direct_post``). Per request the server
parses the form, reads the session and checks ``state``, verifies the issuer signature, the ``x5c`` chain, the
Disclosures, the KB-JWT (``aud``, ``nonce``, ``iat``, ``sd_hash``), accreditation and status, evaluates the DCQL
query, then takes the single-use nonce and stores the result (one Lua script: two Redis round trips in all).
Presentations are prepared before each step (the wallet's work is not measured).
**Open loop**: request *i* is due at ``t0 + i/rate``, whenever the previous ones finish; its latency runs from the
moment it was due to the end of the answer, so queueing counts. A load generator of raw HTTP/1.1 keep-alive
connections (asyncio, prebuilt requests) runs in this process. The rate grows by ``--step`` from ``--start-rate``
until p99 ≥ 25 ms, an error, or the server falls behind (achieved < 97 % of offered), then ``--refine`` bisection
steps (default 2) between the highest passing and that failing rate; the result is the highest rate that passed.

**OIDC logins** — closed loop, ``--login-clients`` threads, each repeating a whole login as browser, wallet and
portal: ``GET /authorize`` (code flow, PKCE S256) → the login page → the wallet fetches the Request Object
(``request_uri_method=post``), verifies it (x509_hash to the verifier's CA), presents → the browser follows the
wallet's redirect and gets the code → ``POST /token`` (``client_secret_basic``) → the ID Token. The clients share the
machine with the server, so this is the rate of the whole system on this machine, not of the verifier alone.

``--profile``: cProfile over in-process ``PresentationService.handle_response`` calls (no HTTP), top functions, and
the in-process cost per verification next to the HTTP latency at a low rate — where the time goes. With py-spy
installed (``pip install py-spy``), also one worker process sampled under open-loop load (``--profile-rate``,
``--profile-seconds``): the share of samples per bucket (HTTP/ASGI, thread hand-off, credential checks, session
store) and per function, HTTP stack included.

``--store postgres``: sessions in the SQL store (``infra.ephemeral.SqlEphemeralStore``) on PostgreSQL
(``--postgres-url``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; a fresh table, dropped
afterwards) instead of Redis. Each step also reports p90, the load generator's CPU per request and the machine's load
average (a shared machine shows up in p99 first).
Figures are never asserted in tests (tests/bench/test_verifier_bench_smoke.py runs a tiny configuration).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import cProfile
import dataclasses
import gc
import hashlib
import html
import io
import json
import multiprocessing
import os
import pstats
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

P99_LIMIT_MS = 25.0
CLIENT_SECRET = "bench-portal-client-secret-" + "b" * 20
PORTAL_CB = "https://portal.bench.example/cb"
PID_VCT = "urn:eudi:pid:de:1"
ISSUER_URL = "https://pid.bench.example/issuer"
STATUS_URI = "https://pid.bench.example/status/1"
PID_CLAIMS = {
    "given_name": "ERIKA",
    "family_name": "MUSTERMANN",
    "birthdate": "1964-08-12",
    "place_of_birth": {"locality": "BERLIN"},
    "nationalities": ["DE"],
    "age_equal_or_over": {"12": True, "14": True, "16": True, "18": True, "21": True, "65": False},
    "issuing_country": "DE",
    "source_document_type": "id_card",
}
DISCLOSABLE = [
    ("given_name",),
    ("family_name",),
    ("birthdate",),
    ("place_of_birth",),
    ("nationalities",),
    ("age_equal_or_over",),
    *[("age_equal_or_over", age) for age in ("12", "14", "16", "18", "21", "65")],
]
DISCLOSED = [("given_name",), ("family_name",), ("birthdate",)]


# --- the parties' material (plain data, so worker processes get it as arguments) ------------------------------------


@dataclass(frozen=True)
class Material:
    issuer_ca_pem: bytes
    status_token: str
    holder_jwk: dict[str, str]
    credential: str
    verifier_key_jwk: dict[str, str]
    verifier_chain_pem: bytes
    verifier_ca_pem: bytes
    issuer_spki: bytes
    redis_url: str
    prefix: str
    oidc_dir: str
    data_dir: str
    #: ``redis`` (``redis_url``, ``prefix``) or ``postgres`` (the SQL store on ``sql_url``, table ``sql_table``)
    store: str = "redis"
    sql_url: str | None = None
    sql_table: str = "ephemeral_state"
    #: ``VerifierSettings.verify_on_event_loop`` (GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP; off, as by default, unless
    #: ``--verify-on-event-loop``)
    verify_on_event_loop: bool = False


def make_material(redis_url: str, directory: Path, prefix: str | None = None) -> Material:
    from ssi.keys import PrivateKey, SoftwareSigner
    from ssi.sd_jwt.vc import issue_sd_jwt_vc
    from ssi.status_list import StatusList, issue_status_list_token
    from ssi.x509 import certificate_to_pem, issue_certificate, make_self_signed_ca, spki_sha256, x5c_chain
    from verifier.keys import VerifierCa
    from verifier.oidc import OidcSettings, load_id_token_signer, load_pairwise_secret

    now = time.time()
    ca_key, key, holder = PrivateKey.generate("ES256"), PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
    ca = make_self_signed_ca(ca_key, "Bench PID CA", now=now - 86400)
    leaf = issue_certificate(
        ca, ca_key, key.public_key, "Bench PID Provider", now=now - 86400, uris=[ISSUER_URL], dns_names=[]
    )
    header = {"x5c": x5c_chain([leaf])}
    status = issue_status_list_token(
        StatusList(1024, bits=2),
        uri=STATUS_URI,
        signer=SoftwareSigner(key),
        iat=int(now),
        exp=int(now) + 86400,
        ttl=86400,
        header=header,
    )
    credential = issue_sd_jwt_vc(
        PID_CLAIMS,
        SoftwareSigner(key),
        vct=PID_VCT,
        issuer=ISSUER_URL,
        holder_jwk=holder.public_key,
        status={"status_list": {"idx": 7, "uri": STATUS_URI}},
        disclosable=DISCLOSABLE,
        valid_for=14 * 86400,
        header=header,
    ).compact
    verifier_ca = VerifierCa.generate(now=now - 3600)
    verifier_key = PrivateKey.generate("ES256")
    verifier_leaf = verifier_ca.certify(verifier_key, "http://127.0.0.1", now=now - 3600, name="Bench Verifier")
    oidc_dir = directory / "oidc"
    load_id_token_signer(oidc_dir, None)  # created once here, read by every worker
    load_pairwise_secret(OidcSettings(), oidc_dir)
    return Material(
        issuer_ca_pem=certificate_to_pem(ca),
        status_token=status,
        holder_jwk=holder.private_jwk(),
        credential=credential,
        verifier_key_jwk=verifier_key.private_jwk(),
        verifier_chain_pem=certificate_to_pem(verifier_leaf),
        verifier_ca_pem=certificate_to_pem(verifier_ca.certificate),
        issuer_spki=spki_sha256(leaf),
        redis_url=redis_url,
        prefix=prefix or f"govssi:bench:{secrets.token_hex(6)}:",
        oidc_dir=str(oidc_dir),
        data_dir=str(directory),
    )


class CachedTrust:
    """:class:`verifier.IssuerTrust` with the chain's answers at hand (accredited, anchored, no compromise marks)."""

    def __init__(self, spki: bytes) -> None:
        self.spki = spki

    @property
    def registry_id(self) -> str | None:
        return "eip155:1337:0x" + "ab" * 20

    def standing(self, issuer: str | bytes, credential_type: str, *, issued_at: float, now: float) -> Any:
        from verifier import IssuerStanding

        if issuer != self.spki or credential_type != PID_VCT:
            return IssuerStanding("issuer_not_accredited")
        return IssuerStanding(None, "did:ethr:0x539:0x" + "1b" * 20, {"credential_types": [PID_VCT]})

    def status_list_state(self, issuer_did: str, uri: str, token_sha256: bytes) -> str:
        return "current"

    def key_compromised(self, did: str, key: Any) -> bool:
        return False

    def status_list_signer(self, cert_key_sha256: bytes, *, now: float) -> str | None:
        """The issuer's one accredited certificate key (the status list is signed with the credential's own key)."""
        return "did:ethr:0x539:0x" + "1b" * 20 if cert_key_sha256 == self.spki else None


def session_store(material: Material) -> Any:
    """The shared session store of every worker: Redis (``GOVSSI_REDIS_URL``) or the SQL store on PostgreSQL."""
    if material.store == "postgres":
        from infra.db import create_engine
        from infra.ephemeral import SqlEphemeralStore

        assert material.sql_url is not None
        return SqlEphemeralStore(create_engine(material.sql_url), table=material.sql_table)
    from verifier import VerifierRedisStore  # what build_verifier uses for GOVSSI_REDIS_URL

    return VerifierRedisStore(material.redis_url, prefix=material.prefix)


def drop_store(material: Material) -> None:
    """Delete what the benchmark stored: its Redis keys, or its own table."""
    if material.store == "postgres":
        import sqlalchemy as sa

        from infra.db import create_engine

        assert material.sql_url is not None
        engine = create_engine(material.sql_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{material.sql_table}"'))
        engine.dispose()
        return
    from infra.ephemeral import RedisEphemeralStore

    RedisEphemeralStore(material.redis_url, prefix=material.prefix).delete_prefix()


def build(material: Material, public_url: str) -> tuple[Any, Any, Any]:
    """``(settings, PresentationService, OpenIdProvider)`` of one verifier instance on the shared Redis store."""
    from ssi.fetch import FetchResponse
    from ssi.keys import PrivateKey, SoftwareSigner
    from ssi.status_list import STATUS_LIST_JWT_MEDIA_TYPE
    from ssi.x509 import load_pem_certificates
    from verifier import RequestSigningKeys, VerifierSettings, build_verifier
    from verifier.oidc import OidcSettings, PortalRegistry, build_provider

    def fetch(url: str) -> FetchResponse:
        if url != STATUS_URI:
            return FetchResponse(404, b"")
        return FetchResponse(200, material.status_token.encode("ascii"), STATUS_LIST_JWT_MEDIA_TYPE)

    settings = VerifierSettings(
        data_dir=Path(material.data_dir),
        public_url=public_url,
        dev_allow_http=True,
        status_max_age=3600,
        verify_on_event_loop=material.verify_on_event_loop,
    )
    keys = RequestSigningKeys(
        SoftwareSigner(PrivateKey.from_jwk(material.verifier_key_jwk)),
        tuple(load_pem_certificates(material.verifier_chain_pem)),
    )
    service = build_verifier(
        settings,
        store=session_store(material),
        keys=keys,
        trust=CachedTrust(material.issuer_spki),
        key_history=None,
        did_resolver=None,
        anchors=load_pem_certificates(material.issuer_ca_pem),
        fetcher=fetch,
    )
    registry = PortalRegistry.from_document(
        {
            "clients": [
                {
                    "client_id": "bench-portal",
                    "redirect_uris": [PORTAL_CB],
                    "client_secret": CLIENT_SECRET,
                    "scopes": ["pid_basic", "age_over_18"],
                }
            ]
        }
    )
    provider = build_provider(
        settings, service, oidc_settings=OidcSettings(keys_dir=Path(material.oidc_dir)), registry=registry
    )
    return settings, service, provider


# --- the server: worker processes on one listening socket ------------------------------------------------------------


def _serve(material: Material, sock: socket.socket, public_url: str, http: str = "auto", loop: str = "auto") -> None:
    import logging

    import uvicorn

    from verifier import create_app

    logging.disable(logging.WARNING)  # no per-request log lines in the measurement
    settings, service, provider = build(material, public_url)
    app = create_app(settings, service=service, oidc=provider)
    config = uvicorn.Config(
        app,
        log_level="error",
        access_log=False,
        lifespan="off",
        backlog=4096,
        http=http,
        loop=loop,
    )
    # the socket object itself, not ``fd=``: uvicorn takes an fd for an AF_UNIX socket, and asyncio sets TCP_NODELAY
    # only on IPPROTO_TCP sockets — otherwise Nagle held every answer after a connection's first for ~40 ms
    uvicorn.Server(config).run(sockets=[sock])


@contextlib.contextmanager
def verifier_workers(
    material: Material, workers: int, *, http: str = "auto", loop: str = "auto"
) -> Iterator[tuple[str, list[int]]]:
    from govssi.cli._serving import worker_sockets

    # as `govssi verifier serve --workers N`: one listening socket per worker, one SO_REUSEPORT group (the kernel
    # hashes each connection to a worker; one shared socket let the first worker to wake accept most of them)
    sockets = worker_sockets("127.0.0.1", 0, workers, backlog=4096)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_serve, args=(material, sockets[i % len(sockets)], url, http, loop), daemon=True)
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        import httpx

        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the verifier workers did not start")
            time.sleep(0.05)
        yield url, [int(process.pid or 0) for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)
        for sock in sockets:
            sock.close()


# --- direct_post: prepared requests and the open-loop generator ------------------------------------------------------


def prepare(service: Any, material: Material, count: int, host: str) -> list[bytes]:
    """``count`` sessions and, for each, the raw HTTP request that answers it (a fresh KB-JWT per session). Sessions
    are created from a few threads: creating one is four store round trips."""
    from concurrent.futures import ThreadPoolExecutor

    from ssi.encoding import json_dumps
    from ssi.keys import PrivateKey, SoftwareSigner
    from ssi.sd_jwt import HeldSdJwt

    held = HeldSdJwt.parse(material.credential)
    holder = SoftwareSigner(PrivateKey.from_jwk(material.holder_jwk))
    query, purpose = service.query_for(preset="pid_identification")

    def one(_: int) -> bytes:
        created = service.create(query, response_mode="direct_post", purpose=purpose)
        session = service.store.get("vp_session", created.request_id)
        presentation = held.present(DISCLOSED, holder=holder, audience=created.client_id, nonce=session["nonce"])
        body = urlencode({"vp_token": json_dumps({"pid": [presentation]}), "state": created.request_id})
        head = (
            f"POST /response/{created.request_id} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return (head + body).encode("ascii")

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(count)))


def cpu_seconds(pids: Sequence[int]) -> float | None:
    """User + system CPU time of the worker processes (Linux ``/proc/<pid>/stat``), or ``None`` elsewhere."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    except (OSError, IndexError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class StepResult:
    rate: float
    sent: int
    ok: int
    errors: int
    achieved: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    #: CPU time the worker processes spent per request (all of it: HTTP, verification, store client)
    server_cpu_ms: float | None = None
    p90_ms: float = float("nan")
    #: CPU time per request of this process (the load generator shares the machine)
    generator_cpu_ms: float = float("nan")
    #: the machine's 1-minute load average after the step (other work shows in p99 first)
    load_1m: float = float("nan")

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.p99_ms < P99_LIMIT_MS and self.achieved >= 0.97 * self.rate


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def _open_loop(host: str, port: int, requests: list[bytes], rate: float, connections: int) -> StepResult:
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()

    async def one(request: bytes, due: float) -> None:
        nonlocal errors
        reader, writer = await idle.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
            latencies.append(loop.time() - due)
        except (OSError, asyncio.IncompleteReadError, AttributeError):
            errors += 1
            reader, writer = await asyncio.open_connection(host, port)
        idle.put_nowait((reader, writer))

    tasks = []
    start = loop.time() + 0.01
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(request, due)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    while not idle.empty():
        _r, writer = idle.get_nowait()
        writer.close()
    ms = [x * 1000 for x in latencies]
    return StepResult(
        rate=rate,
        sent=len(requests),
        ok=len(requests) - errors,
        errors=errors,
        achieved=len(requests) / elapsed,
        p50_ms=_percentile(ms, 0.50),
        p99_ms=_percentile(ms, 0.99),
        max_ms=max(ms) if ms else float("nan"),
        p90_ms=_percentile(ms, 0.90),
    )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process while it generates load: a full collection of the benchmark's
    heap (the verifier built in-process, the prepared requests) took about 45 ms, during which no answer was read,
    and was counted as the server's latency — the p99 of 700/s runs was 35-60 ms from that alone (p90 2.4 ms)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def run_generator(coroutine: Any) -> Any:
    """Run the load generator on uvloop when installed (less of the shared machine's CPU per request than the
    pure-Python loop; its CPU is reported as ``gen CPU ms``), without garbage-collection pauses of its own."""
    with _collector_paused():
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
            return asyncio.run(coroutine)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coroutine)


def http_floor(url: str, pids: Sequence[int], *, count: int = 600, rate: float = 200.0) -> dict[str, Any]:
    """The HTTP stack alone: ``GET /healthz`` (uvicorn, the middlewares, routing, one store read) at a modest rate —
    its server CPU per request is the part of a verification's CPU that is not the verification."""
    parts = urlsplit(url)
    request = f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode("ascii")
    before = cpu_seconds(pids)
    result = run_generator(_open_loop(parts.hostname or "127.0.0.1", parts.port or 80, [request] * count, rate, 16))
    after = cpu_seconds(pids)
    cpu = (after - before) * 1000 / count if before is not None and after is not None and pids else None
    return {"requests": count, "errors": result.errors, "p50_ms": result.p50_ms, "server_cpu_ms": cpu}


def direct_post_search(
    service: Any,
    material: Material,
    url: str,
    *,
    start: float,
    step: float,
    max_rate: float,
    seconds: float,
    connections: int,
    pids: Sequence[int] = (),
    refine: int = 0,
) -> list[StepResult]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    # warm-up: every worker loads the status list and warms its caches
    run_generator(_open_loop(host, port, prepare(service, material, 200, parts.netloc), 200, 16))

    def measure(rate: float) -> StepResult:
        requests = prepare(service, material, int(rate * seconds), parts.netloc)
        cpu_before, own_before = cpu_seconds(pids), time.process_time()
        result = run_generator(_open_loop(host, port, requests, rate, connections))
        result.generator_cpu_ms = (time.process_time() - own_before) * 1000 / max(result.sent, 1)
        result.load_1m = os.getloadavg()[0]
        cpu_after = cpu_seconds(pids)
        if cpu_before is not None and cpu_after is not None and pids:
            result.server_cpu_ms = (cpu_after - cpu_before) * 1000 / max(result.sent, 1)
        return result

    results = []
    rate = start
    while rate <= max_rate:
        results.append(measure(rate))
        if not results[-1].passed:
            break
        rate *= step
    # between the highest passing and the first failing rate: ``refine`` bisection steps
    passed = [result.rate for result in results if result.passed]
    if passed and not results[-1].passed:
        low, high = max(passed), results[-1].rate
        for _ in range(refine):
            result = measure(round((low + high) / 2))
            results.append(result)
            low, high = (result.rate, high) if result.passed else (low, result.rate)
    return results


def store_roundtrip(store: Any, count: int = 300) -> dict[str, float]:
    """One session-store command (a GET of a missing key) from this process: the floor under every store access."""
    times = []
    for _ in range(count):
        began = time.perf_counter()
        store.get("bench_probe", "missing")
        times.append((time.perf_counter() - began) * 1000)
    return {"p50_ms": _percentile(times, 0.5), "p99_ms": _percentile(times, 0.99)}


# --- full OIDC logins ----------------------------------------------------------------------------------------------


def one_login(http: Any, url: str, material: Material, policy: Any, held: Any, holder: Any) -> None:
    from ssi.oid4vp import (
        parse_authorization_request_link,
        request_uri_post_form,
        response_form,
        verify_request_object,
    )

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": "bench-portal",
        "redirect_uri": PORTAL_CB,
        "scope": "openid pid_basic",
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    http.cookies.clear()
    started = http.get(f"{url}/authorize", params=params)
    assert started.status_code == 303, started.text
    page = http.get(f"{url}/authorize/login")
    link = html.unescape(re.search(r'id="same-device" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    ref = parse_authorization_request_link(link)
    wallet_nonce = secrets.token_urlsafe(16)
    answer = http.post(ref.request_uri, data=request_uri_post_form(wallet_nonce, {"vp_formats_supported": {}}))
    request = verify_request_object(answer.text, ref, policy, wallet_nonce=wallet_nonce).request
    presentation = held.present(
        [*DISCLOSED, ("place_of_birth",)], holder=holder, audience=request.client_id, nonce=request.nonce
    )
    posted = http.post(request.response_uri, data=response_form(request, {"pid": [presentation]}))
    assert posted.status_code == 200, posted.text
    back = http.get(posted.json()["redirect_uri"])
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    auth = base64.b64encode(f"bench-portal:{CLIENT_SECRET}".encode()).decode()
    token = http.post(
        f"{url}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": PORTAL_CB, "code_verifier": verifier},
        headers={"Authorization": f"Basic {auth}"},
    )
    assert token.status_code == 200 and "id_token" in token.json(), token.text


def oidc_logins(url: str, material: Material, *, clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    from ssi.keys import PrivateKey, SoftwareSigner
    from ssi.oid4vp import WalletRequestPolicy
    from ssi.sd_jwt import HeldSdJwt
    from ssi.x509 import load_pem_certificates

    policy = WalletRequestPolicy(x509_anchors=load_pem_certificates(material.verifier_ca_pem), allow_http_loopback=True)
    held = HeldSdJwt.parse(material.credential)
    holder = SoftwareSigner(PrivateKey.from_jwk(material.holder_jwk))
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(timeout=30, follow_redirects=False) as http:
            one_login(http, url, material, policy, held, holder)  # warm-up, not counted
            while True:  # at least one counted login per client
                began = time.perf_counter()
                try:
                    one_login(http, url, material, policy, held, holder)
                except (AssertionError, httpx.HTTPError, KeyError) as exc:
                    with lock:
                        failures.append(type(exc).__name__)
                    if time.monotonic() >= stop:
                        break
                    continue
                with lock:
                    latencies.append(time.perf_counter() - began)
                if time.monotonic() >= stop:
                    break

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ms = [x * 1000 for x in latencies]
    return {
        "clients": clients,
        "logins": len(latencies),
        "failures": len(failures),
        "logins_per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(ms, 0.5),
        "p99_ms": _percentile(ms, 0.99),
    }


# --- profile -------------------------------------------------------------------------------------------------------


def profile(service: Any, material: Material, count: int, top: int) -> dict[str, Any]:
    """In-process ``handle_response`` (no HTTP): the cost per verification and the functions it spends it in."""
    from urllib.parse import parse_qsl

    requests = prepare(service, material, count + 50, "bench")
    forms = []
    for raw in requests:
        head, body = raw.split(b"\r\n\r\n", 1)
        state = head.split(b" ")[1].decode().rsplit("/", 1)[1]
        forms.append((state, dict(parse_qsl(body.decode()))))
    for state, form in forms[:50]:
        service.handle_response(state, form)
    measured = forms[50:]
    began = time.perf_counter()
    profiler = cProfile.Profile()
    profiler.enable()
    for state, form in measured:
        service.handle_response(state, form)
    profiler.disable()
    per_call_ms = (time.perf_counter() - began) * 1000 / len(measured)
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).sort_stats("tottime")
    stats.print_stats(top)
    # plain timing without the profiler's overhead
    requests = prepare(service, material, count, "bench")
    plain = []
    cpu_began = time.process_time()
    for raw in requests:
        head, body = raw.split(b"\r\n\r\n", 1)
        state = head.split(b" ")[1].decode().rsplit("/", 1)[1]
        form = dict(parse_qsl(body.decode()))
        t = time.perf_counter()
        service.handle_response(state, form)
        plain.append((time.perf_counter() - t) * 1000)
    cpu_ms = (time.process_time() - cpu_began) * 1000 / len(requests)
    return {
        "calls": len(measured),
        "handle_response_cpu_ms": cpu_ms,
        "handle_response_ms_profiled": per_call_ms,
        "handle_response_p50_ms": statistics.median(plain),
        "top": stream.getvalue(),
    }


# --- profile of one worker under load (py-spy) ----------------------------------------------------------------------

#: innermost frames of a thread that waits for work (idle worker threads, the event loop's poll)
_WAITS = ("Condition.wait (threading.py)", "EpollSelector.select (selectors.py)", "Queue.get (queue.py)")
#: where the samples of a request go: the first of these found on the stack (innermost first) names its bucket
_BUCKETS = (
    (
        "session store (client and round trips)",
        ("RedisEphemeralStore.", "VerifierRedisStore.", "SqlEphemeralStore.", "take_and_write ("),
    ),
    ("credential checks (verify_vp_token)", ("verify_vp_token (",)),
    ("rest of handle_response", ("PresentationService.handle_response (",)),
    ("thread hand-off (run_in_threadpool)", ("run_in_threadpool (", "WorkerThread.run (")),
    (
        "HTTP, ASGI and middleware",
        ("H11Protocol.", "HttpToolsProtocol.", "RequestResponseCycle.", "Starlette.", "FastAPI."),
    ),
)


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def summarise_samples(lines: Sequence[str], top: int) -> dict[str, Any]:
    """py-spy ``raw`` (collapsed) stacks → busy samples, buckets, and the top functions by self and inclusive share.
    Samples whose innermost frame is a wait (:data:`_WAITS`) are idle and left out."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    buckets: collections.Counter[str] = collections.Counter()
    busy = idle = 0
    for line in lines:
        stack, _, count_text = line.strip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")[1:]]  # [0] names the thread
        if not frames or frames[-1] in _WAITS:
            idle += count
            continue
        busy += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
        for name, markers in _BUCKETS:
            if any(marker in frame for frame in frames for marker in markers):
                buckets[name] += count
                break
        else:
            buckets["other (event loop: uvloop's C code shows as Runner.run; GC, ...)"] += count

    def shares(counter: collections.Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, 100.0 * c / busy) for name, c in counter.most_common(n)] if busy else []

    return {
        "busy_samples": busy,
        "idle_samples": idle,
        "buckets": shares(buckets, len(_BUCKETS) + 1),
        "self": shares(own, top),
        "inclusive": shares(inclusive, top * 3),
    }


def worker_profile(
    service: Any,
    material: Material,
    url: str,
    pids: Sequence[int],
    *,
    rate: float,
    seconds: float,
    connections: int,
    top: int,
) -> dict[str, Any]:
    """Sample one worker process with py-spy (every thread, 500 Hz) while the open-loop generator offers ``rate``
    verifications/s for ``seconds``: where a worker's time goes under load, HTTP stack included."""
    spy = _py_spy()
    if spy is None or not pids:
        return {"available": False, "note": "py-spy is not installed (pip install py-spy): no worker profile"}
    parts = urlsplit(url)
    requests = prepare(service, material, max(1, int(rate * seconds)), parts.netloc)
    with tempfile.TemporaryDirectory(prefix="govssi-verifier-spy-") as tmp:
        out = Path(tmp) / "stacks.txt"
        command = [spy, "record", "--pid", str(pids[0]), "--rate", "500", "--format", "raw", "--output", str(out)]
        sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # attached before the first request
        step = run_generator(_open_loop(parts.hostname or "127.0.0.1", parts.port or 80, requests, rate, connections))
        sampler.send_signal(signal.SIGINT)
        _stdout, stderr = sampler.communicate(timeout=60)
        if not out.exists():
            return {"available": False, "note": f"py-spy failed: {stderr.decode(errors='replace').strip()[-300:]}"}
        summary = summarise_samples(out.read_text().splitlines(), top)
    return {"available": True, "pid": pids[0], "rate": rate, "requests": step.sent, "errors": step.errors, **summary}


# --- main ------------------------------------------------------------------------------------------------------------


def format_worker_profile(spy: dict[str, Any]) -> str:
    if not spy.get("available"):
        return f"worker profile: {spy.get('note')}"
    lines = [
        f"worker profile (py-spy, worker pid {spy['pid']}, {spy['rate']:.0f} verifications/s offered, "
        f"{spy['requests']} requests, {spy['errors']} errors): {spy['busy_samples']} samples of threads at work "
        "or waiting for I/O "
        f"({spy['idle_samples']} of idle threads left out); share:"
    ]
    lines += [f"  {share:5.1f}%  {name}" for name, share in spy["buckets"]]
    lines.append("  innermost function (self):")
    lines += [f"    {share:5.1f}%  {name}" for name, share in spy["self"]]
    lines.append("  on the stack (inclusive):")
    lines += [f"    {share:5.1f}%  {name}" for name, share in spy["inclusive"]]
    return "\n".join(lines)


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"verifier benchmark — {report['workers']} worker process(es) (uvicorn http={report.get('http', 'auto')}, "
        f"loop={report.get('loop', 'auto')}; verification "
        f"{'on the event loop' if report.get('verify_on_event_loop') else 'in a thread'}), "
        f"{os.cpu_count()} CPU(s), sessions in "
        f"{report.get('store', 'redis')}; load average before: "
        + " ".join(f"{x:.2f}" for x in report.get("load_before", []))
    ]
    lines.append("direct_post verifications over loopback HTTP, open loop (p99 limit 25 ms):")
    columns = ("offered/s", "achieved/s", "ok", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms")
    columns += ("server CPU ms/req", "gen CPU ms", "load")
    widths = (10, 11, 7, 7, 8, 8, 8, 8, 18, 10, 5)
    lines.append("  " + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for step in report["direct_post"]["steps"]:
        lines.append(
            f"  {step['rate']:>10.0f} {step['achieved']:>11.0f} {step['ok']:>7} {step['errors']:>7} "
            f"{step['p50_ms']:>8.1f} {step.get('p90_ms', float('nan')):>8.1f} {step['p99_ms']:>8.1f} "
            f"{step['max_ms']:>8.1f} "
            f"{step['server_cpu_ms'] if step['server_cpu_ms'] is not None else float('nan'):>18.2f} "
            f"{step.get('generator_cpu_ms', float('nan')):>10.2f} {step.get('load_1m', float('nan')):>5.1f}"
            f"{'' if step['passed'] else '  ✗'}"
        )
    trip = report.get("store_roundtrip")
    if trip:
        lines.append(
            f"  one {report.get('store', 'redis')} round trip from this process: p50 {trip['p50_ms']:.2f} ms, "
            f"p99 {trip['p99_ms']:.2f} ms"
        )
    floor = report.get("http_floor")
    if floor and floor.get("server_cpu_ms") is not None:
        lines.append(
            f"  the HTTP stack alone (GET /healthz): {floor['server_cpu_ms']:.2f} ms of server CPU per request"
        )
    best = report["direct_post"]["highest_passing_rate"]
    lines.append(f"  highest rate with p99 < 25 ms: {best:.0f} verifications/s" if best else "  no rate passed")
    login = report.get("oidc_login")
    if login:
        lines.append(
            f"OIDC logins (authorize → OID4VP → token), closed loop, {login['clients']} clients: "
            f"{login['logins_per_s']:.1f} logins/s, p50 {login['p50_ms']:.0f} ms, p99 {login['p99_ms']:.0f} ms, "
            f"{login['failures']} failures"
        )
    prof = report.get("profile")
    if prof:
        lines.append(
            f"in-process handle_response: p50 {prof['handle_response_p50_ms']:.2f} ms per verification, "
            f"{prof['handle_response_cpu_ms']:.2f} ms of CPU (profiled {prof['handle_response_ms_profiled']:.2f} ms)"
        )
        lines.append(prof["top"])
    spy = report.get("worker_profile")
    if spy:
        lines.append(format_worker_profile(spy))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verifier_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0, help="per rate step")
    parser.add_argument("--start-rate", type=float, default=200.0)
    parser.add_argument("--step", type=float, default=1.25)
    parser.add_argument(
        "--refine",
        type=int,
        default=2,
        help="bisection steps between the highest passing and the first failing rate (default 2; 0: none)",
    )
    parser.add_argument("--max-rate", type=float, default=5000.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--login-clients", type=int, default=4)
    parser.add_argument("--login-seconds", type=float, default=5.0)
    parser.add_argument("--redis-url", default=os.environ.get("GOVSSI_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--redis-prefix", default=None, help="key prefix (default: a fresh one, deleted afterwards)")
    parser.add_argument("--store", choices=["redis", "postgres"], default="redis", help="the shared session store")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("GOVSSI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="with --store postgres (a fresh table, dropped afterwards)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile handle_response in-process and one worker with py-spy"
    )
    parser.add_argument("--profile-rate", type=float, default=300.0, help="offered rate while py-spy samples")
    parser.add_argument("--profile-seconds", type=float, default=5.0)
    parser.add_argument("--profile-calls", type=int, default=2000)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument(
        "--http",
        choices=["auto", "httptools", "h11"],
        default="auto",
        help="uvicorn's HTTP parser in the workers (auto: httptools when installed)",
    )
    parser.add_argument(
        "--loop",
        choices=["auto", "uvloop", "asyncio"],
        default="auto",
        help="the workers' event loop (auto: uvloop when installed)",
    )
    parser.add_argument(
        "--verify-on-event-loop",
        action="store_true",
        help="verify each response on the worker's event loop (GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP) instead of in the "
        "worker's verification threads (the default; GOVSSI_VERIFIER_VERIFY_THREADS)",
    )
    parser.add_argument(
        "--verify-in-thread",
        action="store_true",
        help="the default (kept so that earlier commands still run): verify in the worker's verification threads",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="govssi-verifier-bench-") as tmp:
        material = make_material(args.redis_url, Path(tmp), args.redis_prefix)
        if args.verify_on_event_loop and args.verify_in_thread:
            parser.error("--verify-on-event-loop and --verify-in-thread exclude each other")
        material = dataclasses.replace(material, verify_on_event_loop=args.verify_on_event_loop)
        if args.store == "postgres":
            material = dataclasses.replace(
                material,
                store="postgres",
                sql_url=args.postgres_url,
                sql_table=f"bench_ephemeral_{secrets.token_hex(6)}",
            )
            session_store(material)  # the table, created once before the workers start
        report: dict[str, Any] = {
            "workers": args.workers,
            "store": args.store,
            "http": args.http,
            "loop": args.loop,
            "verify_on_event_loop": material.verify_on_event_loop,
            "load_before": list(os.getloadavg()),
        }
        try:
            with verifier_workers(material, args.workers, http=args.http, loop=args.loop) as (url, pids):
                _settings, service, _provider = build(material, url)
                steps = direct_post_search(
                    service,
                    material,
                    url,
                    start=args.start_rate,
                    step=args.step,
                    max_rate=args.max_rate,
                    seconds=args.seconds,
                    connections=args.connections,
                    pids=pids,
                    refine=args.refine,
                )
                report["store_roundtrip"] = store_roundtrip(service.store)
                report["http_floor"] = http_floor(url, pids)
                passing = [s.rate for s in steps if s.passed]
                report["direct_post"] = {
                    "steps": [{**s.__dict__, "passed": s.passed} for s in steps],
                    "highest_passing_rate": max(passing) if passing else None,
                }
                if args.login_clients > 0:
                    report["oidc_login"] = oidc_logins(
                        url, material, clients=args.login_clients, seconds=args.login_seconds
                    )
                if args.profile:
                    report["profile"] = profile(service, material, args.profile_calls, args.top)
                    report["worker_profile"] = worker_profile(
                        service,
                        material,
                        url,
                        pids,
                        rate=args.profile_rate,
                        seconds=args.profile_seconds,
                        connections=args.connections,
                        top=args.top,
                    )
        finally:
            drop_store(material)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
