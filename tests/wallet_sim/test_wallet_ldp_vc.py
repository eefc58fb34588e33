"""The wallet's checks of a received bbs-2023 credential (wallet_sim/ldp_vc.py; OpenID4VCI 1.0 A.1.2.4) and its
presentations: a fresh derived proof every time, revealing the chosen claims only."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssi" / "data_integrity"))
from di_support import AGE_CREDENTIAL, ISSUER_PK, ISSUER_SK, issue

from ssi import bbs
from ssi.clock import FrozenClock
from ssi.data_integrity import DerivedProofValue, create_base_proof
from ssi.errors import CredentialError
from ssi.vc import parse_datetime_stamp
from wallet_sim.ldp_vc import check_ldp_vc_credentials, present_ldp_vc

CONFIG = {"format": "ldp_vc", "credential_definition": {"type": ["VerifiableCredential", "AgeCredential"]}}
NOW = FrozenClock(parse_datetime_stamp(AGE_CREDENTIAL["validFrom"], "validFrom").timestamp() + 60)
ETHR = "did:ethr:0x539:0x" + "ab" * 20


def signed(**changes: Any) -> dict[str, Any]:
    return issue({**copy.deepcopy(AGE_CREDENTIAL), **changes}, ["/issuer", "/validUntil"])


def ethr_signed(issuer: str = ETHR, method: str = f"{ETHR}#delegate-3") -> dict[str, Any]:
    return create_base_proof(
        {**copy.deepcopy(AGE_CREDENTIAL), "issuer": issuer},
        secret_key=ISSUER_SK,
        public_key=ISSUER_PK,
        verification_method=method,
        mandatory_pointers=["/issuer", "/validUntil"],
    )


def test_a_good_credential_is_accepted_with_its_type_and_validity() -> None:
    (checked,) = check_ldp_vc_credentials([signed()], configuration=CONFIG, issuer_did=None, clock=NOW)
    assert checked.key_id is None and checked.claims == AGE_CREDENTIAL["credentialSubject"]
    assert checked.payload["vct"] == "https://ns.govssi.de/credentials#AgeCredential"
    assert checked.payload["exp"] == parse_datetime_stamp(AGE_CREDENTIAL["validUntil"], "validUntil").timestamp()


def test_a_did_ethr_issuer_must_be_the_one_the_issuer_metadata_names() -> None:
    """Without a DID resolver the wallet takes the key in the base proof only for the DID the credential issuer's
    metadata (fetched over HTTPS from that issuer) names."""
    (checked,) = check_ldp_vc_credentials([ethr_signed()], configuration=CONFIG, issuer_did=ETHR, clock=NOW)
    assert checked.document["issuer"] == ETHR
    with pytest.raises(CredentialError) as err:
        check_ldp_vc_credentials(
            [ethr_signed()], configuration=CONFIG, issuer_did="did:ethr:0x539:0x" + "cd" * 20, clock=NOW
        )
    assert err.value.reason == "issuer_key_unknown"
    with pytest.raises(CredentialError) as err:
        check_ldp_vc_credentials(
            [ethr_signed(method="did:ethr:0x539:0x" + "cd" * 20 + "#k")],
            configuration=CONFIG,
            issuer_did=ETHR,
            clock=NOW,
        )
    assert err.value.reason == "issuer_key_mismatch"


@pytest.mark.parametrize(
    ("credential", "reason"),
    [
        ("a string", "bad_credential"),
        ({**AGE_CREDENTIAL}, "bad_credential"),  # no proof
    ],
)
def test_malformed_credentials_are_refused(credential: Any, reason: str) -> None:
    with pytest.raises(CredentialError) as err:
        check_ldp_vc_credentials([credential], configuration=CONFIG, issuer_did=None, clock=NOW)
    assert err.value.reason == reason


def test_tampered_wrong_type_and_expired_credentials_are_refused() -> None:
    tampered = signed()
    tampered["credentialSubject"]["age_over_65"] = True
    with pytest.raises(CredentialError):
        check_ldp_vc_credentials([tampered], configuration=CONFIG, issuer_did=None, clock=NOW)
    other = {**CONFIG, "credential_definition": {"type": ["VerifiableCredential", "ResidentParkingPermitCredential"]}}
    with pytest.raises(CredentialError) as err:
        check_ldp_vc_credentials([signed()], configuration=other, issuer_did=None, clock=NOW)
    assert err.value.reason == "wrong_type"
    with pytest.raises(CredentialError) as err:
        check_ldp_vc_credentials(
            [signed()], configuration=CONFIG, issuer_did=None, clock=FrozenClock(NOW() + 30 * 86400)
        )
    assert err.value.reason == "vc_expired"


def test_every_presentation_is_a_fresh_proof_of_the_chosen_claims() -> None:
    credential = signed()
    paths = [("credentialSubject", "age_over_18")]
    first = present_ldp_vc(credential, paths, nonce="n1", client_id="x509_hash:v")
    second = present_ldp_vc(credential, paths, nonce="n1", client_id="x509_hash:v")
    assert first["credentialSubject"] == second["credentialSubject"] == {"age_over_18": True}
    a, b = (DerivedProofValue.parse(p["proof"]["proofValue"]) for p in (first, second))
    assert a.presentation_header == b.presentation_header and a.bbs_proof != b.bbs_proof
    assert len(bbs.octets_to_proof(a.bbs_proof).commitments) == len(bbs.octets_to_proof(b.bbs_proof).commitments)
