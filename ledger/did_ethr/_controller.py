"""Changing a did:ethr: ERC-1056 calls made by the identity's owner (did:ethr method spec, "Update", "Delete").

"All state changes in ERC1056 require authorization from the current controller (owner) of the identity. Direct
transactions must originate from the owner address". :class:`EthrDidController` sends those direct transactions from
the owner's :class:`ledger.client.ChainSigner` (the key never leaves it); on govssi's zero-fee chains the owner needs
no ether.

Every transaction goes through :class:`ledger.client.ChainClient` (:meth:`~ledger.client.ChainClient.transact`):
failover over the chain's endpoints, nonce management for concurrent senders, idempotent delivery (a resent
transaction never applies twice) and the configured confirmation depth. :func:`send_transaction` is the same for raw
call data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.types import TxReceipt

from ledger.client import ChainClient, ChainSigner, SignerAccount, signer_of
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.did_ethr._identifier import ethr_did
from ledger.did_ethr._keys import key_attribute
from ledger.did_ethr._lifecycle import compromise_mark
from ledger.erc1056 import bytes32
from ssi.errors import ChainError
from ssi.keys import PublicKey

__all__ = ["DEFAULT_VALIDITY", "EthrDidController", "RegistryChange", "send_transaction"]

#: Seconds a published key or delegate stays valid unless told otherwise: one year.
DEFAULT_VALIDITY: Final = 365 * 24 * 3600
#: Compromise marks are final whatever their validTo; a century keeps them in every resolver's view as well.
MARK_VALIDITY: Final = 100 * DEFAULT_VALIDITY
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """A mined (and, with ``confirmations``, confirmed) registry transaction."""

    transaction_hash: str
    block_number: int

    @classmethod
    def from_receipt(cls, receipt: TxReceipt) -> RegistryChange:
        return cls(transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(), block_number=receipt["blockNumber"])


def _client(chain: ChainClient | Web3) -> ChainClient:
    return chain if isinstance(chain, ChainClient) else ChainClient.from_web3(chain)


def send_transaction(
    chain: ChainClient | Web3,
    sender: ChainSigner | SignerAccount,
    to: str,
    data: bytes,
    *,
    confirmations: int | None = None,
    timeout: float | None = 60.0,
) -> RegistryChange:
    """Sign ``data`` to ``to`` with ``sender`` and send it through the chain client; wait for status 1 and
    ``confirmations`` blocks on top (default: the client's policy; ``timeout`` bounds the wait, ``None``: the policy's).

    Raises ``TransactionFailed`` (an ``ExecutionReverted``: it would revert, or did), ``TransactionRejected`` (the
    node refused it), ``ChainUnavailable`` (no node answered; ``TransactionNotConfirmed`` when its fate is unknown in
    time — the attached raw bytes may be resent, they cannot apply twice).
    """
    client = _client(chain)
    signed = client.send(signer_of(sender), to=to, data=bytes(data))
    return RegistryChange.from_receipt(client.wait_for_receipt(signed, confirmations=confirmations, timeout=timeout))


class EthrDidController:
    """The owner's side of one did:ethr identity (ERC-1056 direct calls).

    ``chain`` is a :class:`ChainClient` (a :class:`Web3` is wrapped in one; share one client per process so its nonce
    management sees every transaction of the owner). ``owner`` is a :class:`ChainSigner` (or a
    :class:`~ledger.client.SignerAccount`). ``identity`` defaults to the owner's own address (a new did:ethr is
    controlled by itself). ``confirmations`` (default: the client's policy) and ``timeout`` (seconds) apply to every
    change.
    """

    def __init__(
        self,
        chain: ChainClient | Web3,
        registry: str,
        owner: ChainSigner | SignerAccount,
        *,
        identity: str | None = None,
        confirmations: int | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.client = _client(chain)
        self.w3 = self.client.w3
        self._registry: ChecksumAddress = to_checksum_address(registry)
        self.registry = str(self._registry)
        self.owner = signer_of(owner)
        self.identity = str(to_checksum_address(identity or self.owner.address))
        if confirmations is not None and confirmations < 0:
            raise ValueError("confirmations must be >= 0")
        self.confirmations = confirmations
        self.timeout = timeout
        self._contract = self.client.contract(self._registry, load_artifact(DID_REGISTRY))

    def did(self, chain_id: int | None = None) -> str:
        """The did:ethr of the identity on ``chain_id`` (default: the connected chain)."""
        return ethr_did(self.identity, self.client.chain_id if chain_id is None else chain_id)

    def _send(self, function: str, *args: Any) -> RegistryChange:
        call = self._contract.get_function_by_name(function)(self.identity, *args)
        receipt = self.client.transact(call, sender=self.owner, confirmations=self.confirmations, timeout=self.timeout)
        return RegistryChange.from_receipt(receipt)

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
