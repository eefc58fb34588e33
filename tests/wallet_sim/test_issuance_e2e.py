"""End to end over real HTTP against govssi's issuer (``issuer.loopback_issuer`` on 127.0.0.1): the wallet receives
every shipped credential type with the pre-authorized code flow — offer by reference, by value and from a QR image,
tx_code, DPoP with server nonces, nonce endpoint, batch of one-time credentials — and the wrong inputs end in clear
errors with the store unchanged."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import pytest
import qrcode
from conftest import PIN, RunningIssuer
from issuer_support import SAMPLE_CLAIMS, demo_ca
from PIL import Image

from issuer import IssuerSettings, MemoryKeyring, loopback_issuer
from ssi.clock import FrozenClock
from ssi.errors import FetchError, IssuerError, SsiError, WalletError
from ssi.jose import parse_compact
from ssi.sd_jwt import VerificationPolicy
from ssi.sd_jwt.vc import verify_sd_jwt_vc
from ssi.x509 import verify_x5c
from wallet_sim.wallet import PendingIssuance, ReceivedCredentials, Wallet


def qr_png(text: str, *, fmt: str = "PNG") -> bytes:
    image = qrcode.make(text).get_image().convert("RGB")
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def receive(
    wallet: Wallet, link: str | None, tx_code: str | None, *, image: bytes | None = None
) -> ReceivedCredentials:
    resolved = wallet.resolve_offer(link, image=image)
    (received,) = wallet.request(resolved, tx_code)
    assert isinstance(received, ReceivedCredentials)
    return received


def assert_untouched(wallet: Wallet) -> None:
    """A consistent store: no credential, no pending issuance, no key left behind."""
    assert wallet.credentials() == []
    assert wallet.pending() == []
    assert wallet.secure_element.key_count() == 0


@pytest.mark.parametrize("type_id", sorted(SAMPLE_CLAIMS))
def test_receive_each_credential_type_with_batch(running_issuer: RunningIssuer, wallet: Wallet, type_id: str) -> None:
    offer = running_issuer.offer(type_id)
    resolved = wallet.resolve_offer(offer["offer_uri"])
    assert resolved.tx_code is not None and resolved.tx_code.length == 6
    display = resolved.display(type_id)
    assert {d["locale"][:2] for d in display["credential"]} == {"de", "en"}
    assert display["issuer"], "issuer display names come from the metadata"
    received = receive(wallet, offer["offer_uri"], offer["tx_code"])
    assert len(received.checked) == 3  # batch of one-time credentials (DEFAULT_BATCH, issuer batch_size 10)
    assert received.claims["family_name"] == "MUSTERMANN"
    stored = wallet.accept(received)
    assert stored.unused == 3 and stored.vct == f"{running_issuer.credential_issuer}/vct/{type_id}"
    assert stored.claims == received.claims
    assert stored.name("de") != stored.name("en")
    assert wallet.secure_element.key_count() == 3  # DPoP key destroyed, holder keys bound
    assert running_issuer.offer_state(offer["offer_id"])["state"] == "delivered"
    # Each instance is bound to its own key, and a verifier accepts a presentation made with the wallet's API.
    thumbprints = set()
    for _ in range(3):
        material = wallet.presentation_material(stored.id)
        thumbprints.add(material.held.payload["cnf"]["jwk"]["x"])
        presentation = material.held.present(
            [("family_name",)], holder=material.signer, audience="https://verifier.example", nonce="n-1"
        )
        chain = verify_x5c(
            parse_compact(material.held.parts.issuer_jwt)[3]["x5c"], [demo_ca().certificate], now=time.time()
        )
        verified = verify_sd_jwt_vc(
            presentation, chain.public_key, VerificationPolicy(audience="https://verifier.example", nonce="n-1")
        )
        assert verified.claims["family_name"] == "MUSTERMANN"
        wallet.mark_used(material.instance_id)
    assert len(thumbprints) == 3
    with pytest.raises(WalletError) as info:
        wallet.presentation_material(stored.id)
    assert info.value.reason == "credential_used_up"


def test_offer_by_value(running_issuer: RunningIssuer, wallet: Wallet) -> None:
    offer = running_issuer.offer("dienstausweis")
    stored = wallet.accept(receive(wallet, offer["offer_uri_by_value"], offer["tx_code"]))
    assert stored.claims["role"] == "Sachbearbeiterin"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_offer_from_qr_image(running_issuer: RunningIssuer, wallet: Wallet, fmt: str) -> None:
    offer = running_issuer.offer("meldebescheinigung")
    stored = wallet.accept(receive(wallet, None, offer["tx_code"], image=qr_png(offer["offer_uri"], fmt=fmt)))
    assert stored.claims["birthdate"] == "1964-08-12"


def test_offer_without_tx_code(running_issuer: RunningIssuer, wallet: Wallet) -> None:
    offer = running_issuer.offer("dienstausweis", tx_code=False)
    resolved = wallet.resolve_offer(offer["offer_uri"])
    assert resolved.tx_code is None
    (received,) = wallet.request(resolved, "123456")  # a code typed anyway is not sent (§6.1)
    assert isinstance(received, ReceivedCredentials)
    wallet.accept(received)


def test_decline_discards_everything(running_issuer: RunningIssuer, wallet: Wallet) -> None:
    """§11.1: the issuer learns ``credential_deleted`` ("caused by a user action") and the wallet keeps nothing."""
    offer = running_issuer.offer()
    received = receive(wallet, offer["offer_uri"], offer["tx_code"])
    assert running_issuer.notification_events(offer["offer_id"]) == [None] * 3  # nothing before the user decided
    wallet.decline(received)
    assert_untouched(wallet)
    assert running_issuer.notification_events(offer["offer_id"]) == ["credential_deleted"] * 3
    with pytest.raises(WalletError):
        wallet.accept(received)


def test_accept_notifies_the_issuer(running_issuer: RunningIssuer, wallet: Wallet) -> None:
    """§11.1: ``credential_accepted`` "when the Credentials were successfully stored in the Wallet"."""
    offer = running_issuer.offer("meldebescheinigung")
    wallet.accept(receive(wallet, offer["offer_uri"], offer["tx_code"]))
    assert running_issuer.notification_events(offer["offer_id"]) == ["credential_accepted"] * 3


def test_deferred_issuance_against_the_issuer(running_issuer: RunningIssuer, make_wallet: object) -> None:
    """§8.3/§9 with govssi's issuer: a type a clerk approves answers 202; polls before the approval stay pending,
    the pending issuance survives closing the wallet, and after the approval the next poll delivers the batch."""
    type_id = running_issuer.approval_type()
    offer = running_issuer.offer(type_id)
    wallet = make_wallet("deferred")  # type: ignore[operator]
    resolved = wallet.resolve_offer(offer["offer_uri"])
    (pending,) = wallet.request(resolved, offer["tx_code"])
    assert isinstance(pending, PendingIssuance) and pending.interval > 0
    assert wallet.credentials() == [] and wallet.secure_element.key_count() == 4  # 3 holder keys + DPoP, all bound
    still = wallet.poll(pending.id, force=True)
    assert isinstance(still, PendingIssuance) and still.id == pending.id
    wallet.close()
    with Wallet.open(wallet.data_dir, PIN, allow_http_loopback=True) as again:
        (kept,) = again.pending()
        assert kept.id == pending.id and kept.configuration_id == type_id
        running_issuer.approve(offer["offer_id"])
        received = again.poll(kept.id, force=True)
        assert isinstance(received, ReceivedCredentials) and len(received.checked) == 3
        stored = again.accept(received)
        assert stored.claims["role"] == "Sachbearbeiterin" and stored.unused == 3
        assert again.pending() == [] and again.secure_element.key_count() == 3
    assert running_issuer.notification_events(offer["offer_id"]) == ["credential_accepted"] * 3


def test_wrong_tx_code_then_right_one(running_issuer: RunningIssuer, wallet: Wallet) -> None:
    offer = running_issuer.offer()
    wrong = "000000" if offer["tx_code"] != "000000" else "111111"
    resolved = wallet.resolve_offer(offer["offer_uri"])
    with pytest.raises(IssuerError) as info:
        wallet.request(resolved, wrong)
    assert info.value.reason == "wrong_tx_code" and info.value.code == "invalid_grant"
    assert "transaction code" in info.value.description
    assert_untouched(wallet)
    (received,) = wallet.request(resolved, offer["tx_code"])
    assert isinstance(received, ReceivedCredentials)


def test_tx_code_missing_or_malformed_is_caught_before_sending(running_issuer: RunningIssuer, wallet: Wallet) -> None:
    offer = running_issuer.offer()
    resolved = wallet.resolve_offer(offer["offer_uri"])
    for code, reason in ((None, "tx_code_required"), ("12a456", "malformed_tx_code"), ("1234", "malformed_tx_code")):
        with pytest.raises(WalletError) as info:
            wallet.request(resolved, code)
        assert info.value.reason == reason
    assert_untouched(wallet)
    assert running_issuer.offer_state(offer["offer_id"])["state"] == "offered"  # no attempt was spent


def test_used_offer_is_refused(running_issuer: RunningIssuer, make_wallet: object) -> None:
    build = make_wallet  # type: ignore[assignment]
    first, second = build("a"), build("b")  # type: ignore[operator]
    offer = running_issuer.offer()
    first.accept(receive(first, offer["offer_uri_by_value"], offer["tx_code"]))
    with pytest.raises(IssuerError) as info:  # by value: the code is spent
        second.request(second.resolve_offer(offer["offer_uri_by_value"]), offer["tx_code"])
    assert info.value.reason == "wrong_tx_code"
    with pytest.raises(WalletError) as info2:  # by reference: the offer document is gone
        second.resolve_offer(offer["offer_uri"])
    assert info2.value.reason == "offer_expired"
    assert_untouched(second)


def test_unknown_and_unreachable_issuer(running_issuer: RunningIssuer, wallet: Wallet) -> None:
    base = {
        "credential_configuration_ids": ["x"],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "abc"}},
    }
    import json
    from urllib.parse import quote

    def link(issuer: str) -> str:
        return "openid-credential-offer://?credential_offer=" + quote(json.dumps({**base, "credential_issuer": issuer}))

    with pytest.raises(WalletError) as info:
        wallet.resolve_offer(link(f"{running_issuer.base_url}/issuers/nobody"))
    assert info.value.reason == "unknown_issuer"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as info2:
        wallet.resolve_offer(link(f"http://127.0.0.1:{port}/issuers/demo"))
    assert info2.value.reason == "issuer_unreachable"
    with pytest.raises(WalletError) as info:
        wallet.resolve_offer(link(running_issuer.credential_issuer))  # the issuer does not offer "x"
    assert info.value.reason == "unknown_configuration"
    assert_untouched(wallet)


def test_https_required_without_the_development_flag(running_issuer: RunningIssuer, make_wallet: object) -> None:
    strict = make_wallet("strict", allow_http_loopback=False)  # type: ignore[operator]
    offer = running_issuer.offer()
    with pytest.raises(SsiError) as info:
        strict.resolve_offer(offer["offer_uri"])
    assert "https" in info.value.description


def test_malformed_qr_images(wallet: Wallet) -> None:
    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, format="PNG")
    for data, reason in (
        (blank.getvalue(), "no_qr_code"),
        (b"GIF89a not an image we take", "unsupported_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "malformed_image"),
    ):
        with pytest.raises(WalletError) as info:
            wallet.resolve_offer(image=data)
        assert info.value.reason == reason
    with pytest.raises(SsiError) as info3:  # a QR code, but not of an offer
        wallet.resolve_offer(image=qr_png("https://example.org/not-an-offer"))
    assert info3.value.reason == "malformed_credential_offer"
    with pytest.raises(WalletError) as info:
        wallet.resolve_offer(image=qr_png("mailto:someone@example.org"))
    assert info.value.reason == "malformed_offer"


def test_expired_offer(tmp_path: Path, make_wallet: object) -> None:
    """An offer past its lifetime (the issuer's ``offer_ttl``): by reference the offer document is gone, by value the
    pre-authorized code is refused (§6.3 ``invalid_grant``) — both "expired, ask for a new one", nothing stored."""
    clock = FrozenClock(time.time())
    settings = IssuerSettings(
        data_dir=tmp_path / "issuer", bootstrap_key="test-bootstrap-key-0001", key_passphrase="pw", offer_ttl=600
    )
    with (
        loopback_issuer(settings, keyring=MemoryKeyring(demo_ca()), clock=clock) as (server, issuer),
        httpx.Client(timeout=20) as http,
    ):
        assert issuer.bootstrap is not None
        running = RunningIssuer(issuer.bootstrap.credential_issuer, server.url, http)
        wallet = make_wallet("expiring", clock=clock)  # type: ignore[operator]
        offer = running.offer("dienstausweis", tx_code=False)
        resolved = wallet.resolve_offer(offer["offer_uri_by_value"])
        clock.advance(601)
        with pytest.raises(WalletError) as info:
            wallet.resolve_offer(offer["offer_uri"])
        assert info.value.reason == "offer_expired" and "expired" in info.value.description
        with pytest.raises(IssuerError) as info2:
            wallet.request(resolved, None)
        assert info2.value.reason == "offer_expired" and "expired" in info2.value.description
        assert_untouched(wallet)
