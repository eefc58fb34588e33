"""Status-list anchoring: issuers record the SHA-256 of every Status List Token they publish
(:func:`anchor_status_lists`, many lists per transaction), verifiers compare what they fetched with the latest
anchored digest (:class:`StatusAnchorReader`), cached and dropped on the anchor's events.

What a verifier learns (``ledger/contracts/StatusListAnchor.sol``): a token whose SHA-256 is the latest anchored one is
the list the issuer published last; an older anchored digest means the list was rolled back; a digest never anchored
means it was substituted (or published before it was anchored: issuers anchor *before* they serve a new version, so
this window does not exist for govssi's issuer). The chain holds only the URI's hash, the token's hash, a version and
a time — no status index, nothing about a holder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.logs import DISCARD

from ledger.client import ChainClient, ChainSigner
from ledger.client.rpc_errors import rpc_errors
from ledger.contracts import STATUS_LIST_ANCHOR, load_artifact
from ledger.trust._follow import CacheStats, ContractFollower, Lru
from ledger.trust._keys import issuer_identity, status_list_uri_hash
from ledger.trust._model import AnchorCheck, AnchoredDigest
from ledger.trust._registry import registry_refusal
from ssi.errors import ChainError, ExecutionReverted, TransactionFailed

__all__ = [
    "ANCHOR_GAS_BASE",
    "ANCHOR_GAS_PER_LIST",
    "DEFAULT_ANCHOR_BATCH",
    "AnchoringResult",
    "StatusAnchorReader",
    "anchor_status_lists",
]

#: Lists per transaction: about 12.4 M gas when all are first versions (the contract takes up to 512).
DEFAULT_ANCHOR_BATCH = 256
#: The gas limit of a batch is ``ANCHOR_GAS_BASE + ANCHOR_GAS_PER_LIST * n`` instead of an estimate: measured on the
#: contract (``python -m ledger.gas_report``) a batch costs about 41,000 + 48,300 per list when every list is a first
#: version (later versions about 14,500 per list), so this bound always suffices; unused gas costs nothing (zero gas
#: price, and unused gas is never charged). Estimating would execute the batch several times on the node — seconds
#: for a few hundred lists on the local py-evm node. 512 lists stay below a 30 M gas block.
ANCHOR_GAS_BASE = 60_000
ANCHOR_GAS_PER_LIST = 55_000
_ANCHORED = keccak(b"StatusListAnchored(address,bytes32,bytes32,uint64,uint64)")
_ERROR_STRING = bytes.fromhex("08c379a0")
_LATEST = keccak(b"latest(address,bytes32)")[:4]


def _anchor_contract(client: ChainClient, address: str) -> Contract:
    return client.contract(address, load_artifact(STATUS_LIST_ANCHOR))


class StatusAnchorReader:
    """Reads of one status-list anchor; :meth:`latest` is cached per (issuer, list) and dropped when an anchoring event
    names it (one ``eth_blockNumber`` per cached read, none within ``max_staleness`` seconds). Thread-safe."""

    def __init__(
        self,
        client: ChainClient,
        address: str,
        *,
        max_staleness: float = 0.0,
        cache_size: int = 16384,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.address = str(to_checksum_address(address))
        self.contract = _anchor_contract(client, self.address)
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._entries: Lru[tuple[AnchoredDigest | None]] = Lru(cache_size)
        self._generation = 0
        #: The head the follower last reported; reads for the cache are made at this block.
        self._head: int | None = None
        self._follower = ContractFollower(
            client,
            self.address,
            on_logs=self._invalidate,
            on_reset=self._reset,
            stats=self.stats,
            max_staleness=max_staleness,
            monotonic=monotonic,
        )

    def _invalidate(self, logs: Sequence[Any], head: int) -> None:
        named = set()
        for log in logs:
            topics = [bytes(topic) for topic in log["topics"]]
            if len(topics) == 3 and topics[0] == _ANCHORED:
                named.add((topics[1][12:], topics[2]))
        with self._lock:
            self._head = head
            if not named:
                return
            self._generation += 1
            for key in named:
                if self._entries.items.pop(key, None) is not None:
                    self.stats.invalidations += 1

    def _reset(self, head: int | None = None) -> None:
        with self._lock:
            self._head = head
            self._generation += 1
            self._entries.items.clear()

    def latest(self, issuer: str, uri: str) -> AnchoredDigest | None:
        """The latest anchored version of the status list at ``uri`` of ``issuer`` (a did:ethr or its identity
        address), or ``None`` when it never anchored one."""
        identity = issuer_identity(issuer)
        key = (bytes.fromhex(identity[2:]), status_list_uri_hash(uri))
        synced = self._follower.sync()
        with self._lock:
            self.stats.lookups += 1
            cached = self._entries.get(key)
            if cached is not None:
                self.stats.hits += 1
                return cached[0]
            generation, head = self._generation, self._head
        block = synced if head is None else head
        data = _LATEST + bytes(12) + key[0] + key[1]
        with rpc_errors(self.address, "latest"):
            raw = bytes(self.client.w3.eth.call({"to": self.address, "data": data}, block))
        if len(raw) != 96:
            raise ChainError(
                f"{self.address} answered latest() with {len(raw)} bytes; is it the status-list anchor?",
                reason="bad_response",
            )
        digest, version, anchored_at = raw[:32], int.from_bytes(raw[32:64], "big"), int.from_bytes(raw[64:], "big")
        found = AnchoredDigest(bytes(digest), int(version), int(anchored_at)) if int(version) else None
        with self._lock:
            self.stats.loads += 1
            if self._generation == generation and head is not None:  # no event since the head we read at
                self._entries.put(key, (found,))
        return found

    #: The issue's name for :meth:`latest`.
    anchored_digest = latest

    def history(self, issuer: str, uri: str, *, from_block: int = 0) -> list[AnchoredDigest]:
        """Every anchored version of the list, oldest first, from the anchor's events (not cached)."""
        identity = issuer_identity(issuer)
        logs = self.client.get_logs(
            self.contract.events.StatusListAnchored,
            from_block=from_block,
            argument_filters={"issuer": identity, "uriHash": status_list_uri_hash(uri)},
        )
        return [
            AnchoredDigest(
                bytes(log["args"]["statusListSha256"]),
                int(log["args"]["version"]),
                int(log["args"]["time"]),
                int(log["blockNumber"]),
            )
            for log in logs
        ]

    def check(self, issuer: str, uri: str, token_sha256: bytes) -> AnchorCheck:
        """Compare the SHA-256 of a fetched Status List Token with the anchors (see :class:`AnchorCheck`). The
        current case costs what :meth:`latest` costs; the others read the history."""
        latest = self.latest(issuer, uri)
        if latest is None:
            return AnchorCheck("not_anchored", None)
        if latest.sha256 == token_sha256:
            return AnchorCheck("current", latest, latest)
        for earlier in self.history(issuer, uri):
            if earlier.sha256 == token_sha256:
                return AnchorCheck("rolled_back", latest, earlier)
        return AnchorCheck("unknown", latest)


@dataclass(frozen=True)
class AnchoringResult:
    """What :func:`anchor_status_lists` did: the transactions sent, the lists that got a new version (URI → version)
    and the URIs whose digest was already the latest (nothing recorded for them)."""

    transactions: list[str] = field(default_factory=list)
    anchored: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"transactions": self.transactions, "anchored": self.anchored, "unchanged": self.unchanged}


def anchor_status_lists(
    client: ChainClient,
    anchor: str,
    signer: ChainSigner,
    lists: Sequence[tuple[str, bytes]],
    *,
    issuer: str | None = None,
    batch_size: int = DEFAULT_ANCHOR_BATCH,
    confirmations: int | None = None,
    timeout: float | None = None,
) -> AnchoringResult:
    """Anchor ``lists`` — ``(status list URI, SHA-256 of its Status List Token)`` pairs — for ``issuer`` (a did:ethr
    or identity address; default: the signer's own address, the usual did:ethr whose identity owns itself), up to
    ``batch_size`` lists per transaction (``anchorBatch``). The signer must own the identity in the ERC-1056 registry
    and the identity must be named by an active or suspended accreditation; otherwise the transaction is refused
    (``TransactionFailed`` with reason ``not_owner`` / ``not_accredited``) and nothing is recorded. Lists are sent in
    the given order; a URI given twice is anchored twice (the later digest wins)."""
    if not 1 <= batch_size <= 512:
        raise ValueError("batch_size is 1..512 (the contract's MAX_BATCH)")
    for uri, digest in lists:
        if not uri or len(digest) != 32:
            raise ValueError("each list is (a non-empty URI, the 32-byte SHA-256 of its token)")
    identity = issuer_identity(issuer) if issuer is not None else signer.address
    contract = _anchor_contract(client, anchor)
    result = AnchoringResult()
    if lists:
        _check_authorized(client, contract, identity, signer.address, lists[0])
    for start in range(0, len(lists), batch_size):
        batch = lists[start : start + batch_size]
        hashes = [status_list_uri_hash(uri) for uri, _ in batch]
        call = contract.functions.anchorBatch(identity, hashes, [bytes(digest) for _, digest in batch])
        gas = ANCHOR_GAS_BASE + ANCHOR_GAS_PER_LIST * len(batch)
        try:
            receipt = client.transact(call, sender=signer, gas=gas, confirmations=confirmations, timeout=timeout)
        except TransactionFailed as exc:
            raise registry_refusal(exc) from None
        result.transactions.append("0x" + bytes(receipt["transactionHash"]).hex())
        by_hash = {status_list_uri_hash(uri): uri for uri, _ in batch}
        recorded = set()
        for event in contract.events.StatusListAnchored().process_receipt(receipt, errors=DISCARD):
            uri = by_hash[bytes(event["args"]["uriHash"])]
            result.anchored[uri] = int(event["args"]["version"])
            recorded.add(uri)
        result.unchanged.extend(uri for uri, _ in batch if uri not in recorded and uri not in result.unchanged)
    return result


def _check_authorized(
    client: ChainClient, contract: Contract, identity: str, sender: str, first: tuple[str, bytes]
) -> None:
    """Dry-run one entry as ``sender`` (one ``eth_call``): a refusal (``not_owner``, ``not_accredited``) is reported
    before anything is sent, as gas estimation would have done."""
    uri, digest = first
    try:
        client.call(contract.functions.anchor(identity, status_list_uri_hash(uri), bytes(digest)), sender=sender)
    except ExecutionReverted as exc:
        code = None
        if exc.data[:4] == _ERROR_STRING:
            try:
                (code,) = abi_decode(["string"], exc.data[4:])
            except (DecodingError, ValueError, OverflowError):
                code = None
        raise registry_refusal(TransactionFailed(exc.description, revert_reason=code, data=exc.data)) from None
