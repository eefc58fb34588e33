"""Deciding a presentation session in the session store: the single-use nonce taken and the decision written
together (OpenID4VP 1.0 §14.1: the nonce binds a response to one request; a response that comes second — replayed
or concurrent — must not be accepted).

:func:`take_and_write` takes ``vp_nonce:<request id>`` and, only if this caller got it, writes the decision (result,
final session, same-device code). Of any number of concurrent callers exactly one gets ``True``; the others write
nothing. On :class:`VerifierRedisStore` both happen in one Lua script — one round trip, atomic on the Redis server
(``GETDEL`` then the ``SET``\\ s; nothing runs in between). On any other :class:`infra.ephemeral.EphemeralStore` it
is ``take`` (atomic by itself: ``GETDEL`` or ``DELETE … RETURNING``) followed by ``replace_many``: two round trips,
still exactly one winner.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from infra.ephemeral import EphemeralStore, RedisEphemeralStore

__all__ = ["VerifierRedisStore", "take_and_write"]

Entry = tuple[str, str, Mapping[str, Any], float]

#: KEYS[1] the single-use key; KEYS[2..n] the entries, ARGV[2i-3] value and ARGV[2i-2] TTL in ms of KEYS[i]
_TAKE_AND_SET = """
if redis.call('GETDEL', KEYS[1]) == false then
  return 0
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 3], 'PX', ARGV[2 * i - 2])
end
return 1
"""


class VerifierRedisStore(RedisEphemeralStore):
    """The verifier's Redis session store: :class:`infra.ephemeral.RedisEphemeralStore` plus
    :meth:`take_then_replace_many`, one Lua script (``EVALSHA``; Redis ≥ 6.2 for ``GETDEL``, as ``take``)."""

    def __init__(self, url: str, *, prefix: str = "govssi:") -> None:
        super().__init__(url, prefix=prefix)
        self._take_and_set = self._redis.register_script(_TAKE_AND_SET)

    def take_then_replace_many(self, ns: str, key: str, entries: Sequence[Entry]) -> bool:
        """Take ``ns:key``; if it was there, set every entry (value, TTL) — atomically, in one round trip. ``False``
        (and nothing written) when the key was gone: taken by another caller, or expired."""
        keys = [self._k(ns, key)]
        args: list[str | int] = []
        for entry_ns, entry_key, value, ttl in entries:
            keys.append(self._k(entry_ns, entry_key))
            args += [json.dumps(dict(value)), self._ms(ttl)]
        return bool(self._take_and_set(keys=keys, args=args))


def take_and_write(store: EphemeralStore, ns: str, key: str, entries: Sequence[Entry]) -> bool:
    """Take the single-use ``ns:key`` and, if this caller got it, write ``entries`` (module docstring). ``True`` for
    the one caller that took it."""
    atomic = getattr(store, "take_then_replace_many", None)
    if atomic is not None:
        return bool(atomic(ns, key, entries))
    if store.take(ns, key) is None:
        return False
    store.replace_many(entries)
    return True
