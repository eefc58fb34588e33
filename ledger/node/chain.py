"""A local Ethereum chain on an in-process EVM (py-evm), mining every accepted transaction into its own block.

DESIGN.md §3 (Chain runtimes, a): the embedded default chain. :class:`LocalChain` is the one chain object both
runtimes use — in-process through :class:`ledger.node.LocalChainProvider`, over HTTP through ``govssi ledger node`` —
and every public method takes its lock, so several services can share one chain.

Why py-evm directly rather than through eth-tester's ``PyEVMBackend``: that backend randomises each block's
``mixHash`` (so replaying the same transactions gives different block hashes), hard-codes its own chain id, and finds a
transaction by scanning every block. Here the block hashes are reproducible (PREVRANDAO is derived from the parent hash
— not random, acceptable on a development chain; contracts must not use it as randomness), the chain id comes from the
genesis, and transactions and logs are indexed in memory.

Automine: ``send_raw_transaction`` validates, executes and mines the transaction into a new block, appends it to the
journal (fsync) and only then returns — the receipt is available as soon as the hash is. There is no mempool: a
transaction whose nonce is not the sender's next nonce is refused. Block timestamps follow the injected clock, but
strictly increase (two transactions in the same second get consecutive seconds).
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, cast

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.chains.base import Chain, MiningChain
from eth.constants import ZERO_ADDRESS
from eth.db.atomic import AtomicDB
from eth.exceptions import HeaderNotFound, Revert, TransactionNotFound, VMError
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.paris import ParisVM
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.shanghai import ShanghaiVM
from eth.vm.spoof import SpoofTransaction
from eth_keys.exceptions import BadSignature
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from ledger.node.genesis import DEFAULT_CHAIN_ID, DEFAULT_FORK, Genesis
from ledger.node.journal import BlockJournal, JournalRecord
from ssi.clock import Clock, system_clock
from ssi.errors import ChainError, ChainStorageError, ExecutionReverted, TransactionRejected

__all__ = [
    "CallMessage",
    "IndexedLog",
    "LocalChain",
    "LogIndex",
    "LogQuery",
    "block_logs",
    "call_transaction",
    "check_transaction",
    "decode_transaction",
    "estimate_call_gas",
    "execute_call",
    "lock_data_dir",
    "recover_sender",
    "scratch_state",
]

_VMS: dict[str, Any] = {"paris": ParisVM, "shanghai": ShanghaiVM, "cancun": CancunVM, "prague": PragueVM}
#: Transaction types accepted: legacy (EIP-155), access list (EIP-2930), dynamic fee (EIP-1559). Blob transactions
#: need a consensus layer for their sidecars; set-code (EIP-7702) ones are not needed here.
_ACCEPTED_TYPES = (None, 0, 1, 2)
#: A query for more logs than this fails instead of building an unbounded answer.
MAX_LOG_RESULTS = 10_000
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
GENESIS_FILE = "genesis.json"
JOURNAL_FILE = "blocks.jsonl"
LOCK_FILE = "LOCK"


@dataclass(frozen=True)
class CallMessage:
    """An ``eth_call`` / ``eth_estimateGas`` message: executed, never mined."""

    sender: bytes = ZERO_ADDRESS
    #: ``None`` for contract creation.
    to: bytes | None = None
    data: bytes = b""
    value: int = 0
    #: Defaults to the block gas limit.
    gas: int | None = None


@dataclass(frozen=True)
class IndexedLog:
    """One log entry with its position in the chain (what ``eth_getLogs`` returns)."""

    block_number: int
    block_hash: bytes
    block_timestamp: int
    transaction_hash: bytes
    transaction_index: int
    log_index: int
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class LogQuery:
    """An ``eth_getLogs`` filter over a resolved, inclusive block range.

    ``topics[i]`` is ``None`` (any value) or the set of accepted values of topic ``i`` (OR); positions are ANDed.
    """

    from_block: int
    to_block: int
    addresses: frozenset[bytes] | None = None
    topics: tuple[frozenset[bytes] | None, ...] = ()

    def matches(self, log: IndexedLog) -> bool:
        if self.addresses is not None and log.address not in self.addresses:
            return False
        if len(self.topics) > len(log.topics):
            return False
        return all(wanted is None or topic in wanted for wanted, topic in zip(self.topics, log.topics, strict=False))


def _chain_class(genesis: Genesis) -> type[MiningChain]:
    vm_class = _VMS[genesis.fork]

    class GovssiLocalChain(MiningChain):
        chain_id = genesis.chain_id
        vm_configuration = ((BlockNumber(0), vm_class),)
        # Estimates within 1000 gas of the least that succeeds (py-evm's default allows 21000 more).
        gas_estimator = staticmethod(bracketed_gas_search)

        def create_header_from_parent(self, parent_header: BlockHeaderAPI, **header_params: Any) -> BlockHeaderAPI:
            # A single-node chain keeps its gas limit (nobody votes on changing it).
            header_params["gas_limit"] = parent_header.gas_limit
            return super().create_header_from_parent(parent_header, **header_params)

    return GovssiLocalChain


#: Estimates are within this much gas of the least that succeeds.
GAS_TOLERANCE = 1000
_CALL_STIPEND = 2300


def _run(state: StateAPI, transaction: SignedTransactionAPI, gas: int) -> Any:
    """Execute ``transaction`` with ``gas`` on ``state`` and undo it; the computation."""
    snapshot = state.snapshot()
    try:
        return state.apply_transaction(cast(SignedTransactionAPI, SpoofTransaction(transaction, gas=gas, gas_price=0)))
    finally:
        state.revert(snapshot)


def bracketed_gas_search(state: StateAPI, transaction: SignedTransactionAPI) -> int:
    """The least gas (within :data:`GAS_TOLERANCE`) with which ``transaction`` succeeds; raises its error if it fails
    even with the block gas limit.

    py-evm's binary search bisects [intrinsic gas, block gas limit] — about 17 executions. As geth does since 1.13
    ("optimistic" estimation), one run with the gas limit brackets the answer instead: less gas than that run consumed
    (before refunds) runs out, so the answer lies above it; and what it consumed plus the 2300 stipend, times 64/63
    (EIP-150 keeps 1/64 of the gas at each call), is nearly always enough. The bisection then starts from that narrow
    range: about four executions. Like py-evm's, the search assumes more gas never turns success into failure.
    """
    limit = state.gas_limit
    intrinsic = transaction.intrinsic_gas
    first = _run(state, transaction, limit)
    if first.is_error:
        raise first.error
    consumed = limit - first.get_gas_remaining()
    if consumed <= intrinsic:
        return intrinsic
    failing = consumed - 1  # below what it consumed, it runs out
    succeeding = limit
    optimistic = min(limit, (consumed + first.get_gas_refund() + _CALL_STIPEND) * 64 // 63)
    if optimistic < limit:
        if _fails(state, transaction, optimistic):
            failing = optimistic
        else:
            succeeding = optimistic
    while succeeding - failing > GAS_TOLERANCE:
        middle = (succeeding + failing) // 2
        if _fails(state, transaction, middle):
            failing = middle
        else:
            succeeding = middle
    return succeeding


def _fails(state: StateAPI, transaction: SignedTransactionAPI, gas: int) -> bool:
    try:
        return bool(_run(state, transaction, gas).is_error)
    except ValidationError:  # too little gas to be valid at all (e.g. below the EIP-7623 calldata floor)
        return True


def _prevrandao(parent_hash: bytes) -> bytes:
    return keccak(b"govssi local chain prevrandao" + parent_hash)


# -- shared with the PoA network model (ledger.poa): admitting, indexing and executing transactions on a py-evm chain


def decode_transaction(chain: Chain, raw: bytes) -> SignedTransactionAPI:
    """Decode a raw signed transaction with the rules of ``chain``'s next block; only :data:`_ACCEPTED_TYPES`.

    Raises :class:`TransactionRejected` (``malformed_transaction``, ``unsupported_type``).
    """
    if not raw:
        raise TransactionRejected("empty transaction", reason="malformed_transaction")
    builder = chain.get_vm().get_transaction_builder()
    try:
        tx = builder.decode(raw)
    except Exception as exc:  # untrusted bytes: rlp, py-evm and builtin errors alike mean "malformed"
        raise TransactionRejected(
            f"malformed transaction: {type(exc).__name__}", reason="malformed_transaction"
        ) from None
    if tx.type_id not in _ACCEPTED_TYPES:
        raise TransactionRejected(f"transaction type {tx.type_id} is not supported", reason="unsupported_type")
    return tx


def recover_sender(tx: SignedTransactionAPI) -> bytes:
    """The sender of ``tx``, which must have a valid low-``s`` signature (EIP-2); else :class:`TransactionRejected`."""
    if not 0 < tx.s <= _SECP256K1_N // 2:
        raise TransactionRejected(
            "invalid transaction signature: s must be in the lower half (EIP-2)", reason="invalid_signature"
        )
    try:
        # Recovering the sender checks the signature (v, r, s in range, a point on the curve); py-evm's
        # check_signature_validity would recover the key once more and verify it against itself.
        return bytes(tx.sender)
    except (BadSignature, ValidationError, ValueError) as exc:
        raise TransactionRejected(f"invalid transaction signature: {exc}", reason="invalid_signature") from None


def check_transaction(
    tx: SignedTransactionAPI,
    sender: bytes,
    *,
    chain_id: int,
    state: StateAPI,
    gas_limit: int,
    base_fee: int,
    max_nonce_ahead: int = 0,
) -> None:
    """The checks an Ethereum node makes before accepting a transaction, with geth's error wording.

    ``state`` is the state the transaction would apply to; its nonce may be up to ``max_nonce_ahead`` above the
    sender's nonce there (0 for a chain without a transaction pool).
    """
    tx_chain_id = tx.chain_id if tx.type_id is not None else _legacy_chain_id(cast(Any, tx).v)
    if tx_chain_id is None:
        raise TransactionRejected(
            "only replay-protected (EIP-155) transactions allowed over RPC", reason="unprotected_transaction"
        )
    if tx_chain_id != chain_id:
        raise TransactionRejected(f"invalid chain id {tx_chain_id}, this chain is {chain_id}", reason="wrong_chain_id")
    nonce = state.get_nonce(Address(sender))
    if tx.nonce < nonce:
        raise TransactionRejected(f"nonce too low: next nonce {nonce}, tx nonce {tx.nonce}", reason="nonce_too_low")
    if tx.nonce > nonce + max_nonce_ahead:
        hint = " (this chain has no mempool)" if max_nonce_ahead == 0 else ""
        raise TransactionRejected(
            f"nonce too high: next nonce {nonce}, tx nonce {tx.nonce}{hint}", reason="nonce_too_high"
        )
    if tx.gas > gas_limit:
        raise TransactionRejected("exceeds block gas limit", reason="gas_limit")
    if tx.gas < tx.intrinsic_gas:
        raise TransactionRejected("intrinsic gas too low", reason="intrinsic_gas")
    max_fee = tx.max_fee_per_gas if tx.type_id == 2 else tx.gas_price
    if tx.type_id == 2 and tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise TransactionRejected("max priority fee per gas higher than max fee per gas", reason="fee_cap")
    if max_fee < base_fee:
        raise TransactionRejected(f"max fee per gas less than block base fee {base_fee}", reason="fee_cap")
    if state.get_balance(Address(sender)) < tx.gas * max_fee + tx.value:
        raise TransactionRejected("insufficient funds for gas * price + value", reason="insufficient_funds")


def block_logs(block: BlockAPI, receipts: Iterable[ReceiptAPI]) -> tuple[IndexedLog, ...]:
    """The logs of ``block`` with their positions (what ``eth_getLogs`` returns), in order."""
    logs: list[IndexedLog] = []
    for index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
        for log in receipt.logs:
            logs.append(
                IndexedLog(
                    block_number=block.number,
                    block_hash=block.hash,
                    block_timestamp=block.header.timestamp,
                    transaction_hash=tx.hash,
                    transaction_index=index,
                    log_index=len(logs),
                    address=log.address,
                    topics=tuple(topic.to_bytes(32, "big") for topic in log.topics),
                    data=log.data,
                )
            )
    return tuple(logs)


class LogIndex:
    """The logs of the canonical blocks, indexed by block number and by emitting address. Not thread-safe."""

    def __init__(self) -> None:
        self._logs: dict[int, tuple[IndexedLog, ...]] = {}
        self._blocks_with_logs: list[int] = []
        self._blocks_by_address: dict[bytes, list[int]] = {}

    def add(self, number: int, logs: tuple[IndexedLog, ...]) -> None:
        """Index the logs of block ``number``, which must be above every block indexed so far."""
        if not logs:
            return
        self._logs[number] = logs
        self._blocks_with_logs.append(number)
        for address in {log.address for log in logs}:
            self._blocks_by_address.setdefault(address, []).append(number)

    def truncate(self, first: int) -> None:
        """Forget blocks ``first`` and above (a reorganisation replaced them)."""
        if not self._blocks_with_logs or self._blocks_with_logs[-1] < first:
            return
        for number in self._blocks_with_logs[bisect.bisect_left(self._blocks_with_logs, first) :]:
            del self._logs[number]
        del self._blocks_with_logs[bisect.bisect_left(self._blocks_with_logs, first) :]
        for address, numbers in list(self._blocks_by_address.items()):
            del numbers[bisect.bisect_left(numbers, first) :]
            if not numbers:
                del self._blocks_by_address[address]

    def block(self, number: int) -> tuple[IndexedLog, ...]:
        return self._logs.get(number, ())

    def query(self, query: LogQuery) -> list[IndexedLog]:
        """The logs matching ``query``, in chain order. Raises :class:`ChainError` past :data:`MAX_LOG_RESULTS`."""
        candidates: Iterable[int]
        if query.addresses is not None:
            numbers: set[int] = set()
            for address in query.addresses:
                numbers.update(_between(self._blocks_by_address.get(address, []), query.from_block, query.to_block))
            candidates = sorted(numbers)
        else:
            candidates = _between(self._blocks_with_logs, query.from_block, query.to_block)
        found: list[IndexedLog] = []
        for number in candidates:
            for log in self._logs[number]:
                if query.matches(log):
                    found.append(log)
                    if len(found) > MAX_LOG_RESULTS:
                        raise ChainError(
                            f"query returned more than {MAX_LOG_RESULTS} results", reason="too_many_results"
                        )
        return found


@contextlib.contextmanager
def scratch_state(chain: Chain, header: BlockHeaderAPI, clock: Clock) -> Iterator[StateAPI]:
    """A throw-away state after block ``header``, in the context of a next block at the clock's time, base fee 0
    (calls and estimates cost nothing, as on geth when no gas price is given)."""
    vm = chain.get_vm(header)
    timestamp = max(int(clock()), header.timestamp + 1)
    child = chain.create_header_from_parent(header, timestamp=timestamp, coinbase=header.coinbase)
    if hasattr(child, "base_fee_per_gas"):
        child = child.copy(base_fee_per_gas=0)
    previous = itertools.chain((header.hash,), vm.previous_hashes or ())
    state = vm.build_state(chain.chaindb.db, child, cast(Any, vm).chain_context, previous)
    snapshot = state.snapshot()
    try:
        yield state
    finally:
        state.revert(snapshot)


def call_transaction(chain: Chain, state: StateAPI, message: CallMessage, gas_limit: int) -> SignedTransactionAPI:
    """``message`` as an unsigned transaction from its sender, executable on ``state`` (from :func:`scratch_state`)."""
    vm_class = chain.get_vm_class_for_block_number(state.block_number)
    unsigned = vm_class.create_unsigned_transaction(
        nonce=state.get_nonce(Address(message.sender)),
        gas_price=0,
        gas=gas_limit if message.gas is None else message.gas,
        to=Address(b"" if message.to is None else message.to),
        value=message.value,
        data=message.data,
    )
    return cast(SignedTransactionAPI, SpoofTransaction(unsigned, from_=message.sender))


def execute_call(chain: Chain, header: BlockHeaderAPI, message: CallMessage, *, gas_limit: int, clock: Clock) -> bytes:
    """``eth_call``: execute ``message`` on the state after ``header``; return its output.

    Raises :class:`ExecutionReverted` (with the revert data) on REVERT, :class:`ChainError` on other failures.
    """
    if message.gas is not None and message.gas > gas_limit:
        raise ChainError("gas exceeds the block gas limit", reason="gas_limit")
    with scratch_state(chain, header, clock) as state:
        try:
            computation = state.costless_execute_transaction(call_transaction(chain, state, message, gas_limit))
        except ValidationError as exc:
            raise ChainError(f"invalid call: {exc}", reason="invalid_call") from None
        if computation.is_error:
            raise _execution_error(computation.error)
        return bytes(computation.output)


def estimate_call_gas(
    chain: Chain, header: BlockHeaderAPI, message: CallMessage, *, gas_limit: int, clock: Clock
) -> int:
    """``eth_estimateGas``: the least gas with which ``message`` succeeds after ``header`` (``chain.gas_estimator``)."""
    with scratch_state(chain, header, clock) as state:
        try:
            return int(chain.gas_estimator(state, call_transaction(chain, state, message, gas_limit)))
        except VMError as exc:
            raise _execution_error(exc) from None
        except ValidationError as exc:
            raise ChainError(f"invalid call: {exc}", reason="invalid_call") from None


class _GenesisParams(Protocol):
    @property
    def chain_id(self) -> int: ...

    @property
    def gas_limit(self) -> int: ...


class ChainReader:
    """The read side shared by :class:`LocalChain` and the PoA model's ``CliqueChain`` (the ``ChainView`` that
    ``ledger.node.methods`` serves over JSON-RPC): canonical headers, blocks, transactions, receipts, state, logs and
    calls, each under the chain's lock.

    A subclass sets ``genesis``, ``lock``, ``_chain``, ``_clock``, ``_senders`` (transaction hash → sender, filled when
    mined) and ``_log_index``.
    """

    genesis: _GenesisParams
    lock: threading.RLock
    _chain: Chain
    _clock: Clock
    _senders: dict[bytes, bytes]
    _log_index: LogIndex

    @property
    def chain_id(self) -> int:
        return self.genesis.chain_id

    @property
    def block_number(self) -> int:
        with self.lock:
            return int(self._chain.get_canonical_head().block_number)

    def head(self) -> BlockHeaderAPI:
        with self.lock:
            return self._chain.get_canonical_head()

    def header(self, number: int) -> BlockHeaderAPI | None:
        """The canonical header at ``number``, or ``None`` beyond the head."""
        with self.lock:
            if not 0 <= number <= self._chain.get_canonical_head().block_number:
                return None
            return self._chain.get_canonical_block_header_by_number(BlockNumber(number))

    def block(self, number: int) -> BlockAPI | None:
        with self.lock:
            header = self.header(number)
            return None if header is None else self._chain.get_block_by_header(header)

    def _header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI | None:
        try:
            return self._chain.get_block_header_by_hash(Hash32(block_hash))
        except (HeaderNotFound, ValidationError):
            return None

    def block_by_hash(self, block_hash: bytes) -> BlockAPI | None:
        """The canonical block with this hash (``None`` for unknown blocks and blocks of losing forks)."""
        with self.lock:
            header = self._header_by_hash(block_hash)
            if header is None:
                return None
            canonical = self.header(header.block_number)
            if canonical is None or canonical.hash != header.hash:
                return None
            return self._chain.get_block_by_header(header)

    def _location(self, transaction_hash: bytes) -> tuple[int, int] | None:
        """(block number, index) of a transaction in the canonical chain.

        py-evm's transaction index keeps the entries of blocks a reorganisation replaced (``ChainDB`` never calls its
        ``_decanonicalize_old_headers``), so an entry counts only if the canonical block there holds the transaction.
        """
        try:
            number, index = self._chain.get_canonical_transaction_index(Hash32(transaction_hash))
        except (TransactionNotFound, ValidationError):
            return None
        block = self.block(int(number))
        if block is None or index >= len(block.transactions) or block.transactions[index].hash != transaction_hash:
            return None
        return int(number), index

    def transaction(self, transaction_hash: bytes) -> tuple[BlockAPI, int] | None:
        """The canonical block holding the transaction and its index there, or ``None``."""
        with self.lock:
            location = self._location(transaction_hash)
            if location is None:
                return None
            block = self.block(location[0])
            return None if block is None else (block, location[1])

    def receipts(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        with self.lock:
            return tuple(block.get_receipts(self._chain.chaindb))

    def sender(self, tx: SignedTransactionAPI) -> bytes:
        """The sender of a mined transaction (indexed when mined, so no signature recovery)."""
        with self.lock:
            sender = self._senders.get(tx.hash)
            return bytes(tx.sender) if sender is None else sender

    def state(self, number: int) -> StateAPI:
        """The state after block ``number`` (read-only use)."""
        with self.lock:
            return self._chain.get_vm(self._header_at(number)).state

    def block_logs(self, number: int) -> tuple[IndexedLog, ...]:
        """The logs of block ``number``, in order."""
        with self.lock:
            return self._log_index.block(number)

    def logs(self, query: LogQuery) -> list[IndexedLog]:
        """The logs matching ``query``, in chain order. Raises :class:`ChainError` past :data:`MAX_LOG_RESULTS`."""
        with self.lock:
            return self._log_index.query(query)

    def _header_at(self, number: int) -> BlockHeaderAPI:
        header = self.header(number)
        if header is None:
            raise ChainError(f"block {number} not found", reason="block_not_found")
        return header

    @contextlib.contextmanager
    def _scratch_state(self, number: int) -> Iterator[StateAPI]:
        """A throw-away copy of the state after block ``number`` (for dry runs; nothing persists)."""
        with scratch_state(self._chain, self._header_at(number), self._clock) as state:
            yield state

    def _message(self, state: StateAPI, message: CallMessage) -> SignedTransactionAPI:
        """``message`` as the unsigned transaction a dry run executes on ``state``."""
        return call_transaction(self._chain, state, message, self.genesis.gas_limit)

    def call(self, message: CallMessage, number: int) -> bytes:
        """Execute ``message`` on the state after block ``number``; return its output.

        Raises :class:`ExecutionReverted` (with the revert data) on REVERT, :class:`ChainError` on other failures.
        """
        with self.lock:
            return execute_call(
                self._chain, self._header_at(number), message, gas_limit=self.genesis.gas_limit, clock=self._clock
            )

    def estimate_gas(self, message: CallMessage, number: int) -> int:
        """The least gas with which ``message`` succeeds after block ``number`` (binary search, as geth does)."""
        with self.lock:
            return estimate_call_gas(
                self._chain, self._header_at(number), message, gas_limit=self.genesis.gas_limit, clock=self._clock
            )


class LocalChain(ChainReader):
    """One local chain: py-evm state in memory, optionally made durable by a :class:`BlockJournal`.

    Create with :meth:`in_memory` (tests, single process) or :meth:`open` (a data directory, survives restarts).
    """

    genesis: Genesis
    _chain: MiningChain

    def __init__(
        self,
        genesis: Genesis,
        *,
        journal: BlockJournal | None = None,
        clock: Clock = system_clock,
        on_replay: Callable[[int, int], None] | None = None,
    ) -> None:
        self.genesis = genesis
        self._journal = journal
        #: Every block's record: the journal's (durable) or, in memory, this list alone. Rebuilding replays it.
        self._history: list[JournalRecord] = list(journal.records) if journal is not None else []
        self._clock = clock
        self._chain_class = _chain_class(genesis)
        self.lock = threading.RLock()
        self._lock_file: IO[bytes] | None = None
        self._closed = False
        self._reset(on_replay)

    # -- construction --------------------------------------------------------------------------------------------

    @classmethod
    def in_memory(
        cls, chain_id: int = DEFAULT_CHAIN_ID, *, clock: Clock = system_clock, fork: str = DEFAULT_FORK
    ) -> LocalChain:
        """A development chain that lives only in this process."""
        return cls(Genesis.development(chain_id, timestamp=int(clock()), fork=fork), clock=clock)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        chain_id: int | None = None,
        clock: Clock = system_clock,
        on_replay: Callable[[int, int], None] | None = None,
    ) -> LocalChain:
        """Open the chain in ``data_dir``, creating a development chain there if it is empty.

        ``chain_id`` applies when the chain is created; for an existing chain it must match (or be ``None``).
        Only one process may have a data directory open (an advisory lock; released by the OS even after kill -9).
        ``on_replay(done, total)`` reports progress while the journal is replayed.
        """
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChainStorageError(f"cannot create {data_dir}: {exc.strerror}", reason="data_dir") from None
        lock_file = lock_data_dir(data_dir)
        try:
            genesis_path = data_dir / GENESIS_FILE
            journal_path = data_dir / JOURNAL_FILE
            if genesis_path.exists():
                genesis = Genesis.read(genesis_path)
                if chain_id is not None and chain_id != genesis.chain_id:
                    raise ChainStorageError(
                        f"{data_dir} holds chain {genesis.chain_id}, not {chain_id}", reason="chain_id_mismatch"
                    )
            else:
                if journal_path.exists() and journal_path.stat().st_size > 0:
                    raise ChainStorageError(f"{data_dir} has blocks but no {GENESIS_FILE}", reason="genesis_missing")
                genesis = Genesis.development(
                    DEFAULT_CHAIN_ID if chain_id is None else chain_id, timestamp=int(clock())
                )
                genesis.write(genesis_path)
            journal = BlockJournal.open(journal_path)
            try:
                chain = cls(genesis, journal=journal, clock=clock, on_replay=on_replay)
            except BaseException:
                journal.close()
                raise
        except BaseException:
            lock_file.close()
            raise
        chain._lock_file = lock_file
        return chain

    def close(self) -> None:
        """Close the journal and release the data directory."""
        with self.lock:
            self._closed = True
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    def __enter__(self) -> LocalChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reset(self, on_replay: Callable[[int, int], None] | None = None) -> None:
        """Build the chain from genesis and replay the journal (also used to recover from a failed append)."""
        genesis = self.genesis
        params: dict[str, Any] = {
            "coinbase": ZERO_ADDRESS,
            "difficulty": 0,
            "extra_data": b"",
            "gas_limit": genesis.gas_limit,
            "mix_hash": b"\x00" * 32,
            "nonce": b"\x00" * 8,
            "timestamp": genesis.timestamp,
            "base_fee_per_gas": 0,
        }
        self._chain = cast(MiningChain, self._chain_class.from_genesis(AtomicDB(), params, cast(Any, genesis.state())))
        self._senders: dict[bytes, bytes] = {}
        self._log_index = LogIndex()
        records = self._history
        for done, record in enumerate(records, start=1):
            tx = self._decode(record.raw_transaction)
            # The recorded sender spares a signature recovery; a wrong one would change the state root and so the hash.
            vars(tx)["sender"] = record.sender
            block = self._mine(tx, record.timestamp)
            if block.hash != record.block_hash or block.number != record.number:
                raise ChainStorageError(
                    f"replaying the journal diverged at block {record.number}", reason="journal_diverged"
                )
            self._index(block, record.sender)
            if on_replay is not None:
                on_replay(done, len(records))

    # -- writing -------------------------------------------------------------------------------------------------

    def send_raw_transaction(self, raw_transaction: bytes) -> bytes:
        """Validate, execute and mine a signed transaction; return its hash once it is durable.

        Raises :class:`TransactionRejected` (nothing mined) for a malformed or invalid transaction. A transaction
        that reverts is still mined (receipt status 0), as on any Ethereum chain. Resending a transaction that is
        already in the chain returns its hash again and changes nothing.
        """
        with self.lock:
            if self._closed:
                raise ChainError("the chain is closed", reason="chain_closed")
            tx = self._decode(raw_transaction)
            if self._location(tx.hash) is not None:
                return tx.hash
            sender = recover_sender(tx)
            self._check(tx, sender)
            parent = self._chain.get_canonical_head()
            timestamp = max(int(self._clock()), parent.timestamp + 1)
            pending = self._chain.header
            self._chain.set_header_timestamp(timestamp)
            try:
                self._chain.apply_transaction(tx)
            except ValidationError as exc:
                self._chain.header = pending  # refused while applying: nothing was added
                raise TransactionRejected(str(exc)) from None
            try:
                block = self._seal()
            except BaseException:
                self._reset()
                raise
            record = JournalRecord(block.number, timestamp, raw_transaction, sender, block.hash)
            if self._journal is not None:
                try:
                    self._journal.append(record)
                except ChainStorageError:
                    self._reset()  # back to what the journal holds: the block never happened
                    raise
            self._history.append(record)
            self._index(block, sender)
            return tx.hash

    def _decode(self, raw: bytes) -> SignedTransactionAPI:
        return decode_transaction(self._chain, raw)

    def _check(self, tx: SignedTransactionAPI, sender: bytes) -> None:
        check_transaction(
            tx,
            sender,
            chain_id=self.genesis.chain_id,
            state=self._chain.get_vm().state,
            gas_limit=self.genesis.gas_limit,
            base_fee=self._chain.header.base_fee_per_gas or 0,
        )

    def _mine(self, tx: SignedTransactionAPI, timestamp: int) -> BlockAPI:
        self._chain.set_header_timestamp(timestamp)
        self._chain.apply_transaction(tx)
        return self._seal()

    def _seal(self) -> BlockAPI:
        """Mine the pending block (holding one transaction)."""
        return self._chain.mine_block(mix_hash=_prevrandao(self._chain.header.parent_hash))

    def _index(self, block: BlockAPI, sender: bytes) -> None:
        for tx in block.transactions:
            self._senders[tx.hash] = sender
        self._log_index.add(block.number, block_logs(block, block.get_receipts(self._chain.chaindb)))


def _execution_error(error: VMError) -> ChainError:
    if isinstance(error, Revert):
        data = error.args[0] if error.args and isinstance(error.args[0], bytes) else b""
        return ExecutionReverted("execution reverted", data=bytes(data))
    return ChainError(f"execution failed: {error}", reason="execution_failed")


def _legacy_chain_id(v: int) -> int | None:
    """EIP-155: ``v = chain_id * 2 + 35 + recovery``; 27/28 means no chain id (replayable on every chain)."""
    if v in (27, 28):
        return None
    return (v - 35) // 2


def _between(sorted_numbers: list[int], low: int, high: int) -> list[int]:
    return sorted_numbers[bisect.bisect_left(sorted_numbers, low) : bisect.bisect_right(sorted_numbers, high)]


def lock_data_dir(data_dir: Path) -> IO[bytes]:
    """Lock ``data_dir`` for this process (an advisory ``flock`` on its ``LOCK`` file, released by the OS even after
    kill -9); the open lock file, to be closed to release it. ``data_dir_in_use`` if another process holds it."""
    try:
        fh = open(data_dir / LOCK_FILE, "a+b")  # noqa: SIM115 - held until close()
    except OSError as exc:
        raise ChainStorageError(f"cannot open {data_dir}: {exc.strerror}", reason="data_dir") from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise ChainStorageError(f"{data_dir} is in use by another chain node", reason="data_dir_in_use") from None
    fh.truncate(0)
    fh.write(f"{os.getpid()}\n".encode())
    fh.flush()
    return fh
