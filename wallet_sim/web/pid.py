"""The web wallet's PID pages: receive the PID through the simulated eID card (:mod:`wallet_sim.pid`). Registered
by :func:`install_pid` from :func:`wallet_sim.web.app.create_wallet_app`.

- ``GET /pid`` — the PID provider's address (``GOVSSI_WALLET_PID_ISSUER`` prefills it; ``?issuer=`` and ``?card=``
  when coming back from a card's PIN page) and a choice of test card (name and PIN state of each), with a link to each
  card's PIN page (:mod:`wallet_sim.web.eid_pin`: change the transport PIN, change the PIN, unblock with the PUK).
- ``POST /pid`` — a card that still has its transport PIN (or whose PIN is blocked) leads to its PIN page first:
  the transport PIN "can only be used to set an operational eID PIN" (TR-03127 §3.3.3). Otherwise PAR with the
  wallet attestation and the authorization request: the provider answers with its eID request. The eID client page
  shows **who asks** (the provider's name, address and terms from its terminal certificate, checked by the card
  later) and **what** (required data listed, optional data as checked checkboxes the citizen may clear — never add),
  and the **PIN pad** (a numeric field, ``inputmode="numeric"``; the CAN field
  after two wrong PINs). Nothing has left the card yet.
- ``POST /pid/{flow}/approve`` — the card answers with the PIN; the provider verifies it; token, credentials, stored;
  the PID's page follows. A wrong PIN shows the consent page again with the card's answer (the eID session stays
  open until it expires). ``POST /pid/{flow}/decline`` — nothing is read from the card; the flow's keys are deleted.

The same session, CSRF and Origin rules as every other form of the web wallet apply (:func:`wallet_sim.web.present`).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ssi.eid import DataGroup
from ssi.errors import SsiError
from wallet_sim.eid import EidCards, describe_request
from wallet_sim.eid.client import RequestDescription
from wallet_sim.pid import REDIRECT_URI, PidAuthorization, PidClient
from wallet_sim.wallet import Wallet
from wallet_sim.web.eid_pin import TEXT as PIN_TEXT
from wallet_sim.web.eid_pin import card_refusal, install_card_pin
from wallet_sim.web.i18n import flow_error_message
from wallet_sim.web.present import WebHooks, _form

__all__ = ["PID_ISSUER_ENV", "TEXT", "install_pid"]

PID_ISSUER_ENV: Final = "GOVSSI_WALLET_PID_ISSUER"
MAX_FLOWS_PER_SESSION: Final = 4

TEXT: dict[str, dict[str, str]] = {
    "de": {
        "get_pid": "Personalausweis-PID holen",
        "start_title": "PID mit dem Online-Ausweis",
        "start_intro": "Ihr PID (Personenidentifikationsdaten) wird aus Ihrem Ausweis ausgestellt. Wählen Sie den "
        "PID-Anbieter und Ihren (Test-)Ausweis.",
        "issuer": "Adresse des PID-Anbieters",
        "issuer_hint": "z. B. https://pid.example/issuers/pid",
        "card": "Ausweis",
        "state_transport_pin": "Transport-PIN noch nicht geändert",
        "state_active": "bereit",
        "state_can_required": "CAN nötig",
        "state_blocked": "gesperrt (PUK nötig)",
        "state_puk_exhausted": "gesperrt",
        "consent_title": "Online-Ausweis",
        "asks": "Dieser Anbieter möchte Daten aus Ihrem Ausweis lesen",
        "terms": "Zweck",
        "certificate": "Berechtigungszertifikat",
        "required": "Diese Daten werden gelesen",
        "optional": "Freiwillige Angaben (abwählbar)",
        "pin": "Ausweis-PIN (6 Ziffern)",
        "pin_hint": "Die PIN geht nur an den Ausweis, nicht an den Anbieter.",
        "can": "Zugangsnummer (CAN, nur nach zwei falschen PINs)",
        "approve": "Mit PIN freigeben",
        "decline": "Abbrechen",
        "declined": "Abgebrochen. Vom Ausweis wurde nichts gelesen.",
        "stored": "Ihr PID ist gespeichert.",
        "expired": "Dieser Vorgang ist abgelaufen oder beendet. Bitte beginnen Sie neu.",
        "issuer_required": "Bitte geben Sie die Adresse des PID-Anbieters an.",
    },
    "en": {
        "get_pid": "Get the ID card PID",
        "start_title": "PID with the eID",
        "start_intro": "Your PID (person identification data) is issued from your ID card. Choose the PID provider "
        "and your (test) card.",
        "issuer": "PID provider address",
        "issuer_hint": "e.g. https://pid.example/issuers/pid",
        "card": "ID card",
        "state_transport_pin": "transport PIN not changed yet",
        "state_active": "ready",
        "state_can_required": "CAN needed",
        "state_blocked": "blocked (PUK needed)",
        "state_puk_exhausted": "blocked",
        "consent_title": "eID",
        "asks": "This provider asks to read data from your ID card",
        "terms": "Purpose",
        "certificate": "Authorization certificate",
        "required": "This data will be read",
        "optional": "Optional data (you may clear it)",
        "pin": "Card PIN (6 digits)",
        "pin_hint": "The PIN goes to the card only, not to the provider.",
        "can": "Card access number (CAN, only after two wrong PINs)",
        "approve": "Release with PIN",
        "decline": "Cancel",
        "declined": "Cancelled. Nothing was read from the card.",
        "stored": "Your PID is stored.",
        "expired": "This request has expired or ended. Please start again.",
        "issuer_required": "Please enter the PID provider's address.",
    },
}


@dataclass
class _Flow:
    session_id: str
    wallet: Wallet
    client: PidClient
    flow: PidAuthorization
    activation: dict[str, Any]
    card_id: str
    created: float = field(default_factory=time.monotonic)


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

    def get(self, flow_id: str, session: Any, *, remove: bool = False) -> _Flow | None:
        with self.lock:
            flow = self.by_id.get(flow_id)
            if flow is None or flow.session_id != session.id or flow.wallet is not session.wallet:
                return None
            if remove:
                del self.by_id[flow_id]
            return flow


def install_pid(app: FastAPI, hooks: WebHooks) -> None:
    """Register the PID routes on the web wallet ``app``."""
    flows = _Flows()
    cards = EidCards(hooks.data_dir / "eid")
    install_card_pin(app, hooks, cards, TEXT)

    def render(session: Any, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return hooks.render(session, template, status=status, q=TEXT[session.lang], **values)

    def start_page(
        session: Any, *, error: str | None = None, issuer: str = "", status: int = 200, chosen: str = ""
    ) -> HTMLResponse:
        described = [card.describe() | {"transport": not card.status().pin_activated} for card in cards]
        if not any(card["id"] == chosen for card in described):
            chosen = described[0]["id"] if described else ""
        return render(
            session,
            "pid_start.html",
            status,
            title=TEXT[session.lang]["start_title"],
            error=error,
            issuer=issuer or os.environ.get(PID_ISSUER_ENV, ""),
            cards=described,
            chosen=chosen,
            p=PIN_TEXT[session.lang],
        )

    def consent_page(session: Any, flow_id: str, flow: _Flow, error: str | None = None) -> HTMLResponse:
        description: RequestDescription = describe_request(flow.activation["eid_request"], lang=session.lang)
        return render(
            session,
            "pid_consent.html",
            400 if error else 200,
            title=TEXT[session.lang]["consent_title"],
            flow=flow_id,
            d=description,
            card=flow.card_id,
            error=error,
        )

    def discard(flow: _Flow) -> None:
        flow.wallet.secure_element.delete_provisional([flow.flow.dpop.key_id, flow.flow.attestation.instance.key_id])

    @app.get("/pid", response_class=HTMLResponse)
    def pid_start(request: Request) -> Response:
        session = hooks.start(request)
        query = request.query_params
        return hooks.wallet_page(session) or start_page(
            session, issuer=query.get("issuer", "")[:500], chosen=query.get("card", "")
        )

    @app.post("/pid")
    async def pid_begin(request: Request) -> Response:
        session = hooks.start(request)
        data = await _form(request, session, max_fields=10)
        if data is None:
            return hooks.bad_form(session)
        page = hooks.wallet_page(session)
        if page is not None:
            return page
        wallet = session.wallet
        issuer = (data.get("issuer") or [""])[0].strip()
        card_id = (data.get("card") or [""])[0]
        if not issuer:
            return start_page(session, error=TEXT[session.lang]["issuer_required"], status=400, chosen=card_id)
        try:
            status = (await run_in_threadpool(cards.card, card_id)).status()
        except SsiError as exc:
            return start_page(session, error=flow_error_message(exc, session.lang), issuer=issuer, status=400)
        if not status.pin_activated or status.retry_counter == 0:  # the card's PIN page first
            pin_text = PIN_TEXT[session.lang]
            session.flash = pin_text["first_transport" if not status.pin_activated else "blocked"]
            return RedirectResponse(f"/pid/cards/{quote(card_id)}?{urlencode({'issuer': issuer})}", status_code=303)

        def work() -> tuple[PidClient, PidAuthorization, dict[str, Any]]:
            cards.card(card_id)  # an unknown card is refused before anything is sent
            client = PidClient(wallet)
            flow = client.begin(issuer)
            try:
                return client, flow, client.eid_activation(flow)
            except BaseException:
                wallet.secure_element.delete_provisional([flow.dpop.key_id, flow.attestation.instance.key_id])
                raise

        try:
            client, flow, activation = await run_in_threadpool(work)
        except SsiError as exc:
            return start_page(session, error=flow_error_message(exc, session.lang), issuer=issuer, status=400)
        entry = _Flow(session.id, wallet, client, flow, activation, card_id)
        return consent_page(session, flows.add(entry), entry)

    @app.post("/pid/{flow_id}/approve")
    async def pid_approve(request: Request, flow_id: str) -> Response:
        session = hooks.start(request)
        data = await _form(request, session, max_fields=40)
        if data is None:
            return hooks.bad_form(session)
        page = hooks.wallet_page(session)
        if page is not None:
            return page
        flow = flows.get(flow_id, session)
        if flow is None:
            return start_page(session, error=TEXT[session.lang]["expired"], status=400)
        pin = (data.get("pin") or [""])[0]
        can = (data.get("can") or [""])[0] or None
        released = set(data.get("release") or [])
        description = describe_request(flow.activation["eid_request"])
        deselect = [DataGroup(int(i.key[2:])) for i in description.optional if i.key not in released]

        def answer() -> str:
            return (
                cards.card(flow.card_id)
                .authenticate(flow.activation["eid_request"], pin, can=can, deselect=deselect)
                .encode()
            )

        try:
            response = await run_in_threadpool(answer)
        except SsiError as exc:  # the card refused (wrong PIN, CAN needed …): the eID session is still open
            card = await run_in_threadpool(cards.card, flow.card_id)
            transport = not (await run_in_threadpool(card.status)).pin_activated
            error = await run_in_threadpool(card_refusal, exc, card, transport, PIN_TEXT[session.lang])
            return consent_page(session, flow_id, flow, error=error)
        flows.get(flow_id, session, remove=True)

        def finish() -> str:
            client = flow.client
            code = client.code_from(flow.flow, client.send_eid_response(flow.activation, response))
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": flow.flow.verifier,
                "client_id": flow.flow.attestation.client_id,
            }
            grant, refresh_token = client.token(flow.flow, form, flow.flow.dpop.key_id)
            received = client.credentials(flow.flow, grant, None)
            return client.keep(flow.flow, received, refresh_token).id

        try:
            credential_id = await run_in_threadpool(finish)
        except SsiError as exc:
            discard(flow)
            return start_page(session, error=flow_error_message(exc, session.lang), status=400)
        session.flash = TEXT[session.lang]["stored"]
        return RedirectResponse(f"/credentials/{credential_id}", status_code=303)

    @app.post("/pid/{flow_id}/decline")
    async def pid_decline(request: Request, flow_id: str) -> Response:
        session = hooks.start(request)
        data = await _form(request, session, max_fields=10)
        if data is None:
            return hooks.bad_form(session)
        flow = flows.get(flow_id, session, remove=True)
        if flow is not None:
            await run_in_threadpool(discard, flow)
        session.flash = TEXT[session.lang]["declined"]
        return RedirectResponse("/", status_code=303)
