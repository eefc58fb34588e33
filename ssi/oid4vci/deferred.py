"""Deferred issuance (OpenID4VCI 1.0 §8.3 deferred response, §9 Deferred Credential Endpoint).

- §8.3: an issuer that cannot issue at once "MUST return a response with a ``transaction_id`` parameter" and "MUST
  also use the HTTP status code 202"; ``interval`` is "REQUIRED if ``transaction_id`` is present ... a positive number
  that represents the minimum amount of time in seconds that the Wallet SHOULD wait";
- §9.1: the Deferred Credential Request carries ``transaction_id`` (REQUIRED) and optionally
  ``credential_response_encryption``; "The Credential Issuer MUST ignore any unrecognized parameters";
- §9.2: while still pending the answer is 202 with the same ``transaction_id`` and an ``interval``; once issued, 200
  with ``credentials`` (and optionally ``notification_id``) like §8.3;
- §9.3: ``invalid_transaction_id`` for a transaction the issuer did not start "or it was already used to obtain a
  Credential"; ``credential_request_denied`` when the issuer "can no longer issue the credential(s)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssi.errors import InvalidCredentialRequest, InvalidEncryptionParameters
from ssi.oid4vci._common import check_string

__all__ = ["DeferredResponse", "parse_deferred_credential_request"]

#: Longest ``transaction_id`` accepted (the issuer's own are 43 characters).
MAX_TRANSACTION_ID = 512


@dataclass(frozen=True, slots=True)
class DeferredResponse:
    """§8.3 / §9.2 (HTTP 202): ``transaction_id`` and ``interval`` — and never ``credentials``."""

    transaction_id: str
    interval: float

    def __post_init__(self) -> None:
        if not self.transaction_id:
            raise ValueError("transaction_id must be a non-empty string")
        if isinstance(self.interval, bool) or not math.isfinite(self.interval) or self.interval <= 0:
            raise ValueError("interval must be a positive number (§8.3)")

    def to_json(self) -> dict[str, Any]:
        interval: float | int = int(self.interval) if float(self.interval).is_integer() else self.interval
        return {"transaction_id": self.transaction_id, "interval": interval}


def parse_deferred_credential_request(body: Any) -> str:
    """The ``transaction_id`` of a §9.1 request (``invalid_credential_request`` when missing or malformed).

    ``credential_response_encryption`` is refused with ``invalid_encryption_parameters`` by an issuer that offers no
    response encryption (as for the Credential Request); other unknown parameters are ignored (§9.1).
    """
    if not isinstance(body, Mapping):
        raise InvalidCredentialRequest(
            "the deferred credential request must be a JSON object", reason="malformed_request"
        )
    if "credential_response_encryption" in body:
        raise InvalidEncryptionParameters(
            "this issuer does not encrypt credential responses", reason="response_encryption_unsupported"
        )
    return check_string(
        body.get("transaction_id"), "transaction_id", max_length=MAX_TRANSACTION_ID, error=InvalidCredentialRequest
    )
