"""``govssi ledger node`` and ``govssi ledger deploy``: the CLI contract (one JSON object, exit 0/1/2, no hang)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli_failure as _failure
from conftest import GOVSSI, Runner
from web3 import Web3

from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer, serve
from ssi.keys import PrivateKey, write_key_file

PASSPHRASE = "Heidestraße 17"


@pytest.fixture
def node() -> Iterator[RpcServer]:
    server = serve(JsonRpcHandler(EthereumApi(LocalChain.in_memory(4242))))
    yield server
    server.stop()


def _key(path: Path, alg: str = "ES256K", passphrase: str | None = None) -> Path:
    write_key_file(path, PrivateKey.generate(alg), passphrase=passphrase)
    return path


def test_deploy_prints_the_registry_address(govssi: Runner, tmp_path: Path, node: RpcServer) -> None:
    """An unfunded secp256k1 key deploys on the free-gas local chain; the code there is the artifact's."""
    result = govssi("ledger", "deploy", "--rpc", node.url, "--key", str(_key(tmp_path / "deployer.jwk")))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"did_registry", "chain_id", "trusted_issuer_registry", "status_anchor"}
    assert out["chain_id"] == 4242
    w3 = Web3(Web3.HTTPProvider(node.url))
    assert Web3.is_checksum_address(out["did_registry"])
    assert w3.eth.get_code(out["did_registry"]).to_0x_hex() == load_artifact(DID_REGISTRY).deployed_bytecode


def test_deploy_with_an_encrypted_key_file(govssi: Runner, tmp_path: Path, node: RpcServer) -> None:
    key = _key(tmp_path / "deployer.json", passphrase=PASSPHRASE)
    assert _failure(govssi("ledger", "deploy", "--rpc", node.url, "--key", str(key)))["error"] == "passphrase_required"
    result = govssi("ledger", "deploy", "--rpc", node.url, "--key", str(key), env={"GOVSSI_KEY_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["chain_id"] == 4242


def test_deploy_needs_a_secp256k1_key(govssi: Runner, tmp_path: Path, node: RpcServer) -> None:
    result = govssi("ledger", "deploy", "--rpc", node.url, "--key", str(_key(tmp_path / "p256.jwk", "ES256")))
    assert _failure(result)["error"] == "wrong_curve"


def test_deploy_without_a_node_fails_fast(govssi: Runner, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = govssi("ledger", "deploy", "--rpc", f"http://127.0.0.1:{port}", "--key", str(_key(tmp_path / "k.jwk")))
    assert _failure(result)["error"] == "chain_unavailable"
    assert time.monotonic() - started < 15


def test_deploy_to_a_silent_node_times_out(govssi: Runner, tmp_path: Path) -> None:
    """A node that accepts the connection but never answers: an error after --timeout, never a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = govssi("ledger", "deploy", "--rpc", url, "--key", str(_key(tmp_path / "k.jwk")), "--timeout", "1")
    assert _failure(result)["error"] == "chain_unavailable"
    assert "timed out" in result.stdout
    assert time.monotonic() - started < 15


def test_deploy_to_something_that_is_not_a_node(govssi: Runner, tmp_path: Path, node: RpcServer) -> None:
    result = govssi("ledger", "deploy", "--rpc", node.url + "/healthz", "--key", str(_key(tmp_path / "k.jwk")))
    assert _failure(result)["error"] == "chain_unavailable"


def test_deploy_usage_errors(govssi: Runner, tmp_path: Path) -> None:
    result = govssi("ledger", "deploy", "--rpc", "ftp://127.0.0.1", "--key", str(_key(tmp_path / "k.jwk")))
    assert result.returncode == 2 and result.stdout == ""
    assert govssi("ledger", "deploy", "--rpc", "http://127.0.0.1:1").returncode == 2  # --key missing


def _start_node(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update(env or {})
    process = subprocess.Popen(
        [*GOVSSI, "ledger", "node", "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise AssertionError(process.communicate(timeout=10)[1])
    return process, json.loads(line)


def test_node_prints_one_ready_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    """Default data dir: $GOVSSI_DATA_DIR/chain. SIGTERM: clean stop, exit 0; the chain is still there afterwards."""
    process, ready = _start_node(env={"GOVSSI_DATA_DIR": str(tmp_path)})
    try:
        assert set(ready) == {"rpc_url", "chain_id", "block_number", "data_dir"}
        assert ready["chain_id"] == 1337 and ready["block_number"] == 0
        assert ready["data_dir"] == str(tmp_path / "chain")
        assert ready["rpc_url"].startswith("http://127.0.0.1:")
        assert Web3(Web3.HTTPProvider(ready["rpc_url"])).eth.chain_id == 1337
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert out == "" and "Traceback" not in err
    assert (tmp_path / "chain" / "genesis.json").exists()


def test_node_refuses_another_chain_id_for_an_existing_data_dir(govssi: Runner, tmp_path: Path) -> None:
    LocalChain.open(tmp_path / "chain", chain_id=4242).close()
    result = govssi("ledger", "node", "--port", "0", "--data-dir", str(tmp_path / "chain"), "--chain-id", "1337")
    assert _failure(result)["error"] == "chain_id_mismatch"


def test_node_on_a_port_in_use(govssi: Runner, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = govssi("ledger", "node", "--port", str(taken.getsockname()[1]), "--data-dir", str(tmp_path / "c"))
    assert _failure(result)["error"] == "address_in_use"


def test_node_bootstrap_deploys_once_at_the_fixed_addresses(tmp_path: Path) -> None:
    """``--bootstrap``: the contracts at DEV_ADDRESSES with the demo cooperative (member keys in the data dir); after
    a restart they are still there and nothing is deployed again."""
    from ledger.bootstrap import DEV_ADDRESSES, dev_member_signers
    from ledger.client import ChainClient
    from ledger.trust import TrustRegistry

    data_dir = tmp_path / "chain"
    blocks = []
    for _ in range(2):
        process, ready = _start_node("--data-dir", str(data_dir), "--bootstrap")
        try:
            assert ready["contracts"] == DEV_ADDRESSES.to_json()
            assert ready["members_dir"] == str(data_dir / "cooperative")
            blocks.append(ready["block_number"])
            with ChainClient.connect(ready["rpc_url"]) as client:
                registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
                assert registry.members() == [signer.address for signer in dev_member_signers()]
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=15)
        assert process.returncode == 0
    assert blocks == [3, 3]
    assert sorted(p.name for p in (data_dir / "cooperative").glob("member-*.jwk")) == [
        "member-1.jwk",
        "member-2.jwk",
        "member-3.jwk",
    ]


def test_genesis_writes_a_qbft_network(govssi: Runner, tmp_path: Path) -> None:
    """``govssi ledger genesis --validators 7 --chain-id N --out DIR``: the public description on stdout (no key
    material), the files in DIR; a second run into the same directory is refused (keys are never overwritten)."""
    (tmp_path / "members.json").write_text(json.dumps({"members": ["0x" + "12" * 20]}))
    args = ["ledger", "genesis", "--validators", "7", "--chain-id", "8150", "--out", "net", "--members", "members.json"]
    result = govssi(*args)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["chain_id"] == 8150 and out["consensus"] == "qbft" and len(out["validators"]) == 7
    assert out["fault_tolerance"] == 2 and out["genesis_members"]["members"] == ["0x" + "12" * 20]
    genesis = json.loads((tmp_path / "net" / "genesis.json").read_text())
    assert genesis["extraData"] == out["extra_data"] and genesis["config"]["chainId"] == 8150
    keys = [(tmp_path / "net" / f"validator-{n}" / "key").read_text().strip()[2:] for n in range(1, 8)]
    assert not any(key in result.stdout for key in keys)
    again = govssi(*args)
    assert again.returncode == 1 and json.loads(again.stdout)["error"] == "exists"
    assert govssi("ledger", "genesis", "--validators", "0", "--chain-id", "1", "--out", "x").returncode == 2
    hosts = govssi("ledger", "genesis", "--validators", "3", "--chain-id", "1", "--out", "y", "--hosts", "a,b")
    assert hosts.returncode == 2 and not (tmp_path / "y").exists()
