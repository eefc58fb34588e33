"""The imported-JWK cache of ``PublicKey.from_jwk`` decides exactly like a fresh strict import (RFC 7517, RFC 7518
§6.2.1, RFC 8037 §2).

A key is found in the cache only for the very ``kty``/``crv``/``x``/``y``/``alg`` values it was imported from, so a
tampered member (a coordinate, the curve, a declared ``alg``) is imported anew and refused as before; failures are
never cached; the cache is bounded; a signature by another key never verifies with a cached key.
"""

from __future__ import annotations

from typing import Any

import pytest

from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import InvalidSignature, KeyError_
from ssi.keys import PrivateKey, PublicKey, _jwk


def _flip_last_byte(coordinate: str) -> str:
    raw = bytearray(b64url_decode(coordinate))
    raw[-1] ^= 1
    return b64url_encode(bytes(raw))


@pytest.fixture(params=["ES256", "ES256K", "EdDSA"])
def public_jwk(request: pytest.FixtureRequest) -> dict[str, Any]:
    return PrivateKey.generate(request.param).public_key.jwk


def test_a_cached_import_is_the_fresh_import(public_jwk: dict[str, Any]) -> None:
    first = PublicKey.from_jwk(public_jwk)
    again = PublicKey.from_jwk(dict(public_jwk))
    fresh = PublicKey._import_jwk(public_jwk)
    assert again is first  # taken from the cache
    assert again == fresh and again.alg == fresh.alg and again.jwk == public_jwk


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda j: {**j, "x": _flip_last_byte(j["x"])}, id="x"),
        pytest.param(lambda j: {**j, "y": _flip_last_byte(j["y"])} if "y" in j else {**j, "y": 1}, id="y"),
        pytest.param(lambda j: {**j, "crv": "secp256k1" if j["crv"] == "P-256" else "P-256"}, id="crv"),
        pytest.param(lambda j: {**j, "alg": "RS256"}, id="alg"),
        pytest.param(lambda j: {**j, "kty": "oct"}, id="kty"),
        pytest.param(lambda j: {**j, "x": j["x"] + "A"}, id="x-length"),
    ],
)
def test_rfc7518_s6_2_1_a_tampered_member_of_a_cached_key_is_imported_anew(
    public_jwk: dict[str, Any], tamper: Any
) -> None:
    """Each tampered JWK differs from the cached one in a member the key depends on: it must give what a fresh import
    gives (here: a refusal, or for an Ed25519 ``y`` — a member RFC 8037 does not define — the same key)."""
    PublicKey.from_jwk(public_jwk)  # cached
    tampered = tamper(public_jwk)
    try:
        expected: Any = PublicKey._import_jwk(tampered)
    except KeyError_ as exc:
        expected = exc.reason
    for _ in range(2):  # a refusal is not cached either
        try:
            got: Any = PublicKey.from_jwk(tampered)
        except KeyError_ as exc:
            got = exc.reason
        assert got == expected
        if isinstance(expected, PublicKey):
            assert got.jwk == expected.jwk  # a different key, or the same one when only an unused member changed


def test_an_ec_point_off_the_curve_is_refused_even_next_to_the_cached_point() -> None:
    jwk = PrivateKey.generate("ES256").public_key.jwk
    PublicKey.from_jwk(jwk)
    off_curve = {**jwk, "y": _flip_last_byte(jwk["y"])}
    for _ in range(2):
        with pytest.raises(KeyError_) as info:
            PublicKey.from_jwk(off_curve)
        assert info.value.reason == "invalid_jwk"
    assert _jwk._jwk_cache_key(off_curve) not in _jwk._JWK_CACHE


def test_a_changed_jwk_dict_does_not_change_the_cached_key() -> None:
    one, other = PrivateKey.generate("ES256").public_key, PrivateKey.generate("ES256").public_key
    jwk = one.jwk
    assert PublicKey.from_jwk(jwk) == one
    jwk.update(x=other.jwk["x"], y=other.jwk["y"])  # the caller's dict changes after the import
    assert PublicKey.from_jwk(jwk) == other
    assert PublicKey.from_jwk(one.jwk) == one


class _Text(str):
    """A str subclass could hash or compare unlike its value: never a cache key."""


def test_members_that_are_not_exactly_str_are_not_cached() -> None:
    jwk = PrivateKey.generate("ES256").public_key.jwk
    odd = {**jwk, "x": _Text(jwk["x"])}
    assert _jwk._jwk_cache_key(odd) is None
    assert PublicKey.from_jwk(odd) == PublicKey._import_jwk(jwk)
    assert _jwk._jwk_cache_key({**jwk, "alg": ["ES256"]}) is None
    with pytest.raises(KeyError_):
        PublicKey.from_jwk({**jwk, "alg": ["ES256"]})


def test_a_signature_by_another_key_never_verifies_with_a_cached_key() -> None:
    holder, attacker = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
    cached = PublicKey.from_jwk(holder.public_key.jwk)
    assert PublicKey.from_jwk(holder.public_key.jwk) is cached
    cached.verify("ES256", b"data", holder.sign(b"data"))
    with pytest.raises(InvalidSignature):
        cached.verify("ES256", b"data", attacker.sign(b"data"))


def test_cache_is_bounded() -> None:
    keys = [PrivateKey.generate("EdDSA").public_key.jwk for _ in range(_jwk._JWK_CACHE_SIZE + 10)]
    for jwk in keys:
        assert PublicKey.from_jwk(jwk).jwk == jwk
        assert len(_jwk._JWK_CACHE) <= _jwk._JWK_CACHE_SIZE
