"""Unlinkability of bbs-2023 presentations (issue 14; vc-di-bbs §6.2): two derived proofs of the same credential
share nothing but the disclosed claims and what bbs-2023 discloses by design — and that list is exactly the one in
docs/privacy.md ("BBS / bbs-2023").

What a verifier sees of a presentation is split into named observables; the test compares two presentations of one
credential observable by observable, and checks the by-design ones carry little information about *which*
credential it was (they take only a handful of values across many credentials of one type).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from di_support import AGE_CREDENTIAL, AGE_MANDATORY, PARKING_MANDATORY, PARKING_PERMIT, issue

from ssi import bbs
from ssi.data_integrity import DerivedProofValue, derive_proof, presentation_header

PRIVACY_DOC = Path(__file__).resolve().parents[3] / "docs" / "privacy.md"
AUDIENCE = "https://portal.example.de"

#: the observables bbs-2023 reveals by design, each with the words docs/privacy.md uses for it
BY_DESIGN = {
    "revealed claims": "disclosed claims",
    "proof options": "proof options",
    "label map": "label map",
    "mandatory indexes": "mandatory indexes",
    "selective indexes": "selective indexes",
    "undisclosed statement count": "number of undisclosed statements",
}


def observables(presentation: dict[str, Any]) -> dict[str, Any]:
    """Everything a verifier (or colluding verifiers) can compare between two presentations."""
    value = DerivedProofValue.parse(presentation["proof"]["proofValue"])
    proof = bbs.octets_to_proof(value.bbs_proof)
    return {
        "revealed claims": {k: v for k, v in presentation.items() if k != "proof"},
        "proof options": {k: v for k, v in presentation["proof"].items() if k != "proofValue"},
        "label map": value.label_map,
        "mandatory indexes": value.mandatory_indexes,
        "selective indexes": value.selective_indexes,
        "undisclosed statement count": len(proof.commitments),
        "presentation header": value.presentation_header,
        "proof value": presentation["proof"]["proofValue"],
        "BBS proof": value.bbs_proof,
        **{f"BBS {name}": getattr(proof, name) for name in ("a_bar", "b_bar", "d")},
        **{f"BBS {name}": getattr(proof, name) for name in ("e_hat", "r1_hat", "r3_hat", "challenge")},
        **{f"BBS m^_{i}": m for i, m in enumerate(proof.commitments)},
    }


def _present(signed: dict[str, Any], pointers: list[str], nonce: str) -> dict[str, Any]:
    return derive_proof(signed, selective_pointers=pointers, presentation_header=presentation_header(nonce=nonce,
                        audience=AUDIENCE))  # fmt: skip


@pytest.mark.parametrize(
    ("document", "mandatory", "pointers"),
    [
        (AGE_CREDENTIAL, AGE_MANDATORY, ["/credentialSubject/age_over_18"]),
        (PARKING_PERMIT, PARKING_MANDATORY, ["/credentialSubject/address/locality"]),
    ],
    ids=["age", "parking-permit"],
)
def test_two_presentations_share_only_what_bbs_2023_discloses_by_design(
    document: dict[str, Any], mandatory: list[str], pointers: list[str]
) -> None:
    signed = issue(document, mandatory)
    first = observables(_present(signed, pointers, "nonce-of-verifier-a"))
    second = observables(_present(signed, pointers, "nonce-of-verifier-b"))
    shared = {name for name in first if first[name] == second[name]}
    assert shared == set(BY_DESIGN)
    # the BBS proof has no value in common at all (every point and scalar is freshly randomised)
    bbs_parts = [name for name in first if name.startswith("BBS ")]
    assert {first[n] for n in bbs_parts}.isdisjoint({second[n] for n in bbs_parts})


def test_the_same_verifier_nonce_still_gives_unrelated_proofs() -> None:
    """Fresh randomness per proof (BBS §6.7), not just a fresh presentation header."""
    signed = issue(AGE_CREDENTIAL, AGE_MANDATORY)
    first, second = (observables(_present(signed, [], "same")) for _ in range(2))
    assert first["presentation header"] == second["presentation header"]
    assert first["BBS proof"] != second["BBS proof"] and first["BBS challenge"] != second["BBS challenge"]


@pytest.mark.parametrize(
    ("document", "mandatory", "pointers", "at_most"),
    [
        (AGE_CREDENTIAL, AGE_MANDATORY, ["/credentialSubject/age_over_18"], 2),  # 2 blank nodes: 2! orders
        (PARKING_PERMIT, PARKING_MANDATORY, ["/credentialSubject/address/locality"], 6),  # 3 blank nodes: 3!
    ],
    ids=["age", "parking-permit"],
)
def test_per_credential_artifacts_take_few_values_across_credentials(
    document: dict[str, Any], mandatory: list[str], pointers: list[str], at_most: int
) -> None:
    """The label map and the indexes depend on the credential's HMAC key (vc-di-bbs §6.2.2 "Linkage via VC
    Processing"): with n blank nodes they take at most n! values, whoever the holder — a weak handle, which is why
    our credentials keep n small (no ids, little nesting)."""
    seen = set()
    for _ in range(16):
        o = observables(_present(issue(document, mandatory), pointers, "n"))
        seen.add((tuple(sorted(o["label map"].items())), o["mandatory indexes"], o["selective indexes"]))
    assert 1 <= len(seen) <= at_most


def test_privacy_doc_lists_exactly_these_observables() -> None:
    text = PRIVACY_DOC.read_text(encoding="utf-8")
    section = text.split("## BBS / bbs-2023", 1)[1].split("\n## ", 1)[0]
    for words in BY_DESIGN.values():
        assert words in section, words
