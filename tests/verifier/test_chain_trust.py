"""Trust from a real chain (``ledger.trust`` on an in-process development chain, Ledger II): the verifier's
:class:`ChainIssuerTrust` reads the cooperative's accreditation of an issuer's certificate key and the digests the
issuer anchored for its status list — then the same presentation is verified, or refused once the members suspend
the issuer, mark its key compromised, or the issuer's list is rolled back. And a routine key rotation
(docs/operations.md) on the real registry: credentials of the rotated-out key keep their status (valid, then
revoked) from the lists the new key signs."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from verifier_support import PID, HeldCredential, TestIssuer, settings, sqlite_store, verifier_identity

from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient, SoftwareChainSigner
from ledger.node import LocalChain, LocalChainProvider
from ledger.trust import RegistryMember, StatusAnchorReader, TrustRegistry, anchor_status_lists
from ssi.dcql import DcqlQuery
from ssi.errors import SsiError
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vp import (
    WalletRequestPolicy,
    parse_authorization_request_link,
    response_form,
    verify_request_object,
)
from ssi.status_list import INVALID
from ssi.x509 import issue_certificate, spki_sha256, x5c_chain
from verifier import ChainIssuerTrust, PresentationService, build_verifier
from verifier.trust import ACCREDITATION_REASONS


@dataclass
class ChainSetup:
    client: ChainClient
    members: list[RegistryMember]
    issuer_signer: SoftwareChainSigner
    issuer: TestIssuer
    trust: ChainIssuerTrust
    service: PresentationService
    verifier_ca: object = None

    @property
    def did(self) -> str:
        return f"did:ethr:0x539:{self.issuer_signer.address.lower()}"

    def anchor(self, token: str) -> None:
        digest = hashlib.sha256(token.encode()).digest()
        anchor_status_lists(
            self.client, DEV_ADDRESSES.status_anchor, self.issuer_signer, [(self.issuer.list_uri(), digest)]
        )

    def decide(self, proposal: object) -> None:
        for member in self.members[1:]:
            outcome = member.vote(proposal.proposal.id)  # type: ignore[attr-defined]
            if outcome.proposal.state.label == "executed":
                return


@pytest.fixture(scope="module")
def development_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChainClient, list[RegistryMember]]]:
    """One development chain for the module (deploying costs seconds); every test accredits an issuer of its own."""
    local = LocalChain.in_memory()
    client = ChainClient(LocalChainProvider(local))
    bootstrap_development_chain(client, tmp_path_factory.mktemp("chain"))
    registry = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
    yield client, [RegistryMember(registry, signer) for signer in dev_member_signers()]
    local.close()


@pytest.fixture
def chain(tmp_path: Path, development_chain: tuple[ChainClient, list[RegistryMember]]) -> ChainSetup:
    client, members = development_chain
    registry = members[0].registry
    issuer_signer = SoftwareChainSigner.generate()
    issuer = TestIssuer.create()
    did = f"did:ethr:0x539:{issuer_signer.address.lower()}"
    now = int(time.time())
    proposal = members[0].propose_accreditation(
        did, [PID], valid_from=now - 86400, valid_until=now + 86400, cert_key_sha256=issuer.spki
    )
    setup = ChainSetup(client, members, issuer_signer, issuer, None, None)  # type: ignore[arg-type]
    setup.decide(proposal)
    setup.anchor(issuer.server.tokens[issuer.list_uri()])
    trust = ChainIssuerTrust(registry, StatusAnchorReader(client, DEV_ADDRESSES.status_anchor), chain_id=1337)
    identity = verifier_identity("https://verifier.example")
    setup.trust = trust
    setup.verifier_ca = identity.ca.certificate
    setup.service = build_verifier(
        settings(tmp_path),
        store=sqlite_store(tmp_path),
        keys=identity.keys,
        trust=trust,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
    )
    setup.service.credentials.status._verifier.max_age = 0  # every check asks the issuer
    return setup


def issue(setup: ChainSetup) -> HeldCredential:
    holder = SoftwareSigner.generate("ES256")
    compact, idx = setup.issuer.issue(holder)
    return HeldCredential(compact, holder, idx)


def present(setup: ChainSetup, credential: HeldCredential | None = None) -> dict:
    """A whole presentation in-process (no HTTP): the service's signed request, verified by the holder, answered
    (with a credential issued now unless ``credential`` is given)."""
    credential = credential or issue(setup)
    created = setup.service.create(DcqlQuery.parse(_query()))
    link = parse_authorization_request_link(created.authorization_request)
    token = setup.service.request_object(created.request_id)
    request = verify_request_object(token, link, WalletRequestPolicy(x509_anchors=[setup.verifier_ca])).request
    presentation = credential.held.present(
        [("given_name",)], holder=credential.holder, audience=request.client_id, nonce=request.nonce
    )
    with contextlib.suppress(SsiError):
        setup.service.handle_response(created.request_id, response_form(request, {"pid": [presentation]}))
    result: dict = setup.service.result(created.transaction_id)
    return result


def _query() -> dict:
    return {
        "credentials": [
            {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID]}, "claims": [{"path": ["given_name"]}]}
        ]
    }


def test_accredited_issuer_with_anchored_list_is_verified(chain: ChainSetup) -> None:
    result = present(chain)
    assert result["status"] == "verified", result
    (pid,) = result["credentials"]["pid"]
    assert pid["status_anchored"] is True
    assert pid["accreditation"]["did"] == chain.did and pid["accreditation"]["status"] == "active"
    assert chain.trust.registry_id == f"eip155:1337:{DEV_ADDRESSES.trusted_issuer_registry}"


def test_suspended_issuer_is_refused(chain: ChainSetup) -> None:
    chain.decide(chain.members[0].propose_suspension(chain.issuer.spki))
    assert present(chain)["reason"] == "accreditation_suspended"


def test_compromised_key_is_refused(chain: ChainSetup) -> None:
    chain.decide(chain.members[0].propose_compromise(chain.issuer.spki, int(time.time()) - 600))
    assert present(chain)["reason"] == "issuer_key_compromised"


def test_unknown_issuer_is_refused(chain: ChainSetup) -> None:
    chain.decide(chain.members[0].propose_revocation(chain.issuer.spki))
    assert present(chain)["reason"] == "accreditation_revoked"


def test_rolled_back_and_substituted_lists_are_refused(chain: ChainSetup) -> None:
    uri = chain.issuer.list_uri()
    old = chain.issuer.server.tokens[uri]
    newer = chain.issuer.publish()
    chain.anchor(newer)
    assert present(chain)["status"] == "verified"
    chain.issuer.server.tokens[uri] = old
    assert present(chain)["reason"] == "status_list_rolled_back"
    chain.issuer.publish()  # a version never anchored
    assert present(chain)["reason"] == "status_list_substituted"


def test_every_registry_refusal_has_a_reason() -> None:
    from ledger.trust import AccreditationStatus

    labels = {status.label for status in AccreditationStatus if status.label != "active"}
    assert labels | {"not_accredited", "type_not_accredited", "expired", "not_yet_valid", "key_compromised"} <= set(
        ACCREDITATION_REASONS
    )


def _accredit(setup: ChainSetup, cert_key: bytes, did: str | None = None) -> None:
    now = int(time.time())
    setup.decide(
        setup.members[0].propose_accreditation(
            did or setup.did, [PID], valid_from=now - 86400, valid_until=now + 86400, cert_key_sha256=cert_key
        )
    )


def _rotate(setup: ChainSetup) -> bytes:
    """docs/operations.md "Key rotation": a new key with a new certificate; the cooperative accredits the new
    certificate key for the same DID (superseding the old accreditation); the issuer signs the next version of its
    list with the new key and anchors it. Returns the old certificate key's SHA-256."""
    old_spki = setup.issuer.spki
    _accredit(setup, setup.issuer.rotate())
    assert setup.trust.registry.accreditation(old_spki).status.label == "superseded"
    setup.anchor(setup.issuer.publish())
    return old_spki


def test_credentials_of_a_rotated_out_key_keep_their_status(chain: ChainSetup) -> None:
    """Status List §11.3 leaves the Status Issuer's keys to the ecosystem; ours: the list of a credential signed before
    the rotation is signed by the new key, which chains to our anchors and is accredited for the same DID — the
    credential verifies with status ``valid``, and once revoked (in a version the new key signs) is refused."""
    old = issue(chain)
    _rotate(chain)
    result = present(chain, old)
    assert result["status"] == "verified", result
    (pid,) = result["credentials"]["pid"]
    assert pid["status"] == "valid" and pid["status_anchored"] is True
    assert pid["accreditation"]["status"] == "superseded" and pid["accreditation"]["superseded_by"]
    assert present(chain)["status"] == "verified"  # and the new key's credentials
    chain.anchor(chain.issuer.set_status(chain.issuer.list_uri(), old.status_index, INVALID))
    assert present(chain, old)["reason"] == "credential_revoked"
    assert present(chain)["status"] == "verified"


def test_a_rotated_out_key_marked_compromised_is_refused(chain: ChainSetup) -> None:
    """Superseding is not withdrawal; a compromise mark on the old certificate key is (final, docs/ledger.md)."""
    old = issue(chain)
    old_spki = _rotate(chain)
    chain.decide(chain.members[0].propose_compromise(old_spki, int(time.time()) - 600))
    assert present(chain, old)["reason"] == "issuer_key_compromised"
    assert present(chain)["status"] == "verified"


def test_a_rotated_out_key_is_refused_once_the_issuer_is_suspended(chain: ChainSetup) -> None:
    """The DID's current accreditation decides for the credentials of its earlier keys too."""
    old = issue(chain)
    _rotate(chain)
    chain.decide(chain.members[0].propose_suspension(chain.did))
    assert present(chain, old)["reason"] == "accreditation_suspended"


def test_a_list_signed_by_a_key_accredited_for_another_did_is_refused(chain: ChainSetup) -> None:
    """A key of another accredited issuer, under a CA we trust, does not answer for this issuer's credentials."""
    old = issue(chain)
    other_key = PrivateKey.generate("ES256")
    leaf = issue_certificate(
        chain.issuer.ca,
        chain.issuer.ca_key,
        other_key.public_key,
        "Andere Behörde",
        now=time.time() - 60,
        days=30,
        uris=[chain.issuer.url],
    )
    other_did = f"did:ethr:0x539:{SoftwareChainSigner.generate().address.lower()}"
    _accredit(chain, spki_sha256(leaf), did=other_did)
    chain.anchor(chain.issuer.publish(signer=SoftwareSigner(other_key), x5c=x5c_chain([leaf])))
    assert present(chain, old)["reason"] == "status_list_wrong_signer"


@pytest.mark.parametrize(("staleness", "syncs"), [(0.0, 3), (30.0, 1)])
def test_chain_max_staleness_setting_reaches_every_chain_reader(
    chain: ChainSetup, monkeypatch: pytest.MonkeyPatch, staleness: float, syncs: int
) -> None:
    """``GOVSSI_VERIFIER_CHAIN_MAX_STALENESS``: the verifier's trusted-issuer registry, status-list anchors and
    did:ethr cache built by :func:`verifier.chain_trust` answer within that many seconds without asking the chain for
    its head again (one ``eth_blockNumber`` for three lookups); 0 asks before every lookup."""
    from verifier import chain_trust
    from verifier.settings import VerifierSettings

    monkeypatch.setattr(ChainClient, "connect", classmethod(lambda cls, urls, **_: chain.client))
    monkeypatch.setenv("GOVSSI_VERIFIER_CHAIN_MAX_STALENESS", str(staleness))
    verifier_settings = VerifierSettings(public_url="https://verifier.example", chain_rpc="http://127.0.0.1:1")
    assert verifier_settings.chain_max_staleness == staleness
    trust, _history, _resolver = chain_trust(verifier_settings)
    assert isinstance(trust, ChainIssuerTrust)
    for _ in range(3):
        assert trust.registry.accreditation(chain.did) is not None
        trust.anchors.latest(chain.did, chain.issuer.list_uri())
    assert trust.registry.stats.syncs == syncs
    assert trust.anchors.stats.syncs == syncs
    networks = {id(network): network for network in trust.did_driver._networks.values()}
    assert [network.cache.max_staleness for network in networks.values()] == [staleness]


def test_chain_max_staleness_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A negative or over-long staleness is a configuration error, not a silently stale trust decision."""
    from pydantic import ValidationError

    from verifier.settings import VerifierSettings

    for bad in ("-1", "61", "soon"):
        monkeypatch.setenv("GOVSSI_VERIFIER_CHAIN_MAX_STALENESS", bad)
        with pytest.raises(ValidationError):
            VerifierSettings(public_url="https://verifier.example")
