"""did:ethr identifiers (did:ethr method spec, "DID Method Name" and "Method Specific Identifier")."""

from __future__ import annotations

import contextlib

import pytest
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.did_ethr import MAINNET, ethr_did, network_id, parse_ethr_did
from ssi.errors import DidError, KeyError_
from ssi.keys import PrivateKey, PublicKey

ADDRESS = "0xb9c5714089478a327f09197987f16f9e5d936e8a"
# did:ethr spec, "Create (Register)": the minimal public-key DID example (the secp256k1 generator point)
PUBLIC_KEY_DID = "did:ethr:0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
GENERATOR_ADDRESS = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"  # address of the private key 1


def _reason(did: str) -> str:
    with pytest.raises(DidError) as info:
        parse_ethr_did(did)
    return info.value.reason


def test_method_name_is_ethr() -> None:
    """did:ethr spec: "A DID that uses this method MUST begin with the following prefix: did:ethr"."""
    assert parse_ethr_did(f"did:ethr:{ADDRESS}").address == to_checksum_address(ADDRESS)
    assert _reason(f"did:eth:{ADDRESS}") == "invalidDid"
    assert _reason(f"did:ETHR:{ADDRESS}") == "invalidDid"  # "this string MUST be in lowercase"


def test_no_network_means_mainnet() -> None:
    """did:ethr spec: "if no public Ethereum network was specified, it is assumed that the DID is anchored on the
    Ethereum mainnet"."""
    assert parse_ethr_did(f"did:ethr:{ADDRESS}").network == MAINNET
    assert parse_ethr_did(f"did:ethr:mainnet:{ADDRESS}").network == MAINNET


def test_network_chain_id_is_hex() -> None:
    """``network-chain-id = "0x" *HEXDIG``; chain 1337 is ``0x539`` (DESIGN.md §3: did:ethr:<chainId-hex>:<address>)."""
    assert network_id(1337) == "0x539"
    assert network_id(1) == "0x1"
    assert network_id(11155111) == "0xaa36a7"
    parsed = parse_ethr_did(f"did:ethr:0x539:{ADDRESS}")
    assert parsed.network == "0x539" and parsed.public_key is None
    assert parse_ethr_did(f"did:ethr:rsk:testnet:{ADDRESS}").network == "rsk:testnet"  # names may contain ':'
    for bad in (0, -1, True):
        with pytest.raises(ValueError):
            network_id(bad)


@pytest.mark.parametrize(
    "specific",
    [
        "0x" + "a" * 39,  # ethereum-address = "0x" 40*HEXDIG
        "0x" + "a" * 41,
        "0x" + "a" * 65,  # public-key-hex = "0x" 66*HEXDIG
        "0X" + "a" * 40,
        "a" * 42,
        "0x" + "g" * 40,
        "",
    ],
)
def test_identifier_is_an_address_or_a_compressed_public_key(specific: str) -> None:
    assert _reason(f"did:ethr:0x539:{specific}" if specific else "did:ethr:0x539:") == "invalidDid"


def test_empty_network_is_refused() -> None:
    assert _reason(f"did:ethr::{ADDRESS}") == "invalidDid"


def test_address_case() -> None:
    """Spec: "The ethereum-address or public-key-hex are case-insensitive"; a mixed-case address is EIP-55 and must
    carry a correct checksum."""
    checksummed = to_checksum_address(ADDRESS)
    for written in (ADDRESS, ADDRESS.upper().replace("0X", "0x"), checksummed):
        assert parse_ethr_did(f"did:ethr:{written}").address == checksummed
    first_letter = next(i for i, c in enumerate(checksummed) if i > 1 and c.isalpha())
    wrong = checksummed[:first_letter] + checksummed[first_letter].swapcase() + checksummed[first_letter + 1 :]
    assert wrong.lower() == ADDRESS and wrong not in (ADDRESS, checksummed)
    assert _reason(f"did:ethr:{wrong}") == "invalidDid"


def test_public_key_identifier() -> None:
    """Spec: "If the identifier is a public-key-hex: it MUST be represented in compressed form"; its identity is the
    address of that key."""
    parsed = parse_ethr_did(PUBLIC_KEY_DID)
    assert parsed.address == GENERATOR_ADDRESS
    assert parsed.public_key == bytes.fromhex(PUBLIC_KEY_DID.rsplit(":0x", 1)[1])
    assert _reason(PUBLIC_KEY_DID.replace(":0x02", ":0x04")) == "invalidDid"  # not compressed
    x_not_on_curve = "did:ethr:0x02" + "00" * 31 + "05"  # x = 5: x³ + 7 = 132 is not a square mod p
    assert _reason(x_not_on_curve) == "invalidDid"


def test_ethr_did_builds_lower_case_dids() -> None:
    key = PrivateKey.generate("ES256K").public_key
    did = ethr_did(key, 1337)
    assert did == "did:ethr:0x539:0x" + key.raw_bytes(compressed=True).hex()
    assert ethr_did(to_checksum_address(ADDRESS)) == f"did:ethr:{ADDRESS}"
    assert ethr_did(ADDRESS, 1) == f"did:ethr:0x1:{ADDRESS}"
    with pytest.raises(KeyError_):
        ethr_did(PrivateKey.generate("ES256").public_key, 1337)
    with pytest.raises(DidError):
        ethr_did("0x1234", 1337)


def test_did_url_is_not_a_did() -> None:
    assert _reason(f"did:ethr:0x539:{ADDRESS}#controller") == "invalidDid"
    assert _reason(f"did:ethr:0x539:{ADDRESS}?versionId=1") == "invalidDid"


@settings(max_examples=200)
@given(st.binary(min_size=20, max_size=20), st.integers(min_value=1, max_value=2**64))
def test_round_trip_address(raw: bytes, chain_id: int) -> None:
    address = to_checksum_address(raw)
    parsed = parse_ethr_did(ethr_did(address, chain_id))
    assert parsed.address == address and parsed.network == network_id(chain_id)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=2**255))
def test_round_trip_public_key(secret: int) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = PublicKey.from_crypto(ec.derive_private_key(secret, ec.SECP256K1()).public_key())
    parsed = parse_ethr_did(ethr_did(key))
    assert parsed.public_key == key.raw_bytes(compressed=True)


@settings(max_examples=200)
@given(st.text(max_size=120))
def test_arbitrary_text_raises_only_did_errors(text: str) -> None:
    for candidate in (text, "did:ethr:" + text):
        with contextlib.suppress(DidError):
            parse_ethr_did(candidate)
