"""Ethereum JSON-RPC value encodings (execution-apis schemas): quantities, data, block selectors, and the objects
the node returns (blocks, transactions, receipts, logs).

Encoding rules enforced on input (execution-apis ``base-types``):
- a QUANTITY is ``0x`` followed by hex digits without leading zeros (``0x0`` for zero): ``^0x(0|[1-9a-f][0-9a-f]*)$``;
- DATA is ``0x`` followed by an even number of hex digits; addresses are 20 bytes, hashes 32;
- a block is a tag (``earliest``, ``latest``, ``safe``, ``finalized``, ``pending``), a QUANTITY, or an EIP-1898 object
  ``{"blockNumber": …}`` / ``{"blockHash": …, "requireCanonical": …}``.
Anything else is a JSON-RPC ``-32602 invalid params`` error, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import rlp  # type: ignore[import-untyped]
from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, ReceiptAPI, SignedTransactionAPI
from eth_typing import Address

from ledger.node.chain import IndexedLog

__all__ = [
    "BLOCK_TAGS",
    "BlockSelector",
    "RpcError",
    "address",
    "block_selector",
    "boolean",
    "data",
    "encode_block",
    "encode_data",
    "encode_log",
    "encode_quantity",
    "encode_receipt",
    "encode_transaction",
    "hash32",
    "quantity",
]

#: JSON-RPC 2.0 §5.1 error codes, plus the Ethereum conventions (EIP-1474; code 3 for reverts as geth answers).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
LIMIT_EXCEEDED = -32005
EXECUTION_REVERTED = 3

BLOCK_TAGS = ("earliest", "latest", "safe", "finalized", "pending")
_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]*)")
_DATA = re.compile(r"0x([0-9a-fA-F]{2})*")


class RpcError(Exception):
    """A JSON-RPC error object (JSON-RPC 2.0 §5.1): ``code``, ``message``, optional ``data``."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"invalid params: {message}")


# -- decoding -------------------------------------------------------------------------------------------------------


def quantity(value: Any, name: str = "quantity", *, maximum: int = 2**256 - 1) -> int:
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
        raise invalid_params(f"{name} must be a hex quantity without leading zeros, e.g. 0x1a")
    number = int(value, 16)
    if number > maximum:
        raise invalid_params(f"{name} is too large")
    return number


def data(value: Any, name: str = "data", *, size: int | None = None, max_size: int = 4 * 1024 * 1024) -> bytes:
    if not isinstance(value, str) or len(value) > 2 + 2 * max_size or not _DATA.fullmatch(value):
        raise invalid_params(f"{name} must be 0x-prefixed hex with an even number of digits")
    raw = bytes.fromhex(value[2:])
    if size is not None and len(raw) != size:
        raise invalid_params(f"{name} must be {size} bytes")
    return raw


def address(value: Any, name: str = "address") -> bytes:
    return data(value, name, size=20)


def hash32(value: Any, name: str = "hash") -> bytes:
    return data(value, name, size=32)


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise invalid_params(f"{name} must be true or false")
    return value


@dataclass(frozen=True)
class BlockSelector:
    """A block named by tag, number, or hash (EIP-1898)."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None
    require_canonical: bool = False


LATEST = BlockSelector(tag="latest")


def block_selector(value: Any, name: str = "block", *, allow_hash: bool = True) -> BlockSelector:
    if isinstance(value, str):
        if value in BLOCK_TAGS:
            return BlockSelector(tag=value)
        return BlockSelector(number=quantity(value, name, maximum=2**63 - 1))
    if allow_hash and isinstance(value, dict):
        if set(value) == {"blockNumber"}:
            return BlockSelector(number=quantity(value["blockNumber"], f"{name}.blockNumber", maximum=2**63 - 1))
        if "blockHash" in value and set(value) <= {"blockHash", "requireCanonical"}:
            canonical = boolean(value.get("requireCanonical", False), f"{name}.requireCanonical")
            return BlockSelector(hash=hash32(value["blockHash"], f"{name}.blockHash"), require_canonical=canonical)
    raise invalid_params(
        f"{name} must be a block tag ({', '.join(BLOCK_TAGS)}), a hex block number or an EIP-1898 object"
    )


# -- encoding -------------------------------------------------------------------------------------------------------


def encode_quantity(value: int) -> str:
    return hex(value)


def encode_data(value: bytes) -> str:
    return "0x" + value.hex()


def _address_or_null(value: bytes) -> str | None:
    return encode_data(value) if value else None


def encode_log(log: IndexedLog) -> dict[str, Any]:
    return {
        "address": encode_data(log.address),
        "topics": [encode_data(topic) for topic in log.topics],
        "data": encode_data(log.data),
        "blockNumber": encode_quantity(log.block_number),
        "blockHash": encode_data(log.block_hash),
        "transactionHash": encode_data(log.transaction_hash),
        "transactionIndex": encode_quantity(log.transaction_index),
        "logIndex": encode_quantity(log.log_index),
        "blockTimestamp": encode_quantity(log.block_timestamp),
        "removed": False,
    }


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    """EIP-1559: ``min(maxFeePerGas, baseFee + maxPriorityFeePerGas)``; ``gasPrice`` for older types."""
    if tx.type_id == 2:
        return min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)
    return tx.gas_price


def encode_transaction(
    tx: SignedTransactionAPI, sender: bytes, block: BlockAPI | None = None, index: int | None = None
) -> dict[str, Any]:
    """A transaction object (execution-apis ``TransactionInfo``): signed fields plus where it was mined."""
    base_fee = int(getattr(block.header, "base_fee_per_gas", 0) or 0) if block is not None else 0
    encoded: dict[str, Any] = {
        "type": encode_quantity(tx.type_id or 0),
        "hash": encode_data(tx.hash),
        "nonce": encode_quantity(tx.nonce),
        "blockHash": encode_data(block.hash) if block is not None else None,
        "blockNumber": encode_quantity(block.number) if block is not None else None,
        "transactionIndex": encode_quantity(index) if index is not None else None,
        "from": encode_data(sender),
        "to": _address_or_null(tx.to),
        "value": encode_quantity(tx.value),
        "gas": encode_quantity(tx.gas),
        "gasPrice": encode_quantity(effective_gas_price(tx, base_fee)),
        "input": encode_data(tx.data),
        "r": encode_quantity(tx.r),
        "s": encode_quantity(tx.s),
    }
    if tx.type_id is None:
        encoded["v"] = encode_quantity(getattr(tx, "v"))  # noqa: B009 - legacy transactions only
        if tx.v not in (27, 28):  # type: ignore[attr-defined]
            encoded["chainId"] = encode_quantity((tx.v - 35) // 2)  # type: ignore[attr-defined]
        return encoded
    encoded["chainId"] = encode_quantity(tx.chain_id or 0)
    encoded["v"] = encoded["yParity"] = encode_quantity(tx.y_parity)
    encoded["accessList"] = [
        {"address": encode_data(entry[0]), "storageKeys": [encode_data(key.to_bytes(32, "big")) for key in entry[1]]}
        for entry in tx.access_list
    ]
    if tx.type_id == 2:
        encoded["maxFeePerGas"] = encode_quantity(tx.max_fee_per_gas)
        encoded["maxPriorityFeePerGas"] = encode_quantity(tx.max_priority_fee_per_gas)
    return encoded


def encode_receipt(
    block: BlockAPI,
    index: int,
    receipts: tuple[ReceiptAPI, ...],
    sender: bytes,
    logs: tuple[IndexedLog, ...],
) -> dict[str, Any]:
    """A receipt object (execution-apis ``ReceiptInfo``); ``status`` per EIP-658."""
    tx = block.transactions[index]
    receipt = receipts[index]
    previous = receipts[index - 1].gas_used if index > 0 else 0
    base_fee = int(getattr(block.header, "base_fee_per_gas", 0) or 0)
    contract = generate_contract_address(Address(sender), tx.nonce) if not tx.to else None
    return {
        "type": encode_quantity(tx.type_id or 0),
        "transactionHash": encode_data(tx.hash),
        "transactionIndex": encode_quantity(index),
        "blockHash": encode_data(block.hash),
        "blockNumber": encode_quantity(block.number),
        "from": encode_data(sender),
        "to": _address_or_null(tx.to),
        "cumulativeGasUsed": encode_quantity(receipt.gas_used),
        "gasUsed": encode_quantity(receipt.gas_used - previous),
        "effectiveGasPrice": encode_quantity(effective_gas_price(tx, base_fee)),
        "contractAddress": encode_data(contract) if contract is not None else None,
        "logs": [encode_log(log) for log in logs if log.transaction_index == index],
        "logsBloom": encode_data(receipt.bloom.to_bytes(256, "big")),
        "status": "0x1" if receipt.state_root == b"\x01" else "0x0",
    }


#: Header fields that exist from some fork on (py-evm attribute, JSON-RPC name), encoded when present.
_FORK_FIELDS = (
    ("withdrawals_root", "withdrawalsRoot", encode_data),
    ("blob_gas_used", "blobGasUsed", encode_quantity),
    ("excess_blob_gas", "excessBlobGas", encode_quantity),
    ("parent_beacon_block_root", "parentBeaconBlockRoot", encode_data),
    ("requests_hash", "requestsHash", encode_data),
)


def encode_block(block: BlockAPI, transactions: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A block object (execution-apis ``Block``). ``transactions`` are full objects, or ``None`` for hashes only."""
    header = block.header
    encoded: dict[str, Any] = {
        "number": encode_quantity(header.block_number),
        "hash": encode_data(header.hash),
        "parentHash": encode_data(header.parent_hash),
        "nonce": encode_data(header.nonce),
        "sha3Uncles": encode_data(header.uncles_hash),
        "logsBloom": encode_data(header.bloom.to_bytes(256, "big")),
        "transactionsRoot": encode_data(header.transaction_root),
        "stateRoot": encode_data(header.state_root),
        "receiptsRoot": encode_data(header.receipt_root),
        "miner": encode_data(header.coinbase),
        "difficulty": encode_quantity(header.difficulty),
        "totalDifficulty": "0x0",
        "extraData": encode_data(header.extra_data),
        "size": encode_quantity(len(rlp.encode(block))),
        "gasLimit": encode_quantity(header.gas_limit),
        "gasUsed": encode_quantity(header.gas_used),
        "timestamp": encode_quantity(header.timestamp),
        "mixHash": encode_data(header.mix_hash),
        "baseFeePerGas": encode_quantity(header.base_fee_per_gas or 0),
        "uncles": [],
        "transactions": transactions
        if transactions is not None
        else [encode_data(tx.hash) for tx in block.transactions],
    }
    for attribute, name, encode in _FORK_FIELDS:
        value = getattr(header, attribute, None)
        if value is not None:
            encoded[name] = encode(value)
    if getattr(header, "withdrawals_root", None) is not None:
        encoded["withdrawals"] = []
    return encoded
