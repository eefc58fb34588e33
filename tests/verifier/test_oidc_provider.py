"""The OpenID Provider facade over real HTTP (verifier + test wallet on 127.0.0.1): discovery, the authorization code
flow with PKCE, both client authentication methods, ID Token and UserInfo contents, the negative cases of OpenID
Connect Core 1.0 / RFC 6749 / RFC 7636 / RFC 7523, and what is kept afterwards (docs/privacy.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_support import PARKING, PARKING_VCT, Login, OpEnv, op_env

from ssi.keys import PrivateKey

PROTOCOL = {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr"}
A_CB = "https://portal-a.example/cb"
B_CB = "https://portal-b.example/cb"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpEnv]:
    with op_env(tmp_path_factory.mktemp("oidc")) as env:
        yield env


def _error_redirect(response: httpx.Response, redirect_uri: str) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(redirect_uri + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


# --- discovery -------------------------------------------------------------------------------------------------------


def test_discovery_metadata_oidc_discovery_3(env: OpEnv) -> None:
    """OpenID Connect Discovery 1.0 §3/§4: the REQUIRED members; issuer identical to the URL it is served under."""
    meta = httpx.get(f"{env.url}/.well-known/openid-configuration").json()
    assert meta["issuer"] == env.url
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert meta[name].startswith(env.url + "/")
    assert meta["response_types_supported"] == ["code"]
    assert meta["subject_types_supported"] == ["pairwise"]
    assert meta["id_token_signing_alg_values_supported"] == ["ES256"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "private_key_jwt"}
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "pid_basic", "age_over_18", "parking_permit"} <= set(meta["scopes_supported"])
    assert "http://eidas.europa.eu/LoA/high" in meta["acr_values_supported"]
    assert {"given_name", "family_name", "birthdate", "age_equal_or_over", "parking_permit"} <= set(
        meta["claims_supported"]
    )
    assert "license_plate" not in meta["claims_supported"]  # nested under parking_permit in the ID Token
    keys = httpx.get(meta["jwks_uri"]).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "EC" and keys[0]["use"] == "sig" and "d" not in keys[0]


# --- successful logins -----------------------------------------------------------------------------------------------


def test_pid_basic_same_device_id_token_carries_exactly_the_disclosed_claims(env: OpEnv) -> None:
    """OpenID Connect Core §3.1.2.5 (code, state; RFC 9207 iss), §3.1.3.3 (token response), §2 (ID Token claims),
    §3.1.3.6 at_hash; pid_basic discloses given_name, family_name, birthdate — and nothing else reaches the portal
    (the place of birth asked for the pseudonym stays with the provider)."""
    login = env.log_in(Login("portal-a", A_CB, "openid pid_basic"), env.credential())
    callback = login.callback
    assert callback["state"] == login.state and callback["iss"] == env.url
    answer = env.redeem(login)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"].startswith("no-store")
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "openid pid_basic"
    claims = env.id_token_claims(body["id_token"])
    assert claims["iss"] == env.url and claims["aud"] == "portal-a" and claims["nonce"] == login.nonce
    assert claims["exp"] > claims["iat"] >= claims["auth_time"] - 1
    assert claims["acr"] == "http://eidas.europa.eu/LoA/high"
    disclosed = {k: v for k, v in claims.items() if k not in PROTOCOL}
    assert disclosed == {"given_name": "ERIKA", "family_name": "MUSTERMANN", "birthdate": "1964-08-12"}
    assert not claims["sub"].startswith("t-") and len(claims["sub"]) == 43
    userinfo = httpx.get(f"{env.url}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.status_code == 200 and userinfo.json() == {"sub": claims["sub"], **disclosed}


def test_age_over_18_discloses_only_that_boolean_with_a_transient_sub(env: OpEnv) -> None:
    login = env.log_in(Login("portal-a", A_CB, "openid age_over_18"), env.credential())
    claims = env.id_token_claims(env.redeem(login).json()["id_token"])
    assert {k: v for k, v in claims.items() if k not in PROTOCOL} == {"age_equal_or_over": {"18": True}}
    assert claims["sub"].startswith("t-")
    assert claims["acr"] == "http://eidas.europa.eu/LoA/high"


def test_parking_permit_claims_under_their_query_id_without_acr(env: OpEnv) -> None:
    """A non-PID credential: its claims under the Credential Query id; no level of assurance is known for it."""
    holder_permit = env.credential(claims=PARKING, vct=PARKING_VCT)
    login = env.log_in(Login("portal-a", A_CB, "openid parking_permit"), holder_permit)
    claims = env.id_token_claims(env.redeem(login).json()["id_token"])
    assert {k: v for k, v in claims.items() if k not in PROTOCOL} == {
        "parking_permit": {"license_plate": "K-EM 1964", "parking_zone": "K3"}
    }
    assert "acr" not in claims and claims["sub"].startswith("t-")


def test_cross_device_login_completes_in_the_browser_that_started_it(env: OpEnv) -> None:
    """QR code flow: the phone's browser lands on a neutral page; the desktop page follows the status and gets the
    code."""
    login = env.log_in(Login("portal-b", B_CB, "openid pid_basic"), env.credential(), same_device=False)
    answer = env.redeem(login)
    assert answer.status_code == 200, answer.text
    assert env.id_token_claims(answer.json()["id_token"])["family_name"] == "MUSTERMANN"


def test_login_page_shows_link_first_then_qr(env: OpEnv) -> None:
    with env.browser() as browser:
        env.open_login_page(browser, Login("portal-a", A_CB, "openid pid_basic"))
        page = browser.get(f"{env.url}/authorize/login").text
    assert page.index('id="same-device"') < page.index("<svg")
    assert "Portal A" in page and "Geburtsort" in page
    assert browser.cookies  # bound to this browser


def test_prompt_login_and_consent_are_accepted(env: OpEnv) -> None:
    login = Login("portal-a", A_CB, "openid age_over_18")
    with env.browser() as browser:
        started = browser.get(f"{env.url}/authorize", params=login.params(prompt="login consent"))
    assert started.status_code == 303 and started.headers["location"] == "/authorize/login"


# --- authorization endpoint refusals ---------------------------------------------------------------------------------


def test_redirect_uri_mismatch_is_shown_never_redirected_rfc6749_4_1_2_1(env: OpEnv) -> None:
    """RFC 6749 §4.1.2.1: an unregistered redirect URI (or client) — "MUST NOT automatically redirect"."""
    login = Login("portal-a", "https://evil.example/cb", "openid pid_basic")
    with env.browser() as browser:
        for params in (
            login.params(),
            login.params(redirect_uri=A_CB + "/"),  # exact string match only
            login.params(redirect_uri=None),
            login.params(client_id="unknown", redirect_uri=A_CB),
        ):
            answer = browser.get(f"{env.url}/authorize", params=params)
            assert answer.status_code == 400 and "location" not in answer.headers
            assert 'id="error"' in answer.text


def test_nonce_missing_is_refused_to_the_portal(env: OpEnv) -> None:
    """This provider requires nonce (OpenID Connect Core §3.1.2.1 makes it optional for the code flow)."""
    login = Login("portal-a", A_CB, "openid pid_basic")
    with env.browser() as browser:
        answer = browser.get(f"{env.url}/authorize", params=login.params(nonce=None))
    error = _error_redirect(answer, A_CB)
    assert error["error"] == "invalid_request" and "nonce" in error["error_description"]
    assert error["state"] == login.state and error["iss"] == env.url


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"code_challenge": None}, "invalid_request"),  # RFC 7636 §4.4.1: PKCE required here
        ({"code_challenge_method": "plain"}, "invalid_request"),  # only S256
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "pid_basic"}, "invalid_scope"),  # §3.1.2.1: openid MUST be present
        ({"scope": "openid"}, "invalid_scope"),
        ({"scope": "openid unknown_scope"}, "invalid_scope"),
        ({"prompt": "none"}, "login_required"),  # §3.1.2.1: never a UI with prompt=none
        ({"prompt": "none login"}, "invalid_request"),
        ({"request": "eyJ..."}, "request_not_supported"),
        ({"response_mode": "fragment"}, "invalid_request"),  # the code goes back in the query only
        ({"state": "s" * 1025}, "invalid_request"),
    ],
)
def test_authorization_request_refusals_go_back_with_state(env: OpEnv, changes: dict, expected: str) -> None:
    login = Login("portal-a", A_CB, "openid pid_basic")
    with env.browser() as browser:
        answer = browser.get(f"{env.url}/authorize", params=login.params(**changes))
    error = _error_redirect(answer, A_CB)
    assert error["error"] == expected and error["state"] == login.params(**changes)["state"]


def test_scope_not_registered_for_the_client(env: OpEnv) -> None:
    login = Login("portal-b", B_CB, "openid parking_permit")
    with env.browser() as browser:
        answer = browser.get(f"{env.url}/authorize", params=login.params())
    assert _error_redirect(answer, B_CB)["error"] == "invalid_scope"


def test_repeated_parameter_is_refused_rfc6749_3_1(env: OpEnv) -> None:
    login = Login("portal-a", A_CB, "openid pid_basic")
    query = "&".join(f"{k}={v}" for k, v in login.params().items()) + "&state=again"
    with env.browser() as browser:
        answer = browser.get(f"{env.url}/authorize?{query}")
    assert answer.status_code == 400 and "location" not in answer.headers


def test_wallet_declines_access_denied(env: OpEnv) -> None:
    login = Login("portal-a", A_CB, "openid pid_basic")
    with env.browser() as browser, httpx.Client(timeout=30) as wallet_http:
        env.open_login_page(browser, login)
        declined = env.wallet(wallet_http, env.credential()).decline(login.link)
        assert declined.response.status_code == 200
        login.final = browser.get(declined.body["redirect_uri"])
    error = _error_redirect(login.final, A_CB)
    assert error["error"] == "access_denied" and error["state"] == login.state


def test_refused_presentation_access_denied(env: OpEnv) -> None:
    """A credential from an issuer that is not accredited for the PID: the presentation is refused, the portal gets
    access_denied and nothing else."""
    credential = env.credential()
    saved = dict(env.trust.accreditations)
    env.trust.accreditations.clear()
    try:
        login = Login("portal-a", A_CB, "openid pid_basic")
        with env.browser() as browser, httpx.Client(timeout=30) as wallet_http:
            env.open_login_page(browser, login)
            refused = env.wallet(wallet_http, credential).present(login.link)
            assert refused.response.status_code == 400
            assert browser.get(f"{env.url}/authorize/status").json()["status"] == "refused"
            login.final = browser.get(f"{env.url}/authorize/complete")
    finally:
        env.trust.accreditations.update(saved)
    error = _error_redirect(login.final, A_CB)
    assert error["error"] == "access_denied" and "issuer_not_accredited" in error["error_description"]


def test_another_browser_cannot_complete_the_login(env: OpEnv) -> None:
    """The login is bound to the browser that started it (cookie): a captured wallet redirect is useless elsewhere."""
    login = Login("portal-a", A_CB, "openid pid_basic")
    with env.browser() as browser, env.browser() as attacker, httpx.Client(timeout=30) as wallet_http:
        env.open_login_page(browser, login)
        presented = env.wallet(wallet_http, env.credential()).present(login.link)
        stolen = attacker.get(presented.body["redirect_uri"])
        assert stolen.status_code == 200 and 'id="elsewhere"' in stolen.text
        assert attacker.get(f"{env.url}/authorize/complete").status_code == 404
        login.final = browser.get(presented.body["redirect_uri"])
    assert "code" in login.callback


# --- token endpoint refusals -----------------------------------------------------------------------------------------


def test_pkce_mismatch_rfc7636_4_6(env: OpEnv) -> None:
    login = env.log_in(Login("portal-a", A_CB, "openid age_over_18"), env.credential())
    other_verifier = "x" * 43
    answer = env.redeem(login, verifier=other_verifier)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert "code_verifier" in answer.json()["error_description"]
    # the code was consumed by the failed attempt: no second try with the right verifier
    assert env.redeem(login).json()["error"] == "invalid_grant"


def test_missing_code_verifier(env: OpEnv) -> None:
    login = env.log_in(Login("portal-a", A_CB, "openid age_over_18"), env.credential())
    answer = env.redeem(login, verifier="")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_code_reuse_is_refused_and_revokes_the_token_rfc6749_4_1_2(env: OpEnv) -> None:
    """RFC 6749 §4.1.2: a code used twice — deny, and revoke the tokens issued for it."""
    login = env.log_in(Login("portal-a", A_CB, "openid pid_basic"), env.credential())
    first = env.redeem(login)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    headers = {"Authorization": f"Bearer {access_token}"}
    assert httpx.get(f"{env.url}/userinfo", headers=headers).status_code == 200
    second = env.redeem(login)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    revoked = httpx.get(f"{env.url}/userinfo", headers=headers)
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"].startswith("Bearer")


def test_token_redirect_uri_must_match_the_authorization_request_rfc6749_4_1_3(env: OpEnv) -> None:
    login = env.log_in(Login("portal-a", A_CB, "openid age_over_18"), env.credential())
    answer = env.redeem(login, redirect_uri="https://portal-a.example/cb2")  # registered, but not the one used
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_wrong_client_secret_rfc6749_5_2(env: OpEnv) -> None:
    login = env.log_in(Login("portal-a", A_CB, "openid age_over_18"), env.credential())
    answer = env.redeem(login, auth=env.basic(secret="wrong-secret-" + "y" * 30))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic")
    # the right secret still works: a failed client authentication does not consume the code
    assert env.redeem(login).status_code == 200


def test_code_of_another_client(env: OpEnv) -> None:
    login = env.log_in(Login("portal-b", B_CB, "openid age_over_18"), env.credential())
    answer = env.redeem(login, auth=env.basic(), redirect_uri=B_CB)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_no_client_authentication(env: OpEnv) -> None:
    login = env.log_in(Login("portal-a", A_CB, "openid age_over_18"), env.credential())
    answer = env.redeem(login, form_auth={"client_id": "portal-a"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_client_must_use_its_registered_method_oidc_core_9(env: OpEnv) -> None:
    """portal-b registered private_key_jwt: client_secret_basic is refused, and vice versa."""
    login = env.log_in(Login("portal-b", B_CB, "openid age_over_18"), env.credential())
    as_basic = env.redeem(login, auth=env.basic("portal-b", "some-secret-" + "z" * 30))
    assert as_basic.status_code == 401 and as_basic.json()["error"] == "invalid_client"
    login_a = env.log_in(Login("portal-a", A_CB, "openid age_over_18"), env.credential())
    as_jwt = env.redeem(login_a, form_auth=env.assertion("portal-a"))
    assert as_jwt.status_code == 401
    assert env.redeem(login).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    ["wrong_key", "wrong_aud", "wrong_sub", "expired", "no_jti", "wrong_type", "too_long"],
)
def test_private_key_jwt_refusals_rfc7523_3(env: OpEnv, tamper: str) -> None:
    login = env.log_in(Login("portal-b", B_CB, "openid age_over_18"), env.credential())
    now = int(time.time())
    form = {
        "wrong_key": lambda: env.assertion(key=PrivateKey.generate("ES256")),
        "wrong_aud": lambda: env.assertion(aud="https://elsewhere.example/token"),
        "wrong_sub": lambda: env.assertion(sub="portal-a"),
        "expired": lambda: env.assertion(exp=now - 600, iat=now - 900),
        "no_jti": lambda: env.assertion(jti=None),
        "wrong_type": lambda: {**env.assertion(), "client_assertion_type": "urn:example:other"},
        "too_long": lambda: env.assertion(exp=now + 7200),
    }[tamper]()
    answer = env.redeem(login, form_auth=form)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client", answer.text
    assert env.redeem(login).status_code == 200  # the code is still there for a properly authenticated client


def test_private_key_jwt_assertion_replay(env: OpEnv) -> None:
    """RFC 7523 §3 (7): the jti makes an assertion single-use."""
    login = env.log_in(Login("portal-b", B_CB, "openid age_over_18"), env.credential())
    assertion = env.assertion(aud=env.url)  # the issuer identifier is an accepted audience too
    assert env.redeem(login, form_auth=assertion).status_code == 200
    login2 = env.log_in(Login("portal-b", B_CB, "openid age_over_18"), env.credential())
    replayed = env.redeem(login2, form_auth=assertion)
    assert replayed.status_code == 401 and "used before" in replayed.json()["error_description"]


def test_unsupported_grant_type(env: OpEnv) -> None:
    with httpx.Client(timeout=30) as http:
        answer = http.post(f"{env.url}/token", data={"grant_type": "client_credentials"}, headers=env.basic())
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_userinfo_needs_a_valid_bearer_token_rfc6750_3_1(env: OpEnv) -> None:
    missing = httpx.get(f"{env.url}/userinfo")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.get(f"{env.url}/userinfo", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"


# --- privacy ---------------------------------------------------------------------------------------------------------


def test_finished_login_leaves_no_session_state(env: OpEnv) -> None:
    """docs/privacy.md: the presentation session, its result and the login record are deleted on completion."""
    login = Login("portal-a", A_CB, "openid pid_basic")
    store = env.service.store
    with env.browser() as browser, httpx.Client(timeout=30) as wallet_http:
        env.open_login_page(browser, login)
        cookie = browser.cookies.get("govssi_oidc_login", domain="127.0.0.1", path="/authorize")
        login_id, _, binding = cookie.partition(".")
        transaction_id = env.provider.login(login_id, binding)["transaction_id"]
        request_id = parse_qs(urlsplit(login.link).query)["request_uri"][0].rsplit("/", 1)[1]
        presented = env.wallet(wallet_http, env.credential()).present(login.link)
        assert store.get("vp_result", transaction_id) is not None  # the verified claims, until taken
        login.final = browser.get(presented.body["redirect_uri"])
        assert "code" in login.callback
        assert "govssi_oidc_login" not in browser.cookies
    for ns, key in [
        ("oidc_login", login_id),
        ("vp_tx", transaction_id),
        ("vp_result", transaction_id),
        ("vp_link", transaction_id),
        ("vp_session", request_id),
        ("vp_nonce", request_id),
    ]:
        assert store.get(ns, key) is None, ns


def test_no_claim_values_in_logs(env: OpEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    login = env.log_in(Login("portal-a", A_CB, "openid pid_basic"), env.credential())
    env.redeem(login)
    text = caplog.text + " ".join(str(getattr(r, "__dict__", "")) for r in caplog.records)
    assert "oidc login verified" in caplog.text
    for value in ("MUSTERMANN", "ERIKA", "1964-08-12", "BERLIN"):
        assert value not in text


SHORT_CLAIMS_TTL = 4


def test_claims_expire_after_claims_ttl(tmp_path: Path) -> None:
    """GOVSSI_VERIFIER_OIDC_CLAIMS_TTL caps the code and the access token: after it nothing of the login is left.
    (4 s: a whole login must fit in it on a loaded machine — at 1 s CI once saw the login itself outlive its claims.)"""
    with op_env(tmp_path, claims_ttl=SHORT_CLAIMS_TTL) as env:
        login = env.log_in(Login("portal-a", A_CB, "openid pid_basic"), env.credential())
        answer = env.redeem(login)
        assert answer.json()["expires_in"] == SHORT_CLAIMS_TTL
        late = env.log_in(Login("portal-a", A_CB, "openid pid_basic"), env.credential())
        # a login whose browser never came back: the verified claims wait at most claims_ttl
        abandoned = Login("portal-a", A_CB, "openid pid_basic")
        with env.browser() as browser:
            env.open_login_page(browser, abandoned)
            with httpx.Client(timeout=30) as wallet_http:
                assert env.wallet(wallet_http, env.credential()).present(abandoned.link).response.status_code == 200
            time.sleep(SHORT_CLAIMS_TTL + 0.3)
            abandoned.final = browser.get(f"{env.url}/authorize/complete")
        assert _error_redirect(abandoned.final, A_CB)["error"] == "access_denied"
        bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        userinfo = httpx.get(f"{env.url}/userinfo", headers=bearer)
        assert userinfo.status_code == 401
        assert env.redeem(late).json()["error"] == "invalid_grant"


def test_completing_early_waits_and_completing_twice_finds_it_gone(env: OpEnv) -> None:
    """Before the wallet answers, /authorize/complete sends the browser back to the login page; after the login is
    complete, a second completion (the page and the wallet's redirect racing) finds nothing — the portal gets one
    answer, never an error after the code."""
    login = Login("portal-a", A_CB, "openid pid_basic")
    with env.browser() as browser, httpx.Client(timeout=30) as wallet_http:
        env.open_login_page(browser, login)
        cookie = browser.cookies.get("govssi_oidc_login", domain="127.0.0.1", path="/authorize")
        early = browser.get(f"{env.url}/authorize/complete")
        assert early.status_code == 303 and early.headers["location"] == "/authorize/login"
        presented = env.wallet(wallet_http, env.credential()).present(login.link)
        login.final = browser.get(presented.body["redirect_uri"])
        assert "code" in login.callback
    with httpx.Client(timeout=30, follow_redirects=False) as again:
        late = again.get(f"{env.url}/authorize/complete", headers={"Cookie": f"govssi_oidc_login={cookie}"})
    assert late.status_code == 404 and "location" not in late.headers


def test_acr_follows_the_configured_level_for_the_credential_type(tmp_path: Path) -> None:
    """GOVSSI_VERIFIER_OIDC_ACR_BY_VCT: a deployment whose PIDs may come from Smart-eIDs states a lower level."""
    substantial = "http://eidas.europa.eu/LoA/substantial"
    with op_env(tmp_path, acr_by_vct={"urn:eudi:pid:de:1": substantial}) as env:
        login = env.log_in(Login("portal-a", A_CB, "openid age_over_18"), env.credential())
        assert env.id_token_claims(env.redeem(login).json()["id_token"])["acr"] == substantial
