"""The German PID: from verified eID data to the claims of an SD-JWT VC of type ``urn:eudi:pid:de:1`` (pure).

Sources, cited per rule below:

- **[PID-DE]** German PID Rulebook (BMI, EUDI Wallet architecture concept, "German PID Rulebook (PID-DE)" v0.1) and
  the BMI developer guide "German PID Reference for Relying Parties";
- **[ARF-PID]** the EUDI ARF PID Rulebook (Annex 3.01) with CIR (EU) 2024/2977 Annex (PID attributes);
- **[TR-03127]/[TR-03110-4]** the eID data groups (:mod:`ssi.eid`); **[ICAO 9303-3]** country codes.

The rules (DESIGN.md §4, issue "Wallet simulator II"):

1. ``vct`` is ``urn:eudi:pid:de:1`` [PID-DE "Credential Identifiers"].
2. Strings are copied exactly as on the card: upper case, ISO/IEC 8859-1, never transliterated — "Ö" stays "Ö" and a
   card's "ß" stays "ß" (no ``str.upper()``, which would turn it into "SS") [PID-DE "Special Characters"].
3. ``birthdate`` is ``YYYY-MM-DD`` with unknown month or day ``00`` (``1980-00-00``) [PID-DE: "Unknown month or day
   encoded as 00"].
4. ``place_of_birth`` is an object with ``locality`` (the card's free-text place, or a structured place's city and
   country); when no place is recorded it is ``{"no_place_info": true}`` [PID-DE: "If no place is recorded,
   no_place_info: true is set"].
5. ``nationalities`` are ISO 3166-1 alpha-2 codes [ARF-PID]: the card's ICAO code mapped 3→2 letters (``D`` → ``DE``,
   ``TUR`` → ``TR``; ICAO's British categories → ``GB``, ``RKS``/``UNK`` → ``XK``); a German ID card without DG10
   (issued before November 2019) gives ``["DE"]`` [PID-DE: "If eID was issued before Nov. 2019, automatically set to
   [\"DE\"]"]. Codes with no country (stateless ``XXA``, refugees ``XXB``/``XXC``, ``XXX``, organisations) give no
   ``nationalities`` claim rather than an invented one.
6. ``age_equal_or_over`` has the members ``12, 14, 16, 18, 21, 65``, computed at issuance; with unknown parts of the
   date of birth the latest possible birthday counts, so ``true`` is only stated when it holds for every possible
   birthday (:func:`ssi.eid.age_reached`).
7. ``address`` is structured — ``street_address``, ``postal_code``, ``locality``, ``country`` [ARF-PID
   resident_address]; a free-text residence becomes ``formatted``; no residence in Germany (no place information):
   no ``address``.
8. ``issuing_country`` and ``issuing_authority`` are ``DE`` [PID-DE: one German PID Provider; sample PID].
9. ``source_document_type`` names the eID document: ``id_card`` (``ID``), ``residence_permit`` (``AR``/``AS``/``AF``),
   ``eu_citizen_card`` (``UB``, eID card for Union citizens) [PID-DE: PID from the ID card, the electronic residence
   permit or the eID card for Union citizens].
10. Validity is 14 days from issuance, never past the end of the source document's validity; an expired document
    gives no PID.
11. Optional attributes when on the card: ``birth_family_name`` (DG13), ``academic_title`` (DG7, doctoral degree),
    ``also_known_as`` (DG6, religious or artistic name) [PID-DE; ARF-PID ``birth_family_name``].

Not derived (the eID does not supply them, [PID-DE]): portrait, sex, document number, personal administrative number,
issuing jurisdiction, ``age_in_years``, ``age_birth_year``, birth given names.
"""

from __future__ import annotations

import calendar
import datetime
import math
from dataclasses import dataclass
from typing import Any, Final

from ssi._iso3166 import ALPHA3_TO_ALPHA2
from ssi.eid import DataGroup, EidIdentity, FreeTextPlace, NoPlaceInfo, PartialDate, Place, StructuredPlace, age_reached
from ssi.errors import PidMappingError
from ssi.sd_jwt import ClaimPath

__all__ = [
    "AGE_THRESHOLDS",
    "PID_OPTIONAL_DATA_GROUPS",
    "PID_REQUIRED_DATA_GROUPS",
    "PID_VALIDITY",
    "PID_VCT",
    "SOURCE_DOCUMENT_TYPES",
    "PidClaims",
    "birthdate_claim",
    "iso_country",
    "pid_claims",
]

PID_VCT: Final = "urn:eudi:pid:de:1"
#: 14 days (the German PID provider's validity; DESIGN.md §4).
PID_VALIDITY: Final = 14 * 24 * 3600
AGE_THRESHOLDS: Final = (12, 14, 16, 18, 21, 65)
ISSUING_COUNTRY: Final = "DE"
SOURCE_DOCUMENT_TYPES: Final = {
    "ID": "id_card",
    "AR": "residence_permit",
    "AS": "residence_permit",
    "AF": "residence_permit",
    "UB": "eu_citizen_card",
}
#: What the PID provider asks the card for: the mandatory PID attributes of CIR 2024/2977 plus the document data the
#: rules need (type, expiry) …
PID_REQUIRED_DATA_GROUPS: Final = (
    DataGroup.DOCUMENT_TYPE,
    DataGroup.ISSUING_STATE,
    DataGroup.DATE_OF_EXPIRY,
    DataGroup.GIVEN_NAMES,
    DataGroup.FAMILY_NAMES,
    DataGroup.DATE_OF_BIRTH,
    DataGroup.PLACE_OF_BIRTH,
)
#: … and the optional attributes, which the citizen may deselect (nationality is optional here only because old ID
#: cards lack DG10; rule 5 fills it in).
PID_OPTIONAL_DATA_GROUPS: Final = (
    DataGroup.NATIONALITY,
    DataGroup.BIRTH_NAME,
    DataGroup.ACADEMIC_TITLE,
    DataGroup.NOM_DE_PLUME,
    DataGroup.PLACE_OF_RESIDENCE,
)

#: ICAO Doc 9303 Part 3 §5 codes that are not ISO 3166-1 alpha-3 but name a country.
_ICAO_SPECIAL: Final = {
    "D": "DE",
    "GBD": "GB",  # British Overseas Territories Citizen
    "GBN": "GB",  # British National (Overseas)
    "GBO": "GB",  # British Overseas Citizen
    "GBP": "GB",  # British Protected Person
    "GBS": "GB",  # British Subject
    "RKS": "XK",  # Kosovo (ICAO); XK is the code in user-assigned space the EU uses for Kosovo
    "UNK": "XK",  # resident of Kosovo, UNMIK travel document
}


@dataclass(frozen=True, slots=True)
class PidClaims:
    """The PID's claims (without ``iss``, ``cnf``, ``status``: the issuer adds those), its validity, and the claims
    that should be selectively disclosable (pass to ``ssi.sd_jwt.vc.issue_sd_jwt_vc(disclosable=...)``)."""

    claims: dict[str, Any]
    issued_at: int
    expires_at: int
    disclosable: tuple[ClaimPath, ...]
    vct: str = PID_VCT


def iso_country(icao: str) -> str | None:
    """ICAO Doc 9303 three-letter code → ISO 3166-1 alpha-2, ``None`` for codes that name no country (rule 5)."""
    return _ICAO_SPECIAL.get(icao) or ALPHA3_TO_ALPHA2.get(icao)


def birthdate_claim(date: PartialDate) -> str:
    """Rule 3: ``YYYY-MM-DD``, unknown parts ``00``."""
    return f"{date.year:04d}-{date.month or 0:02d}-{date.day or 0:02d}"


def _place_of_birth(place: Place) -> dict[str, Any]:
    """Rule 4."""
    if isinstance(place, FreeTextPlace) and place.text.strip():
        return {"locality": place.text}
    if isinstance(place, StructuredPlace):
        out: dict[str, Any] = {"locality": place.city}
        country = iso_country(place.country)
        if country:
            out["country"] = country
        return out
    return {"no_place_info": True}


def _address(place: Place) -> dict[str, Any] | None:
    """Rule 7."""
    if isinstance(place, StructuredPlace):
        out: dict[str, Any] = {}
        if place.street:
            out["street_address"] = place.street
        if place.zipcode:
            out["postal_code"] = place.zipcode
        out["locality"] = place.city
        country = iso_country(place.country)
        if country:
            out["country"] = country
        return out
    if isinstance(place, FreeTextPlace) and place.text.strip():
        return {"formatted": place.text}
    assert isinstance(place, (NoPlaceInfo, FreeTextPlace))
    return None


def _nationalities(identity: EidIdentity) -> list[str] | None:
    """Rule 5."""
    if identity.nationality is not None:
        country = iso_country(identity.nationality)
        return [country] if country else None
    if identity.document_type == "ID":
        return ["DE"]
    return None


def _end_of_day(day: datetime.date) -> int:
    """The first second after ``day`` (UTC)."""
    return calendar.timegm((day + datetime.timedelta(days=1)).timetuple())


def pid_claims(identity: EidIdentity, *, now: float, validity: int = PID_VALIDITY) -> PidClaims:
    """The German PID for verified eID data (``ssi.eid.EidAuthentication.identity``), issued at ``now``."""
    given, family, birth = identity.given_names, identity.family_names, identity.date_of_birth
    if not given or not family or birth is None:
        raise PidMappingError("a PID needs the given names, family name and date of birth (CIR 2024/2977 Annex)")
    today = datetime.datetime.fromtimestamp(now, tz=datetime.UTC).date()
    if identity.date_of_expiry is not None and identity.date_of_expiry < today:
        raise PidMappingError("the identity document has expired", reason="pid_document_expired")
    source = SOURCE_DOCUMENT_TYPES.get(identity.document_type or "")
    if source is None:
        raise PidMappingError("the document type is unknown or was not released (DG1)", reason="pid_document_type")
    claims: dict[str, Any] = {"given_name": given, "family_name": family, "birthdate": birthdate_claim(birth)}
    disclosable: list[ClaimPath] = [("given_name",), ("family_name",), ("birthdate",)]
    if identity.birth_name:
        claims["birth_family_name"] = identity.birth_name
        disclosable.append(("birth_family_name",))
    if identity.place_of_birth is not None:
        claims["place_of_birth"] = _place_of_birth(identity.place_of_birth)
        disclosable += [("place_of_birth",), *(("place_of_birth", k) for k in claims["place_of_birth"])]
    nationalities = _nationalities(identity)
    if nationalities:
        claims["nationalities"] = nationalities
        disclosable += [("nationalities",), ("nationalities", None)]
    if identity.place_of_residence is not None:
        address = _address(identity.place_of_residence)
        if address:
            claims["address"] = address
            disclosable += [("address",), *(("address", k) for k in address)]
    if identity.academic_title:
        claims["academic_title"] = identity.academic_title
        disclosable.append(("academic_title",))
    if identity.nom_de_plume:
        claims["also_known_as"] = identity.nom_de_plume
        disclosable.append(("also_known_as",))
    claims["age_equal_or_over"] = {str(age): age_reached(birth, age, today) for age in AGE_THRESHOLDS}
    disclosable += [("age_equal_or_over",), *(("age_equal_or_over", str(age)) for age in AGE_THRESHOLDS)]
    claims["issuing_country"] = ISSUING_COUNTRY
    claims["issuing_authority"] = ISSUING_COUNTRY
    claims["source_document_type"] = source
    issued_at = math.floor(now)
    expires_at = issued_at + validity
    if identity.date_of_expiry is not None:
        expires_at = min(expires_at, _end_of_day(identity.date_of_expiry))
    return PidClaims(claims=claims, issued_at=issued_at, expires_at=expires_at, disclosable=tuple(disclosable))
