"""A small, strict OpenID4VCI 1.0 wallet-side client for the tests (not a wallet: it keeps nothing).

It follows the wallet's steps of the Pre-Authorized Code Flow: read the offer link (by value or by reference), fetch
the credential issuer and authorization server metadata (§12.2.2, RFC 8414 §3), obtain a DPoP-bound token (retrying
once with the server's nonce, RFC 9449 §8), get a ``c_nonce`` (§7), and request credentials with one key proof per
holder key (§8, Appendix F.1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ssi.dpop import create_dpop_proof
from ssi.keys import SoftwareSigner
from ssi.oid4vci import (
    WELL_KNOWN_AUTHORIZATION_SERVER,
    WELL_KNOWN_CREDENTIAL_ISSUER,
    AuthorizationDetail,
    CredentialIssuerMetadata,
    CredentialOffer,
    TokenRequest,
    create_proof_jwt,
    parse_credential_offer_link,
    well_known_url,
)


@dataclass
class TokenResult:
    status: int
    body: dict[str, Any]
    headers: httpx.Headers


@dataclass
class WalletSession:
    """One issuance: the offer, the issuer's metadata, the DPoP key and the last DPoP nonce."""

    offer: CredentialOffer
    metadata: CredentialIssuerMetadata
    token_endpoint: str
    dpop_key: SoftwareSigner = field(default_factory=lambda: SoftwareSigner.generate("ES256"))
    dpop_nonce: str | None = None
    access_token: str | None = None
    token_type: str | None = None
    token_response: dict[str, Any] = field(default_factory=dict)


class VciTestClient:
    def __init__(self, http: httpx.Client, *, clock: Callable[[], float] = time.time) -> None:
        self.http = http
        self.clock = clock

    # -- discovery -----------------------------------------------------------------------------------------------

    def read_offer(self, link: str) -> CredentialOffer:
        parsed = parse_credential_offer_link(link, allow_http_loopback=True)
        if isinstance(parsed, str):
            response = self.http.get(parsed)
            response.raise_for_status()
            assert response.headers["content-type"].startswith("application/json")  # §4.1.3
            return CredentialOffer.from_json(response.json(), allow_http_loopback=True)
        return parsed

    def start(self, link: str) -> WalletSession:
        offer = self.read_offer(link)
        response = self.http.get(well_known_url(offer.credential_issuer, WELL_KNOWN_CREDENTIAL_ISSUER))
        response.raise_for_status()
        metadata = CredentialIssuerMetadata.from_json(
            response.json(), expected_issuer=offer.credential_issuer, allow_http_loopback=True
        )
        as_response = self.http.get(well_known_url(metadata.authorization_server, WELL_KNOWN_AUTHORIZATION_SERVER))
        as_response.raise_for_status()
        as_metadata = as_response.json()
        assert as_metadata["issuer"] == metadata.authorization_server  # RFC 8414 §3.3
        return WalletSession(offer, metadata, as_metadata["token_endpoint"])

    # -- token ---------------------------------------------------------------------------------------------------

    def _dpop(self, session: WalletSession, method: str, url: str, access_token: str | None = None) -> str:
        return create_dpop_proof(
            session.dpop_key, htm=method, htu=url, now=self.clock(), nonce=session.dpop_nonce, access_token=access_token
        )

    def token(
        self,
        session: WalletSession,
        tx_code: str | None,
        *,
        dpop: bool = True,
        authorization_details: Sequence[str] = (),
        retry_nonce: bool = True,
    ) -> TokenResult:
        grant = session.offer.pre_authorized_code
        assert grant is not None
        form = TokenRequest(
            grant.pre_authorized_code,
            tx_code,
            tuple(AuthorizationDetail(c) for c in authorization_details),
        ).to_form()
        headers = {"DPoP": self._dpop(session, "POST", session.token_endpoint)} if dpop else {}
        response = self.http.post(session.token_endpoint, data=form, headers=headers)
        if "DPoP-Nonce" in response.headers:
            session.dpop_nonce = response.headers["DPoP-Nonce"]
        if response.status_code == 400 and response.json().get("error") == "use_dpop_nonce" and retry_nonce:
            return self.token(
                session, tx_code, dpop=dpop, authorization_details=authorization_details, retry_nonce=False
            )
        body = response.json()
        if response.status_code == 200:
            session.access_token = body["access_token"]
            session.token_type = body["token_type"]
            session.token_response = body
        return TokenResult(response.status_code, body, response.headers)

    # -- nonce and credential ------------------------------------------------------------------------------------

    def c_nonce(self, session: WalletSession) -> str:
        assert session.metadata.nonce_endpoint is not None
        response = self.http.post(session.metadata.nonce_endpoint)
        response.raise_for_status()
        assert response.headers["cache-control"] == "no-store"  # §7.2
        if "DPoP-Nonce" in response.headers:
            session.dpop_nonce = response.headers["DPoP-Nonce"]
        nonce: str = response.json()["c_nonce"]
        return nonce

    def proofs(self, session: WalletSession, holders: Sequence[SoftwareSigner], nonce: str) -> list[str]:
        return [
            create_proof_jwt(holder, audience=session.metadata.credential_issuer, now=self.clock(), nonce=nonce)
            for holder in holders
        ]

    def credential_request(
        self,
        session: WalletSession,
        body: dict[str, Any],
        *,
        scheme: str | None = None,
        dpop_proof: str | None = None,
        retry_nonce: bool = True,
    ) -> httpx.Response:
        url = session.metadata.credential_endpoint
        assert session.access_token is not None
        scheme = scheme or session.token_type or "DPoP"
        headers = {"Authorization": f"{scheme} {session.access_token}"}
        if scheme == "DPoP":
            headers["DPoP"] = dpop_proof or self._dpop(session, "POST", url, session.access_token)
        response = self.http.post(url, json=body, headers=headers)
        if "DPoP-Nonce" in response.headers:
            session.dpop_nonce = response.headers["DPoP-Nonce"]
        if (
            response.status_code == 401
            and 'error="use_dpop_nonce"' in response.headers.get("www-authenticate", "")
            and retry_nonce
            and dpop_proof is None
        ):
            return self.credential_request(session, body, scheme=scheme, retry_nonce=False)
        return response

    def receive(self, link: str, tx_code: str | None, holders: Sequence[SoftwareSigner]) -> list[str]:
        """The whole flow; the credentials."""
        session = self.start(link)
        result = self.token(session, tx_code)
        assert result.status == 200, result.body
        nonce = self.c_nonce(session)
        config_id = session.offer.credential_configuration_ids[0]
        response = self.credential_request(
            session, {"credential_configuration_id": config_id, "proofs": {"jwt": self.proofs(session, holders, nonce)}}
        )
        assert response.status_code == 200, response.text
        return [item["credential"] for item in response.json()["credentials"]]
