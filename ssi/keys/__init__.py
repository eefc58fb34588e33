"""Keys: JWK import/export (RFC 7517/7518/8037), RFC 7638 thumbprints, the ``Signer`` protocol, key files and keys
in PKCS#11 tokens (``Pkcs11Token``/``Pkcs11Signer``; loaded on first use, so importing ``ssi.keys`` does not load
python-pkcs11)."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ssi.keys._pkcs11 import PIN_ENV, PIN_FILE_ENV, Pkcs11KeyInfo, Pkcs11Signer, Pkcs11Token, read_pin

_PKCS11_NAMES = frozenset({"PIN_ENV", "PIN_FILE_ENV", "Pkcs11KeyInfo", "Pkcs11Signer", "Pkcs11Token", "read_pin"})


def __getattr__(name: str) -> Any:
    # PEP 562: python-pkcs11 (and asn1crypto with it) costs tens of milliseconds to import; only HSM users pay it.
    if name in _PKCS11_NAMES:
        from ssi.keys import _pkcs11

        return getattr(_pkcs11, name)
    raise AttributeError(f"module 'ssi.keys' has no attribute {name!r}")


__all__ = [
    "ALGORITHMS",
    "PIN_ENV",
    "PIN_FILE_ENV",
    "Pkcs11KeyInfo",
    "Pkcs11Signer",
    "Pkcs11Token",
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
    "read_pin",
    "write_key_file",
]
