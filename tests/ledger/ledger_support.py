"""Helpers for the ledger tests: an in-process chain (eth-tester on py-evm) with the ERC-1056 registry deployed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from eth_keys.datatypes import PrivateKey
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, ContractPanicError
from web3.logs import DISCARD

from ledger.contracts import DID_REGISTRY, load_artifact

#: Gas for transactions that are expected to revert (sent without estimation so they are mined with status 0).
REVERT_GAS = 500_000


@dataclass
class RegistryChain:
    w3: Web3
    tester: EthereumTester
    registry: Contract
    accounts: list[str]
    _keys: int = field(default=0)

    @property
    def address(self) -> str:
        return str(self.registry.address)

    def send(self, call: Any, sender: str) -> Any:
        """Send ``call`` from ``sender`` and return its receipt; it must succeed."""
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
        assert receipt["status"] == 1
        return receipt

    def revert_reason(self, call: Any, sender: str) -> str:
        """Assert that ``call`` reverts for ``sender``: as a call (returning the reason) and as a mined transaction
        (status 0, no events)."""
        with pytest.raises((ContractLogicError, ContractPanicError, TransactionFailed)) as raised:
            call.call({"from": sender})
        tx = call.transact({"from": sender, "gas": REVERT_GAS})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 0
        assert receipt["logs"] == []
        return str(raised.value)

    def key(self) -> PrivateKey:
        """A new deterministic secp256k1 key whose address holds no ether (an identity that only signs)."""
        self._keys += 1
        return PrivateKey(keccak(f"govssi ledger test key {self._keys}".encode()))

    def timestamp(self, block_number: int) -> int:
        return int(self.w3.eth.get_block(block_number)["timestamp"])

    def changed(self, identity: str) -> int:
        return int(self.registry.functions.changed(identity).call())

    def owner_nonce(self, identity: str) -> int:
        owner = self.registry.functions.identityOwner(identity).call()
        return int(self.registry.functions.nonce(owner).call())

    def events(self, receipt: Any) -> list[tuple[str, dict[str, Any]]]:
        """The registry events in ``receipt`` as (event name, args)."""
        decoded = []
        for name in ("DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged"):
            event = getattr(self.registry.events, name)()
            decoded += [
                (log["logIndex"], name, dict(log["args"])) for log in event.process_receipt(receipt, errors=DISCARD)
            ]
        return [(name, args) for _, name, args in sorted(decoded, key=lambda entry: entry[0])]


def sign(key: PrivateKey, digest: bytes) -> tuple[int, bytes, bytes]:
    """ERC-1056 raw signature (v in {27, 28}, r, s) of ``digest``, as did:ethr controllers produce it."""
    signature = key.sign_msg_hash(digest)
    return signature.v + 27, signature.r.to_bytes(32, "big"), signature.s.to_bytes(32, "big")


def address_of(key: PrivateKey) -> str:
    return str(key.public_key.to_checksum_address())


def deploy_registry() -> RegistryChain:
    """A fresh chain with the committed ``EthereumDIDRegistry`` artifact deployed by account 0."""
    provider = EthereumTesterProvider()
    w3 = Web3(provider)
    accounts = [str(account) for account in w3.eth.accounts]
    artifact = load_artifact(DID_REGISTRY)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": accounts[0]}))
    registry = cast(Contract, w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi))
    return RegistryChain(w3=w3, tester=provider.ethereum_tester, registry=registry, accounts=accounts)
