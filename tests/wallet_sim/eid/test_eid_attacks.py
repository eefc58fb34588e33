"""Attacks on the eID authentication with the real simulated card (issue 9 "eID attacks"): a replayed card response,
a response from another session, a forged data group or security object signature, a card from another CSCA,
terminal certificates expired or from another CVCA, and access rights widened by the wallet (or a greedy service).
Each is refused by the card or by the eID-Server side with a specific reason."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path

import pytest

from ssi.clock import FrozenClock
from ssi.eid import (
    AccessRight,
    Chat,
    DataGroup,
    DocumentSigner,
    EidRequest,
    EidResponse,
    EidServer,
    Role,
    TerminalCredentials,
    create_session,
    demo_pki,
    element_digest,
    encode_element,
    issue_cv_certificate,
    sign_request,
    sign_security_object,
    verify_response,
)
from ssi.eid.messages import SecurityObject
from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import EidCardRefused, EidVerificationFailed
from ssi.keys import PrivateKey
from wallet_sim.eid import EidCard, EidCards
from wallet_sim.eid.citizens import find_citizen

NOW = 1_760_000_000.0
PIN = "123456"
NAME_AND_BIRTH = Chat.of(read=[DataGroup.GIVEN_NAMES, DataGroup.FAMILY_NAMES, DataGroup.DATE_OF_BIRTH])
ADDRESS = Chat.of(read=[DataGroup.PLACE_OF_RESIDENCE])


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def card(tmp_path: Path, clock: FrozenClock) -> EidCard:
    erika = EidCards(tmp_path / "eid", clock=clock).card("erika")
    erika.change_pin(find_citizen("erika").transport_pin, PIN)
    return erika


@pytest.fixture
def server(clock: FrozenClock) -> EidServer:
    pki = demo_pki()
    return EidServer(pki.pid_provider, pki.trust_anchors, clock=clock)


def _request(server: EidServer) -> tuple[str, EidRequest]:
    request = server.start(required=NAME_AND_BIRTH, optional=ADDRESS)
    return request.content().session_id, EidRequest.from_json(request.to_json())


def _reason(excinfo: pytest.ExceptionInfo[Exception]) -> str:
    return str(getattr(excinfo.value, "reason", ""))


# -- replay and session binding ------------------------------------------------------------------------------------


def test_replayed_card_response(card: EidCard, server: EidServer) -> None:
    session_id, request = _request(server)
    response = card.authenticate(request, PIN).encode()
    server.finish(session_id, response)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(session_id, response)
    assert _reason(caught) == "eid_unknown_session"


def test_response_from_another_session(card: EidCard, server: EidServer) -> None:
    """A response captured for session A (another user, or an earlier attempt) presented in session B."""
    _, first = _request(server)
    second_id, _ = _request(server)
    stolen = card.authenticate(first, PIN)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(second_id, stolen)
    assert _reason(caught) == "eid_unknown_session"
    # Re-labelled with the other session's id, the chip authentication MAC (keyed with A's ephemeral key) fails.
    session = create_session(demo_pki().pid_provider, required=NAME_AND_BIRTH, optional=ADDRESS, now=NOW)
    relabelled = dataclasses.replace(stolen.answer, session_id=session.session_id)
    forged = EidResponse(relabelled, relabelled.encode(), stolen.mac)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, forged, demo_pki().trust_anchors, now=NOW)
    assert _reason(caught) == "eid_chip_authentication"


def test_old_request_replayed_to_the_card(card: EidCard, server: EidServer, clock: FrozenClock) -> None:
    """The card refuses a request whose time is up (terminal authentication is bound to the request's lifetime)."""
    _, request = _request(server)
    clock.advance(601)
    with pytest.raises(EidCardRefused) as caught:
        card.authenticate(request, PIN)
    assert _reason(caught) == "eid_request_expired"


# -- passive authentication ---------------------------------------------------------------------------------------


def _edit_chip(card: EidCard, change: dict[str, object]) -> None:
    record = json.loads(card.path.read_text())
    record.update(change)
    card.path.write_text(json.dumps(record))


def test_forged_data_group(card: EidCard, server: EidServer) -> None:
    """Someone edits the card's memory to make Erika born in 2010: the element no longer matches its signed digest."""
    record = json.loads(card.path.read_text())
    record["elements"]["8"] = encode_element(os.urandom(16), DataGroup.DATE_OF_BIRTH, "20100101")
    card.path.write_text(json.dumps(record))
    session_id, request = _request(server)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(session_id, card.authenticate(request, PIN))
    assert _reason(caught) == "eid_data_group_hash"


def test_forged_data_group_signature(card: EidCard, server: EidServer) -> None:
    """… and re-signs the security object over the new digest — without the document signer's key."""
    record = json.loads(card.path.read_text())
    forged_element = encode_element(os.urandom(16), DataGroup.DATE_OF_BIRTH, "20100101")
    record["elements"]["8"] = forged_element
    original = SecurityObject.parse(record["security_object"])
    digests = {**original.digests, DataGroup.DATE_OF_BIRTH: element_digest(forged_element)}
    record["security_object"] = sign_security_object(
        PrivateKey.generate(),
        [demo_pki().document_signer.certificate],
        kind="card",
        digests=digests,
        chip_key=original.chip_key,
        issued_at=int(NOW),
    )
    card.path.write_text(json.dumps(record))
    session_id, request = _request(server)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(session_id, card.authenticate(request, PIN))
    assert _reason(caught) == "eid_passive_authentication"


def test_card_from_another_csca(tmp_path: Path, clock: FrozenClock, server: EidServer) -> None:
    """A card personalised under a Country Signing CA the server does not trust."""
    foreign = DocumentSigner.generate("Fälscherwerkstatt", now=NOW - 86400)
    card = EidCard.create(tmp_path / "foreign.json", find_citizen("erika"), clock=clock, document_signer=foreign)
    card.change_pin(find_citizen("erika").transport_pin, PIN)
    session_id, request = _request(server)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(session_id, card.authenticate(request, PIN))
    assert _reason(caught) == "eid_document_signer_untrusted"


def test_card_clone_without_the_chip_key(card: EidCard, server: EidServer) -> None:
    """A copy of the card's data and security object with another chip key fails chip authentication."""
    _edit_chip(card, {"chip_key": PrivateKey.generate().private_jwk()})
    session_id, request = _request(server)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(session_id, card.authenticate(request, PIN))
    assert _reason(caught) == "eid_chip_authentication"


# -- terminal authentication --------------------------------------------------------------------------------------


def test_terminal_certificate_expired(card: EidCard, clock: FrozenClock) -> None:
    pki = demo_pki()
    expired = pki.issue_terminal(
        chr="DEOLDTERM00001",
        holder_name="Abgelaufener Dienst",
        rights=NAME_AND_BIRTH | ADDRESS,
        effective=datetime.date(2025, 1, 1),
        expiry=datetime.date(2025, 10, 8),
    )
    server = EidServer(expired, pki.trust_anchors, clock=clock)
    _, request = _request(server)
    with pytest.raises(EidCardRefused) as caught:
        card.authenticate(request, PIN)
    assert _reason(caught) == "eid_terminal_expired"


def test_terminal_from_another_cvca(card: EidCard, clock: FrozenClock) -> None:
    cvca_key, dv_key, terminal_key = PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()
    start, end = datetime.date(2025, 1, 1), datetime.date(2030, 1, 1)
    dv = issue_cv_certificate(
        cvca_key,
        car="XXCVCAEVIL00001",
        chr="XXDVEVIL00001",
        chat=Chat.all_rights(Role.DV_OFFICIAL),
        effective=start,
        expiry=end,
        public_key=dv_key.public_key,
        holder_name="Evil DV",
    )
    terminal = issue_cv_certificate(
        dv_key,
        car=dv.chr,
        chr="XXEVILTERM00001",
        chat=Chat.all_rights(Role.TERMINAL),
        effective=start,
        expiry=end,
        public_key=terminal_key.public_key,
        holder_name="Datensammler",
    )
    server = EidServer(TerminalCredentials(terminal_key, dv, terminal), demo_pki().trust_anchors, clock=clock)
    _, request = _request(server)
    with pytest.raises(EidCardRefused) as caught:
        card.authenticate(request, PIN)
    assert _reason(caught) == "eid_terminal_untrusted"


# -- access rights widened ----------------------------------------------------------------------------------------


def _resign_payload(request: EidRequest, change: dict[str, object]) -> EidRequest:
    """Change the request payload but keep the terminal's signature (what a wallet without the terminal key can do)."""
    header, payload, signature = request.signed.split(".")
    body = json_loads(b64url_decode(payload))
    body.update(change)
    return EidRequest(request.certificates, f"{header}.{b64url_encode(json_dumps(body).encode())}.{signature}")


def test_wallet_widens_the_request(card: EidCard, server: EidServer) -> None:
    """The wallet adds the nationality and the address to the required rights: the terminal's signature breaks."""
    _, request = _request(server)
    wider = NAME_AND_BIRTH | ADDRESS | Chat.of(read=[DataGroup.NATIONALITY])
    with pytest.raises(EidCardRefused) as caught:
        card.authenticate(_resign_payload(request, {"required_chat": wider.hex}), PIN)
    assert _reason(caught) == "eid_request_signature"


def test_wallet_swaps_in_a_wider_terminal_certificate(card: EidCard, server: EidServer) -> None:
    """The wallet presents the (valid) Smart-eID provider certificate, which may read everything, with the PID
    provider's request: the request is not signed by that certificate's key."""
    _, request = _request(server)
    swapped = EidRequest(demo_pki().smart_eid_provider.chain, request.signed)
    with pytest.raises(EidCardRefused) as caught:
        card.authenticate(swapped, PIN)
    assert _reason(caught) == "eid_request_signature"


def test_wallet_adds_data_to_the_response(card: EidCard, server: EidServer) -> None:
    """The citizen deselected the address; the wallet puts it back into the answer (from the card's memory)."""
    session_id, request = _request(server)
    response = card.authenticate(request, PIN, deselect=ADDRESS)
    elements = json.loads(card.path.read_text())["elements"]
    answer = dataclasses.replace(
        response.answer,
        chat=response.answer.chat | ADDRESS,
        data_groups={**response.answer.data_groups, DataGroup.PLACE_OF_RESIDENCE: elements["17"]},
    )
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(session_id, EidResponse(answer, answer.encode(), response.mac))
    assert _reason(caught) == "eid_chip_authentication"


def test_citizen_cannot_add_rights(card: EidCard, server: EidServer) -> None:
    """Deselection only removes optional rights; a required one, or one never asked for, is refused."""
    _, request = _request(server)
    for deselect in ([DataGroup.DATE_OF_BIRTH], [DataGroup.NATIONALITY], [AccessRight.RESTRICTED_IDENTIFICATION]):
        with pytest.raises(EidCardRefused) as caught:
            card.authenticate(request, PIN, deselect=deselect)
        assert _reason(caught) == "eid_selection_invalid"


def test_service_asks_beyond_its_certificate(card: EidCard) -> None:
    """A service signs a request for more than its terminal certificate grants: the card refuses."""
    pki = demo_pki()
    narrow = pki.issue_terminal(chr="DENARROW00001", holder_name="Nur Namen", rights=NAME_AND_BIRTH)
    honest = create_session(narrow, required=NAME_AND_BIRTH, now=NOW)
    greedy = dataclasses.replace(honest.content, required=NAME_AND_BIRTH | ADDRESS)
    request = sign_request(greedy, narrow.key, narrow.chain)
    with pytest.raises(EidCardRefused) as caught:
        card.authenticate(request, PIN)
    assert _reason(caught) == "eid_chat_widened"


def test_terminal_certificate_wider_than_its_dv(card: EidCard) -> None:
    pki = demo_pki()
    dv_key, terminal_key = PrivateKey.generate(), PrivateKey.generate()
    start, end = datetime.date(2025, 1, 1), datetime.date(2030, 1, 1)
    narrow_dv = issue_cv_certificate(
        pki.cvca_key,
        car=pki.cvca.chr,
        chr="DENARROWDV00001",
        chat=NAME_AND_BIRTH.with_role(Role.DV_NON_OFFICIAL),
        effective=start,
        expiry=end,
        public_key=dv_key.public_key,
        holder_name="Narrow DV",
    )
    wide_terminal = issue_cv_certificate(
        dv_key,
        car=narrow_dv.chr,
        chr="DEWIDETERM00001",
        chat=NAME_AND_BIRTH | ADDRESS,
        effective=start,
        expiry=end,
        public_key=terminal_key.public_key,
        holder_name="Wide",
    )
    server = EidServer(
        TerminalCredentials(terminal_key, narrow_dv, wide_terminal), pki.trust_anchors, clock=FrozenClock(NOW)
    )
    request = server.start(required=NAME_AND_BIRTH | ADDRESS)
    with pytest.raises(EidCardRefused) as caught:
        card.authenticate(request, PIN)
    assert _reason(caught) == "eid_chat_widened"
