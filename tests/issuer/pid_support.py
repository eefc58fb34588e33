"""Test support for the PID provider: an issuer with the PID provider role over real HTTP on 127.0.0.1, test cards,
and a hand-driven wallet (:class:`RawWallet`) that builds each request itself — so tests can leave out or falsify one
part at a time (PKCE, DPoP, the wallet attestation, the eID answer)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from issuer_support import API_KEY, demo_ca

from infra.db import create_engine, sqlite_url
from infra.server import LoopbackServer
from issuer import IssuerSettings, MemoryKeyring, build_issuer
from issuer.app import create_app, free_loopback_port
from issuer.pid_provider import PidConfig, PidProvider
from issuer.service import Issuer
from ssi.client_attestation import (
    ATTESTATION_HEADER,
    ATTESTATION_POP_HEADER,
    create_client_attestation_pop,
)
from ssi.dpop import create_dpop_proof
from ssi.encoding import b64url_encode
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vci import create_proof_jwt
from ssi.oid4vci.key_attestation import create_attested_proof_jwt
from wallet_sim.eid import EidCard, EidCards
from wallet_sim.eid.citizens import find_citizen
from wallet_sim.provider import WalletProvider

PID_ADMIN_KEY = "test-pid-admin-key-0001"
ADMIN = {"Authorization": f"Bearer {PID_ADMIN_KEY}"}
CARD_PIN = "123456"
REDIRECT_URI = "https://wallet.govssi.example/simulator/pid-callback"


class OffsetClock:
    """Real time plus an offset the test may move (the wallet side signs with real time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class PidEnv:
    server: LoopbackServer
    issuer: Issuer
    provider: PidProvider
    clock: OffsetClock
    http: httpx.Client
    tmp: Path

    @property
    def credential_issuer(self) -> str:
        return f"{self.server.url}/issuers/{self.provider.slug}"

    def card(self, card_id: str = "erika", *, directory: str = "cards") -> EidCard:
        card = EidCards(self.tmp / directory).card(card_id)
        if card.describe()["state"] == "transport_pin":
            card.change_pin(find_citizen(card_id).transport_pin, CARD_PIN)
        return card


@contextlib.contextmanager
def pid_issuer(tmp: Path, *, config: PidConfig | None = None, **overrides: Any) -> Iterator[PidEnv]:
    """An issuer with the PID provider role (authority ``pid``, the demo eID PKI and the demo wallet provider, or
    ``config``) on a free loopback port."""
    clock = OffsetClock()
    port = free_loopback_port()
    values: dict[str, Any] = {
        "data_dir": tmp / "issuer",
        "public_url": f"http://127.0.0.1:{port}",
        "dev_allow_http": True,
        "bootstrap_key": API_KEY,
        "key_passphrase": "test passphrase",
        "pid_authority": "pid",
        "pid_admin_key": PID_ADMIN_KEY,
        "token_rate_limit": 0,
    }
    values.update(overrides)
    settings = IssuerSettings(**values)
    (tmp / "issuer").mkdir(parents=True, exist_ok=True)
    service = build_issuer(
        settings,
        engine=create_engine(sqlite_url(tmp / "issuer" / "issuer.db")),
        keyring=MemoryKeyring(demo_ca(), clock=clock),
        clock=clock,
    )
    if config is not None:
        service.pid_provider = PidProvider(service.context, config, service.records)  # type: ignore[attr-defined]
    app = create_app(settings, issuer=service)
    provider: PidProvider = service.pid_provider  # type: ignore[attr-defined]
    server = LoopbackServer(app, port=port).start()
    try:
        with httpx.Client(timeout=30, follow_redirects=False) as http:
            yield PidEnv(server, service, provider, clock, http, tmp)
    finally:
        server.stop()


def pkce() -> tuple[str, str]:
    verifier = b64url_encode(secrets.token_bytes(32))
    return verifier, b64url_encode(hashlib.sha256(verifier.encode()).digest())


@dataclass
class RawWallet:
    """One wallet instance driven by hand: its wallet provider, instance key (attestation), DPoP key."""

    env: PidEnv
    provider: WalletProvider = field(default_factory=WalletProvider.demo)
    instance: PrivateKey = field(default_factory=PrivateKey.generate)
    dpop: PrivateKey = field(default_factory=PrivateKey.generate)
    verifier: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    nonce: str | None = None

    @property
    def client_id(self) -> str:
        return self.provider.client_id

    def attestation_headers(self, *, audience: str | None = None, jti: str | None = None) -> dict[str, str]:
        attestation = self.provider.wallet_attestation(self.instance.public_key.jwk, now=time.time())
        pop = create_client_attestation_pop(
            SoftwareSigner(self.instance),
            audience=audience or self.env.credential_issuer,
            now=time.time(),
            client_id=self.client_id,
            jti=jti,
        )
        return {ATTESTATION_HEADER: attestation, ATTESTATION_POP_HEADER: pop}

    def dpop_proof(
        self, url: str, *, method: str = "POST", nonce: str | None = None, token: str | None = None, key: Any = None
    ) -> str:
        return create_dpop_proof(
            SoftwareSigner(key or self.dpop), htm=method, htu=url, now=time.time(), nonce=nonce, access_token=token
        )

    # -- PAR / authorize / eID ----------------------------------------------------------------------------------------

    def par_form(self, **changes: str | None) -> dict[str, str]:
        self.verifier, challenge = pkce()
        form: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "pid",
            "state": self.state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "dpop_jkt": self.dpop.public_key.thumbprint(),
        }
        form.update(changes)
        return {k: v for k, v in form.items() if v is not None}

    def par(self, form: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return self.env.http.post(
            f"{self.env.credential_issuer}/par",
            data=dict(form if form is not None else self.par_form()),
            headers=dict(headers if headers is not None else self.attestation_headers()),
        )

    def request_uri(self) -> str:
        response = self.par()
        assert response.status_code == 201, response.text
        return str(response.json()["request_uri"])

    def authorize(self, request_uri: str, client_id: str | None = None) -> httpx.Response:
        query = urlencode({"client_id": client_id or self.client_id, "request_uri": request_uri})
        return self.env.http.get(f"{self.env.credential_issuer}/authorize?{query}")

    def activation(self) -> dict[str, Any]:
        response = self.authorize(self.request_uri())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def send_eid(self, activation: Mapping[str, Any], response: str) -> httpx.Response:
        return self.env.http.post(
            str(activation["eid_response_uri"]),
            json={"eid_session": activation["eid_session"], "eid_response": response},
        )

    def authorization_response(self, activation: Mapping[str, Any], response: str) -> dict[str, str]:
        answer = self.send_eid(activation, response)
        assert answer.status_code == 200, answer.text
        target = str(answer.json()["redirect_to"])
        assert target.startswith(REDIRECT_URI + "?")
        return {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}

    def code(self, card: EidCard | None = None) -> str:
        activation = self.activation()
        card = card or self.env.card()
        params = self.authorization_response(
            activation, card.authenticate(activation["eid_request"], CARD_PIN).encode()
        )
        assert "code" in params, params
        return params["code"]

    # -- token / credential -------------------------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.env.credential_issuer}/token"

    def fresh_nonce(self) -> str:
        response = self.env.http.post(f"{self.env.credential_issuer}/nonce")
        return str(response.headers["DPoP-Nonce"])

    def token_request(
        self,
        form: Mapping[str, str],
        *,
        dpop: str | bool | None = True,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers if headers is not None else self.attestation_headers())
        if dpop is True:
            all_headers["DPoP"] = self.dpop_proof(self.token_url, nonce=self.fresh_nonce())
        elif isinstance(dpop, str):
            all_headers["DPoP"] = dpop
        return self.env.http.post(self.token_url, data=dict(form), headers=all_headers)

    def code_form(self, code: str, **changes: str | None) -> dict[str, str]:
        form: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier,
            "client_id": self.client_id,
        }
        form.update(changes)
        return {k: v for k, v in form.items() if v is not None}

    def tokens(self, code: str | None = None) -> dict[str, Any]:
        response = self.token_request(self.code_form(code or self.code()))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def credential_request(
        self, access_token: str, body: Mapping[str, Any], *, scheme: str = "DPoP", dpop: bool = True
    ) -> httpx.Response:
        url = f"{self.env.credential_issuer}/credential"
        headers = {"Authorization": f"{scheme} {access_token}"}
        if dpop:
            headers["DPoP"] = self.dpop_proof(url, nonce=self.fresh_nonce(), token=access_token)
        return self.env.http.post(url, json=dict(body), headers=headers)

    def c_nonce(self) -> str:
        return str(self.env.http.post(f"{self.env.credential_issuer}/nonce").json()["c_nonce"])

    def pid_request(self, holders: list[PrivateKey], *, attested: bool = True) -> dict[str, Any]:
        nonce = self.c_nonce()
        if attested:
            attestation = self.provider.key_attestation(
                [h.public_key.jwk for h in holders], now=time.time(), nonce=nonce
            )
            proofs = [
                create_attested_proof_jwt(
                    SoftwareSigner(h),
                    attestation,
                    audience=self.env.credential_issuer,
                    now=time.time(),
                    nonce=nonce,
                    client_id=self.client_id,
                )
                for h in holders
            ]
        else:
            proofs = [
                create_proof_jwt(
                    SoftwareSigner(h),
                    audience=self.env.credential_issuer,
                    now=time.time(),
                    nonce=nonce,
                    client_id=self.client_id,
                )
                for h in holders
            ]
        return {"credential_configuration_id": "pid", "proofs": {"jwt": proofs}}
