"""Every DCQL example of OpenID4VP 1.0 (spec_examples/README.md): parsed, evaluated by a wallet over credentials that
do and do not satisfy it, and checked by a verifier against the presentations a wallet would send."""

from __future__ import annotations

import json

import pytest
from dcql_support import ARTHUR, EXAMPLES, IDENTITY, IDENTITY_CLAIMS, example, mdoc, query, sd_jwt_vc

from ssi.dcql import (
    FORMAT_JWT_VC_JSON,
    FORMAT_LDP_VC,
    CredentialDescription,
    DcqlQuery,
    check_response,
    evaluate,
    project_claims,
    select_claims,
)
from ssi.errors import DcqlError

ALL_EXAMPLES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def as_presented(credential: CredentialDescription, paths: tuple) -> CredentialDescription:
    """What a verifier sees when the wallet discloses exactly ``paths`` (every claim disclosable)."""
    from dataclasses import replace

    return replace(credential, claims=project_claims(credential.claims, paths), disclosed=paths)


def test_all_examples_are_there() -> None:
    assert ALL_EXAMPLES == [
        "claims_alternatives",
        "complex_mdoc",
        "credentials_alternatives",
        "dcql_jwt_vc",
        "dcql_ldp_vc",
        "encrypted_response_request",
        "multi_credentials",
        "request_object_by_value",
        "simple",
        "simple_mdoc",
        "value_matching_simple",
    ]


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_example_parses_and_round_trips(name: str) -> None:
    """§6: each example is a valid DCQL query; the model writes it back as it was given."""
    parsed = query(name)
    assert parsed.to_json() == example(name)
    assert DcqlQuery.parse(json.loads(json.dumps(parsed.to_json()))) == parsed


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_wallet_without_credentials_cannot_satisfy_any_example(name: str) -> None:
    evaluation = evaluate(query(name), [])
    assert not evaluation.satisfiable
    with pytest.raises(DcqlError) as err:
        evaluation.default_selection()
    assert err.value.reason == "dcql_unsatisfiable"


def test_simple_example_section_7_4() -> None:
    """§7.4: a dc+sd-jwt of type identity_credential with last_name, first_name and address.street_address."""
    q = query("simple")
    held = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS, handle="pid")
    other_type = sd_jwt_vc("https://other.example/vct", IDENTITY_CLAIMS)
    evaluation = evaluate(q, [other_type, held])
    assert evaluation.satisfiable
    (match,) = evaluation.matches["my_credential"]
    assert match.credential.handle == "pid"
    assert match.preferred.paths == (("last_name",), ("first_name",), ("address", "street_address"))
    selection = evaluation.default_selection()
    ((chosen, option),) = selection.presentations["my_credential"]
    presented = as_presented(chosen.credential, option.paths)
    checked = check_response(q, {"my_credential": [presented]})
    (result,) = checked.presentations["my_credential"]
    assert result.claims == {"last_name": "Doe", "first_name": "John", "address": {"street_address": "123 Main St"}}


def test_request_object_example_section_5_4() -> None:
    q = query("request_object_by_value")
    evaluation = evaluate(q, [sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)])
    assert evaluation.matches["some_identity_credential"][0].preferred.paths == (("last_name",), ("first_name",))


def test_encrypted_response_example_section_8_3() -> None:
    q = query("encrypted_response_request")
    held = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    option = evaluate(q, [held]).matches["my_credential"][0].preferred
    assert ("address", "postal_code") in option.paths
    without_address = sd_jwt_vc(IDENTITY, {k: v for k, v in IDENTITY_CLAIMS.items() if k != "address"})
    assert not evaluate(q, [without_address]).satisfiable


def test_simple_mdoc_example_appendix_d() -> None:
    """Appendix D: an mso_mdoc of doctype org.iso.7367.1.mVRC with vehicle_holder and first_name."""
    q = query("simple_mdoc")
    mvrc = mdoc(
        "org.iso.7367.1.mVRC",
        {"org.iso.7367.1": {"vehicle_holder": "Erika"}, "org.iso.18013.5.1": {"first_name": "Erika"}},
    )
    wrong_doctype = mdoc("org.iso.18013.5.1.mDL", mvrc.claims)
    evaluation = evaluate(q, [wrong_doctype, mvrc])
    assert [m.credential for m in evaluation.matches["my_credential"]] == [mvrc]
    missing = mdoc("org.iso.7367.1.mVRC", {"org.iso.7367.1": {"vehicle_holder": "Erika"}})
    assert not evaluate(q, [missing]).satisfiable


def test_multi_credentials_example_appendix_d() -> None:
    """Appendix D: several Credential Queries without credential_sets — all of them must be returned."""
    q = query("multi_credentials")
    pid = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    mvrc = mdoc(
        "org.iso.7367.1.mVRC",
        {"org.iso.7367.1": {"vehicle_holder": "John"}, "org.iso.18013.5.1": {"first_name": "John"}},
    )
    assert not evaluate(q, [pid]).satisfiable
    evaluation = evaluate(q, [pid, mvrc])
    selection = evaluation.default_selection()
    assert selection.query_ids == {"pid", "mdl"}
    presented = {
        qid: [as_presented(match.credential, option.paths) for match, option in items]
        for qid, items in selection.presentations.items()
    }
    check_response(q, presented)
    with pytest.raises(DcqlError) as err:
        check_response(q, {"pid": presented["pid"]})
    assert err.value.reason == "dcql_credential_missing"


def _reduced(vct: str, claims: dict) -> CredentialDescription:
    return sd_jwt_vc(vct, claims)


def test_credentials_alternatives_example_appendix_d() -> None:
    """Appendix D: pid, or other_pid, or both pid_reduced_cred_1 and pid_reduced_cred_2; nice_to_have optional."""
    q = query("credentials_alternatives")
    other = sd_jwt_vc("https://othercredentials.example/pid", IDENTITY_CLAIMS)
    reduced1 = _reduced(
        "https://credentials.example.com/reduced_identity_credential", {"family_name": "Doe", "given_name": "J"}
    )
    reduced2 = _reduced(
        "https://cred.example/residence_credential", {"postal_code": "1", "locality": "x", "region": "y"}
    )
    rewards = _reduced("https://company.example/company_rewards", {"rewards_number": 42})

    only_reduced1 = evaluate(q, [reduced1])
    assert not only_reduced1.satisfiable
    assert only_reduced1.satisfiable_options == ((), ())

    both_reduced = evaluate(q, [reduced1, reduced2])
    assert both_reduced.satisfiable
    assert both_reduced.satisfiable_options == ((2,), ())
    assert both_reduced.default_selection().query_ids == {"pid_reduced_cred_1", "pid_reduced_cred_2"}
    assert both_reduced.optional_ids == {"nice_to_have"}

    everything = evaluate(q, [reduced1, reduced2, other, rewards])
    assert everything.satisfiable_options == ((1, 2), (0,))
    assert everything.default_selection().query_ids == {"other_pid", "nice_to_have"}
    assert everything.default_selection(include_optional=False).query_ids == {"other_pid"}

    def presented(*pairs: tuple[str, CredentialDescription]) -> dict:
        out = {}
        for qid, credential in pairs:
            option = evaluate(q, [credential]).matches[qid][0].preferred
            out[qid] = [as_presented(credential, option.paths)]
        return out

    # one option of the required set, without and with the optional set
    check_response(q, presented(("other_pid", other)))
    check_response(q, presented(("other_pid", other), ("nice_to_have", rewards)))
    check_response(q, presented(("pid_reduced_cred_1", reduced1), ("pid_reduced_cred_2", reduced2)))
    # the optional set alone, or half of an option, does not satisfy the required set
    for response in (
        presented(("nice_to_have", rewards)),
        presented(("pid_reduced_cred_1", reduced1), ("nice_to_have", rewards)),
    ):
        with pytest.raises(DcqlError) as err:
            check_response(q, response)
        assert err.value.reason == "dcql_credential_missing"


def test_complex_mdoc_example_appendix_d() -> None:
    """Appendix D: an ID from an mDL or a photo ID; optionally an address from either."""
    q = query("complex_mdoc")
    ns = "org.iso.18013.5.1"
    mdl = mdoc(
        "org.iso.18013.5.1.mDL",
        {
            ns: {
                "given_name": "E",
                "family_name": "M",
                "portrait": "…",
                "resident_address": "H",
                "resident_country": "D",
            }
        },
    )
    photo = mdoc("org.iso.23220.photoid.1", {ns: {"given_name": "E", "family_name": "M", "portrait": "…"}})
    evaluation = evaluate(q, [photo])
    assert evaluation.satisfiable_options == ((1,), ())
    assert evaluation.default_selection().query_ids == {"photo_card-id"}
    evaluation = evaluate(q, [mdl, photo])
    assert evaluation.satisfiable_options == ((0, 1), (0,))
    assert evaluation.default_selection().query_ids == {"mdl-id", "mdl-address"}
    # the same mDL answers two Credential Queries; each presentation may carry the other's claims (§6.4)
    both = {"given_name", "family_name", "portrait", "resident_address", "resident_country"}
    paths = tuple((ns, name) for name in sorted(both))
    shared = as_presented(
        CredentialDescription(format=mdl.format, claims=mdl.claims, doctype=mdl.doctype, credential_id="mdl-1"),
        paths,
    )
    check_response(q, {"mdl-id": [shared], "mdl-address": [shared]})
    with pytest.raises(DcqlError) as err:
        check_response(q, {"mdl-id": [shared]})
    assert err.value.reason == "dcql_claim_not_requested"


def test_claims_alternatives_example_appendix_d() -> None:
    """Appendix D: last_name and date_of_birth, and postal_code — or both locality and region. The claim_sets
    order is the Verifier's preference: ["a","c","d","e"] first."""
    q = query("claims_alternatives")
    full = sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)
    options = evaluate(q, [full]).matches["pid"][0].options
    assert [o.index for o in options] == [0, 1]
    assert options[0].claim_ids == ("a", "c", "d", "e")
    no_region = sd_jwt_vc(IDENTITY, {k: v for k, v in IDENTITY_CLAIMS.items() if k != "region"})
    (option,) = evaluate(q, [no_region]).matches["pid"][0].options
    assert option.claim_ids == ("a", "b", "e")
    neither = sd_jwt_vc(IDENTITY, {k: v for k, v in IDENTITY_CLAIMS.items() if k not in {"region", "postal_code"}})
    assert not evaluate(q, [neither]).satisfiable
    # verifier: the second option alone is fine, both options at once discloses more than one combination
    second = as_presented(full, (("last_name",), ("postal_code",), ("date_of_birth",)))
    assert check_response(q, {"pid": [second]}).presentations["pid"][0].option.index == 1
    everything = as_presented(full, (("last_name",), ("postal_code",), ("locality",), ("region",), ("date_of_birth",)))
    with pytest.raises(DcqlError) as err:
        check_response(q, {"pid": [everything]})
    assert err.value.reason == "dcql_claim_not_requested"


def test_value_matching_example_appendix_d() -> None:
    """Appendix D: last_name "Doe" and postal_code "90210" or "90211"."""
    q = query("value_matching_simple")
    assert evaluate(q, [sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)]).satisfiable
    smith = sd_jwt_vc(IDENTITY, {**IDENTITY_CLAIMS, "last_name": "Smith"})
    assert not evaluate(q, [smith]).satisfiable
    numeric = sd_jwt_vc(IDENTITY, {**IDENTITY_CLAIMS, "postal_code": 90210})
    assert not evaluate(q, [numeric]).satisfiable, "a number never matches a string (§6.3: type and value)"
    presented = as_presented(smith, (("last_name",), ("first_name",), ("address", "street_address"), ("postal_code",)))
    with pytest.raises(DcqlError) as err:
        check_response(q, {"my_credential": [presented]})
    assert err.value.reason == "dcql_claim_value_mismatch"


@pytest.mark.parametrize(
    ("name", "fmt", "query_id"),
    [
        ("dcql_jwt_vc", FORMAT_JWT_VC_JSON, "example_jwt_vc"),
        ("dcql_ldp_vc", FORMAT_LDP_VC, "example_ldp_vc"),
    ],
)
def test_w3c_examples_appendix_b_1(name: str, fmt: str, query_id: str) -> None:
    """B.1.1 type_values: every type of one inner array must be among the credential's (expanded) types."""
    q = query(name)
    subject = {
        "family_name": "Doe",
        "given_name": "John",
        "birthdate": "1940-01-01",
        "address": {"street_address": "1", "locality": "2", "postal_code": "3", "country": "4"},
    }
    matching = CredentialDescription(
        format=fmt, claims={"credentialSubject": subject}, types=("VerifiableCredential", "IDCredential")
    )
    other = CredentialDescription(format=fmt, claims={"credentialSubject": subject}, types=("VerifiableCredential",))
    evaluation = evaluate(q, [other, matching])
    assert [m.credential for m in evaluation.matches[query_id]] == [matching]


def test_aki_trusted_authority_example_section_6_1_1_1() -> None:
    """§6.1.1.1: the example's `aki` entry parses; a credential without that AKI in its x5c does not match."""
    q = DcqlQuery.parse(
        {
            "credentials": [
                {
                    **example("simple")["credentials"][0],
                    "trusted_authorities": [{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}],
                }
            ]
        }
    )
    assert q.credentials[0].trusted_authorities[0].values == ("s9tIpPmhxdiuNkHMEWNpYim8S8Y",)
    assert not evaluate(q, [sd_jwt_vc(IDENTITY, IDENTITY_CLAIMS)]).satisfiable


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("name",), ["Arthur Dent"]),
        (("address",), [ARTHUR["address"]]),
        (("address", "street_address"), ["42 Market Street"]),
        (("degrees", None, "type"), ["Bachelor of Science", "Master of Science"]),
        (("nationalities", 1), ["Betelgeusian"]),
    ],
)
def test_claims_path_pointer_examples_section_7_3(path: tuple, expected: list) -> None:
    assert [s.value for s in select_claims(ARTHUR, path)] == expected
