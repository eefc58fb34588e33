"""The issuer's BBS key on its did:ethr (issue 14): ``check_chain`` publishes it as a ``Multikey`` (multicodec
bls12_381-g2-pub) under ``did/pub/Multikey/veriKey`` once, and bbs-2023 credentials then name the authority's DID as
``issuer`` and that verification method — resolvable by any verifier through the chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from issuer_support import make_issuer
from ldp_vc_support import AGE_BBS, LDP_SAMPLE_CLAIMS
from protocol_support import T0, InProcessWallet

from infra.db import create_engine, sqlite_url
from issuer import IssuerChain, did_registry_address
from issuer.storage import IssuerStorage
from ledger.client import ChainClient
from ledger.did_ethr import EthrDidDriver
from ledger.node import LocalChain, LocalChainProvider
from ssi.clock import FrozenClock
from ssi.data_integrity import did_public_key_lookup, verify_base_proof


@pytest.fixture
def chain_client() -> Iterator[ChainClient]:
    chain = LocalChain.in_memory(1337)
    try:
        yield ChainClient(LocalChainProvider(chain))
    finally:
        chain.close()


def test_bbs_key_is_anchored_once_and_named_by_issued_credentials(tmp_path: Path, chain_client: ChainClient) -> None:
    storage = IssuerStorage(create_engine(sqlite_url(tmp_path / "s.db")))
    storage.migrate()
    registry = did_registry_address(chain_client, None, storage)
    clock = FrozenClock(T0)
    issuer = make_issuer(tmp_path, chain=IssuerChain(chain_client, registry), clock=clock)
    (entry,) = issuer.check_chain()["authorities"]
    did, method = entry["did"], entry["bbs_verification_method"]
    assert method.startswith(f"{did}#delegate-")
    block = chain_client.w3.eth.block_number
    assert issuer.check_chain()["authorities"][0]["bbs_verification_method"] == method
    assert chain_client.w3.eth.block_number == block  # idempotent: nothing sent the second time

    driver = EthrDidDriver({1337: (chain_client.w3, registry)}, clock=clock)
    keys = issuer.context.keys(issuer.context.tenant("demo"))
    assert keys.bbs is not None
    assert did_public_key_lookup(driver.resolve)(method) == keys.bbs.public_key

    wallet = InProcessWallet(issuer, clock)
    offer = issuer.offers.create(wallet.tenant, AGE_BBS, LDP_SAMPLE_CLAIMS[AGE_BBS], tx_code=False)
    (credential,) = wallet.credential(wallet.token(offer), {"credential_configuration_id": AGE_BBS}).credentials
    assert isinstance(credential, dict)
    assert credential["issuer"] == did and credential["proof"]["verificationMethod"] == method
    verify_base_proof(credential, did_public_key_lookup(driver.resolve))
