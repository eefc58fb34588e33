"""infra.audit: the hash chain detects every change to the stored log except a cut-off tail, which only an externally
kept head reveals; appends from concurrent writers never fork the chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from infra.audit import (
    GENESIS_HASH,
    AuditHead,
    AuditLog,
    append_only_guard_sql,
    audit_log,
    define_audit_table,
    entry_hash,
    verify_audit_log,
)
from infra.db import create_engine, sqlite_url
from ssi.clock import FrozenClock

T0 = 1_750_000_000.25


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "issuer.db")
    return str(request.getfixturevalue("postgres_url"))  # a fresh database, dropped afterwards


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def log(engine: Engine) -> AuditLog:
    """A log without the append-only triggers, so tests can tamper with it as an attacker with write access could."""
    audit = AuditLog(engine, clock=FrozenClock(T0))
    audit.create_table(append_only_guards=False)
    return audit


def _fill(log: AuditLog, n: int) -> None:
    for i in range(1, n + 1):
        log.append(
            actor=f"user:clerk{i % 3}",
            authority="stadt-koeln",
            action="credential.issue" if i % 2 else "credential.revoke",
            subjects=[f"credential:{i:04d}", "configuration:pid-sd-jwt"],
        )


def _execute(engine: Engine, statement: Any) -> None:
    with engine.begin() as conn:
        conn.execute(statement)


def _row(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(audit_log).where(audit_log.c.seq == seq)).mappings().one())


# --- writing ------------------------------------------------------------------------------------------------------


def test_entries_form_a_chain(log: AuditLog) -> None:
    first = log.append(actor="user:admin", authority="stadt-koeln", action="offer.create", subjects=["offer:abc"])
    second = log.append(actor="apikey:k1", authority="stadt-koeln", action="credential.issue")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert first.time == "2025-06-15T15:06:40.250000Z"  # RFC 3339 UTC from the injected clock
    assert second.subjects == ()
    assert first.hash == entry_hash(
        seq=1,
        time=first.time,
        actor="user:admin",
        authority="stadt-koeln",
        action="offer.create",
        subjects=["offer:abc"],
        prev_hash=GENESIS_HASH,
    )
    assert log.head() == AuditHead(2, second.hash)
    assert [e.to_dict() for e in log.entries()] == [first.to_dict(), second.to_dict()]
    assert log.entries(after_seq=1) == [second]


def test_canonical_encoding_is_pinned() -> None:
    """The hash is SHA-256 over "govssi-audit-v1\\n" and the sorted, whitespace-free JSON (a format, not a detail)."""
    digest = entry_hash(
        seq=1,
        time="2025-01-01T00:00:00.000000Z",
        actor="a",
        authority="b",
        action="c",
        subjects=["d"],
        prev_hash="0" * 64,
    )
    import hashlib

    encoded = (
        b"govssi-audit-v1\n"
        b'{"action":"c","actor":"a","authority":"b","prev_hash":"' + b"0" * 64 + b'","seq":1,'
        b'"subjects":["d"],"time":"2025-01-01T00:00:00.000000Z"}'
    )
    assert digest == hashlib.sha256(encoded).hexdigest()


def test_empty_log_verifies(log: AuditLog) -> None:
    result = log.verify()
    assert result.ok and result.entries == 0 and result.head == AuditHead(0, GENESIS_HASH)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action", "credential revoke"),
        ("action", "Credential.Issue"),
        ("actor", ""),
        ("actor", "Erika Mustermann"),
        ("authority", "stadt köln"),
    ],
)
def test_fields_must_be_identifiers(log: AuditLog, field: str, value: str) -> None:
    """No free text (and with it no prose carrying personal data) gets into the log."""
    args = {"actor": "user:clerk", "authority": "stadt-koeln", "action": "credential.issue", field: value}
    with pytest.raises(ValueError):
        log.append(**args)


def test_subjects_must_be_identifiers(log: AuditLog) -> None:
    with pytest.raises(ValueError):
        log.append(actor="u", authority="a", action="credential.issue", subjects=["ERIKA MUSTERMANN"])
    with pytest.raises(ValueError):
        log.append(actor="u", authority="a", action="credential.issue", subjects=[f"c:{i}" for i in range(33)])
    assert log.verify().entries == 0


# --- what verification detects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("time", "2025-06-15T15:06:41.250000Z", "hash_mismatch"),
        ("actor", "user:someone-else", "hash_mismatch"),
        ("authority", "stadt-bonn", "hash_mismatch"),
        ("action", "credential.unsuspend", "hash_mismatch"),
        ("subjects", '["credential:9999"]', "hash_mismatch"),
        ("subjects", "not json", "malformed_entry"),
        ("prev_hash", "f" * 64, "prev_hash_mismatch"),
        ("hash", "e" * 64, "hash_mismatch"),
    ],
)
def test_tampering_with_any_field_is_detected(
    engine: Engine, log: AuditLog, column: str, value: str, reason: str
) -> None:
    _fill(log, 6)
    _execute(engine, sa.update(audit_log).where(audit_log.c.seq == 4).values({column: value}))
    result = log.verify()
    assert not result.ok
    assert (result.first_bad_seq, result.reason) == (4, reason)
    assert result.entries == 3 and result.head.seq == 3


def test_a_recomputed_hash_moves_the_break_to_the_next_entry(engine: Engine, log: AuditLog) -> None:
    """Changing entry 2 and recomputing its hash (and entry 3's prev_hash) only breaks entry 3: prev_hash is hashed."""
    _fill(log, 5)
    row = _row(engine, 2)
    fields = {k: row[k] for k in ("seq", "time", "authority", "action", "prev_hash")}
    forged = entry_hash(**fields, actor="user:mallory", subjects=json.loads(row["subjects"]))
    _execute(engine, sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="user:mallory", hash=forged))
    _execute(engine, sa.update(audit_log).where(audit_log.c.seq == 3).values(prev_hash=forged))
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 3, "hash_mismatch")


def test_deleted_entry_is_detected(engine: Engine, log: AuditLog) -> None:
    _fill(log, 6)
    _execute(engine, sa.delete(audit_log).where(audit_log.c.seq == 3))
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason, result.entries) == (False, 3, "seq_gap", 2)


def test_deleted_entry_with_renumbered_successors_is_detected(engine: Engine, log: AuditLog) -> None:
    """Closing the gap (seq 4→3, 5→4, …) does not help: seq is part of each hash, and prev_hash links break."""
    _fill(log, 6)
    _execute(engine, sa.delete(audit_log).where(audit_log.c.seq == 3))
    for seq in (4, 5, 6):
        _execute(engine, sa.update(audit_log).where(audit_log.c.seq == seq).values(seq=seq - 1))
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 3, "prev_hash_mismatch")


def test_reordered_entries_are_detected(engine: Engine, log: AuditLog) -> None:
    """Swapping two entries' places (their seq numbers) breaks the chain at the first of them."""
    _fill(log, 6)
    _execute(engine, sa.update(audit_log).where(audit_log.c.seq == 2).values(seq=100))
    _execute(engine, sa.update(audit_log).where(audit_log.c.seq == 3).values(seq=2))
    _execute(engine, sa.update(audit_log).where(audit_log.c.seq == 100).values(seq=3))
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 2, "prev_hash_mismatch")


def test_truncated_tail_needs_the_external_head(engine: Engine, log: AuditLog) -> None:
    """A cut-off tail leaves a consistent, shorter chain: only a head kept outside the database reveals it."""
    _fill(log, 6)
    anchored: list[AuditHead] = []
    assert log.anchor(anchored.append) == AuditHead(6, _row(engine, 6)["hash"])
    _execute(engine, sa.delete(audit_log).where(audit_log.c.seq >= 5))
    alone = log.verify()
    assert alone.ok and alone.entries == 4  # the documented limit of a hash chain on its own
    result = log.verify(trusted_head=anchored[0])
    assert (result.ok, result.first_bad_seq, result.reason, result.entries) == (False, 5, "head_missing", 4)


def test_consistently_rewritten_chain_needs_the_external_head(engine: Engine, log: AuditLog) -> None:
    """Whoever can write the database can recompute every hash after a change; the anchored head still differs."""
    _fill(log, 4)
    trusted = log.head()
    _execute(engine, sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="user:mallory"))
    prev = _row(engine, 1)["hash"]
    for seq in (2, 3, 4):
        row = _row(engine, seq)
        fields = {k: row[k] for k in ("seq", "time", "actor", "authority", "action", "prev_hash")}
        fields["prev_hash"] = prev
        prev = entry_hash(**fields, subjects=json.loads(row["subjects"]))
        _execute(
            engine, sa.update(audit_log).where(audit_log.c.seq == seq).values(prev_hash=fields["prev_hash"], hash=prev)
        )
    assert log.verify().ok
    result = log.verify(trusted_head=trusted)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 4, "head_mismatch")
    assert log.verify(trusted_head=AuditHead(1, _row(engine, 1)["hash"])).ok  # an older anchor before the change


def test_anchor_refuses_a_broken_log(engine: Engine, log: AuditLog) -> None:
    _fill(log, 3)
    _execute(engine, sa.update(audit_log).where(audit_log.c.seq == 2).values(action="credential.suspend"))
    sink: list[AuditHead] = []
    with pytest.raises(ValueError):
        log.anchor(sink.append)
    assert sink == []


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=8),
    data=st.data(),
    column=st.sampled_from(["time", "actor", "authority", "action", "subjects", "prev_hash", "hash"]),
)
def test_any_single_change_is_found_at_its_entry(n: int, data: st.DataObject, column: str) -> None:
    engine = create_engine("sqlite://")
    try:
        log = AuditLog(engine, clock=FrozenClock(T0))
        log.create_table(append_only_guards=False)
        _fill(log, n)
        seq = data.draw(st.integers(min_value=1, max_value=n))
        original = _row(engine, seq)[column]
        value = data.draw(
            st.text(alphabet="abcdef0123456789:.-", min_size=1, max_size=20).filter(lambda v: v != original)
        )
        if column == "subjects":
            value = json.dumps([value])
        _execute(engine, sa.update(audit_log).where(audit_log.c.seq == seq).values({column: value}))
        result = log.verify()
        assert not result.ok and result.first_bad_seq == seq and result.entries == seq - 1
    finally:
        engine.dispose()


# --- append-only guards -------------------------------------------------------------------------------------------


def test_guards_refuse_update_and_delete(engine: Engine) -> None:
    log = AuditLog(engine)
    log.create_table()
    log.append(actor="user:admin", authority="stadt-koeln", action="user.create", subjects=["user:clerk1"])
    for statement in (
        sa.update(audit_log).values(actor="user:mallory"),
        sa.delete(audit_log),
    ):
        with pytest.raises(sa.exc.DBAPIError):
            _execute(engine, statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError):
            _execute(engine, sa.text("TRUNCATE audit_log"))
    assert log.verify().entries == 1
    log.create_table()  # idempotent, guards included
    assert log.append(actor="user:admin", authority="stadt-koeln", action="user.delete").seq == 2


def test_guard_sql_only_for_plain_table_names() -> None:
    with pytest.raises(ValueError):
        append_only_guard_sql("sqlite", "audit; DROP TABLE x")
    assert append_only_guard_sql("mysql") == []


# --- concurrency --------------------------------------------------------------------------------------------------


def test_concurrent_appends_never_fork_the_chain(database_url: str) -> None:
    """8 writers on 4 engines (as separate service instances would be) append 200 entries: one chain, no gaps."""
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        AuditLog(engines[0]).create_table()
        logs = [AuditLog(e) for e in engines]
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def write(n: int) -> None:
            try:
                barrier.wait()
                for i in range(25):
                    logs[n % 4].append(
                        actor=f"worker:{n}", authority="a", action="credential.issue", subjects=[f"c:{n}-{i}"]
                    )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        result = logs[1].verify()
        assert result.ok and result.entries == 200
        subjects = [s for e in logs[2].entries(limit=1000) for s in e.subjects]
        assert sorted(subjects) == sorted(f"c:{n}-{i}" for n in range(8) for i in range(25))
    finally:
        for e in engines:
            e.dispose()


def test_in_memory_sqlite_appends_from_threads() -> None:
    """One shared connection (StaticPool): the log's own lock keeps threads from interleaving transactions."""
    engine = create_engine("sqlite://")
    log = AuditLog(engine)
    log.create_table()
    threads = [
        threading.Thread(target=lambda: [log.append(actor="u", authority="a", action="x.y") for _ in range(20)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.verify().entries == 80
    engine.dispose()


def _business_table(engine: Engine) -> sa.Table:
    business = sa.Table("revocations", sa.MetaData(), sa.Column("credential", sa.String(64), primary_key=True))
    business.create(engine)
    return business


def test_append_joins_the_callers_transaction(engine: Engine, log: AuditLog) -> None:
    """A revocation and its audit entry are stored together or not at all."""
    business = _business_table(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(sa.insert(business).values(credential="c-1"))
        log.append(
            actor="user:clerk", authority="a", action="credential.revoke", subjects=["credential:c-1"], connection=conn
        )
        raise RuntimeError("the request failed after the audit entry")
    assert log.verify().entries == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(business)).scalar_one() == 0
    with engine.begin() as conn:
        conn.execute(sa.insert(business).values(credential="c-1"))
        entry = log.append(actor="user:clerk", authority="a", action="credential.revoke", connection=conn)
    assert entry.seq == 1 and log.verify().ok


def test_concurrent_appends_inside_callers_transactions(database_url: str) -> None:
    """Transactions that write, then append as their last step, on 4 engines from 8 threads: one chain."""
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        AuditLog(engines[0]).create_table()
        business = _business_table(engines[0])
        logs = [AuditLog(e) for e in engines]
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def write(n: int) -> None:
            try:
                barrier.wait()
                for i in range(10):
                    with engines[n % 4].begin() as conn:
                        conn.execute(sa.insert(business).values(credential=f"{n}-{i}"))
                        logs[n % 4].append(actor="u", authority="a", action="credential.revoke", connection=conn)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert logs[3].verify().entries == 80
    finally:
        for e in engines:
            e.dispose()


# --- the function behind `govssi issuer audit verify` -------------------------------------------------------------


def test_verify_audit_log_by_url(database_url: str, engine: Engine) -> None:
    assert verify_audit_log(database_url)["reason"] == "no_audit_log"
    log = AuditLog(engine)
    log.create_table(append_only_guards=False)
    _fill(log, 3)
    report = verify_audit_log(database_url)
    assert report == {"ok": True, "entries": 3, "first_bad_seq": None, "reason": None, "head": log.head().to_dict()}
    assert verify_audit_log(database_url, trusted_head=AuditHead(3, "0" * 64))["reason"] == "head_mismatch"
    _execute(engine, sa.delete(audit_log).where(audit_log.c.seq == 2))
    report = verify_audit_log(database_url)
    assert (report["ok"], report["first_bad_seq"], report["reason"]) == (False, 2, "seq_gap")


def test_verify_audit_log_unreachable_database() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    report = verify_audit_log(f"postgresql://postgres@127.0.0.1:{port}/nothing")
    assert (report["ok"], report["reason"]) == (False, "database_unavailable")


def test_table_on_a_services_own_metadata(tmp_path: Path) -> None:
    """A service puts the table on its metadata (so its Alembic migrations create it) under a name of its choice."""
    service_metadata = sa.MetaData()
    table = define_audit_table(service_metadata, "issuer_audit")
    engine = create_engine(sqlite_url(tmp_path / "svc.db"))
    try:
        service_metadata.create_all(engine)
        with engine.begin() as conn:
            for statement in append_only_guard_sql("sqlite", "issuer_audit"):
                conn.exec_driver_sql(statement)
        log = AuditLog(engine, table=table)
        log.append(actor="system", authority="stadt-koeln", action="status_list.publish", subjects=["status-list:1"])
        assert verify_audit_log(sqlite_url(tmp_path / "svc.db"), table="issuer_audit")["entries"] == 1
    finally:
        engine.dispose()
