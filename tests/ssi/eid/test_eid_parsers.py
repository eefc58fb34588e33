"""Property tests for the eID message parsers: whatever arrives (from a wallet, over HTTP), parsing either succeeds or
raises an ``EidError`` — never another exception, which a service would turn into a 500."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.eid import CvCertificate, EidAnswer, EidRequest, EidResponse, EidSession, SecurityObject, decode_element
from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import EidError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
answer_like = st.fixed_dictionaries(
    {},
    optional={
        "sid": st.one_of(st.text(max_size=40), json_values),
        "chat": st.one_of(st.sampled_from(["0000000810", "C0000000FF"]), json_values),
        "security_object": json_values,
        "data_groups": st.dictionaries(st.sampled_from(["4", "5", "8", "04", "99", "x"]), json_values, max_size=3),
        "document_valid": json_values,
        "restricted_id": json_values,
        "age_verification": json_values,
    },
)


def _only_eid_errors(parse: Any, value: Any) -> None:
    with contextlib.suppress(EidError):
        parse(value)


@settings(max_examples=150)
@given(st.one_of(st.text(max_size=200), json_values))
def test_text_and_json_never_crash_the_parsers(value: Any) -> None:
    for parse in (EidResponse.parse, CvCertificate.parse, SecurityObject.parse, decode_element, EidRequest.from_json):
        _only_eid_errors(parse, value)


@settings(max_examples=150)
@given(answer_like)
def test_answer_bodies(body: dict[str, Any]) -> None:
    _only_eid_errors(EidAnswer.from_json, body)
    text = b64url_encode(json_dumps(body).encode()) + "." + b64url_encode(bytes(32))
    _only_eid_errors(EidResponse.parse, text)


@settings(max_examples=100)
@given(st.dictionaries(st.sampled_from(["request", "ephemeral_key", "x"]), json_values, max_size=3))
def test_stored_sessions(value: dict[str, Any]) -> None:
    _only_eid_errors(EidSession.from_json, value)


@settings(max_examples=100)
@given(json_values)
def test_signed_payloads(payload: Any) -> None:
    """Well-formed JWS with arbitrary payloads (a signature is checked only after the form)."""
    from ssi.jose import sign_compact
    from ssi.keys import PrivateKey, SoftwareSigner

    signer = SoftwareSigner(PrivateKey.generate())
    for typ in ("eid-cvc+jwt", "eid-so+jwt", "eid-request+jwt"):
        token = sign_compact(json_dumps(payload).encode(), signer, {"typ": typ, "x5c": ["AAAA"]})
        _only_eid_errors(CvCertificate.parse, token)
        _only_eid_errors(SecurityObject.parse, token)
        _only_eid_errors(lambda t: EidRequest(("a", "b"), t).content(), token)


def test_data_group_numbers_are_canonical_ascii() -> None:
    base = {"sid": "a" * 16, "security_object": "x", "chat": "0000000000", "document_valid": True}
    for key in ("²", "٤", "04", "+4", "4 ", "0"):
        _only_eid_errors(EidAnswer.from_json, {**base, "data_groups": {key: "x"}})
        try:
            EidAnswer.from_json({**base, "data_groups": {key: "x"}})
        except EidError as exc:
            assert exc.reason == "eid_malformed"
        else:
            raise AssertionError(key)
