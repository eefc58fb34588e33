"""OpenID Connect login end to end over real HTTP (issue "Verifier II"): portals that are ordinary authlib OIDC
clients (verifier/portal.py, "Bürgerportal Musterstadt" with client_secret_basic and a second portal with
private_key_jwt) ↔ govssi's verifier as OpenID Provider ↔ the wallet simulator holding a PID issued through the eID
by govssi's PID provider and a Bewohnerparkausweis from govssi's issuer. The browser is an HTTP client that follows
redirects by hand, because the wallet steps in between."""

from __future__ import annotations

import hashlib
import html
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verifier"))

from issuer_support import ADMIN, SAMPLE_CLAIMS, demo_ca
from verifier_support import Accreditation, FakeTrust, settings, sqlite_store, verifier_identity

from infra.server import LoopbackServer
from issuer import IssuerSettings, MemoryKeyring, loopback_issuer
from ssi.encoding import b64url_decode
from ssi.jose import parse_compact
from ssi.keys import PrivateKey
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import parse_x5c, spki_sha256
from verifier.app import free_loopback_port
from verifier.oidc import OidcSettings, PortalRegistry
from verifier.oidc.loopback import loopback_openid_provider
from verifier.portal import LOGIN_OPTIONS, PortalConfig, create_portal_app, portal_registration
from wallet_sim.eid import EidCards
from wallet_sim.eid.citizens import find_citizen
from wallet_sim.oid4vp import PresentationClient, present, propose
from wallet_sim.pid import issue_pid
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import ReceivedCredentials, Wallet

PIN = "246810"
CARD_PIN = "123456"
ISSUER_DID = "did:ethr:0x539:0x" + "7a" * 20


@dataclass
class Stack:
    op_url: str
    portals: dict[str, PortalConfig]
    wallet: Wallet
    policy: WalletRequestPolicy

    def log_in(self, portal: str, option: str, *, decline: bool = False) -> str:
        """A browser logs in at ``portal`` with ``option``; the portal's page afterwards."""
        config = self.portals[portal]
        with httpx.Client(timeout=30, follow_redirects=False) as browser:
            to_op = browser.get(f"{config.base_url}/login/{option}")
            assert to_op.status_code == 302 and to_op.headers["location"].startswith(f"{self.op_url}/authorize?")
            started = browser.get(to_op.headers["location"])
            assert started.status_code == 303, started.text
            page = browser.get(f"{self.op_url}{started.headers['location']}")
            link = html.unescape(re.search(r'id="same-device" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
            with PresentationClient(self.policy) as client:
                resolved = client.resolve(link)
                proposal = propose(self.wallet, resolved)
                if decline:
                    outcome = client.decline(resolved)
                else:
                    assert proposal.satisfiable
                    outcome = present(self.wallet, client, proposal, proposal.selection())
            assert outcome.redirect_uri is not None, outcome
            back = browser.get(outcome.redirect_uri)  # same device: the wallet hands the browser back
            assert back.status_code == 303 and back.headers["location"].startswith(config.redirect_uri + "?")
            callback = browser.get(back.headers["location"])  # the portal redeems the code (authlib)
            assert callback.status_code == 303, callback.text
            return browser.get(f"{config.base_url}/").text


def _received(page: str) -> dict[str, Any]:
    found = re.search(r'<pre id="received">(.*?)</pre>', page, re.S)
    assert found, page
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data


def _span(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert found, page
    return html.unescape(found.group(1))


def _published(http: httpx.Client, uri: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = http.get(uri)
        if answer.status_code == 200:
            return answer.text
        time.sleep(0.2)
    raise AssertionError(f"{uri} was never published")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("oidc-e2e")
    issuer_settings = IssuerSettings(
        data_dir=base / "issuer",
        bootstrap_key="test-bootstrap-key-0001",
        key_passphrase="pw",
        pid_authority="pid",
        token_rate_limit=0,
    )
    identity = verifier_identity("http://127.0.0.1")
    trust = FakeTrust()
    ports = {"musterstadt": free_loopback_port(), "nachbarstadt": free_loopback_port()}
    with (
        loopback_issuer(issuer_settings, keyring=MemoryKeyring(demo_ca())) as (issuer_server, issuer),
        httpx.Client(timeout=30) as http,
    ):
        assert issuer.bootstrap is not None
        credential_issuer = issuer.bootstrap.credential_issuer
        wallet = Wallet.create(base / "wallet", PIN, kdf=FAST_KDF, allow_http_loopback=True, batch=10)
        offer = http.post(
            f"{credential_issuer}/admin/offers",
            headers=ADMIN,
            json={"credential_configuration_id": "bewohnerparkausweis", "claims": SAMPLE_CLAIMS["bewohnerparkausweis"]},
        ).json()
        (received,) = wallet.request(wallet.resolve_offer(offer["offer_uri"]), offer["tx_code"])
        assert isinstance(received, ReceivedCredentials)
        stored = [wallet.accept(received).id]
        card = EidCards(base / "cards").card("erika")
        card.change_pin(find_citizen("erika").transport_pin, CARD_PIN)
        stored.append(
            issue_pid(wallet, f"{issuer_server.url}/issuers/pid", card=card, pin=CARD_PIN, batch=10).stored.id
        )
        # the chain's answers: accreditations by certificate key, anchored status lists
        for number, credential_id in enumerate(stored):
            jwt = wallet.compact(credential_id).split("~")[0]
            payload = json.loads(b64url_decode(jwt.split(".")[1]))
            did = f"{ISSUER_DID[:-2]}{number:02x}"
            spki = spki_sha256(parse_x5c(parse_compact(jwt)[3]["x5c"])[0])
            previous = trust.accreditations.get(spki)
            types = (*previous.types, payload["vct"]) if previous else (payload["vct"],)
            trust.accreditations[spki] = Accreditation(previous.did if previous else did, types)
            uri = payload["status"]["status_list"]["uri"]
            trust.anchors[(trust.accreditations[spki].did, uri)] = [
                hashlib.sha256(_published(http, uri).encode()).digest()
            ]
        parking_vct = f"{credential_issuer}/vct/bewohnerparkausweis"
        musterstadt = PortalConfig(
            op_url="",
            base_url=f"http://127.0.0.1:{ports['musterstadt']}",
            client_secret="musterstadt-client-secret-" + "s" * 20,
            sector_identifier="musterstadt.example",
        )
        nachbarstadt = PortalConfig(
            op_url="",
            base_url=f"http://127.0.0.1:{ports['nachbarstadt']}",
            client_id="nachbarstadt",
            client_name="Portal Nachbarstadt",
            private_jwk={**PrivateKey.generate("ES256").private_jwk(), "kid": "n-1"},
            options={"identify": LOGIN_OPTIONS["identify"]},
            cookie_name="nachbarstadt_session",
            sector_identifier="nachbarstadt.example",  # both portals run on 127.0.0.1: one host, one default sector
        )
        document = {
            "scopes": {
                "parking_permit": {
                    "description": "Bewohnerparkausweis: Kennzeichen und Parkzone",
                    "credentials": [
                        {
                            "id": "parking_permit",
                            "format": "dc+sd-jwt",
                            "meta": {"vct_values": [parking_vct]},
                            "claims": [{"path": ["license_plate"]}, {"path": ["parking_zone"]}],
                        }
                    ],
                }
            },
            "clients": [portal_registration(musterstadt), portal_registration(nachbarstadt)],
        }
        registry = PortalRegistry.from_document(document, dev_allow_http=True)
        with loopback_openid_provider(
            settings(base / "verifier"),
            registry,
            oidc_settings=OidcSettings(keys_dir=base / "oidc"),
            store=sqlite_store(base),
            keys=identity.keys,
            trust=trust,
            key_history=None,
            did_resolver=None,
            anchors=[demo_ca().certificate],
        ) as (op_server, _service, _provider):
            configs = {
                "musterstadt": replace(musterstadt, op_url=op_server.url),
                "nachbarstadt": replace(nachbarstadt, op_url=op_server.url),
            }
            servers = [LoopbackServer(create_portal_app(c), port=ports[name]) for name, c in configs.items()]
            for server in servers:
                server.start()
            try:
                policy = WalletRequestPolicy(x509_anchors=[identity.ca.certificate], allow_http_loopback=True)
                yield Stack(op_server.url, configs, wallet, policy)
            finally:
                for server in servers:
                    server.stop()
                wallet.close()


def test_pid_login_portal_receives_exactly_name_and_birthdate(stack: Stack) -> None:
    page = stack.log_in("musterstadt", "identify")
    assert _received(page) == {"given_name": "ERIKA", "family_name": "MUSTERMANN", "birthdate": "1964-08-12"}
    assert _span(page, "sub-kind") == "pairwise"
    assert _span(page, "acr") == "http://eidas.europa.eu/LoA/high"
    assert _span(page, "userinfo") == "ja"  # UserInfo (authlib) agrees with the ID Token
    assert _span(page, "scope") == "openid pid_basic"


def test_pairwise_sub_stable_at_one_portal_different_at_another(stack: Stack) -> None:
    """The second portal authenticates with private_key_jwt (authlib's PrivateKeyJWT, ES256)."""
    first = _span(stack.log_in("musterstadt", "identify"), "sub")
    again = _span(stack.log_in("musterstadt", "identify"), "sub")
    elsewhere = _span(stack.log_in("nachbarstadt", "identify"), "sub")
    assert first == again and elsewhere != first


def test_age_login_only_the_boolean_and_a_transient_sub(stack: Stack) -> None:
    first = stack.log_in("musterstadt", "age")
    assert _received(first) == {"age_equal_or_over": {"18": True}}
    assert _span(first, "sub-kind") == "transient"
    second = stack.log_in("musterstadt", "age")
    assert _span(second, "sub") != _span(first, "sub")


def test_parking_permit_login(stack: Stack) -> None:
    page = stack.log_in("musterstadt", "parking")
    assert _received(page) == {"parking_permit": {"license_plate": "K-EM 1964", "parking_zone": "K3"}}
    assert _span(page, "sub-kind") == "transient" and 'id="acr"' not in page


def test_declining_in_the_wallet_tells_the_portal(stack: Stack) -> None:
    page = stack.log_in("musterstadt", "identify", decline=True)
    assert 'id="login-error"' in page and "access_denied" in page and 'id="logged-in"' not in page
