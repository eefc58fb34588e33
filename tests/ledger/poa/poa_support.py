"""Helpers for the PoA network model tests: signer keys, genesis, in-process chains grown by the rules, crafted blocks,
signed transactions from development accounts, and waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from eth.abc import BlockAPI
from eth_account import Account
from eth_utils.address import to_canonical_address

from ledger.client import SoftwareChainSigner
from ledger.node import dev_account_keys
from ledger.poa import CliqueChain, CliqueGenesis
from ledger.poa.clique import in_turn, seal_header, signer_limit

CHAIN_ID = 1337


def signers(count: int, seed: int = 1) -> list[SoftwareChainSigner]:
    """``count`` deterministic signer keys, sorted by address (the order EIP-225 counts turns in)."""
    keys = [SoftwareChainSigner.from_private_bytes(bytes([seed + index]) * 32) for index in range(count)]
    return sorted(keys, key=lambda key: to_canonical_address(key.address))


def genesis_for(keys: list[SoftwareChainSigner], *, period: int = 1, epoch: int = 30_000, age: int = 100_000) -> Any:
    """A genesis ``age`` seconds in the past (so blocks one period apart can be sealed at once)."""
    return CliqueGenesis.development(
        [key.address for key in keys], chain_id=CHAIN_ID, timestamp=int(time.time()) - age, period=period, epoch=epoch
    )


def address(key: SoftwareChainSigner) -> bytes:
    return bytes(to_canonical_address(key.address))


def in_turn_signer(chain: CliqueChain, keys: list[SoftwareChainSigner]) -> SoftwareChainSigner:
    """The signer whose turn the next block is."""
    head = chain.head()
    signers_now = chain.signers_after(head)
    number = head.block_number + 1
    return next(key for key in keys if address(key) in signers_now and in_turn(number, address(key), signers_now))


def next_allowed(chain: CliqueChain, keys: list[SoftwareChainSigner], *, prefer_in_turn: bool = True) -> Any:
    """A signer allowed to seal the next block (in turn if possible)."""
    head = chain.head()
    signers_now = chain.signers_after(head)
    recent = chain.recent_signers(head, signer_limit(len(signers_now)) - 1)
    allowed = [key for key in keys if address(key) in signers_now and address(key) not in recent]
    number = head.block_number + 1
    allowed.sort(key=lambda key: not in_turn(number, address(key), signers_now) if prefer_in_turn else 0)
    return allowed[0]


def grow(
    chain: CliqueChain,
    keys: list[SoftwareChainSigner],
    count: int,
    *,
    others: tuple[CliqueChain, ...] = (),
    choose: Callable[[CliqueChain, list[SoftwareChainSigner]], SoftwareChainSigner] | None = None,
    vote: tuple[bytes, bool] | None = None,
) -> list[BlockAPI]:
    """Seal ``count`` blocks on ``chain`` by the rules (one period apart) and import them into ``others`` too."""
    made = []
    for _ in range(count):
        signer = (choose or next_allowed)(chain, keys)
        block = chain.build_block(signer, timestamp=chain.head().timestamp + chain.genesis.period, vote=vote)
        assert chain.import_block(block, sync=False).canonical
        for other in others:
            other.import_block(block, sync=False)
        made.append(block)
    return made


def resealed(block: BlockAPI, signer: SoftwareChainSigner, **fields: Any) -> BlockAPI:
    """``block`` with header ``fields`` changed and sealed again by ``signer``."""
    header = block.header.copy(**fields) if fields else block.header
    return block.copy(header=seal_header(header, signer))


def dev_transaction(index: int = 0, *, nonce: int = 0, **fields: Any) -> bytes:
    """A zero-fee transfer from development account ``index`` (to itself unless ``to`` is given)."""
    account = Account.from_key(dev_account_keys()[index])
    transaction: dict[str, Any] = {
        "chainId": CHAIN_ID,
        "nonce": nonce,
        "gas": 21_000,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "to": account.address,
        "value": 1,
        **fields,
    }
    return bytes(account.sign_transaction(transaction).raw_transaction)


def dev_address(index: int = 0) -> bytes:
    return bytes(to_canonical_address(Account.from_key(dev_account_keys()[index]).address))


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
