"""``govssi ledger network``: run the PoA network model (``ledger.poa.Network``) — N Clique validators, one process
each, node i serving JSON-RPC on 127.0.0.1:<base port + i> — until SIGTERM or Ctrl-C.

On first start the validator keys (``DIR/node-<i>/validator.jwk``, mode 0600, encrypted when
``$GOVSSI_KEY_PASSPHRASE`` is set) and the genesis are generated; later starts reuse them (``--validators`` and
``--period`` must match the directory). With ``--bootstrap``, govssi's contracts are deployed at the development
addresses (``ledger.poa.bootstrap``: as ``govssi ledger node --bootstrap``, waited for until final) so that services
find them with their default settings. When every node serves, one JSON line goes to stdout (``rpc_urls``, ``rpc``
— the value for ``GOVSSI_CHAIN_RPC`` —, ``chain_id``, ``period``, ``validators``, ``data_dir``; with ``--bootstrap``
also ``contracts`` and ``members_dir``); stderr shows a status table per node (height, head hash, peers, signer of
the last block), live on a terminal. Stopping stops every node process (SIGTERM, SIGKILL after 10 s) before the
command exits.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from govssi.cli._output import guarded, usage_error

if TYPE_CHECKING:
    from rich.table import Table

    from ledger.poa import Network, NodeStatus

DATA_DIR_ENV = "GOVSSI_DATA_DIR"
_REFRESH_SECONDS = 1.0


def default_network_dir() -> Path:
    """``$GOVSSI_DATA_DIR/poa``, else ``<user data dir>/govssi/poa``."""
    base = os.environ.get(DATA_DIR_ENV)
    if not base:
        import platformdirs

        base = platformdirs.user_data_dir("govssi")
    return Path(base) / "poa"


@guarded
def network(
    validators: Annotated[
        int, typer.Option("--validators", min=1, max=64, help="Validator nodes (Clique signers) of a new network.")
    ] = 7,
    period: Annotated[int, typer.Option("--period", min=1, help="Block period in seconds (EIP-225).")] = 2,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Network directory (default: $GOVSSI_DATA_DIR/poa, else the user data dir)."),
    ] = None,
    base_port: Annotated[
        int,
        typer.Option("--base-port", min=0, max=65535, help="Node i serves on 127.0.0.1:<base port + i> (0: any)."),
    ] = 8545,
    chain_id: Annotated[int, typer.Option("--chain-id", min=1, help="Chain id of a new network.")] = 1337,
    bootstrap: Annotated[
        bool,
        typer.Option(
            "--bootstrap",
            help="Deploy govssi's contracts at the fixed development addresses with a demo cooperative (member keys "
            "in <data dir>/cooperative) unless they are there already, and wait until they are final. Development "
            "only.",
        ),
    ] = False,
) -> None:
    """Run a local PoA network of Clique validators (the network model) until SIGTERM or Ctrl-C."""
    if base_port and base_port + validators - 1 > 65535:
        usage_error("--base-port leaves no room for that many nodes")
    from ledger.poa import Network

    directory = data_dir if data_dir is not None else default_network_dir()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    net = Network(directory, validators=validators, period=period, base_port=base_port, chain_id=chain_id)
    sys.stderr.write(f"govssi: ledger network: starting {validators} nodes in {directory}\n")
    sys.stderr.flush()
    try:
        net.start()
        assert net.genesis is not None  # set by start()
        bootstrapped: dict[str, object] = {}
        if bootstrap:
            from ledger.poa.bootstrap import bootstrap_network

            sys.stderr.write("govssi: ledger network: deploying the development contracts (waiting for finality)\n")
            sys.stderr.flush()
            result = bootstrap_network(net.urls, directory)
            bootstrapped = {"contracts": result.addresses.to_json(), "members_dir": str(result.members_dir)}
        ready = {
            "rpc_urls": net.urls,
            "rpc": net.rpc,
            "chain_id": net.genesis.chain_id,
            "period": net.genesis.period,
            "validators": list(net.genesis.signers),
            "data_dir": str(directory),
            **bootstrapped,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        _show_status(net, stop)
    finally:
        net.stop()
    sys.stderr.write("govssi: ledger network stopped\n")


def _show_status(net: Network, stop: threading.Event) -> None:
    """The status table on stderr: refreshed every second on a terminal, printed once otherwise."""
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True)
    if not console.is_terminal:
        Console(stderr=True, width=140).print(_table(net, net.status()))
        stop.wait()
        return
    with Live(_table(net, net.status()), console=console, refresh_per_second=2, transient=False) as live:
        while not stop.wait(_REFRESH_SECONDS):
            live.update(_table(net, net.status()))


def _table(net: Network, statuses: list[NodeStatus]) -> Table:
    from rich.table import Table

    names = {status.address: f"node {status.index}" for status in statuses}
    table = Table(title=f"PoA network model — chain {net.chain_id}, period {net.period} s", title_justify="left")
    for column, justify in (
        ("node", "right"),
        ("JSON-RPC", "left"),
        ("signer", "center"),
        ("height", "right"),
        ("head hash", "left"),
        ("peers", "right"),
        ("last block sealed by", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for status in statuses:
        if not status.running:
            table.add_row(str(status.index), status.url, "", "", "[red]stopped[/red]", "", "")
            continue
        if status.error is not None:
            table.add_row(str(status.index), status.url, "", "", f"[red]{status.error[:40]}[/red]", "", "")
            continue
        head = status.head_hash or ""
        last = status.last_signer
        table.add_row(
            str(status.index),
            status.url,
            "yes" if status.signer else "no",
            str(status.height),
            f"{head[:10]}…{head[-6:]}" if head else "",
            str(status.peers),
            "genesis" if last is None else names.get(last, f"{last[:10]}…"),
        )
    return table
