"""Credential Request / Response and Nonce Response (OpenID4VCI 1.0 §7, §8)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.errors import InvalidCredentialRequest, InvalidEncryptionParameters, InvalidProof, Oid4vciError
from ssi.oid4vci import CredentialRequest, CredentialResponse, nonce_response, parse_credential_request


def test_section_8_2_by_configuration_id() -> None:
    request = parse_credential_request({"credential_configuration_id": "mdl", "proofs": {"jwt": ["a", "b"]}})
    assert request == CredentialRequest("mdl", None, "jwt", ("a", "b"))
    assert parse_credential_request(request.to_json()) == request


def test_section_8_2_by_credential_identifier() -> None:
    request = parse_credential_request(
        {"credential_identifier": "CivilEngineeringDegree-2023", "proofs": {"jwt": ["a"]}}
    )
    assert request.credential_identifier == "CivilEngineeringDegree-2023"


def test_section_8_2_identifiers_are_exclusive_and_one_is_required() -> None:
    with pytest.raises(InvalidCredentialRequest) as err:
        parse_credential_request({"credential_configuration_id": "a", "credential_identifier": "b"})
    assert err.value.code == "invalid_credential_request"
    with pytest.raises(InvalidCredentialRequest):
        parse_credential_request({"proofs": {"jwt": ["a"]}})


@pytest.mark.parametrize(
    "proofs",
    [[], {}, {"jwt": "a"}, {"jwt": []}, {"jwt": ["a"], "di_vp": [{}]}, "x"],
)
def test_section_8_2_proofs_structure_is_invalid_proof(proofs: Any) -> None:
    """§8.2: proofs "contains exactly one parameter named as the proof type ... a non-empty array"; §8.3.1.2: a
    malformed proofs parameter is invalid_proof."""
    with pytest.raises(InvalidProof) as err:
        parse_credential_request({"credential_configuration_id": "a", "proofs": proofs})
    assert err.value.code == "invalid_proof"


def test_section_12_2_4_batch_size_bounds_the_proofs() -> None:
    body = {"credential_configuration_id": "a", "proofs": {"jwt": ["p"] * 11}}
    with pytest.raises(InvalidCredentialRequest) as err:
        parse_credential_request(body, max_proofs=10)
    assert err.value.reason == "too_many_proofs"
    assert len(parse_credential_request(body, max_proofs=11).proofs) == 11


def test_section_8_2_response_encryption_not_offered() -> None:
    with pytest.raises(InvalidEncryptionParameters) as err:
        parse_credential_request(
            {"credential_configuration_id": "a", "credential_response_encryption": {"jwk": {}, "enc": "A128GCM"}}
        )
    assert err.value.code == "invalid_encryption_parameters"


def test_section_8_2_unknown_parameters_ignored() -> None:
    """§8.2: "The Credential Issuer MUST ignore any unrecognized parameters" (also the pre-final singular proof)."""
    request = parse_credential_request({"credential_configuration_id": "a", "proof": {"proof_type": "jwt"}, "x": 1})
    assert request.proofs == () and request.proof_type is None


def test_section_8_3_response_and_section_7_2_nonce() -> None:
    assert CredentialResponse(["c1", "c2"], "n-1").to_json() == {
        "credentials": [{"credential": "c1"}, {"credential": "c2"}],
        "notification_id": "n-1",
    }
    assert nonce_response("abc") == {"c_nonce": "abc"}


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=30), c, max_size=4),
        max_leaves=12,
    )
)
def test_property_arbitrary_json_raises_only_oid4vci_errors(body: Any) -> None:
    with contextlib.suppress(Oid4vciError):
        parse_credential_request(body)
