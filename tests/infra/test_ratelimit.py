"""infra.ratelimit: fixed-window counting in the shared short-lived store (SQL and Redis), 429 ``slow_down``."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra.db import create_engine, sqlite_url
from infra.ephemeral import RedisEphemeralStore, SqlEphemeralStore
from infra.ratelimit import FixedWindowLimiter, RateDecision, rate_limited_response
from ssi.clock import FrozenClock


def test_fixed_window_counts_per_key_and_window(tmp_path: Path) -> None:
    clock = FrozenClock(1_000.0)
    store = SqlEphemeralStore(create_engine(sqlite_url(tmp_path / "s.db")), clock=clock)
    limiter = FixedWindowLimiter(store, "rl_test", limit=3, window=10.0, clock=clock)
    assert [limiter.hit("a").allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.hit("b").allowed  # another key has its own count
    clock.advance(4)
    refused = limiter.hit("a")
    assert not refused.allowed and refused.retry_after == 6
    clock.advance(6)  # the next window
    assert limiter.hit("a").allowed
    with pytest.raises(ValueError):
        FixedWindowLimiter(store, "x", limit=0, window=1)


def test_concurrent_hits_are_counted_exactly_on_redis(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    clock = FrozenClock(1_000.0)  # all hits in one window
    limiter = FixedWindowLimiter(RedisEphemeralStore(url, prefix=prefix), "rl_test", limit=50, window=60.0, clock=clock)
    with ThreadPoolExecutor(max_workers=16) as pool:
        decisions = list(pool.map(lambda _: limiter.hit("10.0.0.1"), range(80)))
    assert sum(d.allowed for d in decisions) == 50
    assert sorted(d.count for d in decisions) == list(range(1, 81))


def test_response_is_an_oauth_error_with_retry_after() -> None:
    response = rate_limited_response(RateDecision(False, 11, 10, 17))
    assert response.status_code == 429 and response.headers["retry-after"] == "17"
    assert json.loads(bytes(response.body))["error"] == "slow_down"
