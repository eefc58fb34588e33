"""Issuing ldp_vc credentials secured with bbs-2023 (issue 14): the type documents, the credential configuration
(OpenID4VCI 1.0 §12.2.4, A.1.2), the Credential Endpoint without key proofs (§8.2, §14.2), what a credential
contains (VCDM 2.0 §4, vc-di-bbs) and the issuer's BBS key file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from ldp_vc_support import AGE_BBS, LDP_SAMPLE_CLAIMS, PARKING_BBS
from protocol_support import InProcessWallet

from issuer import Issuer
from issuer.bbs_key import BbsKey, load_or_create_bbs_key, read_bbs_key_file, write_bbs_key_file
from issuer.credential_type import CredentialTypeError, load_credential_type, shipped_credential_types
from issuer.documents import credential_issuer_metadata
from issuer.ldp_vc import build_credential
from ssi import bbs
from ssi.clock import FrozenClock
from ssi.data_integrity import (
    BaseProofValue,
    derive_proof,
    did_public_key_lookup,
    verify_base_proof,
    verify_derived_proof,
)
from ssi.errors import CredentialRequestDenied, InvalidProof, InvalidToken, KeyFileError
from ssi.keys import SoftwareSigner
from ssi.oid4vci import CredentialResponse
from ssi.vc import check_credential

LOOKUP = did_public_key_lookup(lambda did: None)  # did:key only: the issuer here has no chain


def issue(wallet: InProcessWallet, type_id: str, body: dict[str, Any] | None = None) -> CredentialResponse:
    offer = wallet.issuer.offers.create(wallet.tenant, type_id, LDP_SAMPLE_CLAIMS[type_id], tx_code=False)
    token = wallet.token(offer)
    response = wallet.credential(token, body or {"credential_configuration_id": type_id})
    assert isinstance(response, CredentialResponse)
    return response


# -- type documents ----------------------------------------------------------------------------------------------------


def _document(type_id: str = AGE_BBS) -> dict[str, Any]:
    return copy.deepcopy(dict(shipped_credential_types()[type_id].document))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cryptosuite": "ecdsa-sd-2023"}, "bbs-2023"),
        ({"vc_type": "NoSuchCredential"}, "vc_type"),
        ({"mandatory_pointers": ["/issuer", "/credentialSubject/age_over_18"]}, "top-level"),
        ({"mandatory_pointers": ["/validUntil"]}, "/issuer"),
        ({"requires_approval": True}, "requires_approval"),
    ],
)
def test_ldp_vc_type_documents_are_checked(change: dict[str, Any], message: str) -> None:
    """Mandatory pointers name top-level members only (what the verifier's query asks decides the subject claims);
    every claim and the type are terms of the bundled context (nothing may be dropped by JSON-LD)."""
    with pytest.raises(CredentialTypeError, match=message):
        load_credential_type({**_document(), **change})


def test_ldp_vc_claims_must_be_defined_in_the_context_and_disclosable() -> None:
    document = _document()
    document["claims"][0] = {**document["claims"][0], "path": ["age_over_99"]}
    with pytest.raises(CredentialTypeError, match="not defined"):
        load_credential_type(document)
    document = _document()
    document["claims"][0] = {**document["claims"][0], "sd": "never"}
    with pytest.raises(CredentialTypeError, match="selectively disclosable"):
        load_credential_type(document)


def test_ldp_vc_configuration_has_no_key_binding(issuer: Issuer) -> None:
    """§12.2.4: cryptographic_binding_methods_supported "MUST be present when Cryptographic Key Binding is required
    for a Credential, and omitted otherwise"; proof_types_supported "omitted otherwise"; A.1.2.2:
    credential_definition with @context and type REQUIRED; HAIP 1.0 §4.6 scope."""
    tenant = issuer.context.tenant("demo")
    configs = credential_issuer_metadata(issuer.context, tenant)["credential_configurations_supported"]
    age = configs[AGE_BBS]
    assert age["format"] == "ldp_vc" and age["scope"] == AGE_BBS
    assert age["credential_definition"] == {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://ns.govssi.de/credentials/v1"],
        "type": ["VerifiableCredential", "AgeCredential"],
    }
    assert "cryptographic_binding_methods_supported" not in age and "proof_types_supported" not in age
    assert age["credential_signing_alg_values_supported"] == ["bbs-2023"]
    paths = [c["path"] for c in configs[PARKING_BBS]["credential_metadata"]["claims"]]
    assert ["credentialSubject", "address", "locality"] in paths  # B.2: paths from the credential's root
    assert "proof_types_supported" in configs["bewohnerparkausweis"]  # SD-JWT VC types stay bound


# -- the credential endpoint -------------------------------------------------------------------------------------------


def test_issued_credential_is_a_bbs_2023_vc_with_short_day_granular_validity(
    wallet: InProcessWallet, clock: FrozenClock
) -> None:
    """A.1.2.4: "The value of the credential claim ... MUST be a JSON object"; VCDM 2.0 §4; no id, no status
    (docs/privacy.md); validFrom the start of the day, validUntil seven days later; the base proof verifies with the
    key its verification method names, and carries the mandatory pointers of the type."""
    response = issue(wallet, AGE_BBS)
    (credential,) = response.credentials
    assert isinstance(credential, dict) and response.notification_id
    assert json.loads(json.dumps(response.to_json()))["credentials"][0]["credential"] == credential
    check_credential(credential, clock=clock)
    assert credential["type"] == ["VerifiableCredential", "AgeCredential"]
    assert credential["credentialSubject"] == LDP_SAMPLE_CLAIMS[AGE_BBS]
    assert "id" not in credential and "credentialStatus" not in credential
    assert "id" not in credential["credentialSubject"]
    day = int(clock()) // 86400 * 86400
    assert credential["validFrom"] == _stamp(day) and credential["validUntil"] == _stamp(day + 7 * 86400)
    proof = credential["proof"]
    assert proof["cryptosuite"] == "bbs-2023" and "created" not in proof  # vc-di-bbs §6.2.4
    assert proof["verificationMethod"].startswith(credential["issuer"] + "#")  # did:key without a chain
    verify_base_proof(credential, LOOKUP)
    value = BaseProofValue.parse(proof["proofValue"])
    assert value.mandatory_pointers == ("/issuer", "/validUntil")
    keys = wallet.issuer.context.keys(wallet.tenant)
    assert keys.bbs is not None and value.public_key == keys.bbs.public_key


def test_until_claim_caps_validity_at_the_following_midnight(wallet: InProcessWallet, clock: FrozenClock) -> None:
    claims = {**LDP_SAMPLE_CLAIMS[PARKING_BBS], "valid_until": _date(clock() + 3 * 86400)}
    offer = wallet.issuer.offers.create(wallet.tenant, PARKING_BBS, claims, tx_code=False)
    (credential,) = wallet.credential(wallet.token(offer), {"credential_configuration_id": PARKING_BBS}).credentials
    assert isinstance(credential, dict)
    day = int(clock()) // 86400 * 86400
    assert credential["validUntil"] == _stamp(day + 4 * 86400)  # the day after valid_until, not 14 days


def test_a_holder_derives_presentations_from_the_issued_credential(wallet: InProcessWallet) -> None:
    (credential,) = issue(wallet, PARKING_BBS).credentials
    assert isinstance(credential, dict)
    pointers = ["/credentialSubject/parking_zone"]
    presented = derive_proof(credential, selective_pointers=pointers, presentation_header=b"r")
    verified = verify_derived_proof(presented, LOOKUP, expected_presentation_header=b"r")
    assert verified.document["credentialSubject"] == {"parking_zone": "K3"}


def test_key_proofs_are_refused_for_an_unbound_credential(wallet: InProcessWallet) -> None:
    """§14.2: without Cryptographic Key Binding "the proof_types_supported parameter is also absent, indicating to
    the Wallet to omit the proofs parameter" — a proof would bind nothing, so the issuer does not pretend it does."""
    body = {"credential_configuration_id": AGE_BBS, "proofs": {"jwt": wallet.proofs([SoftwareSigner.generate()])}}
    offer = wallet.issuer.offers.create(wallet.tenant, AGE_BBS, LDP_SAMPLE_CLAIMS[AGE_BBS], tx_code=False)
    with pytest.raises(InvalidProof) as err:
        wallet.credential(wallet.token(offer), body)
    assert err.value.reason == "unexpected_proofs"


def test_the_offer_is_delivered_once(wallet: InProcessWallet) -> None:
    """The access token is spent on delivery (DPoP-bound, one-time): a second request gets nothing."""
    offer = wallet.issuer.offers.create(wallet.tenant, AGE_BBS, LDP_SAMPLE_CLAIMS[AGE_BBS], tx_code=False)
    token = wallet.token(offer)
    wallet.credential(token, {"credential_configuration_id": AGE_BBS})
    with pytest.raises(InvalidToken) as err:
        wallet.credential(token, {"credential_configuration_id": AGE_BBS})
    assert err.value.reason == "spent_token"


def test_claims_that_expire_before_delivery_are_not_issued(clock: FrozenClock) -> None:
    """An offer made before its until-claim date that is redeemed after it issues nothing (the offer desk refuses
    such claims up front; delivery checks again, as the day may have passed in between)."""
    ctype = shipped_credential_types()[PARKING_BBS]
    claims = {**LDP_SAMPLE_CLAIMS[PARKING_BBS], "valid_until": _date(clock() - 86400)}
    with pytest.raises(CredentialRequestDenied) as err:
        build_credential(ctype, claims, issuer="did:example:issuer", now=clock())
    assert err.value.reason == "expired_claims"


# -- the BBS key file --------------------------------------------------------------------------------------------------


def test_bbs_key_file_round_trip_and_refusals(tmp_path: Path) -> None:
    """Encrypted at rest (scrypt + AES-256-GCM, header as associated data), never overwritten; a wrong passphrase and
    a tampered public key fail alike."""
    path = tmp_path / "demo.bbs.json"
    key = load_or_create_bbs_key(path, passphrase="pw")
    assert load_or_create_bbs_key(path, passphrase="pw") == key
    assert bbs.sk_to_pk(key.secret_key) == key.public_key
    assert key.secret_key.hex() not in path.read_text() and oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(KeyFileError) as err:
        read_bbs_key_file(path, passphrase="wrong")
    assert err.value.reason == "decrypt_failed"
    doc = json.loads(path.read_text())
    doc["public_key"] = BbsKey.generate().multikey
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError) as err:
        read_bbs_key_file(tampered, passphrase="pw")
    assert err.value.reason == "decrypt_failed"
    with pytest.raises(KeyFileError) as err:
        write_bbs_key_file(path, BbsKey.generate(), passphrase="pw")
    assert err.value.reason == "exists"
    assert "secret" not in repr(key) and key.secret_key.hex() not in repr(key)


def _stamp(seconds: float) -> str:
    from ssi.vc import format_datetime_stamp

    return format_datetime_stamp(seconds)


def _date(seconds: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).date().isoformat()


def test_shipped_ldp_vc_types() -> None:
    """Issue 14: the parking permit and an age credential with age_over_NN booleans, German and English; every
    credential of a type has the same shape (all claims mandatory: the number of statements is visible, docs/privacy.md)
    and a validity of days, not years."""
    shipped = {k: v for k, v in shipped_credential_types().items() if v.is_ldp_vc}
    assert set(shipped) == {PARKING_BBS, AGE_BBS}
    for ctype in shipped.values():
        assert {d.locale for d in ctype.display} == {"de-DE", "en-US"}
        assert all(c.mandatory for c in ctype.claims) and ctype.validity_days <= 14
        assert ctype.check_claims(LDP_SAMPLE_CLAIMS[ctype.id]) == LDP_SAMPLE_CLAIMS[ctype.id]
    assert shipped[AGE_BBS].vct("https://x") == "https://ns.govssi.de/credentials#AgeCredential"
