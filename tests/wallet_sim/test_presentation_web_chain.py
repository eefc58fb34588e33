"""The web wallet checks DCQL ``trusted_authorities`` of govssi's type ``govssi_chain_accreditation`` against the
trusted-issuer registry on GOVSSI_CHAIN_RPC, as ``govssi wallet present`` does (``wallet_sim.oid4vp.trust``): a
development chain served over JSON-RPC HTTP on 127.0.0.1, the cooperative accrediting the issuer's certificate key,
govssi's verifier and the web wallet over real HTTP.

OpenID4VP 1.0 §6.1.1: "Every Credential returned by the Wallet SHOULD match at least one of the conditions present
in the corresponding trusted_authorities array if present"; §6.4.2: "Credentials not matching the respective
constraints expressed within credentials MUST NOT be returned, i.e., they are treated as if they would not exist in
the Wallet".
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from presentation_support import PID, RunningVerifier, running_verifier, store_pid
from verifier_support import FakeTrust

from infra.server import LoopbackServer
from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient
from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer, serve
from ledger.trust import RegistryMember, TrustRegistry
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import load_pem_certificates
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet
from wallet_sim.web import create_wallet_app

PIN = "246810"
NOTHING_MATCHES = "keinen Nachweis, der zu dieser Anfrage passt"


@dataclass
class Chain:
    server: RpcServer
    client: ChainClient
    members: list[RegistryMember]

    @property
    def registry_id(self) -> str:
        return f"eip155:{self.client.chain_id}:{DEV_ADDRESSES.trusted_issuer_registry}"

    def decide(self, proposal: Any) -> None:
        for member in self.members[1:]:
            if member.vote(proposal.proposal.id).proposal.state.label == "executed":
                return
        raise AssertionError("the cooperative did not decide")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    local = LocalChain.in_memory()
    server = serve(JsonRpcHandler(EthereumApi(local)))
    with ChainClient.connect(server.url) as client:
        bootstrap_development_chain(client, tmp_path_factory.mktemp("chain"))
        registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
        yield Chain(server, client, [RegistryMember(registry, signer) for signer in dev_member_signers()])
    server.stop()
    local.close()


@pytest.fixture
def verifier(tmp_path: Path, chain: Chain, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningVerifier]:
    """govssi's verifier with the chain's answers as data, naming the same registry as the chain's."""
    monkeypatch.setattr(FakeTrust, "registry_id", property(lambda _self: chain.registry_id))
    with running_verifier(tmp_path / "verifier") as running:
        yield running


def _accredit(chain: Chain, verifier: RunningVerifier) -> None:
    now = int(time.time())
    did = f"did:ethr:{hex(chain.client.chain_id)}:0x" + verifier.issuer.spki[:20].hex()
    chain.decide(
        chain.members[0].propose_accreditation(
            did, [PID], valid_from=now - 86400, valid_until=now + 86400, cert_key_sha256=verifier.issuer.spki
        )
    )


@contextmanager
def web_wallet(directory: Path, verifier: RunningVerifier) -> Iterator[tuple[httpx.Client, str]]:
    """The web wallet as ``govssi wallet serve`` builds it (the chain from the environment), unlocked."""
    with Wallet.create(directory / "wallet", PIN, kdf=FAST_KDF, allow_http_loopback=True) as wallet:
        store_pid(wallet, verifier.issuer, copies=4)
    policy = WalletRequestPolicy(
        x509_anchors=load_pem_certificates(verifier.ca_pem.read_bytes()), allow_http_loopback=True
    )
    app = create_wallet_app(directory / "wallet", kdf=FAST_KDF, allow_http_loopback=True, verifier_policy=policy)
    with LoopbackServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        csrf = _csrf(http.get("/").text)
        assert http.post("/unlock", data={"csrf": csrf, "pin": PIN}, follow_redirects=True).status_code == 200
        yield http, csrf


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _query(*registries: str) -> dict[str, Any]:
    return {
        "credentials": [
            {
                "id": "pid",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [PID]},
                "trusted_authorities": [{"type": "govssi_chain_accreditation", "values": list(registries)}],
                "claims": [{"path": ["family_name"]}],
            }
        ]
    }


def _consent(http: httpx.Client, csrf: str, verifier: RunningVerifier, query: dict[str, Any]) -> httpx.Response:
    return _consent_for(http, csrf, verifier, query)[0]


def _consent_for(
    http: httpx.Client, csrf: str, verifier: RunningVerifier, query: dict[str, Any]
) -> tuple[httpx.Response, str]:
    """The consent screen for a fresh request of ``query``, and the verifier's session."""
    created = verifier.create(query)
    page = http.post("/present", data={"csrf": csrf, "link": created["authorization_request"]})
    assert page.status_code == 200, page.text
    return page, created["session"]


def test_accredited_issuer_matches_and_the_verifier_accepts(
    tmp_path: Path, chain: Chain, verifier: RunningVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOVSSI_CHAIN_RPC set: the registry accredits the issuer's certificate key for the PID — the credential is
    offered and the verifier (same registry) verifies it; once the cooperative suspends the issuer, the wallet
    treats the credential as absent."""
    monkeypatch.setenv("GOVSSI_CHAIN_RPC", chain.server.url)
    monkeypatch.delenv("GOVSSI_TRUSTED_ISSUER_REGISTRY", raising=False)
    _accredit(chain, verifier)
    with web_wallet(tmp_path, verifier) as (http, csrf):
        page, session = _consent_for(http, csrf, verifier, _query(chain.registry_id))
        assert NOTHING_MATCHES not in page.text and "MUSTERMANN" in page.text
        action = re.search(r'action="(/present/[^"]+/approve)"', page.text)
        assert action
        assert http.post(action.group(1), data={"csrf": csrf}).status_code == 200
        result = verifier.result(session)
        assert result["status"] == "verified", result
        assert result["credentials"]["pid"][0]["claims"] == {"family_name": "MUSTERMANN"}

        other = "eip155:1:0x" + "cd" * 20
        assert NOTHING_MATCHES in _consent(http, csrf, verifier, _query(other)).text
        assert NOTHING_MATCHES not in _consent(http, csrf, verifier, _query(other, chain.registry_id)).text

        chain.decide(chain.members[0].propose_suspension(verifier.issuer.spki))
        assert NOTHING_MATCHES in _consent(http, csrf, verifier, _query(chain.registry_id)).text


def test_without_a_chain_the_type_matches_nothing(
    tmp_path: Path, chain: Chain, verifier: RunningVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GOVSSI_CHAIN_RPC: the wallet cannot check the accreditation, so it does not claim it."""
    monkeypatch.delenv("GOVSSI_CHAIN_RPC", raising=False)
    _accredit(chain, verifier)
    with web_wallet(tmp_path, verifier) as (http, csrf):
        assert NOTHING_MATCHES in _consent(http, csrf, verifier, _query(chain.registry_id)).text
        # a query without trusted_authorities is unaffected
        plain = _query(chain.registry_id)
        del plain["credentials"][0]["trusted_authorities"]
        assert NOTHING_MATCHES not in _consent(http, csrf, verifier, plain).text


def test_an_unreachable_chain_matches_nothing_and_breaks_nothing(
    tmp_path: Path, chain: Chain, verifier: RunningVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain that does not answer: no match (never a guess) and the consent screen still works."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("GOVSSI_CHAIN_RPC", dead)
    _accredit(chain, verifier)
    with web_wallet(tmp_path, verifier) as (http, csrf):
        started = time.monotonic()
        assert NOTHING_MATCHES in _consent(http, csrf, verifier, _query(chain.registry_id)).text
        assert time.monotonic() - started < 30
