"""`govssi wallet eid`: the simulated eID cards (nPA) and the Smart-eID of the wallet simulator (stable interface; JSON
on stdout, one human line on stderr, exit 0 ok / 1 refused / 2 usage).

The cards live in the wallet's directory (``govssi wallet --data-dir D`` or ``GOVSSI_WALLET_DIR``; default the user
data directory) under ``eid/``: ``eid/cards/<id>.json`` (one file per card, personalised from the test citizens on
first use), ``eid/smart-eid/`` and ``eid/pki/`` (the demo PKI's public certificates, see its ``README.txt``).

- ``cards``: every test card — ``id``, ``name``, ``state`` (``transport_pin``, ``active``, ``can_required``,
  ``blocked``, ``puk_exhausted``), ``retry_counter``, ``puk_uses_left``, ``expired`` and its public test
  ``transport_pin``, ``can``, ``puk``.
- ``change-pin --card ID --old P --new P [--can C]``: the transport PIN (5 digits) or the PIN for a new 6-digit PIN;
  ``--can`` once two wrong PINs were entered.
- ``unblock --card ID --puk P``: reset the retry counter with the PUK.
- ``reset --card ID``: a factory-new card (initial PIN state, fresh security object).
- ``smart-eid --card ID --card-pin P --pin P [--level substantial|high]``: set up the Smart-eID from the card.
- ``pki``: write the demo PKI's certificates to ``eid/pki/`` and list them.

The PINs, CANs and PUKs of these simulated test cards are public test values and may be given as arguments (real
secrets never are).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from govssi.cli._output import emit, guarded, usage_error
from govssi.cli.wallet import wallet_options

app = typer.Typer(help="The simulated eID cards (nPA) of the wallet simulator.", no_args_is_help=True)

CardOption = Annotated[str, typer.Option("--card", help="The test card's id (see 'govssi wallet eid cards').")]


def _eid_dir(ctx: typer.Context) -> Path:
    return wallet_options(ctx).data_dir / "eid"


def _say(line: str) -> None:
    sys.stderr.write(f"govssi: {line}\n")


@app.command("cards")
@guarded
def cards(ctx: typer.Context) -> None:
    """Every test card with its state and its public test transport PIN, CAN and PUK."""
    from wallet_sim.eid import EidCards

    directory = _eid_dir(ctx)
    described = [card.describe() for card in EidCards(directory)]
    _say(f"{len(described)} test cards in {directory / 'cards'}")
    emit({"data_dir": str(directory), "cards": described})


@app.command("change-pin")
@guarded
def change_pin(
    ctx: typer.Context,
    card: CardOption,
    old: Annotated[str, typer.Option("--old", help="The transport PIN (5 digits) or the current PIN (6 digits).")],
    new: Annotated[str, typer.Option("--new", help="The new PIN (6 digits).")],
    can: Annotated[str | None, typer.Option("--can", help="The card access number, after two wrong PINs.")] = None,
) -> None:
    """Change the transport PIN (first use) or the PIN to a new 6-digit PIN."""
    from wallet_sim.eid import EidCards

    handle = EidCards(_eid_dir(ctx)).card(card)
    handle.change_pin(old, new, can=can)
    described = handle.describe()
    _say(f"the PIN of card {card} was changed")
    emit({"card": card, "changed": True, "state": described["state"], "retry_counter": described["retry_counter"]})


@app.command("unblock")
@guarded
def unblock(
    ctx: typer.Context,
    card: CardOption,
    puk: Annotated[str, typer.Option("--puk", help="The PUK (10 digits).")],
) -> None:
    """Reset the PIN retry counter with the PUK (each PUK use counts; 10 at most)."""
    from wallet_sim.eid import EidCards

    handle = EidCards(_eid_dir(ctx)).card(card)
    handle.unblock(puk)
    described = handle.describe()
    _say(f"card {card} unblocked; {described['puk_uses_left']} PUK uses left")
    emit(
        {
            "card": card,
            "unblocked": True,
            "state": described["state"],
            "retry_counter": described["retry_counter"],
            "puk_uses_left": described["puk_uses_left"],
        }
    )


@app.command("reset")
@guarded
def reset(ctx: typer.Context, card: CardOption) -> None:
    """A factory-new card: transport PIN, retry counter 3, 10 PUK uses, fresh security object."""
    from wallet_sim.eid import EidCards

    described = EidCards(_eid_dir(ctx)).reset(card).describe()
    _say(f"card {card} is factory-new")
    emit(described)


@app.command("smart-eid")
@guarded
def smart_eid(
    ctx: typer.Context,
    card: CardOption,
    card_pin: Annotated[str, typer.Option("--card-pin", help="The card's PIN (6 digits).")],
    pin: Annotated[str, typer.Option("--pin", help="The new Smart-eID PIN (6 digits).")],
    level: Annotated[
        str, typer.Option("--level", help="Level of assurance the provider attests: substantial or high.")
    ] = "substantial",
    can: Annotated[str | None, typer.Option("--can", help="The card access number, after two wrong PINs.")] = None,
) -> None:
    """Set up the Smart-eID in this wallet from a card (read once with the card PIN)."""
    from wallet_sim.eid import EidCards, SmartEid, SmartEidProvider

    if level not in ("substantial", "high"):
        usage_error("--level is substantial or high")
    directory = _eid_dir(ctx)
    provider = SmartEidProvider.demo(level_of_assurance=level)
    handle = EidCards(directory).card(card)
    smart = SmartEid.provision(
        directory / "smart-eid", card=handle, card_pin=card_pin, pin=pin, provider=provider, can=can
    )
    described = smart.describe()
    _say(f"Smart-eID set up from card {card} (level of assurance {described['level_of_assurance']})")
    emit({"smart_eid": described, "directory": str(directory / "smart-eid")})


@app.command("pki")
@guarded
def pki(ctx: typer.Context) -> None:
    """Write the demo eID PKI's certificates (CSCA, document signer, Smart-eID CA, CVCA, DV, terminals)."""
    from ssi.eid import demo_pki

    directory = _eid_dir(ctx) / "pki"
    files = demo_pki().write(directory)
    _say(f"demo eID PKI in {directory} (README.txt says which is which)")
    emit({"directory": str(directory), "files": {role: str(path) for role, path in files.items()}})
