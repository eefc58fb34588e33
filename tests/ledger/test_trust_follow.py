"""``ledger.trust``'s log follower: new blocks are read once, a reorganisation or a shorter chain drops everything,
``max_staleness`` spares head requests (the did:ethr cache's rules, for the trust contracts)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

from web3.exceptions import BlockNotFound

from ledger.client import ChainClient
from ledger.trust._follow import CacheStats, ContractFollower, Lru

ADDRESS = "0x" + "ab" * 20


class FakeChain:
    """Blocks as (hash) per height; logs per height; counts the requests a follower makes."""

    def __init__(self, height: int) -> None:
        self.hashes = [bytes([n % 256]) * 32 for n in range(height + 1)]
        self.logs: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[str] = []
        self.w3 = SimpleNamespace(eth=SimpleNamespace(get_block=self._get_block))

    def _get_block(self, number: int) -> dict[str, Any]:
        self.requests.append("eth_getBlockByNumber")
        if number >= len(self.hashes):
            raise BlockNotFound(number)
        return {"hash": self.hashes[number]}

    def block_number(self) -> int:
        self.requests.append("eth_blockNumber")
        return len(self.hashes) - 1

    def get_logs(self, query: dict[str, Any], *, from_block: int, to_block: int) -> list[dict[str, Any]]:
        self.requests.append("eth_getLogs")
        assert query == {"address": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"}
        return [log for n in range(from_block, to_block + 1) for log in self.logs.get(n, [])]

    def mine(self, *logs: dict[str, Any]) -> None:
        self.hashes.append(bytes([len(self.hashes) % 256, 1]) * 16)
        self.logs[len(self.hashes) - 1] = list(logs)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[list[Any], int]] = []
        self.resets: list[int] = []

    def on_logs(self, logs: Sequence[Any], head: int) -> None:
        self.seen.append((list(logs), head))

    def on_reset(self, head: int) -> None:
        self.resets.append(head)


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def follower(chain: FakeChain, recorder: Recorder, **options: Any) -> ContractFollower:
    return ContractFollower(
        cast(ChainClient, chain),
        ADDRESS,
        on_logs=recorder.on_logs,
        on_reset=recorder.on_reset,
        stats=CacheStats(),
        **options,
    )


def test_first_sync_resets_then_new_blocks_are_read_once() -> None:
    chain, recorder = FakeChain(5), Recorder()
    follow = follower(chain, recorder)
    assert follow.sync() == 5 and recorder.resets == [5]
    chain.requests.clear()
    assert follow.sync() == 5
    assert chain.requests == ["eth_blockNumber"]  # the chain did not move: one request
    chain.mine({"topics": [b"a"]})
    chain.mine()
    chain.requests.clear()
    assert follow.sync() == 7
    assert recorder.seen == [([{"topics": [b"a"]}], 7)]
    # the head, the block last seen (still the same hash), the logs since, the new head's hash
    assert chain.requests == ["eth_blockNumber", "eth_getBlockByNumber", "eth_getLogs", "eth_getBlockByNumber"]


def test_a_replaced_block_or_a_shorter_chain_drops_everything() -> None:
    chain, recorder = FakeChain(5), Recorder()
    follow = follower(chain, recorder)
    follow.sync()
    chain.hashes[5] = b"\xff" * 32  # block 5 was replaced
    chain.mine()
    assert follow.sync() == 6 and recorder.resets == [5, 6] and recorder.seen == []
    del chain.hashes[4:]
    assert follow.sync() == 3 and recorder.resets == [5, 6, 3]


def test_max_staleness_spares_head_requests() -> None:
    chain, recorder, ticker = FakeChain(1), Recorder(), Ticker()
    follow = follower(chain, recorder, max_staleness=2.0, monotonic=ticker)
    follow.sync()
    chain.mine({"topics": [b"x"]})
    ticker.now = 1.5
    assert follow.sync() == 1  # fresh enough: no request
    assert follow.sync(force=True) == 2
    assert recorder.seen == [([{"topics": [b"x"]}], 2)]


def test_lru_keeps_the_most_recent() -> None:
    lru: Lru[int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert list(lru.items) == ["a", "c"]
    empty: Lru[int] = Lru(0)
    empty.put("a", 1)
    assert empty.get("a") is None
