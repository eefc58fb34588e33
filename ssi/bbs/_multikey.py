"""BBS public keys as Multikey (W3C Controlled Identifiers 1.0 "Multikey"; vc-di-bbs §2.1.1): ``publicKeyMultibase`` =
``"z" + base58btc(0xeb 0x01 || point_to_octets_E2(W))`` — multicodec ``bls12_381-g2-pub`` (0xeb) as an unsigned
varint, then the 96-octet compressed G2 point. vc-di-bbs §2.1.1: "The publicKeyMultibase value of the verification
method MUST start with the base-58-btc prefix (z) [...] Any other encoding MUST NOT be allowed" and implementations
"will raise errors in the event of a Multicodec value other than 0xeb01".

Errors are DID errors with the did:key names (``invalidPublicKey``, ``invalidPublicKeyLength``,
``unsupportedPublicKeyType``), as for the other Multikey types in ``ssi.did``.
"""

from __future__ import annotations

from typing import Final

import base58

from ssi.bbs._octets import octets_to_pubkey
from ssi.bbs._suite import OCTET_G2_POINT_LENGTH
from ssi.errors import BbsError, DidError

#: multicodec bls12_381-g2-pub (0xeb) as an unsigned varint
BLS12_381_G2_PUB_PREFIX: Final = b"\xeb\x01"
_BASE58_ALPHABET: Final = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_MAX_LENGTH: Final = 160  # 98 octets are 134 base58 characters


def public_key_to_multikey(pk: bytes) -> str:
    """The ``publicKeyMultibase`` of a BBS public key (checked with ``octets_to_pubkey`` first)."""
    octets_to_pubkey(pk)
    return "z" + base58.b58encode(BLS12_381_G2_PUB_PREFIX + pk).decode("ascii")


def public_key_from_multikey(value: str) -> bytes:
    """A BBS public key from a ``publicKeyMultibase`` value: base58btc, multicodec 0xeb01, a valid G2 point."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise DidError("publicKeyMultibase must be base58btc (prefix 'z')", reason="invalidPublicKey")
    encoded = value[1:]
    if len(encoded) > _MAX_LENGTH or not encoded or not set(encoded) <= _BASE58_ALPHABET:
        raise DidError("publicKeyMultibase is not a base58btc BLS12-381 key", reason="invalidPublicKey")
    raw = base58.b58decode(encoded)
    if not raw.startswith(BLS12_381_G2_PUB_PREFIX):
        raise DidError("multicodec is not bls12_381-g2-pub (0xeb01)", reason="unsupportedPublicKeyType")
    pk = raw[len(BLS12_381_G2_PUB_PREFIX) :]
    if len(pk) != OCTET_G2_POINT_LENGTH:
        raise DidError(f"a BLS12-381 G2 public key is {OCTET_G2_POINT_LENGTH} octets", reason="invalidPublicKeyLength")
    try:
        octets_to_pubkey(pk)
    except BbsError as exc:
        raise DidError(f"not a BLS12-381 G2 public key: {exc.description}", reason="invalidPublicKey") from None
    return pk
