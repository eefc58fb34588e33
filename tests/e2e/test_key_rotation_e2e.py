"""A routine key rotation of an issuer end to end over real HTTP (docs/operations.md, "Key rotation"): govssi's issuer
issues a credential to the wallet simulator, the authority rotates its signing key as the operations guide says
(key file and chain moved to the archive, issuer restarted, the cooperative accredits the new certificate key for the
same DID on a development chain), and govssi's verifier — trust from that chain (``ChainIssuerTrust``) — still accepts
the old credential with status ``valid`` from a status list the *new* key signs, and refuses it as
``credential_revoked`` once the authority revokes it.

draft-ietf-oauth-status-list §11.3: "This specification does not mandate specific methods for key resolution and trust
management"; govssi's rule (verifier/status.py): the credential's issuer signs, with the credential's key or with a
key that chains to our anchors and that the registry accredits now for the same DID.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verifier"))

from issuer_support import ADMIN, SAMPLE_CLAIMS, demo_ca
from verifier_support import settings, sqlite_store, verifier_identity

from infra.server import LoopbackServer
from issuer import Issuer, IssuerSettings, build_issuer
from issuer.app import create_app
from issuer.keyring import FileKeyring
from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient, SoftwareChainSigner
from ledger.node import LocalChain, LocalChainProvider
from ledger.trust import RegistryMember, StatusAnchorReader, TrustRegistry, anchor_status_lists
from ssi.jose import parse_compact
from ssi.oid4vp import WalletRequestPolicy
from ssi.x509 import certificate_to_pem, load_pem_certificates, parse_x5c, spki_sha256
from verifier import ChainIssuerTrust, loopback_verifier
from wallet_sim.oid4vp import PresentationClient, present, propose
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import ReceivedCredentials, Wallet

TYPE = "bewohnerparkausweis"
PIN = "246810"


@dataclass
class Chain:
    client: ChainClient
    members: list[RegistryMember]
    identity: SoftwareChainSigner

    @property
    def did(self) -> str:
        return f"did:ethr:0x539:{self.identity.address.lower()}"

    def decide(self, proposal: object) -> None:
        for member in self.members[1:]:
            if member.vote(proposal.proposal.id).proposal.state.label == "executed":  # type: ignore[attr-defined]
                return
        raise AssertionError("the cooperative did not decide")

    def accredit(self, cert_key: bytes, vct: str) -> None:
        now = int(time.time())
        self.decide(
            self.members[0].propose_accreditation(
                self.did, [vct], valid_from=now - 3600, valid_until=now + 86400, cert_key_sha256=cert_key
            )
        )

    def anchor(self, uri: str, token: str) -> None:
        digest = hashlib.sha256(token.encode()).digest()
        anchor_status_lists(self.client, DEV_ADDRESSES.status_anchor, self.identity, [(uri, digest)])


def _stable_port() -> int:
    """A port free now and below the kernel's ephemeral range, so that no client connection of a parallel test takes
    it while the issuer is down for its restart (tests/govssi/test_demo_boot.py)."""
    try:
        top = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        top = 32768
    for _ in range(200):
        port = random.randrange(20000, top)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port below the ephemeral range")


@contextmanager
def running_issuer(base: IssuerSettings, port: int, keys_dir: Path) -> Iterator[Issuer]:
    """``govssi issuer serve`` on a fixed port: the public URL is inside every credential and must not change."""
    configured = base.model_copy(update={"public_url": f"http://127.0.0.1:{port}", "dev_allow_http": True})
    service = build_issuer(configured, keyring=FileKeyring(keys_dir, passphrase="pw", ca=demo_ca()))
    server = LoopbackServer(create_app(configured, issuer=service), port=port)
    server.start()
    try:
        yield service
    finally:
        server.stop()


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    local = LocalChain.in_memory()
    client = ChainClient(LocalChainProvider(local))
    bootstrap_development_chain(client, tmp_path / "chain")
    registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
    yield Chain(client, [RegistryMember(registry, s) for s in dev_member_signers()], SoftwareChainSigner.generate())
    local.close()


def _offer(http: httpx.Client, wallet: Wallet, credential_issuer: str) -> tuple[str, str]:
    """One credential (with one-time copies) into the wallet: ``(wallet credential id, offer id)``."""
    offer = http.post(
        f"{credential_issuer}/admin/offers",
        headers=ADMIN,
        json={"credential_configuration_id": TYPE, "claims": SAMPLE_CLAIMS[TYPE]},
    ).json()
    (received,) = wallet.request(wallet.resolve_offer(offer["offer_uri"]), offer["tx_code"])
    assert isinstance(received, ReceivedCredentials)
    return wallet.accept(received).id, offer["offer_id"]


def _revoke(http: httpx.Client, credential_issuer: str, offer_id: str) -> None:
    records = http.get(f"{credential_issuer}/admin/credentials", headers=ADMIN, params={"offer": offer_id}).json()
    assert records["credentials"]
    for record in records["credentials"]:
        answer = http.post(f"{credential_issuer}/admin/credentials/{record['credential_id']}/revoke", headers=ADMIN)
        assert answer.status_code == 200, answer.text


def _next_token(http: httpx.Client, uri: str, after: str | None) -> str:
    """The status list token as published, once it differs from ``after`` (within the publication window)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = http.get(uri)
        if answer.status_code == 200 and answer.text != after:
            return answer.text
        time.sleep(0.1)
    raise AssertionError(f"{uri} was not published (again)")


def _signer_spki(token: str) -> bytes:
    return spki_sha256(parse_x5c(parse_compact(token)[3]["x5c"])[0])


def test_a_credential_of_a_rotated_out_key_keeps_its_status(tmp_path: Path, chain: Chain) -> None:
    keys_dir, archive = tmp_path / "issuer-keys", tmp_path / "archive"
    issuer_settings = IssuerSettings(
        data_dir=tmp_path / "issuer", bootstrap_key="test-bootstrap-key-0001", key_passphrase="pw", token_rate_limit=0
    )
    identity = verifier_identity("http://127.0.0.1")
    verifier_ca = tmp_path / "verifier-ca.pem"
    verifier_ca.write_bytes(certificate_to_pem(identity.ca.certificate))
    trust = ChainIssuerTrust(
        TrustRegistry(chain.client, DEV_ADDRESSES.trusted_issuer_registry),
        StatusAnchorReader(chain.client, DEV_ADDRESSES.status_anchor),
        chain_id=1337,
    )
    port = _stable_port()
    with (
        loopback_verifier(
            settings(tmp_path / "verifier"),
            store=sqlite_store(tmp_path),
            keys=identity.keys,
            trust=trust,
            key_history=None,
            did_resolver=None,
            anchors=[demo_ca().certificate],
        ) as (verifier_server, _service),
        httpx.Client(timeout=30) as http,
        Wallet.create(tmp_path / "wallet", PIN, kdf=FAST_KDF, allow_http_loopback=True, batch=4) as wallet,
    ):
        policy = WalletRequestPolicy(
            x509_anchors=load_pem_certificates(verifier_ca.read_bytes()), allow_http_loopback=True
        )

        def verify(credential_id: str) -> dict:
            query = {
                "credentials": [
                    {
                        "id": TYPE,
                        "format": "dc+sd-jwt",
                        "meta": {"vct_values": [vct]},
                        "claims": [{"path": ["family_name"]}],
                    }
                ]
            }
            created = http.post(f"{verifier_server.url}/api/presentations", json={"dcql_query": query}).json()
            with PresentationClient(policy) as client:
                proposal = propose(wallet, client.resolve(created["authorization_request"]))
                present(wallet, client, proposal, proposal.choose(credentials={TYPE: credential_id}))
            result: dict = http.get(f"{verifier_server.url}/api/presentations/{created['session']}/result").json()
            return result

        # 1. before the rotation: two credentials (A is presented, B is revoked later), signed with the first key
        with running_issuer(issuer_settings, port, keys_dir) as issuer:
            assert issuer.bootstrap is not None
            credential_issuer = issuer.bootstrap.credential_issuer
            old_a, offer_a = _offer(http, wallet, credential_issuer)
            _, offer_b = _offer(http, wallet, credential_issuer)
            jwt = wallet.compact(old_a).split("~")[0]
            old_spki = spki_sha256(parse_x5c(parse_compact(jwt)[3]["x5c"])[0])
            record = http.get(
                f"{credential_issuer}/admin/credentials", headers=ADMIN, params={"offer": offer_a}
            ).json()["credentials"][0]
            uri = record["status_list"]["uri"]
            vct = f"{credential_issuer}/vct/{TYPE}"
            chain.accredit(old_spki, vct)
            token = _next_token(http, uri, None)
            chain.anchor(uri, token)
            first = verify(old_a)
            assert first["status"] == "verified", first
            assert first["credentials"][TYPE][0]["status"] == "valid"

        # 2. the rotation (docs/operations.md): key file and chain to the archive, the new certificate key
        #    accredited for the same DID (superseding the old accreditation), the issuer restarted
        slug = next(
            p.name.removesuffix(".chain.pem")
            for p in keys_dir.glob("*.chain.pem")
            if spki_sha256(load_pem_certificates(p.read_bytes())[0]) == old_spki
        )
        archive.mkdir()
        for name in (f"{slug}.signing.json", f"{slug}.chain.pem"):
            shutil.move(keys_dir / name, archive / name)
        with running_issuer(issuer_settings, port, keys_dir):
            metadata = http.get(f"http://127.0.0.1:{port}/.well-known/jwt-vc-issuer/issuers/{slug}").json()
            new_spki = spki_sha256(parse_x5c(metadata["jwks"]["keys"][0]["x5c"])[0])
            assert new_spki != old_spki
            chain.accredit(new_spki, vct)

            # 3. the next version of the list (B revoked) is signed with the new key: A is still valid
            _revoke(http, credential_issuer, offer_b)
            token = _next_token(http, uri, token)
            assert _signer_spki(token) == new_spki
            chain.anchor(uri, token)
            after = verify(old_a)
            assert after["status"] == "verified", after
            (presented,) = after["credentials"][TYPE]
            assert presented["status"] == "valid" and presented["status_anchored"] is True
            assert presented["accreditation"]["status"] == "superseded"

            # 4. A revoked: the verifier sees it in the list the new key signs
            _revoke(http, credential_issuer, offer_a)
            token = _next_token(http, uri, token)
            assert _signer_spki(token) == new_spki
            chain.anchor(uri, token)
            revoked = verify(old_a)
            assert revoked.get("reason") == "credential_revoked", revoked
