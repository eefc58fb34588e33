"""``govssi keys``: key generation, in files or in a PKCS#11 token (``govssi keys pkcs11``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govssi.cli._files import PASSPHRASE_ENV
from govssi.cli._output import emit, guarded, usage_error
from ssi.did import did_jwk_from_public_key, did_key_from_public_key
from ssi.keys import ALGORITHMS, PrivateKey, write_key_file

if TYPE_CHECKING:
    from ssi.keys import Pkcs11Signer

app = typer.Typer(help="Generate and inspect keys.", no_args_is_help=True)


def _interactive() -> bool:
    return sys.stdin.isatty()


def say(line: str) -> None:
    """The one human line a script command prints on stderr next to its JSON (README, "The govssi command line")."""
    sys.stderr.write(f"govssi: {line}\n")


def read_passphrase(confirm: bool) -> str:
    """The key-file passphrase: from $GOVSSI_KEY_PASSPHRASE, else prompted on a terminal (never a CLI argument)."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not _interactive():
        usage_error(f"an encrypted key needs a passphrase: set {PASSPHRASE_ENV} or run on a terminal")
    return str(typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True))  # stdout: JSON


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
    say(f"{alg} key {kid} written to {out} ({'encrypted' if encrypt else 'not encrypted'}); public JWK on stdout")
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


# --- keys in a PKCS#11 token (HSM) --------------------------------------------------------------------------------

pkcs11_app = typer.Typer(
    help="Keys in a PKCS#11 token (HSM): generated inside it, never leaving it. "
    "User PIN from $GOVSSI_PKCS11_PIN or the file named by $GOVSSI_PKCS11_PIN_FILE (or a terminal prompt).",
    no_args_is_help=True,
)
app.add_typer(pkcs11_app, name="pkcs11")

_TOKEN_ALGS = ("ES256", "ES256K")
ModuleOption = Annotated[
    str,
    typer.Option(
        "--module", envvar="GOVSSI_PKCS11_MODULE", help="PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so."
    ),
]
TokenLabelOption = Annotated[str, typer.Option("--token-label", help="Label of the token (softhsm2-util --label).")]


def _token_pin() -> str:
    """The token's user PIN: $GOVSSI_PKCS11_PIN, the file in $GOVSSI_PKCS11_PIN_FILE, or a terminal prompt."""
    from ssi.keys import PIN_ENV, PIN_FILE_ENV, read_pin

    pin = read_pin()
    if pin:
        return pin
    if not _interactive():
        usage_error(f"the token's user PIN is needed: set {PIN_ENV} or {PIN_FILE_ENV}, or run on a terminal")
    return str(typer.prompt("Token user PIN", hide_input=True, err=True))  # stdout is the JSON answer


def _key_id(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        key_id = bytes.fromhex(value)
    except ValueError:
        usage_error("--key-id must be hexadecimal (CKA_ID bytes)")
    if not key_id:
        usage_error("--key-id must not be empty")
    return key_id


def _describe_token_key(signer: Pkcs11Signer, module: str, token_label: str) -> dict[str, Any]:
    described: dict[str, Any] = {
        "alg": signer.alg,
        "kid": signer.kid,
        "public_jwk": {**signer.public_jwk, "kid": signer.kid},
        "pkcs11": {
            "module": module,
            "token_label": token_label,
            "key_label": signer.label,
            "key_id": signer.key_id.hex(),
        },
        "did_key": did_key_from_public_key(signer.public_key),
        "did_jwk": did_jwk_from_public_key(signer.public_key),
    }
    if signer.alg == "ES256K":
        from ledger.client import ethereum_address

        described["ethereum_address"] = ethereum_address(signer.public_key)
    return described


@pkcs11_app.command("generate")
@guarded
def pkcs11_generate(
    module: ModuleOption,
    token_label: TokenLabelOption,
    key_label: Annotated[str, typer.Option("--key-label", help="Label of the new key (CKA_LABEL); must be unused.")],
    alg: Annotated[str, typer.Option("--alg", help="ES256 (P-256) or ES256K (secp256k1).")] = "ES256",
    key_id: Annotated[str | None, typer.Option("--key-id", help="CKA_ID in hex; 16 random bytes by default.")] = None,
    kid: Annotated[str | None, typer.Option("--kid", help="Key ID; defaults to the RFC 7638 thumbprint.")] = None,
) -> None:
    """Generate a key pair inside the token (sensitive, not extractable) and print its public JWK as JSON."""
    if alg not in _TOKEN_ALGS:
        usage_error(f"--alg must be one of {', '.join(_TOKEN_ALGS)} for a token key")
    raw_id = _key_id(key_id)
    from ssi.keys import Pkcs11Token

    with Pkcs11Token(module, token_label, _token_pin()) as token:
        signer = token.generate_key(alg, label=key_label, key_id=raw_id, kid=kid)
        say(f"{alg} key {signer.kid} generated in token {token_label!r} as {key_label!r}; public JWK on stdout")
        emit(_describe_token_key(signer, module, token_label))


@pkcs11_app.command("show")
@guarded
def pkcs11_show(
    module: ModuleOption,
    token_label: TokenLabelOption,
    key_label: Annotated[str | None, typer.Option("--key-label", help="Label of the key (CKA_LABEL).")] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="CKA_ID of the key in hex.")] = None,
    kid: Annotated[str | None, typer.Option("--kid", help="Key ID; defaults to the RFC 7638 thumbprint.")] = None,
) -> None:
    """Print the public JWK of a key in the token (found by --key-label, --key-id or both)."""
    if key_label is None and key_id is None:
        usage_error("give --key-label, --key-id or both")
    raw_id = _key_id(key_id)
    from ssi.keys import Pkcs11Token

    with Pkcs11Token(module, token_label, _token_pin()) as token:
        signer = token.signer(label=key_label, key_id=raw_id, kid=kid)
        say(f"{signer.alg} key {signer.kid} in token {token_label!r} ({signer.label!r}); public JWK on stdout")
        emit(_describe_token_key(signer, module, token_label))


@pkcs11_app.command("list")
@guarded
def pkcs11_list(module: ModuleOption, token_label: TokenLabelOption) -> None:
    """List the EC keys in the token: label, id (hex) and algorithm (null for curves govssi does not use)."""
    from ssi.keys import Pkcs11Token

    with Pkcs11Token(module, token_label, _token_pin()) as token:
        keys = [{"key_label": k.label, "key_id": k.key_id.hex(), "alg": k.alg} for k in token.list_keys()]
    say(f"{len(keys)} EC key{'' if len(keys) == 1 else 's'} in token {token_label!r}")
    emit({"token_label": token_label, "keys": keys})
