"""Deploying govssi's contracts to any Ethereum JSON-RPC endpoint (``govssi ledger deploy``).

Each contract is created from its committed artifact (``ledger/artifacts``) by a signed ``eth_sendRawTransaction``;
the deployment counts only when its receipt has status 1 and the code at the new address is byte-for-byte the
artifact's runtime code. Every request has a timeout, and waiting for receipts has a deadline, so an unreachable or
stalled node is an error (:class:`~ssi.errors.ChainUnavailable`), never a hang.

The connection here is deliberately minimal (one URL, no failover); ``ledger.client`` is where failover, nonce
management and confirmation depth belong.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception, Web3RPCError

from ledger.accounts import ChainAccount
from ledger.contracts import DID_REGISTRY, ContractArtifact, load_artifact
from ssi.errors import ChainError, ChainUnavailable, ExecutionReverted, TransactionRejected

__all__ = ["Deployment", "connect", "deploy_contract", "deploy_contracts"]

#: Gas headroom over the node's estimate (estimates are exact minimums; state may move between estimate and mining).
GAS_MARGIN = 1.2


@dataclass(frozen=True)
class Deployment:
    """Where govssi's contracts live on one chain."""

    chain_id: int
    did_registry: str

    def to_json(self) -> dict[str, Any]:
        return {"did_registry": self.did_registry, "chain_id": self.chain_id}


@contextlib.contextmanager
def _rpc(url: str, action: str) -> Iterator[None]:
    """Map transport and JSON-RPC failures to our errors."""
    try:
        yield
    except (requests.ConnectionError, requests.Timeout) as exc:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "refused or failed"
        raise ChainUnavailable(f"no chain node answered at {url} ({action}: connection {kind})") from None
    except requests.RequestException as exc:
        raise ChainUnavailable(f"no chain node answered at {url} ({action}: {type(exc).__name__})") from None
    except ContractLogicError as exc:
        raise ExecutionReverted(f"{action}: {exc.message or 'execution reverted'}") from None
    except Web3RPCError as exc:
        raise ChainError(f"{action}: the node answered with an error: {exc.message}", reason="rpc_error") from None
    except (Web3Exception, ValueError) as exc:
        # A non-JSON answer (not an Ethereum node) or a malformed result.
        raise ChainUnavailable(f"{url} did not answer as an Ethereum JSON-RPC node ({action}: {exc})") from None


def connect(url: str, *, timeout: float = 10.0) -> Web3:
    """A web3 connection to ``url`` whose every request times out after ``timeout`` seconds; checks the node answers."""
    # No retries here: a deploy either reaches the node within the timeout or reports that it did not.
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None))
    with _rpc(url, "eth_chainId"):
        w3.eth.chain_id  # noqa: B018 - the first request proves a node is there
    return w3


def _fees(w3: Web3) -> dict[str, int]:
    """EIP-1559 fees when the chain has a base fee (``2 * baseFee + tip``, as web3/ethers do), else a gas price."""
    latest = w3.eth.get_block("latest")
    base_fee = latest.get("baseFeePerGas")
    if base_fee is None:
        return {"gasPrice": int(w3.eth.gas_price)}
    tip = int(w3.eth.max_priority_fee)
    return {"maxFeePerGas": 2 * int(base_fee) + tip, "maxPriorityFeePerGas": tip}


def deploy_contract(
    w3: Web3, account: ChainAccount, artifact: ContractArtifact, *, timeout: float = 60.0, poll: float = 0.2
) -> str:
    """Create ``artifact``'s contract from ``account``; return its checksummed address once mined and checked."""
    url = str(getattr(w3.provider, "endpoint_uri", "the node"))
    deadline = time.monotonic() + timeout
    with _rpc(url, f"deploying {artifact.contract_name}"):
        chain_id = int(w3.eth.chain_id)
        nonce = int(w3.eth.get_transaction_count(to_checksum_address(account.address), "pending"))
        transaction: dict[str, Any] = {
            "chainId": chain_id,
            "nonce": nonce,
            "value": 0,
            "data": artifact.bytecode,
            **_fees(w3),
        }
        call: Any = {"from": account.address, "data": artifact.bytecode, "value": 0}
        estimate = int(w3.eth.estimate_gas(call))
        transaction["gas"] = int(estimate * GAS_MARGIN)
        raw = account.sign_transaction(transaction)
        try:
            tx_hash = w3.eth.send_raw_transaction(raw)
        except Web3RPCError as exc:
            raise TransactionRejected(f"the node refused the deployment: {exc.message}") from None
        receipt = None
        while receipt is None:
            try:
                receipt = w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                receipt = None
            if receipt is None:
                if time.monotonic() >= deadline:
                    raise ChainUnavailable(
                        f"{artifact.contract_name} deployment {tx_hash.to_0x_hex()} not mined within {timeout:g} s"
                    )
                time.sleep(poll)
        if receipt["status"] != 1:
            raise ChainError(
                f"{artifact.contract_name} deployment {tx_hash.to_0x_hex()} failed (receipt status 0)",
                reason="transaction_failed",
            )
        created = receipt.get("contractAddress")
        if created is None:
            raise ChainError(f"{artifact.contract_name} deployment has no contract address", reason="no_contract")
        address = to_checksum_address(created)
        code = bytes(w3.eth.get_code(address))
    if code != bytes.fromhex(artifact.deployed_bytecode[2:]):
        raise ChainError(
            f"the code at {address} is not {artifact.contract_name}'s runtime code", reason="code_mismatch"
        )
    return str(address)


def deploy_contracts(w3: Web3, account: ChainAccount, *, timeout: float = 60.0) -> Deployment:
    """Deploy every govssi contract (so far the ERC-1056 DID registry) and say where they are."""
    with _rpc(str(getattr(w3.provider, "endpoint_uri", "the node")), "eth_chainId"):
        chain_id = int(w3.eth.chain_id)
    registry = deploy_contract(w3, account, load_artifact(DID_REGISTRY), timeout=timeout)
    return Deployment(chain_id=chain_id, did_registry=registry)
