"""Card-verifiable certificates and the card's chain check (TR-03110-3 §2.5, Appendix C)."""

from __future__ import annotations

import datetime

import pytest

from ssi.eid import (
    AccessRight,
    Chat,
    CvCertificate,
    DataGroup,
    Role,
    demo_key,
    demo_pki,
    issue_cv_certificate,
    verify_terminal_chain,
)
from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import EidCardRefused, EidMalformed
from ssi.jose import sign_compact
from ssi.keys import PrivateKey, SoftwareSigner

TODAY = datetime.date(2025, 10, 9)


def _terminal(
    *,
    issuer_key: PrivateKey | None = None,
    car: str = "DEDVGOVSSI00001",
    chat: Chat | None = None,
    effective: datetime.date = datetime.date(2025, 1, 1),
    expiry: datetime.date = datetime.date(2030, 1, 1),
) -> CvCertificate:
    pki = demo_pki()
    return issue_cv_certificate(
        issuer_key or pki.dv_key,
        car=car,
        chr="DETESTTERM00001",
        chat=chat or Chat.of(read=[DataGroup.GIVEN_NAMES]),
        effective=effective,
        expiry=expiry,
        public_key=demo_key("test terminal").public_key,
        holder_name="Test Terminal",
    )


def test_demo_chain_verifies() -> None:
    pki = demo_pki()
    terminal = verify_terminal_chain(pki.pid_provider.chain, pki.trust_points, today=TODAY)
    assert terminal.chr == "DEPIDPROV00001"
    assert terminal.role is Role.TERMINAL
    assert terminal.description is not None and terminal.description.subject_name == "govssi Demo PID-Provider"
    assert terminal.sector_key is not None
    assert terminal.chat.may(AccessRight.RESTRICTED_IDENTIFICATION)


def test_chain_from_another_cvca_is_untrusted() -> None:
    """The first certificate must be issued by one of the card's trust points."""
    foreign_cvca, foreign_dv = PrivateKey.generate(), PrivateKey.generate()
    dv = issue_cv_certificate(
        foreign_cvca,
        car="DEEVILCVCA00001",
        chr="DEEVILDV00001",
        chat=Chat.all_rights(Role.DV_OFFICIAL),
        effective=datetime.date(2025, 1, 1),
        expiry=datetime.date(2030, 1, 1),
        public_key=foreign_dv.public_key,
        holder_name="Evil DV",
    )
    terminal = _terminal(issuer_key=foreign_dv, car="DEEVILDV00001")
    with pytest.raises(EidCardRefused) as caught:
        verify_terminal_chain([dv, terminal], demo_pki().trust_points, today=TODAY)
    assert caught.value.reason == "eid_terminal_untrusted"


def test_cvca_name_with_another_key_is_untrusted() -> None:
    """A DV certificate naming the real CVCA but signed by another key fails the signature check."""
    pki = demo_pki()
    forged_dv = issue_cv_certificate(
        PrivateKey.generate(),
        car=pki.cvca.chr,
        chr=pki.dv.chr,
        chat=Chat.all_rights(Role.DV_OFFICIAL),
        effective=datetime.date(2025, 1, 1),
        expiry=datetime.date(2030, 1, 1),
        public_key=pki.dv_key.public_key,
        holder_name="forged",
    )
    with pytest.raises(EidCardRefused) as caught:
        verify_terminal_chain([forged_dv, _terminal()], pki.trust_points, today=TODAY)
    assert caught.value.reason == "eid_terminal_untrusted"


@pytest.mark.parametrize(
    ("effective", "expiry"),
    [
        (datetime.date(2024, 1, 1), datetime.date(2025, 10, 8)),  # expired yesterday
        (datetime.date(2025, 10, 10), datetime.date(2026, 1, 1)),  # effective tomorrow
    ],
)
def test_terminal_certificate_outside_validity(effective: datetime.date, expiry: datetime.date) -> None:
    pki = demo_pki()
    terminal = _terminal(effective=effective, expiry=expiry)
    with pytest.raises(EidCardRefused) as caught:
        verify_terminal_chain([pki.dv, terminal], pki.trust_points, today=TODAY)
    assert caught.value.reason == "eid_terminal_expired"


def test_validity_is_inclusive() -> None:
    pki = demo_pki()
    terminal = _terminal(effective=TODAY, expiry=TODAY)
    assert verify_terminal_chain([pki.dv, terminal], pki.trust_points, today=TODAY).chr == "DETESTTERM00001"


def test_expired_trust_point() -> None:
    pki = demo_pki()
    with pytest.raises(EidCardRefused) as caught:
        verify_terminal_chain(pki.pid_provider.chain, pki.trust_points, today=datetime.date(2045, 1, 2))
    assert caught.value.reason == "eid_terminal_expired"


def test_terminal_rights_beyond_the_dv_are_refused() -> None:
    """A DV with few rights cannot give a terminal more."""
    pki = demo_pki()
    narrow_key = PrivateKey.generate()
    narrow_dv = issue_cv_certificate(
        pki.cvca_key,
        car=pki.cvca.chr,
        chr="DENARROWDV00001",
        chat=Chat.of(read=[DataGroup.GIVEN_NAMES], role=Role.DV_NON_OFFICIAL),
        effective=datetime.date(2025, 1, 1),
        expiry=datetime.date(2030, 1, 1),
        public_key=narrow_key.public_key,
        holder_name="Narrow DV",
    )
    terminal = _terminal(
        issuer_key=narrow_key, car="DENARROWDV00001", chat=Chat.of(read=[DataGroup.GIVEN_NAMES, DataGroup.NATIONALITY])
    )
    with pytest.raises(EidCardRefused) as caught:
        verify_terminal_chain([narrow_dv, terminal], pki.trust_points, today=TODAY)
    assert caught.value.reason == "eid_chat_widened"


def test_roles_must_follow_cvca_dv_terminal() -> None:
    """A certificate with the terminal role cannot stand in for a DV (its holder would issue terminals), and a DV
    certificate cannot end the chain."""
    pki = demo_pki()
    fake_dv_key = PrivateKey.generate()
    terminal_as_dv = issue_cv_certificate(
        pki.cvca_key,
        car=pki.cvca.chr,
        chr="DEFAKEDV00001",
        chat=Chat.of(read=[DataGroup.GIVEN_NAMES]),  # role TERMINAL
        effective=datetime.date(2025, 1, 1),
        expiry=datetime.date(2030, 1, 1),
        public_key=fake_dv_key.public_key,
        holder_name="not a DV",
    )
    terminal = _terminal(issuer_key=fake_dv_key, car="DEFAKEDV00001")
    with pytest.raises(EidCardRefused) as caught:
        verify_terminal_chain([terminal_as_dv, terminal], pki.trust_points, today=TODAY)
    assert caught.value.reason == "eid_terminal_untrusted"
    second_dv_key = PrivateKey.generate()
    dv_as_terminal = issue_cv_certificate(
        pki.dv_key,
        car=pki.dv.chr,
        chr="DESECONDDV00001",
        chat=Chat.of(read=[DataGroup.GIVEN_NAMES], role=Role.DV_OFFICIAL),
        effective=datetime.date(2025, 1, 1),
        expiry=datetime.date(2030, 1, 1),
        public_key=second_dv_key.public_key,
        holder_name="a DV",
    )
    with pytest.raises(EidCardRefused) as caught:
        verify_terminal_chain([pki.dv, dv_as_terminal], pki.trust_points, today=TODAY)
    assert caught.value.reason == "eid_terminal_untrusted"


def _signed(body: dict[str, object], header: dict[str, object] | None = None) -> str:
    return sign_compact(
        json_dumps(body).encode(), SoftwareSigner(PrivateKey.generate()), header or {"typ": "eid-cvc+jwt"}
    )


def test_malformed_certificates_refused() -> None:
    good = demo_pki().dv
    body = {
        "car": good.car,
        "chr": good.chr,
        "chat": good.chat.hex,
        "ced": "2025-01-01",
        "cxd": "2030-01-01",
        "key": good.public_key.jwk,
        "holder": "x",
    }
    CvCertificate.parse(_signed(body))
    for change in (
        {"car": "DE1"},  # TR-03110-3 §A.6.1 reference
        {"ced": "2031-01-01"},  # expires before effective
        {"cxd": "2030-02-30"},
        {"chat": "XX"},
        {"extra": 1},
        {"key": {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(bytes(32))}},
    ):
        with pytest.raises(EidMalformed):
            CvCertificate.parse(_signed({**body, **change}))
    with pytest.raises(EidMalformed):
        CvCertificate.parse(_signed(body, {"typ": "JWT"}))
    with pytest.raises(EidMalformed):
        CvCertificate.parse("not.a.jws")
    with pytest.raises(EidMalformed):
        verify_terminal_chain([good.encoded], demo_pki().trust_points, today=TODAY)
