"""DCQL failure modes users reported in other wallets and verifiers, each pinned down here (OpenID4VP 1.0 §6.4, §8.1,
§8.6), plus the SD-JWT VC round trip: a real credential evaluated, presented with exactly the selected Disclosures,
verified and checked (the "SD-JWT presentation not matched to DCQL" class of bugs)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from dcql_support import IDENTITY, IDENTITY_CLAIMS, example, mdoc, query, sd_jwt_vc

from ssi.clock import FrozenClock
from ssi.dcql import (
    FORMAT_SD_JWT_VC,
    TRUSTED_AUTHORITY_CHAIN,
    CredentialDescription,
    DcqlQuery,
    check_response,
    describe_sd_jwt,
    describe_verified_sd_jwt,
    evaluate,
    project_claims,
    select_claims,
)
from ssi.errors import DcqlError
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import issue_sd_jwt_vc, verify_sd_jwt_vc
from ssi.x509 import issue_certificate, make_self_signed_ca, x5c_chain

NOW = 1_750_000_000
PID = "urn:eudi:pid:de:1"


def presented(credential: CredentialDescription, *paths: tuple) -> CredentialDescription:
    return replace(credential, claims=project_claims(credential.claims, paths), disclosed=tuple(paths))


def refused(q: DcqlQuery, response: dict[str, list[CredentialDescription]], **kwargs: Any) -> str:
    with pytest.raises(DcqlError) as err:
        check_response(q, response, **kwargs)
    return err.value.reason


def one_claim_query(path: list, **extra: Any) -> DcqlQuery:
    claim = {"path": path, **extra}
    return DcqlQuery.parse(
        {"credentials": [{"id": "pid", "format": FORMAT_SD_JWT_VC, "meta": {"vct_values": [PID]}, "claims": [claim]}]}
    )


# --- verifiers that accepted too little ------------------------------------------------------------------------------


def test_verifier_refuses_a_presentation_missing_a_requested_claim() -> None:
    """eudiplo#552: the verifier never checked that the requested claims were disclosed."""
    q = query("simple")
    held = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    assert refused(q, {"my_credential": [presented(held, ("last_name",), ("first_name",))]}) == "dcql_claim_missing"


def test_verifier_refuses_a_response_missing_a_required_credential() -> None:
    """eudiplo#552 / dcql-ts#49: a missing required Credential Query counted as satisfied."""
    q = query("multi_credentials")
    paths = (("given_name",), ("family_name",), ("address", "street_address"))
    pid = presented(sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS), *paths)
    assert refused(q, {"pid": [pid]}) == "dcql_credential_missing"


def test_verifier_refuses_several_presentations_when_multiple_is_omitted() -> None:
    """swiyu-verifier#246: with ``multiple`` omitted, extra presentations were accepted and their unchecked claims
    persisted. §8.1: "When multiple is omitted, or set to false, the array MUST contain only one Presentation."."""
    q = query("request_object_by_value")
    held = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    good = presented(held, ("last_name",), ("first_name",))
    unchecked = presented(sd_jwt_vc(IDENTITY, {"iss": "x"}))
    assert refused(q, {"some_identity_credential": [good, unchecked]}) == "dcql_multiple_not_allowed"
    raw = example("request_object_by_value")["credentials"][0]
    multiple = DcqlQuery.parse({"credentials": [{**raw, "multiple": True}]})
    # with multiple every presentation is checked, not only the first
    assert refused(multiple, {"some_identity_credential": [good, unchecked]}) == "dcql_claim_missing"
    checked = check_response(multiple, {"some_identity_credential": [good, good]})
    assert len(checked.presentations["some_identity_credential"]) == 2


def test_verifier_refuses_a_presentation_of_another_format() -> None:
    """swiyu-verifier#461: no comparison of the presented credential's format with the query's."""
    q = query("simple_mdoc")
    held = sd_jwt_vc("org.iso.7367.1.mVRC", {"org.iso.7367.1": {"vehicle_holder": "x"}})
    response = {"my_credential": [presented(held, ("org.iso.7367.1", "vehicle_holder"))]}
    assert refused(q, response) == "dcql_format_mismatch"


def test_verifier_names_a_type_mismatch() -> None:
    """waltid#1864: a vct other than requested ended as an unspecific "missing presentations" failure."""
    q = query("simple")
    other = sd_jwt_vc("https://old-issuer.example/identity", IDENTITY_CLAIMS)
    paths = (("last_name",), ("first_name",), ("address", "street_address"))
    assert refused(q, {"my_credential": [presented(other, *paths)]}) == "dcql_type_mismatch"
    assert not evaluate(q, [other]).satisfiable


def test_verifier_refuses_unknown_ids_and_empty_arrays() -> None:
    q = query("simple")
    assert refused(q, {"someone_else": [sd_jwt_vc(IDENTITY, {})]}) == "dcql_unknown_id"
    assert refused(q, {"my_credential": []}) == "dcql_empty_presentations"


def test_holder_binding_section_6_1_and_b_3() -> None:
    """require_cryptographic_holder_binding defaults to true: a presentation without a verified KB-JWT (and a held
    credential without cnf) does not answer; with false it does."""
    q = query("request_object_by_value")
    unbound = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS, holder_binding=False)
    assert not evaluate(q, [unbound]).satisfiable
    assert refused(q, {"some_identity_credential": [presented(unbound, ("last_name",), ("first_name",))]}) == (
        "dcql_holder_binding_missing"
    )
    relaxed = DcqlQuery.parse(
        {
            "credentials": [
                {**example("request_object_by_value")["credentials"][0], "require_cryptographic_holder_binding": False}
            ]
        }
    )
    assert evaluate(relaxed, [unbound]).satisfiable
    check_response(relaxed, {"some_identity_credential": [presented(unbound, ("last_name",), ("first_name",))]})


# --- verifiers that accepted too much ------------------------------------------------------------------------------


def test_no_claims_requested_means_no_disclosures_section_6_4_1() -> None:
    """§6.4.1: "If claims is absent ... the Wallet MUST return only the claims that are mandatory to present"."""
    q = DcqlQuery.parse({"credentials": [{"id": "c", "format": FORMAT_SD_JWT_VC, "meta": {"vct_values": [IDENTITY]}}]})
    held = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    (match,) = evaluate(q, [held]).matches["c"]
    assert match.preferred.paths == ()
    check_response(q, {"c": [presented(held)]})
    assert refused(q, {"c": [presented(held, ("given_name",))]}) == "dcql_claim_not_requested"


def test_sibling_claims_are_smuggled_ancestors_and_descendants_are_not() -> None:
    q = query("simple")
    held = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    base = (("last_name",), ("first_name",), ("address", "street_address"))
    # the Disclosure of the address object itself is needed to reach street_address (an ancestor)
    check_response(q, {"my_credential": [presented(held, *base, ("address",))]})
    assert refused(q, {"my_credential": [presented(held, *base, ("address", "locality"))]}) == (
        "dcql_claim_not_requested"
    )
    assert refused(q, {"my_credential": [presented(held, *base, ("date_of_birth",))]}) == "dcql_claim_not_requested"
    # requesting an object covers what is below it
    whole_address = one_claim_query(["address"])
    check_response(whole_address, {"pid": [replace(presented(held, ("address",), ("address", "locality")), vct=PID)]})


def test_result_holds_only_the_requested_claims() -> None:
    """Non-disclosable claims arrive with every presentation; the verified result keeps only what was asked."""
    q = query("request_object_by_value")
    held = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    arrived = replace(presented(held, ("last_name",), ("first_name",)), claims=IDENTITY_CLAIMS)
    (checked,) = check_response(q, {"some_identity_credential": [arrived]}).presentations["some_identity_credential"]
    assert checked.claims == {"last_name": "Doe", "first_name": "John"}


# --- credential sets ------------------------------------------------------------------------------------------------


def test_optional_credential_sets_section_6_4_2() -> None:
    """Optional Credential Set Queries: the response may leave them out; the wallet may include them or not; an
    optional set the wallet cannot satisfy never blocks the required ones."""
    q = query("complex_mdoc")
    ns = "org.iso.18013.5.1"
    mdl = mdoc("org.iso.18013.5.1.mDL", {ns: {"given_name": "E", "family_name": "M", "portrait": "p"}})
    evaluation = evaluate(q, [mdl])
    assert evaluation.satisfiable
    assert evaluation.satisfiable_options[1] == ()
    assert evaluation.default_selection().query_ids == {"mdl-id"}
    paths = [(ns, "given_name"), (ns, "family_name"), (ns, "portrait")]
    check_response(q, {"mdl-id": [presented(mdl, *paths)]})


def test_queries_outside_every_credential_set_are_not_requested() -> None:
    """OpenID4VP#433: with credential_sets, a Credential Query named in no option is not requested — the wallet does
    not send it and the verifier does not accept it."""
    raw = example("credentials_alternatives")
    raw["credential_sets"] = [{"options": [["pid"], ["other_pid"]]}]
    q = DcqlQuery.parse(raw)
    pid = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    rewards = sd_jwt_vc("https://company.example/company_rewards", {"rewards_number": 1})
    evaluation = evaluate(q, [pid, rewards])
    assert evaluation.default_selection().query_ids == {"pid"}
    pid_paths = (("given_name",), ("family_name",), ("address", "street_address"))
    response = {"pid": [presented(pid, *pid_paths)], "nice_to_have": [presented(rewards, ("rewards_number",))]}
    assert refused(q, response) == "dcql_unrequested_credential"


def test_wallet_selection_is_checked_like_a_verifier_would() -> None:
    q = query("credentials_alternatives")
    rewards = sd_jwt_vc("https://company.example/company_rewards", {"rewards_number": 1})
    pid = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    evaluation = evaluate(q, [pid, rewards])
    with pytest.raises(DcqlError) as err:
        evaluation.select({"nice_to_have": [0]})
    assert err.value.reason == "dcql_credential_missing"
    with pytest.raises(DcqlError) as err:
        evaluation.select({"pid": [0, 0]})
    assert err.value.reason == "dcql_bad_selection"
    assert evaluation.select({"pid": [0], "nice_to_have": [0]}).query_ids == {"pid", "nice_to_have"}


# --- wallets that matched wrongly -----------------------------------------------------------------------------------


def test_a_credential_lacking_a_claim_is_skipped_not_fatal() -> None:
    """eudi-lib-ios-wallet-kit#393: one of two same-type credentials lacked the claim and the whole request failed."""
    q = query("simple")
    lacking = sd_jwt_vc(IDENTITY, {"last_name": "Doe"}, handle="A")
    complete = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS, handle="B")
    assert [m.credential.handle for m in evaluate(q, [lacking, complete]).matches["my_credential"]] == ["B"]


def test_out_of_bounds_index_skips_the_credential() -> None:
    """eudi-lib-android-wallet-core#370: an array index beyond a credential's array failed the whole request.
    §7.1 step 2.3: "If the index does not exist in a selected array, remove that array from the selection"."""
    q = one_claim_query(["nationalities", 5])
    short = sd_jwt_vc(PID, {"nationalities": ["DE", "FR"]}, handle="short")
    long = sd_jwt_vc(PID, {"nationalities": ["DE", "FR", "A", "B", "C", "NL"]}, handle="long")
    wrong_kind = sd_jwt_vc(PID, {"nationalities": "DE"}, handle="string")
    assert [m.credential.handle for m in evaluate(q, [short, wrong_kind, long]).matches["pid"]] == ["long"]


def test_array_wildcard_matches_every_element_section_7_1() -> None:
    """eudi-app-android-wallet-ui#626: ["nationalities", null] did not match a one-element array."""
    q = one_claim_query(["nationalities", None])
    (match,) = evaluate(q, [sd_jwt_vc(PID, {"nationalities": ["DE"]})]).matches["pid"]
    assert match.preferred.paths == (("nationalities", 0),)


def test_values_restrict_the_disclosure() -> None:
    """eudi-lib-android-wallet-core#293: ``values`` were ignored and the claim sent anyway. §6.4.1: a non-matching
    claim is treated as if it did not exist."""
    q = one_claim_query(["place_of_birth", "country"], values=["NonExistentPlace"])
    held = sd_jwt_vc(PID, {"place_of_birth": {"country": "DE", "locality": "BERLIN"}})
    assert not evaluate(q, [held]).satisfiable


def test_values_with_a_wildcard_disclose_only_matching_elements() -> None:
    """OpenID4VP#643/#312: with a multi-selecting pointer and ``values``, returning the whole selection would hand
    the Verifier values its own filter excluded — the wallet discloses only the matching elements."""
    q = one_claim_query(["nationalities", None], values=["NL"])
    held = sd_jwt_vc(PID, {"nationalities": ["DE", "NL", "FR"]})
    (match,) = evaluate(q, [held]).matches["pid"]
    assert match.preferred.paths == (("nationalities", 1),)


def test_value_matching_on_non_disclosable_claims() -> None:
    """valera#318: a value match on ``iss`` (never selectively disclosable) must work like any claim."""
    q = one_claim_query(["iss"], values=["https://issuer.example.com"])
    held = sd_jwt_vc(PID, IDENTITY_CLAIMS)
    assert evaluate(q, [held]).satisfiable
    assert not evaluate(q, [replace(held, claims={**IDENTITY_CLAIMS, "iss": "https://evil.example"})]).satisfiable


def test_booleans_are_not_integers_section_6_3() -> None:
    q = one_claim_query(["age_equal_or_over", "18"], values=[True])
    assert evaluate(q, [sd_jwt_vc(PID, {"age_equal_or_over": {"18": True}})]).satisfiable
    assert not evaluate(q, [sd_jwt_vc(PID, {"age_equal_or_over": {"18": 1}})]).satisfiable
    numeric = one_claim_query(["age_in_years"], values=[1])
    assert not evaluate(numeric, [sd_jwt_vc(PID, {"age_in_years": True})]).satisfiable


def test_path_errors_section_7_1() -> None:
    """§7.1: a string component on a non-object, null or an index on a non-array abort processing (no claim)."""
    claims = {"a": [1, 2], "b": {"c": 1}, "s": "text"}
    assert select_claims(claims, ("s", "x")) == ()
    assert select_claims(claims, ("b", None)) == ()
    assert select_claims(claims, ("b", 0)) == ()
    assert select_claims(claims, ("a", None, "x")) == ()
    assert select_claims(claims, ("missing",)) == ()
    assert select_claims([1], ("a",)) == ()
    assert [s.value for s in select_claims({"a": [{"x": 1}, {"y": 2}]}, ("a", None, "x"))] == [1]


# --- trusted authorities --------------------------------------------------------------------------------------------


def test_aki_matches_the_issuing_ca_section_6_1_1_1() -> None:
    from cryptography import x509

    from ssi.encoding import b64url_encode

    ca_key, leaf_key = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
    ca = make_self_signed_ca(ca_key, "Test CA", now=NOW, days=10)
    leaf = issue_certificate(ca, ca_key, leaf_key.public_key, "Issuer", now=NOW, days=5)
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    held = sd_jwt_vc(PID, {"given_name": "E"}, x5c=tuple(x5c_chain([leaf])))
    ours = one_claim_query(
        ["given_name"],
    )
    raw = ours.to_json()
    raw["credentials"][0]["trusted_authorities"] = [{"type": "aki", "values": [b64url_encode(ski)]}]
    assert evaluate(DcqlQuery.parse(raw), [held]).satisfiable
    raw["credentials"][0]["trusted_authorities"] = [{"type": "aki", "values": [b64url_encode(b"\x01" * 20)]}]
    q = DcqlQuery.parse(raw)
    assert not evaluate(q, [held]).satisfiable
    assert refused(q, {"pid": [presented(held, ("given_name",))]}) == "dcql_trusted_authority_mismatch"


def test_chain_accreditation_is_matched_by_the_callers_matcher() -> None:
    """govssi's extension type: the value names a trusted-issuer registry; the caller's matcher asks the chain."""
    registry = "eip155:1337:0x" + "ab" * 20
    raw = one_claim_query(["given_name"]).to_json()
    raw["credentials"][0]["trusted_authorities"] = [{"type": TRUSTED_AUTHORITY_CHAIN, "values": [registry]}]
    q = DcqlQuery.parse(raw)
    accredited = sd_jwt_vc(PID, {"given_name": "E"}, issuer_keys=("did:ethr:0x539:0x" + "11" * 20,))
    unknown = sd_jwt_vc(PID, {"given_name": "E"}, issuer_keys=("did:ethr:0x539:0x" + "22" * 20,))
    calls = []

    def matcher(kind: str, value: str, credential: CredentialDescription) -> bool:
        calls.append((kind, value))
        return value == registry and credential.issuer_keys == accredited.issuer_keys

    assert not evaluate(q, [accredited]).satisfiable, "without a matcher the extension never matches"
    evaluation = evaluate(q, [unknown, accredited], authorities={TRUSTED_AUTHORITY_CHAIN: matcher})
    assert [m.credential for m in evaluation.matches["pid"]] == [accredited]
    assert calls[0] == (TRUSTED_AUTHORITY_CHAIN, registry)


# --- a real SD-JWT VC end to end -------------------------------------------------------------------------------------

ISSUER = SoftwareSigner(PrivateKey.generate("ES256"))
HOLDER = SoftwareSigner(PrivateKey.generate("ES256"))
PID_CLAIMS = {
    "given_name": "ERIKA",
    "family_name": "MUSTERMANN",
    "birthdate": "1964-08-12",
    "address": {"street_address": "HEIDESTRASSE 17", "locality": "KÖLN", "postal_code": "51147"},
    "nationalities": ["DE", "NL"],
    "age_equal_or_over": {"18": True, "65": False},
}
DISCLOSABLE = [
    ("given_name",),
    ("family_name",),
    ("birthdate",),
    ("address",),
    ("address", "street_address"),
    ("address", "locality"),
    ("address", "postal_code"),
    ("nationalities", 0),
    ("nationalities", 1),
    ("age_equal_or_over",),
    ("age_equal_or_over", "18"),
    ("age_equal_or_over", "65"),
]


def issued() -> HeldSdJwt:
    credential = issue_sd_jwt_vc(
        PID_CLAIMS,
        ISSUER,
        vct=PID,
        issuer="https://issuer.example",
        holder_jwk=HOLDER.public_jwk,
        disclosable=DISCLOSABLE,
        clock=FrozenClock(NOW),
    )
    return HeldSdJwt.parse(credential.compact)


def round_trip(q: DcqlQuery) -> dict[str, Any]:
    held = issued()
    evaluation = evaluate(q, [describe_sd_jwt(held)])
    selection = evaluation.default_selection()
    response = {}
    for query_id, items in selection.presentations.items():
        (_, option) = items[0]
        text = held.present(option.paths, holder=HOLDER, audience="x509_hash:abc", nonce="n-1", clock=FrozenClock(NOW))
        policy = VerificationPolicy(audience="x509_hash:abc", nonce="n-1")
        verified = verify_sd_jwt_vc(text, ISSUER.public_key, policy, clock=FrozenClock(NOW))
        response[query_id] = [describe_verified_sd_jwt(verified)]
    checked = check_response(q, response)
    return {qid: [p.claims for p in items] for qid, items in checked.presentations.items()}


def test_sd_jwt_vc_round_trip_nested_claims() -> None:
    q = one_claim_query(["address", "locality"])
    assert round_trip(q) == {"pid": [{"address": {"locality": "KÖLN"}}]}


def test_sd_jwt_vc_round_trip_array_wildcard_with_values() -> None:
    """The verifier sees the disclosed NL element at index 0 of its processed array — matching uses the pointer
    with its wildcard, not the holder's concrete index."""
    q = one_claim_query(["nationalities", None], values=["NL"])
    assert round_trip(q) == {"pid": [{"nationalities": ["NL"]}]}


def test_sd_jwt_vc_round_trip_object_member_named_by_digits() -> None:
    q = one_claim_query(["age_equal_or_over", "18"], values=[True])
    assert round_trip(q) == {"pid": [{"age_equal_or_over": {"18": True}}]}


def test_sd_jwt_vc_round_trip_claim_sets_and_credential_sets() -> None:
    raw = {
        "credentials": [
            {
                "id": "pid",
                "format": FORMAT_SD_JWT_VC,
                "meta": {"vct_values": [PID]},
                "claims": [
                    {"id": "over18", "path": ["age_equal_or_over", "18"]},
                    {"id": "birth", "path": ["birthdate"]},
                    {"id": "name", "path": ["family_name"]},
                ],
                "claim_sets": [["over18"], ["birth"]],
            },
            {
                "id": "address",
                "format": FORMAT_SD_JWT_VC,
                "meta": {"vct_values": [PID]},
                "claims": [{"path": ["address", "postal_code"]}],
            },
        ],
        "credential_sets": [{"options": [["pid"]]}, {"required": False, "options": [["address"]]}],
    }
    result = round_trip(DcqlQuery.parse(raw))
    assert result == {
        "pid": [{"age_equal_or_over": {"18": True}}],
        "address": [{"address": {"postal_code": "51147"}}],
    }


def test_sd_jwt_vc_presentation_with_an_extra_disclosure_is_refused() -> None:
    held = issued()
    q = one_claim_query(["given_name"])
    text = held.present(
        [("given_name",), ("family_name",)], holder=HOLDER, audience="a", nonce="n", clock=FrozenClock(NOW)
    )
    policy = VerificationPolicy(audience="a", nonce="n")
    verified = verify_sd_jwt_vc(text, ISSUER.public_key, policy, clock=FrozenClock(NOW))
    assert refused(q, {"pid": [describe_verified_sd_jwt(verified)]}) == "dcql_claim_not_requested"
