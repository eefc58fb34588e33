"""The simulated secure element: the wallet's keys, which never leave it, and the attestations that vouch for them.

- **Non-exportable by API.** Keys are P-256 (ES256, HAIP 1.0 §7), generated inside, kept sealed in the wallet file
  (:mod:`wallet_sim.store`), and reachable only as a :class:`ssi.keys.Signer` or a public JWK: no method returns
  private key material.
- **Signing only after user authentication.** A signer works while the element is unlocked with the wallet PIN
  (:meth:`SecureElement.unlock`, optionally for a limited time) and refuses with :class:`SecureElementLocked`
  otherwise — even a signer obtained earlier.
- **Attestations** by the wallet provider (:mod:`wallet_sim.provider`): a key attestation (OpenID4VCI 1.0 Appendix D)
  for holder keys, one per Credential Request covering all batch keys (HAIP 1.0 §4.5.1), and a wallet attestation
  (Appendix E, HAIP §4.4.1) for client authentication, with a fresh instance key per authorization server so
  attestations of one citizen cannot be linked across issuers ("Individual Wallet Attestations MUST be used for each
  Issuer").

Key states: a key is ``provisional`` from generation until the credential it is bound to is stored (``bound``, with
the owning credential's id) — in the same transaction — so an issuance that fails or is declined leaves no key behind
(:meth:`SecureElement.purge_provisional` also removes what a crash left).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from ssi.client_attestation import ATTESTATION_HEADER, ATTESTATION_POP_HEADER, create_client_attestation_pop
from ssi.clock import Clock
from ssi.errors import SecureElementLocked, WalletError
from ssi.keys import PrivateKey, PublicKey
from wallet_sim.provider import WalletProvider
from wallet_sim.store import Transaction, WalletStore

__all__ = ["ClientAttestation", "KeyHandle", "KeyPurpose", "SecureElement", "SecureElementSigner"]

KeyPurpose = Literal["holder", "dpop", "client_instance"]
ALG: Final = "ES256"
#: Keys a crash left provisional are removed after this long (seconds).
PROVISIONAL_MAX_AGE: Final = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class KeyHandle:
    """A key in the secure element: its id and public JWK — all the outside ever gets."""

    id: str
    public_jwk: dict[str, str]
    purpose: str

    @property
    def thumbprint(self) -> str:
        return PublicKey.from_jwk(self.public_jwk).thumbprint()


@dataclass(frozen=True, slots=True)
class ClientAttestation:
    """A wallet attestation for one authorization server, with its instance key (for the PoP per request)."""

    attestation: str
    instance: SecureElementSigner
    client_id: str

    def headers(self, *, audience: str, now: float, challenge: str | None = None) -> dict[str, str]:
        """``OAuth-Client-Attestation`` and a fresh ``OAuth-Client-Attestation-PoP`` for a request to ``audience``
        (the authorization server's RFC 8414 issuer identifier)."""
        pop = create_client_attestation_pop(
            self.instance, audience=audience, now=now, client_id=self.client_id, challenge=challenge
        )
        return {ATTESTATION_HEADER: self.attestation, ATTESTATION_POP_HEADER: pop}


class SecureElementSigner:
    """:class:`ssi.keys.Signer` for one secure-element key; every signature needs the element unlocked."""

    __slots__ = ("_element", "_handle")

    def __init__(self, element: SecureElement, handle: KeyHandle) -> None:
        self._element = element
        self._handle = handle

    @property
    def alg(self) -> str:
        return ALG

    @property
    def kid(self) -> None:
        return None

    @property
    def key_id(self) -> str:
        return self._handle.id

    @property
    def public_jwk(self) -> dict[str, str]:
        return dict(self._handle.public_jwk)

    def sign(self, data: bytes) -> bytes:
        return self._element._sign(self._handle.id, data)

    def __repr__(self) -> str:
        return f"SecureElementSigner(key_id={self._handle.id!r})"


class SecureElement:
    """The wallet's simulated secure element over its open store. Starts locked unless ``unlocked=True``."""

    def __init__(
        self,
        store: WalletStore,
        provider: WalletProvider,
        *,
        clock: Clock,
        unlocked: bool = False,
        unlock_lifetime: float | None = None,
    ) -> None:
        self._store = store
        self.provider = provider
        self._clock = clock
        self._unlock_lifetime = unlock_lifetime
        self._unlocked_until: float | None = None
        self._guard = threading.Lock()
        if unlocked:
            self._mark_unlocked()

    # -- user authentication ----------------------------------------------------------------------------------------

    def unlock(self, pin: str) -> None:
        """Authenticate the user with the wallet PIN (wrong ones are counted, :class:`ssi.errors.WalletPinError`)."""
        self._store.verify_pin(pin)
        self._mark_unlocked()

    def _mark_unlocked(self) -> None:
        with self._guard:
            self._unlocked_until = (
                float("inf") if self._unlock_lifetime is None else self._clock() + self._unlock_lifetime
            )

    def lock(self) -> None:
        with self._guard:
            self._unlocked_until = None

    @property
    def is_unlocked(self) -> bool:
        with self._guard:
            return self._unlocked_until is not None and self._clock() < self._unlocked_until

    # -- keys -------------------------------------------------------------------------------------------------------

    def generate_keys(self, count: int, purpose: KeyPurpose = "holder") -> list[KeyHandle]:
        """``count`` new P-256 keys, provisional until bound (one transaction)."""
        if not 1 <= count <= 100:
            raise WalletError("between 1 and 100 keys at a time", reason="bad_key_count")
        handles = []
        with self._store.transaction() as tx:
            for _ in range(count):
                key = PrivateKey.generate(ALG)
                key_id = "k_" + secrets.token_urlsafe(12)
                tx.insert("se_key", key_id, {"jwk": key.private_jwk(), "purpose": purpose}, state="provisional")
                handles.append(KeyHandle(key_id, key.public_key.jwk, purpose))
        return handles

    def generate_key(self, purpose: KeyPurpose = "holder") -> KeyHandle:
        return self.generate_keys(1, purpose)[0]

    def handle(self, key_id: str) -> KeyHandle:
        row = self._store.get("se_key", key_id)
        if row is None:
            raise WalletError("no such key in the secure element", reason="unknown_key")
        public = PrivateKey.from_jwk(row.data["jwk"]).public_key.jwk
        return KeyHandle(key_id, public, str(row.data.get("purpose", "holder")))

    def signer(self, key_id: str) -> SecureElementSigner:
        return SecureElementSigner(self, self.handle(key_id))

    def _sign(self, key_id: str, data: bytes) -> bytes:
        if not self.is_unlocked:
            raise SecureElementLocked("the secure element is locked: unlock it with the wallet PIN first")
        row = self._store.get("se_key", key_id)
        if row is None:
            raise WalletError("the key is no longer in the secure element", reason="unknown_key")
        return PrivateKey.from_jwk(row.data["jwk"]).sign(data)

    def bind(self, tx: Transaction, key_ids: Iterable[str], owner: str) -> None:
        """Inside the caller's transaction: the keys now belong to ``owner`` (a stored credential or pending issuance)
        and stay until it is deleted."""
        for key_id in key_ids:
            if not tx.update("se_key", key_id, state="bound", owner=owner):
                raise WalletError("a key to bind is no longer in the secure element", reason="unknown_key")

    def delete_keys(self, key_ids: Iterable[str], tx: Transaction | None = None) -> None:
        """Destroy keys (in the caller's transaction when given)."""
        if tx is not None:
            for key_id in key_ids:
                tx.delete("se_key", key_id)
            return
        with self._store.transaction() as own:
            for key_id in key_ids:
                own.delete("se_key", key_id)

    def delete_provisional(self, key_ids: Iterable[str]) -> None:
        """Destroy those of the keys that no stored credential or pending issuance owns (a flow's DPoP key may still
        serve a deferred issuance of the same offer)."""
        with self._store.transaction() as tx:
            for key_id in key_ids:
                tx.execute("DELETE FROM se_key WHERE id = ? AND state = 'provisional'", (key_id,))

    def delete_owned(self, tx: Transaction, owner: str) -> None:
        tx.execute("DELETE FROM se_key WHERE owner = ?", (owner,))

    def purge_provisional(self, max_age: float = PROVISIONAL_MAX_AGE) -> int:
        """Remove provisional keys older than ``max_age`` (left by an issuance that crashed)."""
        with self._store.transaction() as tx:
            cursor = tx.execute(
                "DELETE FROM se_key WHERE state = 'provisional' AND created_at < ?", (self._clock() - max_age,)
            )
            return int(cursor.rowcount)

    def key_count(self) -> int:
        return self._store.count("se_key")

    # -- attestations -----------------------------------------------------------------------------------------------

    def key_attestation(self, key_ids: Sequence[str], *, nonce: str | None = None) -> str:
        """The provider's key attestation for holder keys of this element, with the issuer's ``c_nonce``."""
        handles = [self.handle(key_id) for key_id in key_ids]
        if any(h.purpose != "holder" for h in handles):
            raise WalletError("only holder keys are attested", reason="bad_key_purpose")
        return self.provider.key_attestation([h.public_jwk for h in handles], now=self._clock(), nonce=nonce)

    def wallet_attestation(self) -> ClientAttestation:
        """A wallet attestation with a fresh instance key (provisional; delete it with the flow that used it)."""
        handle = self.generate_key("client_instance")
        attestation = self.provider.wallet_attestation(handle.public_jwk, now=self._clock())
        return ClientAttestation(attestation, SecureElementSigner(self, handle), self.provider.client_id)

    def describe(self) -> dict[str, Any]:
        return {"keys": self.key_count(), "unlocked": self.is_unlocked, "wallet_provider": self.provider.issuer}
