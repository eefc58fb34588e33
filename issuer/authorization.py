"""The PID provider's authorization endpoint: the authorization step is the citizen's eID authentication (BSI
TR-03130 eID-Server role, :mod:`ssi.eid`), and its result the authorization code.

1. ``GET /authorize?client_id=…&request_uri=…`` (RFC 9126 §4: only the pushed request counts, taken once). The
   provider opens an eID session: its **terminal certificate** (CVCA → DV → terminal, with the access rights the
   PID needs) and a fresh **challenge** and ephemeral key, signed; the answer is the eID activation for the wallet's
   eID client (``eid_request``, where to send the card's response). The eID client shows the provider's name and the
   requested data (``wallet_sim.eid.describe_request``), the citizen consents and enters the PIN, the card answers.
2. ``POST /eid-response`` ``{"eid_session", "eid_response"}``: the eID-Server verifies **chip authentication**
   (the MAC under ECDH of the chip key and this session's ephemeral key covers this request and the answer: a
   replayed or another session's response fails), **passive authentication** (the security object chains to a
   trusted CSCA and every released data group matches its digest), the released rights (within the request, every
   required one), and the document's validity; the session is consumed whatever the outcome. The provider's policy
   accepts the configured sources (card; Smart-eID only where configured, with level of assurance high), requires
   the card's restricted identification (the pseudonym that lets a lost card's PIDs be revoked), and maps the data
   to the PID (:func:`ssi.pid.pid_claims`; a document that gives no PID is ``access_denied``).
3. The authorization response (RFC 6749 §4.1.2) is where the user agent goes next (TR-03124: the eID client's
   redirect to the service's refresh address): ``redirect_uri?code=…&state=…&iss=…`` — ``iss`` per RFC 9207 §2 ("the
   authorization server MUST ... include the iss parameter") — or ``error=access_denied`` when the eID step failed
   (§4.1.2.1). The code is single-use and lives 60 seconds (RFC 6749 §4.1.2 "maximum authorization code lifetime of
   10 minutes is RECOMMENDED"); it stands for the verified identity, the pushed request's PKCE challenge, redirect
   URI, client, wallet instance and DPoP key.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from infra.ephemeral import EphemeralStore
from issuer.context import IssuerContext, Tenant, digest_key
from issuer.par import PushedAuthorizationRequests, PushedRequest
from ssi.clock import Clock
from ssi.eid import (
    AccessRight,
    Chat,
    DataGroup,
    EidAuthentication,
    EidIdentity,
    EidServer,
    EidSession,
    EidTrustAnchors,
    TerminalCredentials,
)
from ssi.encoding import b64url_encode
from ssi.errors import EidError, EidVerificationFailed, Oid4vciError, PidMappingError, SsiError
from ssi.pid import PID_OPTIONAL_DATA_GROUPS, PID_REQUIRED_DATA_GROUPS, pid_claims

__all__ = [
    "AUTH_CODE_NS",
    "AuthorizationEndpoint",
    "AuthorizationResult",
    "EidActivation",
    "StoreEidSessions",
    "VerifiedIdentity",
    "identity_from_json",
    "identity_to_json",
]

AUTH_CODE_NS: Final = "pid_auth_code"
AUTH_CONTEXT_NS: Final = "pid_auth_context"
EID_SESSION_NS: Final = "pid_eid_session"
CODE_LIFETIME: Final = 60
#: What the PID provider asks the card for: the PID's data groups and restricted identification (its pseudonym).
PID_REQUIRED_RIGHTS: Final = Chat.of(read=PID_REQUIRED_DATA_GROUPS, special=AccessRight.RESTRICTED_IDENTIFICATION)
PID_OPTIONAL_RIGHTS: Final = Chat.of(read=PID_OPTIONAL_DATA_GROUPS)


class StoreEidSessions:
    """:class:`ssi.eid.EidSessionStore` over the issuer's short-lived store, so every instance can finish a session
    another one started; ``take`` is atomic (a response counts once)."""

    def __init__(self, store: EphemeralStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def put(self, session: EidSession) -> None:
        ttl = max(1.0, session.expires_at - self._clock() + 5)
        self._store.put(EID_SESSION_NS, session.session_id, session.to_json(), ttl)

    def take(self, session_id: str) -> EidSession | None:
        if not isinstance(session_id, str) or not 0 < len(session_id) <= 64:
            return None
        entry = self._store.take(EID_SESSION_NS, session_id)
        return None if entry is None else EidSession.from_json(entry)


def identity_to_json(identity: EidIdentity) -> dict[str, Any]:
    """The verified eID data as card values (for the code, the token and the refresh token)."""
    return {str(int(group)): value for group, value in identity.to_data_groups().items()}


def identity_from_json(doc: Mapping[str, Any]) -> EidIdentity:
    return EidIdentity.from_data_groups({DataGroup(int(k)): v for k, v in doc.items()})


@dataclass(frozen=True)
class VerifiedIdentity:
    """What an authorization code (and the tokens after it) stands for: the pushed request and the eID result."""

    request: PushedRequest
    identity: dict[str, Any]
    restricted_id: str
    source: str
    level_of_assurance: str
    authenticated_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "req": self.request.to_json(),
            "id": self.identity,
            "ri": self.restricted_id,
            "src": self.source,
            "loa": self.level_of_assurance,
            "at": self.authenticated_at,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> VerifiedIdentity:
        return cls(
            request=PushedRequest.from_json(doc["req"]),
            identity=dict(doc["id"]),
            restricted_id=str(doc["ri"]),
            source=str(doc["src"]),
            level_of_assurance=str(doc["loa"]),
            authenticated_at=float(doc["at"]),
        )


@dataclass(frozen=True)
class EidActivation:
    """The authorization endpoint's answer: the signed eID request for the wallet's eID client."""

    session_id: str
    request: dict[str, Any]
    response_uri: str
    expires_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "eid_session": self.session_id,
            "eid_request": self.request,
            "eid_response_uri": self.response_uri,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class AuthorizationResult:
    """Where the user agent goes next (the authorization response) and, on failure, why (for logs and tests)."""

    redirect_to: str
    error: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"redirect_to": self.redirect_to}
        if self.error is not None:
            out["error"] = self.error
        return out


def _with_query(uri: str, params: Mapping[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


class AuthorizationEndpoint:
    def __init__(
        self,
        context: IssuerContext,
        par: PushedAuthorizationRequests,
        *,
        terminal: TerminalCredentials,
        anchors: EidTrustAnchors,
        accepted_sources: tuple[str, ...] = ("card",),
        session_lifetime: float = 600.0,
    ) -> None:
        self.context = context
        self.par = par
        self.accepted_sources = accepted_sources
        self.eid = EidServer(
            terminal,
            anchors,
            sessions=StoreEidSessions(context.store, context.clock),
            clock=context.clock,
            lifetime=session_lifetime,
        )
        self._lifetime = session_lifetime

    def authorize(self, tenant: Tenant, client_id: str | None, request_uri: str | None) -> EidActivation:
        """Step 1: the pushed request (once) → a new eID session and its signed request."""
        pushed = self.par.take(tenant, request_uri, client_id)
        request = self.eid.start(
            required=PID_REQUIRED_RIGHTS,
            optional=PID_OPTIONAL_RIGHTS,
            transaction_info="Ausstellung eines PID für Ihre EUDI-Wallet / PID issuance for your EUDI wallet",
        )
        content = request.content()
        ttl = max(1.0, content.expires_at - self.context.clock() + 5)
        self.context.store.put(AUTH_CONTEXT_NS, content.session_id, pushed.to_json(), ttl)
        return EidActivation(
            session_id=content.session_id,
            request=request.to_json(),
            response_uri=f"{tenant.credential_issuer}/eid-response",
            expires_at=content.expires_at,
        )

    def complete(self, tenant: Tenant, session_id: Any, response: Any) -> AuthorizationResult:
        """Step 2 and 3: verify the card's response to ``session_id`` and answer with the authorization response."""
        if not isinstance(session_id, str) or not 0 < len(session_id) <= 64 or not isinstance(response, str):
            raise Oid4vciError("eid_session and eid_response (strings) are required", reason="eid_missing")
        entry = self.context.store.take(AUTH_CONTEXT_NS, session_id)
        if entry is None or entry.get("a") != tenant.authority.id:
            # No redirect: without the pushed request there is no redirect_uri to trust (RFC 6749 §4.1.2.1).
            raise EidVerificationFailed(
                "no open eID authorization with this session (used or expired)", reason="eid_unknown_session"
            )
        pushed = PushedRequest.from_json(entry)
        try:
            auth = self.eid.finish(session_id, response)
            self._policy(auth)
            identity = auth.identity
            pid_claims(identity, now=self.context.clock())  # a document that gives no PID fails here, not later
        except (EidError, PidMappingError) as exc:
            return self._error(tenant, pushed, exc)
        except SsiError as exc:  # malformed messages inside the response
            return self._error(tenant, pushed, exc)
        assert auth.restricted_id is not None
        verified = VerifiedIdentity(
            request=pushed,
            identity=identity_to_json(identity),
            restricted_id=auth.restricted_id.hex(),
            source=auth.source,
            level_of_assurance=auth.level_of_assurance,
            authenticated_at=auth.authenticated_at,
        )
        code = b64url_encode(secrets.token_bytes(32))
        self.context.store.put(AUTH_CODE_NS, digest_key(code), verified.to_json(), CODE_LIFETIME)
        return AuthorizationResult(
            _with_query(pushed.redirect_uri, {"code": code, "state": pushed.state, "iss": tenant.credential_issuer})
        )

    def _policy(self, auth: EidAuthentication) -> None:
        """Which eID sources give a PID: the configured ones; a Smart-eID only at level of assurance high."""
        if auth.source not in self.accepted_sources:
            raise EidVerificationFailed(
                f"this PID provider does not accept eID source {auth.source!r}", reason="eid_source_not_accepted"
            )
        if auth.level_of_assurance != "high":
            raise EidVerificationFailed(
                "a PID needs level of assurance high (CIR 2024/2977)", reason="eid_level_of_assurance"
            )
        if auth.restricted_id is None:
            raise EidVerificationFailed(
                "restricted identification is required (revocation of a lost card's PIDs)",
                reason="eid_required_data_missing",
            )

    @staticmethod
    def _error(tenant: Tenant, pushed: PushedRequest, exc: SsiError) -> AuthorizationResult:
        """RFC 6749 §4.1.2.1: ``access_denied`` to the redirect URI, with ``state`` and (RFC 9207) ``iss``."""
        return AuthorizationResult(
            _with_query(
                pushed.redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": exc.description[:200],
                    "state": pushed.state,
                    "iss": tenant.credential_issuer,
                },
            ),
            error="access_denied",
            reason=exc.reason,
        )
