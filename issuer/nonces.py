"""Server nonces: ``c_nonce`` for key proofs (OpenID4VCI 1.0 §7) and ``DPoP-Nonce`` for DPoP proofs (RFC 9449 §8),
and the DPoP check of every protected request (RFC 9449 §4.3, §7, §11.1).

- ``c_nonce``: 128 random bits, the time of issue and a MAC under a server secret shared by all instances (bound to
  the authority) — nothing is stored when it is issued (§7: the nonce endpoint is then a pure computation). It is
  accepted for ``ttl`` seconds and **single-use**: a credential request consumes the nonces its proofs carry by
  recording them (``EphemeralStore.remember_once``, in the request's transaction where there is one) until they would
  have expired anyway, so a captured key proof cannot be replayed (§13.5 "Proof replay").
- ``DPoP-Nonce``: a timestamp with a MAC under a server secret shared by all instances — no storage per request;
  valid for ``ttl`` seconds; a fresh one goes out with every response of the token, nonce and credential endpoints
  (§8.2: "the server MAY supply a new nonce value to the client in ... any HTTP response"). DPoP replay is stopped
  by remembering each proof's ``jti`` (§11.1) until the proof would be too old anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

from infra.ephemeral import EphemeralStore
from ssi.clock import Clock, system_clock
from ssi.dpop import DpopProof, verify_dpop_proof
from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import EncodingError, InvalidDpopProof, InvalidNonce, UseDpopNonce

__all__ = ["CNonces", "DpopCheck", "DpopNonces"]

C_NONCE_NS = "vci_c_nonce"
#: ``c_nonce`` layout: issue time (8 bytes), random (16), MAC (16) — 40 bytes, 54 base64url characters.
_C_NONCE_RANDOM = 16
_C_NONCE_MAC = 16
_C_NONCE_BYTES = 8 + _C_NONCE_RANDOM + _C_NONCE_MAC
_C_NONCE_CHARS = 54
#: Seconds a ``c_nonce``'s time may lie ahead of this instance's clock (instances' clocks differ slightly).
_C_NONCE_FUTURE = 5
DPOP_JTI_NS = "vci_dpop_jti"


class CNonces:
    """``c_nonce`` values of one service: ``b64url(time ‖ random ‖ HMAC-SHA256(secret, authority ‖ time ‖
    random)[:16])``. Every instance sharing ``secret`` and the store accepts every other's nonces; a nonce is used
    once across all of them (the store remembers consumed nonces)."""

    def __init__(
        self, store: EphemeralStore, secret: bytes, *, ttl: float = 300.0, clock: Clock = system_clock
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the c_nonce secret must have at least 32 bytes")
        self._store = store
        self._secret = secret
        self.ttl = ttl
        self._clock = clock

    def _mac(self, authority_id: int, body: bytes) -> bytes:
        message = b"c-nonce" + struct.pack(">q", authority_id) + body
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:_C_NONCE_MAC]

    def issue(self, authority_id: int) -> str:
        """A fresh, unpredictable ``c_nonce`` (§7.2: "New challenge values MUST be unpredictable": 128 random bits
        in each), valid for :attr:`ttl` seconds at ``authority_id``'s credential issuer only. No storage."""
        body = struct.pack(">Q", int(self._clock())) + secrets.token_bytes(_C_NONCE_RANDOM)
        return b64url_encode(body + self._mac(authority_id, body))

    def _issued_at(self, nonce: str, authority_id: int) -> int | None:
        """When ``nonce`` was issued for ``authority_id``, or ``None`` when it is not one of ours (or another
        authority's)."""
        if not isinstance(nonce, str) or len(nonce) != _C_NONCE_CHARS:
            return None
        try:
            raw = b64url_decode(nonce)
        except EncodingError:
            return None
        body = raw[:-_C_NONCE_MAC]
        if len(raw) != _C_NONCE_BYTES or not hmac.compare_digest(raw[-_C_NONCE_MAC:], self._mac(authority_id, body)):
            return None
        (issued,) = struct.unpack(">Q", body[:8])
        return int(issued)

    def consume(self, nonces: set[str], authority_id: int, *, store: EphemeralStore | None = None) -> None:
        """Use every nonce (each once); ``invalid_nonce`` when one was not issued here for this authority, has
        expired or was used before (§8.3.1.2: "at least one of the key proofs contains an invalid c_nonce value").
        A used nonce is remembered until it would have expired (plus the clock tolerance), so it is refused for as
        long as it could otherwise be accepted. ``store``: the same store inside the caller's transaction
        (``SqlEphemeralStore.bound``): the nonce is used when that transaction commits (of concurrent requests with
        one nonce exactly one succeeds)."""
        source = self._store if store is None else store
        for nonce in sorted(nonces):
            if not source.remember_once(C_NONCE_NS, nonce, self.check(nonce, authority_id)):
                raise self.used()

    def check(self, nonce: str, authority_id: int) -> float:
        """Everything :meth:`consume` checks but single use: ``invalid_nonce`` when ``nonce`` was not issued here
        for this authority or has expired; else the seconds it must be remembered once used (until it would have
        expired, plus the clock tolerance). The caller records it (:data:`C_NONCE_NS`) and refuses it with
        :meth:`used` when it was recorded before."""
        now = self._clock()
        issued = self._issued_at(nonce, authority_id)
        if issued is None:
            raise InvalidNonce(
                "the c_nonce was not issued by this credential issuer; fetch one from the nonce endpoint",
                reason="unknown_c_nonce",
            )
        if issued > now + _C_NONCE_FUTURE or now - issued > self.ttl:
            raise InvalidNonce(
                "the c_nonce has expired; fetch a new one from the nonce endpoint", reason="expired_c_nonce"
            )
        return max(1.0, issued + self.ttl - now + _C_NONCE_FUTURE)

    @staticmethod
    def used() -> InvalidNonce:
        """The error for a ``c_nonce`` that was used before (§8.3.1.2)."""
        return InvalidNonce(
            "the c_nonce was used already; fetch a new one from the nonce endpoint", reason="used_c_nonce"
        )


class DpopNonces:
    """Stateless DPoP nonces: ``b64url(time ‖ HMAC-SHA256(secret, time)[:16])``."""

    def __init__(self, secret: bytes, *, ttl: float = 300.0, clock: Clock = system_clock) -> None:
        self._secret = secret
        self.ttl = ttl
        self._clock = clock

    def _mac(self, stamp: bytes) -> bytes:
        return hmac.new(self._secret, b"dpop-nonce" + stamp, hashlib.sha256).digest()[:16]

    def issue(self) -> str:
        stamp = struct.pack(">Q", int(self._clock()))
        return b64url_encode(stamp + self._mac(stamp))

    def check(self, nonce: str | None) -> None:
        """RFC 9449 §8: a missing, forged or stale nonce is ``use_dpop_nonce`` (the client retries with the nonce
        in the ``DPoP-Nonce`` header of the error response)."""
        if nonce is None:
            raise UseDpopNonce("the authorization server requires a DPoP nonce", reason="dpop_nonce_missing")
        try:
            raw = b64url_decode(nonce)
        except EncodingError:
            raw = b""
        if len(raw) != 24 or not hmac.compare_digest(raw[8:], self._mac(raw[:8])):
            raise UseDpopNonce("the DPoP nonce is not one this server issued", reason="dpop_nonce_wrong")
        (issued,) = struct.unpack(">Q", raw[:8])
        now = self._clock()
        if issued > now + 5 or now - issued > self.ttl:
            raise UseDpopNonce("the DPoP nonce has expired", reason="dpop_nonce_stale")


@dataclass
class DpopCheck:
    """Verifies the ``DPoP`` header of a request: RFC 9449 §4.3 (by ``ssi.dpop``), the server nonce, and ``jti``
    replay (§11.1) through the shared store."""

    nonces: DpopNonces
    store: EphemeralStore
    clock: Clock = system_clock
    max_age: float = 300.0
    skew: float = 60.0
    algorithms: tuple[str, ...] = ("ES256", "EdDSA")

    def verify(
        self,
        header_values: list[str],
        *,
        method: str,
        url: str,
        access_token: str | None = None,
        jkt: str | None = None,
        store: EphemeralStore | None = None,
        record_jti: bool = True,
    ) -> DpopProof:
        """``store``: where the ``jti`` is remembered when not :attr:`store` — the same store inside the caller's
        transaction (``SqlEphemeralStore.bound``). ``record_jti=False``: every check but the ``jti`` replay; the
        caller records :meth:`jti_entry` before it accepts the proof (and refuses a replay with :meth:`replayed`)."""
        # §4.3 point 1: "there is not more than one DPoP HTTP request header field".
        if len(header_values) != 1:
            raise InvalidDpopProof("exactly one DPoP header is required", reason="dpop_header_count")
        proof = verify_dpop_proof(
            header_values[0],
            htm=method,
            htu=url,
            now=self.clock(),
            access_token=access_token,
            jkt=jkt,
            max_age=self.max_age,
            skew=self.skew,
            algorithms=self.algorithms,
        )
        self.nonces.check(proof.nonce)
        if record_jti:
            jti_store = self.store if store is None else store
            if not jti_store.remember_once(DPOP_JTI_NS, *self.jti_entry(proof)):
                raise self.replayed()
        return proof

    def jti_entry(self, proof: DpopProof) -> tuple[str, float]:
        """§11.1: "the server MUST NOT accept a DPoP proof whose jti it has seen before" (within its window): the
        key under :data:`DPOP_JTI_NS` and for how long it is remembered. The key thumbprint is part of the key so one
        client cannot block another's ``jti`` values."""
        return f"{proof.jkt}:{proof.jti}", self.max_age + 2 * self.skew

    @staticmethod
    def replayed() -> InvalidDpopProof:
        return InvalidDpopProof("the DPoP proof was used before (jti replay)", reason="dpop_replay")
