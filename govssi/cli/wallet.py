"""`govssi wallet`: the citizen's wallet simulator (stable interface; JSON on stdout, one human line per message on
stderr, exit 0 ok / 1 refused / 2 usage).

The wallet is chosen by the group option ``--data-dir D`` (or ``GOVSSI_WALLET_DIR``; default
``$GOVSSI_DATA_DIR/wallet``, else the user data directory ``govssi/wallet``). Subcommands — also other modules'
subgroups such as ``govssi wallet eid`` — read it from the click context: ``wallet_options(ctx).data_dir``
(``ctx.obj`` is a :class:`WalletOptions`; ``ctx.find_object(WalletOptions)`` works from any depth).

- ``init``: create the wallet (wallet PIN set twice at the prompt, or from ``GOVSSI_WALLET_PIN``).
- ``receive OFFER_OR_QR_IMAGE [--tx-code C] [--yes] [--batch N] [--wait S]``: an ``openid-credential-offer://`` /
  ``haip://`` link, the offer JSON, or a PNG/JPEG file with the offer's QR code. Shows issuer and credentials, asks
  for the transaction code if needed and not given, shows the received claims and asks before storing (``--yes``:
  accept without asking; scripts must pass it; ending the prompt declines). Creates the wallet on first use. A
  deferred issuance is kept and polled for up to ``--wait`` seconds (then ``govssi wallet poll``).
- ``list``, ``show ID [--raw]`` (raw: the compact credential as issued), ``delete ID [--yes]`` (at a terminal it asks
  first; without one it deletes at once), ``pending``, ``poll [PENDING_ID] [--wait S] [--yes]`` (never before the
  issuer's ``interval``).
- ``serve [--port P] [--host H]``: the phone-sized web wallet (the PIN is asked in the browser); with
  ``GOVSSI_CHAIN_RPC`` it checks ``govssi_chain_accreditation`` trusted authorities like ``present``.
- ``provider``: the (demo) wallet provider's CA — the trust anchor an issuer configures for wallet and key
  attestations.
- ``present AUTHORIZATION_REQUEST [--yes] [--disclose A,B] [--decline] [--use Q=ID] [--verifier-ca PEM]``: answer
  an OpenID4VP request (``openid4vp://``/``haip://`` link): fetch and verify it (the verifier's request-signing CA
  from ``--verifier-ca`` or ``GOVSSI_WALLET_VERIFIER_CA``), show the verifier, the purpose and every claim per
  credential, and send only after consent (``--yes``: send the verifier's preferred claims without asking;
  ``--disclose``: optional Credential Queries or optional claims to add; ``--decline``: send ``access_denied``;
  without ``--yes`` and without a terminal: print what would be disclosed and send nothing, exit 1). Prints what was
  sent and the verifier's answer; exit 1 when nothing matches or the verifier refuses
  (:mod:`govssi.cli.wallet_present`).

The wallet PIN comes from ``GOVSSI_WALLET_PIN`` or a terminal prompt, never from an argument. Plain HTTP to
127.0.0.1 only with ``GOVSSI_DEV_ALLOW_HTTP=1``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govssi.cli._output import emit, fail, guarded, usage_error

if TYPE_CHECKING:
    from wallet_sim.wallet import PendingIssuance, ReceivedCredentials, Wallet

app = typer.Typer(help="The citizen's wallet simulator.", no_args_is_help=True)

PIN_ENV = "GOVSSI_WALLET_PIN"
DIR_ENV = "GOVSSI_WALLET_DIR"


@dataclass(frozen=True)
class WalletOptions:
    """The group options every ``govssi wallet`` subcommand (and subgroup) shares."""

    data_dir: Path
    lang: str


def default_wallet_dir() -> Path:
    base = os.environ.get("GOVSSI_DATA_DIR")
    if base:
        return Path(base) / "wallet"
    import platformdirs

    return Path(platformdirs.user_data_dir("govssi", appauthor=False)) / "wallet"


def wallet_options(ctx: typer.Context) -> WalletOptions:
    """The group's options from any subcommand's context."""
    options = ctx.find_object(WalletOptions)
    if options is None:  # a subcommand invoked without the group (tests calling it directly)
        return WalletOptions(default_wallet_dir(), "de")
    return options


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar=DIR_ENV, help="The wallet's directory (default: user data dir).", show_envvar=True
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of names and labels: de or en.")] = "de",
) -> None:
    """The citizen's wallet simulator: receive, list, show and delete credentials; a web wallet."""
    if lang not in ("de", "en"):
        usage_error("--lang is de or en")
    ctx.obj = WalletOptions((data_dir or default_wallet_dir()).expanduser(), lang)


# -- helpers ---------------------------------------------------------------------------------------------------------


def _say(line: str) -> None:
    sys.stderr.write(line.rstrip() + "\n")


def _interactive() -> bool:
    return sys.stdin.isatty()


def _pin(*, confirm: bool = False) -> str:
    pin = os.environ.get(PIN_ENV)
    if pin:
        return pin
    if not _interactive():
        usage_error(f"the wallet PIN comes from {PIN_ENV} or a terminal prompt")
    value: str = typer.prompt("Wallet-PIN", hide_input=True, confirmation_prompt=confirm, err=True)
    return value


def _open(options: WalletOptions, *, create: bool = False) -> Wallet:
    from ssi.errors import WalletError
    from wallet_sim.wallet import Wallet

    if not Wallet.exists(options.data_dir):
        if not create:
            raise WalletError(
                f"there is no wallet in {options.data_dir} (govssi wallet init)", reason="wallet_not_found"
            )
        _say(f"govssi: creating a new wallet in {options.data_dir}; choose a wallet PIN (at least 6 characters)")
        return Wallet.create(options.data_dir, _pin(confirm=True))
    return Wallet.open(options.data_dir, _pin())


def _flatten(claims: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(claims, dict):
        out = []
        for key, value in claims.items():
            out += _flatten(value, (*prefix, key))
        return out
    if isinstance(claims, list) and claims and all(isinstance(v, dict) for v in claims):
        out = []
        for index, value in enumerate(claims):
            out += _flatten(value, (*prefix, index))
        return out
    return [(prefix, claims)]


def _claim_lines(claims: dict[str, Any], display: dict[str, Any], lang: str) -> list[str]:
    from wallet_sim.oid4vci.display import claim_label

    lines = []
    for path, value in _flatten(claims):
        label = claim_label(display, list(path), lang) or ".".join(str(p) for p in path)
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        lines.append(f"  {label}: {shown}")
    return lines


def _decide(wallet: Wallet, received: ReceivedCredentials, *, yes: bool, lang: str) -> dict[str, Any]:
    """Show what arrived and accept (``--yes`` or the user says so) or decline (``credential_deleted``)."""
    name, issuer = received.name(lang), received.issuer_name(lang)
    _say(
        f"{issuer}: {name} ({len(received.checked)} one-time copies)"
        if lang == "en"
        else f"{issuer}: {name} ({len(received.checked)} Einmal-Exemplare)"
    )
    for line in _claim_lines(received.claims, received.display, lang):
        _say(line)
    accept = yes or typer.confirm("Store this credential?" if lang == "en" else "Nachweis speichern?", err=True)
    if not accept:
        wallet.decline(received)
        _say("govssi: declined; the issuer was told (credential_deleted)")
        return {"declined": {"name": name, "issuer": issuer, "configuration_id": received.configuration_id}}
    stored = wallet.accept(received)
    _say(f"govssi: stored as {stored.id}")
    return {"stored": stored.summary(lang)}


def _outcomes(
    wallet: Wallet, results: list[ReceivedCredentials | PendingIssuance], *, yes: bool, wait: float, lang: str
) -> dict[str, list[Any]]:
    from wallet_sim.wallet import PendingIssuance, ReceivedCredentials

    out: dict[str, list[Any]] = {"stored": [], "pending": [], "declined": []}
    undecided = [r for r in results if isinstance(r, ReceivedCredentials)]
    try:
        for first in results:
            result = first
            if isinstance(result, PendingIssuance) and wait > 0:
                _say(f"govssi: the issuer needs time; polling every {result.interval:g} s for up to {wait:g} s")
                result = wallet.wait_for(result, timeout=wait)
                if isinstance(result, ReceivedCredentials):
                    undecided.append(result)
            if isinstance(result, PendingIssuance):
                _say(f"govssi: issuance pending ({result.id}); {_next_poll_hint(wallet, result)}")
                out["pending"].append(result.summary(lang))
                continue
            for key, value in _decide(wallet, result, yes=yes, lang=lang).items():
                out[key].append(value)
    except BaseException:
        _abandon(wallet, undecided, lang)
        raise
    return out


def _abandon(wallet: Wallet, received: list[ReceivedCredentials], lang: str) -> None:
    """The user left before deciding (end of input, Ctrl-C) or the run failed: what arrived but was not accepted is
    declined — keys destroyed now, ``credential_deleted`` sent (OpenID4VCI 1.0 §11.1: "caused by a user action") —
    so nothing waits for the provisional-key purge."""
    from ssi.errors import SsiError

    for item in received:
        if item.done:
            continue
        try:
            wallet.decline(item)
        except (SsiError, OSError):  # best effort: the keys stay provisional and are purged when the wallet opens
            continue
        _say(f"govssi: not stored: {item.name(lang)}; the issuer was told (credential_deleted)")


def _next_poll_hint(wallet: Wallet, pending: PendingIssuance) -> str:
    wait = pending.next_poll_at - wallet.clock()
    if wait > 0:
        return f"the issuer asks to wait {wait:.0f} s; then run 'govssi wallet poll {pending.id}'"
    return f"run 'govssi wallet poll {pending.id}' later"


def _offer_argument(value: str) -> tuple[str | None, bytes | None]:
    """A path to an image file, or the offer text itself."""
    looks_like_file = value.lower().endswith((".png", ".jpg", ".jpeg")) or (os.sep in value and "://" not in value)
    path = Path(value).expanduser()
    if "://" not in value and not value.lstrip().startswith("{") and path.is_file():
        return None, path.read_bytes()
    if looks_like_file and "://" not in value:
        fail("file_not_found", f"no such image file: {value}")
    return value, None


# -- commands --------------------------------------------------------------------------------------------------------


@app.command("init")
@guarded
def init(ctx: typer.Context) -> None:
    """Create a wallet in the data directory (wallet PIN twice at the prompt, or GOVSSI_WALLET_PIN)."""
    from wallet_sim.wallet import Wallet

    options = wallet_options(ctx)
    if Wallet.exists(options.data_dir):
        fail("wallet_exists", f"a wallet already exists in {options.data_dir}")
    with Wallet.create(options.data_dir, _pin(confirm=True)) as wallet:
        emit(
            {
                "data_dir": str(options.data_dir),
                "created": True,
                "wallet_provider_ca": str(options.data_dir / "provider" / "ca.pem"),
                "client_id": wallet.provider.client_id,
            }
        )


@app.command("receive")
@guarded
def receive(
    ctx: typer.Context,
    offer: Annotated[
        str,
        typer.Argument(
            help="Offer link (openid-credential-offer://, haip://), offer JSON, or a PNG/JPEG image of its QR code.",
            metavar="OFFER_OR_QR_IMAGE",
        ),
    ],
    tx_code: Annotated[str | None, typer.Option("--tx-code", help="The transaction code the authority sent you.")] = (
        None
    ),
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Store what arrives without asking (scripts).")] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, max=20, help="One-time copies to ask for.")] = 3,
    wait: Annotated[float, typer.Option("--wait", min=0, help="Seconds to poll a deferred issuance.")] = 0,
) -> None:
    """Receive credentials from an offer (OpenID4VCI 1.0, pre-authorized code)."""
    options = wallet_options(ctx)
    interactive = _interactive()
    if not yes and not interactive:
        usage_error("--yes is needed when no terminal can ask for consent")
    text, image = _offer_argument(offer)
    with _open(options, create=True) as wallet:
        wallet.batch = batch
        resolved = wallet.resolve_offer(text, image=image)
        lang = options.lang
        names = [resolved.display(c) for c in resolved.offer.credential_configuration_ids]
        from wallet_sim.oid4vci.display import localized

        issuer_entry = localized(names[0].get("issuer") or [], lang) if names else None
        issuer = str(issuer_entry["name"]) if issuer_entry else resolved.credential_issuer
        titles = [
            str((localized(d.get("credential") or [], lang) or {}).get("name", c))
            for d, c in zip(names, resolved.offer.credential_configuration_ids, strict=True)
        ]
        _say(f"{issuer} ({resolved.credential_issuer}): {', '.join(titles)}")
        if resolved.tx_code is not None and tx_code is None:
            if not interactive:
                usage_error("this offer needs the transaction code: --tx-code C")
            if resolved.tx_code.description:
                _say(resolved.tx_code.description)
            tx_code = typer.prompt("Transaktionscode" if lang == "de" else "Transaction code", err=True)
        results = wallet.request(resolved, tx_code)
        outcome = _outcomes(wallet, results, yes=yes, wait=wait, lang=lang)
        emit({"credential_issuer": resolved.credential_issuer, "issuer": issuer, **outcome})


@app.command("list")
@guarded
def list_(ctx: typer.Context) -> None:
    """The credentials (and pending issuances) in the wallet."""
    from wallet_sim.wallet import Wallet

    options = wallet_options(ctx)
    if not Wallet.exists(options.data_dir):
        emit({"credentials": [], "pending": []})
        return
    with _open(options) as wallet:
        emit(
            {
                "credentials": [c.summary(options.lang) for c in wallet.credentials()],
                "pending": [p.summary(options.lang) for p in wallet.pending()],
            }
        )


@app.command("show")
@guarded
def show(
    ctx: typer.Context,
    credential_id: Annotated[str, typer.Argument(metavar="ID")],
    raw: Annotated[bool, typer.Option("--raw", help="Print the compact credential as issued (SD-JWT).")] = False,
) -> None:
    """One credential: claims with the issuer's labels, validity, copies; or the credential itself (--raw)."""
    options = wallet_options(ctx)
    with _open(options) as wallet:
        credential = wallet.credential(credential_id)
        if raw:
            sys.stdout.write(wallet.compact(credential_id) + "\n")
            return
        for line in _claim_lines(credential.claims, credential.display, options.lang):
            _say(line)
        emit(credential.details(options.lang))


@app.command("delete")
@guarded
def delete(
    ctx: typer.Context,
    credential_id: Annotated[str, typer.Argument(metavar="ID")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking (at a terminal it asks).")] = False,
) -> None:
    """Delete a credential, all its copies and its keys (at a terminal after a confirmation; scripts: at once)."""
    options = wallet_options(ctx)
    lang = options.lang
    with _open(options) as wallet:
        credential = wallet.credential(credential_id)
        if not yes and _interactive():
            name = f"{credential.name(lang)} ({credential.issuer_name(lang)})"
            _say(name)
            if not typer.confirm(
                "Delete it for good?" if lang == "en" else "Endgültig löschen?", default=False, err=True
            ):
                fail("delete_cancelled", f"not deleted: {credential_id} stays in the wallet")
        wallet.delete(credential_id)
    emit({"deleted": credential_id})


@app.command("pending")
@guarded
def pending(ctx: typer.Context) -> None:
    """Deferred issuances the wallet still waits for."""
    options = wallet_options(ctx)
    with _open(options) as wallet:
        emit({"pending": [p.summary(options.lang) for p in wallet.pending()]})


@app.command("poll")
@guarded
def poll(
    ctx: typer.Context,
    pending_id: Annotated[str | None, typer.Argument(metavar="[PENDING_ID]", help="Default: every pending one.")] = (
        None
    ),
    wait: Annotated[float, typer.Option("--wait", min=0, help="Seconds to keep polling.")] = 0,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Store what arrives without asking (scripts).")] = False,
) -> None:
    """Ask the issuer for deferred credentials (OpenID4VCI §9), never before the interval it asked for."""
    options = wallet_options(ctx)
    if not yes and not _interactive():
        usage_error("--yes is needed when no terminal can ask for consent")
    with _open(options) as wallet:
        targets = [p for p in wallet.pending() if pending_id in (None, p.id)]
        if pending_id is not None and not targets:
            fail("unknown_pending", f"no pending issuance {pending_id}")
        results: list[ReceivedCredentials | PendingIssuance] = []
        for target in targets:
            # §8.3 ``interval``: the wallet "SHOULD wait" that long between requests; earlier, nothing is sent.
            results.append(wallet.wait_for(target, timeout=wait) if wait else wallet.poll(target.id))
        emit(_outcomes(wallet, results, yes=yes, wait=0, lang=options.lang))


@app.command("provider")
@guarded
def provider(ctx: typer.Context) -> None:
    """The wallet provider's CA certificate (PEM file), which issuers trust for wallet and key attestations."""
    from wallet_sim.provider import WalletProvider

    options = wallet_options(ctx)
    directory = options.data_dir / "provider"
    demo = WalletProvider.demo(directory)
    emit(
        {
            "ca_pem_file": str(directory / "ca.pem"),
            "ca_pem": demo.ca_pem.decode("ascii"),
            "client_id": demo.client_id,
            "wallet_name": demo.wallet_name,
        }
    )


@app.command("serve")
@guarded
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free port).")] = 8090,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (the phone's browser connects here).")] = (
        "127.0.0.1"
    ),
) -> None:
    """Serve the phone-sized web wallet until SIGTERM or Ctrl-C; print one JSON line when it is ready."""
    import socket

    import uvicorn

    from govssi.cli._serving import serve_announced
    from wallet_sim.web import create_wallet_app

    options = wallet_options(ctx)
    # IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections (no ~40 ms Nagle wait on keep-alive requests)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        fail("address_in_use", f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    port = int(sock.getsockname()[1])
    application = create_wallet_app(options.data_dir)
    shown_host = f"[{host}]" if ":" in host else host
    ready = {"wallet_url": f"http://{shown_host}:{port}/", "data_dir": str(options.data_dir)}
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", access_log=False))

    def announce() -> None:
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()

    serve_announced(server, sock, announce)


@app.command("present")
@guarded
def present(
    ctx: typer.Context,
    authorization_request: Annotated[
        str,
        typer.Argument(
            help="The verifier's request: an openid4vp:// or haip:// link.", metavar="AUTHORIZATION_REQUEST"
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Consent in advance: send without asking (scripts).")
    ] = False,
    disclose: Annotated[
        str | None,
        typer.Option(
            "--disclose",
            help="Also share these optional items (comma-separated): optional Credential Query ids, or optional "
            "claims (claim ids or dotted paths) of a claim_sets alternative. Naming claims of a query narrows it "
            "to the verifier's first alternative with only those optional claims.",
        ),
    ] = None,
    decline: Annotated[bool, typer.Option("--decline", help="Answer access_denied without sending anything.")] = False,
    use: Annotated[
        list[str] | None,
        typer.Option(
            "--use",
            help="QUERY_ID=CREDENTIAL_ID: which stored credential answers a Credential Query; repeat it for a query "
            "with multiple: true to send exactly those (default for such a query: every matching credential).",
        ),
    ] = None,
    verifier_ca: Annotated[
        list[Path] | None,
        typer.Option("--verifier-ca", help="PEM file of a CA that certifies verifiers' request-signing keys."),
    ] = None,
) -> None:
    """Present credentials to a verifier (OpenID4VP 1.0, DCQL).

    Fetches and verifies the request, then shows who asks (the verified name and Client Identifier Prefix), the
    purpose and every claim per credential. Nothing reaches the verifier's Response URI without consent: --yes
    sends, --decline sends access_denied, on a terminal you are asked ("no" sends access_denied). Without --yes and
    without a terminal it prints what would be disclosed ("status": "consent_required") and sends nothing (exit 1).
    Defaults: the verifier's preferred claims, no optional Credential Queries, the first matching credential (every
    matching credential for a query with multiple: true).
    """
    from govssi.cli.wallet_present import run_present

    run_present(
        wallet_options(ctx),
        _open,
        authorization_request,
        yes=yes,
        decline=decline,
        disclose=disclose,
        use=list(use or []),
        verifier_ca=list(verifier_ca or []),
        interactive=_interactive(),
    )
