"""Helpers for the local chain node tests: signed transactions from development keys, the registry's ABI."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_canonical_address
from eth_utils.crypto import keccak
from web3 import Web3

from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.node import LocalChain, dev_account_keys

ARTIFACT = load_artifact(DID_REGISTRY)
#: A key with no ether (zero-fee transactions still work: the chain's base fee is 0).
STRANGER = Account.from_key(keccak(b"govssi node test stranger"))


def dev(index: int = 0) -> LocalAccount:
    return Account.from_key(dev_account_keys()[index])


def signed(account: LocalAccount, chain_id: int = 1337, **fields: Any) -> bytes:
    """A dynamic-fee transaction with zero fees unless ``fields`` say otherwise."""
    transaction: dict[str, Any] = {
        "chainId": chain_id,
        "nonce": 0,
        "gas": 2_000_000,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "value": 0,
        "data": b"",
        **fields,
    }
    return bytes(account.sign_transaction(transaction).raw_transaction)


def abi_call(function: str, *args: Any) -> bytes:
    """The calldata of a registry function."""
    contract = Web3().eth.contract(abi=ARTIFACT.abi)
    return bytes.fromhex(contract.encode_abi(function, list(args))[2:])


def deploy_registry(chain: LocalChain, account: LocalAccount | None = None) -> bytes:
    """Deploy the registry on ``chain`` from ``account`` (dev 0); return its canonical address."""
    from eth._utils.address import generate_contract_address
    from eth_typing import Address

    account = account or dev(0)
    sender = to_canonical_address(account.address)
    nonce = chain.state(chain.block_number).get_nonce(Address(sender))
    chain.send_raw_transaction(signed(account, chain.chain_id, nonce=nonce, data=bytes.fromhex(ARTIFACT.bytecode[2:])))
    return bytes(generate_contract_address(Address(sender), nonce))


def set_attribute(
    chain: LocalChain, registry: bytes, account: LocalAccount, nonce: int, name: bytes, value: bytes
) -> bytes:
    data = abi_call("setAttribute", account.address, name.ljust(32, b"\0"), value, 86_400)
    return chain.send_raw_transaction(signed(account, chain.chain_id, nonce=nonce, to=registry, data=data, gas=200_000))
