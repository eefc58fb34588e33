"""A small least-recently-used map, shared by the chain caches (did:ethr documents, trusted-issuer registry, status
anchors). Bounded: a cache of chain views must not grow with the number of identities a caller asks about."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["Lru"]

V = TypeVar("V")


class Lru(Generic[V]):
    """At most ``size`` entries; the least recently used goes first. Not thread-safe: the owner holds its lock.
    ``size`` 0 (or less) caches nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        if self.size <= 0:
            return
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)
