"""Single-use values under concurrency (DESIGN.md §3 "Single-use values are consumed atomically"): 200 concurrent
token requests with one pre-authorized code give exactly one access token — on SQLite, on PostgreSQL, and with the
short-lived state in Redis; concurrent credential requests with one access token deliver exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from issuer_support import make_issuer
from protocol_support import InProcessWallet

from infra.ephemeral import RedisEphemeralStore
from issuer import Issuer
from ssi.clock import FrozenClock
from ssi.dpop import create_dpop_proof
from ssi.errors import SsiError
from ssi.keys import SoftwareSigner

REQUESTS = 200


def _race(issuer: Issuer, clock: Callable[[], float]) -> tuple[int, list[str]]:
    wallet = InProcessWallet(issuer, clock)  # type: ignore[arg-type]
    offer = wallet.offer()
    tenant = wallet.tenant
    form = wallet.token_form(offer, offer.tx_code)
    nonce = issuer.context.dpop_nonces.issue()
    proofs = [
        [create_dpop_proof(SoftwareSigner.generate(), htm="POST", htu=tenant.token_endpoint, now=clock(), nonce=nonce)]
        for _ in range(REQUESTS)
    ]

    def attempt(proof: list[str]) -> str:
        try:
            issuer.tokens.exchange(tenant, form, dpop_headers=proof, url=tenant.token_endpoint)
            return "ok"
        except SsiError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(attempt, proofs))
    return outcomes.count("ok"), sorted(set(outcomes) - {"ok"})


def test_200_concurrent_token_requests_sqlite(tmp_path: Path) -> None:
    clock = FrozenClock(1_800_000_000)
    issuer = make_issuer(tmp_path, clock=clock)
    successes, errors = _race(issuer, clock)
    assert successes == 1
    assert errors == ["invalid_grant"]


def test_200_concurrent_token_requests_postgresql(tmp_path: Path, postgres_url: str) -> None:
    clock = FrozenClock(1_800_000_000)
    issuer = make_issuer(tmp_path, clock=clock, database_url=postgres_url)
    try:
        successes, errors = _race(issuer, clock)
    finally:
        issuer.context.storage.engine.dispose()
    assert successes == 1
    assert errors == ["invalid_grant"]


def test_200_concurrent_token_requests_redis(tmp_path: Path, redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    issuer = make_issuer(tmp_path, store=RedisEphemeralStore(url, prefix=prefix))
    successes, errors = _race(issuer, time.time)
    assert successes == 1
    assert errors == ["invalid_grant"]


def test_concurrent_credential_requests_deliver_once(tmp_path: Path) -> None:
    clock = FrozenClock(1_800_000_000)
    issuer = make_issuer(tmp_path, clock=clock)
    wallet = InProcessWallet(issuer, clock)
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    bodies = [wallet.request_body([SoftwareSigner.generate()]) for _ in range(20)]
    proofs = [wallet.dpop(wallet.tenant.credential_endpoint, token=token.access_token) for _ in bodies]

    def attempt(args: tuple[dict[str, Any], list[str]]) -> str:
        try:
            wallet.credential(token, args[0], dpop_headers=args[1])
            return "ok"
        except SsiError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, zip(bodies, proofs, strict=True)))
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"credential_request_denied", "invalid_token"}
    record = issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "delivered" and record.credentials_issued == 1


def test_the_redis_variant_really_uses_redis(tmp_path: Path, redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    store = RedisEphemeralStore(url, prefix=prefix)
    issuer = make_issuer(tmp_path, store=store)
    assert issuer.context.store is store
