"""DID resolution (DID Core 1.0 §7.1) over pluggable method drivers, with a TTL cache on an injected clock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ssi.clock import FrozenClock
from ssi.did import (
    DidDocument,
    DidJwkDriver,
    DidKeyDriver,
    DidMethodDriver,
    DidResolver,
    DidWebDriver,
    default_resolver,
    did_jwk_from_public_key,
    did_key_from_public_key,
)
from ssi.errors import DidError, DidNotFound, FetchError, MethodNotSupported
from ssi.fetch import FetchResponse
from ssi.jose import sign_compact, verify_compact
from ssi.keys import PrivateKey, SoftwareSigner

ETHR_DID = "did:ethr:0x539:0xb9c5714089478a327f09197987f16f9e5d936e8a"


def _ethr_document(did: str = ETHR_DID) -> DidDocument:
    key = PrivateKey.generate("ES256K").public_key
    return DidDocument.from_json(
        {
            "id": did,
            "verificationMethod": [
                {"id": f"{did}#controller", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": key.jwk}
            ],
            "assertionMethod": [f"{did}#controller"],
        }
    )


class CountingDriver:
    """What ``ledger`` will plug in: a ``method`` name and ``resolve(did) -> DidDocument``."""

    method = "ethr"

    def __init__(self, result: DidDocument | Exception | None = None) -> None:
        self.result = result
        self.calls: list[str] = []

    def resolve(self, did: str) -> DidDocument:
        self.calls.append(did)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result or _ethr_document(did)


def test_drivers_follow_the_protocol() -> None:
    for driver in (DidKeyDriver(), DidJwkDriver(), DidWebDriver(lambda url: FetchResponse(404, b"")), CountingDriver()):
        assert isinstance(driver, DidMethodDriver)


def test_register_a_driver_like_ledger_will() -> None:
    resolver = default_resolver()
    assert resolver.methods == {"key", "jwk"}  # no fetcher: no did:web, no network
    driver = CountingDriver()
    resolver.register(driver)
    assert resolver.methods == {"key", "jwk", "ethr"}
    assert resolver.resolve(ETHR_DID).id == ETHR_DID
    assert driver.calls == [ETHR_DID]


def test_registration_rules() -> None:
    resolver = DidResolver([CountingDriver()])
    with pytest.raises(ValueError):  # one driver per method, unless replaced on purpose
        resolver.register(CountingDriver())
    replacement = CountingDriver()
    resolver.register(replacement, replace=True)
    resolver.resolve(ETHR_DID)
    assert replacement.calls == [ETHR_DID]
    for bad in ("Ethr", "", "e-thr", "did:ethr"):
        driver = CountingDriver()
        driver.method = bad
        with pytest.raises(ValueError):  # §3.1 method-name = 1*method-char (a-z, 0-9)
            resolver.register(driver)
    resolver.unregister("ethr")
    with pytest.raises(MethodNotSupported):
        resolver.resolve(ETHR_DID)


def test_default_resolver_with_fetcher_has_did_web() -> None:
    doc = {"id": "did:web:example.com"}
    resolver = default_resolver(fetcher=lambda url: FetchResponse(200, json.dumps(doc).encode()))
    assert resolver.methods == {"key", "jwk", "web"}
    assert resolver.resolve("did:web:example.com").id == "did:web:example.com"


# -- §7.1.2 errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "did", ["", "did:", "did:key", "did:Key:z6Mk", "not a did", "did:key:z6Mk#frag", "did:key:z/p"]
)
def test_7_1_2_invalid_did(did: str) -> None:
    """invalidDid: "The DID supplied to the DID resolution function does not conform to valid syntax.\""""
    with pytest.raises(DidError) as info:
        default_resolver().resolve(did)
    assert info.value.reason == "invalidDid"


def test_method_not_supported() -> None:
    with pytest.raises(MethodNotSupported) as info:
        default_resolver().resolve(ETHR_DID)
    assert info.value.reason == "methodNotSupported"
    with pytest.raises(MethodNotSupported):
        default_resolver().resolve("did:web:example.com")  # no fetcher given


def test_7_1_2_not_found_passes_through() -> None:
    resolver = DidResolver([CountingDriver(DidNotFound("no such DID"))])
    with pytest.raises(DidNotFound) as info:
        resolver.resolve(ETHR_DID)
    assert info.value.reason == "notFound"


def test_7_1_document_id_must_match_the_did() -> None:
    """§7.1: the value of id in the resolved DID document MUST match the DID that was resolved."""
    resolver = DidResolver(
        [CountingDriver(_ethr_document("did:ethr:0x539:0x0000000000000000000000000000000000000001"))]
    )
    with pytest.raises(DidError) as info:
        resolver.resolve(ETHR_DID)
    assert info.value.reason == "invalidDidDocument"


@pytest.mark.parametrize("error", [RuntimeError("rpc down"), FetchError("x", reason="timeout"), ConnectionError()])
def test_driver_failures_are_internal_errors(error: Exception) -> None:
    resolver = DidResolver([CountingDriver(error)])
    with pytest.raises(DidError) as info:
        resolver.resolve(ETHR_DID)
    assert info.value.reason == "internalError"
    assert info.value.__cause__ is error


def test_driver_returning_garbage() -> None:
    resolver = DidResolver([CountingDriver({"id": ETHR_DID})])  # type: ignore[arg-type]
    with pytest.raises(DidError) as info:
        resolver.resolve(ETHR_DID)
    assert info.value.reason == "internalError"


# -- cache --------------------------------------------------------------------------------------------------------


def test_cache_ttl_on_the_injected_clock() -> None:
    clock = FrozenClock(1_000_000)
    driver = CountingDriver()
    resolver = DidResolver([driver], cache_ttl=60, clock=clock)
    first = resolver.resolve(ETHR_DID)
    clock.advance(59.9)
    assert resolver.resolve(ETHR_DID) is first
    assert len(driver.calls) == 1
    clock.advance(0.1)  # expired at exactly ttl
    assert resolver.resolve(ETHR_DID) is not first
    assert len(driver.calls) == 2


def test_errors_are_not_cached() -> None:
    driver = CountingDriver(DidNotFound("not yet"))
    resolver = DidResolver([driver], clock=FrozenClock(0))
    for _ in range(2):
        with pytest.raises(DidNotFound):
            resolver.resolve(ETHR_DID)
    driver.result = None
    assert resolver.resolve(ETHR_DID).id == ETHR_DID
    assert len(driver.calls) == 3


def test_cache_size_is_bounded_least_recently_used_first() -> None:
    driver = CountingDriver()
    resolver = DidResolver([driver], cache_size=2, clock=FrozenClock(0))
    dids = [f"did:ethr:0x539:0x{i:040x}" for i in range(3)]
    resolver.resolve(dids[0])
    resolver.resolve(dids[1])
    resolver.resolve(dids[0])  # now the most recently used
    resolver.resolve(dids[2])  # evicts dids[1]
    resolver.resolve(dids[0])
    assert driver.calls == [dids[0], dids[1], dids[2]]
    resolver.resolve(dids[1])
    assert driver.calls[-1] == dids[1]


def test_cache_can_be_disabled_and_cleared() -> None:
    driver = CountingDriver()
    resolver = DidResolver([driver], cache_ttl=0)
    resolver.resolve(ETHR_DID)
    resolver.resolve(ETHR_DID)
    assert len(driver.calls) == 2
    resolver = DidResolver([driver], clock=FrozenClock(0))
    resolver.resolve(ETHR_DID)
    resolver.clear_cache()
    resolver.resolve(ETHR_DID)
    assert len(driver.calls) == 4
    with pytest.raises(ValueError):
        DidResolver(cache_ttl=-1)


def test_replacing_a_driver_drops_its_cached_documents() -> None:
    resolver = DidResolver([CountingDriver()], clock=FrozenClock(0))
    resolver.resolve(ETHR_DID)
    replacement = CountingDriver()
    resolver.register(replacement, replace=True)
    resolver.resolve(ETHR_DID)
    assert replacement.calls == [ETHR_DID]


# -- verification methods through the resolver --------------------------------------------------------------------


def test_public_key_by_did_url_and_relationship() -> None:
    key = PrivateKey.generate("EdDSA").public_key
    did = did_key_from_public_key(key)
    kid = f"{did}#{did.removeprefix('did:key:')}"
    resolver = default_resolver()
    assert resolver.public_key(kid, "assertionMethod") == key
    assert resolver.find_verification_method(kid).controller == did
    with pytest.raises(DidError) as info:
        resolver.public_key(kid, "keyAgreement")  # did:key documents have no keyAgreement here
    assert info.value.reason == "invalidVerificationRelationship"
    with pytest.raises(DidError) as info:
        resolver.public_key(did)  # a DID is not a verification method URL
    assert info.value.reason == "invalidDidUrl"
    with pytest.raises(DidNotFound):
        resolver.public_key(f"{did}#other")


def test_key_resolver_for_jws_verification() -> None:
    """The ``kid`` of a JWS is a DID URL; the key must be an assertionMethod of the expected DID."""
    private = PrivateKey.generate("ES256")
    did = did_jwk_from_public_key(private.public_key)
    token = sign_compact(b"payload", SoftwareSigner(private, kid=f"{did}#0"))
    resolver = default_resolver()
    verified = verify_compact(token, resolver.key_resolver("assertionMethod", did=did), ["ES256"])
    assert verified.payload == b"payload"

    other = did_jwk_from_public_key(PrivateKey.generate("ES256").public_key)
    with pytest.raises(DidError) as info:  # a key from somebody else's DID document
        verify_compact(token, resolver.key_resolver("assertionMethod", did=other), ["ES256"])
    assert info.value.reason == "invalidDidUrl"
    no_kid = sign_compact(b"payload", SoftwareSigner(private))
    with pytest.raises(DidError):
        verify_compact(no_kid, resolver.key_resolver(), ["ES256"])


def test_resolved_documents_serialize_as_did_json() -> None:
    key = PrivateKey.generate("ES256").public_key
    doc: Any = default_resolver().resolve(did_key_from_public_key(key)).to_json()
    assert doc["verificationMethod"][0]["type"] == "Multikey"
