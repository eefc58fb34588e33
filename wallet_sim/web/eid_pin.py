"""The web wallet's card PIN pages: change the transport PIN (or the PIN) of a simulated eID card and unblock it with
the PUK — what ``govssi wallet eid change-pin`` and ``unblock`` do, in the browser. Registered by
:func:`wallet_sim.web.pid.install_pid`; the PID start page links here, and choosing a card that still carries its
transport PIN for the PID leads here first.

The card's rules (BSI TR-03127 §3.3, :mod:`wallet_sim.eid.card`): the 5-digit transport PIN "can only be used to set
an operational eID PIN" (§3.3.3), so it is changed to a 6-digit PIN before the first eID use; every wrong PIN counts
down the retry counter (3); after the second wrong PIN "the third attempt to enter the PIN is not enabled until the
CAN printed on the card has been successfully entered" (§3.3.3); after the third the PIN is blocked and the 10-digit
PUK resets the counter (§3.3.5, ten uses at most).

- ``GET /pid/cards/{card}`` — the card's name and state; the form that fits it: old PIN (5 digits while the transport
  PIN is active, else 6), the new 6-digit PIN twice, and the CAN field once two wrong PINs were entered; the PUK form
  when the PIN is blocked; only a message once the PUK is used up.
- ``POST /pid/cards/{card}/pin`` — the two new PINs must agree and every field must have its number of digits before
  anything reaches the card (so a typo costs no attempt); the card's refusal is shown in the citizen's language with
  the attempts left. Success: back to the PID start page with the card chosen.
- ``POST /pid/cards/{card}/unblock`` — the PUK (each use, right or wrong, counts on the card).

The same session, CSRF and Origin rules as every other form of the web wallet apply (:func:`wallet_sim.web.present`).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ssi.errors import SsiError
from wallet_sim.eid import EidCards
from wallet_sim.eid.card import CardState, EidCard
from wallet_sim.web.present import WebHooks, _form

__all__ = ["TEXT", "card_refusal", "install_card_pin"]

TEXT: Final[dict[str, dict[str, str]]] = {
    "de": {
        "title_transport": "Transport-PIN ändern",
        "title_pin": "Ausweis-PIN ändern",
        "title_unblock": "PIN mit der PUK entsperren",
        "title_exhausted": "Ausweis gesperrt",
        "manage": "Ausweis vorbereiten",
        "link_transport": "Transport-PIN ändern",
        "link_pin": "PIN ändern",
        "link_unblock": "Mit PUK entsperren",
        "intro_transport": "Ihr Ausweis hat noch die fünfstellige Transport-PIN aus dem PIN-Brief. Ersetzen Sie sie "
        "vor dem ersten Gebrauch durch eine eigene sechsstellige PIN.",
        "intro_pin": "Ersetzen Sie Ihre sechsstellige Ausweis-PIN durch eine neue.",
        "intro_unblock": "Die PIN wurde dreimal falsch eingegeben und ist gesperrt. Die zehnstellige PUK aus dem "
        "PIN-Brief setzt den Fehlbedienungszähler zurück; die PIN bleibt dieselbe.",
        "intro_exhausted": "Die PIN ist gesperrt und die PUK wurde zehnmal verwendet. Der Ausweis kann nicht mehr "
        "entsperrt werden.",
        "card": "Ausweis",
        "state": "Zustand",
        "tries_left": "Verbleibende PIN-Versuche",
        "old_transport": "Transport-PIN (5 Ziffern)",
        "old_pin": "Bisherige PIN (6 Ziffern)",
        "old_hint": "Die PIN geht nur an den Ausweis.",
        "new": "Neue PIN (6 Ziffern)",
        "new_again": "Neue PIN wiederholen",
        "can": "Zugangsnummer (CAN, 6 Ziffern)",
        "can_hint": "Nach zwei falschen PINs nötig. Sie steht vorne auf dem Ausweis.",
        "change": "PIN ändern",
        "puk": "PUK (10 Ziffern)",
        "unblock": "Entsperren",
        "changed": "Die PIN von {name} ist geändert. Sie können jetzt den PID holen.",
        "unblocked": "Der Ausweis von {name} ist entsperrt: {tries} PIN-Versuche (noch {uses} PUK-Verwendungen).",
        "first_transport": "Ändern Sie zuerst die Transport-PIN dieses Ausweises.",
        "back_pid": "Zurück zum PID",
        "digits": "{what}: bitte genau {n} Ziffern eingeben.",
        "pins_differ": "Die beiden neuen PINs stimmen nicht überein.",
        "wrong_transport": "Die Transport-PIN ist falsch. Noch {left} Versuche.",
        "wrong_pin": "Die PIN ist falsch. Noch {left} Versuche.",
        "wrong_last": "Die PIN ist falsch. Noch ein Versuch: geben Sie dafür zuerst die Zugangsnummer (CAN) ein.",
        "wrong_blocked": "Die PIN ist falsch und jetzt gesperrt. Entsperren Sie sie mit der PUK.",
        "can_required": "Zwei falsche PINs: geben Sie zuerst die Zugangsnummer (CAN) ein.",
        "wrong_can": "Die Zugangsnummer (CAN) ist falsch. Das kostet keinen PIN-Versuch.",
        "blocked": "Die PIN ist gesperrt. Entsperren Sie sie mit der PUK.",
        "exhausted": "Die PIN ist gesperrt und die PUK verbraucht.",
        "wrong_puk": "Die PUK ist falsch. Noch {uses} PUK-Verwendungen.",
        "unknown_card": "Diesen Ausweis gibt es nicht.",
    },
    "en": {
        "title_transport": "Change the transport PIN",
        "title_pin": "Change the card PIN",
        "title_unblock": "Unblock the PIN with the PUK",
        "title_exhausted": "Card blocked",
        "manage": "Prepare your card",
        "link_transport": "change the transport PIN",
        "link_pin": "change the PIN",
        "link_unblock": "unblock with the PUK",
        "intro_transport": "Your card still has the five-digit transport PIN from the PIN letter. Replace it with "
        "your own six-digit PIN before the first use.",
        "intro_pin": "Replace your six-digit card PIN with a new one.",
        "intro_unblock": "The PIN was entered wrongly three times and is blocked. The ten-digit PUK from the PIN "
        "letter resets the retry counter; the PIN stays the same.",
        "intro_exhausted": "The PIN is blocked and the PUK has been used ten times. The card cannot be unblocked "
        "any more.",
        "card": "ID card",
        "state": "State",
        "tries_left": "PIN attempts left",
        "old_transport": "Transport PIN (5 digits)",
        "old_pin": "Current PIN (6 digits)",
        "old_hint": "The PIN goes to the card only.",
        "new": "New PIN (6 digits)",
        "new_again": "Repeat the new PIN",
        "can": "Card access number (CAN, 6 digits)",
        "can_hint": "Needed after two wrong PINs. It is printed on the front of the card.",
        "change": "Change PIN",
        "puk": "PUK (10 digits)",
        "unblock": "Unblock",
        "changed": "The PIN of {name} was changed. You can now get the PID.",
        "unblocked": "The card of {name} is unblocked: {tries} PIN attempts ({uses} PUK uses left).",
        "first_transport": "Change this card's transport PIN first.",
        "back_pid": "Back to the PID",
        "digits": "{what}: please enter exactly {n} digits.",
        "pins_differ": "The two new PINs differ.",
        "wrong_transport": "The transport PIN is wrong. {left} attempts left.",
        "wrong_pin": "The PIN is wrong. {left} attempts left.",
        "wrong_last": "The PIN is wrong. One attempt left: enter the card access number (CAN) first.",
        "wrong_blocked": "The PIN is wrong and now blocked. Unblock it with the PUK.",
        "can_required": "Two wrong PINs: enter the card access number (CAN) first.",
        "wrong_can": "The card access number (CAN) is wrong. That costs no PIN attempt.",
        "blocked": "The PIN is blocked. Unblock it with the PUK.",
        "exhausted": "The PIN is blocked and the PUK is used up.",
        "wrong_puk": "The PUK is wrong. {uses} PUK uses left.",
        "unknown_card": "There is no such card.",
    },
}


def _digits(value: str, n: int) -> bool:
    return len(value) == n and value.isascii() and value.isdigit()


def card_refusal(exc: SsiError, card: EidCard, transport: bool, q: dict[str, str]) -> str:
    """The card's refusal in the citizen's language (with the attempts the card now has left)."""
    status = card.status()
    reason = exc.reason
    if reason == "eid_wrong_pin":
        if status.retry_counter == 0:
            return q["wrong_blocked"]
        if status.retry_counter == 1:
            return q["wrong_last"]
        return q["wrong_transport" if transport else "wrong_pin"].format(left=status.retry_counter)
    if reason == "eid_wrong_puk":
        return q["wrong_puk"].format(uses=status.puk_uses_left)
    messages = {
        "eid_can_required": "can_required",
        "eid_wrong_can": "wrong_can",
        "eid_pin_blocked": "blocked",
        "eid_puk_exhausted": "exhausted",
        "eid_transport_pin_active": "first_transport",
    }
    return q[messages[reason]] if reason in messages else exc.description


def install_card_pin(app: FastAPI, hooks: WebHooks, cards: EidCards, pid_text: dict[str, dict[str, str]]) -> None:
    """Register the card PIN routes on the web wallet ``app`` (``pid_text``: the PID pages' texts, for the states)."""

    def page(session: Any, card: EidCard, *, error: str | None = None, issuer: str = "") -> HTMLResponse:
        q = TEXT[session.lang]
        described = card.describe()
        state = described["state"]
        transport = not card.status().pin_activated
        if state == CardState.PUK_EXHAUSTED:
            title = q["title_exhausted"]
        elif state == CardState.BLOCKED:
            title = q["title_unblock"]
        else:
            title = q["title_transport" if transport else "title_pin"]
        return hooks.render(
            session,
            "eid_pin.html",
            status=400 if error else 200,
            title=title,
            q=q,
            state_text=pid_text[session.lang].get(f"state_{state}", state),
            c=described,
            transport=transport,
            error=error,
            issuer=issuer,
        )

    def load(session: Any, card_id: str) -> EidCard | HTMLResponse:
        try:
            return cards.card(card_id)
        except SsiError:
            q = TEXT[session.lang]
            return hooks.render(session, "message.html", status=404, title=q["card"], message=q["unknown_card"])

    def done(session: Any, message: str, card_id: str, issuer: str) -> RedirectResponse:
        session.flash = message
        query = {"card": card_id} | ({"issuer": issuer} if issuer else {})
        return RedirectResponse(f"/pid?{urlencode(query)}", status_code=303)

    @app.get("/pid/cards/{card_id}", response_class=HTMLResponse)
    def card_page(request: Request, card_id: str) -> Response:
        session = hooks.start(request)
        blocked = hooks.wallet_page(session)
        if blocked is not None:
            return blocked
        card = load(session, card_id)
        if isinstance(card, HTMLResponse):
            return card
        return page(session, card, issuer=request.query_params.get("issuer", "")[:500])

    @app.post("/pid/cards/{card_id}/pin")
    async def change_pin(request: Request, card_id: str) -> Response:
        session = hooks.start(request)
        data = await _form(request, session, max_fields=10)
        if data is None:
            return hooks.bad_form(session)
        blocked = hooks.wallet_page(session)
        if blocked is not None:
            return blocked
        card = load(session, card_id)
        if isinstance(card, HTMLResponse):
            return card
        q = TEXT[session.lang]
        field = {key: (data.get(key) or [""])[0].strip() for key in ("old", "new", "new_again", "can", "issuer")}
        issuer = field["issuer"][:500]
        transport = not card.status().pin_activated
        checks = [
            ("old", q["old_transport" if transport else "old_pin"], 5 if transport else 6),
            ("new", q["new"], 6),
        ] + ([("can", q["can"], 6)] if field["can"] else [])
        for key, label, n in checks:
            if not _digits(field[key], n):
                return page(session, card, error=q["digits"].format(what=label.split(" (")[0], n=n), issuer=issuer)
        if field["new"] != field["new_again"]:
            return page(session, card, error=q["pins_differ"], issuer=issuer)
        try:
            await run_in_threadpool(card.change_pin, field["old"], field["new"], can=field["can"] or None)
        except SsiError as exc:
            return page(session, card, error=card_refusal(exc, card, transport, q), issuer=issuer)
        return done(session, q["changed"].format(name=card.describe()["name"]), card_id, issuer)

    @app.post("/pid/cards/{card_id}/unblock")
    async def unblock(request: Request, card_id: str) -> Response:
        session = hooks.start(request)
        data = await _form(request, session, max_fields=10)
        if data is None:
            return hooks.bad_form(session)
        blocked = hooks.wallet_page(session)
        if blocked is not None:
            return blocked
        card = load(session, card_id)
        if isinstance(card, HTMLResponse):
            return card
        q = TEXT[session.lang]
        puk = (data.get("puk") or [""])[0].strip()
        issuer = (data.get("issuer") or [""])[0].strip()[:500]
        if not _digits(puk, 10):
            return page(session, card, error=q["digits"].format(what="PUK", n=10), issuer=issuer)
        try:
            await run_in_threadpool(card.unblock, puk)
        except SsiError as exc:
            return page(session, card, error=card_refusal(exc, card, False, q), issuer=issuer)
        status = card.status()
        message = q["unblocked"].format(
            name=card.describe()["name"], tries=status.retry_counter, uses=status.puk_uses_left
        )
        return done(session, message, card_id, issuer)
