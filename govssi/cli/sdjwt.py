"""``govssi sdjwt``: a debugging CLI for SD-JWT / SD-JWT VC. A stable interface — outside tools script it.

- ``decode FILE``: header, payload, each Disclosure and the digest it fills (JSON, pretty-printed).
- ``issue --claims F --issuer-key JWKFILE --holder-jwk JWKFILE [--sd a,b.c|--sd-all] [--vct V] [--alg ES256|EdDSA]``:
  the compact SD-JWT (ending in ``~``) on stdout.
- ``present FILE --holder-key JWKFILE --disclose a,b.c --aud X --nonce Y``: the presentation on stdout.
- ``verify FILE --issuer-jwk JWKFILE [--aud X --nonce Y] [--no-kb]``: exit 0 with the verified claims as JSON;
  exit 1 with ``{"error", "error_description"}``. Without ``--aud/--nonce``, a credential carrying ``cnf`` is
  accepted only with ``--no-kb``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from govssi.cli._files import load_private, load_public, read_json_object, read_text
from govssi.cli._output import emit, fail, guarded, usage_error
from ssi.encoding import b64url_json
from ssi.errors import SdJwtError, SsiError
from ssi.keys import ALGORITHMS, SoftwareSigner
from ssi.sd_jwt import (
    ClaimPath,
    Disclosure,
    HeldSdJwt,
    VerificationPolicy,
    format_claim_path,
    issue_sd_jwt,
    parse_claim_path,
    parse_presentation_text,
    process_payload,
    split_compact,
    split_json,
    verify_sd_jwt,
)
from ssi.sd_jwt._common import DEFAULT_SD_ALG, digest, hash_function
from ssi.sd_jwt.vc import LEGACY_SD_JWT_VC_TYP, NEVER_DISCLOSABLE, SD_JWT_VC_TYP, issue_sd_jwt_vc, verify_sd_jwt_vc

app = typer.Typer(help="Decode, issue, present and verify SD-JWTs (RFC 9901) and SD-JWT VCs.", no_args_is_help=True)

_ALL_ALGS = frozenset(ALGORITHMS)


def _paths(spec: str, claims: Any) -> list[ClaimPath]:
    """Comma-separated dotted claim paths, typed against the claims they address."""
    return [parse_claim_path(p.strip(), claims) for p in spec.split(",") if p.strip()]


def _every_path(value: Any, prefix: ClaimPath = ()) -> list[ClaimPath]:
    """--sd-all: every object member and array element, recursively."""
    out: list[ClaimPath] = []
    if isinstance(value, dict):
        for key, member in value.items():
            if not prefix and key in NEVER_DISCLOSABLE:
                continue
            out.append((*prefix, key))
            out.extend(_every_path(member, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append((*prefix, i))
            out.extend(_every_path(item, (*prefix, i)))
    return out


@app.command("decode")
@guarded
def decode(file: Annotated[Path, typer.Argument(help="SD-JWT, SD-JWT+KB (compact or JSON); '-' for stdin.")]) -> None:
    """Show header, payload, each Disclosure and the digest it fills. Nothing is verified."""
    raw = parse_presentation_text(read_text(file))
    parts = split_json(raw) if isinstance(raw, dict) else split_compact(raw)
    protected, payload_b64, _ = parts.issuer_jwt.split(".")
    header, payload = b64url_json(protected), b64url_json(payload_b64)
    sd_alg = payload.get("_sd_alg", DEFAULT_SD_ALG) if isinstance(payload, dict) else DEFAULT_SD_ALG
    hash_fn = hash_function(sd_alg)
    located: dict[str, str] = {}
    processing_error = None
    try:
        processed = process_payload(payload, parts.disclosures)
        located = {c.digest: format_claim_path(c.path) for c in processed.disclosed}
    except SsiError as exc:
        processing_error = {"error": exc.reason, "error_description": exc.description}
    disclosures = []
    for encoded in parts.disclosures:
        entry: dict[str, Any] = {"disclosure": encoded, "digest": digest(encoded, hash_fn)}
        try:
            d = Disclosure.parse(encoded)
            entry.update(salt=d.salt, claim_name=d.name, value=d.value)
        except SdJwtError as exc:
            entry["error"] = exc.description
        entry["fills"] = located.get(entry["digest"])
        disclosures.append(entry)
    out: dict[str, Any] = {"header": header, "payload": payload, "sd_alg": sd_alg, "disclosures": disclosures}
    if parts.kb_jwt is not None:
        kb_h, kb_p, _ = parts.kb_jwt.split(".")
        out["key_binding_jwt"] = {"header": b64url_json(kb_h), "payload": b64url_json(kb_p)}
    if processing_error is not None:
        out["processing_error"] = processing_error
    emit(out)


@app.command("issue")
@guarded
def issue(
    claims: Annotated[Path, typer.Option("--claims", help="JSON file with the claims.")],
    issuer_key: Annotated[Path, typer.Option("--issuer-key", help="Issuer's private JWK (or encrypted key) file.")],
    holder_jwk: Annotated[Path, typer.Option("--holder-jwk", help="Holder's public JWK file (goes into cnf.jwk).")],
    sd: Annotated[
        str | None, typer.Option("--sd", help="Disclosable claim paths, e.g. given_name,address.street")
    ] = None,
    sd_all: Annotated[bool, typer.Option("--sd-all", help="Make every claim disclosable, recursively.")] = False,
    vct: Annotated[str | None, typer.Option("--vct", help="Issue an SD-JWT VC (typ dc+sd-jwt) of this type.")] = None,
    alg: Annotated[str | None, typer.Option("--alg", help="ES256 or EdDSA; must match the issuer key.")] = None,
) -> None:
    """Issue an SD-JWT (or, with --vct, an SD-JWT VC); prints the compact form ending in '~'."""
    if sd and sd_all:
        usage_error("--sd and --sd-all exclude each other")
    if alg is not None and alg not in ("ES256", "EdDSA"):
        usage_error("--alg must be ES256 or EdDSA")
    key, kid = load_private(issuer_key)
    if alg is not None and key.alg != alg:
        usage_error(f"--alg {alg} does not match the issuer key ({key.alg})")
    holder = load_public(holder_jwk)
    body = read_json_object(claims)
    signer = SoftwareSigner(key, kid)
    if vct is not None:
        # Registered claims of the SD-JWT VC draft §3.2.2.2 are never disclosable: take them out of the claims.
        params = {name: body.pop(name) for name in NEVER_DISCLOSABLE if name in body}
        if "cnf" in params or "vct" in params:
            usage_error("the claims file must not carry cnf or vct: use --holder-jwk and --vct")
        if "vct#integrity" in params:
            body["vct#integrity"] = params.pop("vct#integrity")
        paths = _every_path(body) if sd_all else _paths(sd or "", body)
        issued = issue_sd_jwt_vc(
            body,
            signer,
            vct=vct,
            issuer=params.get("iss"),
            holder_jwk=holder.jwk,
            status=params.get("status"),
            expires_at=params.get("exp"),
            not_before=params.get("nbf"),
            disclosable=paths,
        )
    else:
        body["cnf"] = {"jwk": holder.jwk}
        paths = _every_path(body) if sd_all else _paths(sd or "", body)
        paths = [p for p in paths if p[:1] != ("cnf",)]
        issued = issue_sd_jwt(body, signer, disclosable=paths)
    sys.stdout.write(issued.compact + "\n")


@app.command("present")
@guarded
def present(
    file: Annotated[Path, typer.Argument(help="The issued SD-JWT; '-' for stdin.")],
    holder_key: Annotated[Path, typer.Option("--holder-key", help="Holder's private JWK file (signs the KB-JWT).")],
    disclose: Annotated[str, typer.Option("--disclose", help="Claim paths to disclose, e.g. given_name,address")],
    aud: Annotated[str, typer.Option("--aud", help="The Verifier (KB-JWT 'aud').")],
    nonce: Annotated[str, typer.Option("--nonce", help="The Verifier's nonce (KB-JWT 'nonce').")],
) -> None:
    """Select Disclosures and add a Key Binding JWT; prints the presentation."""
    held = HeldSdJwt.parse(parse_presentation_text(read_text(file)))
    key, kid = load_private(holder_key)
    if held.holder_jwk is not None and _thumbprint(held.holder_jwk) != key.public_key.thumbprint():
        fail("kb_wrong_key", "the holder key does not match the credential's cnf.jwk")
    out = held.present(_paths(disclose, held.claims), holder=SoftwareSigner(key, kid), audience=aud, nonce=nonce)
    sys.stdout.write(out + "\n")


def _peek(part: str) -> dict[str, Any]:
    """Decode a JWS part before verification, only to choose the verification route (the signature decides)."""
    try:
        value = b64url_json(part)
    except SsiError:
        return {}  # verification reports the malformed part with its specific error
    return value if isinstance(value, dict) else {}


def _thumbprint(jwk: dict[str, Any]) -> str | None:
    from ssi.keys import jwk_thumbprint

    try:
        return jwk_thumbprint(jwk)
    except SsiError:
        return None


@app.command("verify")
@guarded
def verify(
    file: Annotated[Path, typer.Argument(help="The presentation; '-' for stdin.")],
    issuer_jwk: Annotated[Path, typer.Option("--issuer-jwk", help="Issuer's public JWK file.")],
    aud: Annotated[str | None, typer.Option("--aud", help="Expected KB-JWT 'aud' (requires Key Binding).")] = None,
    nonce: Annotated[str | None, typer.Option("--nonce", help="Expected KB-JWT 'nonce'.")] = None,
    no_kb: Annotated[bool, typer.Option("--no-kb", help="Accept without Key Binding (no KB-JWT expected).")] = False,
) -> None:
    """Verify per RFC 9901 §7; prints the verified claims as JSON (exit 0) or an error object (exit 1)."""
    if (aud is None) != (nonce is None):
        usage_error("--aud and --nonce go together")
    if no_kb and aud is not None:
        usage_error("--no-kb excludes --aud/--nonce")
    raw = parse_presentation_text(read_text(file))
    key = load_public(issuer_jwk)
    protected, payload_b64, _ = (split_json(raw) if isinstance(raw, dict) else split_compact(raw)).issuer_jwt.split(".")
    header, payload = _peek(protected), _peek(payload_b64)
    if aud is None and not no_kb and "cnf" in payload:
        fail("kb_required", "the credential is key-bound (cnf): give --aud and --nonce, or --no-kb")
    policy = VerificationPolicy(
        algorithms=frozenset({key.alg}),
        kb_algorithms=_ALL_ALGS,
        require_key_binding=aud is not None,
        audience=aud,
        nonce=nonce,
    )
    if header.get("typ") in (SD_JWT_VC_TYP, LEGACY_SD_JWT_VC_TYP):
        result = verify_sd_jwt_vc(raw, key, policy, accept_legacy_typ=True)
    else:
        result = verify_sd_jwt(raw, key, policy)
    emit(result.claims)
