"""`govssi wallet pid`: receive the German PID from a PID provider through the simulated eID card (stable interface;
JSON on stdout, one human line per message on stderr, exit 0 ok / 1 refused / 2 usage).

- ``pid --issuer URL --card ID --pin P [--can C] [--deselect DG13,DG17] [--batch N] [--yes]``: the whole issuance
  (:func:`wallet_sim.pid.issue_pid`): PAR with the wallet attestation, the eID step — the provider's name (from its
  terminal certificate) and the requested data are shown on stderr before the card is used; at a terminal the
  citizen confirms (``--yes`` skips the question; entering the PIN as an argument is the consent otherwise, as the
  PIN entry is in the eID client) — token with PKCE and DPoP, PID credentials with key attestations, stored.
  Prints ``stored`` (the credential summary), ``claims``, ``eid`` (what was shown) and ``refreshable``.
- ``pid-refresh CREDENTIAL_ID``: fresh PIDs with the refresh token (no card), replacing the stored ones.

The wallet is ``govssi wallet --data-dir D`` (its PIN from ``GOVSSI_WALLET_PIN`` or the prompt); the test cards are
those of ``govssi wallet eid cards`` in ``D/eid``. PINs of the simulated test cards may be given as arguments (they
are public test values; real secrets never are). Plain HTTP to 127.0.0.1 only with ``GOVSSI_DEV_ALLOW_HTTP=1``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from govssi.cli._output import emit, guarded, usage_error
from govssi.cli.wallet import _open, wallet_options

if TYPE_CHECKING:
    from wallet_sim.eid.client import RequestDescription

__all__ = ["pid", "pid_refresh"]


def _say(line: str) -> None:
    sys.stderr.write(line.rstrip() + "\n")


def _show(description: RequestDescription, lang: str) -> None:
    english = lang == "en"
    _say(
        f"govssi: {description.provider_name} ({description.provider_url or description.terminal}) "
        + ("asks your eID card for:" if english else "möchte von Ihrem Ausweis lesen:")
    )
    for item in description.required:
        _say(f"  * {item.label}")
    for item in description.optional:
        _say(f"  - {item.label}" + (" (optional)" if english else " (freiwillig)"))
    if description.terms_of_usage:
        _say(f"  {description.terms_of_usage}")


def pid(
    ctx: typer.Context,
    issuer: Annotated[str, typer.Option("--issuer", help="The PID provider's credential issuer URL.")],
    card: Annotated[str, typer.Option("--card", help="The test card's id (see 'govssi wallet eid cards').")],
    pin: Annotated[str, typer.Option("--pin", help="The card's 6-digit PIN (a public test value).")],
    can: Annotated[str | None, typer.Option("--can", help="The card access number, after two wrong PINs.")] = None,
    deselect: Annotated[
        str | None, typer.Option("--deselect", help="Optional data not to release, e.g. DG13,DG17.")
    ] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, max=10, help="One-time copies to ask for.")] = 3,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for consent at a terminal.")] = False,
) -> None:
    """Receive the PID (urn:eudi:pid:de:1) through the eID card: authorization code flow with PAR, PKCE and DPoP."""
    guarded(_pid)(ctx, issuer, card, pin, can, deselect, batch, yes)


def _pid(
    ctx: typer.Context, issuer: str, card: str, pin: str, can: str | None, deselect: str | None, batch: int, yes: bool
) -> None:
    from ssi.eid import DataGroup
    from wallet_sim.eid import EidCards
    from wallet_sim.pid import issue_pid

    options = wallet_options(ctx)
    lang = options.lang
    handle = EidCards(options.data_dir / "eid").card(card)
    deselected = []
    for item in (d.strip().upper() for d in (deselect or "").split(",") if d.strip()):
        if not item.startswith("DG") or not item[2:].isdigit() or int(item[2:]) not in {g.value for g in DataGroup}:
            usage_error(f"--deselect takes data groups such as DG13,DG17, not {item!r}")
        deselected.append(DataGroup(int(item[2:])))

    def consent(description: RequestDescription) -> bool:
        _show(description, lang)
        if yes or not sys.stdin.isatty():
            return True
        return bool(typer.confirm("Daten freigeben?" if lang == "de" else "Release this data?", err=True))

    with _open(options, create=True) as wallet:
        result = issue_pid(
            wallet,
            issuer,
            card=handle,
            pin=pin,
            can=can,
            deselect=deselected,
            consent=consent,
            lang=lang,
            batch=batch,
        )
        _say(f"govssi: PID stored as {result.stored.id} ({len(result.stored.instances)} one-time copies)")
        emit({"card": card, **result.to_json(lang)})


def pid_refresh(
    ctx: typer.Context,
    credential_id: Annotated[str, typer.Argument(help="The stored PID's id (govssi wallet list).")],
    batch: Annotated[int, typer.Option("--batch", min=1, max=10, help="One-time copies to ask for.")] = 3,
) -> None:
    """Fresh PIDs without the card (refresh token), replacing the stored PID."""
    guarded(_refresh)(ctx, credential_id, batch)


def _refresh(ctx: typer.Context, credential_id: str, batch: int) -> None:
    from wallet_sim.pid import refresh_pid

    options = wallet_options(ctx)
    with _open(options) as wallet:
        stored = refresh_pid(wallet, credential_id, batch=batch)
        _say(f"govssi: PID renewed as {stored.id}; {credential_id} was replaced")
        emit({"replaced": credential_id, "stored": stored.summary(options.lang), "claims": stored.claims})
