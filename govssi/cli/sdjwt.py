"""``govssi sdjwt``."""

from __future__ import annotations

import typer

app = typer.Typer(help="sdjwt commands.", no_args_is_help=True)
