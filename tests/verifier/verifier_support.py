"""The other parties around the verifier, for its tests:

- :class:`TestIssuer` — a credential issuer with a CA-certified key (``x5c``, HAIP), SD-JWT VCs with status entries,
  and Status List Tokens it publishes into a :class:`StatusServer` (in memory, or over HTTP);
- :class:`FakeTrust` — the chain's answers (accreditations, compromise marks, anchored status list digests) as data
  a test can change, implementing :class:`verifier.IssuerTrust`;
- :class:`TestWallet` — a minimal holder built from ``ssi.sd_jwt.HeldSdJwt`` and the wallet side of ``ssi.oid4vp``
  (the wallet simulator's presentation client is separate): it fetches the request by reference with a
  ``wallet_nonce``, verifies it, evaluates the DCQL query and answers at the Response URI; hooks let a test tamper
  with every step.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from fastapi import FastAPI
from fastapi.responses import Response

from infra.db import create_engine, sqlite_url
from infra.ephemeral import SqlEphemeralStore
from infra.server import LoopbackServer
from ssi.dcql import CredentialDescription, describe_sd_jwt, evaluate
from ssi.errors import FetchError
from ssi.fetch import FetchResponse
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner
from ssi.oid4vp import (
    AuthorizationRequest,
    WalletRequestPolicy,
    error_response_form,
    parse_authorization_request_link,
    request_uri_post_form,
    response_form,
    verify_request_object,
)
from ssi.sd_jwt import HeldSdJwt
from ssi.sd_jwt.vc import issue_sd_jwt_vc
from ssi.status_list import STATUS_LIST_JWT_MEDIA_TYPE, StatusList, issue_status_list_token
from ssi.x509 import issue_certificate, make_self_signed_ca, spki_sha256, x5c_chain
from verifier import IssuerStanding, RequestSigningKeys, VerifierSettings
from verifier.keys import VerifierCa

PID = "urn:eudi:pid:de:1"
ISSUER_URL = "https://ausweis.example.org/issuers/koeln"
ISSUER_DID = "did:ethr:0x539:0x" + "1b" * 20
REGISTRY_ID = "eip155:1337:0x" + "ab" * 20
PID_CLAIMS = {
    "given_name": "ERIKA",
    "family_name": "MUSTERMANN",
    "birthdate": "1964-08-12",
    "address": {"street_address": "HEIDESTRASSE 17", "locality": "KÖLN", "postal_code": "51147"},
    "nationalities": ["DE"],
    "age_equal_or_over": {"12": True, "14": True, "16": True, "18": True, "21": True, "65": False},
}
DISCLOSABLE = [
    ("given_name",),
    ("family_name",),
    ("birthdate",),
    ("address",),
    ("address", "street_address"),
    ("address", "locality"),
    ("address", "postal_code"),
    ("nationalities", 0),
    ("age_equal_or_over",),
    *[("age_equal_or_over", age) for age in ("12", "14", "16", "18", "21", "65")],
]


# --- status lists ---------------------------------------------------------------------------------------------------


class StatusServer:
    """Status List Tokens by URI, as a fetcher (in memory) or served over HTTP (``app``). ``down`` makes it fail."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.down = False
        self.fetches = 0
        #: The media type the lists are served with (a test may serve them wrongly).
        self.content_type = STATUS_LIST_JWT_MEDIA_TYPE

    def __call__(self, url: str) -> FetchResponse:
        self.fetches += 1
        if self.down:
            raise FetchError("connection refused", reason="unreachable")
        token = self.tokens.get(url)
        if token is None:
            return FetchResponse(404, b"")
        return FetchResponse(200, token.encode("ascii"), self.content_type)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/status/{name}")
        def status(name: str) -> Response:
            for uri, token in self.tokens.items():
                if uri.endswith(f"/status/{name}") and not self.down:
                    return Response(token, media_type=STATUS_LIST_JWT_MEDIA_TYPE)
            return Response(status_code=404)

        return app


# --- the issuer ------------------------------------------------------------------------------------------------------


@dataclass
class TestIssuer:
    """A credential issuer (HAIP: ``x5c`` chain to ``ca``) with one status list per URI."""

    __test__ = False

    ca_key: PrivateKey
    ca: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate]
    url: str = ISSUER_URL
    status_base: str = "https://ausweis.example.org/status"
    server: StatusServer = field(default_factory=StatusServer)
    lists: dict[str, StatusList] = field(default_factory=dict)
    next_index: int = 0

    @classmethod
    def create(
        cls,
        *,
        url: str = ISSUER_URL,
        status_base: str | None = None,
        server: StatusServer | None = None,
        now: float | None = None,
    ) -> TestIssuer:
        now = time.time() if now is None else now
        ca_key, key = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
        ca = make_self_signed_ca(ca_key, "Test Issuer CA", now=now - 400 * 86400, days=3650)
        host = url.split("/")[2].split(":", maxsplit=1)[0]
        leaf = issue_certificate(
            ca,
            ca_key,
            key.public_key,
            "Stadt Köln",
            now=now - 86400,
            days=365,
            uris=[url],
            dns_names=[] if host[0].isdigit() else [host],
        )
        issuer = cls(
            ca_key, ca, key, [leaf], url, status_base or "https://ausweis.example.org/status", server or StatusServer()
        )
        issuer.publish("1")
        return issuer

    @property
    def signer(self) -> SoftwareSigner:
        return SoftwareSigner(self.key, kid="issuer-key")

    @property
    def x5c(self) -> list[str]:
        return x5c_chain(self.chain)

    @property
    def spki(self) -> bytes:
        return spki_sha256(self.chain[0])

    def list_uri(self, name: str = "1") -> str:
        return f"{self.status_base}/{name}"

    def rotate(self, *, now: float | None = None) -> bytes:
        """A routine key rotation (docs/operations.md "Key rotation"): a new key, certified by the same CA, signs
        from now on (credentials and status lists); returns the new certificate key's SHA-256."""
        now = time.time() if now is None else now
        host = self.url.split("/")[2].split(":", maxsplit=1)[0]
        self.key = PrivateKey.generate("ES256")
        self.chain = [
            issue_certificate(
                self.ca,
                self.ca_key,
                self.key.public_key,
                "Stadt Köln",
                now=now - 60,
                days=365,
                uris=[self.url],
                dns_names=[] if host[0].isdigit() else [host],
            )
        ]
        return self.spki

    def publish(
        self,
        name: str = "1",
        *,
        signer: SoftwareSigner | None = None,
        x5c: list[str] | None = None,
        exp_in: int = 3600,
        now: float | None = None,
    ) -> str:
        """Sign the list's current state into a token and serve it; the token (its SHA-256 is what gets anchored)."""
        uri = self.list_uri(name)
        status_list = self.lists.setdefault(uri, StatusList(1024, bits=2))
        now = time.time() if now is None else now
        token = issue_status_list_token(
            status_list,
            uri=uri,
            signer=signer or self.signer,
            iat=int(now),
            exp=int(now) + exp_in,
            ttl=300,
            header={"x5c": x5c if x5c is not None else self.x5c},
            clock=lambda: now,
        )
        self.server.tokens[uri] = token
        return token

    def set_status(self, uri: str, idx: int, value: int) -> str:
        self.lists[uri].set(idx, value)
        return self.publish(uri.rsplit("/", 1)[1])

    def issue(
        self,
        holder: SoftwareSigner,
        *,
        vct: str = PID,
        claims: Mapping[str, Any] = PID_CLAIMS,
        status_list: str = "1",
        iss: str | None = None,
        valid_for: float = 14 * 86400,
        signer: SoftwareSigner | None = None,
        x5c: list[str] | None = None,
        now: float | None = None,
        with_status: bool = True,
    ) -> tuple[str, int]:
        """An SD-JWT VC bound to ``holder``; ``(compact, status index)``."""
        uri = self.list_uri(status_list)
        self.lists.setdefault(uri, StatusList(1024, bits=2))
        idx = self.next_index
        self.next_index += 1
        credential = issue_sd_jwt_vc(
            dict(claims),
            signer or self.signer,
            vct=vct,
            issuer=iss or self.url,
            holder_jwk=holder.public_jwk,
            status={"status_list": {"idx": idx, "uri": uri}} if with_status else None,
            disclosable=[p for p in DISCLOSABLE if _has(claims, p)],
            valid_for=valid_for,
            header={"x5c": x5c if x5c is not None else self.x5c},
            clock=(lambda: now) if now is not None else time.time,
        )
        return credential.compact, idx


def _has(claims: Mapping[str, Any], path: tuple) -> bool:
    node: Any = claims
    for part in path:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
        else:
            return False
    return True


# --- the chain ------------------------------------------------------------------------------------------------------


@dataclass
class Accreditation:
    did: str
    types: tuple[str, ...]
    valid_from: float = 0
    valid_until: float = 4_000_000_000
    status: str = "active"
    compromised_since: float | None = None

    def refusal(self, vct: str, at: float) -> str | None:
        if self.status != "active":
            return {"suspended": "accreditation_suspended", "revoked": "accreditation_revoked"}.get(
                self.status, "accreditation_superseded"
            )
        if at < self.valid_from:
            return "accreditation_not_yet_valid"
        if at >= self.valid_until:
            return "accreditation_expired"
        if self.compromised_since is not None and at >= self.compromised_since:
            return "issuer_key_compromised"
        if vct not in self.types:
            return "issuer_not_accredited_for_type"
        return None


class FakeTrust:
    """:class:`verifier.IssuerTrust` as data: ``accreditations`` by certificate key SHA-256 or DID, ``anchors`` by
    (DID, URI) → anchored digests oldest first, ``compromised`` (DID, JWK thumbprint) marks, ``down`` for an outage."""

    def __init__(self) -> None:
        self.accreditations: dict[bytes | str, Accreditation] = {}
        self.anchors: dict[tuple[str, str], list[bytes]] = {}
        self.compromised: set[tuple[str, str]] = set()
        self.down = False
        self.lock = threading.Lock()

    @property
    def registry_id(self) -> str | None:
        return REGISTRY_ID

    def _up(self) -> None:
        from verifier import TrustUnavailable

        if self.down:
            raise TrustUnavailable("the chain does not answer")

    def standing(self, issuer: str | bytes, credential_type: str, *, issued_at: float, now: float) -> IssuerStanding:
        self._up()
        accreditation = self.accreditations.get(issuer)
        if accreditation is None:
            return IssuerStanding("issuer_not_accredited")
        record = {
            "did": accreditation.did,
            "credential_types": list(accreditation.types),
            "status": accreditation.status,
        }
        for moment in (now, issued_at):
            refusal = accreditation.refusal(credential_type, moment)
            if refusal:
                return IssuerStanding(refusal, accreditation.did, record)
        return IssuerStanding(None, accreditation.did, record)

    def status_list_state(self, issuer_did: str, uri: str, token_sha256: bytes) -> str:
        self._up()
        versions = self.anchors.get((issuer_did, uri))
        if not versions:
            return "not_anchored"
        if versions[-1] == token_sha256:
            return "current"
        return "rolled_back" if token_sha256 in versions else "unknown"

    def key_compromised(self, did: str, key: PublicKey) -> bool:
        self._up()
        return (did, key.thumbprint()) in self.compromised

    def status_list_signer(self, cert_key_sha256: bytes, *, now: float) -> str | None:
        self._up()
        accreditation = self.accreditations.get(cert_key_sha256)
        if (
            accreditation is None
            or accreditation.status not in ("active", "suspended")
            or not accreditation.valid_from <= now < accreditation.valid_until
            or accreditation.compromised_since is not None
        ):
            return None
        return accreditation.did

    # -- shortcuts --------------------------------------------------------------------------------------------------

    def accredit(self, issuer: TestIssuer, *types: str, did: str = ISSUER_DID, **kwargs: Any) -> Accreditation:
        accreditation = Accreditation(did, types or (PID,), **kwargs)
        self.accreditations[issuer.spki] = accreditation
        return accreditation

    def anchor(self, issuer: TestIssuer, token: str, *, name: str = "1", did: str = ISSUER_DID) -> None:
        self.anchors.setdefault((did, issuer.list_uri(name)), []).append(hashlib.sha256(token.encode()).digest())

    def trust_issuer(self, issuer: TestIssuer) -> None:
        """Accredit for the PID and anchor every list the issuer has published."""
        self.accredit(issuer, PID)
        for uri, token in issuer.server.tokens.items():
            self.anchors[(ISSUER_DID, uri)] = [hashlib.sha256(token.encode()).digest()]


# --- the verifier's keys and settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierIdentity:
    ca: VerifierCa
    keys: RequestSigningKeys


def verifier_identity(public_url: str, now: float | None = None) -> VerifierIdentity:
    now = time.time() if now is None else now
    ca = VerifierCa.generate(now=now - 3600)
    key = PrivateKey.generate("ES256")
    leaf = ca.certify(key, public_url, now=now - 3600, name="Bürgerportal Musterstadt")
    return VerifierIdentity(ca, RequestSigningKeys(SoftwareSigner(key), (leaf,)))


def sqlite_store(directory: Path) -> SqlEphemeralStore:
    return SqlEphemeralStore(create_engine(sqlite_url(directory / "verifier.db")))


def settings(directory: Path, **changes: Any) -> VerifierSettings:
    changes.setdefault("public_url", "https://verifier.example")
    return VerifierSettings(data_dir=directory, **changes)


# --- the wallet -------------------------------------------------------------------------------------------------------


@dataclass
class HeldCredential:
    compact: str
    holder: SoftwareSigner
    status_index: int = 0

    @property
    def held(self) -> HeldSdJwt:
        return HeldSdJwt.parse(self.compact)

    def description(self) -> CredentialDescription:
        return describe_sd_jwt(self.held, handle=self)


Tamper = Callable[..., Any]


@dataclass
class Presented:
    """What happened when the wallet answered: the request, the form it posted, the HTTP answer."""

    request: AuthorizationRequest
    form: dict[str, str]
    response: httpx.Response
    response_uri: str

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = self.response.json()
        return data


@dataclass
class TestWallet:
    __test__ = False

    http: httpx.Client
    verifier_ca: x509.Certificate
    credentials: list[HeldCredential] = field(default_factory=list)
    #: Rewrites the verifier's URLs (a load balancer in front of several instances).
    route: Callable[[str], str] = field(default=lambda url: url)

    def policy(self) -> WalletRequestPolicy:
        return WalletRequestPolicy(x509_anchors=[self.verifier_ca], allow_http_loopback=True)

    def fetch_request(self, link: str) -> AuthorizationRequest:
        ref = parse_authorization_request_link(link)
        wallet_nonce = secrets.token_urlsafe(16)
        assert ref.request_uri is not None
        answer = self.http.post(
            self.route(ref.request_uri),
            data=request_uri_post_form(wallet_nonce, {"vp_formats_supported": {"dc+sd-jwt": {}}}),
            headers={"Accept": "application/oauth-authz-req+jwt"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/oauth-authz-req+jwt")
        return verify_request_object(answer.text, ref, self.policy(), wallet_nonce=wallet_nonce).request

    def presentations(
        self,
        request: AuthorizationRequest,
        *,
        audience: str | None = None,
        nonce: str | None = None,
        kb_iat: float | None = None,
        extra_paths: Mapping[str, list[tuple]] | None = None,
    ) -> dict[str, list[str]]:
        """The VP Token the wallet would send: the Verifier's preferred selection, KB-JWT bound to ``audience`` and
        ``nonce`` (default: the request's)."""
        by_description = {}
        descriptions = []
        for credential in self.credentials:
            description = credential.description()
            by_description[id(description)] = credential
            descriptions.append(description)
        selection = evaluate(request.dcql_query, descriptions).default_selection()
        out: dict[str, list[str]] = {}
        for query_id, items in selection.presentations.items():
            out[query_id] = []
            for match, option in items:
                credential = by_description[id(match.credential)]
                paths = [*option.paths, *((extra_paths or {}).get(query_id, []))]
                iat = kb_iat if kb_iat is not None else time.time()
                out[query_id].append(
                    credential.held.present(
                        paths,
                        holder=credential.holder,
                        audience=audience or request.client_id,
                        nonce=nonce or request.nonce,
                        clock=lambda iat=iat: iat,
                    )
                )
        return out

    def post(self, request: AuthorizationRequest, form: Mapping[str, str]) -> Presented:
        answer = self.http.post(self.route(request.response_uri), data=dict(form))
        return Presented(request, dict(form), answer, request.response_uri)

    def present(
        self,
        link: str,
        *,
        tamper_token: Callable[[dict[str, list[str]], AuthorizationRequest], Any] | None = None,
        tamper_form: Callable[[dict[str, str], AuthorizationRequest], dict[str, str]] | None = None,
        **presentation_options: Any,
    ) -> Presented:
        request = self.fetch_request(link)
        vp_token = self.presentations(request, **presentation_options)
        if tamper_token is not None:
            changed = tamper_token(vp_token, request)
            vp_token = vp_token if changed is None else changed
        form = response_form(request, vp_token)
        if tamper_form is not None:
            form = tamper_form(form, request)
        return self.post(request, form)

    def decline(self, link: str) -> Presented:
        request = self.fetch_request(link)
        return self.post(request, error_response_form(request, "access_denied", "the user declined"))


@contextmanager
def served(app: Any) -> Iterator[LoopbackServer]:
    with LoopbackServer(app) as server:
        yield server


__all__ = [
    "DISCLOSABLE",
    "ISSUER_DID",
    "PID",
    "PID_CLAIMS",
    "FakeTrust",
    "HeldCredential",
    "Presented",
    "StatusServer",
    "TestIssuer",
    "TestWallet",
    "replace",
    "served",
    "settings",
    "sqlite_store",
    "verifier_identity",
]
