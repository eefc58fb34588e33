"""The verifier's side of OpenID4VP 1.0 over real HTTP, rule by rule: the signed Request Object by reference with both
``request_uri_method`` values (§5.10, RFC 9101), the ephemeral response encryption key per request with both content
encryptions HAIP 1.0 names (§8.3), ``vp_token`` only (§5.6), session expiry (§13.3), and the status list cache with
the chain's anchored digests (Token Status List §8.3, §13.7) under the verifier's policy (fail closed, or open)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from conftest import Env
from verifier_support import (
    FakeTrust,
    HeldCredential,
    TestIssuer,
    TestWallet,
    settings,
    sqlite_store,
    verifier_identity,
)

from ssi.encoding import b64url_json
from ssi.errors import InvalidRequestObject
from ssi.keys import SoftwareSigner
from ssi.oid4vp import (
    WalletRequestPolicy,
    encrypt_response,
    parse_authorization_request_link,
    request_uri_post_form,
    response_form,
    verify_request_object,
    verify_unsigned_request,
)
from ssi.status_list import INVALID
from ssi.x509 import x509_hash
from verifier import VerifierSettings, build_verifier, loopback_verifier


def _link_params(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def test_section_5_10_request_uri_method_post_echoes_the_wallet_nonce(fresh: Env) -> None:
    """§5.10: the link carries ``request_uri_method=post``; the Wallet POSTs ``wallet_nonce`` and the Request Object
    "MUST" contain it. §5: ``typ`` ``oauth-authz-req+jwt``; HAIP 1.0 / §5.9.3 ``x509_hash``: the hash of the leaf of
    the ``x5c`` that signed it; §5.8 ``aud`` for static discovery."""
    created = fresh.create()
    params = _link_params(created["authorization_request"])
    assert set(params) == {"client_id", "request_uri", "request_uri_method"}
    assert params["request_uri_method"] == "post" and params["request_uri"] == created["request_uri"]
    nonce = secrets.token_urlsafe(16)
    answer = fresh.http.post(created["request_uri"], data=request_uri_post_form(nonce, None))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/oauth-authz-req+jwt")
    assert answer.headers["cache-control"] == "no-store"
    header, claims = b64url_json(answer.text.split(".")[0]), b64url_json(answer.text.split(".")[1])
    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "ES256" and header["x5c"]
    assert claims["wallet_nonce"] == nonce
    assert claims["client_id"] == params["client_id"] == f"x509_hash:{x509_hash(fresh.service.keys.leaf)}"
    assert claims["aud"] == "https://self-issued.me/v2"
    assert claims["response_type"] == "vp_token"  # §5.6: vp_token only, never an id_token
    assert claims["response_mode"] == "direct_post.jwt"  # HAIP 1.0 default
    assert claims["iat"] <= time.time() + 1 < claims["exp"]
    # the wallet side verifies it (signature to the verifier's CA, client id, wallet_nonce)
    link = parse_authorization_request_link(created["authorization_request"])
    verified = verify_request_object(answer.text, link, fresh.wallet().policy(), wallet_nonce=nonce)
    assert verified.verifier.name == "Bürgerportal Musterstadt"


def test_section_5_10_request_uri_method_get(fresh: Env) -> None:
    """A Wallet that does not use ``post`` fetches the Request URI with GET (RFC 9101 §5.2): no ``wallet_nonce`` in the
    Request Object, and the presentation completes."""
    created = fresh.create(response_mode="direct_post")
    answer = fresh.http.get(created["request_uri"], headers={"Accept": "application/oauth-authz-req+jwt"})
    assert answer.status_code == 200
    link = parse_authorization_request_link(created["authorization_request"])
    wallet = fresh.wallet(fresh.credential())
    request = verify_request_object(answer.text, link, wallet.policy()).request
    assert request.wallet_nonce is None and request.response_mode == "direct_post"
    posted = wallet.post(request, response_form(request, wallet.presentations(request)))
    assert posted.response.status_code == 200, posted.response.text
    assert fresh.result(created["session"]).json()["status"] == "verified"


def test_section_5_10_a_wallet_nonce_that_is_not_url_safe_is_refused(fresh: Env) -> None:
    created = fresh.create()
    answer = fresh.http.post(created["request_uri"], data={"wallet_nonce": "not url safe!"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def _jwe_header(form: dict[str, str]) -> dict:
    header: dict = b64url_json(form["response"].split(".")[0])
    return header


def test_section_8_3_one_ephemeral_key_per_request_and_both_haip_encs(fresh: Env) -> None:
    """HAIP 1.0: ECDH-ES on P-256, ``A128GCM`` and ``A256GCM``; §5.1: the keys in ``client_metadata`` are ephemeral,
    "specific to this Authorization Request". A response the Wallet encrypts with A256GCM is accepted as well."""
    first, second = fresh.create(), fresh.create()
    wallet = fresh.wallet(fresh.credential())
    request_1 = wallet.fetch_request(first["authorization_request"])
    request_2 = wallet.fetch_request(second["authorization_request"])
    (key_1,) = request_1.client_metadata["jwks"]["keys"]
    (key_2,) = request_2.client_metadata["jwks"]["keys"]
    assert key_1["kty"] == "EC" and key_1["crv"] == "P-256" and key_1["alg"] == "ECDH-ES" and "d" not in key_1
    assert (key_1["x"], key_1["kid"]) != (key_2["x"], key_2["kid"])
    assert request_1.client_metadata["encrypted_response_enc_values_supported"] == ["A128GCM", "A256GCM"]
    # A128GCM (the wallet's default choice)
    form = response_form(request_1, wallet.presentations(request_1))
    assert _jwe_header(form)["enc"] == "A128GCM" and _jwe_header(form)["alg"] == "ECDH-ES"
    assert wallet.post(request_1, form).response.status_code == 200
    # A256GCM
    params = {"vp_token": wallet.presentations(request_2), "state": request_2.state}
    form = {"response": encrypt_response(params, key_2, "A256GCM")}
    assert _jwe_header(form)["enc"] == "A256GCM" and _jwe_header(form)["kid"] == key_2["kid"]
    assert wallet.post(request_2, form).response.status_code == 200
    for created in (first, second):
        assert fresh.result(created["session"]).json()["status"] == "verified"


def test_section_13_3_sessions_expire(fresh: Env) -> None:
    """Sessions live ``session_ttl`` seconds: after that the Request URI, the Response URI and the relying party's
    endpoints no longer know them (the store expires them; no clean-up job needed)."""
    fresh.service.session_ttl = 1.0
    try:
        created = fresh.create()
        wallet = fresh.wallet(fresh.credential())
        request = wallet.fetch_request(created["authorization_request"])
        form = response_form(request, wallet.presentations(request))
        time.sleep(1.3)
        answer = fresh.http.post(request.response_uri, data=form)
        assert answer.status_code == 400 and answer.json()["reason"] == "session_unknown"
        assert fresh.result(created["session"]).status_code == 404
        assert fresh.http.get(f"{fresh.url}/api/presentations/{created['session']}/status").status_code == 404
        late = fresh.create()
        time.sleep(1.3)
        gone = fresh.http.get(late["request_uri"])
        assert gone.status_code == 404, gone.text
    finally:
        fresh.service.session_ttl = 600.0


def _present(env: Env, credential: object | None = None) -> dict:
    created = env.create(preset="age_over_18")
    wallet = env.wallet(credential or env.credential())  # type: ignore[arg-type]
    assert wallet.present(created["authorization_request"]).response.status_code in (200, 400)
    body: dict = env.result(created["session"]).json()
    return body


def test_status_list_cache_follows_the_anchored_version(fresh: Env) -> None:
    """Token Status List §8.3 / §13.7: a fetched list is cached (bounded by ``ttl``, ``exp`` and the verifier's
    maximum age); a cached token that is no longer the latest anchored version is fetched again at once — so a
    revocation the issuer anchored is seen before the cache would expire."""
    server = fresh.issuer.server
    credential = fresh.credential()
    before = server.fetches
    assert _present(fresh)["status"] == "verified"
    assert _present(fresh)["status"] == "verified"
    assert server.fetches == before + 1  # the second presentation used the cache
    token = fresh.issuer.set_status(fresh.issuer.list_uri("1"), credential.status_index, INVALID)
    fresh.trust.anchor(fresh.issuer, token)
    refused = _present(fresh, credential)
    assert refused["status"] == "refused" and refused["reason"] == "credential_revoked"
    assert server.fetches == before + 2


def test_status_max_age_zero_fetches_on_every_check(fresh: Env) -> None:
    """``GOVSSI_VERIFIER_STATUS_MAX_AGE=0``: every check fetches the list."""
    status = fresh.service.credentials.status._verifier
    status.max_age = 0
    try:
        before = fresh.issuer.server.fetches
        for _ in range(3):
            assert _present(fresh)["status"] == "verified"
        assert fresh.issuer.server.fetches == before + 3
    finally:
        status.max_age = 300.0


def test_unreachable_status_list_fails_closed_unless_the_policy_says_open(fresh: Env) -> None:
    """Fail closed by default (``status_unavailable``); with ``status_fail_open`` the credential passes, its status
    reported as ``unchecked`` — never as ``valid``."""
    checker = fresh.service.credentials.status
    fresh.issuer.server.down = True
    refused = _present(fresh)
    assert refused["status"] == "refused" and refused["reason"] == "status_unavailable"
    checker.fail_open = True
    try:
        passed = _present(fresh)
        assert passed["status"] == "verified"
        assert passed["credentials"]["pid"][0]["status"] == "unchecked"
        assert passed["credentials"]["pid"][0]["status_anchored"] is False
    finally:
        checker.fail_open = False


def test_section_5_9_3_redirect_uri_prefix_is_off_by_default_and_unsigned_over_http(tmp_path: Path) -> None:
    """§5.9.3 ``redirect_uri``: "Requests using the redirect_uri Client Identifier Prefix cannot be signed" — passed
    by value, authenticating nobody; for development only: off unless ``GOVSSI_VERIFIER_ALLOW_REDIRECT_URI``."""
    assert VerifierSettings().allow_redirect_uri is False
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    dependencies = {
        "store": sqlite_store(tmp_path),
        "trust": trust,
        "key_history": None,
        "did_resolver": None,
        "anchors": [issuer.ca],
        "fetcher": issuer.server,
        "keys": verifier_identity("http://127.0.0.1").keys,
    }
    with pytest.raises(ValueError, match="development"):
        build_verifier(settings(tmp_path, client_id_prefix="redirect_uri"), **dependencies)  # type: ignore[arg-type]
    config = settings(tmp_path, client_id_prefix="redirect_uri", allow_redirect_uri=True)
    with loopback_verifier(config, **dependencies) as (server, _service), httpx.Client(timeout=30) as http:
        created = http.post(f"{server.url}/api/presentations", json={"preset": "pid_identification"}).json()
        assert created["request_uri"] is None
        link = parse_authorization_request_link(created["authorization_request"])
        params = _link_params(created["authorization_request"])
        assert params["client_id"] == f"redirect_uri:{params['response_uri']}" and "request_uri" not in params
        request_id = params["state"]
        assert http.get(f"{server.url}/request/{request_id}").status_code == 404  # nothing to fetch by reference
        with pytest.raises(InvalidRequestObject):
            verify_unsigned_request(link, WalletRequestPolicy(allow_http_loopback=True))  # wallets refuse by default
        request = verify_unsigned_request(link, WalletRequestPolicy(allow_redirect_uri=True, allow_http_loopback=True))
        holder = SoftwareSigner.generate("ES256")
        compact, idx = issuer.issue(holder)
        wallet = TestWallet(http, issuer.ca, [HeldCredential(compact, holder, idx)])
        answer = wallet.post(request.request, response_form(request.request, wallet.presentations(request.request)))
        assert answer.response.status_code == 200, answer.response.text
        result = http.get(f"{server.url}/api/presentations/{created['session']}/result").json()
        assert result["status"] == "verified"
