"""The web wallet's texts in German and English (plain language; the German texts address the citizen with "Sie")."""

from __future__ import annotations

import re
from typing import Final

from ssi.errors import IssuerError, SsiError

__all__ = ["ERRORS", "FLOW_ERRORS", "LANGUAGES", "TEXT", "error_message", "flow_error_message", "pick_language"]

LANGUAGES: Final = ("de", "en")

TEXT: Final[dict[str, dict[str, str]]] = {
    "de": {
        "app": "Wallet",
        "skip": "Zum Inhalt springen",
        "language": "Sprache",
        "setup_title": "Neue Wallet einrichten",
        "setup_intro": "Wählen Sie eine Wallet-PIN. Sie schützt Ihre Nachweise und Schlüssel auf diesem Gerät.",
        "pin": "Wallet-PIN",
        "pin_hint": "Mindestens 6 Zeichen, nicht nur ein Zeichen wiederholt.",
        "pin_again": "Wallet-PIN wiederholen",
        "pins_differ": "Die beiden PINs stimmen nicht überein.",
        "create": "Wallet einrichten",
        "unlock_title": "Wallet entsperren",
        "unlock": "Entsperren",
        "lock": "Sperren",
        "home_title": "Meine Nachweise",
        "no_credentials": "Noch keine Nachweise. Empfangen Sie einen mit einem Link oder QR-Code Ihrer Behörde.",
        "receive": "Nachweis empfangen",
        "receive_title": "Nachweis empfangen",
        "receive_intro": "Fügen Sie den Link aus dem Angebot Ihrer Behörde ein, oder laden Sie ein Foto des QR-Codes "
        "hoch.",
        "offer_link": "Link zum Angebot",
        "offer_link_hint": "Beginnt mit openid-credential-offer:// oder haip://",
        "or": "oder",
        "qr_image": "Foto oder Bild des QR-Codes (PNG oder JPEG)",
        "qr_hint": "Auf dem Telefon öffnet sich die Kamera.",
        "continue": "Weiter",
        "offer_title": "Angebot prüfen",
        "offer_from": "Angebot von",
        "offered": "Angebotene Nachweise",
        "tx_code": "Transaktionscode",
        "tx_code_hint": "Den Code hat Ihnen die Behörde auf einem anderen Weg mitgeteilt.",
        "digits": "Ziffern",
        "request": "Nachweis anfordern",
        "cancel": "Abbrechen",
        "preview_title": "Nachweis angekommen",
        "preview_intro": "Prüfen Sie die Angaben. Erst wenn Sie zustimmen, speichert die Wallet den Nachweis.",
        "copies": "Einmal-Exemplare",
        "accept": "Speichern",
        "decline": "Ablehnen",
        "stored": "Der Nachweis wurde gespeichert.",
        "declined": "Sie haben den Nachweis abgelehnt. Die Behörde wurde informiert.",
        "pending_title": "Ausstellung dauert noch",
        "pending_intro": "Die Behörde bearbeitet die Ausstellung noch. Fragen Sie später noch einmal nach.",
        "pending_wait": "Die Behörde bittet, frühestens in {seconds} Sekunden wieder nachzufragen.",
        "pending_list": "In Bearbeitung",
        "poll": "Jetzt nachfragen",
        "details": "Details",
        "issuer": "Aussteller",
        "type": "Typ",
        "issued": "Ausgestellt",
        "expires": "Gültig bis",
        "received": "Empfangen",
        "remaining": "Unbenutzte Exemplare",
        "claims": "Angaben",
        "claim": "Angabe",
        "value": "Wert",
        "delete": "Löschen",
        "delete_title": "Nachweis löschen?",
        "delete_intro": "Der Nachweis und seine Schlüssel werden endgültig aus dieser Wallet entfernt.",
        "delete_confirm": "Endgültig löschen",
        "deleted": "Der Nachweis wurde gelöscht.",
        "back": "Zurück zur Übersicht",
        "error": "Fehler",
        "expired": "abgelaufen",
        "session_expired": "Die Sitzung ist abgelaufen. Bitte entsperren Sie die Wallet erneut.",
        "bad_form": "Das Formular war ungültig oder veraltet. Bitte versuchen Sie es noch einmal.",
        "give_one": "Bitte geben Sie einen Link ein oder wählen Sie ein Bild.",
        "footer": "govssi Wallet-Simulator — Testumgebung, keine echten Ausweisdaten.",
    },
    "en": {
        "app": "Wallet",
        "skip": "Skip to content",
        "language": "Language",
        "setup_title": "Set up a new wallet",
        "setup_intro": "Choose a wallet PIN. It protects your credentials and keys on this device.",
        "pin": "Wallet PIN",
        "pin_hint": "At least 6 characters, not one character repeated.",
        "pin_again": "Repeat the wallet PIN",
        "pins_differ": "The two PINs differ.",
        "create": "Set up wallet",
        "unlock_title": "Unlock your wallet",
        "unlock": "Unlock",
        "lock": "Lock",
        "home_title": "My credentials",
        "no_credentials": "No credentials yet. Receive one with a link or QR code from your authority.",
        "receive": "Receive a credential",
        "receive_title": "Receive a credential",
        "receive_intro": "Paste the link from your authority's offer, or upload a photo of its QR code.",
        "offer_link": "Offer link",
        "offer_link_hint": "Starts with openid-credential-offer:// or haip://",
        "or": "or",
        "qr_image": "Photo or image of the QR code (PNG or JPEG)",
        "qr_hint": "On a phone this opens the camera.",
        "continue": "Continue",
        "offer_title": "Check the offer",
        "offer_from": "Offer from",
        "offered": "Offered credentials",
        "tx_code": "Transaction code",
        "tx_code_hint": "Your authority sent you this code by another channel.",
        "digits": "digits",
        "request": "Request credential",
        "cancel": "Cancel",
        "preview_title": "Credential received",
        "preview_intro": "Check the details. The wallet stores the credential only if you agree.",
        "copies": "one-time copies",
        "accept": "Store",
        "decline": "Decline",
        "stored": "The credential was stored.",
        "declined": "You declined the credential. The authority was told.",
        "pending_title": "Issuance takes a while",
        "pending_intro": "The authority is still working on it. Ask again later.",
        "pending_wait": "The authority asks to wait at least {seconds} seconds before asking again.",
        "pending_list": "In progress",
        "poll": "Ask now",
        "details": "Details",
        "issuer": "Issuer",
        "type": "Type",
        "issued": "Issued",
        "expires": "Valid until",
        "received": "Received",
        "remaining": "Unused copies",
        "claims": "Details",
        "claim": "Item",
        "value": "Value",
        "delete": "Delete",
        "delete_title": "Delete this credential?",
        "delete_intro": "The credential and its keys are removed from this wallet for good.",
        "delete_confirm": "Delete for good",
        "deleted": "The credential was deleted.",
        "back": "Back to the overview",
        "error": "Error",
        "expired": "expired",
        "session_expired": "Your session expired. Please unlock the wallet again.",
        "bad_form": "The form was invalid or out of date. Please try again.",
        "give_one": "Please enter a link or choose an image.",
        "footer": "govssi wallet simulator — test environment, no real identity data.",
    },
}


def pick_language(accept_language: str | None) -> str:
    """The first of de/en named in ``Accept-Language`` (RFC 9110 §12.5.4, weights ignored beyond order)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "de"


#: The wrong inputs of issue 8 (and the wallet PIN) in the citizen's language, by ``SsiError.reason``; ``{n}`` is a
#: number taken from the technical description (attempts left, seconds to wait).
ERRORS: Final[dict[str, dict[str, str]]] = {
    "de": {
        "wrong_tx_code": "Die Behörde hat den Transaktionscode nicht angenommen – oder das Angebot ist schon benutzt "
        "oder abgelaufen.",
        "malformed_tx_code": "Der Transaktionscode hat nicht die verlangte Form (Ziffern und Länge wie angegeben).",
        "tx_code_required": "Für dieses Angebot brauchen Sie den Transaktionscode der Behörde.",
        "offer_expired": "Das Angebot ist unbekannt, schon benutzt oder abgelaufen. Bitten Sie die Behörde um ein "
        "neues.",
        "unknown_issuer": "Unter dieser Adresse ist kein Aussteller von Nachweisen zu finden.",
        "issuer_unreachable": "Der Aussteller ist nicht erreichbar. Versuchen Sie es später noch einmal.",
        "malformed_offer": "Das ist kein gültiges Angebot für einen Nachweis.",
        "malformed_credential_offer": "Das ist kein gültiges Angebot für einen Nachweis.",
        "unsupported_grant": "Dieses Angebot verlangt ein Anmeldeverfahren, das die Wallet hier nicht unterstützt.",
        "unknown_configuration": "Der Aussteller beschreibt den angebotenen Nachweis nicht.",
        "unsupported_format": "Dieser Nachweis hat ein Format, das die Wallet nicht speichern kann.",
        "no_qr_code": "Im Bild wurde kein lesbarer QR-Code gefunden.",
        "several_qr_codes": "Das Bild zeigt mehrere QR-Codes. Schneiden Sie es auf den Code des Angebots zu.",
        "unsupported_image": "Die Datei ist kein PNG- oder JPEG-Bild.",
        "malformed_image": "Das Bild ist beschädigt oder unvollständig.",
        "image_too_large": "Das Bild ist zu groß.",
        "wrong_wallet_pin": "Die Wallet-PIN ist falsch (noch {n} Versuche bis zu einer Wartezeit).",
        "wallet_pin_locked": "Zu viele falsche PINs: Versuchen Sie es in {n} Sekunden wieder.",
        "weak_wallet_pin": "Die Wallet-PIN braucht 6 bis 64 Zeichen und darf nicht nur ein Zeichen wiederholen.",
        "issuer_refused": "Der Aussteller hat die Anfrage abgelehnt",
        "failed": "Das hat nicht geklappt",
    },
    "en": {
        "wrong_tx_code": "The authority did not accept the transaction code – or the offer is already used or expired.",
        "malformed_tx_code": "The transaction code does not have the required form (digits and length as stated).",
        "tx_code_required": "This offer needs the transaction code the authority sent you.",
        "offer_expired": "The offer is unknown, already used or expired. Ask the authority for a new one.",
        "unknown_issuer": "There is no credential issuer at this address.",
        "issuer_unreachable": "The issuer cannot be reached. Please try again later.",
        "malformed_offer": "This is not a valid credential offer.",
        "malformed_credential_offer": "This is not a valid credential offer.",
        "unsupported_grant": "This offer needs a sign-in flow the wallet does not support here.",
        "unknown_configuration": "The issuer does not describe the offered credential.",
        "unsupported_format": "This credential has a format the wallet cannot hold.",
        "no_qr_code": "No readable QR code was found in the image.",
        "several_qr_codes": "The image shows more than one QR code. Crop it to the offer's code.",
        "unsupported_image": "The file is not a PNG or JPEG image.",
        "malformed_image": "The image is damaged or truncated.",
        "image_too_large": "The image is too large.",
        "wrong_wallet_pin": "The wallet PIN is wrong ({n} attempts left before a wait).",
        "wallet_pin_locked": "Too many wrong PINs: try again in {n} seconds.",
        "weak_wallet_pin": "The wallet PIN needs 6 to 64 characters and must not repeat one character only.",
        "issuer_refused": "The issuer refused the request",
        "failed": "That did not work",
    },
}


def error_message(exc: SsiError, lang: str) -> str:
    """What went wrong, in the page's language: the known wrong inputs by their reason; anything else framed in the
    page's language with the technical description (printable ASCII already, :mod:`wallet_sim.oid4vci.http`)."""
    texts = ERRORS[lang if lang in ERRORS else "de"]
    text = texts.get(exc.reason)
    if text is not None:
        if "{n}" in text:
            number = re.search(r"\d+", exc.description)
            if number is None:
                return text.split(" (")[0].split(":")[0].rstrip(".") + "."
            return text.format(n=number.group(0))
        return text
    lead = texts["issuer_refused"] if isinstance(exc, IssuerError) else texts["failed"]
    return f"{lead}: {exc.description}"


_UNRECOGNISED_VERIFIER = {
    "de": "Der anfragende Dienst konnte nicht sicher erkannt werden. Es wird nichts gesendet.",
    "en": "The requesting service could not be identified securely. Nothing is sent.",
}

#: Presentation (OpenID4VP) and PID (eID) flow failures a citizen meets most, by ``SsiError.reason``. Shown with the
#: technical description after them: testers at portals and authorities need the exact cause.
FLOW_ERRORS: Final[dict[str, dict[str, str]]] = {
    "de": {
        "bad_link": "Das ist kein gültiger Link einer Anfrage nach Nachweisen.",
        "dcql_unsatisfiable": "Die Wallet enthält keinen Nachweis, der diese Anfrage erfüllt.",
        "dcql_bad_selection": "Mit dieser Auswahl ist die Anfrage nicht beantwortet.",
        "verifier_unreachable": "Der anfragende Dienst ist nicht erreichbar. Versuchen Sie es später noch einmal.",
        "request_uri_error": "Die Anfrage konnte beim Dienst nicht abgeholt werden (abgelaufen oder schon benutzt?).",
        "x5c_untrusted": _UNRECOGNISED_VERIFIER["de"],
        "no_trust_anchors": _UNRECOGNISED_VERIFIER["de"],
        "request_bad_signature": _UNRECOGNISED_VERIFIER["de"],
        "unsigned_request": _UNRECOGNISED_VERIFIER["de"],
        "client_id_mismatch": _UNRECOGNISED_VERIFIER["de"],
        "client_id_san_mismatch": _UNRECOGNISED_VERIFIER["de"],
        "unsupported_client_id_prefix": _UNRECOGNISED_VERIFIER["de"],
        "not_a_pid_provider": "Unter dieser Adresse ist kein Aussteller von Personalausweis-Daten (PID) zu finden.",
        "pid_authorization_denied": "Der PID-Aussteller hat die Ausstellung abgelehnt.",
        "eid_response_foreign_origin": "Die Antwort des Ausweises sollte an eine fremde Adresse gehen. Abgebrochen, "
        "es wurde nichts gesendet.",
        "issuer_unreachable": "Der Aussteller ist nicht erreichbar. Versuchen Sie es später noch einmal.",
        "unknown_issuer": "Unter dieser Adresse ist kein Aussteller von Nachweisen zu finden.",
    },
    "en": {
        "bad_link": "This is not a valid link of a request for credentials.",
        "dcql_unsatisfiable": "The wallet holds no credential that satisfies this request.",
        "dcql_bad_selection": "This choice does not answer the request.",
        "verifier_unreachable": "The requesting service cannot be reached. Please try again later.",
        "request_uri_error": "The request could not be fetched from the service (expired or already used?).",
        "x5c_untrusted": _UNRECOGNISED_VERIFIER["en"],
        "no_trust_anchors": _UNRECOGNISED_VERIFIER["en"],
        "request_bad_signature": _UNRECOGNISED_VERIFIER["en"],
        "unsigned_request": _UNRECOGNISED_VERIFIER["en"],
        "client_id_mismatch": _UNRECOGNISED_VERIFIER["en"],
        "client_id_san_mismatch": _UNRECOGNISED_VERIFIER["en"],
        "unsupported_client_id_prefix": _UNRECOGNISED_VERIFIER["en"],
        "not_a_pid_provider": "There is no PID provider (identity card data) at this address.",
        "pid_authorization_denied": "The PID provider refused to issue the PID.",
        "eid_response_foreign_origin": "The identity card's answer was to go to a foreign address. Stopped, nothing "
        "was sent.",
        "issuer_unreachable": "The issuer cannot be reached. Please try again later.",
        "unknown_issuer": "There is no credential issuer at this address.",
    },
}


def flow_error_message(exc: SsiError, lang: str) -> str:
    """A presentation or PID flow failure in the page's language, the technical description after it (the known
    ones by their reason; anything else framed as :func:`error_message` frames it)."""
    text = FLOW_ERRORS[lang if lang in FLOW_ERRORS else "de"].get(exc.reason)
    if text is None:
        return error_message(exc, lang)
    detail = "Technisch" if lang == "de" else "Details"
    return f"{text} ({detail}: {exc.description})"
