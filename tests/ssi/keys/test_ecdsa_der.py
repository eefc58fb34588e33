"""The hand-written ECDSA signature conversions equal ``cryptography``'s (RFC 7518 §3.4: a JWS carries R || S, 32 octets
each; OpenSSL reads and writes the DER ``Ecdsa-Sig-Value`` of RFC 3279 §2.2.3)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.errors import InvalidSignature
from ssi.keys import PrivateKey
from ssi.keys._jwk import ecdsa_der, ecdsa_raw

# integers of every length up to 256 bits, with and without the high bit of their first octet set
_SCALARS = st.one_of(
    st.integers(min_value=0, max_value=2**256 - 1),
    st.integers(min_value=0, max_value=255),
    st.integers(min_value=2**255, max_value=2**256 - 1),
    st.integers(min_value=0, max_value=2**248 - 1),
)


@settings(max_examples=500, deadline=None)
@given(_SCALARS, _SCALARS)
def test_rfc7518_s3_4_der_of_r_s_is_encode_dss_signature(r: int, s: int) -> None:
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert ecdsa_der(raw) == encode_dss_signature(r, s)


@settings(max_examples=500, deadline=None)
@given(_SCALARS, _SCALARS)
def test_rfc7518_s3_4_r_s_of_der_is_decode_dss_signature(r: int, s: int) -> None:
    der = encode_dss_signature(r, s)
    got_r, got_s = decode_dss_signature(der)
    assert ecdsa_raw(der) == got_r.to_bytes(32, "big") + got_s.to_bytes(32, "big")


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x30",
        b"\x31\x06\x02\x01\x01\x02\x01\x01",  # not a SEQUENCE
        b"\x30\x07\x02\x01\x01\x02\x01\x01",  # wrong length
        b"\x30\x06\x03\x01\x01\x02\x01\x01",  # not an INTEGER
        b"\x30\x06\x02\x01\x01\x02\x02\x01",  # s runs past the end
        encode_dss_signature(2**264, 1),  # r wider than the curve
        b"\x30\x26\x02\x21\x01" + bytes(32) + b"\x02\x01\x01",  # 33 octets that are not a 0x00 and 32
    ],
)
def test_ecdsa_raw_refuses_what_is_not_a_256_bit_signature(der: bytes) -> None:
    with pytest.raises(ValueError):
        ecdsa_raw(der)


@pytest.mark.parametrize("alg", ["ES256", "ES256K"])
def test_signatures_made_and_checked_with_the_conversions_verify(alg: str) -> None:
    key = PrivateKey.generate(alg)
    for i in range(50):  # R or S with a leading zero octet or a set high bit comes up within a few signatures
        data = b"message %d" % i
        signature = key.sign(data)
        assert len(signature) == 64
        key.public_key.verify(alg, data, signature)
        with pytest.raises(InvalidSignature):
            key.public_key.verify(alg, data + b"!", signature)


# R and S as 32 octets: the first octet decides the layout (zero: a leading zero octet; high bit: a 0x00 before it)
_OCTETS32 = st.one_of(
    st.binary(min_size=32, max_size=32),
    st.builds(
        lambda first, rest: bytes([first]) + rest,
        st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]),
        st.binary(min_size=31, max_size=31),
    ),
    st.just(bytes(32)),
)


@settings(max_examples=1000, deadline=None)
@given(_OCTETS32, _OCTETS32)
def test_rfc3279_s2_2_3_der_table_layouts_equal_the_general_rule(r: bytes, s: bytes) -> None:
    """The table of ``ecdsa_der`` (R and S without a leading zero octet) gives the octets of the general rule and of
    ``encode_dss_signature``; ``ecdsa_raw``'s table reads them back as the general parse does."""
    from ssi.keys._jwk import _ecdsa_der_general, _ecdsa_raw_general

    raw = r + s
    der = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
    assert ecdsa_der(raw) == _ecdsa_der_general(raw) == der
    assert ecdsa_raw(der) == _ecdsa_raw_general(der) == raw


def _outcome(function: object, data: bytes) -> object:
    try:
        return function(data)  # type: ignore[operator]
    except ValueError:
        return ValueError


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from([b"\x30\x44\x02\x20", b"\x30\x45\x02\x20", b"\x30\x45\x02\x21", b"\x30\x46\x02\x21"]),
    st.binary(min_size=0, max_size=72),
    st.data(),
)
def test_ecdsa_raw_table_refuses_and_accepts_as_the_general_parse(
    head: bytes, tail: bytes, data: st.DataObject
) -> None:
    """Near-misses of the four table layouts (any octets after a table prefix, with the separators sometimes right):
    the table path returns or refuses exactly as the general parse does."""
    from ssi.keys._jwk import _ecdsa_raw_general

    der = bytearray(head + tail)
    if data.draw(st.booleans()) and len(der) > 40:
        # put the INTEGER tag and a plausible length of S where the layouts expect them
        at = data.draw(st.sampled_from([36, 37]))
        der[at : at + 3] = data.draw(st.sampled_from([b"\x02\x20", b"\x02\x21\x00", b"\x02\x21\x01", b"\x03\x20"]))
        der = der[: data.draw(st.integers(min_value=len(der) - 2, max_value=len(der)))]
    assert _outcome(ecdsa_raw, bytes(der)) == _outcome(_ecdsa_raw_general, bytes(der))


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=80))
def test_ecdsa_der_of_any_length_is_the_general_rule(raw: bytes) -> None:
    from ssi.keys._jwk import _ecdsa_der_general

    assert _outcome(ecdsa_der, raw) == _outcome(_ecdsa_der_general, raw)
