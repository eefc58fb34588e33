"""HTTP routes of the issuer (FastAPI). Routes are thin: read the request within limits, call the protocol objects of
:class:`issuer.service.Issuer`, and map errors to the status and headers each specification prescribes:

- Token Endpoint (RFC 6749 §5.2, OpenID4VCI §6.3, RFC 9449 §5/§8): 400 with ``error`` (401 for ``invalid_client``);
  ``use_dpop_nonce`` carries the new nonce in ``DPoP-Nonce``;
- Credential Endpoint (OpenID4VCI §8.3.1): authorization errors are 401 with ``WWW-Authenticate`` (RFC 6750 §3,
  RFC 9449 §7.1), request errors 400 with the OpenID4VCI codes;
- every response of the token, nonce and credential endpoints carries a fresh ``DPoP-Nonce`` and
  ``Cache-Control: no-store``;
- Deferred Credential Endpoint (§9) and Notification Endpoint (§11, 204 on success) answer like the credential
  endpoint; the token endpoint is rate limited per client address (429 ``slow_down``, :mod:`infra.ratelimit`);
- Status List Tokens (draft-ietf-oauth-status-list §8.1/§8.2) at ``/issuers/{a}/status-lists/{n}``:
  ``application/statuslist+jwt``, CORS open, gzip when accepted;
- the admin API (``/issuers/{a}/admin/…``, ``Authorization: Bearer <API key>``) calls :class:`issuer.admin.AdminDesk`,
  as the admin web pages do.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from infra.heap import startup_heap_frozen
from infra.http import (
    STATUS_BY_CODE,
    MetricsMiddleware,
    OAuthHTTPError,
    PlainRoute,
    RequestLimitsMiddleware,
    SecurityHeadersMiddleware,
    install_error_handlers,
    ops_router,
    read_form,
    read_json,
)
from infra.ratelimit import rate_limited_response
from infra.server import LoopbackServer
from issuer import documents
from issuer.admin import actor_for_api_key
from issuer.context import Tenant
from issuer.credential_type import CredentialTypeError
from issuer.pid_routes import mount_pid_provider
from issuer.service import Issuer, build_issuer
from issuer.settings import IssuerSettings
from issuer.web import mount_admin_ui
from ssi.errors import SsiError
from ssi.oid4vci import DeferredResponse, error_description, nonce_response
from ssi.status_list import STATUS_LIST_JWT_MEDIA_TYPE

__all__ = ["create_app", "loopback_issuer"]

log = logging.getLogger("govssi.issuer.http")

_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,39}$"
Slug = Annotated[str, Path(pattern=_SLUG_PATTERN, description="The authority (tenant).")]
TypeId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$", description="A credential type id.")]
OfferId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="An offer id.")]
CredentialId = Annotated[str, Path(pattern=r"^c[A-Za-z0-9_-]{1,31}$", description="A credential id.")]
KeyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,32}$", description="An API key id.")]
StatusAction = Annotated[str, Path(pattern=r"^(revoke|suspend|unsuspend)$", description="The status change.")]
ListNumber = Annotated[int, Path(ge=1, le=10**9, description="The status list's number.")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
OptionalId = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

_FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type", "pre-authorized_code"],
                    "properties": {
                        "grant_type": {"type": "string"},
                        "pre-authorized_code": {"type": "string", "maxLength": 512},
                        "tx_code": {"type": "string", "maxLength": 64},
                        "authorization_details": {"type": "string", "maxLength": 8192},
                        "client_id": {"type": "string", "maxLength": 256},
                    },
                }
            }
        },
    }
}
_JSON_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}
_NO_STORE = {"Cache-Control": "no-store"}


def _ascii(exc: SsiError) -> str:
    return error_description(exc.description)


_SLUG = re.compile(_SLUG_PATTERN[1:-1])


def _path_slug(request: Request) -> str:
    """The ``slug`` path parameter of a plain route, refused as FastAPI refuses a :data:`Slug` that does not match
    its pattern (a validation error: ``400 invalid_request`` naming ``path.slug``)."""
    slug: str = request.path_params["slug"]
    if _SLUG.fullmatch(slug) is None:  # fullmatch: "$" in Python's re would also accept a trailing newline
        raise RequestValidationError(
            [
                {
                    "type": "string_pattern_mismatch",
                    "loc": ("path", "slug"),
                    "msg": f"String should match pattern '{_SLUG_PATTERN}'",
                    "input": slug,
                    "ctx": {"pattern": _SLUG_PATTERN},
                }
            ]
        )
    return slug


def create_app(settings: IssuerSettings, *, issuer: Issuer | None = None, **dependencies: Any) -> FastAPI:
    """The issuer's ASGI app. ``issuer`` (from :func:`issuer.service.build_issuer`) or the keyword arguments of
    ``build_issuer`` (``engine``, ``store``, ``keyring``, ``clock``, ``chain``, ``rng``) inject what tests swap."""
    service = issuer or build_issuer(settings, **dependencies)
    ctx = service.context
    registry = CollectorRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.purge)
        await run_in_threadpool(service.check_chain)
        service.start_housekeeping()
        service.start_audit_sequencer()
        service.start_publisher()
        try:
            with startup_heap_frozen():  # a full collection no longer walks start-up's ~145,000 objects (~60 ms)
                yield
        finally:
            service.stop()

    app = FastAPI(
        title="govssi credential issuer",
        version="1.0",
        description="OpenID for Verifiable Credential Issuance 1.0 (HAIP 1.0): pre-authorized code flow with DPoP, "
        "dc+sd-jwt credentials. One credential issuer per authority at /issuers/{authority}.",
        lifespan=lifespan,
    )
    app.state.issuer = service
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, registry=registry, service="issuer")
    app.include_router(ops_router(registry, {"database": lambda: bool(ctx.storage.authorities() is not None)}))
    # The PID provider role (issuer/pid_routes.py): its literal paths go first, so they win for its authority only.
    mount_pid_provider(app, service)

    def fresh_nonce() -> dict[str, str]:
        return {"DPoP-Nonce": ctx.dpop_nonces.issue(), **_NO_STORE}

    # -- the hot path first: every credential is a token, a nonce and a credential request (Starlette tries the
    # routes in order; these no longer wait behind a dozen others' path matches). They are served as plain Starlette
    # routes (infra.http.PlainRoute): FastAPI's parameter and dependency machinery cost more CPU than the token and
    # nonce handlers' own Python (bench/README.md, issuer, sixth pass). Same middlewares and exception handlers as
    # every route; the FastAPI declarations below them describe them in the OpenAPI document and are never matched.
    # The PID provider's literal routes for its authority (mounted above) still come first.

    async def token_endpoint(request: Request) -> JSONResponse:
        """Token Endpoint (OpenID4VCI §6): Pre-Authorized Code grant, DPoP-bound access tokens."""
        slug = _path_slug(request)
        tenant = ctx.tenant(slug)
        if service.token_limiter is not None:
            client = request.client.host if request.client is not None else "unknown"
            decision = await run_in_threadpool(service.token_limiter.hit, f"{slug}:{client}")
            if not decision.allowed:
                log.warning("token endpoint rate limit", extra={"fields": {"authority": slug}})
                return rate_limited_response(decision, "too many token requests from this address; slow down")
        try:
            form = await read_form(request, max_bytes=16 * 1024)
            response = await run_in_threadpool(
                service.tokens.exchange,
                tenant,
                list(form.items()),
                dpop_headers=request.headers.getlist("dpop"),
                url=tenant.token_endpoint,
            )
        except OAuthHTTPError as exc:
            raise OAuthHTTPError(exc.error, exc.description, status=exc.status, headers=fresh_nonce()) from None
        except SsiError as exc:
            status = 401 if exc.code == "invalid_client" else 400
            raise OAuthHTTPError(exc.code, _ascii(exc), status=status, headers=fresh_nonce()) from None
        return JSONResponse(response.to_json(), headers=fresh_nonce())

    async def nonce_endpoint(request: Request) -> JSONResponse:
        """Nonce Endpoint (OpenID4VCI §7): a fresh ``c_nonce``, uncacheable, with a DPoP nonce (§7.2). Computed
        (``CNonces``: nothing stored), so answered on the event loop without a thread hand-off."""
        tenant = ctx.tenant(_path_slug(request))
        return JSONResponse(nonce_response(ctx.c_nonces.issue(tenant.authority.id)), headers=fresh_nonce())

    async def credential_endpoint(request: Request) -> JSONResponse:
        """Credential Endpoint (OpenID4VCI §8): one credential per key proof (batch issuance)."""
        tenant = ctx.tenant(_path_slug(request))
        authorization = request.headers.get("authorization")
        try:
            body = await read_json(request, max_bytes=settings.max_body_bytes)
            response = await run_in_threadpool(
                service.credentials.issue,
                tenant,
                body,
                authorization,
                dpop_headers=request.headers.getlist("dpop"),
                url=tenant.credential_endpoint,
            )
        except OAuthHTTPError as exc:
            raise OAuthHTTPError(exc.error, exc.description, status=exc.status, headers=fresh_nonce()) from None
        except SsiError as exc:
            raise _resource_error(exc, authorization, fresh_nonce(), settings.proof_algorithms) from None
        return _credential_answer(response, fresh_nonce())

    app.router.routes.extend(
        [
            PlainRoute("/issuers/{slug}/token", token_endpoint, methods=["POST"]),
            PlainRoute("/issuers/{slug}/nonce", nonce_endpoint, methods=["POST"]),
            PlainRoute("/issuers/{slug}/credential", credential_endpoint, methods=["POST"]),
        ]
    )

    @app.post("/issuers/{slug}/token", tags=["oid4vci"], openapi_extra=_FORM_BODY)
    async def token(slug: Slug, request: Request) -> JSONResponse:
        """Token Endpoint (OpenID4VCI §6): Pre-Authorized Code grant, DPoP-bound access tokens."""
        return await token_endpoint(request)  # pragma: no cover - the plain route above answers

    @app.post("/issuers/{slug}/nonce", tags=["oid4vci"])
    async def nonce(slug: Slug, request: Request) -> JSONResponse:
        """Nonce Endpoint (OpenID4VCI §7): a fresh ``c_nonce``, uncacheable, with a DPoP nonce (§7.2). Computed
        (``CNonces``: nothing stored), so answered on the event loop without a thread hand-off."""
        return await nonce_endpoint(request)  # pragma: no cover - the plain route above answers

    @app.post("/issuers/{slug}/credential", tags=["oid4vci"], openapi_extra=_JSON_BODY)
    async def credential(slug: Slug, request: Request) -> JSONResponse:
        """Credential Endpoint (OpenID4VCI §8): one credential per key proof (batch issuance)."""
        return await credential_endpoint(request)  # pragma: no cover - the plain route above answers

    # -- metadata (public) ---------------------------------------------------------------------------------------

    @app.get("/.well-known/openid-credential-issuer/issuers/{slug}", tags=["metadata"])
    def credential_issuer_metadata(slug: Slug) -> JSONResponse:
        """Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), with govssi's ``did`` member."""
        return JSONResponse(documents.credential_issuer_metadata(ctx, ctx.tenant(slug)))

    @app.get("/.well-known/oauth-authorization-server/issuers/{slug}", tags=["metadata"])
    def authorization_server_metadata(slug: Slug) -> JSONResponse:
        """OAuth 2.0 Authorization Server Metadata (RFC 8414)."""
        return JSONResponse(documents.authorization_server_metadata(ctx, ctx.tenant(slug)))

    @app.get("/.well-known/jwt-vc-issuer/issuers/{slug}", tags=["metadata"])
    def jwt_vc_issuer_metadata(slug: Slug) -> JSONResponse:
        """JWT VC Issuer Metadata (SD-JWT VC §5): the signing key with its ``x5c`` chain."""
        return JSONResponse(documents.jwt_vc_issuer_metadata(ctx, ctx.tenant(slug)))

    @app.get("/issuers/{slug}/vct/{type_id}", tags=["metadata"])
    def type_metadata(slug: Slug, type_id: TypeId) -> JSONResponse:
        """SD-JWT VC Type Metadata (SD-JWT VC §6) at the type's ``vct`` URL."""
        return JSONResponse(documents.type_metadata(ctx.tenant(slug), type_id))

    @app.get("/issuers", tags=["metadata"])
    def list_issuers() -> JSONResponse:
        """The credential issuers (one per authority) served here."""
        return JSONResponse(
            {
                "credential_issuers": [
                    {"authority": a.slug, "credential_issuer": ctx.credential_issuer(a.slug), "did": a.did}
                    for a in ctx.storage.authorities()
                ]
            }
        )

    @app.get("/status", tags=["operations"])
    def chain_status() -> JSONResponse:
        """Chain anchoring and accreditation per authority and credential type (as last checked)."""
        return JSONResponse(service.chain_status, headers=_NO_STORE)

    # -- the wallet's endpoints ----------------------------------------------------------------------------------

    @app.get("/issuers/{slug}/credential-offer/{offer_id}", tags=["oid4vci"])
    def credential_offer(slug: Slug, offer_id: OfferId) -> JSONResponse:
        """The Credential Offer behind a ``credential_offer_uri`` (OpenID4VCI §4.1.3), ``application/json``."""
        return JSONResponse(service.offers.document(ctx.tenant(slug), offer_id), headers=_NO_STORE)

    @app.post("/issuers/{slug}/deferred-credential", tags=["oid4vci"], openapi_extra=_JSON_BODY)
    async def deferred_credential(slug: Slug, request: Request) -> JSONResponse:
        """Deferred Credential Endpoint (OpenID4VCI §9): 202 while a clerk has not decided, then the credentials."""
        tenant = ctx.tenant(slug)
        authorization = request.headers.get("authorization")
        try:
            body = await read_json(request, max_bytes=16 * 1024)
            response = await run_in_threadpool(
                service.deferred.poll,
                tenant,
                body,
                authorization,
                dpop_headers=request.headers.getlist("dpop"),
                url=f"{tenant.credential_issuer}/deferred-credential",
            )
        except OAuthHTTPError as exc:
            raise OAuthHTTPError(exc.error, exc.description, status=exc.status, headers=fresh_nonce()) from None
        except SsiError as exc:
            raise _resource_error(exc, authorization, fresh_nonce(), settings.proof_algorithms) from None
        return _credential_answer(response, fresh_nonce())

    @app.post("/issuers/{slug}/notification", tags=["oid4vci"], openapi_extra=_JSON_BODY, status_code=204)
    async def notification(slug: Slug, request: Request) -> Response:
        """Notification Endpoint (OpenID4VCI §11): ``credential_accepted`` / ``credential_failure`` /
        ``credential_deleted`` for a ``notification_id``; 204 No Content."""
        tenant = ctx.tenant(slug)
        authorization = request.headers.get("authorization")
        try:
            body = await read_json(request, max_bytes=16 * 1024)
            await run_in_threadpool(
                service.notifications.notify,
                tenant,
                body,
                authorization,
                dpop_headers=request.headers.getlist("dpop"),
                url=f"{tenant.credential_issuer}/notification",
            )
        except OAuthHTTPError as exc:
            raise OAuthHTTPError(exc.error, exc.description, status=exc.status, headers=fresh_nonce()) from None
        except SsiError as exc:
            raise _resource_error(exc, authorization, fresh_nonce(), settings.proof_algorithms) from None
        return Response(status_code=204, headers=fresh_nonce())

    @app.get("/issuers/{slug}/status-lists/{number}", tags=["status"])
    def status_list(slug: Slug, number: ListNumber, request: Request) -> Response:
        """The current Status List Token (draft-ietf-oauth-status-list §8.1/§8.2), ``application/statuslist+jwt``."""
        tenant = ctx.tenant(slug)
        body = service.publisher.current_token(tenant, number).encode("ascii")
        headers = {
            "Access-Control-Allow-Origin": "*",  # §8.1: "SHOULD support the use of CORS"
            "Cache-Control": "no-cache",  # relying parties follow ttl/exp (§8.2); intermediaries revalidate
            "Vary": "Accept-Encoding",
        }
        if "gzip" in request.headers.get("accept-encoding", "").lower():  # §8.2: "SHOULD use Content-Encoding"
            body = gzip.compress(body, 6)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=STATUS_LIST_JWT_MEDIA_TYPE, headers=headers)

    # -- the authority's admin API -------------------------------------------------------------------------------

    def admin(slug: str, request: Request) -> tuple[Tenant, str]:
        """The tenant and the audit actor (``apikey:<key id>``) of an admin request."""
        tenant = ctx.tenant(slug)
        header = request.headers.get("authorization") or ""
        scheme, _, key = header.partition(" ")
        found = ctx.storage.authenticate_key(key.strip()) if scheme.lower() == "bearer" else None
        if found is None or found[0].id != tenant.authority.id:
            raise OAuthHTTPError(
                "invalid_token",
                "a valid API key of this authority is required (Authorization: Bearer <key>)",
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="govssi-issuer-admin"'},
            )
        return tenant, actor_for_api_key(found[1])

    desk = service.admin

    @app.post("/issuers/{slug}/admin/offers", tags=["admin"], openapi_extra=_JSON_BODY)
    async def create_offer(slug: Slug, request: Request) -> JSONResponse:
        """Create a credential offer: ``{"credential_configuration_id", "claims", "tx_code": true,
        "tx_code_length"?, "subject"?: {"kind", "value"}}`` → links (by reference and by value), transaction code,
        QR code (SVG). ``subject`` names the subject for types whose identifier is not a claim (kept as a keyed
        pseudonym only)."""
        tenant, actor = admin(slug, request)
        body = await read_json(request, max_bytes=64 * 1024)
        type_id = body.get("credential_configuration_id")
        if not isinstance(type_id, str) or len(type_id) > 64:
            raise OAuthHTTPError("invalid_request", "credential_configuration_id (string) is required")
        tx_code = body.get("tx_code", True)
        length = body.get("tx_code_length")
        if not isinstance(tx_code, bool) or (
            length is not None and (isinstance(length, bool) or not isinstance(length, int))
        ):
            raise OAuthHTTPError("invalid_request", "tx_code is a boolean and tx_code_length an integer")
        subject = _subject(body.get("subject"), optional=True)
        created = await run_in_threadpool(
            desk.create_offer,
            tenant,
            type_id,
            body.get("claims"),
            actor=actor,
            tx_code=tx_code,
            tx_code_length=length,
            subject=subject,
        )
        log.info("offer created", extra={"fields": {"authority": slug, "offer": created.offer_id, "type": type_id}})
        return JSONResponse(created.to_json(), status_code=201, headers=_NO_STORE)

    @app.get("/issuers/{slug}/admin/offers", tags=["admin"])
    def list_offers(
        slug: Slug,
        request: Request,
        *,
        state: Annotated[str | None, Query(pattern=r"^[a-z]{1,16}$")] = None,
        type: OptionalId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> JSONResponse:
        """The authority's offers, newest first (state and times, never claim values)."""
        tenant, _ = admin(slug, request)
        offers = desk.offers(tenant, state=state, type_id=type, limit=limit, offset=offset)
        return JSONResponse({"offers": offers}, headers=_NO_STORE)

    @app.get("/issuers/{slug}/admin/offers/{offer_id}", tags=["admin"])
    def offer_status(slug: Slug, offer_id: OfferId, request: Request) -> JSONResponse:
        """An offer's state (never its claim values)."""
        tenant, _ = admin(slug, request)
        return JSONResponse(desk.offer(tenant, offer_id), headers=_NO_STORE)

    @app.post("/issuers/{slug}/admin/offers/{offer_id}/approve", tags=["admin"])
    def approve(slug: Slug, offer_id: OfferId, request: Request) -> JSONResponse:
        """Approve the offer's deferred credential request: the wallet's next poll gets the credentials."""
        tenant, actor = admin(slug, request)
        return JSONResponse(desk.approve(tenant, offer_id, actor=actor).to_json(), headers=_NO_STORE)

    @app.post("/issuers/{slug}/admin/offers/{offer_id}/reject", tags=["admin"])
    def reject(slug: Slug, offer_id: OfferId, request: Request) -> JSONResponse:
        """Reject the offer's deferred credential request (its claim values are deleted)."""
        tenant, actor = admin(slug, request)
        return JSONResponse(desk.reject(tenant, offer_id, actor=actor).to_json(), headers=_NO_STORE)

    @app.get("/issuers/{slug}/admin/deferred", tags=["admin"])
    def deferred_requests(
        slug: Slug, request: Request, state: Annotated[str | None, Query(pattern=r"^[a-z]{1,16}$")] = "pending"
    ) -> JSONResponse:
        """Deferred credential requests (default: those waiting for a clerk)."""
        tenant, _ = admin(slug, request)
        return JSONResponse(
            {"requests": [r.to_json() for r in desk.deferred_requests(tenant, state=state)]}, headers=_NO_STORE
        )

    @app.get("/issuers/{slug}/admin/credentials", tags=["admin"])
    def list_credentials(
        slug: Slug,
        request: Request,
        *,
        type: OptionalId = None,
        status: Annotated[str | None, Query(pattern=r"^(valid|revoked|suspended)$")] = None,
        offer: OptionalId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> JSONResponse:
        """Issued credentials, newest first: type, times, status, holder-key thumbprint, status list entry."""
        tenant, _ = admin(slug, request)
        records = desk.credentials(tenant, type_id=type, status=status, offer_id=offer, limit=limit, offset=offset)
        return JSONResponse({"credentials": [r.to_json() for r in records]}, headers=_NO_STORE)

    @app.get("/issuers/{slug}/admin/credentials/{credential_id}", tags=["admin"])
    def get_credential(slug: Slug, credential_id: CredentialId, request: Request) -> JSONResponse:
        """One issued credential (metadata only)."""
        tenant, _ = admin(slug, request)
        return JSONResponse(desk.credential(tenant, credential_id).to_json(), headers=_NO_STORE)

    @app.post("/issuers/{slug}/admin/credentials/{credential_id}/{action}", tags=["admin"])
    def change_credential_status(
        slug: Slug, credential_id: CredentialId, action: StatusAction, request: Request
    ) -> JSONResponse:
        """``revoke`` (final), ``suspend`` or ``unsuspend`` a credential; published within the publication window."""
        tenant, actor = admin(slug, request)
        change = desk.change_status(tenant, credential_id, action, actor=actor)
        return JSONResponse(
            {**change.to_json(), "credential": desk.credential(tenant, credential_id).to_json()}, headers=_NO_STORE
        )

    @app.post("/issuers/{slug}/admin/subjects/credentials", tags=["admin"], openapi_extra=_JSON_BODY)
    async def subject_credentials(slug: Slug, request: Request) -> JSONResponse:
        """Every credential issued for a subject ``{"kind": "license_plate", "value": "K-EM 1964"}`` (found by its
        keyed pseudonym; the value is not stored)."""
        tenant, _ = admin(slug, request)
        kind, value = _subject(await read_json(request, max_bytes=4096), optional=False)  # type: ignore[misc]
        records = await run_in_threadpool(desk.credentials_of_subject, tenant, kind, value)
        return JSONResponse({"credentials": [r.to_json() for r in records]}, headers=_NO_STORE)

    @app.post("/issuers/{slug}/admin/subjects/{action}", tags=["admin"], openapi_extra=_JSON_BODY)
    async def change_subject_status(slug: Slug, action: StatusAction, request: Request) -> JSONResponse:
        """``revoke`` / ``suspend`` / ``unsuspend`` every credential issued for a subject ``{"kind", "value"}``."""
        tenant, actor = admin(slug, request)
        kind, value = _subject(await read_json(request, max_bytes=4096), optional=False)  # type: ignore[misc]
        change = await run_in_threadpool(desk.change_subject_status, tenant, kind, value, action, actor=actor)
        return JSONResponse(change.to_json(), headers=_NO_STORE)

    @app.get("/issuers/{slug}/admin/credential-types", tags=["admin"])
    def list_credential_types(slug: Slug, request: Request) -> JSONResponse:
        """The authority's credential type documents."""
        tenant, _ = admin(slug, request)
        types = desk.credential_types(tenant)
        return JSONResponse({"credential_types": {k: dict(v.document) for k, v in types.items()}}, headers=_NO_STORE)

    @app.put("/issuers/{slug}/admin/credential-types/{type_id}", tags=["admin"], openapi_extra=_JSON_BODY)
    async def put_credential_type(slug: Slug, type_id: TypeId, request: Request) -> JSONResponse:
        """Add or replace a credential type of this authority (the JSON type document, issuer/credential_type.py)."""
        tenant, actor = admin(slug, request)
        body = await read_json(request, max_bytes=64 * 1024)
        try:
            ctype = await run_in_threadpool(desk.put_type, tenant, body, actor=actor, type_id=type_id)
        except CredentialTypeError as exc:
            raise OAuthHTTPError("invalid_request", _ascii(exc)) from None
        except SsiError as exc:
            raise OAuthHTTPError("invalid_request", _ascii(exc)) from None
        vct = ctype.vct(tenant.credential_issuer)
        return JSONResponse({"credential_configuration_id": ctype.id, "vct": vct}, status_code=200)

    @app.get("/issuers/{slug}/admin/api-keys", tags=["admin"])
    def list_api_keys(slug: Slug, request: Request) -> JSONResponse:
        """The authority's API keys (ids, labels, times; never secrets)."""
        tenant, _ = admin(slug, request)
        return JSONResponse({"api_keys": [k.to_json() for k in desk.api_keys(tenant)]}, headers=_NO_STORE)

    @app.post("/issuers/{slug}/admin/api-keys", tags=["admin"], openapi_extra=_JSON_BODY)
    async def create_api_key(slug: Slug, request: Request) -> JSONResponse:
        """A new API key ``{"label"}`` → ``{"key_id", "api_key"}`` (shown this once, stored hashed)."""
        tenant, actor = admin(slug, request)
        body = await read_json(request, max_bytes=4096)
        label = body.get("label")
        if not isinstance(label, str) or not 0 < len(label) <= 100:
            raise OAuthHTTPError("invalid_request", "label (1-100 characters) is required")
        key_id, key = await run_in_threadpool(desk.create_api_key, tenant, label, actor=actor)
        return JSONResponse({"key_id": key_id, "api_key": key, "label": label}, status_code=201, headers=_NO_STORE)

    @app.delete("/issuers/{slug}/admin/api-keys/{key_id}", tags=["admin"], status_code=204)
    def revoke_api_key(slug: Slug, key_id: KeyId, request: Request) -> Response:
        """Revoke an API key of this authority."""
        tenant, actor = admin(slug, request)
        desk.revoke_api_key(tenant, key_id, actor=actor)
        return Response(status_code=204)

    @app.get("/issuers/{slug}/admin/status-lists", tags=["admin"])
    def list_status_lists(slug: Slug, request: Request) -> JSONResponse:
        """The authority's status lists: version, SHA-256, publication and anchoring state."""
        tenant, _ = admin(slug, request)
        return JSONResponse({"status_lists": desk.status_lists(tenant)}, headers=_NO_STORE)

    @app.get("/issuers/{slug}/admin/audit", tags=["admin"])
    def audit_entries(slug: Slug, request: Request, after: Offset = 0, limit: Limit = 100) -> JSONResponse:
        """This authority's audit entries after ``seq`` ``after``, oldest first."""
        tenant, _ = admin(slug, request)
        return JSONResponse({"entries": desk.audit_entries(tenant, after_seq=after, limit=limit)}, headers=_NO_STORE)

    @app.get("/issuers/{slug}/admin/audit/verify", tags=["admin"])
    def audit_verify(slug: Slug, request: Request) -> JSONResponse:
        """Verify the whole hash chain of the audit log (``infra.audit``)."""
        admin(slug, request)
        return JSONResponse(desk.verify_audit(), headers=_NO_STORE)

    mount_admin_ui(app, service)
    return app


def _credential_answer(response: Any, headers: dict[str, str]) -> JSONResponse:
    """§8.3 / §9.2: 200 with the credentials, or 202 with ``transaction_id`` and ``interval``."""
    status = 202 if isinstance(response, DeferredResponse) else 200
    return JSONResponse(response.to_json(), status_code=status, headers=headers)


def _subject(value: Any, *, optional: bool) -> tuple[str, str] | None:
    """``{"kind": "license_plate", "value": "K-EM 1964"}`` → ``(kind, value)``."""
    if value is None and optional:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("kind"), str)
        or not isinstance(value.get("value"), str)
        or not 0 < len(value["kind"]) <= 40
        or not 0 < len(value["value"]) <= 200
    ):
        raise OAuthHTTPError("invalid_request", 'subject is {"kind": <name>, "value": <identifier>}')
    return value["kind"], value["value"]


def _resource_error(
    exc: SsiError, authorization: str | None, headers: dict[str, str], algorithms: tuple[str, ...]
) -> OAuthHTTPError:
    """RFC 6750 §3 / RFC 9449 §7.1: authorization failures at the credential endpoint are 401 with a
    ``WWW-Authenticate`` challenge naming the error; request errors are 400 (OpenID4VCI §8.3.1.2)."""
    if exc.code in ("invalid_token", "invalid_dpop_proof", "use_dpop_nonce"):
        scheme = (
            "Bearer" if (authorization or "").lower().startswith("bearer ") and exc.code == "invalid_token" else "DPoP"
        )
        challenge = f'{scheme} error="{exc.code}", error_description="{_ascii(exc)}"'
        if scheme == "DPoP":
            challenge += f', algs="{" ".join(algorithms)}"'
        return OAuthHTTPError(exc.code, _ascii(exc), status=401, headers={**headers, "WWW-Authenticate": challenge})
    return OAuthHTTPError(exc.code, _ascii(exc), status=STATUS_BY_CODE.get(exc.code, 400), headers=headers)


def free_loopback_port() -> int:
    """A port free on 127.0.0.1 right now (bind port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def loopback_issuer(
    settings: IssuerSettings | None = None, **dependencies: Any
) -> Iterator[tuple[LoopbackServer, Issuer]]:
    """Run an issuer over real HTTP on 127.0.0.1 for tests and the demo: ``public_url`` is set to the loopback URL
    (with ``dev_allow_http``). Yields the running server and the :class:`Issuer` (its endpoints, storage, bootstrap)."""
    base = settings or IssuerSettings()
    for attempt in range(3):
        port = free_loopback_port()
        configured = base.model_copy(update={"public_url": f"http://127.0.0.1:{port}", "dev_allow_http": True})
        service = build_issuer(configured, **dependencies)
        server = LoopbackServer(create_app(configured, issuer=service), port=port)
        try:
            server.start()
        except RuntimeError:
            if attempt == 2:
                raise
            continue
        try:
            yield server, service
        finally:
            server.stop()
        return
