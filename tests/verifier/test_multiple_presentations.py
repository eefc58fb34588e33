"""Several presentations for one Credential Query, over HTTP (OpenID4VP 1.0 §6.1 ``multiple``: "whether multiple
Credentials can be returned for this Credential Query"; §8.1: the VP Token value "is an array of one or more
Presentations that match the respective Credential Query. When multiple is omitted, or set to false, the array MUST
contain only one Presentation")."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Env
from verifier_support import PID, PID_CLAIMS, HeldCredential

from ssi.oid4vp import AuthorizationRequest, response_form

OTHER = {**PID_CLAIMS, "given_name": "GERDA", "family_name": "GABLER"}


def _query(multiple: bool | None) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": "pid",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID]},
        "claims": [{"path": ["family_name"]}],
    }
    if multiple is not None:
        query["multiple"] = multiple
    return {"credentials": [query]}


def _answer(env: Env, multiple: bool | None, *, nonce: list[str | None] | None = None) -> tuple[Any, str]:
    """Both credentials presented for ``pid`` in one VP Token; ``nonce``: per presentation, a KB-JWT nonce other
    than the request's."""
    first, second = env.credential(), env.credential(claims=OTHER)
    answer = env.http.post(f"{env.url}/api/presentations", json={"dcql_query": _query(multiple)})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    wallet = env.wallet()
    request = wallet.fetch_request(created["authorization_request"])
    token = [_present(c, request, n) for c, n in zip((first, second), nonce or [None, None], strict=True)]
    posted = wallet.post(request, response_form(request, {"pid": token}))
    return posted.response, created["session"]


def _present(credential: HeldCredential, request: AuthorizationRequest, nonce: str | None) -> str:
    return credential.held.present(
        [("family_name",)], holder=credential.holder, audience=request.client_id, nonce=nonce or request.nonce
    )


def test_multiple_true_accepts_and_verifies_every_presentation(fresh: Env) -> None:
    response, session = _answer(fresh, True)
    assert response.status_code == 200, response.text
    result = fresh.result(session).json()
    assert result["status"] == "verified", result
    assert [p["claims"] for p in result["credentials"]["pid"]] == [
        {"family_name": "MUSTERMANN"},
        {"family_name": "GABLER"},
    ]


@pytest.mark.parametrize("multiple", [False, None], ids=["false", "omitted"])
def test_several_presentations_without_multiple_are_refused(fresh: Env, multiple: bool | None) -> None:
    response, session = _answer(fresh, multiple)
    assert response.status_code == 400 and response.json()["reason"] == "dcql_multiple_not_allowed"
    assert fresh.result(session).json()["reason"] == "dcql_multiple_not_allowed"


def test_one_presentation_bound_to_another_request_refuses_the_whole_response(fresh: Env) -> None:
    """§14.1.2 (replay): each presentation's KB-JWT must carry this request's nonce — with ``multiple`` the second
    presentation is checked too, and its failure is not papered over by the first."""
    response, session = _answer(fresh, True, nonce=[None, "another-requests-nonce-0123456789"])
    assert response.status_code == 400
    result = fresh.result(session).json()
    assert result["status"] == "refused" and result["reason"] == response.json()["reason"], result
    assert "nonce" in result["reason"], result
