"""Publishing the Token Status Lists (draft-ietf-oauth-status-list §5.1, §8) and anchoring each version on the chain.

Every status list is served as a Status List Token at its ``uri`` (the ``status.status_list.uri`` of the credentials
that point into it): a JWT with ``typ`` ``statuslist+jwt``, signed by the authority's credential signing key with its
``x5c`` chain and ``kid`` in the header (§11.3, HAIP), and the claims ``sub`` (= the URI), ``iat``, ``exp``
("RECOMMENDED"), ``ttl`` ("RECOMMENDED": how long relying parties may cache it), ``iss`` (the credential issuer) and
``status_list`` (2 bits per entry: VALID, INVALID, SUSPENDED).

**When.** A status change bumps its list's ``change_seq`` (:mod:`issuer.records`). :class:`StatusPublisher` runs
in the app's lifespan and looks every half window (``GOVSSI_STATUS_PUBLISH_WINDOW``, 1 s by default) for lists that
are due: changed since their last publication (all changes of that half window go out together), never published
(a new list), or with less than half of their lifetime (``status_list_validity``) left. So a change is served within
one window plus the signing and anchoring time. Only one instance publishes at a time (a lease in the database; a
crashed holder's lease runs out after ``max(10 s, 5 windows)``); every instance serves what was published.

**Anchoring.** The new versions' SHA-256 digests go to the chain in one batch per authority before they are stored
as current (so a verifier comparing the token it fetched with the latest anchored digest finds it there). When the
chain refuses or does not answer, the versions are published anyway — revocations must not wait for the chain — with
``anchor_state`` ``refused``/``unavailable``, and anchoring the latest version is retried after ``anchor_retry``
seconds; a version superseded before it was anchored is not anchored any more (``superseded``).

**Versions.** Each publication is a row of ``status_list_token`` (version, SHA-256, times, anchoring); the token text
of the last :data:`KEEP_TOKENS` versions is kept, older versions keep only their digest.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from issuer import tables as t
from issuer.anchoring import ANCHORED, NOT_CONFIGURED, AnchorOutcome, NoStatusAnchoring, StatusListAnchoring
from issuer.context import IssuerContext, NotFound, Tenant
from ssi.status_list import StatusList, issue_status_list_token

__all__ = ["KEEP_TOKENS", "PublishReport", "PublishedList", "StatusPublisher"]

log = logging.getLogger("govssi.issuer.publishing")

LEASE = "status_publisher"
#: Token texts kept per list (older versions keep their digest and anchoring record only).
KEEP_TOKENS = 5


@dataclass(frozen=True)
class PublishedList:
    uri: str
    version: int
    sha256: str
    anchor_state: str


@dataclass
class PublishReport:
    published: list[PublishedList] = field(default_factory=list)
    anchoring: dict[str, AnchorOutcome] = field(default_factory=dict)
    #: ``False`` when another instance holds the publisher lease (nothing was done here).
    leader: bool = True


@dataclass
class _Due:
    id: int
    authority_id: int
    slug: str
    number: int
    uri: str
    bits: int
    size: int
    change_seq: int
    version: int


@dataclass
class _Signed:
    due: _Due
    token: str
    sha256: bytes
    issued_at: int
    expires_at: int


class StatusPublisher:
    """Signs, anchors and stores Status List Tokens; serves the current ones (cached briefly)."""

    def __init__(self, context: IssuerContext, anchoring: StatusListAnchoring | None = None) -> None:
        self.context = context
        self.anchoring: StatusListAnchoring = anchoring or NoStatusAnchoring()
        self.instance = secrets.token_hex(8)
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one publication round at a time in this process
        self._next_anchor_attempt: dict[int, float] = {}  # authority id → earliest retry (after a failure)
        self._cache: dict[tuple[str, int], tuple[float, str, int]] = {}
        settings = context.settings
        self.window = settings.status_publish_window
        self.cache_seconds = min(0.25, self.window / 4)

    # -- serving -------------------------------------------------------------------------------------------------

    def current_token(self, tenant: Tenant, number: int) -> str:
        """The current Status List Token of the authority's list ``number`` (:class:`NotFound` before its first
        publication)."""
        key = (tenant.authority.slug, number)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        sl, tok = t.status_list, t.status_list_token
        with self.context.storage.engine.connect() as conn:
            row = conn.execute(
                sa.select(tok.c.token, tok.c.version)
                .join(sl, sl.c.id == tok.c.status_list_id)
                .where(sl.c.authority_id == tenant.authority.id, sl.c.number == number, tok.c.token.is_not(None))
                .order_by(tok.c.version.desc())
                .limit(1)
            ).first()
        if row is None:
            raise NotFound("no such status list (or not published yet)")
        self._cache[key] = (now, str(row.token), int(row.version))
        return str(row.token)

    def lists(self, tenant: Tenant) -> list[dict[str, Any]]:
        """The authority's lists with their publication and anchoring state (admin API)."""
        sl, tok = t.status_list, t.status_list_token
        latest = (
            sa.select(tok.c.status_list_id, sa.func.max(tok.c.version).label("version"))
            .group_by(tok.c.status_list_id)
            .subquery()
        )
        query = (
            sa.select(
                sl.c.number,
                sl.c.uri,
                sl.c.size,
                sl.c.bits,
                sl.c.allocated,
                sl.c.change_seq,
                sl.c.published_seq,
                sl.c.published_at,
                sl.c.expires_at,
                tok.c.version,
                tok.c.sha256,
                tok.c.anchor_state,
                tok.c.anchor_detail,
                tok.c.anchored_at,
            )
            .select_from(
                sl.outerjoin(latest, latest.c.status_list_id == sl.c.id).outerjoin(
                    tok, sa.and_(tok.c.status_list_id == sl.c.id, tok.c.version == latest.c.version)
                )
            )
            .where(sl.c.authority_id == tenant.authority.id)
            .order_by(sl.c.number)
        )
        with self.context.storage.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "number": r.number,
                "uri": r.uri,
                "size": r.size,
                "bits": r.bits,
                "allocated": r.allocated,
                "version": r.version or 0,
                "pending_changes": r.change_seq > r.published_seq,
                "published_at": None if r.published_at is None else int(r.published_at),
                "expires_at": None if r.expires_at is None else int(r.expires_at),
                "sha256": r.sha256,
                "anchor_state": r.anchor_state,
                "anchor_detail": r.anchor_detail,
                "anchored_at": None if r.anchored_at is None else int(r.anchored_at),
            }
            for r in rows
        ]

    # -- publishing ----------------------------------------------------------------------------------------------

    def wake(self) -> None:
        """A status changed in this process: publish with the next round (the window still batches)."""
        self._wake.set()

    def publish_due(self) -> PublishReport:
        """One round: publish every due list (if this instance holds the lease) and retry pending anchoring."""
        ctx = self.context
        lease_ttl = max(10.0, 5 * self.window)
        if not ctx.storage.take_lease(LEASE, self.instance, lease_ttl):
            return PublishReport(leader=False)
        with self._lock:
            report = PublishReport()
            now = ctx.clock()
            by_authority: dict[int, list[_Due]] = {}
            for due in self._due(now):
                by_authority.setdefault(due.authority_id, []).append(due)
            for authority_id, lists in by_authority.items():
                self._publish_authority(authority_id, lists, now, report)
            self._retry_anchoring(now, report, skip=set(by_authority))
            return report

    def _due(self, now: float) -> list[_Due]:
        sl, a = t.status_list, t.authority
        refresh = now + self.context.settings.status_list_validity / 2
        query = (
            sa.select(
                sl.c.id,
                sl.c.authority_id,
                a.c.slug,
                sl.c.number,
                sl.c.uri,
                sl.c.bits,
                sl.c.size,
                sl.c.change_seq,
                sl.c.version,
            )
            .join(a, a.c.id == sl.c.authority_id)
            .where(
                sa.or_(
                    sl.c.change_seq > sl.c.published_seq,
                    sl.c.expires_at.is_(None),
                    sl.c.expires_at <= refresh,
                )
            )
            .order_by(sl.c.authority_id, sl.c.number)
        )
        with self.context.storage.engine.connect() as conn:
            return [_Due(*row) for row in conn.execute(query).all()]

    def _sign(self, tenant: Tenant, due: _Due, now: float) -> _Signed:
        ctx = self.context
        e = t.status_entry
        with ctx.storage.engine.connect() as conn:
            # change_seq was read before the entries: a change made meanwhile is in this version or the next.
            entries = conn.execute(
                sa.select(e.c.idx, e.c.status).where(e.c.status_list_id == due.id, e.c.status != 0)
            ).all()
        status_list = StatusList(due.size, due.bits)
        for idx, status in entries:
            status_list.set(int(idx), int(status))
        keys = ctx.keys(tenant)
        issued_at = int(now)
        expires_at = issued_at + ctx.settings.status_list_validity
        token = issue_status_list_token(
            status_list,
            uri=due.uri,
            signer=keys.signer,
            iat=issued_at,
            exp=expires_at,
            ttl=ctx.settings.status_list_ttl,
            header={"x5c": keys.x5c, "kid": keys.signer.kid or keys.public_key.thumbprint()},
            claims={"iss": tenant.credential_issuer},
        )
        return _Signed(due, token, hashlib.sha256(token.encode("ascii")).digest(), issued_at, expires_at)

    def _anchor(self, tenant: Tenant, lists: list[tuple[str, bytes]], now: float) -> AnchorOutcome:
        authority_id = tenant.authority.id
        if now < self._next_anchor_attempt.get(authority_id, 0.0):
            return AnchorOutcome("unavailable", "waiting before the next anchoring attempt")
        try:
            controller = self.context.keys(tenant).controller
            outcome = self.anchoring.anchor(controller, tenant.authority.did, lists)
        except Exception as exc:  # the chain seam reports outcomes; anything else must not stop publication
            log.exception("status list anchoring failed")
            outcome = AnchorOutcome("unavailable", f"anchoring failed: {type(exc).__name__}")
        if outcome.state in (ANCHORED, NOT_CONFIGURED):
            self._next_anchor_attempt.pop(authority_id, None)
        else:
            self._next_anchor_attempt[authority_id] = now + self.context.settings.anchor_retry
        return outcome

    def _publish_authority(self, authority_id: int, lists: list[_Due], now: float, report: PublishReport) -> None:
        ctx = self.context
        try:
            tenant = ctx.tenant(lists[0].slug)
            signed = [self._sign(tenant, due, now) for due in lists]
        except Exception:
            log.exception("signing status lists failed", extra={"fields": {"authority": lists[0].slug}})
            return
        outcome = self._anchor(tenant, [(s.due.uri, s.sha256) for s in signed], now)
        report.anchoring[tenant.authority.slug] = outcome
        for item in signed:
            stored = self._store(item, outcome, now)
            if stored is not None:
                report.published.append(stored)
        log.info(
            "status lists published",
            extra={
                "fields": {
                    "authority": tenant.authority.slug,
                    "lists": [f"{s.due.number}" for s in signed],
                    "anchor": outcome.state,
                }
            },
        )

    def _store(self, item: _Signed, outcome: AnchorOutcome, now: float) -> PublishedList | None:
        sl, tok = t.status_list, t.status_list_token
        due = item.due
        version = due.version + 1
        try:
            with self.context.storage.engine.begin() as conn:
                moved = conn.execute(
                    sa.update(sl)
                    .where(sl.c.id == due.id, sl.c.version == due.version)
                    .values(
                        version=version,
                        published_seq=due.change_seq,
                        changed_at=sa.case((sl.c.change_seq == due.change_seq, None), else_=sl.c.changed_at),
                        published_at=now,
                        expires_at=item.expires_at,
                    )
                ).rowcount
                if moved != 1:
                    return None  # another instance published this version (lease handover): keep theirs
                conn.execute(
                    sa.insert(tok).values(
                        status_list_id=due.id,
                        version=version,
                        token=item.token,
                        sha256=item.sha256.hex(),
                        issued_at=item.issued_at,
                        expires_at=item.expires_at,
                        anchor_state=outcome.state,
                        anchor_detail=(outcome.detail or ",".join(outcome.transactions) or None),
                        anchored_at=now if outcome.state == ANCHORED else None,
                    )
                )
                # Older versions: drop the token text beyond KEEP_TOKENS; never anchor them any more.
                conn.execute(
                    sa.update(tok)
                    .where(tok.c.status_list_id == due.id, tok.c.version <= version - KEEP_TOKENS)
                    .where(tok.c.token.is_not(None))
                    .values(token=None)
                )
                conn.execute(
                    sa.update(tok)
                    .where(
                        tok.c.status_list_id == due.id,
                        tok.c.version < version,
                        tok.c.anchor_state.in_(("unavailable", "refused")),
                    )
                    .values(anchor_state="superseded")
                )
        except IntegrityError:
            return None
        self._cache.pop((due.slug, due.number), None)
        return PublishedList(due.uri, version, item.sha256.hex(), outcome.state)

    def _retry_anchoring(self, now: float, report: PublishReport, *, skip: set[int]) -> None:
        """Latest versions whose anchoring failed: try again (once the retry time has come)."""
        sl, tok, a = t.status_list, t.status_list_token, t.authority
        query = (
            sa.select(tok.c.id, sl.c.authority_id, a.c.slug, sl.c.uri, tok.c.sha256)
            .join(sl, sl.c.id == tok.c.status_list_id)
            .join(a, a.c.id == sl.c.authority_id)
            .where(tok.c.anchor_state.in_(("unavailable", "refused")), tok.c.version == sl.c.version)
        )
        with self.context.storage.engine.connect() as conn:
            rows = conn.execute(query).all()
        pending: dict[int, list[Any]] = {}
        for row in rows:
            if row.authority_id not in skip and now >= self._next_anchor_attempt.get(row.authority_id, 0.0):
                pending.setdefault(row.authority_id, []).append(row)
        for rows_of in pending.values():
            tenant = self.context.tenant(rows_of[0].slug)
            outcome = self._anchor(tenant, [(r.uri, bytes.fromhex(r.sha256)) for r in rows_of], now)
            report.anchoring[tenant.authority.slug] = outcome
            with self.context.storage.engine.begin() as conn:
                conn.execute(
                    sa.update(tok)
                    .where(tok.c.id.in_([r.id for r in rows_of]), tok.c.anchor_state.in_(("unavailable", "refused")))
                    .values(
                        anchor_state=outcome.state,
                        anchor_detail=(outcome.detail or ",".join(outcome.transactions) or None),
                        anchored_at=now if outcome.state == ANCHORED else None,
                    )
                )

    # -- the background task -------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Publish every half window until ``stop`` is set (the app's lifespan runs this in a thread)."""
        interval = self.window / 2
        while not stop.is_set():
            try:
                self.publish_due()
            except Exception:  # keep publishing; the next round retries
                log.exception("status list publication failed")
            self._wake.wait(interval)
            if self._wake.is_set():
                self._wake.clear()
                # Changes come in bursts (a subject's credentials, several clerks): let the batch gather, within
                # the window.
                stop.wait(interval)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="issuer-status-publisher", daemon=True)
        thread.start()
        return thread

    def release(self) -> None:
        self.context.storage.release_lease(LEASE, self.instance)
