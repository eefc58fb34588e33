"""bbs-2023 (vc-di-bbs, baseline) with govssi's credentials: issuer → holder → verifier round trips, the presentation
binding, and every refusal — tampered documents, foreign keys, malformed proof values, wrong proof options."""

from __future__ import annotations

import copy
from typing import Any

import cbor2
import pytest
from di_support import (
    AGE_CREDENTIAL,
    AGE_MANDATORY,
    ISSUER_DID,
    ISSUER_MULTIKEY,
    ISSUER_PK,
    LOOKUP,
    PARKING_MANDATORY,
    PARKING_PERMIT,
    VERIFICATION_METHOD,
    issue,
)

from ssi import bbs
from ssi.clock import FrozenClock
from ssi.data_integrity import (
    BaseProofValue,
    DerivedProofValue,
    derive_proof,
    did_public_key_lookup,
    presentation_header,
    verify_base_proof,
    verify_derived_proof,
)
from ssi.did import DidDocument
from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import DataIntegrityError
from ssi.vc import check_credential

PH = presentation_header(nonce="n-0S6_WzA2Mj", audience="https://portal.example.de")
AGE = issue(AGE_CREDENTIAL, AGE_MANDATORY)
PARKING = issue(PARKING_PERMIT, PARKING_MANDATORY)


def _derive(signed: dict[str, Any], pointers: list[str], ph: bytes = PH, **kwargs: Any) -> dict[str, Any]:
    return derive_proof(signed, selective_pointers=pointers, presentation_header=ph, **kwargs)


def _reason(secured: dict[str, Any], *, ph: bytes | None = PH, lookup: Any = LOOKUP, **kwargs: Any) -> str:
    with pytest.raises(DataIntegrityError) as raised:
        verify_derived_proof(secured, lookup, expected_presentation_header=ph, **kwargs)
    return raised.value.reason


# --- round trips -----------------------------------------------------------------------------------------------------


def test_age_credential_reveals_only_age_over_18_and_the_mandatory_claims() -> None:
    derived = _derive(AGE, ["/credentialSubject/age_over_18"])
    verified = verify_derived_proof(derived, LOOKUP, expected_presentation_header=PH)
    assert verified.document == {
        "@context": AGE_CREDENTIAL["@context"],
        "type": ["VerifiableCredential", "AgeCredential"],
        "issuer": ISSUER_DID,
        "validUntil": "2026-11-30T00:00:00Z",
        "credentialSubject": {"age_over_18": True},
    }
    assert verified.presentation_header == PH and verified.verification_method == VERIFICATION_METHOD
    check_credential(verified.document, clock=FrozenClock(1795564800))  # 2026-11-25: VCDM 2.0 §4 rules hold


def test_parking_permit_reveals_a_nested_member() -> None:
    derived = _derive(PARKING, ["/credentialSubject/address/locality", "/credentialSubject/license_plate"])
    document = verify_derived_proof(derived, LOOKUP, expected_presentation_header=PH).document
    assert document["credentialSubject"] == {
        "address": {"locality": "KÖLN"},
        "license_plate": "K-EM 1964",
        "parking_zone": "K-17",
    }


def test_nothing_selected_reveals_the_mandatory_statements_only() -> None:
    document = verify_derived_proof(_derive(PARKING, []), LOOKUP, expected_presentation_header=PH).document
    assert document["credentialSubject"] == {"parking_zone": "K-17"}
    assert "validUntil" in document and "validFrom" not in document


def test_everything_selected() -> None:
    pointers = ["/validFrom", *(f"/credentialSubject/{k}" for k in AGE_CREDENTIAL["credentialSubject"])]
    document = verify_derived_proof(_derive(AGE, pointers), LOOKUP, expected_presentation_header=PH).document
    assert document["credentialSubject"] == AGE_CREDENTIAL["credentialSubject"]
    assert document["validFrom"] == AGE_CREDENTIAL["validFrom"]


def test_holder_checks_the_base_proof_and_may_then_skip_the_signature_check() -> None:
    assert verify_base_proof(AGE, LOOKUP) == AGE_CREDENTIAL
    derived = _derive(AGE, ["/credentialSubject/age_over_21"], check_signature=False)
    verify_derived_proof(derived, LOOKUP, expected_presentation_header=PH)


def test_issuing_omits_created_unless_asked() -> None:
    """vc-di-bbs §6.2.4: ``created`` "could greatly reduce the size of the anonymity set"; we leave it out."""
    assert "created" not in AGE["proof"]
    dated = issue(AGE_CREDENTIAL, AGE_MANDATORY, created="2026-11-23T00:00:00Z")
    assert dated["proof"]["created"] == "2026-11-23T00:00:00Z"
    verify_derived_proof(_derive(dated, []), LOOKUP, expected_presentation_header=PH)


# --- the presentation binding ----------------------------------------------------------------------------------------


def test_presentation_header_binds_nonce_and_audience() -> None:
    assert PH == b'{"aud":"https://portal.example.de","nonce":"n-0S6_WzA2Mj"}'
    derived = _derive(AGE, ["/credentialSubject/age_over_18"])
    other_nonce = presentation_header(nonce="another", audience="https://portal.example.de")
    other_audience = presentation_header(nonce="n-0S6_WzA2Mj", audience="https://other.example.de")
    assert _reason(derived, ph=other_nonce) == "presentation_header_mismatch"
    assert _reason(derived, ph=other_audience) == "presentation_header_mismatch"
    verify_derived_proof(derived, LOOKUP, expected_presentation_header=None)  # explicit opt-out (tests, offline)


def test_a_replaced_presentation_header_breaks_the_bbs_proof() -> None:
    """The header is inside the proof value; swapping it for the verifier's breaks the BBS challenge."""
    derived = _derive(AGE, [])
    value = DerivedProofValue.parse(derived["proof"]["proofValue"])
    other = presentation_header(nonce="fresh", audience="https://portal.example.de")
    forged = DerivedProofValue(
        value.bbs_proof, value.label_map, value.mandatory_indexes, value.selective_indexes, other
    )
    derived["proof"]["proofValue"] = forged.serialize()
    assert _reason(derived, ph=other) == "bbs_challenge_mismatch"


@pytest.mark.parametrize(("nonce", "audience"), [("", "https://a"), ("n", ""), (None, "https://a")])
def test_presentation_header_needs_both_values(nonce: Any, audience: Any) -> None:
    with pytest.raises(DataIntegrityError):
        presentation_header(nonce=nonce, audience=audience)


# --- tampering -------------------------------------------------------------------------------------------------------


#: a removed statement shifts the others: which check fails first depends on where the HMAC-shuffled order put it
_REMOVED = {"index_out_of_range", "bbs_message_count", "bbs_challenge_mismatch"}


@pytest.mark.parametrize(
    ("change", "reasons"),
    [
        (lambda d: d["credentialSubject"].update(age_over_18=False), {"bbs_challenge_mismatch"}),
        (lambda d: d["credentialSubject"].update(age_over_65=False), {"bbs_message_count"}),  # an extra statement
        (lambda d: d["credentialSubject"].pop("age_over_18"), _REMOVED),  # a missing statement
        (lambda d: d.update(validUntil="2030-01-01T00:00:00Z"), {"bbs_challenge_mismatch"}),  # a mandatory one
        (lambda d: d.pop("validUntil"), _REMOVED),
        (lambda d: d.update(issuer="did:example:other"), {"bbs_challenge_mismatch"}),
        (lambda d: d["type"].append("ResidentParkingPermitCredential"), {"bbs_message_count"}),
        (lambda d: d["proof"].update(created="2026-01-01T00:00:00Z"), {"bbs_challenge_mismatch"}),  # proof options
    ],
)
def test_tampered_derived_documents_fail(change: Any, reasons: set[str]) -> None:
    derived = _derive(AGE, ["/credentialSubject/age_over_18"])
    change(derived)
    assert _reason(derived) in reasons


def test_a_foreign_issuer_key_fails() -> None:
    derived = _derive(AGE, ["/credentialSubject/age_over_18"])
    other = bbs.sk_to_pk(bbs.keygen(b"some other authority, same claims"))
    assert _reason(derived, lookup=lambda _: other) in {"bbs_challenge_mismatch", "bbs_proof_invalid"}


def test_holder_detects_a_tampered_base_document() -> None:
    changed = copy.deepcopy(AGE)
    changed["credentialSubject"]["age_over_21"] = False  # not mandatory: only the signature catches it
    with pytest.raises(DataIntegrityError) as raised:
        verify_base_proof(changed, LOOKUP)
    assert raised.value.reason == "bbs_signature_invalid"
    changed = copy.deepcopy(AGE)
    changed["validUntil"] = "2031-01-01T00:00:00Z"  # mandatory: the header no longer matches
    with pytest.raises(DataIntegrityError) as raised:
        verify_base_proof(changed, LOOKUP)
    assert raised.value.reason == "header_mismatch"
    with pytest.raises(DataIntegrityError) as raised:
        verify_base_proof(AGE, lambda _: bbs.sk_to_pk(bbs.keygen(b"x" * 32)))
    assert raised.value.reason == "wrong_key"


def test_a_proof_derived_from_a_tampered_base_does_not_verify() -> None:
    changed = copy.deepcopy(AGE)
    changed["credentialSubject"]["age_over_18"] = False
    with pytest.raises(DataIntegrityError) as raised:
        _derive(changed, ["/credentialSubject/age_over_18"])  # BBS ProofGen checks the signature first
    assert raised.value.reason == "bbs_signature_invalid"
    derived = _derive(changed, ["/credentialSubject/age_over_18"], check_signature=False)
    assert _reason(derived) in {"bbs_challenge_mismatch", "bbs_proof_invalid"}


def test_selective_pointer_must_match_the_credential() -> None:
    with pytest.raises(DataIntegrityError) as raised:
        _derive(AGE, ["/credentialSubject/age_over_99"])
    assert raised.value.reason == "pointer_mismatch"
    with pytest.raises(DataIntegrityError) as raised:
        issue(AGE_CREDENTIAL, ["/credentialSubject/nosuch"])
    assert raised.value.reason == "pointer_mismatch"


# --- proof options ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "Ed25519Signature2020"}, "wrong_cryptosuite"),
        ({"cryptosuite": "ecdsa-sd-2023"}, "wrong_cryptosuite"),
        ({"proofPurpose": "authentication"}, "proof_purpose_mismatch"),
        ({"verificationMethod": "no-url"}, "invalid_proof_options"),
        ({"created": "yesterday"}, "invalid_proof_options"),
        ({"expires": "2026-13-01T00:00:00Z"}, "invalid_proof_options"),
    ],
)
def test_proof_options_are_checked(change: dict[str, Any], reason: str) -> None:
    """vc-di-bbs §2.2.1 / §3.4.4 and VC Data Integrity §2.1."""
    derived = _derive(AGE, [])
    derived["proof"].update(change)
    assert _reason(derived) == reason


def test_expired_proof() -> None:
    """VC Data Integrity §2.1 ``expires``: a proof past it is refused (with the injected clock)."""
    dated = _derive(AGE, [])
    dated["proof"]["expires"] = "2026-11-24T00:00:00Z"
    assert _reason(dated, clock=FrozenClock(1795478400)) == "proof_expired"  # 2026-11-24T00:00:00Z
    # before it, the next check fails: the proof options are signed (proof hash), adding expires changed them
    assert _reason(dated, clock=FrozenClock(1795478399)) == "bbs_challenge_mismatch"


def test_missing_or_multiple_proofs() -> None:
    document = {k: v for k, v in AGE.items() if k != "proof"}
    assert _reason(document) == "missing_proof"
    assert _reason({**document, "proof": [AGE["proof"], AGE["proof"]]}) == "missing_proof"


# --- proof values (§3.3.2, §3.3.7) -----------------------------------------------------------------------------------


def _with_value(raw: bytes) -> dict[str, Any]:
    derived = _derive(AGE, ["/credentialSubject/age_over_18"])
    derived["proof"]["proofValue"] = "u" + b64url_encode(raw)
    return derived


def _components() -> list[Any]:
    raw = b64url_decode(_derive(AGE, ["/credentialSubject/age_over_18"])["proof"]["proofValue"][1:])
    components: list[Any] = cbor2.loads(raw[3:])
    return components


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("z" + "A" * 40, "malformed_proof_value"),  # "does not start with u"
        ("u!!", "malformed_proof_value"),  # not base64url
        ("u" + b64url_encode(b"\xd9\x5d\x02" + cbor2.dumps([])), "malformed_proof_value"),  # a base proof
        ("u" + b64url_encode(b"\xd9\x5d\x05" + cbor2.dumps([])), "unsupported_feature"),  # holder binding
        ("u" + b64url_encode(b"\xd9\x5d\x07" + cbor2.dumps([])), "unsupported_feature"),  # pseudonyms
        ("u" + b64url_encode(b"\x00\x00\x03"), "malformed_proof_value"),
        ("u" + b64url_encode(b"\xd9\x5d\x03\xff"), "malformed_proof_value"),  # not CBOR
        ("u" + b64url_encode(b"\xd9\x5d\x03" + cbor2.dumps({"a": 1})), "malformed_proof_value"),  # not an array
        (7, "malformed_proof_value"),
    ],
)
def test_malformed_derived_proof_values(value: Any, reason: str) -> None:
    derived = _derive(AGE, [])
    derived["proof"]["proofValue"] = value
    assert _reason(derived) == reason


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.append(b""),  # six components
        lambda c: c.pop(),  # four
        lambda c: c.__setitem__(0, "not bytes"),
        lambda c: c.__setitem__(1, {0: "b1"}),  # label map values are integers
        lambda c: c.__setitem__(1, {-1: 0}),
        lambda c: c.__setitem__(1, {0: 1, 1: 1}),  # one label twice
        lambda c: c.__setitem__(2, [2, 1]),  # indexes ascending
        lambda c: c.__setitem__(3, [True]),
        lambda c: c.__setitem__(4, "ph"),
    ],
)
def test_derived_proof_value_components_are_checked(change: Any) -> None:
    components = _components()
    change(components)
    assert _reason(_with_value(b"\xd9\x5d\x03" + cbor2.dumps(components))) == "malformed_proof_value"


def test_trailing_bytes_after_the_cbor_array_are_refused() -> None:
    components = _components()
    assert _reason(_with_value(b"\xd9\x5d\x03" + cbor2.dumps(components) + b"\x00")) == "malformed_proof_value"


def test_a_label_map_that_misses_a_blank_node() -> None:
    components = _components()
    components[1] = dict(list(components[1].items())[:-1])
    assert _reason(_with_value(b"\xd9\x5d\x03" + cbor2.dumps(components))) == "label_map_incomplete"


def test_mandatory_index_out_of_range() -> None:
    components = _components()
    components[2] = [*components[2], 999]
    assert _reason(_with_value(b"\xd9\x5d\x03" + cbor2.dumps(components))) == "index_out_of_range"


def test_base_proof_value_round_trip_and_checks() -> None:
    value = BaseProofValue.parse(AGE["proof"]["proofValue"])
    assert value.serialize() == AGE["proof"]["proofValue"]
    assert value.public_key == ISSUER_PK and list(value.mandatory_pointers) == AGE_MANDATORY
    for broken in (
        [value.bbs_signature, value.bbs_header, value.public_key, value.hmac_key[:31], []],  # 31-octet HMAC key
        [value.bbs_signature, value.bbs_header, value.public_key, value.hmac_key, [1]],
        [value.bbs_signature, value.bbs_header, value.public_key, value.hmac_key],
    ):
        with pytest.raises(DataIntegrityError) as raised:
            BaseProofValue.parse("u" + b64url_encode(b"\xd9\x5d\x02" + cbor2.dumps(broken)))
        assert raised.value.reason == "malformed_proof_value"
    with pytest.raises(DataIntegrityError):
        derive_proof(_derive(AGE, []), selective_pointers=[])  # a derived proof is no base proof


# --- keys ------------------------------------------------------------------------------------------------------------


def _did_document(method_type: str = "Multikey", relationship: str = "assertionMethod") -> DidDocument:
    did = "did:web:authority.example"
    return DidDocument.from_json(
        {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "verificationMethod": [
                {"id": f"{did}#bbs", "type": method_type, "controller": did, "publicKeyMultibase": ISSUER_MULTIKEY}
            ],
            relationship: [f"{did}#bbs"],
        }
    )


def test_key_lookup_through_a_did_document() -> None:
    """vc-di-bbs §2.2.1: the verification method dereferences to a ``Multikey``; it must be an assertion method."""
    lookup = did_public_key_lookup(lambda did: _did_document())
    assert lookup("did:web:authority.example#bbs") == ISSUER_PK
    for document, reason in (
        (_did_document(relationship="authentication"), "verification_method"),
        (_did_document(method_type="Ed25519VerificationKey2020"), "verification_method"),
    ):
        with pytest.raises(DataIntegrityError) as raised:
            did_public_key_lookup(lambda did, d=document: d)("did:web:authority.example#bbs")
        assert raised.value.reason == reason
    with pytest.raises(DataIntegrityError):
        lookup("did:web:authority.example#other")
