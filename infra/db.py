"""SQL engines (SQLAlchemy 2) and migrations (Alembic) for the services: SQLite by default, PostgreSQL via
``GOVSSI_DATABASE_URL`` (DESIGN.md §3)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import Executable

__all__ = [
    "DriverStatement",
    "IrreversibleMigration",
    "create_engine",
    "migration_transaction",
    "run_alembic_env",
    "single_statement",
    "sqlite_url",
    "upgrade",
]

#: How long a SQLite writer waits for the lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: A pooled PostgreSQL connection idle for longer than this (seconds) is pinged before it is handed out again.
POOL_PING_IDLE_S = 5.0
#: PostgreSQL connections are replaced after this many seconds (server-side idle timeouts, failovers).
POOL_RECYCLE_S = 1800
#: PostgreSQL connections a process keeps (opened on demand, kept once opened; no overflow beyond them). With the
#: former 10 kept plus 20 overflow, every overflow connection was closed when handed back while 10 sat idle, so under
#: overload each issuer worker opened and closed PostgreSQL connections continuously (244 new backends in one 5 s step
#: at 200 credentials/s) and throughput collapsed (153-165/s achieved; 179-200/s with 30 kept: bench/README.md,
#: issuer, fifth pass). The most a process holds is unchanged (30); a request waits for a connection instead.
POOL_SIZE = 30


def sqlite_url(path: Path | str) -> str:
    return f"sqlite+pysqlite:///{Path(path)}"


def _normalise(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (the driver we ship), not SQLAlchemy's default psycopg2."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_engine(url: str, *, ping_idle_after: float = POOL_PING_IDLE_S, **kwargs: Any) -> Engine:
    """An engine with safe defaults. SQLite: WAL journal (readers do not block the writer), a busy timeout instead
    of immediate "database is locked", enforced foreign keys; ``:memory:`` shares one connection across threads.
    PostgreSQL: connections idle longer than ``ping_idle_after`` seconds are pinged before reuse (and replaced when
    the ping fails), so a restarted server does not surface as errors, without a round trip per checkout."""
    url = _normalise(url)
    if url.startswith("sqlite"):
        in_memory = url.endswith(":memory:") or url in {"sqlite://", "sqlite+pysqlite://"}
        options: dict[str, Any] = {
            "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        }
        if in_memory:
            options["poolclass"] = StaticPool
        options.update(kwargs)
        engine = sqlalchemy.create_engine(url, **options)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    options = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_recycle": POOL_RECYCLE_S}
    options.update(kwargs)
    engine = sqlalchemy.create_engine(url, **options)
    if not options.get("pool_pre_ping"):
        _ping_idle_connections(engine, ping_idle_after)
    return engine


def single_statement(engine: Engine) -> Callable[[], AbstractContextManager[Connection]]:
    """How to run one statement as its own transaction. PostgreSQL: an autocommit connection (one round trip; the
    statement is as atomic and durable as ``BEGIN; …; COMMIT``, without their two extra round trips). SQLite (in
    process, no round trips): ``engine.begin()`` as before — switching the driver to autocommit per checkout costs CPU
    and, measured under the issuer benchmark, made writers meet SQLite's busy handler more often."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT").connect
    return engine.begin


@dataclass(frozen=True, slots=True)
class DriverResult:
    """What a :class:`DriverStatement` returned: its rows (none for statements without a result) and row count."""

    rows: Sequence[Sequence[Any]]
    rowcount: int

    def first(self) -> Sequence[Any] | None:
        return self.rows[0] if self.rows else None


class DriverStatement:
    """A statement built once for a hot path. On PostgreSQL through psycopg 3 it is compiled once and sent to the
    driver's cursor directly (psycopg prepares it on the server after a few uses): SQLAlchemy's execution of even a
    cached statement costs about twice the driver's own CPU (measured for an upsert: 125 against 67 µs). Elsewhere
    it runs through SQLAlchemy as usual.

    The connection stays SQLAlchemy's: the transaction is begun there first (so its commit, or the pool's rollback,
    ends what the driver began), driver errors are raised as SQLAlchemy's exceptions (``IntegrityError`` …), a lost
    connection is invalidated, and ``before_cursor_execute`` / ``after_cursor_execute`` listeners see the statement.
    Only plain statements with named parameters (no ``expanding`` parameters, no multi-row ``VALUES`` built per
    call)."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        #: Per kind of dialect (class, server version): engines of one kind share the compiled form.
        self._compiled: dict[tuple[type, Any], tuple[str, dict[str, Any], frozenset[str]]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, dict[str, Any], frozenset[str]]:
        key = (type(dialect), dialect.server_version_info)
        compiled = self._compiled.get(key)
        if compiled is None:
            statement = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            required = frozenset(bind.key for bind in statement.binds.values() if bind.required)
            compiled = (str(statement), dict(statement.params), required)
            self._compiled[key] = compiled
        return compiled

    def run(self, conn: Connection, parameters: Mapping[str, Any]) -> DriverResult:
        dialect = conn.dialect
        if dialect.name != "postgresql" or dialect.driver != "psycopg":
            result = conn.execute(self.statement, dict(parameters))
            return DriverResult(result.all() if result.returns_rows else (), result.rowcount)
        sql, literals, required = self._compile(dialect)
        if not required <= parameters.keys():
            raise exc.ArgumentError(f"missing parameters: {sorted(required - parameters.keys())}")
        if not conn.in_transaction():
            conn.begin()  # SQLAlchemy's transaction: its commit (or the pool's rollback) ends what the driver began
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        return _execute(conn.engine, conn, dbapi, sql, {**literals, **parameters}, invalidate=conn.invalidate)

    def run_single(self, engine: Engine, parameters: Mapping[str, Any]) -> DriverResult:
        """The statement as a transaction of its own (:func:`single_statement`). On PostgreSQL through psycopg on a
        pooled driver connection in autocommit mode, without a SQLAlchemy ``Connection`` around it: that checkout,
        its isolation-level switch and transaction bookkeeping cost about as much CPU as the statement's own
        execution (measured for a one-row ``SELECT``: 194-212 against 87-106 µs). The connection leaves autocommit
        mode before it goes back to the pool; errors are SQLAlchemy's, a lost connection is invalidated, cursor
        listeners see the statement (with ``None`` for the ``Connection``). Elsewhere :meth:`run` in
        :func:`single_statement`."""
        dialect = engine.dialect
        if dialect.name != "postgresql" or dialect.driver != "psycopg":
            with single_statement(engine)() as conn:
                return self.run(conn, parameters)
        sql, literals, required = self._compile(dialect)
        if not required <= parameters.keys():
            raise exc.ArgumentError(f"missing parameters: {sorted(required - parameters.keys())}")
        arguments = {**literals, **parameters}
        fairy = engine.raw_connection()
        try:
            dbapi = fairy.dbapi_connection
            assert dbapi is not None
            dbapi.autocommit = True
            try:
                return _execute(engine, None, dbapi, sql, arguments, invalidate=fairy.invalidate)
            finally:
                if fairy.is_valid:  # not invalidated as lost
                    dbapi.autocommit = False
        finally:
            fairy.close()


def _execute(
    engine: Engine,
    conn: Connection | None,
    dbapi: Any,
    sql: str,
    arguments: dict[str, Any],
    *,
    invalidate: Callable[[BaseException], None],
) -> DriverResult:
    """The statement on a new cursor of the psycopg connection ``dbapi``: cursor listeners called as SQLAlchemy calls
    them (``conn`` is ``None`` outside a ``Connection``), driver errors raised as SQLAlchemy's, and a connection the
    error shows lost handed to ``invalidate``."""
    dialect = engine.dialect
    cursor = dbapi.cursor()
    try:
        dispatch = engine.dispatch
        for listener in dispatch.before_cursor_execute:
            listener(conn, cursor, sql, arguments, None, False)
        cursor.execute(sql, arguments)
        for listener in dispatch.after_cursor_execute:
            listener(conn, cursor, sql, arguments, None, False)
        rows = cursor.fetchall() if cursor.description is not None else ()
        return DriverResult(rows, cursor.rowcount)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, dbapi, cursor)
        if lost:
            invalidate(error)
        raise exc.DBAPIError.instance(
            sql, arguments, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from error
    finally:
        cursor.close()


def _ping(dbapi_connection: Any) -> None:
    """``SELECT 1``, then the implicit transaction it opened (outside autocommit) rolled back: the connection is
    handed out idle, as the pool's reset-on-return left it (``DriverStatement.run_single`` switches it to
    autocommit, which psycopg refuses inside a transaction)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()
    dbapi_connection.rollback()


def _ping_idle_connections(engine: Engine, idle_after: float) -> None:
    """Pessimistic disconnect handling without a round trip per checkout (SQLAlchemy's ``pool_pre_ping`` pings on
    every checkout, one extra round trip per transaction): a connection that sat in the pool for more than
    ``idle_after`` seconds is pinged when it is checked out, and replaced when the ping fails (SQLAlchemy's documented
    ``DisconnectionError`` from a checkout handler). A connection that broke while in steady use is caught by
    SQLAlchemy's disconnect detection, which invalidates the whole pool: one request fails, the next reconnect."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["govssi_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("govssi_idle_since", None)
        if since is None or time.monotonic() - since <= idle_after:
            return  # a new connection, or one that was in use moments ago
        try:
            _ping(dbapi_connection)
        except Exception as error:  # any failure: do not hand this connection out
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


class IrreversibleMigration(RuntimeError):
    """A migration's ``downgrade`` refuses to run: going back would destroy what must be kept (e.g. an append-only
    audit log). The migration's transaction rolls back, so the database stays as it was; restore a backup instead."""


def upgrade(engine: Engine, script_location: str, *, revision: str = "head", version_table: str | None = None) -> None:
    """Run the Alembic migrations in ``script_location`` (a directory or ``package:dir``) up to ``revision`` on
    ``engine``'s database. Each service keeps its own version table so services may share one database."""
    from alembic import command  # Alembic loads only where migrations run (a second of start-up on a busy machine)
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("path_separator", "os")
    with migration_transaction(engine) as connection:
        config.attributes["connection"] = connection
        if version_table:
            config.attributes["version_table"] = version_table
        command.upgrade(config, revision)


@contextlib.contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for a whole migration run (every step and the version table's update), committed at the end,
    rolled back entirely when a step fails or refuses (:class:`IrreversibleMigration`).

    SQLite can roll back schema changes, but Python 3.11's ``sqlite3`` opens its implicit transactions only before
    ``INSERT``/``UPDATE``/``DELETE``/``REPLACE``: a ``CREATE``, ``DROP`` or ``ALTER`` ran outside any transaction and
    stayed done when a later step failed, while the version table still named the old revision (seen: a refused
    downgrade dropped ``audit_outbox`` and left the version at 0005). Here the driver's implicit transactions are off
    for the run and the transaction is begun explicitly, so the DDL is inside it; the connection gets its previous
    setting back before it returns to the pool. PostgreSQL's DDL is transactional as it is."""
    with engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            with connection.begin():
                yield connection
            return
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        previous = dbapi.isolation_level
        dbapi.isolation_level = None  # no implicit transactions (nothing is open on a fresh checkout)
        try:
            with connection.begin():  # SQLAlchemy's bookkeeping; its commit/rollback end the BEGIN below
                connection.exec_driver_sql("BEGIN")
                yield connection
        finally:
            dbapi.isolation_level = previous


def run_alembic_env(context: Any, target_metadata: sqlalchemy.MetaData) -> None:
    """The body of a service's Alembic ``env.py``: migrate on the connection :func:`upgrade` handed over.

    Batch mode is on so ``ALTER TABLE`` migrations also work on SQLite (Alembic "batch" operations)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through infra.db.upgrade(engine, ...)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=context.config.attributes.get("version_table", "alembic_version"),
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
