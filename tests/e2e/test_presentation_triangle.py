"""The trust triangle end to end over real HTTP (DESIGN.md §1): govssi's issuer issues every shipped credential type
to the wallet simulator (OpenID4VCI 1.0), the wallet presents it to govssi's verifier (OpenID4VP 1.0 with DCQL) with
its presentation client — in both response modes, cross-device and same-device — and with ``govssi wallet present``
in a subprocess; the verifier checks the issuer's ``x5c`` chain against the issuer's CA, the status list the issuer
publishes (its digest as the chain would anchor it) and the accreditation (the chain's answers as data:
tests/verifier/verifier_support.FakeTrust)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verifier"))

from issuer_support import ADMIN, SAMPLE_CLAIMS, demo_ca
from verifier_support import Accreditation, FakeTrust, settings, sqlite_store, verifier_identity

from issuer import IssuerSettings, MemoryKeyring, loopback_issuer
from ssi.jose import parse_compact
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import certificate_to_pem, parse_x5c, spki_sha256
from verifier import loopback_verifier
from wallet_sim.eid import EidCards
from wallet_sim.eid.citizens import find_citizen
from wallet_sim.oid4vp import PresentationClient, present, propose
from wallet_sim.pid import issue_pid
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import ReceivedCredentials, Wallet

ROOT = Path(__file__).resolve().parents[2]
PIN = "246810"
#: Every SD-JWT VC type the issuer ships (issuer/credential_types/*.json); the ``ldp_vc`` (bbs-2023) types go through
#: tests/e2e/test_bbs_triangle.py. The PID comes from the issuer's PID provider role (no type file; issued after eID
#: authentication), added to the list.
SD_JWT_TYPES = sorted(
    data["id"]
    for data in (
        json.loads(p.read_text(encoding="utf-8")) for p in (ROOT / "issuer" / "credential_types").glob("*.json")
    )
    if data.get("format") == "dc+sd-jwt"
)
#: ... and the PID of the issuer's PID provider role (eID authentication).
E2E_TYPES = [*SD_JWT_TYPES, "pid"]
ISSUER_DID = "did:ethr:0x539:0x" + "5e" * 20
CARD_PIN = "123456"
PID_TYPE = "pid"
PID_VCT = "urn:eudi:pid:de:1"


@dataclass
class Triangle:
    credential_issuer: str
    verifier_url: str
    verifier_ca_pem: Path
    trust: FakeTrust
    http: httpx.Client
    wallet: Wallet
    wallet_dir: Path
    stored: dict[str, str]
    pid_issuer: str

    def vct(self, type_id: str) -> str:
        return PID_VCT if type_id == PID_TYPE else f"{self.credential_issuer}/vct/{type_id}"

    def issuer_of(self, type_id: str) -> str:
        return self.pid_issuer if type_id == PID_TYPE else self.credential_issuer

    def create(self, type_id: str, **body: object) -> dict:
        query = {
            "credentials": [
                {
                    "id": type_id,
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [self.vct(type_id)]},
                    "claims": [{"path": ["family_name"]}],
                }
            ]
        }
        answer = self.http.post(f"{self.verifier_url}/api/presentations", json={"dcql_query": query, **body})
        assert answer.status_code == 201, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def triangle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Triangle]:
    base = tmp_path_factory.mktemp("triangle")
    issuer_settings = IssuerSettings(
        data_dir=base / "issuer",
        bootstrap_key="test-bootstrap-key-0001",
        key_passphrase="pw",
        pid_authority="pid",  # the issuer's PID provider role (eID authentication), issue 9
        token_rate_limit=0,
    )
    identity = verifier_identity("http://127.0.0.1")
    ca_pem = base / "verifier-ca.pem"
    ca_pem.write_bytes(certificate_to_pem(identity.ca.certificate))
    trust = FakeTrust()
    with (
        loopback_issuer(issuer_settings, keyring=MemoryKeyring(demo_ca())) as (issuer_server, issuer),
        loopback_verifier(
            settings(base / "verifier"),
            store=sqlite_store(base),
            keys=identity.keys,
            trust=trust,
            key_history=None,
            did_resolver=None,
            anchors=[demo_ca().certificate],
        ) as (verifier_server, _service),
        httpx.Client(timeout=30) as http,
    ):
        assert issuer.bootstrap is not None
        credential_issuer = issuer.bootstrap.credential_issuer
        # enough one-time copies for every presentation of this module (each presentation retires one)
        wallet = Wallet.create(base / "wallet", PIN, kdf=FAST_KDF, allow_http_loopback=True, batch=10)
        stored: dict[str, str] = {}
        for type_id in SD_JWT_TYPES:
            offer = http.post(
                f"{credential_issuer}/admin/offers",
                headers=ADMIN,
                json={"credential_configuration_id": type_id, "claims": SAMPLE_CLAIMS[type_id]},
            ).json()
            resolved = wallet.resolve_offer(offer["offer_uri"])
            (received,) = wallet.request(resolved, offer["tx_code"])
            assert isinstance(received, ReceivedCredentials)
            stored[type_id] = wallet.accept(received).id
        # the PID through the eID (the simulated card of the sample citizen)
        card = EidCards(base / "cards").card("erika")
        card.change_pin(find_citizen("erika").transport_pin, CARD_PIN)
        pid = issue_pid(wallet, f"{issuer_server.url}/issuers/pid", card=card, pin=CARD_PIN, batch=10)
        stored[PID_TYPE] = pid.stored.id
        # the chain's answers: each authority's certificate key accredited for its types (one DID per authority),
        # the digests of its status lists anchored
        authorities: dict[bytes, tuple[str, set[str]]] = {}
        uris: dict[str, str] = {}
        for credential_id in stored.values():
            jwt = wallet.compact(credential_id).split("~")[0]
            payload = json.loads(_b64(jwt.split(".")[1]))
            spki = spki_sha256(parse_x5c(parse_compact(jwt)[3]["x5c"])[0])
            did, types = authorities.setdefault(spki, (f"{ISSUER_DID[:-2]}{len(authorities):02x}", set()))
            types.add(payload["vct"])
            uris[payload["status"]["status_list"]["uri"]] = did
        for spki, (did, types) in authorities.items():
            trust.accreditations[spki] = Accreditation(did, tuple(sorted(types)))
        for uri, did in uris.items():
            token = _published(http, uri)
            trust.anchors[(did, uri)] = [hashlib.sha256(token.encode()).digest()]
        try:
            yield Triangle(
                credential_issuer,
                verifier_server.url,
                ca_pem,
                trust,
                http,
                wallet,
                base / "wallet",
                stored,
                f"{issuer_server.url}/issuers/pid",
            )
        finally:
            wallet.close()


def _b64(text: str) -> bytes:
    from ssi.encoding import b64url_decode

    return b64url_decode(text)


def _published(http: httpx.Client, uri: str) -> str:
    """The status list token once the issuer has published it (within its publication window)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = http.get(uri)
        if answer.status_code == 200:
            return answer.text
        time.sleep(0.2)
    raise AssertionError(f"{uri} was never published")


def policy(triangle: Triangle) -> WalletRequestPolicy:
    from ssi.x509 import load_pem_certificates

    return WalletRequestPolicy(
        x509_anchors=load_pem_certificates(triangle.verifier_ca_pem.read_bytes()), allow_http_loopback=True
    )


def test_every_shipped_sd_jwt_type_is_presented() -> None:
    """The issue: end to end "for each credential type" — every dc+sd-jwt type file has sample claims here."""
    assert SD_JWT_TYPES and set(SD_JWT_TYPES) <= set(SAMPLE_CLAIMS)


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
@pytest.mark.parametrize("type_id", E2E_TYPES)
def test_each_credential_type_cross_device(triangle: Triangle, type_id: str, mode: str) -> None:
    created = triangle.create(type_id, response_mode=mode)
    with PresentationClient(policy(triangle)) as client:
        resolved = client.resolve(created["authorization_request"])
        assert resolved.verifier.authenticated and resolved.verifier.prefix == "x509_hash"
        proposal = propose(triangle.wallet, resolved)
        assert proposal.satisfiable
        selection = proposal.selection()
        (item,) = proposal.describe(selection)[type_id]
        assert item["credential"] == triangle.stored[type_id]
        before = triangle.wallet.credential(triangle.stored[type_id]).unused
        outcome = present(triangle.wallet, client, proposal, selection)
    assert outcome.status == "sent", outcome
    assert triangle.wallet.credential(triangle.stored[type_id]).unused == before - 1  # one-time copy retired
    result = triangle.http.get(f"{triangle.verifier_url}/api/presentations/{created['session']}/result").json()
    assert result["status"] == "verified", result
    (presented,) = result["credentials"][type_id]
    assert presented["claims"] == {"family_name": "MUSTERMANN"}
    assert presented["issuer"] == triangle.issuer_of(type_id) and presented["status"] == "valid"
    assert presented["status_anchored"] is True


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
@pytest.mark.parametrize("type_id", E2E_TYPES)
def test_each_credential_type_same_device(triangle: Triangle, type_id: str, mode: str) -> None:
    """Same device (HAIP 1.0): the wallet's answer redirects the browser back with a ``response_code``; the result is
    released only with it (OpenID4VP 1.0 §13.3), once."""
    created = triangle.create(
        type_id, flow="same_device", redirect_uri="https://portal.example/back", response_mode=mode
    )
    with PresentationClient(policy(triangle)) as client:
        resolved = client.resolve(created["authorization_request"])
        proposal = propose(triangle.wallet, resolved)
        outcome = present(triangle.wallet, client, proposal, proposal.selection())
    assert outcome.status == "sent", outcome
    assert outcome.redirect_uri is not None and outcome.redirect_uri.startswith("https://portal.example/back?")
    code = parse_qs(urlsplit(outcome.redirect_uri).query)["response_code"][0]
    url = f"{triangle.verifier_url}/api/presentations/{created['session']}/result"
    assert triangle.http.get(url).status_code == 404  # the session alone is not enough
    result = triangle.http.get(url, params={"response_code": code})
    body = result.json()
    assert body["status"] == "verified", body
    (presented,) = body["credentials"][type_id]
    assert presented["claims"] == {"family_name": "MUSTERMANN"} and presented["status"] == "valid"
    assert triangle.http.get(url, params={"response_code": code}).status_code == 404  # once


def _cli(triangle: Triangle, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update(
        PYTHONPATH=str(ROOT),
        GOVSSI_WALLET_PIN=PIN,
        GOVSSI_DEV_ALLOW_HTTP="1",
        GOVSSI_WALLET_VERIFIER_CA=str(triangle.verifier_ca_pem),
    )
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from govssi.cli import main; main()",
            "wallet",
            "--data-dir",
            str(triangle.wallet_dir),
            *args,
        ],
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_govssi_wallet_present(triangle: Triangle) -> None:
    """``govssi wallet present LINK --yes``: JSON out, the verifier's answer; ``--decline`` sends access_denied."""
    type_id = SD_JWT_TYPES[-1]
    created = triangle.create(type_id)
    # the wallet is open in this process too: the CLI opens the same file (SQLite, WAL)
    sent = _cli(triangle, "present", created["authorization_request"], "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    body = json.loads(sent.stdout)
    assert body["status"] == "sent" and body["verifier"]["name"] == "Bürgerportal Musterstadt"
    assert body["disclosed"][type_id][0]["claims"] == [["family_name"]]
    result = triangle.http.get(f"{triangle.verifier_url}/api/presentations/{created['session']}/result").json()
    assert result["status"] == "verified"

    declined = triangle.create(type_id)
    answer = _cli(triangle, "present", declined["authorization_request"], "--decline")
    assert answer.returncode == 0 and json.loads(answer.stdout)["status"] == "declined"
    result = triangle.http.get(f"{triangle.verifier_url}/api/presentations/{declined['session']}/result").json()
    assert result["status"] == "wallet_error" and result["error"] == "access_denied"


def test_no_matching_credential_tells_the_verifier(triangle: Triangle) -> None:
    query = {
        "credentials": [
            {
                "id": "pid",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["urn:eudi:pid:de:1"]},
                "claims": [{"path": ["x"]}],
            }
        ]
    }
    created = triangle.http.post(f"{triangle.verifier_url}/api/presentations", json={"dcql_query": query}).json()
    answer = _cli(triangle, "present", created["authorization_request"], "--yes")
    assert answer.returncode == 1 and json.loads(answer.stdout)["status"] == "no_matching_credentials"
    result = triangle.http.get(f"{triangle.verifier_url}/api/presentations/{created['session']}/result").json()
    assert result["status"] == "wallet_error" and result["error"] == "access_denied"


def test_untrusted_verifier_is_refused(triangle: Triangle) -> None:
    created = triangle.create(SD_JWT_TYPES[0])
    with PresentationClient(WalletRequestPolicy(allow_http_loopback=True)) as client:
        from ssi.errors import InvalidRequestObject

        with pytest.raises(InvalidRequestObject) as err:
            client.resolve(created["authorization_request"])
    assert err.value.reason == "no_trust_anchors"
