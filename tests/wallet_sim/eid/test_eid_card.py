"""The simulated cards: the test citizens, each card's eID function against the eID-Server side (ssi.eid) and the PID
mapping (ssi.pid), the citizen's choices, persistence and concurrent use."""

from __future__ import annotations

import datetime
import json
import threading
from pathlib import Path

import pytest

from ssi.clock import FrozenClock
from ssi.eid import (
    AccessRight,
    Chat,
    DataGroup,
    EidServer,
    FreeTextPlace,
    NoPlaceInfo,
    PartialDate,
    demo_pki,
)
from ssi.errors import EidCardRefused, EidVerificationFailed, WalletError
from ssi.pid import PID_OPTIONAL_DATA_GROUPS, PID_REQUIRED_DATA_GROUPS, pid_claims
from wallet_sim.eid import CardState, EidCards, describe_request, load_citizens

#: 2025-10-09T09:46:40Z
NOW = 1_760_000_000.0
PIN = "123456"
PID_REQUIRED = Chat.of(read=PID_REQUIRED_DATA_GROUPS)
PID_OPTIONAL = Chat.of(read=PID_OPTIONAL_DATA_GROUPS, special=AccessRight.RESTRICTED_IDENTIFICATION)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def cards(tmp_path: Path, clock: FrozenClock) -> EidCards:
    return EidCards(tmp_path / "eid", clock=clock)


@pytest.fixture
def server(clock: FrozenClock) -> EidServer:
    pki = demo_pki()
    return EidServer(pki.pid_provider, pki.trust_anchors, clock=clock)


def _activate(cards: EidCards, card_id: str) -> None:
    citizen = next(c for c in load_citizens() if c.id == card_id)
    cards.card(card_id).change_pin(citizen.transport_pin, PIN)


def test_test_citizens_cover_the_edge_cases() -> None:
    """DESIGN.md §4 / issue 9: the sample card and no place of birth, a partial birth date, a residence permit, an
    expired card, a blocked PIN and non-ASCII names."""
    citizens = {c.id: c for c in load_citizens()}
    erika = citizens["erika"].identity
    assert (erika.given_names, erika.family_names, erika.birth_name) == ("ERIKA", "MUSTERMANN", "GABLER")
    assert erika.date_of_birth == PartialDate(1964, 8, 12)
    assert erika.place_of_birth == FreeTextPlace("BERLIN")
    assert erika.place_of_residence is not None and erika.place_of_residence.to_json() == {
        "street": "HEIDESTRASSE 17",
        "zipcode": "51147",
        "city": "KÖLN",
        "country": "D",
    }
    assert erika.nationality == "D" and erika.issuing_state == "D"
    assert any(isinstance(c.identity.place_of_birth, NoPlaceInfo) for c in citizens.values())
    assert any(c.identity.date_of_birth and not c.identity.date_of_birth.complete for c in citizens.values())
    assert any(c.identity.document_type == "AR" and c.identity.nationality != "D" for c in citizens.values())
    assert any(c.identity.date_of_expiry and c.identity.date_of_expiry.year < 2024 for c in citizens.values())
    assert any(c.retry_counter == 0 for c in citizens.values())
    assert any(not (c.identity.family_names or "").isascii() for c in citizens.values())
    assert any("ß" in (c.identity.family_names or "") for c in citizens.values())
    for citizen in citizens.values():
        assert len(citizen.transport_pin) == 5 and len(citizen.can) == 6 and len(citizen.puk) == 10


def test_new_cards_are_personalised_on_first_use(cards: EidCards) -> None:
    described = {card.id: card.describe() for card in cards}
    assert described["erika"]["state"] == "transport_pin"
    assert described["erika"]["name"] == "ERIKA MUSTERMANN"
    assert described["meier"]["state"] == "blocked"
    assert described["schmidt"]["expired"] is True and described["erika"]["expired"] is False
    with pytest.raises(WalletError) as caught:
        cards.card("nobody")
    assert caught.value.reason == "unknown_card"


@pytest.mark.parametrize("card_id", [c.id for c in load_citizens() if c.id not in ("schmidt", "meier")])
def test_every_valid_card_gives_a_pid(cards: EidCards, server: EidServer, card_id: str) -> None:
    """The whole chain for each test citizen: card → eID-Server (chip + passive authentication) → PID claims."""
    _activate(cards, card_id)
    request = server.start(required=PID_REQUIRED, optional=PID_OPTIONAL)
    response = cards.card(card_id).authenticate(request.to_json(), PIN)
    auth = server.finish(request.content().session_id, response.encode())
    assert (auth.source, auth.level_of_assurance) == ("card", "high")
    assert auth.restricted_id is not None
    pid = pid_claims(auth.identity, now=NOW)
    expected = cards.card(card_id).identity()
    assert pid.claims["family_name"] == expected.family_names
    assert pid.claims["issuing_country"] == "DE"


def test_edge_case_pids(cards: EidCards, server: EidServer) -> None:
    def pid_of(card_id: str) -> dict[str, object]:
        _activate(cards, card_id)
        request = server.start(required=PID_REQUIRED, optional=PID_OPTIONAL)
        response = cards.card(card_id).authenticate(request, PIN)
        return pid_claims(server.finish(request.content().session_id, response).identity, now=NOW).claims

    haddad = pid_of("haddad")
    assert haddad["birthdate"] == "1980-00-00"
    assert haddad["place_of_birth"] == {"no_place_info": True}
    oeztuerk = pid_of("oeztuerk")
    assert (oeztuerk["family_name"], oeztuerk["nationalities"]) == ("ÖZTÜRK", ["TR"])
    assert oeztuerk["source_document_type"] == "residence_permit"
    weiss = pid_of("weiss")
    assert (weiss["family_name"], weiss["academic_title"], weiss["nationalities"]) == ("WEIß", "DR.", ["DE"])
    dubois = pid_of("dubois")
    assert (dubois["birthdate"], dubois["source_document_type"]) == ("1990-04-00", "eu_citizen_card")
    leon = pid_of("leon")
    assert leon["age_equal_or_over"] == {"12": True, "14": True, "16": False, "18": False, "21": False, "65": False}


def test_transport_pin_must_be_changed_first(cards: EidCards, server: EidServer) -> None:
    request = server.start(required=PID_REQUIRED)
    with pytest.raises(EidCardRefused) as caught:
        cards.card("erika").authenticate(request, "13579")
    assert caught.value.reason == "eid_transport_pin_active"
    assert cards.card("erika").status().retry_counter == 3  # not a PIN attempt


def test_citizen_deselects_optional_data(cards: EidCards, server: EidServer) -> None:
    _activate(cards, "erika")
    request = server.start(required=PID_REQUIRED, optional=PID_OPTIONAL)
    response = cards.card("erika").authenticate(
        request,
        PIN,
        deselect=[DataGroup.PLACE_OF_RESIDENCE, DataGroup.BIRTH_NAME, AccessRight.RESTRICTED_IDENTIFICATION],
    )
    auth = server.finish(request.content().session_id, response)
    assert auth.identity.place_of_residence is None and auth.identity.birth_name is None
    assert auth.restricted_id is None
    assert "address" not in pid_claims(auth.identity, now=NOW).claims


def test_required_data_cannot_be_deselected(cards: EidCards, server: EidServer) -> None:
    _activate(cards, "erika")
    request = server.start(required=PID_REQUIRED, optional=PID_OPTIONAL)
    with pytest.raises(EidCardRefused) as caught:
        cards.card("erika").authenticate(request, PIN, deselect=[DataGroup.DATE_OF_BIRTH])
    assert caught.value.reason == "eid_selection_invalid"


def test_age_and_place_verification_on_the_card(cards: EidCards, clock: FrozenClock) -> None:
    pki = demo_pki()
    terminal = pki.issue_terminal(
        chr="DEAGECHECK00001",
        holder_name="Jugendschutz-Portal",
        rights=Chat.of(special=AccessRight.AGE_VERIFICATION | AccessRight.COMMUNITY_ID_VERIFICATION),
    )
    server = EidServer(terminal, pki.trust_anchors, clock=clock)
    _activate(cards, "leon")
    request = server.start(required=Chat(), minimum_age=16, place_verification="0276050315")
    auth = server.finish(request.content().session_id, cards.card("leon").authenticate(request, PIN))
    assert auth.age_verified is False and auth.place_verified is True
    assert auth.data_groups == frozenset()  # only the answers, no data
    request = server.start(required=Chat(), minimum_age=12, place_verification="027611")
    auth = server.finish(request.content().session_id, cards.card("leon").authenticate(request, PIN))
    assert auth.age_verified is True and auth.place_verified is False


def test_pseudonym_is_stable_per_card_and_sector(tmp_path: Path, clock: FrozenClock, server: EidServer) -> None:
    """TR-03110-3 §2.7: the same card gives the PID provider the same pseudonym — also from another wallet's copy
    of the test card — and different cards give different ones."""

    def pseudonym(cards: EidCards, card_id: str) -> bytes | None:
        request = server.start(required=PID_REQUIRED, optional=PID_OPTIONAL)
        response = cards.card(card_id).authenticate(request, PIN)
        return server.finish(request.content().session_id, response).restricted_id

    first, second = EidCards(tmp_path / "a", clock=clock), EidCards(tmp_path / "b", clock=clock)
    for cards in (first, second):
        _activate(cards, "erika")
        _activate(cards, "leon")
    assert pseudonym(first, "erika") == pseudonym(second, "erika") != pseudonym(first, "leon")


def test_expired_card_is_refused_by_the_server(cards: EidCards, server: EidServer) -> None:
    _activate(cards, "schmidt")
    request = server.start(required=PID_REQUIRED)
    response = cards.card("schmidt").authenticate(request, PIN)  # the card still answers …
    with pytest.raises(EidVerificationFailed) as caught:  # … but document validity verification fails
        server.finish(request.content().session_id, response)
    assert caught.value.reason == "eid_document_expired"


def test_blocked_card_needs_the_puk(cards: EidCards, server: EidServer) -> None:
    request = server.start(required=PID_REQUIRED)
    with pytest.raises(EidCardRefused) as caught:
        cards.card("meier").authenticate(request, "482916")
    assert caught.value.reason == "eid_pin_blocked"
    cards.card("meier").unblock("1414213562")
    response = cards.card("meier").authenticate(request, "482916")
    assert server.finish(request.content().session_id, response).identity.family_names == "MEIER"


def test_describe_request_for_the_citizen(server: EidServer) -> None:
    request = server.start(required=PID_REQUIRED, optional=PID_OPTIONAL, transaction_info="PID-Ausstellung")
    shown = describe_request(request.to_json())
    assert shown.provider_name == "govssi Demo PID-Provider"
    assert shown.provider_url == "https://pid.govssi.example"
    assert [i.key for i in shown.required] == ["DG1", "DG2", "DG3", "DG4", "DG5", "DG8", "DG9"]
    assert {i.label for i in shown.optional} >= {"Anschrift", "Geburtsname", "Doktorgrad"}
    assert "RESTRICTED_IDENTIFICATION" in {i.key for i in shown.optional}
    english = describe_request(request, lang="en")
    assert english.required[0].label == "Document type"
    assert shown.to_json()["transaction_info"] == "PID-Ausstellung"


def test_chip_memory_is_one_json_file_without_the_pin(cards: EidCards) -> None:
    _activate(cards, "erika")
    path = cards.directory / "cards" / "erika.json"
    record = json.loads(path.read_text())
    assert PIN not in path.read_text()
    assert record["retry_counter"] == 3 and record["pin"]["hash"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not list(path.parent.glob("*.tmp"))


def test_concurrent_wrong_pins_are_all_counted(cards: EidCards) -> None:
    """Two wrong PINs entered at the same time from two handles (two processes) both count."""
    _activate(cards, "erika")
    errors: list[str] = []

    def wrong() -> None:
        try:
            cards.card("erika").verify_pin("000000")
        except EidCardRefused as exc:
            errors.append(exc.reason)

    threads = [threading.Thread(target=wrong) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == ["eid_wrong_pin", "eid_wrong_pin"]
    assert cards.card("erika").status().state is CardState.CAN_REQUIRED


def test_reset_gives_a_factory_new_card(cards: EidCards) -> None:
    _activate(cards, "erika")
    assert cards.reset("erika").status().state is CardState.TRANSPORT_PIN


def test_card_expiry_in_describe(cards: EidCards) -> None:
    assert cards.card("schmidt").describe()["date_of_expiry"] == datetime.date(2023, 3, 31).isoformat()


def test_lost_card_pseudonym_without_the_card(cards: EidCards, server: EidServer) -> None:
    """TR-03110-3 §2.7.2: a lost card's restricted-identification public key (card register) and the PID provider's
    sector key give the pseudonym the provider saw at issuance — so it can revoke every PID of that card."""
    from ssi.eid import sector_identifier

    _activate(cards, "erika")
    request = server.start(required=PID_REQUIRED, optional=PID_OPTIONAL)
    seen = server.finish(request.content().session_id, cards.card("erika").authenticate(request, PIN)).restricted_id
    pki = demo_pki()
    sector_key = pki.sector_key(pki.pid_provider.certificate.chr)
    assert pki.pid_provider.certificate.sector_key == sector_key.public_key
    assert sector_identifier(sector_key, cards.card("erika").restricted_identification_key()) == seen
    assert sector_identifier(sector_key, cards.card("leon").restricted_identification_key()) != seen
