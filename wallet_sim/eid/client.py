"""The eID client's view of a request (TR-03124 style): before the citizen enters the PIN, show who asks (the
terminal certificate's description: provider name, URL, terms), what is required and what is optional, and the
special functions — so the citizen can deselect optional data and consent knowingly. The card verifies everything
again; this only reads."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ssi.eid import AccessRight, Chat, EidRequest

__all__ = ["RequestDescription", "RequestedItem", "describe_request"]

_SPECIAL_LABELS: Final = {
    AccessRight.AGE_VERIFICATION: ("Altersbestätigung", "Age verification"),
    AccessRight.COMMUNITY_ID_VERIFICATION: ("Wohnortbestätigung", "Place of residence verification"),
    AccessRight.RESTRICTED_IDENTIFICATION: (
        "Pseudonym (dienste- und kartenspezifisches Kennzeichen)",
        "Pseudonym (service- and card-specific identifier)",
    ),
}


@dataclass(frozen=True, slots=True)
class RequestedItem:
    """One right asked for: ``key`` (``DG4`` …, ``AGE_VERIFICATION`` …) and its label."""

    key: str
    label: str
    required: bool


@dataclass(frozen=True, slots=True)
class RequestDescription:
    provider_name: str
    provider_url: str | None
    issuer_name: str | None
    terms_of_usage: str | None
    terminal: str
    certificate_expiry: datetime.date
    items: tuple[RequestedItem, ...]
    minimum_birth_date: datetime.date | None
    place_prefix: str | None
    transaction_info: str | None
    expires_at: int

    @property
    def required(self) -> tuple[RequestedItem, ...]:
        return tuple(i for i in self.items if i.required)

    @property
    def optional(self) -> tuple[RequestedItem, ...]:
        return tuple(i for i in self.items if not i.required)

    def to_json(self) -> dict[str, Any]:
        return {
            "provider_name": self.provider_name,
            "provider_url": self.provider_url,
            "issuer_name": self.issuer_name,
            "terms_of_usage": self.terms_of_usage,
            "terminal": self.terminal,
            "certificate_expiry": self.certificate_expiry.isoformat(),
            "required": [{"key": i.key, "label": i.label} for i in self.required],
            "optional": [{"key": i.key, "label": i.label} for i in self.optional],
            "transaction_info": self.transaction_info,
        }


def _items(chat: Chat, *, required: bool, lang: str) -> list[RequestedItem]:
    english = lang == "en"
    items = [RequestedItem(f"DG{g.value}", g.label(lang), required) for g in sorted(chat.data_groups)]
    for right, labels in _SPECIAL_LABELS.items():
        if chat.may(right):
            items.append(RequestedItem(right.name or "", labels[1] if english else labels[0], required))
    return items


def describe_request(request: EidRequest | Mapping[str, Any], *, lang: str = "de") -> RequestDescription:
    """What to show the citizen for ``request`` (labels in ``de`` or ``en``)."""
    parsed = request if isinstance(request, EidRequest) else EidRequest.from_json(dict(request))
    content = parsed.content()
    certificate = parsed.terminal_certificate()
    description = certificate.description
    return RequestDescription(
        provider_name=description.subject_name if description else certificate.holder_name,
        provider_url=description.subject_url if description else None,
        issuer_name=description.issuer_name if description else None,
        terms_of_usage=description.terms_of_usage if description else None,
        terminal=certificate.chr,
        certificate_expiry=certificate.expiry,
        items=tuple(
            _items(content.required, required=True, lang=lang) + _items(content.optional, required=False, lang=lang)
        ),
        minimum_birth_date=content.age_verification,
        place_prefix=content.place_verification,
        transaction_info=content.transaction_info,
        expires_at=content.expires_at,
    )
