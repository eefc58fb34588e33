"""The DID document model (DID Core 1.0 §5) and its JSON representation (§6.2): strict parsing, serialization,
verification method look-up."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.did import MEDIA_TYPE, DidDocument, VerificationMethod, did_key_from_public_key
from ssi.errors import DidError, DidNotFound, SsiError
from ssi.keys import PrivateKey, jwk_thumbprint

DID = "did:example:123456789abcdefghi"
ED_KEY = PrivateKey.generate("EdDSA").public_key
P256_KEY = PrivateKey.generate("ES256").public_key
K1_KEY = PrivateKey.generate("ES256K").public_key


def _multibase(key: Any) -> str:
    return did_key_from_public_key(key).removeprefix("did:key:")


def _doc(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": DID,
        "verificationMethod": [
            {"id": "#key-1", "type": "JsonWebKey2020", "controller": DID, "publicKeyJwk": P256_KEY.jwk},
            {"id": f"{DID}#key-2", "type": "Multikey", "controller": DID, "publicKeyMultibase": _multibase(ED_KEY)},
            {"id": f"{DID}#key-3", "type": "JsonWebKey", "controller": DID, "publicKeyJwk": K1_KEY.jwk},
        ],
        "authentication": ["#key-1"],
        "assertionMethod": [f"{DID}#key-2", "#key-3"],
    }
    doc.update(extra)
    return {k: v for k, v in doc.items() if v is not None}  # None: leave the member out


def _invalid(doc: Any, **kwargs: Any) -> DidError:
    with pytest.raises(DidError) as info:
        DidDocument.from_json(doc, **kwargs)
    assert info.value.reason == "invalidDidDocument", info.value
    return info.value


# -- the examples of DID Core -------------------------------------------------------------------------------------


def test_3_2_2_relative_did_url_example() -> None:
    """§3.2.2 example: "#key-1" in authentication becomes did:example:123456789abcdefghi#key-1."""
    doc = DidDocument.from_json(
        {
            "@context": "https://www.w3.org/ns/did/v1.1",
            "id": DID,
            "verificationMethod": [
                {
                    "id": f"{DID}#key-1",
                    "type": "Multikey",
                    "controller": DID,
                    "publicKeyMultibase": "z6MkmM42vxfqZQsv4ehtTjFFxQ4sQKS2w6WR7emozFAn5cxu",
                }
            ],
            "authentication": ["#key-1"],
        }
    )
    assert doc.authentication == (f"{DID}#key-1",)
    key = doc.public_key("#key-1", "authentication")
    assert key.alg == "EdDSA"
    assert doc.public_key(f"{DID}#key-1", "authentication") == key


def test_5_2_1_jwk_example_uses_the_rfc7638_thumbprint_as_fragment() -> None:
    """§5.2.1 example: "It is RECOMMENDED that JWK kid values are set to the public key fingerprint"."""
    jwk = {"crv": "Ed25519", "x": "VCpo2LMLhn6iWku8MKvSLg2ZAoC-nlOyPVQaO3FxVeQ", "kty": "OKP"}
    vm_id = "did:example:123#_Qq0UL2Fq651Q0Fjd6TvnYE-faHiOpRlPVQcY_-tA4A"
    assert vm_id.endswith("#" + jwk_thumbprint(jwk))
    doc = DidDocument.from_json(
        {
            "id": "did:example:123",
            "verificationMethod": [
                {"id": vm_id, "type": "JsonWebKey2020", "controller": "did:example:123", "publicKeyJwk": jwk},
                {
                    "id": "did:example:123#keys-1",
                    "type": "Ed25519VerificationKey2020",
                    "controller": "did:example:pqrstuvwxyz0987654321",
                    "publicKeyMultibase": "z6MkmM42vxfqZQsv4ehtTjFFxQ4sQKS2w6WR7emozFAn5cxu",
                },
            ],
        }
    )
    assert doc.public_key(vm_id).jwk == jwk | {}
    # Ed25519VerificationKey2020 (the did:ethr spec's type for published Ed25519 keys) is read too
    assert doc.public_key("#keys-1").alg == "EdDSA"


# -- §6.2.2 consumption -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["[]", '"did:example:1"', "null", "1", b"[]"])
def test_6_2_2_root_must_be_a_json_object(data: str | bytes) -> None:
    _invalid(data)


def test_6_2_2_parses_text_and_bytes() -> None:
    text = json.dumps(_doc())
    assert DidDocument.from_json(text) == DidDocument.from_json(text.encode()) == DidDocument.from_json(_doc())


@pytest.mark.parametrize("data", ["{", '{"id": "did:example:1", "id": "did:example:2"}', b"\xff", '{"a": NaN}'])
def test_6_2_2_malformed_json_is_refused(data: str | bytes) -> None:
    """Duplicate member names (RFC 8259 §4) would let two parsers see two documents."""
    with pytest.raises(SsiError):
        DidDocument.from_json(data)


# -- §5.1 identifiers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", [None, 1, ["did:example:1"], "example:1", "did:example:1#frag", "did:example:1/p"])
def test_5_1_1_id_must_be_a_did(doc_id: Any) -> None:
    doc = _doc()
    if doc_id is None:
        del doc["id"]
    else:
        doc["id"] = doc_id
    _invalid(doc)


@pytest.mark.parametrize("controller", ["did:example:c", ["did:example:c"], ["did:example:c", "did:example:d"]])
def test_5_1_2_controller_is_a_did_or_a_set_of_dids(controller: Any) -> None:
    doc = DidDocument.from_json(_doc(controller=controller))
    expected = [controller] if isinstance(controller, str) else controller
    assert list(doc.controller) == expected


@pytest.mark.parametrize(
    "controller", [1, {"id": "did:example:c"}, "https://example.com", ["did:example:c", "did:example:c"], [1]]
)
def test_5_1_2_controller_wrong_types_and_duplicates(controller: Any) -> None:
    _invalid(_doc(controller=controller))


def test_5_1_3_also_known_as_is_a_set_of_uris() -> None:
    doc = DidDocument.from_json(_doc(alsoKnownAs=["https://example.com/alice", "did:example:alice"]))
    assert doc.also_known_as == ("https://example.com/alice", "did:example:alice")
    for bad in ("https://example.com", ["not a uri"], ["https://a.example", "https://a.example"], [1], ["%zz:x"]):
        _invalid(_doc(alsoKnownAs=bad))


# -- §5.2 verification methods ------------------------------------------------------------------------------------


def test_5_2_verification_method_must_be_a_set_of_maps() -> None:
    for bad in ({"id": "#k"}, "did:example:1#k", [["x"]], ["#key-1"]):
        _invalid(_doc(verificationMethod=bad, authentication=None, assertionMethod=None))


@pytest.mark.parametrize("missing", ["id", "type", "controller"])
def test_5_2_verification_method_requires_id_type_controller(missing: str) -> None:
    doc = _doc(assertionMethod=[f"{DID}#key-2"])
    del doc["verificationMethod"][2][missing]
    _invalid(doc)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("id", 1),
        ("id", "https://example.com/key"),  # §5.2 id: "MUST be a string that conforms to the rules in 3.2"
        ("id", "#a b"),
        ("type", ""),
        ("type", ["JsonWebKey2020"]),  # "references exactly one verification method type"
        ("controller", "#key-1"),  # §5.2 controller: a DID (§3.1), not a DID URL
        ("controller", f"{DID}#key-1"),
        ("controller", ["did:example:1"]),
    ],
)
def test_5_2_verification_method_member_types(member: str, value: Any) -> None:
    doc = _doc(assertionMethod=[f"{DID}#key-2"])
    doc["verificationMethod"][2][member] = value
    _invalid(doc)


def test_5_2_verification_method_ids_are_unique() -> None:
    doc = _doc()
    doc["verificationMethod"][2]["id"] = "#key-1"  # the same as the first one, once resolved
    _invalid(doc)
    doc = _doc(authentication=[{"id": "#key-1", "type": "Multikey", "controller": DID, "publicKeyMultibase": "z6Mk"}])
    _invalid(doc)  # an embedded method must not reuse the id of another one


@pytest.mark.parametrize("private", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_5_2_1_public_key_jwk_must_not_contain_private_members(private: str) -> None:
    """§5.2.1: "The map MUST NOT contain "d", or any other members of the private information class"."""
    doc = _doc()
    doc["verificationMethod"][0]["publicKeyJwk"] = {**P256_KEY.jwk, private: "AAAA"}
    err = _invalid(doc)
    assert "private" in err.description


def test_5_2_1_a_private_jwk_is_refused() -> None:
    jwk = PrivateKey.generate("ES256").private_jwk()
    _invalid(
        _doc(
            verificationMethod=[{"id": "#k", "type": "JsonWebKey2020", "controller": DID, "publicKeyJwk": jwk}],
            authentication=["#k"],
            assertionMethod=["#k"],
        )
    )


def test_5_2_1_only_one_verification_material() -> None:
    """§5.2.1: "A verification method MUST NOT contain multiple verification material properties for the same
    material" (publicKeyJwk and publicKeyMultibase together)."""
    doc = _doc()
    doc["verificationMethod"][0]["publicKeyMultibase"] = _multibase(P256_KEY)
    _invalid(doc)


@pytest.mark.parametrize(
    "vm",
    [
        {"type": "JsonWebKey2020", "publicKeyMultibase": "z6Mk"},  # JsonWebKey2020 needs publicKeyJwk
        {"type": "JsonWebKey", "publicKeyJwk": "eyJ..."},  # publicKeyJwk must be a map
        {"type": "JsonWebKey2020", "publicKeyJwk": {"crv": "P-256"}},  # RFC 7517 §4.1: kty is REQUIRED
        {"type": "Multikey", "publicKeyJwk": {"kty": "OKP"}},  # Multikey needs publicKeyMultibase
        {"type": "Multikey", "publicKeyMultibase": ""},
        {"type": "Multikey", "publicKeyMultibase": 7},
    ],
)
def test_5_2_1_verification_material_matches_type(vm: dict[str, Any]) -> None:
    doc = _doc(assertionMethod=[f"{DID}#key-2"])
    doc["verificationMethod"][2] = {"id": "#key-3", "controller": DID, **vm}
    _invalid(doc)


def test_5_2_unknown_types_and_extension_members_are_kept() -> None:
    """§4.1 extensibility: other verification method types and members survive a round trip."""
    vm = {
        "id": f"{DID}#address-0",
        "type": "EcdsaSecp256k1RecoveryMethod2020",
        "controller": DID,
        "blockchainAccountId": "eip155:1:0x89a932207c485f85226d86f7cd486a89a24fcc12",
    }
    doc = DidDocument.from_json(_doc(verificationMethod=[vm], authentication=["#address-0"], assertionMethod=None))
    assert doc.verification_method[0].properties == {"blockchainAccountId": vm["blockchainAccountId"]}
    assert doc.to_json()["verificationMethod"] == [vm]
    with pytest.raises(DidError) as info:
        doc.public_key("#address-0")
    assert info.value.reason == "unsupportedPublicKeyType"


# -- §5.2.2 / §5.3 look-up ----------------------------------------------------------------------------------------


def test_5_2_2_lookup_by_absolute_and_relative_did_url() -> None:
    doc = DidDocument.from_json(_doc())
    assert doc.public_key(f"{DID}#key-1") == P256_KEY
    assert doc.public_key("#key-1") == P256_KEY
    assert doc.public_key("#key-2") == ED_KEY  # Multikey
    assert doc.public_key("#key-3") == K1_KEY  # JsonWebKey
    assert doc.find_verification_method("#key-1").id == f"{DID}#key-1"  # relative id resolved (§3.2.2)


@pytest.mark.parametrize("url", ["#key-9", f"{DID}#key-9", f"{DID}", f"{DID}/key-1", "did:example:other#key-1"])
def test_5_2_2_unknown_methods_are_not_found(url: str) -> None:
    doc = DidDocument.from_json(_doc())
    with pytest.raises(DidNotFound) as info:
        doc.find_verification_method(url)
    assert info.value.reason == "notFound"


def test_5_2_2_malformed_lookup_url() -> None:
    doc = DidDocument.from_json(_doc())
    with pytest.raises(DidError) as info:
        doc.find_verification_method("https://example.com#key-1")
    assert info.value.reason == "invalidDidUrl"


def test_5_3_relationship_must_reference_the_method() -> None:
    """§5.3: "Verification methods that are not associated with a particular verification relationship cannot be
    used for that verification relationship.\""""
    doc = DidDocument.from_json(_doc())
    assert doc.public_key("#key-1", "authentication") == P256_KEY
    assert doc.public_key("#key-3", "assertionMethod") == K1_KEY
    for url, relationship in [("#key-1", "assertionMethod"), ("#key-2", "authentication"), ("#key-1", "keyAgreement")]:
        with pytest.raises(DidError) as info:
            doc.public_key(url, relationship)
        assert info.value.reason == "invalidVerificationRelationship"
    with pytest.raises(ValueError):
        doc.public_key("#key-1", "signing")


def test_5_3_embedded_method_serves_only_its_relationship() -> None:
    """§5.2.2 example: an embedded method "may *only* be used for authentication"."""
    embedded = {"id": "#auth", "type": "JsonWebKey2020", "controller": DID, "publicKeyJwk": ED_KEY.jwk}
    doc = DidDocument.from_json(_doc(authentication=["#key-1", embedded]))
    assert doc.public_key("#auth", "authentication") == ED_KEY
    with pytest.raises(DidError) as info:
        doc.public_key("#auth", "assertionMethod")
    assert info.value.reason == "invalidVerificationRelationship"
    assert [vm.id for vm in doc.verification_methods("authentication")] == [f"{DID}#key-1", f"{DID}#auth"]
    assert isinstance(doc.authentication[1], VerificationMethod)


@pytest.mark.parametrize(
    "value",
    [
        [],  # "a set of one or more verification methods"
        "#key-1",
        [1],
        ["#key-1", "#key-1"],  # a set
        ["#key-1", f"{DID}#key-1"],  # the same once resolved
        ["#nope"],  # a reference into this document that names nothing
        ["https://example.com/key"],
    ],
)
@pytest.mark.parametrize(
    "name", ["authentication", "assertionMethod", "keyAgreement", "capabilityInvocation", "capabilityDelegation"]
)
def test_5_3_relationship_values(name: str, value: Any) -> None:
    _invalid(_doc(**{name: value}))


def test_5_3_references_to_other_dids_are_kept_but_not_dereferenced_here() -> None:
    doc = DidDocument.from_json(_doc(capabilityDelegation=["did:example:other#key-1"]))
    assert doc.capability_delegation == ("did:example:other#key-1",)
    assert doc.verification_methods("capabilityDelegation") == ()
    with pytest.raises(DidNotFound):
        doc.find_verification_method("did:example:other#key-1", "capabilityDelegation")


def test_relative_urls_can_be_refused() -> None:
    """did:web: "Whenever a DID URL is present within a did:web document, it must be an absolute URL"."""
    _invalid(_doc(), allow_relative_urls=False)
    absolute = _doc(authentication=[f"{DID}#key-1"], assertionMethod=[f"{DID}#key-2"])
    absolute["verificationMethod"][0]["id"] = f"{DID}#key-1"
    DidDocument.from_json(absolute, allow_relative_urls=False)
    absolute["service"] = [{"id": "#svc", "type": "LinkedDomains", "serviceEndpoint": "https://example.com"}]
    _invalid(absolute, allow_relative_urls=False)


# -- key material -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vm", "reason"),
    [
        (
            {"type": "JsonWebKey2020", "publicKeyJwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
            "unsupportedPublicKeyType",
        ),
        (
            {"type": "JsonWebKey2020", "publicKeyJwk": {"kty": "OKP", "crv": "X25519", "x": "A" * 43}},
            "unsupportedPublicKeyType",
        ),
        ({"type": "JsonWebKey2020", "publicKeyJwk": {**P256_KEY.jwk, "alg": "ES256K"}}, "invalidPublicKey"),
        ({"type": "JsonWebKey2020", "publicKeyJwk": {**P256_KEY.jwk, "y": P256_KEY.jwk["x"]}}, "invalidPublicKey"),
        # y = 2 has no x on edwards25519 (RFC 8032 §5.1.3): "cryptography" would load it, we do not
        (
            {
                "type": "JsonWebKey2020",
                "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
            },
            "invalidPublicKey",
        ),
        ({"type": "Multikey", "publicKeyMultibase": "u" + _multibase(ED_KEY)[1:]}, "invalidPublicKey"),
        (
            {"type": "Multikey", "publicKeyMultibase": "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"},
            "unsupportedPublicKeyType",
        ),
    ],
)
def test_5_2_1_key_material_is_checked_on_lookup(vm: dict[str, Any], reason: str) -> None:
    doc = DidDocument.from_json(
        _doc(verificationMethod=[{"id": "#k", "controller": DID, **vm}], authentication=["#k"], assertionMethod=["#k"])
    )
    with pytest.raises(DidError) as info:
        doc.public_key("#k")
    assert info.value.reason == reason


# -- §5.4 services ------------------------------------------------------------------------------------------------


def test_5_4_services() -> None:
    services = [
        {"id": "#linked-domain", "type": "LinkedDomains", "serviceEndpoint": "https://bar.example.com"},
        {"id": "https://example.com/svc", "type": ["A", "B"], "serviceEndpoint": {"origins": ["https://a.example"]}},
        {"id": f"{DID}#multi", "type": "X", "serviceEndpoint": ["https://a.example", {"uri": "x"}], "extra": 1},
    ]
    doc = DidDocument.from_json(_doc(service=services))
    assert [s.id for s in doc.service] == [f"{DID}#linked-domain", "https://example.com/svc", f"{DID}#multi"]
    assert doc.service[1].type == ("A", "B")
    assert doc.service[2].properties == {"extra": 1}
    assert DidDocument.from_json(doc.to_json()) == doc


@pytest.mark.parametrize(
    "service",
    [
        {"type": "X", "serviceEndpoint": "https://a.example"},  # "MUST contain id, type, and serviceEndpoint"
        {"id": "#s", "serviceEndpoint": "https://a.example"},
        {"id": "#s", "type": "X"},
        {"id": 1, "type": "X", "serviceEndpoint": "https://a.example"},
        {"id": "#s", "type": 1, "serviceEndpoint": "https://a.example"},
        {"id": "#s", "type": [], "serviceEndpoint": "https://a.example"},
        {"id": "#s", "type": ["X", "X"], "serviceEndpoint": "https://a.example"},
        {"id": "#s", "type": "X", "serviceEndpoint": "not a uri"},  # "All string values MUST be valid URIs"
        {"id": "#s", "type": "X", "serviceEndpoint": []},  # "a set composed of one or more"
        {"id": "#s", "type": "X", "serviceEndpoint": [1]},
        {"id": "#s", "type": "X", "serviceEndpoint": ["https://a.example", "https://a.example"]},
        {"id": "#s", "type": "X", "serviceEndpoint": 5},
        "https://a.example",
    ],
)
def test_5_4_service_members(service: Any) -> None:
    _invalid(_doc(service=[service]))


def test_5_4_duplicate_service_ids_are_an_error() -> None:
    """§5.4: "A conforming consumer MUST produce an error if it detects multiple service entries with the same id"."""
    services = [
        {"id": "#s", "type": "X", "serviceEndpoint": "https://a.example"},
        {"id": f"{DID}#s", "type": "Y", "serviceEndpoint": "https://b.example"},
    ]
    _invalid(_doc(service=services))
    _invalid(_doc(service={"id": "#s"}))


# -- §6.3.1 @context ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "context", ["https://example.com/ctx", ["https://example.com/ctx", "https://www.w3.org/ns/did/v1"], [], 1, [1]]
)
def test_6_3_1_context_starts_with_the_did_context(context: Any) -> None:
    _invalid(_doc(**{"@context": context}))


def test_6_2_context_is_optional() -> None:
    doc = _doc()
    del doc["@context"]
    assert "@context" not in DidDocument.from_json(doc).to_json()


# -- §6.2.1 production --------------------------------------------------------------------------------------------


def test_6_2_1_round_trip_and_media_type() -> None:
    source = _doc(controller=DID, alsoKnownAs=["https://example.com/me"], custom={"a": [1, 2]}, keyAgreement=["#key-1"])
    doc = DidDocument.from_json(source)
    out = doc.to_json()
    assert MEDIA_TYPE == "application/did+json"
    assert out["custom"] == {"a": [1, 2]}  # §4.1: properties DID Core does not define are kept
    assert out["verificationMethod"][0]["id"] == f"{DID}#key-1"  # written in absolute form
    assert out["authentication"] == [f"{DID}#key-1"]
    assert DidDocument.from_json(out) == doc
    assert DidDocument.from_json(doc.to_json_text()) == doc
    # the parsed document does not share mutable state with its source
    source["custom"]["a"].append(3)
    assert doc.properties["custom"] == {"a": [1, 2]}


def test_documents_are_not_mutated_through_to_json() -> None:
    doc = DidDocument.from_json(_doc())
    out = doc.to_json()
    out["verificationMethod"][0]["publicKeyJwk"]["x"] = "tampered"
    assert doc.public_key("#key-1") == P256_KEY


# -- robustness ---------------------------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from([DID, "#key-1", "z6Mk"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    [
        "id",
        "controller",
        "alsoKnownAs",
        "verificationMethod",
        "authentication",
        "assertionMethod",
        "service",
        "@context",
        "type",
        "publicKeyJwk",
        "publicKeyMultibase",
        "serviceEndpoint",
        "kty",
    ]
)
_DOCLIKE = st.recursive(
    st.none() | st.text(max_size=12) | st.sampled_from([DID, "#key-1", f"{DID}#key-1", "Multikey", "JsonWebKey2020"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_JSON, _DOCLIKE, st.builds(lambda d: {**d, "id": DID}, st.dictionaries(_KEYS, _DOCLIKE, max_size=6))))
def test_arbitrary_json_raises_only_ssi_errors(data: Any) -> None:
    try:
        doc = DidDocument.from_json(data)
    except SsiError:
        return
    assert DidDocument.from_json(doc.to_json()) == doc
    for vm in doc.verification_method:
        with contextlib.suppress(SsiError):
            doc.public_key(vm.id)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_ssi_errors(data: bytes) -> None:
    with contextlib.suppress(SsiError):
        DidDocument.from_json(data)


def test_deep_copy_is_equal() -> None:
    doc = DidDocument.from_json(_doc())
    assert copy.deepcopy(doc) == doc
