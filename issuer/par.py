"""Pushed Authorization Requests (RFC 9126) with PKCE (RFC 7636) at the PID provider — HAIP 1.0 §4.3: "Wallets
and Credential Issuers MUST support ... Pushed Authorization Requests [RFC9126]" and "PKCE [RFC7636] with S256".

The wallet POSTs its authorization request parameters to the PAR endpoint, authenticated with its wallet attestation
(:mod:`issuer.wallet_auth`), and gets a ``request_uri`` to use at the authorization endpoint. Checks:

- RFC 9126 §2.1: "The request_uri authorization request parameter is one exception, and it MUST NOT be provided";
  client authentication as at the token endpoint; ``client_id`` the authenticated client.
- ``response_type`` is ``code`` (RFC 6749 §4.1.1); ``redirect_uri`` REQUIRED (HAIP public wallet clients are not
  pre-registered, so the pushed value is what the code is bound to, RFC 9126 §2.4), an absolute URI without fragment
  (RFC 6749 §3.1.2), never a scheme a user agent executes or reads locally (``javascript:``, ``data:``, ``file:``
  ..., RFC 9700 §4.1, RFC 6749 §10.6).
- PKCE (RFC 7636 §4.3/§4.4.1): ``code_challenge`` REQUIRED here (HAIP), ``code_challenge_method`` ``S256`` ("If the
  server supporting PKCE does not support the requested transformation, the authorization endpoint MUST return
  the authorization error response with error set to invalid_request"; ``plain`` is refused), the challenge the
  base64url SHA-256 of a 43-128 character verifier (43 characters).
- ``scope`` names the PID (``pid``; OpenID4VCI §5.1.2, HAIP 1.0 §4.6 scope per configuration).
- ``dpop_jkt`` (RFC 9449 §10) binds the future code to the wallet's DPoP key; so does a DPoP proof sent with the
  pushed request (§10.1: "Both mechanisms MUST be supported by an authorization server that supports PAR and DPoP.
  If both mechanisms are used at the same time, the authorization server MUST reject the request if the JWK
  Thumbprint in dpop_jkt does not match the public key in the DPoP header").
- RFC 9126 §2.2: the ``request_uri`` is single-use and short-lived: ``expires_in`` seconds (60), stored under its
  SHA-256 and taken at the authorization endpoint (§4: "the authorization server MUST ... reject ... an expired,
  used or unknown request_uri").
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from issuer.context import IssuerContext, Tenant, digest_key
from ssi.client_attestation import VerifiedClientAttestation
from ssi.encoding import b64url_encode
from ssi.errors import InvalidClient, Oid4vciError

__all__ = ["PAR_NS", "PAR_URN_PREFIX", "PID_SCOPE", "PushedAuthorizationRequests", "PushedRequest"]

PAR_NS: Final = "pid_par"
#: RFC 9126 §2.2: "The request_uri value MUST be ... the URN ... urn:ietf:params:oauth:request_uri:<reference>".
PAR_URN_PREFIX: Final = "urn:ietf:params:oauth:request_uri:"
PID_SCOPE: Final = "pid"
#: RFC 9126 §2.2 example: ``expires_in`` 60 — short, the wallet uses it at once.
PAR_LIFETIME: Final = 60
_CHALLENGE: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")
_JKT: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")
_STATE_MAX: Final = 512
#: Schemes a user agent executes or reads locally: the authorization response (with the code) must never go there
#: (RFC 9700 §4.1, RFC 6749 §10.6); native wallets' private-use schemes (RFC 8252 §7.1) stay allowed.
_UNSAFE_SCHEMES: Final = frozenset({"javascript", "data", "vbscript", "file", "blob", "about"})
_KNOWN: Final = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "dpop_jkt",
        "issuer_state",
    }
)


@dataclass(frozen=True)
class PushedRequest:
    """An authorization request as pushed (what the code will be bound to)."""

    authority_id: int
    client_id: str
    instance_jkt: str
    redirect_uri: str
    scope: str
    state: str | None
    code_challenge: str
    dpop_jkt: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.authority_id,
            "cid": self.client_id,
            "ijkt": self.instance_jkt,
            "ru": self.redirect_uri,
            "sc": self.scope,
            "st": self.state,
            "cc": self.code_challenge,
            "jkt": self.dpop_jkt,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PushedRequest:
        return cls(
            authority_id=int(doc["a"]),
            client_id=str(doc["cid"]),
            instance_jkt=str(doc["ijkt"]),
            redirect_uri=str(doc["ru"]),
            scope=str(doc["sc"]),
            state=doc.get("st"),
            code_challenge=str(doc["cc"]),
            dpop_jkt=doc.get("jkt"),
        )


def _redirect_uri(value: str | None) -> str:
    if not value or len(value) > 2048:
        raise Oid4vciError("redirect_uri is required (RFC 9126 §2.4, public wallet clients)", reason="missing_redirect")
    parts = urlsplit(value)
    if not parts.scheme or "#" in value or not (parts.netloc or parts.path):
        raise Oid4vciError(
            "redirect_uri must be an absolute URI without fragment (RFC 6749 §3.1.2)", reason="bad_redirect_uri"
        )
    if parts.scheme.lower() in _UNSAFE_SCHEMES:
        raise Oid4vciError(
            f"redirect_uri must not use the {parts.scheme.lower()}: scheme (RFC 9700 §4.1)", reason="bad_redirect_uri"
        )
    if parts.scheme.lower() == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise Oid4vciError("redirect_uri must not be plain http (RFC 9700 §4.1.1)", reason="bad_redirect_uri")
    return value


class PushedAuthorizationRequests:
    def __init__(self, context: IssuerContext) -> None:
        self.context = context

    def push(
        self,
        tenant: Tenant,
        form: Mapping[str, str],
        client: VerifiedClientAttestation,
        *,
        dpop_proof_jkt: str | None = None,
    ) -> tuple[str, int]:
        """Check and store the pushed request; ``(request_uri, expires_in)`` (RFC 9126 §2.2). ``dpop_proof_jkt``:
        the key thumbprint of a verified DPoP proof sent with the request (RFC 9449 §10.1)."""
        if "request_uri" in form:
            raise Oid4vciError("request_uri must not be pushed (RFC 9126 §2.1)", reason="par_request_uri")
        if "request" in form:
            raise Oid4vciError("request objects are not supported here; push plain parameters", reason="par_request")
        client_id = form.get("client_id")
        if client_id is not None and client_id != client.client_id:
            raise InvalidClient("client_id is not the authenticated wallet's", reason="par_wrong_client")
        if form.get("response_type") != "code":
            raise Oid4vciError("response_type must be code (RFC 6749 §4.1.1)", reason="unsupported_response_type")
        redirect_uri = _redirect_uri(form.get("redirect_uri"))
        challenge, method = form.get("code_challenge"), form.get("code_challenge_method")
        if challenge is None:
            raise Oid4vciError("PKCE is required: code_challenge with S256 (RFC 7636, HAIP)", reason="pkce_missing")
        if method != "S256":
            raise Oid4vciError("code_challenge_method must be S256 (RFC 7636 §4.3, HAIP)", reason="pkce_method")
        if not _CHALLENGE.match(challenge):
            raise Oid4vciError(
                "code_challenge is the base64url SHA-256 of the verifier (43 characters)", reason="pkce_challenge"
            )
        scopes = (form.get("scope") or "").split()
        if PID_SCOPE not in scopes:
            raise Oid4vciError(f"scope must include {PID_SCOPE!r} (the PID)", reason="invalid_scope")
        state = form.get("state")
        if state is not None and len(state) > _STATE_MAX:
            raise Oid4vciError("state is too long", reason="bad_state")
        dpop_jkt = form.get("dpop_jkt")
        if dpop_jkt is not None and not _JKT.match(dpop_jkt):
            raise Oid4vciError("dpop_jkt is a JWK SHA-256 thumbprint (RFC 9449 §10)", reason="bad_dpop_jkt")
        if dpop_proof_jkt is not None:
            if dpop_jkt is not None and dpop_jkt != dpop_proof_jkt:
                raise Oid4vciError(
                    "dpop_jkt does not match the key of the DPoP proof (RFC 9449 §10.1)", reason="dpop_jkt_mismatch"
                )
            dpop_jkt = dpop_proof_jkt
        request = PushedRequest(
            authority_id=tenant.authority.id,
            client_id=client.client_id,
            instance_jkt=client.instance_key.thumbprint(),
            redirect_uri=redirect_uri,
            scope=PID_SCOPE,
            state=state,
            code_challenge=challenge,
            dpop_jkt=dpop_jkt,
        )
        request_uri = PAR_URN_PREFIX + b64url_encode(secrets.token_bytes(32))
        self.context.store.put(PAR_NS, digest_key(request_uri), request.to_json(), PAR_LIFETIME)
        return request_uri, PAR_LIFETIME

    def take(self, tenant: Tenant, request_uri: str | None, client_id: str | None) -> PushedRequest:
        """The pushed request behind ``request_uri``, once (RFC 9126 §4); ``client_id`` must be the pusher's."""
        if not request_uri or len(request_uri) > 256 or not request_uri.startswith(PAR_URN_PREFIX):
            raise Oid4vciError(
                "request_uri from the PAR endpoint is required (require_pushed_authorization_requests)",
                reason="par_required",
            )
        entry = self.context.store.take(PAR_NS, digest_key(request_uri))
        if entry is None or entry.get("a") != tenant.authority.id:
            raise Oid4vciError("the request_uri is unknown, used or expired (RFC 9126 §4)", reason="par_unknown")
        request = PushedRequest.from_json(entry)
        if client_id != request.client_id:
            raise Oid4vciError("client_id is not the one that pushed the request (RFC 9126 §4)", reason="par_client")
        return request
