"""Short-lived protocol state: nonces, pre-authorized codes, DPoP ``jti``\\ s, presentation sessions (DESIGN.md §3).

One interface, two implementations: SQL (default; the service's own database) and Redis (``GOVSSI_REDIS_URL``), so
several instances of a service can share state. Single-use values are consumed atomically: of any number of
concurrent :meth:`EphemeralStore.take` calls for one key, exactly one gets the value (no double redemption).
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from infra.db import DriverStatement
from ssi.clock import Clock

__all__ = [
    "EntryExists",
    "EphemeralStore",
    "RedisEphemeralStore",
    "SqlEphemeralStore",
    "ephemeral_store",
]

MAX_KEY_LENGTH = 512


class EntryExists(Exception):
    """:meth:`EphemeralStore.put` found a live entry under that key (keys are random; a clash is a bug or an attack)."""


class EphemeralStore(Protocol):
    """Expiring key-value state in namespaces. ``ttl`` in seconds; an expired entry behaves as absent."""

    def put(self, ns: str, key: str, value: Mapping[str, Any], ttl: float) -> None:
        """Store a new entry; :class:`EntryExists` when a live one is there."""

    def get(self, ns: str, key: str) -> dict[str, Any] | None:
        """The live entry, or ``None``."""

    def take(self, ns: str, key: str) -> dict[str, Any] | None:
        """Get and delete in one atomic step: exactly one concurrent caller gets the value."""

    def replace(self, ns: str, key: str, value: Mapping[str, Any], ttl: float) -> None:
        """Store, overwriting whatever is there."""

    def replace_many(self, entries: Sequence[tuple[str, str, Mapping[str, Any], float]]) -> None:
        """:meth:`replace` of several ``(ns, key, value, ttl)`` entries in one round trip, all or none (a reader sees
        either none or all of them)."""

    def delete(self, ns: str, key: str) -> None:
        """Remove the entry if present."""

    def remember_once(self, ns: str, key: str, ttl: float) -> bool:
        """Record ``key``; ``False`` when it was already recorded and is still live (replay detection)."""

    def incr(self, ns: str, key: str, ttl: float) -> int:
        """Atomically add one to a counter (created at 1, expiring ``ttl`` after creation); return the new value."""

    def purge_expired(self) -> int:
        """Delete expired entries; return how many (Redis expires by itself and returns 0)."""


def _check_key(ns: str, key: str) -> None:
    if not ns or not isinstance(key, str) or not key or len(ns) + len(key) > MAX_KEY_LENGTH:
        raise ValueError("ephemeral keys must be non-empty strings of bounded length")


class _Statements:
    """The store's statements, built once with bound parameters (``ns``, ``key``, ``value``, ``expires_at``,
    ``now``): building a statement costs more CPU than running it through SQLAlchemy's compiled cache."""

    def __init__(self, t: sa.Table, insert: Any) -> None:
        ns: sa.BindParameter[str] = sa.bindparam("ns")
        key: sa.BindParameter[str] = sa.bindparam("key")
        now: sa.BindParameter[float] = sa.bindparam("now")
        this = sa.and_(t.c.ns == ns, t.c.key == key)
        self.get = sa.select(t.c.value).where(this, t.c.expires_at > now)
        self.take = sa.delete(t).where(this, t.c.expires_at > now).returning(t.c.value)
        self.delete = sa.delete(t).where(this)
        entry = insert(t).values(
            ns=ns, key=key, value=sa.bindparam("value"), counter=0, expires_at=sa.bindparam("expires_at")
        )
        # Insert, or take over an expired entry; a live entry stays (put: EntryExists).
        self.put = entry.on_conflict_do_update(
            index_elements=[t.c.ns, t.c.key],
            set_={"value": entry.excluded.value, "counter": 0, "expires_at": entry.excluded.expires_at},
            where=t.c.expires_at <= now,
        ).returning(t.c.key)
        self.replace = entry.on_conflict_do_update(
            index_elements=[t.c.ns, t.c.key],
            set_={"value": entry.excluded.value, "expires_at": entry.excluded.expires_at},
        )
        marker = insert(t).values(ns=ns, key=key, value="{}", counter=0, expires_at=sa.bindparam("expires_at"))
        # Insert, or take over an expired entry; a live entry stays and makes this a replay.
        self.remember_once = marker.on_conflict_do_update(
            index_elements=[t.c.ns, t.c.key],
            set_={"expires_at": marker.excluded.expires_at, "value": "{}", "counter": 0},
            where=t.c.expires_at <= now,
        ).returning(t.c.key)
        counter = insert(t).values(ns=ns, key=key, value="{}", counter=1, expires_at=sa.bindparam("expires_at"))
        # A live counter goes up by one; an expired one starts again at 1 with a new expiry (as if deleted first).
        expired = t.c.expires_at <= now
        self.incr = counter.on_conflict_do_update(
            index_elements=[t.c.ns, t.c.key],
            set_={
                "counter": sa.case((expired, 1), else_=t.c.counter + 1),
                "value": sa.case((expired, "{}"), else_=t.c.value),
                "expires_at": sa.case((expired, counter.excluded.expires_at), else_=t.c.expires_at),
            },
        ).returning(t.c.counter)


class SqlEphemeralStore:
    """:class:`EphemeralStore` in a table ``ephemeral_state`` of the service's database (created when missing;
    it holds only short-lived state, so it needs no migrations). Works on SQLite ≥ 3.35 and PostgreSQL
    (``DELETE … RETURNING`` and ``INSERT … ON CONFLICT`` make take/incr atomic).

    Every operation but :meth:`replace_many` is one statement (``infra.db.DriverStatement.run_single``): on
    PostgreSQL in autocommit mode, its own transaction (as atomic and as durable as ``BEGIN; …; COMMIT``), one round
    trip instead of three, on a pooled driver connection without a SQLAlchemy ``Connection`` around it.

    On PostgreSQL through psycopg the statements go to the driver's cursor directly (``infra.db.DriverStatement``:
    SQLAlchemy's execution of a cached statement costs about twice the driver's own CPU, and these run on every
    request of the issuer's hot paths)."""

    def __init__(self, engine: Engine, *, table: str = "ephemeral_state", clock: Clock = time.time) -> None:
        self._engine = engine
        #: Set on the views :meth:`bound` returns: the caller's connection, in its transaction.
        self._bound: Connection | None = None
        self._clock = clock
        metadata = sa.MetaData()
        self._table = sa.Table(
            table,
            metadata,
            sa.Column("ns", sa.String(64), primary_key=True),
            sa.Column("key", sa.String(MAX_KEY_LENGTH), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
            sa.Column("counter", sa.Integer, nullable=False, default=0),
            sa.Column("expires_at", sa.Float, nullable=False, index=True),
        )
        metadata.create_all(engine, checkfirst=True)
        from sqlalchemy.dialects import postgresql, sqlite

        # INSERT … ON CONFLICT is dialect-specific in SQLAlchemy (same semantics on both).
        self._insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._statements = _Statements(self._table, self._insert)
        statements = self._statements
        self._driver = {
            name: DriverStatement(getattr(statements, name))
            for name in ("get", "take", "delete", "put", "replace", "remember_once", "incr")
        }

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def table(self) -> sa.Table:
        """The table (``ns``, ``key``, ``value``, ``counter``, ``expires_at``), for statements that join it."""
        return self._table

    def now(self) -> float:
        """This store's clock: entries live while ``expires_at`` is later than it."""
        return self._clock()

    def bound(self, connection: Connection) -> SqlEphemeralStore:
        """This store working inside ``connection``'s transaction (which must be on :attr:`engine`'s database): its
        changes commit or roll back with the caller's other changes in that transaction. Single-use still holds:
        ``take`` is ``DELETE … RETURNING`` (the row stays locked until the caller's commit, so of concurrent callers
        exactly one gets the value)."""
        view = copy.copy(self)
        view._bound = connection
        return view

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self._bound is not None:
            yield self._bound
            return
        with self._engine.begin() as conn:
            yield conn

    def _run(self, conn: Connection, name: str, parameters: dict[str, Any]) -> Sequence[Any] | None:
        """Statement ``name`` of :class:`_Statements` on ``conn`` (``infra.db.DriverStatement``): its first row, or
        ``None``."""
        return self._driver[name].run(conn, parameters).first()

    def _one(self, name: str, parameters: dict[str, Any]) -> Sequence[Any] | None:
        """Statement ``name`` as one operation: in the bound connection's transaction, or as a transaction of its own
        (``DriverStatement.run_single``: on PostgreSQL a pooled driver connection in autocommit mode)."""
        if self._bound is not None:
            return self._run(self._bound, name, parameters)
        return self._driver[name].run_single(self._engine, parameters).first()

    def put(self, ns: str, key: str, value: Mapping[str, Any], ttl: float) -> None:
        _check_key(ns, key)
        now = self._clock()
        parameters = {"ns": ns, "key": key, "value": json.dumps(dict(value)), "expires_at": now + ttl, "now": now}
        if self._one("put", parameters) is None:
            raise EntryExists(f"{ns}: key exists")

    def get(self, ns: str, key: str) -> dict[str, Any] | None:
        row = self._one("get", {"ns": ns, "key": key, "now": self._clock()})
        return None if row is None else dict(json.loads(row[0]))

    def take(self, ns: str, key: str) -> dict[str, Any] | None:
        row = self._one("take", {"ns": ns, "key": key, "now": self._clock()})
        return None if row is None else dict(json.loads(row[0]))

    def _upsert(self, ns: str, key: str, value: Mapping[str, Any], ttl: float) -> dict[str, Any]:
        _check_key(ns, key)
        return {"ns": ns, "key": key, "value": json.dumps(dict(value)), "expires_at": self._clock() + ttl}

    def replace(self, ns: str, key: str, value: Mapping[str, Any], ttl: float) -> None:
        parameters = self._upsert(ns, key, value, ttl)
        self._one("replace", parameters)

    def replace_many(self, entries: Sequence[tuple[str, str, Mapping[str, Any], float]]) -> None:
        rows = [self._upsert(ns, key, value, ttl) for ns, key, value, ttl in entries]
        with self._transaction() as conn:  # one transaction, one commit
            for parameters in rows:
                self._run(conn, "replace", parameters)

    def delete(self, ns: str, key: str) -> None:
        self._one("delete", {"ns": ns, "key": key})

    def remember_once(self, ns: str, key: str, ttl: float) -> bool:
        _check_key(ns, key)
        now = self._clock()
        parameters = {"ns": ns, "key": key, "expires_at": now + ttl, "now": now}
        return self._one("remember_once", parameters) is not None

    def incr(self, ns: str, key: str, ttl: float) -> int:
        _check_key(ns, key)
        now = self._clock()
        parameters = {"ns": ns, "key": key, "expires_at": now + ttl, "now": now}
        row = self._one("incr", parameters)
        if row is None:  # pragma: no cover - the upsert always returns its row
            raise RuntimeError("incr: no counter returned")
        return int(row[0])

    def purge_expired(self) -> int:
        t = self._table
        with self._engine.begin() as conn:
            return conn.execute(sa.delete(t).where(t.c.expires_at <= self._clock())).rowcount or 0


class RedisEphemeralStore:
    """:class:`EphemeralStore` in Redis: ``SET NX PX`` for put/remember_once, ``GETDEL`` for take, ``INCR`` for
    counters. Keys are ``<prefix><ns>:<key>``; expiry is Redis's own (wall clock of the Redis server)."""

    def __init__(self, url: str, *, prefix: str = "govssi:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix

    def _k(self, ns: str, key: str) -> str:
        _check_key(ns, key)
        return f"{self._prefix}{ns}:{key}"

    @staticmethod
    def _ms(ttl: float) -> int:
        return max(1, int(ttl * 1000))

    def put(self, ns: str, key: str, value: Mapping[str, Any], ttl: float) -> None:
        if not self._redis.set(self._k(ns, key), json.dumps(dict(value)), nx=True, px=self._ms(ttl)):
            raise EntryExists(f"{ns}: key exists")

    def get(self, ns: str, key: str) -> dict[str, Any] | None:
        raw = self._redis.get(self._k(ns, key))
        return None if raw is None else dict(json.loads(raw))

    def take(self, ns: str, key: str) -> dict[str, Any] | None:
        raw = self._redis.getdel(self._k(ns, key))
        return None if raw is None else dict(json.loads(raw))

    def replace(self, ns: str, key: str, value: Mapping[str, Any], ttl: float) -> None:
        self._redis.set(self._k(ns, key), json.dumps(dict(value)), px=self._ms(ttl))

    def replace_many(self, entries: Sequence[tuple[str, str, Mapping[str, Any], float]]) -> None:
        pipe = self._redis.pipeline(transaction=True)  # MULTI … EXEC: one round trip, applied together
        for ns, key, value, ttl in entries:
            pipe.set(self._k(ns, key), json.dumps(dict(value)), px=self._ms(ttl))
        pipe.execute()

    def delete(self, ns: str, key: str) -> None:
        self._redis.delete(self._k(ns, key))

    def remember_once(self, ns: str, key: str, ttl: float) -> bool:
        return bool(self._redis.set(self._k(ns, key), "1", nx=True, px=self._ms(ttl)))

    def incr(self, ns: str, key: str, ttl: float) -> int:
        name = self._k(ns, key)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(name, 0, nx=True, px=self._ms(ttl))
        pipe.incr(name)
        return int(pipe.execute()[1])

    def purge_expired(self) -> int:
        return 0

    def delete_prefix(self) -> None:
        """Remove every key under this store's prefix (tests clean up with it)."""
        for name in self._redis.scan_iter(match=f"{self._prefix}*", count=500):
            self._redis.delete(name)


def ephemeral_store(engine: Engine, redis_url: str | None, *, prefix: str = "govssi:") -> EphemeralStore:
    """Redis when ``GOVSSI_REDIS_URL`` is set (instances share state), else the service's SQL database."""
    if redis_url:
        return RedisEphemeralStore(redis_url, prefix=prefix)
    return SqlEphemeralStore(engine)
