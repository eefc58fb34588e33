"""Validated ``x5c`` chains remembered per trust-anchor set (a verifier's hot path: every credential of an issuer, and
every status check against that issuer's Status List Token, carries the same chain).

RFC 7515 §4.1.6: "The recipient MUST validate the certificate chain according to RFC 5280 [...] and consider the
certificate or certificate chain to be invalid if any validation failure occurs." RFC 5280 §6.1 path validation of a
fixed path to a fixed trust anchor depends on the time only through each certificate's validity period
(§6.1.3 (a)(2)); signatures, name chaining, basic constraints and key usage are properties of the certificates. So a
path that validated once validates again at any moment that lies inside the validity period of every certificate on
it: :class:`X5cChainCache` answers from memory only then, and runs :func:`ssi.x509.verify_x5c` otherwise (outside
that window, for an ``x5c`` it has not seen, and for every failure — failures are never remembered).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from ssi.x509 import VerifiedChain, verify_x5c

__all__ = ["X5cChainCache"]

#: a second of margin at both ends of the window: the path validator sees the time at one-second resolution
_MARGIN = 1.0


@dataclass(frozen=True, slots=True)
class _Entry:
    chain: VerifiedChain
    not_before: float
    not_after: float


class X5cChainCache:
    """:func:`ssi.x509.verify_x5c` to fixed ``anchors``, remembering up to ``max_entries`` validated chains (least
    recently used dropped first) by their exact ``x5c`` strings. Thread-safe."""

    def __init__(self, anchors: Sequence[x509.Certificate], *, max_entries: int = 256) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.anchors = tuple(anchors)
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def verify(self, x5c: object, *, now: float) -> VerifiedChain:
        """The validated chain of ``x5c`` at ``now`` (raises :class:`ssi.errors.CertificateError` as
        :func:`ssi.x509.verify_x5c` does)."""
        key = tuple(x5c) if isinstance(x5c, list) and all(isinstance(entry, str) for entry in x5c) else None
        if key is not None:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry.not_before <= now <= entry.not_after:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry.chain
        chain = verify_x5c(x5c, self.anchors, now=now)
        if key is not None:
            # every certificate on the validated path, the anchor included, must be within its validity period
            not_before = max(cert.not_valid_before_utc.timestamp() for cert in chain.chain) + _MARGIN
            not_after = min(cert.not_valid_after_utc.timestamp() for cert in chain.chain) - _MARGIN
            with self._lock:
                self.misses += 1
                self._entries[key] = _Entry(chain, not_before, not_after)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return chain

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
