"""The citizen's wallet: one object over the store, the secure element, the wallet provider and the OpenID4VCI client.

Receiving a credential is three calls, so that people (CLI prompts, web pages) and scripts (``--yes``) decide in
between:

1. :meth:`Wallet.resolve_offer` — read the offer (link, JSON or QR image) and the issuer's metadata; nothing is
   spent yet. Show the issuer and the offered credentials; ask for the transaction code if the offer wants one.
2. :meth:`Wallet.request` — spend the pre-authorized code: token, nonce, key proofs from fresh secure-element keys
   (a batch of one-time keys when the issuer supports it), credential request. Received credentials are verified
   (:mod:`wallet_sim.oid4vci.verify`) and returned **unsaved** for the user to look at; a deferred issuance is saved
   as a pending record (with its keys and token) to poll later (:meth:`Wallet.poll`).
3. :meth:`Wallet.accept` stores them atomically and sends ``credential_accepted``; :meth:`Wallet.decline` discards
   them, destroys their keys and sends ``credential_deleted`` (OpenID4VCI 1.0 §11.1: "the unsuccessful Credential
   issuance was caused by a user action"). Credentials that fail the wallet's checks are discarded with
   ``credential_failure``.

Any failure leaves the store as it was: keys made for a failed flow are destroyed, nothing half-stored remains.

For presentation (OpenID4VP, another module): :meth:`Wallet.credentials` lists what is held with parsed claims,
``vct`` and format; :meth:`Wallet.presentation_material` gives the :class:`ssi.sd_jwt.HeldSdJwt` of an unused
one-time instance with the secure-element signer of its holder key (for the KB-JWT); :meth:`Wallet.mark_used`
retires the instance after it was presented.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ssi.clock import Clock
from ssi.errors import CredentialError, SsiError, WalletError
from ssi.keys import Signer
from ssi.oid4vci import CredentialOffer
from ssi.sd_jwt import HeldSdJwt
from wallet_sim.oid4vci.client import (
    DeferredTransaction,
    IssuanceClient,
    IssuedCredentials,
    IssuerEndpoints,
    ResolvedOffer,
    TokenGrant,
    parse_offer_text,
)
from wallet_sim.oid4vci.display import localized, safe_colors
from wallet_sim.oid4vci.http import IssuerHttp
from wallet_sim.oid4vci.verify import CheckedCredential, check_credentials
from wallet_sim.provider import WalletProvider
from wallet_sim.qr import decode_qr_image
from wallet_sim.secure_element import SecureElement, SecureElementSigner
from wallet_sim.store import DEFAULT_KDF, KdfParams, Transaction, WalletStore

__all__ = [
    "DEFAULT_BATCH",
    "CredentialInstance",
    "HeldCredential",
    "PendingIssuance",
    "ReceivedCredentials",
    "StoredCredential",
    "Wallet",
]

#: One-time credentials per issuance when the issuer supports batches (each presentation uses a fresh one).
DEFAULT_BATCH: Final = 3
#: The development flag shared with the services: plain HTTP to 127.0.0.1/localhost.
DEV_HTTP_ENV: Final = "GOVSSI_DEV_ALLOW_HTTP"


def dev_http_allowed() -> bool:
    return os.environ.get(DEV_HTTP_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _name(display: dict[str, Any], part: str, lang: str, fallback: str) -> str:
    entry = localized(display.get(part) or [], lang)
    return str(entry["name"]) if entry is not None and entry.get("name") else fallback


@dataclass(frozen=True)
class CredentialInstance:
    """One copy of a credential, bound to its own holder key (one-time use for unlinkable presentations)."""

    id: str
    seq: int
    used: bool


@dataclass(frozen=True)
class StoredCredential:
    """A credential in the wallet: parsed claims (everything the issuer disclosed to the holder), type, format,
    issuer, validity, the display snapshot (de/en) and its instances."""

    id: str
    format: str
    vct: str
    credential_issuer: str
    configuration_id: str
    claims: dict[str, Any]
    display: dict[str, Any]
    issued_at: float | None
    expires_at: float | None
    received_at: float
    instances: tuple[CredentialInstance, ...]

    @property
    def unused(self) -> int:
        return sum(1 for i in self.instances if not i.used)

    def name(self, lang: str = "de") -> str:
        return _name(self.display, "credential", lang, self.configuration_id)

    def issuer_name(self, lang: str = "de") -> str:
        return _name(self.display, "issuer", lang, self.credential_issuer)

    def colors(self, lang: str = "de") -> tuple[str, str]:
        return safe_colors(localized(self.display.get("credential") or [], lang))

    def is_expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def summary(self, lang: str = "de") -> dict[str, Any]:
        """The JSON the CLI prints for ``list``."""
        return {
            "id": self.id,
            "name": self.name(lang),
            "issuer": self.issuer_name(lang),
            "credential_issuer": self.credential_issuer,
            "format": self.format,
            "vct": self.vct,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "instances": len(self.instances),
            "unused_instances": self.unused,
        }

    def details(self, lang: str = "de") -> dict[str, Any]:
        """The JSON the CLI prints for ``show``: the summary with claims and display metadata."""
        return {
            **self.summary(lang),
            "configuration_id": self.configuration_id,
            "claims": self.claims,
            "display": self.display,
            "received_at": self.received_at,
        }


@dataclass
class ReceivedCredentials:
    """Credentials received and verified but not yet stored: the user accepts or declines them."""

    flow_id: str
    configuration_id: str
    endpoints: IssuerEndpoints
    grant: TokenGrant
    checked: list[CheckedCredential]
    notification_id: str | None
    display: dict[str, Any]
    vct: str
    #: Keys this flow made: holder keys (bound on accept), the DPoP key and instance keys (destroyed either way).
    holder_key_ids: list[str]
    flow_key_ids: list[str]
    pending_id: str | None = None
    done: bool = False
    #: ``dc+sd-jwt``, or ``ldp_vc`` (bbs-2023: ``checked`` are ``wallet_sim.ldp_vc.CheckedLdpVc``)
    format: str = "dc+sd-jwt"
    #: set when one token brought several credential responses (an offer of several configurations): they share
    #: the flow keys, which go only after the last of them is decided
    shared: _SharedFlow | None = None

    def _finish(self) -> bool:
        """Mark decided; ``True`` when the flow keys may go now (no sibling still waits for its decision)."""
        self.done = True
        return self.shared is None or self.shared.release()

    @property
    def claims(self) -> dict[str, Any]:
        return self.checked[0].claims

    def name(self, lang: str = "de") -> str:
        return _name(self.display, "credential", lang, self.configuration_id)

    def issuer_name(self, lang: str = "de") -> str:
        return _name(self.display, "issuer", lang, self.endpoints.credential_issuer)


class _SharedFlow:
    """The undecided credential responses of one token (they notify with the same DPoP key)."""

    def __init__(self, open_responses: int) -> None:
        self._open = open_responses
        self._guard = threading.Lock()

    def release(self) -> bool:
        with self._guard:
            self._open -= 1
            return self._open <= 0


@dataclass(frozen=True)
class PendingIssuance:
    """A deferred issuance the wallet polls (OpenID4VCI 1.0 §9)."""

    id: str
    configuration_id: str
    credential_issuer: str
    transaction_id: str
    interval: float
    next_poll_at: float
    display: dict[str, Any] = field(default_factory=dict)

    def name(self, lang: str = "de") -> str:
        return _name(self.display, "credential", lang, self.configuration_id)

    def issuer_name(self, lang: str = "de") -> str:
        return _name(self.display, "issuer", lang, self.credential_issuer)

    def summary(self, lang: str = "de") -> dict[str, Any]:
        return {
            "pending_id": self.id,
            "name": self.name(lang),
            "issuer": self.issuer_name(lang),
            "credential_issuer": self.credential_issuer,
            "configuration_id": self.configuration_id,
            "interval": self.interval,
            "next_poll_at": self.next_poll_at,
        }


@dataclass
class _Flow:
    """One credential request's context: where, with which token, which keys, what to show."""

    endpoints: IssuerEndpoints
    grant: TokenGrant
    holder_ids: list[str]
    flow_keys: list[str]
    display: dict[str, Any]
    vct: str
    pending_id: str | None = None
    format: str = "dc+sd-jwt"
    #: the credential issuer metadata's ``did`` (ldp_vc: whose key the base proof must be by)
    issuer_did: Any = None
    configuration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HeldCredential:
    """What a presentation needs: the SD-JWT of one unused instance and the signer of its holder key."""

    credential_id: str
    instance_id: str
    held: HeldSdJwt
    signer: SecureElementSigner


class Wallet:
    """An open wallet in ``data_dir``. Use :meth:`create` / :meth:`open`; close it (or use ``with``)."""

    def __init__(
        self,
        data_dir: Path,
        store: WalletStore,
        *,
        provider: WalletProvider,
        clock: Clock,
        allow_http_loopback: bool,
        http: IssuerHttp | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.store = store
        self.provider = provider
        self.clock = clock
        self.secure_element = SecureElement(store, provider, clock=clock, unlocked=True)
        self.http = http or IssuerHttp(allow_http_loopback=allow_http_loopback)
        self.client = IssuanceClient(self.http, clock=clock, signer_for=self.secure_element.signer)
        self.batch = batch
        self.secure_element.purge_provisional()

    # -- life cycle -------------------------------------------------------------------------------------------------

    @staticmethod
    def exists(data_dir: Path) -> bool:
        return WalletStore.exists(Path(data_dir))

    @classmethod
    def create(
        cls,
        data_dir: Path,
        pin: str,
        *,
        kdf: KdfParams = DEFAULT_KDF,
        provider: WalletProvider | None = None,
        clock: Clock = time.time,
        allow_http_loopback: bool | None = None,
        http: IssuerHttp | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> Wallet:
        store = WalletStore.create(Path(data_dir), pin, kdf=kdf, clock=clock)
        return cls._build(
            data_dir,
            store,
            provider=provider,
            clock=clock,
            allow_http_loopback=allow_http_loopback,
            http=http,
            batch=batch,
        )

    @classmethod
    def open(
        cls,
        data_dir: Path,
        pin: str,
        *,
        provider: WalletProvider | None = None,
        clock: Clock = time.time,
        allow_http_loopback: bool | None = None,
        http: IssuerHttp | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> Wallet:
        store = WalletStore.open(Path(data_dir), pin, clock=clock)
        return cls._build(
            data_dir,
            store,
            provider=provider,
            clock=clock,
            allow_http_loopback=allow_http_loopback,
            http=http,
            batch=batch,
        )

    @classmethod
    def _build(
        cls,
        data_dir: Path,
        store: WalletStore,
        *,
        provider: WalletProvider | None,
        clock: Clock,
        allow_http_loopback: bool | None,
        http: IssuerHttp | None,
        batch: int,
    ) -> Wallet:
        try:
            return cls(
                Path(data_dir),
                store,
                provider=provider or WalletProvider.demo(Path(data_dir) / "provider"),
                clock=clock,
                allow_http_loopback=dev_http_allowed() if allow_http_loopback is None else allow_http_loopback,
                http=http,
                batch=batch,
            )
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        self.http.close()
        self.store.close()

    def __enter__(self) -> Wallet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- 1. offer ---------------------------------------------------------------------------------------------------

    def parse_offer(self, text: str | None = None, *, image: bytes | None = None) -> CredentialOffer | str:
        """An offer from pasted text (link or JSON) or from a PNG/JPEG QR image."""
        if (text is None) == (image is None):
            raise WalletError("give an offer link or a QR image", reason="malformed_offer")
        if image is not None:
            text = decode_qr_image(image)
        assert text is not None
        return parse_offer_text(text, allow_http_loopback=self.http.allow_http_loopback)

    def resolve_offer(self, text: str | None = None, *, image: bytes | None = None) -> ResolvedOffer:
        """Read the offer and the issuer's metadata (nothing is spent)."""
        return self.client.resolve(self.parse_offer(text, image=image))

    # -- 2. request -------------------------------------------------------------------------------------------------

    def request(
        self, resolved: ResolvedOffer, tx_code: str | None = None, *, batch: int | None = None
    ) -> list[ReceivedCredentials | PendingIssuance]:
        """Spend the offer: one access token, then one credential request per offered configuration."""
        se = self.secure_element
        flow_keys: list[str] = []
        dpop = se.generate_key("dpop")
        flow_keys.append(dpop.id)
        authenticate = None
        if resolved.client_auth_supported() or not resolved.anonymous_access():
            attestation = se.wallet_attestation()  # HAIP 1.0 §4.4.1, fresh instance key for this issuer
            flow_keys.append(attestation.instance.key_id)

            def authenticate(audience: str, challenge: str | None) -> dict[str, str]:
                return attestation.headers(audience=audience, now=self.clock(), challenge=challenge)

        try:
            grant = self.client.token(
                resolved,
                tx_code,
                dpop_key=se.signer(dpop.id),
                dpop_key_id=dpop.id,
                authenticate=authenticate,
                client_id=self.provider.client_id,
            )
        except BaseException:
            se.delete_keys(flow_keys)
            raise
        results: list[ReceivedCredentials | PendingIssuance] = []
        for config_id in resolved.offer.credential_configuration_ids:
            try:
                results.append(self._request_one(resolved, grant, config_id, flow_keys, batch or self.batch))
            except BaseException:
                # An offer of several configurations fails as a whole for what is not stored yet (the issuer hears
                # credential_failure, §11.1 "all other unsuccessful cases"); pending issuances already saved stay
                # (they are complete records with their own keys).
                for earlier in results:
                    if isinstance(earlier, ReceivedCredentials):
                        se.delete_keys(earlier.holder_key_ids)
                        earlier.done = True
                        if earlier.notification_id is not None:
                            self.client.notify(
                                earlier.endpoints,
                                earlier.grant,
                                earlier.notification_id,
                                "credential_failure",
                                "another credential of the same offer failed",
                            )
                se.delete_provisional(flow_keys)
                raise
        received = [r for r in results if isinstance(r, ReceivedCredentials)]
        if len(received) > 1:
            shared = _SharedFlow(len(received))
            for item in received:
                item.shared = shared
        return results

    def _request_one(
        self, resolved: ResolvedOffer, grant: TokenGrant, config_id: str, flow_keys: list[str], batch: int
    ) -> ReceivedCredentials | PendingIssuance:
        se = self.secure_element
        config = resolved.configurations[config_id]
        bound = "proof_types_supported" in config
        count = max(1, min(batch, resolved.endpoints.batch_size or 1)) if bound else 0
        holders = se.generate_keys(count) if count else []
        holder_ids = [h.id for h in holders]
        display = resolved.display(config_id)
        vct = str(config.get("vct", ""))
        try:
            answer = self.client.request_credentials(
                resolved,
                grant,
                config_id,
                [se.signer(h.id) for h in holders],
                key_attestation=(lambda nonce: se.key_attestation(holder_ids, nonce=nonce)) if holders else None,
            )
        except BaseException:
            se.delete_keys(holder_ids)
            raise
        flow = _Flow(resolved.endpoints, grant, holder_ids, list(flow_keys), display, vct)
        if config.get("format") == "ldp_vc":  # bbs-2023 (wallet_sim/ldp_vc.py)
            flow.format, flow.configuration = "ldp_vc", dict(config)
            flow.issuer_did = resolved.issuer_metadata.get("did")
        if isinstance(answer, DeferredTransaction):
            return self._save_pending(flow, answer)
        return self._received(flow, answer)

    def _received(self, flow: _Flow, answer: IssuedCredentials) -> ReceivedCredentials:
        se = self.secure_element
        endpoints, grant, holder_ids, vct = flow.endpoints, flow.grant, flow.holder_ids, flow.vct
        try:
            if flow.format == "ldp_vc":
                from wallet_sim.ldp_vc import check_ldp_vc_credentials

                checked: list[Any] = check_ldp_vc_credentials(
                    answer.credentials, configuration=flow.configuration, issuer_did=flow.issuer_did, clock=self.clock
                )
            else:
                checked = check_credentials(
                    answer.credentials,
                    http=self.http,
                    credential_issuer=endpoints.credential_issuer,
                    vct=vct or None,
                    holder_keys={key_id: se.handle(key_id).public_jwk for key_id in holder_ids},
                    clock=self.clock,
                )
        except SsiError as exc:
            if answer.notification_id is not None:
                self.client.notify(endpoints, grant, answer.notification_id, "credential_failure", exc.description)
            self._discard(holder_ids + flow.flow_keys, flow.pending_id)
            raise
        return ReceivedCredentials(
            flow_id="f_" + secrets.token_urlsafe(9),
            configuration_id=answer.configuration_id,
            endpoints=endpoints,
            grant=grant,
            checked=checked,
            notification_id=answer.notification_id,
            display=flow.display,
            vct=vct or (checked[0].payload.get("vct") or ""),
            holder_key_ids=holder_ids,
            flow_key_ids=list(flow.flow_keys),
            pending_id=flow.pending_id,
            format=flow.format,
        )

    def _discard(self, key_ids: Sequence[str], pending_id: str | None) -> None:
        with self.store.transaction() as tx:
            self.secure_element.delete_keys(key_ids, tx)
            if pending_id is not None:
                tx.delete("pending", pending_id)

    # -- 3. accept / decline ----------------------------------------------------------------------------------------

    def accept(self, received: ReceivedCredentials) -> StoredCredential:
        """Store the credentials (all instances, keys bound) in one transaction, then notify ``credential_accepted``."""
        if received.done:
            raise WalletError("these credentials were already accepted or declined", reason="flow_finished")
        se = self.secure_element
        credential_id = "c_" + secrets.token_urlsafe(12)
        first = received.checked[0]
        used_keys = [c.key_id for c in received.checked if c.key_id is not None]
        unused_keys = [k for k in received.holder_key_ids if k not in used_keys]
        now = self.clock()
        record = {
            "format": received.format,
            "vct": first.payload.get("vct"),
            "credential_issuer": received.endpoints.credential_issuer,
            "configuration_id": received.configuration_id,
            "claims": first.claims,
            "display": received.display,
            "issued_at": _number(first.payload.get("iat")),
            "expires_at": _number(first.payload.get("exp")),
            "received_at": now,
        }
        with self.store.transaction() as tx:
            tx.insert("credential", credential_id, record)
            for seq, checked in enumerate(received.checked):
                instance_id = f"{credential_id}.{seq}"
                tx.insert(
                    "instance",
                    instance_id,
                    {"compact": checked.compact, "key_id": checked.key_id, "status": checked.payload.get("status")},
                    credential_id=credential_id,
                    seq=seq,
                )
            se.bind(tx, used_keys, credential_id)
            se.delete_keys(unused_keys, tx)
            self._release(tx, received)
        last = received._finish()
        try:
            if received.notification_id is not None:
                self.client.notify(received.endpoints, received.grant, received.notification_id, "credential_accepted")
        finally:
            if last:
                se.delete_provisional(received.flow_key_ids)  # the DPoP key signed the notification; now it goes
        return self.credential(credential_id)

    def _release(self, tx: Transaction, received: ReceivedCredentials) -> None:
        """Drop the pending record; its flow keys become provisional again (purged if the process dies now)."""
        if received.pending_id is not None:
            tx.delete("pending", received.pending_id)
            for key_id in received.flow_key_ids:
                tx.update("se_key", key_id, state="provisional", owner=None)

    def decline(self, received: ReceivedCredentials) -> None:
        """Discard received credentials and their keys; notify ``credential_deleted`` (the user declined)."""
        if received.done:
            raise WalletError("these credentials were already accepted or declined", reason="flow_finished")
        with self.store.transaction() as tx:
            self.secure_element.delete_keys(received.holder_key_ids, tx)
            self._release(tx, received)
        last = received._finish()
        try:
            if received.notification_id is not None:
                self.client.notify(
                    received.endpoints,
                    received.grant,
                    received.notification_id,
                    "credential_deleted",
                    "declined by the user",
                )
        finally:
            if last:
                self.secure_element.delete_provisional(received.flow_key_ids)

    # -- deferred ---------------------------------------------------------------------------------------------------

    def _save_pending(self, flow: _Flow, transaction: DeferredTransaction) -> PendingIssuance:
        pending_id = "p_" + secrets.token_urlsafe(12)
        record = {
            "endpoints": flow.endpoints.to_json(),
            "grant": flow.grant.to_json(),
            "configuration_id": transaction.configuration_id,
            "transaction_id": transaction.transaction_id,
            "interval": transaction.interval,
            "next_poll_at": transaction.next_poll_at,
            "holder_key_ids": flow.holder_ids,
            "flow_key_ids": flow.flow_keys,
            "display": flow.display,
            "vct": flow.vct,
        }
        with self.store.transaction() as tx:
            tx.insert("pending", pending_id, record)
            self.secure_element.bind(tx, flow.holder_ids + flow.flow_keys, pending_id)
        return self._pending_from(pending_id, record)

    @staticmethod
    def _pending_from(pending_id: str, record: dict[str, Any]) -> PendingIssuance:
        return PendingIssuance(
            id=pending_id,
            configuration_id=record["configuration_id"],
            credential_issuer=record["endpoints"]["credential_issuer"],
            transaction_id=record["transaction_id"],
            interval=float(record["interval"]),
            next_poll_at=float(record["next_poll_at"]),
            display=record.get("display") or {},
        )

    def pending(self) -> list[PendingIssuance]:
        return [self._pending_from(row.id, row.data) for row in self.store.rows("pending")]

    def poll(self, pending_id: str, *, force: bool = False) -> ReceivedCredentials | PendingIssuance:
        """Ask the Deferred Credential Endpoint once (not before ``next_poll_at`` unless ``force``). A final refusal
        (``invalid_transaction_id``, ``credential_request_denied``, §9.3) removes the pending issuance and its keys."""
        row = self.store.get("pending", pending_id)
        if row is None:
            raise WalletError("no such pending issuance", reason="unknown_pending")
        record = row.data
        pending = self._pending_from(pending_id, record)
        if not force and self.clock() < pending.next_poll_at:
            return pending
        endpoints = IssuerEndpoints.from_json(record["endpoints"])
        grant = TokenGrant.from_json(record["grant"])
        transaction = DeferredTransaction(
            pending.configuration_id, pending.transaction_id, pending.interval, pending.next_poll_at
        )
        holder_ids, flow_keys = list(record["holder_key_ids"]), list(record["flow_key_ids"])
        try:
            answer = self.client.poll_deferred(endpoints, grant, transaction, max_count=max(len(holder_ids), 1))
        except SsiError as exc:
            if getattr(exc, "code", "") in ("invalid_transaction_id", "credential_request_denied"):
                self._discard(holder_ids + flow_keys, pending_id)
            raise
        if isinstance(answer, DeferredTransaction):
            record.update(interval=answer.interval, next_poll_at=answer.next_poll_at, grant=grant.to_json())
            with self.store.transaction() as tx:
                tx.update("pending", pending_id, record)
            return self._pending_from(pending_id, record)
        flow = _Flow(
            endpoints, grant, holder_ids, flow_keys, record.get("display") or {}, str(record.get("vct", "")), pending_id
        )
        return self._received(flow, answer)

    def cancel_pending(self, pending_id: str) -> None:
        """Forget a pending issuance and destroy its keys."""
        row = self.store.get("pending", pending_id)
        if row is None:
            raise WalletError("no such pending issuance", reason="unknown_pending")
        self._discard(list(row.data["holder_key_ids"]) + list(row.data["flow_key_ids"]), pending_id)

    def wait_for(
        self, pending: PendingIssuance, *, timeout: float, sleep: Callable[[float], None] = time.sleep
    ) -> ReceivedCredentials | PendingIssuance:
        """Poll until the credentials arrive or ``timeout`` seconds pass, honouring the issuer's ``interval``."""
        deadline = self.clock() + timeout
        result: ReceivedCredentials | PendingIssuance = pending
        while isinstance(result, PendingIssuance):
            wait = result.next_poll_at - self.clock()
            if self.clock() + max(wait, 0) > deadline:
                return result
            if wait > 0:
                sleep(wait)
            result = self.poll(result.id, force=True)
        return result

    # -- holdings ---------------------------------------------------------------------------------------------------

    def credentials(self) -> list[StoredCredential]:
        """Every stored credential (oldest first), with parsed claims, ``vct`` and format."""
        instances: dict[str, list[CredentialInstance]] = {}
        for row in self.store.rows("instance"):
            cid = str(row.columns["credential_id"])
            instances.setdefault(cid, []).append(
                CredentialInstance(row.id, int(row.columns["seq"]), bool(row.columns["used"]))
            )
        return [self._stored(row.id, row.data, instances.get(row.id, [])) for row in self.store.rows("credential")]

    def credential(self, credential_id: str) -> StoredCredential:
        row = self.store.get("credential", credential_id)
        if row is None:
            raise WalletError(f"the wallet holds no credential {credential_id}", reason="unknown_credential")
        rows = self.store.rows("instance", "credential_id = ?", (credential_id,))
        return self._stored(
            credential_id,
            row.data,
            [CredentialInstance(r.id, int(r.columns["seq"]), bool(r.columns["used"])) for r in rows],
        )

    @staticmethod
    def _stored(credential_id: str, data: dict[str, Any], instances: list[CredentialInstance]) -> StoredCredential:
        return StoredCredential(
            id=credential_id,
            format=str(data.get("format", "dc+sd-jwt")),
            vct=str(data.get("vct", "")),
            credential_issuer=str(data.get("credential_issuer", "")),
            configuration_id=str(data.get("configuration_id", "")),
            claims=dict(data.get("claims") or {}),
            display=dict(data.get("display") or {}),
            issued_at=_number(data.get("issued_at")),
            expires_at=_number(data.get("expires_at")),
            received_at=float(data.get("received_at", 0.0)),
            instances=tuple(sorted(instances, key=lambda i: i.seq)),
        )

    def compact(self, credential_id: str, *, instance_id: str | None = None) -> str:
        """The credential as issued (compact SD-JWT with all Disclosures) — the first unused instance by default."""
        credential = self.credential(credential_id)
        if instance_id is None:
            choice = next((i for i in credential.instances if not i.used), credential.instances[0])
            instance_id = choice.id
        row = self.store.get("instance", instance_id)
        if row is None or row.columns["credential_id"] != credential_id:
            raise WalletError("no such instance of this credential", reason="unknown_instance")
        return str(row.data["compact"])

    def delete(self, credential_id: str) -> None:
        """Delete a credential with all its instances and holder keys (one transaction; the keys are destroyed)."""
        with self.store.transaction() as tx:
            if not tx.delete("credential", credential_id):
                raise WalletError(f"the wallet holds no credential {credential_id}", reason="unknown_credential")
            self.secure_element.delete_owned(tx, credential_id)

    # -- presentation API -------------------------------------------------------------------------------------------

    def presentation_material(self, credential_id: str, *, allow_reuse: bool = False) -> HeldCredential:
        """The first unused instance's :class:`HeldSdJwt` and its holder key's signer (signs only while the secure
        element is unlocked). All used: ``WalletError(reason="credential_used_up")`` unless ``allow_reuse``."""
        credential = self.credential(credential_id)
        instance = next((i for i in credential.instances if not i.used), None)
        if instance is None:
            if not allow_reuse or not credential.instances:
                raise WalletError(
                    "every one-time copy of this credential was presented; ask the issuer for new ones",
                    reason="credential_used_up",
                )
            instance = credential.instances[-1]
        row = self.store.get("instance", instance.id)
        assert row is not None
        key_id = row.data.get("key_id")
        if not isinstance(key_id, str):
            raise CredentialError("this credential is not bound to a holder key", reason="no_holder_key")
        return HeldCredential(
            credential_id, instance.id, HeldSdJwt.parse(row.data["compact"]), self.secure_element.signer(key_id)
        )

    def holder_signer(self, instance_id: str) -> Signer:
        row = self.store.get("instance", instance_id)
        if row is None or not isinstance(row.data.get("key_id"), str):
            raise WalletError("no such instance with a holder key", reason="unknown_instance")
        return self.secure_element.signer(row.data["key_id"])

    def mark_used(self, instance_id: str) -> None:
        """Retire a one-time instance after its presentation (atomic: a second call fails with ``already_used``)."""
        with self.store.transaction() as tx:
            if tx.execute("UPDATE instance SET used = 1 WHERE id = ? AND used = 0", (instance_id,)).rowcount != 1:
                exists = tx.execute("SELECT 1 FROM instance WHERE id = ?", (instance_id,)).fetchone()
                raise WalletError(
                    "this instance was already presented" if exists else "no such credential instance",
                    reason="already_used" if exists else "unknown_instance",
                )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
