"""Token Request / Response of the Pre-Authorized Code Flow (OpenID4VCI 1.0 §6, RFC 6749, RFC 9396)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.errors import InvalidAuthorizationDetails, Oid4vciError, UnsupportedGrantType
from ssi.oid4vci import (
    PRE_AUTHORIZED_CODE_GRANT,
    AuthorizationDetail,
    TokenRequest,
    TokenResponse,
    parse_token_request,
)

GRANT = ("grant_type", PRE_AUTHORIZED_CODE_GRANT)


def test_section_6_1_spec_example() -> None:
    """§6.1 example: grant_type, pre-authorized_code, tx_code and authorization_details."""
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": "UniversityDegreeCredential"}])
    request = parse_token_request(
        [
            GRANT,
            ("pre-authorized_code", "SplxlOBeZQQYbYS6WxSbIA"),
            ("tx_code", "493536"),
            ("authorization_details", details),
        ]
    )
    assert request == TokenRequest(
        "SplxlOBeZQQYbYS6WxSbIA", "493536", (AuthorizationDetail("UniversityDegreeCredential"),), None
    )
    assert parse_token_request(request.to_form().items()) == request


def test_rfc6749_3_2_repeated_parameter_is_invalid_request() -> None:
    """RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once"."""
    with pytest.raises(Oid4vciError) as err:
        parse_token_request([GRANT, ("pre-authorized_code", "a"), ("pre-authorized_code", "b")])
    assert err.value.code == "invalid_request" and err.value.reason == "repeated_parameter"


def test_missing_grant_type_is_invalid_request() -> None:
    with pytest.raises(Oid4vciError) as err:
        parse_token_request([("pre-authorized_code", "a")])
    assert err.value.code == "invalid_request"


@pytest.mark.parametrize("grant", ["authorization_code", "client_credentials", "urn:x"])
def test_rfc6749_5_2_other_grants_unsupported(grant: str) -> None:
    with pytest.raises(UnsupportedGrantType) as err:
        parse_token_request([("grant_type", grant), ("code", "x")])
    assert err.value.code == "unsupported_grant_type"


def test_section_6_1_pre_authorized_code_required() -> None:
    """§6.1: "This parameter MUST be present if the grant_type is
    urn:ietf:params:oauth:grant-type:pre-authorized_code"."""
    with pytest.raises(Oid4vciError) as err:
        parse_token_request([GRANT, ("tx_code", "1234")])
    assert err.value.code == "invalid_request"


def test_section_6_1_unknown_parameters_ignored() -> None:
    """§6.1: "The Authorization Server MUST ignore any unrecognized parameters"."""
    request = parse_token_request([GRANT, ("pre-authorized_code", "a"), ("foo", "1"), ("foo", "2")])
    assert request.pre_authorized_code == "a"


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        "{}",
        "[]",
        '[{"type": "other"}]',
        '[{"type": "openid_credential"}]',
        '[{"type": "openid_credential", "credential_configuration_id": 5}]',
        '[{"type": "openid_credential", "credential_configuration_id": "a", "locations": "x"}]',
        "[" + ",".join(['{"type":"openid_credential","credential_configuration_id":"a"}'] * 17) + "]",
    ],
)
def test_rfc9396_malformed_authorization_details(value: str) -> None:
    with pytest.raises(InvalidAuthorizationDetails) as err:
        parse_token_request([GRANT, ("pre-authorized_code", "a"), ("authorization_details", value)])
    assert err.value.code == "invalid_authorization_details"


def test_limits() -> None:
    with pytest.raises(Oid4vciError):
        parse_token_request([GRANT, ("pre-authorized_code", "a" * 513)])
    with pytest.raises(Oid4vciError):
        parse_token_request([GRANT, ("pre-authorized_code", "a"), ("tx_code", "1" * 65)])
    with pytest.raises(Oid4vciError):
        parse_token_request([GRANT, ("pre-authorized_code", "a"), *[(f"p{i}", "x") for i in range(40)]])


def test_section_6_2_token_response() -> None:
    """§6.2: authorization_details with credential_identifiers when authorization_details were requested; RFC 9449
    §5: token_type DPoP."""
    detail = AuthorizationDetail("pid")
    doc = TokenResponse("tok", 300, authorization_details=[(detail, ["pid-1"])]).to_json()
    assert doc == {
        "access_token": "tok",
        "token_type": "DPoP",
        "expires_in": 300,
        "authorization_details": [
            {"type": "openid_credential", "credential_configuration_id": "pid", "credential_identifiers": ["pid-1"]}
        ],
    }
    assert "authorization_details" not in TokenResponse("tok", 300, token_type="Bearer").to_json()


@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=60)), max_size=40))
def test_property_arbitrary_parameters_raise_only_oid4vci_errors(pairs: list[tuple[str, str]]) -> None:
    with contextlib.suppress(Oid4vciError):
        parse_token_request(pairs)
