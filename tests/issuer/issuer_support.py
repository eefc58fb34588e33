"""Test support for the issuer: sample claims per shipped credential type (the simulator's sample citizen, DESIGN.md
§4), an in-memory demo CA, and builders for issuers with injected clock, storage and keys."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from infra.db import create_engine, sqlite_url
from issuer import CertificateAuthority, Issuer, IssuerSettings, MemoryKeyring, build_issuer
from ssi.clock import Clock

API_KEY = "test-bootstrap-key-0001"
ADMIN = {"Authorization": f"Bearer {API_KEY}"}
PUBLIC_URL = "https://issuer.example.de"

ADDRESS = {"street_address": "HEIDESTRASSE 17", "postal_code": "51147", "locality": "KÖLN"}
SAMPLE_CLAIMS: dict[str, dict[str, Any]] = {
    "bewohnerparkausweis": {
        "family_name": "MUSTERMANN",
        "given_name": "ERIKA",
        "address": dict(ADDRESS),
        "license_plate": "K-EM 1964",
        "parking_zone": "K3",
        "valid_until": "2099-06-30",
    },
    "meldebescheinigung": {
        "family_name": "MUSTERMANN",
        "given_name": "ERIKA",
        "birthdate": "1964-08-12",
        "address": {**ADDRESS, "country": "DE"},
        "move_in_date": "2019-04-01",
    },
    "dienstausweis": {
        "family_name": "MUSTERMANN",
        "given_name": "ERIKA",
        "employer": "Stadt Köln, Amt für Digitalisierung",
        "role": "Sachbearbeiterin",
    },
}

_CA: CertificateAuthority | None = None


def demo_ca() -> CertificateAuthority:
    """One in-memory CA per test session (certificates for issuer keys)."""
    global _CA
    if _CA is None:
        _CA = CertificateAuthority.generate("govssi Test-CA", now=time.time() - 86400)
    return _CA


def settings(tmp_path: Path, **overrides: Any) -> IssuerSettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "public_url": PUBLIC_URL,
        "bootstrap_key": API_KEY,
        "key_passphrase": "test passphrase",
    }
    values.update(overrides)
    return IssuerSettings(**values)


def make_issuer(
    tmp_path: Path, *, clock: Clock = time.time, database_url: str | None = None, **overrides: Any
) -> Issuer:
    """An issuer on an SQLite file in ``tmp_path`` (or ``database_url``) with in-memory keys. ``chain``, ``store`` and
    ``rng`` go to ``build_issuer``; other keyword arguments are settings (unknown ones are refused)."""
    engine = create_engine(database_url or sqlite_url(tmp_path / "issuer.db"))
    keyring = MemoryKeyring(demo_ca(), clock=clock)
    injected = {name: overrides.pop(name) for name in ("chain", "store", "rng", "anchoring") if name in overrides}
    unknown = set(overrides) - set(IssuerSettings.model_fields)
    assert not unknown, f"not issuer settings: {unknown}"
    return build_issuer(settings(tmp_path, **overrides), engine=engine, keyring=keyring, clock=clock, **injected)
