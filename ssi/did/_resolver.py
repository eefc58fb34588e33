"""DID resolution (W3C DID Core 1.0 §7.1) over pluggable DID method drivers, with a TTL cache.

A driver is anything with a ``method`` name and a ``resolve(did) -> DidDocument``; other packages add their own
(``ledger`` registers did:ethr) with :meth:`DidResolver.register`. Errors use the DID Resolution error names
(§7.1.2): ``invalidDid`` (:class:`ssi.errors.DidError`), ``notFound`` (:class:`ssi.errors.DidNotFound`),
``methodNotSupported`` (:class:`ssi.errors.MethodNotSupported`), plus ``internalError`` when a driver fails and
``invalidDidDocument`` when it returns a document for another DID.

Resolution metadata (§7.1: "resolve(did, resolutionOptions) → « didResolutionMetadata, didDocument,
didDocumentMetadata »"): :meth:`DidResolver.resolve_result` returns a :class:`ResolutionResult`. A driver that knows
document metadata (``versionId``, ``updated``, ``deactivated``, §7.1.3) or DID parameters (``versionId``,
``versionTime``, §3.2.1) implements :class:`DidResolutionDriver` as well; for the others the result carries the
document and empty metadata, so every existing driver keeps working unchanged.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl

from ssi.clock import Clock, system_clock
from ssi.did._did_jwk import DidJwkDriver
from ssi.did._did_key import DidKeyDriver
from ssi.did._did_web import DidWebDriver
from ssi.did._document import DidDocument, VerificationMethod
from ssi.did._syntax import parse_did, parse_did_url
from ssi.errors import DidError, MethodNotSupported, SsiError
from ssi.fetch import Fetcher
from ssi.jose import KeyResolver
from ssi.keys import PublicKey

DEFAULT_CACHE_TTL = 300.0
DEFAULT_CACHE_SIZE = 1024
_METHOD_NAME = re.compile(r"[a-z0-9]+")  # DID Core §3.1 method-name = 1*method-char


@runtime_checkable
class DidMethodDriver(Protocol):
    """Resolves the DIDs of one DID method.

    ``resolve`` receives a syntactically valid DID (§3.1) of this method and returns its DID document, whose ``id``
    must be that DID. It raises :class:`ssi.errors.DidError` (``DidNotFound`` when the DID does not exist);
    any other exception is reported as ``internalError``.
    """

    @property
    def method(self) -> str: ...

    def resolve(self, did: str) -> DidDocument: ...


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    """The result of DID resolution (§7.1): the DID document with its metadata.

    ``document_metadata`` is DID document metadata (§7.1.3: ``created``, ``updated``, ``deactivated``,
    ``versionId``, ``nextUpdate``, ``nextVersionId``, ... and method-specific members); ``resolution_metadata`` is
    DID resolution metadata (§7.1.2: ``contentType``, ...). Errors are raised as :class:`ssi.errors.DidError`, so a
    result always has a document.
    """

    document: DidDocument
    document_metadata: dict[str, Any] = field(default_factory=dict)
    resolution_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def deactivated(self) -> bool:
        """§7.1.3 deactivated: "If a DID has been deactivated, DID document metadata MUST include this property
        with the boolean value true."."""
        return self.document_metadata.get("deactivated") is True

    def to_json(self) -> dict[str, Any]:
        """The three members of a DID resolution result, as DID Resolution names them."""
        return {
            "didDocument": self.document.to_json(),
            "didDocumentMetadata": dict(self.document_metadata),
            "didResolutionMetadata": dict(self.resolution_metadata),
        }


@runtime_checkable
class DidResolutionDriver(DidMethodDriver, Protocol):
    """A driver that also returns DID document metadata and accepts DID parameters (§3.2.1).

    ``resolve_result`` receives the DID (no query) and the DID parameters of the DID URL's query, e.g.
    ``{"versionId": "12"}``; it raises ``DidError`` (reason ``invalidDidUrl`` for parameters it cannot honour).
    A driver that keeps its own, self-invalidating cache sets ``manages_own_cache = True`` so the resolver does not
    cache its results for a fixed time on top.
    """

    def resolve_result(self, did: str, parameters: Mapping[str, str]) -> ResolutionResult: ...


def did_parameters(query: str | None) -> dict[str, str]:
    """The DID parameters of a DID URL query (§3.2.1: ``name=value`` pairs joined by ``&``, percent-encoded).

    A parameter given twice is refused: the DID URL would not say which value it means.
    """
    if query is None or query == "":
        return {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise DidError(
            "the DID URL query is not a list of DID parameters (DID Core §3.2.1)", reason="invalidDidUrl"
        ) from None
    parameters: dict[str, str] = {}
    for name, value in pairs:
        if name in parameters:
            raise DidError(f"DID parameter {name!r} is given twice (DID Core §3.2.1)", reason="invalidDidUrl")
        parameters[name] = value
    return parameters


class DidResolver:
    """Resolves DIDs with registered method drivers; successful results are cached for ``cache_ttl`` seconds.

    ``clock`` decides cache expiry (inject :class:`ssi.clock.FrozenClock` in tests). ``cache_ttl=0`` disables the
    cache. Errors are never cached. Safe to share between threads.
    """

    def __init__(
        self,
        drivers: Iterable[DidMethodDriver] = (),
        *,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Clock = system_clock,
    ) -> None:
        if cache_ttl < 0 or cache_size < 0:
            raise ValueError("cache_ttl and cache_size must not be negative")
        self._drivers: dict[str, DidMethodDriver] = {}
        self._cache: OrderedDict[str, tuple[float, ResolutionResult]] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_ttl = float(cache_ttl)
        self.cache_size = cache_size
        self._clock = clock
        for driver in drivers:
            self.register(driver)

    # -- registry --------------------------------------------------------------------------------------------------

    def register(self, driver: DidMethodDriver, *, replace: bool = False) -> None:
        """Add the driver for ``driver.method``; a method already registered is refused unless ``replace``."""
        method = driver.method
        if not isinstance(method, str) or not _METHOD_NAME.fullmatch(method):
            raise ValueError("a DID method name is one or more lower-case letters and digits (DID Core §3.1)")
        with self._lock:
            if method in self._drivers and not replace:
                raise ValueError(f"a driver for did:{method} is already registered")
            self._drivers[method] = driver
            self._drop_method(method)

    def unregister(self, method: str) -> None:
        with self._lock:
            self._drivers.pop(method, None)
            self._drop_method(method)

    @property
    def methods(self) -> frozenset[str]:
        """The DID method names that can be resolved."""
        with self._lock:
            return frozenset(self._drivers)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _drop_method(self, method: str) -> None:
        prefix = f"did:{method}:"
        for did in [d for d in self._cache if d.startswith(prefix)]:
            del self._cache[did]

    # -- resolution ------------------------------------------------------------------------------------------------

    def resolve(self, did: str) -> DidDocument:
        """Resolve a DID to its DID document (§7.1 ``resolve``)."""
        parsed = parse_did(did)  # §7.1.2 invalidDid: "does not conform to valid syntax"
        return self._resolve(did, parsed.method, {}).document

    def resolve_result(self, did_url: str) -> ResolutionResult:
        """Resolve a DID, optionally with DID parameters (§3.2.1, e.g. ``did:ethr:…?versionId=12``), to the DID
        document and its metadata (§7.1).

        DID parameters need a driver that implements :class:`DidResolutionDriver`; other drivers refuse them
        (``invalidDidUrl``). A path or fragment is refused: they are dereferenced, not resolved (§7.2).
        """
        url = parse_did_url(did_url)
        if url.path or url.fragment is not None:
            raise DidError(
                "only a DID, optionally with DID parameters, can be resolved; a path or fragment is dereferenced",
                reason="invalidDidUrl",
            )
        return self._resolve(str(url.did), url.did.method, did_parameters(url.query))

    def _resolve(self, did: str, method: str, parameters: Mapping[str, str]) -> ResolutionResult:
        with self._lock:
            driver = self._drivers.get(method)
            cached = self._cache.get(did) if not parameters else None
            if cached is not None:
                if self._clock() < cached[0]:
                    self._cache.move_to_end(did)
                    return cached[1]
                del self._cache[did]
        if driver is None:
            raise MethodNotSupported(f"did:{method} is not supported (supported: {sorted(self.methods)})")
        full_driver = driver if isinstance(driver, DidResolutionDriver) else None
        if parameters and full_driver is None:
            raise DidError(f"did:{method} resolution takes no DID parameters (DID Core §3.2.1)", reason="invalidDidUrl")
        try:
            if full_driver is not None:
                result = full_driver.resolve_result(did, parameters)
            else:
                result = ResolutionResult(driver.resolve(did))
        except DidError:
            raise
        except SsiError as exc:
            raise DidError(f"resolving {did} failed: {exc.description}", reason="internalError") from exc
        except Exception as exc:
            raise DidError(f"the did:{method} driver failed: {type(exc).__name__}", reason="internalError") from exc
        if not isinstance(result, ResolutionResult) or not isinstance(result.document, DidDocument):
            raise DidError(f"the did:{method} driver returned no DID document", reason="internalError")
        if result.document.id != did:
            # §7.1: "the value of id in the resolved DID document MUST match the DID that was resolved"
            raise DidError(
                "the resolved DID document has another id than the DID (DID Core §7.1)", reason="invalidDidDocument"
            )
        own_cache = getattr(driver, "manages_own_cache", False) is True
        if not parameters and not own_cache and self.cache_ttl > 0 and self.cache_size > 0:
            with self._lock:
                self._cache[did] = (self._clock() + self.cache_ttl, result)
                self._cache.move_to_end(did)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return result

    def find_verification_method(self, did_url: str, relationship: str | None = None) -> VerificationMethod:
        """Resolve the DID of an absolute DID URL and dereference the verification method it names (§5.2.2).

        With ``relationship`` (``assertionMethod``, ``authentication``, …) the method must belong to it (§5.3).
        """
        url = parse_did_url(did_url)
        if url.fragment is None:
            raise DidError("a verification method DID URL needs a fragment (e.g. did:…#key-1)", reason="invalidDidUrl")
        document = self.resolve(str(url.did))
        return document.find_verification_method(str(url), relationship)

    def public_key(self, did_url: str, relationship: str | None = None) -> PublicKey:
        """:meth:`find_verification_method`, then its :class:`ssi.keys.PublicKey`."""
        return self.find_verification_method(did_url, relationship).public_key()

    def key_resolver(self, relationship: str = "assertionMethod", *, did: str | None = None) -> KeyResolver:
        """A :data:`ssi.jose.KeyResolver` that takes the JWS ``kid`` as an absolute DID URL.

        The key must belong to ``relationship``; with ``did``, the ``kid`` must also be a DID URL of that DID
        (e.g. the ``iss`` of a credential), so a signer cannot pick a key from somebody else's DID document.
        """
        expected = str(parse_did(did)) if did is not None else None

        def resolve_kid(header: Mapping[str, Any]) -> PublicKey:
            kid = header.get("kid")
            if not isinstance(kid, str):
                raise DidError("the JWS header has no 'kid' DID URL", reason="invalidDidUrl")
            url = parse_did_url(kid)
            if expected is not None and str(url.did) != expected:
                raise DidError("the 'kid' DID URL belongs to another DID", reason="invalidDidUrl")
            return self.public_key(kid, relationship)

        return resolve_kid


def default_resolver(
    *,
    fetcher: Fetcher | None = None,
    clock: Clock = system_clock,
    cache_ttl: float = DEFAULT_CACHE_TTL,
    http_for_localhost: bool = False,
) -> DidResolver:
    """A resolver for did:key and did:jwk, and did:web when a ``fetcher`` is given (no fetcher, no network)."""
    drivers: list[DidMethodDriver] = [DidKeyDriver(), DidJwkDriver()]
    if fetcher is not None:
        drivers.append(DidWebDriver(fetcher, http_for_localhost=http_for_localhost))
    return DidResolver(drivers, clock=clock, cache_ttl=cache_ttl)
