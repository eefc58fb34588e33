"""The decoded-header cache of ``ssi.jose`` decides exactly like decoding anew (RFC 7515 §5.2 steps 2-4).

A cached header is returned as a new object on every call, so changing a returned header (or anything nested in it,
such as an ``x5c`` list) never changes what a later verification sees; failures are never cached.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import JoseError, SsiError
from ssi.jose import _jws, check_header, verify_compact, verify_compact_parts
from ssi.jose._jws import decode_protected_header, encode_protected_header, parse_compact
from ssi.keys import PrivateKey

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


def _encoded(header: Any) -> str:
    return b64url_encode(json_dumps(header).encode("utf-8"))


def _shares_a_container(a: Any, b: Any) -> bool:
    if isinstance(a, (dict, list)) and a is b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return any(_shares_a_container(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return any(_shares_a_container(x, y) for x, y in zip(a, b, strict=True))
    return False


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), _JSON, max_size=5))
def test_rfc7515_s5_2_cached_header_equals_a_fresh_decode_and_is_a_new_object(header: dict[str, Any]) -> None:
    encoded = _encoded(header)
    first, second = decode_protected_header(encoded), decode_protected_header(encoded)
    assert first == second == json_loads(json_dumps(header))
    assert not _shares_a_container(first, second)


def test_changing_a_returned_header_does_not_change_the_next_one() -> None:
    header = {"alg": "ES256", "typ": "dc+sd-jwt", "x5c": ["MIIB", "MIIC"], "jwk": {"kty": "EC"}}
    token = f"{_encoded(header)}.e30.c2ln"
    got = parse_compact(token)[3]
    got["alg"] = "none"
    got["x5c"].append("evil")
    got["jwk"]["kty"] = "oct"
    assert parse_compact(token)[3] == header


@pytest.mark.parametrize("encoded", [_encoded([1]), _encoded("x"), "e30=", "!!!!", b64url_encode(b'{"a":1,"a":2}')])
def test_rfc7515_s5_2_malformed_headers_fail_every_time(encoded: str) -> None:
    for _ in range(2):
        with pytest.raises(JoseError) as info:
            decode_protected_header(encoded)
        assert info.value.reason == "malformed_header"
    assert encoded not in _jws._HEADER_CACHE


def test_cache_is_bounded() -> None:
    for i in range(_jws._HEADER_CACHE_SIZE + 10):
        decode_protected_header(_encoded({"alg": "ES256", "kid": str(i)}))
        assert len(_jws._HEADER_CACHE) <= _jws._HEADER_CACHE_SIZE
    big = _encoded({"alg": "ES256", "x5c": ["A" * _jws._HEADER_CACHE_TEXT]})
    assert decode_protected_header(big)["x5c"] == ["A" * _jws._HEADER_CACHE_TEXT]
    assert big not in _jws._HEADER_CACHE


# --- the encoded-header cache of the signing side (RFC 7515 §5.1 steps 3-4) ----------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.text(max_size=6) | _JSON, max_size=5))
def test_rfc7515_s5_1_encoded_header_equals_a_fresh_encoding(header: dict[str, Any]) -> None:
    for _ in range(2):  # the second time from the cache, when every member is a string
        assert encode_protected_header(header) == _encoded(header)


def test_an_equal_header_with_other_types_or_order_gets_its_own_encoding() -> None:
    """``True == 1`` and member order change the signed bytes: neither may reuse another header's encoding."""
    plain = {"alg": "ES256", "typ": "kb+jwt"}
    assert encode_protected_header(plain) == _encoded(plain)
    for other in ({"typ": "kb+jwt", "alg": "ES256"}, {"alg": "ES256", "typ": "dc+sd-jwt"}, {"alg": "ES256", "b64": 1}):
        assert encode_protected_header(other) == _encoded(other) != _encoded(plain)
    assert encode_protected_header({"alg": "ES256", "b64": True}) == _encoded({"alg": "ES256", "b64": True})
    assert (("alg", "ES256"), ("b64", True)) not in _jws._ENCODED_HEADER_CACHE


class _Impostor(str):
    """A str subclass that hashes and compares like another string: it must not find that string's encoding."""

    def __hash__(self) -> int:
        return hash("k2")

    def __eq__(self, other: object) -> bool:
        return True


def test_str_subclasses_are_not_cached() -> None:
    encode_protected_header({"alg": "ES256", "kid": "k2"})  # cached
    header = {"alg": "ES256", "kid": _Impostor("k1")}
    for _ in range(2):
        assert encode_protected_header(header) == _encoded({"alg": "ES256", "kid": "k1"})


def test_encoded_header_cache_is_bounded() -> None:
    for i in range(_jws._ENCODED_HEADER_CACHE_SIZE + 10):
        header = {"alg": "ES256", "kid": str(i)}
        assert encode_protected_header(header) == _encoded(header)
        assert len(_jws._ENCODED_HEADER_CACHE) <= _jws._ENCODED_HEADER_CACHE_SIZE


# --- the allowlist shortcut of verify_compact (RFC 7515 §4.1.1, §4.1.4, §4.1.11; RFC 8725 §3.1) --------------------

_SIGNER = PrivateKey.generate("ES256")
_HEADER_VALUES = st.one_of(
    st.sampled_from(["ES256", "ES256K", "EdDSA", "none", "HS256", "RS256", ""]),
    st.integers(min_value=-1, max_value=1),
    st.booleans(),
    st.none(),
    st.lists(st.sampled_from(["b64", "exp", "alg", "x"]), max_size=2),
)
_ALLOWLISTS = st.sampled_from(
    [frozenset({"ES256"}), frozenset({"ES256", "EdDSA"}), ["ES256K"], ("ES256", "ES256K"), frozenset()]
)


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except SsiError as exc:
        return type(exc).__name__, exc.reason


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["alg", "kid", "crit", "typ", "b64", "exp"]), _HEADER_VALUES, max_size=4),
    _ALLOWLISTS,
    st.sampled_from([(), ("b64",), ("exp", "b64")]),
)
def test_rfc7515_s5_2_cached_alg_decides_like_check_header(
    header: dict[str, Any], algorithms: Any, understood: tuple[str, ...]
) -> None:
    """The alg remembered with a cached header is taken only where check_header would return it: verifying (cold,
    then from the cache) succeeds or fails exactly as checking the header first and then the signature."""
    protected = _encoded(header)
    payload = b64url_encode(b"{}")
    signing_input = f"{protected}.{payload}".encode("ascii")
    token = f"{protected}.{payload}.{b64url_encode(_SIGNER.sign(signing_input))}"
    expected = _outcome(lambda: check_header(json_loads(json_dumps(header)), algorithms, understood))
    if expected[0] == "ok":
        expected = _outcome(lambda: _SIGNER.public_key.verify(expected[1], signing_input, b64url_decode(token[-86:])))
    for _ in range(2):
        got = _outcome(lambda: verify_compact(token, _SIGNER.public_key, algorithms, understood_crit=understood))
        if expected[0] == "ok":
            assert got[0] == "ok" and got[1].header == header and got[1].signing_input == signing_input
        else:
            assert got == expected


def test_a_header_read_without_a_copy_is_never_handed_to_a_resolver() -> None:
    header = {"alg": "ES256", "kid": "k"}
    protected = _encoded(header)
    payload = b64url_encode(b"{}")
    token = f"{protected}.{payload}.{b64url_encode(_SIGNER.sign(f'{protected}.{payload}'.encode()))}"
    seen: list[Any] = []

    def resolver(given: Any) -> Any:
        seen.append(given)
        given["alg"] = "none"  # a resolver that changes what it is given changes only its copy
        return _SIGNER.public_key

    for _ in range(2):
        got, _payload, _key, _input = verify_compact_parts(token, resolver, {"ES256"}, copy_header=False)
        assert got is seen[-1]  # the resolver's copy, as verify_compact returns it
    assert _jws._HEADER_CACHE[protected][0] == header
    assert seen[0] is not seen[1]
