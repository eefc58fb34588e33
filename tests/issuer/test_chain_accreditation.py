"""The issuer reads its accreditation from the cooperative's trusted-issuer registry (issue 6: "checks its
accreditation on the chain for each credential type"; the registry is Ledger II's ``ledger.trust``)."""

from __future__ import annotations

import hashlib

from issuer.chain import RegistryNotAvailable, TrustRegistryAccreditation, accreditation_registry
from ledger.bootstrap import DEV_ADDRESSES, bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient
from ledger.node import LocalChain, LocalChainProvider
from ledger.trust import RegistryMember, TrustRegistry

DID = "did:ethr:0x539:0x1111111111111111111111111111111111111111"
VCT = "https://issuer.example/issuers/musterstadt/vct/bewohnerparkausweis"
CERT = hashlib.sha256(b"issuer certificate key").digest()


def _chain() -> ChainClient:
    return ChainClient(LocalChainProvider(LocalChain.in_memory()))


def test_without_a_registry_on_the_chain_the_answer_is_unknown_and_says_why() -> None:
    registry = accreditation_registry(_chain())
    assert isinstance(registry, RegistryNotAvailable)
    assert DEV_ADDRESSES.trusted_issuer_registry in registry.source
    assert registry.status(DID, VCT, CERT) == "unknown"


def test_accredited_by_the_cooperatives_vote_for_its_types_only() -> None:
    client = _chain()
    bootstrap_development_chain(client)
    registry = accreditation_registry(client)
    assert isinstance(registry, TrustRegistryAccreditation)
    assert registry.status(DID, VCT, CERT) == "not_accredited"
    trust = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
    now = int(client.w3.eth.get_block("latest")["timestamp"])
    members = [RegistryMember(trust, signer) for signer in dev_member_signers()]
    outcome = members[0].propose_accreditation(
        DID, [VCT], valid_from=now - 60, valid_until=now + 86_400, cert_key_sha256=CERT
    )
    for voter in members[1:]:
        if outcome.accreditation_id is not None:
            break
        outcome = voter.vote(outcome.proposal.id)
    assert outcome.accreditation_id is not None
    trust.clear()
    assert registry.status(DID, VCT, CERT) == "accredited"
    assert registry.status(DID, VCT + "-other", CERT) == "not_accredited"
    # Another certificate key than the accreditation names: not this accreditation.
    assert registry.status(DID, VCT, hashlib.sha256(b"another key").digest()) == "not_accredited"
