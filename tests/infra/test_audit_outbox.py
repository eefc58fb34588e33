"""infra.audit's outbox: an entry recorded in a transaction (``AuditLog.record``, no append lock) exists exactly when
that transaction commits, and the sequencer links every committed entry into the one chain exactly once — also with
concurrent writers, several sequencers and direct appends on SQLite and PostgreSQL, and when sequencing fails half-way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import infra.audit
from infra.audit import AuditLog, define_audit_outbox_table, define_audit_table, verify_audit_log
from infra.db import create_engine, sqlite_url
from ssi.clock import FrozenClock

T0 = 1_750_000_000.25


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "outbox.db")
    return str(request.getfixturevalue("postgres_url"))  # a fresh database, dropped afterwards


class Schema:
    """The service's tables: the log, its outbox, and a business table whose rows each need an audit entry."""

    def __init__(self) -> None:
        self.metadata = sa.MetaData()
        self.log = define_audit_table(self.metadata)
        self.outbox = define_audit_outbox_table(self.metadata)
        self.business = sa.Table("business", self.metadata, sa.Column("credential", sa.String(40), primary_key=True))

    def audit(self, engine: Engine, clock: FrozenClock | None = None) -> AuditLog:
        return AuditLog(engine, table=self.log, outbox=self.outbox, clock=clock or FrozenClock(T0))

    def count(self, engine: Engine, table: sa.Table) -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.fixture
def schema() -> Schema:
    return Schema()


@pytest.fixture
def engine(database_url: str, schema: Schema) -> Iterator[Engine]:
    eng = create_engine(database_url)
    schema.metadata.create_all(eng)
    yield eng
    eng.dispose()


def test_an_entry_exists_exactly_when_its_transaction_commits(engine: Engine, schema: Schema) -> None:
    log = schema.audit(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(sa.insert(schema.business).values(credential="c-1"))
        log.record(
            actor="wallet", authority="stadt-koeln", action="credential.issue", subjects=["c:1"], connection=conn
        )
        raise RuntimeError("the issuance fails after recording")
    assert log.pending() == 0 and schema.count(engine, schema.business) == 0
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.business).values(credential="c-2"))
        log.record(
            actor="wallet", authority="stadt-koeln", action="credential.issue", subjects=["c:2"], connection=conn
        )
    # Committed: waiting in the outbox, not yet in the chain.
    assert log.pending() == 1 and schema.count(engine, schema.log) == 0
    entries = log.entries()  # readers chain what is waiting first
    assert [(e.seq, e.action, e.subjects, e.time) for e in entries] == [
        (1, "credential.issue", ("c:2",), "2025-06-15T15:06:40.250000Z")
    ]
    assert log.pending() == 0 and log.verify().ok


def test_record_checks_the_fields_before_writing(engine: Engine, schema: Schema) -> None:
    log = schema.audit(engine)
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="identifier"):
            log.record(actor="Erika Mustermann", authority="a", action="credential.issue", connection=conn)
        with pytest.raises(ValueError, match="dotted"):
            log.record(actor="wallet", authority="a", action="Credential Issue", connection=conn)
    assert log.pending() == 0


def test_without_an_outbox_record_appends_to_the_chain(engine: Engine, schema: Schema) -> None:
    log = AuditLog(engine, table=schema.log, clock=FrozenClock(T0))
    with engine.begin() as conn:
        log.record(actor="wallet", authority="a", action="credential.issue", subjects=["c:1"], connection=conn)
    assert schema.count(engine, schema.log) == 1 and log.sequence() == 0 and log.verify().ok


def test_sequencing_that_fails_half_way_chains_nothing(
    engine: Engine, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain insert and the outbox delete are one transaction: a failure leaves every entry in the outbox, and the
    next round chains each of them once."""
    log = schema.audit(engine)
    for i in range(5):
        with engine.begin() as conn:
            log.record(actor="wallet", authority="a", action="credential.issue", subjects=[f"c:{i}"], connection=conn)
    real = infra.audit.entry_hash
    calls = []

    def failing(**fields: object) -> str:
        calls.append(fields)
        if len(calls) == 3:
            raise OSError("the sequencer's process dies here")
        return real(**fields)  # type: ignore[arg-type]

    monkeypatch.setattr(infra.audit, "entry_hash", failing)
    with pytest.raises(OSError):
        log.sequence()
    monkeypatch.setattr(infra.audit, "entry_hash", real)
    assert schema.count(engine, schema.log) == 0 and log.pending() == 5
    assert log.sequence() == 5 and log.pending() == 0
    result = log.verify()
    assert result.ok and result.entries == 5
    assert [e.subjects for e in log.entries()] == [(f"c:{i}",) for i in range(5)]


def test_concurrent_writers_and_sequencers_keep_one_chain(database_url: str, schema: Schema) -> None:
    """8 writers on 4 engines (as service instances) record 15 entries each in their own transactions, a ninth
    appends 10 entries directly, while two sequencers chain in a loop: afterwards one chain holds every committed
    entry exactly once, each business row has its entry, and the outbox is empty."""
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        schema.metadata.create_all(engines[0])
        logs = [schema.audit(e) for e in engines]
        errors: list[BaseException] = []
        barrier = threading.Barrier(11)
        done = threading.Event()

        def write(n: int) -> None:
            try:
                barrier.wait()
                for i in range(15):
                    with engines[n % 4].begin() as conn:
                        conn.execute(sa.insert(schema.business).values(credential=f"{n}-{i}"))
                        logs[n % 4].record(
                            actor=f"worker:{n}",
                            authority="a",
                            action="credential.issue",
                            subjects=[f"c:{n}-{i}"],
                            connection=conn,
                        )
            except BaseException as exc:
                errors.append(exc)

        def append_directly() -> None:
            try:
                barrier.wait()
                for i in range(10):
                    logs[3].append(actor="user:clerk", authority="a", action="staff.login", subjects=[f"d:{i}"])
            except BaseException as exc:
                errors.append(exc)

        def sequence(n: int) -> None:
            try:
                barrier.wait()
                while not done.is_set():
                    logs[n].sequence(batch=7)
            except BaseException as exc:
                errors.append(exc)

        writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        writers.append(threading.Thread(target=append_directly))
        sequencers = [threading.Thread(target=sequence, args=(n,)) for n in (0, 1)]
        for thread in writers + sequencers:
            thread.start()
        for thread in writers:
            thread.join()
        done.set()
        for thread in sequencers:
            thread.join()
        assert not errors
        result = logs[2].verify()
        assert result.ok and result.entries == 8 * 15 + 10
        assert logs[0].pending() == 0
        subjects = [s for e in logs[1].entries(limit=1000) for s in e.subjects]
        expected = [f"c:{n}-{i}" for n in range(8) for i in range(15)] + [f"d:{i}" for i in range(10)]
        assert sorted(subjects) == sorted(expected)
        assert schema.count(engines[0], schema.business) == 8 * 15
    finally:
        for e in engines:
            e.dispose()


def test_verify_audit_log_reports_what_is_pending(tmp_path: Path, schema: Schema) -> None:
    """``govssi issuer audit verify`` is read-only: entries still in the outbox are counted, not chained."""
    url = sqlite_url(tmp_path / "svc.db")
    engine = create_engine(url)
    try:
        schema.metadata.create_all(engine)
        log = schema.audit(engine)
        log.append(actor="system", authority="a", action="status_list.publish", subjects=["status-list:1"])
        with engine.begin() as conn:
            log.record(actor="wallet", authority="a", action="credential.issue", subjects=["c:1"], connection=conn)
        report = verify_audit_log(url)
        assert (report["ok"], report["entries"], report["pending"]) == (True, 1, 1)
        assert log.sequence() == 1
        report = verify_audit_log(url)
        assert (report["ok"], report["entries"], report["pending"]) == (True, 2, 0)
    finally:
        engine.dispose()


def test_the_background_sequencer_chains_and_stops(engine: Engine, schema: Schema) -> None:
    log = schema.audit(engine)
    stop = threading.Event()
    thread = threading.Thread(target=log.run_sequencer, args=(stop,), kwargs={"interval": 0.01})
    thread.start()
    try:
        with engine.begin() as conn:
            log.record(actor="wallet", authority="a", action="credential.issue", subjects=["c:1"], connection=conn)
    finally:
        stop.set()
        log.recorded.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert schema.count(engine, schema.log) == 1 and log.pending() == 0  # chained, at the latest by the final round
