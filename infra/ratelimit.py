"""Rate limits for the services' public endpoints (token endpoints, login pages): a fixed-window counter in the
shared short-lived store (:mod:`infra.ephemeral`), so every instance counts against the same limit.

``FixedWindowLimiter(store, "rl_login", limit=10, window=60).hit(client_address)`` counts one request in the current
window (``floor(now / window)``) with the store's atomic ``incr`` and says whether it is within ``limit``; when not,
``retry_after`` is the number of seconds until the window ends. A fixed window admits at most ``2 * limit`` requests
in any ``window`` seconds (the end of one window and the start of the next) — enough against guessing and flooding,
and one counter write per request.

:func:`rate_limited_response` is the answer in the OAuth error shape (RFC 6749 §5.2): HTTP 429 (RFC 6585 §4) with
``Retry-After`` and ``error`` ``slow_down`` (the code RFC 8628 §3.5 gives a client that polls too fast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi.responses import JSONResponse

from infra.ephemeral import EphemeralStore
from infra.http import error_response
from ssi.clock import Clock, system_clock

__all__ = ["FixedWindowLimiter", "RateDecision", "rate_limited_response"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    retry_after: int


class FixedWindowLimiter:
    """``limit`` requests per ``window`` seconds per key (client address, account name …)."""

    def __init__(
        self, store: EphemeralStore, namespace: str, limit: int, window: float, *, clock: Clock = system_clock
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self._store = store
        self.namespace = namespace
        self.limit = limit
        self.window = window
        self._clock = clock

    def hit(self, key: str) -> RateDecision:
        """Count one request for ``key``."""
        now = self._clock()
        slot = math.floor(now / self.window)
        count = self._store.incr(self.namespace, f"{key[:200]}:{slot}", self.window)
        retry_after = max(1, math.ceil((slot + 1) * self.window - now))
        return RateDecision(count <= self.limit, count, self.limit, retry_after)


def rate_limited_response(decision: RateDecision, description: str = "too many requests; slow down") -> JSONResponse:
    """HTTP 429 ``slow_down`` with ``Retry-After`` (RFC 9110 §10.2.3)."""
    return error_response("slow_down", description, 429, {"Retry-After": str(decision.retry_after)})
