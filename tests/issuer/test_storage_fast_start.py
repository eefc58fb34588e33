"""Restarts skip Alembic when the database is at the newest migration (``IssuerStorage.migrate``): the crash-recovery
cycle and every restart of a busy issuer come back without the second Alembic costs to load — and a database one
migration behind, or a fresh one, is still migrated. Each case runs in a fresh interpreter, so ``sys.modules`` tells
whether Alembic was loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.db import create_engine, sqlite_url, upgrade
from issuer.storage import MIGRATIONS, VERSION_TABLE, _head_revision

_PROBE = """
import sys
from infra.db import create_engine
from issuer.storage import IssuerStorage
engine = create_engine(sys.argv[1])
IssuerStorage(engine).migrate()
with engine.connect() as conn:
    version = conn.exec_driver_sql("SELECT version_num FROM issuer_alembic_version").scalar()
print("alembic" in sys.modules, version)
"""


def _migrate_in_a_fresh_process(url: str) -> tuple[bool, str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    loaded, version = done.stdout.split()
    return loaded == "True", version


def _database(url: str) -> None:
    head = _head_revision()
    assert head is not None
    loaded, version = _migrate_in_a_fresh_process(url)
    assert loaded and version == head  # a fresh database: migrated by Alembic
    loaded, version = _migrate_in_a_fresh_process(url)
    assert not loaded and version == head  # up to date: no Alembic


def test_one_migration_behind_is_migrated(tmp_path: Path) -> None:
    """As after installing a newer govssi: the database is at 0003, Alembic runs what is missing."""
    url = sqlite_url(tmp_path / "issuer.db")
    engine = create_engine(url)
    upgrade(engine, MIGRATIONS, revision="0003", version_table=VERSION_TABLE)
    engine.dispose()
    loaded, version = _migrate_in_a_fresh_process(url)
    assert loaded and version == _head_revision()


def test_head_revision_is_the_newest_migration_file() -> None:
    versions = Path(__file__).resolve().parents[2] / "issuer" / "migrations" / "versions"
    numbered = sorted(p.name.split("_", 1)[0] for p in versions.glob("[0-9]*.py"))
    assert _head_revision() == numbered[-1]


def test_sqlite_restart_skips_alembic(tmp_path: Path) -> None:
    _database(sqlite_url(tmp_path / "issuer.db"))


def test_postgresql_restart_skips_alembic(postgres_url: str) -> None:
    pytest.importorskip("psycopg")
    _database(postgres_url)
