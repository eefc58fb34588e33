"""The authorities' admin web UI: server-rendered pages (Jinja2, no JavaScript) under ``/admin/{authority}/``.

Every action calls :class:`issuer.admin.AdminDesk` — the same functions as the admin JSON API — with the signed-in
account as the audit actor (``user:<name>``). Pages show metadata only, never claim values (except the form a clerk
is filling in).

Security (OWASP ASVS 4.0 V3/V4/V13 where it applies to a server-rendered UI):

- log in with a per-authority account (:mod:`issuer.web.accounts`, Argon2id); attempts are rate limited per client
  address and per account name (:mod:`infra.ratelimit`, shared store) *before* the password is checked, so a limited
  client learns nothing, not even from a right password;
- server-side sessions (:mod:`issuer.web.sessions`): new id at login, idle timeout, absolute lifetime, cookie
  ``HttpOnly``/``SameSite=Strict``/``Secure`` on TLS;
- every POST needs the session's CSRF token (synchronizer token) **and** an ``Origin`` header naming this service's
  public origin; pages send ``Referrer-Policy: same-origin`` because ``no-referrer`` makes browsers send
  ``Origin: null`` on form posts (Fetch §3.1 "serializing a request origin");
- role checks on the server: a ``clerk`` works with offers, deferred requests and credential status; only an
  ``admin`` manages credential types, API keys and staff accounts (403 otherwise);
- a stricter Content Security Policy than the service default (``default-src 'none'``, styles from this origin only,
  no script at all), ``Cache-Control: no-store``, framing denied.

Accessibility (BITV 2.0 / WCAG 2.1 AA basics): ``lang`` on every page and on the language links, landmarks (header,
nav, main, footer), a skip link, one ``h1`` per page, every field labelled with its hint and error linked by
``aria-describedby``, errors summarised at the top with ``role="alert"`` and focusable links to the fields, tables
with captions and header cells, visible focus, colours with at least 4.5:1 contrast, everything usable by keyboard.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from infra.http import OAuthHTTPError, read_json
from infra.ratelimit import FixedWindowLimiter
from issuer.admin import actor_for_user
from issuer.context import NotFound, Tenant
from issuer.credential_type import CredentialType
from issuer.offers import qr_svg
from issuer.service import Issuer
from issuer.web.accounts import ACCOUNT_NAME, AccountError, StaffAccount, StaffAccounts
from issuer.web.forms import claim_fields, display_name, parse_claims
from issuer.web.i18n import LANGUAGES, TEXT, pick_language
from issuer.web.sessions import AdminSession, AdminSessions, cookie_name
from ssi.errors import SsiError

__all__ = ["AdminUi", "AdminUiConfig", "create_staff_account", "disable_staff_account", "mount_admin_ui"]

log = logging.getLogger("govssi.issuer.web")

#: The UI's pages carry no script; styles and images from this origin (QR codes are ``data:`` SVG images).
UI_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": UI_CSP,
    "Referrer-Policy": "same-origin",
}
STATIC_FILES = {"admin.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}
MAX_FORM_BYTES = 64 * 1024
STATUS_ACTIONS = ("revoke", "suspend", "unsuspend")
OFFER_STATES = ("offered", "redeemed", "pending", "approved", "delivered", "rejected", "denied", "dead", "expired")
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,39}$"
BERLIN = ZoneInfo("Europe/Berlin")
ApiSlug = Annotated[str, Path(pattern=SLUG_PATTERN, description="The authority (tenant).")]
Username = Annotated[str, Path(pattern=ACCOUNT_NAME.pattern, description="A staff account name.")]


@dataclass(frozen=True)
class AdminUiConfig:
    """Session lifetimes and login limits. Defaults: 15 minutes idle (BSI IT-Grundschutz APP.3.1.A7 asks for session
    timeouts; OWASP suggests 15-30 minutes for such applications), 8 hours at most; 10 login attempts per client
    address and 5 per account name in 5 minutes."""

    idle_timeout: float = 15 * 60
    max_lifetime: float = 8 * 3600
    login_limit_address: int = 10
    login_limit_account: int = 5
    login_window: float = 300.0
    hasher: PasswordHasher | None = None


class _Refused(Exception):
    """A page that ends the request early (redirect, 403, 404, 429)."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def fmt_time(value: float | int | None) -> str:
    if value is None:
        return "—"
    return datetime.datetime.fromtimestamp(float(value), BERLIN).strftime("%Y-%m-%d %H:%M")


class AdminUi:
    """The UI's state (``app.state.admin_ui``): accounts, sessions and login limits built from an
    :class:`AdminUiConfig`; :meth:`configure` swaps them (tests pass cheaper Argon2 parameters this way)."""

    def __init__(self, service: Issuer, config: AdminUiConfig) -> None:
        self.service = service
        self.configure(config)

    def configure(self, config: AdminUiConfig) -> None:
        ctx = self.service.context
        self.config = config
        self.accounts = StaffAccounts(ctx.storage.engine, hasher=config.hasher, clock=ctx.clock)
        self.sessions = AdminSessions(
            ctx.store, clock=ctx.clock, idle_timeout=config.idle_timeout, max_lifetime=config.max_lifetime
        )
        self.address_limiter = FixedWindowLimiter(
            ctx.store, "rl_admin_login_addr", config.login_limit_address, config.login_window, clock=ctx.clock
        )
        self.account_limiter = FixedWindowLimiter(
            ctx.store, "rl_admin_login_acct", config.login_limit_account, config.login_window, clock=ctx.clock
        )


def mount_admin_ui(app: FastAPI, service: Issuer, *, config: AdminUiConfig | None = None) -> None:
    """Add the admin web UI (``/admin/...``) and the staff-account admin API (``/issuers/{a}/admin/users``) to the
    issuer app. Idempotent: on an app that has the UI, a call only replaces the configuration (when one is given)."""
    existing = getattr(app.state, "admin_ui", None)
    if isinstance(existing, AdminUi):
        if config is not None:
            existing.configure(config)
        return
    ui = AdminUi(service, config or AdminUiConfig())
    ctx = service.context
    desk = service.admin
    public_origin = origin_of(ctx.settings.public_url)
    secure = public_origin.startswith("https://")
    cookie = cookie_name(secure)
    env = Environment(
        loader=PackageLoader("issuer.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["fmt_time"] = fmt_time
    env.filters["dict_without"] = lambda d, key: {k: v for k, v in d.items() if k != key}
    app.state.admin_ui = ui
    router = APIRouter(include_in_schema=False)
    api_router = APIRouter()

    # -- plumbing ----------------------------------------------------------------------------------------------------

    def tenant_of(slug: str) -> Tenant:
        if not _slug_ok(slug):
            raise _Refused(message_page(None, slug, "not_found_title", "not_found", status=404))
        try:
            return ctx.tenant(slug)
        except NotFound:
            raise _Refused(message_page(None, slug, "not_found_title", "not_found", status=404)) from None

    def set_cookie(response: Response, session: AdminSession) -> None:
        response.set_cookie(
            cookie,
            session.id,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
            max_age=int(ui.config.max_lifetime),
        )

    def open_session(request: Request) -> AdminSession:
        session = ui.sessions.load(request.cookies.get(cookie))
        if session is None:
            session = ui.sessions.new(lang=pick_language(request.headers.get("accept-language")))
        lang = request.query_params.get("lang")
        if lang in LANGUAGES and lang != session.lang:
            session.lang = lang
            ui.sessions.save(session)
        return session

    def render(
        session: AdminSession | None,
        slug: str | None,
        template: str,
        *,
        status: int = 200,
        account: StaffAccount | None = None,
        headers: dict[str, str] | None = None,
        **values: Any,
    ) -> HTMLResponse:
        lang = session.lang if session is not None else "de"
        flash: list[tuple[str, str]] = []
        if session is not None and session.flash:
            flash, session.flash = session.flash, []
            ui.sessions.save(session)
        html = env.get_template(template).render(
            t=TEXT[lang],
            lang=lang,
            slug=slug,
            csrf=session.csrf if session is not None else "",
            account=account,
            flash=flash,
            languages=LANGUAGES,
            **values,
        )
        response = HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
        if session is not None and session.is_new:
            set_cookie(response, session)
        return response

    def message_page(
        session: AdminSession | None, slug: str | None, title: str, message: str, *, status: int, **values: Any
    ) -> HTMLResponse:
        t = TEXT[session.lang if session is not None else "de"]
        return render(session, slug, "message.html", status=status, title=t[title], message=t[message], **values)

    def redirect(session: AdminSession, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)
        if session.is_new:
            set_cookie(response, session)
        return response

    def signed_in(
        request: Request, slug: str, *, admin_only: bool = False
    ) -> tuple[AdminSession, Tenant, StaffAccount]:
        """The session, authority and account of a signed-in staff member of this authority; a redirect to the login
        page otherwise, 403 for a clerk on an admin page."""
        tenant = tenant_of(slug)
        session = open_session(request)
        account = None
        if session.signed_in and session.authority_id == tenant.authority.id and session.account_id is not None:
            account = ui.accounts.by_id(session.account_id)
            if account is None or account.disabled_at is not None or account.authority_id != tenant.authority.id:
                ui.sessions.delete(session)
                account = None
                session = ui.sessions.new(lang=session.lang)
        if account is None:
            target = request.url.path
            query = urlencode({"next": target}) if target.startswith(f"/admin/{slug}/") else ""
            raise _Refused(redirect(session, f"/admin/{slug}/login" + (f"?{query}" if query else "")))
        if admin_only and not account.is_admin:
            raise _Refused(message_page(session, slug, "forbidden_title", "forbidden", status=403, account=account))
        return session, tenant, account

    async def checked_form(request: Request, session: AdminSession, slug: str) -> dict[str, Any]:
        """The POSTed form, when it carries this session's CSRF token and this service's ``Origin``; 403 otherwise."""
        origin = request.headers.get("origin")
        refused = message_page(session, slug, "bad_form_title", "bad_form", status=403)
        if origin is None or origin.lower() != public_origin:
            log.warning("admin UI: form refused (origin)", extra={"fields": {"authority": slug}})
            raise _Refused(refused)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
            raise _Refused(message_page(session, slug, "bad_form_title", "too_large", status=413))
        try:
            data = await request.form(max_files=1, max_fields=100, max_part_size=MAX_FORM_BYTES)
        except Exception:  # malformed multipart or too many parts: not a form we accept
            raise _Refused(refused) from None
        token = data.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), session.csrf.encode()):
            log.warning("admin UI: form refused (csrf)", extra={"fields": {"authority": slug}})
            raise _Refused(refused)
        return dict(data)

    def page(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(handler)
        async def wrapped(*args: Any, **kwargs: Any) -> Response:
            try:
                return await handler(*args, **kwargs)
            except _Refused as refused:
                return refused.response

        return wrapped

    def flash(session: AdminSession, kind: str, text: str) -> None:
        session.flash.append((kind, text))
        ui.sessions.save(session)

    def type_name(tenant: Tenant, type_id: str, lang: str) -> str:
        ctype = tenant.types.get(type_id)
        return display_name(ctype, lang) if ctype is not None else type_id

    def qr_data_uri(link: str) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(link).encode("utf-8")).decode("ascii")

    def ssi_text(session: AdminSession, exc: SsiError) -> str:
        return f"{TEXT[session.lang]['refused']}: {exc.description}"

    # -- static files --------------------------------------------------------------------------------------------

    @router.get("/admin/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC_FILES:
            return Response("not found", status_code=404, media_type="text/plain")
        body = resources.files("issuer.web").joinpath("static", name).read_bytes()
        return Response(body, media_type=STATIC_FILES[name], headers={"Cache-Control": "public, max-age=3600"})

    # -- log in and out ------------------------------------------------------------------------------------------

    @router.get("/admin/{slug}/login")
    @page
    async def login_form(slug: str, request: Request) -> Response:
        tenant = tenant_of(slug)
        session = open_session(request)
        return render(session, slug, "login.html", authority=tenant.authority, next=_next(request, slug), errors={})

    @router.post("/admin/{slug}/login")
    @page
    async def login(slug: str, request: Request) -> Response:
        tenant = tenant_of(slug)
        session = open_session(request)
        form = await checked_form(request, session, slug)
        t = TEXT[session.lang]
        username = str(form.get("username", "")).strip()[:120]
        password = str(form.get("password", ""))
        target = _next_value(str(form.get("next", "")), slug)
        client = request.client.host if request.client is not None else "unknown"
        by_address = await run_in_threadpool(ui.address_limiter.hit, f"{slug}:{client}")
        by_account = await run_in_threadpool(ui.account_limiter.hit, f"{slug}:{username.lower()}")
        if not by_address.allowed or not by_account.allowed:
            retry = max(by_address.retry_after if not by_address.allowed else 0, by_account.retry_after)
            log.warning("admin UI: login rate limit", extra={"fields": {"authority": slug}})
            return render(
                session,
                slug,
                "login.html",
                status=429,
                headers={"Retry-After": str(retry)},
                authority=tenant.authority,
                next=target,
                username=username,
                errors={"form": t["login_limited"].format(minutes=max(1, (retry + 59) // 60))},
            )
        errors: dict[str, str] = {}
        if not username:
            errors["username"] = t["err_required"]
        if not password:
            errors["password"] = t["err_required"]
        account = None
        if not errors:
            account = await run_in_threadpool(ui.accounts.authenticate, tenant.authority.id, username, password)
            if account is None:
                errors["form"] = t["login_failed"]
                log.info("admin UI: login failed", extra={"fields": {"authority": slug}})
        if account is None:
            return render(
                session,
                slug,
                "login.html",
                status=400 if "form" not in errors else 401,
                authority=tenant.authority,
                next=target,
                username=username,
                errors=errors,
            )
        fresh = ui.sessions.sign_in(
            session,
            authority_id=tenant.authority.id,
            slug=slug,
            account_id=account.id,
            username=account.username,
            role=account.role,
        )
        await run_in_threadpool(
            ctx.audit.append,
            actor=actor_for_user(account.username),
            authority=slug,
            action="staff.login",
            subjects=[f"user:{account.username}"],
        )
        log.info("admin UI: login", extra={"fields": {"authority": slug, "user": account.username}})
        return redirect(fresh, target or f"/admin/{slug}/")

    @router.post("/admin/{slug}/logout")
    @page
    async def logout(slug: str, request: Request) -> Response:
        session, _tenant, account = signed_in(request, slug)
        await checked_form(request, session, slug)
        ui.sessions.delete(session)
        await run_in_threadpool(
            ctx.audit.append,
            actor=actor_for_user(account.username),
            authority=slug,
            action="staff.logout",
            subjects=[f"user:{account.username}"],
        )
        anonymous = ui.sessions.new(lang=session.lang)
        flash(anonymous, "status", TEXT[session.lang]["logged_out"])
        return redirect(anonymous, f"/admin/{slug}/login")

    # -- overview ----------------------------------------------------------------------------------------------------

    @router.get("/admin/{slug}/")
    @page
    async def home(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        pending = await run_in_threadpool(desk.deferred_requests, tenant, state="pending")
        return render(session, slug, "home.html", account=account, authority=tenant.authority, pending=len(pending))

    @router.get("/admin/{slug}")
    async def home_slash(slug: str) -> Response:
        if not _slug_ok(slug):
            return Response("not found", status_code=404, media_type="text/plain")
        return RedirectResponse(f"/admin/{slug}/", status_code=308)

    # -- offers --------------------------------------------------------------------------------------------------

    @router.get("/admin/{slug}/offers/new")
    @page
    async def offer_form(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        type_id = request.query_params.get("type")
        ctype = tenant.types.get(type_id or "")
        return offer_page(session, tenant, account, ctype, values={}, errors={}, tx_code=True)

    def offer_page(
        session: AdminSession,
        tenant: Tenant,
        account: StaffAccount,
        ctype: CredentialType | None,
        *,
        values: dict[str, str],
        errors: dict[str, str],
        tx_code: bool,
        status: int = 200,
        problem: str | None = None,
    ) -> HTMLResponse:
        lang = session.lang
        types = sorted(((k, display_name(v, lang)) for k, v in tenant.types.items()), key=lambda kv: kv[1])
        fields = claim_fields(ctype, lang) if ctype is not None else []
        needs_subject = ctype is not None and ctype.subject_kind is not None and ctype.subject_claim is None
        return render(
            session,
            tenant.authority.slug,
            "offer_form.html",
            status=status,
            account=account,
            types=types,
            ctype=ctype,
            type_label=display_name(ctype, lang) if ctype is not None else None,
            fields=fields,
            values=values,
            errors=errors,
            tx_code=tx_code,
            needs_subject=needs_subject,
            problem=problem,
        )

    @router.post("/admin/{slug}/offers")
    @page
    async def create_offer(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        form = await checked_form(request, session, slug)
        t = TEXT[session.lang]
        ctype = tenant.types.get(str(form.get("type", "")))
        if ctype is None:
            return offer_page(
                session,
                tenant,
                account,
                None,
                values={},
                errors={},
                tx_code=True,
                status=400,
                problem=t["err_choose_type"],
            )
        text_form = {k: v for k, v in form.items() if isinstance(v, str)}
        parsed = parse_claims(ctype, text_form)
        tx_code = text_form.get("tx_code") == "on"
        subject = None
        values = dict(parsed.values)
        errors = {name: t[key] for name, key in parsed.errors.items()}
        if ctype.subject_kind is not None and ctype.subject_claim is None:
            subject_value = text_form.get("subject", "").strip()
            values["subject"] = subject_value
            if not subject_value:
                errors["subject"] = t["err_required"]
            elif len(subject_value) > 200:
                errors["subject"] = t["err_too_long"]
            else:
                subject = (ctype.subject_kind, subject_value)
        if errors:
            return offer_page(
                session, tenant, account, ctype, values=values, errors=errors, tx_code=tx_code, status=400
            )
        try:
            created = await run_in_threadpool(
                desk.create_offer,
                tenant,
                ctype.id,
                parsed.claims,
                actor=actor_for_user(account.username),
                tx_code=tx_code,
                subject=subject,
            )
        except SsiError as exc:
            return offer_page(
                session,
                tenant,
                account,
                ctype,
                values=values,
                errors={},
                tx_code=tx_code,
                status=400,
                problem=ssi_text(session, exc),
            )
        log.info("admin UI: offer created", extra={"fields": {"authority": slug, "offer": created.offer_id}})
        return render(
            session,
            slug,
            "offer_created.html",
            status=201,
            account=account,
            offer_id=created.offer_id,
            type_label=display_name(ctype, session.lang),
            link=created.link_by_reference,
            haip_link=created.to_json(with_qr=False)["offer_uri_haip"],
            qr=qr_data_uri(created.link_by_reference),
            tx_code=created.tx_code,
            expires_at=created.expires_at,
            type_id=ctype.id,
            approval=ctype.requires_approval,
        )

    @router.get("/admin/{slug}/offers")
    @page
    async def list_offers(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        state = _filter(request.query_params.get("state"), set(OFFER_STATES))
        type_id = _filter(request.query_params.get("type"), set(tenant.types))
        offers = await run_in_threadpool(desk.offers, tenant, state=state, type_id=type_id, limit=200)
        return render(
            session,
            slug,
            "offers.html",
            account=account,
            offers=offers,
            offer_states=OFFER_STATES,
            type_names={k: display_name(v, session.lang) for k, v in tenant.types.items()},
            state=state,
            type_id=type_id,
        )

    @router.get("/admin/{slug}/offers/{offer_id}")
    @page
    async def offer_detail(slug: str, offer_id: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        offer = await offer_or_404(session, tenant, account, offer_id)
        credentials = await run_in_threadpool(desk.credentials, tenant, offer_id=offer_id, limit=100)
        link = _offer_link(tenant, offer_id)
        return render(
            session,
            slug,
            "offer.html",
            account=account,
            offer=offer,
            type_label=type_name(tenant, offer["credential_configuration_id"], session.lang),
            link=link,
            qr=qr_data_uri(link) if offer["state"] == "offered" else None,
            credentials=credentials,
        )

    @router.get("/admin/{slug}/offers/{offer_id}/print")
    @page
    async def offer_print(slug: str, offer_id: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        offer = await offer_or_404(session, tenant, account, offer_id)
        if offer["state"] != "offered":
            return message_page(session, slug, "print_title", "offer_not_open", status=409, account=account)
        link = _offer_link(tenant, offer_id)
        return render(
            session,
            slug,
            "offer_print.html",
            account=account,
            offer=offer,
            authority=tenant.authority,
            type_label=type_name(tenant, offer["credential_configuration_id"], session.lang),
            link=link,
            qr=qr_data_uri(link),
        )

    async def offer_or_404(
        session: AdminSession, tenant: Tenant, account: StaffAccount, offer_id: str
    ) -> dict[str, Any]:
        if not _id_ok(offer_id, 64):
            raise _Refused(message_page(session, tenant.authority.slug, "not_found_title", "not_found", status=404))
        try:
            return await run_in_threadpool(desk.offer, tenant, offer_id)
        except NotFound:
            raise _Refused(
                message_page(
                    session, tenant.authority.slug, "not_found_title", "not_found", status=404, account=account
                )
            ) from None

    # -- issued credentials and their status ---------------------------------------------------------------------

    @router.get("/admin/{slug}/credentials")
    @page
    async def list_credentials(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        status = _filter(request.query_params.get("status"), {"valid", "revoked", "suspended"})
        type_id = _filter(request.query_params.get("type"), set(tenant.types))
        records = await run_in_threadpool(desk.credentials, tenant, type_id=type_id, status=status, limit=200)
        subject_kinds = sorted({c.subject_kind for c in tenant.types.values() if c.subject_kind})
        return render(
            session,
            slug,
            "credentials.html",
            account=account,
            records=records,
            type_names={k: display_name(v, session.lang) for k, v in tenant.types.items()},
            status_filter=status,
            type_id=type_id,
            subject_kinds=subject_kinds,
            actions=STATUS_ACTIONS,
        )

    @router.get("/admin/{slug}/credentials/{credential_id}")
    @page
    async def credential_detail(slug: str, credential_id: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        record = await credential_or_404(session, tenant, account, credential_id)
        return render(
            session,
            slug,
            "credential.html",
            account=account,
            record=record,
            type_label=type_name(tenant, record.type_id, session.lang),
            actions=_allowed_actions(record.status),
        )

    async def credential_or_404(
        session: AdminSession, tenant: Tenant, account: StaffAccount, credential_id: str
    ) -> Any:
        try:
            if not _id_ok(credential_id, 32):
                raise NotFound("no such credential")
            return await run_in_threadpool(desk.credential, tenant, credential_id)
        except NotFound:
            raise _Refused(
                message_page(
                    session, tenant.authority.slug, "not_found_title", "not_found", status=404, account=account
                )
            ) from None

    @router.post("/admin/{slug}/credentials/{credential_id}/status")
    @page
    async def change_status(slug: str, credential_id: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        form = await checked_form(request, session, slug)
        t = TEXT[session.lang]
        action = form.get("action")
        record = await credential_or_404(session, tenant, account, credential_id)
        if action not in STATUS_ACTIONS:
            flash(session, "alert", t["err_action"])
        elif action == "revoke" and form.get("confirm") != "yes":
            flash(session, "alert", t["err_confirm_revoke"])
        else:
            try:
                await run_in_threadpool(
                    desk.change_status, tenant, record.credential_id, action, actor=actor_for_user(account.username)
                )
                flash(session, "status", t[f"done_{action}"])
            except SsiError as exc:
                flash(session, "alert", ssi_text(session, exc))
        return redirect(session, f"/admin/{slug}/credentials/{record.credential_id}")

    @router.post("/admin/{slug}/subjects/status")
    @page
    async def change_subject_status(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        form = await checked_form(request, session, slug)
        t = TEXT[session.lang]
        kind, value, action = (str(form.get(k, "")).strip() for k in ("kind", "value", "action"))
        kinds = {c.subject_kind for c in tenant.types.values() if c.subject_kind}
        if kind not in kinds or not 0 < len(value) <= 200 or action not in STATUS_ACTIONS:
            flash(session, "alert", t["err_subject"])
        elif action == "revoke" and form.get("confirm") != "yes":
            flash(session, "alert", t["err_confirm_revoke"])
        else:
            try:
                change = await run_in_threadpool(
                    desk.change_subject_status, tenant, kind, value, action, actor=actor_for_user(account.username)
                )
                flash(session, "status", t["done_subject"].format(count=len(change.changed)))
            except SsiError as exc:
                flash(session, "alert", ssi_text(session, exc))
        return redirect(session, f"/admin/{slug}/credentials")

    # -- deferred requests ---------------------------------------------------------------------------------------

    @router.get("/admin/{slug}/deferred")
    @page
    async def deferred(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        pending = await run_in_threadpool(desk.deferred_requests, tenant, state="pending")
        decided = [
            r for r in await run_in_threadpool(desk.deferred_requests, tenant, state=None) if r.state != "pending"
        ][:50]
        return render(
            session,
            slug,
            "deferred.html",
            account=account,
            pending=pending,
            decided=decided,
            type_names={k: display_name(v, session.lang) for k, v in tenant.types.items()},
        )

    @router.post("/admin/{slug}/deferred/{offer_id}")
    @page
    async def decide(slug: str, offer_id: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        form = await checked_form(request, session, slug)
        t = TEXT[session.lang]
        decision = form.get("decision")
        if decision not in ("approve", "reject") or not _id_ok(offer_id, 64):
            flash(session, "alert", t["err_action"])
        else:
            method = desk.approve if decision == "approve" else desk.reject
            try:
                await run_in_threadpool(method, tenant, offer_id, actor=actor_for_user(account.username))
                flash(session, "status", t[f"done_{decision}"])
            except SsiError as exc:
                flash(session, "alert", ssi_text(session, exc))
        return redirect(session, f"/admin/{slug}/deferred")

    # -- credential types ----------------------------------------------------------------------------------------

    @router.get("/admin/{slug}/types")
    @page
    async def types(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        listing = await run_in_threadpool(desk.credential_types, tenant)
        return render(
            session,
            slug,
            "types.html",
            account=account,
            types=sorted(listing.values(), key=lambda c: c.id),
            display_name=lambda c: display_name(c, session.lang),
            errors={},
        )

    @router.get("/admin/{slug}/types/{type_id}")
    @page
    async def type_detail(slug: str, type_id: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug)
        ctype = (await run_in_threadpool(desk.credential_types, tenant)).get(type_id)
        if ctype is None:
            return message_page(session, slug, "not_found_title", "not_found", status=404, account=account)
        return render(
            session,
            slug,
            "type.html",
            account=account,
            ctype=ctype,
            type_label=display_name(ctype, session.lang),
            vct=ctype.vct(tenant.credential_issuer),
            document=json.dumps(dict(ctype.document), indent=2, ensure_ascii=False),
            fields=claim_fields(ctype, session.lang),
        )

    @router.post("/admin/{slug}/types")
    @page
    async def upload_type(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug, admin_only=True)
        form = await checked_form(request, session, slug)
        t = TEXT[session.lang]
        upload = form.get("file")
        text = str(form.get("document", "")).strip()
        if isinstance(upload, UploadFile) and upload.filename:
            text = (await upload.read(MAX_FORM_BYTES + 1)).decode("utf-8", "replace").strip()
        error = None
        if not text:
            error = t["err_type_missing"]
        else:
            try:
                ctype = await run_in_threadpool(desk.put_type, tenant, text, actor=actor_for_user(account.username))
            except SsiError as exc:
                error = ssi_text(session, exc)
        if error is not None:
            listing = await run_in_threadpool(desk.credential_types, tenant)
            return render(
                session,
                slug,
                "types.html",
                status=400,
                account=account,
                types=sorted(listing.values(), key=lambda c: c.id),
                display_name=lambda c: display_name(c, session.lang),
                errors={"document": error},
                document=text[:MAX_FORM_BYTES],
            )
        flash(session, "status", t["done_type"].format(id=ctype.id))
        return redirect(session, f"/admin/{slug}/types/{ctype.id}")

    # -- API keys (admins) ---------------------------------------------------------------------------------------

    @router.get("/admin/{slug}/api-keys")
    @page
    async def api_keys(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug, admin_only=True)
        keys = await run_in_threadpool(desk.api_keys, tenant)
        return render(session, slug, "api_keys.html", account=account, keys=keys, errors={})

    @router.post("/admin/{slug}/api-keys")
    @page
    async def create_api_key(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug, admin_only=True)
        form = await checked_form(request, session, slug)
        t = TEXT[session.lang]
        label = str(form.get("label", "")).strip()
        if not 0 < len(label) <= 100:
            keys = await run_in_threadpool(desk.api_keys, tenant)
            return render(
                session,
                slug,
                "api_keys.html",
                status=400,
                account=account,
                keys=keys,
                errors={"label": t["err_label"]},
                label=label,
            )
        key_id, key = await run_in_threadpool(
            desk.create_api_key, tenant, label, actor=actor_for_user(account.username)
        )
        return render(
            session, slug, "api_key_created.html", status=201, account=account, key_id=key_id, key=key, label=label
        )

    @router.post("/admin/{slug}/api-keys/{key_id}/revoke")
    @page
    async def revoke_api_key(slug: str, key_id: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug, admin_only=True)
        await checked_form(request, session, slug)
        t = TEXT[session.lang]
        try:
            if not key_id.isalnum() or len(key_id) > 32:
                raise NotFound("no such API key")
            await run_in_threadpool(desk.revoke_api_key, tenant, key_id, actor=actor_for_user(account.username))
            flash(session, "status", t["done_key_revoked"])
        except SsiError as exc:
            flash(session, "alert", ssi_text(session, exc))
        return redirect(session, f"/admin/{slug}/api-keys")

    # -- staff accounts (admins) ---------------------------------------------------------------------------------

    @router.get("/admin/{slug}/users")
    @page
    async def users(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug, admin_only=True)
        listing = await run_in_threadpool(ui.accounts.list, tenant.authority.id)
        return render(session, slug, "users.html", account=account, users=listing, errors={}, values={})

    @router.post("/admin/{slug}/users")
    @page
    async def create_user(slug: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug, admin_only=True)
        form = await checked_form(request, session, slug)
        t = TEXT[session.lang]
        values = {k: str(form.get(k, "")).strip() for k in ("username", "role")}
        errors: dict[str, str] = {}
        if not ACCOUNT_NAME.match(values["username"]):
            errors["username"] = t["err_username"]
        if values["role"] not in ("clerk", "admin"):
            errors["role"] = t["err_role"]
        if not errors:
            try:
                await run_in_threadpool(
                    functools.partial(
                        create_staff_account,
                        service,
                        ui.accounts,
                        tenant,
                        username=values["username"],
                        password=str(form.get("password", "")),
                        role=values["role"],
                        actor=actor_for_user(account.username),
                    )
                )
            except AccountError as exc:
                key = "password" if exc.reason == "weak_password" else "username"
                errors[key] = t["err_password"] if key == "password" else t["err_username_taken"]
        if errors:
            listing = await run_in_threadpool(ui.accounts.list, tenant.authority.id)
            return render(
                session, slug, "users.html", status=400, account=account, users=listing, errors=errors, values=values
            )
        flash(session, "status", t["done_user"].format(name=values["username"]))
        return redirect(session, f"/admin/{slug}/users")

    @router.post("/admin/{slug}/users/{username}/disable")
    @page
    async def disable_user(slug: str, username: str, request: Request) -> Response:
        session, tenant, account = signed_in(request, slug, admin_only=True)
        await checked_form(request, session, slug)
        t = TEXT[session.lang]
        if username == account.username:
            flash(session, "alert", t["err_disable_self"])
        elif await run_in_threadpool(
            disable_staff_account, service, ui.accounts, tenant, username, actor=actor_for_user(account.username)
        ):
            flash(session, "status", t["done_user_disabled"].format(name=username))
        else:
            flash(session, "alert", t["not_found"])
        return redirect(session, f"/admin/{slug}/users")

    # -- staff accounts over the admin API (the authority's API key) ---------------------------------------------

    def api_tenant(slug: str, request: Request) -> tuple[Tenant, str]:
        if not _slug_ok(slug):
            raise OAuthHTTPError("not_found", "no such credential issuer here", status=404)
        tenant = ctx.tenant(slug)
        scheme, _, key = (request.headers.get("authorization") or "").partition(" ")
        found = ctx.storage.authenticate_key(key.strip()) if scheme.lower() == "bearer" else None
        if found is None or found[0].id != tenant.authority.id:
            raise OAuthHTTPError(
                "invalid_token",
                "a valid API key of this authority is required (Authorization: Bearer <key>)",
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="govssi-issuer-admin"'},
            )
        return tenant, f"apikey:{found[1]}"

    @api_router.post("/issuers/{slug}/admin/users", tags=["admin"])
    async def api_create_user(slug: ApiSlug, request: Request) -> JSONResponse:
        """Create a staff account of the admin web UI: ``{"username", "password", "role": "clerk"|"admin"}`` → 201
        ``{"username", "role", "created_at", ...}``. The password is hashed (Argon2id) and never returned."""
        tenant, actor = api_tenant(slug, request)
        body = await read_json(request, max_bytes=4096)
        username, password, role = body.get("username"), body.get("password"), body.get("role", "clerk")
        try:
            created = await run_in_threadpool(
                functools.partial(
                    create_staff_account,
                    service,
                    ui.accounts,
                    tenant,
                    username=username,
                    password=password,
                    role=role,
                    actor=actor,
                )
            )
        except AccountError as exc:
            status = 409 if exc.reason == "username_taken" else 400
            raise OAuthHTTPError("invalid_request", exc.description, status=status) from None
        return JSONResponse(created.to_json(), status_code=201, headers={"Cache-Control": "no-store"})

    @api_router.get("/issuers/{slug}/admin/users", tags=["admin"])
    async def api_list_users(slug: ApiSlug, request: Request) -> JSONResponse:
        """The authority's staff accounts (names, roles, times; never password hashes)."""
        tenant, _ = api_tenant(slug, request)
        listing = await run_in_threadpool(ui.accounts.list, tenant.authority.id)
        return JSONResponse({"users": [a.to_json() for a in listing]}, headers={"Cache-Control": "no-store"})

    @api_router.delete("/issuers/{slug}/admin/users/{username}", tags=["admin"], status_code=204)
    async def api_disable_user(slug: ApiSlug, username: Username, request: Request) -> Response:
        """Disable a staff account (it can no longer log in; open sessions end at their next request)."""
        tenant, actor = api_tenant(slug, request)
        if not ACCOUNT_NAME.match(username) or not await run_in_threadpool(
            disable_staff_account, service, ui.accounts, tenant, username, actor=actor
        ):
            raise OAuthHTTPError("not_found", "no such live account at this authority", status=404)
        return Response(status_code=204)

    app.include_router(router)
    app.include_router(api_router)


def create_staff_account(
    service: Issuer, accounts: StaffAccounts, tenant: Tenant, *, username: Any, password: Any, role: Any, actor: str
) -> StaffAccount:
    """Create an account at the tenant's authority and record it in the audit log (one transaction)."""
    ctx = service.context
    with ctx.storage.transaction() as conn:
        created = accounts.create(tenant.authority.id, username, password, role, conn=conn)
        ctx.audit_append(conn, actor=actor, tenant=tenant, action=f"staff.create_{role}", subjects=[f"user:{username}"])
    return created


def disable_staff_account(
    service: Issuer, accounts: StaffAccounts, tenant: Tenant, username: str, *, actor: str
) -> bool:
    ctx = service.context
    with ctx.storage.transaction() as conn:
        if not accounts.disable(tenant.authority.id, username, conn=conn):
            return False
        ctx.audit_append(conn, actor=actor, tenant=tenant, action="staff.disable", subjects=[f"user:{username}"])
    return True


def _slug_ok(slug: str) -> bool:
    return re.match(SLUG_PATTERN, slug) is not None


def _id_ok(value: str, limit: int) -> bool:
    return 0 < len(value) <= limit and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)


def _filter(value: str | None, allowed: set[str]) -> str | None:
    return value if value in allowed else None


def _next(request: Request, slug: str) -> str:
    return _next_value(request.query_params.get("next", ""), slug)


def _next_value(value: str, slug: str) -> str:
    """Only a page of this authority's UI (no scheme, no host, no ``//``): never an open redirect."""
    prefix = f"/admin/{slug}/"
    if value.startswith(prefix) and "//" not in value and "\\" not in value and len(value) < 300:
        return value
    return ""


def _offer_link(tenant: Tenant, offer_id: str) -> str:
    """The by-reference offer link (OpenID4VCI §4.1.3), rebuilt from the offer id (the offer URL is per id)."""
    from ssi.oid4vci import CredentialOffer

    return CredentialOffer.link_by_reference(tenant.offer_uri(offer_id))


def _allowed_actions(status: str) -> tuple[str, ...]:
    return {"valid": ("suspend", "revoke"), "suspended": ("unsuspend", "revoke")}.get(status, ())
