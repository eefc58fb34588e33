"""The verifier side for the wallet simulator's presentation tests: govssi's real verifier over HTTP on 127.0.0.1
(``verifier.loopback_verifier``) trusting a test issuer (tests/verifier/verifier_support: ``TestIssuer`` with an
``x5c`` chain, status lists served in memory, the chain's answers as ``FakeTrust``), and credentials of that issuer
stored in a wallet simulator exactly as the wallet stores what it receives (one-time copies, holder keys in its
secure element).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verifier"))

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from verifier_support import PID, PID_CLAIMS, FakeTrust, TestIssuer, settings, sqlite_store, verifier_identity

from ssi.dcql import DcqlQuery
from ssi.did import did_jwk_from_public_key
from ssi.jose import encode_jwt
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vp import (
    DIRECT_POST_JWT,
    REQUEST_OBJECT_TYP,
    SELF_ISSUED_AUDIENCE,
    VP_FORMATS,
    AuthorizationRequest,
    ResponseEncryptionKey,
    WalletRequestPolicy,
    authorization_request_link,
    client_metadata,
    create_request_object,
    decrypt_response,
    x509_hash_client_id,
)
from ssi.sd_jwt import HeldSdJwt
from ssi.x509 import certificate_to_pem, issue_certificate, make_self_signed_ca, x5c_chain
from verifier import RequestSigningKeys, loopback_verifier
from wallet_sim.oid4vci.client import IssuerEndpoints, TokenGrant
from wallet_sim.oid4vci.verify import CheckedCredential
from wallet_sim.wallet import ReceivedCredentials, Wallet

__all__ = [
    "PID",
    "PID_CLAIMS",
    "RunningVerifier",
    "ScriptedVerifier",
    "TestIssuer",
    "pid_query",
    "running_verifier",
    "store_pid",
]

PID_DISPLAY: dict[str, Any] = {
    "credential": [
        {"locale": "de", "name": "Personalausweis (PID)"},
        {"locale": "en", "name": "Identity card (PID)"},
    ],
    "issuer": [{"locale": "de", "name": "Stadt Köln"}, {"locale": "en", "name": "City of Cologne"}],
    "claims": [
        {
            "path": ["given_name"],
            "display": [{"locale": "de", "label": "Vorname"}, {"locale": "en", "label": "Given name"}],
        },
        {
            "path": ["family_name"],
            "display": [{"locale": "de", "label": "Familienname"}, {"locale": "en", "label": "Family name"}],
        },
        {
            "path": ["birthdate"],
            "display": [{"locale": "de", "label": "Geburtsdatum"}, {"locale": "en", "label": "Date of birth"}],
        },
        {
            "path": ["address"],
            "display": [{"locale": "de", "label": "Anschrift"}, {"locale": "en", "label": "Address"}],
        },
        {
            "path": ["address", "locality"],
            "display": [{"locale": "de", "label": "Ort"}, {"locale": "en", "label": "City"}],
        },
    ],
}


@dataclass
class RunningVerifier:
    """The verifier on 127.0.0.1, its request-signing CA as a PEM file (what a wallet configures), its issuer."""

    url: str
    ca_pem: Path
    issuer: TestIssuer
    trust: FakeTrust
    http: httpx.Client
    client_id_prefix: str
    did: str | None = None

    def create(self, dcql_query: dict[str, Any], **body: Any) -> dict[str, Any]:
        answer = self.http.post(f"{self.url}/api/presentations", json={"dcql_query": dcql_query, **body})
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def result(self, session: str, **params: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.url}/api/presentations/{session}/result", params=params)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def status(self, session: str) -> str:
        status: str = self.http.get(f"{self.url}/api/presentations/{session}/status").json()["status"]
        return status


@contextmanager
def running_verifier(
    directory: Path, *, client_id_prefix: str = "x509_hash", **changes: Any
) -> Iterator[RunningVerifier]:
    """A verifier with the given Client Identifier Prefix: ``x509_hash``/``x509_san_dns`` with a CA-certified key,
    ``decentralized_identifier`` with a did:jwk (resolvable without a network), ``redirect_uri`` unsigned."""
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    identity = verifier_identity("http://127.0.0.1")
    keys = identity.keys
    did = None
    if client_id_prefix == "decentralized_identifier":
        key = PrivateKey.generate("ES256")
        did = did_jwk_from_public_key(key.public_key)
        keys = RequestSigningKeys(SoftwareSigner(key), (), f"{did}#0")
        changes.update(did=did)
    if client_id_prefix == "redirect_uri":
        changes.update(allow_redirect_uri=True)
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = directory / "verifier-ca.pem"
    ca_pem.write_bytes(certificate_to_pem(identity.ca.certificate))
    with (
        loopback_verifier(
            settings(directory, client_id_prefix=client_id_prefix, **changes),
            store=sqlite_store(directory),
            keys=keys,
            trust=trust,
            key_history=None,
            did_resolver=None,
            anchors=[issuer.ca],
            fetcher=issuer.server,
        ) as (server, _service),
        httpx.Client(timeout=30) as http,
    ):
        yield RunningVerifier(server.url, ca_pem, issuer, trust, http, client_id_prefix, did)


class _HolderKey:
    """What ``TestIssuer.issue`` needs of a holder: the public JWK (here of a key in the wallet's secure element)."""

    def __init__(self, public_jwk: dict[str, Any]) -> None:
        self.public_jwk = public_jwk


def store_pid(
    wallet: Wallet,
    issuer: TestIssuer,
    *,
    claims: dict[str, Any] | None = None,
    vct: str = PID,
    copies: int = 2,
    configuration_id: str = "pid",
) -> str:
    """Issue a PID (``x5c``, status entry) bound to keys of the wallet's secure element and store it as the wallet
    stores what it accepted; its wallet credential id."""
    keys = wallet.secure_element.generate_keys(copies)
    checked = []
    for handle in keys:
        compact, _ = issuer.issue(_HolderKey(dict(handle.public_jwk)), vct=vct, claims=claims or PID_CLAIMS)  # type: ignore[arg-type]
        held = HeldSdJwt.parse(compact)
        checked.append(CheckedCredential(compact, handle.id, held, held.payload))
    received = ReceivedCredentials(
        flow_id="f",
        configuration_id=configuration_id,
        endpoints=IssuerEndpoints(issuer.url, issuer.url + "/credential", issuer.url + "/token", issuer.url),
        grant=TokenGrant("t", "DPoP", None),
        checked=checked,
        notification_id=None,
        display=PID_DISPLAY,
        vct=vct,
        holder_key_ids=[k.id for k in keys],
        flow_key_ids=[],
    )
    return wallet.accept(received).id


def pid_query(*claims: str, purpose: Any = None, **extra: Any) -> dict[str, Any]:
    """A DCQL query for the PID asking for ``claims`` (dotted paths); ``purpose`` goes into a Credential Set Query."""
    query: dict[str, Any] = {
        "credentials": [
            {
                "id": "pid",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [PID]},
                "claims": [{"path": claim.split(".")} for claim in claims or ("family_name",)],
                **extra,
            }
        ]
    }
    if purpose is not None:
        query["credential_sets"] = [{"options": [["pid"]], "purpose": purpose}]
    return query


@dataclass
class ScriptedVerifier:
    """A verifier whose answers a test scripts: it signs Request Objects for ``query`` (echoing the wallet_nonce
    unless ``echo_nonce`` is off), and records every request the wallet makes."""

    ca_key: PrivateKey = field(default_factory=lambda: PrivateKey.generate("ES256"))
    key: PrivateKey = field(default_factory=lambda: PrivateKey.generate("ES256"))
    query: dict[str, Any] = field(default_factory=dict)
    response_mode: str = DIRECT_POST_JWT
    enc_values: tuple[str, ...] = ("A128GCM", "A256GCM")
    echo_nonce: bool = True
    request_status: int = 200
    request_media_type: str = "application/oauth-authz-req+jwt"
    request_redirect: bool = False
    response_answer: dict[str, Any] = field(default_factory=lambda: {"redirect_uri": "https://portal.example/done"})
    seen: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    client_metadata_override: dict[str, Any] | None = None
    #: claims added to the signed Request Object (parameters the wallet must refuse)
    extra_claims: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        now = time.time()
        self.ca = make_self_signed_ca(self.ca_key, "Scripted Verifier CA", now=now - 3600, days=30)
        self.leaf = issue_certificate(
            self.ca, self.ca_key, self.key.public_key, "Prüfstelle Test", now=now - 3600, days=10
        )
        self.encryption = ResponseEncryptionKey.generate("k1")

    @property
    def client_id(self) -> str:
        return x509_hash_client_id(self.leaf)

    def link(self, method: str | None = "post") -> str:
        return authorization_request_link(self.client_id, f"{self.url}/request/1", request_uri_method=method)

    def request_object(self, wallet_nonce: str | None) -> str:
        request = AuthorizationRequest(
            client_id=self.client_id,
            response_mode=self.response_mode,
            response_uri=f"{self.url}/response/1",
            nonce="nonce-abcdefghijklmnop",
            state="state-1",
            dcql_query=DcqlQuery.parse(self.query),
            client_metadata=self.client_metadata_override
            or client_metadata(self.encryption, enc_values=self.enc_values, vp_formats=VP_FORMATS),
            wallet_nonce=wallet_nonce if self.echo_nonce else None,
        )
        if self.extra_claims:
            now = int(time.time())
            claims = {**request.to_claims(), "aud": SELF_ISSUED_AUDIENCE, "iat": now, "exp": now + 600}
            header = {"x5c": x5c_chain([self.leaf])}
            return encode_jwt(
                {**claims, **self.extra_claims}, SoftwareSigner(self.key), typ=REQUEST_OBJECT_TYP, header=header
            )
        return create_request_object(request, SoftwareSigner(self.key), x5c=x5c_chain([self.leaf]))

    def app(self) -> FastAPI:
        app = FastAPI()

        async def request_uri(request: Request) -> Response:
            form = dict(await request.form()) if request.method == "POST" else {}
            self.seen.append({"path": "request", "method": request.method, "headers": dict(request.headers), **form})
            if self.request_redirect:
                return RedirectResponse("https://elsewhere.example/request", status_code=307)
            if self.request_status != 200:
                return JSONResponse({"error": "invalid_request"}, status_code=self.request_status)
            token = self.request_object(str(form["wallet_nonce"]) if "wallet_nonce" in form else None)
            return Response(token, media_type=self.request_media_type)

        app.add_api_route("/request/1", request_uri, methods=["GET", "POST"])

        @app.post("/response/1")
        async def response_uri(request: Request) -> JSONResponse:
            form = dict(await request.form())
            self.seen.append({"path": "response", "headers": dict(request.headers), **form})
            return JSONResponse(self.response_answer)

        return app

    def policy(self) -> WalletRequestPolicy:
        return WalletRequestPolicy(x509_anchors=[self.ca], allow_http_loopback=True)

    def responses(self) -> list[dict[str, Any]]:
        return [s for s in self.seen if s["path"] == "response"]

    def decrypted(self) -> dict[str, Any]:
        (posted,) = self.responses()
        return decrypt_response(posted["response"], self.encryption)
