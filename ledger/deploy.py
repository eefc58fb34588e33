"""Deploying govssi's contracts to any Ethereum chain (``govssi ledger deploy``), through :mod:`ledger.client`.

The contracts, in this order from one sender (so their addresses follow from the sender and its nonce): the ERC-1056
DID registry, the cooperative's trusted-issuer registry (its genesis members and voting period are constructor
arguments, :class:`GenesisMembers`), and the status-list anchor (which names both). Each contract is created from its
committed artifact (``ledger/artifacts``) by :meth:`ChainClient.deploy`: signed by a
:class:`~ledger.client.ChainSigner` (no private key leaves it), sent over the client's endpoints with failover, nonce
management and idempotent delivery, and awaited to the configured confirmation depth. The deployment counts only when
its receipt has status 1 and the code at the new address is byte-for-byte the artifact's runtime code (the contracts
use no immutables, so that holds for every constructor argument). Every request has a timeout and the wait has a
deadline, so an unreachable or stalled node is an error (:class:`~ssi.errors.ChainUnavailable`), never a hang.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_address, to_checksum_address
from web3 import Web3

from ledger.client import ChainClient, ChainSigner, SignerAccount, signer_of
from ledger.client.rpc_errors import rpc_errors
from ledger.contracts import (
    DID_REGISTRY,
    STATUS_LIST_ANCHOR,
    TRUSTED_ISSUER_REGISTRY,
    ContractArtifact,
    load_artifact,
)
from ssi.errors import ChainError

__all__ = [
    "DEFAULT_VOTING_PERIOD",
    "Deployment",
    "GenesisMembers",
    "connect",
    "deploy_contract",
    "deploy_contracts",
]

#: Seconds a proposal of the trusted-issuer registry stays open (one week) unless the genesis file says otherwise.
DEFAULT_VOTING_PERIOD = 7 * 24 * 3600
MAX_GENESIS_MEMBERS = 256


@dataclass(frozen=True)
class Deployment:
    """Where govssi's contracts live on one chain."""

    chain_id: int
    did_registry: str
    trusted_issuer_registry: str
    status_anchor: str

    def to_json(self) -> dict[str, Any]:
        return {
            "did_registry": self.did_registry,
            "chain_id": self.chain_id,
            "trusted_issuer_registry": self.trusted_issuer_registry,
            "status_anchor": self.status_anchor,
        }


@dataclass(frozen=True)
class GenesisMembers:
    """The cooperative's founding members (the trusted-issuer registry's constructor arguments).

    As a file (``govssi ledger deploy --members FILE``): ``{"members": ["0x…", …], "voting_period": 604800}`` —
    one or more distinct member account addresses, and optionally the seconds a proposal stays open (at least 60;
    default :data:`DEFAULT_VOTING_PERIOD`). Addresses only: no names or other data about the members go on chain.
    """

    members: tuple[str, ...]
    voting_period: int = DEFAULT_VOTING_PERIOD

    def __post_init__(self) -> None:
        if not 1 <= len(self.members) <= MAX_GENESIS_MEMBERS:
            raise ValueError(f"the genesis members are 1 to {MAX_GENESIS_MEMBERS} addresses")
        if any(not is_address(member) for member in self.members):
            raise ValueError("every genesis member is an Ethereum address (0x and 40 hex digits)")
        if len({member.lower() for member in self.members}) != len(self.members):
            raise ValueError("a genesis member is listed twice")
        if any(int(member, 16) == 0 for member in self.members):
            raise ValueError("the zero address cannot be a member")
        if isinstance(self.voting_period, bool) or not 60 <= self.voting_period < 2**64:
            raise ValueError("voting_period is a number of seconds, at least 60")
        object.__setattr__(self, "members", tuple(str(to_checksum_address(m)) for m in self.members))

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> GenesisMembers:
        """From the file's JSON object; ``ValueError`` for anything else."""
        unknown = set(doc) - {"members", "voting_period"}
        if unknown:
            raise ValueError(f"unknown member(s) in the genesis members file: {', '.join(sorted(unknown))}")
        members = doc.get("members")
        if not isinstance(members, list) or not all(isinstance(member, str) for member in members):
            raise ValueError('"members" must be an array of addresses')
        period = doc.get("voting_period", DEFAULT_VOTING_PERIOD)
        if isinstance(period, bool) or not isinstance(period, int):
            raise ValueError('"voting_period" must be an integer number of seconds')
        return cls(tuple(members), period)

    def to_json(self) -> dict[str, Any]:
        return {"members": list(self.members), "voting_period": self.voting_period}


def connect(url: str, *, timeout: float = 10.0) -> Web3:
    """A plain web3 connection to one URL (every request times out after ``timeout`` seconds), checked to answer.

    For reading; :func:`deploy_contracts` given a :class:`Web3` sends through a :class:`ChainClient` for its URL.
    Several URLs with failover: ``ChainClient.connect("url1,url2")``.
    """
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None))
    with rpc_errors(url, "eth_chainId"):
        w3.eth.chain_id  # noqa: B018 - the first request proves a node is there
    return w3


def _client(chain: ChainClient | Web3) -> ChainClient:
    return chain if isinstance(chain, ChainClient) else ChainClient.from_web3(chain)


def deploy_contract(
    chain: ChainClient | Web3,
    sender: ChainSigner | SignerAccount,
    artifact: ContractArtifact,
    *args: Any,
    confirmations: int | None = None,
    timeout: float = 60.0,
) -> str:
    """Create ``artifact``'s contract (constructor ``args``) from ``sender``; return its checksummed address once
    confirmed and checked.

    ``chain`` is a :class:`ChainClient` (a :class:`Web3` is wrapped in one); ``confirmations`` defaults to the
    client's policy; ``timeout`` bounds the wait for the receipt.
    """
    client = _client(chain)
    contract, _ = client.deploy(artifact, *args, sender=signer_of(sender), confirmations=confirmations, timeout=timeout)
    address = str(contract.address)
    if client.code(address) != bytes.fromhex(artifact.deployed_bytecode[2:]):
        raise ChainError(
            f"the code at {address} is not {artifact.contract_name}'s runtime code", reason="code_mismatch"
        )
    return address


def deploy_contracts(
    chain: ChainClient | Web3,
    sender: ChainSigner | SignerAccount,
    *,
    members: GenesisMembers | Sequence[str] | None = None,
    confirmations: int | None = None,
    timeout: float = 60.0,
) -> Deployment:
    """Deploy every govssi contract and say where they are: the ERC-1056 DID registry, the trusted-issuer registry
    with ``members`` as its genesis members (default: the sender alone, with the default voting period — fine for a
    development chain, not for a cooperative) and the status-list anchor wired to both."""
    client = _client(chain)
    signer = signer_of(sender)
    if members is None:
        genesis = GenesisMembers((signer.address,))
    elif isinstance(members, GenesisMembers):
        genesis = members
    else:
        genesis = GenesisMembers(tuple(members))

    def deploy(name: str, *args: Any) -> str:
        artifact = load_artifact(name)
        return deploy_contract(client, signer, artifact, *args, confirmations=confirmations, timeout=timeout)

    did_registry = deploy(DID_REGISTRY)
    trusted_issuer_registry = deploy(TRUSTED_ISSUER_REGISTRY, list(genesis.members), genesis.voting_period)
    status_anchor = deploy(STATUS_LIST_ANCHOR, trusted_issuer_registry, did_registry)
    return Deployment(
        chain_id=client.chain_id,
        did_registry=did_registry,
        trusted_issuer_registry=trusted_issuer_registry,
        status_anchor=status_anchor,
    )
