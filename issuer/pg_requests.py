"""The token and credential requests' database work on PostgreSQL in a few statements (bench/README.md, issuer,
sixth pass): data-modifying CTEs, each statement its own transaction (autocommit — atomic and durable on its own, no
BEGIN/COMMIT round trips), sent to psycopg's cursor directly (``infra.db.DriverStatement``).

Used when the short-lived store is a table in the issuer's own PostgreSQL database and the audit log has an outbox
(:meth:`issuer.context.IssuerContext.pg_requests`); SQLite and Redis keep the statement-per-step path.

Token request (RFC 9449 §11.1, OpenID4VCI §6): (1) the DPoP proof's ``jti`` recorded and the pre-authorized code read
in one statement (the code is only read: nothing is consumed by a refused request); (2) after the checks, the code
taken (``DELETE … RETURNING``: of concurrent requests exactly one gets it), the offer ``offered`` → ``redeemed``, its
document deleted and the access token stored, each step only when the one before it succeeded — one statement, so
a failure in it consumes nothing. A transaction-code attempt is counted on its own before the code is compared, as
before.

Credential request (OpenID4VCI §8): (1) the access token and the offer's claims read in one statement; the DPoP proof
and the key proofs are verified and the credential signed; (2) one statement records the DPoP ``jti`` and the
``c_nonce`` (each only when the one before was new), the offer ``redeemed`` → ``delivered`` (only then: the one gate
against issuing twice), the status entries (a plain ``INSERT``: a status index taken meanwhile fails the whole
statement, nothing is recorded and the caller chooses again), the issuance, the status list's count, the spent token
and the audit outbox entry. All of it commits together or not at all, so a crash leaves either the offer redeemed
and nothing issued, or everything issued and recorded once.
"""

# Table names in the SQL below come from issuer.tables and the store's own table, never from input; values are bound.
# ruff: noqa: S608

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from infra.db import DriverStatement
from infra.ephemeral import SqlEphemeralStore
from issuer import tables as t

__all__ = ["DeliveryCounts", "PgRequests", "STATUS_INDEX_CONSTRAINT"]

#: The unique constraint a status index taken by a concurrent issuance violates (``issuer.tables``).
STATUS_INDEX_CONSTRAINT = "uq_status_entry_list_idx"

_ENTRY_COLUMNS = (
    ("status_list_id", "integer"),
    ("idx", "integer"),
    ("authority_id", "integer"),
    ("type_id", "varchar"),
    ("offer_id", "varchar"),
    ("holder_jkt", "varchar"),
    ("issued_at", "double precision"),
    ("expires_at", "double precision"),
    ("status", "integer"),
    ("credential_id", "varchar"),
    ("issuance_id", "varchar"),
    ("subject_pseudonym", "varchar"),
)


class DeliveryCounts(tuple[int, int, int, int]):
    """Rows the delivery statement wrote: ``jti`` (1, or 1 without DPoP), ``c_nonce``, offer delivered, status
    entries."""

    __slots__ = ()

    @property
    def jti(self) -> int:
        return self[0]

    @property
    def nonce(self) -> int:
        return self[1]

    @property
    def offer(self) -> int:
        return self[2]

    @property
    def entries(self) -> int:
        return self[3]


class PgRequests:
    """The statements; thread-safe (one connection per call from the engine's pool, statements built once)."""

    def __init__(self, store: SqlEphemeralStore, outbox: sa.Table) -> None:
        self._engine = store.engine
        self._store = store
        eph = store.table.name
        self._eph = eph
        self._outbox = outbox.name
        remember = (
            "INSERT INTO {eph} (ns, key, value, counter, expires_at) {source} "
            "ON CONFLICT (ns, key) DO UPDATE SET expires_at = excluded.expires_at, value = '{{}}', counter = 0 "
            "WHERE {eph}.expires_at <= :store_now RETURNING 1"
        )
        self._remember = remember
        self._jti_and_code = DriverStatement(
            sa.text(
                "WITH j AS ("
                + remember.format(eph=eph, source="VALUES (:jti_ns, :jti_key, '{}', 0, :jti_expires)")
                + ") SELECT (SELECT count(*) FROM j), "
                f"(SELECT value FROM {eph} WHERE ns = :code_ns AND key = :code_key AND expires_at > :store_now)"
            )
        )
        o = t.offer.name
        self._redeem = DriverStatement(
            sa.text(
                f"WITH c AS (DELETE FROM {eph} WHERE ns = :code_ns AND key = :code_key AND expires_at > :store_now "
                "RETURNING 1), "
                f"o AS (UPDATE {o} SET state = 'redeemed', redeemed_at = :now WHERE id = :offer_id "
                "AND state = 'offered' AND expires_at > :now AND EXISTS (SELECT 1 FROM c) RETURNING 1), "
                f"d AS (DELETE FROM {eph} WHERE ns = :doc_ns AND key = :offer_id AND EXISTS (SELECT 1 FROM o)), "
                f"tk AS (INSERT INTO {eph} (ns, key, value, counter, expires_at) "
                "SELECT :token_ns, :token_key, :token_value, 0, CAST(:token_expires AS double precision) "
                "WHERE EXISTS (SELECT 1 FROM o) RETURNING 1) "
                "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM o), (SELECT count(*) FROM tk)"
            )
        )
        self._token_and_claims = DriverStatement(
            sa.text(
                f"SELECT e.value, o.claims, o.subject_pseudonym FROM {eph} e LEFT JOIN {o} o "
                "ON o.id = (CAST(e.value AS json) ->> 'o') AND o.state = 'redeemed' AND o.expires_at > :now "
                "WHERE e.ns = :token_ns AND e.key = :token_key AND e.expires_at > :store_now"
            )
        )
        #: Delivery statements per (with a DPoP jti, holders, list count to add).
        self._deliveries: dict[tuple[bool, int, bool], DriverStatement] = {}
        self._lock = threading.Lock()

    def store_now(self) -> float:
        """The short-lived store's clock (its entries' ``expires_at``)."""
        return self._store.now()

    # -- token request -------------------------------------------------------------------------------------------

    def jti_and_code(
        self, *, jti: tuple[str, str, float], code: tuple[str, str], store_now: float
    ) -> tuple[bool, str | None]:
        """Record the DPoP ``jti`` (``(ns, key, expires_at)``) and read the code's entry (``(ns, key)``): ``(jti was
        new, the entry's JSON or None)``."""
        parameters = {
            "jti_ns": jti[0],
            "jti_key": jti[1],
            "jti_expires": jti[2],
            "code_ns": code[0],
            "code_key": code[1],
            "store_now": store_now,
        }
        row = self._jti_and_code.run_single(self._engine, parameters).rows[0]
        return bool(row[0]), row[1]

    def redeem(
        self,
        *,
        code: tuple[str, str],
        offer_id: str,
        doc_ns: str,
        token: tuple[str, str, str, float],
        now: float,
        store_now: float,
    ) -> tuple[bool, bool]:
        """Take the code, redeem the offer, delete its document, store the token (``(ns, key, JSON, expires_at)``):
        ``(code taken, offer redeemed)`` — the token is stored exactly when both."""
        parameters = {
            "code_ns": code[0],
            "code_key": code[1],
            "offer_id": offer_id,
            "doc_ns": doc_ns,
            "token_ns": token[0],
            "token_key": token[1],
            "token_value": token[2],
            "token_expires": token[3],
            "now": now,
            "store_now": store_now,
        }
        taken, redeemed, stored = self._redeem.run_single(self._engine, parameters).rows[0]
        if redeemed and not stored:  # pragma: no cover - the insert has no condition of its own
            raise RuntimeError("redeem: the access token was not stored")
        return bool(taken), bool(redeemed)

    # -- credential request --------------------------------------------------------------------------------------

    def token_and_claims(
        self, *, token: tuple[str, str], now: float, store_now: float
    ) -> tuple[str, str | None, str | None] | None:
        """The access token's entry (JSON) with its offer's claims (JSON) and subject pseudonym when the offer is
        ``redeemed`` and has not expired; ``None`` when the token is unknown or expired."""
        parameters = {"token_ns": token[0], "token_key": token[1], "now": now, "store_now": store_now}
        row = self._token_and_claims.run_single(self._engine, parameters).first()
        return None if row is None else (row[0], row[1], row[2])

    def _delivery(self, with_jti: bool, holders: int, count_list: bool) -> DriverStatement:
        key = (with_jti, holders, count_list)
        statement = self._deliveries.get(key)
        if statement is not None:
            return statement
        eph, o = self._eph, t.offer.name
        parts = []
        if with_jti:
            parts.append(
                "j AS ("
                + self._remember.format(eph=eph, source="VALUES (:jti_ns, :jti_key, '{}', 0, :jti_expires)")
                + ")"
            )
            nonce_gate = " WHERE EXISTS (SELECT 1 FROM j)"
        else:
            nonce_gate = ""
        nonce_source = "SELECT :nonce_ns, :nonce_key, '{}', 0, CAST(:nonce_expires AS double precision)" + nonce_gate
        parts.append("n AS (" + self._remember.format(eph=eph, source=nonce_source) + ")")
        parts.append(
            f"d AS (UPDATE {o} SET state = 'delivered', claims = NULL, delivered_at = :now, "
            "credentials_issued = :count WHERE id = :offer_id AND state = 'redeemed' AND expires_at > :now "
            "AND EXISTS (SELECT 1 FROM n) RETURNING 1)"
        )
        names = ", ".join(name for name, _ in _ENTRY_COLUMNS)
        rows = " UNION ALL ".join(
            "SELECT "
            + ", ".join(f"CAST(:{name}_{i} AS {sql_type})" for name, sql_type in _ENTRY_COLUMNS)
            + " WHERE EXISTS (SELECT 1 FROM d)"
            for i in range(holders)
        )
        parts.append(f"s AS (INSERT INTO {t.status_entry.name} ({names}) {rows} RETURNING 1)")
        if count_list:
            parts.append(
                f"l AS (UPDATE {t.status_list.name} SET allocated = allocated + :list_added WHERE id = :list_id "
                "AND EXISTS (SELECT 1 FROM d))"
            )
        parts.append(
            f"i AS (INSERT INTO {t.issuance.name} (id, authority_id, offer_id, type_id, count, issued_at) "
            "SELECT :issuance_id, CAST(:authority_id AS integer), :offer_id, :type_id, CAST(:count AS integer), "
            "CAST(:now AS double precision) WHERE EXISTS (SELECT 1 FROM d))"
        )
        parts.append(
            f"tk AS (INSERT INTO {eph} (ns, key, value, counter, expires_at) "
            "SELECT :token_ns, :token_key, :token_value, 0, CAST(:token_expires AS double precision) "
            "WHERE EXISTS (SELECT 1 FROM d) "
            "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at)"
        )
        parts.append(
            f"a AS (INSERT INTO {self._outbox} (time, actor, authority, action, subjects) "
            "SELECT :audit_time, :audit_actor, :audit_authority, :audit_action, :audit_subjects "
            "WHERE EXISTS (SELECT 1 FROM d))"
        )
        jti_count = "(SELECT count(*) FROM j)" if with_jti else "1"
        statement = DriverStatement(
            sa.text(
                "WITH "
                + ", ".join(parts)
                + f" SELECT {jti_count}, (SELECT count(*) FROM n), (SELECT count(*) FROM d), (SELECT count(*) FROM s)"
            )
        )
        with self._lock:
            return self._deliveries.setdefault(key, statement)

    def deliver(
        self,
        *,
        jti: tuple[str, str, float] | None,
        nonce: tuple[str, str, float],
        offer_id: str,
        entries: Sequence[Mapping[str, Any]],
        list_count: tuple[int, int] | None,
        issuance: Mapping[str, Any],
        token: tuple[str, str, str, float],
        audit: Mapping[str, str],
        now: float,
        store_now: float,
    ) -> DeliveryCounts:
        """One statement (see the module's docstring). ``entries``: the status entries' rows (``issuer.status``);
        ``list_count``: ``(list id, entries to add to its allocated count)`` when they were not counted with a
        reserved block; ``issuance``: ``id``, ``authority_id``, ``type_id``; ``audit``: the outbox row
        (``AuditLog.outbox_row``). ``sqlalchemy.exc.IntegrityError`` on :data:`STATUS_INDEX_CONSTRAINT` when a status
        index was taken meanwhile: nothing was recorded."""
        statement = self._delivery(jti is not None, len(entries), list_count is not None)
        parameters: dict[str, Any] = {
            "nonce_ns": nonce[0],
            "nonce_key": nonce[1],
            "nonce_expires": nonce[2],
            "offer_id": offer_id,
            "count": len(entries),
            "issuance_id": issuance["id"],
            "authority_id": issuance["authority_id"],
            "type_id": issuance["type_id"],
            "token_ns": token[0],
            "token_key": token[1],
            "token_value": token[2],
            "token_expires": token[3],
            "now": now,
            "store_now": store_now,
        }
        if jti is not None:
            parameters.update(jti_ns=jti[0], jti_key=jti[1], jti_expires=jti[2])
        if list_count is not None:
            parameters.update(list_id=list_count[0], list_added=list_count[1])
        for name, value in audit.items():
            parameters[f"audit_{name}"] = value
        for i, entry in enumerate(entries):
            for name, _ in _ENTRY_COLUMNS:
                parameters[f"{name}_{i}"] = entry[name]
        row = statement.run_single(self._engine, parameters).rows[0]
        return DeliveryCounts(int(value) for value in row)
