"""The issuer's database (SQLAlchemy 2 + Alembic): migrations from the first one up, the schema matching the table
descriptions, and the storage operations — on SQLite and on PostgreSQL (a fresh database per test)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.db import create_engine, sqlite_url, upgrade
from issuer import shipped_credential_types
from issuer import tables as t
from issuer.status import StatusAllocator
from issuer.storage import MIGRATIONS, VERSION_TABLE, IssuerStorage
from ssi.clock import FrozenClock


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    sqlite = request.param == "sqlite"
    url = sqlite_url(tmp_path / "issuer.db") if sqlite else request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def storage(engine: Engine) -> IssuerStorage:
    storage = IssuerStorage(engine, clock=FrozenClock(1_800_000_000))
    storage.migrate()
    return storage


def test_upgrade_from_the_first_migration_keeps_data(engine: Engine) -> None:
    """Data written at revision 0001 survives the upgrade to head, and the result is the described schema."""
    upgrade(engine, MIGRATIONS, revision="0001", version_table=VERSION_TABLE)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO authority (slug, name_de, name_en, created_at) VALUES ('koeln', 'Köln', 'Cologne', 1)")
        )
    assert "status_entry" not in sa.inspect(engine).get_table_names()
    storage = IssuerStorage(engine)
    storage.migrate()
    storage.migrate()  # idempotent
    assert [a.slug for a in storage.authorities()] == ["koeln"]
    inspector = sa.inspect(engine)
    for table in t.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == _head()


def _head() -> str:
    """The newest migration (later migrations may come from other parts of the issuer, e.g. the admin web UI)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None and head >= "0003"
    return head


def test_authorities_and_api_keys(storage: IssuerStorage) -> None:
    authority = storage.create_authority("koeln", "Stadt Köln", "City of Cologne")
    key = storage.create_api_key(authority.id, "clerk")
    assert key.startswith("gsk_")
    assert storage.authenticate(key) == authority
    assert storage.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert storage.authenticate("nonsense") is None
    chosen = storage.create_api_key(authority.id, "bootstrap", key="an operator's chosen key 123")
    assert storage.authenticate(chosen) == authority
    with storage.engine.connect() as conn:
        stored = conn.execute(sa.select(t.api_key.c.secret_sha256)).scalars().all()
    assert all(len(value) == 64 and value not in key for value in stored)  # only hashes are stored
    with pytest.raises(ValueError):
        storage.create_authority("Not A Slug", "x", "x")


def test_credential_types_are_per_authority(storage: IssuerStorage) -> None:
    a = storage.create_authority("koeln", "Köln", "Cologne")
    b = storage.create_authority("bonn", "Bonn", "Bonn")
    types = shipped_credential_types()
    storage.put_credential_type(a.id, types["bewohnerparkausweis"])
    storage.put_credential_type(a.id, types["bewohnerparkausweis"])  # replace, not duplicate
    storage.put_credential_type(b.id, types["dienstausweis"])
    assert list(storage.credential_types(a.id)) == ["bewohnerparkausweis"]
    assert list(storage.credential_types(b.id)) == ["dienstausweis"]


def test_offer_life_cycle_deletes_claims(storage: IssuerStorage) -> None:
    authority = storage.create_authority("koeln", "Köln", "Cologne")
    kwargs = {"authority_id": authority.id, "type_id": "x", "tx_code_required": True, "expires_at": 1_800_000_100}
    storage.insert_offer(offer_id="o1", claims={"a": 1}, **kwargs)  # type: ignore[arg-type]
    assert storage.offer_claims("o1", "redeemed") is None  # not redeemed yet
    assert storage.redeem_offer("o1") and not storage.redeem_offer("o1")
    assert storage.offer_claims("o1", "redeemed") == {"a": 1}
    with storage.engine.begin() as conn:
        assert storage.deliver_offer(conn, "o1", "redeemed", 3)
    with storage.engine.begin() as conn:
        assert not storage.deliver_offer(conn, "o1", "redeemed", 3)  # only one delivery
    record = storage.offer("o1")
    assert (
        record is not None and record.state == "delivered" and not record.has_claims and record.credentials_issued == 3
    )
    assert storage.offer_claims("o1", "redeemed") is None
    with storage.engine.connect() as conn:
        assert conn.execute(sa.select(t.offer.c.claims).where(t.offer.c.id == "o1")).scalar() is None


def test_deferred_offer_states(storage: IssuerStorage) -> None:
    """redeemed → pending (clerk) → approved → delivered; pending → denied deletes the claims."""
    authority = storage.create_authority("koeln", "Köln", "Cologne")
    kwargs = {"authority_id": authority.id, "type_id": "x", "tx_code_required": False, "expires_at": 1_800_000_100}
    for offer_id in ("a", "b"):
        storage.insert_offer(offer_id=offer_id, claims={"n": offer_id}, **kwargs)  # type: ignore[arg-type]
        assert storage.redeem_offer(offer_id)
        with storage.engine.begin() as conn:
            assert storage.defer_offer(conn, offer_id, 1_900_000_000)
    with storage.engine.begin() as conn:
        assert not storage.deliver_offer(conn, "a", "redeemed", 1)  # pending is not redeemed
        assert storage.decide_offer(conn, "a", approve=True) and not storage.decide_offer(conn, "a", approve=True)
        assert storage.decide_offer(conn, "b", approve=False)
    assert storage.offer_claims("a", "approved") == {"n": "a"}
    with storage.engine.begin() as conn:
        assert storage.deliver_offer(conn, "a", "approved", 1)
    b = storage.offer("b")
    assert b is not None and b.state == "denied" and not b.has_claims
    assert storage.offer("a").expires_at == 1_900_000_000  # type: ignore[union-attr]


def test_leases(storage: IssuerStorage) -> None:
    clock: FrozenClock = storage._clock  # type: ignore[assignment]
    assert storage.take_lease("job", "one", 10) and storage.take_lease("job", "one", 10)
    assert not storage.take_lease("job", "two", 10)
    clock.advance(11)
    assert storage.take_lease("job", "two", 10) and not storage.take_lease("job", "one", 10)
    storage.release_lease("job", "two")
    assert storage.take_lease("job", "one", 10)


def test_expiry_and_kill_delete_claims(storage: IssuerStorage) -> None:
    authority = storage.create_authority("koeln", "Köln", "Cologne")
    clock: FrozenClock = storage._clock  # type: ignore[assignment]
    for offer_id, expires in (("old", 1_800_000_010), ("new", 1_800_100_000), ("dead", 1_800_100_000)):
        storage.insert_offer(
            offer_id=offer_id,
            authority_id=authority.id,
            type_id="x",
            claims={"n": offer_id},
            tx_code_required=False,
            expires_at=expires,
        )
    storage.kill_offer("dead")
    clock.advance(20)
    assert storage.expire_offers() == 1
    assert not storage.redeem_offer("old")
    states = {o: storage.offer(o) for o in ("old", "new", "dead")}
    assert {k: (v.state, v.has_claims) for k, v in states.items() if v} == {
        "old": ("expired", False),
        "new": ("offered", True),
        "dead": ("dead", False),
    }


def test_server_secret_is_created_once(storage: IssuerStorage) -> None:
    first = storage.server_secret("dpop_nonce")
    assert len(first) == 32 and storage.server_secret("dpop_nonce") == first
    assert storage.server_secret("tx_code") != first


def test_settings(storage: IssuerStorage) -> None:
    assert storage.get_setting("x") is None
    storage.put_setting("x", "1")
    storage.put_setting("x", "2")
    assert storage.get_setting("x") == "2"


class _Sequence:
    """An index source that repeats values, to force collisions."""

    def __init__(self, values: list[int]) -> None:
        self.values = values

    def randbelow(self, bound: int) -> int:
        return self.values.pop(0) % bound


def test_status_indexes_are_never_reused_and_lists_roll_over(storage: IssuerStorage) -> None:
    """Issue 7 / Token Status List: random, never sequential, never reused; a full list makes room for a new one."""
    authority = storage.create_authority("koeln", "Köln", "Cologne")
    rng = _Sequence([5, 5, 5, 7, 7, 1, 2, 3])
    allocator = StatusAllocator(storage.engine, size=1024, fill=0.002, rng=rng)  # capacity 2 per list
    allocate = lambda n: allocator.allocate(  # noqa: E731
        authority_id=authority.id,
        credential_issuer="https://i.example/issuers/koeln",
        type_id="x",
        offer_id=None,
        holder_thumbprints=[f"k{i}" for i in range(n)],
        expires_at=None,
    )
    first = allocate(2)
    assert [(s.uri, s.idx) for s in first] == [
        ("https://i.example/issuers/koeln/status-lists/1", 5),
        ("https://i.example/issuers/koeln/status-lists/1", 7),  # 5 was taken: drawn again
    ]
    second = allocate(2)
    assert [s.uri for s in second] == ["https://i.example/issuers/koeln/status-lists/2"] * 2
    assert [s.idx for s in second] == [7, 1]
    assert first[0].status_claim() == {
        "status_list": {"idx": 5, "uri": "https://i.example/issuers/koeln/status-lists/1"}
    }
    with storage.engine.connect() as conn:
        rows = conn.execute(sa.select(t.status_entry.c.status_list_id, t.status_entry.c.idx)).all()
    assert len(rows) == len(set(rows)) == 4


def _allocated(storage: IssuerStorage) -> list[int]:
    with storage.engine.connect() as conn:
        return list(conn.execute(sa.select(t.status_list.c.allocated).order_by(t.status_list.c.number)).scalars())


def test_status_entries_are_counted_in_blocks_per_process(storage: IssuerStorage) -> None:
    """On a large list each process (here: each allocator) counts a block of entries against the list's capacity at
    once, so issuances do not each update the list's row; the entries themselves are recorded one by one."""
    authority = storage.create_authority("koeln", "Köln", "Cologne")
    first, second = (StatusAllocator(storage.engine, size=2**14) for _ in range(2))  # capacity 8192, blocks of 64

    def issue(allocator: StatusAllocator) -> None:
        allocator.prepare(authority_id=authority.id, credential_issuer="https://i/issuers/koeln", count=1)
        with storage.engine.begin() as conn:  # (prepare: before the issuance transaction takes its connection)
            chosen = allocator.choose(
                authority_id=authority.id, credential_issuer="https://i/issuers/koeln", count=1, conn=conn
            )
            assert chosen[0].reserved
            ids = allocator.try_record(
                conn,
                chosen,
                authority_id=authority.id,
                type_id="x",
                offer_id=None,
                holder_thumbprints=["k"],
                expires_at=None,
            )
            assert ids is not None and len(ids) == 1

    issue(first)
    assert _allocated(storage) == [64]
    issue(second)
    assert _allocated(storage) == [128]
    for _ in range(63):  # the rest of the first block: no update of the list
        issue(first)
    assert _allocated(storage) == [128]
    issue(first)  # a new block
    assert _allocated(storage) == [192]
    with storage.engine.begin() as conn:  # a third process without a block: counted in the issuance transaction
        third = StatusAllocator(storage.engine, size=2**14)
        chosen = third.choose(
            authority_id=authority.id, credential_issuer="https://i/issuers/koeln", count=1, conn=conn
        )
        assert not chosen[0].reserved
        assert third.try_record(
            conn,
            chosen,
            authority_id=authority.id,
            type_id="x",
            offer_id=None,
            holder_thumbprints=["k"],
            expires_at=None,
        )
    assert _allocated(storage) == [193]
    with storage.engine.connect() as conn:
        rows = conn.execute(sa.select(t.status_entry.c.status_list_id, t.status_entry.c.idx)).all()
    assert len(rows) == len(set(rows)) == 67


def test_an_index_taken_meanwhile_leaves_the_transaction_usable(storage: IssuerStorage) -> None:
    """``try_record`` after a concurrent issuance took the chosen index: nothing recorded, ``None``, and the caller's
    transaction goes on (the credential endpoint chooses again and signs again in the same transaction)."""
    authority = storage.create_authority("koeln", "Köln", "Cologne")
    issuer_url = "https://i/issuers/koeln"
    first = StatusAllocator(storage.engine, size=2**14, rng=_Sequence([1, 5]))
    second = StatusAllocator(storage.engine, size=2**14, rng=_Sequence([2, 5, 9]))
    record = {"authority_id": authority.id, "type_id": "x", "offer_id": None, "expires_at": None}
    for allocator, holder in ((first, "a"), (second, "b")):  # each process has its block (then choosing only reads)
        allocator.prepare(authority_id=authority.id, credential_issuer=issuer_url, count=1)
        with storage.engine.begin() as conn:
            chosen = allocator.choose(authority_id=authority.id, credential_issuer=issuer_url, count=1, conn=conn)
            assert allocator.try_record(conn, chosen, holder_thumbprints=[holder], **record) is not None
    with storage.engine.begin() as conn:
        mine = second.choose(authority_id=authority.id, credential_issuer=issuer_url, count=1, conn=conn)
        theirs = first.choose(authority_id=authority.id, credential_issuer=issuer_url, count=1)
        assert mine[0].idx == theirs[0].idx == 5  # both free when chosen
        with storage.engine.begin() as other:
            assert first.try_record(other, theirs, holder_thumbprints=["theirs"], **record) is not None
        assert second.try_record(conn, mine, holder_thumbprints=["mine"], **record) is None
        again = second.choose(authority_id=authority.id, credential_issuer=issuer_url, count=1, conn=conn)
        assert again[0].idx == 9
        assert second.try_record(conn, again, holder_thumbprints=["mine"], **record) is not None
    with storage.engine.connect() as conn:
        rows = conn.execute(sa.select(t.status_entry.c.idx, t.status_entry.c.holder_jkt)).all()
    assert sorted(rows) == [(1, "a"), (2, "b"), (5, "theirs"), (9, "mine")]


def test_status_allocation_default_randomness(storage: IssuerStorage) -> None:
    authority = storage.create_authority("koeln", "Köln", "Cologne")
    allocator = StatusAllocator(storage.engine, size=2**17)
    entries = allocator.allocate(
        authority_id=authority.id,
        credential_issuer="https://i",
        type_id="x",
        offer_id=None,
        holder_thumbprints=[str(i) for i in range(50)],
        expires_at=time.time(),
    )
    indexes = [e.idx for e in entries]
    assert len(set(indexes)) == 50 and indexes != sorted(indexes)
    assert json.dumps(entries[0].status_claim())


def test_redeem_and_offer_reads_are_single_autocommit_statements(storage: IssuerStorage) -> None:
    """The offer's ``offered`` → ``redeemed`` gate is one conditional UPDATE committed on its own (no BEGIN/COMMIT
    round trips), and the offer reads of the token and credential endpoints are single autocommit SELECTs."""
    authority = storage.create_authority("koeln", "Köln", "Cologne")
    storage.insert_offer(
        offer_id="o1",
        authority_id=authority.id,
        type_id="x",
        claims={"a": 1},
        tx_code_required=False,
        expires_at=1_800_000_100,
    )
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        dbapi = conn.connection.dbapi_connection
        autocommit = dbapi.isolation_level is None if conn.dialect.name == "sqlite" else dbapi.autocommit
        # Autocommit on PostgreSQL (saves round trips); SQLite keeps its own transactions (infra.db.single_statement).
        seen.append((statement.split(maxsplit=1)[0].upper(), bool(autocommit) == (conn.dialect.name == "postgresql")))

    sa.event.listen(storage.engine, "before_cursor_execute", record)
    assert storage.redeem_offer("o1")
    assert storage.offer_claims("o1", "redeemed") == {"a": 1}
    assert storage.offer("o1") is not None
    assert seen == [("UPDATE", True), ("SELECT", True), ("SELECT", True)]
    with storage.engine.connect() as other:  # committed: another connection sees it
        assert other.execute(sa.select(t.offer.c.state).where(t.offer.c.id == "o1")).scalar() == "redeemed"
