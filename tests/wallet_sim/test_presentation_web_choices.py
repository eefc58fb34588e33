"""The web wallet's consent screen with two PIDs in the wallet, against govssi's verifier over real HTTP: the purpose
of a verifier preset, the values of each candidate credential, and ``multiple`` (OpenID4VP 1.0 §6.1 "whether
multiple Credentials can be returned for this Credential Query"; §8.1 the VP Token entry is "an array of one or more
Presentations", with ``multiple`` false "only one").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from presentation_support import PID, RunningVerifier, running_verifier, store_pid

from infra.server import LoopbackServer
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import load_pem_certificates
from verifier.presets import BUILTIN_PRESETS
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet
from wallet_sim.web import create_wallet_app

PIN = "246810"
GABLER = {"family_name": "GABLER", "given_name": "GERDA", "birthdate": "1990-01-01"}


def _query(multiple: bool) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": "pid",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID]},
        "claims": [{"path": ["family_name"]}, {"path": ["birthdate"]}],
    }
    if multiple:
        query["multiple"] = True
    return {"credentials": [query]}


@dataclass
class Web:
    http: httpx.Client
    verifier: RunningVerifier
    first: str
    second: str

    def csrf(self, html: str) -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match
        return match.group(1)

    def consent(self, link: str) -> httpx.Response:
        token = self.csrf(self.http.get("/").text)
        return self.http.post("/present", data={"csrf": token, "link": link})

    def send(self, page: httpx.Response, **fields: Any) -> httpx.Response:
        match = re.search(r'action="(/present/[^"]+/approve)"', page.text)
        assert match, page.text
        return self.http.post(match.group(1), data={"csrf": self.csrf(page.text), **fields})


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    base = tmp_path_factory.mktemp("web-choices")
    with running_verifier(base / "verifier") as verifier:
        with Wallet.create(base / "wallet", PIN, kdf=FAST_KDF, allow_http_loopback=True) as wallet:
            first = store_pid(wallet, verifier.issuer, copies=12)
            second = store_pid(wallet, verifier.issuer, claims=GABLER, copies=12)
        policy = WalletRequestPolicy(
            x509_anchors=load_pem_certificates(verifier.ca_pem.read_bytes()), allow_http_loopback=True
        )
        app = create_wallet_app(
            base / "wallet", kdf=FAST_KDF, allow_http_loopback=True, verifier_policy=policy, authorities={}
        )
        with LoopbackServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            token = re.search(r'name="csrf" value="([^"]+)"', http.get("/").text)
            assert token
            unlocked = http.post("/unlock", data={"csrf": token.group(1), "pin": PIN}, follow_redirects=True)
            assert unlocked.status_code == 200
            yield Web(http, verifier, first, second)


def _family_names(result: dict[str, Any]) -> list[str]:
    assert result["status"] == "verified", result
    return [item["claims"]["family_name"] for item in result["credentials"]["pid"]]


@pytest.mark.parametrize("name", sorted(BUILTIN_PRESETS))
def test_the_purpose_of_a_verifier_preset_is_shown(web: Web, name: str) -> None:
    """The verifier puts its preset's purpose into the request (``credential_sets[].purpose``); the consent screen
    shows it instead of "no purpose given", and the answer to the rewritten query is verified."""
    created = web.verifier.create(None, preset=name)  # type: ignore[arg-type]
    page = web.consent(created["authorization_request"])
    assert page.status_code == 200, page.text
    assert f"<p>{BUILTIN_PRESETS[name].purpose}</p>" in page.text
    assert "keinen Zweck angegeben" not in page.text
    result = web.verifier.result(created["session"]) if web.send(page).status_code == 200 else {}
    assert result.get("status") == "verified", result
    assert result["purpose"] == BUILTIN_PRESETS[name].purpose


def test_each_candidate_shows_its_own_values(web: Web) -> None:
    """§6.4.3 a choice of credentials: every candidate lists the values it would disclose (not only when one
    matches); the one picked is the one sent."""
    created = web.verifier.create(_query(multiple=False))
    page = web.consent(created["authorization_request"])
    text = page.text
    assert text.count('type="radio" name="use:pid"') == 2
    for values in (("MUSTERMANN", "1964-08-12"), ("GABLER", "1990-01-01")):
        for value in values:
            assert f"<dd>{value}</dd>" in text, value
    assert re.search(r"<dt>Familienname</dt><dd>MUSTERMANN</dd><dt>Geburtsdatum</dt><dd>1964-08-12</dd>", text)
    web.send(page, **{"use:pid": web.second})
    assert _family_names(web.verifier.result(created["session"])) == ["GABLER"]


def test_multiple_query_offers_checkboxes_and_sends_every_checked_credential(web: Web) -> None:
    """``multiple: true``: checkboxes, all checked — both PIDs go in one VP Token entry and the verifier accepts
    and verifies both presentations for the one Credential Query."""
    created = web.verifier.create(_query(multiple=True))
    page = web.consent(created["authorization_request"])
    assert page.status_code == 200, page.text
    assert len(re.findall(r'<input type="checkbox" name="use:pid" value="[^"]+" checked>', page.text)) == 2
    assert 'type="radio"' not in page.text and "mehrere möglich" in page.text
    web.send(page, **{"use:pid": [web.first, web.second]})
    assert sorted(_family_names(web.verifier.result(created["session"]))) == ["GABLER", "MUSTERMANN"]


def test_multiple_query_sends_only_the_credentials_left_checked(web: Web) -> None:
    created = web.verifier.create(_query(multiple=True))
    page = web.consent(created["authorization_request"])
    web.send(page, **{"use:pid": web.second})
    assert _family_names(web.verifier.result(created["session"])) == ["GABLER"]


def test_multiple_query_with_nothing_checked_sends_nothing(web: Web) -> None:
    """Unchecking every credential of a required query is not consent to send them all: the screen comes back with
    an error and the verifier has received nothing."""
    created = web.verifier.create(_query(multiple=True))
    page = web.consent(created["authorization_request"])
    again = web.send(page)
    assert again.status_code == 400 and 'role="alert"' in again.text
    assert web.verifier.status(created["session"]) == "retrieved"


def test_a_query_without_multiple_is_answered_with_one_credential_whatever_the_form_says(web: Web) -> None:
    """§8.1: "When multiple is omitted, or set to false, the array MUST contain only one Presentation" — a form
    naming two credentials (no radio group sends that) still sends one."""
    created = web.verifier.create(_query(multiple=False))
    page = web.consent(created["authorization_request"])
    again = web.send(page, **{"use:pid": [web.first, web.second]})
    assert again.status_code == 200  # the radio's first value is taken, never two
    assert len(_family_names(web.verifier.result(created["session"]))) == 1


def _query_with_optional_locality() -> dict[str, Any]:
    """§6.4.1 ``claim_sets``: family name, birth date and locality preferred, without locality accepted."""
    return {
        "credentials": [
            {
                "id": "pid",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [PID]},
                "claims": [
                    {"id": "fn", "path": ["family_name"]},
                    {"id": "bd", "path": ["birthdate"]},
                    {"id": "loc", "path": ["address", "locality"]},
                ],
                "claim_sets": [["fn", "bd", "loc"], ["fn", "bd"]],
            }
        ]
    }


def _optional_boxes(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="checkbox" name="(claim:pid[^"]*)" value="([^"]+)"', html)


def test_candidates_with_different_optional_claims_each_offer_their_own(web: Web) -> None:
    """§6.4.1: a claim in some ``claim_sets`` alternatives only is optional — but only for a credential that can
    satisfy such an alternative. MUSTERMANN's PID has a locality, GABLER's none: the optional locality is offered
    under MUSTERMANN's PID alone (its box named for that credential), GABLER's lists its claims as required."""
    created = web.verifier.create(_query_with_optional_locality())
    page = web.consent(created["authorization_request"])
    assert page.status_code == 200, page.text
    assert _optional_boxes(page.text) == [(f"claim:pid:{web.first}", "loc")]


@pytest.mark.parametrize("share", [True, False])
def test_the_optional_claim_of_the_chosen_candidate_follows_its_box(web: Web, share: bool) -> None:
    created = web.verifier.create(_query_with_optional_locality())
    page = web.consent(created["authorization_request"])
    fields: dict[str, Any] = {"use:pid": web.first}
    if share:
        fields[f"claim:pid:{web.first}"] = "loc"
    assert web.send(page, **fields).status_code == 200
    result = web.verifier.result(created["session"])
    (item,) = result["credentials"]["pid"]
    assert item["claims"]["family_name"] == "MUSTERMANN"
    assert ("address" in item["claims"]) is share


def test_a_box_checked_under_the_other_candidate_discloses_nothing_more(web: Web) -> None:
    """The locality box belongs to MUSTERMANN's PID; choosing GABLER's with that box still checked sends GABLER's
    PID under the alternative it satisfies, nothing else."""
    created = web.verifier.create(_query_with_optional_locality())
    page = web.consent(created["authorization_request"])
    assert web.send(page, **{"use:pid": web.second, f"claim:pid:{web.first}": "loc"}).status_code == 200
    (item,) = web.verifier.result(created["session"])["credentials"]["pid"]
    assert item["claims"]["family_name"] == "GABLER" and "address" not in item["claims"]


def test_candidates_alike_share_one_list_of_optional_claims(web: Web) -> None:
    """Where every candidate offers the same claims (both PIDs have a birth date), one shared list, as before."""
    query = _query_with_optional_locality()
    query["credentials"][0]["claims"][2] = {"id": "loc", "path": ["given_name"]}
    created = web.verifier.create(query)
    page = web.consent(created["authorization_request"])
    assert _optional_boxes(page.text) == [("claim:pid", "loc")]
