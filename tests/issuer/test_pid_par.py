"""The PID provider's authorization server over real HTTP: metadata (RFC 8414), PAR (RFC 9126), PKCE (RFC 7636), DPoP
with nonces (RFC 9449), the wallet attestation as client authentication (HAIP 1.0 §4.4.1) — each rule by a request
that breaks exactly it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pid_support import REDIRECT_URI, PidEnv, RawWallet, pid_issuer, pkce

from ssi.keys import PrivateKey
from wallet_sim.provider import WalletProvider


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PidEnv]:
    with pid_issuer(tmp_path_factory.mktemp("pid-par")) as running:
        yield running


@pytest.fixture
def wallet(env: PidEnv) -> RawWallet:
    return RawWallet(env)


def _error(response: object, status: int, error: str) -> dict[str, str]:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", response)
    body: dict[str, str] = response.json()  # type: ignore[attr-defined]
    assert body["error"] == error, body
    return body


# -- metadata ------------------------------------------------------------------------------------------------------


def test_rfc8414_metadata_advertises_par_pkce_iss_and_attestations(env: PidEnv) -> None:
    """RFC 8414 §2 / RFC 9126 §5 / RFC 9207 §3 / RFC 7636 §6.2: what a HAIP wallet needs before it starts."""
    doc = env.http.get(f"{env.server.url}/.well-known/oauth-authorization-server/issuers/pid").json()
    assert doc["issuer"] == env.credential_issuer
    assert doc["pushed_authorization_request_endpoint"] == f"{env.credential_issuer}/par"
    assert doc["require_pushed_authorization_requests"] is True
    assert doc["authorization_endpoint"] == f"{env.credential_issuer}/authorize"
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["token_endpoint_auth_methods_supported"] == ["attest_jwt_client_auth"]
    assert "ES256" in doc["dpop_signing_alg_values_supported"]


def test_credential_issuer_metadata_offers_the_pid_with_key_attestations(env: PidEnv) -> None:
    """OpenID4VCI §12.2.4: the ``pid`` configuration, vct ``urn:eudi:pid:de:1``, jwt proofs with
    ``key_attestations_required``; the generic demo authority is unchanged."""
    doc = env.http.get(f"{env.server.url}/.well-known/openid-credential-issuer/issuers/pid").json()
    assert doc["credential_issuer"] == env.credential_issuer
    config = doc["credential_configurations_supported"]["pid"]
    assert config["vct"] == "urn:eudi:pid:de:1" and config["scope"] == "pid"
    assert config["proof_types_supported"]["jwt"]["key_attestations_required"]["key_storage"]
    demo = env.http.get(f"{env.server.url}/.well-known/openid-credential-issuer/issuers/demo").json()
    assert "pid" not in demo["credential_configurations_supported"]


# -- PAR ---------------------------------------------------------------------------------------------------------


def test_par_answers_request_uri_with_expiry(wallet: RawWallet) -> None:
    """RFC 9126 §2.2: 201 with ``request_uri`` (the URN form) and ``expires_in``."""
    response = wallet.par()
    assert response.status_code == 201
    body = response.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert 0 < body["expires_in"] <= 600
    assert response.headers["cache-control"] == "no-store"


def test_par_without_wallet_attestation_is_invalid_client(wallet: RawWallet) -> None:
    """HAIP 1.0 §4.4.1: wallet attestation is the client authentication at PAR (RFC 9126 §2: as at the token
    endpoint) — RFC 6749 §5.2 ``invalid_client`` with 401."""
    _error(wallet.par(headers={}), 401, "invalid_client")


def test_par_with_attestation_of_an_unaccepted_wallet_provider(env: PidEnv) -> None:
    """Only the configured wallet providers are accepted: a self-made provider's attestation is refused."""
    rogue = RawWallet(env, provider=WalletProvider.generate(now=time.time() - 60))
    _error(rogue.par(), 401, "invalid_client")


def test_par_attestation_pop_replay_and_wrong_audience(wallet: RawWallet, env: PidEnv) -> None:
    """draft-ietf-oauth-attestation-based-client-auth §7.2: the PoP's ``aud`` is this server; its ``jti`` once."""
    headers = wallet.attestation_headers(jti="pop-once-1")
    assert wallet.par(headers=headers).status_code == 201
    _error(wallet.par(headers=headers), 401, "invalid_client")
    _error(wallet.par(headers=wallet.attestation_headers(audience="https://other.example")), 401, "invalid_client")


def test_par_client_id_must_be_the_attested_client(wallet: RawWallet) -> None:
    _error(wallet.par(wallet.par_form(client_id="https://evil.example/wallet")), 401, "invalid_client")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "PKCE"),  # RFC 7636 §4.4.1, HAIP: PKCE required
        ({"code_challenge_method": "plain"}, "S256"),  # RFC 7636 §4.3: plain refused
        ({"code_challenge_method": None}, "S256"),
        ({"code_challenge": "too-short"}, "code_challenge"),
        ({"response_type": "token"}, "response_type"),
        ({"redirect_uri": None}, "redirect_uri"),
        ({"redirect_uri": "https://wallet.example/cb#frag"}, "redirect_uri"),  # RFC 6749 §3.1.2
        ({"scope": "openid"}, "scope"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "request_uri"),  # RFC 9126 §2.1
    ],
)
def test_par_request_rules(wallet: RawWallet, change: dict[str, str | None], reason: str) -> None:
    """RFC 9126 §2.1 / RFC 7636 / RFC 6749 §4.1.1: a malformed pushed request is ``invalid_request`` (400)."""
    body = _error(wallet.par(wallet.par_form(**change)), 400, "invalid_request")
    assert reason.lower() in body["error_description"].lower()


# -- authorization endpoint ---------------------------------------------------------------------------------------


def test_authorize_needs_a_pushed_request(wallet: RawWallet, env: PidEnv) -> None:
    """``require_pushed_authorization_requests``: plain parameters at the authorization endpoint are refused."""
    _, challenge = pkce()
    response = env.http.get(
        f"{env.credential_issuer}/authorize",
        params={
            "client_id": wallet.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "pid",
        },
    )
    _error(response, 400, "invalid_request")


def test_request_uri_is_single_use(wallet: RawWallet) -> None:
    """RFC 9126 §4: a used ``request_uri`` is refused (the first use opened an eID session)."""
    request_uri = wallet.request_uri()
    first = wallet.authorize(request_uri)
    assert first.status_code == 200 and "eid_request" in first.json()
    _error(wallet.authorize(request_uri), 400, "invalid_request")


def test_request_uri_expires(wallet: RawWallet, env: PidEnv) -> None:
    """RFC 9126 §2.2 ``expires_in``: after it, the request_uri is unknown."""
    request_uri = wallet.request_uri()
    env.clock.advance(61)
    try:
        _error(wallet.authorize(request_uri), 400, "invalid_request")
    finally:
        env.clock.advance(-61)


def test_request_uri_of_another_client(wallet: RawWallet) -> None:
    """RFC 9126 §4: the ``client_id`` must be the one that pushed the request."""
    _error(wallet.authorize(wallet.request_uri(), client_id="https://evil.example/wallet"), 400, "invalid_request")


def test_authorization_response_carries_iss_and_state(wallet: RawWallet, env: PidEnv) -> None:
    """RFC 9207 §2: ``iss`` is the issuer identifier; RFC 6749 §4.1.2: ``state`` as sent."""
    activation = wallet.activation()
    response = env.card().authenticate(activation["eid_request"], "123456").encode()
    params = wallet.authorization_response(activation, response)
    assert params["iss"] == env.credential_issuer and params["state"] == wallet.state and params["code"]


# -- token endpoint ----------------------------------------------------------------------------------------------


def test_code_exchange_with_pkce_dpop_and_attestation(wallet: RawWallet) -> None:
    """RFC 6749 §5.1 / RFC 9449 §5: a DPoP-bound access token and a refresh token."""
    body = wallet.tokens()
    assert body["token_type"] == "DPoP" and body["access_token"] and body["refresh_token"]
    assert 0 < body["expires_in"] <= 300


def test_missing_code_verifier(wallet: RawWallet) -> None:
    """RFC 7636 §4.5: ``code_verifier`` REQUIRED — ``invalid_request``; the code survives such a request."""
    code = wallet.code()
    _error(wallet.token_request(wallet.code_form(code, code_verifier=None)), 400, "invalid_request")
    assert wallet.token_request(wallet.code_form(code)).status_code == 200


def test_wrong_code_verifier(wallet: RawWallet) -> None:
    """RFC 7636 §4.6: the verifier must hash to the challenge, else ``invalid_grant``."""
    code = wallet.code()
    other, _ = pkce()
    _error(wallet.token_request(wallet.code_form(code, code_verifier=other)), 400, "invalid_grant")


def test_code_reuse(wallet: RawWallet) -> None:
    """RFC 6749 §4.1.2: "The client MUST NOT use the authorization code more than once" — the second use fails."""
    code = wallet.code()
    assert wallet.token_request(wallet.code_form(code)).status_code == 200
    _error(wallet.token_request(wallet.code_form(code)), 400, "invalid_grant")


def test_redirect_uri_must_match(wallet: RawWallet) -> None:
    """RFC 6749 §4.1.3: ``redirect_uri`` identical to the authorization request's."""
    code = wallet.code()
    _error(wallet.token_request(wallet.code_form(code, redirect_uri="https://other.example/cb")), 400, "invalid_grant")


def test_token_without_dpop(wallet: RawWallet) -> None:
    """HAIP 1.0: sender-constrained tokens — no DPoP proof, no token."""
    _error(wallet.token_request(wallet.code_form(wallet.code()), dpop=False), 400, "invalid_dpop_proof")


def test_missing_dpop_nonce(wallet: RawWallet) -> None:
    """RFC 9449 §8: the server requires its nonce: ``use_dpop_nonce`` with a fresh ``DPoP-Nonce`` header."""
    code = wallet.code()
    response = wallet.token_request(wallet.code_form(code), dpop=wallet.dpop_proof(wallet.token_url))
    _error(response, 400, "use_dpop_nonce")
    nonce = response.headers["DPoP-Nonce"]
    retry = wallet.token_request(wallet.code_form(code), dpop=wallet.dpop_proof(wallet.token_url, nonce=nonce))
    assert retry.status_code == 200


def test_dpop_replay(wallet: RawWallet) -> None:
    """RFC 9449 §11.1: a proof's ``jti`` is accepted once."""
    code = wallet.code()
    proof = wallet.dpop_proof(wallet.token_url, nonce=wallet.fresh_nonce())
    _error(wallet.token_request(wallet.code_form(code, code_verifier=None), dpop=proof), 400, "invalid_request")
    _error(wallet.token_request(wallet.code_form(code), dpop=proof), 400, "invalid_dpop_proof")


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/other")])
def test_dpop_wrong_htm_or_htu(wallet: RawWallet, method: str, suffix: str) -> None:
    """RFC 9449 §4.3 items 8 and 9: ``htm`` is the request's method, ``htu`` its URI."""
    code = wallet.code()
    proof = wallet.dpop_proof(wallet.token_url + suffix, method=method, nonce=wallet.fresh_nonce())
    _error(wallet.token_request(wallet.code_form(code), dpop=proof), 400, "invalid_dpop_proof")


def test_dpop_key_must_be_dpop_jkt(wallet: RawWallet) -> None:
    """RFC 9449 §10: the code is bound to the ``dpop_jkt`` of the pushed request."""
    code = wallet.code()
    proof = wallet.dpop_proof(wallet.token_url, nonce=wallet.fresh_nonce(), key=PrivateKey.generate())
    _error(wallet.token_request(wallet.code_form(code), dpop=proof), 400, "invalid_grant")


def test_token_with_wrong_wallet_attestation(wallet: RawWallet, env: PidEnv) -> None:
    """HAIP 1.0 §4.4.1 at the token endpoint: no attestation, an unaccepted provider, or the attestation of another
    wallet instance (the code is bound to the instance that pushed the request)."""
    code = wallet.code()
    _error(wallet.token_request(wallet.code_form(code), headers={}), 401, "invalid_client")
    rogue = RawWallet(env, provider=WalletProvider.generate(now=time.time() - 60))
    _error(wallet.token_request(wallet.code_form(code), headers=rogue.attestation_headers()), 401, "invalid_client")
    other_instance = RawWallet(env, dpop=wallet.dpop)
    _error(
        wallet.token_request(wallet.code_form(code), headers=other_instance.attestation_headers()), 400, "invalid_grant"
    )


def test_unsupported_grant_types(wallet: RawWallet) -> None:
    """RFC 6749 §5.2: the PID provider does not take pre-authorized codes."""
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": "x"}
    _error(wallet.token_request(form), 400, "unsupported_grant_type")


def test_generic_routes_serve_other_authorities(env: PidEnv) -> None:
    """The generic routes still serve the other authorities (the PID routes are literal paths of ``pid`` only)."""
    assert env.http.get(f"{env.server.url}/.well-known/oauth-authorization-server/issuers/demo").status_code == 200
