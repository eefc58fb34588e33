"""govssi's did:ethr documents against ethr-did-resolver (npm, pinned) for the same DIDs on ``govssi ledger node``.

One ``govssi ledger node`` process; the registry deployed with ``govssi ledger deploy``'s code; identities changed
over JSON-RPC; then both resolvers resolve every DID (and versioned DID URLs) at the same instant. Documents are
compared after converting ethr-did-resolver 11.1.3's key representation to the current spec's
(:func:`ethr_resolver_support.to_current_spec`); metadata is compared as is. Skipped with the reason when node/npm
are missing or the install fails.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from did_ethr_support import account, chain_key
from eth_utils.address import to_checksum_address
from ethr_resolver_support import install, pinned_version, resolve, to_current_spec, without_context
from web3 import Web3

from ledger.client import ChainClient
from ledger.deploy import deploy_contracts
from ledger.did_ethr import EthrDidController, EthrDidDriver, ethr_did, ld_context
from ledger.did_ethr._keys import BLS12_381_G2_PUB
from ssi.did import did_parameters, parse_did_url
from ssi.keys import PrivateKey

_SCRIPT = Path(sys.executable).with_name("govssi")
GOVSSI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from govssi.cli import main; main()"]
# did:ethr spec, "Example BLS12-381 G2 Verification Key via Multikey": the 96-byte compressed G2 key of the example
BLS_G2 = bytes.fromhex(
    "b3bac1c8cfd6dde4ebf2f900070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d"
    "343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c"
)


@pytest.fixture(scope="module")
def reference() -> str:
    reason = install()
    if reason is not None:
        pytest.skip(f"ethr-did-resolver {pinned_version()} unavailable: {reason}")
    return pinned_version()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    data_dir = tmp_path_factory.mktemp("chain")
    process = subprocess.Popen(
        [*GOVSSI, "ledger", "node", "--port", "0", "--data-dir", str(data_dir)],
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
    try:
        yield json.loads(line)
    finally:
        process.terminate()
        process.communicate(timeout=30)


class World:
    """The DIDs both resolvers resolve, and what they answered."""

    def __init__(self, node: dict[str, Any]) -> None:
        self.url = node["rpc_url"]
        self.chain_id = int(node["chain_id"])
        self.w3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 30}))
        self.client = ChainClient.connect(self.url)
        self.registry = deploy_contracts(self.client, account("deployer")).did_registry
        self.dids: dict[str, str] = {}
        self.blocks: dict[str, int] = {}

    def controller(self, label: str, identity: str | None = None) -> EthrDidController:
        return EthrDidController(self.client, self.registry, account(label), identity=identity)

    def build(self) -> None:
        chain_id = self.chain_id
        self.dids["plain"] = ethr_did(account("plain").address, chain_id)
        self.dids["public key"] = ethr_did(chain_key("pubkey").public_key, chain_id)

        moved = self.controller("pubkey moved")
        moved.change_owner(account("new owner").address)
        self.dids["public key, owner changed"] = ethr_did(chain_key("pubkey moved").public_key, chain_id)

        full = self.controller("full")
        p256 = PrivateKey.generate("ES256").public_key
        ed25519 = PrivateKey.generate("EdDSA").public_key
        secp256k1 = PrivateKey.generate("ES256K").public_key
        self.blocks["first"] = full.publish_key(p256).block_number
        full.publish_key(ed25519, purpose="sigAuth")
        full.set_attribute("did/pub/Secp256k1/veriKey/hex", secp256k1.raw_bytes(compressed=False))
        full.set_attribute("did/pub/X25519/enc", bytes(range(32)))
        full.set_attribute("did/pub/Multikey/veriKey", BLS12_381_G2_PUB + BLS_G2)
        full.add_delegate("veriKey", account("delegate 1").address)
        full.add_delegate("sigAuth", account("delegate 2").address)
        full.set_attribute("did/svc/HubService", b"https://hubs.uport.me")
        self.blocks["before revocations"] = full.set_attribute(
            "did/svc/Messaging", json.dumps({"uri": "https://example.com/inbox", "accept": ["didcomm/v2"]}).encode()
        ).block_number
        self.blocks["key revoked"] = full.revoke_key(ed25519, purpose="sigAuth").block_number
        self.blocks["delegate revoked"] = full.revoke_delegate("veriKey", account("delegate 1").address).block_number
        full.set_attribute("did/svc/HubService", b"https://hubs.uport.me", 0)  # expires at once
        full.add_delegate("veriKey", account("delegate 1").address, 3600)  # back, with a new id
        full.set_attribute("did/pub/Ed25519/veriKey/base58", ed25519.raw_bytes())
        full.set_attribute("did/pub/Custom/veriKey/base64", b"custom key material")
        self.dids["full"] = full.did(chain_id)

        owned = self.controller("owned")
        owned.change_owner(account("second owner").address)
        self.controller("second owner", identity=owned.identity).add_delegate("sigAuth", account("d3").address)
        self.dids["owner changed"] = owned.did(chain_id)

        gone = self.controller("gone")
        gone.publish_key(PrivateKey.generate("ES256").public_key)
        self.blocks["deactivated"] = gone.deactivate().block_number
        self.dids["deactivated"] = gone.did(chain_id)

        full_did = self.dids["full"]
        for name in ("first", "before revocations", "key revoked", "delegate revoked"):
            self.dids[f"full at {name}"] = f"{full_did}?versionId={self.blocks[name]}"
        self.dids["full at block 1"] = f"{full_did}?versionId=1"
        self.dids["deactivated, before"] = f"{self.dids['deactivated']}?versionId={self.blocks['deactivated'] - 1}"


@pytest.fixture(scope="module")
def world(reference: str, node: dict[str, Any]) -> Iterator[tuple[World, dict[str, Any], dict[str, Any]]]:
    world = World(node)
    world.build()
    head = world.w3.eth.get_block("latest")
    # Both resolvers at the same instant, after the last block (local blocks may run ahead of the wall clock).
    now = max(math.floor(time.time()), int(head["timestamp"])) + 1
    theirs = resolve(world.url, world.registry, world.chain_id, now, list(world.dids.values()))
    driver = EthrDidDriver({world.chain_id: (world.w3, world.registry)}, clock=lambda: float(now))
    ours = {}
    for did_url in world.dids.values():
        url = parse_did_url(did_url)
        ours[did_url] = driver.resolve_result(str(url.did), did_parameters(url.query)).to_json()
    yield world, ours, theirs


SCENARIOS = [
    "plain",
    "public key",
    "public key, owner changed",
    "full",
    "owner changed",
    "deactivated",
    "full at first",
    "full at before revocations",
    "full at key revoked",
    "full at delegate revoked",
    "full at block 1",
    "deactivated, before",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_document_and_metadata_as_ethr_did_resolver(
    world: tuple[World, dict[str, Any], dict[str, Any]], scenario: str
) -> None:
    """did:ethr spec "Read (Resolve)" and "Metadata": the same entries, ids, relationships, services and metadata."""
    setup, ours, theirs = world
    did_url = setup.dids[scenario]
    mine, reference = ours[did_url], theirs[did_url]
    assert "error" not in reference["didResolutionMetadata"], reference
    assert without_context(mine["didDocument"]) == to_current_spec(reference["didDocument"])
    assert mine["didDocumentMetadata"] == reference["didDocumentMetadata"]
    assert mine["didResolutionMetadata"] == reference["didResolutionMetadata"]


def test_the_comparison_covers_every_feature(world: tuple[World, dict[str, Any], dict[str, Any]]) -> None:
    """The scenarios exercise what they claim: keys of every known type, delegates, services, revocation, expiry,
    owner change, deactivation, versions before and after changes."""
    setup, ours, theirs = world
    full = ours[setup.dids["full"]]
    types = {method["type"] for method in full["didDocument"]["verificationMethod"]}
    assert types >= {
        "EcdsaSecp256k1RecoveryMethod2020",
        "EcdsaSecp256k1VerificationKey2019",
        "Ed25519VerificationKey2020",
        "X25519KeyAgreementKey2020",
        "Multikey",
        "Custom",
    }
    assert full["didDocument"]["keyAgreement"]
    assert [service["type"] for service in full["didDocument"]["service"]] == ["Messaging"]
    assert full["didDocument"]["@context"] == ld_context(full["didDocument"])
    assert ours[setup.dids["deactivated"]]["didDocumentMetadata"]["deactivated"] is True
    assert "nextVersionId" in ours[setup.dids["full at first"]]["didDocumentMetadata"]
    owner = ours[setup.dids["owner changed"]]["didDocument"]["verificationMethod"][0]["blockchainAccountId"]
    assert owner == f"eip155:{setup.chain_id}:{to_checksum_address(account('second owner').address)}"
    key_ids = [m["id"] for m in ours[setup.dids["public key"]]["didDocument"]["verificationMethod"]]
    assert key_ids[-1].endswith("#controllerKey")
    assert len(theirs) == len(SCENARIOS)
