"""Public keys as did:ethr attributes (did:ethr method spec, "Public Keys" and "Known Key Types").

Attribute name ``did/pub/<key algorithm>/<key purpose>/<optional encoding hint>``; "Attribute values sent to the
ERC1056 registry should always be hex encodings of the raw public key data". The resolver writes each known type in
its canonical encoding:

==============  ====================================  ===================================================
``Secp256k1``   ``EcdsaSecp256k1VerificationKey2019``  ``publicKeyJwk`` ("The resolver MUST convert the
                                                       elliptic curve point [...] to publicKeyJwk format")
``Ed25519``     ``Ed25519VerificationKey2020``         ``publicKeyMultibase``: ``z`` base58btc(0xed01 ‖ key)
``X25519``      ``X25519KeyAgreementKey2020``          ``publicKeyMultibase``: ``z`` base58btc(0xec01 ‖ key)
``Multikey``    ``Multikey``                           ``publicKeyMultibase``: ``z`` base58btc(value), the value
                                                       already starting with its multicodec prefix
==============  ====================================  ===================================================

govssi publishes P-256 keys (and BLS12-381 keys) as ``did/pub/Multikey/<purpose>`` with the multicodec-prefixed key
("Key algorithms not listed in this table SHOULD be expressed using the Multikey verification method"), Ed25519 keys
as ``did/pub/Ed25519/<purpose>`` and secp256k1 keys as ``did/pub/Secp256k1/<purpose>`` (compressed point).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import base58
from cryptography.hazmat.primitives.asymmetric import ec

from ssi.did import decode_multikey
from ssi.encoding import b64url_encode
from ssi.errors import DidError, KeyError_
from ssi.keys import PublicKey, jwk_thumbprint

__all__ = [
    "ED25519_PUB",
    "MULTICODEC_PREFIXES",
    "P256_PUB",
    "SECP256K1_PUB",
    "X25519_PUB",
    "attribute_key",
    "key_attribute",
    "multibase_base58btc",
    "multikey_attribute",
    "secp256k1_jwk",
    "verification_method_thumbprint",
]

#: multicodec varint prefixes (multiformats table): ed25519-pub 0xed, x25519-pub 0xec, secp256k1-pub 0xe7,
#: p256-pub 0x1200, bls12_381-g2-pub 0xeb.
ED25519_PUB: Final = b"\xed\x01"
X25519_PUB: Final = b"\xec\x01"
SECP256K1_PUB: Final = b"\xe7\x01"
P256_PUB: Final = b"\x80\x24"
BLS12_381_G2_PUB: Final = b"\xeb\x01"

VM_SECP256K1: Final = "EcdsaSecp256k1VerificationKey2019"
VM_RECOVERY: Final = "EcdsaSecp256k1RecoveryMethod2020"
VM_ED25519: Final = "Ed25519VerificationKey2020"
VM_X25519: Final = "X25519KeyAgreementKey2020"
VM_MULTIKEY: Final = "Multikey"
#: "Known Key Types": ``<key algorithm>`` → verification method type.
ALGORITHM_TYPES: Final = {
    "Secp256k1": VM_SECP256K1,
    "Ed25519": VM_ED25519,
    "X25519": VM_X25519,
    "Multikey": VM_MULTIKEY,
}
#: The prefix a resolver adds before multibase-encoding a raw key of these types.
MULTICODEC_PREFIXES: Final = {VM_ED25519: ED25519_PUB, VM_X25519: X25519_PUB}
#: Key purposes ("Key purposes": veriKey, sigAuth, enc).
PURPOSES: Final = frozenset({"veriKey", "sigAuth", "enc"})
#: ``did/pub/<key algorithm>/<key purpose>[/<encoding hint>]``.
_PUB_ATTRIBUTE: Final = re.compile(r"did/pub/([^/]+)/([^/]+)(?:/([^/]+))?")


def multibase_base58btc(value: bytes) -> str:
    """Multibase ``z`` + base58btc (leading zero bytes become ``1``)."""
    return "z" + base58.b58encode(value).decode("ascii")


def secp256k1_jwk(value: bytes) -> dict[str, str] | None:
    """The ``publicKeyJwk`` of a secp256k1 public key given as a compressed (33 bytes), uncompressed (65 bytes,
    ``0x04`` ‖ X ‖ Y) or raw (64 bytes, X ‖ Y) point; ``None`` when it is none of these or not on the curve.

    ethr-did-resolver (through ethers' ``computePublicKey``) also reads 32 bytes as a *private* key and publishes its
    public key; govssi does not: a private key on chain is known to everyone, so the key must not verify anything.
    """
    point = b"\x04" + value if len(value) == 64 else value
    if len(point) not in (33, 65) or point[0] not in ((2, 3) if len(point) == 33 else (4,)):
        return None
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), point)
    except ValueError:
        return None
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "secp256k1",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"a did:ethr key purpose is one of {sorted(PURPOSES)}")


def key_attribute(key: PublicKey, purpose: str = "veriKey") -> tuple[str, bytes]:
    """The (attribute name, attribute value) that publishes ``key`` for ``purpose`` (see the module docstring)."""
    _check_purpose(purpose)
    if key.alg == "ES256":
        return f"did/pub/Multikey/{purpose}", P256_PUB + key.raw_bytes(compressed=True)
    if key.alg == "EdDSA":
        return f"did/pub/Ed25519/{purpose}", key.raw_bytes()
    if key.alg == "ES256K":
        return f"did/pub/Secp256k1/{purpose}", key.raw_bytes(compressed=True)
    raise KeyError_(f"no did:ethr attribute for {key.alg} keys", reason="unsupported_key")  # pragma: no cover


def attribute_key(name: str, value: bytes) -> PublicKey | None:
    """The signing key a ``did/pub/`` attribute publishes (the inverse of :func:`key_attribute`, for every encoding a
    resolver accepts: ``Secp256k1`` compressed or not, ``Ed25519``, ``Multikey``), or ``None`` when the attribute is no
    ``did/pub/`` attribute or publishes no key govssi verifies signatures with (X25519, BLS, unknown types)."""
    match = _PUB_ATTRIBUTE.fullmatch(name)
    if match is None:
        return None
    algorithm = match[1]
    try:
        if algorithm == "Secp256k1":
            jwk = secp256k1_jwk(bytes(value))
            return None if jwk is None else PublicKey.from_jwk(jwk)
        if algorithm == "Ed25519":
            return decode_multikey(multibase_base58btc(ED25519_PUB + bytes(value)))
        if algorithm == "Multikey":
            return decode_multikey(multibase_base58btc(bytes(value)))
    except (DidError, KeyError_, ValueError):
        return None
    return None


def multikey_attribute(multicodec_prefix: bytes, raw_key: bytes, purpose: str = "veriKey") -> tuple[str, bytes]:
    """``did/pub/Multikey/<purpose>`` for any multicodec key, e.g. a BLS12-381 G2 key: ``(b"\\xeb\\x01", key96)``.

    "Unlike other key types where the attribute value is raw key bytes, Multikey attribute values MUST include the
    multicodec prefix."
    """
    _check_purpose(purpose)
    if not multicodec_prefix or not raw_key:
        raise ValueError("a Multikey attribute value is a multicodec prefix and a key")
    return f"did/pub/Multikey/{purpose}", bytes(multicodec_prefix) + bytes(raw_key)


def verification_method_thumbprint(vm: Mapping[str, Any]) -> str | None:
    """The RFC 7638 SHA-256 JWK thumbprint of a verification method's key, or ``None`` if it has no key govssi can
    express as a JWK (an address-only ``EcdsaSecp256k1RecoveryMethod2020``, a BLS key, an unknown type).

    Thumbprints name a key independently of how it was published (``Secp256k1`` or ``Multikey``, compressed or not),
    which is what a compromise mark must do.
    """
    try:
        jwk = vm.get("publicKeyJwk")
        if isinstance(jwk, Mapping):
            return jwk_thumbprint(jwk)
        multibase = vm.get("publicKeyMultibase")
        if not isinstance(multibase, str):
            return None
        if vm.get("type") == VM_X25519:
            raw = base58.b58decode(multibase[1:]) if multibase.startswith("z") else b""
            if not raw.startswith(X25519_PUB) or len(raw) != 34:
                return None
            return jwk_thumbprint({"kty": "OKP", "crv": "X25519", "x": b64url_encode(raw[2:])})
        return decode_multikey(multibase).thumbprint()
    except (DidError, KeyError_, ValueError):
        return None
