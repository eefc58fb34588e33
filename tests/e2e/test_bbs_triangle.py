"""Unlinkable presentations end to end over real HTTP (issue 14): govssi's issuer issues ``ldp_vc`` credentials
secured with bbs-2023 to the wallet simulator (OpenID4VCI 1.0, A.1.2), the wallet derives a fresh proof per
presentation disclosing only what the verifier's DCQL query asks (OpenID4VP 1.0, B.1), and govssi's verifier checks
the derived proof with the issuer's BBS key from its did:ethr, the issuer's accreditation for the type in the
cooperative's trusted-issuer registry, and the binding to its request — all on one in-process development chain
(ERC-1056 registry, trusted-issuer registry: ``ledger.bootstrap``), nothing faked.

Also: two presentations of one credential share only what bbs-2023 discloses by design (docs/privacy.md), a captured
presentation replayed into another request is refused, and requests without holder binding carry a ``state`` of at
least 128 bits (§5.3).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verifier"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssi" / "data_integrity"))

from issuer_support import ADMIN, demo_ca
from ldp_vc_support import AGE_BBS, LDP_SAMPLE_CLAIMS, PARKING_BBS
from test_di_unlinkability import BY_DESIGN, observables
from verifier_support import settings, sqlite_store, verifier_identity

from issuer import IssuerChain, IssuerSettings, MemoryKeyring, loopback_issuer
from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient
from ledger.did_ethr import EthrDidDriver
from ledger.node import LocalChain, LocalChainProvider
from ledger.trust import RegistryMember, StatusAnchorReader, TrustRegistry
from ssi.did import DidResolver
from ssi.ldp_vc import VC_TYPE_IRI
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import load_pem_certificates
from verifier import ChainIssuerTrust, loopback_verifier
from wallet_sim.oid4vp import PresentationClient, present, propose
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import ReceivedCredentials, Wallet

PIN = "246810"
AGE_IRI = "https://ns.govssi.de/credentials#AgeCredential"
PARKING_IRI = "https://ns.govssi.de/credentials#ResidentParkingPermitCredential"


@dataclass
class BbsTriangle:
    verifier_url: str
    policy: WalletRequestPolicy
    http: httpx.Client
    wallet: Wallet
    stored: dict[str, str]
    issuer_did: str

    def create(self, type_iri: str, claims: list[dict[str, Any]], *, binding: bool = False, **body: Any) -> dict:
        query = {
            "credentials": [
                {
                    "id": "bbs",
                    "format": "ldp_vc",
                    "meta": {"type_values": [[VC_TYPE_IRI, type_iri]]},
                    "require_cryptographic_holder_binding": binding,
                    "claims": claims,
                }
            ]
        }
        answer = self.http.post(f"{self.verifier_url}/api/presentations", json={"dcql_query": query, **body})
        return {"status_code": answer.status_code, **answer.json()}

    def result(self, created: dict) -> dict:
        return self.http.get(f"{self.verifier_url}/api/presentations/{created['session']}/result").json()


@pytest.fixture(scope="module")
def triangle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BbsTriangle]:
    base = tmp_path_factory.mktemp("bbs-triangle")
    local = LocalChain.in_memory()
    client = ChainClient(LocalChainProvider(local))
    bootstrap_development_chain(client, base / "chain")
    driver = EthrDidDriver({client.chain_id: (client.w3, DEV_ADDRESSES.did_registry)})
    registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
    trust = ChainIssuerTrust(
        registry, StatusAnchorReader(client, DEV_ADDRESSES.status_anchor), did_driver=driver, chain_id=client.chain_id
    )
    identity = verifier_identity("http://127.0.0.1")
    issuer_settings = IssuerSettings(
        data_dir=base / "issuer", bootstrap_key="test-bootstrap-key-0001", key_passphrase="pw"
    )
    with (
        loopback_issuer(
            issuer_settings,
            keyring=MemoryKeyring(demo_ca()),
            chain=IssuerChain(client, DEV_ADDRESSES.did_registry),
        ) as (_issuer_server, issuer),
        loopback_verifier(
            settings(base / "verifier"),
            store=sqlite_store(base),
            keys=identity.keys,
            trust=trust,
            key_history=None,
            did_resolver=DidResolver([driver]),
            anchors=[demo_ca().certificate],
        ) as (verifier_server, _service),
        httpx.Client(timeout=30) as http,
    ):
        (report,) = issuer.check_chain()["authorities"]  # the DID with its ES256 and BBS keys, on the chain
        did = report["did"]
        assert report["bbs_verification_method"].startswith(f"{did}#")
        # the cooperative accredits the issuer's DID for the age credential only (not for the parking permit)
        now = int(time.time())
        members = [RegistryMember(registry, signer) for signer in dev_member_signers()]
        outcome = members[0].propose_accreditation(did, [AGE_IRI], valid_from=now - 86400, valid_until=now + 86400)
        for voter in members[1:]:
            if outcome.accreditation_id is not None:
                break
            outcome = voter.vote(outcome.proposal.id)
        assert outcome.accreditation_id is not None
        assert issuer.bootstrap is not None
        credential_issuer = issuer.bootstrap.credential_issuer
        wallet = Wallet.create(base / "wallet", PIN, kdf=FAST_KDF, allow_http_loopback=True)
        stored: dict[str, str] = {}
        for type_id in (AGE_BBS, PARKING_BBS):
            offer = http.post(
                f"{credential_issuer}/admin/offers",
                headers=ADMIN,
                json={"credential_configuration_id": type_id, "claims": LDP_SAMPLE_CLAIMS[type_id]},
            ).json()
            resolved = wallet.resolve_offer(offer["offer_uri"])
            (received,) = wallet.request(resolved, offer["tx_code"])
            assert isinstance(received, ReceivedCredentials) and received.format == "ldp_vc"
            stored[type_id] = wallet.accept(received).id
        policy = WalletRequestPolicy(
            x509_anchors=load_pem_certificates(_pem(identity.ca.certificate)), allow_http_loopback=True
        )
        try:
            yield BbsTriangle(verifier_server.url, policy, http, wallet, stored, did)
        finally:
            wallet.close()
            local.close()


def _pem(certificate: Any) -> bytes:
    from ssi.x509 import certificate_to_pem

    return certificate_to_pem(certificate)


class Recorder:
    """What the wallet posts to verifiers (``direct_post``: the VP Token in the clear), over a real HTTP client."""

    def __init__(self) -> None:
        self.posts: list[dict[str, list[str]]] = []
        self.client = httpx.Client(timeout=30, follow_redirects=False, trust_env=False, event_hooks={"request": [self]})

    def __call__(self, request: httpx.Request) -> None:
        if request.method == "POST" and "/response/" in request.url.path:
            self.posts.append(parse_qs(request.read().decode()))

    def vp_token(self, index: int = -1) -> dict[str, Any]:
        token: dict[str, Any] = json.loads(self.posts[index]["vp_token"][0])
        return token


def _present(triangle: BbsTriangle, created: dict, recorder: Recorder | None = None) -> Any:
    with PresentationClient(triangle.policy, client=recorder.client if recorder else None) as client:
        resolved = client.resolve(created["authorization_request"])
        proposal = propose(triangle.wallet, resolved)
        assert proposal.satisfiable
        return resolved, present(triangle.wallet, client, proposal, proposal.selection())


def test_age_over_18_is_all_the_verifier_learns(triangle: BbsTriangle) -> None:
    """B.1: a credential without holder binding answers a query with require_cryptographic_holder_binding false; the
    verifier checks the derived proof (key from the issuer's did:ethr), the accreditation for the type, and sees the
    requested claim plus what the issuer made mandatory (issuer, validUntil) — nothing else of the credential."""
    claims = [{"path": ["credentialSubject", "age_over_18"], "values": [True]}]
    created = triangle.create(AGE_IRI, claims, response_mode="direct_post")  # to read what the wallet sends
    assert created["status_code"] == 201, created
    recorder = Recorder()
    resolved, outcome = _present(triangle, created, recorder)
    assert outcome.status == "sent", outcome
    # §5.3: a fresh state of at least 128 bits (base64url: 22 characters or more)
    state = resolved.request.state
    assert state is not None and len(state) * 6 >= 128
    (sent,) = recorder.vp_token()["bbs"]
    assert sent["credentialSubject"] == {"age_over_18": True}
    assert set(sent) == {"@context", "type", "issuer", "validUntil", "credentialSubject", "proof"}
    result = triangle.result(created)
    assert result["status"] == "verified", result
    (presented,) = result["credentials"]["bbs"]
    assert presented["claims"] == {"credentialSubject": {"age_over_18": True}}
    assert presented["issuer"] == triangle.issuer_did and presented["vct"] == AGE_IRI
    assert presented["holder_binding"] is False and presented["issuer_key"] == "did"
    assert presented["accreditation"]["did"] == triangle.issuer_did
    assert triangle.wallet.credential(triangle.stored[AGE_BBS]).unused == 1  # reusable: nothing to retire


def test_two_presentations_share_only_what_bbs_2023_discloses_by_design(triangle: BbsTriangle) -> None:
    """docs/privacy.md "What two presentations of the same credential share", over the wire: the same credential
    presented to two requests (two nonces, same verifier) — only the by-design observables are equal."""
    recorder = Recorder()
    claims = [{"path": ["credentialSubject", "age_over_18"]}]
    for _ in range(2):
        created = triangle.create(AGE_IRI, claims, response_mode="direct_post")
        assert _present(triangle, created, recorder)[1].status == "sent"
        assert triangle.result(created)["status"] == "verified"
    first, second = (observables(recorder.vp_token(i)["bbs"][0]) for i in (0, 1))
    assert {name for name in first if first[name] == second[name]} == set(BY_DESIGN)
    assert first["presentation header"] != second["presentation header"]  # the nonces differ


def test_a_replayed_presentation_is_refused(triangle: BbsTriangle) -> None:
    """§14.2.2: the presentation is bound to the Client Identifier and nonce of its request; a captured one posted
    into another request (with that request's state) rejects the whole response. This stops replay — not sharing of
    the credential itself, which baseline bbs-2023 cannot prevent (docs/privacy.md)."""
    claims = [{"path": ["credentialSubject", "age_over_18"]}]
    recorder = Recorder()
    first = triangle.create(AGE_IRI, claims, response_mode="direct_post")
    _present(triangle, first, recorder)
    captured = recorder.vp_token()
    second = triangle.create(AGE_IRI, claims, response_mode="direct_post")
    with PresentationClient(triangle.policy) as client:
        resolved = client.resolve(second["authorization_request"])
        outcome = client.respond(resolved, captured)
    assert outcome.status == "refused" and outcome.reason == "presentation_binding_mismatch", outcome
    result = triangle.result(second)
    assert result["status"] == "refused" and result["reason"] == "presentation_binding_mismatch"


def test_accreditation_is_per_type(triangle: BbsTriangle) -> None:
    """The issuer's DID is accredited for the age credential only: its parking permit, however well signed, is
    refused (fail closed on the trusted-issuer registry's answer for the type)."""
    claims = [{"path": ["credentialSubject", "address", "locality"]}]
    created = triangle.create(PARKING_IRI, claims, response_mode="direct_post")
    recorder = Recorder()
    _resolved, outcome = _present(triangle, created, recorder)
    (sent,) = recorder.vp_token()["bbs"]
    assert sent["credentialSubject"] == {"address": {"locality": "KÖLN"}}  # one nested claim, nothing beside it
    assert outcome.status == "refused"
    result = triangle.result(created)
    assert result["status"] == "refused" and result["reason"] == "issuer_not_accredited_for_type", result


def test_encrypted_response(triangle: BbsTriangle) -> None:
    """direct_post.jwt (the verifier's default, HAIP): the derived credential travels inside the JWE."""
    created = triangle.create(AGE_IRI, [{"path": ["credentialSubject", "age_over_65"], "values": [False]}])
    assert _present(triangle, created)[1].status == "sent"
    (presented,) = triangle.result(created)["credentials"]["bbs"]
    assert presented["claims"] == {"credentialSubject": {"age_over_65": False}}


def test_holder_binding_cannot_be_required_for_bbs_2023(triangle: BbsTriangle) -> None:
    """§6.1: require_cryptographic_holder_binding defaults to true; baseline bbs-2023 cannot satisfy it, so the
    verifier refuses to make such a request instead of asking for the impossible."""
    created = triangle.create(AGE_IRI, [{"path": ["credentialSubject", "age_over_18"]}], binding=True)
    assert created["status_code"] == 400 and "holder binding" in created["error_description"]
