"""Authorization Responses at the Response URI (OpenID4VP 1.0 §8.1, §8.2, §8.3.1, §8.5): the Wallet builds the form,
the Verifier parses it — and refuses what does not belong to the request."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oid4vp_support import make_verifier, request

from ssi.encoding import json_dumps
from ssi.errors import InvalidAuthorizationResponse, InvalidRequestObject, Oid4vpError
from ssi.oid4vp import (
    DIRECT_POST,
    DIRECT_POST_JWT,
    ResponseEncryptionKey,
    encrypt_response,
    error_response_form,
    parse_authorization_request_link,
    parse_authorization_response,
    parse_vp_token,
    response_form,
)

V = make_verifier()
VP = {"pid": ["eyJhbGciOiJFUzI1NiJ9.e30.sig~WyJ...~kb"]}


def refusal(form: dict[str, str], **kwargs: Any) -> str:
    with pytest.raises(InvalidAuthorizationResponse) as err:
        parse_authorization_response(form, **kwargs)
    return err.value.reason


def test_direct_post_round_trip_section_8_2() -> None:
    req, _ = request(V, response_mode=DIRECT_POST)
    form = response_form(req, VP)
    assert set(form) == {"vp_token", "state"}
    assert form["vp_token"] == json_dumps(VP)  # "a JSON-encoded object"
    response = parse_authorization_response(form, response_mode=DIRECT_POST, expected_state="state-1")
    assert response.vp_token == VP and response.state == "state-1" and not response.encrypted


def test_direct_post_jwt_round_trip_section_8_3_1() -> None:
    req, key = request(V)
    form = response_form(req, VP)
    assert set(form) == {"response"}
    response = parse_authorization_response(form, response_mode=DIRECT_POST_JWT, key=key, expected_state="state-1")
    assert response.vp_token == VP and response.encrypted


def test_response_mode_rules() -> None:
    req, key = request(V)
    plain = response_form(replace(req, response_mode=DIRECT_POST), VP)
    # a plaintext vp_token where an encrypted response was requested
    assert refusal(plain, response_mode=DIRECT_POST_JWT, key=key) == "response_not_encrypted"
    assert refusal({}, response_mode=DIRECT_POST_JWT, key=key) == "response_malformed"
    assert refusal(response_form(req, VP), response_mode=DIRECT_POST_JWT, key=None) == "response_decryption_failed"
    # encrypted to another request's key
    other_req, _ = request(V)
    assert refusal(response_form(other_req, VP), response_mode=DIRECT_POST_JWT, key=key) in {
        "response_decryption_failed",
        "response_wrong_key",
    }
    with pytest.raises(Oid4vpError):
        parse_authorization_response(plain, response_mode="fragment")


def test_state_must_belong_to_the_request() -> None:
    req, key = request(V)
    assert (
        refusal(response_form(req, VP), response_mode=DIRECT_POST_JWT, key=key, expected_state="state-2")
        == "state_mismatch"
    )
    without = replace(req, state=None)
    assert (
        refusal(response_form(without, VP), response_mode=DIRECT_POST_JWT, key=key, expected_state="state-1")
        == "state_mismatch"
    )
    plain = response_form(replace(req, response_mode=DIRECT_POST), VP)
    assert refusal(plain, response_mode=DIRECT_POST, expected_state="other") == "state_mismatch"


def test_encrypted_payload_rules() -> None:
    _, key = request(V)
    for payload, expected in [
        ({"state": "state-1"}, "vp_token_missing"),
        ({"vp_token": [], "state": "state-1"}, "vp_token_malformed"),
        ({"vp_token": {"pid": []}, "state": "state-1"}, "vp_token_malformed"),
        ({"vp_token": {"pid": [5]}, "state": "state-1"}, "vp_token_malformed"),
        ({"vp_token": {"pid": [""]}, "state": "state-1"}, "vp_token_too_large"),
        ({"vp_token": VP, "state": 7}, "state_mismatch"),
        ({"error": "made_up", "state": "state-1"}, "response_malformed"),
    ]:
        form = {"response": encrypt_response(payload, key.public_jwk, "A128GCM")}
        assert refusal(form, response_mode=DIRECT_POST_JWT, key=key, expected_state="state-1") == expected


def test_error_responses_section_8_5() -> None:
    """The wallet declines: an error response, encrypted when it can be, plain otherwise (§8.3.1)."""
    req, key = request(V)
    form = error_response_form(req, "access_denied", "the user declined")
    assert set(form) == {"response"}
    response = parse_authorization_response(form, response_mode=DIRECT_POST_JWT, key=key, expected_state="state-1")
    assert (response.error, response.error_description, response.vp_token) == (
        "access_denied",
        "the user declined",
        None,
    )
    plain = error_response_form(req, "invalid_request", "unsupported client_id prefix", encrypt=False)
    assert plain == {
        "error": "invalid_request",
        "error_description": "unsupported client_id prefix",
        "state": "state-1",
    }
    assert parse_authorization_response(plain, response_mode=DIRECT_POST_JWT, key=key).error == "invalid_request"
    # before a request could be verified there is no request object: the state from the link, unencrypted
    assert error_response_form(None, "invalid_request", state="s") == {"error": "invalid_request", "state": "s"}
    # an unusable key in client_metadata: the error goes unencrypted
    broken = replace(req, client_metadata={"jwks": {"keys": []}})
    assert "error" in error_response_form(broken, "vp_formats_not_supported")
    assert refusal({"error": "nope"}, response_mode=DIRECT_POST) == "response_malformed"
    assert refusal({"error": "access_denied", "error_description": "x" * 2000}, response_mode=DIRECT_POST) == (
        "response_malformed"
    )


def test_vp_token_rules_section_8_1() -> None:
    def reason(value: Any) -> str:
        with pytest.raises(InvalidAuthorizationResponse) as err:
            parse_vp_token(value, error=InvalidAuthorizationResponse)
        return err.value.reason

    assert parse_vp_token(json_dumps(VP), error=InvalidAuthorizationResponse) == VP
    assert parse_vp_token({"mdl": [{"k": 1}]}, error=InvalidAuthorizationResponse) == {"mdl": [{"k": 1}]}
    assert reason("{") == "vp_token_malformed"
    assert reason("[]") == "vp_token_malformed"
    assert reason({"a": "x"}) == "vp_token_malformed"
    assert reason({f"q{i}": ["x"] for i in range(33)}) == "vp_token_too_large"
    assert reason({"a": ["x"] * 17}) == "vp_token_too_large"
    assert reason({"a": ["x" * (128 * 1024 + 1)]}) == "vp_token_too_large"
    assert reason("x" * (16 * 128 * 1024 + 1)) == "vp_token_too_large"


def test_missing_vp_token_in_plain_form() -> None:
    assert refusal({"state": "s"}, response_mode=DIRECT_POST) == "vp_token_missing"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_link_parser_never_fails_otherwise(text: str) -> None:
    with contextlib.suppress(InvalidRequestObject):
        parse_authorization_request_link("openid4vp://?" + text)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
        max_leaves=10,
    )
)
def test_vp_token_parser_never_fails_otherwise(value: Any) -> None:
    try:
        parse_vp_token(value, error=InvalidAuthorizationResponse)
        parse_vp_token(json_dumps(value), error=InvalidAuthorizationResponse)
    except InvalidAuthorizationResponse:
        pass


def test_response_keys_are_per_request() -> None:
    """HAIP 1.0: an ephemeral key per request — two requests never share one."""
    first, second = request(V), request(V)
    assert first[1].public_jwk != second[1].public_jwk
    assert ResponseEncryptionKey.generate("a").private_jwk["d"] != ResponseEncryptionKey.generate("a").private_jwk["d"]
