"""One node's view of a Clique network: a py-evm chain under EIP-225 rules, its block log and transaction pool.

:class:`CliqueChain` is what :class:`ledger.node.EthereumApi` serves for a node of the network model (it implements
:class:`ledger.node.methods.ChainView`), and what the node's sealer and peers work on:

- **import** (:meth:`CliqueChain.import_block`): a block from a peer, or the node's own, is checked in the order that
  rejects bad blocks cheapest — header integrity (py-evm's Clique checks), its parent known, its seal recovered, the
  EIP-225 rules that depend on the chain (:func:`ledger.poa.clique.check_cascading_rules`: period, authorised signer,
  signer limit, difficulty for the turn, checkpoint list) — and only then executed by py-evm, which compares the
  resulting state, receipts and gas with the header's and checks the seal once more;
- **fork choice**: py-evm keeps every valid block and makes the chain with the highest total difficulty canonical
  (in-turn blocks weigh 2 and out-of-turn blocks 1, as in geth — so a shorter chain can win; py-evm's chain database
  mishandles that case: :mod:`ledger.poa.chaindb` has the defect and the adapter). Of two equally heavy heads the
  EIP-3436 block choice rule decides (:func:`ledger.poa.clique.choice_rank`: the lower block number, then the signer
  whose in-turn slot is least recent, then the lower hash), not the order of arrival: with "the first seen stays" a
  network can stop for good with more than half of its signers online (each signer allowed to seal sits on the head
  where it signed recently, the "recently signed" deadlock);
- **building** (:meth:`CliqueChain.build_block`): a child of the head with the pool's executable transactions up to
  the EIP-1559 gas target (so the base fee stays 0), the signer's vote, checkpoint signer list, and its seal.

The EVM rules are London's (py-evm's ``GrayGlacierVM``): the last rule set with proof-of-work headers, which Clique
needs (difficulty 1 or 2, a nonce for votes); contracts are compiled for ``paris``, whose only difference (PREVRANDAO
instead of DIFFICULTY) none of them uses. Every public method takes the chain's lock.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, cast

import rlp  # type: ignore[import-untyped]
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.chains.base import Chain
from eth.consensus.clique._utils import validate_header_integrity
from eth.consensus.clique.clique import CliqueConsensusContext
from eth.consensus.clique.constants import SIGNATURE_LENGTH
from eth.consensus.clique.datatypes import VoteAction
from eth.consensus.clique.snapshot_manager import SnapshotManager
from eth.constants import ZERO_HASH32
from eth.db.atomic import AtomicDB
from eth.vm.forks.gray_glacier import GrayGlacierVM
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.address import to_canonical_address
from eth_utils.exceptions import ValidationError

from ledger.client.signer import ChainSigner
from ledger.node.chain import (
    ChainReader,
    LogIndex,
    block_logs,
    bracketed_gas_search,
    check_transaction,
    decode_transaction,
    lock_data_dir,
    recover_sender,
)
from ledger.poa.chaindb import CliqueChainDB
from ledger.poa.clique import (
    DIFF_IN_TURN,
    DIFF_NO_TURN,
    building_as,
    check_cascading_rules,
    choice_rank,
    clique_vm_configuration,
    header_signer,
    in_turn,
    seal_header,
    signer_limit,
    vote_fields,
)
from ledger.poa.genesis import GENESIS_VANITY, CliqueGenesis
from ledger.poa.store import BLOCK_LOG_FILE, BlockLog
from ledger.poa.txpool import MAX_NONCE_AHEAD, TxPool
from ssi.clock import Clock, system_clock
from ssi.errors import ChainError, ChainStorageError, InvalidBlock, TransactionRejected

__all__ = ["GENESIS_FILE", "CliqueChain", "HeadChange"]

GENESIS_FILE: Final = "genesis.json"
_SIGNER_CACHE: Final = 4096
_log = logging.getLogger("ledger.poa")


def _chain_class(genesis: CliqueGenesis) -> type[Chain]:
    class Context(CliqueConsensusContext):
        epoch_length = genesis.epoch

    class GovssiCliqueChain(Chain):
        chain_id = genesis.chain_id
        chaindb_class = CliqueChainDB  # py-evm's ChainDB with the reorganisation defect handled
        vm_configuration = tuple(clique_vm_configuration(((BlockNumber(0), GrayGlacierVM),)))
        consensus_context_class = Context
        gas_estimator = staticmethod(bracketed_gas_search)

    return GovssiCliqueChain


@dataclass(frozen=True)
class HeadChange:
    """The canonical head moved: to ``head``, replacing ``reorganised`` blocks of the previous canonical chain (0 for
    a plain extension); ``restored`` are raw transactions of replaced blocks that went back into the pool."""

    head: BlockHeaderAPI
    reorganised: int
    restored: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    """What :meth:`CliqueChain.import_block` did with a block."""

    block_hash: bytes
    number: int
    #: ``False``: the block was known already (nothing changed).
    new: bool
    #: The block is now on the canonical chain (the head moved).
    canonical: bool


class CliqueChain(ChainReader):
    """A Clique chain in memory, made durable by a :class:`BlockLog` (see the module docstring).

    Create with :meth:`in_memory` or :meth:`open` (a node's data directory).
    """

    genesis: CliqueGenesis

    def __init__(
        self,
        genesis: CliqueGenesis,
        *,
        log: BlockLog | None = None,
        clock: Clock = system_clock,
        on_replay: Callable[[int, int], None] | None = None,
    ) -> None:
        self.genesis = genesis
        self.lock = threading.RLock()
        self._clock = clock
        self._log: BlockLog | None = None
        self._lock_file: IO[bytes] | None = None
        self._closed = False
        self._chain = cast(
            Chain, _chain_class(genesis).from_genesis(AtomicDB(), genesis.header_params(), cast(Any, genesis.state()))
        )
        self._block_class = self._chain.get_vm_class_for_block_number(BlockNumber(1)).get_block_class()
        self.pool = TxPool()
        self._senders: dict[bytes, bytes] = {}
        self._seal_signers: OrderedDict[bytes, bytes] = OrderedDict()
        self._log_index = LogIndex()
        self._head_listeners: list[Callable[[HeadChange], None]] = []
        self._transaction_listeners: list[Callable[[list[bytes]], None]] = []
        if log is not None:
            self._replay(log, on_replay)
        self._log = log

    # -- construction --------------------------------------------------------------------------------------------

    @classmethod
    def in_memory(cls, genesis: CliqueGenesis, *, clock: Clock = system_clock) -> CliqueChain:
        return cls(genesis, clock=clock)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        genesis: CliqueGenesis,
        *,
        clock: Clock = system_clock,
        on_replay: Callable[[int, int], None] | None = None,
    ) -> CliqueChain:
        """Open the node data directory ``data_dir`` for the network of ``genesis`` (created if empty).

        The directory keeps a copy of the genesis; a directory of another network is refused
        (``chain_storage``/``genesis_mismatch``). Only one process may have it open (``data_dir_in_use``).
        """
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChainStorageError(f"cannot create {data_dir}: {exc.strerror}", reason="data_dir") from None
        lock_file = lock_data_dir(data_dir)
        try:
            genesis_path = data_dir / GENESIS_FILE
            if genesis_path.exists():
                if CliqueGenesis.read(genesis_path) != genesis:
                    raise ChainStorageError(
                        f"{data_dir} belongs to another network (its genesis differs)", reason="genesis_mismatch"
                    )
            else:
                genesis.write(genesis_path)
            log = BlockLog.open(data_dir / BLOCK_LOG_FILE)
            try:
                chain = cls(genesis, log=log, clock=clock, on_replay=on_replay)
            except BaseException:
                log.close()
                raise
        except BaseException:
            lock_file.close()
            raise
        chain._lock_file = lock_file
        return chain

    def _replay(self, log: BlockLog, on_replay: Callable[[int, int], None] | None) -> None:
        blocks = log.take_blocks()
        for done, raw in enumerate(blocks, start=1):
            try:
                self._import(self.decode_block(raw), durable=None)
            except InvalidBlock as exc:
                raise ChainStorageError(
                    f"replaying {log.path} failed at record {done}: {exc.description}", reason="journal_diverged"
                ) from None
            if on_replay is not None:
                on_replay(done, len(blocks))

    def close(self) -> None:
        with self.lock:
            self._closed = True
            if self._log is not None:
                self._log.close()
                self._log = None
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    def __enter__(self) -> CliqueChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def on_head(self, listener: Callable[[HeadChange], None]) -> None:
        """Call ``listener`` (under the chain's lock: it must be quick) whenever the canonical head moves."""
        self._head_listeners.append(listener)

    def on_transactions(self, listener: Callable[[list[bytes]], None]) -> None:
        """Call ``listener`` with the raw bytes of transactions newly accepted through :meth:`send_raw_transaction`."""
        self._transaction_listeners.append(listener)

    # -- blocks in -----------------------------------------------------------------------------------------------

    def decode_block(self, raw: bytes) -> BlockAPI:
        """A block from its RLP; :class:`InvalidBlock` (``malformed_block``) for bytes that are not one."""
        try:
            return cast(BlockAPI, rlp.decode(raw, sedes=self._block_class))
        except Exception as exc:  # untrusted bytes: any decoding failure means "malformed"
            raise InvalidBlock(f"malformed block: {type(exc).__name__}", reason="malformed_block") from None

    def import_block(self, block: BlockAPI, *, sync: bool = True) -> ImportResult:
        """Check and import ``block`` (see the module docstring); :class:`InvalidBlock` if it breaks a rule.

        The block is appended to the block log — fsync'ed before this returns if ``sync``, else at the next
        :meth:`flush` (blocks fetched from peers in bulk can be fetched again after a crash).
        """
        with self.lock:
            if self._closed:
                raise ChainError("the chain is closed", reason="chain_closed")
            return self._import(block, durable=sync)

    def flush(self) -> None:
        """Make every logged block durable."""
        with self.lock:
            if self._log is not None:
                self._log.sync()

    def _import(self, block: BlockAPI, *, durable: bool | None) -> ImportResult:
        header = block.header
        if self.knows(block.hash):
            return ImportResult(block.hash, header.block_number, new=False, canonical=False)
        parent = self._header_by_hash(header.parent_hash)
        if parent is None:
            raise InvalidBlock(f"block {header.block_number}: parent unknown", reason="unknown_parent")
        if header.block_number != parent.block_number + 1:
            raise InvalidBlock(f"block {header.block_number} does not follow its parent", reason="invalid_block")
        try:
            validate_header_integrity(header, self.genesis.epoch)
        except ValidationError as exc:
            raise InvalidBlock(f"block {header.block_number}: {exc}", reason="invalid_header") from None
        signer = self.seal_signer(header)
        signers = self.signers_after(parent)
        check_cascading_rules(
            header,
            parent,
            signer=signer,
            signers=signers,
            recent_signers=self.recent_signers(parent, signer_limit(len(signers)) - 1),
            period=self.genesis.period,
            epoch=self.genesis.epoch,
        )
        try:
            result = self._chain.import_block(block)
        except Exception as exc:  # anything py-evm refuses while executing a foreign block makes it invalid
            _log.debug("block %d refused by py-evm", header.block_number, exc_info=True)
            raise InvalidBlock(
                f"block {header.block_number}: {type(exc).__name__}: {str(exc)[:200]}", reason="invalid_block"
            ) from None
        if durable is not None and self._log is not None:
            self._log.append(rlp.encode(block), sync=durable)
        for tx in block.transactions:
            self._senders[tx.hash] = bytes(tx.sender)
        new_canonical, old_canonical = result.new_canonical_blocks, result.old_canonical_blocks
        if not new_canonical:
            new_canonical, old_canonical = self._choose_between_equals(header)
        canonical = bool(new_canonical)
        if canonical:
            self._canonical_changed(new_canonical, old_canonical)
        return ImportResult(block.hash, header.block_number, new=True, canonical=canonical)

    def _choose_between_equals(self, header: BlockHeaderAPI) -> tuple[tuple[BlockAPI, ...], tuple[BlockAPI, ...]]:
        """py-evm stored ``header``'s block without making it canonical (it is not heavier than the head): make it
        the head if the EIP-3436 rule ranks it above the head (an equally heavy head with a lower number, a less
        recent in-turn slot of its signer, or a lower hash); the blocks that became and stopped being canonical."""
        head = self._chain.get_canonical_head()
        if self._chain.get_score(header.hash) != self._chain.get_score(head.hash):  # lighter: no need to rank
            return (), ()
        if self._choice_rank(header) <= self._choice_rank(head):
            return (), ()
        chaindb = cast(CliqueChainDB, self._chain.chaindb)
        new_hashes, old_hashes = chaindb.set_canonical_head(header)
        _log.info(
            "block %d replaces the equally heavy head %d (EIP-3436 block choice)",
            header.block_number,
            head.block_number,
        )
        return (
            tuple(self._chain.get_block_by_hash(block_hash) for block_hash in new_hashes),
            tuple(self._chain.get_block_by_hash(block_hash) for block_hash in old_hashes),
        )

    def _choice_rank(self, header: BlockHeaderAPI) -> tuple[int, int, int, int]:
        """:func:`choice_rank` of a stored block: its total difficulty, and its signer's index among the signers of
        its parent's snapshot (the list its turn is counted in)."""
        weight = int(self._chain.get_score(header.hash))
        parent = self._header_by_hash(header.parent_hash) if header.block_number > 0 else None
        if parent is None:
            return choice_rank(header, total_difficulty=weight, signer_index=0, signer_count=0)
        signers = self.signers_after(parent)
        signer = self.seal_signer(header)
        index = signers.index(signer) if signer in signers else 0  # a stored block's signer was authorised
        return choice_rank(header, total_difficulty=weight, signer_index=index, signer_count=len(signers))

    def _canonical_changed(self, new: tuple[BlockAPI, ...], old: tuple[BlockAPI, ...]) -> None:
        """Index the new canonical blocks, update the pool, tell the listeners."""
        new_blocks = sorted(new, key=lambda block: block.number)
        self._log_index.truncate(new_blocks[0].number)
        included: set[bytes] = set()
        for block in new_blocks:
            self._log_index.add(block.number, block_logs(block, block.get_receipts(self._chain.chaindb)))
            included.update(tx.hash for tx in block.transactions)
        head = self._chain.get_canonical_head()
        state = self._chain.get_vm(head).state
        restored: list[bytes] = []
        for block in sorted(old, key=lambda block: block.number):
            for tx in block.transactions:
                sender = self._senders.get(tx.hash)
                if tx.hash in included or sender is None or tx.nonce < state.get_nonce(Address(sender)):
                    continue
                raw = tx.encode()
                try:
                    if self.pool.add(tx, raw, sender):
                        restored.append(raw)
                except TransactionRejected:
                    pass
        for tx_hash in included:
            self.pool.remove(tx_hash)
        for sender in self.pool.all_senders():
            self.pool.prune(sender, state.get_nonce(Address(sender)))
        change = HeadChange(head, len(old), tuple(restored))
        for listener in self._head_listeners:
            listener(change)

    # -- Clique state ----------------------------------------------------------------------------------------------

    def seal_signer(self, header: BlockHeaderAPI) -> bytes:
        """The address that sealed ``header`` (cached by hash); :class:`InvalidBlock` for an unreadable seal."""
        with self.lock:
            if header.block_number == 0:
                return bytes(20)
            found = self._seal_signers.get(header.hash)
            if found is None:
                found = header_signer(header)
                self._seal_signers[header.hash] = found
                if len(self._seal_signers) > _SIGNER_CACHE:
                    self._seal_signers.popitem(last=False)
            return found

    def signers_after(self, header: BlockHeaderAPI) -> list[bytes]:
        """The signers, ascending, once ``header``'s block is applied (py-evm's snapshot: votes and checkpoints)."""
        with self.lock:
            manager = cast(SnapshotManager, cast(Any, self._chain.consensus_context).snapshot_manager)
            try:
                snapshot = manager.get_or_create_snapshot(header.block_number, header.hash)
            except ValidationError as exc:
                raise InvalidBlock(f"no signer snapshot for block {header.block_number}: {exc}") from None
            return sorted(bytes(signer) for signer in snapshot.signers)

    def tally(self, header: BlockHeaderAPI) -> dict[bytes, tuple[bool, int]]:
        """The open votes after ``header``: subject -> (authorise?, votes)."""
        with self.lock:
            manager = cast(SnapshotManager, cast(Any, self._chain.consensus_context).snapshot_manager)
            snapshot = manager.get_or_create_snapshot(header.block_number, header.hash)
            return {
                bytes(subject): (tally.action is VoteAction.NOMINATE, tally.votes)
                for subject, tally in snapshot.tallies.items()
            }

    def recent_signers(self, header: BlockHeaderAPI, count: int) -> list[bytes]:
        """The signers of ``header``'s block and the ``count - 1`` before it (the genesis has none)."""
        with self.lock:
            found: list[bytes] = []
            current: BlockHeaderAPI | None = header
            while current is not None and current.block_number > 0 and len(found) < count:
                found.append(self.seal_signer(current))
                current = self._header_by_hash(current.parent_hash)
            return found

    def total_difficulty(self, block_hash: bytes | None = None) -> int:
        """The fork-choice weight of a block (default: the head)."""
        with self.lock:
            target = self._chain.get_canonical_head().hash if block_hash is None else Hash32(block_hash)
            return int(self._chain.get_score(target))

    def knows(self, block_hash: bytes) -> bool:
        """Whether the block was imported (canonical or not)."""
        with self.lock:
            return self._header_by_hash(block_hash) is not None

    def ancestors(self, block_hash: bytes, count: int) -> list[BlockAPI]:
        """The block ``block_hash`` and up to ``count - 1`` of its ancestors, newest first, genesis excluded (empty if
        the block is unknown)."""
        with self.lock:
            found: list[BlockAPI] = []
            header = self._header_by_hash(block_hash)
            while header is not None and header.block_number > 0 and len(found) < count:
                found.append(self._chain.get_block_by_header(header))
                header = self._header_by_hash(header.parent_hash)
            return found

    # -- building --------------------------------------------------------------------------------------------------

    def build_block(self, signer: ChainSigner, *, timestamp: int, vote: tuple[bytes, bool] | None = None) -> BlockAPI:
        """A sealed child of the head: the pool's executable transactions (up to the gas target), ``vote`` (subject,
        authorise) unless the block is a checkpoint, difficulty for ``signer``'s turn. Not imported."""
        with self.lock:
            parent = self._chain.get_canonical_head()
            number = parent.block_number + 1
            me = bytes(to_canonical_address(signer.address))
            signers = self.signers_after(parent)
            checkpoint = number % self.genesis.epoch == 0
            subject, authorize = (None, False) if vote is None or checkpoint else vote
            coinbase, nonce = vote_fields(subject, authorize)
            extra = GENESIS_VANITY + (b"".join(signers) if checkpoint else b"") + bytes(SIGNATURE_LENGTH)
            header = self._chain.create_header_from_parent(
                parent,
                timestamp=timestamp,
                coinbase=Address(coinbase),
                nonce=nonce,
                difficulty=DIFF_IN_TURN if in_turn(number, me, signers) else DIFF_NO_TURN,
                extra_data=extra,
                mix_hash=ZERO_HASH32,
                gas_limit=parent.gas_limit,
            )
            with building_as(me):
                vm = self._chain.get_vm(header)
                transactions, receipts, filled = self._fill(vm, header)
                block = vm.set_block_transactions_and_withdrawals(vm.get_block(), filled, transactions, receipts)
                block = vm.mine_block(block).block
            return block.copy(header=seal_header(block.header, signer))

    def _fill(
        self, vm: Any, header: BlockHeaderAPI
    ) -> tuple[list[SignedTransactionAPI], list[ReceiptAPI], BlockHeaderAPI]:
        """Apply pooled transactions sender by sender while they fit under the gas target (EIP-1559 elasticity 2)."""
        target = header.gas_limit // 2
        transactions: list[SignedTransactionAPI] = []
        receipts: list[ReceiptAPI] = []
        state = vm.state
        for sender in self.pool.senders():
            for pooled in list(self.pool.sequence_from(sender, state.get_nonce(Address(sender)))):
                tx = pooled.tx
                if header.gas_used + tx.gas > target:
                    break
                try:
                    receipt, _ = vm.apply_transaction(header, tx)
                except ValidationError as exc:  # e.g. funds spent by an earlier transaction: the rest must wait
                    _log.debug("transaction 0x%s left in the pool: %s", tx.hash.hex(), exc)
                    break
                header = vm.add_receipt_to_header(header, receipt)
                transactions.append(tx)
                receipts.append(receipt)
        return transactions, receipts, header

    # -- transactions in -----------------------------------------------------------------------------------------

    def send_raw_transaction(self, raw_transaction: bytes) -> bytes:
        """Admit a signed transaction into the pool (see :mod:`ledger.poa.txpool`); its hash. A transaction that is
        pooled or in the canonical chain already is accepted again without change."""
        with self.lock:
            tx_hash, new = self._admit(raw_transaction)
            if new:
                for listener in self._transaction_listeners:
                    listener([raw_transaction])
            return tx_hash

    def receive_transactions(self, raw_transactions: list[bytes]) -> int:
        """Admit transactions gossiped by a peer (not passed on again); how many were new. Refusals are dropped."""
        accepted = 0
        with self.lock:
            for raw in raw_transactions:
                try:
                    accepted += self._admit(raw)[1]
                except TransactionRejected as exc:
                    _log.debug("gossiped transaction refused: %s", exc.description)
        return accepted

    def _admit(self, raw: bytes) -> tuple[bytes, bool]:
        if self._closed:
            raise ChainError("the chain is closed", reason="chain_closed")
        tx = decode_transaction(self._chain, raw)
        if tx.hash in self.pool or self._location(tx.hash) is not None:
            return tx.hash, False
        sender = recover_sender(tx)
        head = self._chain.get_canonical_head()
        next_header = self._chain.create_header_from_parent(head)
        check_transaction(
            tx,
            sender,
            chain_id=self.genesis.chain_id,
            state=self._chain.get_vm(head).state,
            gas_limit=head.gas_limit,
            base_fee=getattr(next_header, "base_fee_per_gas", 0) or 0,
            max_nonce_ahead=MAX_NONCE_AHEAD,
        )
        self.pool.add(tx, raw, sender)
        self._senders[tx.hash] = sender
        return tx.hash, True

    def pending_nonce(self, sender: bytes) -> int:
        """The next nonce of ``sender`` counting its pooled transactions (``eth_getTransactionCount`` ``pending``)."""
        with self.lock:
            head = self._chain.get_canonical_head()
            return self.pool.pending_nonce(sender, self._chain.get_vm(head).state.get_nonce(Address(sender)))
