"""The single-use nonce and the decision of a response (OpenID4VP 1.0 §14.1: the nonce binds a response to one
request; a second response — replayed or concurrent — must not be accepted), on the verifier's Redis store: the
nonce taken and the decision written by one Lua script (``verifier.session_store``), so of concurrent responses
exactly one decides and the others write nothing."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import redis
from verifier_support import FakeTrust, TestIssuer, settings, verifier_identity

from infra.db import create_engine, sqlite_url
from infra.ephemeral import EphemeralStore, SqlEphemeralStore
from ssi.errors import InvalidAuthorizationResponse
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import HeldSdJwt
from verifier import PresentationNotFound, PresentationService, VerifierRedisStore, build_verifier
from verifier.session_store import take_and_write


def test_take_then_replace_many_writes_only_with_the_key(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    store = VerifierRedisStore(url, prefix=prefix)
    store.put("vp_nonce", "rid", {"nonce": "n"}, 60)
    entries = [("vp_result", "tid", {"status": "verified"}, 30.0), ("vp_session", "rid", {"status": "verified"}, 5.0)]
    assert store.take_then_replace_many("vp_nonce", "rid", entries) is True
    assert store.get("vp_nonce", "rid") is None
    assert store.get("vp_result", "tid") == {"status": "verified"}
    assert store.get("vp_session", "rid") == {"status": "verified"}
    client = redis.Redis.from_url(url)
    try:
        assert 25_000 < client.pttl(f"{prefix}vp_result:tid") <= 30_000  # each entry with its own TTL
        assert 0 < client.pttl(f"{prefix}vp_session:rid") <= 5_000
    finally:
        client.close()
    # the key is gone: nothing is written
    later = [("vp_result", "tid", {"status": "refused"}, 30.0), ("vp_session", "other", {"status": "refused"}, 5.0)]
    assert store.take_then_replace_many("vp_nonce", "rid", later) is False
    assert store.get("vp_result", "tid") == {"status": "verified"}
    assert store.get("vp_session", "other") is None


def _race(stores: list[VerifierRedisStore], rid: str) -> list[int]:
    """Every store at once takes ``vp_nonce:rid`` and writes who it is: the indexes of those that got ``True``."""
    won: list[int] = []
    barrier = threading.Barrier(len(stores))

    def decide(i: int) -> None:
        barrier.wait()
        if stores[i].take_then_replace_many("vp_nonce", rid, [("vp_result", rid, {"by": i}, 30.0)]):
            won.append(i)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_of_concurrent_callers_exactly_one_writes(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    stores = [VerifierRedisStore(url, prefix=prefix) for _ in range(8)]
    for round_ in range(20):
        stores[0].put("vp_nonce", f"r{round_}", {"nonce": "n"}, 60)
        won = _race(stores, f"r{round_}")
        assert len(won) == 1
        assert stores[0].get("vp_result", f"r{round_}") == {"by": won[0]}


def test_take_and_write_on_other_stores(tmp_path: Path) -> None:
    """Without the one-round-trip operation: ``take`` (atomic by itself), then the writes — still one winner."""
    store: EphemeralStore = SqlEphemeralStore(create_engine(sqlite_url(tmp_path / "s.db")))
    store.put("vp_nonce", "rid", {"nonce": "n"}, 60)
    assert take_and_write(store, "vp_nonce", "rid", [("vp_result", "tid", {"status": "verified"}, 30.0)])
    assert not take_and_write(store, "vp_nonce", "rid", [("vp_result", "tid", {"status": "refused"}, 30.0)])
    assert store.get("vp_result", "tid") == {"status": "verified"}


def _service(tmp_path: Path, store: EphemeralStore) -> tuple[PresentationService, TestIssuer]:
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    service = build_verifier(
        settings(tmp_path),
        store=store,
        keys=verifier_identity("https://verifier.example").keys,
        trust=trust,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
    )
    return service, issuer


def _answer(service: PresentationService, issuer: TestIssuer, created: Any, **kwargs: Any) -> dict[str, str]:
    session = service.store.get("vp_session", created.request_id)
    assert session is not None
    holder = SoftwareSigner.generate("ES256")
    presentation = HeldSdJwt.parse(issuer.issue(holder)[0]).present(
        [("given_name",), ("family_name",), ("birthdate",)],
        holder=holder,
        audience=created.client_id,
        nonce=session["nonce"],
        **kwargs,
    )
    return {"vp_token": json.dumps({"pid": [presentation]}), "state": created.request_id}


def test_concurrent_responses_one_verified_on_redis(tmp_path: Path, redis_prefix: tuple[str, str]) -> None:
    """Four identical responses at once, each verified on its own thread: one decides (verified), three are refused
    as replayed (or find the session finished) and change nothing."""
    url, prefix = redis_prefix
    service, issuer = _service(tmp_path, VerifierRedisStore(url, prefix=prefix))
    query, purpose = service.query_for(preset="pid_identification")
    created = service.create(query, response_mode="direct_post", purpose=purpose)
    form = _answer(service, issuer, created)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        try:
            service.handle_response(created.request_id, form)
            outcomes.append("ok")
        except InvalidAuthorizationResponse as exc:
            outcomes.append(exc.reason)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"response_replayed", "session_finished"}
    result = service.result(created.transaction_id)
    assert result["status"] == "verified" and "ERIKA" in json.dumps(result["credentials"])


def test_refused_response_decides_and_a_later_one_finds_it_finished(
    tmp_path: Path, redis_prefix: tuple[str, str]
) -> None:
    """A response that is this request's own but fails verification (KB-JWT for another audience) decides the
    session for good: refused with its reason; the genuine response after it is ``session_finished``."""
    url, prefix = redis_prefix
    service, issuer = _service(tmp_path, VerifierRedisStore(url, prefix=prefix))
    query, purpose = service.query_for(preset="pid_identification")
    created = service.create(query, response_mode="direct_post", purpose=purpose)
    session = service.store.get("vp_session", created.request_id)
    assert session is not None
    holder = SoftwareSigner.generate("ES256")
    wrong = HeldSdJwt.parse(issuer.issue(holder)[0]).present(
        [("given_name",)], holder=holder, audience="x509_hash:someone-else", nonce=session["nonce"]
    )
    with pytest.raises(InvalidAuthorizationResponse) as refused:
        service.handle_response(
            created.request_id, {"vp_token": json.dumps({"pid": [wrong]}), "state": created.request_id}
        )
    assert service.store.get("vp_nonce", created.request_id) is None
    with pytest.raises(InvalidAuthorizationResponse) as later:
        service.handle_response(created.request_id, _answer(service, issuer, created))
    assert later.value.reason == "session_finished"
    result = service.result(created.transaction_id)
    assert result["status"] == "refused" and result["reason"] == refused.value.reason


def test_same_device_response_code_is_written_with_the_decision(tmp_path: Path, redis_prefix: tuple[str, str]) -> None:
    """Same-device (§13.3, HAIP 1.0): the ``response_code`` in the redirect releases the result; its entry is part of
    the decision's single write."""
    url, prefix = redis_prefix
    service, issuer = _service(tmp_path, VerifierRedisStore(url, prefix=prefix))
    query, purpose = service.query_for(preset="pid_identification")
    created = service.create(
        query, flow="same_device", response_mode="direct_post", purpose=purpose, redirect_uri="https://rp.example/cb"
    )
    answer = service.handle_response(created.request_id, _answer(service, issuer, created))
    assert answer["redirect_uri"].startswith("https://rp.example/cb?response_code=")
    code = answer["redirect_uri"].split("response_code=", 1)[1]
    with pytest.raises(PresentationNotFound):  # without the code the same-device result is not released
        service.result(created.transaction_id)
    result = service.result(created.transaction_id, response_code=code)
    assert result["status"] == "verified"
