"""Fixtures for the wallet simulator tests: a real govssi issuer over HTTP on 127.0.0.1 (``issuer.loopback_issuer``),
an admin helper creating offers, and wallets with cheap Argon2id parameters in temporary directories."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))

from issuer_support import ADMIN, SAMPLE_CLAIMS, demo_ca

from issuer import IssuerSettings, MemoryKeyring, loopback_issuer
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet

PIN = "246810"


@dataclass
class RunningIssuer:
    """The loopback issuer: its credential issuer identifier and an admin client for offers."""

    credential_issuer: str
    base_url: str
    http: httpx.Client

    def offer(self, type_id: str = "bewohnerparkausweis", *, tx_code: bool = True, **claims: Any) -> dict[str, Any]:
        sample = SAMPLE_CLAIMS[type_id.removesuffix("_geprueft")]
        body = {"credential_configuration_id": type_id, "claims": {**sample, **claims}}
        if not tx_code:
            body["tx_code"] = False
        response = self.http.post(f"{self.credential_issuer}/admin/offers", headers=ADMIN, json=body)
        assert response.status_code == 201, response.text
        offer: dict[str, Any] = response.json()
        return offer

    def offer_state(self, offer_id: str) -> dict[str, Any]:
        state: dict[str, Any] = self.http.get(f"{self.credential_issuer}/admin/offers/{offer_id}", headers=ADMIN).json()
        return state

    def notification_events(self, offer_id: str) -> list[str | None]:
        """The Notification Endpoint's record (OpenID4VCI §11) of each credential issued for the offer."""
        answer = self.http.get(f"{self.credential_issuer}/admin/credentials", params={"offer": offer_id}, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return [c["notification_event"] for c in answer.json()["credentials"]]

    def approval_type(self, base: str = "dienstausweis") -> str:
        """A copy of ``base`` whose every request waits for a clerk (deferred issuance, OpenID4VCI §9)."""
        types = self.http.get(f"{self.credential_issuer}/admin/credential-types", headers=ADMIN).json()
        document = {**types["credential_types"][base], "id": f"{base}_geprueft", "requires_approval": True}
        url = f"{self.credential_issuer}/admin/credential-types/{document['id']}"
        answer = self.http.put(url, headers=ADMIN, json=document)
        assert answer.status_code in (200, 201), answer.text
        return str(document["id"])

    def approve(self, offer_id: str) -> None:
        answer = self.http.post(f"{self.credential_issuer}/admin/offers/{offer_id}/approve", headers=ADMIN)
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="session")
def running_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIssuer]:
    settings = IssuerSettings(
        data_dir=tmp_path_factory.mktemp("issuer"),
        bootstrap_key="test-bootstrap-key-0001",
        key_passphrase="pw",
        deferred_interval=1,  # deferred issuance: wallets may ask again after 1 s (default 30)
    )
    with (
        loopback_issuer(settings, keyring=MemoryKeyring(demo_ca())) as (server, issuer),
        httpx.Client(timeout=20) as http,
    ):
        assert issuer.bootstrap is not None
        yield RunningIssuer(issuer.bootstrap.credential_issuer, server.url, http)


@pytest.fixture
def make_wallet(tmp_path: Path) -> Iterator[Callable[..., Wallet]]:
    opened: list[Wallet] = []

    def build(name: str = "wallet", **kw: Any) -> Wallet:
        kw.setdefault("allow_http_loopback", True)
        wallet = Wallet.create(tmp_path / name, PIN, kdf=FAST_KDF, **kw)
        opened.append(wallet)
        return wallet

    yield build
    for wallet in opened:
        wallet.close()


@pytest.fixture
def wallet(make_wallet: Callable[..., Wallet]) -> Wallet:
    return make_wallet()
