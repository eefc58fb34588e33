"""What the demo pages show: the trust picture read from the chain, the test identities, the guided journey."""

from __future__ import annotations

from typing import Any

from govssi.demo.explorer import ChainSnapshot, sensitive_strings
from govssi.demo.web import Accreditation, TrustPicture, dids_from_snapshot

__all__ = ["demo_identities", "journey_steps", "sensitive_values", "trust_picture"]


def trust_picture(client: Any, snapshot: ChainSnapshot) -> TrustPicture:
    """Anchored DIDs from the DID registry's events; accreditations and status-list anchors from the cooperative's
    registry (``ledger.trust`` enumeration)."""
    from ledger.bootstrap import DEV_ADDRESSES
    from ledger.trust import TrustRegistry

    picture = TrustPicture(dids=dids_from_snapshot(snapshot))
    registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
    for accreditation in registry.accreditations():
        picture.accreditations.append(
            Accreditation(
                issuer=accreditation.did,
                types=tuple(accreditation.credential_types),
                state=accreditation.status.label,
            )
        )
    picture.anchors = [
        f"{event.contract}: {dict((n, v) for n, _t, v in event.arguments)}"
        for event in snapshot.events
        if "Anchor" in event.event
    ]
    return picture


#: Members of a test citizen's record that are not data about the person: the simulator's bookkeeping and the card's
#: test secrets (public test values, shown in the identities table instead).
_NOT_PERSONAL = frozenset({"id", "note", "document_type", "transport_pin", "can", "puk", "pin", "retry_counter"})


def demo_identities() -> list[dict[str, str]]:
    """The simulated ID cards a tester can use (``wallet_sim/eid/citizens.json``, DESIGN.md §4): card id, name as on
    the card, what the card is for, and its public test secrets (transport PIN, or the PIN already set; CAN; PUK)."""
    from wallet_sim.eid import load_citizens

    found = []
    for citizen in load_citizens():
        found.append(
            {
                "id": citizen.id,
                "name": citizen.name,
                "note": citizen.note,
                "transport_pin": citizen.transport_pin,
                "pin": citizen.pin or "",
                "can": citizen.can,
                "puk": citizen.puk,
                "secrets": " / ".join(
                    (citizen.transport_pin if citizen.pin is None else f"PIN {citizen.pin}", citizen.can, citizen.puk)
                ),
            }
        )
    return found


def sensitive_values() -> list[str]:
    """Every personal value of the test citizens' records — names, birth name, dates and places of birth,
    addresses, nationalities, document numbers, municipality keys — as the card holds them: what the ledger
    explorer's personal-data check looks for on the chain (DESIGN.md §1: no personal data on the chain)."""
    import json
    from importlib import resources

    text = resources.files("wallet_sim.eid").joinpath("citizens.json").read_text(encoding="utf-8")
    records = [
        {key: value for key, value in entry.items() if key not in _NOT_PERSONAL}
        for entry in json.loads(text)["citizens"]
    ]
    found: list[str] = []
    for value in sensitive_strings(records):
        if value not in found:
            found.append(value)
    return found


def journey_steps(lang: str, info: dict[str, Any]) -> list[dict[str, str]]:
    """The guided journey (issue 13): PID via eID, parking permit by QR, portal login, revocation — each step with the
    page it happens on and what to type."""
    issuer = info.get("issuer", {})
    admin_ui = issuer.get("admin_ui", "")
    clerk = issuer.get("clerk", {})
    wallet = info.get("wallet", "")
    wallet_dir = info.get("wallet_dir", "")
    de = lang == "de"
    change_pin = f"govssi wallet --data-dir {wallet_dir} eid change-pin --card erika --old 13579 --new 123456"
    return [
        {
            "title": "1. PID über die eID" if de else "1. PID through the eID",
            "text": (
                "Wallet einrichten (eigene Wallet-PIN), dann „PID mit dem Ausweis holen“: ERIKA MUSTERMANNs Ausweis "
                "wählen, „Weiter“. Die Wallet verlangt zuerst, die Transport-PIN zu ändern: Transport-PIN 13579, neue "
                "PIN 123456 (zweimal). Dann „Weiter“, Anfrage prüfen, PIN 123456 eingeben. "
                f"(Die Transport-PIN lässt sich auch auf der Kommandozeile ändern: {change_pin})"
            )
            if de
            else (
                "Set up the wallet (your own wallet PIN), then 'Get the PID with the eID': pick ERIKA MUSTERMANN's "
                "card, 'Continue'. The wallet first asks you to change the transport PIN: transport PIN 13579, new "
                "PIN 123456 (twice). Then 'Continue', check the request, enter PIN 123456. "
                f"(The transport PIN can also be changed on the command line: {change_pin})"
            ),
            "url": wallet,
            "link": "Wallet",
        },
        {
            "title": "2. Bewohnerparkausweis" if de else "2. Residential parking permit",
            "text": (
                f"Im Bürgeramt als {clerk.get('username', '')} / {clerk.get('password', '')} anmelden, ein Angebot "
                "„Bewohnerparkausweis“ für ERIKA MUSTERMANN erstellen; die Wallet liest den QR-Code (Bild) und "
                "fragt nach dem Transaktionscode."
            )
            if de
            else (
                f"Log in to the citizens' office as {clerk.get('username', '')} / {clerk.get('password', '')}, create "
                "a 'Bewohnerparkausweis' offer for ERIKA MUSTERMANN; the wallet reads the QR code (image) and asks "
                "for the transaction code."
            ),
            "url": admin_ui,
            "link": "Bürgeramt" if de else "Citizens' office",
        },
        {
            "title": "3. Anmeldung am Bürgerportal" if de else "3. Log in at the portal",
            "text": "Mit der Wallet anmelden (Link auf diesem Gerät oder QR-Code), nur die erfragten Angaben "
            "freigeben; das Portal zeigt, was es erhalten hat, und das Pseudonym (sub)."
            if de
            else "Log in with the wallet (link on this device or QR code), release only the requested claims; the "
            "portal shows what it received and the pseudonym (sub).",
            "url": info.get("portal", ""),
            "link": "Bürgerportal Musterstadt",
        },
        {
            "title": "4. Widerruf" if de else "4. Revocation",
            "text": "Das Bürgeramt widerruft den Parkausweis; die nächste Anmeldung mit ihm wird abgelehnt "
            "(credential_revoked)."
            if de
            else "The office revokes the permit; the next login that asks for it is refused (credential_revoked).",
            "url": admin_ui,
            "link": "Bürgeramt" if de else "Citizens' office",
        },
    ]
