"""The genesis of a local chain, and the development accounts it funds.

A local chain is fully determined by its genesis (this module) plus the ordered list of transactions it accepted with
their block timestamps (:mod:`ledger.node.journal`). The genesis is written once, when a data directory is created, to
``genesis.json``; it never changes afterwards, so a restarted node rebuilds exactly the same blocks.

Chain id: :data:`DEFAULT_CHAIN_ID` is 1337 (0x539), the conventional id of single-node development chains; the
did:ethr network identifier on it is ``did:ethr:0x539:0x…``. Choose another with ``--chain-id`` when several local
chains must not be confused (a wallet that remembers a chain by id would mix them up).

Fees: the chain starts with base fee 0 and every block holds one transaction (far below the EIP-1559 gas target), so
the base fee stays 0 — a free-gas chain, like a permissioned Hyperledger Besu/QBFT network with ``zeroBaseFee``.
Any key can send transactions with zero fees; the funded development accounts exist for tools that insist on paying.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_keys.datatypes import PrivateKey as EthPrivateKey
from eth_utils.address import to_canonical_address, to_checksum_address

from ssi.errors import ChainStorageError

__all__ = [
    "DEFAULT_CHAIN_ID",
    "DEFAULT_FORK",
    "DEV_ACCOUNT_BALANCE",
    "DEV_MNEMONIC",
    "FORKS",
    "Genesis",
    "dev_account_keys",
]

#: 1337 (0x539): the customary chain id of a local development chain.
DEFAULT_CHAIN_ID = 1337
#: The newest EVM rule set py-evm implements. Recorded in genesis.json, so a later default never changes old chains.
DEFAULT_FORK = "prague"
#: EVM rule sets a local chain can run; ``paris`` is the pre-Shanghai VM (no PUSH0) the PoA network model uses.
FORKS = ("paris", "shanghai", "cancun", "prague")
#: Block gas limit, kept constant (a single-node chain has no one to vote on it).
DEFAULT_GAS_LIMIT = 30_000_000

#: DEVELOPMENT ONLY. The well-known BIP-39 test mnemonic that Hardhat and Foundry's anvil fund as well: its keys are
#: public, so anything they control on a real network is lost. Sharing it lets tests use the same funded accounts on
#: ``govssi ledger node`` and on anvil.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10
#: 10,000 ether (in wei) for each development account.
DEV_ACCOUNT_BALANCE = 10_000 * 10**18
_FORMAT = "govssi-chain/1"


@functools.cache
def dev_account_keys(count: int = DEV_ACCOUNT_COUNT) -> tuple[bytes, ...]:
    """The development accounts' private keys (32 bytes each), BIP-44 path ``m/44'/60'/0'/0/i`` of :data:`DEV_MNEMONIC`.

    DEVELOPMENT ONLY: these keys are published; never use them on a network with real value.
    """
    from eth_account.hdaccount import key_from_seed, seed_from_mnemonic  # eth-account loads slowly; rarely needed

    seed = seed_from_mnemonic(DEV_MNEMONIC, "")
    return tuple(key_from_seed(seed, f"m/44'/60'/0'/0/{index}") for index in range(count))


def _dev_addresses() -> dict[str, int]:
    return {str(EthPrivateKey(key).public_key.to_checksum_address()): DEV_ACCOUNT_BALANCE for key in dev_account_keys()}


@dataclass(frozen=True)
class Genesis:
    """Everything that determines block 0 and the rules of the chain."""

    chain_id: int
    #: Genesis block timestamp (seconds since the epoch); later blocks take the wall clock, strictly increasing.
    timestamp: int
    fork: str = DEFAULT_FORK
    gas_limit: int = DEFAULT_GAS_LIMIT
    #: Checksum address -> balance in wei.
    alloc: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.chain_id < 2**63:
            raise ValueError("chain id must be a positive 63-bit integer")
        if self.fork not in FORKS:
            raise ValueError(f"unknown fork {self.fork!r}; one of {', '.join(FORKS)}")
        if self.timestamp < 0 or self.gas_limit < 5000:
            raise ValueError("genesis timestamp and gas limit must be positive")

    @classmethod
    def development(cls, chain_id: int = DEFAULT_CHAIN_ID, *, timestamp: int, fork: str = DEFAULT_FORK) -> Genesis:
        """A development chain: the :func:`dev_account_keys` accounts funded with :data:`DEV_ACCOUNT_BALANCE` each."""
        return cls(chain_id=chain_id, timestamp=timestamp, fork=fork, alloc=_dev_addresses())

    def state(self) -> dict[bytes, dict[str, Any]]:
        """The genesis state in py-evm's form (canonical address -> account)."""
        return {
            to_canonical_address(address): {"balance": balance, "nonce": 0, "code": b"", "storage": {}}
            for address, balance in self.alloc.items()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "chain_id": self.chain_id,
            "fork": self.fork,
            "timestamp": self.timestamp,
            "gas_limit": self.gas_limit,
            "alloc": {address: hex(balance) for address, balance in sorted(self.alloc.items())},
        }

    @classmethod
    def from_json(cls, doc: Any) -> Genesis:
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ChainStorageError(f"genesis file is not in the {_FORMAT} format", reason="genesis_format")
        try:
            alloc = {str(to_checksum_address(address)): int(balance, 16) for address, balance in doc["alloc"].items()}
            return cls(
                chain_id=genesis_integer(doc["chain_id"]),
                timestamp=genesis_integer(doc["timestamp"]),
                fork=str(doc["fork"]),
                gas_limit=genesis_integer(doc["gas_limit"]),
                alloc=alloc,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ChainStorageError(f"malformed genesis file: {exc}", reason="genesis_format") from None

    def write(self, path: Path) -> None:
        """Write atomically (temporary file, fsync, rename, fsync of the directory)."""
        write_genesis_document(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> Genesis:
        return cls.from_json(read_genesis_document(path))


def genesis_integer(value: Any) -> int:
    """An integer field of a genesis file (JSON booleans are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    return value


def write_genesis_document(path: Path, document: dict[str, Any]) -> None:
    """Write a genesis file atomically: temporary file, fsync, rename, fsync of the directory."""
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


def read_genesis_document(path: Path) -> Any:
    """The JSON document of a genesis file; unreadable or non-JSON files raise :class:`ChainStorageError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ChainStorageError(f"cannot read {path}: {exc.strerror}", reason="genesis_unreadable") from None
    try:
        return json.loads(text)
    except ValueError:
        raise ChainStorageError(f"{path} is not JSON", reason="genesis_format") from None


def fsync_directory(path: Path) -> None:
    """Make a rename or a file creation in ``path`` durable (POSIX: the directory entry needs its own fsync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
