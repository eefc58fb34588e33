"""The issuer on the chain: each authority's did:ethr anchored with its credential signing key (idempotent), the DID
in the credential issuer metadata (govssi's ``did`` member), the DID registry on a development chain, and the
accreditation seam (``unknown`` until Ledger II's registry is plugged in)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from issuer_support import PUBLIC_URL, make_issuer, settings

from infra.db import create_engine, sqlite_url
from issuer import IssuerChain, RegistryNotAvailable, create_app, did_registry_address
from issuer.storage import IssuerStorage
from ledger.client import ChainClient
from ledger.did_ethr import EthrDidDriver, verification_method_thumbprint
from ledger.node import LocalChain, LocalChainProvider
from ssi.errors import ChainError


@pytest.fixture
def chain_client() -> Iterator[ChainClient]:
    chain = LocalChain.in_memory(1337)
    try:
        yield ChainClient(LocalChainProvider(chain))
    finally:
        chain.close()


def test_development_registry_is_deployed_once_and_remembered(tmp_path: Path, chain_client: ChainClient) -> None:
    storage = IssuerStorage(create_engine(sqlite_url(tmp_path / "s.db")))
    storage.migrate()
    registry = did_registry_address(chain_client, None, storage)
    assert chain_client.code(registry)
    assert did_registry_address(chain_client, None, storage) == registry  # no second deployment
    assert did_registry_address(chain_client, registry.lower(), storage) == registry
    with pytest.raises(ChainError):
        did_registry_address(chain_client, "0x" + "11" * 20, storage)  # no contract there
    with pytest.raises(ChainError):
        did_registry_address(chain_client, "not-an-address", storage)


def test_production_chains_need_a_configured_registry(tmp_path: Path) -> None:
    chain = LocalChain.in_memory(4242)
    try:
        client = ChainClient(LocalChainProvider(chain))
        storage = IssuerStorage(create_engine(sqlite_url(tmp_path / "s.db")))
        storage.migrate()
        with pytest.raises(ChainError) as err:
            did_registry_address(client, None, storage)
        assert err.value.reason == "no_registry"
    finally:
        chain.close()


class Accredited:
    source = "test registry"

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, bytes]] = []

    def status(self, did: str, credential_type: str, cert_key_sha256: bytes) -> str:
        self.asked.append((did, credential_type, cert_key_sha256))
        return "accredited" if credential_type.endswith("/dienstausweis") else "not_accredited"


def test_anchoring_is_idempotent_and_the_did_holds_the_signing_key(tmp_path: Path, chain_client: ChainClient) -> None:
    storage = IssuerStorage(create_engine(sqlite_url(tmp_path / "s.db")))
    storage.migrate()
    registry = did_registry_address(chain_client, None, storage)
    registry_answers = Accredited()
    chain = IssuerChain(chain_client, registry, registry_answers)
    issuer = make_issuer(tmp_path, chain=chain)
    first = issuer.check_chain()
    (entry,) = first["authorities"]
    assert entry["anchored"] is True and entry["did"].startswith("did:ethr:0x539:0x")
    tenant = issuer.context.tenant("demo")
    keys = issuer.context.keys(tenant)
    document = EthrDidDriver({1337: (chain_client.w3, registry)}).resolve(entry["did"])
    thumbprints = {verification_method_thumbprint(vm.to_json()) for vm in document.verification_method}
    assert keys.public_key.thumbprint() in thumbprints
    block = chain_client.w3.eth.block_number
    second = issuer.check_chain()
    assert second["authorities"][0]["did"] == entry["did"]
    assert chain_client.w3.eth.block_number == block  # nothing sent the second time
    assert entry["accreditation"] == {
        f"{PUBLIC_URL}/issuers/demo/vct/bewohnerparkausweis": "not_accredited",
        f"{PUBLIC_URL}/issuers/demo/vct/dienstausweis": "accredited",
        f"{PUBLIC_URL}/issuers/demo/vct/meldebescheinigung": "not_accredited",
        "https://ns.govssi.de/credentials#AgeCredential": "not_accredited",  # ldp_vc types: their type IRI
        "https://ns.govssi.de/credentials#ResidentParkingPermitCredential": "not_accredited",
    }
    from ssi.x509 import spki_sha256

    assert {a[2] for a in registry_answers.asked} == {spki_sha256(keys.chain[0])}
    assert issuer.context.storage.authority("demo").did == entry["did"]  # type: ignore[union-attr]
    with TestClient(create_app(settings(tmp_path), issuer=issuer), base_url=PUBLIC_URL) as client:
        metadata = client.get("/.well-known/openid-credential-issuer/issuers/demo").json()
        assert metadata["did"] == entry["did"]


def test_accreditation_unknown_until_the_registry_exists(tmp_path: Path, chain_client: ChainClient) -> None:
    storage = IssuerStorage(create_engine(sqlite_url(tmp_path / "s.db")))
    storage.migrate()
    chain = IssuerChain(chain_client, did_registry_address(chain_client, None, storage))
    assert isinstance(chain.accreditation_registry, RegistryNotAvailable)
    issuer = make_issuer(tmp_path, chain=chain)
    (entry,) = issuer.check_chain()["authorities"]
    assert set(entry["accreditation"].values()) == {"unknown"}
    assert "no trusted-issuer registry" in entry["accreditation_source"]


def test_chain_failure_is_reported_not_fatal(tmp_path: Path) -> None:
    client = ChainClient(["http://127.0.0.1:9"])  # nothing listens there
    issuer = make_issuer(tmp_path, chain=IssuerChain(client, "0x" + "22" * 20, timeout=2.0))
    started = time.monotonic()
    report = issuer.check_chain()
    assert time.monotonic() - started < 30
    (entry,) = report["authorities"]
    assert entry["anchored"] is False and "error" in entry
