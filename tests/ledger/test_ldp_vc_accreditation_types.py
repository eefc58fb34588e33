"""Which credential type an accreditation names for an ldp_vc configuration (issue 14): the expanded type IRI, as
OpenID4VP 1.0 B.1.1 compares ``type_values`` and govssi's verifier asks the trusted-issuer registry — when the
configuration's contexts are bundled (nothing is fetched); the type as written otherwise."""

from __future__ import annotations

from ledger.trust import credential_types_of

V2 = "https://www.w3.org/ns/credentials/v2"
GOVSSI = "https://ns.govssi.de/credentials/v1"


def test_ldp_vc_types_are_expanded_with_bundled_contexts() -> None:
    configurations = {
        "age": {
            "format": "ldp_vc",
            "credential_definition": {"@context": [V2, GOVSSI], "type": ["VerifiableCredential", "AgeCredential"]},
        },
        "remote": {
            "format": "ldp_vc",
            "credential_definition": {
                "@context": [V2, "https://example.org/context/v1"],
                "type": ["VerifiableCredential", "Diploma"],
            },
        },
        "undefined": {
            "format": "ldp_vc",
            "credential_definition": {"@context": [V2, GOVSSI], "type": ["VerifiableCredential", "NoSuchType"]},
        },
    }
    assert credential_types_of(configurations) == (
        "https://ns.govssi.de/credentials#AgeCredential",
        "Diploma",
        "NoSuchType",
    )
