"""The demo's ledger explorer decodes govssi's contract events from a real chain and scans them for personal data."""

from __future__ import annotations

from govssi.demo.explorer import ChainExplorer, sensitive_strings
from ledger.client import ChainClient, SoftwareChainSigner
from ledger.deploy import deploy_contracts
from ledger.did_ethr import EthrDidController
from ledger.node import LocalChain, LocalChainProvider, dev_account_keys
from ssi.keys import PrivateKey


def _dev_signer() -> SoftwareChainSigner:
    from eth_keys.datatypes import PrivateKey as EthKey

    from ssi.encoding import b64url_encode

    secret = dev_account_keys()[0]
    public = EthKey(secret).public_key.to_bytes()
    jwk = {"kty": "EC", "crv": "secp256k1", "x": b64url_encode(public[:32]), "y": b64url_encode(public[32:])}
    return SoftwareChainSigner(PrivateKey.from_jwk({**jwk, "d": b64url_encode(secret)}))


def test_explorer_decodes_did_registry_events_and_finds_no_personal_data() -> None:
    chain = LocalChain.in_memory()
    client = ChainClient(LocalChainProvider(chain))
    signer = _dev_signer()
    deployment = deploy_contracts(client, signer)
    controller = EthrDidController(client, deployment.did_registry, signer)
    issuer_key = PrivateKey.generate("ES256")
    controller.publish_key(issuer_key.public_key)
    controller.set_attribute("did/svc/CredentialIssuer", b"https://issuer.example")

    explorer = ChainExplorer(client, names={deployment.did_registry: "DID registry (ERC-1056)"})
    citizen = {"family_name": "MUSTERMANN", "given_name": "ERIKA", "address": {"street": "HEIDESTRASSE 17"}}
    snap = explorer.snapshot(sensitive=sensitive_strings([citizen]))
    assert snap.chain_id == 1337
    assert snap.head >= 3
    # newest first: the DID's two attributes, then the trusted-issuer registry's genesis member
    assert [event.event for event in snap.events] == ["DIDAttributeChanged", "DIDAttributeChanged", "MemberAdded"]
    attribute = snap.events[0]
    assert attribute.contract == "DID registry (ERC-1056)"
    shown = dict((name, value) for name, _type, value in attribute.arguments)
    assert "did/svc/CredentialIssuer" in shown["name"]
    assert snap.personal_data_hits == []
    assert snap.scanned_values == 12  # member, proposalId; twice identity, name, value, validTo, previousChange


def test_explorer_scan_reports_personal_data_written_to_chain() -> None:
    """The scan is real: an attribute carrying a citizen's name is reported."""
    chain = LocalChain.in_memory()
    client = ChainClient(LocalChainProvider(chain))
    signer = _dev_signer()
    deployment = deploy_contracts(client, signer)
    EthrDidController(client, deployment.did_registry, signer).set_attribute("did/svc/Note", b"Erika Mustermann")
    snap = ChainExplorer(client).snapshot(sensitive=["MUSTERMANN"])
    assert snap.personal_data_hits == ["DIDAttributeChanged: mustermann"]


def test_demo_pages_render_in_both_languages_and_show_the_chain() -> None:
    from fastapi.testclient import TestClient

    from govssi.demo.content import demo_identities
    from govssi.demo.web import DemoRole, TrustPicture, create_demo_app, dids_from_snapshot

    chain = LocalChain.in_memory()
    client = ChainClient(LocalChainProvider(chain))
    signer = _dev_signer()
    deployment = deploy_contracts(client, signer)
    EthrDidController(client, deployment.did_registry, signer).publish_key(PrivateKey.generate("ES256").public_key)
    app = create_demo_app(
        roles=[DemoRole("wallet", "http://127.0.0.1:8003/"), DemoRole("portal", "http://127.0.0.1:8002/portal")],
        explorer=ChainExplorer(client),
        trust=lambda snap: TrustPicture(dids=dids_from_snapshot(snap)),
        identities=demo_identities(),
        steps=lambda lang: [{"title": "PID", "text": "eID", "url": "http://127.0.0.1:8003/", "link": "wallet"}],
        sensitive=["MUSTERMANN"],
    )
    web = TestClient(app)
    german = web.get("/")
    assert german.status_code == 200
    assert '<html lang="de">' in german.text
    assert "Wallet der Bürgerin" in german.text
    assert f"did:ethr:0x539:{signer.address.lower()}" in german.text
    # the test cards with their public test secrets (wallet_sim/eid/citizens.json)
    assert "ERIKA MUSTERMANN" in german.text and "GÜL ÖZTÜRK" in german.text
    assert (
        '<td class="mono nowrap">13579</td><td class="mono nowrap">246801</td><td class="mono nowrap">1357924680</td>'
        in german.text
    )
    english = web.get("/?lang=en")
    assert '<html lang="en">' in english.text and "Citizen&#39;s wallet" in english.text
    explorer = web.get("/explorer?lang=en")
    assert "no hits" in explorer.text and "DIDAttributeChanged" in explorer.text
    assert web.get("/try").status_code == 200
    assert web.get("/static/demo.css").status_code == 200
