"""Presentation sessions: the protocol logic behind the verifier's routes, without HTTP (DESIGN.md §7).

A session has two secrets (OpenID4VP 1.0 §14.3.3 "Two cryptographically random numbers"): the **transaction id**
(``session`` in the relying-party API; only the RP knows it, it fetches the result with it) and the **request id**
(``state``, in the Request URI and Response URI; the wallet knows it). All state lives in the
:class:`infra.ephemeral.EphemeralStore` (SQL or Redis), so any instance of the verifier can serve any step:

=====================  ===========================================================================================
``vp_session:<rid>``   the request (nonce, query, response mode, encryption key, client id, flow, status)
``vp_tx:<tid>``        transaction id → request id
``vp_nonce:<rid>``     taken by the first verified-or-refused response that decrypts and carries the right
                       ``state``, together with writing its decision (``verifier.session_store``): the nonce is
                       single-use, a second response (replayed, or concurrent) finds nothing and writes nothing
``vp_retrieved:<rid>`` the Request Object is handed out once
``vp_result:<tid>``    the verified result (or the refusal), taken by the RP exactly once
``vp_code:<sha256>``   same-device ``response_code`` → transaction id (§13.3, HAIP 1.0: the redirect back)
``vp_link:<tid>``      the authorization request link (for the QR code)
=====================  ===========================================================================================

Flows: ``cross_device`` (QR code; the RP polls or follows the SSE stream), ``same_device`` (the wallet redirects the
browser to the RP's ``redirect_uri`` with a ``response_code``; the result is only released with that code, so a
redirect captured elsewhere is useless without the session, §14.2), and ``browser`` (the verifier's own pages: the
session is bound to a cookie of the browser that started it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from infra.ephemeral import EphemeralStore
from ssi.clock import Clock
from ssi.dcql import FORMAT_LDP_VC, FORMAT_SD_JWT_VC, DcqlQuery
from ssi.errors import DcqlError, InvalidAuthorizationResponse, Oid4vpError, SsiError
from ssi.oid4vp import (
    DIRECT_POST,
    DIRECT_POST_JWT,
    REDIRECT_URI,
    VP_FORMATS,
    AuthorizationRequest,
    ResponseEncryptionKey,
    authorization_request_link,
    client_metadata,
    create_request_object,
    did_client_id,
    parse_authorization_response,
    parse_request_uri_post,
    x509_hash_client_id,
    x509_san_dns_client_id,
)
from verifier.keys import RequestSigningKeys
from verifier.ldp_vc import LDP_VC_VP_FORMATS, check_ldp_vc_query, check_request_state
from verifier.presentations import CredentialVerifier, verify_vp_token
from verifier.presets import Preset, with_purpose
from verifier.session_store import take_and_write

__all__ = ["FINAL", "CreatedPresentation", "PresentationNotFound", "PresentationService", "ResultNotReady"]

FLOWS = frozenset({"cross_device", "same_device", "browser"})
#: §11.1 vp_formats_supported: SD-JWT VC (HAIP) and ldp_vc with bbs-2023 (verifier/ldp_vc.py)
_VP_FORMATS = {**VP_FORMATS, **LDP_VC_VP_FORMATS}
#: Session states; the last three are final.
CREATED, RETRIEVED, VERIFIED, REFUSED, WALLET_ERROR = "created", "retrieved", "verified", "refused", "wallet_error"
FINAL = frozenset({VERIFIED, REFUSED, WALLET_ERROR})
#: distinct DCQL queries kept parsed (:meth:`PresentationService._query_of`; the cache starts over when full)
_QUERY_CACHE_SIZE = 256


class PresentationNotFound(Oid4vpError):
    """No such session (unknown, expired, or its result was fetched already): HTTP 404."""

    code = "not_found"
    reason = "session_unknown"


class ResultNotReady(Exception):
    """The wallet has not answered yet: the status so far."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class CreatedPresentation:
    transaction_id: str
    request_id: str
    authorization_request: str
    request_uri: str | None
    expires_in: int
    client_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.transaction_id,
            "authorization_request": self.authorization_request,
            "request_uri": self.request_uri,
            "client_id": self.client_id,
            "expires_in": self.expires_in,
        }


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class PresentationService:
    def __init__(
        self,
        *,
        public_url: str,
        store: EphemeralStore,
        keys: RequestSigningKeys,
        credentials: CredentialVerifier,
        presets: Mapping[str, Preset],
        clock: Clock,
        client_id_prefix: str = "x509_hash",
        did: str | None = None,
        allow_redirect_uri: bool = False,
        response_mode: str = DIRECT_POST_JWT,
        session_ttl: float = 600.0,
        result_ttl: float = 600.0,
        token: Callable[[int], str] = secrets.token_urlsafe,
        scheme: str = "openid4vp://",
    ) -> None:
        if client_id_prefix == REDIRECT_URI and not allow_redirect_uri:
            raise ValueError("the redirect_uri Client Identifier Prefix is for development only (allow_redirect_uri)")
        self.public_url = public_url.rstrip("/")
        self.store = store
        self.keys = keys
        self.credentials = credentials
        self.presets = dict(presets)
        self.clock = clock
        self.client_id_prefix = client_id_prefix
        self.did = did
        self.response_mode = response_mode
        self.session_ttl = session_ttl
        self.result_ttl = result_ttl
        self._token = token
        self.scheme = scheme
        #: parsed DCQL queries by their stored JSON (:meth:`_query_of`)
        self._queries: dict[str, DcqlQuery] = {}

    # -- the relying party's side ---------------------------------------------------------------------------------

    def _client_id(self, response_uri: str) -> str:
        prefix = self.client_id_prefix
        if prefix == "x509_hash":
            return x509_hash_client_id(self.keys.leaf)
        if prefix == "x509_san_dns":
            return x509_san_dns_client_id(urlsplit(self.public_url).hostname or "")
        if prefix == "decentralized_identifier":
            if not self.did:
                raise ValueError("decentralized_identifier needs the verifier's DID")
            return did_client_id(self.did)
        return f"{REDIRECT_URI}:{response_uri}"

    def query_for(self, *, dcql_query: Any = None, preset: str | None = None) -> tuple[DcqlQuery, str | None]:
        """The DCQL query of a request: given, or a preset's. Only SD-JWT VC (``dc+sd-jwt``) is verified here."""
        if (dcql_query is None) == (preset is None):
            raise DcqlError("give either dcql_query or preset", reason="dcql_malformed")
        purpose = None
        if preset is not None:
            if preset not in self.presets:
                raise DcqlError(f"no preset named {preset!r}", reason="unknown_preset")
            query, purpose = self.presets[preset].query, self.presets[preset].purpose
        else:
            query = DcqlQuery.parse(dcql_query)
        for credential in query.credentials:
            if credential.format == FORMAT_LDP_VC and self.credentials.ldp_vc is not None:
                check_ldp_vc_query(credential)  # bbs-2023: no holder binding (verifier/ldp_vc.py)
                continue
            if credential.format != FORMAT_SD_JWT_VC:
                raise DcqlError(f"this verifier verifies {FORMAT_SD_JWT_VC} only", reason="dcql_unsupported_format")
        return query, purpose

    def create(
        self,
        query: DcqlQuery,
        *,
        flow: str = "cross_device",
        response_mode: str | None = None,
        redirect_uri: str | None = None,
        purpose: str | None = None,
        binding: str | None = None,
        result_ttl: float | None = None,
    ) -> CreatedPresentation:
        """A new presentation request (§5): fresh nonce (§5.2: "a fresh, cryptographically random number with
        sufficient entropy for every Authorization Request"), state, transaction id and, for ``direct_post.jwt``, a
        fresh P-256 key (HAIP 1.0). ``redirect_uri`` is where a same-device wallet sends the browser (default: our
        ``/done`` page); ``binding`` binds the session to a browser secret (the ``browser`` flow). ``purpose`` goes
        into the query's Credential Set Queries for the wallet's consent screen (:func:`verifier.presets.with_purpose`)
        and into the result."""
        if flow not in FLOWS:
            raise Oid4vpError("flow is cross_device or same_device", reason="bad_flow")
        mode = response_mode or self.response_mode
        if mode not in (DIRECT_POST, DIRECT_POST_JWT):
            raise Oid4vpError("response_mode is direct_post or direct_post.jwt", reason="unsupported_response_mode")
        if redirect_uri is not None and flow == "cross_device":
            # a browser session may name its own landing page (the OpenID Provider's login: verifier/oidc)
            raise Oid4vpError("redirect_uri belongs to the same_device flow", reason="bad_redirect_uri")
        query = with_purpose(query, purpose)
        request_id = self._token(24)
        check_request_state(query, request_id)  # §5.3: the request id is the state
        transaction_id = self._token(32)
        nonce = self._token(24)  # §13.3 (1): "at least 16 fresh, cryptographically random bytes"
        response_uri = f"{self.public_url}/response/{request_id}"
        request_uri = f"{self.public_url}/request/{request_id}"
        client_id = self._client_id(response_uri)
        key = ResponseEncryptionKey.generate(self._token(8)) if mode == DIRECT_POST_JWT else None
        metadata = client_metadata(key, vp_formats=_VP_FORMATS) if key else {"vp_formats_supported": _VP_FORMATS}
        request = AuthorizationRequest(
            client_id=client_id,
            response_mode=mode,
            response_uri=response_uri,
            nonce=nonce,
            state=request_id,
            dcql_query=query,
            client_metadata=metadata,
        )
        now = self.clock()
        session = {
            "request_id": request_id,
            "transaction_id": transaction_id,
            "client_id": client_id,
            "response_mode": mode,
            "nonce": nonce,
            "dcql_query": query.raw or query.to_json(),
            "client_metadata": metadata,
            "encryption_key": key.private_jwk if key else None,
            "flow": flow,
            "redirect_uri": redirect_uri,
            "purpose": purpose,
            "binding": _digest(binding) if binding else None,
            # how long the verified claims may wait to be taken (the OpenID Provider's claims_ttl)
            "result_ttl": min(result_ttl, self.result_ttl) if result_ttl else self.result_ttl,
            "status": CREATED,
            "created_at": now,
            "expires_at": now + self.session_ttl,
        }
        self.store.put("vp_session", request_id, session, self.session_ttl)
        self.store.put("vp_tx", transaction_id, {"request_id": request_id}, self.session_ttl)
        self.store.put("vp_nonce", request_id, {"nonce": nonce}, self.session_ttl)
        if self.client_id_prefix == REDIRECT_URI:
            # §5.9.3: unsigned, by value — development only
            link = f"{self.scheme}?{urlencode(request.to_query_parameters())}"
            uri = None
        else:
            link = authorization_request_link(client_id, request_uri, request_uri_method="post", scheme=self.scheme)
            uri = request_uri
        self.store.put("vp_link", transaction_id, {"link": link}, self.session_ttl)
        return CreatedPresentation(transaction_id, request_id, link, uri, int(self.session_ttl), client_id)

    def _session_for(self, transaction_id: str) -> dict[str, Any]:
        tx = self.store.get("vp_tx", transaction_id) if transaction_id else None
        if tx is None:
            raise PresentationNotFound("no such presentation session (unknown or expired)")
        session = self.store.get("vp_session", tx["request_id"])
        if session is None:
            raise PresentationNotFound("the presentation session has expired")
        return session

    def status(self, transaction_id: str, *, binding: str | None = None) -> dict[str, Any]:
        """Where the session stands (never any claim): ``created``, ``retrieved`` (the wallet fetched the request),
        ``verified``, ``refused``, ``wallet_error``."""
        session = self._session_for(transaction_id)
        self._check_binding(session, binding)
        out = {"status": session["status"], "expires_at": session["expires_at"]}
        if session["status"] in (REFUSED, WALLET_ERROR):
            out["reason"] = session.get("reason")
        return out

    def _check_binding(self, session: Mapping[str, Any], binding: str | None) -> None:
        expected = session.get("binding")
        if expected is not None and (binding is None or not hmac.compare_digest(_digest(binding), expected)):
            raise PresentationNotFound("this presentation belongs to another browser session")

    def result(
        self, transaction_id: str, *, response_code: str | None = None, binding: str | None = None
    ) -> dict[str, Any]:
        """The verified result (or the refusal), exactly once. Same-device sessions release it only with the
        ``response_code`` the wallet's redirect carried (§13.3 step 8); browser sessions only to their browser."""
        session = self._session_for(transaction_id)
        self._check_binding(session, binding)
        if session["flow"] == "same_device":
            code = self.store.get("vp_code", _digest(response_code)) if response_code else None
            if code is None or not hmac.compare_digest(code["transaction_id"], transaction_id):
                raise PresentationNotFound("a same-device result needs the response_code of its redirect")
        if session["status"] not in FINAL:
            raise ResultNotReady(session["status"])
        result = self.store.take("vp_result", transaction_id)
        if result is None:
            raise PresentationNotFound("the result was fetched already")
        if response_code:
            self.store.delete("vp_code", _digest(response_code))
        return result

    def forget(self, transaction_id: str) -> None:
        """Delete everything kept for a session (DSGVO Art. 5(1)(e) storage limitation): called once its result has
        been used. Unknown sessions are ignored."""
        tx = self.store.take("vp_tx", transaction_id) if transaction_id else None
        self.store.delete("vp_result", transaction_id)
        self.store.delete("vp_link", transaction_id)
        if tx is not None:
            for ns in ("vp_session", "vp_nonce", "vp_retrieved"):
                self.store.delete(ns, tx["request_id"])

    def transaction_for_code(self, response_code: str) -> str | None:
        code = self.store.get("vp_code", _digest(response_code)) if response_code else None
        return None if code is None else str(code["transaction_id"])

    # -- the wallet's side ----------------------------------------------------------------------------------------

    def _live_session(self, request_id: str) -> dict[str, Any]:
        session = self.store.get("vp_session", request_id) if request_id else None
        if session is None:
            raise PresentationNotFound("no such presentation request (unknown or expired)")
        return session

    def request_object(self, request_id: str, form: Mapping[str, str] | None = None) -> str:
        """The signed Request Object (RFC 9101; §5.10 with ``form`` for ``request_uri_method=post``: our answer carries
        the ``wallet_nonce``). Handed out once: a second fetch is refused (the QR code was used)."""
        session = self._live_session(request_id)
        if self.client_id_prefix == REDIRECT_URI:
            raise PresentationNotFound("unsigned requests are passed by value")
        if session["status"] in FINAL:
            raise PresentationNotFound("this presentation request is finished")
        posted = parse_request_uri_post(form) if form is not None else None
        if not self.store.remember_once("vp_retrieved", request_id, self.session_ttl):
            raise Oid4vpError("this request was fetched already", reason="request_already_retrieved")
        key = ResponseEncryptionKey(session["encryption_key"]) if session["encryption_key"] else None
        request = AuthorizationRequest(
            client_id=session["client_id"],
            response_mode=session["response_mode"],
            response_uri=f"{self.public_url}/response/{request_id}",
            nonce=session["nonce"],
            state=request_id,
            dcql_query=self._query_of(session),
            client_metadata=client_metadata(key, vp_formats=_VP_FORMATS) if key else session["client_metadata"],
            wallet_nonce=posted.wallet_nonce if posted else None,
        )
        self._update(session, status=RETRIEVED)
        if self.client_id_prefix == "decentralized_identifier":
            return create_request_object(request, self.keys.signer, kid=self.keys.kid, now=self.clock())
        return create_request_object(request, self.keys.signer, x5c=self.keys.x5c, now=self.clock())

    def _update(self, session: dict[str, Any], **changes: Any) -> None:
        session.update(changes)
        remaining = max(session["expires_at"] - self.clock(), 1.0)
        self.store.replace("vp_session", session["request_id"], session, remaining)

    def _decide(
        self, session: dict[str, Any], status: str, result: dict[str, Any], reason: str | None = None
    ) -> dict[str, str]:
        """The response's decision, written only if this response takes the nonce (single-use: of concurrent or
        replayed responses exactly one decides; the others are ``response_replayed``): the result, the session's final
        status (a reader that sees it finds the result) and, same-device, the ``response_code``'s entry — with the
        nonce in one store round trip where the store can (:func:`verifier.session_store.take_and_write`). Returns
        the answer to the wallet (:meth:`_redirect`)."""
        ttl = session.get("result_ttl") or self.result_ttl
        session.update(status=status, reason=reason)
        remaining = max(session["expires_at"] - self.clock(), 1.0)
        entries: list[tuple[str, str, Mapping[str, Any], float]] = [
            ("vp_result", session["transaction_id"], {"status": status, **result}, ttl),
            ("vp_session", session["request_id"], session, remaining),
        ]
        answer, code = self._redirect(session)
        if code is not None:
            entries.append(("vp_code", _digest(code), {"transaction_id": session["transaction_id"]}, self.result_ttl))
        if not take_and_write(self.store, "vp_nonce", session["request_id"], entries):
            raise InvalidAuthorizationResponse("this request was answered already", reason="response_replayed")
        return answer

    def _redirect(self, session: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
        """HAIP 1.0: "The Verifier MUST return redirect_uri in response to the HTTP POST request from the Wallet"; for
        same-device sessions it carries a fresh ``response_code`` (§8.2: "a fresh, cryptographically random value"),
        returned second (the caller stores it with the decision)."""
        if session["flow"] == "cross_device":
            return {"redirect_uri": f"{self.public_url}/done"}, None
        code = self._token(32)
        target = session.get("redirect_uri") or f"{self.public_url}/done"
        separator = "&" if "?" in target else "?"
        return {"redirect_uri": f"{target}{separator}{urlencode({'response_code': code})}"}, code

    def _query_of(self, session: Mapping[str, Any]) -> DcqlQuery:
        """The session's DCQL query, validated (§6) once per distinct query: sessions made from one preset carry the
        same JSON, and a :class:`DcqlQuery` is immutable. Keyed by the stored JSON text (key order included, so the
        cached ``raw`` is exactly the session's); at most :data:`_QUERY_CACHE_SIZE` kept."""
        text = json.dumps(session["dcql_query"], separators=(",", ":"), ensure_ascii=False)
        query = self._queries.get(text)
        if query is None:
            query = DcqlQuery.parse(session["dcql_query"])
            if len(self._queries) >= _QUERY_CACHE_SIZE:
                self._queries.clear()
            self._queries[text] = query
        return query

    def handle_response(self, request_id: str, form: Mapping[str, str]) -> dict[str, str]:
        """The Response URI (§8.2, §8.3.1). Raises ``InvalidAuthorizationResponse`` (or another ``SsiError``) with the
        reason of a refusal.

        A post that is not this request's response (unknown or finished session, malformed, not decryptable with
        this request's key, wrong ``state``) leaves the session open. One that is gets verified, and its decision —
        verified, or refused for good with the reason — is written only if it takes the single-use nonce
        (:meth:`_decide`): a replay, or the loser of concurrent responses, finds no nonce (``response_replayed``) and
        changes nothing; a response after the decision finds the session finished (``session_finished``).
        """
        session = self.store.get("vp_session", request_id) if request_id else None
        if session is None:
            raise InvalidAuthorizationResponse(
                "no such presentation request (unknown or expired)", reason="session_unknown"
            )
        if session["status"] in FINAL:
            raise InvalidAuthorizationResponse("this presentation request is finished", reason="session_finished")
        key = ResponseEncryptionKey(session["encryption_key"]) if session["encryption_key"] else None
        response = parse_authorization_response(
            form, response_mode=session["response_mode"], key=key, expected_state=request_id
        )
        if response.error is not None:
            description = response.error_description or response.error
            return self._decide(
                session,
                WALLET_ERROR,
                {"error": response.error, "error_description": description, "reason": f"wallet_{response.error}"},
                reason=f"wallet_{response.error}",
            )
        assert response.vp_token is not None
        query = self._query_of(session)
        try:
            verified = verify_vp_token(
                response.vp_token, query, self.credentials, client_id=session["client_id"], nonce=session["nonce"]
            )
        except SsiError as exc:
            session_result = {"error": exc.code, "error_description": exc.description, "reason": exc.reason}
            self._decide(session, REFUSED, session_result, reason=exc.reason)
            raise InvalidAuthorizationResponse(exc.description, reason=exc.reason) from None
        return self._decide(session, VERIFIED, {**verified.to_json(), "purpose": session.get("purpose")})
