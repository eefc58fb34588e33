"""The OpenID Provider facade: portals log citizens in with OpenID Connect, the verifier asks the wallet with
OpenID4VP 1.0 underneath (protocol logic without HTTP; the routes are in :mod:`verifier.oidc.routes`).

1. **Authorization request** (:meth:`OpenIdProvider.begin`, OpenID Connect Core 1.0 §3.1.2.1, RFC 6749 §4.1.1,
   RFC 7636): ``response_type=code``, a registered ``redirect_uri`` (exact match), ``scope`` with ``openid`` and
   registered scopes, ``state``, ``nonce`` (required here), PKCE ``S256`` (required; HAIP-like, RFC 9700 §2.1.1),
   ``prompt``. The login record and a browser-bound presentation session (OpenID4VP) are created.
2. **Login page**: same-device link, QR code, status followed by the page; the wallet's redirect lands on
   ``/authorize/return``.
3. **Completion** (:meth:`OpenIdProvider.complete`): the verified result is taken once and the presentation
   session deleted; ``sub`` (pairwise or transient, :mod:`verifier.oidc.subject`), ``acr`` and exactly the claims the
   portal's scopes asked for go into a single-use authorization code.
4. **Token request** (:meth:`OpenIdProvider.token`, §3.1.3): client authentication, code single use (a replayed code
   revokes the access token it produced, RFC 6749 §4.1.2), ``redirect_uri`` and PKCE verifier checked; an ID Token
   (§2, signed ES256) and an access token for **UserInfo** (§5.3).

Privacy (docs/privacy.md "OpenID Connect for portals"): the disclosed claims exist only in the presentation result
(until taken), the code (≤ ``code_ttl``) and the access token (≤ ``claims_ttl``); nothing is logged but event names,
client ids and reasons.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from infra.ephemeral import EphemeralStore
from ssi.clock import Clock
from ssi.encoding import b64url_encode
from ssi.errors import DcqlError, InvalidGrant, InvalidToken, SsiError, UnsupportedGrantType
from ssi.jose import encode_jwt
from ssi.keys import Signer
from verifier.oidc.client_auth import authenticate_client
from verifier.oidc.clients import AUTH_METHODS, PortalClient, PortalRegistry, login_query
from verifier.oidc.settings import EIDAS_LOA, OidcSettings
from verifier.oidc.subject import SubjectInput, pairwise_subject, transient_subject
from verifier.presets import PID_VCT
from verifier.service import FINAL, PresentationNotFound, PresentationService, ResultNotReady

__all__ = ["AuthorizationError", "BegunLogin", "LoginNotFound", "OpenIdProvider"]

log = logging.getLogger("govssi.verifier.oidc")

PROMPTS = frozenset({"none", "login", "consent", "select_account"})
#: RFC 7636 §4.1: code_verifier = 43*128unreserved.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


class AuthorizationError(SsiError):
    """An authorization request refused (OpenID Connect Core §3.1.2.6). ``redirect`` tells whether the error may go
    back to the ``redirect_uri`` (RFC 6749 §4.1.2.1: never for an unknown client or an unregistered redirect URI)."""

    def __init__(self, code: str, description: str, *, redirect: bool = True, reason: str | None = None) -> None:
        super().__init__(description, reason=reason or code)
        self.code = code
        self.redirect = redirect


class LoginNotFound(PresentationNotFound):
    """No such login in this browser (unknown, expired, or finished)."""

    reason = "login_unknown"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def _project(claims: Any, paths: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
    """The parts of ``claims`` that ``paths`` name (the rest — e.g. the place of birth asked only for the pseudonym —
    never leaves the provider)."""
    out: dict[str, Any] = {}
    for path in paths:
        node: Any = claims
        for part in path:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                break
        else:
            target = out
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = node
    return out


@dataclass(frozen=True)
class BegunLogin:
    login_id: str
    binding: str
    authorization_request: str
    client_name: str
    scopes: tuple[str, ...]
    expires_in: int


class OpenIdProvider:
    def __init__(
        self,
        *,
        issuer: str,
        registry: PortalRegistry,
        presentations: PresentationService,
        signer: Signer,
        pairwise_secret: bytes,
        store: EphemeralStore,
        clock: Clock,
        settings: OidcSettings | None = None,
        token: Any = secrets.token_urlsafe,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.registry = registry
        self.presentations = presentations
        self.signer = signer
        self._secret = pairwise_secret
        self.store = store
        self.clock = clock
        self.settings = settings or OidcSettings()
        self._token = token

    # -- discovery ------------------------------------------------------------------------------------------------

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    def metadata(self) -> dict[str, Any]:
        """OpenID Connect Discovery 1.0 §3 (and RFC 8414 names)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks.json",
            "scopes_supported": ["openid", *sorted(self.registry.scopes)],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            # §3: "Valid types include pairwise and public" — only pairwise here (anonymous logins get a transient sub)
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [self.signer.alg],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA"],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": sorted(PROMPTS),
            "acr_values_supported": sorted(set(EIDAS_LOA.values())),
            "claims_supported": sorted(
                {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "at_hash"}
                | {
                    # PID claims at the top level, another credential's under its Credential Query id (_identity)
                    str(claim["path"][0]) if PID_VCT in credential.get("meta", {}).get("vct_values", []) else qid
                    for scope in self.registry.scopes.values()
                    for credential in scope.credentials
                    for qid in [str(credential["id"])]
                    for claim in credential["claims"]
                }
            ),
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        jwk = {**self.signer.public_jwk, "use": "sig", "alg": self.signer.alg}
        if self.signer.kid:
            jwk["kid"] = self.signer.kid
        return {"keys": [jwk]}

    # -- 1. authorization request ---------------------------------------------------------------------------------

    def check_client(self, params: Mapping[str, str]) -> tuple[PortalClient, str]:
        """RFC 6749 §4.1.2.1: a missing/unknown client or a redirect URI that is not registered is shown to the user,
        never redirected to."""
        client = self.registry.get(params.get("client_id", ""))
        if client is None:
            raise AuthorizationError("invalid_client", "unknown client", redirect=False, reason="unknown_client")
        redirect_uri = params.get("redirect_uri")
        # OpenID Connect Core §3.1.2.1: redirect_uri REQUIRED, "MUST exactly match one of the Redirection URI values
        # for the Client pre-registered at the OpenID Provider" (simple string comparison, RFC 3986 §6.2.1).
        if redirect_uri is None or redirect_uri not in client.redirect_uris:
            raise AuthorizationError(
                "invalid_request",
                "redirect_uri is not registered for this client",
                redirect=False,
                reason="redirect_uri_mismatch",
            )
        return client, redirect_uri

    def error_redirect(self, redirect_uri: str, error: AuthorizationError, state: str | None) -> str:
        """RFC 6749 §4.1.2.1 error response, with ``iss`` (RFC 9207 §2)."""
        params = {"error": error.code, "error_description": error.description, "iss": self.issuer}
        if state is not None:
            params["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{separator}{urlencode(params)}"

    def begin(self, params: Mapping[str, str]) -> BegunLogin:
        """Validate an authorization request and start the presentation. Raises :class:`AuthorizationError`."""
        client, redirect_uri = self.check_client(params)
        if "request" in params or "request_uri" in params:
            raise AuthorizationError("request_not_supported", "request objects are not supported")
        if params.get("response_type") != "code":
            raise AuthorizationError("unsupported_response_type", "response_type must be code")
        if params.get("response_mode", "query") != "query":
            raise AuthorizationError("invalid_request", "response_mode must be query")
        requested = params.get("scope", "").split()
        # §3.1.2.1: "OpenID Connect requests MUST contain the openid scope value."
        if "openid" not in requested:
            raise AuthorizationError("invalid_scope", "scope must contain openid")
        scopes = tuple(dict.fromkeys(s for s in requested if s != "openid"))
        unknown = [s for s in scopes if s not in client.scopes]
        if unknown or not scopes:
            raise AuthorizationError("invalid_scope", "scope names no scope registered for this client")
        nonce = params.get("nonce")
        # §3.1.2.1 makes nonce OPTIONAL for the code flow; this provider requires it (replay protection of the ID
        # Token in the portal, as for the implicit flow).
        if not nonce or len(nonce) > 512:
            raise AuthorizationError("invalid_request", "nonce is required", reason="nonce_missing")
        state = params.get("state")
        if state is not None and len(state) > 1024:
            raise AuthorizationError("invalid_request", "state is too long")
        # RFC 7636 §4.3; only S256 (RFC 9700 §2.1.1: "plain" SHOULD NOT be used).
        challenge = params.get("code_challenge")
        if not challenge:
            raise AuthorizationError("invalid_request", "code_challenge (PKCE) is required", reason="pkce_missing")
        if params.get("code_challenge_method") != "S256":
            raise AuthorizationError("invalid_request", "code_challenge_method must be S256", reason="pkce_method")
        if not _CHALLENGE.match(challenge):
            raise AuthorizationError("invalid_request", "code_challenge is malformed", reason="pkce_malformed")
        prompts = set(params.get("prompt", "").split())
        if prompts - PROMPTS:
            raise AuthorizationError("invalid_request", "unknown prompt value")
        if "none" in prompts:
            # §3.1.2.1: none "MUST NOT display any authentication or consent user interface pages"; every login here
            # is a presentation from the wallet, so there is never a session to reuse.
            if len(prompts) > 1:
                raise AuthorizationError("invalid_request", "prompt=none cannot be combined")
            raise AuthorizationError("login_required", "every login needs the wallet")
        scope_objects = client.scope_list(scopes)
        try:
            query, released = login_query(scope_objects)
            query, _ = self.presentations.query_for(dcql_query=query.to_json())
        except DcqlError as exc:
            raise AuthorizationError("invalid_scope", exc.description) from None
        login_id, binding = self._token(24), self._token(32)
        purpose = f"Anmeldung bei {client.client_name}: " + "; ".join(s.description for s in scope_objects)
        created = self.presentations.create(
            query,
            flow="browser",
            purpose=purpose,
            binding=binding,
            redirect_uri=f"{self.issuer}/authorize/return",
            result_ttl=self.settings.claims_ttl,
        )
        identifying = any(s.identifying for s in scope_objects)
        record = {
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "scopes": list(scopes),
            "released": sorted([qid, list(path)] for qid, path in released),
            "identifying": identifying,
            "transaction_id": created.transaction_id,
            "link": created.authorization_request,
            "binding": _digest(binding),
        }
        self.store.put("oidc_login", login_id, record, self.settings.login_ttl)
        log.info("oidc login started", extra={"client_id": client.client_id, "scopes": list(scopes)})
        return BegunLogin(
            login_id,
            binding,
            created.authorization_request,
            client.client_name,
            scopes,
            int(self.settings.login_ttl),
        )

    # -- 2. the login in the browser ------------------------------------------------------------------------------

    def login(self, login_id: str, binding: str) -> dict[str, Any]:
        record = self.store.get("oidc_login", login_id) if login_id else None
        if record is None or not hmac.compare_digest(record["binding"], _digest(binding)):
            raise LoginNotFound("no login in progress in this browser (unknown or expired)")
        return record

    def status(self, login_id: str, binding: str) -> str:
        record = self.login(login_id, binding)
        try:
            return str(self.presentations.status(record["transaction_id"], binding=binding)["status"])
        except PresentationNotFound:
            return "expired"

    def owns_code(self, login_id: str, binding: str, response_code: str) -> bool:
        """Whether the wallet's ``response_code`` belongs to this browser's login (same-device return)."""
        record = self.login(login_id, binding)
        owner = self.presentations.transaction_for_code(response_code)
        return owner is not None and hmac.compare_digest(owner, record["transaction_id"])

    # -- 3. completion --------------------------------------------------------------------------------------------

    def complete(self, login_id: str, binding: str) -> str:
        """Where to send the browser: the portal's redirect URI with ``code`` (or ``error``), ``state`` and ``iss``.
        Raises ``ResultNotReady`` while the wallet has not answered. The login and the presentation are deleted.

        The login page and the wallet's redirect may both arrive: the login record is taken atomically, so exactly one
        of them completes the login and the other finds it gone (never an error sent to the portal)."""
        record = self.login(login_id, binding)
        transaction_id = record["transaction_id"]
        try:
            status = self.presentations.status(transaction_id, binding=binding)["status"]
        except PresentationNotFound:
            status = "expired"
        if status not in FINAL and status != "expired":
            raise ResultNotReady(status)
        if self.store.take("oidc_login", login_id) is None:
            raise LoginNotFound("this login was completed already")
        try:
            result = self.presentations.result(transaction_id, binding=binding)
        except (PresentationNotFound, ResultNotReady):
            result = {"status": "expired", "reason": "session_expired"}
        self.presentations.forget(transaction_id)
        redirect_uri, state = record["redirect_uri"], record["state"]
        if result.get("status") != "verified":
            reason = result.get("reason") or result.get("error") or result.get("status")
            log.info("oidc login refused", extra={"client_id": record["client_id"], "reason": reason})
            description = (
                "the citizen declined in the wallet"
                if result.get("status") == "wallet_error"
                else f"the presentation was not accepted ({reason})"
            )
            error = AuthorizationError("access_denied", description)
            return self.error_redirect(redirect_uri, error, state)
        client = self.registry.get(record["client_id"])
        if client is None:  # deregistered while the citizen was presenting
            return self.error_redirect(redirect_uri, AuthorizationError("access_denied", "client gone"), state)
        claims, subject, acr = self._identity(client, record, result["credentials"])
        code = self._token(32)
        grant = {
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": record["code_challenge"],
            "nonce": record["nonce"],
            "scope": " ".join(["openid", *record["scopes"]]),
            "sub": subject,
            "claims": claims,
            "acr": acr,
            "auth_time": int(self.clock()),
        }
        self.store.put("oidc_code", _digest(code), grant, self.settings.effective_code_ttl())
        log.info("oidc login verified", extra={"client_id": client.client_id, "pairwise": record["identifying"]})
        params = {"code": code, "iss": self.issuer}
        if state is not None:
            params["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{separator}{urlencode(params)}"

    def _identity(
        self, client: PortalClient, record: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str, str | None]:
        """(claims for the portal, ``sub``, ``acr``). PID claims go to the top level (their names are OpenID Connect
        standard claims, §5.1: ``given_name``, ``family_name``, ``birthdate``); another credential's under its
        Credential Query id."""
        released: dict[str, list[tuple[Any, ...]]] = {}
        for qid, path in record["released"]:
            released.setdefault(qid, []).append(tuple(path))
        claims: dict[str, Any] = {}
        pid_claims: Mapping[str, Any] | None = None
        acr: str | None = None
        for qid, items in credentials.items():
            if not items:
                continue
            first = items[0]
            disclosed = first.get("claims") or {}
            projected = _project(disclosed, released.get(qid, []))
            if first.get("vct") == PID_VCT:
                pid_claims = disclosed
                claims.update(projected)
            elif projected:
                claims[qid] = projected
            loa = self.settings.acr_by_vct.get(str(first.get("vct")))
            if loa is not None and first.get("accreditation") is not None and acr is None:
                acr = loa
        subject_input = SubjectInput.from_claims(pid_claims) if (pid_claims and record["identifying"]) else None
        if subject_input is not None:
            subject = pairwise_subject(self._secret, client.sector_identifier, subject_input)
        else:
            subject = transient_subject()
        return claims, subject, acr

    # -- 4. token and userinfo ------------------------------------------------------------------------------------

    def token(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
        """OpenID Connect Core §3.1.3.1/§3.1.3.3; RFC 6749 §4.1.3. Raises ``InvalidClient``, ``InvalidGrant`` …"""
        client = authenticate_client(
            form,
            authorization,
            self.registry,
            audiences=frozenset({self.token_endpoint, self.issuer}),
            store=self.store,
            clock=self.clock,
        )
        if form.get("grant_type") != "authorization_code":
            raise UnsupportedGrantType("grant_type must be authorization_code")
        code = form.get("code", "")
        if not code:
            raise InvalidGrant("code is required", reason="code_missing")
        digest = _digest(code)
        grant = self.store.take("oidc_code", digest)
        if grant is None:
            used = self.store.take("oidc_code_used", digest)
            if used is not None:
                # RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server MUST
                # deny the request and SHOULD revoke (when possible) all tokens previously issued based on that
                # authorization code."
                self.store.delete("oidc_token", used["token"])
                log.warning("oidc code replayed", extra={"client_id": client.client_id})
                raise InvalidGrant("the authorization code was used already", reason="code_reused")
            raise InvalidGrant("unknown or expired authorization code", reason="code_unknown")
        if grant["client_id"] != client.client_id:
            raise InvalidGrant("the code was issued to another client", reason="code_client_mismatch")
        # RFC 6749 §4.1.3: "ensure that the redirect_uri parameter is present if … included in the initial
        # authorization request … and if included ensure that their values are identical."
        if form.get("redirect_uri") != grant["redirect_uri"]:
            raise InvalidGrant("redirect_uri differs from the authorization request", reason="redirect_uri_mismatch")
        verifier = form.get("code_verifier", "")
        # RFC 7636 §4.6: the server "MUST" compare the transformed verifier with the code_challenge.
        if not _VERIFIER.match(verifier):
            raise InvalidGrant("code_verifier is missing or malformed", reason="pkce_malformed")
        if not hmac.compare_digest(_s256(verifier), grant["code_challenge"]):
            raise InvalidGrant("code_verifier does not match the code_challenge", reason="pkce_mismatch")
        access_token = self._token(32)
        token_ttl = self.settings.effective_access_token_ttl()
        self.store.put(
            "oidc_token",
            _digest(access_token),
            {"client_id": client.client_id, "sub": grant["sub"], "claims": grant["claims"], "scope": grant["scope"]},
            token_ttl,
        )
        self.store.put("oidc_code_used", digest, {"token": _digest(access_token)}, token_ttl)
        now = int(self.clock())
        id_claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant["sub"],
            "aud": client.client_id,
            "exp": now + int(self.settings.id_token_ttl),
            "iat": now,
            "auth_time": grant["auth_time"],
            "nonce": grant["nonce"],
            # §3.1.3.6: at_hash — the left half of the hash of the access token
            "at_hash": b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest()[:16]),
        }
        if grant["acr"] is not None:
            id_claims["acr"] = grant["acr"]
        for name, value in grant["claims"].items():
            id_claims.setdefault(name, value)
        header = {"kid": self.signer.kid} if self.signer.kid else None
        id_token = encode_jwt(id_claims, self.signer, typ="JWT", header=header)
        log.info("oidc tokens issued", extra={"client_id": client.client_id})
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(token_ttl),
            "id_token": id_token,
            "scope": grant["scope"],
        }

    def userinfo(self, access_token: str) -> dict[str, Any]:
        """§5.3.2: ``sub`` and the claims of the login, while the access token lives (≤ ``claims_ttl``)."""
        entry = self.store.get("oidc_token", _digest(access_token)) if access_token else None
        if entry is None:
            raise InvalidToken("the access token is unknown or expired")
        return {"sub": entry["sub"], **entry["claims"]}
