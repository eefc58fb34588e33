"""Multikey public keys: multibase base58btc of a multicodec-prefixed raw key (did:key §2 "The did:key Format",
the ``Multikey`` verification method type and its ``publicKeyMultibase`` value).

    mb-value := "z" base58btc( unsigned-varint(multicodec) || raw-public-key-bytes )

Supported multicodec values (did:key §3.1.2 "Signature Method Creation Algorithm", table of key lengths):

=========  ==============  =========================================
``0xed``   ed25519-pub     32 bytes
``0x1200`` p256-pub        33 bytes (compressed SEC1 point)
``0xe7``   secp256k1-pub   33 bytes (compressed SEC1 point)
=========  ==============  =========================================

Errors use the did:key names: ``invalidPublicKeyLength``, ``invalidPublicKey``, ``unsupportedPublicKeyType``.
"""

from __future__ import annotations

from typing import Final

import base58
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ssi.errors import DidError
from ssi.keys import PublicKey, ed25519_point_is_valid

MULTIBASE_BASE58BTC: Final = "z"
ED25519_PUB: Final = 0xED
P256_PUB: Final = 0x1200
SECP256K1_PUB: Final = 0xE7

#: multicodec → (JWS alg of the key, raw key length)
MULTICODECS: Final[dict[int, tuple[str, int]]] = {
    ED25519_PUB: ("EdDSA", 32),
    P256_PUB: ("ES256", 33),
    SECP256K1_PUB: ("ES256K", 33),
}
_ALG_TO_CODEC: Final = {alg: codec for codec, (alg, _) in MULTICODECS.items()}
_CURVES: Final[dict[int, ec.EllipticCurve]] = {P256_PUB: ec.SECP256R1(), SECP256K1_PUB: ec.SECP256K1()}

# base58 decoding is quadratic in the input length; the longest supported value is 49 characters.
_MAX_MULTIBASE_LENGTH: Final = 128
_BASE58_ALPHABET: Final = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_MAX_VARINT_BYTES: Final = 9  # multiformats unsigned-varint: "the maximum length of a varint is 9 bytes"


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128 varint, minimal form (multiformats unsigned-varint)."""
    if value < 0:
        raise ValueError("varint values are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes) -> tuple[int, int]:
    """Decode a minimal unsigned varint from the start of ``data``; return (value, bytes consumed)."""
    value = 0
    for index, byte in enumerate(data[:_MAX_VARINT_BYTES]):
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            if byte == 0 and index > 0:
                # "varints MUST be minimally encoded": a trailing 0x00 continuation adds nothing
                raise DidError("multicodec varint is not minimally encoded", reason="invalidPublicKey")
            return value, index + 1
    raise DidError("multicodec varint is truncated or longer than 9 bytes", reason="invalidPublicKey")


def key_from_multicodec(codec: int, raw: bytes) -> PublicKey:
    """Import raw public key bytes for a multicodec (length and curve-membership checks)."""
    if codec not in MULTICODECS:
        raise DidError(f"multicodec 0x{codec:x} is not a supported public key type", reason="unsupportedPublicKeyType")
    _, length = MULTICODECS[codec]
    if len(raw) != length:
        # did:key §3.1.2: "If the byte length of rawPublicKeyBytes does not match the expected public key length
        # for the associated multicodecValue, an invalidPublicKeyLength error MUST be raised."
        raise DidError(f"a 0x{codec:x} public key must be {length} bytes", reason="invalidPublicKeyLength")
    # did:key §3.1.2: "Ensure the rawPublicKeyBytes are a proper encoding of the public key type [...] If an invalid
    # public key value is detected, an invalidPublicKey error MUST be raised."
    if codec == ED25519_PUB:
        if not ed25519_point_is_valid(raw):
            raise DidError("Ed25519 public key is not a point on the curve", reason="invalidPublicKey")
        return PublicKey.from_crypto(ed25519.Ed25519PublicKey.from_public_bytes(raw))
    if raw[0] not in (2, 3):
        raise DidError("EC public key must be a compressed SEC1 point (0x02/0x03 prefix)", reason="invalidPublicKey")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[codec], raw)
    except ValueError:
        raise DidError("EC public key is not a point on the curve", reason="invalidPublicKey") from None
    return PublicKey.from_crypto(key)


def decode_multikey(value: str) -> PublicKey:
    """Decode a ``publicKeyMultibase`` / did:key multibase value into a :class:`PublicKey`."""
    if not isinstance(value, str):
        raise DidError("multibase value must be a string", reason="invalidPublicKey")
    if not value.startswith(MULTIBASE_BASE58BTC):
        # did:key §3.1.1 step 3: "The multibaseValue MUST be a string and begin with the letter z."
        raise DidError("multibase value must use base58btc (prefix 'z')", reason="invalidPublicKey")
    encoded = value[1:]
    if len(encoded) > _MAX_MULTIBASE_LENGTH:
        raise DidError("multibase value is too long for a supported key", reason="invalidPublicKeyLength")
    if not encoded or not set(encoded) <= _BASE58_ALPHABET:
        raise DidError("multibase value is not base58btc", reason="invalidPublicKey")
    data = base58.b58decode(encoded)
    # did:key §3.1.4: "Implementers are cautioned to ensure that the multicodecValue is set to the result after
    # performing varint decoding."
    codec, used = decode_varint(data)
    return key_from_multicodec(codec, data[used:])


def encode_multikey(key: PublicKey) -> str:
    """The multibase (base58btc) multicodec encoding of a public key (compressed point for EC keys)."""
    codec = _ALG_TO_CODEC.get(key.alg)
    if codec is None:  # pragma: no cover - PublicKey only holds the supported types
        raise DidError(f"no multicodec for {key.alg} keys", reason="unsupportedPublicKeyType")
    raw = key.raw_bytes(compressed=True)
    return MULTIBASE_BASE58BTC + base58.b58encode(encode_varint(codec) + raw).decode("ascii")
