"""Token Endpoint rules (OpenID4VCI 1.0 §6, RFC 6749 §5.2, RFC 9449 §5/§8/§11.1, RFC 9396), without HTTP."""

from __future__ import annotations

import json

import pytest
from protocol_support import InProcessWallet

from issuer import Issuer
from issuer.context import digest_key
from issuer.tokens import TOKEN_NS
from ssi.clock import FrozenClock
from ssi.errors import (
    InvalidAuthorizationDetails,
    InvalidDpopProof,
    InvalidGrant,
    Oid4vciError,
    UnsupportedGrantType,
    UseDpopNonce,
)
from ssi.keys import SoftwareSigner


def test_section_6_2_dpop_bound_token(wallet: InProcessWallet, issuer: Issuer) -> None:
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    assert token.token_type == "DPoP" and token.expires_in == 300
    grant = issuer.context.store.get(TOKEN_NS, digest_key(token.access_token))
    assert grant is not None and grant["jkt"] == wallet.dpop_key.public_key.thumbprint()
    assert issuer.context.storage.offer(offer.offer_id).state == "redeemed"  # type: ignore[union-attr]


def test_section_6_3_wrong_tx_code_is_invalid_grant(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    wrong = "0" * 6 if offer.tx_code != "0" * 6 else "1" * 6
    with pytest.raises(InvalidGrant) as err:
        wallet.token(offer, wrong)
    assert err.value.code == "invalid_grant" and err.value.reason == "wrong_tx_code"
    assert wallet.token(offer, offer.tx_code).access_token  # a wrong code does not consume the offer


def test_section_6_3_missing_tx_code_is_invalid_request(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    with pytest.raises(Oid4vciError) as err:
        wallet.token(offer)
    assert err.value.code == "invalid_request" and err.value.reason == "missing_tx_code"


def test_section_6_3_unexpected_tx_code_is_invalid_request(wallet: InProcessWallet) -> None:
    offer = wallet.offer(tx_code=False)
    assert offer.tx_code is None
    with pytest.raises(Oid4vciError) as err:
        wallet.token(offer, "123456")
    assert err.value.code == "invalid_request" and err.value.reason == "unexpected_tx_code"
    assert wallet.token(offer).access_token


def test_tx_code_five_wrong_attempts_kill_the_offer(wallet: InProcessWallet, issuer: Issuer) -> None:
    """The issue: "after 5 wrong tx_codes the offer is dead" — the right code is refused afterwards."""
    offer = wallet.offer()
    assert offer.tx_code is not None
    wrong = str((int(offer.tx_code) + 1) % 10**6).zfill(6)
    for _ in range(5):
        with pytest.raises(InvalidGrant):
            wallet.token(offer, wrong)
    with pytest.raises(InvalidGrant):
        wallet.token(offer, offer.tx_code)
    record = issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "dead" and not record.has_claims


def test_tx_code_right_on_the_fifth_attempt_still_works(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    assert offer.tx_code is not None
    wrong = str((int(offer.tx_code) + 1) % 10**6).zfill(6)
    for _ in range(4):
        with pytest.raises(InvalidGrant):
            wallet.token(offer, wrong)
    assert wallet.token(offer, offer.tx_code).access_token


def test_tx_code_is_numeric_of_the_configured_length(issuer_factory: object) -> None:
    issuer = issuer_factory(tx_code_length=8)  # type: ignore[operator]
    wallet = InProcessWallet(issuer, issuer.context.clock)
    offer = wallet.offer()
    assert offer.tx_code is not None and len(offer.tx_code) == 8 and offer.tx_code.isdigit()
    tx = offer.credential_offer.pre_authorized_code.tx_code  # type: ignore[union-attr]
    assert tx is not None and tx.input_mode == "numeric" and tx.length == 8


def test_section_4_1_1_pre_authorized_code_is_single_use(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    wallet.token(offer, offer.tx_code)
    with pytest.raises(InvalidGrant) as err:
        wallet.token(offer, offer.tx_code)
    assert err.value.code == "invalid_grant"


def test_section_6_3_expired_pre_authorized_code_is_invalid_grant(wallet: InProcessWallet, clock: FrozenClock) -> None:
    offer = wallet.offer()
    clock.advance(24 * 3600 + 1)
    with pytest.raises(InvalidGrant):
        wallet.token(offer, offer.tx_code)


def test_unknown_code_is_invalid_grant(wallet: InProcessWallet) -> None:
    tenant = wallet.tenant
    form = [("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", "nope")]
    with pytest.raises(InvalidGrant):
        wallet.issuer.tokens.exchange(
            tenant, form, dpop_headers=wallet.dpop(tenant.token_endpoint), url=tenant.token_endpoint
        )


def test_code_of_another_authority_is_invalid_grant(wallet: InProcessWallet, issuer: Issuer) -> None:
    other = issuer.context.storage.create_authority("koeln", "Stadt Köln", "City of Cologne")
    offer = wallet.offer()
    tenant = issuer.context.tenant(other.slug)
    with pytest.raises(InvalidGrant):
        issuer.tokens.exchange(
            tenant,
            wallet.token_form(offer, offer.tx_code),
            dpop_headers=wallet.dpop(tenant.token_endpoint),
            url=tenant.token_endpoint,
        )


def test_unsupported_grant_type(wallet: InProcessWallet) -> None:
    tenant = wallet.tenant
    with pytest.raises(UnsupportedGrantType):
        wallet.issuer.tokens.exchange(
            tenant, [("grant_type", "authorization_code"), ("code", "x")], dpop_headers=[], url=tenant.token_endpoint
        )


def test_haip_dpop_required_unless_the_type_allows_bearer(wallet: InProcessWallet, issuer: Issuer) -> None:
    offer = wallet.offer()
    with pytest.raises(InvalidDpopProof) as err:
        wallet.token(offer, offer.tx_code, dpop=False)
    assert err.value.reason == "dpop_required"
    # A type that explicitly allows Bearer tokens gets one without DPoP.
    from issuer.credential_type import load_credential_type

    document = dict(wallet.tenant.types["dienstausweis"].document)
    document["bearer_tokens_allowed"] = True
    issuer.context.storage.put_credential_type(wallet.tenant.authority.id, load_credential_type(document))
    issuer.context.forget_tenant("demo")
    bearer_offer = wallet.offer("dienstausweis")
    assert wallet.token(bearer_offer, bearer_offer.tx_code, dpop=False).token_type == "Bearer"


def test_rfc9449_8_server_nonce_required(wallet: InProcessWallet) -> None:
    """RFC 9449 §8: without the server's nonce the answer is use_dpop_nonce; the code is not consumed."""
    offer = wallet.offer()
    tenant = wallet.tenant
    with pytest.raises(UseDpopNonce):
        wallet.issuer.tokens.exchange(
            tenant,
            wallet.token_form(offer, offer.tx_code),
            dpop_headers=wallet.dpop(tenant.token_endpoint, nonce=False),
            url=tenant.token_endpoint,
        )
    with pytest.raises(UseDpopNonce):
        wallet.issuer.tokens.exchange(
            tenant,
            wallet.token_form(offer, offer.tx_code),
            dpop_headers=wallet.dpop(tenant.token_endpoint, nonce="forged-nonce"),
            url=tenant.token_endpoint,
        )
    assert wallet.token(offer, offer.tx_code).access_token


def test_rfc9449_8_stale_server_nonce(wallet: InProcessWallet, clock: FrozenClock) -> None:
    offer = wallet.offer()
    tenant = wallet.tenant
    old_nonce = wallet.issuer.context.dpop_nonces.issue()
    clock.advance(301)
    with pytest.raises(UseDpopNonce) as err:
        wallet.issuer.tokens.exchange(
            tenant,
            wallet.token_form(offer, offer.tx_code),
            dpop_headers=wallet.dpop(tenant.token_endpoint, nonce=old_nonce),
            url=tenant.token_endpoint,
        )
    assert err.value.reason == "dpop_nonce_stale"


def test_rfc9449_11_1_replayed_dpop_proof_refused(wallet: InProcessWallet) -> None:
    first, second = wallet.offer(), wallet.offer()
    tenant = wallet.tenant
    proof = wallet.dpop(tenant.token_endpoint)
    wallet.issuer.tokens.exchange(
        tenant, wallet.token_form(first, first.tx_code), dpop_headers=proof, url=tenant.token_endpoint
    )
    with pytest.raises(InvalidDpopProof) as err:
        wallet.issuer.tokens.exchange(
            tenant, wallet.token_form(second, second.tx_code), dpop_headers=proof, url=tenant.token_endpoint
        )
    assert err.value.reason == "dpop_replay"


@pytest.mark.parametrize(
    ("method", "url_suffix", "reason"), [("GET", "/token", "dpop_wrong_htm"), ("POST", "/credential", "dpop_wrong_htu")]
)
def test_rfc9449_4_3_htm_and_htu(wallet: InProcessWallet, method: str, url_suffix: str, reason: str) -> None:
    offer = wallet.offer()
    tenant = wallet.tenant
    proof = wallet.dpop(tenant.credential_issuer + url_suffix, method=method)
    with pytest.raises(InvalidDpopProof) as err:
        wallet.issuer.tokens.exchange(
            tenant, wallet.token_form(offer, offer.tx_code), dpop_headers=proof, url=tenant.token_endpoint
        )
    assert err.value.reason == reason


def test_rfc9449_4_3_one_dpop_header_only(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    tenant = wallet.tenant
    proofs = wallet.dpop(tenant.token_endpoint) + wallet.dpop(tenant.token_endpoint)
    with pytest.raises(InvalidDpopProof):
        wallet.issuer.tokens.exchange(
            tenant, wallet.token_form(offer, offer.tx_code), dpop_headers=proofs, url=tenant.token_endpoint
        )


def test_section_6_2_authorization_details_give_credential_identifiers(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": "bewohnerparkausweis"}])
    token = wallet.token(offer, offer.tx_code, authorization_details=details)
    ((detail, identifiers),) = token.authorization_details
    assert detail.credential_configuration_id == "bewohnerparkausweis"
    assert len(identifiers) == 1 and identifiers[0].startswith("bewohnerparkausweis-")
    assert token.to_json()["authorization_details"][0]["credential_identifiers"] == list(identifiers)


def test_rfc9396_authorization_details_for_a_configuration_not_offered(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": "dienstausweis"}])
    with pytest.raises(InvalidAuthorizationDetails):
        wallet.token(offer, offer.tx_code, authorization_details=details)


def test_client_id_is_remembered_for_the_proofs(wallet: InProcessWallet) -> None:
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code, client_id="wallet-7")
    holder = SoftwareSigner.generate()
    body = {
        "credential_configuration_id": "bewohnerparkausweis",
        "proofs": {"jwt": wallet.proofs([holder], client_id="wallet-7")},
    }
    assert len(wallet.credential(token, body).credentials) == 1
