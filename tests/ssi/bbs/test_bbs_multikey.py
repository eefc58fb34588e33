"""BBS public keys as Multikey (vc-di-bbs §2.1.1): ``z`` + base58btc(0xeb01 || 96-octet G2 point)."""

from __future__ import annotations

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi import bbs
from ssi.errors import DidError

# vc-di-bbs test vectors: the example key and the did:key the specification derives from it
SPEC_PUBLIC_KEY = bytes.fromhex(
    "a4ef1afa3da575496f122b9b78b8c24761531a8a093206ae7c45b80759c168ba4f7a260f9c3367b6c019b4677841104b10665edbe70ba"
    "3ebe7d9cfbffbf71eb016f70abfbb163317f372697dc63efd21fc55764f63926a8f02eaea325a2a888f"
)
SPEC_MULTIKEY = (
    "zUC7DerdEmfZ8f4pFajXgGwJoMkV1ofMTmEG5UoNvnWiPiLuGKNeqgRpLH2TV4Xe5mJ2cXV76gRN7LFQwapF1VFu6x2yrr5ci1mXqC1WNUrnH"
    "nLgvfZfMH7h6xP6qsf9EKRQrPQ"
)


def test_the_specifications_example_key() -> None:
    assert bbs.public_key_to_multikey(SPEC_PUBLIC_KEY) == SPEC_MULTIKEY
    assert bbs.public_key_from_multikey(SPEC_MULTIKEY) == SPEC_PUBLIC_KEY
    assert SPEC_MULTIKEY.startswith("zUC7")  # every bls12_381-g2-pub Multikey starts like this


@settings(max_examples=20, deadline=None)
@given(st.binary(min_size=32, max_size=40))
def test_round_trip(material: bytes) -> None:
    pk = bbs.sk_to_pk(bbs.keygen(material))
    assert bbs.public_key_from_multikey(bbs.public_key_to_multikey(pk)) == pk


def _z(raw: bytes) -> str:
    return "z" + base58.b58encode(raw).decode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("u" + SPEC_MULTIKEY[1:], "invalidPublicKey"),  # "MUST start with the base-58-btc prefix (z)"
        ("z0OIl", "invalidPublicKey"),  # not base58
        ("z", "invalidPublicKey"),
        (_z(b"\xed\x01" + bytes(32)), "unsupportedPublicKeyType"),  # an Ed25519 multicodec
        (_z(b"\xea\x01" + SPEC_PUBLIC_KEY), "unsupportedPublicKeyType"),  # bls12_381-g1-pub
        (_z(b"\xeb\x01" + SPEC_PUBLIC_KEY[:95]), "invalidPublicKeyLength"),
        (_z(b"\xeb\x01" + bytes([0xC0]) + bytes(95)), "invalidPublicKey"),  # the identity point
        (_z(b"\xeb\x01" + bytes([0x80]) + bytes(94) + b"\x05"), "invalidPublicKey"),  # not in G2
        ("z" + "1" * 200, "invalidPublicKey"),
        (7, "invalidPublicKey"),
    ],
)
def test_refused_values(value: object, reason: str) -> None:
    """vc-di-bbs §2.1.1: implementations "will raise errors in the event of a Multicodec value other than 0xeb01"."""
    with pytest.raises(DidError) as raised:
        bbs.public_key_from_multikey(value)  # type: ignore[arg-type]
    assert raised.value.reason == reason
