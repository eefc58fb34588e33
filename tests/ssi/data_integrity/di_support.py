"""govssi's own bbs-2023 test credentials: an age credential with ``age_over_NN`` booleans and a residents' parking
permit (Bewohnerparkausweis), issued by one fixed test authority key."""

from __future__ import annotations

import copy
from typing import Any

from ssi import bbs
from ssi.data_integrity import CREDENTIALS_V2, GOVSSI_V1, create_base_proof, did_public_key_lookup

ISSUER_SK = bbs.keygen(b"govssi test authority key material")
ISSUER_PK = bbs.sk_to_pk(ISSUER_SK)
ISSUER_MULTIKEY = bbs.public_key_to_multikey(ISSUER_PK)
ISSUER_DID = f"did:key:{ISSUER_MULTIKEY}"
VERIFICATION_METHOD = f"{ISSUER_DID}#{ISSUER_MULTIKEY}"
LOOKUP = did_public_key_lookup(lambda did: None)

AGE_CREDENTIAL: dict[str, Any] = {
    "@context": [CREDENTIALS_V2, GOVSSI_V1],
    "type": ["VerifiableCredential", "AgeCredential"],
    "issuer": ISSUER_DID,
    "validFrom": "2026-11-23T00:00:00Z",
    "validUntil": "2026-11-30T00:00:00Z",
    "credentialSubject": {
        "age_over_12": True,
        "age_over_14": True,
        "age_over_16": True,
        "age_over_18": True,
        "age_over_21": True,
        "age_over_65": False,
    },
}
AGE_MANDATORY = ["/issuer", "/validUntil"]

PARKING_PERMIT: dict[str, Any] = {
    "@context": [CREDENTIALS_V2, GOVSSI_V1],
    "type": ["VerifiableCredential", "ResidentParkingPermitCredential"],
    "issuer": ISSUER_DID,
    "validUntil": "2027-11-23T00:00:00Z",
    "credentialSubject": {
        "family_name": "MUSTERMANN",
        "given_name": "ERIKA",
        "address": {"street_address": "HEIDESTRASSE 17", "postal_code": "51147", "locality": "KÖLN"},
        "license_plate": "K-EM 1964",
        "parking_zone": "K-17",
        "valid_until": "2027-11-23",
    },
}
PARKING_MANDATORY = ["/issuer", "/validUntil", "/credentialSubject/parking_zone"]


def issue(document: dict[str, Any], mandatory: list[str], **kwargs: Any) -> dict[str, Any]:
    return create_base_proof(
        copy.deepcopy(document),
        secret_key=ISSUER_SK,
        public_key=ISSUER_PK,
        verification_method=VERIFICATION_METHOD,
        mandatory_pointers=mandatory,
        **kwargs,
    )
