"""The ``govssi`` command line (typer). Each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from govssi.cli import did, keys, ledger, sdjwt

app = typer.Typer(
    name="govssi",
    help="govssi — self-sovereign identity for the German public sector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(keys.app, name="keys")
app.add_typer(did.app, name="did")
app.add_typer(sdjwt.app, name="sdjwt")
app.add_typer(ledger.app, name="ledger")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("govssi: interrupted\n")
        sys.exit(130)
