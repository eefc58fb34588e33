"""``govssi ledger``: run a local chain node, deploy govssi's contracts.

``govssi ledger node`` serves a persistent local chain (``ledger.node``) over Ethereum JSON-RPC on 127.0.0.1 and prints
one JSON line (``rpc_url``, ``chain_id``, ``block_number``, ``data_dir``) when it is ready; SIGTERM or Ctrl-C stop it
cleanly. ``govssi ledger deploy`` deploys the contracts to any chain and prints where they are; ``--rpc`` (or
``GOVSSI_CHAIN_RPC``) lists one or more JSON-RPC URLs, tried in order with failover (``govssi.cli._chain``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from govssi.cli._chain import RPC_HELP, chain_client, required_rpc_urls
from govssi.cli._files import load_private
from govssi.cli._output import emit, fail, guarded

app = typer.Typer(help="Run a local chain node and deploy govssi's contracts.", no_args_is_help=True)

DATA_DIR_ENV = "GOVSSI_DATA_DIR"


def default_chain_dir() -> Path:
    """``$GOVSSI_DATA_DIR/chain``, else ``<user data dir>/govssi/chain`` (DESIGN.md §3, Config)."""
    base = os.environ.get(DATA_DIR_ENV)
    if not base:
        import platformdirs

        base = platformdirs.user_data_dir("govssi")
    return Path(base) / "chain"


@app.command("node")
@guarded
def node(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="TCP port on 127.0.0.1 (0: any free port).")
    ] = 8545,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Chain data directory [default: $GOVSSI_DATA_DIR/chain or the user data dir]."),
    ] = None,
    chain_id: Annotated[
        int | None,
        typer.Option("--chain-id", min=1, help="Chain id of a new chain [default: 1337]; must match an existing one."),
    ] = None,
) -> None:
    """Serve a persistent local chain over Ethereum JSON-RPC on 127.0.0.1 until SIGTERM or Ctrl-C."""
    from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer

    directory = data_dir if data_dir is not None else default_chain_dir()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    chain = LocalChain.open(directory, chain_id=chain_id, on_replay=_replay_progress())
    try:
        try:
            server = RpcServer(JsonRpcHandler(EthereumApi(chain)), port)
        except OSError as exc:
            fail("address_in_use", f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
        server.start()
        ready = {
            "rpc_url": server.url,
            "chain_id": chain.chain_id,
            "block_number": chain.block_number,
            "data_dir": str(directory),
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        sys.stderr.write(f"govssi: ledger node: chain {chain.chain_id} at {server.url}, data in {directory}\n")
        sys.stderr.flush()
        stop.wait()
        server.stop()
    finally:
        chain.close()
    sys.stderr.write("govssi: ledger node stopped\n")


def _replay_progress() -> Callable[[int, int], None] | None:
    """A replay progress callback: a progress bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    progress = Progress(transient=True)
    task = progress.add_task("replaying blocks", total=None)

    def report(done: int, total: int) -> None:
        if done == 1:
            progress.start()
        progress.update(task, completed=done, total=total)
        if done == total:
            progress.stop()

    return report


@app.command("deploy")
@guarded
def deploy(
    key: Annotated[
        Path,
        typer.Option("--key", help="secp256k1 (ES256K) private JWK or encrypted key file ($GOVSSI_KEY_PASSPHRASE)."),
    ],
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the nodes and for each deployment.")
    ] = 60.0,
    confirmations: Annotated[
        int, typer.Option("--confirmations", min=0, help="Blocks on top of each deployment before it counts.")
    ] = 0,
) -> None:
    """Deploy govssi's contracts and print their addresses as JSON."""
    urls = required_rpc_urls(rpc)
    from ledger.client import SoftwareChainSigner
    from ledger.deploy import deploy_contracts

    private_key, _ = load_private(key)
    if private_key.alg != "ES256K":
        fail("wrong_curve", f"{key} holds a {private_key.alg} key; chain accounts need secp256k1 (ES256K)")
    signer = SoftwareChainSigner(private_key)
    with chain_client(urls, timeout=timeout, confirmations=confirmations) as client:
        emit(deploy_contracts(client, signer, timeout=timeout).to_json())
