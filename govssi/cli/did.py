"""``govssi did``."""

from __future__ import annotations

import typer

app = typer.Typer(help="did commands.", no_args_is_help=True)
