"""A small, spec-faithful OpenID4VCI 1.0 issuer for what govssi's issuer cannot be made to do on demand — deferred
issuance pending for a set number of polls or denied (§9), notifications recorded per request (§11), key
attestations required (Appendix D, §12.2.4 ``key_attestations_required``), the
``attestation`` proof type, wallet attestations at the token endpoint (HAIP 1.0 §4.4) — and for faults (500s,
tampered credentials, ``invalid_nonce``, DPoP nonces at the credential endpoint).

Every message the wallet sends is checked with govssi's own verifiers (``ssi.dpop``, ``ssi.oid4vci``,
``ssi.client_attestation``, ``ssi.oid4vci.key_attestation``), so a test passing here means the wallet sent what the
specification asks for. Served over real HTTP with ``infra.server.LoopbackServer``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from infra.server import LoopbackServer
from ssi.client_attestation import verify_client_attestation
from ssi.dpop import verify_dpop_proof
from ssi.errors import SsiError
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner
from ssi.oid4vci import PRE_AUTHORIZED_CODE_GRANT, CredentialOffer, PreAuthorizedCodeGrant, TxCode, verify_proof_jwt
from ssi.oid4vci.key_attestation import verify_attested_proof_jwt, verify_key_attestation
from ssi.sd_jwt.vc import issue_sd_jwt_vc
from ssi.x509 import issue_certificate, make_self_signed_ca, x5c_chain
from wallet_sim.provider import WalletProvider

CLAIMS = {"family_name": "MUSTERMANN", "given_name": "ERIKA", "permit": "K3"}
CONFIG = "permit"


@dataclass
class FakeIssuer:
    """Knobs a test turns, and what the issuer saw."""

    #: "immediate" | "deferred" | "server_error" | "wrong_cnf" | "bad_signature" | "wrong_iss"
    mode: str = "immediate"
    #: deferred: how many polls answer 202 before the credentials are ready; "deny" ends with credential_request_denied
    pending_polls: int = 1
    deny_deferred: bool = False
    interval: int = 1
    key_attestation_required: bool = False
    attestation_proof_only: bool = False
    client_auth_required: bool = False
    challenge_endpoint: bool = False
    invalid_nonce_once: bool = False
    credential_dpop_nonce_once: bool = False
    batch_size: int = 5
    notification_endpoint: bool = True
    #: the configurations every offer names (each issues the same permit; several test multi-credential offers)
    configurations: tuple[str, ...] = (CONFIG,)
    #: a configuration whose credential requests end in a 500 (the others are issued)
    failing_configuration: str | None = None
    trusted_providers: list[WalletProvider] = field(default_factory=lambda: [WalletProvider.demo()])
    #: The issuer's clock (share a FrozenClock with the wallet to move time for both).
    clock: Callable[[], float] = time.time
    # -- state -------------------------------------------------------------------------------------------------------
    base: str = ""
    codes: dict[str, str | None] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> DPoP jkt
    token_clients: dict[str, str | None] = field(default_factory=dict)  # access token -> authenticated client_id
    c_nonces: set[str] = field(default_factory=set)
    jtis: set[str] = field(default_factory=set)
    dpop_nonce: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    credential_requests: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    challenges: set[str] = field(default_factory=set)
    _once: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        now = time.time()
        ca_key = PrivateKey.generate("ES256")
        self.ca = make_self_signed_ca(ca_key, "Fake Issuer CA", now=now - 3600)
        self.key = PrivateKey.generate("ES256")
        self.x5c = x5c_chain([issue_certificate(self.ca, ca_key, self.key.public_key, "Fake Issuer", now=now - 3600)])

    @property
    def identifier(self) -> str:
        return f"{self.base}/fake"

    def offer(self, *, tx_code: str | None = "493536") -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = tx_code
        grant = PreAuthorizedCodeGrant(code, TxCode(input_mode="numeric", length=len(tx_code)) if tx_code else None)
        return CredentialOffer(self.identifier, self.configurations, grant).link_by_value()

    def once(self, name: str) -> bool:
        if name in self._once:
            return False
        self._once.add(name)
        return True


def _error(status: int, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": error.replace("_", " ")}, status_code=status, headers=headers
    )


def create_app(fake: FakeIssuer) -> FastAPI:
    app = FastAPI()

    def metadata() -> dict[str, Any]:
        jwt_type: dict[str, Any] = {"proof_signing_alg_values_supported": ["ES256"]}
        if fake.key_attestation_required:
            jwt_type["key_attestations_required"] = {"key_storage": ["iso_18045_high"]}
        proof_types = (
            {"attestation": {"proof_signing_alg_values_supported": ["ES256"]}}
            if fake.attestation_proof_only
            else {"jwt": jwt_type}
        )
        doc: dict[str, Any] = {
            "credential_issuer": fake.identifier,
            "credential_endpoint": f"{fake.identifier}/credential",
            "nonce_endpoint": f"{fake.identifier}/nonce",
            "deferred_credential_endpoint": f"{fake.identifier}/deferred",
            "batch_credential_issuance": {"batch_size": fake.batch_size},
            "display": [{"name": "Testamt", "locale": "de-DE"}, {"name": "Test Office", "locale": "en-US"}],
            "credential_configurations_supported": {
                config_id: {
                    "format": "dc+sd-jwt",
                    "scope": config_id,
                    "vct": "urn:test:permit",
                    "cryptographic_binding_methods_supported": ["jwk"],
                    "credential_signing_alg_values_supported": ["ES256"],
                    "proof_types_supported": proof_types,
                    "credential_metadata": {
                        "display": [
                            {
                                "name": "Testausweis",
                                "locale": "de-DE",
                                "background_color": "#ffff00",
                                "text_color": "#ffffff",
                            },
                            {"name": "Test permit", "locale": "en-US"},
                        ],
                        "claims": [{"path": ["family_name"], "display": [{"name": "Name", "locale": "de-DE"}]}],
                    },
                }
                for config_id in fake.configurations
            },
        }
        if fake.notification_endpoint:
            doc["notification_endpoint"] = f"{fake.identifier}/notification"
        return doc

    @app.get("/.well-known/openid-credential-issuer/fake")
    def issuer_metadata() -> dict[str, Any]:
        return metadata()

    @app.get("/.well-known/oauth-authorization-server/fake")
    def as_metadata() -> dict[str, Any]:
        doc: dict[str, Any] = {
            "issuer": fake.identifier,
            "token_endpoint": f"{fake.identifier}/token",
            "grant_types_supported": [PRE_AUTHORIZED_CODE_GRANT],
            "dpop_signing_alg_values_supported": ["ES256"],
            "pre-authorized_grant_anonymous_access_supported": not fake.client_auth_required,
            "token_endpoint_auth_methods_supported": ["attest_jwt_client_auth"]
            if fake.client_auth_required
            else ["none"],
        }
        if fake.challenge_endpoint:
            doc["challenge_endpoint"] = f"{fake.identifier}/challenge"
        return doc

    @app.get("/.well-known/jwt-vc-issuer/fake")
    def jwt_vc_issuer() -> dict[str, Any]:
        return {
            "issuer": fake.identifier,
            "jwks": {"keys": [{**fake.key.public_key.jwk, "kid": "k1", "x5c": fake.x5c}]},
        }

    @app.post("/fake/challenge")
    def challenge() -> JSONResponse:
        value = secrets.token_urlsafe(12)
        fake.challenges.add(value)
        return JSONResponse({"attestation_challenge": value}, headers={"Cache-Control": "no-store"})

    @app.post("/fake/token")
    async def token(request: Request) -> Response:
        form = dict((await request.form()).items())
        fake.token_requests.append({"form": form, "headers": dict(request.headers)})
        url = f"{fake.identifier}/token"
        try:
            proof = verify_dpop_proof(
                request.headers.get("dpop", ""),
                htm="POST",
                htu=url,
                now=fake.clock(),
                nonce=fake.dpop_nonce,
                nonce_required=True,
            )
        except SsiError as exc:
            return _error(400, exc.code, {"DPoP-Nonce": fake.dpop_nonce})
        client_id = None
        if fake.client_auth_required:
            try:
                verified = verify_client_attestation(
                    request.headers.getlist("oauth-client-attestation"),
                    request.headers.getlist("oauth-client-attestation-pop"),
                    anchors=[p.ca_certificate for p in fake.trusted_providers],
                    audience=fake.identifier,
                    now=fake.clock(),
                    client_id=str(form.get("client_id")) if "client_id" in form else None,
                    challenge=None,
                )
            except SsiError:
                return _error(401, "invalid_client")
            if fake.challenge_endpoint and verified.pop_claims.get("challenge") not in fake.challenges:
                return _error(400, "use_attestation_challenge")
            client_id = verified.client_id
        code = str(form.get("pre-authorized_code"))
        if form.get("grant_type") != PRE_AUTHORIZED_CODE_GRANT or code not in fake.codes:
            return _error(400, "invalid_grant")
        expected = fake.codes[code]
        if (expected is None) != ("tx_code" not in form):
            return _error(400, "invalid_request")
        if expected is not None and form["tx_code"] != expected:
            return _error(400, "invalid_grant")
        del fake.codes[code]
        access = secrets.token_urlsafe(24)
        fake.tokens[access] = proof.jkt
        fake.token_clients[access] = client_id
        return JSONResponse(
            {"access_token": access, "token_type": "DPoP", "expires_in": 300},
            headers={"Cache-Control": "no-store", "DPoP-Nonce": fake.dpop_nonce},
        )

    @app.post("/fake/nonce")
    def nonce() -> JSONResponse:
        value = secrets.token_urlsafe(12)
        fake.c_nonces.add(value)
        return JSONResponse({"c_nonce": value}, headers={"Cache-Control": "no-store", "DPoP-Nonce": fake.dpop_nonce})

    def authorize(request: Request, path: str) -> Response | None:
        scheme, _, access = request.headers.get("authorization", "").partition(" ")
        if scheme != "DPoP" or access not in fake.tokens:
            return Response(status_code=401, headers={"WWW-Authenticate": 'DPoP error="invalid_token"'})
        if path == "credential" and fake.credential_dpop_nonce_once and fake.once("credential-dpop"):
            fake.dpop_nonce = secrets.token_urlsafe(8)
            return Response(
                status_code=401,
                headers={"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": fake.dpop_nonce},
            )
        try:
            proof = verify_dpop_proof(
                request.headers.get("dpop", ""),
                htm="POST",
                htu=f"{fake.identifier}/{path}",
                now=fake.clock(),
                nonce=fake.dpop_nonce,
                nonce_required=True,
                access_token=access,
                jkt=fake.tokens[access],
            )
        except SsiError as exc:
            return Response(
                status_code=401, headers={"WWW-Authenticate": f'DPoP error="{exc.code}"', "DPoP-Nonce": fake.dpop_nonce}
            )
        if proof.jti in fake.jtis:  # RFC 9449 §11.1 replay
            return Response(status_code=401, headers={"WWW-Authenticate": 'DPoP error="invalid_dpop_proof"'})
        fake.jtis.add(proof.jti)
        return None

    def issue(keys: list[PublicKey]) -> list[str]:
        out = []
        for key in keys:
            jwk = key.jwk
            if fake.mode == "wrong_cnf":
                jwk = PrivateKey.generate("ES256").public_key.jwk
            signer = SoftwareSigner(PrivateKey.generate("ES256") if fake.mode == "bad_signature" else fake.key, "k1")
            issuer = "https://elsewhere.example" if fake.mode == "wrong_iss" else fake.identifier
            issued = issue_sd_jwt_vc(
                CLAIMS,
                signer,
                vct="urn:test:permit",
                issuer=issuer,
                holder_jwk=jwk,
                disclosable=[("family_name",), ("given_name",)],
                valid_for=86400,
                header={"x5c": fake.x5c},
                clock=fake.clock,
            )
            out.append(issued.compact)
        return out

    @app.post("/fake/credential")
    async def credential(request: Request) -> Response:
        denied = authorize(request, "credential")
        if denied is not None:
            return denied
        client_id = fake.token_clients[request.headers["authorization"].partition(" ")[2]]
        body = await request.json()
        fake.credential_requests.append(body)
        if fake.mode == "server_error" or body.get("credential_configuration_id") == fake.failing_configuration:
            return HTMLResponse("<h1>Internal Server Error</h1>", status_code=500)
        proofs = body.get("proofs", {})
        now = fake.clock()
        anchors = [p.ca_certificate for p in fake.trusted_providers]
        keys: list[PublicKey] = []
        nonces: list[str | None] = []
        try:
            if "attestation" in proofs:
                (token,) = proofs["attestation"]
                ka = verify_key_attestation(token, anchors=anchors, now=now, nonce=None)
                keys, nonces = list(ka.attested_keys), [ka.nonce]
            else:
                for proof in proofs.get("jwt", []):
                    if fake.key_attestation_required:
                        verified, _ = verify_attested_proof_jwt(
                            proof,
                            anchors=anchors,
                            audience=fake.identifier,
                            now=now,
                            required_key_storage=["iso_18045_high"],
                        )
                    else:
                        verified = verify_proof_jwt(proof, audience=fake.identifier, now=now, client_id=client_id)
                    keys.append(verified.public_key)
                    nonces.append(verified.nonce)
        except SsiError as exc:
            return _error(400, exc.code)
        if not keys or len(keys) > fake.batch_size:
            return _error(400, "invalid_proof")
        if fake.invalid_nonce_once and fake.once("invalid-nonce"):
            return _error(400, "invalid_nonce")
        if any(n not in fake.c_nonces for n in nonces):
            return _error(400, "invalid_nonce")
        for n in nonces:
            fake.c_nonces.discard(str(n))
        if fake.mode == "deferred":
            transaction_id = secrets.token_urlsafe(12)
            fake.transactions[transaction_id] = {"keys": keys, "polls": 0}
            return JSONResponse(
                {"transaction_id": transaction_id, "interval": fake.interval},
                status_code=202,
                headers={"Cache-Control": "no-store"},
            )
        return JSONResponse(
            {"credentials": [{"credential": c} for c in issue(keys)], "notification_id": "n-1"},
            headers={"Cache-Control": "no-store", "DPoP-Nonce": fake.dpop_nonce},
        )

    @app.post("/fake/deferred")
    async def deferred(request: Request) -> Response:
        denied = authorize(request, "deferred")
        if denied is not None:
            return denied
        transaction_id = (await request.json()).get("transaction_id")
        entry = fake.transactions.get(transaction_id)
        if entry is None:
            return _error(400, "invalid_transaction_id")
        entry["polls"] += 1
        if entry["polls"] <= fake.pending_polls:
            return JSONResponse({"transaction_id": transaction_id, "interval": fake.interval}, status_code=202)
        del fake.transactions[transaction_id]
        if fake.deny_deferred:
            return _error(400, "credential_request_denied")
        return JSONResponse(
            {"credentials": [{"credential": c} for c in issue(entry["keys"])], "notification_id": "n-deferred"}
        )

    @app.post("/fake/notification")
    async def notification(request: Request) -> Response:
        denied = authorize(request, "notification")
        if denied is not None:
            return denied
        fake.notifications.append(await request.json())
        return Response(status_code=204)

    return app


def serve(fake: FakeIssuer) -> Iterator[FakeIssuer]:
    server = LoopbackServer(create_app(fake)).start()
    fake.base = server.url
    try:
        yield fake
    finally:
        server.stop()
