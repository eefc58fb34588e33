"""Genesis and node configuration for a permissioned Hyperledger Besu network with QBFT (``govssi ledger genesis``).

DESIGN.md §3, chain runtime (c): the production network of a govdigital-style cooperative — N validators run by the
members' IT providers, QBFT consensus (Clique is deprecated in Besu and cannot be sealed by geth ≥ 1.14), zero gas
price, validator keys generated locally. (The local chain node's own genesis is :mod:`ledger.node.genesis`; this
module writes files for Besu and runs nothing.)

What is written (Besu documentation, "Configure QBFT consensus", "Genesis file items", "Free gas networks"):

- ``genesis.json``: ``config.chainId``; ``berlinBlock``/``londonBlock`` 0 with ``zeroBaseFee`` (EIP-1559 with a base fee
  of 0: free gas); ``config.qbft`` with ``blockperiodseconds``, ``epochlength``, ``requesttimeoutseconds``;
  ``difficulty`` ``0x1`` and ``mixHash`` ``0x6374…6365`` (QBFT's fixed values, "for Istanbul block identification");
  ``extraData`` = ``RLP([32 bytes vanity, [validator addresses], no vote, round 0, no seals])`` — "block header
  validator selection", the validators in ascending order; empty ``alloc`` (nobody needs ether on a free-gas chain).
- per validator ``validator-<n>/``: ``key`` (the node's secp256k1 private key, ``0x`` + 64 hex digits, mode 0600 —
  for QBFT the node key is the validator key), ``key.pub``, ``address``, and ``config.toml`` (Besu's TOML
  configuration: ``min-gas-price=0``, the other validators as ``bootnodes``, local node permissioning,
  JSON-RPC with the ETH, NET, WEB3 and QBFT APIs on the host's loopback interface, full sync, revert reasons on).
- ``permissions_config.toml``: ``nodes-allowlist`` with every validator's enode URL (a permissioned network).
- ``static-nodes.json``: the same enode URLs.
- ``deployer.jwk`` (mode 0600; encrypted with ``passphrase`` when given) and, with genesis members,
  ``members.json``: govssi's contracts are deployed by the documented step in ``README.txt``
  (``govssi ledger deploy``), and because the deployer is fresh, their addresses are known in advance (the deployer's
  nonces 0, 1, 2) — ``network.json`` lists them for the services' ``GOVSSI_*`` settings.
- ``network.json``: everything public about the network (validators, enodes, extraData, fault tolerance, contracts).

Nothing here is secret except the ``key`` files and ``deployer.jwk``; ``network.json`` and the return value of
:func:`generate_network` carry no private key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import rlp  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import ec
from eth_utils.address import to_checksum_address

from ledger.bootstrap import ContractAddresses, contract_address
from ledger.client import ethereum_address
from ledger.deploy import GenesisMembers
from ssi.keys import PrivateKey, write_key_file

__all__ = [
    "QBFT_MIX_HASH",
    "QbftExtraData",
    "QbftNetwork",
    "QbftValidator",
    "decode_extra_data",
    "encode_extra_data",
    "generate_network",
]

#: QBFT genesis ``mixHash`` ("for Istanbul block identification"), fixed by Besu.
QBFT_MIX_HASH: Final = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
VANITY: Final = bytes(32)
DEFAULT_GAS_LIMIT: Final = 50_000_000
MAX_VALIDATORS: Final = 64
RPC_APIS: Final = ("ETH", "NET", "WEB3", "QBFT")


@dataclass(frozen=True)
class QbftExtraData:
    """The decoded genesis ``extraData`` of a QBFT network."""

    vanity: bytes
    validators: tuple[str, ...]
    votes: tuple[Any, ...]
    round: int
    seals: tuple[bytes, ...]


def encode_extra_data(validators: Sequence[str]) -> bytes:
    """``RLP([32 bytes Vanity, List<Validators>, No Vote, Round=Int(0), 0 Seals])`` (Besu, "Extra data"), the
    validators as 20-byte addresses in the order given (:func:`generate_network` sorts them ascending, as Besu's
    documentation asks); round 0 is RLP's empty string (``0x80``)."""
    addresses = [bytes.fromhex(str(to_checksum_address(v))[2:]) for v in validators]
    if len(set(addresses)) != len(addresses):
        raise ValueError("a validator is listed twice")
    return bytes(rlp.encode([VANITY, addresses, [], b"", []]))


def decode_extra_data(extra_data: bytes) -> QbftExtraData:
    """Decode (and check the shape of) a QBFT genesis ``extraData``; ``ValueError`` when it is not one."""
    try:
        items = rlp.decode(extra_data)
    except rlp.exceptions.DecodingError as exc:
        raise ValueError(f"extraData is not RLP: {exc}") from None
    if not isinstance(items, list) or len(items) != 5:
        raise ValueError("QBFT extraData is a list of 5 items")
    vanity, validators, votes, round_bytes, seals = items
    if not isinstance(vanity, bytes) or len(vanity) != 32:
        raise ValueError("the vanity is 32 bytes")
    if not isinstance(validators, list) or not all(isinstance(v, bytes) and len(v) == 20 for v in validators):
        raise ValueError("the validators are a list of 20-byte addresses")
    if not isinstance(votes, list) or not isinstance(seals, list) or not isinstance(round_bytes, bytes):
        raise ValueError("votes and seals are lists, the round an integer")
    return QbftExtraData(
        vanity=vanity,
        validators=tuple(str(to_checksum_address(v)) for v in validators),
        votes=tuple(votes),
        round=int.from_bytes(round_bytes, "big"),
        seals=tuple(seals),
    )


@dataclass(frozen=True)
class QbftValidator:
    name: str
    address: str
    #: The node's secp256k1 public key, ``0x`` + 128 hex digits (its enode id).
    public_key: str
    host: str
    p2p_port: int
    rpc_port: int

    @property
    def enode(self) -> str:
        return f"enode://{self.public_key[2:]}@{self.host}:{self.p2p_port}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "enode": self.enode,
            "p2p": f"{self.host}:{self.p2p_port}",
            "rpc_url": f"http://{self.host}:{self.rpc_port}",
        }


@dataclass(frozen=True)
class QbftNetwork:
    """What :func:`generate_network` wrote (all public)."""

    directory: Path
    chain_id: int
    validators: tuple[QbftValidator, ...]
    extra_data: bytes
    block_period_seconds: int
    request_timeout_seconds: int
    epoch_length: int
    gas_limit: int
    deployer: str
    contracts: ContractAddresses
    members: GenesisMembers | None = None
    files: tuple[str, ...] = field(default=())

    @property
    def fault_tolerance(self) -> int:
        """Validators that may fail (stop or misbehave) with the network still making final blocks: QBFT needs more
        than two thirds to agree, so ``f = (n - 1) // 3``."""
        return (len(self.validators) - 1) // 3

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "consensus": "qbft",
            "block_period_seconds": self.block_period_seconds,
            "request_timeout_seconds": self.request_timeout_seconds,
            "epoch_length": self.epoch_length,
            "gas_limit": self.gas_limit,
            "gas_price": 0,
            "fault_tolerance": self.fault_tolerance,
            "validators": [validator.to_json() for validator in self.validators],
            "extra_data": "0x" + self.extra_data.hex(),
            "deployer": self.deployer,
            "contracts": self.contracts.to_json(),
            "genesis_members": self.members.to_json() if self.members else None,
            "directory": str(self.directory),
            "files": list(self.files),
        }


def _toml(value: Any) -> str:
    """A TOML value for the simple types of a Besu configuration (ASCII strings: JSON escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(_toml(item) for item in value) + "]"


def _write(path: Path, text: str, *, secret: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if secret else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _node_config(validator: QbftValidator, others: Sequence[QbftValidator], chain_id: int) -> str:
    settings: list[tuple[str, Any]] = [
        ("data-path", f"{validator.name}/data"),
        ("genesis-file", "genesis.json"),
        ("node-private-key-file", f"{validator.name}/key"),
        ("p2p-host", "0.0.0.0"),  # noqa: S104 - validators reach each other; the allowlist decides who may
        ("p2p-port", validator.p2p_port),
        ("bootnodes", [other.enode for other in others]),
        ("min-gas-price", 0),
        ("sync-mode", "FULL"),
        ("revert-reason-enabled", True),
        ("rpc-http-enabled", True),
        ("rpc-http-host", "127.0.0.1"),
        ("rpc-http-port", validator.rpc_port),
        ("rpc-http-api", list(RPC_APIS)),
        ("host-allowlist", ["localhost", "127.0.0.1"]),
        ("permissions-nodes-config-file-enabled", True),
        ("permissions-nodes-config-file", "permissions_config.toml"),
    ]
    header = (
        f"# Besu configuration of {validator.name} ({validator.address}) on govssi QBFT chain {chain_id}.\n"
        f"# Run from the network directory: besu --config-file={validator.name}/config.toml\n"
        "# JSON-RPC listens on loopback; expose it to govssi's services through your own TLS proxy.\n"
    )
    return header + "".join(f"{key}={_toml(value)}\n" for key, value in settings)


def _readme(network: QbftNetwork, passphrase_set: bool) -> str:
    first = network.validators[0]
    members = "--members members.json" if network.members else "--members <your members.json>"
    lines = [
        f"govssi QBFT network, chain {network.chain_id}: {len(network.validators)} validators "
        f"(tolerates {network.fault_tolerance} faulty), block period {network.block_period_seconds} s, zero gas price.",
        "",
        "1. Give each validator operator its directory validator-<n>/ (the key file is the validator's secret),",
        "   together with genesis.json and permissions_config.toml. Each runs:",
        "       besu --config-file=validator-<n>/config.toml",
        "2. Once blocks are made, deploy govssi's contracts once (any member, from this directory):",
        f"       govssi ledger deploy --rpc {first.to_json()['rpc_url']} --key deployer.jwk {members}",
        "   "
        + (
            "(deployer.jwk is encrypted: set GOVSSI_KEY_PASSPHRASE)"
            if passphrase_set
            else "(deployer.jwk is not encrypted: delete it after the deployment)"
        ),
        "   The deployer is new, so the contracts land at (see network.json):",
        f"       GOVSSI_DID_REGISTRY={network.contracts.did_registry}",
        f"       GOVSSI_TRUSTED_ISSUER_REGISTRY={network.contracts.trusted_issuer_registry}",
        f"       GOVSSI_STATUS_ANCHOR={network.contracts.status_anchor}",
        "       GOVSSI_CHAIN_RPC=<the validators' or RPC nodes' URLs, comma-separated>",
        "3. The deployment's output must name exactly these addresses; if not, the deployer key was used before.",
    ]
    return "\n".join(lines) + "\n"


def generate_network(
    directory: Path,
    *,
    chain_id: int,
    validators: int,
    hosts: Sequence[str] = (),
    p2p_port: int = 30303,
    rpc_port: int = 8545,
    block_period_seconds: int = 2,
    request_timeout_seconds: int | None = None,
    epoch_length: int = 30_000,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    timestamp: int = 0,
    members: GenesisMembers | None = None,
    passphrase: str | None = None,
    new_key: Callable[[], PrivateKey] = lambda: PrivateKey.generate("ES256K"),
) -> QbftNetwork:
    """Write a QBFT network's files into ``directory`` (created; it must not exist or be empty — keys are never
    overwritten) and return its public description.

    ``hosts``: one host for all validators (ports counted up from ``p2p_port`` / ``rpc_port``, a test bed on one
    machine — the default, 127.0.0.1) or one per validator (the same ports on each). ``request_timeout_seconds``
    defaults to twice the block period (Besu's tuning advice). ``new_key`` makes the validator and deployer keys.
    """
    if not 1 <= validators <= MAX_VALIDATORS:
        raise ValueError(f"a QBFT network here has 1 to {MAX_VALIDATORS} validators")
    if not 1 <= chain_id < 2**63:
        raise ValueError("the chain id is a positive 63-bit integer")
    if block_period_seconds < 1 or epoch_length < 1 or gas_limit < 5_000_000:
        raise ValueError("block period and epoch length are at least 1, the gas limit at least 5,000,000")
    timeout = 2 * block_period_seconds if request_timeout_seconds is None else request_timeout_seconds
    if timeout < 1:
        raise ValueError("the request timeout is at least 1 second")
    host_list = list(hosts) or ["127.0.0.1"]
    if len(host_list) not in (1, validators):
        raise ValueError("give one host for all validators or one per validator")
    if any(not host or any(c in host for c in " /@:\"'") for host in host_list):
        raise ValueError("a host is a DNS name or an IPv4 address")
    shared = len(host_list) == 1
    last_port = max(p2p_port, rpc_port) + (validators if shared else 0)
    if min(p2p_port, rpc_port) < 1 or last_port > 65535:
        raise ValueError("ports must lie in 1..65535")
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty; refusing to overwrite a network's keys")
    directory.mkdir(parents=True, exist_ok=True)

    keys = [new_key() for _ in range(validators)]
    nodes = []
    for index, key in enumerate(keys):
        public = key.public_key.raw_bytes(compressed=False)[1:]
        nodes.append(
            QbftValidator(
                name=f"validator-{index + 1}",
                address=ethereum_address(public),
                public_key="0x" + public.hex(),
                host=host_list[0] if shared else host_list[index],
                p2p_port=p2p_port + index if shared else p2p_port,
                rpc_port=rpc_port + index if shared else rpc_port,
            )
        )
    extra_data = encode_extra_data(sorted((node.address for node in nodes), key=lambda a: bytes.fromhex(a[2:])))
    genesis = {
        "config": {
            "chainId": chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "zeroBaseFee": True,
            "qbft": {
                "blockperiodseconds": block_period_seconds,
                "epochlength": epoch_length,
                "requesttimeoutseconds": timeout,
            },
        },
        "nonce": "0x0",
        "timestamp": hex(timestamp),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "alloc": {},
        "extraData": "0x" + extra_data.hex(),
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }
    files = ["genesis.json", "permissions_config.toml", "static-nodes.json", "deployer.jwk", "network.json"]
    _write(directory / "genesis.json", json.dumps(genesis, indent=2) + "\n")
    enodes = [node.enode for node in nodes]
    _write(directory / "permissions_config.toml", f"nodes-allowlist={_toml(enodes)}\n")
    _write(directory / "static-nodes.json", json.dumps(enodes, indent=2) + "\n")
    for key, node in zip(keys, nodes, strict=True):
        folder = directory / node.name
        folder.mkdir()
        crypto_key = key.crypto_key
        assert isinstance(crypto_key, ec.EllipticCurvePrivateKey)  # ES256K keys are EC keys
        secret = crypto_key.private_numbers().private_value.to_bytes(32, "big")
        _write(folder / "key", "0x" + secret.hex() + "\n", secret=True)
        _write(folder / "key.pub", node.public_key + "\n")
        _write(folder / "address", node.address + "\n")
        _write(folder / "config.toml", _node_config(node, [n for n in nodes if n is not node], chain_id))
        files += [f"{node.name}/{name}" for name in ("key", "key.pub", "address", "config.toml")]

    deployer_key = new_key()
    deployer = ethereum_address(deployer_key.public_key)
    write_key_file(directory / "deployer.jwk", deployer_key, passphrase=passphrase)
    if members is not None:
        _write(directory / "members.json", json.dumps(members.to_json(), indent=2) + "\n")
        files.append("members.json")
    contracts = ContractAddresses(*(contract_address(deployer, nonce) for nonce in range(3)))
    network = QbftNetwork(
        directory=directory,
        chain_id=chain_id,
        validators=tuple(nodes),
        extra_data=extra_data,
        block_period_seconds=block_period_seconds,
        request_timeout_seconds=timeout,
        epoch_length=epoch_length,
        gas_limit=gas_limit,
        deployer=deployer,
        contracts=contracts,
        members=members,
        files=tuple(sorted([*files, "README.txt"])),
    )
    _write(directory / "network.json", json.dumps(network.to_json(), indent=2) + "\n")
    _write(directory / "README.txt", _readme(network, passphrase is not None))
    return network
