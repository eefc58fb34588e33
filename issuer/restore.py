"""After a database restore: make the issuer safe to run on a copy of its database that is older than the world.

A backup is a point in time. Between that point and the failure the issuer may have issued credentials (their status
indexes are not in the backup), delivered offers that the backup still shows open, and published and anchored newer
status list versions (the chain keeps the newest digest). Started on the restored database as it is, the issuer
could

1. **reuse a status index**: a credential issued after the backup holds an index the restored database shows free
   (draft-ietf-oauth-status-list §13.2 "Status List Index Reuse" is exactly what must not happen), possibly in a
   list created after the backup, whose URI the restored database does not know;
2. **issue twice**: an offer delivered after the backup is ``offered`` in the restored database, and its
   pre-authorized code (in the database's short-lived store) would work again;
3. **look rolled back** to verifiers: the served Status List Token is the backup's version while the chain's
   anchor holds a newer digest (``ledger.trust.StatusAnchorReader.check`` answers ``rolled_back``).

:func:`prepare_restored_database` (``govssi issuer after-restore``), run once on the restored database before the
issuer starts, closes these: it starts a **fresh status list** per authority whose number skips ``skip_lists``
numbers past the newest one in the backup (lists the lost period may have started are never reused); it
**withdraws every offer that is still open** (state ``dead``, claims deleted; their deferred requests expire) — the
clerk makes new offers; it marks **every status list due for re-publication**, so a new version is signed and
anchored with the publisher's first round; it clears the publisher's lease. It records one ``operations.restore``
audit entry per authority. Credentials issued in the lost period cannot be revoked through the issuer (nothing is
known about them but what the audit log head kept elsewhere and the wallet hold): docs/operations.md says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.audit import AuditLog
from issuer import tables as t
from issuer.status import BITS
from issuer.storage import OPEN_OFFER_STATES, IssuerStorage
from ssi.clock import Clock, system_clock

__all__ = ["DEFAULT_SKIP_LISTS", "RestoreReport", "prepare_restored_database"]

#: Status list numbers left out after the newest list of the backup (each list takes 65 536 credentials by default,
#: so the lost period would have to have started more than this many lists to collide).
DEFAULT_SKIP_LISTS = 10


@dataclass
class RestoreReport:
    #: authority slug → the number of its fresh status list (new credentials go there).
    fresh_lists: dict[str, int] = field(default_factory=dict)
    offers_withdrawn: int = 0
    deferred_requests_expired: int = 0
    lists_to_republish: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "fresh_status_lists": self.fresh_lists,
            "offers_withdrawn": self.offers_withdrawn,
            "deferred_requests_expired": self.deferred_requests_expired,
            "status_lists_to_republish": self.lists_to_republish,
        }


def prepare_restored_database(
    engine: Engine,
    *,
    public_url: str | None = None,
    skip_lists: int = DEFAULT_SKIP_LISTS,
    size: int = 2**17,
    fill: float = 0.5,
    clock: Clock = system_clock,
    actor: str = "operator:restore",
) -> RestoreReport:
    """Prepare a restored issuer database (see the module docstring); migrations are applied first. ``public_url``
    is the issuer's ``GOVSSI_ISSUER_PUBLIC_URL``; without it the fresh lists' URIs follow the newest list's URI (an
    authority without any list needs it). ``size`` and ``fill`` are the issuer's ``status_list_size`` and
    ``status_list_fill``, used for an authority that had no list yet."""
    if skip_lists < 0:
        raise ValueError("skip_lists is 0 or more")
    storage = IssuerStorage(engine, clock=clock)
    storage.migrate()
    now = clock()
    report = RestoreReport()
    audit = AuditLog(engine, table=t.audit_log, clock=clock)
    sl, offer, dr = t.status_list, t.offer, t.deferred_request
    for authority in storage.authorities():
        with engine.begin() as conn:
            newest = conn.execute(
                sa.select(sl.c.number, sl.c.uri, sl.c.size, sl.c.capacity)
                .where(sl.c.authority_id == authority.id)
                .order_by(sl.c.number.desc())
                .limit(1)
            ).first()
            withdrawn = [
                row.id
                for row in conn.execute(
                    sa.select(offer.c.id).where(
                        offer.c.authority_id == authority.id, offer.c.state.in_(OPEN_OFFER_STATES)
                    )
                )
            ]
            if withdrawn:
                report.offers_withdrawn += int(
                    conn.execute(
                        sa.update(offer).where(offer.c.id.in_(withdrawn)).values(state="dead", claims=None)
                    ).rowcount
                    or 0
                )
            report.deferred_requests_expired += int(
                conn.execute(
                    sa.update(dr)
                    .where(dr.c.authority_id == authority.id, dr.c.state.in_(("pending", "approved")))
                    .values(state="expired")
                ).rowcount
                or 0
            )
            report.lists_to_republish += int(
                conn.execute(
                    sa.update(sl)
                    .where(sl.c.authority_id == authority.id)
                    .values(change_seq=sl.c.change_seq + 1, changed_at=now)
                ).rowcount
                or 0
            )
            # The lost period may have started lists after the newest one here (or the first one): skip their numbers.
            number = (0 if newest is None else int(newest.number)) + skip_lists + 1
            if public_url:
                uri = f"{public_url.rstrip('/')}/issuers/{authority.slug}/status-lists/{number}"
            elif newest is not None:
                uri = f"{str(newest.uri).rsplit('/', 1)[0]}/{number}"
            else:
                raise ValueError(
                    f"authority {authority.slug!r} has no status list in this database: give the issuer's public URL"
                )
            conn.execute(
                sa.insert(sl).values(
                    authority_id=authority.id,
                    number=number,
                    uri=uri,
                    bits=BITS,
                    size=size if newest is None else int(newest.size),
                    capacity=max(1, int(size * fill)) if newest is None else int(newest.capacity),
                    allocated=0,
                    created_at=now,
                    change_seq=1,
                    published_seq=0,
                    changed_at=now,
                )
            )
            report.fresh_lists[authority.slug] = number
            audit.append(
                actor=actor,
                authority=authority.slug,
                action="operations.restore",
                subjects=[f"status_list:{number}"],
                connection=conn,
            )
    with engine.begin() as conn:
        conn.execute(sa.delete(t.lease))
    return report
