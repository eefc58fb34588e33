"""Single-use values under concurrency (DESIGN.md §3 "Single-use values are consumed atomically"): 200 concurrent
token requests with one pre-authorized code give exactly one access token — on SQLite, on PostgreSQL, and with the
short-lived state in Redis; concurrent credential requests with one access token deliver exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from issuer_support import make_issuer
from protocol_support import InProcessWallet, race_credential_requests

from infra.ephemeral import RedisEphemeralStore
from issuer import Issuer
from ssi.clock import FrozenClock
from ssi.dpop import create_dpop_proof
from ssi.errors import SsiError
from ssi.keys import SoftwareSigner

REQUESTS = 200
#: Every token request with a transaction code counts as an attempt, a right one too (OpenID4VCI §6.3 brute-force
#: bound; ``TokenEndpoint._check_tx_code``), and the attempt past the limit voids the offer. With the default limit
#: (5) a request past it may void the offer before the request that got attempt 1 takes the code — then none gets a
#: token (seen in CI under load). The races that must give exactly one token allow every request an attempt; the
#: default limit is raced on its own below (at most one token).
RACE_SETTINGS = {"tx_code_max_attempts": REQUESTS}


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
    issuer = make_issuer(tmp_path, clock=clock, **RACE_SETTINGS)
    successes, errors = _race(issuer, clock)
    assert successes == 1
    assert errors == ["invalid_grant"]


def test_200_concurrent_token_requests_past_the_tx_code_limit_give_at_most_one_token(tmp_path: Path) -> None:
    """With the default attempt limit the requests past it void the offer (§6.3), racing the one that may still take
    the code: at most one token."""
    clock = FrozenClock(1_800_000_000)
    issuer = make_issuer(tmp_path, clock=clock)
    successes, errors = _race(issuer, clock)
    assert successes <= 1
    assert errors == ["invalid_grant"]


def test_200_concurrent_token_requests_postgresql(tmp_path: Path, postgres_url: str) -> None:
    clock = FrozenClock(1_800_000_000)
    issuer = make_issuer(tmp_path, clock=clock, database_url=postgres_url, **RACE_SETTINGS)
    try:
        successes, errors = _race(issuer, clock)
    finally:
        issuer.context.storage.engine.dispose()
    assert successes == 1
    assert errors == ["invalid_grant"]


def test_200_concurrent_token_requests_redis(tmp_path: Path, redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    issuer = make_issuer(tmp_path, store=RedisEphemeralStore(url, prefix=prefix), **RACE_SETTINGS)
    successes, errors = _race(issuer, time.time)
    assert successes == 1
    assert errors == ["invalid_grant"]


def test_concurrent_credential_requests_deliver_once(tmp_path: Path) -> None:
    clock = FrozenClock(1_800_000_000)
    issuer = make_issuer(tmp_path, clock=clock)
    wallet = InProcessWallet(issuer, clock)
    race_credential_requests(wallet, issuer)


def test_the_redis_variant_really_uses_redis(tmp_path: Path, redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    store = RedisEphemeralStore(url, prefix=prefix)
    issuer = make_issuer(tmp_path, store=store)
    assert issuer.context.store is store
