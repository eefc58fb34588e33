"""VCDM 2.0 basics (``ssi.vc.check_credential``): one test per rule of §4, the validity period with an injected
clock, and dateTimeStamp parsing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.clock import FrozenClock
from ssi.errors import VerifiableCredentialError
from ssi.vc import CREDENTIALS_V2_CONTEXT, check_credential, format_datetime_stamp, parse_datetime_stamp

NOW = FrozenClock(1795564800)  # 2026-11-25T00:00:00Z
CREDENTIAL: dict[str, Any] = {
    "@context": [CREDENTIALS_V2_CONTEXT, "https://ns.govssi.de/credentials/v1"],
    "type": ["VerifiableCredential", "AgeCredential"],
    "issuer": "did:web:stadt-koeln.example",
    "validFrom": "2026-11-23T00:00:00Z",
    "validUntil": "2026-11-30T00:00:00+01:00",
    "credentialSubject": {"age_over_18": True},
}


def _reason(credential: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(VerifiableCredentialError) as raised:
        check_credential(credential, clock=NOW, **kwargs)
    return raised.value.reason


def test_a_valid_credential() -> None:
    check_credential(CREDENTIAL, clock=NOW)
    check_credential({**CREDENTIAL, "issuer": {"id": "did:web:x.example", "name": "Stadt"}}, clock=NOW)
    check_credential({**CREDENTIAL, "credentialSubject": [{"a": 1}, {"b": 2}]}, clock=NOW)


@pytest.mark.parametrize(
    "context",
    [
        ["https://www.w3.org/2018/credentials/v1"],  # VCDM 1.1
        ["https://ns.govssi.de/credentials/v1", CREDENTIALS_V2_CONTEXT],  # v2 not first
        CREDENTIALS_V2_CONTEXT,  # not a list
        [],
        [CREDENTIALS_V2_CONTEXT, 7],
        [CREDENTIALS_V2_CONTEXT, CREDENTIALS_V2_CONTEXT],  # an ordered *set*
    ],
)
def test_context_rule(context: Any) -> None:
    """§4.3: "an ordered set where the first item is a URL with the value https://www.w3.org/ns/credentials/v2"."""
    assert _reason({**CREDENTIAL, "@context": context}) == "vc_invalid_context"


@pytest.mark.parametrize("types", [["AgeCredential"], [], "AgeCredential", ["VerifiableCredential", 3], None])
def test_type_rule(types: Any) -> None:
    """§4.5: a ``type`` that includes ``VerifiableCredential``."""
    assert _reason({**CREDENTIAL, "type": types}) == "vc_invalid_type"


def test_id_rule() -> None:
    """§4.4: "If present, the value of the id property MUST be a single URL"."""
    assert _reason({**CREDENTIAL, "id": "not a url"}) == "vc_invalid_id"
    check_credential({**CREDENTIAL, "id": "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5"}, clock=NOW)


@pytest.mark.parametrize("issuer", [None, "stadt-koeln", {"name": "no id"}, {"id": 7}, ["did:x:y"]])
def test_issuer_rule(issuer: Any) -> None:
    """§4.7: "either a URL, or an object containing an id property whose value is a URL"."""
    assert _reason({**CREDENTIAL, "issuer": issuer}) == "vc_invalid_issuer"


@pytest.mark.parametrize("subject", [None, {}, [], "did:x:y", [{"a": 1}, "x"]])
def test_credential_subject_rule(subject: Any) -> None:
    """§4.8: ``credentialSubject`` is REQUIRED and holds one or more objects."""
    assert _reason({**CREDENTIAL, "credentialSubject": subject}) == "vc_invalid_subject"


@pytest.mark.parametrize("value", ["2026-11-23", "2026-11-23T00:00:00", "2026-02-30T00:00:00Z", "yesterday", 17])
def test_datetime_stamp_rule(value: Any) -> None:
    """§4.9: validFrom/validUntil are dateTimeStamp values (with a time zone)."""
    assert _reason({**CREDENTIAL, "validFrom": value}) == "vc_invalid_datetime"


def test_validity_period_order_and_clock() -> None:
    """§4.9: validFrom not after validUntil; a verifier checks the period against its (injected) clock."""
    assert _reason({**CREDENTIAL, "validFrom": "2026-12-01T00:00:00Z"}) == "vc_invalid_validity_period"
    assert _reason({**CREDENTIAL, "validFrom": "2026-11-26T00:00:00Z"}) == "vc_not_yet_valid"
    assert _reason({**CREDENTIAL, "validUntil": "2026-11-24T23:59:59Z"}) == "vc_expired"
    check_credential({**CREDENTIAL, "validUntil": "2026-11-24T23:59:59Z"}, clock=NOW, allowed_skew=2)
    check_credential({**CREDENTIAL, "validUntil": "2026-11-24T23:59:59Z"}, clock=NOW, check_validity_period=False)


def test_status_rule() -> None:
    """§4.10: every credentialStatus entry has a ``type``."""
    assert _reason({**CREDENTIAL, "credentialStatus": {"id": "https://x.example/1"}}) == "vc_invalid_status"
    check_credential({**CREDENTIAL, "credentialStatus": [{"type": "BitstringStatusListEntry"}]}, clock=NOW)


def test_not_an_object() -> None:
    assert _reason(["a"]) == "vc_not_object"  # type: ignore[arg-type]


@given(st.integers(0, 4102444800))
def test_datetime_stamp_round_trip(timestamp: int) -> None:
    text = format_datetime_stamp(timestamp)
    assert parse_datetime_stamp(text, "t").timestamp() == timestamp
