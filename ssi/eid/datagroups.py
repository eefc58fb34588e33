"""Data groups of the eID application and their values (BSI TR-03127 §3.2.2 Table 2; TR-03110-4 §2.2.3 Table 3 and
§2.2.3.1 "Data Structures").

The eID application of the German ID card (nPA), the electronic residence permit (eAT) and the eID card for Union
citizens holds the citizen's data in data groups DG1…DG21. What a service may read is decided per data group by the
access rights of its terminal certificate (:mod:`ssi.eid.chat`).

Values here are the card's representation, simplified to JSON:

- strings as on the card: upper case, ICAO Doc 9303 / ISO/IEC 8859-1 characters, never transliterated (TR-03110-3
  §D.2.1.4; "Ö" stays "Ö", not "OE"; "ß" stays, since ISO/IEC 8859-1 has no capital sharp s);
- dates ``YYYYMMDD`` (``Date ::= NumericString (SIZE (8))``); in the date of birth "unknown parts are filled with
  blanks" (TR-03127 §3.2.2, DG8), e.g. ``"1980    "``;
- places (DG9 place of birth, DG17 place of residence) as the ``GeneralPlace`` choice: a structured place
  (street, city, state, country, zip code), a free-text place, or "no place information" with its text — DG17 of
  someone living abroad holds ``noPlaceInfo`` "keine Hauptwohnung in Deutschland" (TR-03127 §3.2.2);
- DG18 the community ID: "0276" and the official municipality key, 14 digits (TR-03127 §3.2.2, DG18);
- DG10 nationality and DG2 issuing state as ICAO Doc 9303 Part 3 §5 three-letter codes, Germany ``D``.

A released data group travels as a *salted element* (:func:`encode_element`): the security object signed by the
document signer lists only SHA-256 digests of these elements, so a data group that is not released reveals nothing,
not even a guessable date of birth (govssi simplification of passive authentication, see :mod:`ssi.eid`).
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import EidMalformed, EncodingError

__all__ = [
    "DataGroup",
    "FreeTextPlace",
    "NoPlaceInfo",
    "PartialDate",
    "Place",
    "StructuredPlace",
    "age_reached",
    "decode_element",
    "element_digest",
    "encode_element",
    "parse_card_date",
    "place_from_json",
    "validate_value",
    "years_before",
]

#: Upper bound of any text value (a data group is a few dozen characters on a real card).
MAX_TEXT: Final = 200


class DataGroup(IntEnum):
    """eID data groups (TR-03110-4 §2.2.3 Table 3, TR-03127 §3.2.2 Table 2). Not simulated: DG11 (sex), DG12 (optional
    data), DG14 (written signature), DG15 (date of issuance), DG16 (RFU), DG20 (residence permit II), DG21/DG22."""

    DOCUMENT_TYPE = 1  # "ID" (nPA), "AR"/"AS"/"AF" (residence permit), "UB" (eID card for Union citizens)
    ISSUING_STATE = 2  # "D"
    DATE_OF_EXPIRY = 3
    GIVEN_NAMES = 4
    FAMILY_NAMES = 5
    NOM_DE_PLUME = 6  # religious name / artistic name (Ordens- oder Künstlername)
    ACADEMIC_TITLE = 7  # doctoral degree (Doktorgrad)
    DATE_OF_BIRTH = 8
    PLACE_OF_BIRTH = 9
    NATIONALITY = 10  # absent on ID cards issued before November 2019
    BIRTH_NAME = 13
    PLACE_OF_RESIDENCE = 17
    COMMUNITY_ID = 18  # "0276" + official municipality key (Amtlicher Gemeindeschlüssel) of the residence
    RESIDENCE_PERMIT_I = 19  # auxiliary conditions (Nebenbestimmungen) of a residence permit

    @property
    def label_de(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    def label(self, lang: str = "de") -> str:
        return self.label_en if lang == "en" else self.label_de


_LABELS: Final = {
    DataGroup.DOCUMENT_TYPE: ("Dokumentenart", "Document type"),
    DataGroup.ISSUING_STATE: ("Ausstellender Staat", "Issuing state"),
    DataGroup.DATE_OF_EXPIRY: ("Gültig bis", "Date of expiry"),
    DataGroup.GIVEN_NAMES: ("Vornamen", "Given names"),
    DataGroup.FAMILY_NAMES: ("Familienname", "Family name"),
    DataGroup.NOM_DE_PLUME: ("Ordens- oder Künstlername", "Religious or artistic name"),
    DataGroup.ACADEMIC_TITLE: ("Doktorgrad", "Doctoral degree"),
    DataGroup.DATE_OF_BIRTH: ("Geburtsdatum", "Date of birth"),
    DataGroup.PLACE_OF_BIRTH: ("Geburtsort", "Place of birth"),
    DataGroup.NATIONALITY: ("Staatsangehörigkeit", "Nationality"),
    DataGroup.BIRTH_NAME: ("Geburtsname", "Birth name"),
    DataGroup.PLACE_OF_RESIDENCE: ("Anschrift", "Address"),
    DataGroup.COMMUNITY_ID: ("Gemeindeschlüssel", "Municipality key"),
    DataGroup.RESIDENCE_PERMIT_I: ("Nebenbestimmungen", "Residence permit conditions"),
}

_DATE = re.compile(r"[0-9]{8}")
_BIRTH_DATE = re.compile(r"[0-9]{4}(?:[0-9]{4}|[0-9]{2}  |    )")
_CODE = re.compile(r"[A-Z]{1,3}")
_COMMUNITY_ID = re.compile(r"[0-9]{1,14}")


# -- dates -----------------------------------------------------------------------------------------------------------


def parse_card_date(text: object) -> datetime.date:
    """A complete card date ``YYYYMMDD`` (DG3 date of expiry)."""
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise EidMalformed("a card date is YYYYMMDD", reason="eid_malformed_value")
    try:
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise EidMalformed("a card date names no calendar day", reason="eid_malformed_value") from None


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date of birth whose month and day may be unknown (TR-03127 §3.2.2, DG8)."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999 or (self.month is None and self.day is not None):
            raise EidMalformed("a date of birth needs a year; a known day needs a known month", reason="eid_malformed")
        if self.month is not None and not 1 <= self.month <= 12:
            raise EidMalformed("month out of range", reason="eid_malformed_value")
        if self.day is not None:
            assert self.month is not None
            if not 1 <= self.day <= calendar.monthrange(self.year, self.month)[1]:
                raise EidMalformed("day out of range", reason="eid_malformed_value")

    @classmethod
    def parse_card(cls, text: object) -> PartialDate:
        """``YYYYMMDD`` with unknown parts as spaces: ``"19640812"``, ``"198005  "``, ``"1980    "``."""
        if not isinstance(text, str) or not _BIRTH_DATE.fullmatch(text):
            raise EidMalformed("a date of birth is YYYYMMDD, unknown parts spaces", reason="eid_malformed_value")
        month = int(text[4:6]) if text[4:6].strip() else None
        day = int(text[6:8]) if text[6:8].strip() else None
        return cls(int(text[:4]), month, day)

    @classmethod
    def parse_iso(cls, text: str) -> PartialDate:
        """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (the test citizens file)."""
        parts = text.split("-")
        if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
            raise EidMalformed(f"not a (partial) ISO date: {text!r}", reason="eid_malformed_value")
        numbers = [int(p) for p in parts] + [None, None]
        return cls(numbers[0], numbers[1], numbers[2])  # type: ignore[arg-type]

    def to_card(self) -> str:
        month = f"{self.month:02d}" if self.month is not None else "  "
        day = f"{self.day:02d}" if self.day is not None else "  "
        return f"{self.year:04d}{month}{day}"

    @property
    def complete(self) -> bool:
        return self.day is not None

    def earliest(self) -> datetime.date:
        """The earliest calendar day this date of birth can be."""
        return datetime.date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> datetime.date:
        """The latest calendar day this date of birth can be: unknown month December, unknown day the month's last.
        TR-03127 §3.2.2 (DG8): for age verification "the date which is the latest possible date of birth according to
        the known partial dates is stored internally [...] This ensures that even with an incomplete date of birth age
        verification will only supply a positive result if the holder is definitely of the desired age"."""
        month = self.month or 12
        return datetime.date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])


# -- places ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StructuredPlace:
    """``Place`` of TR-03110-4 §2.2.3.1: street, city, state, country (ICAO code), zip code."""

    city: str
    country: str
    street: str | None = None
    zipcode: str | None = None
    state: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"street": self.street, "zipcode": self.zipcode, "city": self.city, "state": self.state}
        return {**{k: v for k, v in out.items() if v is not None}, "country": self.country}


@dataclass(frozen=True, slots=True)
class FreeTextPlace:
    """``freetextPlace`` of ``GeneralPlace`` (the place of birth on German cards, e.g. ``BERLIN``)."""

    text: str

    def to_json(self) -> dict[str, str]:
        return {"free_text": self.text}


@dataclass(frozen=True, slots=True)
class NoPlaceInfo:
    """``noPlaceInfo`` of ``GeneralPlace``: no place is recorded (the text says why, may be empty)."""

    text: str = ""

    def to_json(self) -> dict[str, str]:
        return {"no_place_info": self.text}


Place = StructuredPlace | FreeTextPlace | NoPlaceInfo


def _text(value: object, what: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or (not empty and not value):
        raise EidMalformed(f"{what} must be a non-empty text of at most {MAX_TEXT} characters", reason="eid_malformed")
    if any(ord(c) < 0x20 for c in value):
        raise EidMalformed(f"{what} contains control characters", reason="eid_malformed_value")
    return value


def place_from_json(value: object) -> Place:
    """Parse the JSON form of a ``GeneralPlace``: exactly one of the three alternatives."""
    if not isinstance(value, dict):
        raise EidMalformed("a place is a JSON object", reason="eid_malformed_value")
    if set(value) == {"free_text"}:
        return FreeTextPlace(_text(value["free_text"], "free_text"))
    if set(value) == {"no_place_info"}:
        return NoPlaceInfo(_text(value["no_place_info"], "no_place_info", empty=True))
    known = {"street", "city", "state", "country", "zipcode"}
    if not value or not set(value) <= known or "city" not in value or "country" not in value:
        raise EidMalformed(
            "a structured place has city, country and optionally street, zipcode, state", reason="eid_malformed_value"
        )
    country = _text(value["country"], "country")
    if not _CODE.fullmatch(country):
        raise EidMalformed("a place's country is an ICAO code", reason="eid_malformed_value")
    optional = {k: _text(value[k], k) for k in ("street", "zipcode", "state") if k in value}
    return StructuredPlace(city=_text(value["city"], "city"), country=country, **optional)


# -- values per data group -------------------------------------------------------------------------------------------


def validate_value(group: DataGroup, value: Any) -> Any:
    """Check that ``value`` is a well-formed value of ``group``; return it unchanged (places as JSON objects)."""
    if group in (DataGroup.DOCUMENT_TYPE, DataGroup.ISSUING_STATE, DataGroup.NATIONALITY):
        if not isinstance(value, str) or not _CODE.fullmatch(value):
            raise EidMalformed(f"DG{group.value} is an upper-case code of 1-3 letters", reason="eid_malformed_value")
    elif group is DataGroup.DATE_OF_EXPIRY:
        parse_card_date(value)
    elif group is DataGroup.DATE_OF_BIRTH:
        PartialDate.parse_card(value)
    elif group in (DataGroup.PLACE_OF_BIRTH, DataGroup.PLACE_OF_RESIDENCE):
        place_from_json(value)
    elif group is DataGroup.COMMUNITY_ID:
        if not isinstance(value, str) or not _COMMUNITY_ID.fullmatch(value):
            raise EidMalformed("DG18 is a municipality key of digits", reason="eid_malformed_value")
    else:
        _text(value, f"DG{group.value}")
    return value


# -- salted elements -------------------------------------------------------------------------------------------------

SALT_BYTES: Final = 16


def encode_element(salt: bytes, group: DataGroup, value: Any) -> str:
    """The released form of a data group: base64url of the JSON array ``[salt, number, value]`` (like an SD-JWT
    Disclosure, RFC 9901 §4.2.1: the salt makes the digest unguessable)."""
    if len(salt) < SALT_BYTES:
        raise EidMalformed("salts have at least 128 bits", reason="eid_malformed")
    validate_value(group, value)
    return b64url_encode(json_dumps([b64url_encode(salt), int(group), value]).encode("utf-8"))


def element_digest(element: str) -> str:
    """SHA-256 over the ASCII of the encoded element, base64url (what the security object lists)."""
    return b64url_encode(hashlib.sha256(element.encode("ascii")).digest())


def decode_element(element: object) -> tuple[DataGroup, Any]:
    """Parse a released element: ``(data group, value)``; the value checked for its group."""
    if not isinstance(element, str) or len(element) > 4 * MAX_TEXT * 4:
        raise EidMalformed("a data group element is a bounded base64url string", reason="eid_malformed")
    try:
        decoded = json_loads(b64url_decode(element))
    except EncodingError:
        raise EidMalformed("a data group element is base64url JSON", reason="eid_malformed") from None
    if not isinstance(decoded, list) or len(decoded) != 3 or not isinstance(decoded[0], str):
        raise EidMalformed("a data group element is [salt, number, value]", reason="eid_malformed")
    number = decoded[1]
    if type(number) is not int or number not in DataGroup._value2member_map_:
        raise EidMalformed("a data group element names an unknown data group", reason="eid_malformed")
    group = DataGroup(number)
    return group, validate_value(group, decoded[2])


def years_before(day: datetime.date, years: int) -> datetime.date:
    """The same calendar day ``years`` earlier; 29 February becomes 28 February when that year has none (the earlier
    day, so "born on or before" never admits someone who has not yet reached the age)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_reached(date_of_birth: PartialDate, years: int, on: datetime.date) -> bool:
    """Whether someone born on ``date_of_birth`` is certainly ``years`` old on ``on``: unknown parts count as the
    latest day they can be (:meth:`PartialDate.latest`), so the answer is ``True`` only when it holds for every
    possible birthday — the card's own rule for age verification (TR-03127 §3.2.2, DG8)."""
    return date_of_birth.latest() <= years_before(on, years)
