"""``govssi did key list|revoke|compromised``: a did:ethr's key lifecycle from the command line (ledger/README.md "Key
lifecycle"), against a development chain served on 127.0.0.1 — the CLI contract (one JSON object on stdout; exit 0, 1
refused/failed with one line on stderr, 2 usage), the DID document afterwards, and what a verifier
(``SigningKeyHistory``) makes of a credential signed by the key.

The success paths and the error contract run the real command in a subprocess; the terminal confirmation runs the
same typer app in-process with a pretend terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli_failure as _failure
from cli_support import cli_ok as _ok
from cli_support import did_registry_node
from typer.testing import CliRunner

from govssi.cli import app, did_key
from ledger.client import ChainClient, SoftwareChainSigner
from ledger.did_ethr import EthrDidController, EthrDidDriver, SigningKeyHistory
from ledger.node import RpcServer
from ssi.errors import DidError
from ssi.jose import encode_jwt
from ssi.keys import PrivateKey, SoftwareSigner, load_private_key, write_key_file

Runner = Callable[..., subprocess.CompletedProcess[str]]
Node = tuple[RpcServer, str]
PASSPHRASE = "Heidestraße 17"
ENV = {"GOVSSI_KEY_PASSPHRASE": PASSPHRASE}


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    yield from did_registry_node()


def _key(path: Path, alg: str = "ES256", passphrase: str | None = None) -> Path:
    write_key_file(path, PrivateKey.generate(alg), passphrase=passphrase)
    return path


def _create(node: Node, signing: Path, controller: Path | None = None) -> dict[str, Any]:
    """``govssi did create ethr`` in-process (the subprocess contract is tests/cli/test_did_ethr_cli.py's)."""
    server, registry = node
    args = ["did", "create", "ethr", "--rpc", server.url, "--registry", registry, "--signing-key", str(signing)]
    if controller is not None:
        args += ["--controller-key-file", str(controller)]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _did_key(govssi: Runner, node: Node, command: str, did: str, *args: str, env: Any = None) -> Any:
    server, registry = node
    return govssi("did", "key", command, did, "--rpc", server.url, "--registry", registry, *args, env=env)


def _driver(node: Node) -> EthrDidDriver:
    server, registry = node
    return EthrDidDriver.for_rpc(server.url, registry)


def _head_time(node: Node) -> int:
    with ChainClient(node[0].url) as client:
        return int(client.w3.eth.get_block("latest")["timestamp"])


def _credential(key_file: Path, kid: str, iat: int) -> str:
    claims = {"iss": kid.partition("#")[0], "iat": iat, "exp": iat + 3600 * 24 * 365, "vct": "urn:example:parking"}
    return encode_jwt(claims, SoftwareSigner(load_private_key(key_file), kid=kid), typ="JWT")


def _verify(node: Node, token: str, did: str) -> dict[str, Any]:
    return SigningKeyHistory(_driver(node)).verify_jwt(token, ["ES256"], did=did).claims


@pytest.fixture
def issuer(tmp_path: Path, node: Node) -> dict[str, Any]:
    """A did:ethr with two P-256 keys (an old one, #delegate-1, and its successor, #delegate-2), the controller key in
    an encrypted file as the issuer keeps it, and a credential the old key signed before anything changed."""
    controller = tmp_path / "a.controller.json"
    write_key_file(controller, PrivateKey.generate("ES256K"), passphrase=PASSPHRASE)
    old, new = _key(tmp_path / "old.jwk"), _key(tmp_path / "new.jwk")
    did = _create(node, old, controller)["did"]
    assert _create(node, new, controller)["verification_method"] == did + "#delegate-2"
    token = _credential(old, did + "#delegate-1", _head_time(node))
    assert _verify(node, token, did)["iss"] == did
    return {"did": did, "controller": controller, "old": old, "new": new, "token": token}


def test_list_revoke_then_mark_compromised(govssi: Runner, node: Node, issuer: dict[str, Any]) -> None:
    """Rotation: `revoke --key` takes the old key out of the document, the credential it signed before still
    verifies; later `compromised --key-sha256` (the key file is gone, the key no longer published) marks it, and the
    same credential is refused as keyCompromised whatever its iat."""
    did, controller = issuer["did"], str(issuer["controller"])
    listed = _ok(_did_key(govssi, node, "list", did))
    assert listed["did"] == did and listed["deactivated"] is False and listed["compromised_keys"] == []
    assert [k["verification_method"] for k in listed["keys"]] == [did + "#delegate-1", did + "#delegate-2"]
    old = listed["keys"][0]
    assert set(old) == {"verification_method", "alg", "jkt", "key_sha256", "state", "purposes", "valid_until"}
    assert (old["alg"], old["state"], old["purposes"]) == ("ES256", "published", ["veriKey"])
    old_key = load_private_key(issuer["old"]).public_key
    assert old["jkt"] == old_key.thumbprint() and old["key_sha256"] == did_key.key_sha256(old_key)

    revoked = _ok(_did_key(govssi, node, "revoke", did, "--key", str(issuer["old"]), "--controller-key-file",
                           controller, env=ENV))  # fmt: skip
    assert set(revoked) == {"did", "verification_method", "jkt", "key_sha256", "state", "revoked"}
    assert revoked["verification_method"] == did + "#delegate-1" and revoked["state"] == "revoked"
    assert [change["attribute"] for change in revoked["revoked"]] == ["did/pub/Multikey/veriKey"]
    assert revoked["revoked"][0]["transaction_hash"].startswith("0x") and revoked["revoked"][0]["block_number"] > 0
    document = _driver(node).resolve(did)
    assert [vm.id for vm in document.verification_method] == [did + "#controller", did + "#delegate-2"]
    assert _verify(node, issuer["token"], did)["iss"] == did  # signed before the rotation: still valid
    late = _credential(issuer["old"], did + "#delegate-1", _head_time(node) + 1)
    with pytest.raises(DidError) as refused:
        _verify(node, late, did)
    assert refused.value.reason == "notFound"  # dated after the revocation
    states = {k["jkt"]: k["state"] for k in _ok(_did_key(govssi, node, "list", did))["keys"]}
    assert states[old["jkt"]] == "revoked"

    marked = _ok(_did_key(govssi, node, "compromised", did, "--key-sha256", old["key_sha256"], "--yes",
                          "--controller-key-file", controller, env=ENV))  # fmt: skip
    assert set(marked) == {"did", "verification_method", "jkt", "key_sha256", "state", "marked", "revoked"}
    assert marked["jkt"] == old["jkt"] and marked["state"] == "compromised" and marked["revoked"] == []
    assert marked["verification_method"] is None and marked["marked"]["attribute"] == "did/compromised/jkt"
    with pytest.raises(DidError) as refused:
        _verify(node, issuer["token"], did)
    assert refused.value.reason == "keyCompromised"
    server, registry = node
    resolved = _ok(govssi("did", "resolve", did, "--rpc", server.url, "--registry", registry, "--metadata"))
    assert resolved["didDocumentMetadata"]["compromisedKeys"] == [old["jkt"]]
    listed = _ok(_did_key(govssi, node, "list", did))
    assert listed["compromised_keys"] == [old["jkt"]]
    assert [k["state"] for k in listed["keys"]] == ["compromised", "published"]
    # The registry's address from the issuer's own setting, as an operator's shell has it.
    assert _ok(govssi("did", "key", "list", did, "--rpc", server.url, env={"GOVSSI_DID_REGISTRY": registry})) == listed


def test_compromised_published_key_by_method(govssi: Runner, node: Node, issuer: dict[str, Any]) -> None:
    """`compromised --method #delegate-1` marks the key and revokes its attribute; the document drops it; a second
    run sends nothing new (the mark is there, the attribute gone)."""
    did, controller = issuer["did"], str(issuer["controller"])
    args = ("--method", "#delegate-1", "--controller-key-file", controller, "-y")
    out = _ok(_did_key(govssi, node, "compromised", did, *args, env=ENV))
    assert out["verification_method"] == did + "#delegate-1"
    assert out["marked"]["block_number"] < out["revoked"][0]["block_number"]  # the mark first
    assert [change["attribute"] for change in out["revoked"]] == ["did/pub/Multikey/veriKey"]
    result = _driver(node).resolve_at(did)
    assert [vm.id for vm in result.document.verification_method] == [did + "#controller", did + "#delegate-2"]
    assert result.document_metadata["compromisedKeys"] == [out["jkt"]]
    with pytest.raises(DidError) as refused:
        _verify(node, issuer["token"], did)
    assert refused.value.reason == "keyCompromised"
    again = _ok(_did_key(govssi, node, "compromised", did, "--key", str(issuer["old"]), "--controller-key-file",
                         controller, "--yes", env=ENV))  # fmt: skip
    assert again["marked"] is None and again["revoked"] == [] and again["jkt"] == out["jkt"]


def test_compromised_asks_at_a_terminal(node: Node, issuer: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """At a terminal the mark waits for a yes; "no" (the default) sends nothing, exit 1."""
    monkeypatch.setattr(did_key, "_interactive", lambda: True)
    server, registry = node
    did = issuer["did"]
    command = ["did", "key", "compromised", did, "--rpc", server.url, "--registry", registry, "--key",
               str(issuer["new"]), "--controller-key-file", str(issuer["controller"])]  # fmt: skip
    declined = CliRunner().invoke(app, command, input="\n", env=ENV)
    assert declined.exit_code == 1 and json.loads(declined.stdout)["error"] == "cancelled"
    assert "cannot be undone" in declined.stderr
    assert not _driver(node).resolve_at(did).document_metadata.get("compromisedKeys")
    accepted = CliRunner().invoke(app, command, input="y\n", env=ENV)
    assert accepted.exit_code == 0, accepted.output
    # CliRunner echoes the typed answer to stdout (a terminal would echo it itself); the JSON follows it.
    answer = json.loads(accepted.stdout[accepted.stdout.index("{") :])
    assert answer["verification_method"] == did + "#delegate-2" and answer["marked"] is not None
    assert _driver(node).resolve_at(did).document_metadata["compromisedKeys"] == [
        load_private_key(issuer["new"]).public_key.thumbprint()
    ]


def test_refusals_are_one_line_and_change_nothing(
    govssi: Runner, tmp_path: Path, node: Node, issuer: dict[str, Any]
) -> None:
    """Unknown DID, a key not on the DID, the wrong controller key, a DID of another chain, no registry: exit 1 with
    {"error", "error_description"} and one line on stderr; the document is as before."""
    did, controller = issuer["did"], str(issuer["controller"])
    stranger = _key(tmp_path / "stranger.jwk")
    before = _driver(node).resolve(did).to_json()

    def refused(command: str, target: str, *args: str, env: Any = ENV) -> str:
        return str(_failure(_did_key(govssi, node, command, target, *args, env=env))["error"])

    unknown = "did:ethr:0x539:0x" + "ab" * 20
    assert refused("revoke", unknown, "--key", str(issuer["old"]), "--controller-key-file", controller) == (
        "key_not_found"
    )
    assert refused("revoke", did, "--key", str(stranger), "--controller-key-file", controller) == "key_not_found"
    assert refused("revoke", did, "--key-sha256", "00" * 32, "--controller-key-file", controller) == "key_not_found"
    assert refused("compromised", did, "--method", "#delegate-9", "--controller-key-file", controller, "--yes") == (
        "key_not_found"
    )
    other = _key(tmp_path / "other.controller.jwk", "ES256K")
    assert refused("revoke", did, "--key", str(issuer["old"]), "--controller-key-file", str(other)) == (
        "not_controller"
    )
    assert refused("compromised", did, "--key", str(stranger), "--controller-key-file", str(other), "--yes") == (
        "not_controller"
    )
    assert refused("revoke", did, "--key", str(issuer["old"]), "--controller-key-file", str(stranger)) == (
        "wrong_curve"
    )
    assert refused("revoke", did, "--key", str(issuer["old"]), "--controller-key-file", controller, env={}) == (
        "passphrase_required"
    )
    assert refused("list", "did:ethr:0x1:0x" + "ab" * 20) == "wrong_chain"
    assert refused("list", "did:web:example.org") == "invalidDid"
    missing = str(tmp_path / "missing.jwk")
    assert refused("revoke", did, "--key", missing, "--controller-key-file", controller) == "io"
    server, _ = node
    no_registry = govssi("did", "key", "list", did, "--rpc", server.url, "--registry", "0x" + "12" * 20)
    assert _failure(no_registry)["error"] == "no_registry"
    assert _driver(node).resolve(did).to_json() == before


@pytest.mark.parametrize(
    "args",
    [
        ["compromised", "--key", "k.jwk", "--controller-key-file", "c.jwk"],  # a final mark without a terminal
        ["revoke", "--controller-key-file", "c.jwk"],  # no key named
        ["revoke", "--key", "k.jwk", "--method", "#delegate-1", "--controller-key-file", "c.jwk"],
        ["revoke", "--key-sha256", "abc", "--controller-key-file", "c.jwk"],
        ["revoke", "--key", "k.jwk"],  # no controller key
        ["list"],  # no --registry
        ["revoke", "--key", "k.jwk", "--controller-key-label", "a-controller"],  # no PKCS#11 module, token label
        ["revoke", "--key", "k.jwk", "--controller-key-file", "c.jwk", "--controller-key-label", "a-controller"],
    ],
)
def test_usage_errors(govssi: Runner, args: list[str]) -> None:
    """Usage errors: one line on stderr, nothing on stdout, exit 2 — before any node is asked (there is none)."""
    command, *rest = args
    registry = [] if command == "list" else ["--registry", "0x" + "12" * 20]
    result = govssi("did", "key", command, "did:ethr:0x539:0x" + "ab" * 20, "--rpc", "http://127.0.0.1:9",
                    *registry, *rest)  # fmt: skip
    assert result.returncode == 2, result
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("govssi: usage: ")


def test_deactivate(govssi: Runner, tmp_path: Path, node: Node, issuer: dict[str, Any]) -> None:
    """`govssi did deactivate` (a stolen controller key): only the owner, only with --yes without a terminal; then
    the DID has no controller, `list` says so for every key, `revoke` refuses, and every credential of the DID is
    refused as deactivated. A second run sends nothing."""
    did, controller = issuer["did"], str(issuer["controller"])
    server, registry = node
    command = ("did", "deactivate", did, "--rpc", server.url, "--registry", registry)
    no_terminal = govssi(*command, "--controller-key-file", controller, env=ENV)
    assert no_terminal.returncode == 2 and no_terminal.stdout == "" and "final" in no_terminal.stderr
    other = _key(tmp_path / "other.controller.jwk", "ES256K")
    assert _failure(govssi(*command, "--controller-key-file", str(other), "--yes"))["error"] == "not_controller"
    out = _ok(govssi(*command, "--controller-key-file", controller, "--yes", env=ENV))
    assert out["did"] == did and out["deactivated"] is True and out["transaction_hash"].startswith("0x")
    listed = _ok(_did_key(govssi, node, "list", did))
    assert listed["deactivated"] is True and listed["controller"] is None
    assert [k["state"] for k in listed["keys"]] == ["deactivated", "deactivated"]
    with pytest.raises(DidError) as refused:
        _verify(node, issuer["token"], did)
    assert refused.value.reason == "deactivated"
    result = _did_key(govssi, node, "revoke", did, "--key", str(issuer["old"]), "--controller-key-file", controller)
    assert _failure(result)["error"] == "deactivated"
    again = _ok(govssi(*command, "--controller-key-file", controller, "--yes", env=ENV))
    assert again["transaction_hash"] is None and again["block_number"] is None


def test_compromised_key_never_published(govssi: Runner, tmp_path: Path, node: Node, issuer: dict[str, Any]) -> None:
    """A key the DID never published (e.g. one only ever in a certificate) can be marked by its file: the mark alone,
    nothing to revoke; the DID's keys stay as they were."""
    did, controller = issuer["did"], str(issuer["controller"])
    elsewhere = _key(tmp_path / "cert-only.jwk")
    out = _ok(_did_key(govssi, node, "compromised", did, "--key", str(elsewhere), "--yes", "--controller-key-file",
                       controller, env=ENV))  # fmt: skip
    assert out["verification_method"] is None and out["revoked"] == [] and out["marked"] is not None
    result = _driver(node).resolve_at(did)
    assert result.document_metadata["compromisedKeys"] == [load_private_key(elsewhere).public_key.thumbprint()]
    assert len(result.document.verification_method) == 3  # #controller, #delegate-1, #delegate-2
    assert _verify(node, issuer["token"], did)["iss"] == did


def _softhsm() -> Any:
    """tests/ssi/keys/softhsm_support (pytest puts only this directory on sys.path)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssi" / "keys"))
    import softhsm_support

    return softhsm_support


@pytest.mark.skipif(_softhsm().skip_reason() is not None, reason=_softhsm().skip_reason() or "")
def test_controller_key_in_a_pkcs11_token(govssi: Runner, tmp_path: Path, node: Node, issuer: dict[str, Any]) -> None:
    """An issuer with GOVSSI_PKCS11_MODULE keeps its controller key in the token: --controller-key-label (module and
    token label from the issuer's environment) signs the revocation there; the old controller file no longer owns
    the DID (not_controller); a label not in the token is a one-line refusal."""
    softhsm = _softhsm()
    hsm = softhsm.SoftHsm.create(tmp_path / "softhsm")
    hsm.init_token("govssi-did")
    env = {**hsm.env, "GOVSSI_PKCS11_PIN": softhsm.USER_PIN, "GOVSSI_PKCS11_MODULE": hsm.module,
           "GOVSSI_PKCS11_TOKEN_LABEL": "govssi-did"}  # fmt: skip
    made = _ok(govssi("keys", "pkcs11", "generate", "--token-label", "govssi-did", "--key-label", "a-controller",
                      "--alg", "ES256K", env=env))  # fmt: skip
    did, controller = issuer["did"], str(issuer["controller"])
    server, registry = node
    with ChainClient(server.url) as client:
        owner = SoftwareChainSigner(load_private_key(issuer["controller"], PASSPHRASE))
        EthrDidController(client, registry, owner).change_owner(made["ethereum_address"])
    assert _ok(_did_key(govssi, node, "list", did))["controller"] == made["ethereum_address"]

    by_file = _did_key(govssi, node, "revoke", did, "--key", str(issuer["old"]), "--controller-key-file", controller,
                       env=ENV)  # fmt: skip
    assert _failure(by_file)["error"] == "not_controller"
    missing = _did_key(govssi, node, "revoke", did, "--key", str(issuer["old"]), "--controller-key-label", "nope",
                       env=env)  # fmt: skip
    _failure(missing)
    out = _ok(_did_key(govssi, node, "revoke", did, "--key", str(issuer["old"]), "--controller-key-label",
                       "a-controller", env=env))  # fmt: skip
    assert out["verification_method"] == did + "#delegate-1" and len(out["revoked"]) == 1
    assert [vm.id for vm in _driver(node).resolve(did).verification_method] == [
        did + "#controller",
        did + "#delegate-2",
    ]
