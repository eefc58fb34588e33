"""Going back before migration 0003 is refused (``IrreversibleMigration``): its downgrade would drop the append-only,
hash-chained audit log (issue 7 "Audit and keys"). The refusal rolls back the whole downgrade run, so the reversible
steps before it (0005, 0004) are undone too and nothing is lost — on SQLite and on PostgreSQL (transactional DDL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from infra.db import IrreversibleMigration, create_engine, migration_transaction, sqlite_url, upgrade
from issuer.storage import MIGRATIONS, VERSION_TABLE, IssuerStorage, _head_revision


def _downgrade(engine: sa.Engine, revision: str) -> None:
    """What ``infra.db.upgrade`` does, the other way (in the same kind of transaction)."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("path_separator", "os")
    with migration_transaction(engine) as connection:
        config.attributes["connection"] = connection
        config.attributes["version_table"] = VERSION_TABLE
        command.downgrade(config, revision)


def _state(engine: sa.Engine) -> tuple[str, set[str], int]:
    with engine.connect() as conn:
        version = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
        audit_rows = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    return version, set(sa.inspect(engine).get_table_names()), audit_rows


def _refused_and_kept(engine: sa.Engine) -> None:
    IssuerStorage(engine).migrate()
    with engine.begin() as conn:  # an entry the refused downgrade must not take away
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (seq, time, actor, authority, action, subjects, prev_hash, hash) "
                "VALUES (1, '2026-11-24T00:00:00Z', 'admin', 'stadt', 'offer.create', '[]', :prev, :hash)"
            ),
            {"prev": "0" * 64, "hash": "1" * 64},
        )
    before = _state(engine)
    assert before[0] == _head_revision() and {"audit_log", "audit_outbox", "staff_account"} <= before[1]
    with pytest.raises(IrreversibleMigration, match="append-only"):
        _downgrade(engine, "0002")
    assert _state(engine) == before  # 0005's and 0004's downgrades rolled back with the refusal
    _downgrade(engine, "0003")  # the reversible steps alone still go back
    version, tables, rows = _state(engine)
    assert version == "0003" and "audit_outbox" not in tables and rows == 1
    upgrade(engine, MIGRATIONS, version_table=VERSION_TABLE)
    assert _state(engine) == before


def test_downgrade_before_0003_is_refused_sqlite(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "issuer.db"))
    try:
        _refused_and_kept(engine)
    finally:
        engine.dispose()


def test_downgrade_before_0003_is_refused_postgresql(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        _refused_and_kept(engine)
    finally:
        engine.dispose()
