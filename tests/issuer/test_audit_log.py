"""The issuer's audit log (issue 7, ``infra.audit``): every issuance and admin action appended in the same database
transaction as the change it records — so neither exists without the other — append-only (the migration's triggers),
a verifiable chain also under concurrent issuance on PostgreSQL, and no claim values."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from issuer_support import SAMPLE_CLAIMS, make_issuer
from protocol_support import InProcessWallet

from issuer import Issuer
from issuer import tables as t
from issuer.credentials import Holder
from ssi.clock import FrozenClock
from ssi.errors import CredentialRequestDenied
from ssi.keys import SoftwareSigner


def _count(issuer: Issuer, table: sa.Table) -> int:
    with issuer.context.storage.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_audit_log_is_append_only(issuer: Issuer, wallet: InProcessWallet) -> None:
    wallet.offer()
    assert issuer.context.audit.sequence() == 1  # the offer's entry, from the outbox into the chain
    engine = issuer.context.storage.engine
    for statement in ("UPDATE audit_log SET actor = 'someone'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert issuer.admin.verify_audit()["ok"] is True


def test_issuance_and_its_audit_entry_commit_together(issuer: Issuer, wallet: InProcessWallet) -> None:
    """A delivery refused inside the transaction leaves no audit entry; an audit append that fails leaves no
    credential (the offer stays redeemed, so the wallet may retry)."""
    offer = wallet.offer()
    wallet.token(offer, offer.tx_code)
    tenant = wallet.tenant
    claims = issuer.context.storage.offer_claims(offer.offer_id, "redeemed")
    assert claims is not None
    holders = [Holder.from_jwk(SoftwareSigner.generate().public_jwk)]
    # Entries recorded in a transaction wait in the outbox until they are chained: count both.
    entries_before = _count(issuer, t.audit_log) + _count(issuer, t.audit_outbox)
    with pytest.raises(CredentialRequestDenied):
        issuer.credentials.deliver(
            tenant,
            offer.credential_offer.credential_configuration_ids[0],
            offer.offer_id,
            claims,
            holders,
            source_state="redeemed",
            within=lambda conn: False,
        )
    assert _count(issuer, t.audit_log) + _count(issuer, t.audit_outbox) == entries_before
    assert _count(issuer, t.status_entry) == 0

    original = issuer.context.audit.record

    def failing(**kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    issuer.context.audit.record = failing  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError):
            issuer.credentials.deliver(
                tenant, "bewohnerparkausweis", offer.offer_id, claims, holders, source_state="redeemed"
            )
    finally:
        issuer.context.audit.record = original  # type: ignore[method-assign]
    assert _count(issuer, t.status_entry) == 0 and _count(issuer, t.issuance) == 0
    assert _count(issuer, t.audit_log) + _count(issuer, t.audit_outbox) == entries_before
    record = issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "redeemed" and record.has_claims
    delivery = issuer.credentials.deliver(
        tenant, "bewohnerparkausweis", offer.offer_id, claims, holders, source_state="redeemed"
    )
    assert len(delivery.credential_ids) == 1
    assert issuer.context.audit.sequence() >= 1  # recorded in the delivery's transaction, chained now
    last = issuer.context.audit.entries(after_seq=_count(issuer, t.audit_log) - 1)[0]
    assert last.action == "credential.issue" and f"credential:{delivery.credential_ids[0]}" in last.subjects


def test_large_batches_spread_over_entries(issuer_factory: Any) -> None:
    issuer = issuer_factory(batch_size=40)
    wallet = InProcessWallet(issuer, issuer.context.clock)
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    wallet.credential(token, wallet.request_body([SoftwareSigner.generate() for _ in range(40)]))
    entries = [e for e in issuer.context.audit.entries(limit=1000) if e.action == "credential.issue"]
    named = [s for e in entries for s in e.subjects if s.startswith("credential:")]
    assert len(entries) == 2 and len(named) == 40


def test_no_claim_values_in_the_audit_log(issuer: Issuer, wallet: InProcessWallet) -> None:
    for type_id in SAMPLE_CLAIMS:
        offer = wallet.offer(type_id)
        token = wallet.token(offer, offer.tx_code)
        wallet.credential(token, wallet.request_body([SoftwareSigner.generate()], type_id))
    issuer.admin.change_subject_status(wallet.tenant, "license_plate", "K-EM 1964", "revoke", actor="user:clerk")
    text = str([e.to_dict() for e in issuer.context.audit.entries(limit=1000)])
    for values in SAMPLE_CLAIMS.values():
        for value in values.values():
            for leaf in value.values() if isinstance(value, dict) else [value]:
                # Whole tokens only: a short value such as the zone "K3" may occur by chance inside a random
                # base64url identifier, which is not a disclosure.
                token = re.compile(r"(?<![A-Za-z0-9_-])" + re.escape(str(leaf)) + r"(?![A-Za-z0-9_-])")
                assert not token.search(text), leaf


def test_concurrent_issuance_keeps_one_chain_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    clock = FrozenClock(1_800_000_000)
    issuer = make_issuer(tmp_path, clock=clock, database_url=postgres_url)
    try:
        wallet = InProcessWallet(issuer, clock)
        ready = []
        for _ in range(12):
            offer = wallet.offer()
            ready.append((offer, wallet.token(offer, offer.tx_code)))

        def issue(item: Any) -> int:
            _, token = item
            return len(wallet.credential(token, wallet.request_body([SoftwareSigner.generate()])).credentials)

        with ThreadPoolExecutor(max_workers=6) as pool:
            assert sum(pool.map(issue, ready)) == 12
        verification = issuer.admin.verify_audit()
        assert verification["ok"] is True and verification["entries"] == 24  # 12 offers + 12 issuances
    finally:
        issuer.context.storage.engine.dispose()
