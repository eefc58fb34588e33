"""``ledger.qbft`` / ``govssi ledger genesis``: a Besu QBFT network in files, checked structurally (issue 5,
"Production network, in files and on paper"): the genesis extraData decoded as RLP, the required genesis fields, the
node configurations parsed as TOML, keys consistent with addresses and enodes, and the documented deploy step landing
the contracts where ``network.json`` says."""

from __future__ import annotations

import contextlib
import json
import stat
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import rlp  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import ec
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st

from ledger.client import ChainClient, SoftwareChainSigner, ethereum_address
from ledger.deploy import GenesisMembers, deploy_contracts
from ledger.node import LocalChain, LocalChainProvider
from ledger.qbft import QBFT_MIX_HASH, decode_extra_data, encode_extra_data, generate_network
from ledger.trust import TrustRegistry
from ssi.keys import PrivateKey, load_private_key

#: Besu documentation, "Configure QBFT consensus" → "Generate extra data": four validators and their encoding.
BESU_EXAMPLE_VALIDATORS = [
    "0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb",
    "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
    "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de",
    "0xab5e7f4061c605820d3744227eed91ff8e2c8908",
]
BESU_EXAMPLE_EXTRA_DATA = (
    "f87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e45706cc08b8f44b11e43cba0cfc589"
    "2cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee02d7bcbc1bf1236b8c15148971e1de94ab5e7f4061c605820d37442"
    "27eed91ff8e2c8908c080c0"
)
CHAIN_ID = 8150


def key_maker() -> Callable[[], PrivateKey]:
    """Deterministic secp256k1 keys (the generator takes them from here instead of the system's randomness)."""
    counter = iter(range(1, 10_000))

    def make() -> PrivateKey:
        scalar = int.from_bytes(keccak(f"qbft test key {next(counter)}".encode()), "big")
        return PrivateKey(ec.derive_private_key(scalar, ec.SECP256K1()))

    return make


@pytest.fixture
def network_dir(tmp_path: Path) -> Iterator[Path]:
    members = GenesisMembers(("0x" + "12" * 20, "0x" + "34" * 20), voting_period=3 * 86_400)
    generate_network(
        tmp_path / "net", chain_id=CHAIN_ID, validators=7, members=members, timestamp=1_800_000_000, new_key=key_maker()
    )
    yield tmp_path / "net"


def test_extra_data_matches_besus_documented_example() -> None:
    assert encode_extra_data(BESU_EXAMPLE_VALIDATORS).hex() == BESU_EXAMPLE_EXTRA_DATA
    decoded = decode_extra_data(bytes.fromhex(BESU_EXAMPLE_EXTRA_DATA))
    assert [v.lower() for v in decoded.validators] == BESU_EXAMPLE_VALIDATORS
    assert decoded.vanity == bytes(32) and decoded.votes == () and decoded.round == 0 and decoded.seals == ()


def test_genesis_extra_data_decodes_to_the_validators(network_dir: Path) -> None:
    """RLP([32-byte vanity, [validators ascending], [] (no vote), round 0 (empty string), [] (no seals)]), decoded
    here with the rlp package itself."""
    genesis = json.loads((network_dir / "genesis.json").read_text())
    raw = bytes.fromhex(genesis["extraData"][2:])
    vanity, validators, votes, round_number, seals = rlp.decode(raw)
    assert vanity == bytes(32) and votes == [] and round_number == b"" and seals == []
    assert raw.endswith(bytes.fromhex("c080c0"))
    addresses = [(network_dir / f"validator-{n}" / "address").read_text().strip() for n in range(1, 8)]
    assert validators == sorted(bytes.fromhex(a[2:]) for a in addresses)
    assert len(validators) == 7 and len(set(validators)) == 7


def test_genesis_required_fields(network_dir: Path) -> None:
    genesis = json.loads((network_dir / "genesis.json").read_text())
    config = genesis["config"]
    assert config["chainId"] == CHAIN_ID
    assert config["qbft"] == {"blockperiodseconds": 2, "epochlength": 30_000, "requesttimeoutseconds": 4}
    assert config["berlinBlock"] == 0 and config["londonBlock"] == 0 and config["zeroBaseFee"] is True
    assert "clique" not in config and "ibft2" not in config
    assert genesis["difficulty"] == "0x1" and genesis["mixHash"] == QBFT_MIX_HASH
    assert genesis["nonce"] == "0x0" and genesis["coinbase"] == "0x" + "00" * 20
    assert int(genesis["gasLimit"], 16) == 50_000_000 and int(genesis["timestamp"], 16) == 1_800_000_000
    assert genesis["alloc"] == {} and genesis["number"] == "0x0" and genesis["parentHash"] == "0x" + "00" * 32


def test_validator_keys_addresses_and_enodes_agree(network_dir: Path) -> None:
    network = json.loads((network_dir / "network.json").read_text())
    assert network["fault_tolerance"] == 2 and network["gas_price"] == 0
    enodes = []
    for n, described in enumerate(network["validators"], start=1):
        folder = network_dir / f"validator-{n}"
        key_file = folder / "key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        secret = key_file.read_text().strip()
        assert secret.startswith("0x") and len(secret) == 66
        signer = SoftwareChainSigner.from_private_bytes(bytes.fromhex(secret[2:]))
        public = signer.public_key.raw_bytes(compressed=False)[1:]
        assert (folder / "key.pub").read_text().strip() == "0x" + public.hex()
        assert (folder / "address").read_text().strip() == signer.address == described["address"]
        assert ethereum_address(public) == signer.address
        assert described["enode"] == f"enode://{public.hex()}@127.0.0.1:{30302 + n}"
        assert described["rpc_url"] == f"http://127.0.0.1:{8544 + n}"
        enodes.append(described["enode"])
    assert json.loads((network_dir / "static-nodes.json").read_text()) == enodes
    permissions = tomllib.loads((network_dir / "permissions_config.toml").read_text())
    assert permissions == {"nodes-allowlist": enodes}


def test_node_configuration(network_dir: Path) -> None:
    """Each config.toml is TOML Besu understands: its own key, the others as bootnodes, zero gas price, QBFT API,
    node permissioning; every file it names exists (paths relative to the network directory)."""
    network = json.loads((network_dir / "network.json").read_text())
    enodes = [v["enode"] for v in network["validators"]]
    for n in range(1, 8):
        config = tomllib.loads((network_dir / f"validator-{n}" / "config.toml").read_text())
        assert config["node-private-key-file"] == f"validator-{n}/key"
        assert config["bootnodes"] == [e for i, e in enumerate(enodes, start=1) if i != n]
        assert config["min-gas-price"] == 0 and config["p2p-port"] == 30302 + n and config["rpc-http-port"] == 8544 + n
        assert "QBFT" in config["rpc-http-api"] and "ETH" in config["rpc-http-api"]
        assert config["rpc-http-host"] == "127.0.0.1" and config["revert-reason-enabled"] is True
        assert config["permissions-nodes-config-file-enabled"] is True
        for name in ("genesis-file", "node-private-key-file", "permissions-nodes-config-file"):
            assert (network_dir / config[name]).is_file()


def test_no_secret_in_the_public_files(network_dir: Path) -> None:
    public = (network_dir / "network.json").read_text() + (network_dir / "README.txt").read_text()
    secrets = [(network_dir / f"validator-{n}" / "key").read_text().strip()[2:] for n in range(1, 8)]
    deployer = load_private_key(network_dir / "deployer.jwk").private_jwk()["d"]
    assert all(secret not in public for secret in [*secrets, deployer])
    assert stat.S_IMODE((network_dir / "deployer.jwk").stat().st_mode) == 0o600


def test_the_documented_deploy_step_lands_where_network_json_says(network_dir: Path) -> None:
    """Run the deploy step (deployer.jwk, members.json) against a chain with the network's id: the contracts land at
    the addresses network.json and README.txt announce, with the genesis members."""
    network = json.loads((network_dir / "network.json").read_text())
    members = GenesisMembers.from_json(json.loads((network_dir / "members.json").read_text()))
    deployer = SoftwareChainSigner(load_private_key(network_dir / "deployer.jwk"))
    assert deployer.address == network["deployer"]
    with LocalChain.in_memory(CHAIN_ID) as chain:
        client = ChainClient(LocalChainProvider(chain))
        deployment = deploy_contracts(client, deployer, members=members)
        assert {k: v for k, v in deployment.to_json().items() if k != "chain_id"} == network["contracts"]
        registry = TrustRegistry(client, deployment.trusted_issuer_registry)
        assert registry.members() == list(members.members) and registry.voting_period() == 3 * 86_400
    readme = (network_dir / "README.txt").read_text()
    assert f"GOVSSI_TRUSTED_ISSUER_REGISTRY={network['contracts']['trusted_issuer_registry']}" in readme
    assert "--key deployer.jwk --members members.json" in readme


def test_one_host_per_validator(tmp_path: Path) -> None:
    hosts = ["v1.kommune.example", "v2.dataport.example", "v3.itnrw.example", "v4.akdb.example"]
    network = generate_network(tmp_path / "n", chain_id=CHAIN_ID, validators=4, hosts=hosts, new_key=key_maker())
    assert [v.enode.split("@")[1] for v in network.validators] == [f"{h}:30303" for h in hosts]
    assert network.fault_tolerance == 1


def test_refusals(tmp_path: Path) -> None:
    generate_network(tmp_path / "taken", chain_id=CHAIN_ID, validators=1, new_key=key_maker())
    with pytest.raises(FileExistsError):
        generate_network(tmp_path / "taken", chain_id=CHAIN_ID, validators=1)
    for options in (
        {"validators": 0},
        {"validators": 65},
        {"validators": 3, "hosts": ["a.example", "b.example"]},
        {"validators": 1, "hosts": ["bad host"]},
        {"validators": 2, "block_period_seconds": 0},
        {"validators": 2, "p2p_port": 65535},
    ):
        with pytest.raises(ValueError):
            generate_network(tmp_path / "x", chain_id=CHAIN_ID, **options)  # type: ignore[arg-type]


@given(st.lists(st.binary(min_size=20, max_size=20), min_size=1, max_size=20, unique=True))
def test_extra_data_round_trip(addresses: list[bytes]) -> None:
    """Any validator list encodes to extraData that decodes to the same list (order kept)."""
    validators = ["0x" + a.hex() for a in addresses]
    decoded = decode_extra_data(encode_extra_data(validators))
    assert [v.lower() for v in decoded.validators] == validators


@given(st.binary(max_size=200))
def test_decode_extra_data_never_crashes(data: bytes) -> None:
    """Arbitrary bytes decode to a well-formed QbftExtraData or raise ValueError, nothing else."""
    with contextlib.suppress(ValueError):
        decoded = decode_extra_data(data)
        assert len(decoded.vanity) == 32 and all(v.startswith("0x") for v in decoded.validators)
