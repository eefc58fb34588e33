"""The web wallet's presentation pages (OpenID4VP 1.0): paste or open a request, see who asks and what, consent or
decline. Registered by :func:`install_presentation` from :func:`wallet_sim.web.app.create_wallet_app`.

Pages:

- ``GET /present`` — paste an ``openid4vp://`` (or ``haip://``) link; ``POST /present`` fetches and verifies it
  (:class:`wallet_sim.oid4vp.PresentationClient`) and shows the consent screen.
- ``GET /openid4vp?client_id=…&request_uri=…`` — the same-device link (a verifier's page opens the wallet with the
  request's parameters): a GET never fetches anything (it could be triggered by any page); it shows "a service asks"
  with a button that POSTs the request (after unlocking, when the wallet is locked).
- The consent screen (§15.1 "explicit, informed consent ... before releasing any Verifiable Credential or
  Presentation to a Verifier, or returning an error"): the Verifier's name as its Client Identifier Prefix verified
  it (certificate organisation, DID; "not verified" for the development-only ``redirect_uri`` prefix), the prefix,
  the Client Identifier, where the answer goes and whether it is encrypted, the purpose (``credential_sets[].purpose``,
  see ``ResolvedRequest.purposes_in``), and per Credential Query the credential used (a choice when several match,
  §6.4.3: radio buttons, or checkboxes — all checked — for a ``multiple`` query, §6.1) with the values each
  candidate would disclose, and each claim: required ones listed, optional ones (claims of a ``claim_sets``
  alternative, §6.4.1) as checkboxes — checked as the Verifier prefers — and optional Credential Queries as unchecked
  checkboxes.
- ``trusted_authorities`` of type ``govssi_chain_accreditation`` are checked against the trusted-issuer registry
  the app was given (``WebHooks.authorities``; by default the one on GOVSSI_CHAIN_RPC), as ``govssi wallet present``
  does; without one that type matches nothing (``wallet_sim.oid4vp.trust``).
- ``POST /present/{flow}/approve`` sends the presentation; ``POST /present/{flow}/decline`` sends ``access_denied``
  (§8.5), as does "tell the service" when nothing matches (the same response, §15.4.1). The result page links to
  the ``redirect_uri`` the Verifier returned (§8.2: same-device, with its ``response_code``) — a link the user
  follows, as the wallet's Content Security Policy (``form-action 'self'``) does not let a form post redirect to
  another site.

The same session, CSRF and Origin rules as every other form of the web wallet apply.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ssi.dcql import AuthorityMatcher, select_claims
from ssi.errors import DcqlError, SsiError, WalletPinError
from ssi.oid4vp import AnswerableInvalidRequest, WalletRequestPolicy
from wallet_sim.oid4vci.display import claim_label
from wallet_sim.oid4vp import PresentationClient, PresentationOutcome, Proposal, path_text, present, propose
from wallet_sim.wallet import Wallet, dev_http_allowed
from wallet_sim.web.i18n import flow_error_message

__all__ = ["TEXT", "WebHooks", "default_verifier_policy", "install_presentation"]

MAX_FLOWS_PER_SESSION = 8
VERIFIER_CA_ENV = "GOVSSI_WALLET_VERIFIER_CA"

TEXT: dict[str, dict[str, str]] = {
    "de": {
        "present": "Nachweis vorzeigen",
        "start_title": "Nachweis vorzeigen",
        "start_intro": "Fügen Sie den Link der Anfrage ein, die Ihnen ein Dienst angezeigt hat.",
        "link": "Link der Anfrage",
        "link_hint": "Beginnt mit openid4vp:// oder haip://",
        "open_title": "Ein Dienst fragt nach Ihren Angaben",
        "open_intro": "Die Wallet prüft die Anfrage und zeigt Ihnen, wer was wissen möchte. Erst wenn Sie zustimmen, "
        "wird etwas gesendet.",
        "unlock_first": "Entsperren Sie die Wallet, um die Anfrage zu sehen.",
        "show_request": "Anfrage ansehen",
        "consent_title": "Angaben teilen?",
        "asks": "Wer fragt",
        "verified_by": "Geprüft über",
        "not_verified": "Nicht geprüft — nur für Entwicklung. Teilen Sie keine echten Daten.",
        "client_id": "Kennung",
        "goes_to": "Die Antwort geht an",
        "encrypted": "verschlüsselt",
        "not_encrypted": "nicht zusätzlich verschlüsselt",
        "purpose": "Zweck",
        "no_purpose": "Der Dienst hat keinen Zweck angegeben.",
        "credential": "Nachweis",
        "choose_credential": "Welcher Nachweis?",
        "choose_credentials": "Welche Nachweise? (mehrere möglich)",
        "required": "erforderlich",
        "optional": "freiwillig",
        "optional_claims": "Freiwillige Angaben",
        "also_share": "Zusätzlich teilen (freiwillig)",
        "approve": "Teilen",
        "decline": "Ablehnen",
        "nothing_matches": "Sie haben keinen Nachweis, der zu dieser Anfrage passt.",
        "tell_service": "Dem Dienst absagen",
        "cancel": "Abbrechen, nichts senden",
        "sent_title": "Angaben geteilt",
        "sent": "Ihre Angaben wurden an {name} übermittelt.",
        "declined_title": "Abgelehnt",
        "declined": "Sie haben abgelehnt. {name} wurde informiert; es wurden keine Angaben geteilt.",
        "refused_title": "Nicht angenommen",
        "refused": "{name} hat die Angaben nicht angenommen",
        "continue_to": "Weiter zu {host}",
        "prefix_x509_hash": "X.509-Zertifikat (Hash)",
        "prefix_x509_san_dns": "X.509-Zertifikat (DNS-Name)",
        "prefix_decentralized_identifier": "Dezentrale Kennung (DID)",
        "prefix_redirect_uri": "Adresse (nicht signiert)",
        "expires": "gültig bis",
        "report": "Dem Dienst den Fehler melden",
        "reported_title": "Fehler gemeldet",
        "reported": "Der Dienst wurde über seine fehlerhafte Anfrage informiert. Es wurden keine Angaben geteilt.",
    },
    "en": {
        "present": "Present a credential",
        "start_title": "Present a credential",
        "start_intro": "Paste the link of the request a service showed you.",
        "link": "Request link",
        "link_hint": "Starts with openid4vp:// or haip://",
        "open_title": "A service asks for your details",
        "open_intro": "The wallet checks the request and shows you who wants to know what. Nothing is sent unless you "
        "agree.",
        "unlock_first": "Unlock the wallet to see the request.",
        "show_request": "See the request",
        "consent_title": "Share your details?",
        "asks": "Who asks",
        "verified_by": "Verified through",
        "not_verified": "Not verified — development only. Do not share real data.",
        "client_id": "Identifier",
        "goes_to": "The answer goes to",
        "encrypted": "encrypted",
        "not_encrypted": "not additionally encrypted",
        "purpose": "Purpose",
        "no_purpose": "The service gave no purpose.",
        "credential": "Credential",
        "choose_credential": "Which credential?",
        "choose_credentials": "Which credentials? (several allowed)",
        "required": "required",
        "optional": "optional",
        "optional_claims": "Optional details",
        "also_share": "Also share (optional)",
        "approve": "Share",
        "decline": "Decline",
        "nothing_matches": "You have no credential that fits this request.",
        "tell_service": "Tell the service no",
        "cancel": "Cancel, send nothing",
        "sent_title": "Details shared",
        "sent": "Your details were sent to {name}.",
        "declined_title": "Declined",
        "declined": "You declined. {name} was told; nothing was shared.",
        "refused_title": "Not accepted",
        "refused": "{name} did not accept the details",
        "continue_to": "Continue to {host}",
        "prefix_x509_hash": "X.509 certificate (hash)",
        "prefix_x509_san_dns": "X.509 certificate (DNS name)",
        "prefix_decentralized_identifier": "Decentralized identifier (DID)",
        "prefix_redirect_uri": "Address (unsigned)",
        "expires": "valid until",
        "report": "Tell the service about the error",
        "reported_title": "Error reported",
        "reported": "The service was told its request is faulty. Nothing was shared.",
    },
}


def default_verifier_policy(allow_http_loopback: bool | None) -> WalletRequestPolicy:
    """Whom the web wallet trusts to sign requests: the CAs in GOVSSI_WALLET_VERIFIER_CA (PEM files, ``os.pathsep``
    separated) for the x509 prefixes, did:key and did:jwk for ``decentralized_identifier``; plain HTTP to loopback
    and the unsigned ``redirect_uri`` prefix only in development (GOVSSI_DEV_ALLOW_HTTP)."""
    from ssi.did import default_resolver
    from ssi.x509 import load_pem_certificates

    paths = [Path(p) for p in os.environ.get(VERIFIER_CA_ENV, "").split(os.pathsep) if p.strip()]
    anchors = [cert for path in paths for cert in load_pem_certificates(path.read_bytes())]
    dev = dev_http_allowed() if allow_http_loopback is None else allow_http_loopback
    return WalletRequestPolicy(
        x509_anchors=anchors,
        did_resolver=default_resolver(),
        allow_http_loopback=dev,
        allow_redirect_uri=dev_http_allowed(),
    )


@dataclass(frozen=True)
class WebHooks:
    """What the presentation pages use of the web app (its closures in :func:`create_wallet_app`)."""

    start: Callable[[Request], Any]
    render: Callable[..., HTMLResponse]
    bad_form: Callable[[Any], HTMLResponse]
    wallet_page: Callable[[Any], HTMLResponse | None]
    data_dir: Path
    wallet_options: Mapping[str, Any]
    verifier_policy: WalletRequestPolicy
    #: DCQL ``trusted_authorities`` matchers beyond ``aki`` (``wallet_sim.oid4vp.trust``)
    authorities: Mapping[str, AuthorityMatcher] | None = None


@dataclass
class _Flow:
    session_id: str
    wallet: Wallet
    proposal: Proposal
    created: float = 0.0
    done: bool = False


@dataclass
class _Flows:
    by_id: dict[str, _Flow] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, flow: _Flow) -> str:
        with self.lock:
            mine = sorted((f.created, k) for k, f in self.by_id.items() if f.session_id == flow.session_id)
            for _, key in mine[: max(0, len(mine) - MAX_FLOWS_PER_SESSION + 1)]:
                del self.by_id[key]
            flow_id = secrets.token_urlsafe(12)
            self.by_id[flow_id] = flow
            return flow_id

    def take(self, flow_id: str, session: Any) -> _Flow | None:
        """The flow if it belongs to this session and its open wallet; removed (each request is answered once)."""
        with self.lock:
            flow = self.by_id.get(flow_id)
            if flow is None or flow.session_id != session.id or flow.wallet is not session.wallet:
                return None
            del self.by_id[flow_id]
            return flow

    def peek(self, flow_id: str, session: Any) -> _Flow | None:
        with self.lock:
            flow = self.by_id.get(flow_id)
            if flow is None or flow.session_id != session.id or flow.wallet is not session.wallet:
                return None
            return flow


async def _form(request: Request, session: Any, max_fields: int = 200) -> dict[str, list[str]] | None:
    """The POSTed form (every value of repeated fields) if its CSRF token is the session's and its Origin (when
    sent) is ours — the same rules as the web app's other forms, with room for one checkbox per claim."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > 64 * 1024):
        return None
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        return None
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return None
    try:
        data = await request.form(max_files=0, max_fields=max_fields, max_part_size=32 * 1024)
    except Exception:  # malformed or too many fields: the form is simply invalid
        return None
    token = data.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
        return None
    out: dict[str, list[str]] = {}
    for key, value in data.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


def _value_text(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return {"de": "ja" if value else "nein", "en": "yes" if value else "no"}[lang]
    if isinstance(value, dict):
        return ", ".join(_value_text(v, lang) for v in value.values())
    if isinstance(value, list):
        return ", ".join(_value_text(v, lang) for v in value)
    return str(value)


def _label(display: Mapping[str, Any], path: tuple[Any, ...], lang: str) -> str:
    """The issuer's label for a claim path (its nearest labelled ancestor's for array elements)."""
    concrete = [p for p in path if p is not None and not isinstance(p, int)]
    parts = []
    for depth in range(1, len(concrete) + 1):
        label = claim_label(display, concrete[:depth], lang)
        if label is not None:
            parts.append(label)
    return " – ".join(parts) or path_text(path)


def _claim_rows(proposal: Proposal, query_id: str, stored: Any, lang: str) -> list[dict[str, Any]]:
    """The claims credential ``stored`` would disclose for ``query_id``, each with its label and its value there."""
    rows = []
    for claim in proposal.claims(query_id, stored.id):
        values = [s.value for s in select_claims(stored.claims, claim.path)] if claim.path else []
        rows.append(
            {
                "name": claim.name,
                "label": _label(stored.display, claim.path, lang),
                "value": _value_text(values[0] if len(values) == 1 else values, lang) if values else "",
                "required": claim.required,
                "checked": claim.default,
            }
        )
    return rows


def consent_model(proposal: Proposal, wallet: Wallet, lang: str) -> dict[str, Any]:
    """Everything the consent screen shows, computed from the verified request and the wallet's credentials: per
    Credential Query its candidates, each with the values it would disclose (``values``), and the claims."""
    resolved = proposal.resolved
    verifier = resolved.verifier
    queries = []
    for choice in proposal.queries():
        candidates = []
        for credential_id in choice.candidates:
            stored = wallet.credential(credential_id)
            rows = _claim_rows(proposal, choice.query_id, stored, lang)
            candidates.append(
                {
                    "id": credential_id,
                    "name": stored.name(lang),
                    "issuer": stored.issuer_name(lang),
                    "expires_at": stored.expires_at,
                    "values": [r for r in rows if r["value"]],
                    "claims": rows,
                }
            )
        # Candidates can satisfy different claim_sets alternatives (§6.4.1): one holds an optional claim another
        # lacks. Then each candidate lists its own claims (its checkboxes named per credential), so that what the
        # screen offers is what the chosen credential would disclose.
        shapes = {tuple((r["name"], r["required"]) for r in c["claims"]) for c in candidates}
        queries.append(
            {
                "id": choice.query_id,
                "required": choice.default,
                "multiple": choice.multiple,
                "candidates": candidates,
                "show_values": len(candidates) == 1,
                "claims": candidates[0]["claims"],
                "claims_per_candidate": len(shapes) > 1,
            }
        )
    return {
        "verifier": {
            "name": verifier.name,
            "client_id": verifier.client_id,
            "prefix": verifier.prefix,
            "authenticated": verifier.authenticated,
        },
        "purposes": resolved.purposes_in(lang),
        "response_host": resolved.response_host,
        "encrypted": resolved.encrypted,
        "satisfiable": proposal.satisfiable,
        "queries": queries,
    }


def _choice(proposal: Proposal, data: Mapping[str, list[str]]) -> dict[str, Any]:
    """The consent form as :meth:`Proposal.choose` arguments: ``include`` (optional Credential Queries checked),
    ``use:<query>`` (the credential chosen — the credentials left checked, for a ``multiple`` query with several
    candidates: none checked is an error, never "all"), ``claim:<query>`` (the optional claims left checked)."""
    include = [v for v in data.get("include", []) if v]
    credentials: dict[str, str | list[str]] = {}
    disclose: dict[str, list[str]] = {}
    chosen = {q.query_id for q in proposal.queries() if q.default} | set(include)
    for query in proposal.queries():
        if query.query_id not in chosen:
            continue
        picked = data.get(f"use:{query.query_id}", [])
        if query.multiple and len(query.candidates) > 1:
            credentials[query.query_id] = picked
        elif picked:
            credentials[query.query_id] = picked[0]
        used = proposal.candidates_for(query.query_id, credentials.get(query.query_id))  # DcqlError: shown
        if any(not c.required for credential_id in used for c in proposal.claims(query.query_id, credential_id)):
            # the shared list (``claim:<query>``) or, where candidates differ, each used credential's own
            # (``claim:<query>:<credential>``); a claim left checked under a credential not used counts for nothing
            checked = list(data.get(f"claim:{query.query_id}", []))
            for credential_id in used:
                checked.extend(data.get(f"claim:{query.query_id}:{credential_id}", []))
            disclose[query.query_id] = list(dict.fromkeys(checked))
    return {"include": include, "credentials": credentials, "disclose": disclose}


def install_presentation(app: FastAPI, hooks: WebHooks) -> None:
    """Register the presentation routes on the web wallet ``app``."""
    flows = _Flows()
    reports: dict[str, tuple[str, AnswerableInvalidRequest]] = {}
    policy = hooks.verifier_policy

    def render(session: Any, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return hooks.render(session, template, status=status, p=TEXT[session.lang], **values)

    def start_page(
        session: Any, error: str | None = None, link: str = "", status: int = 200, report: str | None = None
    ) -> HTMLResponse:
        title = TEXT[session.lang]["start_title"]
        return render(session, "present_start.html", status, title=title, error=error, link=link, report=report)

    def consent_page(session: Any, flow_id: str, flow: _Flow, error: str | None = None) -> HTMLResponse:
        model = consent_model(flow.proposal, flow.wallet, session.lang)
        return render(
            session,
            "present_consent.html",
            400 if error else 200,
            title=TEXT[session.lang]["consent_title"],
            flow=flow_id,
            model=model,
            error=error,
        )

    def result_page(session: Any, flow: _Flow, outcome: PresentationOutcome) -> HTMLResponse:
        p = TEXT[session.lang]
        name = flow.proposal.resolved.verifier.name
        kind = {"sent": "sent", "declined": "declined"}.get(outcome.status, "refused")
        message = p[kind].format(name=name)
        if kind == "refused":
            message += f": {outcome.error_description or outcome.error or ''} ({outcome.reason or outcome.error})"
        host = urlsplit(outcome.redirect_uri).netloc if outcome.redirect_uri else None
        return render(
            session,
            "present_result.html",
            200 if kind != "refused" else 400,
            title=p[f"{kind}_title"],
            message=message,
            kind=kind,
            redirect_uri=outcome.redirect_uri,
            continue_text=p["continue_to"].format(host=host) if host else None,
        )

    async def resolve(session: Any, link: str) -> Response:
        wallet = session.wallet
        assert wallet is not None

        def work() -> Proposal:
            with PresentationClient(policy) as client:
                return propose(wallet, client.resolve(link), authorities=hooks.authorities)

        try:
            proposal = await run_in_threadpool(work)
        except AnswerableInvalidRequest as exc:
            # §8.2/§8.4: an authenticated verifier's invalid request may be answered with invalid_request — when the
            # user says so (§15.1)
            report_id = secrets.token_urlsafe(12)
            with flows.lock:
                reports[report_id] = (session.id, exc)
            error = flow_error_message(exc, session.lang)
            return start_page(session, error=error, link=link, status=400, report=report_id)
        except SsiError as exc:
            return start_page(session, error=flow_error_message(exc, session.lang), link=link, status=400)
        flow = _Flow(session.id, wallet, proposal, created=time.monotonic())
        flow_id = flows.add(flow)
        return consent_page(session, flow_id, flow)

    @app.get("/present", response_class=HTMLResponse)
    def present_start(request: Request) -> Response:
        session = hooks.start(request)
        return hooks.wallet_page(session) or start_page(session)

    @app.post("/present")
    async def present_link(request: Request) -> Response:
        session = hooks.start(request)
        data = await _form(request, session)
        if data is None:
            return hooks.bad_form(session)
        page = hooks.wallet_page(session)
        if page is not None:
            return page
        link = (data.get("link") or [""])[0].strip()
        if not link:
            return start_page(session, error=TEXT[session.lang]["link_hint"], status=400)
        return await resolve(session, link)

    @app.get("/openid4vp", response_class=HTMLResponse)
    def same_device(request: Request) -> Response:
        """The same-device invocation: the request's parameters in the query; nothing is fetched on a GET."""
        session = hooks.start(request)
        link = "openid4vp://?" + urlencode(list(request.query_params.multi_items()))
        if not Wallet.exists(hooks.data_dir):
            return hooks.wallet_page(session) or hooks.bad_form(session)  # the set-up page first
        return render(
            session,
            "present_open.html",
            title=TEXT[session.lang]["open_title"],
            link=link,
            locked=session.wallet is None,
        )

    @app.post("/present/unlock")
    async def unlock_and_resolve(request: Request) -> Response:
        session = hooks.start(request)
        data = await _form(request, session)
        if data is None:
            return hooks.bad_form(session)
        link = (data.get("link") or [""])[0].strip()
        pin = (data.get("pin") or [""])[0]
        if session.wallet is None:
            try:
                wallet = await run_in_threadpool(lambda: Wallet.open(hooks.data_dir, pin, **hooks.wallet_options))
            except WalletPinError as exc:
                return render(
                    session,
                    "present_open.html",
                    400,
                    title=TEXT[session.lang]["open_title"],
                    link=link,
                    locked=True,
                    error=flow_error_message(exc, session.lang),
                )
            session.close()
            session.wallet = wallet
        return await resolve(session, link)

    async def decided(request: Request, flow_id: str, approve: bool) -> Response:
        session = hooks.start(request)
        data = await _form(request, session)
        if data is None:
            return hooks.bad_form(session)
        page = hooks.wallet_page(session)
        if page is not None:
            return page
        flow = flows.peek(flow_id, session)
        if flow is None:
            return hooks.bad_form(session)
        proposal = flow.proposal
        selection = None
        if approve:
            try:
                selection = proposal.choose(**_choice(proposal, data))
            except DcqlError as exc:
                return consent_page(session, flow_id, flow, error=flow_error_message(exc, session.lang))
        if flows.take(flow_id, session) is None:  # answered in another tab meanwhile
            return hooks.bad_form(session)

        def send() -> PresentationOutcome:
            with PresentationClient(policy) as client:
                if selection is not None:
                    return present(flow.wallet, client, proposal, selection)
                return client.decline(proposal.resolved)

        try:
            outcome = await run_in_threadpool(send)
        except SsiError as exc:
            outcome = PresentationOutcome(
                "refused", error=exc.code, error_description=exc.description, reason=exc.reason
            )
        return result_page(session, flow, outcome)

    @app.post("/present/report/{report_id}")
    async def report(request: Request, report_id: str) -> Response:
        session = hooks.start(request)
        data = await _form(request, session)
        if data is None:
            return hooks.bad_form(session)
        with flows.lock:
            entry = reports.get(report_id)
            if entry is None or entry[0] != session.id:
                return hooks.bad_form(session)
            del reports[report_id]

        def send() -> PresentationOutcome | None:
            with PresentationClient(policy) as client:
                return client.report_invalid(entry[1])

        try:
            outcome = await run_in_threadpool(send)
        except SsiError as exc:
            return start_page(session, error=flow_error_message(exc, session.lang), status=400)
        p = TEXT[session.lang]
        host = urlsplit(outcome.redirect_uri).netloc if outcome and outcome.redirect_uri else None
        return render(
            session,
            "present_result.html",
            title=p["reported_title"],
            message=p["reported"],
            kind="reported",
            redirect_uri=outcome.redirect_uri if outcome else None,
            continue_text=p["continue_to"].format(host=host) if host else None,
        )

    @app.post("/present/{flow_id}/approve")
    async def approve(request: Request, flow_id: str) -> Response:
        return await decided(request, flow_id, True)

    @app.post("/present/{flow_id}/decline")
    async def decline(request: Request, flow_id: str) -> Response:
        return await decided(request, flow_id, False)
