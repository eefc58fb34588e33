"""DID resolution (W3C DID Core 1.0 §7.1) over pluggable DID method drivers, with a TTL cache.

A driver is anything with a ``method`` name and a ``resolve(did) -> DidDocument``; other packages add their own
(``ledger`` registers did:ethr) with :meth:`DidResolver.register`. Errors use the DID Resolution error names
(§7.1.2): ``invalidDid`` (:class:`ssi.errors.DidError`), ``notFound`` (:class:`ssi.errors.DidNotFound`),
``methodNotSupported`` (:class:`ssi.errors.MethodNotSupported`), plus ``internalError`` when a driver fails and
``invalidDidDocument`` when it returns a document for another DID.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

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
        self._cache: OrderedDict[str, tuple[float, DidDocument]] = OrderedDict()
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
        with self._lock:
            driver = self._drivers.get(parsed.method)
            cached = self._cache.get(did)
            if cached is not None:
                if self._clock() < cached[0]:
                    self._cache.move_to_end(did)
                    return cached[1]
                del self._cache[did]
        if driver is None:
            raise MethodNotSupported(f"did:{parsed.method} is not supported (supported: {sorted(self.methods)})")
        try:
            document = driver.resolve(did)
        except DidError:
            raise
        except SsiError as exc:
            raise DidError(f"resolving {did} failed: {exc.description}", reason="internalError") from exc
        except Exception as exc:
            raise DidError(
                f"the did:{parsed.method} driver failed: {type(exc).__name__}", reason="internalError"
            ) from exc
        if not isinstance(document, DidDocument):
            raise DidError(f"the did:{parsed.method} driver returned no DID document", reason="internalError")
        if document.id != did:
            # §7.1: "the value of id in the resolved DID document MUST match the DID that was resolved"
            raise DidError(
                "the resolved DID document has another id than the DID (DID Core §7.1)", reason="invalidDidDocument"
            )
        if self.cache_ttl > 0 and self.cache_size > 0:
            with self._lock:
                self._cache[did] = (self._clock() + self.cache_ttl, document)
                self._cache.move_to_end(did)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return document

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
