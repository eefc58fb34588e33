"""The parties around the OpenID Provider for its tests: a verifier with the provider over real HTTP, a test issuer
(PID with place of birth, a parking permit), the chain's answers as data, and a "browser" + portal pair that speaks
the protocol step by step so each step can be broken on purpose."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from verifier_support import (
    PID_CLAIMS,
    FakeTrust,
    HeldCredential,
    TestIssuer,
    TestWallet,
    settings,
    sqlite_store,
    verifier_identity,
)

from infra.server import LoopbackServer
from ssi.jose import decode_jwt, encode_jwt
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner
from verifier import PresentationService
from verifier.oidc import OidcSettings, OpenIdProvider, PortalRegistry
from verifier.oidc.loopback import loopback_openid_provider

PARKING_VCT = "https://ausweis.example.org/vct/bewohnerparkausweis"
SECRET_A = "portal-a-secret-" + "x" * 32
ERIKA = {
    **PID_CLAIMS,
    "place_of_birth": {"locality": "BERLIN"},
}
PARKING = {"family_name": "MUSTERMANN", "license_plate": "K-EM 1964", "parking_zone": "K3"}
PARKING_SCOPE = {
    "description": "Bewohnerparkausweis: Kennzeichen und Parkzone",
    "credentials": [
        {
            "id": "parking_permit",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [PARKING_VCT]},
            "claims": [{"path": ["license_plate"]}, {"path": ["parking_zone"]}],
        }
    ],
}


def portal_document(portal_b_key: PrivateKey, *, extra_clients: list[dict[str, Any]] | None = None) -> dict:
    public = {**portal_b_key.public_key.jwk, "kid": "b-1"}
    return {
        "scopes": {"parking_permit": PARKING_SCOPE},
        "clients": [
            {
                "client_id": "portal-a",
                "client_name": "Portal A",
                "redirect_uris": ["https://portal-a.example/cb", "https://portal-a.example/cb2"],
                "token_endpoint_auth_method": "client_secret_basic",
                "client_secret": SECRET_A,
                "scopes": ["pid_basic", "age_over_18", "parking_permit"],
                "sector_identifier": "portal-a.example",
            },
            {
                "client_id": "portal-b",
                "client_name": "Portal B",
                "redirect_uris": ["https://portal-b.example/cb"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [public]},
                "scopes": ["pid_basic", "age_over_18"],
            },
            *(extra_clients or []),
        ],
    }


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Login:
    """One authorization request as a portal makes it, and what came back."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    verifier: str = ""
    challenge: str = ""
    link: str = ""
    final: httpx.Response | None = None

    def __post_init__(self) -> None:
        if not self.verifier:
            self.verifier, self.challenge = pkce()

    def params(self, **changes: str | None) -> dict[str, str]:
        base: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        base.update(changes)
        return {k: v for k, v in base.items() if v is not None}

    @property
    def callback(self) -> dict[str, str]:
        assert self.final is not None and self.final.status_code == 303, self.final
        location = self.final.headers["location"]
        assert location.startswith(self.redirect_uri + "?"), location
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class OpEnv:
    server: LoopbackServer
    service: PresentationService
    provider: OpenIdProvider
    issuer: TestIssuer
    trust: FakeTrust
    verifier_ca: Any
    portal_b_key: PrivateKey

    @property
    def url(self) -> str:
        return self.server.url

    def credential(self, claims: Mapping[str, Any] = ERIKA, **kwargs: Any) -> HeldCredential:
        holder = SoftwareSigner.generate("ES256")
        compact, idx = self.issuer.issue(holder, claims=claims, **kwargs)
        return HeldCredential(compact, holder, idx)

    def browser(self) -> httpx.Client:
        return httpx.Client(timeout=30, follow_redirects=False)

    def wallet(self, http: httpx.Client, *credentials: HeldCredential) -> TestWallet:
        return TestWallet(http, self.verifier_ca, list(credentials))

    def start(self, browser: httpx.Client, login: Login) -> httpx.Response:
        return browser.get(f"{self.url}/authorize", params=login.params())

    def open_login_page(self, browser: httpx.Client, login: Login) -> None:
        started = self.start(browser, login)
        assert started.status_code == 303 and started.headers["location"] == "/authorize/login", started.text
        page = browser.get(f"{self.url}/authorize/login")
        assert page.status_code == 200, page.text
        found = re.search(r'id="same-device" href="([^"]+)"', page.text)
        assert found, page.text
        login.link = html.unescape(found.group(1))

    def log_in(
        self,
        login: Login,
        *credentials: HeldCredential,
        same_device: bool = True,
        browser: httpx.Client | None = None,
    ) -> Login:
        """The whole browser side: authorize, login page, the wallet presents, back to the portal."""
        own = browser is None
        browser = browser or self.browser()
        try:
            self.open_login_page(browser, login)
            with httpx.Client(timeout=30) as wallet_http:
                presented = self.wallet(wallet_http, *credentials).present(login.link)
            assert presented.response.status_code == 200, presented.response.text
            if same_device:
                login.final = browser.get(presented.body["redirect_uri"])
            else:
                with httpx.Client(timeout=30) as phone:  # the phone's browser follows the wallet's redirect
                    elsewhere = phone.get(presented.body["redirect_uri"])
                    assert elsewhere.status_code == 200 and 'id="elsewhere"' in elsewhere.text
                status = browser.get(f"{self.url}/authorize/status").json()["status"]
                assert status == "verified"
                login.final = browser.get(f"{self.url}/authorize/complete")
        finally:
            if own:
                browser.close()
        return login

    # -- the portal's back channel -----------------------------------------------------------------------------------

    def basic(self, client_id: str = "portal-a", secret: str = SECRET_A) -> dict[str, str]:
        raw = f"{client_id}:{secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def assertion(self, client_id: str = "portal-b", key: PrivateKey | None = None, **claims: Any) -> dict[str, str]:
        now = int(time.time())
        body = {
            "iss": client_id,
            "sub": client_id,
            "aud": f"{self.url}/token",
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 120,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        token = encode_jwt(body, SoftwareSigner(key or self.portal_b_key, kid="b-1"), typ="JWT")
        return {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": token,
        }

    def redeem(
        self,
        login: Login,
        *,
        code: str | None = None,
        verifier: str | None = None,
        redirect_uri: str | None = None,
        auth: dict[str, str] | None = None,
        form_auth: dict[str, str] | None = None,
    ) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code if code is not None else login.callback["code"],
            "redirect_uri": redirect_uri or login.redirect_uri,
            "code_verifier": verifier if verifier is not None else login.verifier,
        }
        if login.client_id == "portal-b" and form_auth is None and auth is None:
            form_auth = self.assertion()
        if login.client_id == "portal-a" and auth is None and form_auth is None:
            auth = self.basic()
        form.update(form_auth or {})
        with httpx.Client(timeout=30) as http:
            return http.post(f"{self.url}/token", data=form, headers=auth or {})

    def id_token_claims(self, token: str) -> dict[str, Any]:
        with httpx.Client(timeout=30) as http:
            (jwk,) = http.get(f"{self.url}/jwks.json").json()["keys"]
        return decode_jwt(token, PublicKey.from_jwk(jwk), ["ES256"], typ="JWT").claims


@contextmanager
def op_env(directory: Path, *, extra_clients: list[dict[str, Any]] | None = None, **oidc: Any) -> Iterator[OpEnv]:
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    trust.accredit(issuer, "urn:eudi:pid:de:1", PARKING_VCT)
    identity = verifier_identity("http://127.0.0.1")
    portal_b_key = PrivateKey.generate("ES256")
    registry = PortalRegistry.from_document(
        portal_document(portal_b_key, extra_clients=extra_clients), dev_allow_http=True
    )
    with loopback_openid_provider(
        settings(directory),
        registry,
        oidc_settings=OidcSettings(keys_dir=directory / "oidc", **oidc),
        store=sqlite_store(directory),
        keys=identity.keys,
        trust=trust,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
    ) as (server, service, provider):
        yield OpEnv(server, service, provider, issuer, trust, identity.ca.certificate, portal_b_key)


__all__ = ["ERIKA", "PARKING", "PARKING_VCT", "SECRET_A", "Login", "OpEnv", "op_env", "pkce", "portal_document"]
