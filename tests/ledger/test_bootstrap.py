"""The development deployment (``ledger.bootstrap``): fixed addresses on every chain, a demo cooperative whose keys
land in the data directory, idempotent, and the services' address settings (issue 5, "Local development")."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from web3 import Web3

from ledger.bootstrap import (
    DEV_ADDRESSES,
    DEV_DEPLOYER_ADDRESS,
    DEVELOPMENT_CHAIN_IDS,
    MEMBERS_DIR,
    ContractAddresses,
    addresses_from_env,
    bootstrap_development_chain,
    contract_address,
    dev_deployer,
    dev_member_signers,
    is_development_chain,
    load_member_signers,
)
from ledger.client import ChainClient, SoftwareChainSigner
from ledger.contracts import DID_REGISTRY, STATUS_LIST_ANCHOR, TRUSTED_ISSUER_REGISTRY, load_artifact
from ledger.node import LocalChain, LocalChainProvider
from ledger.trust import TrustRegistry
from ssi.errors import ChainError


def test_contract_address_is_the_yellow_paper_create_rule() -> None:
    """Known CREATE addresses (sender, nonce) → address, and the result is EIP-55 checksummed."""
    sender = "0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0"
    assert contract_address(sender, 0).lower() == "0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d"
    assert contract_address(sender, 0) == Web3.to_checksum_address(contract_address(sender, 0))
    assert contract_address(sender, 1).lower() == "0x343c43a37d37dff08ae8c4a11544c718abb4fcf8"
    assert contract_address(sender, 2).lower() == "0xf778b86fa74e846c4f0a1fbd1335fe81c00a0c91"


def test_dev_addresses_are_the_deployers_first_three_creations() -> None:
    assert dev_deployer().address == DEV_DEPLOYER_ADDRESS
    assert ContractAddresses(*(contract_address(DEV_DEPLOYER_ADDRESS, n) for n in range(3))) == DEV_ADDRESSES
    assert len({*DEV_ADDRESSES.to_json().values()}) == 3
    members = [signer.address for signer in dev_member_signers()]
    assert len(set(members)) == 3 and DEV_DEPLOYER_ADDRESS not in members


@pytest.mark.parametrize("chain_id", [1337, 31337, 4242])
def test_bootstrap_deploys_at_the_fixed_addresses(tmp_path: Path, chain_id: int) -> None:
    """Whatever the chain id, the contracts land at DEV_ADDRESSES with their artifacts' code and the demo
    cooperative as genesis members; the members' key files are written with mode 0600."""
    with LocalChain.in_memory(chain_id) as chain:
        client = ChainClient(LocalChainProvider(chain))
        result = bootstrap_development_chain(client, tmp_path)
        assert result.deployed and result.addresses == DEV_ADDRESSES and result.chain_id == chain_id
        for address, name in zip(
            DEV_ADDRESSES.to_json().values(), (DID_REGISTRY, TRUSTED_ISSUER_REGISTRY, STATUS_LIST_ANCHOR), strict=True
        ):
            assert client.code(address) == bytes.fromhex(load_artifact(name).deployed_bytecode[2:])
        registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
        assert registry.members() == [signer.address for signer in dev_member_signers()] == list(result.members)
        assert registry.quorum() == 2
        members_dir = tmp_path / MEMBERS_DIR
        assert result.members_dir == members_dir
        keys = sorted(members_dir.glob("member-*.jwk"))
        assert [path.name for path in keys] == ["member-1.jwk", "member-2.jwk", "member-3.jwk"]
        assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in keys)
        assert [signer.address for signer in load_member_signers(members_dir)] == list(result.members)
        summary = json.loads((members_dir / "cooperative.json").read_text())
        assert summary["contracts"] == DEV_ADDRESSES.to_json()
        assert [entry["address"] for entry in summary["members"]] == list(result.members)


def test_bootstrap_is_idempotent(tmp_path: Path) -> None:
    with LocalChain.in_memory() as chain:
        client = ChainClient(LocalChainProvider(chain))
        bootstrap_development_chain(client, tmp_path)
        head = client.block_number()
        again = bootstrap_development_chain(client, tmp_path)
        assert not again.deployed and client.block_number() == head
        assert bootstrap_development_chain(client).members_dir is None


def test_bootstrap_refuses_when_the_addresses_cannot_be_reached() -> None:
    """The deployer already used its first nonce (without deploying the contracts): refused, nothing deployed."""
    with LocalChain.in_memory() as chain:
        client = ChainClient(LocalChainProvider(chain))
        client.wait_for_receipt(client.send(dev_deployer(), to=SoftwareChainSigner.generate().address, gas=21_000))
        with pytest.raises(ChainError) as refused:
            bootstrap_development_chain(client)
        assert refused.value.reason == "bootstrap_conflict"
        assert client.code(DEV_ADDRESSES.did_registry) == b""


def test_addresses_from_env() -> None:
    assert addresses_from_env({}) == DEV_ADDRESSES
    other = "0x" + "12" * 20
    chosen = addresses_from_env({"GOVSSI_TRUSTED_ISSUER_REGISTRY": other, "GOVSSI_DID_REGISTRY": " "})
    assert chosen.trusted_issuer_registry == "0x1212121212121212121212121212121212121212"
    assert chosen.did_registry == DEV_ADDRESSES.did_registry
    assert chosen.status_anchor == DEV_ADDRESSES.status_anchor
    with pytest.raises(ChainError) as bad:
        addresses_from_env({"GOVSSI_STATUS_ANCHOR": "anchor"})
    assert bad.value.reason == "bad_contract_address" and "GOVSSI_STATUS_ANCHOR" in bad.value.description


def test_development_chain_ids() -> None:
    assert {1337, 31337} <= DEVELOPMENT_CHAIN_IDS
    assert is_development_chain(1337) and not is_development_chain(1) and not is_development_chain(4242)
