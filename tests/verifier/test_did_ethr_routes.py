"""did:ethr on both sides of a presentation, over real HTTP with a development chain (ERC-1056 registry):

- the verifier as ``decentralized_identifier`` client (OpenID4VP 1.0 §5.9.3): the portal's did:ethr, its Request
  Object signed with a P-256 key published on that DID and named by ``kid``; the wallet resolves the DID on the chain;
- an issuer that signs with a key of its did:ethr instead of an ``x5c`` chain: the verifier takes the key as the DID
  had it at the credential's ``iat`` (``ledger.did_ethr.SigningKeyHistory``), checks the status list the DID's key
  signed, and refuses everything once the key is marked compromised on the DID (``did/compromised/jkt``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from verifier_support import (
    DISCLOSABLE,
    PID,
    PID_CLAIMS,
    Accreditation,
    FakeTrust,
    HeldCredential,
    StatusServer,
    TestIssuer,
    TestWallet,
    settings,
    sqlite_store,
    verifier_identity,
)

from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain
from ledger.client import ChainClient, SoftwareChainSigner
from ledger.did_ethr import EthrDidController, EthrDidDriver, SigningKeyHistory
from ledger.node import LocalChain, LocalChainProvider
from ssi.did import DidResolver
from ssi.errors import InvalidRequestObject
from ssi.keys import PrivateKey, SoftwareSigner, write_key_file
from ssi.oid4vp import WalletRequestPolicy, response_form
from ssi.sd_jwt.vc import issue_sd_jwt_vc
from ssi.status_list import INVALID, StatusList, issue_status_list_token
from verifier import loopback_verifier

STATUS_URI = "https://amt.example/status/ethr"


@dataclass
class Chain:
    client: ChainClient
    driver: EthrDidDriver

    def identity(self) -> tuple[EthrDidController, PrivateKey, str]:
        """A fresh did:ethr with a P-256 key published on it: (controller, key, kid)."""
        controller = EthrDidController(self.client, DEV_ADDRESSES.did_registry, SoftwareChainSigner.generate())
        key = PrivateKey.generate("ES256")
        controller.publish_key(key.public_key)
        self.wait_past_head()  # a credential's iat must not precede its key
        return controller, key, f"{controller.did(self.client.chain_id)}#delegate-1"

    def wait_past_head(self) -> None:
        """Wait until the wall clock is past the latest block's timestamp: every block is stamped at least a second
        after its parent, so block times run a second or two ahead of the wall clock, and a credential issued at once
        would carry an ``iat`` before the change just written (``SigningKeyHistory`` resolves the DID at ``iat``)."""
        head = int(self.client.w3.eth.get_block("latest")["timestamp"])
        deadline = time.monotonic() + 10
        while time.time() < head + 1 and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    local = LocalChain.in_memory()
    client = ChainClient(LocalChainProvider(local))
    bootstrap_development_chain(client, tmp_path_factory.mktemp("chain"))
    yield Chain(client, EthrDidDriver({client.chain_id: (client.w3, DEV_ADDRESSES.did_registry)}))
    local.close()


@dataclass
class DidWallet(TestWallet):
    """The test wallet trusting verifiers by DID resolution (no X.509 anchors)."""

    resolver: DidResolver | None = field(default=None)

    def policy(self) -> WalletRequestPolicy:
        return WalletRequestPolicy(did_resolver=self.resolver, allow_http_loopback=True)


def test_section_5_9_3_decentralized_identifier_with_the_portals_did_ethr(chain: Chain, tmp_path: Path) -> None:
    controller, key, kid = chain.identity()
    did = controller.did(chain.client.chain_id)
    key_file = tmp_path / "portal-did.key.json"
    write_key_file(key_file, key)
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    config = settings(
        tmp_path, client_id_prefix="decentralized_identifier", did=did, did_key_file=key_file, did_kid=kid
    )
    with (
        loopback_verifier(
            config,
            store=sqlite_store(tmp_path),
            trust=trust,
            key_history=None,
            did_resolver=None,
            anchors=[issuer.ca],
            fetcher=issuer.server,
        ) as (server, _service),
        httpx.Client(timeout=30) as http,
    ):
        created = http.post(f"{server.url}/api/presentations", json={"preset": "pid_identification"}).json()
        assert created["client_id"] == f"decentralized_identifier:{did}"
        holder = SoftwareSigner.generate("ES256")
        compact, idx = issuer.issue(holder)
        wallet = DidWallet(
            http, issuer.ca, [HeldCredential(compact, holder, idx)], resolver=DidResolver([chain.driver])
        )
        request = wallet.fetch_request(created["authorization_request"])  # signature checked against the DID's key
        assert request.client_id == created["client_id"]
        answer = wallet.post(request, response_form(request, wallet.presentations(request)))
        assert answer.response.status_code == 200, answer.response.text
        assert http.get(f"{server.url}/api/presentations/{created['session']}/result").json()["status"] == "verified"
        # the portal's key marked compromised on its DID: wallets no longer accept its requests
        controller.mark_compromised(key.public_key)
        again = http.post(f"{server.url}/api/presentations", json={"preset": "pid_identification"}).json()
        with pytest.raises(InvalidRequestObject) as refused:
            wallet.fetch_request(again["authorization_request"])
        assert refused.value.reason == "did_notFound"  # the marked key left the DID document


@dataclass
class DidIssuer:
    controller: EthrDidController
    key: PrivateKey
    kid: str
    server: StatusServer
    status_list: StatusList
    next_index: int = 0

    @property
    def did(self) -> str:
        return self.kid.split("#")[0]

    @property
    def signer(self) -> SoftwareSigner:
        return SoftwareSigner(self.key, kid=self.kid)

    def publish(self) -> str:
        token = issue_status_list_token(
            self.status_list, uri=STATUS_URI, signer=self.signer, iat=int(time.time()), exp=int(time.time()) + 3600
        )
        self.server.tokens[STATUS_URI] = token
        return token

    def issue(self) -> HeldCredential:
        holder = SoftwareSigner.generate("ES256")
        idx = self.next_index
        self.next_index += 1
        credential = issue_sd_jwt_vc(
            dict(PID_CLAIMS),
            self.signer,
            vct=PID,
            issuer=self.did,
            holder_jwk=holder.public_jwk,
            status={"status_list": {"idx": idx, "uri": STATUS_URI}},
            disclosable=DISCLOSABLE,
            valid_for=86400,
        )
        return HeldCredential(credential.compact, holder, idx)


def test_issuer_key_from_its_did_ethr(chain: Chain, tmp_path: Path) -> None:
    """The issuer route without ``x5c``: ``iss`` is the issuer's did:ethr and ``kid`` a key of it; accreditation is
    looked up by the DID, the status list is signed by the same DID key and anchored under the DID."""
    controller, key, kid = chain.identity()
    issuer = DidIssuer(controller, key, kid, StatusServer(), StatusList(1024, bits=2))
    trust = FakeTrust()
    trust.accreditations[issuer.did] = Accreditation(issuer.did, (PID,))

    def anchor() -> None:
        token = issuer.publish()
        trust.anchors.setdefault((issuer.did, STATUS_URI), []).append(hashlib.sha256(token.encode()).digest())

    anchor()
    resolver = DidResolver([chain.driver])
    x509_issuer = TestIssuer.create()  # only for the verifier's request-signing identity in the test wallet
    identity = verifier_identity("http://127.0.0.1")
    with (
        loopback_verifier(
            settings(tmp_path),
            store=sqlite_store(tmp_path),
            keys=identity.keys,
            trust=trust,
            key_history=SigningKeyHistory(chain.driver),
            did_resolver=resolver,
            anchors=[x509_issuer.ca],
            fetcher=issuer.server,
        ) as (server, service),
        httpx.Client(timeout=30) as http,
    ):
        service.credentials.status._verifier.max_age = 0

        def present(credential: HeldCredential) -> dict:
            created = http.post(f"{server.url}/api/presentations", json={"preset": "pid_identification"}).json()
            wallet = TestWallet(http, identity.ca.certificate, [credential])
            wallet.present(created["authorization_request"])
            body: dict = http.get(f"{server.url}/api/presentations/{created['session']}/result").json()
            return body

        first = issuer.issue()
        verified = present(first)
        assert verified["status"] == "verified", verified
        (pid,) = verified["credentials"]["pid"]
        assert pid["issuer"] == issuer.did and pid["issuer_key"] == "did" and pid["status_anchored"] is True
        # revoked through the DID-signed, anchored list
        issuer.status_list.set(first.status_index, INVALID)
        anchor()
        assert present(first)["reason"] == "credential_revoked"
        # not accredited by DID
        second = issuer.issue()
        trust.accreditations.clear()
        assert present(second)["reason"] == "issuer_not_accredited"
        trust.accreditations[issuer.did] = Accreditation(issuer.did, (PID,))
        assert present(issuer.issue())["status"] == "verified"
        # the key marked compromised on the DID: what it signed while it was valid is refused from now on (a thief
        # can write any iat), and a credential signed after the mark names a key the DID no longer has
        signed_before = issuer.issue()
        controller.mark_compromised(key.public_key)
        assert present(signed_before)["reason"] == "issuer_key_compromised"
        # the mark's block and the revocation's are stamped up to a second or two ahead of the wall clock: signed at
        # once, the credential's iat could fall before the revocation, when the (marked) key was still on the DID
        # (refused as issuer_key_compromised, SigningKeyHistory.key_at)
        chain.wait_past_head()
        assert present(issuer.issue())["reason"] == "issuer_key_unknown"
