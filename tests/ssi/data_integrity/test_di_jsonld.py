"""JSON-LD processing for Data Integrity: bundled contexts only (never the network), nothing dropped silently,
RDFC-1.0 canonicalization with the canonical identifier map and a bound on poison datasets."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from di_support import AGE_CREDENTIAL, AGE_MANDATORY, issue
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.data_integrity import BUNDLED_CONTEXTS, CREDENTIALS_V2, GOVSSI_V1, ContextLoader, bundled_context
from ssi.data_integrity._jsonld import canonical_json_sha256, canonicalize, document_quads, expand, nquad, relabel
from ssi.errors import DataIntegrityError, JsonLdProcessingError

#: SHA-256 of the W3C base context's canonical JSON (sorted keys, no whitespace). The bytes the Recommendation
#: publishes (VCDM 2.0 Appendix B.1, SHA-256 59955ced…2734) and pyld's frozen copy differ only in formatting.
V2_CONTENT_SHA256 = "b463c8d6a066214123ddd9827b135e1b50e1fc73322cc52a9b12a4f1fc7d86cf"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test here runs with outgoing connections failing the test: contexts must come from the package."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        pytest.fail(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def test_base_context_is_the_published_one() -> None:
    """VCDM 2.0 Appendix B.1: "Implementations MUST treat the base context value [...] as already retrieved" — the
    context served for it (pyld's frozen copy) has the pinned content, and pyld's file is what is read."""
    data = resources.files("pyld.documentloader.frozen").joinpath("bundled", "credentials-v2.jsonld").read_bytes()
    assert canonical_json_sha256(json.loads(data)) == V2_CONTENT_SHA256
    assert bundled_context(CREDENTIALS_V2) == json.loads(data)
    assert "DataIntegrityProof" in bundled_context(CREDENTIALS_V2)["@context"]


def test_canonical_json_digest_ignores_formatting_only() -> None:
    assert canonical_json_sha256({"b": 1, "a": [1, "ä"]}) == canonical_json_sha256(json.loads('{ "a":[1,"ä"],  "b":1}'))
    assert canonical_json_sha256({"a": 1}) != canonical_json_sha256({"a": 2})


def test_govssi_context_defines_every_claim_it_is_used_for() -> None:
    terms = bundled_context(GOVSSI_V1)["@context"]
    assert terms["@protected"] is True
    for claim in ("age_over_18", "family_name", "license_plate", "parking_zone", "valid_until", "address"):
        assert claim in terms


def test_loader_serves_only_bundled_or_explicit_contexts() -> None:
    assert BUNDLED_CONTEXTS(CREDENTIALS_V2)["document"]["@context"]["@protected"] is True
    with pytest.raises(JsonLdProcessingError) as raised:
        BUNDLED_CONTEXTS("https://w3id.org/citizenship/v4rc1")
    assert raised.value.reason == "jsonld_unknown_context"
    extra = ContextLoader({"https://example.org/ctx": {"@context": {"x": "https://example.org/x"}}})
    assert extra.known("https://example.org/ctx") and not BUNDLED_CONTEXTS.known("https://example.org/ctx")


def test_a_document_with_an_unbundled_context_is_refused_without_fetching() -> None:
    document = {**AGE_CREDENTIAL, "@context": [CREDENTIALS_V2, "https://w3id.org/citizenship/v4rc1"]}
    with pytest.raises(JsonLdProcessingError) as raised:
        issue(document, AGE_MANDATORY)
    assert raised.value.reason == "jsonld_unknown_context"
    assert "citizenship" in raised.value.description


def test_an_undefined_term_is_an_error_not_a_dropped_statement() -> None:
    """JSON-LD would drop ``nickname`` (no definition): it would be neither signed nor visibly unsigned."""
    document = {**AGE_CREDENTIAL, "credentialSubject": {**AGE_CREDENTIAL["credentialSubject"], "nickname": "E"}}
    with pytest.raises(JsonLdProcessingError) as raised:
        issue(document, AGE_MANDATORY)
    assert raised.value.reason == "jsonld_dropped_term"


@pytest.mark.parametrize(
    "change",
    [
        {"id": "credentials/17"},  # a relative @id
        {"issuer": "authority"},  # issuer is "@type": "@id": a relative IRI
        {"type": ["VerifiableCredential", "NoSuchType"]},  # a type term that expands to a relative IRI
    ],
)
def test_relative_iris_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(JsonLdProcessingError) as raised:
        expand({**AGE_CREDENTIAL, **change})
    assert raised.value.reason == "jsonld_relative_iri"


def test_malformed_json_ld_is_a_processing_error() -> None:
    with pytest.raises(JsonLdProcessingError) as raised:
        expand({"@context": [CREDENTIALS_V2, {"id": "https://example.org/id"}], "id": "https://example.org/x"})
    assert raised.value.reason == "jsonld_invalid"  # redefining a protected term


def _bnode(label: str) -> dict[str, str]:
    return {"type": "blank node", "value": f"_:{label}"}


def _quad(s: str, o: str) -> dict[str, Any]:
    return {"subject": _bnode(s), "predicate": {"type": "IRI", "value": "https://example.org/p"}, "object": _bnode(o)}


def test_poison_dataset_is_refused_quickly() -> None:
    """RDFC-1.0 §4.4: a clique of 12 indistinguishable blank nodes would take 11! permutations per node."""
    clique = [_quad(f"n{i}", f"n{j}") for i in range(12) for j in range(12) if i != j]
    with pytest.raises(DataIntegrityError) as raised:
        canonicalize(clique)
    assert raised.value.reason == "rdfc_poison"


def test_symmetric_but_small_datasets_still_canonicalize() -> None:
    """Two identical objects need the N-degree hash (their first-degree hashes collide) and stay within bounds."""
    ring = [_quad("a", "b"), _quad("b", "a"), _quad("c", "d"), _quad("d", "c")]
    canonical, id_map = canonicalize(ring)
    assert sorted(id_map.values()) == ["c14n0", "c14n1", "c14n2", "c14n3"]
    assert len({nquad(q) for q in canonical}) == 4


def test_canonical_id_map_relates_input_and_canonical_labels() -> None:
    quads = document_quads(AGE_CREDENTIAL)
    canonical, id_map = canonicalize(quads)
    # relabeling the input with the map gives exactly the canonical N-Quads
    assert relabel(quads, id_map) == sorted(nquad(q) for q in canonical)


def test_literals_that_look_like_blank_nodes_stay_literals() -> None:
    """Skolemization works on RDF terms, not on N-Quads text: a literal with ``_:b0`` or a ``<urn:...>`` inside
    keeps its value through base proof, derivation and verification."""
    from di_support import LOOKUP, PARKING_MANDATORY, PARKING_PERMIT

    from ssi.data_integrity import derive_proof, verify_derived_proof

    tricky = "_:b0 <urn:custom-scheme:b1> _:c14n0"
    document = {**PARKING_PERMIT, "credentialSubject": {**PARKING_PERMIT["credentialSubject"], "given_name": tricky}}
    signed = issue(document, PARKING_MANDATORY)
    derived = derive_proof(signed, selective_pointers=["/credentialSubject/given_name"])
    verified = verify_derived_proof(derived, LOOKUP, expected_presentation_header=b"")
    assert verified.document["credentialSubject"]["given_name"] == tricky


@settings(max_examples=25, deadline=None)
@given(st.permutations(list(range(6))), st.permutations(list(range(3))))
def test_canonical_form_does_not_depend_on_input_labels_or_order(labels: list[int], order: list[int]) -> None:
    """RDFC-1.0 property: renaming blank nodes and reordering quads leaves the canonical N-Quads unchanged."""
    base = [_quad("x0", "x1"), _quad("x1", "x2"), _quad("x2", "x0")]
    literal = {"type": "literal", "value": "v", "datatype": "http://www.w3.org/2001/XMLSchema#string"}
    base.append({**_quad("x0", "x0"), "object": literal})
    renamed = [
        {k: _bnode(f"r{labels[int(v['value'][3:])]}") if v["type"] == "blank node" else v for k, v in q.items()}
        for q in base
    ]
    reordered = [renamed[i] for i in order] + renamed[3:]
    expected = sorted(nquad(q) for q in canonicalize(base)[0])
    assert sorted(nquad(q) for q in canonicalize(reordered)[0]) == expected


def test_an_ordered_list_claim_round_trips() -> None:
    """A ``@list`` container (an inline context term): skolemization leaves the list object alone."""
    from di_support import LOOKUP

    from ssi.data_integrity import derive_proof, verify_derived_proof

    inline = {"stops": {"@id": "https://example.org/stops", "@container": "@list"}}
    document = {
        **AGE_CREDENTIAL,
        "@context": [*AGE_CREDENTIAL["@context"], inline],
        "credentialSubject": {"stops": [{"age_over_18": True}, {"age_over_21": False}]},
    }
    signed = issue(document, AGE_MANDATORY)
    derived = derive_proof(signed, selective_pointers=["/credentialSubject/stops"])
    verified = verify_derived_proof(derived, LOOKUP, expected_presentation_header=b"")
    assert verified.document["credentialSubject"]["stops"] == document["credentialSubject"]["stops"]


def test_a_bundled_context_cannot_be_replaced() -> None:
    """pyld keeps resolved bundled contexts process-wide; replacing one per loader would be silently ignored."""
    with pytest.raises(ValueError, match="bundled"):
        ContextLoader({CREDENTIALS_V2: {"@context": {}}})


def test_extra_contexts_of_two_loaders_do_not_mix() -> None:
    """Extra (caller-given) contexts are not put into pyld's process-wide cache: two loaders may map one URL to two
    documents and each gets its own."""
    url = "https://example.org/terms"
    first = ContextLoader({url: {"@context": {"t": "https://example.org/first#t"}}})
    second = ContextLoader({url: {"@context": {"t": "https://example.org/second#t"}}})
    document = {"@context": [url], "@id": "https://example.org/x", "t": "v"}
    assert "https://example.org/first#t" in expand(document, first)[0]
    assert "https://example.org/second#t" in expand(document, second)[0]
