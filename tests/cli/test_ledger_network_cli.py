"""``govssi ledger network`` (issue 12): N validator processes from one directory — keys and genesis generated on
first start, node i on base port + i (free ports here: ``--base-port 0``), one ready line on stdout, the status table
on stderr, a clean stop on SIGTERM (no node left serving), the same network on the next start, and with
``--bootstrap`` govssi's contracts at the development addresses the services default to."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import GOVSSI, Runner

from ledger.bootstrap import DEV_ADDRESSES
from ledger.poa.network import network_urls
from ledger.poa.peers import PeerClient

pytestmark = pytest.mark.slow


@contextmanager
def _network(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """Run ``govssi ledger network ARGS`` until the block ends (SIGTERM); a watchdog kills it after 180 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    process = subprocess.Popen(
        [*GOVSSI, "ledger", "network", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(180, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        if not line:
            process.wait()
            raise AssertionError(process.stderr.read())
        yield process, json.loads(line)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        watchdog.cancel()


def _call(url: str, method: str, *params: Any) -> Any:
    client = PeerClient(url, timeout=5)
    try:
        return client.call(method, list(params))
    finally:
        client.close()


def _serving(url: str) -> bool:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def test_network_first_start_bootstrap_status_table_clean_stop_and_restart(govssi: Runner, tmp_path: Path) -> None:
    directory = tmp_path / "net"
    arguments = ("--validators", "3", "--period", "1", "--data-dir", str(directory), "--base-port", "0")
    with _network(*arguments, "--bootstrap") as (process, ready):
        urls = ready["rpc_urls"]
        assert len(urls) == 3 and ready["rpc"] == ",".join(urls) and network_urls(directory) == urls
        assert ready["chain_id"] == 1337 and ready["period"] == 1 and len(ready["validators"]) == 3
        assert ready["contracts"] == DEV_ADDRESSES.to_json()
        assert Path(ready["members_dir"]) == directory / "cooperative"
        for index in range(3):  # keys generated on first start, private
            key_file = directory / f"node-{index}" / "validator.jwk"
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert (directory / "genesis.json").exists()
        for url in urls:  # every node: the genesis's signers, the contracts (final: deployed before the ready line)
            assert sorted(_call(url, "clique_getSigners")) == sorted(ready["validators"])
            code = _call(url, "eth_getCode", DEV_ADDRESSES.status_anchor, "latest")
            assert len(code) > 2
        height = int(_call(urls[0], "eth_blockNumber"), 16)
        assert height >= 3  # the deployments' block and its confirmations
    assert process.returncode == 0
    table = process.stderr.read() if process.stderr else ""
    for column in ("node", "JSON-RPC", "signer", "height", "head hash", "peers", "last block sealed by"):
        assert column in table
    assert "ledger network stopped" in table
    assert not any(_serving(url) for url in urls)  # every node process is gone

    with _network(*arguments) as (_, again):  # the same keys, genesis and chain
        assert again["validators"] == ready["validators"] and "contracts" not in again
        assert int(_call(again["rpc_urls"][1], "eth_blockNumber"), 16) >= height
        assert len(_call(again["rpc_urls"][2], "eth_getCode", DEV_ADDRESSES.status_anchor, "latest")) > 2

    mismatch = govssi("ledger", "network", "--validators", "4", "--period", "1", "--data-dir", str(directory))
    assert mismatch.returncode == 1 and json.loads(mismatch.stdout)["error"] == "network_mismatch"
