"""The ``ldp_vc`` format with bbs-2023 in DCQL (OpenID4VP 1.0 §6, §7, B.1) and its selective disclosure: claims path
pointers become RFC 6901 selective pointers, types are compared expanded, credentials without holder binding answer
only queries that waive it, and a Verifier sees exactly the requested claims."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data_integrity"))
from di_support import AGE_CREDENTIAL, LOOKUP, PARKING_PERMIT, issue

from ssi.data_integrity import derive_proof, json_pointer_to_paths, verify_derived_proof
from ssi.dcql import DcqlQuery, check_response, evaluate
from ssi.errors import DataIntegrityError, DcqlError
from ssi.ldp_vc import (
    VC_TYPE_IRI,
    claim_path_pointer,
    credential_type_iri,
    describe_held,
    describe_presented,
    presentation_binding,
    selective_pointers,
    subject_claim_paths,
)

AGE_IRI = "https://ns.govssi.de/credentials#AgeCredential"
CLIENT_ID = "x509_hash:abc"
AGE = issue(AGE_CREDENTIAL, ["/issuer", "/validUntil"])
PARKING = issue(PARKING_PERMIT, ["/issuer", "/validUntil"])


def query(claims: list[dict[str, Any]], *, types: list[list[str]] | None = None, binding: bool = False) -> DcqlQuery:
    return DcqlQuery.parse(
        {
            "credentials": [
                {
                    "id": "age",
                    "format": "ldp_vc",
                    "meta": {"type_values": types or [[VC_TYPE_IRI, AGE_IRI]]},
                    "require_cryptographic_holder_binding": binding,
                    "claims": claims,
                }
            ]
        }
    )


def present(secured: dict[str, Any], paths: Any, nonce: str = "n-1") -> dict[str, Any]:
    return derive_proof(
        secured,
        selective_pointers=selective_pointers(paths),
        presentation_header=presentation_binding(nonce=nonce, client_id=CLIENT_ID),
    )


def test_claim_path_pointer_escapes_as_rfc_6901() -> None:
    """RFC 6901 §3: "'~' needs to be encoded as '~0' and '/' needs to be encoded as '~1'"; indexes are decimal."""
    assert claim_path_pointer(("credentialSubject", "a/b~c", 0)) == "/credentialSubject/a~1b~0c/0"
    with pytest.raises(DataIntegrityError):
        claim_path_pointer(("credentialSubject", None))  # §7: null selects all elements; resolve it first
    with pytest.raises(DataIntegrityError):
        selective_pointers([("proof", "proofValue")])


@given(st.lists(st.one_of(st.text(min_size=1, max_size=8), st.integers(0, 99)), min_size=1, max_size=5))
def test_claim_path_pointer_round_trips_through_the_pointer_parser(path: list[str | int]) -> None:
    """What vc-di-bbs's selection parses (RFC 6901) is the claims path the wallet meant."""
    parsed = json_pointer_to_paths(claim_path_pointer(tuple(path)))
    assert [str(p) for p in parsed] == [str(p) for p in path]


def test_type_values_are_matched_expanded() -> None:
    """B.1.1: type_values are "the fully expanded types (IRIs)"; the compact term alone does not match."""
    held = describe_held(AGE)
    assert held.types == (VC_TYPE_IRI, AGE_IRI) and credential_type_iri(held.types) == AGE_IRI
    claims = [{"path": ["credentialSubject", "age_over_18"]}]
    assert evaluate(query(claims), [held]).satisfiable
    assert not evaluate(query(claims, types=[["AgeCredential"]]), [held]).satisfiable
    other = [[VC_TYPE_IRI, "https://ns.govssi.de/credentials#Other"]]
    assert not evaluate(query(claims, types=other), [held]).satisfiable


def test_without_holder_binding_only_queries_that_waive_it_match() -> None:
    """§6.1 require_cryptographic_holder_binding: "The default value is true"; baseline bbs-2023 has no holder
    binding, so the credential is treated as absent for such queries (§6.4.2)."""
    held = describe_held(AGE)
    assert held.holder_binding is False
    claims = [{"path": ["credentialSubject", "age_over_18"]}]
    assert not evaluate(query(claims, binding=True), [held]).satisfiable
    assert evaluate(query(claims, binding=False), [held]).satisfiable


def test_claims_path_matches_the_root_of_the_credential_and_values_apply() -> None:
    """B.1.2: claims paths "always [match] on the root of Verifiable Credential"; §6.3 values."""
    held = describe_held(AGE)
    yes = [{"path": ["credentialSubject", "age_over_18"], "values": [True]}]
    no = [{"path": ["credentialSubject", "age_over_65"], "values": [True]}]
    assert evaluate(query(yes), [held]).satisfiable and not evaluate(query(no), [held]).satisfiable
    top = evaluate(query([{"path": ["validUntil"]}]), [held])
    assert top.matches["age"][0].preferred.paths == (("validUntil",),)


def test_a_presentation_reveals_what_the_query_asks_and_the_verifier_projects_it() -> None:
    """§6.4: disclose only what the query asks for; §8.6: the Verifier checks the presentation against the query."""
    q = query([{"path": ["credentialSubject", "age_over_18"]}])
    option = evaluate(q, [describe_held(AGE)]).matches["age"][0].preferred
    presented = present(AGE, option.paths)
    assert presented["credentialSubject"] == {"age_over_18": True}
    verified = verify_derived_proof(
        presented, LOOKUP, expected_presentation_header=presentation_binding(nonce="n-1", client_id=CLIENT_ID)
    )
    description = describe_presented(verified)
    assert description.disclosed == (("credentialSubject", "age_over_18"),)
    (checked,) = check_response(q, {"age": [description]}).presentations["age"]
    assert checked.claims == {"credentialSubject": {"age_over_18": True}}


def test_a_claim_the_query_did_not_ask_for_is_refused() -> None:
    """§6.4 "Wallets MUST NOT send selectively disclosable claims that have not been selected" — checked by the
    Verifier, which "MUST NOT rely on the Wallet" (§14.9)."""
    q = query([{"path": ["credentialSubject", "age_over_18"]}])
    presented = present(AGE, [("credentialSubject", "age_over_18"), ("credentialSubject", "age_over_65")])
    verified = verify_derived_proof(presented, LOOKUP, expected_presentation_header=None)
    with pytest.raises(DcqlError) as err:
        check_response(q, {"age": [describe_presented(verified)]})
    assert err.value.reason == "dcql_claim_not_requested"


def test_nested_claims_are_listed_leaf_by_leaf() -> None:
    paths = subject_claim_paths(present(PARKING, [("credentialSubject", "address", "locality")]))
    assert paths == (("credentialSubject", "address", "locality"),)
    assert len(subject_claim_paths(PARKING)) == 8
