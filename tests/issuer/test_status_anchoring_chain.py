"""Status-list anchoring on a real (in-process) chain with Ledger II's contracts: the anchor refuses an issuer that
is not accredited (the list is published anyway), anchors once the cooperative accredited it, and a verifier's
``StatusAnchorReader`` then finds the served token's SHA-256 as the current version — and an earlier one as rolled
back."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from issuer_support import make_issuer
from protocol_support import InProcessWallet

from issuer import IssuerChain, LedgerStatusAnchoring
from ledger.bootstrap import bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient
from ledger.node import LocalChain, LocalChainProvider
from ledger.trust import RegistryMember, StatusAnchorReader, TrustRegistry
from ssi.keys import SoftwareSigner


@pytest.fixture
def chain_client() -> Iterator[ChainClient]:
    chain = LocalChain.in_memory(1337)
    try:
        yield ChainClient(LocalChainProvider(chain))
    finally:
        chain.close()


def test_published_versions_are_anchored_and_readable_by_verifiers(tmp_path: Path, chain_client: ChainClient) -> None:
    addresses = bootstrap_development_chain(chain_client).addresses
    issuer = make_issuer(
        tmp_path,
        chain=IssuerChain(chain_client, addresses.did_registry),
        anchoring=LedgerStatusAnchoring(chain_client, addresses.status_anchor),
        anchor_retry=0.0,
    )
    issuer.check_chain()
    wallet = InProcessWallet(issuer, time.time)  # type: ignore[arg-type]
    tenant = wallet.tenant
    did = tenant.authority.did
    assert did is not None and did.startswith("did:ethr:")
    offer = wallet.offer()
    wallet.credential(wallet.token(offer, offer.tx_code), wallet.request_body([SoftwareSigner.generate()]))

    refused = issuer.publisher.publish_due()
    assert [p.anchor_state for p in refused.published] == ["refused"]  # not accredited yet: published all the same
    assert "not_accredited" in (refused.anchoring["demo"].detail or "")

    trust = TrustRegistry(chain_client, addresses.trusted_issuer_registry)
    first, second, *_ = (RegistryMember(trust, signer) for signer in dev_member_signers())
    head = int(chain_client.w3.eth.get_block("latest")["timestamp"])
    vct = tenant.types["bewohnerparkausweis"].vct(tenant.credential_issuer)
    proposal = first.propose_accreditation(did, [vct], valid_from=head - 86400, valid_until=head + 86400)
    if proposal.accreditation_id is None:
        second.vote(proposal.proposal.id)

    retried = issuer.publisher.publish_due()  # the refused latest version is anchored now
    assert retried.anchoring["demo"].state == "anchored"
    reader = StatusAnchorReader(chain_client, addresses.status_anchor)
    record = issuer.admin.credentials(tenant)[0]
    first_token = issuer.publisher.current_token(tenant, 1)
    first_digest = hashlib.sha256(first_token.encode()).digest()
    assert reader.check(did, record.status_list_uri, first_digest).state == "current"

    issuer.admin.change_status(tenant, record.credential_id, "revoke", actor="apikey:test")
    published = issuer.publisher.publish_due().published
    assert [p.anchor_state for p in published] == ["anchored"]
    issuer.publisher._cache.clear()
    second_digest = hashlib.sha256(issuer.publisher.current_token(tenant, 1).encode()).digest()
    assert published[0].sha256 == second_digest.hex()
    assert reader.check(did, record.status_list_uri, second_digest).state == "current"
    assert reader.check(did, record.status_list_uri, first_digest).state == "rolled_back"
    lists = issuer.admin.status_lists(tenant)
    assert lists[0]["anchor_state"] == "anchored" and lists[0]["anchor_detail"].startswith("0x")
