"""One transaction per request where the short-lived state lives in the issuer's own PostgreSQL database: the token
endpoint's code consumption, the offer's ``redeemed`` and the new access token commit together (OpenID4VCI 1.0 §6,
the code is single-use: §4.1.1), and the credential endpoint spends the token in the delivery's transaction (§8)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from issuer_support import make_issuer
from protocol_support import InProcessWallet
from sqlalchemy import event

from infra.ephemeral import SqlEphemeralStore
from issuer import Issuer
from issuer.context import digest_key
from issuer.offers import CODE_NS
from issuer.tokens import TOKEN_NS
from ssi.clock import FrozenClock
from ssi.errors import InvalidDpopProof, InvalidGrant
from ssi.keys import SoftwareSigner


@pytest.fixture
def issuer(tmp_path: Path, clock: FrozenClock, postgres_url: str) -> Iterator[Issuer]:
    built = make_issuer(tmp_path, clock=clock, database_url=postgres_url)
    # The request transaction itself (deferral and bbs-2023 use it; the token and credential requests go through
    # issuer.pg_requests on PostgreSQL, tested in test_pg_request_statements on both paths).
    built.context._pg_requests.append(None)
    yield built
    built.context.storage.engine.dispose()


def test_sqlite_keeps_a_commit_per_step(tmp_path: Path, clock: FrozenClock) -> None:
    """On SQLite the request transaction is not used (commits cost no flush there; the write lock stays short)."""
    (tmp_path / "s").mkdir()
    sqlite_issuer = make_issuer(tmp_path / "s", clock=clock)
    assert sqlite_issuer.context.sql_store() is None


def test_section_6_token_exchange_is_all_or_nothing(
    wallet: InProcessWallet, issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while storing the access token undoes the code's consumption and the offer's ``redeemed``: the
    wallet can exchange the same code again (each step used to commit on its own, which burnt the code)."""
    assert issuer.context.sql_store() is not None
    offer = wallet.offer()
    grant = offer.credential_offer.pre_authorized_code
    assert grant is not None
    real_put = SqlEphemeralStore.put

    def failing_put(self: SqlEphemeralStore, ns: str, key: str, value: Any, ttl: float) -> None:
        if ns == TOKEN_NS:
            raise RuntimeError("database went away")
        real_put(self, ns, key, value, ttl)

    monkeypatch.setattr(SqlEphemeralStore, "put", failing_put)
    with pytest.raises(RuntimeError):
        wallet.token(offer, offer.tx_code)
    assert issuer.context.store.get(CODE_NS, digest_key(grant.pre_authorized_code)) is not None
    record = issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "offered"
    monkeypatch.setattr(SqlEphemeralStore, "put", real_put)
    assert wallet.token(offer, offer.tx_code).access_token


def test_section_8_token_spent_in_the_delivery_transaction(wallet: InProcessWallet, issuer: Issuer) -> None:
    """The offer's ``delivered`` and the token's ``spent`` are written between the same BEGIN and COMMIT."""
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    body = wallet.request_body([SoftwareSigner.generate()])
    engine = issuer.context.storage.engine
    log: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _k, statement, *_: log.append(statement))
    event.listen(engine, "commit", lambda _c: log.append("COMMIT"))
    response = wallet.credential(token, body)
    delivered = next(i for i, s in enumerate(log) if s.startswith("UPDATE offer SET") and "delivered_at" in s)
    spent = next(i for i, s in enumerate(log) if i > delivered and s.startswith("INSERT INTO ephemeral_state"))
    assert "COMMIT" not in log[delivered:spent] and "COMMIT" in log[spent:]
    entry = issuer.context.store.get(TOKEN_NS, digest_key(token.access_token))
    assert entry is not None and entry["s"] is True and entry["n"] == response.notification_id


def test_rfc9449_11_1_jti_kept_after_a_refused_token_request(wallet: InProcessWallet) -> None:
    """A token request refused after its DPoP proof was accepted (wrong code) still records the proof's ``jti``: the
    same proof is a replay afterwards (the protocol error commits what was done before it)."""
    offer = wallet.offer(tx_code=False)
    tenant = wallet.tenant
    proof = wallet.dpop(tenant.token_endpoint)
    form = [("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", "nope")]
    with pytest.raises(InvalidGrant):
        wallet.issuer.tokens.exchange(tenant, form, dpop_headers=proof, url=tenant.token_endpoint)
    with pytest.raises(InvalidDpopProof) as err:
        wallet.issuer.tokens.exchange(tenant, wallet.token_form(offer), dpop_headers=proof, url=tenant.token_endpoint)
    assert err.value.reason == "dpop_replay"
    assert wallet.token(offer).access_token  # the code itself was untouched


def test_section_6_token_request_commits_once(wallet: InProcessWallet, issuer: Issuer) -> None:
    """DPoP ``jti``, code, offer ``redeemed``, offer document and access token: one COMMIT for the whole request."""
    offer = wallet.offer()
    commits: list[object] = []
    event.listen(issuer.context.storage.engine, "commit", commits.append)
    wallet.token(offer, offer.tx_code)
    assert len(commits) == 1
