"""The issuer's durable state in SQL (SQLAlchemy 2 Core; SQLite by default, PostgreSQL via ``GOVSSI_DATABASE_URL``).

Every state change that must happen once is a conditional ``UPDATE … WHERE state = …`` whose row count tells the one
caller that won. Offers: ``offered`` → ``redeemed`` (token issued) → ``delivered`` (credentials recorded, in the same
transaction as their status entries and audit entry); with clerk approval ``redeemed`` → ``pending`` → ``approved``
→ ``delivered`` or ``pending`` → ``denied``; or ``expired`` / ``dead``. Claim values live in ``offer.claims`` only
until the credential is delivered or the offer expires, dies or is denied (then ``NULL``).

Methods that change state take an optional ``conn``: the caller's transaction (so the change and its audit entry
commit together); without it they run in a transaction of their own.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from infra.db import DriverStatement, single_statement, upgrade
from issuer import tables as t
from issuer.credential_type import CredentialType, load_credential_type
from ssi.clock import Clock, system_clock
from ssi.encoding import b64url_decode, b64url_encode, json_dumps

__all__ = [
    "API_KEY_PREFIX",
    "OPEN_OFFER_STATES",
    "SLUG",
    "ApiKeyRecord",
    "Authority",
    "IssuerStorage",
    "OfferRecord",
    "split_api_key",
]

MIGRATIONS = "issuer:migrations"
VERSION_TABLE = "issuer_alembic_version"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def _head_revision() -> str | None:
    """The newest migration's revision, read from the migration files; ``None`` unless they form one plain chain
    (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        try:
            revision, parent = ast.literal_eval(found["revision"]), ast.literal_eval(found.get("down_revision", "None"))
        except (ValueError, SyntaxError):
            return None
        if not isinstance(revision, str) or not (parent is None or isinstance(parent, str)):
            return None
        revisions.add(revision)
        if parent is not None:
            parents.add(parent)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
API_KEY_PREFIX = "gsk"
_API_KEY = re.compile(r"^gsk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
#: Offer states that still hold claim values (and expire with the offer).
OPEN_OFFER_STATES = ("offered", "redeemed", "pending", "approved")


@dataclass(frozen=True, slots=True)
class Authority:
    """A tenant: a public authority issuing its own credential types with its own keys."""

    id: int
    slug: str
    name_de: str
    name_en: str
    did: str | None


@dataclass(frozen=True, slots=True)
class OfferRecord:
    id: str
    authority_id: int
    type_id: str
    tx_code_required: bool
    state: str
    created_at: float
    expires_at: float
    has_claims: bool
    credentials_issued: int
    delivered_at: float | None
    redeemed_at: float | None = None
    subject_pseudonym: str | None = None

    def to_json(self, now: float) -> dict[str, Any]:
        """The offer as the admin API shows it: state and times, never claim values."""
        state = self.state
        if state in OPEN_OFFER_STATES and self.expires_at <= now:
            state = "expired"
        return {
            "offer_id": self.id,
            "credential_configuration_id": self.type_id,
            "state": state,
            "tx_code_required": self.tx_code_required,
            "created_at": int(self.created_at),
            "expires_at": int(self.expires_at),
            "redeemed_at": None if self.redeemed_at is None else int(self.redeemed_at),
            "delivered_at": None if self.delivered_at is None else int(self.delivered_at),
            "credentials_issued": self.credentials_issued,
            "claims_stored": self.has_claims,
        }


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as listed (never its secret)."""

    key_id: str
    label: str
    created_at: float
    revoked_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "label": self.label,
            "created_at": int(self.created_at),
            "revoked_at": None if self.revoked_at is None else int(self.revoked_at),
        }


#: Built once (statement construction costs more CPU than its execution's Python side on the hot paths); sent to the
#: driver directly on PostgreSQL (``infra.db.DriverStatement``).
_OFFER_CLAIMS = DriverStatement(
    sa.select(t.offer.c.claims, t.offer.c.subject_pseudonym).where(
        t.offer.c.id == sa.bindparam("offer_id"),
        t.offer.c.state == sa.bindparam("state"),
        t.offer.c.expires_at > sa.bindparam("now"),
    )
)
_DELIVER_OFFER = DriverStatement(
    sa.update(t.offer)
    .where(
        t.offer.c.id == sa.bindparam("offer_id"),
        t.offer.c.state == sa.bindparam("source"),
        t.offer.c.expires_at > sa.bindparam("now"),
    )
    .values(
        state="delivered",
        claims=None,
        delivered_at=sa.bindparam("delivered_at"),
        credentials_issued=sa.bindparam("count"),
    )
)
_REDEEM_OFFER = DriverStatement(
    sa.update(t.offer)
    .where(
        t.offer.c.id == sa.bindparam("offer_id"),
        t.offer.c.state == "offered",
        t.offer.c.expires_at > sa.bindparam("now"),
    )
    .values(state="redeemed", redeemed_at=sa.bindparam("redeemed_at"))
)


def split_api_key(key: str) -> tuple[str, str]:
    """``(key id, secret)``. Keys govssi generates carry their id (``gsk_<id>_<secret>``); a key chosen by an operator
    (``GOVSSI_ISSUER_BOOTSTRAP_KEY``: 16-200 printable ASCII characters) is found by a hash prefix instead."""
    if not isinstance(key, str) or not 16 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
        raise ValueError("an API key is 16-200 printable ASCII characters")
    match = _API_KEY.match(key)
    if match is not None:
        return match.group(1), match.group(2)
    return "k" + hashlib.sha256(key.encode("ascii")).hexdigest()[:15], key


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class IssuerStorage:
    """Queries over :mod:`issuer.tables`. Thread-safe (one engine, a connection per call)."""

    def __init__(self, engine: Engine, *, clock: Clock = system_clock) -> None:
        self.engine = engine
        #: For single statements (reads, one conditional UPDATE): each its own transaction; on PostgreSQL without the
        #: BEGIN and COMMIT/ROLLBACK round trips of ``engine.begin()``/``engine.connect()``.
        self._single = single_statement(engine)
        self._clock = clock

    def now(self) -> float:
        """This storage's clock (offer expiry and state change times)."""
        return self._clock()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent). A database already at the newest migration is
        recognised without loading Alembic (about a second of every start on a busy machine: restarts after a crash
        come back sooner)."""
        head = _head_revision()
        if head is not None:
            try:
                with self.engine.connect() as conn:
                    current = (
                        conn.execute(sa.select(sa.table(VERSION_TABLE, sa.column("version_num")).c.version_num))
                        .scalars()
                        .all()
                    )
            except sa.exc.DBAPIError:
                current = []
            if current == [head]:
                return
        upgrade(self.engine, MIGRATIONS, version_table=VERSION_TABLE)

    @contextlib.contextmanager
    def transaction(self, conn: Connection | None = None) -> Iterator[Connection]:
        """``conn`` when given (the caller's transaction), else a new transaction committed on exit."""
        if conn is not None:
            yield conn
            return
        with self.engine.begin() as own:
            yield own

    # -- authorities ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _authority(row: Any) -> Authority:
        return Authority(row.id, row.slug, row.name_de, row.name_en, row.did)

    def create_authority(self, slug: str, name_de: str, name_en: str) -> Authority:
        if not SLUG.match(slug):
            raise ValueError("an authority slug is 2-40 characters of a-z, 0-9 and '-'")
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(t.authority).values(slug=slug, name_de=name_de, name_en=name_en, created_at=self._clock())
            )
            authority_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return Authority(authority_id, slug, name_de, name_en, None)

    def authority(self, slug: str) -> Authority | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.authority).where(t.authority.c.slug == slug)).first()
        return None if row is None else self._authority(row)

    def authorities(self) -> list[Authority]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.authority).order_by(t.authority.c.id)).all()
        return [self._authority(row) for row in rows]

    def set_did(self, authority_id: int, did: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(t.authority).where(t.authority.c.id == authority_id).values(did=did))

    # -- API keys ------------------------------------------------------------------------------------------------------

    def create_api_key(
        self, authority_id: int, label: str, *, key: str | None = None, conn: Connection | None = None
    ) -> str:
        """A new API key ``gsk_<key id>_<secret>`` (or ``key`` when given, e.g. the bootstrap key); only its hash is
        stored. Returned once."""
        if key is None:
            key = f"{API_KEY_PREFIX}_{secrets.token_hex(8)}_{b64url_encode(secrets.token_bytes(32))}"
        key_id, secret = split_api_key(key)
        with self.transaction(conn) as tx:
            tx.execute(
                sa.insert(t.api_key).values(
                    authority_id=authority_id,
                    key_id=key_id,
                    secret_sha256=_hash(secret),
                    label=label[:100],
                    created_at=self._clock(),
                )
            )
        return key

    def authenticate(self, key: str) -> Authority | None:
        """The authority an API key belongs to, or ``None`` (unknown, malformed, revoked)."""
        found = self.authenticate_key(key)
        return None if found is None else found[0]

    def authenticate_key(self, key: str) -> tuple[Authority, str] | None:
        """``(authority, key id)`` of a valid API key (the key id names the actor in the audit log), or ``None``."""
        try:
            key_id, secret = split_api_key(key)
        except ValueError:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.api_key.c.secret_sha256, t.authority)
                .join(t.authority, t.authority.c.id == t.api_key.c.authority_id)
                .where(t.api_key.c.key_id == key_id, t.api_key.c.revoked_at.is_(None))
            ).first()
        if row is None or not secrets.compare_digest(row.secret_sha256, _hash(secret)):
            return None
        return self._authority(row), key_id

    def api_keys(self, authority_id: int) -> list[ApiKeyRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.api_key).where(t.api_key.c.authority_id == authority_id).order_by(t.api_key.c.id)
            ).all()
        return [ApiKeyRecord(r.key_id, r.label, r.created_at, r.revoked_at) for r in rows]

    def revoke_api_key(self, authority_id: int, key_id: str, *, conn: Connection | None = None) -> bool:
        """Revoke one of the authority's keys; ``False`` when there is no such live key."""
        with self.transaction(conn) as tx:
            changed = tx.execute(
                sa.update(t.api_key)
                .where(
                    t.api_key.c.authority_id == authority_id,
                    t.api_key.c.key_id == key_id,
                    t.api_key.c.revoked_at.is_(None),
                )
                .values(revoked_at=self._clock())
            ).rowcount
        return changed == 1

    # -- credential types ----------------------------------------------------------------------------------------------

    def put_credential_type(self, authority_id: int, ctype: CredentialType, *, conn: Connection | None = None) -> None:
        """Add or replace an authority's credential type."""
        now = self._clock()
        definition = json_dumps(dict(ctype.document))
        with self.transaction(conn) as tx:
            updated = tx.execute(
                sa.update(t.credential_type)
                .where(t.credential_type.c.authority_id == authority_id, t.credential_type.c.type_id == ctype.id)
                .values(definition=definition, updated_at=now)
            ).rowcount
            if not updated:
                tx.execute(
                    sa.insert(t.credential_type).values(
                        authority_id=authority_id,
                        type_id=ctype.id,
                        definition=definition,
                        created_at=now,
                        updated_at=now,
                    )
                )

    def credential_types(self, authority_id: int) -> dict[str, CredentialType]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.credential_type.c.definition)
                .where(t.credential_type.c.authority_id == authority_id)
                .order_by(t.credential_type.c.type_id)
            ).all()
        types = [load_credential_type(row.definition) for row in rows]
        return {ctype.id: ctype for ctype in types}

    # -- offers --------------------------------------------------------------------------------------------------------

    def insert_offer(
        self,
        *,
        offer_id: str,
        authority_id: int,
        type_id: str,
        claims: Mapping[str, Any],
        tx_code_required: bool,
        expires_at: float,
        subject_pseudonym: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        with self.transaction(conn) as tx:
            tx.execute(
                sa.insert(t.offer).values(
                    id=offer_id,
                    authority_id=authority_id,
                    type_id=type_id,
                    claims=json_dumps(dict(claims)),
                    tx_code_required=tx_code_required,
                    state="offered",
                    created_at=self._clock(),
                    expires_at=expires_at,
                    subject_pseudonym=subject_pseudonym,
                )
            )

    def offer(self, offer_id: str) -> OfferRecord | None:
        with self._single() as conn:
            row = conn.execute(sa.select(t.offer).where(t.offer.c.id == offer_id)).first()
        return None if row is None else self._offer(row)

    def offers(
        self,
        authority_id: int,
        *,
        state: str | None = None,
        type_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OfferRecord]:
        """The authority's offers, newest first (metadata only)."""
        query = sa.select(t.offer).where(t.offer.c.authority_id == authority_id)
        if state is not None:
            query = query.where(t.offer.c.state == state)
        if type_id is not None:
            query = query.where(t.offer.c.type_id == type_id)
        query = query.order_by(t.offer.c.created_at.desc(), t.offer.c.id).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [self._offer(row) for row in conn.execute(query).all()]

    @staticmethod
    def _offer(row: Any) -> OfferRecord:
        return OfferRecord(
            id=row.id,
            authority_id=row.authority_id,
            type_id=row.type_id,
            tx_code_required=row.tx_code_required,
            state=row.state,
            created_at=row.created_at,
            expires_at=row.expires_at,
            has_claims=row.claims is not None,
            credentials_issued=row.credentials_issued,
            delivered_at=row.delivered_at,
            redeemed_at=row.redeemed_at,
            subject_pseudonym=row.subject_pseudonym,
        )

    @contextlib.contextmanager
    def _statement(self, conn: Connection | None) -> Iterator[Connection]:
        """``conn`` when given (the caller's transaction), else one statement committed on its own
        (``infra.db.single_statement``: autocommit on PostgreSQL)."""
        if conn is not None:
            yield conn
            return
        with self._single() as own:
            yield own

    def redeem_offer(self, offer_id: str, *, conn: Connection | None = None) -> bool:
        """``offered`` → ``redeemed`` (its pre-authorized code was exchanged for an access token); ``False`` when the
        offer is not in that state or has expired."""
        now = self._clock()
        with self._statement(conn) as tx:  # one conditional UPDATE
            changed = _REDEEM_OFFER.run(tx, {"offer_id": offer_id, "now": now, "redeemed_at": now}).rowcount
        return changed == 1

    def offer_claims(self, offer_id: str, state: str) -> dict[str, Any] | None:
        """The claim values of an offer in ``state`` that has not expired, or ``None``."""
        found = self.offer_claims_and_pseudonym(offer_id, state)
        return None if found is None else found[0]

    def offer_claims_and_pseudonym(
        self, offer_id: str, state: str, conn: Connection | None = None
    ) -> tuple[dict[str, Any], str | None] | None:
        """The claim values and the subject pseudonym of an offer in ``state`` that has not expired (one read), or
        ``None``; ``conn``: in the caller's transaction."""
        with self._statement(conn) as tx:
            row = _OFFER_CLAIMS.run(tx, {"offer_id": offer_id, "state": state, "now": self._clock()}).first()
        if row is None or row[0] is None:
            return None
        value: dict[str, Any] = json.loads(row[0])
        return value, row[1]

    def deliver_offer(self, conn: Connection, offer_id: str, source: str, count: int) -> bool:
        """``source`` → ``delivered`` in the caller's transaction, claims deleted; ``False`` when the offer is not
        in ``source`` (another request delivered it) or has expired. The one gate against issuing twice."""
        now = self._clock()
        changed = _DELIVER_OFFER.run(
            conn, {"offer_id": offer_id, "source": source, "now": now, "delivered_at": now, "count": count}
        ).rowcount
        return changed == 1

    def defer_offer(self, conn: Connection, offer_id: str, expires_at: float) -> bool:
        """``redeemed`` → ``pending`` (a clerk must approve), living until ``expires_at``."""
        now = self._clock()
        changed = conn.execute(
            sa.update(t.offer)
            .where(t.offer.c.id == offer_id, t.offer.c.state == "redeemed", t.offer.c.expires_at > now)
            .values(state="pending", expires_at=expires_at)
        ).rowcount
        return changed == 1

    def decide_offer(self, conn: Connection, offer_id: str, *, approve: bool) -> bool:
        """``pending`` → ``approved``, or → ``denied`` with the claims deleted."""
        values: dict[str, Any] = {"state": "approved"} if approve else {"state": "denied", "claims": None}
        changed = conn.execute(
            sa.update(t.offer)
            .where(t.offer.c.id == offer_id, t.offer.c.state == "pending", t.offer.c.expires_at > self._clock())
            .values(**values)
        ).rowcount
        return changed == 1

    def kill_offer(self, offer_id: str, *, conn: Connection | None = None) -> None:
        """An offer that may never be redeemed (too many wrong transaction codes): ``dead``, claims deleted."""
        with self._statement(conn) as tx:  # one UPDATE
            tx.execute(
                sa.update(t.offer)
                .where(t.offer.c.id == offer_id, t.offer.c.state.in_(OPEN_OFFER_STATES))
                .values(state="dead", claims=None)
            )

    def expire_offers(self) -> int:
        """Offers past their expiry that were never delivered: ``expired``, claims deleted (their deferred requests
        expire with them). Returns how many offers."""
        now = self._clock()
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t.deferred_request)
                .where(t.deferred_request.c.state.in_(("pending", "approved")), t.deferred_request.c.expires_at <= now)
                .values(state="expired")
            )
            return int(
                conn.execute(
                    sa.update(t.offer)
                    .where(t.offer.c.state.in_(OPEN_OFFER_STATES), t.offer.c.expires_at <= now)
                    .values(state="expired", claims=None)
                ).rowcount
                or 0
            )

    # -- secrets and settings ------------------------------------------------------------------------------------------

    def server_secret(self, name: str) -> bytes:
        """A 32-byte random secret shared by every instance on this database, created on first use."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(t.server_secret.c.value).where(t.server_secret.c.name == name)).scalar()
        if value is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        sa.insert(t.server_secret).values(name=name, value=b64url_encode(secrets.token_bytes(32)))
                    )
            except IntegrityError:
                pass  # another instance created it first; use theirs
            with self.engine.connect() as conn:
                value = conn.execute(
                    sa.select(t.server_secret.c.value).where(t.server_secret.c.name == name)
                ).scalar_one()
        return b64url_decode(value)

    def get_setting(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(t.setting.c.value).where(t.setting.c.name == name)).scalar()
        return None if value is None else str(value)

    def put_setting(self, name: str, value: str) -> None:
        with self.engine.begin() as conn:
            if not conn.execute(sa.update(t.setting).where(t.setting.c.name == name).values(value=value)).rowcount:
                conn.execute(sa.insert(t.setting).values(name=name, value=value))

    # -- leases --------------------------------------------------------------------------------------------------------

    def take_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Hold the lease ``name`` for ``ttl`` seconds (taken over when free or expired, renewed by its holder)."""
        now = self._clock()
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(t.lease)
                .where(t.lease.c.name == name, sa.or_(t.lease.c.holder == holder, t.lease.c.expires_at < now))
                .values(holder=holder, expires_at=now + ttl)
            ).rowcount
            if changed:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(t.lease).values(name=name, holder=holder, expires_at=now + ttl))
            return True
        except IntegrityError:
            return False  # somebody holds it

    def release_lease(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t.lease).where(t.lease.c.name == name, t.lease.c.holder == holder))
