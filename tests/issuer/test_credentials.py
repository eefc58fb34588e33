"""Credential Endpoint rules (OpenID4VCI 1.0 §8, Appendix F, RFC 6750, RFC 9449 §7), batch issuance and what an
issued SD-JWT VC contains (HAIP 1.0 §6, SD-JWT VC), without HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from issuer_support import SAMPLE_CLAIMS, demo_ca
from protocol_support import InProcessWallet

from issuer import Issuer
from issuer.offers import CreatedOffer
from ssi.clock import FrozenClock
from ssi.errors import (
    CredentialRequestDenied,
    InvalidCredentialRequest,
    InvalidDpopProof,
    InvalidEncryptionParameters,
    InvalidNonce,
    InvalidProof,
    InvalidToken,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
    UseDpopNonce,
)
from ssi.jose import parse_compact
from ssi.keys import PublicKey, SoftwareSigner
from ssi.oid4vci import TokenResponse
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import verify_sd_jwt_vc
from ssi.x509 import verify_x5c

Ready = tuple[CreatedOffer, TokenResponse]


@pytest.fixture
def ready(wallet: InProcessWallet) -> Ready:
    offer = wallet.offer()
    return offer, wallet.token(offer, offer.tx_code)


def test_issued_sd_jwt_vc_content(wallet: InProcessWallet, ready: Ready, clock: FrozenClock) -> None:
    """HAIP 1.0 §6: iss (the credential issuer URL), iat, exp, cnf.jwk, vct, status, none of them disclosable;
    x5c chaining to the CA; typ dc+sd-jwt; the claims of the type selectively disclosable."""
    _, token = ready
    holder = SoftwareSigner.generate()
    (credential,) = wallet.credential(token, wallet.request_body([holder])).credentials
    header = parse_compact(credential.split("~")[0])[3]
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
    chain = verify_x5c(header["x5c"], [demo_ca().certificate], now=clock())
    held = HeldSdJwt.parse(credential)
    payload = held.payload
    tenant = wallet.tenant
    assert payload["iss"] == tenant.credential_issuer
    assert payload["vct"] == f"{tenant.credential_issuer}/vct/bewohnerparkausweis"
    assert payload["iat"] == int(clock())
    # exp: the end of valid_until (2099-06-30) is later than 365 days, so validity.days decides.
    assert payload["exp"] == int(clock()) + 365 * 86400
    assert payload["cnf"] == {"jwk": holder.public_jwk}
    status = payload["status"]["status_list"]
    assert status["uri"] == f"{tenant.credential_issuer}/status-lists/1" and isinstance(status["idx"], int)
    assert set(payload) == {"_sd", "_sd_alg", "iss", "vct", "iat", "exp", "cnf", "status"}
    assert held.claims["address"]["locality"] == "KÖLN"
    assert {c.path[-1] for c in held.disclosed} >= {"family_name", "license_plate", "locality", "valid_until"}
    verified = verify_sd_jwt_vc(
        credential, chain.public_key, VerificationPolicy(require_key_binding=False), clock=clock
    )
    assert verified.claims["license_plate"] == "K-EM 1964"


def test_until_claim_limits_exp(wallet: InProcessWallet, clock: FrozenClock) -> None:
    offer = wallet.offer(valid_until="2027-01-31")
    token = wallet.token(offer, offer.tx_code)
    (credential,) = wallet.credential(token, wallet.request_body([SoftwareSigner.generate()])).credentials
    assert HeldSdJwt.parse(credential).payload["exp"] == 1801439999  # 2027-01-31T23:59:59Z


def test_batch_issuance_keys_and_status_indexes(wallet: InProcessWallet, ready: Ready) -> None:
    """§3.3.2: N proofs → N credentials, each bound to its own key, each with its own random status index."""
    _, token = ready
    holders = [SoftwareSigner.generate() for _ in range(5)]
    credentials = wallet.credential(token, wallet.request_body(holders)).credentials
    assert len(credentials) == 5
    payloads = [HeldSdJwt.parse(c).payload for c in credentials]
    assert [PublicKey.from_jwk(p["cnf"]["jwk"]) for p in payloads] == [h.public_key for h in holders]
    indexes = [p["status"]["status_list"]["idx"] for p in payloads]
    assert (len(set(indexes)) == 5 and indexes != sorted(indexes)) or len(set(indexes)) == 5
    salts = {d.disclosure.salt for p in credentials for d in HeldSdJwt.parse(p).disclosed}
    assert len(salts) == sum(len(HeldSdJwt.parse(c).disclosed) for c in credentials)  # no shared disclosures


def test_batch_keys_must_be_distinct(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    holder = SoftwareSigner.generate()
    nonce = wallet.c_nonce()
    body = {
        "credential_configuration_id": "bewohnerparkausweis",
        "proofs": {"jwt": wallet.proofs([holder, holder], nonce)},
    }
    with pytest.raises(InvalidProof) as err:
        wallet.credential(token, body)
    assert err.value.reason == "proof_duplicate_key"


def test_section_12_2_4_batch_size_limit(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    holders = [SoftwareSigner.generate() for _ in range(11)]
    with pytest.raises(InvalidCredentialRequest) as err:
        wallet.credential(token, wallet.request_body(holders))
    assert err.value.reason == "too_many_proofs"


def test_section_8_3_1_2_missing_proofs_is_invalid_proof(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    with pytest.raises(InvalidProof) as err:
        wallet.credential(token, {"credential_configuration_id": "bewohnerparkausweis"})
    assert err.value.reason == "missing_proofs"


def test_unsupported_proof_type(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    with pytest.raises(InvalidProof):
        wallet.credential(token, {"credential_configuration_id": "bewohnerparkausweis", "proofs": {"di_vp": [{}]}})


def test_appendix_f1_proof_for_another_audience(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    body = {
        "credential_configuration_id": "bewohnerparkausweis",
        "proofs": {"jwt": wallet.proofs([SoftwareSigner.generate()], audience="https://other.example")},
    }
    with pytest.raises(InvalidProof) as err:
        wallet.credential(token, body)
    assert err.value.reason == "proof_wrong_aud"


def test_section_8_3_1_2_unknown_c_nonce_is_invalid_nonce(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    body = {
        "credential_configuration_id": "bewohnerparkausweis",
        "proofs": {"jwt": wallet.proofs([SoftwareSigner.generate()], nonce="not-issued-here")},
    }
    with pytest.raises(InvalidNonce) as err:
        wallet.credential(token, body)
    assert err.value.code == "invalid_nonce"


def test_c_nonce_is_single_use(wallet: InProcessWallet, issuer: Issuer) -> None:
    """§13.5: a captured key proof cannot be replayed — its c_nonce was consumed."""
    nonce = wallet.c_nonce()
    first = wallet.offer()
    token = wallet.token(first, first.tx_code)
    holder = SoftwareSigner.generate()
    proof = wallet.proofs([holder], nonce)
    wallet.credential(token, {"credential_configuration_id": "bewohnerparkausweis", "proofs": {"jwt": proof}})
    second = wallet.offer()
    token2 = wallet.token(second, second.tx_code)
    with pytest.raises(InvalidNonce):
        wallet.credential(token2, {"credential_configuration_id": "bewohnerparkausweis", "proofs": {"jwt": proof}})


def test_c_nonce_expires(wallet: InProcessWallet, clock: FrozenClock) -> None:
    nonce = wallet.c_nonce()
    clock.advance(250)
    second = wallet.offer()
    token = wallet.token(second, second.tx_code)
    clock.advance(60)  # the c_nonce (300 s) has expired, the new access token has not
    body = {
        "credential_configuration_id": "bewohnerparkausweis",
        "proofs": {"jwt": wallet.proofs([SoftwareSigner.generate()], nonce)},
    }
    with pytest.raises(InvalidNonce):
        wallet.credential(token, body)


def test_unknown_and_unauthorised_configuration(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    holder = SoftwareSigner.generate()
    with pytest.raises(UnknownCredentialConfiguration) as err:
        wallet.credential(token, {"credential_configuration_id": "nope", "proofs": {"jwt": wallet.proofs([holder])}})
    assert err.value.reason == "unknown_configuration"
    with pytest.raises(UnknownCredentialConfiguration) as err:
        wallet.credential(token, wallet.request_body([holder], "dienstausweis"))
    assert err.value.reason == "not_authorized"


def test_credential_identifier_flow(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": "bewohnerparkausweis"}])
    token = wallet.token(offer, offer.tx_code, authorization_details=details)
    identifier = token.authorization_details[0][1][0]
    holder = SoftwareSigner.generate()
    with pytest.raises(InvalidCredentialRequest):  # §8.2: configuration id "MUST NOT be used otherwise"
        wallet.credential(token, wallet.request_body([holder]))
    with pytest.raises(UnknownCredentialIdentifier):
        wallet.credential(token, {"credential_identifier": "other", "proofs": {"jwt": wallet.proofs([holder])}})
    response = wallet.credential(
        token, {"credential_identifier": identifier, "proofs": {"jwt": wallet.proofs([holder])}}
    )
    assert len(response.credentials) == 1


def test_credential_identifier_without_identifiers_in_token(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    with pytest.raises(InvalidCredentialRequest):
        wallet.credential(token, {"credential_identifier": "x", "proofs": {"jwt": ["a"]}})


def test_response_encryption_is_not_offered(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    body = {**wallet.request_body([SoftwareSigner.generate()]), "credential_response_encryption": {"enc": "A128GCM"}}
    with pytest.raises(InvalidEncryptionParameters):
        wallet.credential(token, body)


def test_rfc6750_unknown_token(wallet: InProcessWallet) -> None:
    tenant = wallet.tenant
    with pytest.raises(InvalidToken):
        wallet.issuer.credentials.issue(
            tenant,
            wallet.request_body([SoftwareSigner.generate()]),
            "DPoP not-a-token",
            dpop_headers=[],
            url=tenant.credential_endpoint,
        )
    for header in (None, "", "Basic abc", "DPoP", "DPoP a b"):
        with pytest.raises(InvalidToken):
            wallet.issuer.credentials.issue(tenant, {}, header, dpop_headers=[], url=tenant.credential_endpoint)


def test_rfc9449_7_1_dpop_bound_token_as_bearer_refused(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    with pytest.raises(InvalidToken) as err:
        wallet.credential(token, wallet.request_body([SoftwareSigner.generate()]), scheme="Bearer")
    assert err.value.reason == "dpop_bound_token"


def test_rfc9449_7_1_proof_without_ath_or_with_another_key(wallet: InProcessWallet, ready: Ready) -> None:
    _, token = ready
    url = wallet.tenant.credential_endpoint
    body = wallet.request_body([SoftwareSigner.generate()])
    with pytest.raises(InvalidDpopProof) as err:
        wallet.credential(token, body, dpop_headers=wallet.dpop(url))  # no ath
    assert err.value.reason == "dpop_wrong_ath"
    with pytest.raises(InvalidDpopProof) as err:
        wallet.credential(
            token, body, dpop_headers=wallet.dpop(url, token=token.access_token, key=SoftwareSigner.generate())
        )
    assert err.value.reason == "dpop_wrong_key"
    with pytest.raises(InvalidDpopProof):
        wallet.credential(token, body, dpop_headers=[])
    with pytest.raises(UseDpopNonce):
        wallet.credential(token, body, dpop_headers=wallet.dpop(url, token=token.access_token, nonce=False))


def test_credential_is_delivered_once_and_claims_deleted(wallet: InProcessWallet, issuer: Issuer, ready: Ready) -> None:
    offer, token = ready
    wallet.credential(token, wallet.request_body([SoftwareSigner.generate()]))
    record = issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "delivered" and not record.has_claims
    with pytest.raises(InvalidToken):  # the access token is spent
        wallet.credential(token, wallet.request_body([SoftwareSigner.generate()]))


def test_expired_offer_claims_deleted_and_credential_denied(
    wallet: InProcessWallet, issuer: Issuer, clock: FrozenClock
) -> None:
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    clock.advance(24 * 3600 + 1)
    assert issuer.purge()["offers_expired"] == 1
    record = issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "expired" and not record.has_claims
    with pytest.raises((CredentialRequestDenied, InvalidToken)):
        wallet.credential(token, wallet.request_body([SoftwareSigner.generate()]))


def test_redeemed_offer_denied_after_expiry_even_with_live_token(
    issuer_factory: Callable[..., Issuer], clock: FrozenClock
) -> None:
    """The claims go when the offer expires, even when an access token is still valid."""
    wallet = InProcessWallet(issuer_factory(offer_ttl=100.0), clock)
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    clock.advance(150)
    with pytest.raises(CredentialRequestDenied):
        wallet.credential(token, wallet.request_body([SoftwareSigner.generate()]))


def test_failed_signing_leaves_the_offer_redeemable(wallet: InProcessWallet, issuer: Issuer, ready: Ready) -> None:
    offer, token = ready

    class Broken:
        def keys_for(self, *args: object) -> object:
            raise RuntimeError("HSM unavailable")

    real = issuer.context.keyring
    issuer.context.keyring = Broken()  # type: ignore[assignment]
    with pytest.raises(RuntimeError):
        wallet.credential(token, wallet.request_body([SoftwareSigner.generate()]))
    issuer.context.keyring = real
    assert issuer.context.storage.offer(offer.offer_id).state == "redeemed"  # type: ignore[union-attr]
    assert len(wallet.credential(token, wallet.request_body([SoftwareSigner.generate()])).credentials) == 1


@pytest.mark.parametrize("type_id", sorted(SAMPLE_CLAIMS))
def test_each_shipped_type_issues(wallet: InProcessWallet, type_id: str) -> None:
    offer = wallet.offer(type_id)
    token = wallet.token(offer, offer.tx_code)
    (credential,) = wallet.credential(token, wallet.request_body([SoftwareSigner.generate()], type_id)).credentials
    held = HeldSdJwt.parse(credential)
    assert held.claims["family_name"] == "MUSTERMANN"
    assert held.payload["vct"].endswith(f"/vct/{type_id}")
