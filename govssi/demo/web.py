"""The demo's own pages: the start page (roles, live trust triangle, test identities), the ledger explorer and the
guided "Try it" journey, in German and English. Server-rendered (Jinja2), no JavaScript, accessible basics (landmarks,
skip link, labelled tables, visible focus, AA contrast)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from govssi.demo.explorer import ChainExplorer, ChainSnapshot

__all__ = ["Accreditation", "DemoRole", "TrustPicture", "create_demo_app"]

HERE = Path(__file__).parent


@dataclass(frozen=True)
class DemoRole:
    """A role on the start page: ``url`` is shown as its address, ``link`` (default: ``url``) is where the name
    leads — a page that answers a browser (a credential issuer identifier or a JSON-RPC endpoint does not)."""

    key: str
    url: str
    link: str = ""


@dataclass(frozen=True)
class Accreditation:
    issuer: str
    types: tuple[str, ...]
    state: str


@dataclass
class TrustPicture:
    dids: list[str] = field(default_factory=list)
    accreditations: list[Accreditation] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)


TEXT: dict[str, dict[str, str]] = {
    "de": {
        "skip": "Zum Inhalt springen",
        "tagline": "Selbstbestimmte Identität für die öffentliche Verwaltung",
        "language": "Sprache und Navigation",
        "start": "Start",
        "explorer": "Ledger-Explorer",
        "try_it": "Ausprobieren",
        "footer": "Demonstration auf localhost. Alle Personen und Schlüssel sind Testdaten.",
        "title_start": "govssi-Demo: das Vertrauensdreieck",
        "intro": "Alle Rollen laufen hier auf diesem Rechner: die Blockchain der Genossenschaft, ein PID-Anbieter, "
        "das Bürgeramt der Stadt Musterstadt, das Bürgerportal Musterstadt mit dem Verifier und die Wallet einer "
        "Bürgerin.",
        "roles": "Rollen",
        "triangle": "Vertrauensdreieck (live von der Chain)",
        "issuers": "Aussteller",
        "accredited": "Akkreditierungen",
        "wallet": "Wallet",
        "wallet_line": "hält Nachweise, zeigt nur, was gefragt und erlaubt ist",
        "verifier": "Verifier / Portal",
        "verifier_line": "prüft Signatur, Akkreditierung und Status über die Chain",
        "chain": "Chain",
        "block": "Block",
        "dids_anchored": "verankerte DIDs",
        "status_anchors": "Statuslisten-Anker",
        "accreditations": "Akkreditierte Aussteller",
        "issuer": "Aussteller",
        "types": "Nachweistypen",
        "state": "Zustand",
        "none_yet": "Noch keine.",
        "dids": "Verankerte DIDs",
        "identities": "Testidentitäten (simulierte Ausweise)",
        "card": "Karte",
        "name": "Name",
        "pins": "Transport-PIN / CAN / PUK",
        "note": "Besonderheit",
        "transport_pin": "Transport-PIN",
        "identities_intro": "Öffentliche Testwerte der simulierten Ausweise (keine echten Personen). Die Wallet "
        "verlangt beim ersten Gebrauch, die fünfstellige Transport-PIN durch eine sechsstellige PIN zu ersetzen.",
        "explorer_link": "Was genau steht auf der Chain? Zum Ledger-Explorer.",
        "title_explorer": "Ledger-Explorer",
        "explorer_intro": "Alles, was govssi auf die Chain schreibt, dekodiert: Adressen, Hashes, öffentliche "
        "Schlüssel, Nachweistypen, Zeitpunkte — keine personenbezogenen Daten.",
        "pd_check": "Prüfung auf personenbezogene Daten",
        "pd_found": "Personenbezogene Daten gefunden",
        "pd_clean": "%d Werte in %d Ereignissen gegen alle Daten der Testidentitäten geprüft: keine Treffer.",
        "events": "Ereignisse der govssi-Verträge (neueste zuerst)",
        "contract": "Vertrag",
        "event": "Ereignis",
        "data": "Daten",
        "blocks": "Neueste Blöcke",
        "hash": "Hash",
        "time": "Zeit (UTC)",
        "txs": "Transaktionen",
        "sealer": "Versiegelt von",
        "title_try": "Ausprobieren: eine Bürgerin, vier Schritte",
        "try_intro": "Die geführte Reise durch alle Rollen. Jeder Schritt öffnet die echte Seite des Dienstes.",
    },
    "en": {
        "skip": "Skip to content",
        "tagline": "self-sovereign identity for the public sector",
        "language": "Language and navigation",
        "start": "Start",
        "explorer": "Ledger explorer",
        "try_it": "Try it",
        "footer": "A demonstration on localhost. Every person and key here is test data.",
        "title_start": "govssi demo: the trust triangle",
        "intro": "Every role runs here on this machine: the cooperative's chain, a PID provider, the citizens' office "
        "of Stadt Musterstadt, the Bürgerportal Musterstadt with its verifier, and a citizen's wallet.",
        "roles": "Roles",
        "triangle": "Trust triangle (live from the chain)",
        "issuers": "Issuers",
        "accredited": "accreditations",
        "wallet": "Wallet",
        "wallet_line": "holds credentials, shows only what is asked for and approved",
        "verifier": "Verifier / portal",
        "verifier_line": "checks signature, accreditation and status through the chain",
        "chain": "Chain",
        "block": "block",
        "dids_anchored": "DIDs anchored",
        "status_anchors": "status list anchors",
        "accreditations": "Accredited issuers",
        "issuer": "Issuer",
        "types": "Credential types",
        "state": "State",
        "none_yet": "None yet.",
        "dids": "Anchored DIDs",
        "identities": "Test identities (simulated ID cards)",
        "card": "Card",
        "name": "Name",
        "pins": "Transport PIN / CAN / PUK",
        "note": "What it tests",
        "transport_pin": "Transport PIN",
        "identities_intro": "Public test values of the simulated ID cards (no real people). On first use the wallet "
        "asks to replace the five-digit transport PIN with a six-digit PIN.",
        "explorer_link": "What exactly is on the chain? Open the ledger explorer.",
        "title_explorer": "Ledger explorer",
        "explorer_intro": "Everything govssi writes to the chain, decoded: addresses, hashes, public keys, credential "
        "types, times — no personal data.",
        "pd_check": "Personal data check",
        "pd_found": "Personal data found",
        "pd_clean": "%d values in %d events checked against all data of the test identities: no hits.",
        "events": "Events of govssi's contracts (newest first)",
        "contract": "Contract",
        "event": "Event",
        "data": "Data",
        "blocks": "Latest blocks",
        "hash": "Hash",
        "time": "Time (UTC)",
        "txs": "Transactions",
        "sealer": "Sealed by",
        "title_try": "Try it: one citizen, four steps",
        "try_intro": "The guided journey through every role. Each step opens the service's real page.",
    },
}

ROLE_TEXT: dict[str, dict[str, tuple[str, str]]] = {
    "de": {
        "wallet": ("Wallet der Bürgerin", "Ausweis wählen, PID über die eID holen, Nachweise empfangen und vorzeigen."),
        "issuer_admin": ("Stadt Musterstadt — Bürgeramt", "Sachbearbeitung: Angebote erstellen, Nachweise widerrufen."),
        "pid": ("PID-Anbieter", "Stellt den Personenidentifikationsnachweis aus dem Personalausweis aus."),
        "portal": ("Bürgerportal Musterstadt", "Anmelden mit der Wallet; das Portal sieht nur Freigegebenes."),
        "verifier": ("Verifier (OpenID4VP)", "Prüft Nachweise für Portale; API-Dokumentation unter /docs."),
        "chain": ("Blockchain (JSON-RPC)", "Die PoA-Chain der Genossenschaft; siehe Ledger-Explorer."),
    },
    "en": {
        "wallet": ("Citizen's wallet", "Pick an ID card, get the PID via the eID, receive and present credentials."),
        "issuer_admin": ("Stadt Musterstadt — Bürgeramt", "Clerks: create offers, revoke credentials."),
        "pid": ("PID provider", "Issues the person identification data from the ID card."),
        "portal": ("Bürgerportal Musterstadt", "Log in with the wallet; the portal sees only what was released."),
        "verifier": ("Verifier (OpenID4VP)", "Verifies credentials for portals; API docs at /docs."),
        "chain": ("Chain (JSON-RPC)", "The cooperative's PoA chain; see the ledger explorer."),
    },
}


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in TEXT:
        return asked
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else "de"


def create_demo_app(
    *,
    roles: Sequence[DemoRole],
    explorer: ChainExplorer,
    trust: Callable[[ChainSnapshot], TrustPicture],
    identities: Sequence[dict[str, Any]],
    steps: Callable[[str], list[dict[str, str]]],
    sensitive: Sequence[str] = (),
    sealer: Callable[[dict[str, Any]], str] | None = None,
) -> FastAPI:
    """The start page ``/``, ``/explorer`` and ``/try``. ``trust`` turns a chain snapshot into the trust picture,
    ``steps(lang)`` gives the journey's steps, ``sealer`` names a block's signer (PoA)."""
    app = FastAPI(title="govssi demo", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))

    def render(name: str, request: Request, page: str, **context: Any) -> HTMLResponse:
        lang = _lang(request)
        text = TEXT[lang]
        body = env.get_template(name).render(lang=lang, t=text, page=page, title=text[f"title_{page}"], **context)
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

    def snapshot() -> ChainSnapshot:
        snap = explorer.snapshot(sensitive=sensitive)
        for block in snap.blocks:
            block["time_text"] = datetime.datetime.fromtimestamp(block["time"], tz=datetime.UTC).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
            block["sealer"] = sealer(block) if sealer else block.get("miner", "")
        return snap

    @app.get("/", response_class=HTMLResponse)
    def start(request: Request) -> HTMLResponse:
        lang = _lang(request)
        snap = snapshot()
        shown_roles = [
            {
                "url": role.url,
                "link": role.link or role.url,
                "name": ROLE_TEXT[lang][role.key][0],
                "sentence": ROLE_TEXT[lang][role.key][1],
            }
            for role in roles
        ]
        return render(
            "start.html", request, "start", roles=shown_roles, snapshot=snap, picture=trust(snap), identities=identities
        )

    @app.get("/explorer", response_class=HTMLResponse)
    def explorer_page(request: Request) -> HTMLResponse:
        return render("explorer.html", request, "explorer", snapshot=snapshot())

    @app.get("/try", response_class=HTMLResponse)
    def try_page(request: Request) -> HTMLResponse:
        return render("try.html", request, "try", steps=steps(_lang(request)))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def dids_from_snapshot(snapshot: ChainSnapshot) -> list[str]:
    """did:ethr identifiers whose registry entries appear in the snapshot's events (ERC-1056 events name them in
    ``identity``)."""
    found: list[str] = []
    for event in snapshot.events:
        if not event.event.startswith("DID"):
            continue
        for name, _type, value in event.arguments:
            if name == "identity":
                did = f"did:ethr:{hex(snapshot.chain_id)}:{value.lower()}"
                if did not in found:
                    found.append(did)
    return found
