"""``GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP``: the Response URI verifies on the worker's event loop instead of a
thread — with the same answers: a verified presentation, a refused one, a replay (OpenID4VP 1.0 §14.1: the nonce is
single-use), an answer to an unknown session, a malformed post (OAuth-style errors, never a 500)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from verifier_support import FakeTrust, TestIssuer, TestWallet, settings, sqlite_store, verifier_identity

from ssi.keys import SoftwareSigner
from verifier import PresentationService, VerifierSettings, loopback_verifier


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP", raising=False)
    assert VerifierSettings().verify_on_event_loop is False
    monkeypatch.setenv("GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP", "1")
    assert VerifierSettings().verify_on_event_loop is True


@contextlib.contextmanager
def _serving(tmp_path: Path, **changes: Any) -> Iterator[tuple[Any, PresentationService, Any]]:
    """A loopback verifier with ``changes`` to its settings, trusting one test issuer."""
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    identity = verifier_identity("http://127.0.0.1")
    with (
        loopback_verifier(
            settings(tmp_path, **changes),
            store=sqlite_store(tmp_path),
            keys=identity.keys,
            trust=trust,
            key_history=None,
            did_resolver=None,
            anchors=[issuer.ca],
            fetcher=issuer.server,
        ) as (server, service),
        httpx.Client(timeout=30) as http,
    ):
        yield server, service, (http, identity, issuer, changes.get("verify_on_event_loop", False))


@pytest.fixture(params=[False, True], ids=["thread", "event_loop"])
def verifier(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, PresentationService, Any]]:
    with _serving(tmp_path, verify_on_event_loop=request.param) as serving:
        yield serving


def _threads_of(service: PresentationService) -> list[str]:
    """Wrap ``handle_response`` to record the name of the thread each call runs in."""
    names: list[str] = []
    inner = service.handle_response

    def recorded(state: str, form: Any) -> dict[str, str]:
        names.append(threading.current_thread().name)
        return inner(state, form)

    service.handle_response = recorded  # type: ignore[method-assign]
    return names


def test_same_answers_on_the_event_loop_and_in_a_thread(verifier: tuple[Any, PresentationService, Any]) -> None:
    server, service, (http, identity, issuer, on_loop) = verifier
    names = _threads_of(service)

    def create() -> dict[str, Any]:
        answer = http.post(f"{server.url}/api/presentations", json={"preset": "pid_identification"})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def credential() -> Any:
        from verifier_support import HeldCredential

        holder = SoftwareSigner.generate("ES256")
        compact, idx = issuer.issue(holder)
        return HeldCredential(compact, holder, idx)

    wallet = TestWallet(http, identity.ca.certificate, [credential()])
    created = create()
    presented = wallet.present(created["authorization_request"])
    assert presented.response.status_code == 200, presented.response.text
    assert presented.body == {"redirect_uri": f"{server.url}/done"}
    result = http.get(f"{server.url}/api/presentations/{created['session']}/result").json()
    assert result["status"] == "verified"
    # the same response again: the session is decided, the nonce gone
    again = wallet.post(presented.request, presented.form)
    assert again.response.status_code == 400
    assert again.response.json()["reason"] == "session_finished"

    # a refusal: a KB-JWT for another nonce (OpenID4VP 1.0 §14.1), decided and reported with its reason
    created = create()
    refused = wallet.present(created["authorization_request"], nonce="not-the-session-nonce")
    assert refused.response.status_code == 400
    body = refused.response.json()
    assert body["error"] == "invalid_request" and body["reason"] and body["error_description"]

    # unknown session, malformed post: OAuth-style errors
    unknown = http.post(f"{server.url}/response/nope", data={"vp_token": "{}", "state": "nope"})
    assert unknown.status_code == 400 and unknown.json()["reason"] == "session_unknown"
    created = create()
    request = wallet.fetch_request(created["authorization_request"])
    malformed = http.post(wallet.route(request.response_uri), data={"vp_token": "not json", "state": request.state})
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_request"

    assert len(names) == 5
    # in a thread: one of the verifier's own verification threads (GOVSSI_VERIFIER_VERIFY_THREADS), never the pool
    # shared by every other route
    workers = [name for name in names if name.startswith("verify_")]
    assert workers == ([] if on_loop else names), names


def test_verify_threads_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """``GOVSSI_VERIFIER_VERIFY_THREADS``: 2 by default, 1-64; anything else is a configuration error."""
    from pydantic import ValidationError

    monkeypatch.delenv("GOVSSI_VERIFIER_VERIFY_THREADS", raising=False)
    assert VerifierSettings().verify_threads == 2
    monkeypatch.setenv("GOVSSI_VERIFIER_VERIFY_THREADS", "1")
    assert VerifierSettings().verify_threads == 1
    for bad in ("0", "65", "many"):
        monkeypatch.setenv("GOVSSI_VERIFIER_VERIFY_THREADS", bad)
        with pytest.raises(ValidationError):
            VerifierSettings()


def test_verifications_use_at_most_verify_threads(tmp_path: Path) -> None:
    """Concurrent posts with ``verify_threads=1`` are all verified by one thread, one after the other (arrival order
    within a worker), while other routes keep being served."""
    import concurrent.futures

    with _serving(tmp_path, verify_threads=1) as (server, service, (http, _identity, _issuer, _on_loop)):
        names = _threads_of(service)
        posts = [(f"{server.url}/response/unknown-{i}", {"vp_token": "{}", "state": f"unknown-{i}"}) for i in range(8)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda post: http.post(post[0], data=post[1]), posts))
        assert [answer.json()["reason"] for answer in answers] == ["session_unknown"] * 8
        assert len(names) == 8 and set(names) == {"verify_0"}, names
        assert http.get(f"{server.url}/healthz").status_code == 200


def test_response_uri_is_matched_first_as_a_plain_route(verifier: tuple[Any, PresentationService, Any]) -> None:
    """The hot route is served without FastAPI's dependency machinery (a Starlette ``Route`` matched before every
    other route), still through the app's middlewares (security headers, metrics by route template) and error
    handlers (405 for another method, OAuth error shape), and still described in the OpenAPI document."""
    from fastapi.routing import APIRoute
    from starlette.routing import Route

    server, _service, (http, *_rest) = verifier
    app = server._config.app
    first = app.router.routes[0]
    assert isinstance(first, Route) and not isinstance(first, APIRoute)
    assert first.path == "/response/{state}" and first.methods == {"POST"}
    assert "post" in app.openapi()["paths"]["/response/{state}"]
    answer = http.post(f"{server.url}/response/nope", data={"vp_token": "{}", "state": "nope"})
    assert answer.status_code == 400 and answer.json()["reason"] == "session_unknown"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    wrong_type = http.post(f"{server.url}/response/nope", json={"vp_token": "{}"})
    assert wrong_type.status_code == 400 and wrong_type.json()["error"] == "invalid_request"
    wrong_method = http.get(f"{server.url}/response/nope")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "invalid_request"
    metrics = http.get(f"{server.url}/metrics").text
    assert 'route="/response/{state}",service="verifier",status="400"' in metrics
