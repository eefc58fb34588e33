"""Server nonces: ``c_nonce`` for key proofs (OpenID4VCI 1.0 §7) and ``DPoP-Nonce`` for DPoP proofs (RFC 9449 §8),
and the DPoP check of every protected request (RFC 9449 §4.3, §7, §11.1).

- ``c_nonce``: random, stored (``EphemeralStore``) for ``ttl`` seconds and **single-use**: a credential request
  consumes the nonces its proofs carry, so a captured key proof cannot be replayed (§13.5 "Proof replay").
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

from infra.ephemeral import EntryExists, EphemeralStore
from ssi.clock import Clock, system_clock
from ssi.dpop import DpopProof, verify_dpop_proof
from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import EncodingError, InvalidDpopProof, InvalidNonce, UseDpopNonce

__all__ = ["CNonces", "DpopCheck", "DpopNonces"]

C_NONCE_NS = "vci_c_nonce"
DPOP_JTI_NS = "vci_dpop_jti"


class CNonces:
    """``c_nonce`` values of one service (shared through the store by all its instances)."""

    def __init__(self, store: EphemeralStore, *, ttl: float = 300.0) -> None:
        self._store = store
        self.ttl = ttl

    def issue(self, authority_id: int) -> str:
        """A fresh, unpredictable ``c_nonce`` (§7.2: "New challenge values MUST be unpredictable")."""
        while True:
            nonce = b64url_encode(secrets.token_bytes(24))
            try:
                self._store.put(C_NONCE_NS, nonce, {"a": authority_id}, self.ttl)
                return nonce
            except EntryExists:  # pragma: no cover - 192 random bits
                continue

    def consume(self, nonces: set[str], authority_id: int, *, store: EphemeralStore | None = None) -> None:
        """Take every nonce (each once); ``invalid_nonce`` when one is unknown, expired, used, or another
        authority's (§8.3.1.2: "at least one of the key proofs contains an invalid c_nonce value"). ``store``: the
        same store inside the caller's transaction (``SqlEphemeralStore.bound``)."""
        source = self._store if store is None else store
        for nonce in sorted(nonces):
            entry = source.take(C_NONCE_NS, nonce)
            if entry is None or entry.get("a") != authority_id:
                raise InvalidNonce(
                    "the c_nonce is unknown, expired or already used; fetch a new one from the nonce endpoint",
                    reason="unknown_c_nonce",
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
    ) -> DpopProof:
        """``store``: where the ``jti`` is remembered when not :attr:`store` — the same store inside the caller's
        transaction (``SqlEphemeralStore.bound``)."""
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
        # §11.1: "the server MUST NOT accept a DPoP proof whose jti it has seen before" (within its window); the key
        # thumbprint is part of the key so one client cannot block another's jti values.
        jti_store = self.store if store is None else store
        if not jti_store.remember_once(DPOP_JTI_NS, f"{proof.jkt}:{proof.jti}", self.max_age + 2 * self.skew):
            raise InvalidDpopProof("the DPoP proof was used before (jti replay)", reason="dpop_replay")
        return proof
