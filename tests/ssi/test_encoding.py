"""Strict encodings: base64url (RFC 7515 §2, RFC 4648 §5) and JSON (RFC 8259, RFC 7493)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.encoding import b64url_decode, b64url_encode, b64url_json, json_dumps, json_loads
from ssi.errors import EncodingError, SsiError

PROPERTY = settings(max_examples=200, deadline=None)


# --- base64url ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"\xfb\xff", "-_8"),  # RFC 4648 §5: '-' and '_' replace '+' and '/'
        (b'{"alg":"EdDSA"}', "eyJhbGciOiJFZERTQSJ9"),  # RFC 8037 §A.4 protected header
    ],
)
def test_rfc7515_s2_base64url_without_padding(raw: bytes, encoded: str) -> None:
    """RFC 7515 §2: Base64url Encoding "with all trailing '=' characters omitted"."""
    assert b64url_encode(raw) == encoded
    assert b64url_decode(encoded) == raw
    assert b64url_decode(encoded.encode("ascii")) == raw


@pytest.mark.parametrize("text", ["Zg==", "Zm8=", "Zg=", "=", "Zm9v===="])
def test_rfc7515_s2_padding_is_rejected(text: str) -> None:
    """RFC 7515 §2: padding characters are omitted, so a padded value is not base64url."""
    with pytest.raises(EncodingError) as info:
        b64url_decode(text)
    assert info.value.reason == "bad_base64url"


@pytest.mark.parametrize("text", ["+_8", "-/8", "a+b/", "Zm 9v", "Zm9v\n", " Zm9v", "Zm9v\t", "Zm9v!", "Zm9\u00e9"])
def test_rfc4648_s5_only_url_safe_alphabet(text: str) -> None:
    """RFC 4648 §5 / RFC 7515 §2: '+' and '/' (and whitespace, and anything else) are not in the alphabet."""
    with pytest.raises(EncodingError):
        b64url_decode(text)


@pytest.mark.parametrize("text", ["Z", "Zm9vY", "AAAAA", "Zm9vYmFyY"])
def test_rfc4648_length_mod_4_of_1_is_impossible(text: str) -> None:
    """A single leftover character carries only 6 bits, less than one octet: no encoder produces it."""
    assert len(text) % 4 == 1
    with pytest.raises(EncodingError):
        b64url_decode(text)


@pytest.mark.parametrize("text", ["Zh", "Zm9", "Zm9vYh", "_-9", "AB", "AAB", "AAF"])
def test_rfc4648_s3_5_non_zero_trailing_bits_are_rejected(text: str) -> None:
    """RFC 4648 §3.5 canonical encoding: the unused low bits of the last character MUST be zero.

    Otherwise one octet string has several encodings (e.g. "Zg" and "Zh" both decode to b"f"), which breaks
    anything that hashes or compares the encoded form (SD-JWT digests, RFC 7638 thumbprints).
    """
    with pytest.raises(EncodingError) as info:
        b64url_decode(text)
    assert info.value.reason == "bad_base64url"


def test_b64url_decode_rejects_non_ascii_bytes() -> None:
    with pytest.raises(EncodingError):
        b64url_decode(b"Zm9\xff")


@PROPERTY
@given(st.binary(max_size=512))
def test_b64url_round_trip(data: bytes) -> None:
    encoded = b64url_encode(data)
    assert "=" not in encoded
    assert b64url_decode(encoded) == data


@PROPERTY
@given(st.binary(max_size=64))
def test_b64url_encoding_is_unique(data: bytes) -> None:
    """Canonical: decoding then re-encoding any accepted text gives the same text (one value, one encoding)."""
    encoded = b64url_encode(data)
    for i in range(len(encoded)):
        for replacement in "AQgw_-9":
            candidate = encoded[:i] + replacement + encoded[i + 1 :]
            try:
                decoded = b64url_decode(candidate)
            except EncodingError:
                continue
            assert b64url_encode(decoded) == candidate


@PROPERTY
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_b64url_decode_arbitrary_input_raises_only_ssi_errors(text: str | bytes) -> None:
    with contextlib.suppress(SsiError):
        b64url_decode(text)


# --- JSON -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ['{"a":1,"a":2}', '{"a":1,"b":{"c":1,"c":1}}', '[{"x":0,"y":0,"x":0}]', '{"a":1,"a":1}']
)
def test_rfc8259_s4_duplicate_member_names_are_rejected(text: str) -> None:
    """RFC 8259 §4 (names SHOULD be unique) as required by RFC 7515 §5.2 step 4 / RFC 9901: we reject duplicates."""
    with pytest.raises(EncodingError) as info:
        json_loads(text)
    assert info.value.reason == "duplicate_json_key"


def test_duplicate_key_error_names_rule_not_whole_document() -> None:
    with pytest.raises(EncodingError) as info:
        json_loads('{"secret":"s3cr3t-value","secret":"other"}')
    assert "s3cr3t-value" not in str(info.value)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"exp":NaN}', "[1,Infinity]"])
def test_rfc8259_s6_nan_and_infinity_are_rejected(text: str) -> None:
    """RFC 8259 §6: "Numeric values that cannot be represented [...] (such as Infinity and NaN) are not permitted"."""
    with pytest.raises(EncodingError):
        json_loads(text)


@pytest.mark.parametrize("text", ["1e400", "-1e400", '{"exp":1e999}', "[0, 2e308]"])
def test_rfc8259_s6_numbers_overflowing_to_infinity_are_rejected(text: str) -> None:
    """RFC 8259 §6 / RFC 7493 §2.2: a number outside the IEEE 754 double range must not silently become inf."""
    with pytest.raises(EncodingError):
        json_loads(text)


def test_json_large_but_finite_numbers_are_kept() -> None:
    assert json_loads("1e308") == 1e308
    assert json_loads("123456789012345678901234567890") == 123456789012345678901234567890


def test_json_integer_with_too_many_digits_is_an_encoding_error() -> None:
    with pytest.raises(EncodingError):
        json_loads("1" * 5000)


@pytest.mark.parametrize("data", [b'"\xff"', b'{"a":"\xc3"}', b'"\xed\xa0\x80"', b"\xfe\xff{}"])
def test_rfc8259_s8_1_invalid_utf8_is_rejected(data: bytes) -> None:
    """RFC 8259 §8.1: JSON text exchanged between systems MUST be encoded using UTF-8."""
    with pytest.raises(EncodingError) as info:
        json_loads(data)
    assert info.value.reason == "bad_utf8"


@pytest.mark.parametrize("text", ['"\\ud800"', '{"kid":"\\uDC00"}', '["a\\udbffb"]', '{"\\ud834":1}'])
def test_rfc7493_s2_1_lone_surrogate_escapes_are_rejected(text: str) -> None:
    """RFC 7493 §2.1 / RFC 8259 §8.2: strings must be Unicode scalar values; a lone surrogate cannot be UTF-8."""
    with pytest.raises(EncodingError) as info:
        json_loads(text)
    assert info.value.reason == "bad_utf8"


def test_paired_surrogate_escape_is_an_ordinary_character() -> None:
    assert json_loads('"\\ud83d\\ude00"') == "\U0001f600"


def test_str_input_with_lone_surrogate_is_rejected() -> None:
    with pytest.raises(EncodingError):
        json_loads('"\udcff"')


def test_utf8_text_is_accepted() -> None:
    assert json_loads('{"name":"KÖLN"}'.encode()) == {"name": "KÖLN"}


@pytest.mark.parametrize("opening", ["[", '{"a":', '[{"a":'])
def test_deep_nesting_is_an_encoding_error_not_a_recursion_error(opening: str) -> None:
    with pytest.raises(EncodingError) as info:
        json_loads(opening * 200_000)
    assert not isinstance(info.value, RecursionError)


@pytest.mark.parametrize("text", ["", "{", "[1,]", "{'a':1}", '{"a":1}x', "01", "\x00"])
def test_malformed_json_is_an_encoding_error(text: str) -> None:
    with pytest.raises(EncodingError):
        json_loads(text)


def test_json_dumps_is_compact_and_keeps_utf8() -> None:
    assert json_dumps({"a": [1, 2], "b": "Ö"}) == '{"a":[1,2],"b":"Ö"}'
    with pytest.raises(ValueError):
        json_dumps(float("nan"))


def test_b64url_json_is_strict_on_both_layers() -> None:
    assert b64url_json("eyJhbGciOiJFZERTQSJ9") == {"alg": "EdDSA"}
    with pytest.raises(EncodingError):
        b64url_json("eyJhbGciOiJFZERTQSJ9==")
    with pytest.raises(EncodingError):
        b64url_json(b64url_encode(b'{"a":1,"a":2}'))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)


@PROPERTY
@given(json_values)
def test_json_round_trip(value: object) -> None:
    assert json_loads(json_dumps(value)) == value
    assert json_loads(json_dumps(value).encode("utf-8")) == value


@PROPERTY
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_json_loads_arbitrary_input_raises_only_ssi_errors(data: str | bytes) -> None:
    with contextlib.suppress(SsiError):
        json_loads(data)


@PROPERTY
@given(st.text(alphabet='{}[]",:0123456789.eE+-\\unltrfasN ', max_size=60))
def test_json_loads_json_like_input_raises_only_ssi_errors(data: str) -> None:
    try:
        value = json_loads(data)
    except SsiError:
        return
    # whatever we accept can be serialized again (no inf, no lone surrogates)
    json.dumps(value, allow_nan=False).encode("utf-8")
    json_dumps(value).encode("utf-8")
