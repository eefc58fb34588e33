"""Deferred issuance (OpenID4VCI 1.0 §8.3, §9) with a clerk's approval, and the Notification Endpoint (§11)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from issuer_support import SAMPLE_CLAIMS
from protocol_support import InProcessWallet

from issuer import Issuer
from issuer import tables as t
from issuer.context import NotFound
from issuer.deferred import DecisionRefused
from ssi.clock import FrozenClock
from ssi.errors import (
    CredentialRequestDenied,
    InvalidCredentialRequest,
    InvalidNotificationId,
    InvalidNotificationRequest,
    InvalidToken,
    InvalidTransactionId,
)
from ssi.keys import SoftwareSigner
from ssi.oid4vci import CredentialResponse, DeferredResponse, TokenResponse

APPROVAL_TYPE = "dienstausweis_geprueft"


@pytest.fixture
def approval(issuer: Issuer, wallet: InProcessWallet) -> str:
    document: dict[str, Any] = dict(wallet.tenant.types["dienstausweis"].document)
    document.update(id=APPROVAL_TYPE, requires_approval=True)
    issuer.admin.put_type(wallet.tenant, document, actor="apikey:test")
    return APPROVAL_TYPE


def _deferred(wallet: InProcessWallet, approval: str, keys: int = 2) -> tuple[str, TokenResponse, DeferredResponse]:
    offer = wallet.issuer.offers.create(wallet.tenant, approval, SAMPLE_CLAIMS["dienstausweis"], tx_code=False)
    token = wallet.token(offer)
    answer = wallet.credential(token, wallet.request_body([SoftwareSigner.generate() for _ in range(keys)], approval))
    assert isinstance(answer, DeferredResponse)
    return offer.offer_id, token, answer


def _poll(wallet: InProcessWallet, token: TokenResponse, transaction_id: str) -> CredentialResponse | DeferredResponse:
    tenant = wallet.tenant
    url = f"{tenant.credential_issuer}/deferred-credential"
    return wallet.issuer.deferred.poll(
        tenant,
        {"transaction_id": transaction_id},
        f"DPoP {token.access_token}",
        dpop_headers=wallet.dpop(url, token=token.access_token),
        url=url,
    )


def _notify(wallet: InProcessWallet, token: TokenResponse, body: Any) -> None:
    tenant = wallet.tenant
    url = f"{tenant.credential_issuer}/notification"
    wallet.issuer.notifications.notify(
        tenant, body, f"DPoP {token.access_token}", dpop_headers=wallet.dpop(url, token=token.access_token), url=url
    )


def test_section_8_3_deferred_answer_and_9_2_pending(issuer: Issuer, wallet: InProcessWallet, approval: str) -> None:
    """§8.3: 202 with transaction_id and a positive interval, never credentials; §9.2: 202 again while pending,
    with the same transaction_id."""
    offer_id, token, answer = _deferred(wallet, approval)
    body = answer.to_json()
    assert set(body) == {"transaction_id", "interval"} and body["interval"] == 30
    assert len(body["transaction_id"]) >= 43
    pending = _poll(wallet, token, answer.transaction_id)
    assert isinstance(pending, DeferredResponse) and pending.transaction_id == answer.transaction_id
    assert issuer.admin.offer(wallet.tenant, offer_id)["state"] == "pending"
    (request,) = issuer.admin.deferred_requests(wallet.tenant)
    assert request.offer_id == offer_id and request.holder_keys == 2
    with issuer.context.storage.engine.connect() as conn:  # only the transaction id's hash is stored
        stored = conn.execute(sa.select(t.deferred_request.c.transaction_sha256)).scalar_one()
    assert answer.transaction_id not in stored


def test_section_9_approved_request_delivers_once(issuer: Issuer, wallet: InProcessWallet, approval: str) -> None:
    """After approval the poll gets the credentials (one per key, bound to it); §9.1 "MUST invalidate the
    transaction_id after the Credential ... has been obtained"."""
    offer_id, token, answer = _deferred(wallet, approval, keys=2)
    issuer.admin.approve(wallet.tenant, offer_id, actor="apikey:clerk")
    with pytest.raises(DecisionRefused):
        issuer.admin.approve(wallet.tenant, offer_id, actor="apikey:clerk")
    delivered = _poll(wallet, token, answer.transaction_id)
    assert isinstance(delivered, CredentialResponse) and len(delivered.credentials) == 2
    assert delivered.notification_id is not None
    record = issuer.context.storage.offer(offer_id)
    assert record is not None and record.state == "delivered" and not record.has_claims
    with pytest.raises(InvalidTransactionId):
        _poll(wallet, token, answer.transaction_id)
    assert {r.offer_id for r in issuer.admin.credentials(wallet.tenant)} == {offer_id}
    actions = [e["action"] for e in issuer.admin.audit_entries(wallet.tenant)]
    assert actions[-3:] == ["credential.defer", "deferred.approve", "credential.issue"]


def test_section_9_3_rejected_request_is_denied_and_claims_deleted(
    issuer: Issuer, wallet: InProcessWallet, approval: str
) -> None:
    offer_id, token, answer = _deferred(wallet, approval)
    issuer.admin.reject(wallet.tenant, offer_id, actor="user:clerk")
    with pytest.raises(CredentialRequestDenied):
        _poll(wallet, token, answer.transaction_id)
    record = issuer.context.storage.offer(offer_id)
    assert record is not None and record.state == "denied" and not record.has_claims
    with pytest.raises(DecisionRefused):
        issuer.admin.approve(wallet.tenant, offer_id, actor="user:clerk")


def test_section_9_3_invalid_transaction_id(issuer: Issuer, wallet: InProcessWallet, approval: str) -> None:
    """A transaction this token did not start (another wallet's, made up) is invalid_transaction_id; a missing one
    is a malformed request."""
    _, token_a, _answer_a = _deferred(wallet, approval)
    _, token_b, answer_b = _deferred(wallet, approval)
    with pytest.raises(InvalidTransactionId):
        _poll(wallet, token_a, answer_b.transaction_id)
    with pytest.raises(InvalidTransactionId):
        _poll(wallet, token_a, "made-up")
    with pytest.raises(InvalidCredentialRequest):
        tenant = wallet.tenant
        url = f"{tenant.credential_issuer}/deferred-credential"
        issuer.deferred.poll(
            tenant,
            {},
            f"DPoP {token_a.access_token}",
            dpop_headers=wallet.dpop(url, token=token_a.access_token),
            url=url,
        )
    assert isinstance(_poll(wallet, token_b, answer_b.transaction_id), DeferredResponse)


def test_deferred_token_lives_long_enough_but_not_for_the_credential_endpoint(
    issuer: Issuer, wallet: InProcessWallet, approval: str, clock: FrozenClock
) -> None:
    """The access token stays valid at the deferred endpoint for as long as the request may wait (§9: "an Access
    Token that is valid for the issuance"), but the credential endpoint no longer takes it."""
    offer_id, token, answer = _deferred(wallet, approval)
    with pytest.raises(InvalidToken):
        wallet.credential(token, wallet.request_body([SoftwareSigner.generate()], approval))
    clock.advance(3 * 86400)  # far beyond the 300 s token lifetime
    issuer.admin.approve(wallet.tenant, offer_id, actor="apikey:clerk")
    assert isinstance(_poll(wallet, token, answer.transaction_id), CredentialResponse)


def test_expired_deferred_request_is_denied(
    issuer: Issuer, wallet: InProcessWallet, approval: str, clock: FrozenClock
) -> None:
    offer_id, token, answer = _deferred(wallet, approval)
    clock.advance(issuer.context.settings.deferred_ttl + 1)
    issuer.purge()
    with pytest.raises((CredentialRequestDenied, InvalidToken)):
        _poll(wallet, token, answer.transaction_id)
    with pytest.raises(DecisionRefused):
        issuer.admin.approve(wallet.tenant, offer_id, actor="apikey:clerk")
    record = issuer.context.storage.offer(offer_id)
    assert record is not None and record.state == "expired" and not record.has_claims


def test_decisions_are_per_authority(issuer: Issuer, wallet: InProcessWallet, approval: str) -> None:
    offer_id, _, _ = _deferred(wallet, approval)
    other = issuer.context.storage.create_authority("bonn", "Bonn", "Bonn")
    issuer.context.forget_tenant("bonn")
    with pytest.raises(NotFound):
        issuer.admin.approve(issuer.context.tenant(other.slug), offer_id, actor="apikey:other")


# -- notifications (§11) ---------------------------------------------------------------------------------------------


def _delivered(wallet: InProcessWallet) -> tuple[TokenResponse, CredentialResponse]:
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    response = wallet.credential(token, wallet.request_body([SoftwareSigner.generate(), SoftwareSigner.generate()]))
    assert isinstance(response, CredentialResponse) and response.notification_id
    return token, response


def test_section_11_notification_recorded_per_credential(issuer: Issuer, wallet: InProcessWallet) -> None:
    """The event is recorded with every credential of the response; identical repeats succeed and change nothing
    ("The notification from the Wallet is idempotent"); a later different event replaces it."""
    token, response = _delivered(wallet)
    body = {"notification_id": response.notification_id, "event": "credential_accepted", "event_description": "ok"}
    _notify(wallet, token, body)
    _notify(wallet, token, body)
    events = {r.notification_event for r in issuer.admin.credentials(wallet.tenant)}
    assert events == {"credential_accepted"}
    _notify(wallet, token, {"notification_id": response.notification_id, "event": "credential_deleted"})
    assert {r.notification_event for r in issuer.admin.credentials(wallet.tenant)} == {"credential_deleted"}
    actions = [e["action"] for e in issuer.admin.audit_entries(wallet.tenant)]
    assert actions.count("notification.credential_accepted") == 1 and actions[-1] == "notification.credential_deleted"


def test_section_11_3_notification_errors(issuer: Issuer, wallet: InProcessWallet) -> None:
    token, response = _delivered(wallet)
    other_token, other = _delivered(wallet)
    with pytest.raises(InvalidNotificationId):  # another response's id
        _notify(wallet, token, {"notification_id": other.notification_id, "event": "credential_accepted"})
    for body in (
        {"notification_id": response.notification_id},
        {"notification_id": response.notification_id, "event": "credential_stored"},
        {"notification_id": response.notification_id, "event": "credential_failure", "event_description": 'a"b'},
        {"event": "credential_accepted"},
        ["credential_accepted"],
    ):
        with pytest.raises(InvalidNotificationRequest):
            _notify(wallet, token, body)
    with pytest.raises(InvalidToken):
        wallet.issuer.notifications.notify(
            wallet.tenant,
            {"notification_id": response.notification_id, "event": "credential_accepted"},
            "DPoP not-a-token",
            dpop_headers=[],
            url=f"{wallet.tenant.credential_issuer}/notification",
        )
    assert other_token.access_token != token.access_token
