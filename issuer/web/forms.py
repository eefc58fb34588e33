"""The offer form generated from a credential type document (:mod:`issuer.credential_type`), and the way back from
the submitted form to the offer's claims.

Each claim becomes one labelled field (its ``display`` label in the page's language): ``string`` → text input with
the type's ``max_length``, ``date`` → date input (``YYYY-MM-DD``), ``integer`` → numeric input, ``boolean`` → a
yes/no choice (a checkbox cannot tell "no" from "not given"), ``object`` → a ``fieldset`` whose ``legend`` is the
claim's label (WCAG 2.1 SC 1.3.1: the grouping is in the markup). Field names are ``claims.<path joined by .>``
(claim names are ``[A-Za-z_][A-Za-z0-9_]*``, so the dot is unambiguous).

Parsing checks what a browser could let through (required, number and date syntax, length) and names the field of
each problem, so the page can mark it (``aria-invalid``) and link the message (``aria-describedby``); the type's own
:meth:`~issuer.credential_type.CredentialType.check_claims` still runs when the offer is made.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from issuer.credential_type import ClaimRule, CredentialType

__all__ = ["ClaimField", "ParsedClaims", "claim_fields", "display_name", "parse_claims"]

LOCALES = {"de": ("de-DE", "de"), "en": ("en-US", "en-GB", "en")}


def _label(displays: tuple[Any, ...], lang: str, attribute: str, fallback: str) -> str:
    wanted = LOCALES.get(lang, ())
    for locale in wanted:
        for item in displays:
            if item.locale == locale:
                return str(getattr(item, attribute))
    for item in displays:
        if item.locale.split("-")[0] == lang:
            return str(getattr(item, attribute))
    return str(getattr(displays[0], attribute)) if displays else fallback


def display_name(ctype: CredentialType, lang: str) -> str:
    """The type's name in the page's language (its first display entry otherwise)."""
    return _label(ctype.display, lang, "name", ctype.name)


@dataclass
class ClaimField:
    """One field (or, for ``object`` claims, a group of fields) of the offer form."""

    rule: ClaimRule
    name: str
    id: str
    label: str
    children: list[ClaimField] = field(default_factory=list)

    @property
    def input_type(self) -> str:
        return {"date": "date", "integer": "number", "boolean": "select", "object": "group"}.get(self.rule.type, "text")

    @property
    def required(self) -> bool:
        return self.rule.mandatory


def _field_name(path: tuple[str, ...]) -> str:
    return "claims." + ".".join(path)


def claim_fields(ctype: CredentialType, lang: str) -> list[ClaimField]:
    """The form's fields in the document's order, members of objects nested in their group."""
    fields: dict[tuple[str, ...], ClaimField] = {}
    top: list[ClaimField] = []
    for rule in ctype.claims:
        name = _field_name(rule.path)
        item = ClaimField(rule, name, "f-" + name.replace(".", "-"), _label(rule.display, lang, "name", rule.path[-1]))
        fields[rule.path] = item
        parent = fields.get(rule.path[:-1]) if len(rule.path) > 1 else None
        (parent.children if parent is not None else top).append(item)
    return top


@dataclass
class ParsedClaims:
    claims: dict[str, Any]
    #: field name → error key (texts in :mod:`issuer.web.i18n`)
    errors: dict[str, str]
    #: what was typed, to fill the form again
    values: dict[str, str]


def parse_claims(ctype: CredentialType, form: Mapping[str, str]) -> ParsedClaims:
    """The claims of the submitted form; empty optional fields are left out, an optional object with no member given
    is left out as a whole."""
    values = {k: v for k, v in form.items() if k.startswith("claims.")}
    errors: dict[str, str] = {}
    claims: dict[str, Any] = {}

    def given(path: tuple[str, ...]) -> bool:
        prefix = _field_name(path)
        return any(
            (k == prefix or k.startswith(prefix + ".")) and v.strip()
            for k, v in values.items()
            if not k.endswith(".__group")
        )

    for rule in ctype.claims:
        name = _field_name(rule.path)
        # Members of an optional object count as required only when the object is given at all.
        parent_given = len(rule.path) == 1 or given(rule.path[:-1])
        if rule.type == "object":
            if given(rule.path):
                _set(claims, rule.path, {})
            elif rule.mandatory and parent_given:
                errors[name] = "err_required"
            continue
        raw = values.get(name, "").strip()
        if not raw:
            if rule.mandatory and parent_given:
                errors[name] = "err_required"
            continue
        value: Any = raw
        if rule.type == "integer":
            try:
                value = int(raw, 10)
            except ValueError:
                errors[name] = "err_integer"
                continue
            if abs(value) >= 2**53:
                errors[name] = "err_integer"
                continue
        elif rule.type == "boolean":
            if raw not in ("true", "false"):
                errors[name] = "err_boolean"
                continue
            value = raw == "true"
        elif rule.type == "date":
            try:
                if datetime.date.fromisoformat(raw).isoformat() != raw:
                    raise ValueError(raw)
            except ValueError:
                errors[name] = "err_date"
                continue
        elif len(raw) > rule.max_length:
            errors[name] = "err_too_long"
            continue
        _set(claims, rule.path, value)
    return ParsedClaims(claims, errors, values)


def _set(claims: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = claims
    for part in path[:-1]:
        target = target.setdefault(part, {})
    if isinstance(value, dict) and isinstance(target.get(path[-1]), dict):
        return
    target[path[-1]] = value
