"""The Ethereum JSON-RPC methods a local chain answers (execution-apis ``eth_*``, plus ``net_*`` and ``web3_*``).

Chosen from what web3.py, ethers and ethr-did-resolver call: chain id and block number, blocks by number or hash,
logs with filters (address lists, topic positions with ``null`` wildcards and OR lists, block tags or EIP-234
``blockHash``), ``eth_call``/``eth_estimateGas`` at a block, fees (``eth_gasPrice``, ``eth_maxPriorityFeePerGas``,
``eth_feeHistory``), account state, transactions and receipts, ``eth_sendRawTransaction``, and polling filters.

The node holds no keys: ``eth_accounts`` is empty and ``eth_sendTransaction``/``eth_sign*`` answer that transactions
must be signed by the client. Tags: the chain mines every transaction at once and has one node, so ``pending``,
``safe`` and ``finalized`` all mean ``latest``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_typing import Address
from eth_utils.crypto import keccak

from ledger.node import schema
from ledger.node.chain import CallMessage, IndexedLog, LogQuery
from ledger.node.filters import FilterRegistry
from ledger.node.schema import (
    EXECUTION_REVERTED,
    INVALID_PARAMS,
    LIMIT_EXCEEDED,
    METHOD_NOT_FOUND,
    SERVER_ERROR,
    BlockSelector,
    RpcError,
    encode_data,
    encode_quantity,
    invalid_params,
)
from ssi.clock import Clock, system_clock
from ssi.errors import ChainError, ExecutionReverted, TransactionRejected

__all__ = ["ChainView", "EthereumApi"]

Method = Callable[[list[Any]], Any]
_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_MAX_FEE_HISTORY = 1024
_BLOCK_CACHE_SIZE = 512


def _client_version() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return f"govssi/v{version('govssi')}/py-evm-{version('py-evm')}/{python}"


class ChainView(Protocol):
    """What :class:`EthereumApi` needs from a chain: :class:`~ledger.node.LocalChain` (one node, automine) and the PoA
    network model's Clique chain (``ledger.poa``) both provide it. ``lock`` serialises every method call."""

    @property
    def lock(self) -> contextlib.AbstractContextManager[Any]: ...
    @property
    def chain_id(self) -> int: ...
    @property
    def block_number(self) -> int: ...
    def head(self) -> BlockHeaderAPI: ...
    def header(self, number: int) -> BlockHeaderAPI | None: ...
    def block(self, number: int) -> BlockAPI | None: ...
    def block_by_hash(self, block_hash: bytes) -> BlockAPI | None: ...
    def transaction(self, transaction_hash: bytes) -> tuple[BlockAPI, int] | None: ...
    def receipts(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]: ...
    def sender(self, tx: SignedTransactionAPI) -> bytes: ...
    def state(self, number: int) -> StateAPI: ...
    def block_logs(self, number: int) -> tuple[IndexedLog, ...]: ...
    def logs(self, query: LogQuery) -> list[IndexedLog]: ...
    def call(self, message: CallMessage, number: int) -> bytes: ...
    def estimate_gas(self, message: CallMessage, number: int) -> int: ...
    def send_raw_transaction(self, raw_transaction: bytes) -> bytes: ...


@dataclass(frozen=True)
class LogFilter:
    """A parsed ``eth_getLogs``/``eth_newFilter`` object (block bounds still unresolved)."""

    from_block: BlockSelector
    to_block: BlockSelector
    block_hash: bytes | None
    addresses: frozenset[bytes] | None
    topics: tuple[frozenset[bytes] | None, ...]


def _arguments(params: list[Any], required: int, optional: int = 0) -> list[Any]:
    if not required <= len(params) <= required + optional:
        expected = str(required) if not optional else f"{required} to {required + optional}"
        raise invalid_params(f"expected {expected} parameters, got {len(params)}")
    return params + [None] * (required + optional - len(params))


def _default(value: Any, default: str) -> Any:
    return default if value is None else value


def _revert_message(revert_data: bytes) -> str:
    """geth's message: ``execution reverted`` plus the ``Error(string)`` reason when there is one."""
    if revert_data[:4] == _ERROR_SELECTOR:
        try:
            (reason,) = abi_decode(["string"], revert_data[4:])
        except (DecodingError, ValueError, OverflowError):
            return "execution reverted"
        return f"execution reverted: {reason}"
    return "execution reverted"


class EthereumApi:
    """The methods, each taking the positional ``params`` list and returning the JSON result."""

    def __init__(self, chain: ChainView, *, clock: Clock = system_clock, filters: FilterRegistry | None = None) -> None:
        self.chain = chain
        self._filters = filters or FilterRegistry(clock)
        self._client_version = _client_version()
        # Encoded blocks by (number, full transactions): readers such as DID resolvers ask for the same blocks again
        # and again. Used under the chain's lock, like everything here.
        self._blocks: OrderedDict[tuple[int, bool], tuple[bytes, dict[str, Any]]] = OrderedDict()
        self.methods: dict[str, Method] = {
            "web3_clientVersion": lambda params: self._no_params(params, self._client_version),
            "web3_sha3": self.web3_sha3,
            "net_version": lambda params: self._no_params(params, str(chain.chain_id)),
            "net_listening": lambda params: self._no_params(params, True),
            "net_peerCount": lambda params: self._no_params(params, "0x0"),
            "eth_chainId": lambda params: self._no_params(params, encode_quantity(chain.chain_id)),
            "eth_blockNumber": lambda params: self._no_params(params, encode_quantity(chain.block_number)),
            "eth_syncing": lambda params: self._no_params(params, False),
            "eth_mining": lambda params: self._no_params(params, False),
            "eth_accounts": lambda params: self._no_params(params, []),
            "eth_gasPrice": self.eth_gasPrice,
            "eth_maxPriorityFeePerGas": lambda params: self._no_params(params, "0x0"),
            "eth_feeHistory": self.eth_feeHistory,
            "eth_getBalance": self.eth_getBalance,
            "eth_getCode": self.eth_getCode,
            "eth_getStorageAt": self.eth_getStorageAt,
            "eth_getTransactionCount": self.eth_getTransactionCount,
            "eth_getBlockByNumber": self.eth_getBlockByNumber,
            "eth_getBlockByHash": self.eth_getBlockByHash,
            "eth_getBlockTransactionCountByNumber": self.eth_getBlockTransactionCountByNumber,
            "eth_getBlockTransactionCountByHash": self.eth_getBlockTransactionCountByHash,
            "eth_getBlockReceipts": self.eth_getBlockReceipts,
            "eth_getTransactionByHash": self.eth_getTransactionByHash,
            "eth_getTransactionByBlockNumberAndIndex": self.eth_getTransactionByBlockNumberAndIndex,
            "eth_getTransactionByBlockHashAndIndex": self.eth_getTransactionByBlockHashAndIndex,
            "eth_getTransactionReceipt": self.eth_getTransactionReceipt,
            "eth_call": self.eth_call,
            "eth_estimateGas": self.eth_estimateGas,
            "eth_sendRawTransaction": self.eth_sendRawTransaction,
            "eth_getLogs": self.eth_getLogs,
            "eth_newFilter": self.eth_newFilter,
            "eth_newBlockFilter": self.eth_newBlockFilter,
            "eth_getFilterChanges": self.eth_getFilterChanges,
            "eth_getFilterLogs": self.eth_getFilterLogs,
            "eth_uninstallFilter": self.eth_uninstallFilter,
        }
        for keyed in ("eth_sendTransaction", "eth_sign", "eth_signTransaction", "eth_signTypedData_v4"):
            self.methods[keyed] = self._no_keys

    def call(self, method: str, params: list[Any]) -> Any:
        """Run ``method``; domain errors become JSON-RPC errors (:class:`RpcError`)."""
        handler = self.methods.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
        try:
            with self.chain.lock:
                return handler(params)
        except ExecutionReverted as exc:
            raise RpcError(EXECUTION_REVERTED, _revert_message(exc.data), encode_data(exc.data)) from None
        except TransactionRejected as exc:
            raise RpcError(SERVER_ERROR, exc.description) from None
        except ChainError as exc:
            code = LIMIT_EXCEEDED if exc.reason == "too_many_results" else SERVER_ERROR
            raise RpcError(code, exc.description) from None

    # -- helpers ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _no_params(params: list[Any], result: Any) -> Any:
        _arguments(params, 0)
        return result

    @staticmethod
    def _no_keys(params: list[Any]) -> Any:
        raise RpcError(
            SERVER_ERROR, "unknown account: this node holds no keys; sign locally and use eth_sendRawTransaction"
        )

    def _number(self, selector: BlockSelector, *, must_exist: bool = True) -> int | None:
        """The block number ``selector`` names; ``None`` (or the geth error when ``must_exist``) if there is none."""
        head = self.chain.block_number
        number: int | None
        if selector.hash is not None:
            block = self.chain.block_by_hash(selector.hash)
            number = None if block is None else block.number
        elif selector.tag is not None:
            number = 0 if selector.tag == "earliest" else head
        else:
            number = selector.number if selector.number is not None and selector.number <= head else None
        if number is None and must_exist:
            raise RpcError(SERVER_ERROR, "header not found")
        return number

    def _state_number(self, value: Any) -> int:
        number = self._number(schema.LATEST if value is None else schema.block_selector(value))
        assert number is not None
        return number

    def _block_json(self, number: int | None, full: bool) -> dict[str, Any] | None:
        """The block object, from :attr:`_blocks` when the block at ``number`` is still the one encoded there (a
        mined block never changes; the hash check keeps that true even if the chain is rebuilt from its journal).
        Results are only ever serialized, never modified, so the cached object itself is returned."""
        header = None if number is None else self.chain.header(number)
        if header is None:
            return None
        key = (header.block_number, full)
        cached = self._blocks.get(key)
        if cached is not None and cached[0] == header.hash:
            self._blocks.move_to_end(key)
            return cached[1]
        block = self.chain.block(header.block_number)
        if block is None:
            return None
        transactions = None
        if full:
            transactions = [
                schema.encode_transaction(tx, self.chain.sender(tx), block, index)
                for index, tx in enumerate(block.transactions)
            ]
        encoded = schema.encode_block(block, transactions)
        self._blocks[key] = (block.hash, encoded)
        while len(self._blocks) > _BLOCK_CACHE_SIZE:
            self._blocks.popitem(last=False)
        return encoded

    def _call_message(self, value: Any) -> CallMessage:
        if not isinstance(value, dict):
            raise invalid_params("the call must be an object")
        payload = value.get("input")
        legacy_payload = value.get("data")
        if payload is not None and legacy_payload is not None and payload != legacy_payload:
            raise invalid_params('both "data" and "input" are set and not equal; use "input"')
        sender = value.get("from")
        to = value.get("to")
        gas = value.get("gas")
        return CallMessage(
            sender=schema.address(sender, "from") if sender is not None else bytes(20),
            to=schema.address(to, "to") if to is not None else None,
            data=schema.data(payload if payload is not None else _default(legacy_payload, "0x"), "input"),
            value=schema.quantity(_default(value.get("value"), "0x0"), "value"),
            gas=schema.quantity(gas, "gas", maximum=2**63 - 1) if gas is not None else None,
        )

    # -- methods ---------------------------------------------------------------------------------------------------

    def web3_sha3(self, params: list[Any]) -> str:
        (value,) = _arguments(params, 1)
        return encode_data(keccak(schema.data(value)))

    def eth_gasPrice(self, params: list[Any]) -> str:
        """Next block's base fee plus the suggested tip (0): the chain is free-gas, see ``ledger.node.genesis``."""
        _arguments(params, 0)
        head = self.chain.head()
        return encode_quantity(head.base_fee_per_gas or 0)

    def eth_feeHistory(self, params: list[Any]) -> dict[str, Any]:
        count_value, newest_value, percentiles_value = _arguments(params, 2, 1)
        if isinstance(count_value, int) and not isinstance(count_value, bool):
            count = count_value  # some clients send a plain number here
        else:
            count = schema.quantity(count_value, "blockCount")
        if not 1 <= count <= _MAX_FEE_HISTORY:
            raise invalid_params(f"blockCount must be between 1 and {_MAX_FEE_HISTORY}")
        newest = self._number(schema.block_selector(newest_value, "newestBlock", allow_hash=False))
        assert newest is not None
        percentiles: list[float] | None = None
        if percentiles_value is not None:
            if not isinstance(percentiles_value, list) or len(percentiles_value) > 100:
                raise invalid_params("rewardPercentiles must be a list of at most 100 numbers")
            percentiles = []
            for value in percentiles_value:
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
                    raise invalid_params("rewardPercentiles must be numbers between 0 and 100")
                if percentiles and value < percentiles[-1]:
                    raise invalid_params("rewardPercentiles must be increasing")
                percentiles.append(float(value))
        oldest = max(0, newest - count + 1)
        base_fees: list[str] = []
        ratios: list[float] = []
        rewards: list[list[str]] = []
        for number in range(oldest, newest + 1):
            block = self.chain.block(number)
            assert block is not None
            header = block.header
            base_fee = header.base_fee_per_gas or 0
            base_fees.append(encode_quantity(base_fee))
            ratios.append(header.gas_used / header.gas_limit)
            if percentiles is not None:
                tips = sorted(schema.effective_gas_price(tx, base_fee) - base_fee for tx in block.transactions)
                # One transaction per block: every percentile is its tip; an empty block pays none.
                rewards.append([encode_quantity(tips[-1] if tips else 0) for _ in percentiles])
        after = self.chain.header(newest + 1)
        next_base_fee = (after.base_fee_per_gas if after is not None else self.chain.head().base_fee_per_gas) or 0
        base_fees.append(encode_quantity(next_base_fee))
        result: dict[str, Any] = {
            "oldestBlock": encode_quantity(oldest),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": ratios,
        }
        if percentiles is not None:
            result["reward"] = rewards
        return result

    def eth_getBalance(self, params: list[Any]) -> str:
        account, block = _arguments(params, 1, 1)
        state = self.chain.state(self._state_number(block))
        return encode_quantity(state.get_balance(Address(schema.address(account))))

    def eth_getCode(self, params: list[Any]) -> str:
        account, block = _arguments(params, 1, 1)
        state = self.chain.state(self._state_number(block))
        return encode_data(state.get_code(Address(schema.address(account))))

    def eth_getStorageAt(self, params: list[Any]) -> str:
        account, slot_value, block = _arguments(params, 2, 1)
        if isinstance(slot_value, str) and len(slot_value) == 66:
            slot = int.from_bytes(schema.hash32(slot_value, "slot"), "big")
        else:
            slot = schema.quantity(slot_value, "slot")
        state = self.chain.state(self._state_number(block))
        return encode_data(state.get_storage(Address(schema.address(account)), slot).to_bytes(32, "big"))

    def eth_getTransactionCount(self, params: list[Any]) -> str:
        account, block = _arguments(params, 1, 1)
        state = self.chain.state(self._state_number(block))
        return encode_quantity(state.get_nonce(Address(schema.address(account))))

    def eth_getBlockByNumber(self, params: list[Any]) -> dict[str, Any] | None:
        selector, full = _arguments(params, 2)
        number = self._number(schema.block_selector(selector, allow_hash=False), must_exist=False)
        return self._block_json(number, schema.boolean(full, "full transactions"))

    def eth_getBlockByHash(self, params: list[Any]) -> dict[str, Any] | None:
        block_hash, full = _arguments(params, 2)
        block = self.chain.block_by_hash(schema.hash32(block_hash, "block hash"))
        return self._block_json(None if block is None else block.number, schema.boolean(full, "full transactions"))

    def eth_getBlockTransactionCountByNumber(self, params: list[Any]) -> str | None:
        (selector,) = _arguments(params, 1)
        number = self._number(schema.block_selector(selector, allow_hash=False), must_exist=False)
        block = None if number is None else self.chain.block(number)
        return None if block is None else encode_quantity(len(block.transactions))

    def eth_getBlockTransactionCountByHash(self, params: list[Any]) -> str | None:
        (block_hash,) = _arguments(params, 1)
        block = self.chain.block_by_hash(schema.hash32(block_hash, "block hash"))
        return None if block is None else encode_quantity(len(block.transactions))

    def eth_getBlockReceipts(self, params: list[Any]) -> list[dict[str, Any]] | None:
        (selector,) = _arguments(params, 1)
        number = self._number(schema.block_selector(selector), must_exist=False)
        block = None if number is None else self.chain.block(number)
        if block is None:
            return None
        receipts = self.chain.receipts(block)
        logs = self.chain.block_logs(block.number)
        return [
            schema.encode_receipt(block, index, receipts, self.chain.sender(tx), logs)
            for index, tx in enumerate(block.transactions)
        ]

    def eth_getTransactionByHash(self, params: list[Any]) -> dict[str, Any] | None:
        (tx_hash,) = _arguments(params, 1)
        found = self.chain.transaction(schema.hash32(tx_hash, "transaction hash"))
        if found is None:
            return None
        block, index = found
        tx = block.transactions[index]
        return schema.encode_transaction(tx, self.chain.sender(tx), block, index)

    def _transaction_at(self, number: int | None, index_value: Any) -> dict[str, Any] | None:
        index = schema.quantity(index_value, "index", maximum=2**32)
        block = None if number is None else self.chain.block(number)
        if block is None or index >= len(block.transactions):
            return None
        tx = block.transactions[index]
        return schema.encode_transaction(tx, self.chain.sender(tx), block, index)

    def eth_getTransactionByBlockNumberAndIndex(self, params: list[Any]) -> dict[str, Any] | None:
        selector, index = _arguments(params, 2)
        number = self._number(schema.block_selector(selector, allow_hash=False), must_exist=False)
        return self._transaction_at(number, index)

    def eth_getTransactionByBlockHashAndIndex(self, params: list[Any]) -> dict[str, Any] | None:
        block_hash, index = _arguments(params, 2)
        block = self.chain.block_by_hash(schema.hash32(block_hash, "block hash"))
        return self._transaction_at(None if block is None else block.number, index)

    def eth_getTransactionReceipt(self, params: list[Any]) -> dict[str, Any] | None:
        (tx_hash,) = _arguments(params, 1)
        found = self.chain.transaction(schema.hash32(tx_hash, "transaction hash"))
        if found is None:
            return None
        block, index = found
        receipts = self.chain.receipts(block)
        sender = self.chain.sender(block.transactions[index])
        return schema.encode_receipt(block, index, receipts, sender, self.chain.block_logs(block.number))

    def eth_call(self, params: list[Any]) -> str:
        call, block, overrides = _arguments(params, 1, 2)
        if overrides not in (None, {}):
            raise invalid_params("state overrides are not supported")
        message = self._call_message(call)
        return encode_data(self.chain.call(message, self._state_number(block)))

    def eth_estimateGas(self, params: list[Any]) -> str:
        call, block = _arguments(params, 1, 1)
        message = self._call_message(call)
        return encode_quantity(self.chain.estimate_gas(message, self._state_number(block)))

    def eth_sendRawTransaction(self, params: list[Any]) -> str:
        (raw,) = _arguments(params, 1)
        return encode_data(self.chain.send_raw_transaction(schema.data(raw, "raw transaction")))

    # -- logs and filters ------------------------------------------------------------------------------------------

    def _log_filter(self, value: Any) -> LogFilter:
        if not isinstance(value, dict):
            raise invalid_params("the filter must be an object")
        unknown = set(value) - {"fromBlock", "toBlock", "address", "topics", "blockHash"}
        if unknown:
            raise invalid_params(f"unknown filter fields: {', '.join(sorted(unknown))}")
        block_hash = None
        if value.get("blockHash") is not None:
            if value.get("fromBlock") is not None or value.get("toBlock") is not None:
                raise invalid_params("cannot specify both blockHash and fromBlock/toBlock")
            block_hash = schema.hash32(value["blockHash"], "blockHash")
        from_block = schema.block_selector(_default(value.get("fromBlock"), "latest"), "fromBlock", allow_hash=False)
        to_block = schema.block_selector(_default(value.get("toBlock"), "latest"), "toBlock", allow_hash=False)
        address_value = value.get("address")
        addresses: frozenset[bytes] | None = None
        if isinstance(address_value, list):
            if len(address_value) > 1000:
                raise invalid_params("too many addresses")
            addresses = frozenset(schema.address(item, "address") for item in address_value) or None
        elif address_value is not None:
            addresses = frozenset([schema.address(address_value, "address")])
        topics_value = value.get("topics")
        if topics_value is None:
            topics_value = []
        if not isinstance(topics_value, list) or len(topics_value) > 4:
            raise invalid_params("topics must be a list of at most 4 positions")
        topics: list[frozenset[bytes] | None] = []
        for position in topics_value:
            if position is None:
                topics.append(None)
            elif isinstance(position, str):
                topics.append(frozenset([schema.hash32(position, "topic")]))
            elif isinstance(position, list):
                if len(position) > 1000:
                    raise invalid_params("too many alternatives for one topic")
                alternatives = [schema.hash32(item, "topic") for item in position if item is not None]
                # An empty list or a null alternative accepts any value in that position.
                topics.append(None if not alternatives or None in position else frozenset(alternatives))
            else:
                raise invalid_params("each topic must be null, a 32-byte hash or a list of them")
        while topics and topics[-1] is None:
            topics.pop()
        return LogFilter(from_block, to_block, block_hash, addresses, tuple(topics))

    def _log_query(self, log_filter: LogFilter, *, first_block: int = 0) -> LogQuery | None:
        """Resolve the block bounds; ``None`` when no block can match."""
        if log_filter.block_hash is not None:
            block = self.chain.block_by_hash(log_filter.block_hash)
            if block is None:
                raise RpcError(SERVER_ERROR, "unknown block")
            low = high = int(block.number)
        else:
            head = self.chain.block_number
            low_number = self._number(log_filter.from_block, must_exist=False)
            high_number = self._number(log_filter.to_block, must_exist=False)
            first, last = log_filter.from_block.number, log_filter.to_block.number
            if first is not None and last is not None and first > last:
                raise invalid_params("invalid block range params: fromBlock is after toBlock")
            if low_number is None:  # fromBlock beyond the head: nothing yet
                return None
            low, high = low_number, head if high_number is None else high_number
        low = max(low, first_block)
        if low > high:
            return None
        return LogQuery(low, high, log_filter.addresses, log_filter.topics)

    def _logs(self, log_filter: LogFilter, *, first_block: int = 0) -> list[dict[str, Any]]:
        query = self._log_query(log_filter, first_block=first_block)
        if query is None:
            return []
        return [schema.encode_log(log) for log in self.chain.logs(query)]

    def eth_getLogs(self, params: list[Any]) -> list[dict[str, Any]]:
        (value,) = _arguments(params, 1)
        return self._logs(self._log_filter(value))

    def eth_newFilter(self, params: list[Any]) -> str:
        (value,) = _arguments(params, 1)
        log_filter = self._log_filter(value)
        return self._install(log_filter)

    def eth_newBlockFilter(self, params: list[Any]) -> str:
        _arguments(params, 0)
        return self._install(None)

    def _install(self, log_filter: LogFilter | None) -> str:
        filter_id = self._filters.install(log_filter, self.chain.block_number + 1)
        if filter_id is None:
            raise RpcError(LIMIT_EXCEEDED, "too many filters installed; uninstall some")
        return filter_id

    def _installed(self, value: Any) -> tuple[str, Any]:
        if not isinstance(value, str):
            raise invalid_params("filter id must be a string")
        found = self._filters.get(value)
        if found is None:
            raise RpcError(SERVER_ERROR, "filter not found")
        return value, found

    def eth_getFilterChanges(self, params: list[Any]) -> list[Any]:
        (value,) = _arguments(params, 1)
        _, found = self._installed(value)
        head = self.chain.block_number
        first = found.next_block
        found.next_block = head + 1
        if found.log_filter is None:
            changes = []
            for number in range(first, head + 1):
                block = self.chain.block(number)
                assert block is not None
                changes.append(encode_data(block.hash))
            return changes
        return self._logs(found.log_filter, first_block=first) if first <= head else []

    def eth_getFilterLogs(self, params: list[Any]) -> list[dict[str, Any]]:
        (value,) = _arguments(params, 1)
        _, found = self._installed(value)
        if found.log_filter is None:
            raise RpcError(INVALID_PARAMS, "invalid params: not a log filter")
        return self._logs(found.log_filter)

    def eth_uninstallFilter(self, params: list[Any]) -> bool:
        (value,) = _arguments(params, 1)
        if not isinstance(value, str):
            raise invalid_params("filter id must be a string")
        return self._filters.uninstall(value)
