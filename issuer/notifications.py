"""The Notification Endpoint (OpenID4VCI 1.0 §11): the wallet reports what became of a credential response —
``credential_accepted`` (stored), ``credential_deleted`` (the user declined during issuance), ``credential_failure``.

- The request needs the access token the credentials were issued to (§11: "a valid Access Token issued at the Token
  Endpoint"); the token stays valid here after it was spent at the credential endpoint (§11: the issuer "MUST ensure
  the Access Token ... is valid at the Notification Endpoint").
- ``notification_id`` must be the one this token's credential response carried, else ``invalid_notification_id``
  (§11.3); a malformed request is ``invalid_notification_request``.
- The event is recorded with the issuance (so with each of its credentials) and in the audit log; the
  ``event_description`` is not stored (free text from outside). "The notification from the Wallet is idempotent": a
  repeated identical notification changes nothing and succeeds; a different later event replaces the earlier one.
- Success is 204 No Content ("Use of the HTTP status code 204 (No Content) is RECOMMENDED").
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from issuer import tables as t
from issuer.context import IssuerContext, Tenant
from issuer.credentials import CredentialEndpoint
from ssi.errors import InvalidNotificationId
from ssi.oid4vci import NotificationRequest, parse_notification_request

__all__ = ["NotificationEndpoint"]


class NotificationEndpoint:
    """``POST {credential issuer}/notification``."""

    def __init__(self, context: IssuerContext, credentials: CredentialEndpoint) -> None:
        self.context = context
        self.credentials = credentials

    def notify(
        self, tenant: Tenant, body: Any, authorization: str | None, *, dpop_headers: list[str], url: str
    ) -> NotificationRequest:
        ctx = self.context
        _, grant, _ = self.credentials.authorize(
            tenant, authorization, dpop_headers=dpop_headers, url=url, allow_spent=True
        )
        request = parse_notification_request(body)
        if grant.notification_id is None or request.notification_id != grant.notification_id:
            raise InvalidNotificationId("this notification_id was not issued to this access token", reason="unknown")
        issuance = t.issuance
        with ctx.storage.engine.begin() as conn:
            changed = conn.execute(
                sa.update(issuance)
                .where(
                    issuance.c.id == request.notification_id,
                    issuance.c.authority_id == tenant.authority.id,
                    sa.or_(issuance.c.notification_event.is_(None), issuance.c.notification_event != request.event),
                )
                .values(notification_event=request.event, notified_at=ctx.clock())
            ).rowcount
            if changed:
                ctx.audit_append(
                    conn,
                    actor="wallet",
                    tenant=tenant,
                    action=f"notification.{request.event}",
                    subjects=[f"issuance:{request.notification_id}"],
                )
        return request
