"""ERC-1056 signed-call digests (``ledger.erc1056``): the exact byte layout did:ethr controllers sign.

keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce(uint256) ‖ identity ‖ "<function>" ‖ params, tightly packed) — EIP-191
version 0x00 with the registry as intended validator. That the registry accepts these digests is tested against the
contract in test_did_registry_contract.py.
"""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import erc1056

REGISTRY = "0x" + "11" * 20
IDENTITY = "0x" + "22" * 20
OTHER = "0x" + "33" * 20


def preimage_head(nonce: int) -> str:
    return "1900" + "11" * 20 + f"{nonce:064x}" + "22" * 20


def test_change_owner_layout() -> None:
    """changeOwnerSigned: ... ‖ "changeOwner" ‖ newOwner (20 bytes)."""
    expected = keccak(hexstr=preimage_head(7) + b"changeOwner".hex() + "33" * 20)
    assert erc1056.change_owner_digest(REGISTRY, 7, IDENTITY, new_owner=OTHER) == expected


def test_delegate_layouts() -> None:
    """addDelegateSigned: "addDelegate" ‖ delegateType (32) ‖ delegate (20) ‖ validity (32); revokeDelegateSigned
    without the validity."""
    veri_key = erc1056.bytes32("veriKey")
    assert erc1056.add_delegate_digest(
        REGISTRY, 0, IDENTITY, delegate_type=veri_key, delegate=OTHER, validity=86_400
    ) == keccak(hexstr=preimage_head(0) + b"addDelegate".hex() + veri_key.hex() + "33" * 20 + f"{86_400:064x}")
    assert erc1056.revoke_delegate_digest(REGISTRY, 1, IDENTITY, delegate_type=veri_key, delegate=OTHER) == keccak(
        hexstr=preimage_head(1) + b"revokeDelegate".hex() + veri_key.hex() + "33" * 20
    )


def test_attribute_layouts() -> None:
    """setAttributeSigned: "setAttribute" ‖ name (32) ‖ value (raw, any length) ‖ validity (32); revokeAttributeSigned
    without the validity."""
    name = erc1056.bytes32("did/svc/LinkedDomains")
    value = b"https://issuer.example.org"
    assert erc1056.set_attribute_digest(REGISTRY, 2, IDENTITY, name=name, value=value, validity=10) == keccak(
        hexstr=preimage_head(2) + b"setAttribute".hex() + name.hex() + value.hex() + f"{10:064x}"
    )
    assert erc1056.revoke_attribute_digest(REGISTRY, 3, IDENTITY, name=name, value=value) == keccak(
        hexstr=preimage_head(3) + b"revokeAttribute".hex() + name.hex() + value.hex()
    )


def test_bytes32_pads_and_bounds() -> None:
    """did:ethr: delegate types and attribute names are bytes32 — UTF-8, zero-padded on the right, at most 32 bytes."""
    assert erc1056.bytes32("veriKey") == b"veriKey" + bytes(25)
    assert erc1056.bytes32("x" * 32) == b"x" * 32
    assert erc1056.bytes32(b"\x01") == b"\x01" + bytes(31)
    with pytest.raises(ValueError, match="bytes32"):
        erc1056.bytes32("did/pub/Secp256k1/veriKey/hex/too-long")


@pytest.mark.parametrize("nonce", [-1, 2**256])
def test_nonce_out_of_uint256_range_is_rejected(nonce: int) -> None:
    with pytest.raises(ValueError, match="uint256"):
        erc1056.change_owner_digest(REGISTRY, nonce, IDENTITY, new_owner=OTHER)


def test_bytes32_fields_must_be_exactly_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        erc1056.add_delegate_digest(REGISTRY, 0, IDENTITY, delegate_type=b"veriKey", delegate=OTHER, validity=1)


@settings(max_examples=200)
@given(
    nonce=st.integers(0, 2**256 - 1),
    name=st.binary(max_size=32),
    value=st.binary(max_size=300),
    validity=st.integers(0, 2**256 - 1),
)
def test_digest_binds_every_field(nonce: int, name: bytes, value: bytes, validity: int) -> None:
    """Property: the digest is 32 bytes and changes with the nonce, the registry, the identity and the validity."""
    word = erc1056.bytes32(name)
    digest = erc1056.set_attribute_digest(REGISTRY, nonce, IDENTITY, name=word, value=value, validity=validity)
    assert len(digest) == 32
    others = {
        erc1056.set_attribute_digest(REGISTRY, nonce ^ 1, IDENTITY, name=word, value=value, validity=validity),
        erc1056.set_attribute_digest(OTHER, nonce, IDENTITY, name=word, value=value, validity=validity),
        erc1056.set_attribute_digest(REGISTRY, nonce, OTHER, name=word, value=value, validity=validity),
        erc1056.set_attribute_digest(REGISTRY, nonce, IDENTITY, name=word, value=value, validity=validity ^ 1),
    }
    assert digest not in others
