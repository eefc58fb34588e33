"""``govssi bbs``: a debugging CLI for BBS signatures (draft-irtf-cfrg-bbs-signatures-09) on the draft fixtures' JSON
conventions — keys, headers, messages, signatures and proofs as hex. A stable interface: outside tools script it.

- ``keygen [--suite S] [--out FILE]``: ``{"ciphersuite", "keyPair": {"secretKey", "publicKey"}}``; with ``--out`` the
  secret key goes (hex, mode 0600) into FILE and only the public key is printed.
- ``sign (--sk HEX | --sk-file FILE) [--pk HEX] [--header HEX] --messages FILE``: ``{..., "signature"}``.
- ``verify --pk HEX --signature HEX [--header HEX] --messages FILE``: ``{"valid": true}``.
- ``proof --pk HEX --signature HEX [--header HEX] [--ph HEX] --messages FILE --disclose 0,2,4``: ``{..., "proof"}``.
- ``verify-proof --pk HEX --proof HEX [--header HEX] [--ph HEX] --messages FILE --disclose 0,2,4``:
  ``{"valid": true}``; here FILE holds the *disclosed* messages, one per index, in index order.

A messages FILE ('-' for stdin) is a JSON array of hex strings (like the fixtures' ``messages.json``) or an object with
such an array under ``messages`` (a fixture file, or the output of ``sign``) or ``disclosedMessages`` (the output of
``proof``). ``--sk HEX`` exists because this is a tool for test vectors; for real keys use ``--sk-file``. A refused
check prints ``{"error": <reason>, "error_description"}`` and exits 1; malformed hex is a usage error (exit 2).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from govssi.cli._files import InputFileError, read_text
from govssi.cli._output import emit, guarded, usage_error
from ssi import bbs
from ssi.encoding import json_loads
from ssi.errors import EncodingError

app = typer.Typer(
    help="BBS signatures (IETF CFRG draft; BLS12-381-SHA-256 and -SHAKE-256) on the fixtures' JSON conventions.",
    no_args_is_help=True,
)

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")

SuiteOption = Annotated[
    str, typer.Option("--suite", help="Ciphersuite: BLS12-381-SHA-256 (default) or BLS12-381-SHAKE-256.")
]
HeaderOption = Annotated[str, typer.Option("--header", help="Header (hex), bound to signature and proofs.")]
PhOption = Annotated[str, typer.Option("--ph", help="Presentation header (hex), bound to the proof.")]
PkOption = Annotated[str, typer.Option("--pk", help="Signer's public key (hex, 96 octets).")]
MessagesOption = Annotated[Path, typer.Option("--messages", help="JSON file with the hex messages; '-' for stdin.")]
DiscloseOption = Annotated[str, typer.Option("--disclose", help="Disclosed message indexes, ascending: 0,2,4.")]


def _suite(name: str) -> bbs.Ciphersuite:
    for suite_name, suite in bbs.CIPHERSUITES.items():
        if name.upper() == suite_name:
            return suite
    usage_error(f"--suite must be one of {', '.join(bbs.CIPHERSUITES)}")


def _hex(value: str, option: str) -> bytes:
    if not _HEX.fullmatch(value):
        usage_error(f"{option} must be hex (an even number of 0-9a-f digits)")
    return bytes.fromhex(value)


def _indexes(spec: str) -> list[int]:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not all(re.fullmatch(r"[0-9]{1,9}", p) for p in parts):
        usage_error("--disclose must be comma-separated non-negative integers, e.g. 0,2,4")
    return [int(p) for p in parts]


def _messages(path: Path, *keys: str) -> list[bytes]:
    try:
        doc = json_loads(read_text(path))
    except EncodingError as exc:
        raise InputFileError(f"{path}: {exc.description}") from None
    if isinstance(doc, dict):
        doc = next((doc[k] for k in keys if k in doc), None)
    if not isinstance(doc, list) or not all(isinstance(m, str) and _HEX.fullmatch(m) for m in doc):
        wanted = " or ".join(f"'{k}'" for k in keys)
        raise InputFileError(f"{path} must hold a JSON array of hex strings (or an object with it under {wanted})")
    return [bytes.fromhex(m) for m in doc]


def _secret_key(sk: str | None, sk_file: Path | None) -> bytes:
    if (sk is None) == (sk_file is None):
        usage_error("give the secret key with exactly one of --sk HEX or --sk-file FILE")
    if sk is not None:
        return _hex(sk, "--sk")
    assert sk_file is not None
    text = read_text(sk_file).strip()
    if text.startswith("{"):
        doc: Any = json_loads(text)
        pair = doc.get("keyPair", doc) if isinstance(doc, dict) else None
        text = pair.get("secretKey", "") if isinstance(pair, dict) else ""
    if not isinstance(text, str) or not text or not _HEX.fullmatch(text):
        raise InputFileError(f"{sk_file} must hold the secret key as hex (or a keygen JSON output)")
    return bytes.fromhex(text)


@app.command("keygen")
@guarded
def keygen(
    suite: SuiteOption = "BLS12-381-SHA-256",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the secret key (hex) to this new file (mode 0600).")
    ] = None,
) -> None:
    """Generate a key pair (KeyGen over 32 random octets, SkToPk)."""
    ciphersuite = _suite(suite)
    sk = bbs.generate_secret_key(suite=ciphersuite)
    pk = bbs.sk_to_pk(sk)
    if out is None:
        emit({"ciphersuite": ciphersuite.name, "keyPair": {"secretKey": sk.hex(), "publicKey": pk.hex()}})
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(sk.hex() + "\n")
    emit({"ciphersuite": ciphersuite.name, "keyPair": {"publicKey": pk.hex()}, "secretKeyFile": str(out)})


@app.command("sign")
@guarded
def sign(
    messages: MessagesOption,
    sk: Annotated[str | None, typer.Option("--sk", help="Secret key (hex). For test vectors; see --sk-file.")] = None,
    sk_file: Annotated[Path | None, typer.Option("--sk-file", help="File with the secret key (hex).")] = None,
    pk: Annotated[str | None, typer.Option("--pk", help="Public key (hex); must match the secret key.")] = None,
    header: HeaderOption = "",
    suite: SuiteOption = "BLS12-381-SHA-256",
) -> None:
    """Sign messages (Sign, §3.5.1): deterministic, 80 octets."""
    ciphersuite = _suite(suite)
    secret = _secret_key(sk, sk_file)
    header_octets, msgs = _hex(header, "--header"), _messages(messages, "messages")
    public = bbs.sk_to_pk(secret)
    if pk is not None and _hex(pk, "--pk") != public:
        usage_error("--pk is not the public key of the secret key")
    signature = bbs.sign(secret, public, msgs, header=header_octets, suite=ciphersuite)
    emit(
        {
            "ciphersuite": ciphersuite.name,
            "publicKey": public.hex(),
            "header": header_octets.hex(),
            "messages": [m.hex() for m in msgs],
            "signature": signature.hex(),
        }
    )


@app.command("verify")
@guarded
def verify(
    pk: PkOption,
    signature: Annotated[str, typer.Option("--signature", help="Signature (hex, 80 octets).")],
    messages: MessagesOption,
    header: HeaderOption = "",
    suite: SuiteOption = "BLS12-381-SHA-256",
) -> None:
    """Verify a signature over all its messages (Verify, §3.5.2)."""
    ciphersuite = _suite(suite)
    pk_octets, signature_octets = _hex(pk, "--pk"), _hex(signature, "--signature")
    header_octets, msgs = _hex(header, "--header"), _messages(messages, "messages")
    bbs.verify(pk_octets, signature_octets, msgs, header=header_octets, suite=ciphersuite)
    emit({"valid": True, "ciphersuite": ciphersuite.name, "messages": len(msgs)})


@app.command("proof")
@guarded
def proof(
    pk: PkOption,
    signature: Annotated[str, typer.Option("--signature", help="Signature (hex, 80 octets).")],
    messages: MessagesOption,
    disclose: DiscloseOption,
    header: HeaderOption = "",
    ph: PhOption = "",
    no_check_signature: Annotated[
        bool, typer.Option("--no-check-signature", help="Skip verifying the signature first (§3.6.3 RECOMMENDS it).")
    ] = False,
    suite: SuiteOption = "BLS12-381-SHA-256",
) -> None:
    """Derive a fresh proof disclosing the chosen messages (ProofGen, §3.5.3)."""
    ciphersuite = _suite(suite)
    pk_octets, signature_octets = _hex(pk, "--pk"), _hex(signature, "--signature")
    header_octets, ph_octets = _hex(header, "--header"), _hex(ph, "--ph")
    msgs, indexes = _messages(messages, "messages"), _indexes(disclose)
    proof_octets = bbs.proof_gen(
        pk_octets,
        signature_octets,
        msgs,
        indexes,
        header=header_octets,
        ph=ph_octets,
        suite=ciphersuite,
        check_signature=not no_check_signature,
    )
    emit(
        {
            "ciphersuite": ciphersuite.name,
            "publicKey": pk_octets.hex(),
            "header": header_octets.hex(),
            "presentationHeader": ph_octets.hex(),
            "disclosedIndexes": indexes,
            "disclosedMessages": [msgs[i].hex() for i in indexes],
            "totalMessages": len(msgs),
            "proof": proof_octets.hex(),
        }
    )


@app.command("verify-proof")
@guarded
def verify_proof(
    pk: PkOption,
    proof: Annotated[str, typer.Option("--proof", help="Proof (hex).")],
    messages: Annotated[
        Path, typer.Option("--messages", help="JSON file with the disclosed hex messages, in index order; '-': stdin.")
    ],
    disclose: DiscloseOption,
    header: HeaderOption = "",
    ph: PhOption = "",
    suite: SuiteOption = "BLS12-381-SHA-256",
) -> None:
    """Verify a proof against the disclosed messages (ProofVerify, §3.5.4)."""
    ciphersuite = _suite(suite)
    pk_octets, proof_octets = _hex(pk, "--pk"), _hex(proof, "--proof")
    header_octets, ph_octets = _hex(header, "--header"), _hex(ph, "--ph")
    msgs, indexes = _messages(messages, "disclosedMessages", "messages"), _indexes(disclose)
    bbs.proof_verify(pk_octets, proof_octets, msgs, indexes, header=header_octets, ph=ph_octets, suite=ciphersuite)
    emit({"valid": True, "ciphersuite": ciphersuite.name, "disclosedIndexes": indexes})
