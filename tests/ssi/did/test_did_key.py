"""did:key (W3C CCG did:key Method v0.7), Multikey form, against the spec's published test vectors."""

from __future__ import annotations

import contextlib

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from did_support import private_key_from_secret
from did_vectors import (
    DID_KEY_ED25519,
    DID_KEY_P256,
    DID_KEY_SECP256K1,
    DID_KEY_SPEC_EXAMPLE,
    DID_KEY_UNSUPPORTED_NIST,
    DID_KEY_X25519_MULTIBASE,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.did import (
    DidKeyDriver,
    decode_multikey,
    did_key_from_public_key,
    encode_multikey,
    public_key_from_did_key,
    resolve_did_key,
)
from ssi.did._multikey import decode_varint, encode_varint
from ssi.errors import DidError, SsiError
from ssi.keys import PrivateKey, PublicKey


def _did(codec_prefix: bytes, raw: bytes, base: str = "z") -> str:
    return "did:key:" + base + base58.b58encode(codec_prefix + raw).decode()


def _reason(did: str) -> str:
    with pytest.raises(DidError) as info:
        resolve_did_key(did)
    return info.value.reason


# -- the published vectors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("did", "vector"), DID_KEY_ED25519.items())
def test_vectors_ed25519(did: str, vector: tuple[str, str]) -> None:
    """ed25519-x25519.json: the seed is the Ed25519 private key; publicKeyBase58 is the raw public key."""
    seed, public_b58 = vector
    key = PrivateKey(ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))).public_key
    assert did_key_from_public_key(key) == did
    assert public_key_from_did_key(did) == key
    assert key.raw_bytes() == base58.b58decode(public_b58)


@pytest.mark.parametrize(("did", "vector"), DID_KEY_SECP256K1.items())
def test_vectors_secp256k1(did: str, vector: tuple[str, str, str]) -> None:
    """secp256k1.json: seed = private scalar, publicKeyBase58 = the 33-byte compressed point."""
    seed, public_b58, private_b58 = vector
    assert base58.b58decode(private_b58) == bytes.fromhex(seed)
    key = PrivateKey(ec.derive_private_key(int(seed, 16), ec.SECP256K1())).public_key
    assert did_key_from_public_key(key) == did
    assert public_key_from_did_key(did) == key
    assert key.raw_bytes(compressed=True) == base58.b58decode(public_b58)


@pytest.mark.parametrize(("did", "jwk"), DID_KEY_P256.items())
def test_vectors_p256(did: str, jwk: dict[str, str]) -> None:
    """nist-curves.json: the P-256 entries, given as JWKs."""
    public = PublicKey.from_jwk({k: v for k, v in jwk.items() if k != "d"})
    assert did_key_from_public_key(public) == did
    assert did_key_from_public_key(PrivateKey.from_jwk(jwk).public_key) == did
    assert public_key_from_did_key(did).jwk == public.jwk


@pytest.mark.parametrize("did", DID_KEY_UNSUPPORTED_NIST)
def test_vectors_p384_p521_are_unsupported_key_types(did: str) -> None:
    """nist-curves.json P-384 (0x1201) / P-521 (0x1202): valid did:key DIDs of types govssi does not verify with."""
    assert _reason(did) == "unsupportedPublicKeyType"


def test_vector_x25519_is_not_a_signature_key() -> None:
    """ed25519-x25519.json keyAgreementKeyPair (multicodec 0xec)."""
    assert _reason("did:key:" + DID_KEY_X25519_MULTIBASE) == "unsupportedPublicKeyType"


def test_2_spec_example_document() -> None:
    """§3.1 Create example, in the Multikey form (§3.1.2: publicKeyMultibase = multibaseValue)."""
    doc = resolve_did_key(DID_KEY_SPEC_EXAMPLE)
    mb = DID_KEY_SPEC_EXAMPLE.removeprefix("did:key:")
    vm_id = f"{DID_KEY_SPEC_EXAMPLE}#{mb}"
    assert doc.to_json() == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": DID_KEY_SPEC_EXAMPLE,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": DID_KEY_SPEC_EXAMPLE, "publicKeyMultibase": mb}
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }
    key = doc.public_key(f"#{mb}", "assertionMethod")
    assert key.alg == "EdDSA" and did_key_from_public_key(key) == DID_KEY_SPEC_EXAMPLE
    assert DidKeyDriver().resolve(DID_KEY_SPEC_EXAMPLE) == doc
    assert DidKeyDriver.method == "key"


# -- §3.1.1 identifier validity (invalidDid) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "did",
    [
        "did:web:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",  # "The method MUST be the value key"
        "did:key:6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",  # "begin with the letter z"
        "did:key:u7QE",  # base64url multibase
        "did:key:1:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",  # version form: refused (one key, one DID)
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#x",  # a DID URL is not a DID
        "did:key:",
        "DID:key:z6Mk",
    ],
)
def test_3_1_1_invalid_identifiers(did: str) -> None:
    assert _reason(did) == "invalidDid"


@pytest.mark.parametrize("text", ["z0OIl", "zz6Mk+", "z"])
def test_multibase_base58btc_alphabet(text: str) -> None:
    """base58btc has no 0, O, I, l."""
    with pytest.raises(DidError):
        resolve_did_key("did:key:" + text)


# -- §3.1.2 key checks --------------------------------------------------------------------------------------------

ED_PREFIX, P256_PREFIX, K1_PREFIX = b"\xed\x01", b"\x80\x24", b"\xe7\x01"


def test_multicodec_varint_prefixes() -> None:
    """multicodec values are unsigned varints: 0xed → ed 01, 0x1200 → 80 24, 0xe7 → e7 01."""
    assert encode_varint(0xED) == ED_PREFIX
    assert encode_varint(0x1200) == P256_PREFIX
    assert encode_varint(0xE7) == K1_PREFIX
    assert decode_varint(b"\x80\x24rest") == (0x1200, 2)


def test_3_1_4_varint_must_be_minimal_and_bounded() -> None:
    """did:key §3.1.4: "ensure that the multicodecValue is set to the result after performing varint decoding";
    multiformats unsigned-varint: minimal encoding, at most 9 bytes."""
    raw = PrivateKey.generate("EdDSA").public_key.raw_bytes()
    assert _reason(_did(b"\xed\x81\x00", raw)) == "invalidPublicKey"  # 0xed with a redundant zero continuation
    assert _reason(_did(b"\xff" * 9, raw)) == "invalidPublicKey"
    assert _reason(_did(b"\xed", b"")) == "invalidPublicKey"  # truncated varint


@pytest.mark.parametrize("codec", [b"\xec\x01", b"\x00", b"\x01", b"\x85\x24", b"\xe1\x01"])
def test_3_1_2_unknown_multicodec(codec: bytes) -> None:
    assert _reason(_did(codec, bytes(33))) == "unsupportedPublicKeyType"


@pytest.mark.parametrize(
    ("prefix", "alg", "length"), [(ED_PREFIX, "EdDSA", 32), (P256_PREFIX, "ES256", 33), (K1_PREFIX, "ES256K", 33)]
)
def test_3_1_2_wrong_lengths(prefix: bytes, alg: str, length: int) -> None:
    """ "If the byte length of rawPublicKeyBytes does not match the expected public key length for the associated
    multicodecValue, an invalidPublicKeyLength error MUST be raised.\""""
    raw = PrivateKey.generate(alg).public_key.raw_bytes(compressed=True)
    assert len(raw) == length
    assert _reason(_did(prefix, raw[:-1])) == "invalidPublicKeyLength"
    assert _reason(_did(prefix, raw + b"\x00")) == "invalidPublicKeyLength"
    assert _reason(_did(prefix, b"")) == "invalidPublicKeyLength"
    if alg != "EdDSA":  # an uncompressed point (65 bytes) is not the did:key encoding
        assert _reason(_did(prefix, PrivateKey.generate(alg).public_key.raw_bytes(compressed=False))) == (
            "invalidPublicKeyLength"
        )


@pytest.mark.parametrize(
    ("prefix", "field_prime"), [(P256_PREFIX, 2**256 - 2**224 + 2**192 + 2**96 - 1), (K1_PREFIX, 2**256 - 2**32 - 977)]
)
def test_3_1_2_ec_points_not_on_the_curve(prefix: bytes, field_prime: int) -> None:
    """ "If an invalid public key value is detected, an invalidPublicKey error MUST be raised.\""""
    # an x with no y on the curve: try small x values until one is not on it
    bad = [x for x in range(1, 40) if not _on_curve(prefix, x)]
    assert bad
    assert _reason(_did(prefix, b"\x02" + bad[0].to_bytes(32, "big"))) == "invalidPublicKey"
    assert _reason(_did(prefix, b"\x02" + field_prime.to_bytes(32, "big"))) == "invalidPublicKey"  # x >= p
    assert _reason(_did(prefix, b"\x04" + bytes(32))) == "invalidPublicKey"  # not the compressed form
    assert _reason(_did(prefix, b"\x00" * 33)) == "invalidPublicKey"  # the point at infinity


def _on_curve(prefix: bytes, x: int) -> bool:
    curve = ec.SECP256R1() if prefix == P256_PREFIX else ec.SECP256K1()
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x02" + x.to_bytes(32, "big"))
    except ValueError:
        return False
    return True


def test_3_1_2_ed25519_points_not_on_the_curve() -> None:
    """RFC 8032 §5.1.3 decoding: y = 2 has no x; y >= p is not canonical; x = 0 with the sign bit set fails."""
    p = 2**255 - 19
    assert _reason(_did(ED_PREFIX, (2).to_bytes(32, "little"))) == "invalidPublicKey"
    assert _reason(_did(ED_PREFIX, (p + 1).to_bytes(32, "little"))) == "invalidPublicKey"
    assert _reason(_did(ED_PREFIX, ((1 << 255) | 1).to_bytes(32, "little"))) == "invalidPublicKey"  # y=1 → x=0, sign 1
    # y = 1, x = 0 is the neutral element: on the curve, so the encoding is accepted
    assert public_key_from_did_key(_did(ED_PREFIX, (1).to_bytes(32, "little"))).alg == "EdDSA"


# -- round trips --------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["EdDSA", "ES256", "ES256K"]), st.binary(min_size=32, max_size=32))
def test_round_trip_generated_keys(alg: str, secret: bytes) -> None:
    key = private_key_from_secret(alg, secret).public_key
    did = did_key_from_public_key(key)
    assert public_key_from_did_key(did) == key
    assert decode_multikey(encode_multikey(key)) == key
    doc = resolve_did_key(did)
    assert doc.id == did
    assert doc.public_key(doc.verification_method[0].id, "authentication") == key
    # the signature verifies with the key from the DID document
    signer = private_key_from_secret(alg, secret)
    assert doc.public_key(doc.verification_method[0].id, "assertionMethod").verify(alg, b"m", signer.sign(b"m")) is None


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.text(alphabet=_B58, max_size=60).map(lambda s: "did:key:z" + s),
        st.binary(max_size=40).map(lambda b: "did:key:z" + base58.b58encode(b).decode()),
        st.tuples(st.sampled_from([ED_PREFIX, P256_PREFIX, K1_PREFIX]), st.binary(max_size=34)).map(lambda t: _did(*t)),
    )
)
def test_arbitrary_input_raises_only_ssi_errors(text: str) -> None:
    for decode in (public_key_from_did_key, resolve_did_key, lambda t: decode_multikey(t.removeprefix("did:key:"))):
        with contextlib.suppress(SsiError):
            decode(text)
