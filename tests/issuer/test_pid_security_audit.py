"""Findings of the PID provider's security review, each a request over real HTTP that breaks one rule:

- refresh token reuse revokes the whole token family (RFC 9700 §4.14.2);
- a reused authorization code revokes the tokens issued with it (RFC 6749 §4.1.2, RFC 9700 §4.14.2);
- a DPoP proof sent to the PAR endpoint binds the code like ``dpop_jkt`` does, and must agree with it
  (RFC 9449 §10.1);
- ``redirect_uri`` values that a user agent would execute or read locally are refused (RFC 9700 §4.1,
  RFC 6749 §10.6).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pid_support import PidEnv, RawWallet, pid_issuer

from ssi.client_attestation import ATTESTATION_HEADER, ATTESTATION_POP_HEADER, create_client_attestation_pop
from ssi.dpop import create_dpop_proof
from ssi.keys import PrivateKey, SoftwareSigner


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PidEnv]:
    with pid_issuer(tmp_path_factory.mktemp("pid-audit")) as running:
        yield running


def _refresh_form(wallet: RawWallet, refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": wallet.client_id}


def _error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text


def test_rfc9700_4_14_2_refresh_token_reuse_revokes_the_family(env: PidEnv) -> None:
    """RFC 9700 §4.14.2: "If a refresh token is compromised and subsequently used by both the attacker and the
    legitimate client, one of them will present an invalidated refresh token, which will inform the authorization
    server of the breach. The authorization server ... will revoke the active refresh token." — the rotated-out
    token presented again voids its successor and the access token issued with it."""
    wallet = RawWallet(env)
    first = wallet.tokens()
    rotated = wallet.token_request(_refresh_form(wallet, first["refresh_token"]))
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    _error(wallet.token_request(_refresh_form(wallet, first["refresh_token"])), 400, "invalid_grant")
    _error(wallet.token_request(_refresh_form(wallet, second["refresh_token"])), 400, "invalid_grant")
    spent = wallet.credential_request(second["access_token"], wallet.pid_request([PrivateKey.generate()]))
    _error(spent, 401, "invalid_token")


def test_rfc9700_4_14_2_families_are_separate(env: PidEnv) -> None:
    """Reuse in one family leaves another authorization's tokens working (the revocation is per grant)."""
    victim, other = RawWallet(env), RawWallet(env)
    stolen = victim.tokens()
    unrelated = other.tokens()
    assert victim.token_request(_refresh_form(victim, stolen["refresh_token"])).status_code == 200
    _error(victim.token_request(_refresh_form(victim, stolen["refresh_token"])), 400, "invalid_grant")
    assert other.token_request(_refresh_form(other, unrelated["refresh_token"])).status_code == 200


def test_rfc6749_4_1_2_code_reuse_revokes_tokens_issued_with_it(env: PidEnv) -> None:
    """RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server MUST deny the
    request and SHOULD revoke (when possible) all tokens previously issued based on that authorization code."."""
    wallet = RawWallet(env)
    code = wallet.code()
    tokens = wallet.tokens(code)
    _error(wallet.token_request(wallet.code_form(code)), 400, "invalid_grant")
    _error(wallet.token_request(_refresh_form(wallet, tokens["refresh_token"])), 400, "invalid_grant")
    spent = wallet.credential_request(tokens["access_token"], wallet.pid_request([PrivateKey.generate()]))
    _error(spent, 401, "invalid_token")


def _par_with_dpop(wallet: RawWallet, key: PrivateKey, **changes: str | None) -> Any:
    url = f"{wallet.env.credential_issuer}/par"
    headers = wallet.attestation_headers()
    headers["DPoP"] = wallet.dpop_proof(url, nonce=wallet.fresh_nonce(), key=key)
    return wallet.par(wallet.par_form(**changes), headers=headers)


def test_rfc9449_10_1_dpop_proof_at_par_binds_the_code(env: PidEnv) -> None:
    """RFC 9449 §10.1: a DPoP proof at the PAR endpoint is the other way to bind the code to the DPoP key ("Both
    mechanisms MUST be supported by an authorization server that supports PAR and DPoP") — a code pushed that way is
    refused with another key at the token endpoint and accepted with the proof's key."""
    wallet = RawWallet(env)
    pushed = _par_with_dpop(wallet, wallet.dpop, dpop_jkt=None)
    assert pushed.status_code == 201, pushed.text
    activation_response = wallet.authorize(pushed.json()["request_uri"])
    assert activation_response.status_code == 200, activation_response.text
    activation = activation_response.json()
    card = env.card()
    params = wallet.authorization_response(activation, card.authenticate(activation["eid_request"], "123456").encode())
    code = params["code"]
    stranger = wallet.dpop_proof(wallet.token_url, nonce=wallet.fresh_nonce(), key=PrivateKey.generate())
    _error(wallet.token_request(wallet.code_form(code), dpop=stranger), 400, "invalid_grant")


def test_rfc9449_10_1_dpop_proof_at_par_accepted_with_its_key(env: PidEnv) -> None:
    """RFC 9449 §10.1: the code pushed with a DPoP proof is exchanged with that proof's key."""
    wallet = RawWallet(env)
    pushed = _par_with_dpop(wallet, wallet.dpop, dpop_jkt=None)
    assert pushed.status_code == 201, pushed.text
    activation = wallet.authorize(pushed.json()["request_uri"]).json()
    card = env.card()
    params = wallet.authorization_response(activation, card.authenticate(activation["eid_request"], "123456").encode())
    assert wallet.token_request(wallet.code_form(params["code"])).status_code == 200


def test_rfc9449_10_1_dpop_proof_and_dpop_jkt_must_agree(env: PidEnv) -> None:
    """RFC 9449 §10.1: "If both mechanisms are used at the same time, the authorization server MUST reject the request
    if the JWK Thumbprint in dpop_jkt does not match the public key in the DPoP header"."""
    wallet = RawWallet(env)
    response = _par_with_dpop(wallet, PrivateKey.generate())  # the form's dpop_jkt names wallet.dpop
    assert response.status_code == 400, response.text
    assert "dpop_jkt" in response.json()["error_description"]


def test_rfc9449_10_1_dpop_proof_at_par_is_checked(env: PidEnv) -> None:
    """RFC 9449 §4.3: a DPoP proof at PAR is verified like any other — one for another URI is refused."""
    wallet = RawWallet(env)
    headers = wallet.attestation_headers()
    headers["DPoP"] = wallet.dpop_proof(wallet.token_url, nonce=wallet.fresh_nonce())
    _error(wallet.par(wallet.par_form(dpop_jkt=None), headers=headers), 400, "invalid_dpop_proof")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "javascript:alert(document.cookie)//",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
    ],
)
def test_rfc9700_redirect_uri_schemes_a_user_agent_executes_are_refused(env: PidEnv, redirect_uri: str) -> None:
    """RFC 9700 §4.1 (defence in depth) / RFC 6749 §10.6 and §3.1.2: the authorization response is sent to the pushed
    ``redirect_uri``; a ``javascript:``/``data:``/``vbscript:``/``file:`` URI would run script or read local files
    with the code in it (RFC 8252 §7.1 private-use schemes stay allowed)."""
    wallet = RawWallet(env)
    response = wallet.par(wallet.par_form(redirect_uri=redirect_uri))
    assert response.status_code == 400, response.text
    assert "redirect_uri" in response.json()["error_description"]


def test_rfc8252_private_use_scheme_redirect_uri_stays_allowed(env: PidEnv) -> None:
    """RFC 8252 §7.1: a native wallet's private-use URI scheme is a valid redirect URI."""
    wallet = RawWallet(env)
    assert wallet.par(wallet.par_form(redirect_uri="eu.govssi.wallet:/pid-callback")).status_code == 201


def _refresh_at_server_time(env: PidEnv, wallet: RawWallet, refresh_token: str) -> Any:
    """A refresh request whose JWTs (attestation, PoP, DPoP) are signed at the server's (moved) clock."""
    now = env.clock()
    headers = {
        ATTESTATION_HEADER: wallet.provider.wallet_attestation(wallet.instance.public_key.jwk, now=now),
        ATTESTATION_POP_HEADER: create_client_attestation_pop(
            SoftwareSigner(wallet.instance), audience=env.credential_issuer, now=now, client_id=wallet.client_id
        ),
        "DPoP": create_dpop_proof(
            SoftwareSigner(wallet.dpop), htm="POST", htu=wallet.token_url, now=now, nonce=wallet.fresh_nonce()
        ),
    }
    return env.http.post(wallet.token_url, data=_refresh_form(wallet, refresh_token), headers=headers)


def test_refresh_lifetime_counts_from_the_eid_authentication(env: PidEnv) -> None:
    """``pid_refresh_token_ttl`` (docs/pid.md: "refresh token lifetime (30 days)") bounds re-issuance without the
    card from the eID authentication: rotation (RFC 9700 §4.14.2) hands out new refresh tokens but does not extend
    the grant, so a PID is never re-derived from eID data older than the lifetime."""
    wallet = RawWallet(env)
    tokens = wallet.tokens()
    day = 86400.0
    ttl = env.provider.config.refresh_ttl
    moved = 0.0
    try:
        env.clock.advance(ttl - 10 * day)
        moved += ttl - 10 * day
        rotated = _refresh_at_server_time(env, wallet, tokens["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        env.clock.advance(15 * day)
        moved += 15 * day
        _error(_refresh_at_server_time(env, wallet, rotated.json()["refresh_token"]), 400, "invalid_grant")
    finally:
        env.clock.advance(-moved)


def test_rfc9449_8_dpop_proof_at_par_without_nonce_gets_one(env: PidEnv) -> None:
    """RFC 9449 §8: a DPoP proof at PAR without the server's nonce is ``use_dpop_nonce`` with a ``DPoP-Nonce``
    header; the retry with that nonce is accepted."""
    wallet = RawWallet(env)
    url = f"{env.credential_issuer}/par"
    headers = wallet.attestation_headers()
    headers["DPoP"] = wallet.dpop_proof(url)
    first = wallet.par(wallet.par_form(dpop_jkt=None), headers=headers)
    _error(first, 400, "use_dpop_nonce")
    headers = wallet.attestation_headers()
    headers["DPoP"] = wallet.dpop_proof(url, nonce=first.headers["DPoP-Nonce"])
    assert wallet.par(wallet.par_form(dpop_jkt=None), headers=headers).status_code == 201
