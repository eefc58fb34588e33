"""The ``govssi`` command line (typer). Each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from govssi.cli import did, did_serve, keys, ledger, sdjwt

app = typer.Typer(
    name="govssi",
    help="govssi — self-sovereign identity for the German public sector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(keys.app, name="keys")
did.app.command("serve")(did_serve.serve)  # govssi did serve: its own module (uvicorn, FastAPI)
app.add_typer(did.app, name="did")
app.add_typer(sdjwt.app, name="sdjwt")
app.add_typer(ledger.app, name="ledger")


def main(argv: list[str] | None = None) -> None:
    """Entry point. Usage errors are one line on stderr with exit 2 (DESIGN.md §3), not click's multi-line panel."""
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.TyperException as exc:  # click's UsageError (exit 2) and friends, vendored by typer
        code = int(getattr(exc, "exit_code", 1))
        ctx = getattr(exc, "ctx", None)
        where = f"; see '{ctx.command_path} --help'" if ctx is not None and code == 2 else ""
        prefix = "usage: " if code == 2 else ""
        message = exc.format_message().rstrip(".") or "a command is required"  # empty: no_args_is_help printed help
        sys.stderr.write(f"govssi: {prefix}{message}{where}\n")
        sys.exit(code)
    except typer.Abort:
        sys.stderr.write("govssi: aborted\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("govssi: interrupted\n")
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
