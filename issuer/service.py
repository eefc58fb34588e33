"""The issuer service as one object: :func:`build_issuer` wires storage, short-lived state, keys, nonces, the audit
log, status publishing and the chain from :class:`~issuer.settings.IssuerSettings` (each piece injectable), creates
the demo authority on first start, and :class:`Issuer` holds the protocol endpoints (plain classes, callable without
HTTP), the staff's functions (:attr:`Issuer.admin`), the status publisher and the chain status.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from infra.audit import AuditLog
from infra.db import create_engine
from infra.ephemeral import EphemeralStore, SqlEphemeralStore, ephemeral_store
from infra.ratelimit import FixedWindowLimiter
from issuer import tables as t
from issuer.admin import AdminDesk
from issuer.anchoring import NoStatusAnchoring, StatusListAnchoring
from issuer.chain import IssuerChain
from issuer.context import IssuerContext
from issuer.credential_type import shipped_credential_types
from issuer.credentials import CredentialEndpoint
from issuer.deferred import DeferredDesk, DeferredEndpoint
from issuer.keyring import CertificateAuthority, CertificateAuthorityFiles, FileKeyring, Keyring, Pkcs11Keyring
from issuer.ldp_vc import remember_bbs_method
from issuer.nonces import CNonces, DpopCheck, DpopNonces
from issuer.notifications import NotificationEndpoint
from issuer.offers import OfferDesk
from issuer.publishing import StatusPublisher
from issuer.records import CredentialRecords
from issuer.settings import IssuerSettings
from issuer.status import IndexSource, StatusAllocator
from issuer.storage import IssuerStorage, split_api_key
from issuer.tokens import TokenEndpoint
from ssi.clock import Clock, system_clock
from ssi.errors import ChainError, SsiError
from ssi.oid4vci import check_credential_issuer_identifier

__all__ = ["Bootstrap", "Issuer", "build_issuer", "key_passphrase"]

log = logging.getLogger("govssi.issuer")


@dataclass(frozen=True)
class Bootstrap:
    """The demo authority made on first start; ``api_key`` is set only when it was generated (print it once)."""

    slug: str
    credential_issuer: str
    api_key: str | None


@dataclass
class Issuer:
    context: IssuerContext
    chain: IssuerChain | None = None
    bootstrap: Bootstrap | None = None
    anchoring: StatusListAnchoring = field(default_factory=NoStatusAnchoring)
    offers: OfferDesk = field(init=False)
    tokens: TokenEndpoint = field(init=False)
    credentials: CredentialEndpoint = field(init=False)
    deferred: DeferredEndpoint = field(init=False)
    notifications: NotificationEndpoint = field(init=False)
    publisher: StatusPublisher = field(init=False)
    records: CredentialRecords = field(init=False)
    admin: AdminDesk = field(init=False)
    token_limiter: FixedWindowLimiter | None = field(init=False)
    chain_status: dict[str, Any] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        ctx = self.context
        self.offers = OfferDesk(ctx)
        self.tokens = TokenEndpoint(ctx)
        self.credentials = CredentialEndpoint(ctx)
        self.deferred = DeferredEndpoint(ctx, self.credentials)
        self.notifications = NotificationEndpoint(ctx, self.credentials)
        self.publisher = StatusPublisher(ctx, self.anchoring)
        self.records = CredentialRecords(ctx, on_change=self.publisher.wake)
        self.admin = AdminDesk(
            ctx, offers=self.offers, records=self.records, deferred=DeferredDesk(ctx), publisher=self.publisher
        )
        settings = ctx.settings
        self.token_limiter = (
            FixedWindowLimiter(
                ctx.store, "rl_token", settings.token_rate_limit, settings.token_rate_window, clock=ctx.clock
            )
            if settings.token_rate_limit
            else None
        )

    # -- chain -------------------------------------------------------------------------------------------------------

    def check_chain(self) -> dict[str, Any]:
        """For every authority: make sure its DID is anchored with its signing key (idempotent), then ask for its
        accreditation per credential type. Failures are reported, not raised: issuing works without the chain."""
        ctx = self.context
        report: dict[str, Any] = {"chain": None, "authorities": []}
        report["status_anchoring"] = self.anchoring.source
        if self.chain is None:
            report["chain"] = {"configured": False}
        else:
            try:
                report["chain"] = {
                    "configured": True,
                    "chain_id": self.chain.client.chain_id,
                    "did_registry": self.chain.registry,
                }
            except ChainError as exc:
                report["chain"] = {"configured": True, "error": exc.description}
        for authority in ctx.storage.authorities():
            tenant = ctx.tenant(authority.slug)
            entry: dict[str, Any] = {
                "authority": authority.slug,
                "credential_issuer": tenant.credential_issuer,
                "did": authority.did,
                "anchored": False,
                "accreditation": {ctype.vct(tenant.credential_issuer): "unknown" for ctype in tenant.types.values()},
            }
            if self.chain is not None:
                try:
                    keys = ctx.keys(tenant)
                    anchored = self.chain.ensure_anchored(keys.controller, keys.public_key)
                    if authority.did != anchored.did:
                        ctx.storage.set_did(authority.id, anchored.did)
                        ctx.forget_tenant(authority.slug)
                    entry["did"] = anchored.did
                    entry["anchored"] = True
                    if keys.bbs is not None:  # bbs-2023 credentials name this method (issuer/ldp_vc.py)
                        method = self.chain.ensure_bbs_anchored(keys.controller, keys.bbs)
                        remember_bbs_method(ctx.storage, authority.slug, anchored.did, keys.bbs, method)
                        entry["bbs_verification_method"] = method
                    entry["accreditation"] = self.chain.accreditation(
                        anchored.did, list(entry["accreditation"]), keys.chain[0]
                    )
                    entry["accreditation_source"] = self.chain.accreditation_registry.source
                except (ChainError, SsiError, ValueError) as exc:
                    entry["error"] = getattr(exc, "description", str(exc))
                    log.error(
                        "chain check failed", extra={"fields": {"authority": authority.slug, "error": entry["error"]}}
                    )
            else:
                entry["accreditation_source"] = "no chain configured"
            for vct, state in entry["accreditation"].items():
                log.info(
                    "accreditation",
                    extra={
                        "fields": {
                            "authority": authority.slug,
                            "did": entry["did"],
                            "vct": vct,
                            "accreditation": state,
                            "source": entry.get("accreditation_source"),
                        }
                    },
                )
            report["authorities"].append(entry)
        self.chain_status = report
        return report

    # -- housekeeping ------------------------------------------------------------------------------------------------

    def purge(self) -> dict[str, int]:
        """Delete expired short-lived state and the claim values of expired offers."""
        return {
            "ephemeral": self.context.store.purge_expired(),
            "offers_expired": self.context.storage.expire_offers(),
        }

    def start_housekeeping(self, interval: float = 60.0) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.purge()
                except Exception:  # keep the loop alive; the next round retries
                    log.exception("housekeeping failed")

        thread = threading.Thread(target=loop, name="issuer-housekeeping", daemon=True)
        thread.start()
        return thread

    def start_audit_sequencer(self) -> threading.Thread:
        """Chain the audit entries recorded in this process's transactions (``infra.audit`` outbox) in the
        background until :meth:`stop` (entries left by a crashed instance are chained on the first round)."""
        self._audit_thread = threading.Thread(
            target=self.context.audit.run_sequencer, args=(self._stop,), name="issuer-audit-sequencer", daemon=True
        )
        self._audit_thread.start()
        return self._audit_thread

    def start_publisher(self) -> threading.Thread:
        """Status list publication in the background (:mod:`issuer.publishing`) until :meth:`stop`."""
        self._publisher_thread = self.publisher.start(self._stop)
        return self._publisher_thread

    def stop(self) -> None:
        self._stop.set()
        self.context.audit.recorded.set()  # wake the sequencer for its final round
        audit_thread = getattr(self, "_audit_thread", None)
        if audit_thread is not None:
            audit_thread.join(timeout=30)
        thread = getattr(self, "_publisher_thread", None)
        if thread is not None:
            thread.join(timeout=30)  # a round in progress ends first, so the lease is not taken again after release
        try:
            self.publisher.release()
        except Exception:  # the lease runs out on its own
            log.warning("could not release the publisher lease")


def key_passphrase(settings: IssuerSettings) -> str:
    """``GOVSSI_KEY_PASSPHRASE``, or (development) a random passphrase kept in ``<keys dir>/.passphrase`` (0600) —
    then the key files are only as safe as that directory, and the log says so."""
    if settings.key_passphrase is not None:
        return settings.key_passphrase.get_secret_value()
    path: Path = settings.resolved_keys_dir() / ".passphrase"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    log.warning("GOVSSI_KEY_PASSPHRASE is not set: the key files are encrypted with a passphrase stored next to them")
    return path.read_text().strip()


def build_issuer(
    settings: IssuerSettings,
    *,
    engine: Engine | None = None,
    store: EphemeralStore | None = None,
    keyring: Keyring | None = None,
    clock: Clock = system_clock,
    chain: IssuerChain | None = None,
    rng: IndexSource | None = None,
    bootstrap: bool = True,
    anchoring: StatusListAnchoring | None = None,
) -> Issuer:
    """Wire the issuer. Defaults: the database of ``GOVSSI_DATABASE_URL`` (SQLite in the data dir otherwise),
    Redis for short-lived state when ``GOVSSI_REDIS_URL`` is set, encrypted key files in the data dir certified by the
    demo CA (created when missing), no chain (``govssi issuer serve`` passes one)."""
    check_credential_issuer_identifier(f"{settings.public_url}/issuers/x", allow_http_loopback=settings.dev_allow_http)
    engine = engine or create_engine(settings.effective_database_url())
    storage = IssuerStorage(engine, clock=clock)
    storage.migrate()
    if store is None:
        # SQL state follows the injected clock (tests); Redis expires entries on its own clock.
        store = (
            ephemeral_store(engine, settings.redis_url, prefix="govssi:issuer:")
            if settings.redis_url
            else SqlEphemeralStore(engine, clock=clock)
        )
    if keyring is None and settings.pkcs11_module:
        keyring = Pkcs11Keyring.from_settings(settings, ca=_demo_ca(settings, clock), clock=clock)
    if keyring is None:
        keyring = FileKeyring(
            settings.resolved_keys_dir(),
            passphrase=key_passphrase(settings),
            ca=_demo_ca(settings, clock),
            clock=clock,
        )
    dpop_nonces = DpopNonces(storage.server_secret("dpop_nonce"), ttl=settings.dpop_nonce_ttl, clock=clock)
    context = IssuerContext(
        settings=settings,
        storage=storage,
        store=store,
        keyring=keyring,
        clock=clock,
        c_nonces=CNonces(store, storage.server_secret("c_nonce"), ttl=settings.c_nonce_ttl, clock=clock),
        dpop_nonces=dpop_nonces,
        dpop=DpopCheck(
            dpop_nonces,
            store,
            clock=clock,
            max_age=settings.proof_max_age,
            skew=settings.clock_skew,
            algorithms=settings.proof_algorithms,
        ),
        statuses=StatusAllocator(
            engine, size=settings.status_list_size, fill=settings.status_list_fill, clock=clock, rng=rng
        ),
        tx_code_secret=storage.server_secret("tx_code"),
        audit=AuditLog(engine, table=t.audit_log, clock=clock, outbox=t.audit_outbox),
        subject_secret=storage.server_secret("subject_pseudonym"),
    )
    issuer = Issuer(context, chain=chain, anchoring=anchoring or NoStatusAnchoring())
    if bootstrap:
        issuer.bootstrap = _bootstrap(issuer, settings)
    return issuer


def _demo_ca(settings: IssuerSettings, clock: Clock) -> CertificateAuthority | CertificateAuthorityFiles:
    passphrase = key_passphrase(settings)
    ca_dir = settings.resolved_ca_dir()
    if (ca_dir / "ca.key.json").exists() and (ca_dir / "ca.pem").exists():
        return CertificateAuthorityFiles(ca_dir, passphrase=passphrase)  # decrypted when it first certifies
    ca = CertificateAuthority.create_files(ca_dir, passphrase=passphrase, now=clock())
    log.warning("created a demo CA", extra={"fields": {"ca_dir": str(ca_dir)}})
    return ca


def _bootstrap(issuer: Issuer, settings: IssuerSettings) -> Bootstrap | None:
    """First start with an empty database: one demo authority with the shipped credential types and an API key
    from ``GOVSSI_ISSUER_BOOTSTRAP_KEY`` (or a generated one, returned to be printed once)."""
    storage = issuer.context.storage
    if storage.authorities():
        return None
    given = settings.bootstrap_key.get_secret_value() if settings.bootstrap_key is not None else None
    if given is not None:
        try:
            split_api_key(given)
        except ValueError as exc:
            raise SsiError(f"GOVSSI_ISSUER_BOOTSTRAP_KEY: {exc}", reason="bad_bootstrap_key") from None
    slug = settings.bootstrap_authority
    authority = storage.create_authority(slug, "Demo-Behörde", "Demo authority")
    for ctype in shipped_credential_types().values():
        storage.put_credential_type(authority.id, ctype)
    key = storage.create_api_key(authority.id, "bootstrap", key=given)
    log.info("created the demo authority", extra={"fields": {"authority": slug}})
    return Bootstrap(slug, issuer.context.credential_issuer(slug), None if given else key)
