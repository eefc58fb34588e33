"""The eID data as typed values: what a card holds, and what a verified answer released (``None``: not released or
not on the card)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from ssi.eid.datagroups import (
    DataGroup,
    PartialDate,
    Place,
    parse_card_date,
    place_from_json,
    validate_value,
)

__all__ = ["EidIdentity"]

_FIELD_GROUPS: Final = {
    "document_type": DataGroup.DOCUMENT_TYPE,
    "issuing_state": DataGroup.ISSUING_STATE,
    "date_of_expiry": DataGroup.DATE_OF_EXPIRY,
    "given_names": DataGroup.GIVEN_NAMES,
    "family_names": DataGroup.FAMILY_NAMES,
    "nom_de_plume": DataGroup.NOM_DE_PLUME,
    "academic_title": DataGroup.ACADEMIC_TITLE,
    "date_of_birth": DataGroup.DATE_OF_BIRTH,
    "place_of_birth": DataGroup.PLACE_OF_BIRTH,
    "nationality": DataGroup.NATIONALITY,
    "birth_name": DataGroup.BIRTH_NAME,
    "place_of_residence": DataGroup.PLACE_OF_RESIDENCE,
    "community_id": DataGroup.COMMUNITY_ID,
    "residence_permit_i": DataGroup.RESIDENCE_PERMIT_I,
}


@dataclass(frozen=True, slots=True)
class EidIdentity:
    """eID data groups as Python values. Strings exactly as on the card (upper case, not transliterated)."""

    document_type: str | None = None
    issuing_state: str | None = None
    date_of_expiry: datetime.date | None = None
    given_names: str | None = None
    family_names: str | None = None
    nom_de_plume: str | None = None
    academic_title: str | None = None
    date_of_birth: PartialDate | None = None
    place_of_birth: Place | None = None
    nationality: str | None = None
    birth_name: str | None = None
    place_of_residence: Place | None = None
    community_id: str | None = None
    residence_permit_i: str | None = None

    @classmethod
    def from_data_groups(cls, values: Mapping[DataGroup, Any]) -> EidIdentity:
        """From card values (``YYYYMMDD`` dates, places as JSON objects), each checked for its group."""
        kwargs: dict[str, Any] = {}
        for name, group in _FIELD_GROUPS.items():
            if group not in values:
                continue
            value = validate_value(group, values[group])
            if group is DataGroup.DATE_OF_EXPIRY:
                value = parse_card_date(value)
            elif group is DataGroup.DATE_OF_BIRTH:
                value = PartialDate.parse_card(value)
            elif group in (DataGroup.PLACE_OF_BIRTH, DataGroup.PLACE_OF_RESIDENCE):
                value = place_from_json(value)
            kwargs[name] = value
        return cls(**kwargs)

    def to_data_groups(self) -> dict[DataGroup, Any]:
        """The card values of every data group present."""
        out: dict[DataGroup, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            group = _FIELD_GROUPS[field.name]
            if isinstance(value, datetime.date):
                value = value.strftime("%Y%m%d")
            elif isinstance(value, PartialDate):
                value = value.to_card()
            elif not isinstance(value, str):
                value = value.to_json()
            out[group] = validate_value(group, value)
        return out

    @property
    def data_groups(self) -> frozenset[DataGroup]:
        return frozenset(self.to_data_groups())
