"""The token and credential requests on PostgreSQL in a few statements (``issuer.pg_requests``; bench/README.md,
issuer, sixth pass) keep every guarantee of the request transactions they replace — each test runs on both paths
(``statements``: the new one; ``transaction``: the request transaction, still used for deferral and bbs-2023):

- OpenID4VCI 1.0 §6 / §4.1.1: a pre-authorized code is used once; a failure while storing the token consumes nothing;
- RFC 9449 §11.1: a DPoP ``jti`` is accepted once, and a refused request's ``jti`` stays recorded;
- OpenID4VCI §8, §13.5: a ``c_nonce`` is used once; a request that fails for another reason than a protocol error
  leaves it usable;
- exactly-once delivery: of concurrent credential requests one delivers; a failure anywhere in the recording (here:
  the audit outbox refusing the insert) records nothing — no status entry, no issuance, the offer still redeemed, the
  token not spent;
- status indexes stay unique: an index taken meanwhile is chosen again (the credential signed again).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from issuer_support import make_issuer
from protocol_support import InProcessWallet, race_credential_requests

from infra.audit import verify_audit_log
from issuer import Issuer
from issuer import tables as t
from issuer.context import digest_key
from issuer.offers import CODE_NS
from issuer.tokens import TOKEN_NS
from ssi.clock import FrozenClock
from ssi.errors import CredentialRequestDenied, InvalidDpopProof, InvalidGrant, InvalidNonce, SsiError
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import HeldSdJwt


class _Indexes:
    """Status indexes in a given order, then at random."""

    def __init__(self, *first: int) -> None:
        self.first = list(first)
        self.drawn: list[int] = []

    def randbelow(self, exclusive_upper_bound: int) -> int:
        import secrets

        value = self.first.pop(0) if self.first else secrets.randbelow(exclusive_upper_bound)
        self.drawn.append(value)
        return value


def _build(tmp_path: Path, clock: FrozenClock, url: str, path: str, **overrides: Any) -> Issuer:
    built = make_issuer(tmp_path, clock=clock, database_url=url, **overrides)
    if path == "transaction":
        built.context._pg_requests.append(None)  # the request transaction (as for deferral and bbs-2023)
    assert (built.context.pg_requests() is not None) == (path == "statements")
    return built


@pytest.fixture(params=["statements", "transaction"])
def path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pg_issuer(tmp_path: Path, clock: FrozenClock, postgres_url: str, path: str) -> Iterator[Issuer]:
    built = _build(tmp_path, clock, postgres_url, path)
    yield built
    built.context.storage.engine.dispose()


def _refuse_inserts(issuer: Issuer, table: str, condition: str = "true") -> None:
    """A trigger that fails every insert into ``table`` matching ``condition`` (a database failure in the middle of
    a request's recording)."""
    with issuer.context.storage.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION govssi_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER govssi_test_refuse BEFORE INSERT ON {table} FOR EACH ROW WHEN ({condition}) "
            "EXECUTE FUNCTION govssi_test_refuse()"
        )


def _allow_inserts(issuer: Issuer, table: str) -> None:
    with issuer.context.storage.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TRIGGER govssi_test_refuse ON {table}")


def _count(issuer: Issuer, table: sa.Table) -> int:
    with issuer.context.storage.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _issue_entries(issuer: Issuer) -> int:
    """``credential.issue`` entries once the outbox is chained (the chain verified)."""
    issuer.context.audit.sequence()
    with issuer.context.storage.engine.connect() as conn:
        assert _count(issuer, t.audit_outbox) == 0
        found = conn.execute(
            sa.select(sa.func.count()).select_from(t.audit_log).where(t.audit_log.c.action == "credential.issue")
        ).scalar_one()
    assert verify_audit_log(issuer.context.storage.engine.url.render_as_string(hide_password=False))["ok"]
    return int(found)


def test_section_6_token_request_failing_in_the_database_consumes_nothing(
    wallet_pg: InProcessWallet, pg_issuer: Issuer
) -> None:
    """The access token's insert fails: the code is not consumed, the offer is still ``offered``, the same code is
    exchanged afterwards."""
    offer = wallet_pg.offer(tx_code=False)
    grant = offer.credential_offer.pre_authorized_code
    assert grant is not None
    _refuse_inserts(pg_issuer, "ephemeral_state", f"NEW.ns = '{TOKEN_NS}'")
    with pytest.raises(sa.exc.DBAPIError):
        wallet_pg.token(offer)
    _allow_inserts(pg_issuer, "ephemeral_state")
    assert pg_issuer.context.store.get(CODE_NS, digest_key(grant.pre_authorized_code)) is not None
    record = pg_issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "offered"
    assert wallet_pg.token(offer).access_token
    with pytest.raises(SsiError) as err:
        wallet_pg.token(offer)
    assert err.value.code == "invalid_grant"


def test_section_8_credential_request_failing_in_the_database_records_nothing(
    wallet_pg: InProcessWallet, pg_issuer: Issuer
) -> None:
    """The audit entry's insert (the last write of the delivery) fails: no status entry, no issuance, the offer still
    ``redeemed``, the token not spent, the ``c_nonce`` not used — the same key proof is accepted afterwards."""
    offer = wallet_pg.offer(tx_code=False)
    token = wallet_pg.token(offer)
    body = wallet_pg.request_body([SoftwareSigner.generate()])
    _refuse_inserts(pg_issuer, t.audit_outbox.name)
    with pytest.raises(sa.exc.DBAPIError):
        wallet_pg.credential(token, body)
    _allow_inserts(pg_issuer, t.audit_outbox.name)
    assert _count(pg_issuer, t.status_entry) == 0 and _count(pg_issuer, t.issuance) == 0
    record = pg_issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "redeemed" and record.has_claims
    entry = pg_issuer.context.store.get(TOKEN_NS, digest_key(token.access_token))
    assert entry is not None and not entry["s"]
    response = wallet_pg.credential(token, body)  # same key proof, same c_nonce
    assert len(response.credentials) == 1
    entry = pg_issuer.context.store.get(TOKEN_NS, digest_key(token.access_token))
    assert entry is not None and entry["s"] is True and entry["n"] == response.notification_id
    assert _count(pg_issuer, t.status_entry) == 1 and _count(pg_issuer, t.issuance) == 1
    assert _issue_entries(pg_issuer) == 1


def test_rfc9449_11_1_credential_request_jti_kept_after_a_refusal(wallet_pg: InProcessWallet) -> None:
    """A credential request refused after its DPoP proof was accepted (unknown configuration) records the proof's
    ``jti``: the same proof with a good request is a replay."""
    offer = wallet_pg.offer(tx_code=False)
    token = wallet_pg.token(offer)
    tenant = wallet_pg.tenant
    proof = wallet_pg.dpop(tenant.credential_endpoint, token=token.access_token)
    with pytest.raises(SsiError) as err:
        wallet_pg.credential(token, {"credential_configuration_id": "nope", "proofs": {}}, dpop_headers=proof)
    assert err.value.code != "invalid_dpop_proof"
    with pytest.raises(InvalidDpopProof) as replay:
        wallet_pg.credential(token, wallet_pg.request_body([SoftwareSigner.generate()]), dpop_headers=proof)
    assert replay.value.reason == "dpop_replay"
    assert wallet_pg.credential(token, wallet_pg.request_body([SoftwareSigner.generate()])).credentials


def test_rfc9449_11_1_replayed_proof_refused_before_anything_is_recorded(
    wallet_pg: InProcessWallet, pg_issuer: Issuer
) -> None:
    """A credential request whose DPoP proof was used before: ``dpop_replay``; its ``c_nonce`` stays unused and the
    offer undelivered."""
    offer = wallet_pg.offer(tx_code=False)
    token = wallet_pg.token(offer)
    tenant = wallet_pg.tenant
    proof = wallet_pg.dpop(tenant.credential_endpoint, token=token.access_token)
    with pytest.raises(SsiError):
        wallet_pg.credential(token, {"credential_configuration_id": "nope", "proofs": {}}, dpop_headers=proof)
    body = wallet_pg.request_body([SoftwareSigner.generate()])
    with pytest.raises(InvalidDpopProof):
        wallet_pg.credential(token, body, dpop_headers=proof)
    record = pg_issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "redeemed"
    assert wallet_pg.credential(token, body).credentials  # the c_nonce in body was not used


def test_section_13_5_used_c_nonce_refused_and_the_offer_untouched(
    wallet_pg: InProcessWallet, pg_issuer: Issuer
) -> None:
    """A key proof whose ``c_nonce`` was used for another offer: ``invalid_nonce``; the offer is not delivered and
    its token not spent; a fresh ``c_nonce`` then works."""
    first, second = wallet_pg.offer(tx_code=False), wallet_pg.offer(tx_code=False)
    body = wallet_pg.request_body([SoftwareSigner.generate()])
    assert wallet_pg.credential(wallet_pg.token(first), body).credentials
    token = wallet_pg.token(second)
    with pytest.raises(InvalidNonce) as err:
        wallet_pg.credential(token, body)
    assert err.value.reason == "used_c_nonce"
    record = pg_issuer.context.storage.offer(second.offer_id)
    assert record is not None and record.state == "redeemed"
    assert wallet_pg.credential(token, wallet_pg.request_body([SoftwareSigner.generate()])).credentials


def test_section_8_closed_offer_uses_the_c_nonce(wallet_pg: InProcessWallet, pg_issuer: Issuer) -> None:
    """A credential request whose offer expired after the token was issued: ``credential_request_denied``, after its
    ``c_nonce`` was used (as in the request transaction: the nonce check precedes the offer's)."""
    offer = wallet_pg.offer(tx_code=False)
    token = wallet_pg.token(offer)
    with pg_issuer.context.storage.engine.begin() as conn:
        conn.execute(sa.update(t.offer).where(t.offer.c.id == offer.offer_id).values(expires_at=0))
    body = wallet_pg.request_body([SoftwareSigner.generate()])
    with pytest.raises(CredentialRequestDenied):
        wallet_pg.credential(token, body)
    other = wallet_pg.offer(tx_code=False)
    with pytest.raises(InvalidNonce):
        wallet_pg.credential(wallet_pg.token(other), body)


def test_concurrent_credential_requests_deliver_once_postgresql(wallet_pg: InProcessWallet, pg_issuer: Issuer) -> None:
    """20 credential requests with one access token at once (each its own key proof and DPoP proof): one delivers,
    one issuance, one status entry, one audit entry."""
    race_credential_requests(wallet_pg, pg_issuer)
    assert _count(pg_issuer, t.status_entry) == 1 and _count(pg_issuer, t.issuance) == 1
    assert _issue_entries(pg_issuer) == 1


def test_status_index_taken_meanwhile_is_chosen_again(
    tmp_path: Path, clock: FrozenClock, postgres_url: str, path: str
) -> None:
    """The second issuance draws the index the first one holds: nothing is recorded with it, another index is chosen
    and the credential signed with that one; every index is used once."""
    taken, free = 1234, 4321
    indexes = _Indexes(taken, taken, taken, free)
    issuer = _build(tmp_path, clock, postgres_url, path, rng=indexes)
    try:
        wallet = InProcessWallet(issuer, clock)
        claimed = []
        for _ in range(2):
            offer = wallet.offer(tx_code=False)
            response = wallet.credential(wallet.token(offer), wallet.request_body([SoftwareSigner.generate()]))
            status = HeldSdJwt.parse(response.credentials[0]).payload["status"]["status_list"]
            claimed.append(status["idx"])
        assert claimed == [taken, free]
        with issuer.context.storage.engine.connect() as conn:
            recorded = sorted(conn.execute(sa.select(t.status_entry.c.idx)).scalars())
        assert recorded == sorted(claimed)
        assert _issue_entries(issuer) == 2
    finally:
        issuer.context.storage.engine.dispose()


def test_statements_per_credential(tmp_path: Path, clock: FrozenClock, postgres_url: str) -> None:
    """The point of the statements path: a DPoP token request is 2 statements, a credential request 2 (and the
    status list's block reservation now and then), none of them BEGIN/COMMIT (each is its own transaction)."""
    issuer = _build(tmp_path, clock, postgres_url, "statements")
    try:
        wallet = InProcessWallet(issuer, clock)
        wallet.credential(wallet.token(wallet.offer(tx_code=False)), wallet.request_body([SoftwareSigner.generate()]))
        offer = wallet.offer(tx_code=False)
        body = wallet.request_body([SoftwareSigner.generate()])
        engine = issuer.context.storage.engine
        log: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            log.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        commits: list[object] = []
        sa.event.listen(engine, "commit", commits.append)
        token = wallet.token(offer)
        assert len(log) == 2, log
        log.clear()
        wallet.credential(token, body)
        assert len(log) == 2, log
        assert not commits
        sa.event.remove(engine, "before_cursor_execute", record)
    finally:
        issuer.context.storage.engine.dispose()


def test_section_6_3_tx_code_attempts_counted(wallet_pg: InProcessWallet, pg_issuer: Issuer) -> None:
    """Wrong transaction codes are counted before the comparison: the right code on the fifth attempt works on one
    offer; after five wrong ones the other is dead (the right code refused, claims deleted, code gone)."""
    alive, doomed = wallet_pg.offer(), wallet_pg.offer()
    for offer, wrong_attempts in ((alive, 4), (doomed, 5)):
        assert offer.tx_code is not None
        wrong = str((int(offer.tx_code) + 1) % 10**6).zfill(6)
        for _ in range(wrong_attempts):
            with pytest.raises(InvalidGrant):
                wallet_pg.token(offer, wrong)
    assert wallet_pg.token(alive, alive.tx_code).access_token
    with pytest.raises(InvalidGrant) as err:
        wallet_pg.token(doomed, doomed.tx_code)
    assert err.value.reason in {"offer_dead", "unknown_code"}
    record = pg_issuer.context.storage.offer(doomed.offer_id)
    assert record is not None and record.state == "dead" and not record.has_claims


@pytest.fixture
def wallet_pg(pg_issuer: Issuer, clock: FrozenClock) -> InProcessWallet:
    return InProcessWallet(pg_issuer, clock)
