"""``govssi did create ethr`` and ``govssi did resolve did:ethr:… --rpc --registry``: the CLI contract (one JSON
object on stdout; exit 0, 1 refused/failed, 2 usage), against a local chain served on 127.0.0.1.

The contract is checked on the real command in a subprocess; variations of the same path (other key types, a given
controller key) run the same typer app in-process, because every subprocess pays for importing web3 (about a second).
"""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli_failure as _failure
from cli_support import cli_ok as _ok
from cli_support import did_registry_node
from eth_utils.address import to_checksum_address
from typer.testing import CliRunner

from govssi.cli import app
from ledger.client import ethereum_address
from ledger.did_ethr import EthrDidDriver
from ledger.node import RpcServer
from ssi.did import DidDocument
from ssi.keys import PrivateKey, load_private_key, write_key_file

PASSPHRASE = "Heidestraße 17"
#: The ``govssi`` fixture of tests/cli/conftest.py: runs the CLI in a subprocess.
Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[RpcServer, str]]:
    yield from did_registry_node()


def _key(path: Path, alg: str, passphrase: str | None = None) -> Path:
    write_key_file(path, PrivateKey.generate(alg), passphrase=passphrase)
    return path


def _create(
    govssi: Runner, node: tuple[RpcServer, str], *args: str, env: Any = None
) -> subprocess.CompletedProcess[str]:
    server, registry = node
    return govssi("did", "create", "ethr", "--rpc", server.url, "--registry", registry, *args, env=env)


def _resolve(govssi: Runner, node: tuple[RpcServer, str], did: str, *args: str) -> dict[str, Any]:
    server, registry = node
    return _ok(govssi("did", "resolve", did, "--rpc", server.url, "--registry", registry, *args))


def _in_process(node: tuple[RpcServer, str], *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``govssi did create ethr …`` through the same typer app, in this process."""
    server, registry = node
    command = ["did", "create", "ethr", "--rpc", server.url, "--registry", registry, *args]
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _document(node: tuple[RpcServer, str], did: str) -> DidDocument:
    server, registry = node
    return EthrDidDriver.for_rpc(server.url, registry).resolve(did)


@pytest.mark.parametrize(
    ("alg", "vm_type"),
    [("ES256", "Multikey"), ("EdDSA", "Ed25519VerificationKey2020"), ("ES256K", "EcdsaSecp256k1VerificationKey2019")],
)
def test_create_anchors_the_signing_key(
    govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str], alg: str, vm_type: str
) -> None:
    """P-256 is published as did/pub/Multikey/veriKey, Ed25519 and secp256k1 with their own key types; a new
    controller key is written next to the signing key (mode 0600); the DID is the controller's address."""
    signing = _key(tmp_path / "issuer.jwk", alg)
    if alg == "ES256":
        out = _ok(_create(govssi, node, "--signing-key", str(signing)))
    else:
        out = _in_process(node, "--signing-key", str(signing))
    assert set(out) == {"did", "chain_id", "verification_method", "controller_key_file", "registry"}
    assert out["chain_id"] == 1337 and out["registry"] == node[1]
    controller_file = tmp_path / "issuer.controller.jwk"
    assert out["controller_key_file"] == str(controller_file)
    assert stat.S_IMODE(controller_file.stat().st_mode) == 0o600
    controller = load_private_key(controller_file)
    assert out["did"] == "did:ethr:0x539:" + ethereum_address(controller.public_key).lower()
    assert out["verification_method"] == out["did"] + "#delegate-1"
    document = _document(node, out["did"])
    method = document.find_verification_method(out["verification_method"], "assertionMethod")
    assert method.type == vm_type
    assert method.public_key() == load_private_key(signing).public_key


def test_create_with_a_given_controller_key(govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]) -> None:
    """--controller-key-file: that key's identity; a second signing key becomes the next verification method."""
    controller = _key(tmp_path / "controller.jwk", "ES256K")
    first = _ok(
        _create(
            govssi,
            node,
            "--signing-key",
            str(_key(tmp_path / "a.jwk", "ES256")),
            "--controller-key-file",
            str(controller),
        )
    )
    second = _ok(
        _create(
            govssi,
            node,
            "--signing-key",
            str(_key(tmp_path / "b.jwk", "ES256")),
            "--controller-key-file",
            str(controller),
        )
    )
    assert first["did"] == second["did"]
    assert address(first["did"]) == ethereum_address(load_private_key(controller).public_key)
    assert second["verification_method"].endswith("#delegate-2")
    assert not (tmp_path / "a.controller.jwk").exists()


def address(did: str) -> str:
    return str(to_checksum_address(did.rsplit(":", 1)[1]))


def test_default_controller_key_is_encrypted_when_a_passphrase_is_set(
    govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]
) -> None:
    signing = _key(tmp_path / "issuer.json", "ES256", passphrase=PASSPHRASE)  # only its public part is read
    out = _in_process(node, "--signing-key", str(signing), env={"GOVSSI_KEY_PASSPHRASE": PASSPHRASE})
    controller = load_private_key(Path(out["controller_key_file"]), PASSPHRASE)
    assert out["did"].endswith(ethereum_address(controller.public_key).lower())


def test_create_refuses_to_overwrite_a_controller_key(
    govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]
) -> None:
    signing = _key(tmp_path / "issuer.jwk", "ES256")
    _in_process(node, "--signing-key", str(signing))
    assert _failure(_create(govssi, node, "--signing-key", str(signing)))["error"] == "exists"


def test_create_needs_a_secp256k1_controller(govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]) -> None:
    result = _create(
        govssi,
        node,
        "--signing-key",
        str(_key(tmp_path / "issuer.jwk", "ES256")),
        "--controller-key-file",
        str(_key(tmp_path / "controller.jwk", "ES256")),
    )
    assert _failure(result)["error"] == "wrong_curve"


def test_create_without_a_registry_at_the_address(govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]) -> None:
    server, _ = node
    result = govssi(
        "did", "create", "ethr", "--rpc", server.url, "--registry", "0x" + "12" * 20,
        "--signing-key", str(_key(tmp_path / "issuer.jwk", "ES256")),
    )  # fmt: skip
    assert _failure(result)["error"] == "no_registry"
    assert not (tmp_path / "issuer.controller.jwk").exists()  # nothing written when nothing can be anchored


def test_create_without_a_node(govssi: Runner, tmp_path: Path) -> None:
    result = govssi(
        "did", "create", "ethr", "--rpc", "http://127.0.0.1:9", "--registry", "0x" + "12" * 20,
        "--signing-key", str(_key(tmp_path / "issuer.jwk", "ES256")), "--timeout", "2",
    )  # fmt: skip
    assert _failure(result)["error"] == "chain_unavailable"


def test_resolve_with_metadata_and_versions(govssi: Runner, tmp_path: Path, node: tuple[RpcServer, str]) -> None:
    """``--metadata`` prints the resolution result; DID parameters select a version."""
    out = _in_process(node, "--signing-key", str(_key(tmp_path / "issuer.jwk", "ES256")))
    result = _resolve(govssi, node, out["did"], "--metadata")
    assert set(result) == {"didDocument", "didDocumentMetadata", "didResolutionMetadata"}
    version = int(result["didDocumentMetadata"]["versionId"])
    before = _resolve(govssi, node, f"{out['did']}?versionId={version - 1}")
    assert [vm["id"] for vm in before["verificationMethod"]] == [out["did"] + "#controller"]
    bad = govssi("did", "resolve", f"{out['did']}?versionId=x", "--rpc", node[0].url, "--registry", node[1])
    assert _failure(bad)["error"] == "invalidDidUrl"


def test_resolve_did_ethr_needs_a_chain(govssi: Runner) -> None:
    """Without --rpc/--registry the resolver has no did:ethr driver (the existing behaviour)."""
    result = govssi("did", "resolve", "did:ethr:0x539:0x" + "ab" * 20)
    assert _failure(result)["error"] == "methodNotSupported"


@pytest.mark.parametrize(
    "args",
    [
        ["did", "resolve", "did:ethr:0x1:0x" + "ab" * 20, "--rpc", "http://127.0.0.1:1"],
        ["did", "resolve", "did:ethr:0x1:0x" + "ab" * 20, "--registry", "0x" + "12" * 20],
        ["did", "resolve", "did:ethr:0x1:0x" + "ab" * 20, "--rpc", "ftp://x", "--registry", "0x" + "12" * 20],
        ["did", "resolve", "did:ethr:0x1:0x" + "ab" * 20, "--rpc", "http://127.0.0.1:1", "--registry", "0x12"],
        ["did", "create", "ethr", "--rpc", "http://127.0.0.1:1", "--registry", "0x" + "12" * 20],
        ["did", "create", "ethr", "--rpc", "http://127.0.0.1:1", "--registry", "nope", "--signing-key", "k.jwk"],
    ],
)
def test_usage_errors(govssi: Runner, args: list[str]) -> None:
    result = govssi(*args)
    assert result.returncode == 2 and result.stdout == ""
