"""The verifier's Response URI (OpenID4VP 1.0 §8.2) with as few session-store round trips as its rules allow: read
the session; once the response is verified (or refused), take the nonce and write the result and the session's final
status — on the verifier's Redis store in one round trip (``verifier.session_store``), elsewhere ``take`` then one
``replace_many``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from verifier_support import FakeTrust, TestIssuer, settings, verifier_identity

from infra.db import create_engine, sqlite_url
from infra.ephemeral import EphemeralStore, SqlEphemeralStore
from ssi.dcql import DcqlQuery
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import HeldSdJwt
from verifier import VerifierRedisStore, build_verifier


class CountingStore:
    """An EphemeralStore that counts the calls (each one round trip to Redis or one transaction in SQL)."""

    def __init__(self, inner: EphemeralStore) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


def _inner_store(kind: str, tmp_path: Path, redis_prefix: tuple[str, str] | None) -> EphemeralStore:
    if kind == "sql":
        return SqlEphemeralStore(create_engine(sqlite_url(tmp_path / "verifier.db")))
    assert redis_prefix is not None
    url, prefix = redis_prefix
    return VerifierRedisStore(url, prefix=prefix)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("sql", ["get", "take", "replace_many"]), ("redis", ["get", "take_then_replace_many"])],
)
def test_response_uri_writes_result_and_final_status_in_one_round_trip(
    tmp_path: Path, request: pytest.FixtureRequest, kind: str, expected: list[str]
) -> None:
    """OpenID4VP 1.0 §8.2 Response URI, cross-device: read the session, then take the nonce and write the result and
    the session's final status — one round trip on the verifier's Redis store, ``take`` then one write elsewhere;
    what the relying party reads afterwards is unchanged."""
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    redis_prefix = request.getfixturevalue("redis_prefix") if kind == "redis" else None
    counting = CountingStore(_inner_store(kind, tmp_path, redis_prefix))
    service = build_verifier(
        settings(tmp_path),
        store=counting,  # type: ignore[arg-type]
        keys=verifier_identity("https://verifier.example").keys,
        trust=trust,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
    )
    query, purpose = service.query_for(preset="pid_identification")
    created = service.create(query, response_mode="direct_post", purpose=purpose)
    session: Mapping[str, Any] = service.store.get("vp_session", created.request_id)  # type: ignore[assignment]
    holder = SoftwareSigner.generate("ES256")
    held = HeldSdJwt.parse(issuer.issue(holder)[0])
    presentation = held.present(
        [("given_name",), ("family_name",), ("birthdate",)],
        holder=holder,
        audience=created.client_id,
        nonce=session["nonce"],
    )
    form = {"vp_token": json.dumps({"pid": [presentation]}), "state": created.request_id}
    counting.calls.clear()
    answer = service.handle_response(created.request_id, form)
    assert counting.calls == expected
    assert answer == {"redirect_uri": "https://verifier.example/done"}
    assert service.status(created.transaction_id)["status"] == "verified"
    result = service.result(created.transaction_id)
    assert result["status"] == "verified" and "ERIKA" in json.dumps(result["credentials"])


def test_dcql_query_validated_once_per_distinct_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Response URI validates the session's DCQL query (§6) once per distinct query, not per response: sessions
    made from one preset share the parsed query; another query is parsed on its own; each session still gets its
    own query (a response to the age session is checked against the age query)."""
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    service = build_verifier(
        settings(tmp_path),
        store=SqlEphemeralStore(create_engine(sqlite_url(tmp_path / "verifier.db"))),
        keys=verifier_identity("https://verifier.example").keys,
        trust=trust,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
    )
    parsed: list[Any] = []
    counting = False
    original = DcqlQuery.parse.__func__  # type: ignore[attr-defined]

    def counting_parse(cls: type[DcqlQuery], obj: Any, **kwargs: Any) -> DcqlQuery:
        if counting:
            parsed.append(obj)
        return original(cls, obj, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(DcqlQuery, "parse", classmethod(counting_parse))
    holder = SoftwareSigner.generate("ES256")
    held = HeldSdJwt.parse(issuer.issue(holder)[0])
    results = []
    for preset, disclosed in [
        ("pid_identification", [("given_name",), ("family_name",), ("birthdate",)]),
        ("pid_identification", [("given_name",), ("family_name",), ("birthdate",)]),
        ("age_over_18", [("age_equal_or_over", "18")]),
        ("pid_identification", [("given_name",), ("family_name",), ("birthdate",)]),
    ]:
        query, purpose = service.query_for(preset=preset)
        created = service.create(query, response_mode="direct_post", purpose=purpose)
        session: Mapping[str, Any] = service.store.get("vp_session", created.request_id)  # type: ignore[assignment]
        presentation = held.present(disclosed, holder=holder, audience=created.client_id, nonce=session["nonce"])
        form = {"vp_token": json.dumps({session["dcql_query"]["credentials"][0]["id"]: [presentation]})}
        counting = True
        service.handle_response(created.request_id, {**form, "state": created.request_id})
        counting = False
        results.append(service.result(created.transaction_id))
    assert len(parsed) == 2  # in the Response URI: once per distinct query
    assert [r["status"] for r in results] == ["verified"] * 4
    assert results[2]["credentials"][next(iter(results[2]["credentials"]))][0]["claims"] == {
        "age_equal_or_over": {"18": True}
    }
