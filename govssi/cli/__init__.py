"""The ``govssi`` command line (typer). Each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from govssi.cli import (
    bbs,
    demo,
    did,
    did_key,
    did_serve,
    issuer,
    keys,
    ledger,
    ledger_network,
    sdjwt,
    verifier,
    wallet,
    wallet_eid,
    wallet_pid,
)

app = typer.Typer(
    name="govssi",
    help="govssi — self-sovereign identity for the German public sector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(keys.app, name="keys")
did.app.add_typer(did_key.app, name="key")  # govssi did key list|revoke|compromised
did.app.command("deactivate")(did_key.deactivate)
did.app.command("serve")(did_serve.serve)  # govssi did serve: its own module (uvicorn, FastAPI)
app.add_typer(did.app, name="did")
app.add_typer(sdjwt.app, name="sdjwt")
ledger.app.command("network")(ledger_network.network)
app.add_typer(ledger.app, name="ledger")
app.add_typer(issuer.app, name="issuer")
app.add_typer(verifier.app, name="verifier")
wallet.app.add_typer(wallet_eid.app, name="eid")
wallet.app.command("pid")(wallet_pid.pid)  # govssi wallet pid: PID through the eID (govssi/cli/wallet_pid.py)
wallet.app.command("pid-refresh")(wallet_pid.pid_refresh)
app.add_typer(wallet.app, name="wallet")
app.add_typer(bbs.app, name="bbs")
app.command("demo")(demo.demo)


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
