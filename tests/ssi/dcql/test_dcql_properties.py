"""Property tests for the DCQL parser and the claims path pointer processing (OpenID4VP 1.0 §6, §7)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssi.dcql import (
    FORMAT_MDOC,
    FORMAT_SD_JWT_VC,
    DcqlQuery,
    evaluate,
    project_claims,
    select_claims,
    values_match,
)
from ssi.errors import DcqlError

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
names = st.sampled_from(["a", "b", "given_name", "address", "18", "ü"]) | st.text("xyz_", min_size=1, max_size=3)
json_scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "DE", "x"])
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(names, children, max_size=4),
    max_leaves=12,
)
claim_values = st.sampled_from(["", "DE", "x"]) | st.integers(-3, 3) | st.booleans()
path_components = st.none() | names | st.integers(0, 5)


def subsets(items: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), min_size=1, max_size=3, unique=True)


@st.composite
def claims_queries(draw: Any, fmt: str, with_ids: bool) -> list[dict[str, Any]]:
    if fmt == FORMAT_MDOC:
        paths = draw(st.lists(st.tuples(names, names), min_size=1, max_size=5, unique=True))
    else:
        pointers = st.lists(path_components, min_size=1, max_size=4).map(tuple)
        paths = draw(st.lists(pointers, min_size=1, max_size=5, unique=True))
    claim_ids = draw(st.lists(ids, min_size=len(paths), max_size=len(paths), unique=True))
    out = []
    for path, claim_id in zip(paths, claim_ids, strict=True):
        claim: dict[str, Any] = {"path": list(path)}
        if with_ids or draw(st.booleans()):
            claim["id"] = claim_id
        if draw(st.booleans()):
            claim["values"] = draw(st.lists(claim_values, min_size=1, max_size=3))
        out.append(claim)
    return out


@st.composite
def credential_queries(draw: Any, query_id: str) -> dict[str, Any]:
    fmt = draw(st.sampled_from([FORMAT_SD_JWT_VC, FORMAT_MDOC]))
    meta = (
        {"vct_values": draw(st.lists(names, min_size=1, max_size=3))}
        if fmt == FORMAT_SD_JWT_VC
        else {"doctype_value": draw(names)}
    )
    query: dict[str, Any] = {"id": query_id, "format": fmt, "meta": meta}
    if draw(st.booleans()):
        query["multiple"] = True
    if draw(st.booleans()):
        query["require_cryptographic_holder_binding"] = False
    if draw(st.booleans()):
        use_sets = draw(st.booleans())
        claims = draw(claims_queries(fmt, use_sets))
        query["claims"] = claims
        if use_sets:
            claim_ids = [c["id"] for c in claims]
            query["claim_sets"] = draw(st.lists(subsets(claim_ids), min_size=1, max_size=3))
    return query


@st.composite
def dcql_queries(draw: Any) -> dict[str, Any]:
    query_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    query: dict[str, Any] = {"credentials": [draw(credential_queries(i)) for i in query_ids]}
    if draw(st.booleans()):
        query["credential_sets"] = [
            {
                "options": draw(st.lists(subsets(query_ids), min_size=1, max_size=3)),
                **({"required": False} if draw(st.booleans()) else {}),
            }
            for _ in range(draw(st.integers(1, 3)))
        ]
    return query


@SETTINGS
@given(dcql_queries())
def test_valid_queries_parse_and_round_trip(raw: dict[str, Any]) -> None:
    parsed = DcqlQuery.parse(raw)
    assert parsed.to_json() == raw
    again = DcqlQuery.parse(json.loads(json.dumps(parsed.to_json())))
    assert again == parsed
    # every option of every query is well-formed; evaluating against nothing never raises
    for query in parsed.credentials:
        assert query.claim_options()
    # without credentials only a query of optional Credential Set Queries is satisfied (by an empty VP Token)
    all_optional = parsed.credential_sets is not None and not any(cs.required for cs in parsed.credential_sets)
    evaluation = evaluate(parsed, [])
    assert evaluation.satisfiable is all_optional
    if all_optional:
        assert evaluation.default_selection().query_ids == frozenset()


@SETTINGS
@given(json_values)
def test_arbitrary_json_parses_or_fails_with_a_dcql_error(value: Any) -> None:
    try:
        DcqlQuery.parse(value)
    except DcqlError as err:
        assert err.reason.startswith("dcql_")


def _mutations(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Breaks of REQUIRED members and types, each of which must be refused."""
    out = []
    for index, query in enumerate(raw["credentials"]):
        for name in ("id", "format", "meta"):
            broken = copy.deepcopy(raw)
            del broken["credentials"][index][name]
            out.append(broken)
        broken = copy.deepcopy(raw)
        broken["credentials"][index]["id"] = "bad id"
        out.append(broken)
        if "claims" in query:
            broken = copy.deepcopy(raw)
            broken["credentials"][index]["claims"][0]["path"] = []
            out.append(broken)
            broken = copy.deepcopy(raw)
            broken["credentials"][index]["claims"][0]["values"] = [1.5]
            out.append(broken)
    broken = copy.deepcopy(raw)
    broken["credentials"].append(copy.deepcopy(raw["credentials"][0]))
    out.append(broken)
    return out


@SETTINGS
@given(dcql_queries())
def test_broken_queries_are_refused(raw: dict[str, Any]) -> None:
    for broken in _mutations(raw):
        try:
            DcqlQuery.parse(broken)
        except DcqlError:
            continue
        raise AssertionError(f"accepted {broken}")


def _lookup(root: Any, path: tuple) -> Any:
    for component in path:
        root = root[component]
    return root


@SETTINGS
@given(st.dictionaries(names, json_values, max_size=5), st.lists(path_components, min_size=1, max_size=4).map(tuple))
def test_selected_claims_are_where_their_paths_say(credential: dict[str, Any], path: tuple) -> None:
    """§7.1: every selected element is found at its concrete path; concrete paths follow the pointer."""
    selected = select_claims(credential, path)
    for item in selected:
        assert len(item.path) == len(path)
        assert None not in item.path
        assert _lookup(credential, item.path) == item.value
        for want, have in zip(path, item.path, strict=True):
            assert want is None or want == have


@SETTINGS
@given(st.dictionaries(names, json_values, max_size=5), st.lists(st.none() | names, min_size=1, max_size=4).map(tuple))
def test_projection_keeps_what_the_pointer_selects(credential: dict[str, Any], path: tuple) -> None:
    """Projecting onto a pointer without indexes and selecting again yields the same values."""
    before = [s.value for s in select_claims(credential, path)]
    after = [s.value for s in select_claims(project_claims(credential, [path]), path)]
    assert after == before


@SETTINGS
@given(json_values, st.lists(claim_values, min_size=1, max_size=4))
def test_values_match_is_exact_in_type_and_value(value: Any, values: list[Any]) -> None:
    expected = any(type(v) is type(value) and v == value for v in values)
    assert values_match(value, values) is expected
