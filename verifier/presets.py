"""Named DCQL queries relying parties can ask for by name (``{"preset": "age_over_18"}``).

The built-in presets ask for the German PID (DESIGN.md §4: ``vct`` ``urn:eudi:pid:de:1``); more come from a JSON
file (``GOVSSI_VERIFIER_PRESETS``: ``{"name": {"purpose": "...", "dcql_query": {...}}}``), validated on load.

Where the purpose goes (:func:`with_purpose`). OpenID4VP 1.0 §6.2 asks the Verifier itself: "Before sending the
presentation request, the Verifier SHOULD display to the End-User the purpose, context, or reason for the query to
the Wallet" — our pages show it next to each preset. The final text has no request parameter for a self-asserted
purpose: ``credential_sets[].purpose`` ("A string, number or object specifying the purpose of the query ... The
Wallet MAY use this information to show the user the reason for the request") was in drafts 23-25 and removed
before 1.0 (openid/OpenID4VP#518); ``verifier_info`` (§5.1) carries attestations "by a trusted third party", which a
sentence the Verifier writes about itself is not. The request still carries it as a Credential Set Query's
``purpose``: §6 "Implementations MUST ignore any unknown properties", so 1.0 wallets ignore it, while wallets that
show it (ours, and those built on the drafts) tell the user why.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssi.dcql import DcqlQuery
from ssi.errors import DcqlError

__all__ = ["BUILTIN_PRESETS", "PID_VCT", "Preset", "load_presets", "with_purpose"]

PID_VCT = "urn:eudi:pid:de:1"


@dataclass(frozen=True)
class Preset:
    name: str
    purpose: str
    query: DcqlQuery

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "purpose": self.purpose, "dcql_query": self.query.to_json()}


def _pid(claims: list[dict[str, Any]], **extra: Any) -> DcqlQuery:
    return DcqlQuery.parse(
        {
            "credentials": [
                {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}, "claims": claims, **extra}
            ]
        }
    )


BUILTIN_PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "pid_identification",
            "Identifizierung mit dem Personalausweis (Name, Geburtsdatum)",
            _pid([{"path": ["given_name"]}, {"path": ["family_name"]}, {"path": ["birthdate"]}]),
        ),
        Preset(
            "age_over_18",
            "Altersnachweis: volljährig",
            _pid([{"path": ["age_equal_or_over", "18"], "values": [True]}]),
        ),
        Preset(
            "pid_address",
            "Anschrift laut Personalausweis",
            _pid(
                [
                    {"path": ["given_name"]},
                    {"path": ["family_name"]},
                    {"path": ["address", "street_address"]},
                    {"path": ["address", "postal_code"]},
                    {"path": ["address", "locality"]},
                ]
            ),
        ),
    )
}


def load_presets(path: Path | None) -> dict[str, Preset]:
    """The built-in presets plus those of ``path``; a malformed file is a ``DcqlError`` naming the preset."""
    presets = dict(BUILTIN_PRESETS)
    if path is None:
        return presets
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise DcqlError(f"{path}: presets are a JSON object of name → preset", reason="dcql_malformed")
    for name, entry in data.items():
        if not isinstance(entry, dict) or "dcql_query" not in entry:
            raise DcqlError(f"preset {name!r} needs a dcql_query", reason="dcql_malformed")
        try:
            query = DcqlQuery.parse(entry["dcql_query"])
        except DcqlError as exc:
            raise DcqlError(f"preset {name!r}: {exc.description}", reason=exc.reason) from None
        presets[name] = Preset(name, str(entry.get("purpose", name)), query)
    return presets


def with_purpose(query: DcqlQuery, purpose: str | None) -> DcqlQuery:
    """``query`` with ``purpose`` in its Credential Set Queries (module docstring), answered exactly as before.

    Without ``credential_sets`` one required set is added whose single option lists every Credential Query: §6.4.2
    "If credential_sets is not provided, the Verifier requests presentations for all Credentials in credentials" —
    and with that set every answer must again contain all of them, and nothing else is referenced. With
    ``credential_sets`` the purpose is added to each set that has none; sets with their own are left as they are.
    Unknown properties of the query are kept."""
    if not purpose:
        return query
    raw = copy.deepcopy(query.raw or query.to_json())
    sets = raw.get("credential_sets")
    if sets is None:
        raw["credential_sets"] = [{"options": [list(query.ids)], "purpose": purpose}]
    else:
        raw["credential_sets"] = [s if "purpose" in s else {**s, "purpose": purpose} for s in sets]
    return DcqlQuery.parse(raw)
