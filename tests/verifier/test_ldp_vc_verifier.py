"""The verifier's checks of ldp_vc (bbs-2023) presentations, without HTTP (verifier/ldp_vc.py): each refusal with
its reason, the binding to the request (OpenID4VP 1.0 §14.2.2), the query rules (§6.1) and the ``state`` a request
without holder binding needs (§5.3)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from verifier_support import Accreditation, FakeTrust

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssi" / "data_integrity"))
from di_support import AGE_CREDENTIAL, ISSUER_DID, issue

from ssi.clock import FrozenClock
from ssi.data_integrity import derive_proof
from ssi.dcql import DcqlQuery
from ssi.errors import CredentialRefused, DataIntegrityError, DcqlError, KeyBindingError
from ssi.ldp_vc import VC_TYPE_IRI, presentation_binding, selective_pointers
from ssi.vc import parse_datetime_stamp
from verifier.ldp_vc import LdpVcVerifier, check_ldp_vc_query, check_request_state
from verifier.presentations import CredentialVerifier, verify_vp_token

AGE_IRI = "https://ns.govssi.de/credentials#AgeCredential"
CLIENT_ID = "x509_hash:verifier"
NONCE = "n-0123456789"
NOW = parse_datetime_stamp(AGE_CREDENTIAL["validFrom"], "validFrom").timestamp() + 3600


def query(binding: bool = False, path: tuple[str, ...] = ("credentialSubject", "age_over_18")) -> DcqlQuery:
    return DcqlQuery.parse(
        {
            "credentials": [
                {
                    "id": "age",
                    "format": "ldp_vc",
                    "meta": {"type_values": [[VC_TYPE_IRI, AGE_IRI]]},
                    "require_cryptographic_holder_binding": binding,
                    "claims": [{"path": list(path)}],
                }
            ]
        }
    )


def present(document: dict[str, Any], *, nonce: str = NONCE, client_id: str = CLIENT_ID, **changes: Any) -> Any:
    signed = issue({**copy.deepcopy(document), **changes}, ["/issuer", "/validUntil"])
    return derive_proof(
        signed,
        selective_pointers=selective_pointers([("credentialSubject", "age_over_18")]),
        presentation_header=presentation_binding(nonce=nonce, client_id=client_id),
    )


@pytest.fixture
def trust() -> FakeTrust:
    trust = FakeTrust()
    trust.accreditations[ISSUER_DID] = Accreditation(ISSUER_DID, (AGE_IRI,))
    return trust


def verifier(trust: FakeTrust | None, now: float = NOW) -> LdpVcVerifier:
    return LdpVcVerifier(resolve=None, trust=trust, clock=FrozenClock(now), skew=0)


def check(trust: FakeTrust | None, presentation: Any, *, now: float = NOW, binding: bool = False) -> Any:
    return verifier(trust, now).verify(
        presentation, query=query(binding).credentials[0], client_id=CLIENT_ID, nonce=NONCE
    )


def test_a_bound_derived_presentation_of_an_accredited_issuer_is_verified(trust: FakeTrust) -> None:
    verified = check(trust, present(AGE_CREDENTIAL))
    assert verified.issuer == ISSUER_DID and verified.vct == AGE_IRI and verified.key_route == "did"
    assert verified.description.holder_binding is False and verified.status.state == "unchecked"
    assert verified.description.claims["credentialSubject"] == {"age_over_18": True}


@pytest.mark.parametrize(
    ("nonce", "client_id"), [("another-nonce", CLIENT_ID), (NONCE, "x509_hash:someone-else")], ids=["nonce", "aud"]
)
def test_a_presentation_bound_to_another_request_rejects_the_response(
    trust: FakeTrust, nonce: str, client_id: str
) -> None:
    """§14.2.2: bound to the Client Identifier and the nonce; "If any Verifiable Presentation in the response does not
    contain the correct nonce value, the response MUST be rejected" (KeyBindingError: verify_vp_token re-raises)."""
    with pytest.raises(KeyBindingError) as err:
        check(trust, present(AGE_CREDENTIAL, nonce=nonce, client_id=client_id))
    assert err.value.reason == "presentation_binding_mismatch"
    credentials = CredentialVerifier(
        anchors=[], status=None, trust=trust, clock=FrozenClock(NOW), ldp_vc=verifier(trust)
    )  # type: ignore[arg-type]
    token = {"age": [present(AGE_CREDENTIAL, nonce=nonce, client_id=client_id)]}
    with pytest.raises(KeyBindingError):
        verify_vp_token(token, query(), credentials, client_id=CLIENT_ID, nonce=NONCE)


def test_a_tampered_claim_fails_the_derived_proof(trust: FakeTrust) -> None:
    """vc-di-bbs §3.4.7: the revealed statements are what the BBS proof covers."""
    presentation = present(AGE_CREDENTIAL)
    presentation["credentialSubject"]["age_over_18"] = False
    with pytest.raises(DataIntegrityError):
        check(trust, presentation)


@pytest.mark.parametrize(
    ("changes", "revealed", "now", "reason"),
    [
        ({}, [], NOW + 30 * 86400, "credential_expired"),  # VCDM 2.0 §4.9 (validUntil is always revealed)
        ({}, ["/validFrom"], NOW - 2 * 86400, "credential_not_yet_valid"),  # when validFrom is revealed
        ({"credentialStatus": {"type": "BitstringStatusListEntry"}}, ["/credentialStatus"], NOW, "status_unsupported"),
        ({"type": ["VerifiableCredential", "AgeCredential", "ResidentParkingPermitCredential"]}, [], NOW,
         "credential_type_unknown"),
    ],
    ids=["expired", "not-yet-valid", "status-entry", "two-types"],
)  # fmt: skip
def test_credential_refusals(
    trust: FakeTrust, changes: dict[str, Any], revealed: list[str], now: float, reason: str
) -> None:
    signed = issue({**copy.deepcopy(AGE_CREDENTIAL), **changes}, ["/issuer", "/validUntil", *revealed])
    presentation = derive_proof(
        signed,
        selective_pointers=["/credentialSubject/age_over_18"],
        presentation_header=presentation_binding(nonce=NONCE, client_id=CLIENT_ID),
    )
    with pytest.raises(CredentialRefused) as err:
        check(trust, presentation, now=now)
    assert err.value.reason == reason


def test_the_issuer_must_be_the_key_owner(trust: FakeTrust) -> None:
    """VCDM 2.0 §4.7: the proof's key must be the issuer's — a key holder cannot sign in another issuer's name."""
    with pytest.raises(CredentialRefused) as err:
        check(trust, present(AGE_CREDENTIAL, issuer="did:ethr:0x539:0x" + "11" * 20))
    assert err.value.reason == "issuer_key_mismatch"


def test_accreditation_is_required_for_the_type(trust: FakeTrust) -> None:
    """The trusted-issuer registry decides per expanded type IRI; without a registry the verifier fails closed."""
    trust.accreditations[ISSUER_DID] = Accreditation(ISSUER_DID, ("https://ns.govssi.de/credentials#Other",))
    with pytest.raises(CredentialRefused) as err:
        check(trust, present(AGE_CREDENTIAL))
    assert err.value.reason == "issuer_not_accredited_for_type"
    with pytest.raises(CredentialRefused) as err:
        check(None, present(AGE_CREDENTIAL))
    assert err.value.reason == "trust_unavailable"
    trust.down = True
    with pytest.raises(CredentialRefused) as err:
        check(trust, present(AGE_CREDENTIAL))
    assert err.value.reason == "trust_unavailable"


def test_holder_binding_cannot_be_required() -> None:
    """§6.1: require_cryptographic_holder_binding "default value is true" — baseline bbs-2023 cannot satisfy it."""
    with pytest.raises(DcqlError) as err:
        check_ldp_vc_query(query(binding=True).credentials[0])
    assert err.value.reason == "dcql_holder_binding_unsupported"
    check_ldp_vc_query(query(binding=False).credentials[0])


def test_state_of_at_least_128_bits_without_holder_binding() -> None:
    """§5.3: the Verifier MUST include a state "with at least 128 bits of entropy" if "at least one Presentation
    without Holder Binding is requested"."""
    check_request_state(query(binding=False), "A" * 22)  # 22 base64url characters: 132 bits
    for state in (None, "A" * 21):
        with pytest.raises(ValueError, match="128"):
            check_request_state(query(binding=False), state)
    check_request_state(query(binding=True), None)  # with holder binding the nonce binds the response


def test_a_presentation_is_a_json_object(trust: FakeTrust) -> None:
    with pytest.raises(DataIntegrityError) as err:
        check(trust, "not-an-object")
    assert err.value.reason == "malformed_presentation"
