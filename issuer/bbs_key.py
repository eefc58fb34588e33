"""Each authority's BBS key (BLS12-381, ``ssi.bbs``) for ``bbs-2023`` credentials, and its key file.

PKCS#11 tokens do not offer BLS12-381, so the BBS secret key lives in a key file in every keyring — encrypted like the
other key files (``ssi.keys``: scrypt (RFC 7914, N=2^15, r=8, p=1) and AES-256-GCM, the header — format, public key
as Multikey, KDF parameters — bound as associated data, mode 0600, never overwritten). Without a passphrase the file
holds the secret key in the clear (development only, as for the other keys).

The public key is published on the authority's did:ethr as a ``Multikey`` (multicodec ``bls12_381-g2-pub``) under
``did/pub/Multikey/veriKey`` (:mod:`issuer.chain`); vc-di-bbs §6.2.1: one key per issuer, as every extra key splits
the holders' anonymity set.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ssi import bbs
from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import BbsError, EncodingError, KeyFileError

__all__ = ["BbsKey", "load_or_create_bbs_key", "read_bbs_key_file", "write_bbs_key_file"]

FORMAT: Final = "govssi-bbs-keyfile"
_SCRYPT_N: Final = 2**15
_MAX_FILE: Final = 16 * 1024


@dataclass(frozen=True)
class BbsKey:
    """A BBS key pair (SK 32 octets, PK 96 octets, ``ssi.bbs``)."""

    secret_key: bytes
    public_key: bytes

    @classmethod
    def generate(cls) -> BbsKey:
        """BBS §3.4.1 KeyGen from 32 octets of fresh key material (the draft's minimum: "at least 32 bytes")."""
        secret_key = bbs.keygen(secrets.token_bytes(32))
        return cls(secret_key, bbs.sk_to_pk(secret_key))

    @property
    def multikey(self) -> str:
        """The ``publicKeyMultibase`` of the public key (``z`` base58btc of 0xeb01 ‖ PK)."""
        return bbs.public_key_to_multikey(self.public_key)

    def __repr__(self) -> str:  # the secret key never reaches a log line
        return f"BbsKey({self.multikey[:16]}…)"


def _derive(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(passphrase.encode("utf-8"))


def write_bbs_key_file(path: Path, key: BbsKey, *, passphrase: str | None) -> None:
    """Write the key file (mode 0600); refuses to overwrite an existing file."""
    header: dict[str, Any] = {"format": FORMAT, "version": 1, "public_key": key.multikey}
    if passphrase is None:
        doc = {**header, "secret_key": b64url_encode(key.secret_key)}
    else:
        if not passphrase:
            raise KeyFileError("an empty passphrase cannot protect a key file", reason="empty_passphrase")
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        header["kdf"] = {"name": "scrypt", "n": _SCRYPT_N, "r": 8, "p": 1, "salt": b64url_encode(salt)}
        header["cipher"] = {"name": "A256GCM", "nonce": b64url_encode(nonce)}
        sealed = AESGCM(_derive(passphrase, salt)).encrypt(nonce, key.secret_key, json_dumps(header).encode())
        doc = {**header, "ciphertext": b64url_encode(sealed)}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key", reason="exists") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}", reason="io") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write((json_dumps(doc) + "\n").encode("utf-8"))


def read_bbs_key_file(path: Path, *, passphrase: str | None) -> BbsKey:
    """Open a key file; the secret key must give the public key the file names (a wrong passphrase, a tampered header
    and a mismatched key all fail with ``decrypt_failed``)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_FILE + 1)
        doc = json_loads(data)
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}", reason="io") from None
    except EncodingError:
        raise KeyFileError(f"{path} is not JSON", reason="unknown_format") from None
    if len(data) > _MAX_FILE or not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != 1:
        raise KeyFileError(f"{path} is not a govssi BBS key file", reason="unknown_format")
    try:
        if "ciphertext" in doc:
            if passphrase is None:
                raise KeyFileError(f"{path} is encrypted; a passphrase is required", reason="passphrase_required")
            kdf, cipher = doc["kdf"], doc["cipher"]
            if kdf.get("name") != "scrypt" or kdf.get("n") != _SCRYPT_N or cipher.get("name") != "A256GCM":
                raise KeyFileError("unsupported key-file KDF or cipher", reason="unknown_format")
            header = {k: v for k, v in doc.items() if k != "ciphertext"}
            secret_key = AESGCM(_derive(passphrase, b64url_decode(kdf["salt"]))).decrypt(
                b64url_decode(cipher["nonce"]), b64url_decode(doc["ciphertext"]), json_dumps(header).encode()
            )
        else:
            secret_key = b64url_decode(doc["secret_key"])
        key = BbsKey(secret_key, bbs.sk_to_pk(secret_key))
    except (KeyError, TypeError, AttributeError, EncodingError):
        raise KeyFileError(f"{path} is malformed", reason="unknown_format") from None
    except (InvalidTag, ValueError, BbsError):
        raise KeyFileError("wrong passphrase or tampered key file", reason="decrypt_failed") from None
    if key.multikey != doc.get("public_key"):
        raise KeyFileError("key file public key does not match its secret key", reason="decrypt_failed")
    return key


def load_or_create_bbs_key(path: Path, *, passphrase: str | None) -> BbsKey:
    """The key in ``path``, generated first when there is none (of several processes creating it at once, the first
    one's key wins: the file is created exclusively)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_bbs_key_file(path, BbsKey.generate(), passphrase=passphrase)
        except KeyFileError as exc:
            if exc.reason != "exists":  # another worker process created it a moment ago: use that one
                raise
    return read_bbs_key_file(path, passphrase=passphrase)
