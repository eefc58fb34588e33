"""Keys: JWK import/export (RFC 7517/7518/8037), RFC 7638 thumbprints, the ``Signer`` protocol and key files."""

from ssi.keys._jwk import ALGORITHMS, PrivateKey, PublicKey, ed25519_point_is_valid, jwk_thumbprint
from ssi.keys._keyfile import (
    decrypt_private_jwk,
    encrypt_private_jwk,
    is_encrypted,
    load_private_key,
    read_jwk_file,
    write_key_file,
)
from ssi.keys._signer import Signer, SoftwareSigner

__all__ = [
    "ALGORITHMS",
    "PrivateKey",
    "PublicKey",
    "Signer",
    "SoftwareSigner",
    "decrypt_private_jwk",
    "ed25519_point_is_valid",
    "encrypt_private_jwk",
    "is_encrypted",
    "jwk_thumbprint",
    "load_private_key",
    "read_jwk_file",
    "write_key_file",
]
