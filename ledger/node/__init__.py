"""The local chain: an in-process EVM (py-evm) that persists to a data directory and speaks Ethereum JSON-RPC.

DESIGN.md §3, chain runtime (a). Three ways to use the same :class:`LocalChain`:

- in-process: ``Web3(LocalChainProvider(LocalChain.in_memory()))`` — unit tests, single-process tools;
- durable: ``LocalChain.open(data_dir)`` — genesis plus an fsync'ed block journal, replayed on start
  (:mod:`ledger.node.journal` explains why and how it survives kill -9);
- shared over HTTP: ``serve(JsonRpcHandler(EthereumApi(chain)), port)`` or ``govssi ledger node`` — standard JSON-RPC on
  127.0.0.1 for any number of services.

Defaults: chain id 1337, the Prague rule set, zero base fee, ten development accounts funded from the public test
mnemonic (:data:`DEV_MNEMONIC` — development only). One transaction per block, mined when it is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.node.chain import CallMessage, IndexedLog, LocalChain, LogQuery
from ledger.node.genesis import DEFAULT_CHAIN_ID, DEV_ACCOUNT_BALANCE, DEV_MNEMONIC, Genesis, dev_account_keys
from ledger.node.journal import BlockJournal, JournalRecord
from ledger.node.methods import EthereumApi
from ledger.node.rpc import JsonRpcHandler
from ledger.node.server import RpcServer, serve

if TYPE_CHECKING:
    from ledger.node.provider import LocalChainProvider


def __getattr__(name: str) -> Any:
    # The web3 provider loads web3 (about a second); node processes that only serve JSON-RPC never need it.
    if name == "LocalChainProvider":
        from ledger.node.provider import LocalChainProvider

        globals()[name] = LocalChainProvider
        return LocalChainProvider
    raise AttributeError(f"module 'ledger.node' has no attribute {name!r}")


__all__ = [
    "DEFAULT_CHAIN_ID",
    "DEV_ACCOUNT_BALANCE",
    "DEV_MNEMONIC",
    "BlockJournal",
    "CallMessage",
    "EthereumApi",
    "Genesis",
    "IndexedLog",
    "JournalRecord",
    "JsonRpcHandler",
    "LocalChain",
    "LocalChainProvider",
    "LogQuery",
    "RpcServer",
    "dev_account_keys",
    "serve",
]
