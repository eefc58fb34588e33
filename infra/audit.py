"""An append-only, hash-chained audit log of the authorities' actions and of every issuance (issue "Issuer II").

Each entry is ``{seq, time, actor, authority, action, subjects, prev_hash, hash}``:

- ``seq`` counts from 1 without gaps; ``time`` is RFC 3339 UTC with microseconds, from the injected clock;
- ``actor`` is who acted (a staff account, an API key id, ``system``), ``authority`` on whose behalf, ``action`` what
  was done (dotted lower-case name, e.g. ``credential.revoke``);
- ``subjects`` are the identifiers of what it was done to (``credential:<id>``, ``offer:<id>``,
  ``pseudonym:<hmac>``), never values;
- ``prev_hash`` is the previous entry's ``hash`` (64 zeros before the first entry) and ``hash`` is the SHA-256 of
  the entry's canonical encoding *including* ``prev_hash``: the UTF-8 JSON of all other fields with sorted keys and
  no whitespace (RFC 8785 JCS — the same bytes here, as entries hold only ASCII strings and integers), prefixed with
  ``govssi-audit-v1\\n`` so no other hash in the system can be passed off as an entry's.

**No personal data.** The log outlives credentials and must not become a second register of citizens: no claim
values, names, birth dates, document numbers — only identifiers the issuer made up itself (credential and offer ids,
holder-key thumbprints, keyed pseudonyms). The character set of every field is restricted (no spaces, no free text),
which keeps prose and most values out, but it cannot tell an identifier from a value: callers pass identifiers.
``actor`` names the authority's staff account, because accountability for admin actions is the purpose of the log.

**What verification proves.** :meth:`AuditLog.verify` recomputes the chain: changing any field of any entry, deleting
or inserting an entry, or reordering entries breaks it at the first affected ``seq``. Removing entries *at the end*
leaves a shorter chain that is still consistent, and someone who can write the database can also rewrite the whole
chain consistently; both are detected only against a head (``seq`` and ``hash``) kept outside the database — the
anchoring hook (:meth:`AuditLog.anchor`) hands the current head to whatever keeps it (a chain transaction, a
write-once store, a printout), and ``verify(trusted_head=...)`` checks the log still contains it.

**Concurrency.** Appends are serialised by the database, so concurrent writers — threads, processes, service
instances — never fork the chain: SQLite takes the write lock first (``BEGIN IMMEDIATE``), PostgreSQL locks the
table in ``SHARE ROW EXCLUSIVE`` mode (writers queue, readers and :meth:`AuditLog.verify` do not wait); on any other
database a clash on the ``seq`` primary key is retried.

**The outbox.** Under that lock appends are one at a time across all writers, and inside a caller's transaction the
lock is held until the caller commits, so every commit that records an audit entry waits for the one before it. With an
outbox table (:func:`define_audit_outbox_table`) :meth:`AuditLog.record` instead adds the entry's fields (without
``seq``, ``prev_hash``, ``hash``) to the outbox in the caller's transaction — an insert, no lock: the entry commits
with what it records or not at all, exactly as before — and :meth:`AuditLog.sequence` links committed outbox rows into
the chain later, under the lock, in one transaction that also deletes them from the outbox (a crash in between leaves
them in the outbox for the next run: an entry is chained exactly once). ``seq`` is then the order in which entries
were chained, close to their commit order; ``time`` is when they were recorded. Every reader of the log
(:meth:`AuditLog.head`, :meth:`AuditLog.entries`, :meth:`AuditLog.verify`, :meth:`AuditLog.anchor`) sequences the
outbox first, so it sees every committed entry in the chain; services also sequence in the background.

The table is :data:`audit_log` in :data:`metadata` (or :func:`define_audit_table` on a service's own metadata, so its
Alembic migrations create it); :func:`append_only_guard_sql` gives triggers that refuse ``UPDATE`` and ``DELETE``.
``govssi issuer audit verify`` calls :func:`verify_audit_log`.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from infra.db import DriverStatement
from ssi.clock import Clock

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditHead",
    "AuditLog",
    "AuditVerification",
    "append_only_guard_sql",
    "audit_log",
    "define_audit_outbox_table",
    "define_audit_table",
    "entry_hash",
    "metadata",
    "verify_audit_log",
]

_log = logging.getLogger("govssi.audit")

GENESIS_HASH = "0" * 64
_DOMAIN = b"govssi-audit-v1\n"
_ACTION = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
#: Identifiers: no whitespace, no quotes, no free text. ``:`` separates a kind from an id (``credential:…``).
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~/+=@-]*")
_MAX_ACTION, _MAX_ID, _MAX_SUBJECTS = 64, 200, 32
_APPEND_ATTEMPTS = 5


def define_audit_table(metadata: sa.MetaData, name: str = "audit_log") -> sa.Table:
    """The audit table on ``metadata`` (a service adds it to its own metadata so its migrations create it)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(_MAX_ID), nullable=False),
        sa.Column("authority", sa.String(_MAX_ID), nullable=False),
        sa.Column("action", sa.String(_MAX_ACTION), nullable=False),
        sa.Column("subjects", sa.Text, nullable=False),  # the canonical JSON array
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )


#: The outbox columns an entry is recorded with (``id`` is the database's).
_OUTBOX_COLUMNS = ("time", "actor", "authority", "action", "subjects")


def define_audit_outbox_table(metadata: sa.MetaData, name: str = "audit_outbox") -> sa.Table:
    """The outbox of entries recorded but not yet chained (:meth:`AuditLog.record`, :meth:`AuditLog.sequence`):
    the fields of an entry without ``seq``, ``prev_hash`` and ``hash``, in the order they were recorded (``id``)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(_MAX_ID), nullable=False),
        sa.Column("authority", sa.String(_MAX_ID), nullable=False),
        sa.Column("action", sa.String(_MAX_ACTION), nullable=False),
        sa.Column("subjects", sa.Text, nullable=False),  # the canonical JSON array
    )


#: Metadata holding only the audit table, for tools and tests; services use :func:`define_audit_table`.
metadata = sa.MetaData()
audit_log = define_audit_table(metadata)


def append_only_guard_sql(dialect: str, table: str = "audit_log") -> list[str]:
    """DDL for triggers that refuse ``UPDATE`` and ``DELETE`` on the audit table (defence in depth: whoever owns the
    database can drop them, which is why the chain and the anchored head exist). For a migration's ``op.execute``."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
        raise ValueError("table names are lower-case identifiers")
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            for op in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()",
        ]
    return []


# --- entries ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The last entry's ``seq`` and ``hash``: what is anchored outside the database (``seq`` 0: an empty log)."""

    seq: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    time: str
    actor: str
    authority: str
    action: str
    subjects: tuple[str, ...]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "authority": self.authority,
            "action": self.action,
            "subjects": list(self.subjects),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def _canonical(fields: dict[str, Any] | list[str]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(
    *, seq: int, time: str, actor: str, authority: str, action: str, subjects: Sequence[str], prev_hash: str
) -> str:
    """SHA-256 (hex) of ``govssi-audit-v1\\n`` ‖ the canonical JSON of the entry without ``hash``."""
    fields = {
        "seq": seq,
        "time": time,
        "actor": actor,
        "authority": authority,
        "action": action,
        "subjects": list(subjects),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(_DOMAIN + _canonical(fields)).hexdigest()


def _rfc3339(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _identifier(value: str, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"audit {what} must be an identifier (letters, digits, ._:~/+=@-; no spaces or free text)")
    return value


# --- verification result ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The outcome of :meth:`AuditLog.verify`.

    ``entries``: how many entries were found consistent (all of them when ``ok``); ``first_bad_seq``: the ``seq``
    where the chain breaks (for a missing entry, the ``seq`` that should be there); ``reason``: which rule broke
    (``seq_gap``, ``prev_hash_mismatch``, ``hash_mismatch``, ``malformed_entry``, ``head_missing``,
    ``head_mismatch``); ``head``: the last consistent entry's head.
    """

    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str | None
    head: AuditHead

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "head": self.head.to_dict(),
        }


# --- the log ------------------------------------------------------------------------------------------------------


class AuditLog:
    """The audit log in ``engine``'s database (table ``table``, by default :data:`audit_log`).

    The table must exist: services create it with their migrations; :meth:`create_table` is for tools and tests.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        table: sa.Table = audit_log,
        clock: Clock = time.time,
        outbox: sa.Table | None = None,
    ) -> None:
        self._engine = engine
        self._table = table
        #: Entries recorded in callers' transactions wait here for :meth:`sequence` (``None``: no outbox).
        self._outbox = outbox
        #: One insert per recorded entry, on every issuance: sent to the driver directly on PostgreSQL.
        self._outbox_insert = (
            None
            if outbox is None
            else DriverStatement(outbox.insert().values({name: sa.bindparam(name) for name in _OUTBOX_COLUMNS}))
        )
        #: Set by :meth:`record`; a background sequencer may wait on it.
        self.recorded = threading.Event()
        self._clock = clock
        self._dialect = engine.dialect.name
        # Threads of this process queue here rather than in the database (and an in-memory SQLite database, whose
        # one connection all threads share, could not run two appends at once at all).
        self._local = threading.Lock()

    def create_table(self, *, append_only_guards: bool = True) -> None:
        """Create the table when missing, with the append-only triggers (SQLite and PostgreSQL)."""
        with self._engine.begin() as conn:
            self._table.create(conn, checkfirst=True)
            if append_only_guards:
                for statement in append_only_guard_sql(self._dialect, self._table.name):
                    conn.exec_driver_sql(statement)

    # -- writing --

    def append(
        self,
        *,
        actor: str,
        authority: str,
        action: str,
        subjects: Iterable[str] = (),
        connection: Connection | None = None,
    ) -> AuditEntry:
        """Append one entry after the current head and return it.

        Without ``connection`` the entry is committed when this returns. With ``connection`` it joins the caller's
        transaction (committed or rolled back with it), so an issuance or a revocation and its audit entry are
        stored together or not at all; call it as the transaction's last step, after the transaction's own writes
        (on SQLite the write lock is then held already; on PostgreSQL the table lock is held until the commit, so
        it should be short).
        """
        actor, authority, action, subject_list = _checked(actor, authority, action, subjects)
        if connection is not None:
            with self._local:
                return self._append_locked(connection, actor, authority, action, subject_list)
        for attempt in range(1, _APPEND_ATTEMPTS + 1):
            try:
                with self._local, self._engine.connect() as conn:
                    entry = self._append_locked(conn, actor, authority, action, subject_list)
                    conn.commit()
                    return entry
            except IntegrityError:
                # Only where the database offers no lock (neither SQLite nor PostgreSQL): another writer took this
                # seq first. The transaction was rolled back; read the new head and try again.
                if attempt == _APPEND_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def record(
        self,
        *,
        actor: str,
        authority: str,
        action: str,
        subjects: Iterable[str] = (),
        connection: Connection,
    ) -> None:
        """Record one entry in ``connection``'s transaction (committed or rolled back with it). With an outbox: one
        insert into the outbox, no lock — :meth:`sequence` chains it after the commit; without: :meth:`append`."""
        if self._outbox_insert is None:
            self.append(actor=actor, authority=authority, action=action, subjects=subjects, connection=connection)
            return
        actor, authority, action, subject_list = _checked(actor, authority, action, subjects)
        self._outbox_insert.run(
            connection,
            {
                "time": _rfc3339(self._clock()),
                "actor": actor,
                "authority": authority,
                "action": action,
                "subjects": _canonical(subject_list).decode("utf-8"),
            },
        )
        self.recorded.set()

    @property
    def outbox(self) -> sa.Table | None:
        """The outbox table (``None``: entries are appended under the lock)."""
        return self._outbox

    def outbox_row(self, *, actor: str, authority: str, action: str, subjects: Iterable[str]) -> dict[str, str]:
        """The outbox row :meth:`record` would insert (checked the same way), for a caller that inserts it in a
        statement of its own; set :attr:`recorded` after its commit."""
        actor, authority, action, subject_list = _checked(actor, authority, action, subjects)
        return {
            "time": _rfc3339(self._clock()),
            "actor": actor,
            "authority": authority,
            "action": action,
            "subjects": _canonical(subject_list).decode("utf-8"),
        }

    def sequence(self, *, batch: int = 500) -> int:
        """Chain the outbox's committed entries (oldest first, ``batch`` per transaction) and return how many. Each
        batch is one transaction under the append lock: the entries are inserted into the chain and deleted from the
        outbox together. Without an outbox: 0."""
        if self._outbox is None:
            return 0
        o, t = self._outbox, self._table
        with self._engine.connect() as conn:  # the common case for readers: nothing waiting, no lock taken
            if conn.execute(sa.select(o.c.id).limit(1)).first() is None:
                return 0
        total = 0
        while True:
            with self._local, self._engine.connect() as conn:
                self._lock(conn)
                rows = conn.execute(sa.select(o).order_by(o.c.id).limit(batch)).all()
                if not rows:
                    conn.rollback()
                    return total
                last = conn.execute(sa.select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
                seq, prev_hash = (0, GENESIS_HASH) if last is None else (int(last[0]), str(last[1]))
                chained = []
                for row in rows:
                    seq += 1
                    subjects = json.loads(row.subjects)
                    digest = entry_hash(
                        seq=seq,
                        time=row.time,
                        actor=row.actor,
                        authority=row.authority,
                        action=row.action,
                        subjects=subjects,
                        prev_hash=prev_hash,
                    )
                    chained.append(
                        {
                            "seq": seq,
                            "time": row.time,
                            "actor": row.actor,
                            "authority": row.authority,
                            "action": row.action,
                            "subjects": row.subjects,
                            "prev_hash": prev_hash,
                            "hash": digest,
                        }
                    )
                    prev_hash = digest
                conn.execute(t.insert(), chained)
                conn.execute(sa.delete(o).where(o.c.id.in_([row.id for row in rows])))
                conn.commit()
            total += len(rows)
            if len(rows) < batch:
                return total

    def pending(self) -> int:
        """Entries recorded and committed but not chained yet (0 without an outbox)."""
        if self._outbox is None:
            return 0
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self._outbox)).scalar_one())

    def run_sequencer(self, stop: threading.Event, *, interval: float = 0.5) -> None:
        """Chain recorded entries in the background until ``stop`` is set: after each :meth:`record` in this process
        (at most every ``interval`` seconds, so entries are chained in batches) and every few seconds anyway (entries
        other processes left behind, e.g. after a crash). A final round runs when ``stop`` is set."""
        while not stop.is_set():
            self.recorded.wait(5.0)
            if stop.wait(interval):
                break
            self.recorded.clear()
            try:
                self.sequence()
            except Exception:  # the next round retries; readers sequence as well
                _log.exception("audit outbox sequencing failed")
        try:
            self.sequence()
        except Exception:
            _log.exception("audit outbox sequencing failed")

    def _lock(self, conn: Connection) -> None:
        if self._dialect == "sqlite":
            # Take the write lock now (waiting up to the busy timeout), not at the INSERT: a deferred transaction
            # that read the head before another writer committed could not upgrade its lock in WAL mode. Inside a
            # caller's transaction that has written already, the lock is held and there is nothing to take.
            if not getattr(conn.connection.dbapi_connection, "in_transaction", False):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif self._dialect == "postgresql":
            # Conflicts with itself (one appender at a time) but not with the ACCESS SHARE lock of readers; held to
            # the end of the transaction.
            name = conn.dialect.identifier_preparer.format_table(self._table)  # quoted, with its schema if any
            conn.execute(sa.text(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE"))

    def _append_locked(
        self, conn: Connection, actor: str, authority: str, action: str, subjects: list[str]
    ) -> AuditEntry:
        self._lock(conn)
        t = self._table
        last = conn.execute(sa.select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
        seq, prev_hash = (1, GENESIS_HASH) if last is None else (int(last[0]) + 1, str(last[1]))
        stamp = _rfc3339(self._clock())
        digest = entry_hash(
            seq=seq, time=stamp, actor=actor, authority=authority, action=action, subjects=subjects, prev_hash=prev_hash
        )
        conn.execute(
            sa.insert(t).values(
                seq=seq,
                time=stamp,
                actor=actor,
                authority=authority,
                action=action,
                subjects=_canonical(subjects).decode("utf-8"),
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        return AuditEntry(seq, stamp, actor, authority, action, tuple(subjects), prev_hash, digest)

    # -- reading --

    def head(self) -> AuditHead:
        """The current head as stored (not verified; :meth:`verify` returns the verified one)."""
        self.sequence()
        t = self._table
        with self._engine.connect() as conn:
            last = conn.execute(sa.select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
        return AuditHead(0, GENESIS_HASH) if last is None else AuditHead(int(last[0]), str(last[1]))

    def entries(self, *, after_seq: int = 0, limit: int = 100) -> list[AuditEntry]:
        """Up to ``limit`` entries with ``seq > after_seq``, oldest first (for listing and export; not verified)."""
        self.sequence()
        t = self._table
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.seq > after_seq).order_by(t.c.seq).limit(limit)).all()
        return [_entry(row) for row in rows]

    def anchor(self, sink: Callable[[AuditHead], object]) -> AuditHead:
        """The anchoring hook: verify the log, then hand its head to ``sink`` (which keeps it outside the database —
        a chain transaction, a write-once store). Refuses to anchor a log that does not verify."""
        result = self.verify()
        if not result.ok:
            raise ValueError(f"the audit log does not verify at seq {result.first_bad_seq} ({result.reason})")
        sink(result.head)
        return result.head

    def verify(self, *, trusted_head: AuditHead | None = None, batch: int = 1000) -> AuditVerification:
        """Recompute the chain from the first entry (see the module docstring for what this proves).

        1. ``seq`` is 1, 2, 3, … without gaps (a gap is a deleted entry);
        2. each ``prev_hash`` is the previous entry's ``hash`` (``GENESIS_HASH`` for the first);
        3. each ``hash`` is the SHA-256 of the entry's canonical encoding (any changed field breaks it);
        4. with ``trusted_head`` (kept outside the database): the log reaches ``trusted_head.seq`` and the entry
           there has ``trusted_head.hash`` — a cut-off tail or a consistently rewritten chain fails here.
        The whole scan reads one snapshot (one statement), so appends running meanwhile do not disturb it. Entries
        waiting in the outbox are chained first.
        """
        self.sequence()
        t = self._table
        count, prev, expected_seq = 0, GENESIS_HASH, 1
        bad: tuple[int, str] | None = None
        anchor_seen = trusted_head is None or trusted_head.seq == 0
        with self._engine.connect() as conn:
            rows = conn.execution_options(yield_per=batch).execute(sa.select(t).order_by(t.c.seq))
            for row in rows:
                bad = _check(row, expected_seq, prev)
                if bad is not None:
                    break
                count, prev, expected_seq = count + 1, str(row.hash), expected_seq + 1
                if trusted_head is not None and row.seq == trusted_head.seq:
                    if row.hash != trusted_head.hash:
                        bad = (int(row.seq), "head_mismatch")
                        break
                    anchor_seen = True
            rows.close()
        head = AuditHead(count, prev)
        if bad is None and not anchor_seen:
            assert trusted_head is not None
            bad = (count + 1, "head_missing")  # the trusted head's entry is gone: the tail was cut off
        if bad is not None:
            return AuditVerification(False, count, bad[0], bad[1], head)
        return AuditVerification(True, count, None, None, head)


def _checked(actor: str, authority: str, action: str, subjects: Iterable[str]) -> tuple[str, str, str, list[str]]:
    if not isinstance(action, str) or len(action) > _MAX_ACTION or not _ACTION.fullmatch(action):
        raise ValueError("audit action must be a dotted lower-case name such as 'credential.revoke'")
    actor, authority = _identifier(actor, "actor"), _identifier(authority, "authority")
    subject_list = [_identifier(s, "subject") for s in subjects]
    if len(subject_list) > _MAX_SUBJECTS:
        raise ValueError(f"at most {_MAX_SUBJECTS} subjects per audit entry")
    return actor, authority, action, subject_list


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        int(row.seq),
        str(row.time),
        str(row.actor),
        str(row.authority),
        str(row.action),
        tuple(json.loads(row.subjects)),
        str(row.prev_hash),
        str(row.hash),
    )


def _check(row: Any, expected_seq: int, prev_hash: str) -> tuple[int, str] | None:
    """The first rule ``row`` breaks as ``(seq, reason)``, or ``None``."""
    seq = int(row.seq)
    if seq != expected_seq:  # rows come ordered by their unique seq, so only a gap is possible here
        return expected_seq, "seq_gap"
    if row.prev_hash != prev_hash:
        return seq, "prev_hash_mismatch"
    try:
        subjects = json.loads(row.subjects)
        if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
            return seq, "malformed_entry"
        recomputed = entry_hash(
            seq=seq,
            time=row.time,
            actor=row.actor,
            authority=row.authority,
            action=row.action,
            subjects=subjects,
            prev_hash=row.prev_hash,
        )
    except (ValueError, TypeError):
        return seq, "malformed_entry"
    if recomputed != row.hash:
        return seq, "hash_mismatch"
    return None


def verify_audit_log(
    database_url: str, *, trusted_head: AuditHead | None = None, table: str = "audit_log"
) -> dict[str, Any]:
    """Verify the audit log in the database at ``database_url`` — the body of ``govssi issuer audit verify``.

    Returns ``{"ok", "entries", "first_bad_seq", "reason", "head": {"seq", "hash"}}`` (see :class:`AuditVerification`;
    with an outbox table next to the log, also ``pending``: entries recorded but not chained yet, which this read-only
    check leaves alone; the command prints it and exits 1 when ``ok`` is false). A missing table is reported as
    ``reason`` ``no_audit_log`` rather than as an empty, valid log.
    """
    from infra.db import create_engine

    engine = create_engine(database_url)
    try:
        if not sa.inspect(engine).has_table(table):
            return {"ok": False, "entries": 0, "first_bad_seq": None, "reason": "no_audit_log", "head": None}
        log_table = audit_log if table == audit_log.name else define_audit_table(sa.MetaData(), table)
        result = AuditLog(engine, table=log_table).verify(trusted_head=trusted_head).to_dict()
        outbox = f"{table.removesuffix('_log')}_outbox" if table.endswith("_log") else None
        if outbox is not None and sa.inspect(engine).has_table(outbox):
            # Recorded and committed, not chained yet (the service chains them; this read-only check does not).
            with engine.connect() as conn:
                result["pending"] = int(
                    conn.execute(sa.select(sa.func.count()).select_from(sa.table(outbox))).scalar_one()
                )
        return result
    except OperationalError as exc:
        # The driver's first line (host, port, what failed); connection URLs with passwords are not part of it.
        detail = str(exc.orig if exc.orig is not None else exc).splitlines()[0][:200]
        return {
            "ok": False,
            "entries": 0,
            "first_bad_seq": None,
            "reason": "database_unavailable",
            "head": None,
            "error_description": detail,
        }
    finally:
        engine.dispose()
