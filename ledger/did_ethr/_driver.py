"""The did:ethr method driver for :class:`ssi.did.DidResolver` (did:ethr method spec, "Read (Resolve)" and "Metadata").

    driver = EthrDidDriver({1337: ("http://127.0.0.1:8545", registry_address)})
    resolver = default_resolver()
    resolver.register(driver)
    resolver.resolve("did:ethr:0x539:0x…")                              # the DID document
    resolver.resolve_result("did:ethr:0x539:0x…?versionId=12")          # a version, with its metadata

"Now" for the latest version is the later of the clock and the head block's time ("Only events with a validTo [...]
greater or equal to the current time should be included"): a mined block has happened, even on a local chain that
stamps blocks ahead of the wall clock (ethr-did-resolver would treat such blocks as a next version).

Networks are configured by chain id; the DID's network part is the chain id in hex (``0x539``), and ``mainnet`` (or
no network part) is chain 1. The driver checks, once per network, that the node really serves that chain.

DID parameters (DID Core §3.2.1): ``versionId`` is a block number ("When resolving an older version (using versionId
in the didURL query string), the validTo entry MUST be compared to the timestamp of the block of versionId height"),
``versionTime`` a time (Unix seconds, or an XML Schema dateTime in UTC such as ``2025-05-01T12:00:00Z``): the
document as it was then. Giving both is ``invalidOptions``; malformed values and other parameters are refused
(``invalidDidUrl``) where ethr-did-resolver would ignore them and answer with the latest version.

Document metadata (§7.1.3, "DID Document Metadata"): ``versionId`` and ``updated`` of the latest change applied,
``nextVersionId`` and ``nextUpdate`` of the first change not applied, ``deactivated: true`` after the owner became
0x0. govssi adds ``compromisedKeys``: the JWK thumbprints of keys the DID's controller marked compromised
(:mod:`ledger.did_ethr._lifecycle`); those keys are left out of every version of the document.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import monotonic as system_monotonic
from typing import Any, Final

from eth_utils.address import is_address, to_checksum_address
from web3 import Web3

from ledger.did_ethr._cache import RegistryCache
from ledger.did_ethr._document import DocumentVersion, build_document
from ledger.did_ethr._events import RegistryEvent
from ledger.did_ethr._identifier import MAINNET, METHOD, EthrDid, network_id, parse_ethr_did
from ledger.did_ethr._lifecycle import compromised_thumbprints
from ledger.did_ethr._registry import RegistryReader, connect
from ssi.clock import Clock, system_clock
from ssi.did import DidDocument, ResolutionResult
from ssi.errors import ChainError, DidError, DidNotFound

__all__ = ["CONTENT_TYPE", "EthrDidDriver", "EthrNetwork"]

#: What ethr-did-resolver answers by default (a JSON-LD document with ``@context``).
CONTENT_TYPE: Final = "application/did+ld+json"
#: Network names ethr-did-resolver knows for chain ids (its deployments list), as far as govssi needs them.
KNOWN_NAMES: Final = {1: (MAINNET,)}
_DECIMAL: Final = re.compile(r"[0-9]{1,20}")
_XSD_UTC: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


@dataclass
class EthrNetwork:
    """One configured chain: its ERC-1056 registry and the cache that follows it."""

    chain_id: int
    reader: RegistryReader
    cache: RegistryCache
    names: tuple[str, ...] = ()
    checked: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def registry(self) -> str:
        return self.reader.registry

    def check(self) -> None:
        """Once: the node must serve the configured chain (the DID names the chain; the node must not be another)."""
        if self.checked:
            return
        with self.lock:
            if not self.checked:
                served = self.reader.chain_id()
                if served != self.chain_id:
                    raise ChainError(
                        f"the node for did:ethr network {network_id(self.chain_id)} serves chain {served}",
                        reason="chain_id_mismatch",
                    )
                self.checked = True


class EthrDidDriver:
    """Resolves did:ethr DIDs from ERC-1056 registries (a :class:`ssi.did.DidResolutionDriver`).

    ``networks`` maps chain ids to ``(web3 or JSON-RPC URL, registry address)``. ``names`` adds network names
    (``{"mainnet": 1}`` is implied for chain 1). ``clock`` is "now" for validity and latest resolution;
    ``max_staleness`` and ``cache_size`` configure each network's :class:`RegistryCache`.
    """

    method: Final = METHOD
    manages_own_cache: Final = True

    def __init__(
        self,
        networks: Mapping[int, tuple[Web3 | str, str]],
        *,
        names: Mapping[str, int] | None = None,
        clock: Clock = system_clock,
        max_staleness: float = 0.0,
        cache_size: int = 1024,
        timeout: float = 10.0,
        monotonic: Callable[[], float] = system_monotonic,
    ) -> None:
        if not networks:
            raise ValueError("configure at least one did:ethr network")
        self._clock = clock
        self._networks: dict[str, EthrNetwork] = {}
        extra_names: dict[int, list[str]] = {}
        for name, chain_id in (names or {}).items():
            if chain_id not in networks:
                raise ValueError(f"network name {name!r} is for chain {chain_id}, which is not configured")
            extra_names.setdefault(chain_id, []).append(name)
        for chain_id, (client, registry) in networks.items():
            if not is_address(registry):
                raise ValueError(f"the registry of chain {chain_id} is not an address: {registry!r}")
            w3 = connect(client, timeout=timeout) if isinstance(client, str) else client
            reader = RegistryReader(w3, str(to_checksum_address(registry)))
            network = EthrNetwork(
                chain_id=chain_id,
                reader=reader,
                cache=RegistryCache(reader, max_staleness=max_staleness, size=cache_size, monotonic=monotonic),
                names=(*KNOWN_NAMES.get(chain_id, ()), *extra_names.get(chain_id, ())),
            )
            for key in (network_id(chain_id), *network.names):
                if key in self._networks:
                    raise ValueError(f"did:ethr network {key!r} is configured twice")
                self._networks[key] = network

    @classmethod
    def for_rpc(cls, url: str, registry: str, **options: Any) -> EthrDidDriver:
        """A driver for the one chain a JSON-RPC URL serves (its chain id is asked from the node)."""
        w3 = connect(url, timeout=float(options.get("timeout", 10.0)))
        chain_id = RegistryReader(w3, registry).chain_id()
        return cls({chain_id: (w3, registry)}, **options)

    # -- configuration -------------------------------------------------------------------------------------------------

    def network(self, name: str) -> EthrNetwork:
        """The configured network a DID's network part names (``internalError`` as ethr-did-resolver reports it)."""
        network = self._networks.get(name)
        if network is None:
            raise DidError(
                f"no did:ethr network {name!r} is configured (configured: {sorted(self._networks)})",
                reason="internalError",
            )
        return network

    # -- DidMethodDriver / DidResolutionDriver -------------------------------------------------------------------------

    def resolve(self, did: str) -> DidDocument:
        return self.resolve_result(did, {}).document

    def resolve_result(self, did: str, parameters: Mapping[str, str]) -> ResolutionResult:
        block, at = _version_options(parameters)
        return self.resolve_at(did, block=block, time=at)

    def resolve_at(
        self, did: str, *, block: int | None = None, time: int | None = None, hide_compromised: bool = True
    ) -> ResolutionResult:
        """The document as of block ``block`` (``versionId``) or time ``time`` (``versionTime``), else the latest.

        ``hide_compromised=False`` keeps keys with a compromise mark in the document (for
        :class:`ledger.did_ethr.SigningKeyHistory`, which reports them specifically); the metadata lists them anyway.
        """
        if block is not None and time is not None:
            raise DidError("versionId and versionTime cannot both be set", reason="invalidOptions")
        ethr = parse_ethr_did(did)
        network = self.network(ethr.network)
        network.check()
        cache = network.cache
        head, head_time = cache.sync()
        if block is not None and block > head:
            head, head_time = cache.sync(force=True)  # the block exists, so the cache must know the chain up to it
        latest = block is None and time is None
        if time is not None:
            now = time
        elif block is not None:
            try:
                now = cache.block_timestamp(block)
            except LookupError:
                raise DidNotFound(f"block {block} (versionId) is not on chain {network.chain_id}") from None
        else:
            # A block at the head has happened, whatever the clock says: local chains stamp blocks ahead of the wall
            # clock when they mine faster than one block a second (on other chains the head is never in the future).
            now = max(math.floor(self._clock()), head_time)
        key = (ethr.did, block, time, hide_compromised)
        cached = cache.result(key, float(now))  # a version's "now" is fixed: cached until the identity changes
        if isinstance(cached, ResolutionResult):
            return cached
        history = cache.history(ethr.address, head)
        marks = compromised_thumbprints(history)
        version = build_document(
            ethr,
            history,
            network.chain_id,
            block_height=block,
            now=now,
            hidden_keys=marks if hide_compromised else (),
        )
        result = _result(version, history, marks)
        cache.store_result(key, ethr.address, version.valid_until if latest else math.inf, result, head=head)
        return result

    def compromised_keys(self, did: str) -> frozenset[str]:
        """JWK thumbprints (RFC 7638, SHA-256) of the keys the DID's controller has marked compromised."""
        ethr = parse_ethr_did(did)
        network = self.network(ethr.network)
        network.check()
        head, _ = network.cache.sync()
        return compromised_thumbprints(network.cache.history(ethr.address, head))

    def identity(self, did: str) -> EthrDid:
        """The parsed DID (network, identity address, public key)."""
        return parse_ethr_did(did)


def _version_options(parameters: Mapping[str, str]) -> tuple[int | None, int | None]:
    """``versionId`` / ``versionTime`` from the DID parameters (DID Core §3.2.1)."""
    unknown = set(parameters) - {"versionId", "versionTime"}
    if unknown:
        raise DidError(
            f"did:ethr resolution supports the DID parameters versionId and versionTime, not {sorted(unknown)}",
            reason="invalidDidUrl",
        )
    block: int | None = None
    at: int | None = None
    if "versionId" in parameters:
        value = parameters["versionId"]
        if not _DECIMAL.fullmatch(value):
            raise DidError("a did:ethr versionId is a block number (decimal digits)", reason="invalidDidUrl")
        block = int(value)
    if "versionTime" in parameters:
        value = parameters["versionTime"]
        if _DECIMAL.fullmatch(value):
            at = int(value)
        elif _XSD_UTC.fullmatch(value):
            # DID Core §3.2.1 versionTime: "an XML datetime value [...] normalized to UTC 00:00:00 and without
            # sub-second decimal precision", e.g. 2016-10-17T02:41:00Z
            try:
                at = int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
            except ValueError:
                raise DidError(f"versionTime {value!r} is not a valid date and time", reason="invalidDidUrl") from None
        else:
            raise DidError(
                "a did:ethr versionTime is Unix seconds or a UTC date-time such as 2025-05-01T12:00:00Z",
                reason="invalidDidUrl",
            )
    if block is not None and at is not None:
        raise DidError("versionId and versionTime cannot both be set", reason="invalidOptions")
    return block, at


def iso_time(timestamp: int) -> str:
    """``updated``/``nextUpdate``: "the ISO date string of the block time [...] (without sub-second resolution)"."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _result(version: DocumentVersion, history: tuple[RegistryEvent, ...], marks: frozenset[str]) -> ResolutionResult:
    timestamps = {event.block_number: event.block_timestamp for event in history}
    metadata: dict[str, Any] = {}
    if version.deactivated:
        metadata["deactivated"] = True
    if version.version_id != 0:
        metadata["versionId"] = str(version.version_id)
        metadata["updated"] = iso_time(timestamps[version.version_id])
    if version.next_version_id is not None:
        metadata["nextVersionId"] = str(version.next_version_id)
        metadata["nextUpdate"] = iso_time(timestamps[version.next_version_id])
    if marks:
        metadata["compromisedKeys"] = sorted(marks)
    # DID Core's sets are "one or more" entries; an empty relationship (a deactivated DID) is written as absent.
    document = {name: value for name, value in version.document.items() if value != []}
    return ResolutionResult(
        document=DidDocument.from_json(document),
        document_metadata=metadata,
        resolution_metadata={"contentType": CONTENT_TYPE},
    )
