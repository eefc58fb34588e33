"""The test citizens (``citizens.json`` in this package): whose cards the simulator personalises, with their public
test PINs. DESIGN.md §4: ERIKA MUSTERMANN of the sample ID card and made-up citizens covering the edge cases."""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from ssi.eid import EidIdentity, FreeTextPlace, NoPlaceInfo, PartialDate, StructuredPlace
from ssi.errors import EidMalformed, WalletError

__all__ = ["TestCitizen", "find_citizen", "load_citizens"]

_ID: Final = re.compile(r"[a-z0-9-]{1,32}")
_KNOWN: Final = frozenset(
    {
        "id",
        "note",
        "document_type",
        "document_number",
        "date_of_expiry",
        "given_names",
        "family_names",
        "birth_name",
        "academic_title",
        "nom_de_plume",
        "date_of_birth",
        "place_of_birth",
        "nationality",
        "address",
        "community_id",
        "residence_permit_i",
        "transport_pin",
        "can",
        "puk",
        "pin",
        "retry_counter",
    }
)


def _digits(value: object, length: int, what: str) -> str:
    if not isinstance(value, str) or len(value) != length or not (value.isascii() and value.isdigit()):
        raise EidMalformed(f"{what} is {length} digits", reason="eid_malformed")
    return value


@dataclass(frozen=True, slots=True)
class TestCitizen:
    """A test citizen: the card's data (:class:`ssi.eid.EidIdentity`), document number and test secrets.

    ``pin``/``retry_counter`` describe a card handed out in another state than new (transport PIN, counter 3)."""

    __test__ = False  # not a pytest test class

    id: str
    note: str
    identity: EidIdentity
    document_number: str
    transport_pin: str
    can: str
    puk: str
    pin: str | None = None
    retry_counter: int = 3

    @property
    def name(self) -> str:
        """Given names and family name as on the card."""
        return f"{self.identity.given_names} {self.identity.family_names}"

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> TestCitizen:
        unknown = set(entry) - _KNOWN
        if unknown:
            raise EidMalformed(f"unknown test citizen members: {sorted(unknown)}", reason="eid_malformed")
        citizen_id = entry.get("id")
        if not isinstance(citizen_id, str) or not _ID.fullmatch(citizen_id):
            raise EidMalformed("a test citizen id is 1-32 of a-z, 0-9, -", reason="eid_malformed")
        place = entry.get("place_of_birth")
        address = dict(entry.get("address") or {})
        nationality = entry.get("nationality")
        identity = EidIdentity(
            document_type=entry["document_type"],
            issuing_state="D",
            date_of_expiry=datetime.date.fromisoformat(entry["date_of_expiry"]),
            given_names=entry["given_names"],
            family_names=entry["family_names"],
            nom_de_plume=entry.get("nom_de_plume"),
            academic_title=entry.get("academic_title"),
            date_of_birth=PartialDate.parse_iso(entry["date_of_birth"]),
            place_of_birth=FreeTextPlace(place) if place else NoPlaceInfo(),
            nationality=nationality,
            birth_name=entry.get("birth_name"),
            place_of_residence=StructuredPlace(**address) if address else NoPlaceInfo(),
            community_id=entry.get("community_id"),
            residence_permit_i=entry.get("residence_permit_i"),
        )
        identity.to_data_groups()  # every value checked against its data group
        pin = entry.get("pin")
        retry_counter = entry.get("retry_counter", 3)
        if type(retry_counter) is not int or not 0 <= retry_counter <= 3:
            raise EidMalformed("retry_counter is 0..3", reason="eid_malformed")
        number = entry.get("document_number")
        if not isinstance(number, str) or not re.fullmatch(r"[A-Z0-9]{9}", number):
            raise EidMalformed("a document number is 9 characters A-Z 0-9", reason="eid_malformed")
        return cls(
            id=citizen_id,
            note=str(entry.get("note", "")),
            identity=identity,
            document_number=number,
            transport_pin=_digits(entry.get("transport_pin"), 5, "transport_pin"),
            can=_digits(entry.get("can"), 6, "can"),
            puk=_digits(entry.get("puk"), 10, "puk"),
            pin=None if pin is None else _digits(pin, 6, "pin"),
            retry_counter=retry_counter,
        )


@functools.cache
def load_citizens() -> tuple[TestCitizen, ...]:
    """Every test citizen, in file order."""
    text = resources.files("wallet_sim.eid").joinpath("citizens.json").read_text(encoding="utf-8")
    citizens = tuple(TestCitizen.from_json(entry) for entry in json.loads(text)["citizens"])
    if len({c.id for c in citizens}) != len(citizens):
        raise EidMalformed("test citizen ids are unique", reason="eid_malformed")
    return citizens


def find_citizen(citizen_id: str) -> TestCitizen:
    """One test citizen by id (``WalletError`` ``unknown_card`` if there is none)."""
    for citizen in load_citizens():
        if citizen.id == citizen_id:
            return citizen
    known = ", ".join(c.id for c in load_citizens())
    raise WalletError(f"there is no test card {citizen_id!r} (known: {known})", reason="unknown_card")
