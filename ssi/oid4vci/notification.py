"""Notification Request (OpenID4VCI 1.0 §11.1) — what a wallet tells the issuer after a credential response.

- ``notification_id``: REQUIRED, the string "received in the Credential Response or Deferred Credential Response";
- ``event``: REQUIRED, "a case sensitive string whose value is either ``credential_accepted``, ``credential_failure``,
  or ``credential_deleted``" (accepted: stored; deleted: "the unsuccessful Credential issuance was caused by a user
  action"; failure: "all other unsuccessful cases");
- ``event_description``: OPTIONAL, ASCII without ``"`` and ``\\`` (``%x20-21 / %x23-5B / %x5D-7E``);
- "The Credential Issuer MUST ignore any unrecognized parameters."
Errors (§11.3): ``invalid_notification_request`` for a malformed request, ``invalid_notification_id`` (checked by
the issuer against what it issued).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssi.errors import InvalidNotificationRequest
from ssi.oid4vci._common import check_string

__all__ = ["NOTIFICATION_EVENTS", "NotificationRequest", "parse_notification_request"]

NOTIFICATION_EVENTS = ("credential_accepted", "credential_failure", "credential_deleted")
MAX_NOTIFICATION_ID = 512
MAX_EVENT_DESCRIPTION = 1000
_DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    notification_id: str
    event: str
    event_description: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"notification_id": self.notification_id, "event": self.event}
        if self.event_description is not None:
            out["event_description"] = self.event_description
        return out


def parse_notification_request(body: Any) -> NotificationRequest:
    """Check a Notification Request by §11.1 (``invalid_notification_request`` on any violation)."""
    if not isinstance(body, Mapping):
        raise InvalidNotificationRequest("the notification request must be a JSON object", reason="malformed_request")
    notification_id = check_string(
        body.get("notification_id"),
        "notification_id",
        max_length=MAX_NOTIFICATION_ID,
        error=InvalidNotificationRequest,
    )
    event = body.get("event")
    if event not in NOTIFICATION_EVENTS:
        raise InvalidNotificationRequest(
            "event must be credential_accepted, credential_failure or credential_deleted", reason="unknown_event"
        )
    description = body.get("event_description")
    if description is not None and (
        not isinstance(description, str)
        or len(description) > MAX_EVENT_DESCRIPTION
        or not _DESCRIPTION.fullmatch(description)
    ):
        raise InvalidNotificationRequest(
            "event_description must be ASCII text without quotes or backslashes", reason="malformed_event_description"
        )
    return NotificationRequest(notification_id, str(event), description)
