"""infra.db.DriverStatement: on PostgreSQL (psycopg) the statement goes to the driver's cursor, with the same results,
transactions, exceptions and cursor events as through SQLAlchemy; on SQLite it runs through SQLAlchemy."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from infra.db import DriverStatement, create_engine, sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[sa.Engine, sa.Table]]:
    url = sqlite_url(tmp_path / "d.db") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    metadata = sa.MetaData()
    t = sa.Table(
        f"driver_{secrets.token_hex(4)}",
        metadata,
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    metadata.create_all(engine)
    yield engine, t
    metadata.drop_all(engine)
    engine.dispose()


def test_results_rowcount_and_transactions(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    insert = DriverStatement(t.insert().values(id=sa.bindparam("id"), n=sa.bindparam("n")))
    bump = DriverStatement(sa.update(t).where(t.c.id == sa.bindparam("key")).values(n=t.c.n + 1))
    read = DriverStatement(sa.select(t.c.n).where(t.c.id == sa.bindparam("id")))
    with engine.connect() as conn:  # the driver statement is the transaction's first: rolled back with it
        assert insert.run(conn, {"id": "a", "n": 1}).rows == ()
        conn.rollback()
    with engine.connect() as conn:
        assert read.run(conn, {"id": "a"}).first() is None
        insert.run(conn, {"id": "a", "n": 1})
        assert bump.run(conn, {"key": "a"}).rowcount == 1 and bump.run(conn, {"key": "zz"}).rowcount == 0
        conn.commit()
    with engine.connect() as conn:
        row = read.run(conn, {"id": "a"}).first()
        assert row is not None and row[0] == 2


def test_errors_are_sqlalchemys(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    insert = DriverStatement(t.insert().values(id=sa.bindparam("id"), n=sa.bindparam("n")))
    with engine.begin() as conn:
        insert.run(conn, {"id": "a", "n": 1})
    with engine.connect() as conn, pytest.raises(sa_exc.IntegrityError):
        insert.run(conn, {"id": "a", "n": 2})
    with (
        engine.connect() as conn,
        pytest.raises(sa_exc.ArgumentError if engine.dialect.name == "postgresql" else sa_exc.StatementError),
    ):
        insert.run(conn, {"id": "b"})  # a required parameter missing


def test_cursor_events_see_the_statement(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    seen: list[tuple[str, Any]] = []
    event.listen(
        engine, "before_cursor_execute", lambda _c, _k, statement, params, *_: seen.append((statement, params))
    )
    after: list[str] = []
    event.listen(engine, "after_cursor_execute", lambda _c, _k, statement, *_: after.append(statement))
    with engine.begin() as conn:
        DriverStatement(t.insert().values(id=sa.bindparam("id"), n=sa.bindparam("n"))).run(conn, {"id": "e", "n": 7})
    assert seen and seen[-1][0].startswith("INSERT INTO " + t.name) and after[-1] == seen[-1][0]


def test_engines_of_one_kind_share_the_compiled_statement(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    other = create_engine(engine.url.render_as_string(hide_password=False))
    read = DriverStatement(sa.select(t.c.n).where(t.c.id == sa.bindparam("key")))
    try:
        for current in (engine, other, engine, other):
            with current.connect() as conn:
                assert read.run(conn, {"key": "none"}).first() is None
    finally:
        other.dispose()
    assert len(read._compiled) == (1 if engine.dialect.name == "postgresql" else 0)


def test_run_single_commits_on_its_own_and_hands_back_a_transactional_connection(
    table: tuple[sa.Engine, sa.Table],
) -> None:
    """``run_single``: the statement is its own transaction (committed, visible to others at once); the pooled
    connection it used goes back out of autocommit mode, so the next ``engine.begin()``'s rollback still undoes."""
    engine, t = table
    insert = DriverStatement(t.insert().values(id=sa.bindparam("id"), n=sa.bindparam("n")))
    read = DriverStatement(sa.select(t.c.n).where(t.c.id == sa.bindparam("id")))
    assert insert.run_single(engine, {"id": "s", "n": 3}).rows == ()
    row = read.run_single(engine, {"id": "s"}).first()
    assert row is not None and row[0] == 3
    with engine.connect() as conn:
        conn.execute(t.insert().values(id="r", n=1))
        conn.rollback()
    assert read.run_single(engine, {"id": "r"}).first() is None
    with pytest.raises(sa_exc.IntegrityError):
        insert.run_single(engine, {"id": "s", "n": 4})
    assert read.run_single(engine, {"id": "s"}).first() == (3,)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa_exc.ArgumentError):
            insert.run_single(engine, {"id": "b"})
        assert engine.pool.checkedout() == 0  # handed back after errors too


def test_run_single_listeners_see_the_statement(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _k, statement, *_: seen.append(statement))
    DriverStatement(sa.select(t.c.n).where(t.c.id == sa.bindparam("id"))).run_single(engine, {"id": "x"})
    assert seen and seen[-1].startswith("SELECT")
