"""HTTP routes of the PID provider role (:mod:`issuer.pid_provider`), mounted by :func:`issuer.app.create_app` before
the generic issuer routes, on the literal paths of the PID authority (so they take precedence for it only):

- ``/.well-known/openid-credential-issuer/issuers/{pid}`` and ``/.well-known/oauth-authorization-server/issuers/{pid}``
  (OpenID4VCI 1.0 §12.2, RFC 8414 with PAR, PKCE, RFC 9207 and attestation-based client authentication);
- ``POST /issuers/{pid}/par`` (RFC 9126 §2: 201 with ``request_uri`` and ``expires_in``; errors as at the token
  endpoint, 401 for ``invalid_client``; an optional DPoP proof binds the code, RFC 9449 §10.1);
- ``GET /issuers/{pid}/authorize`` (the eID activation) and ``POST /issuers/{pid}/eid-response`` (the authorization
  response the user agent follows: ``{"redirect_to"}``);
- ``POST /issuers/{pid}/token`` (authorization code and refresh token grants; RFC 9449 §8 ``use_dpop_nonce`` with a
  ``DPoP-Nonce``);
- ``POST /issuers/{pid}/credential`` (the PID; RFC 6750 §3 / RFC 9449 §7.1 ``WWW-Authenticate`` on token errors);
- ``POST /issuers/{pid}/admin/pid/lost-cards`` (API key): ``{"document_number"}`` or
  ``{"restricted_identification_key"}`` → every PID of that card revoked.

The nonce endpoint, JWT VC issuer metadata, status lists and the rest of the admin API are the generic routes.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from infra.http import STATUS_BY_CODE, OAuthHTTPError, read_form, read_json
from issuer.admin import actor_for_api_key
from issuer.context import Tenant
from issuer.pid_provider import PidConfig, PidProvider
from ssi.client_attestation import ATTESTATION_HEADER, ATTESTATION_POP_HEADER
from ssi.errors import SsiError
from ssi.oid4vci import error_description

__all__ = ["mount_pid_provider"]

log = logging.getLogger("govssi.issuer.pid.http")
_NO_STORE = {"Cache-Control": "no-store"}


def _ascii(exc: SsiError) -> str:
    return error_description(exc.description)


def mount_pid_provider(app: FastAPI, service: Any) -> PidProvider | None:
    """Add the PID provider's routes when the issuer has one (``service.pid_provider``, or built from the settings'
    ``pid_authority``)."""
    provider: PidProvider | None = getattr(service, "pid_provider", None)
    if provider is None:
        config = PidConfig.from_settings(service.context.settings)
        if config is None:
            return None
        provider = PidProvider(service.context, config, service.records)
        service.pid_provider = provider
    provider.ensure_authority()
    ctx = service.context
    slug = provider.slug
    base = f"/issuers/{slug}"

    def tenant() -> Tenant:
        return ctx.tenant(slug)

    def fresh_nonce() -> dict[str, str]:
        return {"DPoP-Nonce": ctx.dpop_nonces.issue(), **_NO_STORE}

    def token_error(exc: SsiError) -> OAuthHTTPError:
        status = 401 if exc.code == "invalid_client" else 400
        return OAuthHTTPError(exc.code, _ascii(exc), status=status, headers=fresh_nonce())

    @app.get(f"/.well-known/openid-credential-issuer{base}", tags=["pid"])
    def pid_issuer_metadata() -> JSONResponse:
        """Credential Issuer Metadata of the PID provider (OpenID4VCI 1.0 §12.2)."""
        return JSONResponse(provider.credential_issuer_metadata(tenant()))

    @app.get(f"/.well-known/oauth-authorization-server{base}", tags=["pid"])
    def pid_as_metadata() -> JSONResponse:
        """Authorization Server Metadata (RFC 8414) with PAR, PKCE S256, ``iss`` and wallet attestations."""
        return JSONResponse(provider.authorization_server_metadata(tenant()))

    @app.post(f"{base}/par", tags=["pid"], status_code=201)
    async def par(request: Request) -> JSONResponse:
        """Pushed Authorization Request (RFC 9126 §2), authenticated with the wallet attestation."""
        current = tenant()
        try:
            form = await read_form(request, max_bytes=16 * 1024)
            client = await run_in_threadpool(
                provider.client_auth.verify,
                request.headers.getlist(ATTESTATION_HEADER),
                request.headers.getlist(ATTESTATION_POP_HEADER),
                audience=current.credential_issuer,
                client_id=form.get("client_id"),
            )
            dpop_headers = request.headers.getlist("dpop")
            proof_jkt = None
            if dpop_headers:  # RFC 9449 §10.1: a DPoP proof at PAR binds the code like dpop_jkt
                proof = await run_in_threadpool(
                    ctx.dpop.verify, dpop_headers, method="POST", url=f"{current.credential_issuer}/par"
                )
                proof_jkt = proof.jkt
            request_uri, expires_in = await run_in_threadpool(
                provider.par.push, current, form, client, dpop_proof_jkt=proof_jkt
            )
        except OAuthHTTPError as exc:
            raise OAuthHTTPError(exc.error, exc.description, status=exc.status, headers=fresh_nonce()) from None
        except SsiError as exc:
            raise token_error(exc) from None
        return JSONResponse({"request_uri": request_uri, "expires_in": expires_in}, status_code=201, headers=_NO_STORE)

    @app.get(f"{base}/authorize", tags=["pid"])
    def authorize(request: Request) -> JSONResponse:
        """Authorization endpoint (RFC 9126 §4: ``client_id`` and ``request_uri`` only): the eID activation."""
        params = request.query_params
        try:
            activation = provider.authorization.authorize(tenant(), params.get("client_id"), params.get("request_uri"))
        except SsiError as exc:
            raise OAuthHTTPError(exc.code, _ascii(exc), status=400, headers=_NO_STORE) from None
        return JSONResponse(activation.to_json(), headers=_NO_STORE)

    @app.post(f"{base}/eid-response", tags=["pid"])
    async def eid_response(request: Request) -> JSONResponse:
        """The card's response to the eID session → the authorization response the user agent follows."""
        body = await read_json(request, max_bytes=64 * 1024)
        try:
            result = await run_in_threadpool(
                provider.authorization.complete, tenant(), body.get("eid_session"), body.get("eid_response")
            )
        except SsiError as exc:
            raise OAuthHTTPError(exc.code, _ascii(exc), status=400, headers=_NO_STORE) from None
        if result.error is not None:
            log.warning("pid eID authentication failed", extra={"fields": {"reason": result.reason}})
        return JSONResponse(result.to_json(), headers=_NO_STORE)

    @app.post(f"{base}/token", tags=["pid"])
    async def token(request: Request) -> JSONResponse:
        """Token endpoint: authorization_code (PKCE) and refresh_token grants, DPoP-bound, wallet attestation."""
        current = tenant()
        try:
            form = await read_form(request, max_bytes=16 * 1024)
            answer = await run_in_threadpool(
                provider.token,
                current,
                form,
                dpop_headers=request.headers.getlist("dpop"),
                attestations=request.headers.getlist(ATTESTATION_HEADER),
                pops=request.headers.getlist(ATTESTATION_POP_HEADER),
            )
        except OAuthHTTPError as exc:
            raise OAuthHTTPError(exc.error, exc.description, status=exc.status, headers=fresh_nonce()) from None
        except SsiError as exc:
            raise token_error(exc) from None
        return JSONResponse(answer, headers=fresh_nonce())

    @app.post(f"{base}/credential", tags=["pid"])
    async def credential(request: Request) -> JSONResponse:
        """Credential endpoint for the PID (key proofs with key attestations)."""
        current = tenant()
        authorization = request.headers.get("authorization")
        try:
            body = await read_json(request, max_bytes=ctx.settings.max_body_bytes)
            response = await run_in_threadpool(
                provider.issue, current, body, authorization, dpop_headers=request.headers.getlist("dpop")
            )
        except OAuthHTTPError as exc:
            raise OAuthHTTPError(exc.error, exc.description, status=exc.status, headers=fresh_nonce()) from None
        except SsiError as exc:
            raise _resource_error(exc, fresh_nonce(), ctx.settings.proof_algorithms) from None
        return JSONResponse(response.to_json(), headers=fresh_nonce())

    @app.post(f"{base}/admin/pid/lost-cards", tags=["admin"])
    async def lost_card(request: Request) -> JSONResponse:
        """A card reported lost or blocked: ``{"document_number": "T22000129"}`` (through the card register) or
        ``{"restricted_identification_key": <JWK>}`` → every PID derived from it is revoked."""
        current = tenant()
        header = request.headers.get("authorization") or ""
        scheme, _, key = header.partition(" ")
        found = ctx.storage.authenticate_key(key.strip()) if scheme.lower() == "bearer" else None
        if found is None or found[0].id != current.authority.id:
            raise OAuthHTTPError(
                "invalid_token",
                "a valid API key of this authority is required (Authorization: Bearer <key>)",
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="govssi-issuer-admin"'},
            )
        body = await read_json(request, max_bytes=4096)
        try:
            card = provider.card_identifier(
                document_number=body.get("document_number"), ri_key=body.get("restricted_identification_key")
            )
            change = await run_in_threadpool(
                provider.report_lost_card, current, card, actor=actor_for_api_key(found[1])
            )
        except SsiError as exc:
            raise OAuthHTTPError(exc.code, _ascii(exc), status=STATUS_BY_CODE.get(exc.code, 400)) from None
        return JSONResponse({"lost_card": True, **change.to_json()}, headers=_NO_STORE)

    return provider


def _resource_error(exc: SsiError, headers: dict[str, str], algorithms: tuple[str, ...]) -> OAuthHTTPError:
    """RFC 6750 §3 / RFC 9449 §7.1: token and DPoP failures are 401 with a ``DPoP`` challenge; request errors 400."""
    if exc.code in ("invalid_token", "invalid_dpop_proof", "use_dpop_nonce"):
        challenge = f'DPoP error="{exc.code}", error_description="{_ascii(exc)}", algs="{" ".join(algorithms)}"'
        return OAuthHTTPError(exc.code, _ascii(exc), status=401, headers={**headers, "WWW-Authenticate": challenge})
    return OAuthHTTPError(exc.code, _ascii(exc), status=STATUS_BY_CODE.get(exc.code, 400), headers=headers)
