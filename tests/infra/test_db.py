"""infra.db: engines for SQLite and PostgreSQL, Alembic upgrades step by step (first migration, then head)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.db import create_engine, sqlite_url, upgrade
from infra.settings import ServiceSettings

MIGRATIONS = str(Path(__file__).parent / "migrations_sample")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "db.sqlite")
    return str(request.getfixturevalue("postgres_url"))


def test_upgrade_from_first_migration_to_head(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade(engine, MIGRATIONS, revision="0001", version_table="sample_version")
    assert [c["name"] for c in sa.inspect(engine).get_columns("thing")] == ["id"]
    upgrade(engine, MIGRATIONS, version_table="sample_version")
    assert [c["name"] for c in sa.inspect(engine).get_columns("thing")] == ["id", "name"]
    upgrade(engine, MIGRATIONS, version_table="sample_version")  # idempotent at head
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from sample_version")).scalar_one() == "0002"
    engine.dispose()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "p.db"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_postgres_scheme_means_psycopg3(postgres_url: str) -> None:
    engine = create_engine(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    assert engine.dialect.driver == "psycopg"
    with engine.connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar_one() == 1
    engine.dispose()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOVSSI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOVSSI_CHAIN_RPC", "http://127.0.0.1:8545, http://127.0.0.1:8546")
    settings = ServiceSettings(service_name="issuer")
    assert settings.effective_database_url() == sqlite_url(tmp_path / "issuer.db")
    assert settings.chain_rpc_urls() == ["http://127.0.0.1:8545", "http://127.0.0.1:8546"]
    monkeypatch.setenv("GOVSSI_DATABASE_URL", "postgresql://x/y")
    assert ServiceSettings().effective_database_url() == "postgresql://x/y"


def test_postgres_idle_connection_is_pinged_and_replaced(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pooled connection the server closed while it sat idle is pinged at checkout and replaced, so the caller sees
    a working connection (what ``pool_pre_ping`` did, without its round trip on every checkout)."""
    import infra.db

    pings: list[object] = []
    real_ping = infra.db._ping
    monkeypatch.setattr(infra.db, "_ping", lambda c: (pings.append(c), real_ping(c)))
    engine = create_engine(postgres_url, ping_idle_after=0.0)
    with engine.connect() as conn:
        first_pid = conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
    with create_engine(postgres_url).connect() as admin:
        admin.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": first_pid})
    with engine.connect() as conn:
        second_pid = conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
    assert len(pings) == 1 and second_pid != first_pid
    engine.dispose()


def test_postgres_busy_connection_is_not_pinged(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection checked in moments ago is handed out without a ping: no extra round trip per transaction."""
    import infra.db

    pings: list[object] = []
    monkeypatch.setattr(infra.db, "_ping", pings.append)
    engine = create_engine(postgres_url, ping_idle_after=60.0)
    for _ in range(5):
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
    assert pings == []
    engine.dispose()


def test_postgresql_pool_keeps_what_it_opened_under_a_burst(postgres_url: str) -> None:
    """A burst of 20 concurrent transactions, twice: the connections opened for the first are handed out again for
    the second — none is closed on return and reopened (the former 10 kept + 20 overflow closed every connection
    above 10 on return: under overload the issuer opened hundreds of backends per second)."""
    import threading

    from infra.db import POOL_SIZE

    engine = create_engine(postgres_url)
    assert engine.pool.size() == POOL_SIZE and engine.pool._max_overflow == 0  # type: ignore[attr-defined]
    opened: list[int] = []
    sa.event.listen(engine, "connect", lambda dbapi_connection, record: opened.append(1))
    barrier = threading.Barrier(20)

    def work() -> None:
        with engine.connect() as conn:
            barrier.wait(timeout=30)  # all 20 hold a connection at once
            conn.execute(sa.text("select 1"))

    for _ in range(2):
        threads = [threading.Thread(target=work) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(opened) == 20 and engine.pool.checkedin() == 20  # type: ignore[attr-defined]
    engine.dispose()


def test_postgres_idle_ping_leaves_no_transaction_open(postgres_url: str) -> None:
    """The idle ping (``SELECT 1`` on a connection outside autocommit) must not leave the connection inside a
    transaction: ``DriverStatement.run_single`` switches a checked-out connection to autocommit, which psycopg
    refuses in a transaction ("can't change 'autocommit' now: connection in transaction status INTRANS" — the
    issuer answered 500 to the first token requests after a pause of more than ``ping_idle_after`` seconds)."""
    from psycopg.pq import TransactionStatus

    from infra.db import DriverStatement

    engine = create_engine(postgres_url, ping_idle_after=0.0)
    with engine.connect() as conn:  # a pooled connection, then idle: the next checkout pings it
        conn.execute(sa.text("select 1"))
    fairy = engine.raw_connection()
    try:
        dbapi = fairy.dbapi_connection
        assert dbapi is not None
        assert dbapi.info.transaction_status == TransactionStatus.IDLE
    finally:
        fairy.close()
    read = DriverStatement(sa.text("select 41 + 1"))
    for _ in range(3):  # each checkout pinged first
        assert read.run_single(engine, {}).first() == (42,)
    engine.dispose()
