"""The purpose of a preset (or of a login) reaches the wallet inside the request, and the query means what it meant.

OpenID4VP 1.0 §6.2 leaves the purpose to the Verifier's own pages ("Before sending the presentation request, the
Verifier SHOULD display to the End-User the purpose"); the request carries it as ``credential_sets[].purpose`` (drafts
23-25, ignored by 1.0 wallets under §6 "Implementations MUST ignore any unknown properties"). Adding a Credential Set
Query must not change what is requested — §6.4.2 "If credential_sets is not provided, the Verifier requests
presentations for all Credentials in credentials" — so the same answers are accepted and refused as before.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from conftest import Env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssi.dcql import FORMAT_SD_JWT_VC, CredentialDescription, DcqlQuery, check_response, evaluate
from ssi.errors import DcqlError
from ssi.oid4vp import response_form
from verifier.presets import BUILTIN_PRESETS, with_purpose

QUERY_IDS = ["a", "b", "c", "d"]


def _credential(query_id: str) -> dict[str, Any]:
    return {"id": query_id, "format": FORMAT_SD_JWT_VC, "meta": {"vct_values": [f"urn:test:{query_id}"]}}


def _held(query_id: str) -> CredentialDescription:
    return CredentialDescription(format=FORMAT_SD_JWT_VC, claims={}, vct=f"urn:test:{query_id}")


@st.composite
def queries(draw: Any) -> dict[str, Any]:
    ids = draw(st.lists(st.sampled_from(QUERY_IDS), min_size=1, max_size=4, unique=True))
    raw: dict[str, Any] = {"credentials": [_credential(i) for i in ids]}
    if draw(st.booleans()):
        options = st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True)
        raw["credential_sets"] = [
            {"options": draw(st.lists(options, min_size=1, max_size=3)), "required": draw(st.booleans())}
            for _ in range(draw(st.integers(1, 3)))
        ]
        if draw(st.booleans()):
            raw["credential_sets"][0]["purpose"] = "own purpose"
    return raw


def _outcome(query: DcqlQuery, returned: tuple[str, ...]) -> str | None:
    try:
        check_response(query, {i: [_held(i)] for i in returned})
    except DcqlError as exc:
        return exc.reason
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries(), st.sampled_from(["Altersnachweis", "Parkausweis beantragen"]))
def test_purpose_set_changes_nothing_a_verifier_accepts_or_a_wallet_sends(raw: dict[str, Any], purpose: str) -> None:
    """§6.4.2: for every subset of Credential Queries answered, the query with the purpose accepts or refuses exactly
    like the query without it (for the same reason); the wallet's evaluation over every subset of held credentials
    is equally satisfiable and its default selection the same."""
    original = DcqlQuery.parse(raw)
    carried = with_purpose(original, purpose)
    assert carried.credential_sets is not None
    assert carried.ids == original.ids
    assert carried.required_ids() == original.required_ids()
    for size in range(len(original.ids) + 1):
        for returned in itertools.combinations(original.ids, size):
            assert _outcome(carried, returned) == _outcome(original, returned), returned
            held = [_held(i) for i in returned]
            before, after = evaluate(original, held), evaluate(carried, held)
            assert after.satisfiable == before.satisfiable
            if before.satisfiable:
                assert after.default_selection().query_ids == before.default_selection().query_ids


def test_without_credential_sets_one_required_set_of_all_queries_carries_the_purpose() -> None:
    """The added Credential Set Query: required (§6.2 ``required`` "If omitted, the default value is true"), one
    option naming every Credential Query; unknown properties of the query are kept (§6: ignored, not dropped)."""
    raw = {"credentials": [_credential("a"), _credential("b")], "x-extension": {"k": 1}}
    carried = with_purpose(DcqlQuery.parse(raw), "Zweck")
    assert carried.raw["credential_sets"] == [{"options": [["a", "b"]], "purpose": "Zweck"}]
    assert carried.raw["x-extension"] == {"k": 1}
    (added,) = carried.credential_sets or ()
    assert added.required and added.options == (("a", "b"),) and added.purpose == "Zweck"
    assert "credential_sets" not in raw  # the preset's own query is not changed
    assert with_purpose(DcqlQuery.parse(raw), None).raw == raw
    assert with_purpose(DcqlQuery.parse(raw), "").raw == raw


def test_existing_credential_sets_keep_their_own_purpose() -> None:
    raw = {
        "credentials": [_credential("a"), _credential("b")],
        "credential_sets": [
            {"options": [["a"]], "purpose": {"de": "eigener Zweck"}},
            {"options": [["b"]], "required": False},
        ],
    }
    carried = with_purpose(DcqlQuery.parse(raw), "Zweck der Anfrage")
    assert [cs.purpose for cs in carried.credential_sets or ()] == [{"de": "eigener Zweck"}, "Zweck der Anfrage"]
    assert [cs.required for cs in carried.credential_sets or ()] == [True, False]


@pytest.mark.parametrize("name", sorted(BUILTIN_PRESETS))
def test_preset_request_object_carries_the_purpose_and_is_verified(fresh: Env, name: str) -> None:
    """Over HTTP: the signed Request Object of a preset names its purpose in the DCQL query, the wallet answers the
    query as before (one presentation for ``pid``) and the result is verified, with the purpose."""
    preset = BUILTIN_PRESETS[name]
    created = fresh.create(preset=name)
    wallet = fresh.wallet(fresh.credential())
    request = wallet.fetch_request(created["authorization_request"])
    sets = request.dcql_query.raw["credential_sets"]
    assert sets == [{"options": [list(preset.query.ids)], "purpose": preset.purpose}]
    assert request.dcql_query.credentials == preset.query.credentials
    answer = wallet.post(request, response_form(request, wallet.presentations(request)))
    assert answer.response.status_code == 200, answer.response.text
    result = fresh.result(created["session"]).json()
    assert result["status"] == "verified", result
    assert result["purpose"] == preset.purpose
    assert set(result["credentials"]) == set(preset.query.ids)


def test_query_without_purpose_is_sent_as_given(fresh: Env) -> None:
    """A relying party's own DCQL query (no purpose): no Credential Set Query is invented."""
    query = {"credentials": [{**_credential("pid"), "meta": {"vct_values": ["urn:eudi:pid:de:1"]}}]}
    answer = fresh.http.post(f"{fresh.url}/api/presentations", json={"dcql_query": query})
    assert answer.status_code == 201, answer.text
    request = fresh.wallet().fetch_request(answer.json()["authorization_request"])
    assert "credential_sets" not in request.dcql_query.raw
