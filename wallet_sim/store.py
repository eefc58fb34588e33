"""The wallet's credential store: one SQLite file per wallet (``<data dir>/wallet.db``), encrypted at rest with a key
derived from the wallet PIN, every change in one transaction.

Keys: the PIN goes through Argon2id (RFC 9106; parameters and salt in the file) to a key-encryption key that unwraps
a random 256-bit data key with AES-256-GCM; the data key seals every row (AES-256-GCM, a fresh 96-bit nonce per write,
the table and row id as associated data, so a sealed value moved to another row or table does not open). Changing
the PIN re-wraps the data key only. Only row ids, timestamps, the instance ``used`` flag and the secure-element key
state are in the clear: no claim, credential, issuer name or key is.

Atomicity: writes run in ``BEGIN IMMEDIATE`` transactions (one writer at a time across processes, WAL journal, busy
timeout), so a credential appears with all its instances and bound keys or not at all, and a deletion takes the
credential, its instances and its keys together.

Wrong PINs are counted in the file: after :data:`FREE_ATTEMPTS` wrong ones in a row the store makes the user wait
(30 s, doubling per further failure) before it tries another, like a secure element's retry counter. Someone holding
the file can of course try PINs offline; Argon2id makes each try cost a quarter of a second and 64 MiB.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ssi.clock import Clock
from ssi.encoding import json_dumps, json_loads
from ssi.errors import EncodingError, WalletError, WalletPinError

__all__ = [
    "DB_NAME",
    "DEFAULT_KDF",
    "FAST_KDF",
    "FREE_ATTEMPTS",
    "KdfParams",
    "SealedRow",
    "WalletStore",
    "check_pin_policy",
]

DB_NAME: Final = "wallet.db"
SCHEMA_VERSION: Final = 1
#: Wrong PINs accepted before the store makes the user wait.
FREE_ATTEMPTS: Final = 5
MIN_PIN_LENGTH: Final = 6
MAX_PIN_LENGTH: Final = 64
_DEK_AAD: Final = b"govssi-wallet-data-key-v1"
_TABLES: Final = frozenset({"credential", "instance", "se_key", "pending"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS credential (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS instance (
    id TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES credential(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS instance_by_credential ON instance(credential_id, seq);
CREATE TABLE IF NOT EXISTS se_key (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, state TEXT NOT NULL, owner TEXT, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY, created_at REAL NOT NULL, sealed BLOB NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id parameters (RFC 9106 §3.1): ``time_cost`` passes over ``memory_cost`` KiB, ``parallelism`` lanes.

    The default (3 passes, 64 MiB) is RFC 9106 §4's second recommended option for memory-constrained use."""

    time_cost: int = 3
    memory_cost: int = 64 * 1024
    parallelism: int = 1

    def derive(self, pin: str, salt: bytes) -> bytes:
        return hash_secret_raw(
            pin.encode("utf-8"),
            salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
            hash_len=32,
            type=Type.ID,
        )


DEFAULT_KDF: Final = KdfParams()
#: For tests only: the cheapest Argon2id (milliseconds instead of a quarter second per unlock).
FAST_KDF: Final = KdfParams(time_cost=1, memory_cost=8, parallelism=1)


@dataclass(frozen=True, slots=True)
class SealedRow:
    """A decrypted row: its id, clear columns, and the sealed JSON object."""

    id: str
    created_at: float
    data: dict[str, Any]
    columns: dict[str, Any]


def check_pin_policy(pin: str) -> None:
    """A wallet PIN has 6 to 64 characters and is not one character repeated (``000000``)."""
    if not isinstance(pin, str) or not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise WalletPinError(
            f"the wallet PIN must have {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} characters", reason="weak_wallet_pin"
        )
    if len(set(pin)) == 1:
        raise WalletPinError("the wallet PIN must not repeat one character only", reason="weak_wallet_pin")


class WalletStore:
    """An open (unlocked) wallet file. Create with :meth:`create`, open with :meth:`open`; thread-safe."""

    def __init__(self, path: Path, connection: sqlite3.Connection, data_key: bytes, *, clock: Clock) -> None:
        self.path = path
        self._db = connection
        self._aead = AESGCM(data_key)
        self._data_key = data_key
        self._lock = threading.RLock()
        self._clock = clock

    # -- life cycle -------------------------------------------------------------------------------------------------

    @staticmethod
    def exists(data_dir: Path) -> bool:
        return (Path(data_dir) / DB_NAME).is_file()

    @classmethod
    def create(cls, data_dir: Path, pin: str, *, kdf: KdfParams = DEFAULT_KDF, clock: Clock = time.time) -> WalletStore:
        """A new, empty wallet in ``data_dir`` (created 0700; the file 0600). Refuses to overwrite one."""
        check_pin_policy(pin)
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = data_dir / DB_NAME
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise WalletError(f"a wallet already exists in {data_dir}", reason="wallet_exists") from None
        os.close(fd)
        try:
            connection = _connect(path)
            salt = secrets.token_bytes(16)
            data_key = AESGCM.generate_key(bit_length=256)
            with _immediate(connection):
                _create_schema(connection)
                _set_meta(connection, "schema_version", str(SCHEMA_VERSION))
                _set_meta(connection, "kdf", json_dumps(asdict(kdf)))
                _set_meta(connection, "salt", salt.hex())
                _set_meta(connection, "wrapped_key", _wrap(kdf.derive(pin, salt), data_key).hex())
                _set_meta(connection, "pin_failures", "0")
                _set_meta(connection, "pin_locked_until", "0")
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return cls(path, connection, data_key, clock=clock)

    @classmethod
    def open(cls, data_dir: Path, pin: str, *, clock: Clock = time.time) -> WalletStore:
        """Unlock the wallet in ``data_dir`` with its PIN (:class:`WalletPinError` when wrong or locked)."""
        path = Path(data_dir) / DB_NAME
        if not path.is_file():
            raise WalletError(f"there is no wallet in {data_dir}", reason="wallet_not_found")
        connection = _connect(path)
        try:
            data_key = _unlock(connection, pin, clock)
        except BaseException:
            connection.close()
            raise
        return cls(path, connection, data_key, clock=clock)

    def verify_pin(self, pin: str) -> None:
        """Check the PIN again (the secure element's unlock), counting wrong attempts like :meth:`open`."""
        with self._lock:
            data_key = _unlock(self._db, pin, self._clock)
        if not hmac.compare_digest(data_key, self._data_key):  # another process changed the PIN meanwhile
            raise WalletPinError("the wallet PIN is wrong", reason="wrong_wallet_pin")

    def change_pin(self, old_pin: str, new_pin: str) -> None:
        """Re-wrap the data key under a new PIN (with a new salt)."""
        check_pin_policy(new_pin)
        with self._lock:
            data_key = _unlock(self._db, old_pin, self._clock)
            kdf = _kdf(self._db)
            salt = secrets.token_bytes(16)
            with _immediate(self._db):
                _set_meta(self._db, "salt", salt.hex())
                _set_meta(self._db, "wrapped_key", _wrap(kdf.derive(new_pin, salt), data_key).hex())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> WalletStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sealing ----------------------------------------------------------------------------------------------------

    def seal(self, table: str, row_id: str, data: Mapping[str, Any]) -> bytes:
        nonce = secrets.token_bytes(12)
        plain = json_dumps(dict(data)).encode("utf-8")
        return nonce + self._aead.encrypt(nonce, plain, f"{table}:{row_id}".encode())

    def unseal(self, table: str, row_id: str, blob: bytes) -> dict[str, Any]:
        try:
            plain = self._aead.decrypt(blob[:12], blob[12:], f"{table}:{row_id}".encode())
            value = json_loads(plain)
        except (InvalidTag, ValueError, EncodingError):
            raise WalletError(f"a {table} row of the wallet file is damaged", reason="store_damaged") from None
        if not isinstance(value, dict):
            raise WalletError(f"a {table} row of the wallet file is damaged", reason="store_damaged")
        return value

    # -- transactions and rows --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction (``BEGIN IMMEDIATE``): everything in it commits together or not at all."""
        with self._lock, _immediate(self._db):
            yield Transaction(self)

    def get(self, table: str, row_id: str) -> SealedRow | None:
        _check_table(table)
        with self._lock:
            cursor = self._db.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))  # noqa: S608 - fixed names
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        return None if row is None else self._row(table, names, row)

    def rows(self, table: str, where: str = "", params: tuple[Any, ...] = ()) -> list[SealedRow]:
        """Rows of ``table`` (``where`` is a fixed SQL condition from this package, values go in ``params``)."""
        _check_table(table)
        order = "credential_id, seq" if table == "instance" else "created_at, id"
        sql = f"SELECT * FROM {table} {'WHERE ' + where if where else ''} ORDER BY {order}"  # noqa: S608
        with self._lock:
            cursor = self._db.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [self._row(table, names, row) for row in cursor.fetchall()]

    def count(self, table: str) -> int:
        _check_table(table)
        with self._lock:
            (n,) = self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608
        return int(n)

    def _row(self, table: str, names: list[str], row: tuple[Any, ...]) -> SealedRow:
        values = dict(zip(names, row, strict=True))
        row_id = values.pop("id")
        sealed = values.pop("sealed")
        created = float(values.pop("created_at", 0.0))
        return SealedRow(row_id, created, self.unseal(table, row_id, sealed), values)

    @property
    def now(self) -> float:
        return self._clock()


class Transaction:
    """Writes inside :meth:`WalletStore.transaction`."""

    def __init__(self, store: WalletStore) -> None:
        self._store = store
        self._db = store._db

    def insert(self, table: str, row_id: str, data: Mapping[str, Any], **columns: Any) -> None:
        _check_table(table)
        names = ["id", "sealed", *columns]
        values = [row_id, self._store.seal(table, row_id, data), *columns.values()]
        if table != "instance":
            names.append("created_at")
            values.append(self._store.now)
        marks = ", ".join("?" for _ in names)
        try:
            self._db.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)  # noqa: S608
        except sqlite3.IntegrityError:
            raise WalletError(f"{table} {row_id} exists already", reason="store_conflict") from None

    def update(self, table: str, row_id: str, data: Mapping[str, Any] | None = None, **columns: Any) -> bool:
        _check_table(table)
        sets, values = [], []
        if data is not None:
            sets.append("sealed = ?")
            values.append(self._store.seal(table, row_id, data))
        for name, value in columns.items():
            sets.append(f"{name} = ?")
            values.append(value)
        cursor = self._db.execute(f"UPDATE {table} SET {', '.join(sets)} WHERE id = ?", (*values, row_id))  # noqa: S608
        return cursor.rowcount == 1

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """A fixed SQL statement of this package inside the transaction (conditional updates, cascades)."""
        return self._db.execute(sql, params)

    def delete(self, table: str, row_id: str) -> bool:
        _check_table(table)
        return self._db.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,)).rowcount == 1  # noqa: S608


# -- helpers ------------------------------------------------------------------------------------------------------


def _check_table(table: str) -> None:
    if table not in _TABLES:
        raise ValueError(f"unknown wallet table {table!r}")


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 30000")
        connection.execute("PRAGMA secure_delete = ON")  # deleted credentials are overwritten, not left in free pages
    except sqlite3.DatabaseError:
        connection.close()
        raise WalletError(f"{path} is not a govssi wallet file", reason="store_damaged") from None
    return connection


def _create_schema(connection: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)


@contextlib.contextmanager
def _immediate(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _set_meta(connection: sqlite3.Connection, name: str, value: str) -> None:
    connection.execute(
        "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
        (
            name,
            value,
            value,
        ),
    )


def _meta(connection: sqlite3.Connection, name: str) -> str:
    row = connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise WalletError(f"the wallet file lacks {name}; it is not a govssi wallet", reason="store_damaged")
    return str(row[0])


def _kdf(connection: sqlite3.Connection) -> KdfParams:
    try:
        params = json.loads(_meta(connection, "kdf"))
        return KdfParams(**{k: int(params[k]) for k in ("time_cost", "memory_cost", "parallelism")})
    except (ValueError, KeyError, TypeError):
        raise WalletError("the wallet file's key derivation parameters are damaged", reason="store_damaged") from None


def _wrap(kek: bytes, data_key: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, _DEK_AAD)


def _unlock(connection: sqlite3.Connection, pin: str, clock: Clock) -> bytes:
    """Derive the key-encryption key from the PIN and unwrap the data key, with the retry counter."""
    try:
        version = int(_meta(connection, "schema_version"))
    except (sqlite3.DatabaseError, ValueError):
        raise WalletError("the file is not a govssi wallet", reason="store_damaged") from None
    if version != SCHEMA_VERSION:
        raise WalletError(f"wallet file version {version} is not supported", reason="store_version")
    now = clock()
    locked_until = float(_meta(connection, "pin_locked_until"))
    if now < locked_until:
        raise WalletPinError(
            f"too many wrong PINs: try again in {int(locked_until - now) + 1} s", reason="wallet_pin_locked"
        )
    kdf = _kdf(connection)
    salt = bytes.fromhex(_meta(connection, "salt"))
    wrapped = bytes.fromhex(_meta(connection, "wrapped_key"))
    try:
        data_key = AESGCM(kdf.derive(pin, salt)).decrypt(wrapped[:12], wrapped[12:], _DEK_AAD)
    except InvalidTag:
        with _immediate(connection):
            failures = int(_meta(connection, "pin_failures")) + 1
            _set_meta(connection, "pin_failures", str(failures))
            if failures >= FREE_ATTEMPTS:
                _set_meta(connection, "pin_locked_until", str(now + 30 * 2 ** (failures - FREE_ATTEMPTS)))
        left = max(FREE_ATTEMPTS - failures, 0)
        raise WalletPinError(f"the wallet PIN is wrong ({left} attempts before a wait)") from None
    if _meta(connection, "pin_failures") != "0":
        with _immediate(connection):
            _set_meta(connection, "pin_failures", "0")
            _set_meta(connection, "pin_locked_until", "0")
    return data_key
