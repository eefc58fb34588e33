"""The wallet's OpenID4VCI client against a spec-faithful fake issuer (tests/wallet_sim/fake_issuer.py) for what the
real issuer cannot be made to do on demand or must never do (the real issuer's deferred issuance and notifications are
tested in test_issuance_e2e.py): deferred issuance pending for several polls or denied (§9), notifications per
request (§11), offers of several configurations, key attestations (Appendix D, HAIP 1.0 §4.5.1), the attestation
proof type (F.3), wallet attestations at the token endpoint (HAIP §4.4 with the challenge of the attestation-based
client auth draft §6), ``invalid_nonce`` (§8.3.1.2), ``use_dpop_nonce`` at the credential endpoint (RFC 9449 §9),
server errors and tampered credentials."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_issuer import CLAIMS, FakeIssuer, serve

from ssi.clock import FrozenClock
from ssi.encoding import b64url_decode
from ssi.errors import CredentialError, IssuerError, WalletError
from wallet_sim.provider import WalletProvider
from wallet_sim.wallet import PendingIssuance, ReceivedCredentials, Wallet


@pytest.fixture
def fake_factory() -> Iterator[Callable[..., FakeIssuer]]:
    running: list[Iterator[FakeIssuer]] = []

    def start(**knobs: Any) -> FakeIssuer:
        generator = serve(FakeIssuer(**knobs))
        running.append(generator)
        return next(generator)

    yield start
    for generator in running:
        next(generator, None)


def receive(wallet: Wallet, fake: FakeIssuer) -> ReceivedCredentials | PendingIssuance:
    (result,) = wallet.request(wallet.resolve_offer(fake.offer()), "493536")
    return result


def assert_untouched(wallet: Wallet) -> None:
    assert wallet.credentials() == [] and wallet.pending() == [] and wallet.secure_element.key_count() == 0


def test_notification_accepted(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    """§11.1: ``credential_accepted`` "when the Credentials were successfully stored in the Wallet"."""
    fake = fake_factory()
    received = receive(wallet, fake)
    assert isinstance(received, ReceivedCredentials)
    assert fake.notifications == []  # nothing before the user decided
    wallet.accept(received)
    assert fake.notifications == [{"notification_id": "n-1", "event": "credential_accepted"}]


def test_notification_deleted_when_the_user_declines(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    """§11.1: ``credential_deleted`` "when the unsuccessful Credential issuance was caused by a user action"."""
    fake = fake_factory()
    received = receive(wallet, fake)
    assert isinstance(received, ReceivedCredentials)
    wallet.decline(received)
    assert fake.notifications[0]["event"] == "credential_deleted"
    assert fake.notifications[0]["notification_id"] == "n-1"
    assert_untouched(wallet)


def test_offer_of_two_configurations_each_decided_and_notified(
    fake_factory: Callable[..., FakeIssuer], wallet: Wallet
) -> None:
    """One offer, two configurations, one access token (§3.5): each credential response is decided on its own and
    each decision reaches the issuer (§11.1) — the DPoP key that signs the notifications lives until the last one."""
    fake = fake_factory(configurations=("permit", "permit_copy"))
    first, second = wallet.request(wallet.resolve_offer(fake.offer()), "493536")
    assert isinstance(first, ReceivedCredentials) and isinstance(second, ReceivedCredentials)
    wallet.accept(first)
    wallet.decline(second)
    assert [n["event"] for n in fake.notifications] == ["credential_accepted", "credential_deleted"]
    assert wallet.secure_element.key_count() == 3  # the stored one's holder keys; DPoP key gone after the last
    assert [c.configuration_id for c in wallet.credentials()] == ["permit"]


def test_offer_failing_halfway_tells_the_issuer_about_the_rest(
    fake_factory: Callable[..., FakeIssuer], wallet: Wallet
) -> None:
    """An offer fails as a whole when one of its configurations fails: what already arrived is discarded unseen, and
    the issuer learns it with ``credential_failure`` (§11.1: "all other unsuccessful cases") — nothing stays."""
    fake = fake_factory(configurations=("permit", "broken"), failing_configuration="broken")
    with pytest.raises(IssuerError) as info:
        wallet.request(wallet.resolve_offer(fake.offer()), "493536")
    assert info.value.status == 500
    assert [n["event"] for n in fake.notifications] == ["credential_failure"]
    assert_untouched(wallet)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("wrong_cnf", "wrong_cnf"), ("bad_signature", "received_invalid_signature"), ("wrong_iss", "wrong_iss")],
)
def test_tampered_credentials_refused_with_credential_failure(
    fake_factory: Callable[..., FakeIssuer], wallet: Wallet, mode: str, reason: str
) -> None:
    fake = fake_factory(mode=mode)
    with pytest.raises(CredentialError) as info:
        receive(wallet, fake)
    assert info.value.reason.endswith(reason.removeprefix("received_")) or info.value.reason == reason
    assert [n["event"] for n in fake.notifications] == ["credential_failure"]
    assert_untouched(wallet)


def test_server_error_is_one_clear_error(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    fake = fake_factory(mode="server_error")
    with pytest.raises(IssuerError) as info:
        receive(wallet, fake)
    assert info.value.code == "server_error" and info.value.status == 500
    assert "\n" not in info.value.description
    assert_untouched(wallet)


def test_batch_of_keys_each_proven_and_bound(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    fake = fake_factory(batch_size=2)
    received = receive(wallet, fake)
    assert isinstance(received, ReceivedCredentials)
    assert len(received.checked) == 2  # min(wallet batch 3, issuer batch_size 2)
    proofs = fake.credential_requests[0]["proofs"]["jwt"]
    keys = {json.dumps(json.loads(b64url_decode(p.split(".")[0]))["jwk"], sort_keys=True) for p in proofs}
    assert len(keys) == 2
    stored = wallet.accept(received)
    assert stored.unused == 2 and stored.claims == CLAIMS


def test_key_attestation_in_every_proof(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    """HAIP 1.0 §4.5.1: one key attestation covering all batch keys, with the c_nonce (F.1), in each proof."""
    fake = fake_factory(key_attestation_required=True)
    received = receive(wallet, fake)
    assert isinstance(received, ReceivedCredentials)
    proofs = fake.credential_requests[0]["proofs"]["jwt"]
    attestations = {json.loads(b64url_decode(p.split(".")[0]))["key_attestation"] for p in proofs}
    assert len(attestations) == 1
    (attestation,) = attestations
    body = json.loads(b64url_decode(attestation.split(".")[1]))
    assert len(body["attested_keys"]) == len(proofs) == 3 and body["nonce"]


def test_key_attestation_from_an_untrusted_provider_is_refused(
    fake_factory: Callable[..., FakeIssuer], make_wallet: Callable[..., Wallet]
) -> None:
    fake = fake_factory(key_attestation_required=True)
    wallet = make_wallet(provider=WalletProvider.generate(now=1_700_000_000))
    with pytest.raises(IssuerError) as info:
        receive(wallet, fake)
    assert info.value.code == "invalid_proof"
    assert_untouched(wallet)


def test_attestation_proof_type(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    """F.3: the attestation proof type, exactly one key attestation for all keys."""
    fake = fake_factory(attestation_proof_only=True)
    received = receive(wallet, fake)
    assert isinstance(received, ReceivedCredentials)
    assert len(fake.credential_requests[0]["proofs"]["attestation"]) == 1
    assert len(received.checked) == 3


def test_wallet_attestation_at_the_token_endpoint(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    """HAIP 1.0 §4.4: client authentication with the wallet attestation when the authorization server wants it;
    the key proofs then carry ``iss`` = client_id (F.1)."""
    fake = fake_factory(client_auth_required=True, challenge_endpoint=True)
    received = receive(wallet, fake)
    assert isinstance(received, ReceivedCredentials)
    headers = fake.token_requests[-1]["headers"]
    assert "oauth-client-attestation" in headers and "oauth-client-attestation-pop" in headers
    pop = json.loads(b64url_decode(headers["oauth-client-attestation-pop"].split(".")[1]))
    assert pop["challenge"] in fake.challenges and pop["aud"] == fake.identifier
    assert fake.token_requests[-1]["form"]["client_id"] == wallet.provider.client_id
    proof = fake.credential_requests[0]["proofs"]["jwt"][0]
    assert json.loads(b64url_decode(proof.split(".")[1]))["iss"] == wallet.provider.client_id
    wallet.accept(received)
    assert wallet.secure_element.key_count() == 3  # the instance and DPoP keys are gone


def test_untrusted_wallet_attestation_refused(
    fake_factory: Callable[..., FakeIssuer], make_wallet: Callable[..., Wallet]
) -> None:
    fake = fake_factory(client_auth_required=True)
    wallet = make_wallet(provider=WalletProvider.generate(now=1_700_000_000))
    with pytest.raises(IssuerError) as info:
        receive(wallet, fake)
    assert info.value.code == "invalid_client"
    assert_untouched(wallet)


def test_invalid_nonce_retried_with_a_fresh_c_nonce(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    fake = fake_factory(invalid_nonce_once=True)
    assert isinstance(receive(wallet, fake), ReceivedCredentials)
    assert len(fake.credential_requests) == 2


def test_use_dpop_nonce_at_the_credential_endpoint(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    """RFC 9449 §9: a resource server's ``use_dpop_nonce`` (401 + DPoP-Nonce) is retried with the new nonce."""
    fake = fake_factory(credential_dpop_nonce_once=True)
    assert isinstance(receive(wallet, fake), ReceivedCredentials)


def test_deferred_issuance_polled_until_ready(
    fake_factory: Callable[..., FakeIssuer], make_wallet: Callable[..., Wallet]
) -> None:
    """§8.3 202 with transaction_id/interval, §9 polling: 202 again while pending, then the credentials; the pending
    issuance survives closing the wallet (keys and token are in the store)."""
    clock = FrozenClock(time.time())
    fake = fake_factory(mode="deferred", pending_polls=1, interval=5, clock=clock)
    wallet = make_wallet(clock=clock)
    pending = receive(wallet, fake)
    assert isinstance(pending, PendingIssuance) and pending.interval == 5
    assert wallet.secure_element.key_count() == 4  # 3 holder keys + the DPoP key, bound to the pending issuance
    assert wallet.secure_element.purge_provisional(max_age=0) == 0
    again = wallet.poll(pending.id)  # too early: the wallet waits for the interval
    assert again == pending and fake.transactions[next(iter(fake.transactions))]["polls"] == 0
    clock.advance(5)
    still = wallet.poll(pending.id)
    assert isinstance(still, PendingIssuance) and still.next_poll_at > pending.next_poll_at
    clock.advance(5)
    received = wallet.poll(pending.id)
    assert isinstance(received, ReceivedCredentials)
    stored = wallet.accept(received)
    assert stored.unused == 3 and wallet.pending() == []
    assert fake.notifications == [{"notification_id": "n-deferred", "event": "credential_accepted"}]
    assert wallet.secure_element.key_count() == 3


def test_wait_for_sleeps_by_the_interval(
    fake_factory: Callable[..., FakeIssuer], make_wallet: Callable[..., Wallet]
) -> None:
    clock = FrozenClock(time.time())
    fake = fake_factory(mode="deferred", pending_polls=2, interval=7, clock=clock)
    wallet = make_wallet(clock=clock)
    pending = receive(wallet, fake)
    assert isinstance(pending, PendingIssuance)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    assert isinstance(wallet.wait_for(pending, timeout=10, sleep=sleep), PendingIssuance)  # 2nd poll would be at 14 s
    result = wallet.wait_for(wallet.pending()[0], timeout=60, sleep=sleep)
    assert isinstance(result, ReceivedCredentials)
    assert slept and all(s >= 7 for s in slept)


def test_deferred_denied_cleans_up(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    """§9.3: ``credential_request_denied`` — "stop making requests"; the wallet forgets the issuance and its keys."""
    fake = fake_factory(mode="deferred", pending_polls=0, deny_deferred=True)
    pending = receive(wallet, fake)
    assert isinstance(pending, PendingIssuance)
    with pytest.raises(IssuerError) as info:
        wallet.poll(pending.id, force=True)
    assert info.value.code == "credential_request_denied"
    assert_untouched(wallet)


def test_deferred_cancel(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    fake = fake_factory(mode="deferred")
    pending = receive(wallet, fake)
    assert isinstance(pending, PendingIssuance)
    wallet.cancel_pending(pending.id)
    assert_untouched(wallet)
    with pytest.raises(WalletError):
        wallet.poll(pending.id)


def test_display_colours_without_contrast_fall_back(fake_factory: Callable[..., FakeIssuer], wallet: Wallet) -> None:
    fake = fake_factory()
    received = receive(wallet, fake)
    assert isinstance(received, ReceivedCredentials)
    stored = wallet.accept(received)
    assert stored.name("de") == "Testausweis" and stored.name("en") == "Test permit"
    assert stored.issuer_name("en") == "Test Office"
    assert stored.colors("de") == ("#004b87", "#ffffff")  # white on yellow is unreadable: wallet colours instead
