"""OpenID4VCI 1.0 §8.3/§9 deferred messages and §11.1 Notification Requests (ssi.oid4vci.deferred / .notification)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.errors import InvalidCredentialRequest, InvalidEncryptionParameters, InvalidNotificationRequest, SsiError
from ssi.oid4vci import (
    NOTIFICATION_EVENTS,
    DeferredResponse,
    NotificationRequest,
    parse_deferred_credential_request,
    parse_notification_request,
)


def test_section_8_3_deferred_response_has_transaction_id_and_interval_only() -> None:
    """§8.3: ``transaction_id`` with ``interval`` ("REQUIRED if transaction_id is present ... a positive number"),
    and ``credentials`` "MUST NOT be used if the transaction_id parameter is present"."""
    assert DeferredResponse("8xLOxBtZp8", 3600).to_json() == {"transaction_id": "8xLOxBtZp8", "interval": 3600}
    assert DeferredResponse("t", 0.5).to_json()["interval"] == 0.5
    for interval in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            DeferredResponse("t", interval)
    with pytest.raises(ValueError):
        DeferredResponse("", 5)


def test_section_9_1_deferred_request() -> None:
    """§9.1: ``transaction_id`` REQUIRED; unrecognised parameters ignored; response encryption not offered here."""
    assert parse_deferred_credential_request({"transaction_id": "8xLOxBtZp8", "x": 1}) == "8xLOxBtZp8"
    for body in ({}, {"transaction_id": ""}, {"transaction_id": 5}, {"transaction_id": "a" * 513}, [], "x"):
        with pytest.raises(InvalidCredentialRequest):
            parse_deferred_credential_request(body)
    with pytest.raises(InvalidEncryptionParameters):
        parse_deferred_credential_request({"transaction_id": "t", "credential_response_encryption": {}})


def test_section_11_1_notification_request() -> None:
    """§11.1: notification_id and event REQUIRED, event one of three case-sensitive values, event_description in
    %x20-21 / %x23-5B / %x5D-7E; unknown parameters ignored."""
    parsed = parse_notification_request(
        {"notification_id": "3fwe98js", "event": "credential_failure", "event_description": "Out of storage.", "z": 1}
    )
    assert parsed == NotificationRequest("3fwe98js", "credential_failure", "Out of storage.")
    assert parsed.to_json()["event_description"] == "Out of storage."
    assert NOTIFICATION_EVENTS == ("credential_accepted", "credential_failure", "credential_deleted")
    for body in (
        {"event": "credential_accepted"},
        {"notification_id": "n", "event": "Credential_Accepted"},
        {"notification_id": "n", "event": "credential_accepted", "event_description": 'quote"d'},
        {"notification_id": "n", "event": "credential_accepted", "event_description": "back\\slash"},
        {"notification_id": "n", "event": "credential_accepted", "event_description": "umlaut ä"},
        {"notification_id": 7, "event": "credential_accepted"},
    ):
        with pytest.raises(InvalidNotificationRequest):
            parse_notification_request(body)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=15), c, max_size=4),
        max_leaves=12,
    )
)
def test_parsers_take_any_json_and_answer_or_refuse(value: Any) -> None:
    """Arbitrary JSON ends in a parsed message or an error of the hierarchy, never another exception."""
    for parse in (parse_deferred_credential_request, parse_notification_request):
        with contextlib.suppress(SsiError):
            parse(value)
