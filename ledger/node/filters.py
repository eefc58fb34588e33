"""Polling filters (``eth_newFilter``, ``eth_newBlockFilter``, ``eth_getFilterChanges``, ``eth_getFilterLogs``,
``eth_uninstallFilter``), as geth keeps them: state in the node, changes returned since the previous poll.

A filter left unpolled for :data:`FILTER_TIMEOUT` seconds is removed (geth's five minutes), and at most
:data:`MAX_FILTERS` exist at once, so clients that forget to uninstall cannot grow the node without bound.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ssi.clock import Clock

__all__ = ["FILTER_TIMEOUT", "MAX_FILTERS", "Filter", "FilterRegistry"]

FILTER_TIMEOUT = 300.0
MAX_FILTERS = 1000


@dataclass
class Filter:
    """A polling filter. ``log_filter`` is the parsed ``eth_newFilter`` object, ``None`` for a block filter."""

    log_filter: object | None
    #: The first block whose changes the next poll returns.
    next_block: int
    last_poll: float = field(default=0.0)


class FilterRegistry:
    """The node's installed filters, keyed by random ids (so one client cannot guess another's)."""

    def __init__(self, clock: Clock, *, new_id: Callable[[], str] | None = None) -> None:
        self._clock = clock
        self._filters: dict[str, Filter] = {}
        self._lock = threading.Lock()
        self._new_id = new_id or (lambda: "0x" + secrets.token_hex(16))

    def install(self, log_filter: object | None, next_block: int) -> str | None:
        """Install a filter; ``None`` when :data:`MAX_FILTERS` are in use."""
        with self._lock:
            self._expire()
            if len(self._filters) >= MAX_FILTERS:
                return None
            filter_id = self._new_id()
            self._filters[filter_id] = Filter(log_filter, next_block, self._clock())
            return filter_id

    def get(self, filter_id: str) -> Filter | None:
        """The filter (its poll time refreshed), or ``None`` if unknown or expired."""
        with self._lock:
            self._expire()
            found = self._filters.get(filter_id.lower())
            if found is not None:
                found.last_poll = self._clock()
            return found

    def uninstall(self, filter_id: str) -> bool:
        with self._lock:
            return self._filters.pop(filter_id.lower(), None) is not None

    def _expire(self) -> None:
        deadline = self._clock() - FILTER_TIMEOUT
        for filter_id in [key for key, value in self._filters.items() if value.last_poll < deadline]:
            del self._filters[filter_id]
