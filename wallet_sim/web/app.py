"""The phone-sized web wallet (``govssi wallet serve``): server-rendered Jinja2 pages in German and English, no JS.

Pages: set up (choose the wallet PIN) or unlock; the credentials as cards with the issuer's display data; receive by
pasting a link or uploading a photo of the QR code (``capture`` opens the camera on phones); the offer with the
transaction code; the received claims to accept or decline; a credential's details and its deletion; deferred
issuances to ask again.

Security: one server-side session per browser (random id in an ``HttpOnly``, ``SameSite=Strict`` cookie; the
unlocked wallet lives only in server memory and is closed after :data:`IDLE_SECONDS` without a request); every form
carries the session's CSRF token and POSTs with a foreign ``Origin`` are refused; a strict Content Security Policy
(no inline script or style — card colours come from a generated stylesheet of validated colours), ``no-store`` on
every page, bounded uploads. Accessibility (WCAG 2.1 AA basics): ``lang``, landmarks, skip link, a label and hint for
every field, errors announced with ``role="alert"`` and linked with ``aria-describedby``, visible focus, 4.5:1
contrast, 44 px touch targets, everything reachable by keyboard.
"""

from __future__ import annotations

import contextlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ssi.clock import Clock
from ssi.dcql import AuthorityMatcher
from ssi.errors import SsiError, WalletPinError
from ssi.oid4vp import WalletRequestPolicy
from wallet_sim.oid4vci.client import ResolvedOffer
from wallet_sim.oid4vci.display import claim_label, localized, safe_colors
from wallet_sim.provider import WalletProvider
from wallet_sim.qr import MAX_IMAGE_BYTES
from wallet_sim.store import DEFAULT_KDF, KdfParams
from wallet_sim.wallet import PendingIssuance, ReceivedCredentials, StoredCredential, Wallet
from wallet_sim.web.i18n import LANGUAGES, TEXT, error_message, pick_language

__all__ = ["IDLE_SECONDS", "create_wallet_app"]

HERE = Path(__file__).parent
COOKIE: Final = "govssi_wallet"
IDLE_SECONDS: Final = 15 * 60
MAX_BODY: Final = MAX_IMAGE_BYTES + 64 * 1024
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class Session:
    id: str
    csrf: str
    lang: str
    last_seen: float
    wallet: Wallet | None = None
    offers: dict[str, ResolvedOffer] = field(default_factory=dict)
    received: dict[str, ReceivedCredentials] = field(default_factory=dict)
    flash: str | None = None
    new: bool = False

    def close(self) -> None:
        """Lock: credentials received but not yet stored or declined are declined first (keys destroyed,
        ``credential_deleted`` — OpenID4VCI 1.0 §11.1, the user left them), then the wallet closes."""
        if self.wallet is not None:
            for received in self.received.values():
                if received.done:
                    continue
                with contextlib.suppress(SsiError, OSError):  # best effort: provisional keys are purged on open
                    self.wallet.decline(received)
            self.wallet.close()
        self.wallet = None
        self.offers.clear()
        self.received.clear()


class _Sessions:
    def __init__(self, clock: Clock) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def get(self, request: Request) -> Session:
        now = self._clock()
        with self._lock:
            for stale in [s for s in self._by_id.values() if now - s.last_seen > IDLE_SECONDS]:
                stale.close()
                del self._by_id[stale.id]
            session = self._by_id.get(request.cookies.get(COOKIE, ""))
            if session is None:
                session = Session(
                    secrets.token_urlsafe(24),
                    secrets.token_urlsafe(24),
                    pick_language(request.headers.get("accept-language")),
                    now,
                    new=True,
                )
                self._by_id[session.id] = session
            session.last_seen = now
            return session

    def close_all(self) -> None:
        with self._lock:
            for session in self._by_id.values():
                session.close()
            self._by_id.clear()


class _SecurityHeaders:
    """CSP, no framing, no sniffing, no referrer to other sites (``same-origin``: ``no-referrer`` would make browsers
    send ``Origin: null`` and defeat the Origin check), no caching (pages show personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _flatten(claims: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(claims, dict):
        rows = []
        for key, value in claims.items():
            rows += _flatten(value, (*prefix, key))
        return rows
    if isinstance(claims, list) and claims and all(isinstance(v, dict) for v in claims):
        rows = []
        for index, value in enumerate(claims):
            rows += _flatten(value, (*prefix, index))
        return rows
    return [(prefix, claims)]


def claim_rows(claims: dict[str, Any], display: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """(label, value) rows: the issuer's label for each leaf claim in ``lang`` (parents' labels for nested ones)."""
    rows = []
    for path, value in _flatten(claims):
        parts = []
        for depth in range(1, len(path) + 1):
            label = claim_label(display, list(path[:depth]), lang)
            if label is None and depth == len(path):
                label = str(path[-1])
            if label is not None and not isinstance(path[depth - 1], int):
                parts.append(label)
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if isinstance(value, bool):
            shown = {"de": "ja" if value else "nein", "en": "yes" if value else "no"}[lang]
        rows.append((" – ".join(parts) or ".".join(map(str, path)), shown))
    return rows


def create_wallet_app(
    data_dir: Path,
    *,
    clock: Clock = time.time,
    allow_http_loopback: bool | None = None,
    provider: WalletProvider | None = None,
    kdf: KdfParams = DEFAULT_KDF,
    verifier_policy: WalletRequestPolicy | None = None,
    authorities: Mapping[str, AuthorityMatcher] | None = None,
) -> FastAPI:
    """The web wallet for the wallet in ``data_dir`` (created from the browser on first use). ``verifier_policy``:
    whom the presentation pages trust to sign requests (default: ``wallet_sim.web.present.default_verifier_policy``).
    ``authorities``: DCQL ``trusted_authorities`` matchers beyond ``aki`` (default: ``govssi_chain_accreditation``
    against the trusted-issuer registry on GOVSSI_CHAIN_RPC when that is set, as ``govssi wallet present`` does —
    ``wallet_sim.oid4vp.trust.chain_authorities_from_env``).
    """
    data_dir = Path(data_dir)
    sessions = _Sessions(clock)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    app = FastAPI(title="govssi wallet", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.router.on_shutdown.append(sessions.close_all)
    options: dict[str, Any] = {"clock": clock, "allow_http_loopback": allow_http_loopback, "provider": provider}

    def fmt_time(value: float | None) -> str:
        return "—" if value is None else time.strftime("%d.%m.%Y", time.gmtime(value))

    def render(session: Session, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        t = TEXT[session.lang]
        flash, session.flash = session.flash, None
        body = env.get_template(template).render(
            t=t, lang=session.lang, csrf=session.csrf, flash=flash, fmt_time=fmt_time, now=clock(), **values
        )
        response = HTMLResponse(body, status_code=status)
        if session.new:
            response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", path="/")
            session.new = False
        return response

    def redirect(session: Session, url: str = "/") -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        if session.new:
            response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", path="/")
            session.new = False
        return response

    def start(request: Request) -> Session:
        session = sessions.get(request)
        lang = request.query_params.get("lang")
        if lang in LANGUAGES:
            session.lang = lang
        return session

    async def form(request: Request, session: Session) -> dict[str, Any] | None:
        """The POSTed form if its CSRF token is the session's and its Origin (when sent) is ours."""
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return None
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            return None
        try:
            data = await request.form(max_files=1, max_fields=10, max_part_size=64 * 1024)
        except Exception:  # malformed multipart or too many parts: the form is simply invalid
            return None
        token = data.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
            return None
        return dict(data)

    def bad_form(session: Session) -> HTMLResponse:
        return render(
            session,
            "message.html",
            status=400,
            title=TEXT[session.lang]["error"],
            message=TEXT[session.lang]["bad_form"],
        )

    async def wallet_form(request: Request) -> tuple[Session, dict[str, Any], Wallet] | Response:
        """A POSTed form on an open wallet: the session, the form and the wallet — or the page to answer instead
        (invalid form: 400; no open wallet: the setup or unlock page)."""
        session = start(request)
        data = await form(request, session)
        if data is None:
            return bad_form(session)
        page = wallet_page(session)
        if page is not None:
            return page
        assert session.wallet is not None
        return session, data, session.wallet

    def wallet_page(session: Session) -> HTMLResponse | None:
        """The setup or unlock page when the session has no open wallet."""
        if session.wallet is not None:
            return None
        if Wallet.exists(data_dir):
            return render(session, "unlock.html", title=TEXT[session.lang]["unlock_title"])
        return render(session, "setup.html", title=TEXT[session.lang]["setup_title"])

    def card(credential: StoredCredential | ReceivedCredentials | PendingIssuance, lang: str) -> dict[str, Any]:
        display = credential.display
        entry = localized(display.get("credential") or [], lang)
        return {
            "name": credential.name(lang),
            "issuer": credential.issuer_name(lang),
            "description": entry.get("description") if entry else None,
        }

    # -- pages ------------------------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        session = start(request)
        page = wallet_page(session)
        if page is not None:
            return page
        assert session.wallet is not None
        credentials = session.wallet.credentials()
        return render(
            session,
            "home.html",
            title=TEXT[session.lang]["home_title"],
            credentials=[(c, card(c, session.lang)) for c in credentials],
            pending=[(p, card(p, session.lang)) for p in session.wallet.pending()],
        )

    @app.get("/cards.css")
    def cards_css(request: Request) -> Response:
        """Card colours as classes: issuer colours only when valid hex with enough contrast (no inline styles)."""
        session = start(request)
        rules = []
        if session.wallet is not None:
            for credential in session.wallet.credentials():
                background, text = credential.colors(session.lang)
                rules.append(f".card-{credential.id} {{ background: {background}; color: {text}; }}")
        return Response("\n".join(rules) + "\n", media_type="text/css")

    @app.post("/setup")
    async def setup(request: Request) -> Response:
        session = start(request)
        data = await form(request, session)
        if data is None:
            return bad_form(session)
        t = TEXT[session.lang]
        if Wallet.exists(data_dir):
            return redirect(session)
        pin, again = str(data.get("pin", "")), str(data.get("pin_again", ""))
        if pin != again:
            return render(session, "setup.html", status=400, title=t["setup_title"], error=t["pins_differ"])
        try:
            session.wallet = await run_in_threadpool(lambda: Wallet.create(data_dir, pin, kdf=kdf, **options))
        except SsiError as exc:
            error = error_message(exc, session.lang)
            return render(session, "setup.html", status=400, title=t["setup_title"], error=error)
        return redirect(session)

    @app.post("/unlock")
    async def unlock(request: Request) -> Response:
        session = start(request)
        data = await form(request, session)
        if data is None:
            return bad_form(session)
        pin = str(data.get("pin", ""))
        try:
            wallet = await run_in_threadpool(lambda: Wallet.open(data_dir, pin, **options))
        except WalletPinError as exc:
            return render(
                session,
                "unlock.html",
                status=400,
                title=TEXT[session.lang]["unlock_title"],
                error=error_message(exc, session.lang),
            )
        session.close()
        session.wallet = wallet
        return redirect(session)

    @app.post("/lock")
    async def lock(request: Request) -> Response:
        session = start(request)
        if await form(request, session) is None:
            return bad_form(session)
        session.close()
        return redirect(session)

    @app.get("/receive", response_class=HTMLResponse)
    def receive_form(request: Request) -> Response:
        session = start(request)
        return wallet_page(session) or render(session, "receive.html", title=TEXT[session.lang]["receive_title"])

    @app.post("/receive")
    async def receive(request: Request) -> Response:
        opened = await wallet_form(request)
        if isinstance(opened, Response):
            return opened
        session, data, wallet = opened
        t = TEXT[session.lang]
        link = str(data.get("offer", "")).strip()
        upload = data.get("qr")
        image = None
        if isinstance(upload, UploadFile) and upload.filename:
            image = await upload.read(MAX_IMAGE_BYTES + 1)
        if not link and not image:
            return render(session, "receive.html", status=400, title=t["receive_title"], error=t["give_one"])
        try:
            resolved = await run_in_threadpool(
                lambda: wallet.resolve_offer(link or None, image=None if link else image)
            )
        except SsiError as exc:
            return render(
                session,
                "receive.html",
                status=400,
                title=t["receive_title"],
                error=error_message(exc, session.lang),
                offer=link,
            )
        flow = secrets.token_urlsafe(12)
        session.offers[flow] = resolved
        return offer_page(session, flow, resolved)

    def offer_page(session: Session, flow: str, resolved: ResolvedOffer, error: str | None = None) -> HTMLResponse:
        lang = session.lang
        displays = [resolved.display(c) for c in resolved.offer.credential_configuration_ids]
        issuer_entry = localized(displays[0].get("issuer") or [], lang) if displays else None
        offered = []
        for config_id, display in zip(resolved.offer.credential_configuration_ids, displays, strict=True):
            entry = localized(display.get("credential") or [], lang)
            labels = []
            for claim in display.get("claims") or []:
                label = localized(claim.get("display") or [], lang)
                if label is not None and len(claim.get("path", [])) == 1:
                    labels.append(str(label.get("label")))
            offered.append(
                {
                    "name": entry["name"] if entry else config_id,
                    "description": entry.get("description") if entry else None,
                    "claims": labels,
                }
            )
        return render(
            session,
            "offer.html",
            status=400 if error else 200,
            title=TEXT[lang]["offer_title"],
            flow=flow,
            issuer=str(issuer_entry["name"]) if issuer_entry else resolved.credential_issuer,
            issuer_url=resolved.credential_issuer,
            offered=offered,
            tx_code=resolved.tx_code,
            error=error,
        )

    @app.post("/receive/{flow}/request")
    async def request_credentials(request: Request, flow: str) -> Response:
        opened = await wallet_form(request)
        if isinstance(opened, Response):
            return opened
        session, data, wallet = opened
        resolved = session.offers.get(flow)
        if resolved is None:
            return bad_form(session)
        tx_code = str(data.get("tx_code", "")).strip() or None
        try:
            results = await run_in_threadpool(lambda: wallet.request(resolved, tx_code))
        except SsiError as exc:
            return offer_page(session, flow, resolved, error=error_message(exc, session.lang))
        del session.offers[flow]
        received = [r for r in results if isinstance(r, ReceivedCredentials)]
        if not received:
            return render(
                session,
                "message.html",
                title=TEXT[session.lang]["pending_title"],
                message=TEXT[session.lang]["pending_intro"],
            )
        for item in received:  # an offer of several configurations: each is shown for consent in turn
            session.received[item.flow_id] = item
        return preview(session, received[0])

    def preview(session: Session, received: ReceivedCredentials) -> HTMLResponse:
        session.received[received.flow_id] = received
        return render(
            session,
            "preview.html",
            title=TEXT[session.lang]["preview_title"],
            received=received,
            info=card(received, session.lang),
            rows=claim_rows(received.claims, received.display, session.lang),
            colors=safe_colors(localized(received.display.get("credential") or [], session.lang)),
        )

    async def decide(request: Request, flow: str, accept: bool) -> Response:
        opened = await wallet_form(request)
        if isinstance(opened, Response):
            return opened
        session, _data, wallet = opened
        received = session.received.pop(flow, None)
        if received is None:
            return bad_form(session)
        t = TEXT[session.lang]
        if accept:
            stored = await run_in_threadpool(wallet.accept, received)
            session.flash = t["stored"]
        else:
            await run_in_threadpool(wallet.decline, received)
            session.flash = t["declined"]
        waiting = next(iter(session.received.values()), None)
        if waiting is not None:  # more credentials of the same offer wait for the user's decision
            return preview(session, waiting)
        return redirect(session, f"/credentials/{stored.id}" if accept else "/")

    @app.post("/received/{flow}/accept")
    async def accept(request: Request, flow: str) -> Response:
        return await decide(request, flow, True)

    @app.post("/received/{flow}/decline")
    async def decline(request: Request, flow: str) -> Response:
        return await decide(request, flow, False)

    @app.post("/pending/{pending_id}/poll")
    async def poll(request: Request, pending_id: str) -> Response:
        opened = await wallet_form(request)
        if isinstance(opened, Response):
            return opened
        session, _data, wallet = opened
        try:
            # OpenID4VCI 1.0 §8.3 ``interval``: "the minimum amount of time in seconds that the Wallet SHOULD wait
            # ... before sending a new request" — asking earlier sends nothing and says how long to wait.
            result = await run_in_threadpool(lambda: wallet.poll(pending_id))
        except SsiError as exc:
            return render(
                session,
                "message.html",
                status=400,
                title=TEXT[session.lang]["error"],
                message=error_message(exc, session.lang),
            )
        if isinstance(result, PendingIssuance):
            text = TEXT[session.lang]
            wait = math.ceil(result.next_poll_at - clock())
            return render(
                session,
                "message.html",
                title=text["pending_title"],
                message=text["pending_intro"] + (" " + text["pending_wait"].format(seconds=wait) if wait > 0 else ""),
            )
        return preview(session, result)

    def credential_or_404(session: Session, credential_id: str) -> StoredCredential | None:
        assert session.wallet is not None
        try:
            return session.wallet.credential(credential_id)
        except SsiError:
            return None

    def not_found(session: Session) -> HTMLResponse:
        return render(session, "message.html", status=404, title=TEXT[session.lang]["error"], message="404")

    @app.get("/credentials/{credential_id}", response_class=HTMLResponse)
    def details(request: Request, credential_id: str) -> Response:
        session = start(request)
        page = wallet_page(session)
        if page is not None:
            return page
        credential = credential_or_404(session, credential_id)
        if credential is None:
            return not_found(session)
        return render(
            session,
            "credential.html",
            title=credential.name(session.lang),
            credential=credential,
            info=card(credential, session.lang),
            rows=claim_rows(credential.claims, credential.display, session.lang),
        )

    @app.get("/credentials/{credential_id}/delete", response_class=HTMLResponse)
    def delete_form(request: Request, credential_id: str) -> Response:
        session = start(request)
        page = wallet_page(session)
        if page is not None:
            return page
        credential = credential_or_404(session, credential_id)
        if credential is None:
            return not_found(session)
        return render(
            session,
            "delete.html",
            title=TEXT[session.lang]["delete_title"],
            credential=credential,
            info=card(credential, session.lang),
        )

    @app.post("/credentials/{credential_id}/delete")
    async def delete(request: Request, credential_id: str) -> Response:
        opened = await wallet_form(request)
        if isinstance(opened, Response):
            return opened
        session, _data, wallet = opened
        try:
            await run_in_threadpool(wallet.delete, credential_id)
        except SsiError:
            return not_found(session)
        session.flash = TEXT[session.lang]["deleted"]
        return redirect(session)

    from wallet_sim.oid4vp.trust import chain_authorities_from_env
    from wallet_sim.web.present import WebHooks, default_verifier_policy, install_presentation

    if authorities is None:
        from_env = chain_authorities_from_env(clock=clock)
        authorities = from_env.matchers() if from_env is not None else {}

    install_presentation(
        app,
        WebHooks(
            start=start,
            render=render,
            bad_form=bad_form,
            wallet_page=wallet_page,
            data_dir=data_dir,
            wallet_options=options,
            verifier_policy=verifier_policy or default_verifier_policy(allow_http_loopback),
            authorities=authorities,
        ),
    )
    from wallet_sim.web.pid import install_pid  # the PID through the eID card (wallet_sim/web/pid.py)

    install_pid(
        app,
        WebHooks(
            start=start,
            render=render,
            bad_form=bad_form,
            wallet_page=wallet_page,
            data_dir=data_dir,
            wallet_options=options,
            verifier_policy=verifier_policy or default_verifier_policy(allow_http_loopback),
        ),
    )
    app.state.sessions = sessions
    app.state.data_dir = data_dir
    return app
