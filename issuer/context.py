"""What every issuer operation shares: settings, storage, the short-lived state store, clock, keys and nonces — and
the per-authority view (:class:`Tenant`) that each request resolves first from the ``/issuers/{slug}`` in its URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from infra.audit import AuditLog
from infra.ephemeral import EphemeralStore, SqlEphemeralStore
from issuer.credential_type import CredentialType
from issuer.keyring import AuthorityKeys, Keyring
from issuer.nonces import CNonces, DpopCheck, DpopNonces
from issuer.pg_requests import PgRequests
from issuer.settings import IssuerSettings
from issuer.status import StatusAllocator
from issuer.storage import Authority, IssuerStorage
from ssi.clock import Clock
from ssi.errors import SsiError

__all__ = ["IssuerContext", "NotFound", "Tenant", "digest_key"]

#: Seconds a resolved tenant (authority and its types) is reused before it is read again.
TENANT_TTL = 10.0
#: Subjects per audit entry (infra.audit allows 32).
AUDIT_SUBJECTS = 32


class NotFound(SsiError):
    """No such authority, offer or type at this issuer (HTTP 404)."""

    code = "not_found"
    reason = "not_found"


def digest_key(value: str) -> str:
    """Store secrets (codes, tokens) only under their SHA-256, so a dump of the short-lived store reveals none."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Tenant:
    """One authority as the protocol sees it: its Credential Issuer Identifier (OpenID4VCI §12.2.1) and endpoints."""

    authority: Authority
    credential_issuer: str
    types: dict[str, CredentialType]

    @property
    def token_endpoint(self) -> str:
        return f"{self.credential_issuer}/token"

    @property
    def credential_endpoint(self) -> str:
        return f"{self.credential_issuer}/credential"

    @property
    def nonce_endpoint(self) -> str:
        return f"{self.credential_issuer}/nonce"

    def offer_uri(self, offer_id: str) -> str:
        return f"{self.credential_issuer}/credential-offer/{offer_id}"


@dataclass
class IssuerContext:
    settings: IssuerSettings
    storage: IssuerStorage
    store: EphemeralStore
    keyring: Keyring
    clock: Clock
    c_nonces: CNonces
    dpop_nonces: DpopNonces
    dpop: DpopCheck
    statuses: StatusAllocator
    #: MAC key for transaction codes (they are short; only their MAC is stored).
    tx_code_secret: bytes
    #: The hash-chained audit log (table ``audit_log``); entries join the transaction of what they record.
    audit: AuditLog
    #: HMAC key of subject pseudonyms (:mod:`issuer.subjects`).
    subject_secret: bytes
    _tenants: dict[str, tuple[float, Tenant]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pg_requests: list[PgRequests | None] = field(default_factory=list)

    def credential_issuer(self, slug: str) -> str:
        return f"{self.settings.public_url}/issuers/{slug}"

    def tenant(self, slug: str) -> Tenant:
        """The authority named in the URL, with its types (cached for :data:`TENANT_TTL` seconds)."""
        now = time.monotonic()
        with self._lock:
            cached = self._tenants.get(slug)
        if cached is not None and now - cached[0] < TENANT_TTL:
            return cached[1]
        authority = self.storage.authority(slug)
        if authority is None:
            raise NotFound("no such credential issuer here")
        tenant = Tenant(authority, self.credential_issuer(slug), self.storage.credential_types(authority.id))
        with self._lock:
            self._tenants[slug] = (now, tenant)
        return tenant

    def forget_tenant(self, slug: str) -> None:
        with self._lock:
            self._tenants.pop(slug, None)

    def sql_store(self) -> SqlEphemeralStore | None:
        """The short-lived store when it is a table in the issuer's own PostgreSQL database (so it can join a
        transaction and save commits, each a WAL flush). Not on SQLite: its commits cost no flush there (WAL,
        ``synchronous=NORMAL``), while a longer transaction holds the one write lock longer — measured under the
        issuer benchmark, the other writers then met SQLite's busy handler (1-100 ms sleeps) more often."""
        store = self.store
        if (
            isinstance(store, SqlEphemeralStore)
            and store.engine is self.storage.engine
            and store.engine.dialect.name == "postgresql"
        ):
            return store
        return None

    def pg_requests(self) -> PgRequests | None:
        """The token and credential requests' statements on PostgreSQL (:mod:`issuer.pg_requests`: 4 statements per
        credential instead of 16) when the short-lived store is a table in the issuer's own PostgreSQL database
        (:meth:`sql_store`) and the audit log has an outbox; else ``None`` (the statement-per-step path)."""
        if not self._pg_requests:
            store, outbox = self.sql_store(), self.audit.outbox
            found = None if store is None or outbox is None else PgRequests(store, outbox)
            with self._lock:
                if not self._pg_requests:
                    self._pg_requests.append(found)
        return self._pg_requests[0]

    @contextlib.contextmanager
    def request_state(self) -> Iterator[tuple[EphemeralStore, Connection | None]]:
        """The short-lived store and a connection for the durable changes of one request, in **one transaction**
        when the store is a table in the issuer's own PostgreSQL database (:meth:`sql_store`; one commit instead of one
        per step); otherwise the store as it is and ``None`` (each change committed on its own, as before).

        A protocol error (:class:`SsiError`) commits what was done before it — e.g. a counted transaction-code attempt
        or a consumed value — exactly as when every step committed on its own; any other exception rolls the whole
        request back."""
        store = self.sql_store()
        if store is None:
            yield self.store, None
            return
        with self.storage.engine.connect() as conn:
            try:
                yield store.bound(conn), conn
            except SsiError:
                conn.commit()
                raise
            conn.commit()

    def keys(self, tenant: Tenant) -> AuthorityKeys:
        return self.keyring.keys_for(tenant.authority, tenant.credential_issuer)

    def audit_append(
        self, conn: Connection, *, actor: str, tenant: Tenant, action: str, subjects: Sequence[str]
    ) -> None:
        """Record in the audit log inside ``conn``'s transaction (``AuditLog.record``: through the outbox, without the
        log's append lock; chained right after the commit); more subjects than one entry takes are spread over
        consecutive entries of the same action."""
        items = list(subjects) or [f"authority:{tenant.authority.slug}"]
        for start in range(0, len(items), AUDIT_SUBJECTS):
            self.audit.record(
                actor=actor,
                authority=tenant.authority.slug,
                action=action,
                subjects=items[start : start + AUDIT_SUBJECTS],
                connection=conn,
            )
