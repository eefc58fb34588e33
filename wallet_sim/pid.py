"""The wallet's side of PID issuance through the eID: the Authorization Code Flow as HAIP 1.0 profiles it, with the
wallet's eID client in the authorization step.

1. Metadata: Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.2) and Authorization Server Metadata (RFC 8414 §3,
   ``issuer`` identical); the server must offer ``authorization_code``, PAR, PKCE ``S256`` and wallet attestations.
2. PAR (RFC 9126 §2.1) with the wallet attestation and its PoP (HAIP 1.0 §4.4.1): ``response_type=code``,
   ``scope=pid``, ``state``, ``redirect_uri``, PKCE ``code_challenge`` (RFC 7636 §4.2, S256 over a fresh
   256-bit verifier) and ``dpop_jkt`` (RFC 9449 §10) → ``request_uri``.
3. Authorization request (RFC 9126 §4: ``client_id`` and ``request_uri``) → the eID activation: the provider's
   signed eID request. The eID client (:func:`wallet_sim.eid.describe_request`) shows the **provider's name** (from
   its terminal certificate) and the **requested data**; the citizen consents (``consent`` callback) and enters the
   PIN; the card (:class:`wallet_sim.eid.EidCard`) checks the terminal certificate chain and rights and answers.
4. The answer goes to the provider, which answers with the authorization response. The wallet checks ``iss`` (RFC
   9207 §2.4: "clients MUST compare ... and MUST reject" a mismatch or absence when the server advertises support)
   and ``state`` (RFC 6749 §10.12), then exchanges the code at the token endpoint with ``code_verifier``, DPoP (retry
   on ``use_dpop_nonce``, RFC 9449 §8) and the attestation → access token and refresh token.
5. Credential request with key proofs carrying the wallet provider's key attestation (the issuer requires it); the
   credentials are checked (:mod:`wallet_sim.oid4vci.verify`) and stored; the DPoP key, the attestation's instance
   key and the refresh token stay with the stored PID, so :func:`refresh_pid` gets fresh PIDs without the card.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from ssi.client_attestation import AUTH_METHOD
from ssi.eid.chat import AccessRight
from ssi.eid.datagroups import DataGroup
from ssi.encoding import b64url_encode
from ssi.errors import IssuerError, Oid4vciError, WalletError
from ssi.keys import PublicKey
from ssi.oid4vci import (
    TOKEN_TYPE_DPOP,
    WELL_KNOWN_AUTHORIZATION_SERVER,
    WELL_KNOWN_CREDENTIAL_ISSUER,
    CredentialIssuerMetadata,
    CredentialOffer,
    error_description,
    well_known_url,
)
from wallet_sim.eid import EidCard, describe_request
from wallet_sim.eid.client import RequestDescription
from wallet_sim.oid4vci.client import IssuerEndpoints, ResolvedOffer, TokenGrant
from wallet_sim.oid4vci.http import HttpAnswer
from wallet_sim.secure_element import ClientAttestation, SecureElementSigner
from wallet_sim.wallet import ReceivedCredentials, StoredCredential, Wallet

__all__ = ["PID_CONFIGURATION_ID", "PidAuthorization", "PidIssuance", "issue_pid", "refresh_pid"]

PID_CONFIGURATION_ID: Final = "pid"
#: Where the provider sends the user agent after the eID step; the wallet app intercepts it (a claimed https link).
REDIRECT_URI: Final = "https://wallet.govssi.example/simulator/pid-callback"
Consent = Callable[[RequestDescription], bool]


@dataclass(frozen=True)
class PidIssuance:
    """A finished PID issuance: what the citizen was shown and what was stored."""

    stored: StoredCredential
    consent: RequestDescription
    refreshable: bool

    def to_json(self, lang: str = "de") -> dict[str, Any]:
        return {
            "stored": self.stored.summary(lang),
            "claims": self.stored.claims,
            "eid": self.consent.to_json(),
            "refreshable": self.refreshable,
        }


@dataclass
class PidAuthorization:
    """The flow's state between the steps (for tests that interfere on the way)."""

    resolved: ResolvedOffer
    as_metadata: dict[str, Any]
    attestation: ClientAttestation
    dpop: SecureElementSigner
    verifier: str
    state: str
    request_uri: str | None = None


def _origin(url: str) -> str:
    """The RFC 6454 origin of an http(s) URL: scheme, host and port (the scheme's default made explicit)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def _pkce() -> tuple[str, str]:
    verifier = b64url_encode(secrets.token_bytes(32))  # RFC 7636 §4.1: 43 characters, 256 bits
    challenge = b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())
    return verifier, challenge


class PidClient:
    """The protocol steps over the wallet's HTTP client, secure element and OpenID4VCI client."""

    def __init__(self, wallet: Wallet) -> None:
        self.wallet = wallet
        self.http = wallet.http

    # -- 1. metadata --------------------------------------------------------------------------------------------------

    def resolve(self, issuer: str) -> tuple[ResolvedOffer, dict[str, Any]]:
        http = self.http
        loopback = http.allow_http_loopback
        issuer = issuer.rstrip("/")
        http.check_url(issuer, "credential issuer")
        metadata_json = http.get_json(well_known_url(issuer, WELL_KNOWN_CREDENTIAL_ISSUER), "issuer metadata")
        metadata = CredentialIssuerMetadata.from_json(
            metadata_json, expected_issuer=issuer, allow_http_loopback=loopback
        )
        config = metadata.credential_configurations_supported.get(PID_CONFIGURATION_ID)
        if not isinstance(config, Mapping):
            raise WalletError(f"{issuer} offers no PID (configuration 'pid')", reason="not_a_pid_provider")
        as_id = metadata.authorization_server
        as_meta = http.get_json(well_known_url(as_id, WELL_KNOWN_AUTHORIZATION_SERVER), "authorization server metadata")
        if as_meta.get("issuer") != as_id:  # RFC 8414 §3.3
            raise Oid4vciError("authorization server metadata names another issuer", reason="as_issuer_mismatch")
        if "authorization_code" not in (as_meta.get("grant_types_supported") or []):
            raise WalletError("the authorization server has no authorization code grant", reason="unsupported_grant")
        if "S256" not in (as_meta.get("code_challenge_methods_supported") or []):
            raise WalletError("the authorization server does not support PKCE S256", reason="unsupported_pkce")
        if AUTH_METHOD not in (as_meta.get("token_endpoint_auth_methods_supported") or []):
            raise WalletError("the authorization server takes no wallet attestations", reason="unsupported_client_auth")
        for name in ("pushed_authorization_request_endpoint", "authorization_endpoint", "token_endpoint"):
            http.check_url(as_meta.get(name), name)
        endpoints = IssuerEndpoints(
            credential_issuer=issuer,
            credential_endpoint=metadata.credential_endpoint,
            token_endpoint=str(as_meta["token_endpoint"]),
            authorization_server=as_id,
            nonce_endpoint=metadata.nonce_endpoint,
            batch_size=metadata.batch_size,
        )
        offer = CredentialOffer(issuer, (PID_CONFIGURATION_ID,), other_grants={"authorization_code": {}})
        resolved = ResolvedOffer(
            offer, endpoints, dict(metadata_json), dict(as_meta), {PID_CONFIGURATION_ID: dict(config)}
        )
        return resolved, dict(as_meta)

    # -- 2. PAR -------------------------------------------------------------------------------------------------------

    def begin(self, issuer: str) -> PidAuthorization:
        resolved, as_meta = self.resolve(issuer)
        se = self.wallet.secure_element
        dpop = se.generate_key("dpop")
        attestation = se.wallet_attestation()  # HAIP 1.0 §4.4.1: fresh instance key for this authorization server
        verifier, challenge = _pkce()
        flow = PidAuthorization(
            resolved, as_meta, attestation, se.signer(dpop.id), verifier, b64url_encode(secrets.token_bytes(16))
        )
        form = {
            "response_type": "code",
            "client_id": attestation.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": PID_CONFIGURATION_ID,
            "state": flow.state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "dpop_jkt": PublicKey.from_jwk(dpop.public_jwk).thumbprint(),
        }
        answer = self.http.request(
            "POST",
            str(as_meta["pushed_authorization_request_endpoint"]),
            "pushed authorization request",
            headers=self._auth_headers(flow),
            form=form,
        )
        self.http.raise_for_error(answer, "pushed authorization request")
        request_uri = answer.body.get("request_uri") if isinstance(answer.body, dict) else None
        if answer.status not in (200, 201) or not isinstance(request_uri, str) or not request_uri:
            raise Oid4vciError("the PAR response lacks a request_uri (RFC 9126 §2.2)", reason="bad_par_response")
        flow.request_uri = request_uri
        return flow

    def _auth_headers(self, flow: PidAuthorization) -> dict[str, str]:
        return flow.attestation.headers(audience=flow.resolved.endpoints.authorization_server, now=self.wallet.clock())

    # -- 3. authorization: the eID -----------------------------------------------------------------------------------

    def eid_activation(self, flow: PidAuthorization) -> dict[str, Any]:
        query = urlencode({"client_id": flow.attestation.client_id, "request_uri": flow.request_uri or ""})
        url = f"{flow.as_metadata['authorization_endpoint']}?{query}"
        answer = self.http.request("GET", url, "authorization request")
        self.http.raise_for_error(answer, "authorization request")
        body = answer.body if isinstance(answer.body, dict) else {}
        if not isinstance(body.get("eid_request"), dict) or not isinstance(body.get("eid_session"), str):
            raise Oid4vciError("the authorization endpoint sent no eID request", reason="bad_authorization_response")
        response_uri = self.http.check_url(body.get("eid_response_uri"), "eid_response_uri")
        endpoints = flow.resolved.endpoints
        allowed = {_origin(endpoints.credential_issuer), _origin(endpoints.authorization_server)}
        if _origin(response_uri) not in allowed:
            # The card's answer carries the citizen's data for the provider's terminal: it goes only to the PID
            # provider the wallet chose (its credential issuer or the authorization server its metadata names),
            # never to another host that an altered authorization response names.
            raise Oid4vciError(
                f"the eID response would go to {_origin(response_uri)}, not to the PID provider "
                f"{_origin(endpoints.credential_issuer)}; nothing was sent",
                reason="eid_response_foreign_origin",
            )
        return body

    def send_eid_response(self, activation: Mapping[str, Any], response: str) -> str:
        """The card's response to the provider → the authorization response URL (where the user agent goes)."""
        answer = self.http.request(
            "POST",
            str(activation["eid_response_uri"]),
            "eID response",
            json={"eid_session": activation["eid_session"], "eid_response": response},
        )
        self.http.raise_for_error(answer, "eID response")
        target = answer.body.get("redirect_to") if isinstance(answer.body, dict) else None
        if not isinstance(target, str):
            raise Oid4vciError("the provider sent no authorization response", reason="bad_authorization_response")
        return target

    def code_from(self, flow: PidAuthorization, redirect_to: str) -> str:
        """RFC 6749 §4.1.2 / RFC 9207 §2.4: the code, after checking where the response came from and ``state``."""
        if not redirect_to.startswith(REDIRECT_URI + "?"):
            raise Oid4vciError("the authorization response goes to another redirect URI", reason="wrong_redirect")
        params = {k: v[0] for k, v in parse_qs(urlsplit(redirect_to).query, keep_blank_values=True).items()}
        if params.get("iss") != flow.resolved.endpoints.authorization_server:
            raise Oid4vciError(
                "the authorization response is not from this authorization server (iss, RFC 9207)", reason="wrong_iss"
            )
        if params.get("state") != flow.state:
            raise Oid4vciError("the authorization response carries another state (RFC 6749 §10.12)", reason="state")
        if "error" in params:
            described = error_description(params.get("error_description", ""))[:200]
            raise IssuerError(
                f"the PID provider refused: {error_description(params['error'])} {described}".strip(),
                code=error_description(params["error"]),
                status=400,
                reason="pid_authorization_denied",
            )
        code = params.get("code")
        if not code:
            raise Oid4vciError("the authorization response has no code", reason="bad_authorization_response")
        return code

    # -- 4. token ------------------------------------------------------------------------------------------------------

    def token(self, flow: PidAuthorization, form: Mapping[str, str], key_id: str) -> tuple[TokenGrant, str]:
        """A token request with DPoP (one retry with the server's nonce) and the attestation → grant, refresh token."""
        url = flow.resolved.endpoints.token_endpoint
        nonce: str | None = None
        answer: HttpAnswer | None = None
        client = self.wallet.client
        for _attempt in range(2):
            headers = {"DPoP": client._dpop(flow.dpop, "POST", url, nonce, None), **self._auth_headers(flow)}
            answer = self.http.request("POST", url, "token request", headers=headers, form=dict(form))
            new_nonce = answer.headers.get("dpop-nonce")
            if answer.status in (400, 401) and answer.error == "use_dpop_nonce" and new_nonce and new_nonce != nonce:
                nonce = new_nonce
                continue
            break
        assert answer is not None
        self.http.raise_for_error(answer, "token request")
        body = answer.body if isinstance(answer.body, dict) else {}
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or str(body.get("token_type", "")).lower() != "dpop":
            raise Oid4vciError("the token response lacks a DPoP access token", reason="bad_token_response")
        grant = TokenGrant(
            access_token=access,
            token_type=TOKEN_TYPE_DPOP,
            expires_at=None,
            dpop_key_id=key_id,
            dpop_nonce=answer.headers.get("dpop-nonce") or nonce,
            client_id=flow.attestation.client_id,
        )
        return grant, refresh if isinstance(refresh, str) else ""

    def credentials(self, flow: PidAuthorization, grant: TokenGrant, batch: int | None) -> ReceivedCredentials:
        received = self.wallet._request_one(flow.resolved, grant, PID_CONFIGURATION_ID, [], batch or self.wallet.batch)
        assert isinstance(received, ReceivedCredentials)  # the PID provider never defers
        return received

    def keep(self, flow: PidAuthorization, received: ReceivedCredentials, refresh_token: str) -> StoredCredential:
        """Store the PID; the DPoP key, the instance key and the refresh token stay with it (re-issuance)."""
        wallet = self.wallet
        stored = wallet.accept(received)
        keys = [flow.dpop.key_id, flow.attestation.instance.key_id]
        row = wallet.store.get("credential", stored.id)
        assert row is not None
        data = dict(row.data)
        data["pid_refresh"] = {
            "refresh_token": refresh_token,
            "dpop_key_id": flow.dpop.key_id,
            "instance_key_id": flow.attestation.instance.key_id,
            "client_id": flow.attestation.client_id,
            "credential_issuer": flow.resolved.endpoints.credential_issuer,
        }
        with wallet.store.transaction() as tx:
            tx.update("credential", stored.id, data)
            wallet.secure_element.bind(tx, keys, stored.id)
        return stored


def issue_pid(
    wallet: Wallet,
    issuer: str,
    *,
    card: EidCard,
    pin: str,
    can: str | None = None,
    deselect: Sequence[DataGroup | AccessRight] = (),
    consent: Consent | None = None,
    lang: str = "de",
    batch: int | None = None,
) -> PidIssuance:
    """The whole issuance: PAR, the eID with ``card`` and ``pin`` (after ``consent`` to what the provider asks),
    token, credentials, storage. Keys made for a failed flow are destroyed."""
    client = PidClient(wallet)
    flow = client.begin(issuer)
    flow_keys = [flow.dpop.key_id, flow.attestation.instance.key_id]
    try:
        activation = client.eid_activation(flow)
        description = describe_request(activation["eid_request"], lang=lang)
        if consent is not None and not consent(description):
            raise WalletError("the citizen did not consent to the eID request", reason="eid_consent_declined")
        response = card.authenticate(activation["eid_request"], pin, can=can, deselect=tuple(deselect))
        code = client.code_from(flow, client.send_eid_response(activation, response.encode()))
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow.verifier,
            "client_id": flow.attestation.client_id,
        }
        grant, refresh_token = client.token(flow, form, flow.dpop.key_id)
        received = client.credentials(flow, grant, batch)
    except BaseException:
        wallet.secure_element.delete_provisional(flow_keys)
        raise
    stored = client.keep(flow, received, refresh_token)
    return PidIssuance(wallet.credential(stored.id), description, bool(refresh_token))


def refresh_pid(wallet: Wallet, credential_id: str, *, batch: int | None = None) -> StoredCredential:
    """Fresh PIDs without the card (RFC 6749 §6 refresh token, DPoP-bound): they replace ``credential_id``."""
    row = wallet.store.get("credential", credential_id)
    state = row.data.get("pid_refresh") if row is not None else None
    if not isinstance(state, dict) or not state.get("refresh_token"):
        raise WalletError("this credential is not a refreshable PID", reason="not_refreshable")
    client = PidClient(wallet)
    resolved, as_meta = client.resolve(str(state["credential_issuer"]))
    se = wallet.secure_element
    instance = se.signer(str(state["instance_key_id"]))
    attestation = ClientAttestation(
        wallet.provider.wallet_attestation(instance.public_jwk, now=wallet.clock()), instance, str(state["client_id"])
    )
    flow = PidAuthorization(resolved, as_meta, attestation, se.signer(str(state["dpop_key_id"])), "", "")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": str(state["refresh_token"]),
        "client_id": attestation.client_id,
    }
    grant, refresh_token = client.token(flow, form, flow.dpop.key_id)
    # The token sent is rotated out now (RFC 9700 §4.14.2: presenting it again is reuse and revokes the grant), so
    # the new one is kept before the credential request, which may fail.
    if refresh_token:
        kept = dict(row.data)  # type: ignore[union-attr]
        kept["pid_refresh"] = {**state, "refresh_token": refresh_token}
        with wallet.store.transaction() as tx:
            tx.update("credential", credential_id, kept)
    received = client.credentials(flow, grant, batch)
    stored = wallet.accept(received)
    data = dict(wallet.store.get("credential", stored.id).data)  # type: ignore[union-attr]
    data["pid_refresh"] = {**state, "refresh_token": refresh_token}
    with wallet.store.transaction() as tx:
        tx.update("credential", stored.id, data)
        tx.execute(
            "UPDATE se_key SET owner = ? WHERE id IN (?, ?)",
            (stored.id, state["dpop_key_id"], state["instance_key_id"]),
        )
        tx.delete("credential", credential_id)
        se.delete_owned(tx, credential_id)
    return wallet.credential(stored.id)
