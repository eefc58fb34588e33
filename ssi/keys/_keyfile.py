"""Key files: a private JWK, optionally encrypted at rest.

Encrypted format (``govssi-keyfile`` version 1): the private JWK encrypted with AES-256-GCM under a key derived from
a passphrase with scrypt (RFC 7914; N=2^15, r=8, p=1 by default). The public JWK, ``alg``, ``kid`` and the KDF
parameters are stored in the clear and bound to the ciphertext as GCM associated data, so tampering with any of them
makes decryption fail. Files are written with mode 0600.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import EncodingError, KeyError_, KeyFileError
from ssi.keys._jwk import PrivateKey

FORMAT = "govssi-keyfile"
_MAX_FILE = 64 * 1024
# Bounds on the work and memory a (possibly tampered) key file can demand: scrypt needs 128·N·r bytes, so
# N ≤ 2^17 with r = 8 caps it at 128 MiB; the default N = 2^15 uses 32 MiB.
_SCRYPT_LIMITS = {"n": (2**14, 2**17), "r": (8, 8), "p": (1, 2)}


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def encrypt_private_jwk(key: PrivateKey, passphrase: str, kid: str | None = None, *, n: int = 2**15) -> dict[str, Any]:
    """Encrypt a private key into the key-file JSON object."""
    if not passphrase:
        raise KeyFileError("an empty passphrase cannot protect a key file", reason="empty_passphrase")
    try:
        passphrase.encode("utf-8")
    except UnicodeEncodeError:  # e.g. undecodable bytes from the environment (surrogateescape)
        raise KeyFileError("the passphrase is not valid Unicode text", reason="bad_passphrase") from None
    lo, hi = _SCRYPT_LIMITS["n"]
    if isinstance(n, bool) or not isinstance(n, int) or not lo <= n <= hi or n & (n - 1):
        # decrypt_private_jwk only opens files within these limits; never write one it would refuse.
        raise KeyFileError("scrypt parameter n must be a power of two within the key-file limits", reason="bad_kdf")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "alg": key.alg,
        "kid": kid,
        "public_jwk": key.public_key.jwk,
        "kdf": {"name": "scrypt", "n": n, "r": 8, "p": 1, "salt": b64url_encode(salt)},
        "cipher": {"name": "A256GCM", "nonce": b64url_encode(nonce)},
    }
    aad = json_dumps(header).encode("utf-8")
    ct = AESGCM(_derive(passphrase, salt, n, 8, 1)).encrypt(nonce, json_dumps(key.private_jwk()).encode(), aad)
    return {**header, "ciphertext": b64url_encode(ct)}


def decrypt_private_jwk(doc: Any, passphrase: str) -> PrivateKey:
    """Open an encrypted key file object. Wrong passphrase and tampering give the same error (no oracle)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != 1:
        raise KeyFileError("not a govssi encrypted key file (format/version)", reason="unknown_format")
    try:
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf.get("name") != "scrypt" or cipher.get("name") != "A256GCM":
            raise KeyFileError("unsupported key-file KDF or cipher", reason="unknown_format")
        params = {k: kdf[k] for k in ("n", "r", "p")}
        for k, (lo, hi) in _SCRYPT_LIMITS.items():
            v = params[k]
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise KeyFileError(f"key-file scrypt parameter {k} out of range", reason="unknown_format")
        salt, nonce = b64url_decode(kdf["salt"]), b64url_decode(cipher["nonce"])
        ct = b64url_decode(doc["ciphertext"])
    except (KeyError, TypeError, AttributeError, EncodingError):
        raise KeyFileError("key file is malformed", reason="unknown_format") from None
    header = {k: v for k, v in doc.items() if k != "ciphertext"}
    aad = json_dumps(header).encode("utf-8")
    try:
        plain = AESGCM(_derive(passphrase, salt, params["n"], params["r"], params["p"])).decrypt(nonce, ct, aad)
    except (InvalidTag, ValueError):
        raise KeyFileError("wrong passphrase or tampered key file", reason="decrypt_failed") from None
    key = PrivateKey.from_jwk(json_loads(plain))
    if key.public_key.jwk != doc.get("public_jwk"):
        raise KeyFileError("key file public key does not match its private key", reason="decrypt_failed")
    return key


def write_key_file(path: Path, key: PrivateKey, *, passphrase: str | None = None, kid: str | None = None) -> None:
    """Write a key file with mode 0600; refuses to overwrite an existing file."""
    if passphrase is not None:
        doc: dict[str, Any] = encrypt_private_jwk(key, passphrase, kid)
    else:
        doc = key.private_jwk()
        if kid is not None:
            doc["kid"] = kid
    data = (json_dumps(doc) + "\n").encode("utf-8")
    if path.exists():
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key", reason="exists")
    # Written whole under a temporary name in the same directory, then linked to its name, which fails if the name
    # exists: a process that finds the file (e.g. another worker of the same service, starting at the same moment)
    # never reads a half-written key, and of two writers exactly one wins.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key", reason="exists") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}", reason="io") from None


def read_jwk_file(path: Path) -> dict[str, Any]:
    """Read a JSON object (a JWK or an encrypted key file) with a size limit."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_FILE + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}", reason="io") from None
    if len(data) > _MAX_FILE:
        raise KeyFileError(f"{path} is larger than a key file can be", reason="too_large")
    try:
        doc = json_loads(data)
    except EncodingError as exc:
        raise KeyFileError(f"{path} is not JSON: {exc.description}", reason="unknown_format") from None
    if not isinstance(doc, dict):
        raise KeyFileError(f"{path} does not hold a JSON object", reason="unknown_format")
    return doc


def is_encrypted(doc: dict[str, Any]) -> bool:
    return doc.get("format") == FORMAT


def load_private_key(path: Path, passphrase: str | None = None) -> PrivateKey:
    """Load a plain private JWK file or an encrypted key file."""
    doc = read_jwk_file(path)
    if is_encrypted(doc):
        if passphrase is None:
            raise KeyFileError(f"{path} is encrypted; a passphrase is required", reason="passphrase_required")
        return decrypt_private_jwk(doc, passphrase)
    if "d" not in doc:
        raise KeyError_(f"{path} holds a public key, a private key is required", reason="invalid_jwk")
    return PrivateKey.from_jwk(doc)
