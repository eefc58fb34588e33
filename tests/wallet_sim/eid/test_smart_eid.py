"""The Smart-eID: provisioned once from the card, then authenticating without it, answering in the card's format,
with the level of assurance its provider attests, a separate PIN, and keys bound to the device."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ssi.clock import FrozenClock
from ssi.eid import AccessRight, Chat, DataGroup, DocumentSigner, EidServer, EidTrustAnchors, demo_pki
from ssi.errors import EidCardRefused, EidMalformed, EidVerificationFailed, WalletError
from ssi.pid import PID_OPTIONAL_DATA_GROUPS, PID_REQUIRED_DATA_GROUPS, pid_claims
from wallet_sim.eid import CardState, EidCard, EidCards, SmartEid, SmartEidProvider
from wallet_sim.eid.citizens import find_citizen

NOW = 1_760_000_000.0
CARD_PIN, SMART_PIN = "123456", "654321"
REQUIRED = Chat.of(read=PID_REQUIRED_DATA_GROUPS)
OPTIONAL = Chat.of(read=PID_OPTIONAL_DATA_GROUPS, special=AccessRight.RESTRICTED_IDENTIFICATION)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def card(tmp_path: Path, clock: FrozenClock) -> EidCard:
    erika = EidCards(tmp_path / "eid", clock=clock).card("erika")
    erika.change_pin(find_citizen("erika").transport_pin, CARD_PIN)
    return erika


@pytest.fixture
def smart(tmp_path: Path, card: EidCard, clock: FrozenClock) -> SmartEid:
    return SmartEid.provision(tmp_path / "eid" / "smart-eid", card=card, card_pin=CARD_PIN, pin=SMART_PIN, clock=clock)


@pytest.fixture
def server(clock: FrozenClock) -> EidServer:
    pki = demo_pki()
    return EidServer(pki.pid_provider, pki.trust_anchors, clock=clock)


def _pid_via(smart: SmartEid, server: EidServer, **kwargs: object) -> tuple[str, str, dict[str, object]]:
    request = server.start(required=REQUIRED, optional=OPTIONAL)
    response = smart.authenticate(request.to_json(), SMART_PIN, **kwargs)  # type: ignore[arg-type]
    auth = server.finish(request.content().session_id, response.encode())
    return auth.source, auth.level_of_assurance, pid_claims(auth.identity, now=NOW).claims


def test_authenticates_without_the_card(smart: SmartEid, card: EidCard, server: EidServer) -> None:
    card.path.unlink()  # the card is gone: the Smart-eID does not need it
    source, level, claims = _pid_via(smart, server)
    assert (source, level) == ("smart-eid", "substantial")
    assert claims["family_name"] == "MUSTERMANN"
    assert claims["address"] == {
        "street_address": "HEIDESTRASSE 17",
        "postal_code": "51147",
        "locality": "KÖLN",
        "country": "DE",
    }


def test_same_answers_as_the_card(smart: SmartEid, card: EidCard, server: EidServer) -> None:
    """Same response format and data: the server's verified identity is the same as from the card."""
    request = server.start(required=REQUIRED, optional=OPTIONAL)
    from_card = server.finish(request.content().session_id, card.authenticate(request, CARD_PIN))
    request = server.start(required=REQUIRED, optional=OPTIONAL)
    from_smart = server.finish(request.content().session_id, smart.authenticate(request, SMART_PIN))
    assert from_card.identity == from_smart.identity
    assert (from_card.source, from_card.level_of_assurance) == ("card", "high")
    assert from_smart.restricted_id is not None and from_smart.restricted_id != from_card.restricted_id


def test_level_of_assurance_is_configurable(
    tmp_path: Path, card: EidCard, clock: FrozenClock, server: EidServer
) -> None:
    provider = SmartEidProvider.demo(level_of_assurance="high", clock=clock)
    smart = SmartEid.provision(
        tmp_path / "high", card=card, card_pin=CARD_PIN, pin=SMART_PIN, provider=provider, clock=clock
    )
    assert _pid_via(smart, server)[1] == "high"
    with pytest.raises(EidMalformed):
        SmartEidProvider.demo(level_of_assurance="medium")


def test_provisioning_needs_the_card_pin(tmp_path: Path, card: EidCard, clock: FrozenClock) -> None:
    with pytest.raises(EidCardRefused) as caught:
        SmartEid.provision(tmp_path / "s", card=card, card_pin="000000", pin=SMART_PIN, clock=clock)
    assert caught.value.reason == "eid_wrong_pin"
    assert not SmartEid.exists(tmp_path / "s")
    assert card.status().retry_counter == 2


def test_provider_only_provisions_cards_it_trusts(tmp_path: Path, clock: FrozenClock) -> None:
    foreign = DocumentSigner.generate("Foreign", now=NOW - 86400)
    card = EidCard.create(tmp_path / "card.json", find_citizen("erika"), clock=clock, document_signer=foreign)
    card.change_pin(find_citizen("erika").transport_pin, CARD_PIN)
    with pytest.raises(EidVerificationFailed) as caught:
        SmartEid.provision(tmp_path / "s", card=card, card_pin=CARD_PIN, pin=SMART_PIN, clock=clock)
    assert caught.value.reason == "eid_document_signer_untrusted"


def test_server_without_the_smart_eid_anchor_refuses(smart: SmartEid, clock: FrozenClock) -> None:
    """A PID issuer whose policy accepts cards only: no Smart-eID trust anchor configured."""
    pki = demo_pki()
    server = EidServer(pki.pid_provider, EidTrustAnchors.of(pki.trust_anchors.csca), clock=clock)
    request = server.start(required=REQUIRED)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(request.content().session_id, smart.authenticate(request, SMART_PIN))
    assert caught.value.reason == "eid_document_signer_untrusted"


def test_smart_eid_pin(smart: SmartEid, server: EidServer) -> None:
    """A separate 6-digit PIN; three wrong ones block the Smart-eID (no CAN, no PUK: provision again)."""
    request = server.start(required=REQUIRED)
    with pytest.raises(EidCardRefused) as caught:
        smart.authenticate(request, CARD_PIN)  # the card's PIN is not the Smart-eID PIN
    assert caught.value.reason == "eid_wrong_pin"
    with pytest.raises(EidCardRefused) as caught:
        smart.authenticate(request, "12345")
    assert caught.value.reason == "eid_pin_format"
    smart.change_pin(SMART_PIN, "111111")
    for _ in range(3):
        with pytest.raises(EidCardRefused):
            smart.authenticate(request, "999999")
    assert smart.describe()["state"] == "blocked"
    with pytest.raises(EidCardRefused) as caught:
        smart.authenticate(request, "111111")
    assert caught.value.reason == "eid_pin_blocked"


def test_keys_are_bound_to_the_device(tmp_path: Path, smart: SmartEid, server: EidServer) -> None:
    """The Smart-eID file copied to another device (without its device key) cannot answer."""
    other = tmp_path / "other-phone"
    other.mkdir()
    shutil.copy(smart.path, other / "smart-eid.json")
    request = server.start(required=REQUIRED)
    with pytest.raises(EidCardRefused) as caught:
        SmartEid(other).authenticate(request, SMART_PIN)
    assert caught.value.reason == "eid_device_binding"
    record = json.loads(smart.path.read_text())
    assert "d" not in record["device_key"]["public"]
    assert oct((smart.directory / "device.key").stat().st_mode & 0o777) == "0o600"


def test_validity_at_most_the_cards(tmp_path: Path, clock: FrozenClock, server: EidServer) -> None:
    """Leon's card expires 2027-06-14: his Smart-eID too; afterwards the server refuses it."""
    cards = EidCards(tmp_path / "eid", clock=clock)
    leon = cards.card("leon")
    leon.change_pin(find_citizen("leon").transport_pin, CARD_PIN)
    smart = SmartEid.provision(tmp_path / "s", card=leon, card_pin=CARD_PIN, pin=SMART_PIN, clock=clock)
    assert smart.describe()["expires_at"] == 1_813_017_600  # 2027-06-15T00:00:00Z
    clock.now = 1_813_017_600 + 1
    request = server.start(required=REQUIRED)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(request.content().session_id, smart.authenticate(request, SMART_PIN))
    assert caught.value.reason == "eid_document_expired"


def test_deselection_and_pseudonym(smart: SmartEid, server: EidServer) -> None:
    _, _, claims = _pid_via(smart, server, deselect=[DataGroup.PLACE_OF_RESIDENCE])
    assert "address" not in claims


def test_delete(smart: SmartEid, card: EidCard) -> None:
    smart.delete()
    assert not SmartEid.exists(smart.directory)
    with pytest.raises(WalletError):
        smart.describe()
    assert card.status().state is CardState.ACTIVE
