"""PID issuance at the provider over real HTTP: the credential (``urn:eudi:pid:de:1`` from the eID data by
:mod:`ssi.pid`, 14-day validity, status list entry, ``cnf`` from a key attestation), the credential endpoint's rules,
re-issuance with the refresh token without the card, and the revocation of every PID of a card reported lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pid_support import ADMIN, PidEnv, RawWallet, pid_issuer

from ssi.keys import PrivateKey, PublicKey
from ssi.pid import PID_VALIDITY, pid_claims
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import verify_sd_jwt_vc
from ssi.x509 import parse_x5c
from wallet_sim.eid.citizens import find_citizen
from wallet_sim.provider import WalletProvider


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PidEnv]:
    with pid_issuer(tmp_path_factory.mktemp("pid-flow")) as running:
        yield running


def _issue(
    wallet: RawWallet, holders: list[PrivateKey], *, card_id: str = "erika"
) -> tuple[dict[str, Any], dict[str, Any]]:
    tokens = wallet.tokens(wallet.code(wallet.env.card(card_id)))
    response = wallet.credential_request(tokens["access_token"], wallet.pid_request(holders))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return tokens, body


def _verified(compact: str) -> dict[str, Any]:
    held = HeldSdJwt.parse(compact)
    key = PublicKey.from_crypto(parse_x5c(held.header["x5c"])[0].public_key())  # type: ignore[arg-type]
    result = verify_sd_jwt_vc(
        compact, key, VerificationPolicy(require_key_binding=False), expected_vct="urn:eudi:pid:de:1"
    )
    return dict(held.claims) | {"_signed": result.signed_payload}


def _records(env: PidEnv) -> list[dict[str, Any]]:
    answer = env.http.get(f"{env.credential_issuer}/admin/credentials", params={"type": "pid"}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["credentials"]
    return records


def test_pid_is_the_german_pid_of_the_card(env: PidEnv) -> None:
    """The claims are :func:`ssi.pid.pid_claims` of the card's data; ``iss`` the provider, ``cnf`` the attested key,
    ``exp`` 14 days, a status list entry, the ``x5c`` chain (HAIP 1.0 §6.1.1); one credential per key (batch)."""
    wallet = RawWallet(env)
    holders = [PrivateKey.generate(), PrivateKey.generate()]
    before = time.time()
    _, body = _issue(wallet, holders)
    assert len(body["credentials"]) == 2
    expected = pid_claims(find_citizen("erika").identity, now=time.time()).claims
    for item, holder in zip(body["credentials"], holders, strict=True):
        claims = _verified(item["credential"])
        signed = claims.pop("_signed")
        assert signed["iss"] == env.credential_issuer
        assert signed["vct"] == "urn:eudi:pid:de:1"
        assert signed["cnf"]["jwk"]["crv"] == "P-256"
        assert PublicKey.from_jwk(signed["cnf"]["jwk"]) == holder.public_key
        assert before - 2 <= signed["iat"] and signed["exp"] - signed["iat"] == PID_VALIDITY
        assert signed["status"]["status_list"]["uri"].startswith(f"{env.credential_issuer}/status-lists/")
        subject = {k: v for k, v in claims.items() if k not in {"iss", "vct", "cnf", "status", "iat", "exp"}}
        assert subject == expected
    assert subject["family_name"] == "MUSTERMANN" and subject["birth_family_name"] == "GABLER"
    assert subject["address"]["locality"] == "KÖLN" and subject["nationalities"] == ["DE"]
    indexes = {_verified(c["credential"])["_signed"]["status"]["status_list"]["idx"] for c in body["credentials"]}
    assert len(indexes) == 2 and indexes <= {r["status_list"]["idx"] for r in _records(env)}


def test_access_token_is_single_use_and_dpop_bound(env: PidEnv) -> None:
    """RFC 9449 §7.1: a DPoP-bound token is refused as Bearer or without a proof; after the credential response the
    token is spent (one credential request per authorization)."""
    wallet = RawWallet(env)
    tokens = wallet.tokens()
    token = tokens["access_token"]
    bearer = wallet.credential_request(token, wallet.pid_request([PrivateKey.generate()]), scheme="Bearer")
    assert bearer.status_code == 401 and bearer.json()["error"] == "invalid_token"
    no_proof = wallet.credential_request(token, wallet.pid_request([PrivateKey.generate()]), dpop=False)
    assert no_proof.status_code == 401 and no_proof.json()["error"] == "invalid_dpop_proof"
    assert "DPoP" in no_proof.headers["www-authenticate"]
    assert wallet.credential_request(token, wallet.pid_request([PrivateKey.generate()])).status_code == 200
    again = wallet.credential_request(token, wallet.pid_request([PrivateKey.generate()]))
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"


def test_proofs_need_the_wallet_providers_key_attestation(env: PidEnv) -> None:
    """OpenID4VCI Appendix D / §12.2.4 ``key_attestations_required``: a plain proof, or a key attestation by an
    unaccepted wallet provider, is ``invalid_proof``; the token survives and works with a proper proof."""
    wallet = RawWallet(env)
    token = wallet.tokens()["access_token"]
    plain = wallet.credential_request(token, wallet.pid_request([PrivateKey.generate()], attested=False))
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_proof"
    rogue = RawWallet(env, provider=WalletProvider.generate(now=time.time() - 60))
    foreign = wallet.credential_request(token, rogue.pid_request([PrivateKey.generate()]))
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_proof"
    assert wallet.credential_request(token, wallet.pid_request([PrivateKey.generate()])).status_code == 200


def test_refresh_token_reissues_without_the_card(env: PidEnv) -> None:
    """RFC 6749 §6: the refresh token gives a new access token (and a new refresh token: rotation, RFC 9700
    §4.14.2); the old one is void; it is bound to the DPoP key and the wallet instance (RFC 9449 §5)."""
    wallet = RawWallet(env)
    tokens, _ = _issue(wallet, [PrivateKey.generate()])
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": wallet.client_id}
    other_key = wallet.dpop_proof(wallet.token_url, nonce=wallet.fresh_nonce(), key=PrivateKey.generate())
    wrong_key = wallet.token_request(form, dpop=other_key)
    assert wrong_key.status_code == 400 and wrong_key.json()["error"] == "invalid_grant"
    other_instance = RawWallet(env, dpop=wallet.dpop)
    wrong_instance = wallet.token_request(form, headers=other_instance.attestation_headers())
    assert wrong_instance.status_code == 400 and wrong_instance.json()["error"] == "invalid_grant"
    refreshed = wallet.token_request(form)
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    response = wallet.credential_request(new["access_token"], wallet.pid_request([PrivateKey.generate()]))
    assert response.status_code == 200
    assert _verified(response.json()["credentials"][0]["credential"])["family_name"] == "MUSTERMANN"
    reused = wallet.token_request(form)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_lost_card_revokes_every_pid_of_the_card(env: PidEnv) -> None:
    """A card reported lost (by its document number, through the card register): every PID derived from it is
    revoked — issued by card or by refresh token — its refresh tokens stop, and other cards' PIDs stay valid."""
    first, second, other = RawWallet(env), RawWallet(env), RawWallet(env)
    tokens, one = _issue(first, [PrivateKey.generate()], card_id="leon")
    _, two = _issue(second, [PrivateKey.generate(), PrivateKey.generate()], card_id="leon")
    _, kept = _issue(other, [PrivateKey.generate()], card_id="erika")

    def status_of(body: dict[str, Any]) -> set[str]:
        ids = {_verified(c["credential"])["_signed"]["status"]["status_list"]["idx"] for c in body["credentials"]}
        return {r["status"] for r in _records(env) if r["status_list"]["idx"] in ids}

    assert status_of(one) == status_of(two) == {"valid"}
    unauthorized = env.http.post(f"{env.credential_issuer}/admin/pid/lost-cards", json={"document_number": "x"})
    assert unauthorized.status_code == 401
    unknown = env.http.post(
        f"{env.credential_issuer}/admin/pid/lost-cards", json={"document_number": "X0000000"}, headers=ADMIN
    )
    assert unknown.status_code == 400
    number = find_citizen("leon").document_number
    report = env.http.post(
        f"{env.credential_issuer}/admin/pid/lost-cards", json={"document_number": number}, headers=ADMIN
    )
    assert report.status_code == 200, report.text
    assert len(report.json()["changed"]) == 3
    assert status_of(one) == status_of(two) == {"revoked"}
    assert status_of(kept) == {"valid"}
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": first.client_id}
    refused = first.token_request(form)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "lost" in refused.json()["error_description"]
