"""The trust triangle inside ``govssi demo`` over real HTTP (issue 13; DESIGN.md §1), with the chain's real answers:

- the PID provider issues ERIKA MUSTERMANN's PID through the simulated eID card, the municipal issuer a residential
  parking permit (offer with tx_code) — both authorities anchored and accredited by the demo cooperative's votes;
- the demo portal "Bürgerportal Musterstadt" (an authlib OIDC client) logs her in through the verifier's OpenID
  Provider: with the PID it receives exactly name and birth date and a pairwise ``sub``; with the permit, plate and
  zone;
- the verifier checks each credential's ``x5c`` chain against the issuer's CA, the accreditation in the trusted-issuer
  registry and the status list against the version anchored on chain; once the clerk revokes the permit, the next
  presentation is refused with ``credential_revoked`` and the portal login ends with an error."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_demo_boot import _free_block

from govssi.demo.stack import DEMO_API_KEY, PORTAL_NAME, DemoConfig, DemoStack
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import load_pem_certificates
from wallet_sim.eid import EidCards
from wallet_sim.eid.citizens import find_citizen
from wallet_sim.oid4vp import PresentationClient, present, propose
from wallet_sim.pid import issue_pid
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import ReceivedCredentials, Wallet

pytestmark = pytest.mark.slow

PERMIT = "bewohnerparkausweis"
CLAIMS = {
    "family_name": "MUSTERMANN",
    "given_name": "ERIKA",
    "address": {"street_address": "HEIDESTRASSE 17", "locality": "KÖLN", "postal_code": "51147"},
    "license_plate": "K-EM 1964",
    "parking_zone": "K3",
    "valid_until": "2099-06-30",
}
CARD_PIN = "123456"


@dataclass
class Citizen:
    stack: DemoStack
    wallet: Wallet
    http: httpx.Client  # the clerk's admin API client

    @property
    def admin(self) -> str:
        return f"{self.stack.info['issuer']['credential_issuer']}/admin"

    def policy(self) -> WalletRequestPolicy:
        anchors = load_pem_certificates(Path(self.stack.info["verifier"]["ca_pem"]).read_bytes())
        return WalletRequestPolicy(x509_anchors=anchors, allow_http_loopback=True)

    def answer(self, link: str) -> Any:
        """The wallet resolves the request (signed by the verifier, certificate from its CA) and presents the
        preferred selection."""
        with PresentationClient(self.policy()) as client:
            resolved = client.resolve(link)
            # the wallet shows the relying party by the name in its request-signing certificate
            assert resolved.verifier.authenticated and resolved.verifier.name == PORTAL_NAME
            proposal = propose(self.wallet, resolved)
            assert proposal.satisfiable
            return present(self.wallet, client, proposal, proposal.selection())

    def log_in(self, option: str) -> str:
        """A browser logs in at the portal with ``option`` (same device; the browser follows redirects by hand, the
        wallet steps in between); the portal's page afterwards."""
        portal, op = self.stack.info["portal"].rstrip("/"), self.stack.info["verifier"]["url"]
        with httpx.Client(timeout=30, follow_redirects=False) as browser:
            to_op = browser.get(f"{portal}/login/{option}")
            assert to_op.status_code == 302 and to_op.headers["location"].startswith(f"{op}/authorize?")
            started = browser.get(to_op.headers["location"])
            assert started.status_code == 303, started.text
            page = browser.get(f"{op}{started.headers['location']}")
            link = html.unescape(re.search(r'id="same-device" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
            outcome = self.answer(link)
            # sent: the wallet hands the browser back; refused: the login page's script moves on when decided
            back = browser.get(outcome.redirect_uri or f"{op}/authorize/complete")
            assert back.status_code == 303 and back.headers["location"].startswith(f"{portal}/callback?")
            assert browser.get(back.headers["location"]).status_code == 303  # the portal redeems the code
            return browser.get(f"{portal}/").text


@pytest.fixture(scope="module")
def citizen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Citizen]:
    base = _free_block(6)
    directory = tmp_path_factory.mktemp("demo")
    config = DemoConfig(
        data_dir=directory / "demo",
        start_port=base,
        issuer_port=base + 1,
        verifier_port=base + 2,
        wallet_port=base + 3,
        portal_port=base + 4,
        chain_port=base + 5,
    )
    stack = DemoStack(config)
    stack.start()
    wallet = Wallet.create(directory / "wallet", "246810", kdf=FAST_KDF, allow_http_loopback=True, batch=10)
    try:
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {DEMO_API_KEY}"}) as http:
            # the PID through the eID: ERIKA's card, the transport PIN changed first
            card = EidCards(directory / "cards").card("erika")
            card.change_pin(find_citizen("erika").transport_pin, CARD_PIN)
            issue_pid(wallet, stack.info["issuer"]["pid_issuer"], card=card, pin=CARD_PIN, batch=10)
            # the parking permit: the clerk's offer, taken with the tx_code
            admin = f"{stack.info['issuer']['credential_issuer']}/admin"
            offer = http.post(f"{admin}/offers", json={"credential_configuration_id": PERMIT, "claims": CLAIMS})
            assert offer.status_code in (200, 201), offer.text
            (received,) = wallet.request(wallet.resolve_offer(offer.json()["offer_uri"]), offer.json()["tx_code"])
            assert isinstance(received, ReceivedCredentials)
            wallet.accept(received)
            # a credential verifies once its status list's current version is anchored (published within a
            # second, then one transaction): wait for both authorities' lists, as a citizen would without noticing
            pid_admin = f"{stack.info['issuer']['pid_issuer']}/admin"
            _wait_anchored(http, pid_admin, api_key=stack.info["issuer"]["pid_api_key"])
            yield Citizen(stack, wallet, http)
    finally:
        wallet.close()
        stack.stop()


def _wait_anchored(
    http: httpx.Client, admin: str, *, newer_than: int = 0, api_key: str = DEMO_API_KEY
) -> dict[str, Any]:
    """The authority's status list once a version newer than ``newer_than`` is anchored on the chain and no change
    waits for publication."""
    deadline = time.monotonic() + 30
    headers = {"Authorization": f"Bearer {api_key}"}
    while time.monotonic() < deadline:
        (listed,) = http.get(f"{admin}/status-lists", headers=headers).json()["status_lists"]
        if listed["version"] > newer_than and listed["anchor_state"] == "anchored" and not listed["pending_changes"]:
            return dict(listed)
        time.sleep(0.2)
    raise AssertionError(f"the status list was not anchored: {listed}")


def _received(page: str) -> dict[str, Any]:
    found = re.search(r'<pre id="received">(.*?)</pre>', page, re.S)
    assert found, page
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data


def _span(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert found, page
    return html.unescape(found.group(1))


def _present_permit(citizen: Citizen) -> tuple[Any, dict[str, Any]]:
    """``(the wallet's outcome, the verifier's result)`` of presenting the permit's plate and zone through the
    verifier's relying-party API."""
    verifier = citizen.stack.info["verifier"]["url"]
    credential_issuer = citizen.stack.info["issuer"]["credential_issuer"]
    query = {
        "credentials": [
            {
                "id": "permit",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [f"{credential_issuer}/vct/{PERMIT}"]},
                "claims": [{"path": ["license_plate"]}, {"path": ["parking_zone"]}],
            }
        ]
    }
    created = citizen.http.post(f"{verifier}/api/presentations", json={"dcql_query": query})
    assert created.status_code == 201, created.text
    outcome = citizen.answer(created.json()["authorization_request"])
    session = created.json()["session"]
    result: dict[str, Any] = citizen.http.get(f"{verifier}/api/presentations/{session}/result").json()
    return outcome, result


def test_both_authorities_are_accredited_by_the_cooperative(citizen: Citizen) -> None:
    issuer = citizen.stack.info["issuer"]
    assert issuer["accreditation"]["status"] == "active"
    assert f"{issuer['credential_issuer']}/vct/{PERMIT}" in issuer["accreditation"]["credential_types"]
    assert issuer["pid_accreditation"]["status"] == "active"
    assert issuer["pid_accreditation"]["credential_types"] == ["urn:eudi:pid:de:1"]
    assert citizen.stack.info["verifier"]["trust_anchor"] == issuer["ca_pem"]


def test_portal_login_with_the_pid_receives_exactly_name_and_birthdate(citizen: Citizen) -> None:
    page = citizen.log_in("identify")
    assert _received(page) == {"given_name": "ERIKA", "family_name": "MUSTERMANN", "birthdate": "1964-08-12"}
    assert _span(page, "sub-kind") == "pairwise"
    assert _span(page, "acr") == "http://eidas.europa.eu/LoA/high"
    again = citizen.log_in("identify")
    assert _span(again, "sub") == _span(page, "sub")  # the pairwise pseudonym is stable at this portal


def test_portal_age_login_only_the_boolean(citizen: Citizen) -> None:
    page = citizen.log_in("age")
    assert _received(page) == {"age_equal_or_over": {"18": True}}
    assert _span(page, "sub-kind") == "transient"


def test_permit_verified_against_the_chain_then_refused_once_revoked(citizen: Citizen) -> None:
    """Runs last in this module: it revokes the permit."""
    first = _wait_anchored(citizen.http, citizen.admin)
    outcome, result = _present_permit(citizen)
    assert outcome.status == "sent", outcome
    assert result["status"] == "verified", result
    (permit,) = result["credentials"]["permit"]
    assert permit["claims"] == {"license_plate": "K-EM 1964", "parking_zone": "K3"}
    assert permit["issuer"] == citizen.stack.info["issuer"]["credential_issuer"]
    assert permit["status"] == "valid" and permit["status_anchored"] is True
    page = citizen.log_in("parking")
    assert _received(page) == {"parking_permit": {"license_plate": "K-EM 1964", "parking_zone": "K3"}}

    # batch issuance: the wallet holds several one-time copies; the clerk revokes the permit (every copy)
    issued = citizen.http.get(f"{citizen.admin}/credentials", params={"type": PERMIT}).json()["credentials"]
    assert issued
    for copy in issued:
        revoked = citizen.http.post(f"{citizen.admin}/credentials/{copy['credential_id']}/revoke")
        assert revoked.status_code == 200, revoked.text
    _wait_anchored(citizen.http, citizen.admin, newer_than=first["version"])

    _outcome, refused = _present_permit(citizen)
    assert refused["status"] == "refused", refused
    assert refused["reason"] == "credential_revoked"
    page = citizen.log_in("parking")
    assert 'id="login-error"' in page and 'id="logged-in"' not in page
    # the start page links every role
    start = httpx.get(citizen.stack.info["start_page"] + "/?lang=en", timeout=10).text
    for url in (citizen.stack.info["portal"], citizen.stack.info["verifier"]["url"] + "/"):
        assert f'href="{url}"' in start
