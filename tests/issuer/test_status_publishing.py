"""Status and revocation (issue 7): Status List Tokens per draft-ietf-oauth-status-list §5.1 at the credentials'
``status_list.uri``, revoke / suspend / unsuspend (§7.1), publication in batches with a lease, anchoring of every
published version's SHA-256 (anchor before serve; published anyway when the chain fails, retried later), keyed subject
pseudonyms, and the HTTP surface of §8.1/§8.2."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from issuer_support import ADMIN, PUBLIC_URL, SAMPLE_CLAIMS, demo_ca, make_issuer, settings
from protocol_support import InProcessWallet

from issuer import Issuer, IssuerSettings, MemoryKeyring, create_app, loopback_issuer
from issuer import tables as t
from issuer.anchoring import AnchorOutcome
from issuer.publishing import KEEP_TOKENS, StatusPublisher
from issuer.records import StatusChangeRefused
from ledger.client import ChainSigner
from ssi.clock import FrozenClock
from ssi.jose import parse_compact
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import HeldSdJwt
from ssi.status_list import (
    INVALID,
    STATUS_LIST_JWT_MEDIA_TYPE,
    STATUS_LIST_JWT_TYP,
    SUSPENDED,
    VALID,
    StatusListToken,
    verify_status_list_token,
)
from ssi.x509 import verify_x5c


class RecordingAnchoring:
    """A stand-in for the chain: records what it was asked to anchor; ``state`` decides the outcome."""

    source = "test anchoring"

    def __init__(self, state: str = "anchored") -> None:
        self.state = state
        self.calls: list[tuple[str | None, list[tuple[str, bytes]]]] = []

    def anchor(self, controller: ChainSigner, did: str | None, lists: Sequence[tuple[str, bytes]]) -> AnchorOutcome:
        self.calls.append((did, list(lists)))
        if self.state == "anchored":
            return AnchorOutcome("anchored", None, [f"0x{len(self.calls):064x}"])
        return AnchorOutcome(self.state, "chain says no")


def _issue(wallet: InProcessWallet, count: int = 1, **claims: Any) -> list[str]:
    offer = wallet.offer(**claims)
    token = wallet.token(offer, offer.tx_code)
    response = wallet.credential(token, wallet.request_body([SoftwareSigner.generate() for _ in range(count)]))
    return list(response.credentials)


def _status_of(credential: str) -> tuple[str, int]:
    payload = HeldSdJwt.parse(credential).payload
    entry = payload["status"]["status_list"]
    return entry["uri"], entry["idx"]


def _verified(issuer: Issuer, wallet: InProcessWallet, number: int = 1) -> StatusListToken:
    issuer.publisher._cache.clear()
    token = issuer.publisher.current_token(wallet.tenant, number)
    keys = issuer.context.keys(wallet.tenant)
    return verify_status_list_token(token, keys.public_key, ["ES256"], clock=wallet.clock)


def _credential_ids(issuer: Issuer, wallet: InProcessWallet) -> list[str]:
    return [r.credential_id for r in issuer.admin.credentials(wallet.tenant)]


def test_section_5_1_status_list_token_claims_and_header(issuer: Issuer, wallet: InProcessWallet) -> None:
    """§5.1: typ statuslist+jwt; sub = the Referenced Token's uri; iat; exp and ttl (RECOMMENDED, §13.7); the
    status_list; signed by the issuer key with its x5c chain (§11.3); 2 bits (VALID/INVALID/SUSPENDED, §7.1)."""
    credential = _issue(wallet)[0]
    uri, idx = _status_of(credential)
    report = issuer.publisher.publish_due()
    assert [p.uri for p in report.published] == [uri]
    token = issuer.publisher.current_token(wallet.tenant, 1)
    header = parse_compact(token)[3]
    assert header["typ"] == STATUS_LIST_JWT_TYP and header["alg"] == "ES256"
    chain = verify_x5c(header["x5c"], [demo_ca().certificate], now=wallet.clock())
    verified = verify_status_list_token(token, chain.public_key, ["ES256"], uri=uri, clock=wallet.clock)
    assert verified.issued_at == int(wallet.clock())
    assert verified.ttl == 300 and verified.expires_at == int(wallet.clock()) + 86400
    assert verified.claims["iss"] == wallet.tenant.credential_issuer
    assert verified.status_list.bits == 2 and verified.status_list.size == 2**17
    assert verified.status(idx) == VALID
    assert header["kid"] == issuer.context.keys(wallet.tenant).signer.kid


def test_section_7_1_revoke_suspend_unsuspend(issuer: Issuer, wallet: InProcessWallet) -> None:
    """§7.1: INVALID is final; SUSPENDED is temporary; each change is published with the next round."""
    credentials = _issue(wallet, 3)
    indexes = {r.credential_id: r.status_list_index for r in issuer.admin.credentials(wallet.tenant)}
    first, second, third = sorted(indexes)
    tenant = wallet.tenant
    issuer.admin.change_status(tenant, first, "revoke", actor="apikey:test")
    issuer.admin.change_status(tenant, second, "suspend", actor="apikey:test")
    issuer.publisher.publish_due()
    verified = _verified(issuer, wallet)
    assert [verified.status(indexes[c]) for c in (first, second, third)] == [INVALID, SUSPENDED, VALID]
    issuer.admin.change_status(tenant, second, "unsuspend", actor="apikey:test")
    issuer.publisher.publish_due()
    assert _verified(issuer, wallet).status(indexes[second]) == VALID
    # A revoked credential stays revoked; repeating a change is a no-op.
    with pytest.raises(StatusChangeRefused):
        issuer.admin.change_status(tenant, first, "unsuspend", actor="apikey:test")
    with pytest.raises(StatusChangeRefused):
        issuer.admin.change_status(tenant, first, "suspend", actor="apikey:test")
    again = issuer.admin.change_status(tenant, first, "revoke", actor="apikey:test")
    assert again.changed == [] and again.unchanged == [first]
    issuer.admin.change_status(tenant, third, "suspend", actor="apikey:test")
    issuer.admin.change_status(tenant, third, "revoke", actor="apikey:test")  # suspended → revoked is allowed
    assert issuer.admin.credential(tenant, third).status == "revoked"
    assert len(credentials) == 3


def test_only_changed_lists_are_republished_and_versions_count(issuer: Issuer, wallet: InProcessWallet) -> None:
    _issue(wallet)
    first = issuer.publisher.publish_due()
    assert [p.version for p in first.published] == [1]
    assert issuer.publisher.publish_due().published == []  # nothing changed
    credential_id = _credential_ids(issuer, wallet)[0]
    issuer.admin.change_status(wallet.tenant, credential_id, "suspend", actor="apikey:test")
    assert [p.version for p in issuer.publisher.publish_due().published] == [2]
    lists = issuer.admin.status_lists(wallet.tenant)
    assert lists[0]["version"] == 2 and lists[0]["pending_changes"] is False
    assert lists[0]["sha256"] == hashlib.sha256(issuer.publisher.current_token(wallet.tenant, 1).encode()).hexdigest()


def test_lists_are_republished_before_they_expire(issuer: Issuer, wallet: InProcessWallet, clock: FrozenClock) -> None:
    """§13.7 ``exp``: a list is re-signed when less than half of its lifetime is left, changed or not."""
    _issue(wallet)
    issuer.publisher.publish_due()
    clock.advance(86400 / 2 - 10)
    assert issuer.publisher.publish_due().published == []
    clock.advance(20)
    assert [p.version for p in issuer.publisher.publish_due().published] == [2]
    assert _verified(issuer, wallet).expires_at == int(clock()) + 86400


def test_old_token_texts_are_pruned_digests_kept(issuer: Issuer, wallet: InProcessWallet) -> None:
    _issue(wallet)
    credential_id = _credential_ids(issuer, wallet)[0]
    for round_ in range(KEEP_TOKENS + 3):
        issuer.admin.change_status(
            wallet.tenant, credential_id, "suspend" if round_ % 2 == 0 else "unsuspend", actor="apikey:test"
        )
        issuer.publisher.publish_due()
    with issuer.context.storage.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.status_list_token.c.version, t.status_list_token.c.token, t.status_list_token.c.sha256)
        ).all()
    assert len(rows) == KEEP_TOKENS + 3
    kept = [r.version for r in rows if r.token is not None]
    assert kept == list(range(len(rows) - KEEP_TOKENS + 1, len(rows) + 1))
    assert all(len(r.sha256) == 64 for r in rows)


def test_anchoring_gets_the_served_tokens_digest_before_it_is_served(tmp_path: Path, clock: FrozenClock) -> None:
    anchoring = RecordingAnchoring()
    issuer = make_issuer(tmp_path, clock=clock)
    publisher = StatusPublisher(issuer.context, anchoring)
    issuer.publisher = publisher
    wallet = InProcessWallet(issuer, clock)
    _issue(wallet)
    publisher.publish_due()
    ((did, lists),) = anchoring.calls
    token = publisher.current_token(wallet.tenant, 1)
    assert lists == [(f"{wallet.tenant.credential_issuer}/status-lists/1", hashlib.sha256(token.encode()).digest())]
    assert publisher.lists(wallet.tenant)[0]["anchor_state"] == "anchored"
    assert did == wallet.tenant.authority.did


def test_chain_failure_does_not_hold_back_a_revocation_and_is_retried(tmp_path: Path, clock: FrozenClock) -> None:
    """Revocations must not wait for the chain: the list is published with ``unavailable`` and anchored when the
    chain answers again (after ``anchor_retry``); a superseded unanchored version is not anchored any more."""
    anchoring = RecordingAnchoring("unavailable")
    issuer = make_issuer(tmp_path, clock=clock, anchor_retry=30.0)
    publisher = StatusPublisher(issuer.context, anchoring)
    wallet = InProcessWallet(issuer, clock)
    _issue(wallet)
    publisher.publish_due()
    assert publisher.lists(wallet.tenant)[0]["anchor_state"] == "unavailable"
    credential_id = _credential_ids(issuer, wallet)[0]
    issuer.records.on_change = publisher.wake
    issuer.admin.change_status(wallet.tenant, credential_id, "revoke", actor="apikey:test")
    report = publisher.publish_due()  # published although the chain is down (and not even asked: retry time)
    assert [p.anchor_state for p in report.published] == ["unavailable"] and len(anchoring.calls) == 1
    publisher._cache.clear()
    token = publisher.current_token(wallet.tenant, 1)
    keys = issuer.context.keys(wallet.tenant)
    record = issuer.admin.credential(wallet.tenant, credential_id)
    assert (
        verify_status_list_token(token, keys.public_key, ["ES256"], clock=clock).status(record.status_list_index)
        == INVALID
    )
    anchoring.state = "anchored"
    clock.advance(31)
    publisher.publish_due()
    assert anchoring.calls[-1][1] == [(record.status_list_uri, hashlib.sha256(token.encode()).digest())]
    with issuer.context.storage.engine.connect() as conn:
        states = dict(conn.execute(sa.select(t.status_list_token.c.version, t.status_list_token.c.anchor_state)).all())
    assert states == {1: "superseded", 2: "anchored"}


def test_only_the_lease_holder_publishes(tmp_path: Path, clock: FrozenClock) -> None:
    issuer = make_issuer(tmp_path, clock=clock)
    other = StatusPublisher(issuer.context)
    wallet = InProcessWallet(issuer, clock)
    _issue(wallet)
    assert issuer.publisher.publish_due().published
    credential_id = _credential_ids(issuer, wallet)[0]
    issuer.admin.change_status(wallet.tenant, credential_id, "suspend", actor="apikey:test")
    assert other.publish_due().leader is False
    clock.advance(11)  # the first holder stopped renewing: its lease ran out
    assert [p.version for p in other.publish_due().published] == [2]


def test_new_lists_are_published_and_a_full_list_rolls_over(issuer_factory: Any) -> None:
    issuer = issuer_factory(status_list_size=1024, status_list_fill=0.002)  # two entries per list
    wallet = InProcessWallet(issuer, issuer.context.clock)
    _issue(wallet, 2)
    _issue(wallet, 2)
    published = issuer.publisher.publish_due().published
    assert sorted(p.uri.rsplit("/", 1)[1] for p in published) == ["1", "2"]
    assert _verified(issuer, wallet, 2).status_list.size == 1024


def test_keyed_subject_pseudonym_revokes_every_credential_of_a_plate(issuer: Issuer, wallet: InProcessWallet) -> None:
    """Issue 7: "revoke everything issued for this plate" without stored claim values — the type's subject claim
    becomes an HMAC pseudonym; spacing, hyphens and case do not matter."""
    _issue(wallet, 2, license_plate="K-EM 1964")
    _issue(wallet, 1, license_plate="K EM1964")
    _issue(wallet, 1, license_plate="BN-XY 1")
    tenant = wallet.tenant
    assert len(issuer.admin.credentials_of_subject(tenant, "license_plate", "k-em-1964")) == 3
    change = issuer.admin.change_subject_status(tenant, "license_plate", "k em 1964", "revoke", actor="apikey:test")
    assert len(change.changed) == 3
    statuses = sorted(r.status for r in issuer.admin.credentials(tenant))
    assert statuses == ["revoked", "revoked", "revoked", "valid"]
    engine = issuer.context.storage.engine
    with engine.connect() as conn:
        pseudonyms = set(conn.execute(sa.select(t.status_entry.c.subject_pseudonym)).scalars())
        offers = conn.execute(sa.select(t.offer.c.claims, t.offer.c.subject_pseudonym)).all()
    assert len(pseudonyms) == 2 and all(p is not None and len(p) == 64 for p in pseudonyms)
    assert all(o.claims is None for o in offers)  # delivered: no claim values left
    dump = "\n".join(str(row) for row in _all_rows(engine))
    for value in ("K-EM 1964", "KEM1964", "BN-XY 1", "MUSTERMANN"):
        assert value not in dump
    entries = issuer.admin.audit_entries(tenant)
    revoke = next(e for e in entries if e["action"] == "credential.revoke")
    assert revoke["subjects"][0].startswith("pseudonym:") and revoke["subjects"][0][10:] in {p[:32] for p in pseudonyms}


def test_offer_may_name_a_subject_that_is_not_a_claim(issuer: Issuer, wallet: InProcessWallet) -> None:
    """For types without a subject claim (the PID's document number comes from the eID card) the offer names it."""
    tenant = wallet.tenant
    offer = issuer.offers.create(
        tenant, "dienstausweis", SAMPLE_CLAIMS["dienstausweis"], subject=("document_number", "T22000129")
    )
    token = wallet.token(offer, offer.tx_code)
    wallet.credential(token, wallet.request_body([SoftwareSigner.generate()], "dienstausweis"))
    change = issuer.admin.change_subject_status(tenant, "document_number", "t22 000129", "suspend", actor="user:clerk")
    assert len(change.changed) == 1


def _all_rows(engine: sa.engine.Engine) -> list[Any]:
    rows: list[Any] = []
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            rows += conn.execute(sa.select(table)).all()
    return rows


# -- HTTP: the status list endpoint and the background publisher -----------------------------------------------------


def test_section_8_status_list_over_http(tmp_path: Path) -> None:
    """§8.1/§8.2: GET at the uri → 200 ``application/statuslist+jwt`` (CORS, gzip when asked); unknown lists 404."""
    service = make_issuer(tmp_path)
    wallet = InProcessWallet(service, time.time)  # type: ignore[arg-type]
    uri, idx = _status_of(_issue(wallet)[0])
    service.publisher.publish_due()
    with TestClient(create_app(settings(tmp_path), issuer=service), base_url=PUBLIC_URL) as client:
        response = client.get(uri.removeprefix(PUBLIC_URL), headers={"Accept": STATUS_LIST_JWT_MEDIA_TYPE})
        assert response.status_code == 200
        assert response.headers["content-type"] == STATUS_LIST_JWT_MEDIA_TYPE
        assert response.headers["access-control-allow-origin"] == "*"
        keys = service.context.keys(wallet.tenant)
        assert verify_status_list_token(response.text, keys.public_key, ["ES256"], uri=uri).status(idx) == VALID
        assert client.get("/issuers/demo/status-lists/99").status_code == 404
        assert client.get("/issuers/demo/status-lists/0").status_code == 400


def test_gzip_body_is_the_token(tmp_path: Path) -> None:
    service = make_issuer(tmp_path)
    wallet = InProcessWallet(service, time.time)  # type: ignore[arg-type]
    uri, _ = _status_of(_issue(wallet)[0])
    service.publisher.publish_due()
    app = create_app(settings(tmp_path), issuer=service)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        zipped = client.get(uri.removeprefix(PUBLIC_URL), headers={"Accept-Encoding": "gzip"})
        plain = client.get(uri.removeprefix(PUBLIC_URL), headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert zipped.text == plain.text == service.publisher.current_token(wallet.tenant, 1)  # httpx inflated it
    assert int(zipped.headers["content-length"]) < len(gzip.compress(plain.content, 0))


def test_revocation_is_served_within_the_publication_window(tmp_path: Path) -> None:
    """Issue 7: re-published on change in batches within 1 s (the default window) — measured over real HTTP with
    the lifespan's background publisher, for a burst of revocations."""
    configured = IssuerSettings(
        data_dir=tmp_path, bootstrap_key="test-bootstrap-key-0001", key_passphrase="pw", status_publish_window=1.0
    )
    with (
        loopback_issuer(configured, keyring=MemoryKeyring(demo_ca())) as (_server, service),
        httpx.Client(timeout=20) as http,
    ):
        assert service.bootstrap is not None
        base = service.bootstrap.credential_issuer
        wallet = InProcessWallet(service, time.time)  # type: ignore[arg-type]
        _issue(wallet, 5)
        records = service.admin.credentials(wallet.tenant)
        uri = records[0].status_list_uri
        deadline = time.monotonic() + 10
        while http.get(uri).status_code != 200:  # the new list's first publication
            assert time.monotonic() < deadline
            time.sleep(0.05)
        keys = service.context.keys(wallet.tenant)
        started = time.monotonic()
        for record in records[:3]:
            answer = http.post(f"{base}/admin/credentials/{record.credential_id}/revoke", headers=ADMIN)
            assert answer.status_code == 200, answer.text
        while True:
            token = verify_status_list_token(http.get(uri).text, keys.public_key, ["ES256"])
            if all(token.status(r.status_list_index) == INVALID for r in records[:3]):
                break
            assert time.monotonic() - started < 1.0 + 0.5, "not published within the window"
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        assert all(token.status(r.status_list_index) == VALID for r in records[3:])
    assert elapsed < 1.5


def test_publisher_thread_stops_with_the_app(tmp_path: Path) -> None:
    service = make_issuer(tmp_path, status_publish_window=0.1)
    with TestClient(create_app(settings(tmp_path), issuer=service), base_url=PUBLIC_URL):
        assert any(th.name == "issuer-status-publisher" for th in threading.enumerate())
    deadline = time.monotonic() + 5
    while any(th.name == "issuer-status-publisher" and th.is_alive() for th in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with service.context.storage.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.lease)).scalar_one() == 0


def test_status_migration_keeps_existing_entries(tmp_path: Path) -> None:
    """0002 → 0003: existing lists become 2-bit (nothing was published with 1 bit), entries get public ids."""
    from infra.db import create_engine, sqlite_url, upgrade
    from issuer.storage import MIGRATIONS, VERSION_TABLE

    engine = create_engine(sqlite_url(tmp_path / "m.db"))
    upgrade(engine, MIGRATIONS, revision="0002", version_table=VERSION_TABLE)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO authority (slug, name_de, name_en, created_at) VALUES ('a', 'A', 'A', 1)"))
        conn.execute(
            sa.text(
                "INSERT INTO status_list (authority_id, number, uri, bits, size, capacity, allocated, created_at) "
                "VALUES (1, 1, 'https://i/issuers/a/status-lists/1', 1, 1024, 512, 2, 5)"
            )
        )
        for idx in (7, 9):
            conn.execute(
                sa.text(
                    "INSERT INTO status_entry (status_list_id, idx, authority_id, type_id, holder_jkt, issued_at) "
                    f"VALUES (1, {idx}, 1, 'x', 'jkt', 1)"
                )
            )
    upgrade(engine, MIGRATIONS, version_table=VERSION_TABLE)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT bits, changed_at, published_seq FROM status_list")).one() == (2, 5.0, 0)
        ids = conn.execute(sa.text("SELECT credential_id FROM status_entry")).scalars().all()
    assert len(set(ids)) == 2 and all(i.startswith("c") for i in ids)
    assert json.dumps(ids)
