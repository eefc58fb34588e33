"""The web wallet's consent screen over real HTTP (httpx against the wallet app on a LoopbackServer) with govssi's
verifier (also over HTTP): who asks (the verified name and Client Identifier Prefix, §5.9.3), the purpose (§6.2),
each claim required or optional (§6.4.1), the credential used (§6.4.3); Approve sends (§8.2, §8.3.1), Decline sends
``access_denied`` (§8.5); the same-device link (nothing fetched on a GET) and the ``redirect_uri`` with its
``response_code`` (§8.2, HAIP 1.0); CSRF, Origin and session binding as for every form of the web wallet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from presentation_support import PID, RunningVerifier, pid_query, running_verifier, store_pid

from infra.server import LoopbackServer
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import load_pem_certificates
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet
from wallet_sim.web import create_wallet_app

PIN = "246810"

QUERY: dict[str, Any] = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [PID]},
            "claims": [
                {"id": "name", "path": ["family_name"]},
                {"id": "ort", "path": ["address", "locality"]},
                {"id": "geburt", "path": ["birthdate"]},
            ],
            "claim_sets": [["name", "ort", "geburt"], ["name", "ort"]],
        }
    ],
    "credential_sets": [{"options": [["pid"]], "purpose": {"de": "Bewohnerparken beantragen", "en": "Parking permit"}}],
}


@dataclass
class WebWallet:
    url: str
    http: httpx.Client
    verifier: RunningVerifier
    data_dir: Path

    def csrf(self, html: str | None = None) -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', html if html is not None else self.http.get("/").text)
        assert match
        return match.group(1)

    def unlock(self) -> str:
        token = self.csrf()
        page = self.http.post("/unlock", data={"csrf": token, "pin": PIN}, follow_redirects=True)
        assert page.status_code == 200 and 'href="/present"' in page.text
        return token

    def consent(self, link: str) -> httpx.Response:
        page = self.http.post("/present", data={"csrf": self.csrf(), "link": link})
        return page

    @staticmethod
    def action(page: httpx.Response, kind: str) -> str:
        match = re.search(rf'action="(/present/[^"]+/{kind})"', page.text)
        assert match, page.text
        return match.group(1)


def _policy(verifier: RunningVerifier, **changes: Any) -> WalletRequestPolicy:
    return WalletRequestPolicy(
        x509_anchors=load_pem_certificates(verifier.ca_pem.read_bytes()), allow_http_loopback=True, **changes
    )


@contextmanager
def web_wallet(directory: Path, verifier: RunningVerifier, policy: WalletRequestPolicy) -> Iterator[WebWallet]:
    """The web wallet (its wallet holding a PID of the verifier's issuer) on 127.0.0.1, a browser-like client."""
    data_dir = directory / "wallet"
    if not Wallet.exists(data_dir):
        with Wallet.create(data_dir, PIN, kdf=FAST_KDF, allow_http_loopback=True) as wallet:
            store_pid(wallet, verifier.issuer, copies=8)
    app = create_wallet_app(data_dir, kdf=FAST_KDF, allow_http_loopback=True, verifier_policy=policy)
    with LoopbackServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        yield WebWallet(server.url, http, verifier, data_dir)


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningVerifier]:
    with running_verifier(tmp_path_factory.mktemp("verifier")) as running:
        yield running


@pytest.fixture
def web(verifier: RunningVerifier, tmp_path: Path) -> Iterator[WebWallet]:
    with web_wallet(tmp_path, verifier, _policy(verifier)) as wallet:
        wallet.unlock()
        yield wallet


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
def test_consent_screen_then_approve_without_the_optional_claim(web: WebWallet, mode: str) -> None:
    """The consent screen shows the verified name, the prefix, the Client Identifier, where the answer goes, the
    purpose, required claims with values and the optional one as a checked checkbox (the Verifier's preferred
    alternative, §6.4.1); unchecking it sends the other alternative — only those claims reach the verifier."""
    created = web.verifier.create(QUERY, response_mode=mode)
    page = web.consent(created["authorization_request"])
    assert page.status_code == 200, page.text
    text = page.text
    assert "Bürgerportal Musterstadt" in text and "X.509-Zertifikat (Hash)" in text
    assert created["client_id"] in text and "127.0.0.1" in text
    assert ("verschlüsselt" in text) and (("nicht zusätzlich" in text) == (mode == "direct_post"))
    assert "Bewohnerparken beantragen" in text
    assert "Familienname: <strong>MUSTERMANN</strong>" in text and "Anschrift – Ort: <strong>KÖLN</strong>" in text
    assert re.search(
        r'<input type="checkbox" name="claim:pid" value="geburt" checked>\s*Geburtsdatum: 1964-08-12', text
    )
    assert text.count("(erforderlich)") == 2
    assert web.verifier.status(created["session"]) == "retrieved"  # shown, nothing sent yet
    result_page = web.http.post(web.action(page, "approve"), data={"csrf": web.csrf(text)})  # geburt unchecked
    assert result_page.status_code == 200, result_page.text
    assert 'role="status"' in result_page.text and "an Bürgerportal Musterstadt übermittelt" in result_page.text
    result = web.verifier.result(created["session"])
    assert result["status"] == "verified", result
    assert result["credentials"]["pid"][0]["claims"] == {"family_name": "MUSTERMANN", "address": {"locality": "KÖLN"}}


def test_approve_with_the_optional_claim(web: WebWallet) -> None:
    created = web.verifier.create(QUERY)
    page = web.consent(created["authorization_request"])
    web.http.post(web.action(page, "approve"), data={"csrf": web.csrf(page.text), "claim:pid": "geburt"})
    claims = web.verifier.result(created["session"])["credentials"]["pid"][0]["claims"]
    assert claims["birthdate"] == "1964-08-12"


def test_decline_sends_access_denied(web: WebWallet) -> None:
    """Decline: §8.5 ``access_denied`` ("The End-User did not give consent"), nothing else."""
    created = web.verifier.create(QUERY)
    page = web.consent(created["authorization_request"])
    answer = web.http.post(web.action(page, "decline"), data={"csrf": web.csrf(page.text)})
    assert answer.status_code == 200 and "Sie haben abgelehnt" in answer.text
    result = web.verifier.result(created["session"])
    assert result["status"] == "wallet_error" and result["error"] == "access_denied"
    again = web.http.post(web.action(page, "approve"), data={"csrf": web.csrf(page.text)})
    assert again.status_code == 400  # a request is answered once


def test_nothing_matches_tells_the_service_only_when_asked(web: WebWallet) -> None:
    """§15.4.1: no response without the user's interaction when nothing matches (``values`` must not leak); "tell
    the service" sends the same ``access_denied`` as a decline."""
    created = web.verifier.create(
        {
            "credentials": [
                {
                    "id": "pid",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [PID]},
                    "claims": [{"path": ["family_name"], "values": ["GABLER"]}],
                }
            ]
        }
    )
    page = web.consent(created["authorization_request"])
    assert "keinen Nachweis, der zu dieser Anfrage passt" in page.text and "/approve" not in page.text
    assert web.verifier.status(created["session"]) == "retrieved"
    web.http.post(web.action(page, "decline"), data={"csrf": web.csrf(page.text)})
    assert web.verifier.result(created["session"])["error"] == "access_denied"


def test_same_device_link_then_redirect_with_response_code(web: WebWallet) -> None:
    """Same device: the verifier's link opens the wallet at ``/openid4vp?…``; a GET fetches nothing; after consent
    the result page links to the Verifier's ``redirect_uri`` with its ``response_code`` (§8.2), which releases the
    result to the Verifier's frontend (§14.2 session fixation)."""
    created = web.verifier.create(
        pid_query("family_name"), flow="same_device", redirect_uri="https://portal.example/back"
    )
    query = urlsplit(created["authorization_request"]).query
    opened = web.http.get(f"/openid4vp?{query}")
    assert opened.status_code == 200 and "Anfrage ansehen" in opened.text
    assert web.verifier.status(created["session"]) == "created"  # nothing fetched on a GET
    link = re.search(r'name="link" value="([^"]+)"', opened.text)
    assert link
    page = web.http.post("/present", data={"csrf": web.csrf(opened.text), "link": link.group(1).replace("&amp;", "&")})
    result_page = web.http.post(web.action(page, "approve"), data={"csrf": web.csrf(page.text)})
    target = re.search(r'<a class="button" href="([^"]+)"', result_page.text)
    assert target and "Weiter zu portal.example" in result_page.text
    redirect = target.group(1).replace("&amp;", "&")
    assert redirect.startswith("https://portal.example/back?response_code=")
    code = parse_qs(urlsplit(redirect).query)["response_code"][0]
    assert web.verifier.result(created["session"], response_code=code)["status"] == "verified"


def test_locked_wallet_unlocks_then_shows_the_request(verifier: RunningVerifier, tmp_path: Path) -> None:
    with web_wallet(tmp_path, verifier, _policy(verifier)) as web:
        created = verifier.create(pid_query("family_name"))
        query = urlsplit(created["authorization_request"]).query
        opened = web.http.get(f"/openid4vp?{query}")
        assert 'action="/present/unlock"' in opened.text and 'type="password"' in opened.text
        link = re.search(r'name="link" value="([^"]+)"', opened.text)
        assert link
        form = {"csrf": web.csrf(opened.text), "link": link.group(1).replace("&amp;", "&")}
        wrong = web.http.post("/present/unlock", data={**form, "pin": "999999"})
        assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text
        page = web.http.post("/present/unlock", data={**form, "pin": PIN})
        assert page.status_code == 200 and "Bürgerportal Musterstadt" in page.text and "/approve" in page.text


def test_forms_need_csrf_origin_and_the_same_session(web: WebWallet) -> None:
    created = web.verifier.create(pid_query("family_name"))
    page = web.consent(created["authorization_request"])
    approve = web.action(page, "approve")
    token = web.csrf(page.text)
    assert web.http.post(approve, data={}).status_code == 400
    assert web.http.post(approve, data={"csrf": "forged"}).status_code == 400
    foreign = web.http.post(approve, data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 400
    with httpx.Client(base_url=web.url) as browser:  # another browser: its own session, token and wallet
        other = WebWallet(web.url, browser, web.verifier, web.data_dir)
        locked = browser.post(approve, data={"csrf": other.csrf()})
        assert 'action="/unlock"' in locked.text  # first it has to unlock
        other_token = other.unlock()
        assert browser.post(approve, data={"csrf": other_token}).status_code == 400
    assert web.verifier.status(created["session"]) == "retrieved"  # none of these sent anything
    assert web.http.post(approve, data={"csrf": token}).status_code == 200
    assert web.verifier.result(created["session"])["status"] == "verified"


def test_english_and_an_untrusted_verifier(web: WebWallet, verifier: RunningVerifier) -> None:
    web.http.get("/?lang=en")
    created = verifier.create(QUERY)
    page = web.consent(created["authorization_request"])
    assert "Share your details?" in page.text and "X.509 certificate (hash)" in page.text
    assert "Parking permit" in page.text and "Family name" in page.text and '<html lang="en">' in page.text
    with web_wallet(
        web.data_dir.parent / "untrusting", verifier, WalletRequestPolicy(allow_http_loopback=True)
    ) as other:
        other.unlock()
        refused = other.consent(verifier.create(QUERY)["authorization_request"])
        assert refused.status_code == 400 and 'role="alert"' in refused.text and "/approve" not in refused.text
        # the page's language (German by default) first, the technical cause after it
        assert "Der anfragende Dienst konnte nicht sicher erkannt werden" in refused.text
        assert "(Technisch: " in refused.text


@pytest.mark.parametrize(
    ("prefix", "shown"),
    [
        ("x509_san_dns", "X.509-Zertifikat (DNS-Name)"),
        ("decentralized_identifier", "Dezentrale Kennung (DID)"),
        ("redirect_uri", "Nicht geprüft — nur für Entwicklung"),
    ],
)
def test_each_client_identifier_prefix(tmp_path: Path, prefix: str, shown: str) -> None:
    """§5.9.3: ``x509_san_dns`` (certificate SAN), ``decentralized_identifier`` (DID document key), and the unsigned
    ``redirect_uri`` — only with the development setting, and then marked as not verified."""
    with running_verifier(tmp_path / "v", client_id_prefix=prefix) as verifier:
        policy = _policy(verifier, allow_redirect_uri=prefix == "redirect_uri")
        if prefix == "decentralized_identifier":
            from ssi.did import default_resolver

            policy = _policy(verifier, did_resolver=default_resolver())
        with web_wallet(tmp_path, verifier, policy) as web:
            web.unlock()
            created = verifier.create(pid_query("family_name"))
            page = web.consent(created["authorization_request"])
            assert page.status_code == 200, page.text
            assert shown in page.text and created["client_id"] in page.text
            if prefix == "decentralized_identifier":
                assert verifier.did is not None and verifier.did in page.text
            web.http.post(web.action(page, "approve"), data={"csrf": web.csrf(page.text)})
            assert verifier.result(created["session"])["status"] == "verified"


def test_an_invalid_signed_request_is_reported_when_the_user_says_so(web: WebWallet) -> None:
    """§8.2: a signed request with ``redirect_uri`` and ``direct_post`` gets ``invalid_request`` — the page says what
    is wrong, and the wallet tells the service only when the user presses the button (§15.1)."""
    from presentation_support import ScriptedVerifier

    scripted = ScriptedVerifier(query=QUERY, extra_claims={"redirect_uri": "https://portal.example/cb"})
    with LoopbackServer(scripted.app()) as server:
        scripted.url = server.url
        policy = WalletRequestPolicy(x509_anchors=[scripted.ca], allow_http_loopback=True)
        with web_wallet(web.data_dir.parent / "scripted", web.verifier, policy) as other:
            other.unlock()
            page = other.consent(scripted.link())
            assert page.status_code == 400 and 'role="alert"' in page.text
            report = re.search(r'action="(/present/report/[^"]+)"', page.text)
            assert report and scripted.responses() == []
            done = other.http.post(report.group(1), data={"csrf": other.csrf(page.text)})
            assert done.status_code == 200 and "Fehler gemeldet" in done.text
            (posted,) = scripted.responses()
            assert posted["error"] == "invalid_request" and posted["state"] == "state-1"
            again = other.http.post(report.group(1), data={"csrf": other.csrf(page.text)})
            assert again.status_code == 400 and len(scripted.responses()) == 1
