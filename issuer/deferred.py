"""Deferred issuance (OpenID4VCI 1.0 §9): the Deferred Credential Endpoint and the clerk's decision.

A credential type with ``"requires_approval": true`` answers the credential request with 202, a ``transaction_id``
and an ``interval`` (:meth:`issuer.credentials.CredentialEndpoint._defer`): the offer waits as ``pending`` with its
claim values and the holder keys of the request, until

- a clerk **approves** (:meth:`DeferredDesk.approve`): ``pending`` → ``approved``; the next poll signs and delivers
  (the same delivery as the credential endpoint: one transaction, exactly once), or
- a clerk **rejects** (:meth:`DeferredDesk.reject`): ``denied``, the claim values deleted; polls get
  ``credential_request_denied`` (§9.3: "the Credential Issuer can no longer issue the credential(s)"), or
- the request expires (``deferred_ttl``): ``credential_request_denied`` as well.

The wallet polls with the access token of the original request (§9: "an Access Token that is valid for the issuance
of the Credential(s) previously requested"), which lives as long as the request may wait; only the SHA-256 of the
``transaction_id`` is stored. §9.3 ``invalid_transaction_id``: a transaction this token did not start, or one whose
credentials the wallet obtained already ("MUST invalidate the ``transaction_id`` after the Credential for which it was
meant has been obtained").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from issuer import tables as t
from issuer.context import IssuerContext, NotFound, Tenant
from issuer.credentials import CredentialEndpoint, Holder
from ssi.errors import CredentialRequestDenied, InvalidTransactionId, SsiError
from ssi.oid4vci import CredentialResponse, DeferredResponse, parse_deferred_credential_request

__all__ = ["DeferredDesk", "DeferredEndpoint", "DeferredRequest"]


@dataclass(frozen=True, slots=True)
class DeferredRequest:
    """A request as the clerk sees it (no claim values: those are the offer's, shown where the clerk made it)."""

    offer_id: str
    type_id: str
    state: str
    created_at: float
    expires_at: float
    holder_keys: int
    decided_at: float | None
    decided_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "offer_id": self.offer_id,
            "credential_configuration_id": self.type_id,
            "state": self.state,
            "created_at": int(self.created_at),
            "expires_at": int(self.expires_at),
            "holder_keys": self.holder_keys,
            "decided_at": None if self.decided_at is None else int(self.decided_at),
            "decided_by": self.decided_by,
        }


class DeferredEndpoint:
    """``POST {credential issuer}/deferred_credential``."""

    def __init__(self, context: IssuerContext, credentials: CredentialEndpoint) -> None:
        self.context = context
        self.credentials = credentials

    def poll(
        self, tenant: Tenant, body: Any, authorization: str | None, *, dpop_headers: list[str], url: str
    ) -> CredentialResponse | DeferredResponse:
        ctx = self.context
        presented, grant, _ = self.credentials.authorize(
            tenant, authorization, dpop_headers=dpop_headers, url=url, allow_spent=True
        )
        transaction_id = parse_deferred_credential_request(body)
        digest = hashlib.sha256(transaction_id.encode("utf-8")).hexdigest()
        if grant.transaction is None or grant.transaction != digest:
            raise InvalidTransactionId("this transaction_id was not issued for this access token", reason="unknown")
        dr = t.deferred_request
        with ctx.storage.engine.connect() as conn:
            row = conn.execute(
                sa.select(dr).where(dr.c.transaction_sha256 == digest, dr.c.authority_id == tenant.authority.id)
            ).first()
        if row is None or row.state == "delivered":
            raise InvalidTransactionId("the credentials of this transaction were obtained already", reason="used")
        if row.state in ("rejected", "expired") or row.expires_at <= ctx.clock():
            raise CredentialRequestDenied("the authority did not issue this credential", reason=f"deferred_{row.state}")
        if row.state == "pending":
            return DeferredResponse(transaction_id, ctx.settings.deferred_interval)
        claims = ctx.storage.offer_claims(row.offer_id, "approved")
        if claims is None:
            raise CredentialRequestDenied("the offer is no longer open", reason="offer_closed")
        holders = [Holder.from_jwk(jwk) for jwk in json.loads(row.holder_jwks)]

        def finish_request(conn: Connection) -> bool:
            return (
                conn.execute(
                    sa.update(dr)
                    .where(dr.c.offer_id == row.offer_id, dr.c.state == "approved")
                    .values(state="delivered")
                ).rowcount
                == 1
            )

        delivery = self.credentials.deliver(
            tenant, row.type_id, row.offer_id, claims, holders, source_state="approved", within=finish_request
        )
        self.credentials.update_grant(
            presented.token, replace(grant, notification_id=delivery.notification_id, transaction=None)
        )
        return delivery.response()


class DeferredDesk:
    """The clerk's side: list, approve, reject (each decision audited in its transaction)."""

    def __init__(self, context: IssuerContext) -> None:
        self.context = context

    def requests(self, tenant: Tenant, *, state: str | None = "pending", limit: int = 100) -> list[DeferredRequest]:
        dr = t.deferred_request
        query = sa.select(dr).where(dr.c.authority_id == tenant.authority.id)
        if state is not None:
            query = query.where(dr.c.state == state)
        with self.context.storage.engine.connect() as conn:
            rows = conn.execute(query.order_by(dr.c.created_at).limit(max(1, min(limit, 1000)))).all()
        return [_request(row) for row in rows]

    def request(self, tenant: Tenant, offer_id: str) -> DeferredRequest:
        dr = t.deferred_request
        with self.context.storage.engine.connect() as conn:
            row = conn.execute(
                sa.select(dr).where(dr.c.authority_id == tenant.authority.id, dr.c.offer_id == offer_id)
            ).first()
        if row is None:
            raise NotFound("no deferred request for this offer")
        return _request(row)

    def approve(self, tenant: Tenant, offer_id: str, *, actor: str) -> DeferredRequest:
        """``pending`` → ``approved``: the wallet's next poll gets the credentials."""
        return self._decide(tenant, offer_id, approve=True, actor=actor)

    def reject(self, tenant: Tenant, offer_id: str, *, actor: str) -> DeferredRequest:
        """``pending`` → ``rejected``; the offer is ``denied`` and its claim values are deleted."""
        return self._decide(tenant, offer_id, approve=False, actor=actor)

    def _decide(self, tenant: Tenant, offer_id: str, *, approve: bool, actor: str) -> DeferredRequest:
        ctx = self.context
        self.request(tenant, offer_id)  # NotFound for another authority's or an unknown offer
        dr = t.deferred_request
        now = ctx.clock()
        with ctx.storage.engine.begin() as conn:
            changed = conn.execute(
                sa.update(dr)
                .where(
                    dr.c.offer_id == offer_id,
                    dr.c.authority_id == tenant.authority.id,
                    dr.c.state == "pending",
                    dr.c.expires_at > now,
                )
                .values(state="approved" if approve else "rejected", decided_at=now, decided_by=actor[:200])
            ).rowcount
            if changed != 1 or not ctx.storage.decide_offer(conn, offer_id, approve=approve):
                raise DecisionRefused("the request is not pending (decided, delivered or expired)")
            ctx.audit_append(
                conn,
                actor=actor,
                tenant=tenant,
                action="deferred.approve" if approve else "deferred.reject",
                subjects=[f"offer:{offer_id}"],
            )
        return self.request(tenant, offer_id)


class DecisionRefused(SsiError):
    """Only a pending request can be approved or rejected."""

    code = "invalid_request"
    reason = "not_pending"


def _request(row: Any) -> DeferredRequest:
    return DeferredRequest(
        offer_id=row.offer_id,
        type_id=row.type_id,
        state=row.state,
        created_at=row.created_at,
        expires_at=row.expires_at,
        holder_keys=len(json.loads(row.holder_jwks)),
        decided_at=row.decided_at,
        decided_by=row.decided_by,
    )
