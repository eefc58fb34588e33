"""Deploying govssi's contracts to any Ethereum chain (``govssi ledger deploy``), through :mod:`ledger.client`.

Each contract is created from its committed artifact (``ledger/artifacts``) by :meth:`ChainClient.deploy`: signed by
a :class:`~ledger.client.ChainSigner` (no private key leaves it), sent over the client's endpoints with failover,
nonce management and idempotent delivery, and awaited to the configured confirmation depth. The deployment counts only
when its receipt has status 1 and the code at the new address is byte-for-byte the artifact's runtime code. Every
request has a timeout and the wait has a deadline, so an unreachable or stalled node is an error
(:class:`~ssi.errors.ChainUnavailable`), never a hang.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from ledger.client import ChainClient, ChainSigner, SignerAccount, signer_of
from ledger.client.rpc_errors import rpc_errors
from ledger.contracts import DID_REGISTRY, ContractArtifact, load_artifact
from ssi.errors import ChainError

__all__ = ["Deployment", "connect", "deploy_contract", "deploy_contracts"]


@dataclass(frozen=True)
class Deployment:
    """Where govssi's contracts live on one chain."""

    chain_id: int
    did_registry: str

    def to_json(self) -> dict[str, Any]:
        return {"did_registry": self.did_registry, "chain_id": self.chain_id}


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
    *,
    confirmations: int | None = None,
    timeout: float = 60.0,
) -> str:
    """Create ``artifact``'s contract from ``sender``; return its checksummed address once confirmed and checked.

    ``chain`` is a :class:`ChainClient` (a :class:`Web3` is wrapped in one); ``confirmations`` defaults to the
    client's policy; ``timeout`` bounds the wait for the receipt.
    """
    client = _client(chain)
    contract, _ = client.deploy(artifact, sender=signer_of(sender), confirmations=confirmations, timeout=timeout)
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
    confirmations: int | None = None,
    timeout: float = 60.0,
) -> Deployment:
    """Deploy every govssi contract (so far the ERC-1056 DID registry) and say where they are."""
    client = _client(chain)
    registry = deploy_contract(
        client, sender, load_artifact(DID_REGISTRY), confirmations=confirmations, timeout=timeout
    )
    return Deployment(chain_id=client.chain_id, did_registry=registry)
