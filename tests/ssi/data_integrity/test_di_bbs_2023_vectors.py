"""vc-di-bbs "Baseline Enhanced Example" (the windsurfing credential), reproduced step by step.

The base proof is deterministic (BBS signatures are, draft §3.6.1; the HMAC key is given) and must come out byte for
byte; the derived proof's BBS proof is randomised — the example's mocked randomness is not given exactly enough to
replay — so for the derived proof we reproduce everything but the BBS proof bytes (reveal document, label map,
mandatory and selective indexes, presentation header) and verify the specification's own derived document.
"""

from __future__ import annotations

import copy
import hashlib

import pytest
from di_vectors import (
    BASE_PROOF_VALUE,
    CANONICAL_NQUADS,
    CREATED,
    DERIVED_DOCUMENT,
    DERIVED_LABEL_MAP,
    DERIVED_MANDATORY_INDEXES,
    DERIVED_SELECTIVE_INDEXES,
    HMAC_CANONICAL_NQUADS,
    HMAC_KEY,
    MANDATORY_HASH,
    MANDATORY_POINTERS,
    PRESENTATION_HEADER,
    PROOF_HASH,
    PUBLIC_KEY,
    SECRET_KEY,
    SELECTIVE_POINTERS,
    VERIFICATION_METHOD,
    WIND_DOCUMENT,
)

from ssi import bbs
from ssi.data_integrity import (
    BaseProofValue,
    DerivedProofValue,
    canonical_nquads,
    create_base_proof,
    derive_proof,
    did_public_key_lookup,
    verify_base_proof,
    verify_derived_proof,
)
from ssi.data_integrity._jsonld import canonicalize, document_quads, nquad
from ssi.data_integrity._selective import canonicalize_and_group, create_shuffled_id_label_map_function
from ssi.errors import DataIntegrityError

LOOKUP = did_public_key_lookup(lambda did: pytest.fail(f"a did:key must not be resolved: {did}"))


def _signed() -> dict:
    return create_base_proof(
        WIND_DOCUMENT,
        secret_key=SECRET_KEY,
        public_key=PUBLIC_KEY,
        verification_method=VERIFICATION_METHOD,
        mandatory_pointers=MANDATORY_POINTERS,
        created=CREATED,
        hmac_key=HMAC_KEY,
    )


def test_key_material_and_did_key() -> None:
    """The example's key pair is a BBS key pair; its did:key verification method carries the Multikey (0xeb01)."""
    assert bbs.sk_to_pk(SECRET_KEY) == PUBLIC_KEY
    multikey = bbs.public_key_to_multikey(PUBLIC_KEY)
    assert f"did:key:{multikey}#{multikey}" == VERIFICATION_METHOD
    assert LOOKUP(VERIFICATION_METHOD) == PUBLIC_KEY


def test_rdfc_canonical_form() -> None:
    """RDFC-1.0 of the unsigned document (the example "canonical document")."""
    canonical, _ = canonicalize(document_quads(WIND_DOCUMENT))
    assert sorted(nquad(q) for q in canonical) == CANONICAL_NQUADS


def test_hmac_shuffled_labels_and_mandatory_grouping() -> None:
    """vc-di-bbs §3.2.1 shuffled labels ("canonicalized HMAC document") and §3.4.2 grouping: mandatory statements
    are the ones the mandatory pointers select."""
    grouped = canonicalize_and_group(
        WIND_DOCUMENT, create_shuffled_id_label_map_function(HMAC_KEY), {"mandatory": MANDATORY_POINTERS}
    )
    assert grouped.nquads == HMAC_CANONICAL_NQUADS
    assert sorted(grouped.groups["mandatory"].matching) == [0, 1, 2, 8, 9, 11, 14, 15, 22, 23, 24, 25, 26, 27]
    mandatory = list(grouped.groups["mandatory"].matching.values())
    assert hashlib.sha256("".join(mandatory).encode()).digest() == MANDATORY_HASH


def test_base_proof_is_reproduced_byte_for_byte() -> None:
    """§3.4.1-§3.4.5: proof hash, mandatory hash, BBS signature and the serialized proof value."""
    signed = _signed()
    assert signed["proof"]["proofValue"] == BASE_PROOF_VALUE
    assert {k: v for k, v in signed.items() if k != "proof"} == WIND_DOCUMENT
    value = BaseProofValue.parse(BASE_PROOF_VALUE)
    assert value.bbs_header == PROOF_HASH + MANDATORY_HASH
    assert value.hmac_key == HMAC_KEY and value.public_key == PUBLIC_KEY
    assert list(value.mandatory_pointers) == MANDATORY_POINTERS
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    config["@context"] = WIND_DOCUMENT["@context"]
    assert hashlib.sha256(canonical_nquads(config).encode()).digest() == PROOF_HASH


def test_holder_verifies_the_base_proof() -> None:
    assert verify_base_proof(_signed(), LOOKUP) == WIND_DOCUMENT


def test_derived_proof_matches_the_example_except_for_the_randomised_bbs_proof() -> None:
    """§3.4.6 / §3.3.3: the same reveal document, label map, indexes and presentation header as the example."""
    derived = derive_proof(_signed(), selective_pointers=SELECTIVE_POINTERS, presentation_header=PRESENTATION_HEADER)
    assert {k: v for k, v in derived.items() if k != "proof"} == {
        k: v for k, v in DERIVED_DOCUMENT.items() if k != "proof"
    }
    ours = DerivedProofValue.parse(derived["proof"]["proofValue"])
    theirs = DerivedProofValue.parse(DERIVED_DOCUMENT["proof"]["proofValue"])
    assert ours.label_map == theirs.label_map == DERIVED_LABEL_MAP
    assert list(ours.mandatory_indexes) == list(theirs.mandatory_indexes) == DERIVED_MANDATORY_INDEXES
    assert list(ours.selective_indexes) == list(theirs.selective_indexes) == DERIVED_SELECTIVE_INDEXES
    assert ours.presentation_header == theirs.presentation_header == PRESENTATION_HEADER
    assert len(ours.bbs_proof) == len(theirs.bbs_proof) and ours.bbs_proof != theirs.bbs_proof
    assert {k: v for k, v in derived["proof"].items() if k != "proofValue"} == {
        k: v for k, v in DERIVED_DOCUMENT["proof"].items() if k != "proofValue"
    }
    verify_derived_proof(derived, LOOKUP, expected_presentation_header=PRESENTATION_HEADER)


def test_the_examples_derived_document_verifies() -> None:
    """§3.4.7 on the specification's own derived document (another implementation's proof)."""
    verified = verify_derived_proof(DERIVED_DOCUMENT, LOOKUP, expected_presentation_header=PRESENTATION_HEADER)
    assert verified.document == {k: v for k, v in DERIVED_DOCUMENT.items() if k != "proof"}
    assert verified.presentation_header == PRESENTATION_HEADER
    assert verified.verification_method == VERIFICATION_METHOD


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject", "sailNumber"), "Earth102"),  # a mandatory statement
        (("credentialSubject", "boards", 1, "brand"), "Naish"),  # a selectively disclosed statement
        (("issuer",), "https://vc.example/other"),
    ],
)
def test_the_examples_derived_document_fails_when_changed(path: tuple, value: object) -> None:
    changed = copy.deepcopy(DERIVED_DOCUMENT)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(DataIntegrityError) as raised:
        verify_derived_proof(changed, LOOKUP, expected_presentation_header=PRESENTATION_HEADER)
    assert raised.value.reason == "bbs_challenge_mismatch"
