"""Query validation (OpenID4VP 1.0 §6.1-§6.3, §7, B.1-B.3): each malformed query is refused with its own reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from dcql_support import example

from ssi.dcql import TRUSTED_AUTHORITY_CHAIN, DcqlQuery, parse_claims_path
from ssi.errors import DcqlError

SIMPLE = example("simple")
SETS = example("credentials_alternatives")
CLAIM_SETS = example("claims_alternatives")


def with_credential(**changes: Any) -> dict[str, Any]:
    credential = {**copy.deepcopy(SIMPLE["credentials"][0]), **changes}
    return {"credentials": [{k: v for k, v in credential.items() if v is not DROP}]}


DROP = object()


def reason(obj: Any, **kwargs: Any) -> str:
    with pytest.raises(DcqlError) as err:
        DcqlQuery.parse(obj, **kwargs)
    assert err.value.code == "invalid_request"
    return err.value.reason


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        # §6: top level
        ([], "dcql_malformed"),
        ("{}", "dcql_malformed"),
        ({}, "dcql_malformed"),
        ({"credentials": []}, "dcql_malformed"),
        ({"credentials": {}}, "dcql_malformed"),
        ({"credentials": [1]}, "dcql_malformed"),
        # §6.1 id / format / meta REQUIRED
        (with_credential(id=DROP), "dcql_malformed"),
        (with_credential(format=DROP), "dcql_malformed"),
        (with_credential(meta=DROP), "dcql_malformed"),
        (with_credential(meta=[]), "dcql_malformed"),
        (with_credential(id=""), "dcql_bad_id"),
        (with_credential(id="my credential"), "dcql_bad_id"),
        (with_credential(id="cred.1"), "dcql_bad_id"),
        (with_credential(id=7), "dcql_bad_id"),
        (with_credential(id="x" * 129), "dcql_bad_id"),
        (with_credential(format=""), "dcql_malformed"),
        (with_credential(format=["dc+sd-jwt"]), "dcql_malformed"),
        (with_credential(multiple="true"), "dcql_malformed"),
        (with_credential(require_cryptographic_holder_binding=1), "dcql_malformed"),
        # B.3.5 vct_values REQUIRED, a non-empty array of strings
        (with_credential(meta={}), "dcql_bad_meta"),
        (with_credential(meta={"vct_values": []}), "dcql_malformed"),
        (with_credential(meta={"vct_values": "urn:x"}), "dcql_malformed"),
        (with_credential(meta={"vct_values": [""]}), "dcql_malformed"),
        (with_credential(meta={"vct_values": [1]}), "dcql_malformed"),
        # B.2.3 doctype_value REQUIRED for mso_mdoc; B.1.1 type_values for W3C formats
        (with_credential(format="mso_mdoc", meta={}, claims=DROP), "dcql_bad_meta"),
        (with_credential(format="mso_mdoc", meta={"doctype_value": ["a"]}, claims=DROP), "dcql_malformed"),
        (with_credential(format="jwt_vc_json", meta={}, claims=DROP), "dcql_bad_meta"),
        (with_credential(format="ldp_vc", meta={"type_values": [[]]}, claims=DROP), "dcql_malformed"),
        (with_credential(format="ldp_vc", meta={"type_values": ["IDCredential"]}, claims=DROP), "dcql_malformed"),
        # §6.1 claims: a non-empty array of Claims Queries
        (with_credential(claims=[]), "dcql_malformed"),
        (with_credential(claims=[{}]), "dcql_bad_path"),
        (with_credential(claims=[{"path": []}]), "dcql_bad_path"),
        (with_credential(claims=[{"path": "last_name"}]), "dcql_bad_path"),
        (with_credential(claims=[{"path": ["a", -1]}]), "dcql_bad_path"),
        (with_credential(claims=[{"path": ["a", True]}]), "dcql_bad_path"),
        (with_credential(claims=[{"path": ["a", 1.5]}]), "dcql_bad_path"),
        (with_credential(claims=[{"path": ["a", {"b": 1}]}]), "dcql_bad_path"),
        (with_credential(claims=[{"path": ["a"] * 17}]), "dcql_bad_path"),
        # §6.1: "Verifiers MUST NOT point to the same claim more than once in a single query."
        (with_credential(claims=[{"path": ["a"]}, {"path": ["a"]}]), "dcql_duplicate_claim"),
        # §6.3 values: non-empty, strings / integers / booleans
        (with_credential(claims=[{"path": ["a"], "values": []}]), "dcql_malformed"),
        (with_credential(claims=[{"path": ["a"], "values": [None]}]), "dcql_bad_values"),
        (with_credential(claims=[{"path": ["a"], "values": [1.5]}]), "dcql_bad_values"),
        (with_credential(claims=[{"path": ["a"], "values": [{"x": 1}]}]), "dcql_bad_values"),
        (with_credential(claims=[{"path": ["a"], "values": [[1]]}]), "dcql_bad_values"),
        (with_credential(claims=[{"path": ["a"], "values": "a"}]), "dcql_malformed"),
        # §6.3 id: the pattern, unique within claims
        (with_credential(claims=[{"id": "a b", "path": ["a"]}]), "dcql_bad_id"),
        (with_credential(claims=[{"id": "x", "path": ["a"]}, {"id": "x", "path": ["b"]}]), "dcql_duplicate_claim_id"),
        # §6.4.1 "claim_sets MUST NOT be present if claims is absent"
        (with_credential(claims=DROP, claim_sets=[["a"]]), "dcql_claim_sets_without_claims"),
        # §6.3 id "REQUIRED if claim_sets is present"
        (with_credential(claims=[{"path": ["a"]}], claim_sets=[["a"]]), "dcql_missing_claim_id"),
        (with_credential(claims=[{"id": "a", "path": ["a"]}], claim_sets=[["b"]]), "dcql_unknown_claim_id"),
        (with_credential(claims=[{"id": "a", "path": ["a"]}], claim_sets=[]), "dcql_malformed"),
        (with_credential(claims=[{"id": "a", "path": ["a"]}], claim_sets=[[]]), "dcql_malformed"),
        (with_credential(claims=[{"id": "a", "path": ["a"]}], claim_sets=[["a", "a"]]), "dcql_duplicate_claim_id"),
        (with_credential(claims=[{"id": "a", "path": ["a"]}], claim_sets=["a"]), "dcql_malformed"),
        # §7.2: mdoc claims are [namespace, data element]
        (
            with_credential(format="mso_mdoc", meta={"doctype_value": "d"}, claims=[{"path": ["ns"]}]),
            "dcql_bad_path",
        ),
        (
            with_credential(format="mso_mdoc", meta={"doctype_value": "d"}, claims=[{"path": ["ns", None]}]),
            "dcql_bad_path",
        ),
        (
            with_credential(format="mso_mdoc", meta={"doctype_value": "d"}, claims=[{"path": ["ns", "a", "b"]}]),
            "dcql_bad_path",
        ),
        # §6.1.1 trusted_authorities
        (with_credential(trusted_authorities=[]), "dcql_malformed"),
        (with_credential(trusted_authorities=[{"type": "aki"}]), "dcql_bad_trusted_authorities"),
        (with_credential(trusted_authorities=[{"values": ["x"]}]), "dcql_bad_trusted_authorities"),
        (with_credential(trusted_authorities=[{"type": "aki", "values": []}]), "dcql_malformed"),
        (
            with_credential(trusted_authorities=[{"type": "aki", "values": ["not base64url!"]}]),
            "dcql_bad_trusted_authorities",
        ),
        (
            with_credential(trusted_authorities=[{"type": TRUSTED_AUTHORITY_CHAIN, "values": ["0xabc"]}]),
            "dcql_bad_trusted_authorities",
        ),
        # §6.1 id: "the same id MUST NOT be present more than once"
        ({"credentials": [SIMPLE["credentials"][0], SIMPLE["credentials"][0]]}, "dcql_duplicate_credential_id"),
        # §6.2 credential_sets
        ({**SETS, "credential_sets": []}, "dcql_malformed"),
        ({**SETS, "credential_sets": [{}]}, "dcql_malformed"),
        ({**SETS, "credential_sets": [{"options": []}]}, "dcql_malformed"),
        ({**SETS, "credential_sets": [{"options": [[]]}]}, "dcql_malformed"),
        ({**SETS, "credential_sets": [{"options": [["pid", "pid"]]}]}, "dcql_malformed"),
        ({**SETS, "credential_sets": [{"options": [["nobody"]]}]}, "dcql_unknown_credential_id"),
        ({**SETS, "credential_sets": [{"options": [["pid"]], "required": "no"}]}, "dcql_malformed"),
        # limits
        ({"credentials": [{**SIMPLE["credentials"][0], "id": f"c{i}"} for i in range(33)]}, "dcql_too_large"),
        (with_credential(claims=[{"path": [f"c{i}"]} for i in range(129)]), "dcql_too_large"),
    ],
)
def test_malformed_queries_are_refused_with_their_reason(obj: Any, expected: str) -> None:
    assert reason(obj) == expected


def test_wallet_ignores_duplicate_claim_queries() -> None:
    """§6.1: "Wallets SHOULD ignore such duplicate claim queries"."""
    q = DcqlQuery.parse(with_credential(claims=[{"path": ["a"]}, {"path": ["a"]}]), ignore_duplicate_claims=True)
    assert [c.path for c in q.credentials[0].claims or ()] == [("a",)]


def test_unknown_properties_are_ignored_section_6() -> None:
    """§6: "Implementations MUST ignore any unknown properties" — kept in ``raw``, left out of the model."""
    obj = {**CLAIM_SETS, "future": 1}
    obj["credentials"] = [{**CLAIM_SETS["credentials"][0], "extension": {"x": 1}}]
    q = DcqlQuery.parse(obj)
    assert q.raw["future"] == 1
    assert q.to_json() == CLAIM_SETS


def test_defaults_section_6_1_and_6_2() -> None:
    q = DcqlQuery.parse(SETS)
    assert q.credentials[0].multiple is False
    assert q.credentials[0].require_cryptographic_holder_binding is True
    assert [cs.required for cs in q.credential_sets or ()] == [True, False]
    assert q.required_ids() == frozenset()
    assert DcqlQuery.parse(SIMPLE).required_ids() == {"my_credential"}


def test_claims_path_parser_section_7() -> None:
    assert parse_claims_path(["a", None, 0, "b"]) == ("a", None, 0, "b")
    with pytest.raises(DcqlError):
        parse_claims_path([])


def test_unknown_formats_parse_but_match_nothing() -> None:
    """Format identifiers other than those of Appendix B are valid syntax (a wallet simply holds none)."""
    q = DcqlQuery.parse(with_credential(format="vendor_format", meta={}))
    assert q.credentials[0].format == "vendor_format"
