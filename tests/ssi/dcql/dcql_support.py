"""Helpers for the DCQL tests: the specification's example queries and credentials described for ``ssi.dcql``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ssi.dcql import FORMAT_MDOC, FORMAT_SD_JWT_VC, CredentialDescription, DcqlQuery

EXAMPLES = Path(__file__).parent / "spec_examples"
IDENTITY = "https://credentials.example.com/identity_credential"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def query(name: str) -> DcqlQuery:
    return DcqlQuery.parse(example(name))


def sd_jwt_vc(vct: str, claims: dict[str, Any], **kwargs: Any) -> CredentialDescription:
    """A held SD-JWT VC (``disclosed`` unset) or, with ``disclosed=(...)``, a received presentation."""
    return CredentialDescription(format=FORMAT_SD_JWT_VC, claims=claims, vct=vct, **kwargs)


def mdoc(doctype: str, namespaces: dict[str, dict[str, Any]], **kwargs: Any) -> CredentialDescription:
    return CredentialDescription(format=FORMAT_MDOC, claims=namespaces, doctype=doctype, **kwargs)


#: §7.3 "Claims Path Pointer Example": the simplified JSON-based credential.
ARTHUR = {
    "name": "Arthur Dent",
    "address": {"street_address": "42 Market Street", "locality": "Milliways", "postal_code": "12345"},
    "degrees": [
        {"type": "Bachelor of Science", "university": "University of Betelgeuse"},
        {"type": "Master of Science", "university": "University of Betelgeuse"},
    ],
    "nationalities": ["British", "Betelgeusian"],
}

#: An identity credential with every claim the Appendix D queries mention.
IDENTITY_CLAIMS = {
    "iss": "https://issuer.example.com",
    "vct": IDENTITY,
    "given_name": "John",
    "family_name": "Doe",
    "first_name": "John",
    "last_name": "Doe",
    "date_of_birth": "1940-01-01",
    "postal_code": "90210",
    "locality": "Beverly Hills",
    "region": "CA",
    "address": {"street_address": "123 Main St", "postal_code": "90210", "locality": "Beverly Hills"},
}
