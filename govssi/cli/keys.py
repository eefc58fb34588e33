"""``govssi keys``: key generation."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from govssi.cli._files import PASSPHRASE_ENV
from govssi.cli._output import emit, guarded, usage_error
from ssi.did import did_jwk_from_public_key, did_key_from_public_key
from ssi.keys import ALGORITHMS, PrivateKey, write_key_file

app = typer.Typer(help="Generate and inspect keys.", no_args_is_help=True)


def read_passphrase(confirm: bool) -> str:
    """The key-file passphrase: from $GOVSSI_KEY_PASSPHRASE, else prompted on a terminal (never a CLI argument)."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        usage_error(f"an encrypted key needs a passphrase: set {PASSPHRASE_ENV} or run on a terminal")
    return str(typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm))


@app.command("generate")
@guarded
def generate(
    alg: Annotated[str, typer.Option("--alg", help="ES256 (P-256), EdDSA (Ed25519) or ES256K (secp256k1).")],
    out: Annotated[Path, typer.Option("--out", help="File to write the private key to (created with mode 0600).")],
    encrypt: Annotated[
        bool, typer.Option("--encrypt", help="Encrypt at rest (passphrase: $GOVSSI_KEY_PASSPHRASE).")
    ] = False,
    kid: Annotated[str | None, typer.Option("--kid", help="Key ID; defaults to the RFC 7638 thumbprint.")] = None,
) -> None:
    """Generate a key pair; write the private key to --out and print the public JWK as JSON."""
    if alg not in ALGORITHMS:
        usage_error(f"--alg must be one of {', '.join(ALGORITHMS)}")
    key = PrivateKey.generate(alg)
    kid = kid or key.public_key.thumbprint()
    passphrase = read_passphrase(confirm=True) if encrypt else None
    write_key_file(out, key, passphrase=passphrase, kid=kid)
    emit(
        {
            "alg": alg,
            "kid": kid,
            "public_jwk": {**key.public_key.jwk, "kid": kid},
            "file": str(out),
            "encrypted": encrypt,
            "did_key": did_key_from_public_key(key.public_key),
            "did_jwk": did_jwk_from_public_key(key.public_key),
        }
    )
