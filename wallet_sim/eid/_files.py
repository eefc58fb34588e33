"""Chip memory on disk: one JSON file per card or Smart-eID, replaced atomically, changed under an exclusive lock.

A write goes to a temporary file in the same directory, is flushed to disk and renamed over the old file, so a crash
leaves the old state or the new one, never a mix (a wrong PIN must never be forgotten). Read-modify-write runs under
``fcntl.flock`` on a sibling lock file, so two processes using the same card (two CLI calls, the web wallet) count
every PIN entry.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ssi.errors import WalletError

__all__ = ["locked", "read_json", "write_json_atomic"]

#: fsync every write (tests of long operation sequences may switch it off; the rename stays atomic either way).
DURABLE = True


def write_json_atomic(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` (mode 0600) by rename, fsync'ed."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle, ensure_ascii=False, indent=1)
            handle.flush()
            if DURABLE:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if not DURABLE:
        return
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise WalletError(f"{path} is not readable chip memory (corrupt JSON)", reason="eid_storage_corrupt") from None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for ``path`` (on ``path`` + ``.lock``)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
