"""Reading an ERC-1056 registry over Ethereum JSON-RPC: the identity's event history, block times, new logs.

The history walk is the did:ethr method spec's ("Enumerating Contract Events to build the DID Document"):

1. ``eth_call`` ``changed(address identity)`` on the ERC-1056 contract to get the latest block where a change occurred;
2. if it is 0 there is no history;
3. filter for the three events of the identity in exactly that block;
4. follow ``previousChange`` to the block before and go to 3.

As ethr-did-resolver does, the link to follow from a block is the smallest ``previousChange`` in it that points to an
earlier block, so a block with several changes of one identity is read once and the walk always terminates. A block
that ``changed`` or ``previousChange`` names but that has no logs for the identity means the node lacks history
(an error, not an empty document). The walk reads ``changed`` at a fixed block, so a history is a consistent snapshot.

Reads go through a :class:`web3.Web3` (any provider: HTTP, :class:`ledger.node.LocalChainProvider`, the failover
provider of ``ledger.client``); :func:`connect` is the one place that makes a connection from a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from eth_utils.address import to_canonical_address, to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import BlockNotFound
from web3.middleware import ExtraDataToPOAMiddleware

from ledger.client.rpc_errors import rpc_errors
from ledger.did_ethr._events import EVENT_TOPICS, DecodedLog, RegistryEvent, decode_log
from ssi.errors import ChainError

__all__ = ["MAX_HISTORY_EVENTS", "RegistryReader", "connect", "identity_history"]

#: The most events read for one identity (did:ethr spec, "Amplification": "Resolvers MAY impose upper bounds on the
#: number of events processed for a single identity and alert or fail when those bounds are exceeded").
MAX_HISTORY_EVENTS: Final = 10_000
_CHANGED: Final = keccak(b"changed(address)")[:4]


def connect(url: str, *, timeout: float = 10.0) -> Web3:
    """A :class:`Web3` for one JSON-RPC URL whose every request times out after ``timeout`` seconds (no retries).

    The one place the did:ethr code opens a connection; ``ledger.client`` (failover over several URLs) replaces it.
    Blocks are read with web3's PoA middleware, as ``ledger.client`` reads them: Clique and QBFT blocks carry
    signatures and votes in ``extraData`` (97+ bytes), beyond the 32 bytes web3 otherwise accepts.
    """
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


class RegistryReader:
    """Read access to one ERC-1056 registry on one chain."""

    def __init__(self, w3: Web3, registry: str) -> None:
        self.w3 = w3
        self.registry = str(to_checksum_address(registry))
        self.endpoint = str(getattr(w3.provider, "endpoint_uri", None) or type(w3.provider).__name__)

    def _call(self, action: str, fn: Callable[[], Any]) -> Any:
        with rpc_errors(self.endpoint, action):
            return fn()

    def chain_id(self) -> int:
        return int(self._call("eth_chainId", lambda: self.w3.eth.chain_id))

    def block_number(self) -> int:
        return int(self._call("eth_blockNumber", lambda: self.w3.eth.block_number))

    def block(self, number: int) -> tuple[int, bytes] | None:
        """(timestamp, hash) of block ``number``, or ``None`` if the chain has no such block (yet)."""

        def get() -> tuple[int, bytes] | None:
            try:
                block = self.w3.eth.get_block(number)
            except BlockNotFound:
                return None
            return int(block["timestamp"]), bytes(block["hash"])

        return self._call("eth_getBlockByNumber", get)  # type: ignore[no-any-return]

    def changed(self, identity: str, block: int) -> int:
        """ERC-1056 ``changed(identity)``: the block of the identity's latest change, as of ``block``."""
        data = _CHANGED + bytes(12) + to_canonical_address(identity)
        raw = self._call("changed(identity)", lambda: self.w3.eth.call({"to": self.registry, "data": data}, block))
        if len(raw) != 32:
            raise ChainError(f"{self.registry} answered changed() with {len(raw)} bytes; is it the registry?")
        return int.from_bytes(raw, "big")

    def identity_logs(self, identity: str, block: int) -> list[Any]:
        """The registry's logs in ``block`` whose first indexed topic is ``identity``."""
        topic = "0x" + bytes(12).hex() + to_canonical_address(identity).hex()
        query: Any = {"address": self.registry, "topics": [None, topic], "fromBlock": block, "toBlock": block}
        return list(self._call("eth_getLogs", lambda: self.w3.eth.get_logs(query)))

    def registry_logs(self, from_block: int, to_block: int) -> list[Any]:
        """Every DID event of the registry in the inclusive block range."""
        topics = ["0x" + topic.hex() for topic in EVENT_TOPICS]
        query: Any = {"address": self.registry, "topics": [topics], "fromBlock": from_block, "toBlock": to_block}
        return list(self._call("eth_getLogs", lambda: self.w3.eth.get_logs(query)))


def decode(log: Any, block_timestamp: int) -> DecodedLog | None:
    """Decode a web3 log entry of the registry."""
    return decode_log(
        [bytes(topic) for topic in log["topics"]],
        bytes(log["data"]),
        block_number=int(log["blockNumber"]),
        log_index=int(log["logIndex"]),
        block_timestamp=block_timestamp,
    )


def identity_history(
    reader: RegistryReader, identity: str, at_block: int, block_timestamp: Callable[[int], int]
) -> tuple[RegistryEvent, ...]:
    """The identity's DID events up to ``at_block``, oldest first (block, then log index)."""
    blocks: list[list[RegistryEvent]] = []
    count = 0
    previous = reader.changed(identity, at_block)
    while previous != 0:
        number = previous
        if number > at_block:
            raise ChainError(f"changed({identity}) points past block {at_block}", reason="malformed_history")
        logs = reader.identity_logs(identity, number)
        if not logs:
            raise ChainError(
                f"no registry logs for {identity} in block {number} although its history points there; the node "
                "lacks historical logs (use an archive node)",
                reason="missing_logs",
            )
        timestamp = block_timestamp(number)
        events: list[RegistryEvent] = []
        previous = 0
        for log in logs:
            decoded = decode(log, timestamp)
            if decoded is None or decoded.identity != identity:
                continue
            link = decoded.previous_change
            if 0 < link < number and (previous == 0 or link < previous):
                previous = link
            if decoded.event is not None:
                events.append(decoded.event)
        events.sort(key=lambda event: event.log_index)
        count += len(events)
        if count > MAX_HISTORY_EVENTS:
            raise ChainError(
                f"{identity} has more than {MAX_HISTORY_EVENTS} registry events; refusing to resolve it",
                reason="history_too_long",
            )
        blocks.append(events)
    return tuple(event for events in reversed(blocks) for event in events)
