"""Keyed subject pseudonyms (issuer.subjects) and the type document's ``subject`` / ``requires_approval`` members."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuer import shipped_credential_types
from issuer.credential_type import CredentialTypeError, load_credential_type
from issuer.subjects import SubjectError, normalise_subject, subject_pseudonym

SECRET = b"\x01" * 32


def test_pseudonym_is_keyed_per_authority_and_kind() -> None:
    base = subject_pseudonym(SECRET, 1, "license_plate", "K-EM 1964")
    assert len(base) == 64 and int(base, 16) >= 0
    assert subject_pseudonym(SECRET, 1, "license_plate", "k em1964") == base
    assert subject_pseudonym(SECRET, 2, "license_plate", "K-EM 1964") != base
    assert subject_pseudonym(SECRET, 1, "document_number", "K-EM 1964") != base
    assert subject_pseudonym(b"\x02" * 32, 1, "license_plate", "K-EM 1964") != base
    for kind in ("", "Plate", "1x", "x" * 41):
        with pytest.raises(SubjectError):
            subject_pseudonym(SECRET, 1, kind, "a")
    for value in ("", "   ", " - . ", "x" * 201):
        with pytest.raises(SubjectError):
            normalise_subject(value)


@given(st.text(min_size=1, max_size=40))
def test_normalisation_is_idempotent(value: str) -> None:
    try:
        once = normalise_subject(value)
    except SubjectError:
        return
    assert normalise_subject(once) == once and once == once.upper() and " " not in once and "-" not in once


def _doc(**changes: Any) -> dict[str, Any]:
    document = dict(shipped_credential_types()["bewohnerparkausweis"].document)
    document.update(changes)
    return document


def test_type_subject_and_approval_members() -> None:
    shipped = shipped_credential_types()["bewohnerparkausweis"]
    assert shipped.subject_claim == ("license_plate",) and shipped.subject_kind == "license_plate"
    assert shipped.requires_approval is False
    assert shipped.subject_value({"license_plate": "K-EM 1964"}) == "K-EM 1964"
    ctype = load_credential_type(_doc(subject={"claim": ["license_plate"]}, requires_approval=True))
    assert ctype.subject_kind == "license_plate" and ctype.requires_approval
    only_kind = load_credential_type(_doc(subject={"kind": "document_number"}))
    assert only_kind.subject_claim is None and only_kind.subject_value({"license_plate": "x"}) is None
    for bad in (
        {"subject": {"claim": ["address"]}},  # an object claim
        {"subject": {"claim": ["nope"]}},
        {"subject": {"claim": ["license_plate"], "kind": "Bad Kind"}},
        {"subject": {"claim": ["license_plate"], "extra": 1}},
        {"subject": "license_plate"},
        {"requires_approval": "yes"},
    ):
        with pytest.raises(CredentialTypeError):
            load_credential_type(_doc(**bad))
