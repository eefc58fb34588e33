"""The genesis of a Clique network: chain id, block period, epoch, the initial signers, funded accounts.

EIP-225 ("Genesis"): the genesis block's ``extraData`` is 32 bytes of vanity, the initial signers' addresses
concatenated (in ascending order, as every checkpoint lists them), and 65 zero bytes where a seal would go. The rules
that are not in any header — the block period and the epoch length — are part of the network's configuration (geth
keeps them in the chain config's ``clique`` section); here they live in the same file, ``genesis.json``, which every
node of a network reads and which never changes after the network was created.

Fees: like the single local node (:mod:`ledger.node.genesis`), the network starts with base fee 0 and its sealers
fill blocks only up to the EIP-1559 gas target, so the base fee stays 0 — a free-gas network, as a permissioned Besu
network with ``zeroBaseFee``. The development accounts (:func:`ledger.node.dev_account_keys`) are funded for tools
that insist on paying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from eth.consensus.clique.constants import NONCE_DROP, SIGNATURE_LENGTH, VANITY_LENGTH
from eth.constants import ZERO_ADDRESS, ZERO_HASH32
from eth_utils.address import is_address, to_canonical_address, to_checksum_address

from ledger.client.signer import SoftwareChainSigner
from ledger.node.genesis import (
    DEFAULT_GAS_LIMIT,
    DEV_ACCOUNT_BALANCE,
    dev_account_keys,
    genesis_integer,
    read_genesis_document,
    write_genesis_document,
)
from ssi.errors import ChainStorageError

__all__ = [
    "DEFAULT_EPOCH",
    "DEFAULT_PERIOD",
    "GENESIS_VANITY",
    "CliqueGenesis",
]

#: geth's default block period for Clique networks is 15 s; the model defaults to what ``govssi ledger network`` uses.
DEFAULT_PERIOD: Final = 2
#: EIP-225 ``EPOCH_LENGTH``: votes are reset and the signer list is written into every 30,000th block.
DEFAULT_EPOCH: Final = 30_000
#: The 32 vanity bytes of every block the model seals (EIP-225 lets signers put anything there).
GENESIS_VANITY: Final = b"govssi clique network model".ljust(VANITY_LENGTH, b"\0")
_FORMAT: Final = "govssi-clique/1"


@dataclass(frozen=True)
class CliqueGenesis:
    """Block 0 and the consensus parameters of one Clique network."""

    chain_id: int
    #: Genesis timestamp (seconds); the first block is sealed ``period`` seconds later at the earliest.
    timestamp: int
    #: The initial signers (validators), checksummed addresses.
    signers: tuple[str, ...]
    #: EIP-225 ``BLOCK_PERIOD``: minimum seconds between a block and its parent (block timestamps are whole seconds,
    #: so a period is at least 1).
    period: int = DEFAULT_PERIOD
    epoch: int = DEFAULT_EPOCH
    gas_limit: int = DEFAULT_GAS_LIMIT
    #: Checksum address -> balance in wei.
    alloc: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.chain_id < 2**63:
            raise ValueError("chain id must be a positive 63-bit integer")
        if not self.signers:
            raise ValueError("a Clique network needs at least one signer")
        canonical = [to_canonical_address(signer) for signer in self.signers]
        if len(set(canonical)) != len(canonical) or bytes(ZERO_ADDRESS) in canonical:
            raise ValueError("the signers must be distinct, non-zero addresses")
        if self.period < 1:
            raise ValueError("the block period is at least 1 second (block timestamps are whole seconds)")
        if self.epoch < 2:
            raise ValueError("the epoch is at least 2 blocks")
        if self.timestamp < 0 or self.gas_limit < 5000:
            raise ValueError("genesis timestamp and gas limit must be positive")

    @classmethod
    def development(
        cls,
        signers: list[str] | tuple[str, ...],
        *,
        chain_id: int,
        timestamp: int,
        period: int = DEFAULT_PERIOD,
        epoch: int = DEFAULT_EPOCH,
    ) -> CliqueGenesis:
        """A network whose development accounts (:data:`ledger.node.DEV_MNEMONIC`) are funded."""
        alloc = {SoftwareChainSigner.from_private_bytes(key).address: DEV_ACCOUNT_BALANCE for key in dev_account_keys()}
        return cls(
            chain_id=chain_id,
            timestamp=timestamp,
            signers=tuple(str(to_checksum_address(signer)) for signer in signers),
            period=period,
            epoch=epoch,
            alloc=alloc,
        )

    @property
    def signer_addresses(self) -> list[bytes]:
        """The signers as canonical (20-byte) addresses in ascending order — the order EIP-225 counts turns in."""
        return sorted(bytes(to_canonical_address(signer)) for signer in self.signers)

    def extra_data(self) -> bytes:
        """EIP-225 genesis ``extraData``: vanity ‖ signers (ascending) ‖ 65 zero bytes."""
        return GENESIS_VANITY + b"".join(self.signer_addresses) + bytes(SIGNATURE_LENGTH)

    def header_params(self) -> dict[str, Any]:
        """Block 0's header fields for py-evm (London rules: base fee 0)."""
        return {
            "coinbase": ZERO_ADDRESS,
            "difficulty": 1,
            "extra_data": self.extra_data(),
            "gas_limit": self.gas_limit,
            "mix_hash": ZERO_HASH32,
            "nonce": NONCE_DROP,
            "timestamp": self.timestamp,
            "base_fee_per_gas": 0,
        }

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
            "timestamp": self.timestamp,
            "clique": {"period": self.period, "epoch": self.epoch},
            "signers": list(self.signers),
            "gas_limit": self.gas_limit,
            "extra_data": "0x" + self.extra_data().hex(),
            "alloc": {address: hex(balance) for address, balance in sorted(self.alloc.items())},
        }

    @classmethod
    def from_json(cls, doc: Any) -> CliqueGenesis:
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ChainStorageError(f"genesis file is not in the {_FORMAT} format", reason="genesis_format")
        try:
            signers = doc["signers"]
            if not isinstance(signers, list) or not all(isinstance(s, str) and is_address(s) for s in signers):
                raise ValueError("signers must be a list of addresses")
            genesis = cls(
                chain_id=genesis_integer(doc["chain_id"]),
                timestamp=genesis_integer(doc["timestamp"]),
                signers=tuple(str(to_checksum_address(signer)) for signer in signers),
                period=genesis_integer(doc["clique"]["period"]),
                epoch=genesis_integer(doc["clique"]["epoch"]),
                gas_limit=genesis_integer(doc["gas_limit"]),
                alloc={str(to_checksum_address(a)): int(balance, 16) for a, balance in doc["alloc"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ChainStorageError(f"malformed genesis file: {exc}", reason="genesis_format") from None
        if doc.get("extra_data") not in (None, "0x" + genesis.extra_data().hex()):
            raise ChainStorageError("genesis extra_data does not list the signers", reason="genesis_format")
        return genesis

    def write(self, path: Path) -> None:
        """Write atomically (temporary file, fsync, rename, fsync of the directory)."""
        write_genesis_document(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> CliqueGenesis:
        return cls.from_json(read_genesis_document(path))
