"""`govssi demo`: the whole trust triangle on localhost in one command (see govssi/demo/stack.py)."""

from __future__ import annotations

import enum
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from govssi.cli._output import fail, guarded


class ChainKind(enum.StrEnum):
    """What ``--chain`` runs (see govssi/demo/stack.py)."""

    dev = "dev"
    poa = "poa"


def _default_dir() -> Path:
    import os

    base = os.environ.get("GOVSSI_DATA_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_data_dir("govssi")
    return Path(base) / "demo"


def identities_table() -> Any:
    """The simulated ID cards (wallet_sim/eid/citizens.json) with their public test secrets."""
    from rich.table import Table

    from govssi.demo.content import demo_identities

    table = Table(title="Test identities (simulated ID cards; public test values)")
    for column in ("card", "name", "transport PIN", "CAN", "PUK", "what it tests"):
        table.add_column(column, overflow="fold")
    for person in demo_identities():
        pin = f"(PIN {person['pin']})" if person["pin"] else person["transport_pin"]
        table.add_row(person["id"], person["name"], pin, person["can"], person["puk"], person["note"])
    return table


def services_table(info: dict[str, Any], data_dir: Path, boot: float) -> Any:
    """The table printed once the demo is up: every URL, login and directory. Values are never cut short with "…" (a
    cut URL or API key is useless): the "where" column is as wide as its longest line whenever the terminal allows,
    and folds a value over lines only when the terminal is narrower than that; a PoA network's nodes get a line
    each."""
    from rich.table import Table

    clerk = info["issuer"]["clerk"]
    chain = info["chain"]
    rows: list[tuple[str, str]] = [
        ("Start page", info["start_page"]),
        ("Issuer: Stadt Musterstadt — Bürgeramt", info["issuer"]["credential_issuer"]),
        ("  admin web UI (clerk login, demo only)", info["issuer"]["admin_ui"]),
        ("  clerk user / password", f"{clerk['username']} / {clerk['password']}"),
        ("  clerk API key (demo only)", info["issuer"]["api_key"]),
        ("PID provider (PID through the eID)", info["issuer"]["pid_issuer"]),
        ("Bürgerportal Musterstadt (OpenID Connect login with the wallet)", info["portal"]),
        ("Verifier (OpenID4VP, OpenID Provider of the portal)", info["verifier"]["url"] + "/"),
        ("Wallet (citizen)", info["wallet"]),
        ("  its directory (govssi wallet --data-dir)", info["wallet_dir"]),
        (f"Chain: PoA network, {len(chain['rpc_urls'])} validators", "\n".join(chain["rpc_urls"]))
        if chain["kind"] == "poa"
        else ("Chain JSON-RPC", chain["rpc_url"]),
        ("Data directory", str(data_dir)),
    ]
    longest = max(len(line) for _, value in rows for line in value.splitlines())
    table = Table(title=f"govssi demo — ready in {boot:.1f} s (Ctrl-C stops everything)")
    table.add_column("what", overflow="fold")
    table.add_column("where", width=longest, overflow="fold")
    for what, where in rows:
        table.add_row(what, where)
    return table


@guarded
def demo(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where the demo keeps its state \\[default: <data dir>/demo].")
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start over: remove the demo's state first.")] = False,
    port_base: Annotated[
        int,
        typer.Option(
            "--port-base",
            min=1024,
            max=65000,
            help="Start page port; issuer, verifier, wallet and portal use the next four.",
        ),
    ] = 8000,
    chain_port: Annotated[int, typer.Option("--chain-port", min=1024, max=65535, help="Chain JSON-RPC port.")] = 8545,
    chain: Annotated[
        ChainKind,
        typer.Option(
            "--chain",
            help="dev: one in-process chain node (boots fastest); poa: the PoA network model, one process per "
            "validator on --chain-port + i, every transaction waited for until final.",
        ),
    ] = ChainKind.dev,
    validators: Annotated[
        int, typer.Option("--validators", min=1, max=16, help="Validators of the PoA network (--chain poa).")
    ] = 3,
    exit_after_boot: Annotated[
        bool, typer.Option("--exit-after-boot", help="Boot, print the table, stop (scripts and tests).")
    ] = False,
) -> None:
    """Run the chain, issuer and PID provider, verifier, portal, web wallet and the demo pages until Ctrl-C."""
    from rich.console import Console

    from govssi.demo.stack import DemoConfig, DemoError, DemoStack

    console = Console(stderr=True)
    config = DemoConfig(
        data_dir=data_dir or _default_dir(),
        fresh=fresh,
        start_port=port_base,
        issuer_port=port_base + 1,
        verifier_port=port_base + 2,
        wallet_port=port_base + 3,
        portal_port=port_base + 4,
        chain_port=chain_port,
        chain=chain.value,
        validators=validators,
    )
    started = time.monotonic()
    with console.status("govssi demo: starting") as status:
        stack = DemoStack(config, progress=lambda message: status.update(f"govssi demo: {message}"))
        try:
            info = stack.start()
        except DemoError as exc:
            fail("demo_failed", str(exc))
    boot = time.monotonic() - started
    console.print(services_table(info, config.data_dir, boot))
    console.print(identities_table())
    sys.stdout.write(
        '{"start_page": "%s", "chain": "%s", "boot_seconds": %.2f}\n'  # noqa: UP031 - one JSON line
        % (info["start_page"], info["chain"]["kind"], boot)
    )
    sys.stdout.flush()
    if exit_after_boot:
        stack.stop()
        return

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stack.stopped.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stack.stopped.wait()
    console.print("govssi demo: stopping")
    stack.stop()
    console.print("govssi demo: stopped")
