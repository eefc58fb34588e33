"""Property tests for bbs-2023: any selection of claims round-trips and reveals exactly the selection plus the
mandatory claims; any bit flip in a derived proof value, or any change to a revealed value, is refused with a
``DataIntegrityError`` (never another exception)."""

from __future__ import annotations

from typing import Any

from di_support import AGE_CREDENTIAL, AGE_MANDATORY, LOOKUP, PARKING_MANDATORY, PARKING_PERMIT, issue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssi.data_integrity import derive_proof, presentation_header, verify_derived_proof
from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import DataIntegrityError

PH = presentation_header(nonce="property", audience="https://portal.example.de")
AGE = issue(AGE_CREDENTIAL, AGE_MANDATORY)
PARKING = issue(PARKING_PERMIT, PARKING_MANDATORY)
AGE_CLAIMS = sorted(AGE_CREDENTIAL["credentialSubject"])
PARKING_POINTERS = [
    "/credentialSubject/family_name",
    "/credentialSubject/given_name",
    "/credentialSubject/address/street_address",
    "/credentialSubject/address/postal_code",
    "/credentialSubject/address/locality",
    "/credentialSubject/license_plate",
    "/credentialSubject/valid_until",
]
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(st.sets(st.sampled_from(AGE_CLAIMS)))
def test_any_age_selection_reveals_exactly_it(selection: set[str]) -> None:
    derived = derive_proof(
        AGE, selective_pointers=[f"/credentialSubject/{c}" for c in sorted(selection)], presentation_header=PH
    )
    document = verify_derived_proof(derived, LOOKUP, expected_presentation_header=PH).document
    revealed = document.get("credentialSubject", {})
    assert revealed == {c: AGE_CREDENTIAL["credentialSubject"][c] for c in selection}
    assert document["issuer"] == AGE_CREDENTIAL["issuer"] and document["validUntil"] == AGE_CREDENTIAL["validUntil"]


@FEW
@given(st.lists(st.sampled_from(PARKING_POINTERS), unique=True))
def test_any_parking_selection_in_any_order_verifies(pointers: list[str]) -> None:
    derived = derive_proof(PARKING, selective_pointers=pointers, presentation_header=PH)
    subject = verify_derived_proof(derived, LOOKUP, expected_presentation_header=PH).document["credentialSubject"]
    assert subject["parking_zone"] == "K-17"
    for pointer in pointers:
        *parents, last = pointer.split("/")[2:]
        node: Any = subject
        for parent in parents:
            node = node[parent]
        assert last in node


DERIVED = derive_proof(PARKING, selective_pointers=PARKING_POINTERS[:3], presentation_header=PH)
RAW = b64url_decode(DERIVED["proof"]["proofValue"][1:])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 8 * len(RAW) - 1))
def test_a_flipped_bit_in_the_proof_value_is_refused(bit: int) -> None:
    flipped = bytearray(RAW)
    flipped[bit // 8] ^= 1 << (bit % 8)
    tampered = {**DERIVED, "proof": {**DERIVED["proof"], "proofValue": "u" + b64url_encode(bytes(flipped))}}
    try:
        verify_derived_proof(tampered, LOOKUP, expected_presentation_header=PH)
    except DataIntegrityError:
        return
    raise AssertionError(f"bit {bit} flipped and the proof still verified")


@FEW
@given(st.sampled_from(["family_name", "given_name", "parking_zone"]), st.text(min_size=1, max_size=12))
def test_a_changed_revealed_value_is_refused(claim: str, value: str) -> None:
    if value == PARKING_PERMIT["credentialSubject"][claim]:
        value += "!"
    subject = {**DERIVED["credentialSubject"], claim: value}
    tampered = {**DERIVED, "credentialSubject": subject}
    try:
        verify_derived_proof(tampered, LOOKUP, expected_presentation_header=PH)
    except DataIntegrityError:
        return
    raise AssertionError("a changed claim verified")
