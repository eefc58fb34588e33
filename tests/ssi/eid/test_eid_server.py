"""The eID-Server side: requests, chip authentication, passive authentication and the release rules
(``ssi.eid.server``), against a chip double built from ``ssi.eid`` primitives."""

from __future__ import annotations

import dataclasses
import datetime
import os

import pytest
from eid_chip_double import ADDRESS, BIRTH, ERIKA, NAME, NOW, RI, ChipDouble

from ssi.clock import FrozenClock
from ssi.eid import (
    AccessRight,
    Chat,
    DataGroup,
    DocumentSigner,
    EidRequest,
    EidResponse,
    EidServer,
    EidSession,
    EidTrustAnchors,
    PartialDate,
    create_session,
    demo_pki,
    element_digest,
    encode_element,
    sign_security_object,
    verify_response,
)
from ssi.eid.messages import SecurityObject
from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import EidCardRefused, EidMalformed, EidVerificationFailed
from ssi.keys import PrivateKey


def _server(clock: FrozenClock | None = None, anchors: EidTrustAnchors | None = None) -> EidServer:
    pki = demo_pki()
    return EidServer(pki.pid_provider, anchors or pki.trust_anchors, clock=clock or FrozenClock(NOW))


def _session(**kwargs: object) -> EidSession:
    pki = demo_pki()
    options: dict[str, object] = {"required": NAME | BIRTH, "optional": ADDRESS | RI, "now": NOW}
    options.update(kwargs)
    return create_session(pki.pid_provider, **options)  # type: ignore[arg-type]


def _reason(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    return str(getattr(excinfo.value, "reason", ""))


def test_card_answer_verifies() -> None:
    server = _server()
    request = server.start(required=NAME | BIRTH, optional=ADDRESS | RI, minimum_age=18)
    request = EidRequest.from_json(request.to_json())  # as it travels
    session_id = request.content().session_id
    auth = server.finish(session_id, ChipDouble().respond(request))
    assert auth.source == "card" and auth.level_of_assurance == "high"
    assert auth.identity.family_names == "MUSTERMANN"
    assert auth.identity.date_of_birth == PartialDate(1964, 8, 12)
    assert auth.identity.place_of_residence is not None
    assert auth.data_groups == {
        DataGroup.GIVEN_NAMES,
        DataGroup.FAMILY_NAMES,
        DataGroup.DATE_OF_BIRTH,
        DataGroup.PLACE_OF_BIRTH,
        DataGroup.PLACE_OF_RESIDENCE,
    }
    assert auth.age_verified is True
    assert auth.restricted_id is not None and len(auth.restricted_id) == 32
    assert auth.terminal == "DEPIDPROV00001"
    assert "MUSTERMANN" not in str(auth.summary())


def test_optional_data_may_be_deselected() -> None:
    session = _session()
    response = ChipDouble().respond(session.request, deselect=ADDRESS | RI)
    auth = verify_response(session, response, demo_pki().trust_anchors, now=NOW)
    assert DataGroup.PLACE_OF_RESIDENCE not in auth.data_groups
    assert auth.identity.place_of_residence is None
    assert auth.restricted_id is None


def test_restricted_identification_is_per_sector() -> None:
    """TR-03110-3 §2.7: the same card, the same sector: the same pseudonym; another sector: another one."""
    pki = demo_pki()
    chip = ChipDouble()
    first = verify_response(s := _session(), chip.respond(s.request), pki.trust_anchors, now=NOW)
    second = verify_response(s := _session(), chip.respond(s.request), pki.trust_anchors, now=NOW)
    assert first.restricted_id == second.restricted_id
    other = pki.issue_terminal(chr="DEOTHERSVC00001", holder_name="Other service", rights=NAME | RI)
    session = create_session(other, required=NAME | RI, now=NOW)
    third = verify_response(session, chip.respond(session.request), pki.trust_anchors, now=NOW)
    assert third.restricted_id is not None and third.restricted_id != first.restricted_id


def test_age_and_place_verification() -> None:
    session = _session(minimum_age=65, place_verification="0276050315")
    assert session.content.age_verification == datetime.date(1960, 10, 9)
    auth = verify_response(session, ChipDouble().respond(session.request), demo_pki().trust_anchors, now=NOW)
    assert auth.age_verified is False and auth.place_verified is True
    assert auth.chat.may(AccessRight.AGE_VERIFICATION) and auth.chat.may(AccessRight.COMMUNITY_ID_VERIFICATION)


def test_request_within_the_terminal_certificate() -> None:
    """TR-03130: the server never asks for more than its authorization certificate grants."""
    with pytest.raises(EidMalformed) as caught:
        _session(required=Chat.of(read=[DataGroup.RESIDENCE_PERMIT_I]))
    assert caught.value.reason == "eid_request_exceeds_certificate"


def test_session_round_trips_through_storage() -> None:
    session = _session()
    restored = EidSession.from_json(session.to_json())
    assert restored.content == session.content
    response = ChipDouble().respond(restored.request)
    assert verify_response(restored, response, demo_pki().trust_anchors, now=NOW).identity.given_names == "ERIKA"
    broken = session.to_json()
    broken["ephemeral_key"] = PrivateKey.generate().private_jwk()
    with pytest.raises(EidMalformed):
        EidSession.from_json(broken)


# -- replay and session binding ---------------------------------------------------------------------------------------


def test_replayed_response_is_refused() -> None:
    server = _server()
    request = server.start(required=NAME)
    session_id = request.content().session_id
    response = ChipDouble().respond(request)
    server.finish(session_id, response)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(session_id, response)
    assert caught.value.reason == "eid_unknown_session"


def test_response_from_another_session_is_refused() -> None:
    server = _server()
    first, second = server.start(required=NAME), server.start(required=NAME)
    stolen = ChipDouble().respond(first)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(second.content().session_id, stolen)
    assert caught.value.reason == "eid_unknown_session"


def test_session_id_rewritten_breaks_chip_authentication() -> None:
    """Pointing another session's answer at this session: the MAC was keyed for the other ephemeral key."""
    chip = ChipDouble()
    first, second = _session(), _session()
    answer = dataclasses.replace(chip.answer(first.request), session_id=second.session_id)
    response = chip.seal(answer, first.request)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(second, response, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_chip_authentication"


def test_expired_session() -> None:
    clock = FrozenClock(NOW)
    server = _server(clock)
    request = server.start(required=NAME)
    response = ChipDouble().respond(request)
    clock.advance(601)
    with pytest.raises(EidVerificationFailed) as caught:
        server.finish(request.content().session_id, response)
    assert caught.value.reason == "eid_session_expired"


# -- chip authentication ----------------------------------------------------------------------------------------------


def test_answer_changed_after_the_mac() -> None:
    """The MAC covers the whole answer: a wallet cannot add, drop or change anything."""
    session = _session()
    chip = ChipDouble()
    response = EidResponse.parse(chip.respond(session.request))
    answer = dataclasses.replace(response.answer, age_verification=True)
    forged = EidResponse(answer, answer.encode(), response.mac)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, forged, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_chip_authentication"


def test_chip_without_the_chip_key() -> None:
    """A copy of a card's security object and data without its private key cannot answer."""
    session = _session()
    chip = ChipDouble()
    response = chip.seal(chip.answer(session.request), session.request, key=PrivateKey.generate())
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, response, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_chip_authentication"


# -- passive authentication -------------------------------------------------------------------------------------------


def test_card_from_another_csca() -> None:
    session = _session()
    foreign = ChipDouble(signer=DocumentSigner.generate("Foreign", now=NOW - 86400))
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, foreign.respond(session.request), demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_document_signer_untrusted"


def test_forged_data_group() -> None:
    """A data group element changed (here: another birth date) no longer matches its signed digest."""
    session = _session()
    chip = ChipDouble()
    answer = chip.answer(session.request)
    elements = dict(answer.data_groups)
    elements[DataGroup.DATE_OF_BIRTH] = encode_element(os.urandom(16), DataGroup.DATE_OF_BIRTH, "20100101")
    response = chip.seal(dataclasses.replace(answer, data_groups=elements), session.request)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, response, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_data_group_hash"


def test_forged_security_object_signature() -> None:
    """The security object re-signed by someone else under the document signer's certificate."""
    session = _session()
    chip = ChipDouble()
    pki = demo_pki()
    forged = sign_security_object(
        PrivateKey.generate(),
        [pki.document_signer.certificate],
        kind="card",
        digests={g: element_digest(e) for g, e in chip.elements.items()},
        chip_key=chip.chip_key.public_key,
        issued_at=int(NOW),
    )
    response = chip.seal(dataclasses.replace(chip.answer(session.request), security_object=forged), session.request)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, response, pki.trust_anchors, now=NOW)
    assert caught.value.reason == "eid_passive_authentication"


def test_document_kind_binds_the_anchor() -> None:
    """A Smart-eID provider cannot sign a "card", nor a document signer a "smart-eid"."""
    session = _session()
    pki = demo_pki()
    as_card = ChipDouble(signer=pki.smart_eid_signer, kind="card")
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, as_card.respond(session.request), pki.trust_anchors, now=NOW)
    assert caught.value.reason == "eid_document_signer_untrusted"
    session = _session()
    as_smart = ChipDouble(signer=pki.document_signer, kind="smart-eid", level_of_assurance="high", expires_at=2**40)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, as_smart.respond(session.request), pki.trust_anchors, now=NOW)
    assert caught.value.reason == "eid_document_signer_untrusted"


def test_smart_eid_reports_its_attested_level() -> None:
    session = _session()
    smart = ChipDouble(kind="smart-eid", level_of_assurance="substantial", expires_at=int(NOW) + 86400)
    auth = verify_response(session, smart.respond(session.request), demo_pki().trust_anchors, now=NOW)
    assert (auth.source, auth.level_of_assurance) == ("smart-eid", "substantial")
    expired = ChipDouble(kind="smart-eid", level_of_assurance="substantial", expires_at=int(NOW) - 1)
    session = _session()
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, expired.respond(session.request), demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_document_expired"


# -- what was released -------------------------------------------------------------------------------------------------


def test_rights_beyond_the_request_are_refused() -> None:
    """Even a chip that releases more (the nationality nobody asked for) is refused."""
    session = _session()
    chip = ChipDouble()
    answer = chip.answer(session.request)
    wider = answer.chat | Chat.of(read=[DataGroup.NATIONALITY])
    elements = {**answer.data_groups, DataGroup.NATIONALITY: chip.elements[DataGroup.NATIONALITY]}
    response = chip.seal(dataclasses.replace(answer, chat=wider, data_groups=elements), session.request)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, response, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_unrequested_data"


def test_data_groups_beyond_the_effective_rights_are_refused() -> None:
    session = _session()
    chip = ChipDouble()
    answer = chip.answer(session.request, deselect=ADDRESS)
    elements = {**answer.data_groups, DataGroup.PLACE_OF_RESIDENCE: chip.elements[DataGroup.PLACE_OF_RESIDENCE]}
    response = chip.seal(dataclasses.replace(answer, data_groups=elements), session.request)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, response, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_unrequested_data"


def test_required_rights_cannot_be_dropped() -> None:
    session = _session()
    chip = ChipDouble()
    answer = chip.answer(session.request)
    narrower = answer.chat.without(Chat.of(read=[DataGroup.DATE_OF_BIRTH]))
    elements = {g: e for g, e in answer.data_groups.items() if g is not DataGroup.DATE_OF_BIRTH}
    response = chip.seal(dataclasses.replace(answer, chat=narrower, data_groups=elements), session.request)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, response, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_required_data_missing"


def test_granted_data_the_card_holds_cannot_be_withheld() -> None:
    session = _session()
    chip = ChipDouble()
    answer = chip.answer(session.request)
    elements = {g: e for g, e in answer.data_groups.items() if g is not DataGroup.PLACE_OF_BIRTH}
    response = chip.seal(dataclasses.replace(answer, data_groups=elements), session.request)
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, response, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_required_data_missing"


def test_data_the_card_does_not_hold_is_absent() -> None:
    """An old ID card without DG10: a granted nationality is simply absent."""
    session = _session(optional=Chat.of(read=[DataGroup.NATIONALITY]))
    chip = ChipDouble(identity=dataclasses.replace(ERIKA, nationality=None))
    auth = verify_response(session, chip.respond(session.request), demo_pki().trust_anchors, now=NOW)
    assert auth.identity.nationality is None


def test_special_functions_answered_exactly_when_granted() -> None:
    session = _session()
    chip = ChipDouble()
    answer = chip.answer(session.request, deselect=RI)
    response = chip.seal(dataclasses.replace(answer, restricted_id=bytes(32)), session.request)
    with pytest.raises(EidMalformed):
        verify_response(session, response, demo_pki().trust_anchors, now=NOW)
    answer = chip.answer(session.request)
    response = chip.seal(dataclasses.replace(answer, age_verification=True), session.request)
    with pytest.raises(EidMalformed):
        verify_response(session, response, demo_pki().trust_anchors, now=NOW)


def test_expired_document() -> None:
    """TR-03127 document validity verification: an expired card does not authenticate."""
    chip = ChipDouble(identity=dataclasses.replace(ERIKA, date_of_expiry=datetime.date(2023, 3, 31)))
    session = _session()
    with pytest.raises(EidVerificationFailed) as caught:
        verify_response(session, chip.respond(session.request), demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_document_expired"
    session = _session(required=NAME | Chat.of(read=[DataGroup.DATE_OF_EXPIRY]))
    answer = chip.answer(session.request)
    lying = chip.seal(dataclasses.replace(answer, document_valid=True), session.request)
    with pytest.raises(EidVerificationFailed) as caught:  # DG3 released: the server checks it itself too
        verify_response(session, lying, demo_pki().trust_anchors, now=NOW)
    assert caught.value.reason == "eid_document_expired"


# -- message form ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "a.b.c", "nodot", "!!.AAAA", b64url_encode(b"[]") + "." + b64url_encode(bytes(32)), "x" * 70000],
)
def test_malformed_responses(text: str) -> None:
    with pytest.raises(EidMalformed):
        EidResponse.parse(text)


def test_answer_members_are_strict() -> None:
    session = _session()
    answer = ChipDouble().answer(session.request)
    body = answer.to_json()
    for change in ({"extra": 1}, {"document_valid": "yes"}, {"data_groups": {"99": "x"}}, {"data_groups": {"04": "x"}}):
        text = b64url_encode(json_dumps({**body, **change}).encode()) + "." + b64url_encode(bytes(32))
        with pytest.raises(EidMalformed):
            EidResponse.parse(text)


def test_request_form() -> None:
    request = _session().request
    for value in (
        {"certificates": [], "request": request.signed},
        {"certificates": list(request.certificates)},
        {**request.to_json(), "extra": 1},
        {"certificates": list(request.certificates), "request": "a.b.c"},
    ):
        with pytest.raises(EidMalformed):
            EidRequest.from_json(value)
    with pytest.raises(EidCardRefused) as caught:
        request.verify(PrivateKey.generate().public_key)
    assert caught.value.reason == "eid_request_signature"


def test_security_object_form() -> None:
    with pytest.raises(EidMalformed):
        SecurityObject.parse("x.y.z")
    pki = demo_pki()
    smart_without_loa = sign_security_object(
        pki.smart_eid_signer.key,
        [pki.smart_eid_signer.certificate],
        kind="smart-eid",
        digests={DataGroup.GIVEN_NAMES: b64url_encode(bytes(32))},
        chip_key=PrivateKey.generate().public_key,
        issued_at=int(NOW),
    )
    with pytest.raises(EidMalformed):
        SecurityObject.parse(smart_without_loa)
