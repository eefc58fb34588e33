"""Status list entries for issued credentials (Token Status List, draft-ietf-oauth-status-list §6.2 ``status_list``).

Each credential gets its own entry at a **random** index of one of its authority's lists — never sequential (the
index must not reveal issuance order or link a batch) and never reused (a unique constraint per list). A list takes
new entries until ``capacity`` (a share of its ``size``, so a random free index is found in a couple of tries), then
the next list is started. Lists have 2 bits per entry (VALID, INVALID, SUSPENDED, §7.1); :mod:`issuer.publishing`
publishes them as Status List Tokens at their ``uri``.

Issuance picks indexes first (:meth:`StatusAllocator.choose`, reads only), signs the credentials with them, and
records the entries in the same transaction that marks the offer delivered (:meth:`StatusAllocator.record`): an
index becomes a credential's only together with the delivery. Two concurrent issuances that picked the same free
index meet the unique constraint; the loser's transaction rolls back and it picks again — or, with
:meth:`StatusAllocator.try_record` (``INSERT … ON CONFLICT DO NOTHING``), records nothing, keeps its transaction and
picks again.

A list's ``allocated`` count (how full it is) is not updated by every issuance — that one row would serialise all
issuance commits — but a block of :data:`RESERVATION_BLOCK` entries at a time per process; indexes are still drawn
at random from the whole list, so a block says nothing about which indexes a process uses.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from infra.db import DriverStatement
from issuer import tables as t
from ssi.clock import Clock, system_clock
from ssi.encoding import b64url_encode

__all__ = ["BITS", "IndexSource", "StatusAllocation", "StatusAllocator", "new_credential_id"]

_ATTEMPTS = 5
#: Status entries a process reserves on a list at once (counted in ``status_list.allocated`` in one short transaction),
#: so issuances do not each update the list's row: that row would serialise every issuance's commit.
RESERVATION_BLOCK = 64
#: A block's list counts as sparse while at most this share of its indexes is allocated (with the block): an index
#: chosen at random is then free with probability >= 7/8 and :meth:`StatusAllocator.choose_unprobed` skips asking.
SPARSE_SHARE = 1 / 8
#: Bits per status entry: VALID 0, INVALID 1, SUSPENDED 2 (draft-ietf-oauth-status-list §7.1).
BITS = 2


_ENTRY_COLUMNS = (
    "status_list_id",
    "idx",
    "authority_id",
    "type_id",
    "offer_id",
    "holder_jkt",
    "issued_at",
    "expires_at",
    "status",
    "credential_id",
    "issuance_id",
    "subject_pseudonym",
)
_INDEX_USED = DriverStatement(
    sa.select(t.status_entry.c.id).where(
        t.status_entry.c.status_list_id == sa.bindparam("list_id"), t.status_entry.c.idx == sa.bindparam("idx")
    )
)


class IndexSource(Protocol):
    """Randomness for indexes (``secrets`` by default; injectable for tests)."""

    def randbelow(self, exclusive_upper_bound: int) -> int: ...


class _Secrets:
    randbelow = staticmethod(secrets.randbelow)


def new_credential_id() -> str:
    """A credential's public id: 96 random bits (never derived from the status index, which must stay unlinkable)."""
    return "c" + b64url_encode(secrets.token_bytes(12))


@dataclass(frozen=True, slots=True)
class StatusAllocation:
    """One credential's status entry: ``{"status_list": {"idx": idx, "uri": uri}}``."""

    idx: int
    uri: str
    list_id: int = 0
    #: Counted in ``status_list.allocated`` already (a process's reserved block): :meth:`StatusAllocator.record`
    #: does not count it again.
    reserved: bool = False

    def status_claim(self) -> dict[str, dict[str, int | str]]:
        return {"status_list": {"idx": self.idx, "uri": self.uri}}


class StatusAllocator:
    """Allocates status entries in the issuer's database."""

    def __init__(
        self,
        engine: Engine,
        *,
        size: int = 2**17,
        fill: float = 0.5,
        clock: Clock = system_clock,
        rng: IndexSource | None = None,
    ) -> None:
        self._engine = engine
        self._size = size
        self._capacity = max(1, int(size * fill))
        self._clock = clock
        self._rng: IndexSource = rng or _Secrets()
        #: Per authority: ``(list id, uri, entries left, sparse)`` of this process's reserved block; ``sparse``: the
        #: list had at most :data:`SPARSE_SHARE` of its size allocated with this block (:meth:`choose_unprobed`).
        self._blocks: dict[int, tuple[int, str, int, bool]] = {}
        self._blocks_lock = threading.Lock()
        #: Entries reserved per block: :data:`RESERVATION_BLOCK`, fewer on small lists (at most 1/64 of a list's
        #: capacity, so a list is shared by processes as before; 1 on the tiny lists of tests: no reservation then).
        self._block = max(1, min(RESERVATION_BLOCK, self._capacity // 64))
        from sqlalchemy.dialects import postgresql, sqlite

        # INSERT … ON CONFLICT is dialect-specific in SQLAlchemy (same semantics on both).
        self._insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        e = t.status_entry
        self._insert_one = DriverStatement(
            self._insert(e)
            .values({name: sa.bindparam(name) for name in _ENTRY_COLUMNS})
            .on_conflict_do_nothing(index_elements=[e.c.status_list_id, e.c.idx])
            .returning(e.c.credential_id)
        )

    def prepare(self, *, authority_id: int, credential_issuer: str, count: int) -> None:
        """Make sure this process's block on the authority's current list has ``count`` entries left (a new block,
        counted in a short transaction of its own, when not). Call it **before** taking a connection for an issuance
        transaction: a request holding a pooled connection must never wait for a second one (under load every pooled
        connection may be held by requests that would all wait)."""
        if self._block <= 1:
            return
        with self._blocks_lock:
            block = self._blocks.get(authority_id)
            if block is not None and block[2] >= count:
                return
            size = max(count, self._block)
            sl = t.status_list
            for attempt in range(_ATTEMPTS):
                try:
                    with self._engine.begin() as tx:
                        current = self._current_list(tx, authority_id, credential_issuer, size)
                        assert current is not None  # created when missing or full
                        list_id, uri = current
                        # Counted only while it still fits (another process may have filled the list meanwhile).
                        counted = tx.execute(
                            sa.update(sl)
                            .where(
                                sl.c.id == list_id, sa.or_(sl.c.allocated + size <= sl.c.capacity, sl.c.allocated == 0)
                            )
                            .values(allocated=sl.c.allocated + size)
                            .returning(sl.c.allocated)
                        ).first()
                    if counted is not None:
                        sparse = int(counted[0]) <= self._size * SPARSE_SHARE
                        self._blocks[authority_id] = (list_id, uri, size, sparse)
                        return
                except IntegrityError:
                    # Another instance created the same new list at the same moment: use theirs.
                    if attempt == _ATTEMPTS - 1:
                        raise
            raise RuntimeError("could not reserve status list entries (lists filling up concurrently); try again")

    def choose(
        self, *, authority_id: int, credential_issuer: str, count: int, conn: Connection | None = None
    ) -> list[StatusAllocation]:
        """``count`` distinct random indexes, free right now, all in the authority's current list (a new list is
        started when they would not fit). Nothing is reserved: :meth:`record` in the issuance transaction does that.

        On large lists the entries are counted against the list's capacity a block at a time
        (:data:`RESERVATION_BLOCK`, :meth:`prepare`) instead of in every issuance transaction; a block's unused rest
        (a process that stops) only makes its list count as full a little earlier.

        ``conn``: work in the caller's transaction, on its connection only (call :meth:`prepare` before taking it).
        When this process's block has too few entries left (other threads took them since), the entries are counted
        in the caller's transaction instead (:meth:`record`), as on small lists."""
        if conn is not None:
            return self._choose_in(conn, authority_id, credential_issuer, count)
        self.prepare(authority_id=authority_id, credential_issuer=credential_issuer, count=count)
        for attempt in range(_ATTEMPTS):
            try:
                with self._engine.begin() as tx:
                    return self._choose_in(tx, authority_id, credential_issuer, count)
            except IntegrityError:
                # Another instance created the same new list at the same moment: use theirs.
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _choose_in(
        self, conn: Connection, authority_id: int, credential_issuer: str, count: int
    ) -> list[StatusAllocation]:
        if self._block > 1:
            with self._blocks_lock:
                block = self._blocks.get(authority_id)
                if block is not None and block[2] >= count:
                    self._blocks[authority_id] = (block[0], block[1], block[2] - count, block[3])
                else:
                    block = None
            if block is not None:
                return self._pick(conn, block[0], block[1], count, reserved=True)
        current = self._current_list(conn, authority_id, credential_issuer, count, create=False)
        if current is None:  # full or missing: a new list
            current = self._new_list(conn, authority_id, credential_issuer, count)
        return self._pick(conn, *current, count)

    def choose_unprobed(self, *, authority_id: int, credential_issuer: str, count: int) -> list[StatusAllocation]:
        """:meth:`choose` without asking the database whether the indexes are free, while this process's block is
        on a sparse list (at most :data:`SPARSE_SHARE` of its indexes allocated, so a random index is taken with at
        most that probability): the caller records them with a plain ``INSERT`` whose unique constraint refuses a
        taken index (nothing recorded) and then chooses again with :meth:`choose`. Otherwise :meth:`choose`. Call
        :meth:`prepare` first."""
        if self._block > 1:
            with self._blocks_lock:
                block = self._blocks.get(authority_id)
                if block is not None and block[3] and block[2] >= count:
                    self._blocks[authority_id] = (block[0], block[1], block[2] - count, block[3])
                else:
                    block = None
            if block is not None:
                indexes: list[int] = []
                while len(indexes) < count:
                    idx = self._rng.randbelow(self._size)
                    if idx not in indexes:
                        indexes.append(idx)
                return [StatusAllocation(idx=i, uri=block[1], list_id=block[0], reserved=True) for i in indexes]
        return self.choose(authority_id=authority_id, credential_issuer=credential_issuer, count=count)

    def entry_rows(
        self,
        allocations: Sequence[StatusAllocation],
        ids: Sequence[str],
        *,
        authority_id: int,
        type_id: str,
        offer_id: str | None,
        holder_thumbprints: Sequence[str],
        expires_at: float | None,
        issuance_id: str | None,
        subject_pseudonym: str | None,
    ) -> tuple[list[dict[str, object]], tuple[int, int] | None]:
        """The rows :meth:`try_record` inserts (for a caller that inserts them in a statement of its own), and
        ``(list id, entries)`` to add to the list's ``allocated`` count for those not counted with a reserved block
        (``None`` when all were). The allocations are all on one list (:meth:`choose`)."""
        rows = self._rows(
            allocations,
            ids,
            authority_id=authority_id,
            type_id=type_id,
            offer_id=offer_id,
            holder_thumbprints=holder_thumbprints,
            expires_at=expires_at,
            issuance_id=issuance_id,
            subject_pseudonym=subject_pseudonym,
        )
        lists = {a.list_id for a in allocations}
        if len(lists) > 1:  # pragma: no cover - choose picks from one list
            raise ValueError("status allocations on more than one list")
        unreserved = sum(1 for a in allocations if not a.reserved)
        return rows, ((allocations[0].list_id, unreserved) if unreserved else None)

    def _new_list(self, conn: Connection, authority_id: int, credential_issuer: str, count: int) -> tuple[int, str]:
        """The authority's next list, created in a savepoint (when another instance created the same list at the same
        moment, theirs is used and the caller's transaction goes on)."""
        for attempt in range(_ATTEMPTS):
            try:
                with conn.begin_nested():
                    current = self._current_list(conn, authority_id, credential_issuer, count)
                assert current is not None  # created when missing or full
                return current
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def record(
        self,
        conn: Connection,
        allocations: Sequence[StatusAllocation],
        *,
        authority_id: int,
        type_id: str,
        offer_id: str | None,
        holder_thumbprints: Sequence[str],
        expires_at: float | None,
        issuance_id: str | None = None,
        subject_pseudonym: str | None = None,
    ) -> list[str]:
        """Insert the entries in the caller's transaction; their credential ids. ``IntegrityError`` when an index
        was taken meanwhile (the caller's transaction is then void: roll back, :meth:`choose` again)."""
        ids = [new_credential_id() for _ in allocations]
        rows = self._rows(
            allocations,
            ids,
            authority_id=authority_id,
            type_id=type_id,
            offer_id=offer_id,
            holder_thumbprints=holder_thumbprints,
            expires_at=expires_at,
            issuance_id=issuance_id,
            subject_pseudonym=subject_pseudonym,
        )
        conn.execute(sa.insert(t.status_entry), rows)
        self._count(conn, allocations)
        return ids

    def try_record(
        self,
        conn: Connection,
        allocations: Sequence[StatusAllocation],
        *,
        authority_id: int,
        type_id: str,
        offer_id: str | None,
        holder_thumbprints: Sequence[str],
        expires_at: float | None,
        issuance_id: str | None = None,
        subject_pseudonym: str | None = None,
    ) -> list[str] | None:
        """:meth:`record`, but an index taken meanwhile (by a concurrent issuance; ``INSERT … ON CONFLICT DO
        NOTHING`` waits for that one's commit) leaves the caller's transaction usable: nothing is recorded and the
        answer is ``None`` (choose again). One statement on the common path."""
        ids = [new_credential_id() for _ in allocations]
        rows = self._rows(
            allocations,
            ids,
            authority_id=authority_id,
            type_id=type_id,
            offer_id=offer_id,
            holder_thumbprints=holder_thumbprints,
            expires_at=expires_at,
            issuance_id=issuance_id,
            subject_pseudonym=subject_pseudonym,
        )
        e = t.status_entry
        if len(rows) == 1:  # the common case: one statement built once
            inserted = len(self._insert_one.run(conn, rows[0]).rows)
        else:
            statement = (
                self._insert(e)
                .values(rows)
                .on_conflict_do_nothing(index_elements=[e.c.status_list_id, e.c.idx])
                .returning(e.c.credential_id)
            )
            inserted = len(conn.execute(statement).all())  # (rowcount is not reported for INSERT on every driver)
        if inserted != len(rows):
            if inserted:
                conn.execute(sa.delete(e).where(e.c.credential_id.in_(ids)))
            return None
        self._count(conn, allocations)
        return ids

    def _rows(
        self,
        allocations: Sequence[StatusAllocation],
        ids: Sequence[str],
        *,
        authority_id: int,
        type_id: str,
        offer_id: str | None,
        holder_thumbprints: Sequence[str],
        expires_at: float | None,
        issuance_id: str | None,
        subject_pseudonym: str | None,
    ) -> list[dict[str, object]]:
        now = self._clock()
        return [
            {
                "status_list_id": allocation.list_id,
                "idx": allocation.idx,
                "authority_id": authority_id,
                "type_id": type_id,
                "offer_id": offer_id,
                "holder_jkt": jkt,
                "issued_at": now,
                "expires_at": expires_at,
                "status": 0,
                "credential_id": credential_id,
                "issuance_id": issuance_id,
                "subject_pseudonym": subject_pseudonym,
            }
            for allocation, jkt, credential_id in zip(allocations, holder_thumbprints, ids, strict=True)
        ]

    def _count(self, conn: Connection, allocations: Sequence[StatusAllocation]) -> None:
        """Count the entries not counted with a reserved block in their list's ``allocated``."""
        per_list: dict[int, int] = {}
        for allocation in allocations:
            if not allocation.reserved:
                per_list[allocation.list_id] = per_list.get(allocation.list_id, 0) + 1
        for list_id, added in sorted(per_list.items()):
            conn.execute(
                sa.update(t.status_list)
                .where(t.status_list.c.id == list_id)
                .values(allocated=t.status_list.c.allocated + added)
            )

    def allocate(
        self,
        *,
        authority_id: int,
        credential_issuer: str,
        type_id: str,
        offer_id: str | None,
        holder_thumbprints: Sequence[str],
        expires_at: float | None,
    ) -> list[StatusAllocation]:
        """:meth:`choose` and :meth:`record` in one go, in a transaction of its own (a batch gets its entries or
        none)."""
        for attempt in range(_ATTEMPTS):
            chosen = self.choose(
                authority_id=authority_id, credential_issuer=credential_issuer, count=len(holder_thumbprints)
            )
            try:
                with self._engine.begin() as conn:
                    self.record(
                        conn,
                        chosen,
                        authority_id=authority_id,
                        type_id=type_id,
                        offer_id=offer_id,
                        holder_thumbprints=holder_thumbprints,
                        expires_at=expires_at,
                    )
                return chosen
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _pick(
        self, conn: Connection, list_id: int, uri: str, count: int, *, reserved: bool = False
    ) -> list[StatusAllocation]:
        picked: list[StatusAllocation] = []
        taken: set[int] = set()
        for _ in range(count):
            idx = self._free_index(conn, list_id, taken)
            taken.add(idx)
            picked.append(StatusAllocation(idx=idx, uri=uri, list_id=list_id, reserved=reserved))
        return picked

    def _free_index(self, conn: Connection, list_id: int, taken: set[int]) -> int:
        while True:
            idx = self._rng.randbelow(self._size)
            if idx in taken:
                continue
            used = _INDEX_USED.run(conn, {"list_id": list_id, "idx": idx}).first()
            if used is None:
                return idx

    def _current_list(
        self, conn: Connection, authority_id: int, credential_issuer: str, count: int, *, create: bool = True
    ) -> tuple[int, str] | None:
        """The authority's newest list when ``count`` more entries fit; else a new one is inserted (or, without
        ``create``, ``None``)."""
        row = conn.execute(
            sa.select(
                t.status_list.c.id,
                t.status_list.c.uri,
                t.status_list.c.allocated,
                t.status_list.c.capacity,
                t.status_list.c.number,
            )
            .where(t.status_list.c.authority_id == authority_id)
            .order_by(t.status_list.c.number.desc())
            .limit(1)
        ).first()
        if row is not None and (row.allocated + count <= row.capacity or row.allocated == 0):
            return int(row.id), str(row.uri)
        if not create:
            return None
        number = 1 if row is None else int(row.number) + 1
        uri = f"{credential_issuer}/status-lists/{number}"
        now = self._clock()
        result = conn.execute(
            sa.insert(t.status_list).values(
                authority_id=authority_id,
                number=number,
                uri=uri,
                bits=BITS,
                size=self._size,
                capacity=self._capacity,
                allocated=0,
                created_at=now,
                # Due for its first publication (all VALID) with the publisher's next round.
                change_seq=1,
                published_seq=0,
                changed_at=now,
            )
        )
        return int(result.inserted_primary_key[0]), uri  # type: ignore[index]
