"""Reading the files CLI commands take (key material is only ever read from files, never from arguments)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ssi.encoding import json_loads
from ssi.errors import EncodingError, KeyFileError, SsiError
from ssi.keys import PrivateKey, PublicKey, decrypt_private_jwk, is_encrypted, read_jwk_file

MAX_INPUT = 1024 * 1024
PASSPHRASE_ENV = "GOVSSI_KEY_PASSPHRASE"  # noqa: S105 - the name of an env var, not a secret


class InputFileError(SsiError):
    """A file named on the command line cannot be read or parsed."""

    reason = "bad_input_file"


def read_text(path: Path) -> str:
    """Read a text file (``-`` for stdin) with a size limit."""
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(MAX_INPUT + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_INPUT + 1)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_INPUT:
        raise InputFileError(f"{path} is larger than {MAX_INPUT} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"{path} is not UTF-8 text") from None


def read_json_object(path: Path) -> dict[str, Any]:
    try:
        obj = json_loads(read_text(path))
    except EncodingError as exc:
        raise InputFileError(f"{path}: {exc.description}") from None
    if not isinstance(obj, dict):
        raise InputFileError(f"{path} must hold a JSON object")
    return obj


def load_private(path: Path) -> tuple[PrivateKey, str | None]:
    """A private key from a JWK file or an encrypted key file (passphrase from $GOVSSI_KEY_PASSPHRASE)."""
    doc = read_jwk_file(path)
    if is_encrypted(doc):
        passphrase = os.environ.get(PASSPHRASE_ENV)
        if not passphrase:
            raise KeyFileError(f"{path} is encrypted: set {PASSPHRASE_ENV}", reason="passphrase_required")
        return decrypt_private_jwk(doc, passphrase), doc.get("kid")
    if "d" not in doc:
        raise KeyFileError(f"{path} holds a public key; a private key is required", reason="not_private")
    kid = doc.get("kid")
    return PrivateKey.from_jwk(doc), kid if isinstance(kid, str) else None


def load_public(path: Path) -> PublicKey:
    """A public key from a JWK file; a private JWK or encrypted key file contributes only its public part."""
    doc = read_jwk_file(path)
    if is_encrypted(doc):
        return PublicKey.from_jwk(doc.get("public_jwk") or {})
    return PublicKey.from_jwk(doc)
