"""The Relying Party's side: resolve, verify and cache Status List Tokens and read a Referenced Token's status (§8).

- §8.1: the Status List Token is fetched with an HTTP GET of the reference's ``uri``, asking for
  ``Accept: application/statuslist+jwt`` (:func:`status_list_http_fetcher` builds such a fetcher);
- §8.2: "A successful response that contains a Status List Token MUST use an HTTP status code in the 2xx range" and
  "the Status Provider MUST use the following content-type: "application/statuslist+jwt"". 3xx responses are *not*
  followed here (the draft says clients SHOULD; our fetchers refuse redirects as SSRF protection, §11.4), so they
  fail as ``http_status``;
- §8.3: the validation steps, in order (see :meth:`StatusListVerifier.check`);
- §13.7 / §8.3 step 4d: caching. A cached token is used for at most ``min(ttl, exp - fetch time, max_age)`` seconds
  after it was fetched; ``max_age`` is the Relying Party's own bound (§11.5: "clients should be configured with
  lower/upper bounds"), and ``max_age=0`` fetches on every check, so a revocation is never hidden by the cache. Caching
  headers of the HTTP response are ignored (§8.2: exp and ttl take priority). Failures are never cached.

The cache belongs to one verifier, and so to one key / key resolver and algorithm allowlist: a token verified under
one trust configuration is never served to another.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ssi.clock import Clock, system_clock
from ssi.errors import InputTooLarge, SsiError, StatusListError
from ssi.fetch import Fetcher, HttpFetcher
from ssi.jose import KeyResolver
from ssi.keys import PublicKey
from ssi.status_list._list import DEFAULT_MAX_DECOMPRESSED_SIZE
from ssi.status_list._reference import StatusListReference
from ssi.status_list._token import (
    DEFAULT_MAX_TOKEN_SIZE,
    STATUS_LIST_JWT_MEDIA_TYPE,
    StatusListToken,
    verify_status_list_token,
)


def status_list_http_fetcher(**kwargs: Any) -> HttpFetcher:
    """An :class:`ssi.fetch.HttpFetcher` that sends ``Accept: application/statuslist+jwt`` (§8.1)."""
    kwargs.setdefault("accept", STATUS_LIST_JWT_MEDIA_TYPE)
    return HttpFetcher(**kwargs)


@dataclass(frozen=True, slots=True)
class _CacheEntry:
    token: StatusListToken
    fetched_at: float
    fresh_until: float


class StatusListVerifier:
    """Checks the status of Referenced Tokens against their Status List Tokens, with a bounded cache.

    ``fetcher`` retrieves a URI (:data:`ssi.fetch.Fetcher`); ``key`` and ``algorithms`` verify the Status List Token
    (§11.3 leaves key resolution to the ecosystem: pass a key resolver that applies our trust policy);
    ``max_age`` (seconds, required: it is a security decision) bounds how long a fetched token is reused.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        key: PublicKey | KeyResolver,
        algorithms: Collection[str],
        *,
        max_age: float,
        clock: Clock = system_clock,
        skew: float = 60.0,
        max_token_age: float | None = None,
        max_token_size: int = DEFAULT_MAX_TOKEN_SIZE,
        max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
        max_entries: int = 64,
    ) -> None:
        if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or not 0 <= max_age < math.inf:
            raise ValueError("max_age must be a finite number of seconds >= 0")
        if max_entries < 0:
            raise ValueError("max_entries must not be negative")
        self._fetcher = fetcher
        self._key = key
        self._algorithms = tuple(algorithms)
        self.max_age = float(max_age)
        self._clock = clock
        self._skew = skew
        self._max_token_age = max_token_age
        self._max_token_size = max_token_size
        self._max_decompressed_size = max_decompressed_size
        self._max_entries = max_entries
        self._cache: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    # -- §8.3 ------------------------------------------------------------------------------------------------------

    def check(self, status_claim: Any) -> int:
        """Return the status value of a Referenced Token from its ``status`` claim (§8.3 steps 1-7).

        The caller MUST have validated the Referenced Token itself first (§8.3: "The processing rules for Referenced
        Tokens ... MUST precede any evaluation of a Referenced Token's status"). Only :data:`VALID` (0x00) means
        valid; interpreting other values is the caller's policy (§7.1). Every failure raises :class:`SsiError` —
        in that case "no statement about the status of the Referenced Token can be made".
        """
        # 1. the status claim and its status_list reference (§6.2)
        reference = StatusListReference.from_status_claim(status_claim)
        return self.status(reference)

    def status(self, reference: StatusListReference) -> int:
        """§8.3 steps 2-7 for an already parsed reference."""
        # 2.-5. resolve, verify (sub == uri, iat, exp, ttl) and decompress the Status List Token
        token = self.token(reference.uri)
        # 6. the status at idx; out of bounds MUST be rejected
        return token.status(reference.idx)

    def token(self, uri: str) -> StatusListToken:
        """The verified Status List Token published at ``uri``, from the cache while it is fresh."""
        now = self._clock()
        with self._lock:
            entry = self._cache.get(uri)
            if entry is not None:
                if entry.fetched_at <= now < entry.fresh_until:
                    self._cache.move_to_end(uri)
                    return entry.token
                del self._cache[uri]
        token = self._resolve(uri)
        # The lifetime counts from *before* the request: never longer than the issuer allowed.
        self._remember(uri, token, fetched_at=now)
        return token

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # -- fetching (§8.1, §8.2) -------------------------------------------------------------------------------------

    def _resolve(self, uri: str) -> StatusListToken:
        try:
            response = self._fetcher(uri)
        except InputTooLarge as exc:
            raise StatusListError("status list token response is too large", reason="token_too_large") from exc
        except SsiError as exc:
            raise StatusListError(
                f"fetching the status list token failed: {exc.description}", reason="fetch_failed"
            ) from exc
        if not 200 <= response.status < 300:
            raise StatusListError(
                f"status list token request answered HTTP {response.status}, not 2xx (§8.2)", reason="http_status"
            )
        media_type = (response.content_type or "").split(";", 1)[0].strip().lower()
        if media_type != STATUS_LIST_JWT_MEDIA_TYPE:
            raise StatusListError(
                f"status list token response must have content type {STATUS_LIST_JWT_MEDIA_TYPE} (§8.2)",
                reason="wrong_content_type",
            )
        if len(response.body) > self._max_token_size:
            raise StatusListError(
                f"status list token is larger than {self._max_token_size} bytes", reason="token_too_large"
            )
        try:
            compact = response.body.decode("ascii")
        except UnicodeDecodeError:
            raise StatusListError(
                "status list token is not a JWS compact serialization", reason="malformed_token"
            ) from None
        return verify_status_list_token(
            compact,
            self._key,
            self._algorithms,
            uri=uri,
            clock=self._clock,
            skew=self._skew,
            max_token_age=self._max_token_age,
            max_size=self._max_token_size,
            max_decompressed_size=self._max_decompressed_size,
        )

    # -- caching (§13.7, §11.5) ------------------------------------------------------------------------------------

    def _remember(self, uri: str, token: StatusListToken, *, fetched_at: float) -> None:
        lifetime = self.max_age
        if token.ttl is not None:
            # §8.3 step 4d: "retrieve a fresh copy if (time status was resolved + ttl < current time)"
            lifetime = min(lifetime, token.ttl)
        if token.expires_at is not None:
            # §13.7: exp marks "the point in time when the Status List expires and MUST NOT be relied upon any longer"
            lifetime = min(lifetime, token.expires_at - fetched_at)
        if lifetime <= 0 or self._max_entries == 0:
            return
        with self._lock:
            self._cache[uri] = _CacheEntry(token=token, fetched_at=fetched_at, fresh_until=fetched_at + lifetime)
            self._cache.move_to_end(uri)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
