"""Chain endpoints of the CLI (DESIGN.md §3, runtime b: ``GOVSSI_CHAIN_RPC=url1,url2``, with failover):
``govssi ledger deploy`` and ``govssi did create ethr`` (and ``did resolve`` for did:ethr) take ``--rpc URL[,URL2]``,
fall back to ``$GOVSSI_CHAIN_RPC``, fail over past a dead first node, and end with a one-line error, a JSON error on
stdout and exit 1 within bounded time when no node answers — and sign with the ChainSigner, never with eth-account.

The contract is checked on the real command in subprocesses; variations run the same typer app in-process.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli_failure as _failure
from cli_support import cli_ok as _ok
from cli_support import did_registry_node
from conftest import Runner
from typer.testing import CliRunner
from web3 import Web3

from govssi.cli import app
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.node import RpcServer
from ssi.keys import PrivateKey, write_key_file

CHAIN_ID = 4243


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[RpcServer, str]]:
    yield from did_registry_node(CHAIN_ID)


def dead_url() -> str:
    """A port nobody listens on (bound a moment ago, closed again): connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _key(path: Path, alg: str = "ES256K") -> Path:
    write_key_file(path, PrivateKey.generate(alg))
    return path


def _deployed(out: dict[str, Any], node: tuple[RpcServer, str]) -> None:
    assert set(out) == {"did_registry", "chain_id", "trusted_issuer_registry", "status_anchor"}
    assert out["chain_id"] == CHAIN_ID
    code = Web3(Web3.HTTPProvider(node[0].url)).eth.get_code(out["did_registry"]).to_0x_hex()
    assert code == load_artifact(DID_REGISTRY).deployed_bytecode


# -- govssi ledger deploy ----------------------------------------------------------------------------------------------


def test_deploy_fails_over_past_a_dead_first_url(govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]) -> None:
    """``--rpc dead,live``: the dead node is skipped, the contracts land on the live one."""
    rpc = f"{dead_url()},{node[0].url}"
    _deployed(_ok(govssi("ledger", "deploy", "--rpc", rpc, "--key", str(_key(tmp_path / "k.jwk")))), node)


def test_deploy_reads_govssi_chain_rpc(govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]) -> None:
    """Without --rpc the endpoint list comes from $GOVSSI_CHAIN_RPC (spaces around the commas are fine)."""
    env = {"GOVSSI_CHAIN_RPC": f" {dead_url()} , {node[0].url} "}
    _deployed(_ok(govssi("ledger", "deploy", "--key", str(_key(tmp_path / "k.jwk")), env=env)), node)


def test_rpc_option_wins_over_the_environment(tmp_path: Path, node: tuple[RpcServer, str]) -> None:
    key = _key(tmp_path / "k.jwk")
    env = {"GOVSSI_CHAIN_RPC": dead_url()}
    result = CliRunner().invoke(app, ["ledger", "deploy", "--rpc", node[0].url, "--key", str(key)], env=env)
    assert result.exit_code == 0, result.output
    _deployed(json.loads(result.stdout), node)


def test_deploy_when_no_node_answers(govssi: Runner, tmp_path: Path) -> None:
    """Every listed node dead: one JSON error, one line on stderr, exit 1 — fast, and both endpoints named."""
    first, second = dead_url(), dead_url()
    started = time.monotonic()
    result = govssi("ledger", "deploy", "--rpc", f"{first},{second}", "--key", str(_key(tmp_path / "k.jwk")))
    out = _failure(result)
    assert time.monotonic() - started < 15
    assert out["error"] == "chain_unavailable"
    assert first in out["error_description"] and second in out["error_description"]


def test_deploy_past_a_silent_first_node_is_bounded(
    govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]
) -> None:
    """A first node that accepts connections but never answers costs at most --timeout per attempt, then the second
    node serves; never a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        rpc = f"http://127.0.0.1:{silent.getsockname()[1]},{node[0].url}"
        started = time.monotonic()
        result = govssi("ledger", "deploy", "--rpc", rpc, "--key", str(_key(tmp_path / "k.jwk")), "--timeout", "2")
    _deployed(_ok(result), node)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    ("args", "env"),
    [
        ([], {}),  # neither --rpc nor GOVSSI_CHAIN_RPC
        ([], {"GOVSSI_CHAIN_RPC": " , "}),
        (["--rpc", "http://127.0.0.1:1,ftp://127.0.0.1:2"], {}),
        (["--rpc", "http://127.0.0.1:1,http://127.0.0.1:1"], {}),
        ([], {"GOVSSI_CHAIN_RPC": "127.0.0.1:8545"}),
    ],
)
def test_deploy_endpoint_usage_errors(govssi: Runner, tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    result = govssi("ledger", "deploy", *args, "--key", str(_key(tmp_path / "k.jwk")), env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "rpc" in result.stderr.lower()


# -- govssi did create ethr / did resolve ------------------------------------------------------------------------------


def test_did_create_fails_over_and_resolves_from_the_environment(
    govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]
) -> None:
    """``did create ethr --rpc dead,live`` anchors the DID; ``did resolve`` with $GOVSSI_CHAIN_RPC finds it."""
    server, registry = node
    signing = _key(tmp_path / "issuer.jwk", "ES256")
    rpc = f"{dead_url()},{server.url}"
    out = _ok(govssi("did", "create", "ethr", "--rpc", rpc, "--registry", registry, "--signing-key", str(signing)))
    assert out["chain_id"] == CHAIN_ID and out["verification_method"] == out["did"] + "#delegate-1"
    env = {"GOVSSI_CHAIN_RPC": rpc}
    document = _ok(govssi("did", "resolve", out["did"], "--registry", registry, env=env))
    assert [vm["id"] for vm in document["verificationMethod"]] == [
        out["did"] + "#controller",
        out["verification_method"],
    ]


def test_did_create_reads_govssi_chain_rpc(tmp_path: Path, node: tuple[RpcServer, str]) -> None:
    server, registry = node
    signing = _key(tmp_path / "issuer.jwk", "EdDSA")
    command = ["did", "create", "ethr", "--registry", registry, "--signing-key", str(signing), "--confirmations", "0"]
    result = CliRunner().invoke(app, command, env={"GOVSSI_CHAIN_RPC": f"{dead_url()},{server.url}"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chain_id"] == CHAIN_ID


def test_did_create_when_no_node_answers(govssi: Runner, tmp_path: Path) -> None:
    started = time.monotonic()
    signing = str(_key(tmp_path / "i.jwk", "ES256"))
    env = {"GOVSSI_CHAIN_RPC": f"{dead_url()},{dead_url()}"}
    result = govssi("did", "create", "ethr", "--registry", "0x" + "12" * 20, "--signing-key", signing, env=env)
    assert _failure(result)["error"] == "chain_unavailable"
    assert time.monotonic() - started < 15
    assert not (tmp_path / "i.controller.jwk").exists()  # nothing written when nothing can be anchored


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["did", "create", "ethr", "--registry", "0x" + "12" * 20, "--signing-key", "k.jwk"], {}),
        (
            [
                "did",
                "create",
                "ethr",
                "--rpc",
                "http://a,file:///x",
                "--registry",
                "0x" + "12" * 20,
                "--signing-key",
                "k",
            ],
            {},
        ),
        (["did", "resolve", "did:ethr:0x1:0x" + "ab" * 20, "--registry", "0x" + "12" * 20], {}),
        (["did", "resolve", "did:ethr:0x1:0x" + "ab" * 20, "--registry", "0x" + "12" * 20], {"GOVSSI_CHAIN_RPC": "x"}),
    ],
)
def test_did_endpoint_usage_errors(govssi: Runner, args: list[str], env: dict[str, str]) -> None:
    result = govssi(*args, env=env)
    assert result.returncode == 2 and result.stdout == ""


def test_resolve_ignores_govssi_chain_rpc_without_a_registry(govssi: Runner) -> None:
    """$GOVSSI_CHAIN_RPC alone adds no did:ethr driver (a registry address is needed) and breaks nothing."""
    result = govssi("did", "resolve", "did:ethr:0x539:0x" + "ab" * 20, env={"GOVSSI_CHAIN_RPC": dead_url()})
    assert _failure(result)["error"] == "methodNotSupported"


# -- no private key handed to eth-account ------------------------------------------------------------------------------


def _forbid_key_signing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make eth-account's and eth-keys' key-based signing fail loudly (and record any attempt)."""
    from eth_account import Account
    from eth_account.signers.local import LocalAccount
    from eth_keys.datatypes import PrivateKey as EthPrivateKey

    attempts: list[str] = []

    def forbidden(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise AssertionError(f"{name} called: a private key was handed to eth-account/eth-keys")

        return refuse

    for owner, names in (
        (Account, ("from_key", "sign_transaction", "unsafe_sign_hash", "sign_message", "_sign_hash", "create")),
        (LocalAccount, ("sign_transaction", "unsafe_sign_hash", "sign_message")),
        (EthPrivateKey, ("__init__", "sign_msg_hash", "sign_msg", "sign_msg_hash_non_recoverable")),
    ):
        for name in names:
            monkeypatch.setattr(owner, name, forbidden(f"{owner.__name__}.{name}"))
    return attempts


def test_deploy_and_did_create_never_give_a_key_to_eth_account(
    tmp_path: Path, node: tuple[RpcServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 4: "Keys for chain accounts behind the Signer protocol". With eth-account's and eth-keys' key-based
    signing made to fail, ``ledger deploy`` and ``did create ethr`` (a new and a given secp256k1 controller key) still
    work: every transaction is signed by SoftwareChainSigner through ledger.client."""
    server, _ = node
    deployer = _key(tmp_path / "deployer.jwk")
    controller = _key(tmp_path / "controller.jwk")
    attempts = _forbid_key_signing(monkeypatch)
    runner = CliRunner()
    rpc = f"{dead_url()},{server.url}"
    deployed = runner.invoke(app, ["ledger", "deploy", "--rpc", rpc, "--key", str(deployer)])
    assert deployed.exit_code == 0, deployed.output
    registry = json.loads(deployed.stdout)["did_registry"]
    for extra in ([], ["--controller-key-file", str(controller)]):
        signing = _key(tmp_path / f"issuer{len(extra)}.jwk", "ES256")
        command = ["did", "create", "ethr", "--rpc", rpc, "--registry", registry, "--signing-key", str(signing), *extra]
        created = runner.invoke(app, command)
        assert created.exit_code == 0, created.output
        assert json.loads(created.stdout)["verification_method"].endswith("#delegate-1")
    assert attempts == []
