"""The block journal: an append-only, fsync'ed record of every block a local chain mined.

Why a journal (and not py-evm's on-disk database): py-evm persists through LevelDB (``plyvel``), which is not
installable here, and a key-value store written by many small puts is only crash-consistent if every block's writes
land atomically. A local chain mines exactly one transaction per block, so the chain is fully determined by its genesis
plus, per block, the raw signed transaction and the block timestamp. The node appends that record and fsyncs it
*before* it answers ``eth_sendRawTransaction``; on start it replays the records into a fresh in-memory py-evm chain.
Replay is deterministic (fixed genesis, recorded timestamps, PREVRANDAO derived from the parent hash), and each record
carries the block hash it produced, so a replay that diverges — a damaged journal, a different EVM — stops with an error
instead of serving a different chain. The journal is also portable: raw signed transactions in order, replayable into
any Ethereum client.

Crash safety (kill -9, power loss): a record is one line of JSON ending in ``\\n``. A crash while writing can only
leave a partial last line; that transaction was never acknowledged, so :meth:`BlockJournal.open` drops the partial line.
Any other damage is refused with :class:`~ssi.errors.ChainStorageError`.

Cost: replay re-executes every transaction (a few milliseconds each on py-evm), so restart time grows with the chain —
fine for development and demo chains; a state snapshot would bound it if chains grow large.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ssi.errors import ChainStorageError

__all__ = ["BlockJournal", "JournalRecord", "append_line", "open_line_file"]

#: A single record is a raw transaction plus ~200 bytes; anything larger than this is damage, not data.
MAX_RECORD = 8 * 1024 * 1024


@dataclass(frozen=True)
class JournalRecord:
    """One mined block: its number and timestamp, the transaction it holds, and the hash it must come out with."""

    number: int
    timestamp: int
    raw_transaction: bytes
    #: The transaction's sender, recorded so replay need not recover it from the signature again (the block hash
    #: check still catches a wrong sender: the state root would differ).
    sender: bytes
    block_hash: bytes

    def to_line(self) -> bytes:
        doc = {
            "number": self.number,
            "timestamp": self.timestamp,
            "tx": "0x" + self.raw_transaction.hex(),
            "from": "0x" + self.sender.hex(),
            "hash": "0x" + self.block_hash.hex(),
        }
        return json.dumps(doc, separators=(",", ":")).encode("ascii") + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> JournalRecord:
        doc: Any = json.loads(line)
        if not isinstance(doc, dict):
            raise ValueError("record is not an object")
        number, timestamp = doc["number"], doc["timestamp"]
        if not isinstance(number, int) or not isinstance(timestamp, int) or number < 1 or timestamp < 0:
            raise ValueError("bad block number or timestamp")
        record = cls(
            number=number,
            timestamp=timestamp,
            raw_transaction=_hex_bytes(doc["tx"]),
            sender=_hex_bytes(doc["from"]),
            block_hash=_hex_bytes(doc["hash"]),
        )
        if len(record.sender) != 20 or len(record.block_hash) != 32 or not record.raw_transaction:
            raise ValueError("bad field length")
        return record


def _hex_bytes(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError("expected 0x-prefixed hex")
    return bytes.fromhex(value[2:])


def open_line_file(path: Path, max_line: int, parse: Callable[[bytes, int], None]) -> IO[bytes]:
    """Open (creating if needed) an append-only file of ``\\n``-terminated records, kept open for appending.

    ``parse(line, offset)`` gets each complete line in order (it raises :class:`ChainStorageError` on damage). A last
    line without its ``\\n`` is a torn write of a record that was never acknowledged: it is cut off (and the cut made
    durable). A line longer than ``max_line`` is damage, not data.
    """
    try:
        fh = open(path, "a+b")  # noqa: SIM115 - kept open for appending until the owner closes it
    except OSError as exc:
        raise ChainStorageError(f"cannot open {path}: {exc.strerror}", reason="journal_unreadable") from None
    try:
        fh.seek(0)
        good_end = 0
        while True:
            line = fh.readline(max_line + 1)
            if not line:
                break
            if not line.endswith(b"\n"):
                if len(line) > max_line:
                    raise ChainStorageError(f"{path}: oversized record at byte {good_end}", reason="journal_corrupt")
                break  # torn write of the last record: never acknowledged
            parse(line, good_end)
            good_end += len(line)
        fh.seek(0, os.SEEK_END)
        if fh.tell() != good_end:
            fh.truncate(good_end)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        fh.close()
        raise
    return fh


def append_line(fh: IO[bytes], path: Path, line: bytes, *, sync: bool) -> None:
    """Append one record line; durable when this returns if ``sync``. A failed write leaves no partial line behind
    (a later append would otherwise follow garbage)."""
    start = fh.tell()
    try:
        fh.write(line)
        fh.flush()
        if sync:
            os.fsync(fh.fileno())
    except OSError as exc:
        try:
            fh.truncate(start)
            fh.seek(start)
        except OSError:
            pass
        raise ChainStorageError(f"cannot write {path}: {exc.strerror}", reason="journal_write") from None


class BlockJournal:
    """The journal file of one data directory, open for appending. Not thread-safe: the chain's lock guards it."""

    def __init__(self, path: Path, fh: IO[bytes], records: list[JournalRecord]) -> None:
        self.path = path
        self._fh = fh
        self._records = records

    @classmethod
    def open(cls, path: Path) -> BlockJournal:
        """Open (creating if needed) and read the journal; a torn last line is cut off (it was never acknowledged)."""
        records: list[JournalRecord] = []

        def parse(line: bytes, offset: int) -> None:
            try:
                record = JournalRecord.from_line(line)
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                raise ChainStorageError(
                    f"{path}: damaged record at byte {offset} ({exc})", reason="journal_corrupt"
                ) from None
            if record.number != len(records) + 1:
                raise ChainStorageError(
                    f"{path}: record for block {record.number} where block {len(records) + 1} was expected",
                    reason="journal_corrupt",
                )
            records.append(record)

        return cls(path, open_line_file(path, MAX_RECORD, parse), records)

    @property
    def records(self) -> list[JournalRecord]:
        """The records read at open plus those appended since."""
        return self._records

    def append(self, record: JournalRecord) -> None:
        """Append ``record`` durably: written, flushed and fsync'ed when this returns."""
        if record.number != len(self._records) + 1:
            raise ChainStorageError("journal records must be appended in block order", reason="journal_order")
        append_line(self._fh, self.path, record.to_line(), sync=True)
        self._records.append(record)

    def close(self) -> None:
        self._fh.close()
