"""Issued credentials as the authority sees them — metadata only (type, times, status, holder-key thumbprint, status
list entry, notification) — and their status: revoke, suspend, unsuspend (draft-ietf-oauth-status-list §7.1).

Status values: VALID 0x00, INVALID 0x01 ("revoked, annulled, taken back, recalled or cancelled"), SUSPENDED 0x02
("temporarily invalid ... usually temporary"). Allowed changes:

=============  =====================  ==========
action         from                   to
=============  =====================  ==========
``revoke``     valid, suspended       revoked (final)
``suspend``    valid                  suspended
``unsuspend``  suspended              valid
=============  =====================  ==========

A change to the state a credential is already in is a no-op (idempotent); any other change is refused. Every change
is one transaction: the entries' new status, the lists' change counters (:mod:`issuer.publishing` publishes them
within the publication window), and the audit entry.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from issuer import tables as t
from issuer.context import IssuerContext, NotFound, Tenant
from issuer.subjects import subject_pseudonym
from ssi.errors import SsiError
from ssi.status_list import INVALID, SUSPENDED, VALID

__all__ = ["ACTIONS", "CredentialRecord", "CredentialRecords", "StatusChange", "StatusChangeRefused"]

STATUS_NAMES = {VALID: "valid", INVALID: "revoked", SUSPENDED: "suspended"}
STATUS_VALUES = {name: value for value, name in STATUS_NAMES.items()}
#: action → (target status, statuses it may come from)
ACTIONS: dict[str, tuple[int, tuple[int, ...]]] = {
    "revoke": (INVALID, (VALID, SUSPENDED)),
    "suspend": (SUSPENDED, (VALID,)),
    "unsuspend": (VALID, (SUSPENDED,)),
}
MAX_BATCH = 1000


class StatusChangeRefused(SsiError):
    """The credential's status does not allow this change (a revoked credential stays revoked)."""

    code = "invalid_request"
    reason = "status_change_refused"


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    credential_id: str
    type_id: str
    status: str
    issued_at: float
    expires_at: float | None
    holder_jkt: str
    status_list_uri: str
    status_list_index: int
    offer_id: str | None
    issuance_id: str | None
    notification_event: str | None
    status_changed_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "credential_id": self.credential_id,
            "credential_configuration_id": self.type_id,
            "status": self.status,
            "issued_at": int(self.issued_at),
            "expires_at": None if self.expires_at is None else int(self.expires_at),
            "holder_jkt": self.holder_jkt,
            "status_list": {"uri": self.status_list_uri, "idx": self.status_list_index},
            "offer_id": self.offer_id,
            "notification_id": self.issuance_id,
            "notification_event": self.notification_event,
            "status_changed_at": None if self.status_changed_at is None else int(self.status_changed_at),
        }


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What a status action did: the credentials now in the target status (``changed``: by this call)."""

    action: str
    status: str
    changed: list[str]
    unchanged: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "status": self.status, "changed": self.changed, "unchanged": self.unchanged}


def _columns() -> list[Any]:
    e, sl, i = t.status_entry, t.status_list, t.issuance
    return [
        e.c.credential_id,
        e.c.type_id,
        e.c.status,
        e.c.issued_at,
        e.c.expires_at,
        e.c.holder_jkt,
        sl.c.uri,
        e.c.idx,
        e.c.offer_id,
        e.c.issuance_id,
        i.c.notification_event,
        e.c.status_changed_at,
    ]


def _record(row: Any) -> CredentialRecord:
    return CredentialRecord(
        credential_id=row.credential_id,
        type_id=row.type_id,
        status=STATUS_NAMES.get(int(row.status), str(row.status)),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        holder_jkt=row.holder_jkt,
        status_list_uri=row.uri,
        status_list_index=int(row.idx),
        offer_id=row.offer_id,
        issuance_id=row.issuance_id,
        notification_event=row.notification_event,
        status_changed_at=row.status_changed_at,
    )


class CredentialRecords:
    """Reading and changing the status of an authority's issued credentials. ``on_change`` is called after a
    committed change (the publisher's wake-up)."""

    def __init__(self, context: IssuerContext, *, on_change: Callable[[], None] | None = None) -> None:
        self.context = context
        self.on_change = on_change or (lambda: None)

    def _query(self) -> Any:
        e, sl, i = t.status_entry, t.status_list, t.issuance
        joined = e.join(sl, sl.c.id == e.c.status_list_id).outerjoin(i, i.c.id == e.c.issuance_id)
        return sa.select(*_columns()).select_from(joined)

    def list(
        self,
        tenant: Tenant,
        *,
        type_id: str | None = None,
        status: str | None = None,
        offer_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CredentialRecord]:
        """The authority's credentials, newest first."""
        e = t.status_entry
        query = self._query().where(e.c.authority_id == tenant.authority.id)
        if type_id is not None:
            query = query.where(e.c.type_id == type_id)
        if status is not None:
            if status not in STATUS_VALUES:
                raise SsiError("status is valid, revoked or suspended", reason="bad_status_filter")
            query = query.where(e.c.status == STATUS_VALUES[status])
        if offer_id is not None:
            query = query.where(e.c.offer_id == offer_id)
        query = query.order_by(e.c.issued_at.desc(), e.c.id.desc()).limit(max(1, min(limit, 1000))).offset(offset)
        with self.context.storage.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).all()]

    def get(self, tenant: Tenant, credential_id: str) -> CredentialRecord:
        e = t.status_entry
        query = self._query().where(e.c.authority_id == tenant.authority.id, e.c.credential_id == credential_id)
        with self.context.storage.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound("no such credential at this authority")
        return _record(row)

    def by_subject(self, tenant: Tenant, kind: str, value: str) -> builtins.list[CredentialRecord]:
        """Every credential of the authority issued for this subject (by its keyed pseudonym)."""
        pseudonym = subject_pseudonym(self.context.subject_secret, tenant.authority.id, kind, value)
        e = t.status_entry
        query = self._query().where(e.c.authority_id == tenant.authority.id, e.c.subject_pseudonym == pseudonym)
        with self.context.storage.engine.connect() as conn:
            rows = conn.execute(query.order_by(e.c.issued_at, e.c.id).limit(MAX_BATCH + 1)).all()
        return [_record(row) for row in rows]

    # -- changes -------------------------------------------------------------------------------------------------

    def change(self, tenant: Tenant, credential_id: str, action: str, *, actor: str) -> StatusChange:
        """Revoke, suspend or unsuspend one credential (refused with :class:`StatusChangeRefused` when its status
        does not allow it; a no-op when it is in the target status already)."""
        record = self.get(tenant, credential_id)
        target, sources = _action(action)
        current = STATUS_VALUES.get(record.status, -1)
        if current != target and current not in sources:
            raise StatusChangeRefused(
                f"a {record.status} credential cannot be {action}ed", reason=f"{record.status}_cannot_{action}"
            )
        return self._apply(tenant, [credential_id], action, actor=actor, subjects=[])

    def change_subject(self, tenant: Tenant, kind: str, value: str, action: str, *, actor: str) -> StatusChange:
        """The action on every credential issued for the subject whose status allows it (others are reported
        unchanged). The audit entry names the pseudonym, never the value."""
        _action(action)
        pseudonym = subject_pseudonym(self.context.subject_secret, tenant.authority.id, kind, value)
        e = t.status_entry
        with self.context.storage.engine.connect() as conn:
            ids = list(
                conn.execute(
                    sa.select(e.c.credential_id)
                    .where(e.c.authority_id == tenant.authority.id, e.c.subject_pseudonym == pseudonym)
                    .order_by(e.c.id)
                    .limit(MAX_BATCH + 1)
                ).scalars()
            )
        if len(ids) > MAX_BATCH:
            raise SsiError(f"more than {MAX_BATCH} credentials for one subject", reason="too_many_credentials")
        return self._apply(tenant, ids, action, actor=actor, subjects=[f"pseudonym:{pseudonym[:32]}"])

    def _apply(
        self, tenant: Tenant, credential_ids: Sequence[str], action: str, *, actor: str, subjects: builtins.list[str]
    ) -> StatusChange:
        ctx = self.context
        target, sources = _action(action)
        e, sl = t.status_entry, t.status_list
        now = ctx.clock()
        changed: builtins.list[str] = []
        with ctx.storage.engine.begin() as conn:
            if credential_ids:
                rows = conn.execute(
                    sa.update(e)
                    .where(
                        e.c.authority_id == tenant.authority.id,
                        e.c.credential_id.in_(credential_ids),
                        e.c.status.in_(sources),
                    )
                    .values(status=target, status_changed_at=now)
                    .returning(e.c.credential_id, e.c.status_list_id)
                ).all()
                if rows:
                    conn.execute(
                        sa.update(sl)
                        .where(sl.c.id.in_(sorted({r.status_list_id for r in rows})))
                        .values(change_seq=sl.c.change_seq + 1, changed_at=sa.func.coalesce(sl.c.changed_at, now))
                    )
                    changed = sorted(r.credential_id for r in rows)
            ctx.audit_append(
                conn,
                actor=actor,
                tenant=tenant,
                action=f"credential.{action}",
                subjects=subjects + [f"credential:{c}" for c in changed],
            )
        if changed:
            self.on_change()
        done = set(changed)
        return StatusChange(action, STATUS_NAMES[target], changed, [c for c in credential_ids if c not in done])


def _action(action: str) -> tuple[int, tuple[int, ...]]:
    if action not in ACTIONS:
        raise SsiError("the action is revoke, suspend or unsuspend", reason="unknown_status_action")
    return ACTIONS[action]
