"""govssi's contracts on the network model, with the ledger client unchanged: deployed through ChainClient over the
node URLs (failover), an issuer's did:ethr key published there, and the DID resolved — by the did:ethr driver reading
through the client, and through a plain node URL — also after the node first asked has gone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.client import ChainClient, ClientPolicy, FailoverPolicy, SoftwareChainSigner
from ledger.deploy import deploy_contracts
from ledger.did_ethr import EthrDidController, EthrDidDriver
from ledger.node import dev_account_keys
from ledger.poa import Network
from ssi.did import default_resolver
from ssi.keys import PrivateKey

pytestmark = pytest.mark.slow


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    network = Network(tmp_path / "net", validators=3, period=1, base_port=0).start()
    yield network
    network.stop()


def test_deploy_publish_and_resolve_a_did_ethr(network: Network) -> None:
    client = ChainClient.connect(
        network.urls,
        policy=ClientPolicy(receipt_timeout=60, poll_interval=0.2),
        failover=FailoverPolicy(attempt_timeout=1, request_budget=3),
    )
    assert client.finality_confirmations() == 2  # 3 signers: 2·⌊2/2⌋ blocks on top
    deployer = SoftwareChainSigner.from_private_bytes(dev_account_keys()[0])
    deployment = deploy_contracts(client, deployer)
    assert deployment.chain_id == 1337
    controller_key = SoftwareChainSigner.generate()  # an unfunded key: the network is free-gas
    issuer_key = PrivateKey.generate("ES256")
    controller = EthrDidController(client, deployment.did_registry, controller_key)
    change = controller.publish_key(issuer_key.public_key)
    assert client.block_number() >= change.block_number + 2
    did = controller.did()
    assert did.startswith("did:ethr:0x539:")

    resolver = default_resolver()
    resolver.register(EthrDidDriver({1337: (client.w3, deployment.did_registry)}))
    document = resolver.resolve(did)
    published = [method for method in document.verification_method if method.id.endswith("#delegate-1")]
    assert len(published) == 1 and published[0].public_key() == issuer_key.public_key

    network.kill(0)  # the client fails over; a plain URL of another node serves the same answer
    by_url = default_resolver()
    by_url.register(EthrDidDriver({1337: (network.urls[1], deployment.did_registry)}))
    assert by_url.resolve(did) == resolver.resolve(did) == document
    client.close()
