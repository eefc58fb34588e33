"""W3C Verifiable Credentials Data Model v2.0: the basic rules of a credential's JSON-LD form (§4) that a securing
mechanism does not check, and the validity period against an injected clock."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ssi.clock import Clock, system_clock
from ssi.errors import VerifiableCredentialError

#: §4.3: "The value of the @context property MUST be an ordered set where the first item is a URL with the value
#: https://www.w3.org/ns/credentials/v2."
CREDENTIALS_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
VERIFIABLE_CREDENTIAL: Final = "VerifiableCredential"
#: XML Schema 1.1 dateTimeStamp (§4.9: "a dateTimeStamp string value"): a dateTime with a time zone.
_DATETIME_STAMP = re.compile(
    r"-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


def _fail(description: str, reason: str) -> VerifiableCredentialError:
    return VerifiableCredentialError(description, reason=reason)


def _is_url(value: object) -> bool:
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    scheme, colon, rest = value.partition(":")
    return bool(colon and rest) and scheme[:1].isalpha() and all(c.isalnum() or c in "+-." for c in scheme)


def parse_datetime_stamp(value: object, name: str) -> datetime:
    """An XML Schema ``dateTimeStamp`` as an aware :class:`datetime` (leap seconds and years beyond 9999 refused)."""
    if not isinstance(value, str) or not _DATETIME_STAMP.fullmatch(value):
        raise _fail(f"{name} must be an XML Schema dateTimeStamp (with a time zone)", "vc_invalid_datetime")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"{name} is not a representable date and time", "vc_invalid_datetime") from None


def format_datetime_stamp(timestamp: float) -> str:
    """Seconds since the epoch as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _types(value: object) -> list[str]:
    items: list[object] = list(value) if isinstance(value, list) else [value]
    types = [t for t in items if isinstance(t, str) and t]
    if not items or len(types) != len(items):
        raise _fail("type must be a string or a list of strings", "vc_invalid_type")
    return types


def check_credential(
    credential: Mapping[str, Any],
    *,
    clock: Clock = system_clock,
    check_validity_period: bool = True,
    allowed_skew: float = 0.0,
) -> None:
    """Check a credential's data model (VCDM 2.0 §4) and, unless told not to, its validity period (§4.9)."""
    if not isinstance(credential, Mapping):
        raise _fail("a credential is a JSON object", "vc_not_object")
    # §4.3 Contexts
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != CREDENTIALS_V2_CONTEXT:
        raise _fail(f"@context must be a list starting with {CREDENTIALS_V2_CONTEXT}", "vc_invalid_context")
    if not all(_is_url(c) or isinstance(c, dict) for c in context[1:]):
        raise _fail("@context items must be URLs or objects", "vc_invalid_context")
    if len({c for c in context if isinstance(c, str)}) != sum(isinstance(c, str) for c in context):
        raise _fail("@context is an ordered set: no URL twice", "vc_invalid_context")
    # §4.4 Identifiers: "If present, the value of the id property MUST be a single URL"
    if "id" in credential and not _is_url(credential["id"]):
        raise _fail("id must be a URL", "vc_invalid_id")
    # §4.5 Types: "Verifiable credential objects MUST have a type specified"; one of them VerifiableCredential
    if VERIFIABLE_CREDENTIAL not in _types(credential.get("type")):
        raise _fail("type must include VerifiableCredential", "vc_invalid_type")
    # §4.7 Issuer: "The value of the issuer property MUST be either a URL, or an object containing an id property
    # whose value is a URL"
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not _is_url(issuer_id):
        raise _fail("issuer must be a URL or an object whose id is a URL", "vc_invalid_issuer")
    # §4.8 Credential Subject: REQUIRED, "a set of objects"
    subject = credential.get("credentialSubject")
    subjects: Sequence[Any] = subject if isinstance(subject, list) else [subject]
    if not subjects or not all(isinstance(s, dict) and s for s in subjects):
        raise _fail("credentialSubject must be one or more non-empty objects", "vc_invalid_subject")
    # §4.9 Validity Period
    valid_from = parse_datetime_stamp(credential["validFrom"], "validFrom") if "validFrom" in credential else None
    valid_until = parse_datetime_stamp(credential["validUntil"], "validUntil") if "validUntil" in credential else None
    if valid_from is not None and valid_until is not None and valid_from > valid_until:
        # "the validFrom value MUST express a datetime that is temporally the same or earlier than the datetime
        # expressed by the validUntil value"
        raise _fail("validFrom is after validUntil", "vc_invalid_validity_period")
    # §4.10 Status: "If present, the value of the credentialStatus property MUST include [...] type"
    if "credentialStatus" in credential:
        status = credential["credentialStatus"]
        for entry in status if isinstance(status, list) else [status]:
            if not isinstance(entry, dict) or "type" not in entry:
                raise _fail("every credentialStatus entry needs a type", "vc_invalid_status")
    if check_validity_period:
        now = clock()
        if valid_from is not None and now + allowed_skew < valid_from.timestamp():
            raise _fail("the credential is not valid yet (validFrom)", "vc_not_yet_valid")
        if valid_until is not None and now - allowed_skew > valid_until.timestamp():
            raise _fail("the credential has expired (validUntil)", "vc_expired")
