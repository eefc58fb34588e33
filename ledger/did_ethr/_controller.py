"""Changing a did:ethr: ERC-1056 calls made by the identity's owner (did:ethr method spec, "Update", "Delete").

"All state changes in ERC1056 require authorization from the current controller (owner) of the identity. Direct
transactions must originate from the owner address". :class:`EthrDidController` sends those direct transactions from
the owner's :class:`ledger.accounts.ChainAccount`; on govssi's zero-fee chains the owner needs no ether.

Every transaction goes through :func:`send_transaction`, the one place that talks to the node for writing; it uses
web3 directly for now and is where ``ledger.client`` (failover, nonce management, confirmations) takes over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from ledger.accounts import ChainAccount
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.did_ethr._identifier import ethr_did
from ledger.did_ethr._keys import key_attribute
from ledger.did_ethr._lifecycle import compromise_mark
from ledger.did_ethr._registry import rpc_errors
from ledger.erc1056 import bytes32
from ssi.errors import ChainError, ChainUnavailable, ExecutionReverted, TransactionRejected
from ssi.keys import PublicKey

__all__ = ["DEFAULT_VALIDITY", "EthrDidController", "RegistryChange", "send_transaction"]

#: Seconds a published key or delegate stays valid unless told otherwise: one year.
DEFAULT_VALIDITY: Final = 365 * 24 * 3600
#: Compromise marks are final whatever their validTo; a century keeps them in every resolver's view as well.
MARK_VALIDITY: Final = 100 * DEFAULT_VALIDITY
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
#: Gas headroom over the node's estimate (estimates are exact minimums).
GAS_MARGIN: Final = 1.2


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """A mined registry transaction."""

    transaction_hash: str
    block_number: int


def send_transaction(
    w3: Web3, account: ChainAccount, to: str, data: bytes, *, timeout: float = 60.0, poll: float = 0.05
) -> RegistryChange:
    """Sign and send a call to ``to`` from ``account``; wait until it is mined with status 1.

    Raises ``TransactionRejected`` (the node refused it), ``ExecutionReverted`` (it would revert or did),
    ``ChainUnavailable`` (no node, or not mined within ``timeout``).
    """
    endpoint = str(getattr(w3.provider, "endpoint_uri", None) or type(w3.provider).__name__)
    deadline = time.monotonic() + timeout
    with rpc_errors(endpoint, "sending a registry transaction"):
        sender: ChecksumAddress = to_checksum_address(account.address)
        call: Any = {"from": sender, "to": to, "data": data, "value": 0}
        try:
            gas = int(w3.eth.estimate_gas(call))
        except ContractLogicError as exc:
            raise ExecutionReverted(f"the registry refused the change: {exc.message or 'reverted'}") from None
        transaction: dict[str, Any] = {
            "chainId": int(w3.eth.chain_id),
            "nonce": int(w3.eth.get_transaction_count(sender, "pending")),
            "to": to,
            "value": 0,
            "data": data,
            "gas": int(gas * GAS_MARGIN),
            **_fees(w3),
        }
        try:
            tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(transaction))
        except Web3RPCError as exc:
            raise TransactionRejected(f"the node refused the transaction: {exc.message}") from None
        receipt = None
        while receipt is None:
            try:
                receipt = w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                if time.monotonic() >= deadline:
                    raise ChainUnavailable(
                        f"transaction {tx_hash.to_0x_hex()} not mined within {timeout:g} s"
                    ) from None
                time.sleep(poll)
    if receipt["status"] != 1:
        raise ExecutionReverted(f"transaction {tx_hash.to_0x_hex()} reverted (receipt status 0)")
    return RegistryChange(transaction_hash=tx_hash.to_0x_hex(), block_number=int(receipt["blockNumber"]))


def _fees(w3: Web3) -> dict[str, int]:
    """EIP-1559 fees when the chain has a base fee (``2 * baseFee + tip``), else a legacy gas price."""
    base_fee = w3.eth.get_block("latest").get("baseFeePerGas")
    if base_fee is None:
        return {"gasPrice": int(w3.eth.gas_price)}
    tip = int(w3.eth.max_priority_fee) if int(base_fee) > 0 else 0
    return {"maxFeePerGas": 2 * int(base_fee) + tip, "maxPriorityFeePerGas": tip}


class EthrDidController:
    """The owner's side of one did:ethr identity (ERC-1056 direct calls).

    ``identity`` defaults to the owner's own address (a new did:ethr is controlled by itself).
    """

    def __init__(
        self, w3: Web3, registry: str, owner: ChainAccount, *, identity: str | None = None, timeout: float = 60.0
    ) -> None:
        self.w3 = w3
        self._registry: ChecksumAddress = to_checksum_address(registry)
        self.registry = str(self._registry)
        self.owner = owner
        self.identity = str(to_checksum_address(identity or owner.address))
        self.timeout = timeout
        self._contract = w3.eth.contract(address=self._registry, abi=load_artifact(DID_REGISTRY).abi)

    def did(self, chain_id: int | None = None) -> str:
        """The did:ethr of the identity on ``chain_id`` (default: the connected chain)."""
        if chain_id is None:
            endpoint = str(getattr(self.w3.provider, "endpoint_uri", None) or type(self.w3.provider).__name__)
            with rpc_errors(endpoint, "eth_chainId"):
                chain_id = int(self.w3.eth.chain_id)
        return ethr_did(self.identity, chain_id)

    def _send(self, function: str, *args: Any) -> RegistryChange:
        data = bytes.fromhex(self._contract.encode_abi(function, [self.identity, *args])[2:])
        return send_transaction(self.w3, self.owner, self.registry, data, timeout=self.timeout)

    # -- ERC-1056 ------------------------------------------------------------------------------------------------------

    def set_attribute(self, name: str, value: bytes, validity: int = DEFAULT_VALIDITY) -> RegistryChange:
        """``setAttribute``: "Sets an attribute with the given name and value, valid for validity seconds"."""
        return self._send("setAttribute", bytes32(name), bytes(value), _validity(validity))

    def revoke_attribute(self, name: str, value: bytes) -> RegistryChange:
        """``revokeAttribute``: the attribute ``name`` = ``value`` leaves the document."""
        return self._send("revokeAttribute", bytes32(name), bytes(value))

    def add_delegate(self, delegate_type: str, delegate: str, validity: int = DEFAULT_VALIDITY) -> RegistryChange:
        """``addDelegate`` (``veriKey``: assertionMethod, ``sigAuth``: authentication too)."""
        return self._send("addDelegate", bytes32(delegate_type), to_checksum_address(delegate), _validity(validity))

    def revoke_delegate(self, delegate_type: str, delegate: str) -> RegistryChange:
        return self._send("revokeDelegate", bytes32(delegate_type), to_checksum_address(delegate))

    def change_owner(self, new_owner: str) -> RegistryChange:
        """``changeOwner``: another address controls the identity from now on."""
        return self._send("changeOwner", to_checksum_address(new_owner))

    def deactivate(self) -> RegistryChange:
        """ "Delete (Revoke)": the owner becomes 0x0; final, and every key and signature of the DID is revoked."""
        return self.change_owner(ZERO_ADDRESS)

    # -- keys ----------------------------------------------------------------------------------------------------------

    def publish_key(
        self, key: PublicKey, *, purpose: str = "veriKey", validity: int = DEFAULT_VALIDITY
    ) -> RegistryChange:
        """Publish a public key as a ``did/pub`` attribute (:func:`ledger.did_ethr.key_attribute`)."""
        name, value = key_attribute(key, purpose)
        return self.set_attribute(name, value, validity)

    def revoke_key(self, key: PublicKey, *, purpose: str = "veriKey") -> RegistryChange:
        """Routine rotation: the key leaves the document; what it signed before stays verifiable until it expires."""
        name, value = key_attribute(key, purpose)
        return self.revoke_attribute(name, value)

    def mark_compromised(self, key: PublicKey, *, purpose: str | None = "veriKey") -> RegistryChange:
        """Mark ``key`` compromised (final; see :mod:`ledger.did_ethr._lifecycle`), then revoke its ``did/pub``
        attribute for ``purpose`` (``None``: the key was not published as an attribute, e.g. a ``#controllerKey``).

        The mark goes first, so there is no moment in which the key is revoked but not yet marked.
        """
        name, value = compromise_mark(key)
        change = self.set_attribute(name, value, MARK_VALIDITY)
        if purpose is not None:
            try:
                change = self.revoke_key(key, purpose=purpose)
            except ChainError as exc:  # pragma: no cover - the mark stands; report the failed revocation
                raise ChainError(f"the key is marked compromised but its revocation failed: {exc.description}") from exc
        return change


def _validity(validity: int) -> int:
    if isinstance(validity, bool) or not isinstance(validity, int) or not 0 <= validity < 2**64:
        raise ValueError("validity is a number of seconds (0 .. 2**64)")
    return validity
