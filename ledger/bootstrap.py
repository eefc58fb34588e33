"""The development deployment: govssi's contracts at fixed addresses, with a demo cooperative, on any local chain.

``govssi ledger node --bootstrap`` calls :func:`bootstrap_development_chain` on first start: the fixed development
deployer (:data:`DEV_DEPLOYER_ADDRESS`) deploys the DID registry, the trusted-issuer registry and the status-list anchor
with its first three transactions (nonces 0, 1, 2), so the contracts land at :data:`DEV_ADDRESSES` on every chain —
an address created by ``CREATE`` depends only on the sender and its nonce (Yellow Paper §7). The trusted-issuer
registry starts with the demo cooperative's three members (:func:`dev_member_signers`; quorum 2), whose keys are
written into the node's data directory (``cooperative/member-<n>.jwk``) for ``govssi ledger vote --key-file`` and
friends; ``govssi ledger dev-accredit`` has them vote.

DEVELOPMENT ONLY: the deployer's and the members' private keys are derived from published strings, so anybody can
act as them. Never use them, or these addresses, on a network with real value or real decisions.

Services find the contracts through :func:`addresses_from_env`: ``GOVSSI_DID_REGISTRY``,
``GOVSSI_TRUSTED_ISSUER_REGISTRY`` and ``GOVSSI_STATUS_ANCHOR``, each defaulting to :data:`DEV_ADDRESSES`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import rlp  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import ec
from eth_utils.address import is_address, to_canonical_address, to_checksum_address
from eth_utils.crypto import keccak

from ledger.client import ChainClient, SoftwareChainSigner
from ledger.contracts import DID_REGISTRY, STATUS_LIST_ANCHOR, TRUSTED_ISSUER_REGISTRY, load_artifact
from ledger.deploy import DEFAULT_VOTING_PERIOD, GenesisMembers, deploy_contracts
from ssi.errors import ChainError
from ssi.keys import PrivateKey, load_private_key, write_key_file

__all__ = [
    "DEVELOPMENT_CHAIN_IDS",
    "DEV_ADDRESSES",
    "DEV_DEPLOYER_ADDRESS",
    "DEV_MEMBER_COUNT",
    "DID_REGISTRY_ENV",
    "MEMBERS_DIR",
    "STATUS_ANCHOR_ENV",
    "TRUSTED_ISSUER_REGISTRY_ENV",
    "BootstrapResult",
    "ContractAddresses",
    "addresses_from_env",
    "bootstrap_development_chain",
    "contract_address",
    "dev_deployer",
    "dev_member_signers",
    "is_development_chain",
    "load_member_signers",
]

#: Chain ids of local development chains: 1337 (govssi ledger node, geth --dev, Ganache), 31337 (Hardhat, anvil),
#: 2018 (Besu's dev network). ``govssi ledger dev-accredit`` refuses other chains unless forced.
DEVELOPMENT_CHAIN_IDS: Final = frozenset({1337, 31337, 2018})

DID_REGISTRY_ENV: Final = "GOVSSI_DID_REGISTRY"
TRUSTED_ISSUER_REGISTRY_ENV: Final = "GOVSSI_TRUSTED_ISSUER_REGISTRY"
STATUS_ANCHOR_ENV: Final = "GOVSSI_STATUS_ANCHOR"

DEV_MEMBER_COUNT: Final = 3
#: Under the node's data directory: the demo members' key files and ``cooperative.json``.
MEMBERS_DIR: Final = "cooperative"
_DEPLOYER_SEED: Final = b"govssi development deployer (public, development only)"
_MEMBER_SEED: Final = "govssi development cooperative member {} (public, development only)"


def _secret_key(seed: bytes) -> PrivateKey:
    return PrivateKey(ec.derive_private_key(int.from_bytes(keccak(seed), "big"), ec.SECP256K1()))


def dev_deployer() -> SoftwareChainSigner:
    """The fixed development deployer (its key is derived from a published string: development only)."""
    return SoftwareChainSigner(_secret_key(_DEPLOYER_SEED))


def _member_keys() -> tuple[PrivateKey, ...]:
    return tuple(_secret_key(_MEMBER_SEED.format(n).encode()) for n in range(1, DEV_MEMBER_COUNT + 1))


def dev_member_signers() -> tuple[SoftwareChainSigner, ...]:
    """The demo cooperative's members (keys derived from published strings: development only)."""
    return tuple(SoftwareChainSigner(key) for key in _member_keys())


def contract_address(sender: str, nonce: int) -> str:
    """Where ``CREATE`` from ``sender`` with ``nonce`` puts a contract: the last 20 bytes of
    ``keccak256(rlp([sender, nonce]))`` (Yellow Paper §7, eq. 86)."""
    return str(to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:]))


@dataclass(frozen=True)
class ContractAddresses:
    """Where a service finds govssi's contracts."""

    did_registry: str
    trusted_issuer_registry: str
    status_anchor: str

    def to_json(self) -> dict[str, str]:
        return {
            "did_registry": self.did_registry,
            "trusted_issuer_registry": self.trusted_issuer_registry,
            "status_anchor": self.status_anchor,
        }


DEV_DEPLOYER_ADDRESS: Final = dev_deployer().address
#: The development deployment's addresses (the deployer's nonces 0, 1, 2), the same on every chain.
DEV_ADDRESSES: Final = ContractAddresses(
    did_registry=contract_address(DEV_DEPLOYER_ADDRESS, 0),
    trusted_issuer_registry=contract_address(DEV_DEPLOYER_ADDRESS, 1),
    status_anchor=contract_address(DEV_DEPLOYER_ADDRESS, 2),
)


def addresses_from_env(environ: Mapping[str, str] | None = None) -> ContractAddresses:
    """The contracts' addresses a service should use: ``GOVSSI_DID_REGISTRY``, ``GOVSSI_TRUSTED_ISSUER_REGISTRY``,
    ``GOVSSI_STATUS_ANCHOR`` from ``environ`` (default ``os.environ``), each defaulting to :data:`DEV_ADDRESSES`.
    A value that is not an address is a :class:`~ssi.errors.ChainError` (``bad_contract_address``)."""
    env = os.environ if environ is None else environ

    def pick(name: str, default: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            return default
        if not is_address(value):
            raise ChainError(f"{name} is not an Ethereum address", reason="bad_contract_address")
        return str(to_checksum_address(value))

    return ContractAddresses(
        did_registry=pick(DID_REGISTRY_ENV, DEV_ADDRESSES.did_registry),
        trusted_issuer_registry=pick(TRUSTED_ISSUER_REGISTRY_ENV, DEV_ADDRESSES.trusted_issuer_registry),
        status_anchor=pick(STATUS_ANCHOR_ENV, DEV_ADDRESSES.status_anchor),
    )


def is_development_chain(chain_id: int) -> bool:
    return chain_id in DEVELOPMENT_CHAIN_IDS


@dataclass(frozen=True)
class BootstrapResult:
    chain_id: int
    addresses: ContractAddresses
    members: tuple[str, ...]
    #: True when this call deployed the contracts (false: they were there already).
    deployed: bool
    #: Where the members' key files are (``None`` when no directory was given).
    members_dir: Path | None

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "contracts": self.addresses.to_json(),
            "members": list(self.members),
            "deployed": self.deployed,
            "members_dir": str(self.members_dir) if self.members_dir else None,
        }


def _deployed(client: ChainClient) -> bool | None:
    """True when all three contracts are at :data:`DEV_ADDRESSES` with their artifacts' code, False when none is
    there, ``None`` when something else is."""
    expected = {
        DEV_ADDRESSES.did_registry: DID_REGISTRY,
        DEV_ADDRESSES.trusted_issuer_registry: TRUSTED_ISSUER_REGISTRY,
        DEV_ADDRESSES.status_anchor: STATUS_LIST_ANCHOR,
    }
    codes = {address: client.code(address) for address in expected}
    if not any(codes.values()):
        return False
    if all(codes[a] == bytes.fromhex(load_artifact(name).deployed_bytecode[2:]) for a, name in expected.items()):
        return True
    return None


def bootstrap_development_chain(
    client: ChainClient, data_dir: Path | None = None, *, voting_period: int = DEFAULT_VOTING_PERIOD
) -> BootstrapResult:
    """Deploy the development contracts with the demo cooperative unless they are there already (idempotent), and
    write the members' key files under ``data_dir/cooperative`` (mode 0600; existing files are kept).

    Refuses (``bootstrap_conflict``) when the addresses hold other code, or the deployer has sent transactions but the
    contracts are missing: the fixed addresses could not be honoured."""
    members = tuple(signer.address for signer in dev_member_signers())
    state = _deployed(client)
    if state is None:
        raise ChainError(
            "the development contract addresses hold other code on this chain", reason="bootstrap_conflict"
        )
    deployed = False
    if not state:
        deployer = dev_deployer()
        if client.transaction_count(deployer.address) != 0:
            raise ChainError(
                f"the development deployer {deployer.address} has sent transactions here, but the development "
                "contracts are missing: their fixed addresses cannot be reached",
                reason="bootstrap_conflict",
            )
        deployment = deploy_contracts(client, deployer, members=GenesisMembers(members, voting_period))
        got = ContractAddresses(deployment.did_registry, deployment.trusted_issuer_registry, deployment.status_anchor)
        if got != DEV_ADDRESSES:  # cannot happen with nonces 0, 1, 2 — but never report addresses we did not get
            raise ChainError(f"the contracts landed at {got}, not {DEV_ADDRESSES}", reason="bootstrap_conflict")
        deployed = True
    members_dir = _write_members(data_dir) if data_dir is not None else None
    return BootstrapResult(client.chain_id, DEV_ADDRESSES, members, deployed, members_dir)


def _write_members(data_dir: Path) -> Path:
    directory = data_dir / MEMBERS_DIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    entries = []
    for number, key in enumerate(_member_keys(), start=1):
        path = directory / f"member-{number}.jwk"
        if not path.exists():
            write_key_file(path, key)
        entries.append({"address": SoftwareChainSigner(key).address, "key_file": path.name})
    summary = {
        "warning": "development only: these keys are derived from published strings",
        "contracts": DEV_ADDRESSES.to_json(),
        "members": entries,
    }
    (directory / "cooperative.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return directory


def load_member_signers(members_dir: Path) -> list[SoftwareChainSigner]:
    """The member key files (``member-<n>.jwk``) in ``members_dir``, in order."""
    paths = sorted(members_dir.glob("member-*.jwk"), key=lambda p: (len(p.name), p.name))
    return [SoftwareChainSigner(load_private_key(path)) for path in paths]
