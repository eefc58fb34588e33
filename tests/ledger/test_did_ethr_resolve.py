"""did:ethr resolution against the local chain (in-process): the registry's events read by the walk of the did:ethr
spec ("Enumerating Contract Events"), documents and metadata, versions, deactivation, networks, errors; and the
driver registered into ``ssi.did.DidResolver``."""

from __future__ import annotations

import math
from typing import Any

import pytest
from did_ethr_support import CHAIN_ID, EthrTestChain, account, chain_key, did_of
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

import ledger.did_ethr._registry as registry_module
from ledger.did_ethr import (
    DelegateChanged,
    EthrDidDriver,
    OwnerChanged,
    attribute_key,
    ethr_did,
    identity_history,
    key_attribute,
    multikey_attribute,
)
from ledger.did_ethr._driver import iso_time
from ledger.did_ethr._events import ATTRIBUTE_CHANGED, DELEGATE_CHANGED, OWNER_CHANGED
from ledger.node import LocalChain
from ssi.did import DidResolver, default_resolver
from ssi.errors import ChainError, DidError, DidNotFound, ExecutionReverted
from ssi.jose import decode_jwt, encode_jwt
from ssi.keys import PrivateKey, SoftwareSigner


@pytest.fixture
def t() -> EthrTestChain:
    return EthrTestChain.create()


def _reason(action: Any) -> str:
    with pytest.raises(DidError) as info:
        action()
    return info.value.reason


# -- documents from the chain ------------------------------------------------------------------------------------------


def test_every_document_feature_from_registry_events(t: EthrTestChain) -> None:
    """Keys of every known type, delegates, services, revocations and expiry, read from the chain's events."""
    ctl = t.controller("issuer")
    did = did_of(ctl)
    p256 = PrivateKey.generate("ES256").public_key
    ed25519 = PrivateKey.generate("EdDSA").public_key
    secp256k1 = PrivateKey.generate("ES256K").public_key
    ctl.publish_key(p256)  # delegate-1, Multikey (P-256)
    ctl.publish_key(ed25519, purpose="sigAuth")  # delegate-2
    ctl.publish_key(secp256k1)  # delegate-3
    ctl.set_attribute("did/pub/X25519/enc", bytes(range(32)))  # delegate-4
    ctl.set_attribute(*multikey_attribute(b"\xeb\x01", bytes(96)))  # delegate-5, BLS12-381 G2
    ctl.add_delegate("veriKey", account("d1").address)  # delegate-6
    ctl.add_delegate("sigAuth", account("d2").address, 100)  # delegate-7, expires in 100 s
    ctl.set_attribute("did/svc/LinkedDomains", b"https://issuer.example")  # service-1
    ctl.set_attribute("did/svc/Old", b"https://old.example")  # service-2
    ctl.revoke_attribute("did/svc/Old", b"https://old.example")
    ctl.revoke_delegate("veriKey", account("d1").address)  # delegate-8
    driver = t.driver()
    # revokeDelegate sets validTo to the block time and "validTo [...] greater or equal to the current time" is
    # included: in the very second of the revocation the delegate is still (again) listed, as ethr-did-resolver does
    assert "delegate-8" in str(driver.resolve(did).to_json())
    t.advance(1)
    document = driver.resolve(did)
    assert [vm.id.split("#")[1] for vm in document.verification_method] == [
        "controller",
        "delegate-1",
        "delegate-2",
        "delegate-3",
        "delegate-4",
        "delegate-5",
        "delegate-7",
    ]
    assert document.public_key("#delegate-1", "assertionMethod") == p256
    assert document.public_key("#delegate-2", "authentication") == ed25519
    assert document.public_key("#delegate-3", "assertionMethod") == secp256k1
    assert [vm.id for vm in document.verification_methods("keyAgreement")] == [f"{did}#delegate-4"]
    assert document.find_verification_method("#delegate-5").type == "Multikey"
    assert document.find_verification_method("#delegate-7", "authentication").properties == {
        "blockchainAccountId": f"eip155:{CHAIN_ID}:{to_checksum_address(account('d2').address)}"
    }
    assert [(s.id.split("#")[1], s.type) for s in document.service] == [("service-1", "LinkedDomains")]
    t.advance(200)  # the sigAuth delegate's validTo passes
    assert "delegate-7" not in str(driver.resolve(did).to_json())


def test_metadata_version_and_update_times(t: EthrTestChain) -> None:
    """ "DID Document Metadata": versionId = block of the latest update, updated = its block time (ISO, seconds)."""
    ctl = t.controller("issuer")
    did = did_of(ctl)
    driver = t.driver()
    assert driver.resolve_result(did, {}).document_metadata == {}
    block = ctl.set_attribute("did/svc/Hub", b"https://hub.example").block_number
    result = driver.resolve_result(did, {})
    assert result.document_metadata == {"versionId": str(block), "updated": iso_time(t.timestamp(block))}
    assert result.resolution_metadata == {"contentType": "application/did+ld+json"}
    assert iso_time(1_700_000_000) == "2023-11-14T22:13:20Z"


def test_owner_change_and_its_authority(t: EthrTestChain) -> None:
    """ERC-1056: only the owner changes an identity; after changeOwner the new owner does."""
    ctl = t.controller("issuer")
    did = did_of(ctl)
    new_owner = account("new owner")
    ctl.change_owner(new_owner.address)
    with pytest.raises(ExecutionReverted):
        ctl.set_attribute("did/svc/Hub", b"https://hub.example")
    t.controller("new owner", identity=ctl.identity).set_attribute("did/svc/Hub", b"https://hub.example")
    document = t.driver().resolve(did)
    assert document.verification_method[0].properties["blockchainAccountId"].endswith(new_owner.address)
    assert len(document.service) == 1


def test_public_key_did(t: EthrTestChain) -> None:
    """A public-key DID resolves through its address; #controllerKey verifies like the key."""
    key = chain_key("pubkey")
    did = ethr_did(key.public_key, CHAIN_ID)
    t.controller("pubkey").add_delegate("veriKey", account("d").address)
    document = t.driver().resolve(did)
    assert document.public_key("#controllerKey", "assertionMethod") == key.public_key
    assert document.find_verification_method("#delegate-1").type == "EcdsaSecp256k1RecoveryMethod2020"


def test_deactivation(t: EthrTestChain) -> None:
    """ "Delete (Revoke)": owner 0x0 — deactivated metadata, an empty document, and no change is possible after."""
    ctl = t.controller("issuer")
    did = did_of(ctl)
    ctl.publish_key(PrivateKey.generate("ES256").public_key)
    block = ctl.deactivate().block_number
    result = t.driver().resolve_result(did, {})
    assert result.deactivated and result.document_metadata["versionId"] == str(block)
    assert result.to_json()["didDocument"] == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/secp256k1recovery-2020/v2"],
        "id": did,
    }
    with pytest.raises(DidNotFound):
        result.document.find_verification_method("#delegate-1")
    with pytest.raises(ExecutionReverted):
        ctl.set_attribute("did/svc/Hub", b"https://hub.example")
    before = t.driver().resolve_result(f"{did}", {"versionId": str(block - 1)})
    assert not before.deactivated and before.document_metadata["nextVersionId"] == str(block)


# -- versions ----------------------------------------------------------------------------------------------------------


def test_version_id_and_version_time(t: EthrTestChain) -> None:
    """DID Core §3.2.1 versionId (a block) and versionTime (a time): the document as it was then."""
    ctl = t.controller("issuer")
    did = did_of(ctl)
    key_a = PrivateKey.generate("ES256").public_key
    key_b = PrivateKey.generate("ES256").public_key
    block_a = ctl.publish_key(key_a).block_number
    t.advance(100)
    block_b = ctl.publish_key(key_b).block_number
    t.advance(100)
    block_revoke = ctl.revoke_key(key_a).block_number
    driver = t.driver()
    resolver = default_resolver()
    resolver.register(driver)

    def keys(result: Any) -> list[str]:
        return [vm.id.split("#")[1] for vm in result.document.verification_method]

    at_b = resolver.resolve_result(f"{did}?versionId={block_b}")
    assert keys(at_b) == ["controller", "delegate-1", "delegate-2"]
    assert at_b.document_metadata == {
        "versionId": str(block_b),
        "updated": iso_time(t.timestamp(block_b)),
        "nextVersionId": str(block_revoke),
        "nextUpdate": iso_time(t.timestamp(block_revoke)),
    }
    assert keys(resolver.resolve_result(f"{did}?versionId={block_a}")) == ["controller", "delegate-1"]
    assert keys(resolver.resolve_result(f"{did}?versionId={block_a - 1}")) == ["controller"]
    assert keys(resolver.resolve_result(did)) == ["controller", "delegate-2"]
    # versionTime: Unix seconds or an XML Schema dateTime in UTC; the same version as the block at that time
    time_b = t.timestamp(block_b)
    for value in (str(time_b + 50), iso_time(time_b + 50)):
        result = resolver.resolve_result(f"{did}?versionTime={value}")
        assert keys(result) == ["controller", "delegate-1", "delegate-2"]
        assert result.document_metadata["versionId"] == str(block_b)
    assert keys(driver.resolve_at(did, time=time_b - 1)) == ["controller", "delegate-1"]
    assert keys(driver.resolve_at(did, block=block_revoke)) == ["controller", "delegate-2"]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("versionId=1&versionTime=1", "invalidOptions"),
        ("versionId=latest", "invalidDidUrl"),
        ("versionId=-1", "invalidDidUrl"),
        ("versionId=0x10", "invalidDidUrl"),
        ("versionTime=yesterday", "invalidDidUrl"),
        ("versionTime=2025-02-30T00:00:00Z", "invalidDidUrl"),
        ("versionTime=2025-01-01T00:00:00+01:00", "invalidDidUrl"),
        ("hl=zQm", "invalidDidUrl"),
        ("versionId=1&versionId=2", "invalidDidUrl"),
        ("versionId=999999", "notFound"),
    ],
)
def test_malformed_version_parameters(t: EthrTestChain, query: str, reason: str) -> None:
    """Malformed or conflicting DID parameters are errors (ethr-did-resolver would answer with the latest version)."""
    resolver = DidResolver([t.driver()])
    did = did_of(t.controller("issuer"))
    assert _reason(lambda: resolver.resolve_result(f"{did}?{query}")) == reason


def test_version_zero_is_the_empty_history(t: EthrTestChain) -> None:
    ctl = t.controller("issuer")
    block = ctl.set_attribute("did/svc/Hub", b"https://hub.example").block_number
    result = t.driver().resolve_result(did_of(ctl), {"versionId": "0"})
    assert not result.document.service and result.document_metadata["nextVersionId"] == str(block)


# -- ssi.did integration -----------------------------------------------------------------------------------------------


def test_registered_driver_verifies_signatures(t: EthrTestChain) -> None:
    """``DidResolver.register`` plugs the driver in; ``key_resolver`` finds published keys by kid, per relationship."""
    ctl = t.controller("issuer")
    did = did_of(ctl)
    keys = {alg: PrivateKey.generate(alg) for alg in ("ES256", "EdDSA", "ES256K")}
    for alg, key in keys.items():
        ctl.publish_key(key.public_key, purpose="sigAuth" if alg == "EdDSA" else "veriKey")
    resolver = default_resolver()
    resolver.register(t.driver())
    assert "ethr" in resolver.methods
    for index, (alg, key) in enumerate(keys.items(), start=1):
        token = encode_jwt({"iss": did}, SoftwareSigner(key, kid=f"{did}#delegate-{index}"), typ="JWT")
        verified = decode_jwt(token, resolver.key_resolver("assertionMethod", did=did), [alg])
        assert verified.key == key.public_key
    with pytest.raises(DidError) as info:
        resolver.public_key(f"{did}#delegate-1", "authentication")
    assert info.value.reason == "invalidVerificationRelationship"


def test_resolver_does_not_add_its_ttl_cache(t: EthrTestChain) -> None:
    """The driver invalidates its own cache on registry events, so ``DidResolver`` must not keep a stale copy."""
    ctl = t.controller("issuer")
    resolver = DidResolver([t.driver()], cache_ttl=3600)
    assert not resolver.resolve(did_of(ctl)).service
    ctl.set_attribute("did/svc/Hub", b"https://hub.example")
    assert resolver.resolve(did_of(ctl)).service


# -- networks and errors -----------------------------------------------------------------------------------------------


def test_unknown_network(t: EthrTestChain) -> None:
    """A network the driver has no configuration for: internalError, the code ethr-did-resolver reports."""
    driver = t.driver()
    address = account("x").address.lower()
    for did in (f"did:ethr:0x1:{address}", f"did:ethr:{address}", f"did:ethr:0x0539:{address}"):
        assert _reason(lambda did=did: driver.resolve(did)) == "internalError"


def test_mainnet_and_network_names() -> None:
    """Chain 1 is also ``mainnet`` and the network of DIDs without one; other names can be configured."""
    chain = LocalChain.in_memory(1)
    from node_support import deploy_registry
    from web3 import Web3

    from ledger.node import LocalChainProvider

    registry = str(to_checksum_address(deploy_registry(chain)))
    w3 = Web3(LocalChainProvider(chain))
    driver = EthrDidDriver({1: (w3, registry)}, names={"govnet": 1})
    address = account("x").address.lower()
    ids = {driver.resolve(did).id for did in (f"did:ethr:{address}", f"did:ethr:mainnet:{address}")}
    assert len(ids) == 2  # the same identity, but distinct DIDs (ids are the DIDs as given)
    document = driver.resolve(f"did:ethr:govnet:{address}")
    assert document.verification_method[0].properties["blockchainAccountId"].startswith("eip155:1:")
    with pytest.raises(ValueError, match="not configured"):
        EthrDidDriver({1: (w3, registry)}, names={"other": 5})
    with pytest.raises(ValueError, match="twice"):
        EthrDidDriver({1: (w3, registry)}, names={"0x1": 1})
    with pytest.raises(ValueError, match="not an address"):
        EthrDidDriver({1: (w3, "registry")})
    with pytest.raises(ValueError):
        EthrDidDriver({})


def test_chain_id_mismatch(t: EthrTestChain) -> None:
    """The node must serve the chain the DID names; a driver configured for chain 5 on chain 1337 refuses."""
    driver = EthrDidDriver({5: (t.w3, t.registry)})
    with pytest.raises(ChainError) as info:
        driver.resolve("did:ethr:0x5:" + account("x").address.lower())
    assert info.value.reason == "chain_id_mismatch"
    resolver = DidResolver([driver])
    assert _reason(lambda: resolver.resolve("did:ethr:0x5:" + account("x").address.lower())) == "internalError"


def test_registry_address_without_the_registry(t: EthrTestChain) -> None:
    driver = EthrDidDriver({CHAIN_ID: (t.w3, account("not a contract").address)})
    with pytest.raises(ChainError):
        driver.resolve(ethr_did(account("x").address, CHAIN_ID))


def test_no_node_is_an_error_not_a_hang() -> None:
    """An unreachable node: ``ChainUnavailable``, reported by ``DidResolver`` as internalError."""
    driver = EthrDidDriver({CHAIN_ID: ("http://127.0.0.1:9", account("r").address)}, timeout=2)
    resolver = DidResolver([driver])
    with pytest.raises(DidError) as info:
        resolver.resolve(ethr_did(account("x").address, CHAIN_ID))
    assert info.value.reason == "internalError" and "no chain node answered" in info.value.description


def test_history_length_is_bounded(t: EthrTestChain, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spec, "Amplification": "Resolvers MAY impose upper bounds on the number of events processed"."""
    ctl = t.controller("issuer")
    for index in range(3):
        ctl.set_attribute("did/svc/Hub", f"https://hub{index}.example".encode())
    monkeypatch.setattr(registry_module, "MAX_HISTORY_EVENTS", 2)
    with pytest.raises(ChainError) as info:
        t.driver().resolve(did_of(ctl))
    assert info.value.reason == "history_too_long"


def test_controller_input_checks(t: EthrTestChain) -> None:
    ctl = t.controller("issuer")
    with pytest.raises(ValueError):
        ctl.set_attribute("did/pub/Ed25519/veriKey/base64/too/long", b"x")  # > 32 bytes
    with pytest.raises(ValueError):
        ctl.set_attribute("did/svc/Hub", b"x", -1)
    with pytest.raises(ValueError):
        key_attribute(PrivateKey.generate("ES256").public_key, "authentication")
    assert ctl.did() == did_of(ctl)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "ES256K"])
def test_attribute_key_inverts_key_attribute(alg: str) -> None:
    """``attribute_key`` reads back the key of every ``did/pub`` attribute govssi writes, for every purpose, and a
    secp256k1 key published uncompressed as well; attributes that are no signing key give ``None``."""
    key = PrivateKey.generate(alg).public_key
    for purpose in ("veriKey", "sigAuth", "enc"):
        assert attribute_key(*key_attribute(key, purpose)) == key
    if alg == "ES256K":
        assert attribute_key("did/pub/Secp256k1/veriKey/hex", key.raw_bytes(compressed=False)) == key


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("did/pub/X25519/enc", bytes(32)),
        ("did/pub/Multikey/veriKey", b"\xeb\x01" + bytes(96)),  # BLS12-381 G2: no JWK form
        ("did/pub/Secp256k1/veriKey", b"\x02" + bytes(32)),  # not on the curve
        ("did/pub/Ed25519/veriKey", b"short"),
        ("did/svc/HubService", b"https://hub.example"),
        ("did/compromised/jkt", bytes(32)),
    ],
)
def test_attribute_key_of_other_attributes(name: str, value: bytes) -> None:
    assert attribute_key(name, value) is None


# -- the history walk, log by log --------------------------------------------------------------------------------------

IDENTITY = to_checksum_address("0x" + "11" * 20)


def _log(topic: bytes, block: int, index: int, types: list[str], values: list[Any]) -> dict[str, Any]:
    return {
        "topics": [topic, bytes(12) + bytes.fromhex(IDENTITY[2:])],
        "data": abi_encode(types, values),
        "blockNumber": block,
        "logIndex": index,
    }


class FakeReader:
    """Logs per block, as a node would return them for the identity."""

    def __init__(self, changed: int, logs: dict[int, list[dict[str, Any]]]) -> None:
        self._changed = changed
        self.logs = logs
        self.asked: list[int] = []

    def changed(self, identity: str, block: int) -> int:
        return self._changed

    def identity_logs(self, identity: str, block: int) -> list[dict[str, Any]]:
        self.asked.append(block)
        return self.logs.get(block, [])


def test_walk_reads_each_block_once_in_log_order() -> None:
    """Spec steps 1-4: ``changed`` → the block's logs → ``previousChange``; several changes in one block are read
    once, ordered by log index; the smallest earlier ``previousChange`` is followed; a ``bytes32`` that is not UTF-8
    is no DID event but its link still counts; logs of other events are ignored."""
    delegate_types = ["bytes32", "address", "uint256", "uint256"]
    owner = to_checksum_address("0x" + "22" * 20)
    reader = FakeReader(
        9,
        {
            9: [
                _log(DELEGATE_CHANGED, 9, 1, delegate_types, [b"sigAuth", owner, 10**10, 9]),  # points to itself
                _log(OWNER_CHANGED, 9, 0, ["address", "uint256"], [owner, 7]),
                _log(keccak(b"Other(address)"), 9, 2, ["uint256"], [1]),
            ],
            7: [_log(ATTRIBUTE_CHANGED, 7, 0, ["bytes32", "bytes", "uint256", "uint256"], [b"\xff" * 32, b"", 0, 3])],
            3: [_log(DELEGATE_CHANGED, 3, 0, delegate_types, [b"veriKey", owner, 10**10, 0])],
        },
    )
    history = identity_history(reader, IDENTITY, 10, lambda block: 1_000 + block)  # type: ignore[arg-type]
    assert reader.asked == [9, 7, 3]
    assert [(type(e).__name__, e.block_number, e.log_index) for e in history] == [
        ("DelegateChanged", 3, 0),
        ("OwnerChanged", 9, 0),
        ("DelegateChanged", 9, 1),
    ]
    assert isinstance(history[1], OwnerChanged) and history[1].owner == owner
    assert isinstance(history[0], DelegateChanged) and history[0].block_timestamp == 1_003


def test_walk_refuses_missing_logs() -> None:
    """A block the history points to without logs for the identity: the node lacks history, an error."""
    reader = FakeReader(5, {})
    with pytest.raises(ChainError) as info:
        identity_history(reader, IDENTITY, 10, lambda block: 0)  # type: ignore[arg-type]
    assert info.value.reason == "missing_logs"
    with pytest.raises(ChainError):
        identity_history(FakeReader(50, {}), IDENTITY, 10, lambda block: 0)  # type: ignore[arg-type]


def test_malformed_logs_are_errors() -> None:
    bad = FakeReader(5, {5: [{**_log(OWNER_CHANGED, 5, 0, ["uint256"], [1]), "data": b"\x00"}]})
    with pytest.raises(ChainError) as info:
        identity_history(bad, IDENTITY, 10, lambda block: 0)  # type: ignore[arg-type]
    assert info.value.reason == "malformed_log"
    assert math.isfinite(float(CHAIN_ID))
