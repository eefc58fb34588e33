"""infra.ephemeral: the same contract on SQLite, PostgreSQL and Redis; single use under concurrency."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc

from infra.db import create_engine, sqlite_url
from infra.ephemeral import EntryExists, EphemeralStore, RedisEphemeralStore, SqlEphemeralStore
from ssi.clock import FrozenClock


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EphemeralStore]:
    if request.param == "sqlite":
        engine = create_engine(sqlite_url(tmp_path / "state.db"))
        yield SqlEphemeralStore(engine)
        engine.dispose()
    elif request.param == "postgresql":
        engine = create_engine(request.getfixturevalue("postgres_url"))
        yield SqlEphemeralStore(engine)
        engine.dispose()
    else:
        url, prefix = request.getfixturevalue("redis_prefix")
        yield RedisEphemeralStore(url, prefix=prefix)


def test_put_get_take_delete(store: EphemeralStore) -> None:
    store.put("code", "k1", {"a": 1}, ttl=60)
    assert store.get("code", "k1") == {"a": 1}
    with pytest.raises(EntryExists):
        store.put("code", "k1", {"a": 2}, ttl=60)
    assert store.take("code", "k1") == {"a": 1}
    assert store.take("code", "k1") is None
    assert store.get("code", "k1") is None
    store.put("code", "k2", {"b": True}, ttl=60)
    store.delete("code", "k2")
    assert store.get("code", "k2") is None


def test_namespaces_are_separate(store: EphemeralStore) -> None:
    store.put("a", "same", {"n": "a"}, ttl=60)
    store.put("b", "same", {"n": "b"}, ttl=60)
    assert store.get("a", "same") == {"n": "a"}
    assert store.take("b", "same") == {"n": "b"}
    assert store.get("a", "same") == {"n": "a"}


def test_replace_overwrites(store: EphemeralStore) -> None:
    store.replace("s", "k", {"v": 1}, ttl=60)
    store.replace("s", "k", {"v": 2}, ttl=60)
    assert store.get("s", "k") == {"v": 2}


def test_remember_once_detects_replay(store: EphemeralStore) -> None:
    assert store.remember_once("jti", "abc", ttl=60) is True
    assert store.remember_once("jti", "abc", ttl=60) is False
    assert store.remember_once("jti", "abd", ttl=60) is True


def test_incr_counts(store: EphemeralStore) -> None:
    assert [store.incr("fail", "offer1", ttl=60) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert store.incr("fail", "offer2", ttl=60) == 1


def test_take_is_single_use_under_concurrency(store: EphemeralStore) -> None:
    """Of 50 threads taking one pre-authorized code at once, exactly one gets it."""
    store.put("code", "once", {"grant": "x"}, ttl=60)
    results: list[object] = []
    barrier = threading.Barrier(50)

    def worker() -> None:
        barrier.wait()
        results.append(store.take("code", "once"))

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1


def test_remember_once_single_winner_under_concurrency(store: EphemeralStore) -> None:
    outcomes: list[bool] = []
    barrier = threading.Barrier(30)

    def worker() -> None:
        barrier.wait()
        outcomes.append(store.remember_once("jti", "race", ttl=60))

    threads = [threading.Thread(target=worker) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 1


def test_sql_expiry_with_injected_clock(tmp_path: Path) -> None:
    clock = FrozenClock(1000.0)
    store = SqlEphemeralStore(create_engine(sqlite_url(tmp_path / "s.db")), clock=clock)
    store.put("n", "k", {"x": 1}, ttl=10)
    assert store.remember_once("jti", "j", ttl=10) is True
    assert store.incr("c", "k", ttl=10) == 1
    clock.advance(11)
    assert store.get("n", "k") is None
    assert store.take("n", "k") is None
    store.put("n", "k", {"x": 2}, ttl=10)  # the expired entry no longer blocks the key
    assert store.get("n", "k") == {"x": 2}
    assert store.remember_once("jti", "j", ttl=10) is True  # expired record: not a replay any more
    assert store.incr("c", "k", ttl=10) == 1  # expired counter restarts
    clock.advance(11)
    assert store.purge_expired() == 3


def test_redis_expiry(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    store = RedisEphemeralStore(url, prefix=prefix)
    store.put("n", "k", {"x": 1}, ttl=0.2)
    assert store.get("n", "k") == {"x": 1}
    time.sleep(0.3)
    assert store.get("n", "k") is None


def test_two_instances_share_redis_state(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    first, second = RedisEphemeralStore(url, prefix=prefix), RedisEphemeralStore(url, prefix=prefix)
    first.put("session", "s1", {"state": "pending"}, ttl=60)
    assert second.take("session", "s1") == {"state": "pending"}
    assert first.get("session", "s1") is None


@pytest.mark.parametrize("key", ["", "x" * 600])
def test_bad_keys_refused(tmp_path: Path, key: str) -> None:
    store = SqlEphemeralStore(create_engine(sqlite_url(tmp_path / "s.db")))
    with pytest.raises(ValueError):
        store.put("n", key, {}, ttl=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    url = sqlite_url(tmp_path / "e.db") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    yield engine
    engine.dispose()


def test_sql_expiry_on_both_databases(sql_engine: object) -> None:
    """put over an expired entry, and a counter's expiry: a live counter keeps the expiry of its creation, an
    expired one restarts at 1 with a new expiry (the single-statement upserts on SQLite and PostgreSQL)."""
    clock = FrozenClock(1000.0)
    store = SqlEphemeralStore(sql_engine, clock=clock)  # type: ignore[arg-type]
    assert store.incr("c", "k", ttl=10) == 1
    store.put("n", "k", {"x": 1}, ttl=10)
    clock.advance(6)
    assert store.incr("c", "k", ttl=10) == 2  # live: counts on, still expires at 1010
    with pytest.raises(EntryExists):
        store.put("n", "k", {"x": 2}, ttl=10)
    clock.advance(5)  # 1011: both expired
    store.put("n", "k", {"x": 3}, ttl=10)
    assert store.get("n", "k") == {"x": 3}
    assert store.incr("c", "k", ttl=10) == 1  # restarted, expires at 1021
    clock.advance(9)
    assert store.incr("c", "k", ttl=10) == 2
    clock.advance(2)
    assert store.incr("c", "k", ttl=10) == 1


def test_sql_single_operations_are_one_statement_without_transaction(sql_engine: object) -> None:
    """Each operation but replace_many is one statement; on PostgreSQL with the driver in autocommit mode: no
    BEGIN/COMMIT round trips (psycopg ``autocommit``); SQLite keeps its own short transactions."""
    from sqlalchemy import event

    seen: list[tuple[str, bool]] = []

    dialect = sql_engine.dialect.name  # type: ignore[attr-defined]

    def record(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        # The cursor's own connection (DriverStatement.run_single passes no SQLAlchemy Connection on PostgreSQL).
        dbapi = cursor.connection
        autocommit = dbapi.isolation_level is None if dialect == "sqlite" else dbapi.autocommit
        # Autocommit on PostgreSQL (saves round trips); SQLite keeps its own transactions (infra.db.single_statement).
        seen.append((statement.split(maxsplit=1)[0].upper(), bool(autocommit) == (dialect == "postgresql")))

    event.listen(sql_engine, "before_cursor_execute", record)
    store = SqlEphemeralStore(sql_engine)  # type: ignore[arg-type]
    seen.clear()
    store.put("n", "k", {"x": 1}, ttl=60)
    store.get("n", "k")
    store.replace("n", "k", {"x": 2}, ttl=60)
    store.remember_once("j", "k", ttl=60)
    store.incr("c", "k", ttl=60)
    store.take("n", "k")
    store.delete("j", "k")
    assert [verb for verb, _ in seen] == ["INSERT", "SELECT", "INSERT", "INSERT", "INSERT", "DELETE", "DELETE"]
    assert all(autocommit for _, autocommit in seen)
    store.replace_many([("n", "a", {}, 60), ("n", "b", {}, 60)])  # all or none: a transaction
    postgres = sql_engine.dialect.name == "postgresql"  # type: ignore[attr-defined]
    assert [ok for _, ok in seen[-2:]] == [not postgres, not postgres]  # not in autocommit on either database


def test_bound_store_commits_and_rolls_back_with_the_callers_transaction(sql_engine: Any) -> None:
    """``bound``: the store's statements belong to the caller's transaction, also when one is the transaction's first
    statement (on PostgreSQL they go to psycopg's cursor directly; SQLAlchemy's commit must still commit them)."""
    store = SqlEphemeralStore(sql_engine)
    key = f"k{time.time_ns()}"
    with sql_engine.connect() as conn:
        view = store.bound(conn)
        view.put("bound", key, {"v": 1}, ttl=60)  # the first statement of the transaction
        assert view.remember_once("bound-j", key, ttl=60) is True
        assert view.get("bound", key) == {"v": 1}
        conn.rollback()
    assert store.get("bound", key) is None and store.remember_once("bound-j", key, ttl=60) is True
    with sql_engine.connect() as conn:
        view = store.bound(conn)
        view.put("bound", key, {"v": 2}, ttl=60)
        view.replace("bound", key, {"v": 3}, ttl=60)
        assert view.incr("bound-c", key, ttl=60) == 1
        conn.commit()
    assert store.get("bound", key) == {"v": 3} and store.incr("bound-c", key, ttl=60) == 2
    with sql_engine.connect() as conn:
        assert store.bound(conn).take("bound", key) == {"v": 3}
        conn.commit()
    assert store.get("bound", key) is None


def test_postgresql_statements_skip_sqlalchemys_execution(sql_engine: Any) -> None:
    """On PostgreSQL (psycopg) the hot statements run on the driver's cursor; database errors still arrive as
    SQLAlchemy's exceptions, and the connection stays usable after them in autocommit mode."""
    store = SqlEphemeralStore(sql_engine)
    postgres = sql_engine.dialect.name == "postgresql"
    if not postgres:
        return  # SQLite does not enforce the column's length
    with pytest.raises(sa_exc.DataError):
        store.put("n" * 100, "k", {}, ttl=60)  # the namespace column holds 64 characters
    store.put("ok", f"k{time.time_ns()}", {}, ttl=60)
    with sql_engine.connect() as conn:  # in a transaction: the error aborts it, the caller rolls back
        with pytest.raises(sa_exc.DBAPIError):
            store.bound(conn).remember_once("n" * 100, "k", ttl=60)
        conn.rollback()
