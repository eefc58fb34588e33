"""infra.ephemeral ``replace_many``: several entries stored in one round trip, all or none, on SQLite, PostgreSQL and
Redis (the verifier's Response URI writes a result and the final session status with it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.db import create_engine, sqlite_url
from infra.ephemeral import EphemeralStore, RedisEphemeralStore, SqlEphemeralStore


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EphemeralStore]:
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_prefix")
        yield RedisEphemeralStore(url, prefix=prefix)
        return
    database = (
        sqlite_url(tmp_path / "state.db") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    )
    engine = create_engine(database)
    yield SqlEphemeralStore(engine)
    engine.dispose()


def test_replace_many_stores_every_entry_overwriting(store: EphemeralStore) -> None:
    store.put("session", "r1", {"status": "created"}, ttl=60)
    store.replace_many([("result", "t1", {"status": "verified"}, 60), ("session", "r1", {"status": "verified"}, 60)])
    assert store.get("result", "t1") == {"status": "verified"}
    assert store.get("session", "r1") == {"status": "verified"}
    store.replace_many([])  # nothing to write is fine


def test_replace_many_is_all_or_none(store: EphemeralStore) -> None:
    """A bad key in the batch (infra.ephemeral key rules) leaves every entry of the batch unwritten."""
    store.put("session", "r2", {"status": "created"}, ttl=60)
    with pytest.raises(ValueError, match="ephemeral keys"):
        store.replace_many([("session", "r2", {"status": "verified"}, 60), ("result", "", {"status": "x"}, 60)])
    assert store.get("session", "r2") == {"status": "created"}
