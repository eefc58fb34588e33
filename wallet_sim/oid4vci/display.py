"""Display metadata: how the wallet names an issuer, a credential and its claims, in German or English.

Sources, in the order OpenID4VCI 1.0 §12.2.4 prescribes ("Format-specific mechanisms, such as SD-JWT VC display
metadata are always preferred by the Wallet over the information in this object, which serves as the default
fallback"): SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc §8 ``display``, §9 claim ``display`` with ``label``)
first, then the configuration's ``credential_metadata`` (``display`` with ``name``; Appendix B.2 claims with
``name``). The issuer's own name comes from the issuer metadata ``display``.

Everything is normalised into one JSON shape kept with the credential (so the wallet shows it offline), and colours
are accepted only as ``#rgb``/``#rrggbb`` with WCAG 2.1 contrast of at least 4.5:1 between text and background —
otherwise the wallet's own accessible colours are used (issuer metadata must never make a card unreadable, nor inject
CSS).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "DEFAULT_COLORS",
    "claim_label",
    "contrast_ratio",
    "localized",
    "normalise_display",
    "safe_colors",
]

DEFAULT_COLORS: Final = ("#004b87", "#ffffff")
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
MAX_TEXT = 300


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value.strip() else None


def _entries(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def localized(entries: Sequence[Mapping[str, Any]], lang: str) -> Mapping[str, Any] | None:
    """The entry for ``lang`` (``de``/``en``): exact locale, then same primary language (BCP 47 ``de-DE`` → ``de``),
    then an entry without locale, then English, then the first."""
    if not entries:
        return None
    lang = lang.lower()
    by_locale = [(str(e.get("locale", "")).lower(), e) for e in entries]
    for locale, entry in by_locale:
        if locale == lang:
            return entry
    for locale, entry in by_locale:
        if locale.split("-")[0] == lang.split("-")[0] and locale:
            return entry
    for locale, entry in by_locale:
        if not locale:
            return entry
    for locale, entry in by_locale:
        if locale.split("-")[0] == "en":
            return entry
    return entries[0]


def _credential_display(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    name = _text(entry.get("name"))
    if name is None:
        return None
    out: dict[str, Any] = {"name": name}
    if isinstance(entry.get("locale"), str):
        out["locale"] = entry["locale"][:35]
    description = _text(entry.get("description"))
    if description:
        out["description"] = description
    # SD-JWT VC §8.1.1 rendering.simple, or OpenID4VCI §12.2.4 top-level colours.
    rendering = entry.get("rendering")
    simple = rendering.get("simple") if isinstance(rendering, Mapping) else None
    source = simple if isinstance(simple, Mapping) else entry
    for key in ("background_color", "text_color"):
        if isinstance(source.get(key), str) and _HEX.match(source[key]):
            out[key] = source[key]
    return out


def _claims(claims: Any, label_key: str) -> list[dict[str, Any]]:
    out = []
    for claim in _entries(claims):
        path = claim.get("path")
        if not isinstance(path, list) or not path:
            continue
        labels = []
        for d in _entries(claim.get("display")):
            label = _text(d.get(label_key)) or _text(d.get("name")) or _text(d.get("label"))
            if label:
                labels.append({"locale": str(d.get("locale", ""))[:35], "label": label})
        out.append({"path": list(path), "display": labels})
    return out


def normalise_display(
    issuer_metadata: Mapping[str, Any],
    configuration: Mapping[str, Any],
    type_metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The display snapshot kept with a credential: ``issuer``, ``credential``, ``claims`` (each a list per locale)."""
    issuer = []
    for entry in _entries(issuer_metadata.get("display")):
        name = _text(entry.get("name"))
        if name:
            issuer.append({"locale": str(entry.get("locale", ""))[:35], "name": name})
    metadata = configuration.get("credential_metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    credential: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    if type_metadata:
        credential = [d for d in map(_credential_display, _entries(type_metadata.get("display"))) if d]
        claims = _claims(type_metadata.get("claims"), "label")
    if not credential:
        credential = [d for d in map(_credential_display, _entries(metadata.get("display"))) if d]
    if not claims:
        claims = _claims(metadata.get("claims"), "name")
    return {"issuer": issuer, "credential": credential, "claims": claims}


def claim_label(display: Mapping[str, Any], path: Sequence[Any], lang: str) -> str | None:
    """The label of the claim at ``path`` in ``lang`` (``None`` when the issuer gave none)."""
    for claim in _entries(display.get("claims")):
        if list(claim.get("path", [])) == list(path):
            entry = localized(_entries(claim.get("display")), lang)
            return None if entry is None else str(entry.get("label"))
    return None


def _luminance(color: str) -> float:
    hex_digits = color[1:]
    if len(hex_digits) == 3:
        hex_digits = "".join(c * 2 for c in hex_digits)
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio (relative luminance L1+0.05 / L2+0.05)."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def safe_colors(entry: Mapping[str, Any] | None) -> tuple[str, str]:
    """(background, text) from a display entry when both are hex colours with contrast ≥ 4.5:1 (WCAG 2.1 SC 1.4.3),
    else the wallet's defaults."""
    if entry is None:
        return DEFAULT_COLORS
    background, text = entry.get("background_color"), entry.get("text_color")
    if isinstance(background, str) and _HEX.match(background):
        if not (isinstance(text, str) and _HEX.match(text)):
            text = (
                "#ffffff"
                if contrast_ratio("#ffffff", background) >= contrast_ratio("#000000", background)
                else ("#000000")
            )
        if contrast_ratio(text, background) >= 4.5:
            return background, text
    return DEFAULT_COLORS
