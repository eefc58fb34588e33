"""What an authority's staff do, as plain functions — called by the admin JSON API (:mod:`issuer.app`, API keys) and by
the admin web pages (``issuer/web``, staff accounts) alike, so both behave the same and both are audited.

Every method takes the :class:`~issuer.context.Tenant` (the authority) and, for changes, the ``actor``: who acts, as
an audit identifier — ``apikey:<key id>`` for the API, ``user:<account>`` for a staff member in the web UI. Each change
and its audit entry are stored in one transaction. Reads return metadata only: never claim values.

=====================================  ==============================================================================
method                                 what
=====================================  ==============================================================================
``create_offer``                       an offer (links, QR code, transaction code) for a citizen
``offers`` / ``offer``                 offers and their state
``credentials`` / ``credential``       issued credentials: type, times, status, holder-key thumbprint, status entry
``change_status``                      revoke / suspend / unsuspend one credential
``change_subject_status``              … every credential issued for a subject (licence plate, document number)
``deferred_requests`` / ``approve`` /  requests waiting for a clerk (deferred issuance), and the decision
``reject``
``credential_types`` / ``put_type``    the authority's credential types
``api_keys`` / ``create_api_key`` /    API keys (the secret is shown once, stored hashed)
``revoke_api_key``
``status_lists``                       published status lists: version, digest, anchoring
``audit_entries`` / ``verify_audit``   the audit log and its verification
=====================================  ==============================================================================
"""

from __future__ import annotations

import re
from typing import Any

from issuer.context import IssuerContext, NotFound, Tenant
from issuer.credential_type import CredentialType, load_credential_type
from issuer.deferred import DeferredDesk, DeferredRequest
from issuer.offers import CreatedOffer, OfferDesk
from issuer.publishing import StatusPublisher
from issuer.records import CredentialRecord, CredentialRecords, StatusChange
from issuer.storage import ApiKeyRecord
from ssi.errors import SsiError

__all__ = ["AdminDesk", "actor_for_api_key", "actor_for_user"]

_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,120}$")


def actor_for_api_key(key_id: str) -> str:
    """The audit actor of a request made with an API key."""
    return f"apikey:{key_id}"


def actor_for_user(account: str) -> str:
    """The audit actor of a staff member signed in to the web UI (account names are identifiers, not names)."""
    if not _ACCOUNT.match(account):
        raise ValueError("an account name is an identifier (letters, digits, . _ @ + -)")
    return f"user:{account}"


class AdminDesk:
    def __init__(
        self,
        context: IssuerContext,
        *,
        offers: OfferDesk,
        records: CredentialRecords,
        deferred: DeferredDesk,
        publisher: StatusPublisher,
    ) -> None:
        self.context = context
        self._offers = offers
        self._records = records
        self._deferred = deferred
        self._publisher = publisher

    # -- offers --------------------------------------------------------------------------------------------------

    def create_offer(
        self,
        tenant: Tenant,
        type_id: str,
        claims: Any,
        *,
        actor: str,
        tx_code: bool = True,
        tx_code_length: int | None = None,
        subject: tuple[str, str] | None = None,
    ) -> CreatedOffer:
        return self._offers.create(
            tenant, type_id, claims, tx_code=tx_code, tx_code_length=tx_code_length, subject=subject, actor=actor
        )

    def offers(
        self, tenant: Tenant, *, state: str | None = None, type_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        return self._offers.list(tenant, state=state, type_id=type_id, limit=limit, offset=offset)

    def offer(self, tenant: Tenant, offer_id: str) -> dict[str, Any]:
        return self._offers.status(tenant, offer_id)

    # -- credentials and their status ----------------------------------------------------------------------------

    def credentials(
        self,
        tenant: Tenant,
        *,
        type_id: str | None = None,
        status: str | None = None,
        offer_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CredentialRecord]:
        return self._records.list(tenant, type_id=type_id, status=status, offer_id=offer_id, limit=limit, offset=offset)

    def credential(self, tenant: Tenant, credential_id: str) -> CredentialRecord:
        return self._records.get(tenant, credential_id)

    def change_status(self, tenant: Tenant, credential_id: str, action: str, *, actor: str) -> StatusChange:
        """``action``: ``revoke``, ``suspend`` or ``unsuspend`` (published within the publication window)."""
        return self._records.change(tenant, credential_id, action, actor=actor)

    def change_subject_status(self, tenant: Tenant, kind: str, value: str, action: str, *, actor: str) -> StatusChange:
        """The action on every credential issued for the subject ``value`` of ``kind`` (e.g. ``license_plate``)."""
        return self._records.change_subject(tenant, kind, value, action, actor=actor)

    def credentials_of_subject(self, tenant: Tenant, kind: str, value: str) -> list[CredentialRecord]:
        return self._records.by_subject(tenant, kind, value)

    # -- deferred issuance ---------------------------------------------------------------------------------------

    def deferred_requests(self, tenant: Tenant, *, state: str | None = "pending") -> list[DeferredRequest]:
        return self._deferred.requests(tenant, state=state)

    def approve(self, tenant: Tenant, offer_id: str, *, actor: str) -> DeferredRequest:
        return self._deferred.approve(tenant, offer_id, actor=actor)

    def reject(self, tenant: Tenant, offer_id: str, *, actor: str) -> DeferredRequest:
        return self._deferred.reject(tenant, offer_id, actor=actor)

    # -- credential types ----------------------------------------------------------------------------------------

    def credential_types(self, tenant: Tenant) -> dict[str, CredentialType]:
        return self.context.storage.credential_types(tenant.authority.id)

    def put_type(self, tenant: Tenant, document: Any, *, actor: str, type_id: str | None = None) -> CredentialType:
        """Add or replace a type (its JSON document, :mod:`issuer.credential_type`)."""
        ctype = load_credential_type(document)
        if type_id is not None and ctype.id != type_id:
            raise SsiError("the document's id is not the id in the URL", reason="type_id_mismatch")
        ctx = self.context
        with ctx.storage.transaction() as conn:
            ctx.storage.put_credential_type(tenant.authority.id, ctype, conn=conn)
            ctx.audit_append(
                conn, actor=actor, tenant=tenant, action="credential_type.put", subjects=[f"type:{ctype.id}"]
            )
        ctx.forget_tenant(tenant.authority.slug)
        return ctype

    # -- API keys ------------------------------------------------------------------------------------------------

    def api_keys(self, tenant: Tenant) -> list[ApiKeyRecord]:
        return self.context.storage.api_keys(tenant.authority.id)

    def create_api_key(self, tenant: Tenant, label: str, *, actor: str) -> tuple[str, str]:
        """``(key id, key)``: the key is returned this once and stored hashed."""
        if not isinstance(label, str) or not 0 < len(label) <= 100:
            raise SsiError("a key label is 1-100 characters", reason="bad_label")
        ctx = self.context
        with ctx.storage.transaction() as conn:
            key = ctx.storage.create_api_key(tenant.authority.id, label, conn=conn)
            key_id = key.split("_")[1]
            ctx.audit_append(conn, actor=actor, tenant=tenant, action="api_key.create", subjects=[f"apikey:{key_id}"])
        return key_id, key

    def revoke_api_key(self, tenant: Tenant, key_id: str, *, actor: str) -> None:
        ctx = self.context
        with ctx.storage.transaction() as conn:
            if not ctx.storage.revoke_api_key(tenant.authority.id, key_id, conn=conn):
                raise NotFound("no such live API key at this authority")
            ctx.audit_append(conn, actor=actor, tenant=tenant, action="api_key.revoke", subjects=[f"apikey:{key_id}"])

    # -- status lists and audit ----------------------------------------------------------------------------------

    def status_lists(self, tenant: Tenant) -> list[dict[str, Any]]:
        return self._publisher.lists(tenant)

    def audit_entries(self, tenant: Tenant, *, after_seq: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """This authority's audit entries after ``after_seq``, oldest first (the chain itself spans all
        authorities; ``verify_audit`` checks all of it)."""
        out: list[dict[str, Any]] = []
        cursor = after_seq
        limit = max(1, min(limit, 1000))
        while len(out) < limit:
            batch = self.context.audit.entries(after_seq=cursor, limit=1000)
            if not batch:
                break
            for entry in batch:
                if entry.authority == tenant.authority.slug:
                    out.append(entry.to_dict())
                    if len(out) == limit:
                        break
            cursor = batch[-1].seq
        return out

    def verify_audit(self) -> dict[str, Any]:
        return self.context.audit.verify().to_dict()
