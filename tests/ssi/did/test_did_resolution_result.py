"""DID resolution with metadata (DID Core 1.0 §7.1 "resolve(did, resolutionOptions) → « didResolutionMetadata,
didDocument, didDocumentMetadata »") and DID parameters (§3.2.1), added to ``DidResolver`` without changing
``resolve``; and the suite-specific verification method types the did:ethr spec produces (§5.2)."""

from __future__ import annotations

from collections.abc import Mapping

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.clock import FrozenClock
from ssi.did import (
    DidDocument,
    DidKeyDriver,
    DidResolutionDriver,
    DidResolver,
    ResolutionResult,
    did_key_from_public_key,
    did_parameters,
)
from ssi.errors import DidError
from ssi.keys import PrivateKey

DID = "did:example:123"


def _document(did: str = DID) -> DidDocument:
    return DidDocument.from_json({"id": did})


class VersionedDriver:
    """A driver with metadata and DID parameters (like did:ethr)."""

    method = "example"

    def __init__(self, *, own_cache: bool = False, result: object = None) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.result = result
        if own_cache:
            self.manages_own_cache = True

    def resolve(self, did: str) -> DidDocument:
        return self.resolve_result(did, {}).document

    def resolve_result(self, did: str, parameters: Mapping[str, str]) -> ResolutionResult:
        self.calls.append((did, dict(parameters)))
        if self.result is not None:
            return self.result  # type: ignore[return-value]
        return ResolutionResult(_document(did), {"versionId": parameters.get("versionId", "latest")})


def _reason(action: object) -> str:
    with pytest.raises(DidError) as info:
        action()  # type: ignore[operator]
    return info.value.reason


def test_plain_drivers_give_a_result_with_empty_metadata() -> None:
    """Every existing driver keeps working: its document, with empty metadata."""
    resolver = DidResolver([DidKeyDriver()])
    did = did_key_from_public_key(PrivateKey.generate("ES256").public_key)
    result = resolver.resolve_result(did)
    assert result.document == resolver.resolve(did)
    assert (result.document_metadata, result.resolution_metadata, result.deactivated) == ({}, {}, False)
    assert _reason(lambda: resolver.resolve_result(f"{did}?versionId=1")) == "invalidDidUrl"


def test_parameters_reach_drivers_that_take_them() -> None:
    driver = VersionedDriver()
    assert isinstance(driver, DidResolutionDriver)
    resolver = DidResolver([driver])
    result = resolver.resolve_result(f"{DID}?versionId=7&versionTime=2025-01-01T00%3A00%3A00Z")
    assert driver.calls[-1] == (DID, {"versionId": "7", "versionTime": "2025-01-01T00:00:00Z"})
    assert result.document_metadata == {"versionId": "7"}
    assert resolver.resolve(DID).id == DID


@pytest.mark.parametrize("url", [f"{DID}#key-1", f"{DID}/path", f"{DID}?versionId=1#key-1"])
def test_only_dids_with_parameters_are_resolved(url: str) -> None:
    """§7.2: a path or fragment is dereferenced, not resolved."""
    assert _reason(lambda: DidResolver([VersionedDriver()]).resolve_result(url)) == "invalidDidUrl"


def test_results_are_cached_unless_the_driver_manages_its_own_cache() -> None:
    clock = FrozenClock(0)
    cached = VersionedDriver()
    resolver = DidResolver([cached], clock=clock)
    assert resolver.resolve_result(DID) is resolver.resolve_result(DID)
    assert resolver.resolve(DID) is resolver.resolve_result(DID).document
    resolver.resolve_result(f"{DID}?versionId=1")
    resolver.resolve_result(f"{DID}?versionId=1")
    assert len(cached.calls) == 3  # one latest, two versions: results with parameters are not cached
    own = VersionedDriver(own_cache=True)
    resolver = DidResolver([own], clock=clock)
    resolver.resolve(DID)
    resolver.resolve(DID)
    assert len(own.calls) == 2


def test_driver_results_are_checked() -> None:
    """§7.1: "the value of id in the resolved DID document MUST match the DID that was resolved"."""
    wrong = DidResolver([VersionedDriver(result=ResolutionResult(_document("did:example:other")))])
    assert _reason(lambda: wrong.resolve_result(DID)) == "invalidDidDocument"
    garbage = DidResolver([VersionedDriver(result={"id": DID})])
    assert _reason(lambda: garbage.resolve_result(DID)) == "internalError"


def test_result_json_and_deactivation() -> None:
    """§7.1.3 deactivated: "DID document metadata MUST include this property with the boolean value true"."""
    result = ResolutionResult(_document(), {"deactivated": True}, {"contentType": "application/did+ld+json"})
    assert result.deactivated
    assert result.to_json() == {
        "didDocument": {"id": DID},
        "didDocumentMetadata": {"deactivated": True},
        "didResolutionMetadata": {"contentType": "application/did+ld+json"},
    }
    assert not ResolutionResult(_document(), {"deactivated": "true"}).deactivated


def test_did_parameters() -> None:
    """§3.2.1: name=value pairs; a parameter given twice is refused."""
    assert did_parameters(None) == did_parameters("") == {}
    assert did_parameters("a=1&b=&c=%2F") == {"a": "1", "b": "", "c": "/"}
    for query in ("a=1&a=2", "a", "a=1&&b=2"):
        assert _reason(lambda query=query: did_parameters(query)) == "invalidDidUrl"


@settings(max_examples=200)
@given(st.text(max_size=60))
def test_arbitrary_queries_raise_only_did_errors(query: str) -> None:
    try:
        parameters = did_parameters(query)
    except DidError:
        return
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in parameters.items())


# -- suite-specific verification method types (did:ethr "Known Key Types") ---------------------------------------------


def _method(vm_type: str, **material: object) -> DidDocument:
    return DidDocument.from_json(
        {"id": DID, "verificationMethod": [{"id": f"{DID}#k", "type": vm_type, "controller": DID, **material}]}
    )


def test_ed25519_2020_and_secp256k1_2019_keys() -> None:
    ed25519 = PrivateKey.generate("EdDSA").public_key
    secp256k1 = PrivateKey.generate("ES256K").public_key
    multibase = "z" + base58.b58encode(b"\xed\x01" + ed25519.raw_bytes()).decode()
    assert _method("Ed25519VerificationKey2020", publicKeyMultibase=multibase).public_key("#k") == ed25519
    assert _method("EcdsaSecp256k1VerificationKey2019", publicKeyJwk=secp256k1.jwk).public_key("#k") == secp256k1


def test_suite_types_fix_the_algorithm() -> None:
    """A suite-specific type names one algorithm: another key under its name is refused (no algorithm confusion)."""
    p256 = PrivateKey.generate("ES256").public_key
    multibase = "z" + base58.b58encode(b"\x80\x24" + p256.raw_bytes()).decode()
    for document in (
        _method("Ed25519VerificationKey2020", publicKeyMultibase=multibase),
        _method("EcdsaSecp256k1VerificationKey2019", publicKeyJwk=p256.jwk),
    ):
        assert _reason(lambda document=document: document.public_key("#k")) == "invalidPublicKey"
    assert _reason(lambda: _method("Ed25519VerificationKey2020").public_key("#k")) == "unsupportedPublicKeyType"
