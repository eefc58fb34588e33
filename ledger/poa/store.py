"""A node's block log: every block it imported, in import order, appended and fsync'ed (``blocks.rlp``).

Like the single node's journal (:mod:`ledger.node.journal`, which explains why py-evm's on-disk database is not used
here), the chain is rebuilt on start by importing the logged blocks again into a fresh in-memory py-evm chain. The
record is different: a Clique node imports whole blocks (many transactions, sealed by a signer) from its own sealer
and from its peers, including blocks of forks that lose (of competing heads the heavier, and of equally heavy ones
the EIP-3436 block choice rule decides, whatever the order they came in). Logging every imported block in import
order — parents before children — and replaying them in that order therefore rebuilds exactly the same tree and the
same head; each replayed block is checked again (seal, rules, state root), so a damaged log is found, not served.

Format: one line per block, the block's RLP in hex, ``\\n``-terminated. A crash can only tear the last line, which
:meth:`BlockLog.open` cuts off (a block the node sealed is gossiped only after its line is durable; a block it
received can be fetched again from its peers). Any other damage is :class:`~ssi.errors.ChainStorageError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Final

from ledger.node.journal import append_line, open_line_file
from ssi.errors import ChainStorageError

__all__ = ["BLOCK_LOG_FILE", "MAX_BLOCK_BYTES", "BlockLog"]

BLOCK_LOG_FILE: Final = "blocks.rlp"
#: A block of the model is far smaller (30M gas of calldata is under 2 MB); anything larger is damage.
MAX_BLOCK_BYTES: Final = 8 * 1024 * 1024


class BlockLog:
    """The block log of one data directory, open for appending. Not thread-safe: the chain's lock guards it."""

    def __init__(self, path: Path, fh: IO[bytes], blocks: list[bytes]) -> None:
        self.path = path
        self._fh = fh
        self._pending = blocks

    @classmethod
    def open(cls, path: Path) -> BlockLog:
        """Open (creating if needed) and read the log; a torn last line is cut off."""
        blocks: list[bytes] = []

        def parse(line: bytes, offset: int) -> None:
            try:
                blocks.append(bytes.fromhex(line[:-1].decode("ascii")))
            except (ValueError, UnicodeDecodeError):
                raise ChainStorageError(f"{path}: damaged record at byte {offset}", reason="journal_corrupt") from None

        return cls(path, open_line_file(path, 2 * MAX_BLOCK_BYTES + 1, parse), blocks)

    def take_blocks(self) -> list[bytes]:
        """The RLP of the blocks read at open, in order (handed out once, for the replay)."""
        blocks, self._pending = self._pending, []
        return blocks

    def append(self, rlp_block: bytes, *, sync: bool = True) -> None:
        """Append one block; durable when this returns if ``sync`` (else at the next :meth:`sync`)."""
        if len(rlp_block) > MAX_BLOCK_BYTES:
            raise ChainStorageError("block too large for the log", reason="journal_write")
        append_line(self._fh, self.path, rlp_block.hex().encode("ascii") + b"\n", sync=sync)

    def sync(self) -> None:
        try:
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise ChainStorageError(f"cannot write {self.path}: {exc.strerror}", reason="journal_write") from None

    def close(self) -> None:
        self._fh.close()
