"""Injected time. Anything whose outcome depends on the time takes a ``Clock`` so tests are deterministic."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Returns the current time as seconds since the epoch (like ``time.time``)."""

system_clock: Clock = time.time


class FrozenClock:
    """A clock for tests: stands still until moved."""

    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
