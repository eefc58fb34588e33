"""The ``sub`` the OpenID Provider gives a portal (OpenID Connect Core 1.0 §8 "Subject Identifier Types").

- **pairwise** (§8.1: "a different sub value to each Client, so as not to enable Clients to correlate the End-User's
  activities without permission") when the login discloses identifying PID claims: a keyed hash —
  HMAC-SHA-256 under a key derived from the verifier's secret and the portal's **sector identifier** — of the
  normalised family name, given names, birth date and place of birth. The same citizen gets the same ``sub`` at one
  portal on every login (whichever PID copy, whichever device) and unrelated values at two portals.
- **transient** when the login discloses nothing identifying (e.g. only ``age_equal_or_over.18``): a fresh random
  value per login, so two logins cannot be linked through ``sub``.

Normalisation (:func:`normalise_name`): Unicode NFC, case folded (so the card's "ß" and a transliterated "SS" agree),
inner whitespace collapsed, outer stripped. The PID copies strings exactly as on the eID card (ssi.pid rule 2), so
this only absorbs harmless variation. The limits are in docs/privacy.md ("Pseudonyms for portals").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssi.encoding import b64url_encode

__all__ = [
    "IDENTIFYING_CLAIMS",
    "PSEUDONYM_CLAIMS",
    "SubjectInput",
    "normalise_name",
    "pairwise_subject",
    "transient_subject",
]

#: The PID claims whose disclosure makes a login identifying (the minimal identifying set of a natural person).
IDENTIFYING_CLAIMS: tuple[str, ...] = ("family_name", "given_name", "birthdate")
#: What the pseudonym is derived from: the identifying set plus the place of birth.
PSEUDONYM_CLAIMS: tuple[str, ...] = (*IDENTIFYING_CLAIMS, "place_of_birth")
_CONTEXT = b"govssi oidc pairwise sub v1"


def normalise_name(value: str) -> str:
    """NFC, case folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


def _place(value: Any) -> str:
    """``place_of_birth`` (ssi.pid rule 4): ``locality`` (and ``country`` when given), or "no place information"."""
    if not isinstance(value, Mapping):
        return ""
    if value.get("no_place_info") is True:
        return "\u0000no_place_info"
    parts = [normalise_name(str(value[key])) for key in ("locality", "region", "country") if key in value]
    return "|".join(parts)


@dataclass(frozen=True)
class SubjectInput:
    """The normalised identity a pairwise ``sub`` is derived from."""

    family_name: str
    given_name: str
    birthdate: str
    place_of_birth: str

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> SubjectInput | None:
        """``None`` unless every identifying claim is a non-empty string (the login is then not identifying)."""
        values = [claims.get(name) for name in IDENTIFYING_CLAIMS]
        if not all(isinstance(v, str) and v.strip() for v in values):
            return None
        family, given, birthdate = (str(v) for v in values)
        return cls(
            normalise_name(family), normalise_name(given), birthdate.strip(), _place(claims.get("place_of_birth"))
        )

    def canonical(self) -> bytes:
        """An unambiguous encoding (a JSON array: no separator can be forged by a name containing it)."""
        fields = [self.family_name, self.given_name, self.birthdate, self.place_of_birth]
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _sector_key(secret: bytes, sector: str) -> bytes:
    return hmac.new(secret, _CONTEXT + b"\x00" + sector.encode("utf-8"), hashlib.sha256).digest()


def pairwise_subject(secret: bytes, sector: str, subject: SubjectInput) -> str:
    """§8.1: the pairwise ``sub`` — base64url(HMAC-SHA-256(HMAC-SHA-256(secret, context ‖ sector), identity)), 43
    characters (§2: "It MUST NOT exceed 255 ASCII characters")."""
    if len(secret) < 32:
        raise ValueError("the pairwise secret needs at least 32 bytes")
    if not sector:
        raise ValueError("a pairwise sub needs the portal's sector identifier")
    return b64url_encode(hmac.new(_sector_key(secret, sector), subject.canonical(), hashlib.sha256).digest())


def transient_subject() -> str:
    """A random ``sub`` for one login (OpenID Connect Core §8: locally unique, never reassigned: 256 random bits)."""
    return "t-" + secrets.token_urlsafe(32)
