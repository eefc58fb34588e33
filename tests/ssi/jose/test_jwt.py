"""JWT (RFC 7519): time claims with an injected clock and skew, NumericDate, explicit typing (RFC 8725 §3.11)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.clock import FrozenClock, system_clock
from ssi.errors import (
    InputTooLarge,
    InvalidSignature,
    JoseError,
    SsiError,
    TokenExpired,
    TokenNotYetValid,
    UnsupportedAlgorithm,
)
from ssi.jose import DEFAULT_MAX_SIZE, check_time_claims, decode_jwt, encode_jwt, numeric_date, sign_compact
from ssi.keys import ALGORITHMS, SoftwareSigner

PROPERTY = settings(max_examples=200, deadline=None)
NOW = 1_700_000_000
ALL = sorted(ALGORITHMS)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def test_frozen_clock() -> None:
    clock = FrozenClock(10)
    assert clock() == 10.0
    clock.advance(5.5)
    assert clock() == 15.5
    assert abs(system_clock() - time.time()) < 5


def test_round_trip(signer: SoftwareSigner, clock: FrozenClock) -> None:
    claims = {"iss": "https://issuer.example", "iat": NOW, "nbf": NOW, "exp": NOW + 600, "given_name": "ERIKA"}
    token = encode_jwt(claims, signer, typ="example+jwt")
    verified = decode_jwt(token, signer.public_key, [signer.alg], typ="example+jwt", clock=clock)
    assert verified.claims == claims
    assert verified.header == {"typ": "example+jwt", "alg": signer.alg, "kid": signer.kid}
    assert verified.key == signer.public_key


# --- exp / nbf / iat with skew (RFC 7519 §4.1.4-4.1.6) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "skew", "valid"),
    [
        (-1, 0, True),  # one second before exp
        (0, 0, False),  # at exp: "the current date/time MUST be before the expiration date/time"
        (1, 0, False),
        (59, 60, True),  # within the skew
        (60, 60, False),  # at exp + skew
        (3600, 60, False),
    ],
)
def test_rfc7519_s4_1_4_exp(signer: SoftwareSigner, clock: FrozenClock, offset: int, skew: int, valid: bool) -> None:
    """RFC 7519 §4.1.4: a JWT MUST NOT be accepted on or after exp (allowing a small leeway)."""
    token = encode_jwt({"exp": NOW}, signer)
    clock.advance(offset)
    if valid:
        decode_jwt(token, signer.public_key, [signer.alg], clock=clock, skew=skew)
    else:
        with pytest.raises(TokenExpired) as info:
            decode_jwt(token, signer.public_key, [signer.alg], clock=clock, skew=skew)
        assert info.value.reason == "expired"


@pytest.mark.parametrize(
    ("offset", "skew", "valid"),
    [
        (0, 0, True),  # at nbf: "MUST be after or equal to the not-before date/time"
        (1, 0, True),
        (-1, 0, False),
        (-60, 60, True),  # within the skew
        (-61, 60, False),
    ],
)
def test_rfc7519_s4_1_5_nbf(signer: SoftwareSigner, clock: FrozenClock, offset: int, skew: int, valid: bool) -> None:
    """RFC 7519 §4.1.5: a JWT MUST NOT be accepted before nbf (allowing a small leeway)."""
    token = encode_jwt({"nbf": NOW}, signer)
    clock.advance(offset)
    if valid:
        decode_jwt(token, signer.public_key, [signer.alg], clock=clock, skew=skew)
    else:
        with pytest.raises(TokenNotYetValid):
            decode_jwt(token, signer.public_key, [signer.alg], clock=clock, skew=skew)


@pytest.mark.parametrize(("offset", "valid"), [(0, True), (-60, True), (-61, False), (-86400, False), (86400, True)])
def test_rfc7519_s4_1_6_iat_in_the_future_is_rejected(
    signer: SoftwareSigner, clock: FrozenClock, offset: int, valid: bool
) -> None:
    """RFC 7519 §4.1.6 with RFC 9901 §7.3: an iat later than now (beyond the skew) is refused."""
    token = encode_jwt({"iat": NOW}, signer)
    clock.advance(offset)
    if valid:
        decode_jwt(token, signer.public_key, [signer.alg], clock=clock, skew=60)
    else:
        with pytest.raises(TokenNotYetValid) as info:
            decode_jwt(token, signer.public_key, [signer.alg], clock=clock, skew=60)
        assert info.value.reason == "iat_in_future"


def test_default_skew_is_60_seconds() -> None:
    check_time_claims({"exp": NOW}, now=NOW + 59)
    with pytest.raises(TokenExpired):
        check_time_claims({"exp": NOW}, now=NOW + 60)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_rfc7519_required_time_claims(name: str) -> None:
    check_time_claims({}, now=NOW)  # optional by default
    with pytest.raises(JoseError) as info:
        check_time_claims({}, now=NOW, require=[name])
    assert info.value.reason == f"missing_{name}"


def test_decode_jwt_require(signer: SoftwareSigner, clock: FrozenClock) -> None:
    token = encode_jwt({"iat": NOW}, signer)
    with pytest.raises(JoseError):
        decode_jwt(token, signer.public_key, [signer.alg], clock=clock, require=["exp"])


# --- NumericDate (RFC 7519 §2) --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", [True, False, None, "1700000000", "", [NOW], {"t": NOW}, "2024-01-01T00:00:00Z"])
def test_rfc7519_s2_numeric_date_must_be_a_number(
    signer: SoftwareSigner, clock: FrozenClock, name: str, value: Any
) -> None:
    """RFC 7519 §2: NumericDate is a JSON numeric value; booleans and strings are not numbers."""
    token = encode_jwt({name: value}, signer)
    with pytest.raises(JoseError) as info:
        decode_jwt(token, signer.public_key, [signer.alg], clock=clock)
    assert info.value.reason == f"malformed_{name}"


@pytest.mark.parametrize("value", [NOW + 10, NOW + 10.5, float(NOW + 10)])
def test_rfc7519_s2_numeric_date_may_be_fractional(value: float) -> None:
    """RFC 7519 §2: "non-integer values can be represented"."""
    assert numeric_date({"exp": value}, "exp") == float(value)
    check_time_claims({"exp": value}, now=NOW, skew=0)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_numeric_date_out_of_float_range_is_rejected(signer: SoftwareSigner, clock: FrozenClock, name: str) -> None:
    """A JSON integer with hundreds of digits is a JoseError, not an OverflowError."""
    token = encode_jwt({name: 10**400}, signer)
    with pytest.raises(JoseError):
        decode_jwt(token, signer.public_key, [signer.alg], clock=clock)
    with pytest.raises(JoseError):
        check_time_claims({name: -(10**400)}, now=NOW)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numeric_date_must_be_finite(value: float) -> None:
    """NaN compares false with everything: an exp of NaN must not mean "never expires"."""
    with pytest.raises(JoseError):
        check_time_claims({"exp": value}, now=NOW)


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1E999"])
def test_numeric_date_overflowing_json_number_is_rejected(
    signer: SoftwareSigner, clock: FrozenClock, literal: str
) -> None:
    """exp: 1e400 parses to infinity in Python; it must be refused, not read as "never expires"."""
    token = sign_compact(f'{{"exp":{literal}}}'.encode(), signer)
    with pytest.raises(JoseError):
        decode_jwt(token, signer.public_key, [signer.alg], clock=clock)


# --- explicit typing (RFC 8725 §3.11) -------------------------------------------------------------------------------


def test_rfc8725_s3_11_typ_must_match(signer: SoftwareSigner, clock: FrozenClock) -> None:
    """RFC 8725 §3.11: explicit typing keeps one kind of JWT from being accepted as another."""
    token = encode_jwt({"sub": "x"}, signer, typ="dc+sd-jwt")
    decode_jwt(token, signer.public_key, [signer.alg], typ="dc+sd-jwt", clock=clock)
    decode_jwt(token, signer.public_key, [signer.alg], typ={"vc+sd-jwt", "dc+sd-jwt"}, clock=clock)
    for expected in ("kb+jwt", "DC+SD-JWT", "dc+sd-jwt ", ["kb+jwt"]):
        with pytest.raises(JoseError) as info:
            decode_jwt(token, signer.public_key, [signer.alg], typ=expected, clock=clock)
        assert info.value.reason == "wrong_typ"


def test_rfc8725_s3_11_missing_typ_is_rejected_when_one_is_expected(signer: SoftwareSigner, clock: FrozenClock) -> None:
    token = encode_jwt({"sub": "x"}, signer)
    assert "typ" not in decode_jwt(token, signer.public_key, [signer.alg], clock=clock).header
    with pytest.raises(JoseError) as info:
        decode_jwt(token, signer.public_key, [signer.alg], typ="JWT", clock=clock)
    assert info.value.reason == "wrong_typ"


def test_rfc8725_s3_11_non_string_typ_is_rejected(signer: SoftwareSigner, clock: FrozenClock) -> None:
    token = encode_jwt({"sub": "x"}, signer, header={"typ": ["kb+jwt"]})
    with pytest.raises(JoseError):
        decode_jwt(token, signer.public_key, [signer.alg], typ="kb+jwt", clock=clock)


def test_typ_is_integrity_protected(signer: SoftwareSigner, clock: FrozenClock) -> None:
    from ssi.encoding import b64url_encode, json_dumps

    token = encode_jwt({"sub": "x"}, signer, typ="kb+jwt")
    _, payload, sig = token.split(".")
    swapped = b64url_encode(json_dumps({"typ": "dc+sd-jwt", "alg": signer.alg, "kid": signer.kid}).encode())
    with pytest.raises(InvalidSignature):
        decode_jwt(f"{swapped}.{payload}.{sig}", signer.public_key, [signer.alg], typ="dc+sd-jwt", clock=clock)


# --- claims set and JWS checks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"[]", b'"claims"', b"1", b"null", b"not json", b'{"a":1,"a":2}', b"\xff"])
def test_rfc7519_s7_2_claims_must_be_a_json_object(signer: SoftwareSigner, clock: FrozenClock, payload: bytes) -> None:
    """RFC 7519 §7.2 step 10: the JWT Claims Set is a JSON object (and, RFC 7519 §4, without duplicate names)."""
    with pytest.raises(JoseError) as info:
        decode_jwt(sign_compact(payload, signer), signer.public_key, [signer.alg], clock=clock)
    assert info.value.reason == "malformed_claims"


def test_decode_jwt_applies_the_jws_checks(signers: dict[str, SoftwareSigner], clock: FrozenClock) -> None:
    es256, eddsa = signers["ES256"], signers["EdDSA"]
    token = encode_jwt({"sub": "x"}, es256)
    with pytest.raises(UnsupportedAlgorithm):
        decode_jwt(token, es256.public_key, ["EdDSA"], clock=clock)
    with pytest.raises(UnsupportedAlgorithm):
        decode_jwt(token, es256.public_key, ["ES256", "none"], clock=clock)
    with pytest.raises(UnsupportedAlgorithm):
        decode_jwt(token, eddsa.public_key, ALL, clock=clock)
    with pytest.raises(InvalidSignature):
        decode_jwt(token, SoftwareSigner.generate("ES256").public_key, ["ES256"], clock=clock)
    crit = encode_jwt({"sub": "x"}, es256, header={"crit": ["ext"], "ext": 1})
    with pytest.raises(JoseError):
        decode_jwt(crit, es256.public_key, ["ES256"], clock=clock)
    assert decode_jwt(crit, es256.public_key, ["ES256"], clock=clock, understood_crit=["ext"]).claims == {"sub": "x"}


def test_decode_jwt_size_limit(signer: SoftwareSigner, clock: FrozenClock) -> None:
    token = encode_jwt({"blob": "x" * DEFAULT_MAX_SIZE}, signer)
    with pytest.raises(InputTooLarge):
        decode_jwt(token, signer.public_key, [signer.alg], clock=clock)
    assert decode_jwt(token, signer.public_key, [signer.alg], clock=clock, max_size=2 * DEFAULT_MAX_SIZE).claims
    small = encode_jwt({"a": 1}, signer)
    with pytest.raises(InputTooLarge):
        decode_jwt(small, signer.public_key, [signer.alg], clock=clock, max_size=len(small) - 1)


def test_time_checks_come_after_the_signature(signers: dict[str, SoftwareSigner], clock: FrozenClock) -> None:
    """An expired token with a bad signature reports the signature, so time errors never leak for forgeries."""
    token = encode_jwt({"exp": 1}, SoftwareSigner.generate("ES256"))
    with pytest.raises(InvalidSignature):
        decode_jwt(token, signers["ES256"].public_key, ["ES256"], clock=clock)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@PROPERTY
@given(
    claims=st.dictionaries(st.sampled_from(["exp", "nbf", "iat", "sub", "x"]), json_values | st.integers(), max_size=4),
    now=st.integers(0, 2**40),
    skew=st.integers(0, 600),
)
def test_arbitrary_claims_raise_only_ssi_errors(
    signers: dict[str, SoftwareSigner], claims: dict[str, Any], now: int, skew: int
) -> None:
    signer = signers["EdDSA"]
    token = encode_jwt(claims, signer)
    try:
        verified = decode_jwt(token, signer.public_key, ["EdDSA"], clock=FrozenClock(now), skew=skew)
    except SsiError:
        return
    assert verified.claims == claims
    exp = claims.get("exp")
    if exp is not None:
        assert now - skew < exp  # accepted only before exp + skew
