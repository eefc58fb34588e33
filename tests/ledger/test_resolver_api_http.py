"""``GET /1.0/identifiers/{did}`` end to end over real HTTP (W3C DID Resolution v1.0 CR §12.1 "HTTP(S) Binding"):
uvicorn on 127.0.0.1 in front of :func:`ledger.resolver_api.resolver_app`, a did:ethr written in this module through
``ledger.client`` to a local chain node served over JSON-RPC, plus did:key and did:jwk. Every status code of the
§12.1 table, Accept negotiation, URL-encoded DIDs and DID parameters; arbitrary paths and Accept values never give a
500 (hypothesis)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from resolver_support import EthrIdentity, Reply, deploy_registry, dev_signer, http_get, served

from ledger.client import ChainClient, SoftwareChainSigner
from ledger.did_ethr import EthrDidDriver
from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer, serve
from ledger.resolver_api import DID_RESOLUTION, DID_RESOLUTION_LD, resolver_app
from ssi.did import (
    DidDocument,
    DidJwkDriver,
    DidKeyDriver,
    DidResolver,
    default_resolver,
    did_jwk_from_public_key,
    did_key_from_public_key,
)
from ssi.errors import ChainUnavailable
from ssi.keys import PrivateKey

CHAIN_ID = 1337
SECRET = "/etc/govssi/secret-config at http://10.1.2.3:8545"


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


class FailingDriver:
    """A driver with a bug: its exception message must not reach the client."""

    method = "broken"

    def resolve(self, did: str) -> DidDocument:
        raise RuntimeError(f"cannot open {SECRET}")


class ChainDownDriver:
    method = "down"

    def resolve(self, did: str) -> DidDocument:
        raise ChainUnavailable(f"no chain node answered at {SECRET}")


class WrongIdDriver:
    method = "wrongid"

    def resolve(self, did: str) -> DidDocument:
        return DidDocument.from_json({"id": "did:wrongid:somebody-else"})


class RecordingDriver:
    """Answers with a document without ``@context`` and records the DIDs it was asked for."""

    method = "rec"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def resolve(self, did: str) -> DidDocument:
        self.seen.append(did)
        return DidDocument.from_json({"id": did})


@dataclass
class World:
    node: RpcServer
    registry: str
    issuer: EthrIdentity
    retired: EthrIdentity
    keys: dict[str, PrivateKey]
    driver: EthrDidDriver
    recorder: RecordingDriver
    url: str


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    node = serve(JsonRpcHandler(EthereumApi(LocalChain.in_memory(CHAIN_ID))))
    client = ChainClient.connect(node.url)
    registry = deploy_registry(client, dev_signer(0))
    keys = {alg: PrivateKey.generate(alg) for alg in ("ES256", "EdDSA", "ES256K")}
    issuer = EthrIdentity(client, registry, dev_signer(1))
    for key in keys.values():  # three keys, a delegate, a service, one rotation
        issuer.publish_key(key.public_key)
    issuer.add_delegate(SoftwareChainSigner.generate().address)
    issuer.add_service("LinkedDomains", "https://pid-issuer.example.de")
    issuer.revoke_key(keys["ES256"].public_key)
    retired = EthrIdentity(client, registry, dev_signer(2))
    retired.publish_key(PrivateKey.generate("ES256").public_key)
    retired.deactivate()
    address = str(registry.address)
    # chain 1 (did:ethr:0x1:… / mainnet) points at a node that does not exist: an internal error
    driver = EthrDidDriver({CHAIN_ID: (node.url, address), 1: (_dead_url(), address)})
    recorder = RecordingDriver()
    resolver = default_resolver()
    for extra in (driver, FailingDriver(), ChainDownDriver(), WrongIdDriver(), recorder):
        resolver.register(extra)
    with served(resolver_app(resolver)) as url:
        yield World(node, address, issuer, retired, keys, driver, recorder, url)
    client.close()
    node.stop()


def _get(world: World, path: str, accept: str | None = None) -> Reply:
    headers = {"Accept": accept} if accept is not None else {}
    return http_get(world.url, f"/1.0/identifiers/{path}", headers)


def _error(response: Reply) -> dict[str, Any]:
    """An error answer is a DID resolution result with an RFC 9457 error object (§11) and no document."""
    assert response.headers["content-type"] in (DID_RESOLUTION, DID_RESOLUTION_LD)
    body = response.json()
    assert body["didDocument"] is None
    error: dict[str, Any] = body["didResolutionMetadata"]["error"]
    assert set(error) == {"type", "title", "detail"}
    assert error["type"].startswith("https://www.w3.org/ns/did#")
    assert "Traceback" not in response.text
    return error


# -- did:ethr -------------------------------------------------------------------------------------------------------


def test_did_ethr_resolution_result(world: World) -> None:
    """§12.1: Accept application/did-resolution → "The HTTP body MUST contain a DID resolution result"."""
    did = world.issuer.did
    response = _get(world, did, DID_RESOLUTION)
    assert response.status_code == 200
    assert response.headers["content-type"] == DID_RESOLUTION
    assert response.headers["vary"] == "Accept"
    body = response.json()
    expected = world.driver.resolve_result(did, {})
    assert body["didDocument"] == expected.document.to_json()
    assert body["didDocumentMetadata"] == expected.document_metadata
    assert body["didResolutionMetadata"] == {"contentType": "application/did+ld+json"}
    assert body["didDocumentMetadata"]["versionId"] == str(world.issuer.blocks[-1])
    document = body["didDocument"]
    assert document["id"] == did
    assert len(document["verificationMethod"]) == 4  # controller, Ed25519, secp256k1, the delegate (P-256 rotated)
    assert document["service"][0]["serviceEndpoint"] == "https://pid-issuer.example.de"


def test_default_representation_is_the_resolution_result(world: World) -> None:
    """No Accept, or ``*/*``: the full result (as the DIF Universal Resolver answers)."""
    for accept in (None, "*/*", "application/*"):
        response = _get(world, world.issuer.did, accept)
        assert response.status_code == 200
        assert response.headers["content-type"] == DID_RESOLUTION
        assert set(response.json()) == {"didDocument", "didDocumentMetadata", "didResolutionMetadata"}


def test_legacy_resolution_media_type(world: World) -> None:
    """``application/ld+json;profile="https://w3id.org/did-resolution"`` (earlier drafts, DIF): the result, named so."""
    response = _get(world, world.issuer.did, DID_RESOLUTION_LD)
    assert response.status_code == 200
    assert response.headers["content-type"] == DID_RESOLUTION_LD
    assert response.json()["didDocument"]["id"] == world.issuer.did


@pytest.mark.parametrize("media_type", ["application/did+json", "application/did+ld+json", "application/did"])
def test_bare_document_for_a_document_media_type(world: World, media_type: str) -> None:
    """§12.1: Accept = the accept resolution option → "only the didDocument"; Content-Type "MUST be the value of
    the contentType metadata property"."""
    response = _get(world, world.issuer.did, media_type)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.json() == world.driver.resolve(world.issuer.did).to_json()


def test_accept_weights_choose_the_representation(world: World) -> None:
    """RFC 9110 §12.5.1: the highest weight wins; ``q=0`` means "not acceptable"."""
    accept = "application/did-resolution;q=0.2, application/did+json;q=0.9"
    assert _get(world, world.issuer.did, accept).headers["content-type"] == "application/did+json"
    accept = "application/did-resolution;q=0, application/*;q=0.5"
    assert _get(world, world.issuer.did, accept).headers["content-type"] == DID_RESOLUTION_LD


def test_url_encoded_did_with_resolution_options(world: World) -> None:
    """§12.1: "The input DID MUST be URL-encoded"; "Encode all resolution options except accept as query
    parameters" — versionId as an option, as a DID parameter in the encoded DID URL, and after a literal DID."""
    did = world.issuer.did
    before = world.issuer.blocks[2]  # after the third key, before the delegate, service and rotation
    expected = world.driver.resolve_result(did, {"versionId": str(before)})
    encoded = quote(did, safe="")
    for path in (
        f"{encoded}?versionId={before}",
        quote(f"{did}?versionId={before}", safe=""),
        f"{did}?versionId={before}",
    ):
        response = _get(world, path, DID_RESOLUTION)
        assert response.status_code == 200, path
        body = response.json()
        assert body["didDocument"] == expected.document.to_json()
        assert body["didDocumentMetadata"] == expected.document_metadata
        assert body["didDocumentMetadata"]["versionId"] == str(before)
        assert "service" not in body["didDocument"]
        assert len(body["didDocument"]["verificationMethod"]) == 4  # controller and the three keys


def test_version_time(world: World) -> None:
    """DID Core §3.2.1 versionTime (did:ethr: Unix seconds or an XML Schema UTC date-time)."""
    response = _get(world, f"{quote(world.issuer.did, safe='')}?versionTime=2000-01-01T00:00:00Z", DID_RESOLUTION)
    assert response.status_code == 200
    assert len(response.json()["didDocument"]["verificationMethod"]) == 1  # only the controller then


def test_deactivated_is_410_with_metadata(world: World) -> None:
    """§12.1: deactivated → "The HTTP response status code MUST be 410"; §4.4: didDocument null, metadata kept."""
    for accept in (DID_RESOLUTION, "application/did+json"):
        response = _get(world, world.retired.did, accept)
        assert response.status_code == 410
        assert response.headers["content-type"] == DID_RESOLUTION
        body = response.json()
        assert body["didDocument"] is None
        assert body["didDocumentMetadata"]["deactivated"] is True
        assert body["didDocumentMetadata"]["versionId"] == str(world.retired.blocks[-1])
        assert "error" not in body["didResolutionMetadata"]
    # the version before the deactivation is an ordinary document
    earlier = _get(world, f"{world.retired.did}?versionId={world.retired.blocks[0]}", DID_RESOLUTION)
    assert earlier.status_code == 200
    assert "deactivated" not in earlier.json()["didDocumentMetadata"]


def test_not_found_is_404(world: World) -> None:
    """§12.1 table: NOT_FOUND → 404 (a version that does not exist yet)."""
    response = _get(world, f"{world.issuer.did}?versionId=99999999")
    assert response.status_code == 404
    assert _error(response) == {
        "type": "https://www.w3.org/ns/did#NOT_FOUND",
        "title": "notFound",
        "detail": response.json()["didResolutionMetadata"]["error"]["detail"],
    }


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("not-a-did", "invalidDid"),
        ("did:ethr:0x539:0x1234", "invalidDid"),
        ("did%3AKEY%3Az6Mk", "invalidDid"),
        ("did:key:abc", "invalidDid"),
        ("", "invalidDid"),
        ("did%3Aethr%3A0x539%3A0x" + "ab" * 20 + "%3FversionId%3Dlatest", "invalidDidUrl"),
        ("did:ethr:0x539:0x" + "ab" * 20 + "?versionId=1&versionTime=2", "invalidOptions"),
        ("did:ethr:0x539:0x" + "ab" * 20 + "?versionId=1&versionId=2", "invalidOptions"),
        ("did:ethr:0x539:0x" + "ab" * 20 + "?versionId=1&expandRelativeUrls=maybe", "invalidOptions"),
        (quote("did:ethr:0x539:0x" + "ab" * 20 + "?versionId=1", safe="") + "?versionId=2", "invalidOptions"),
    ],
)
def test_invalid_input_is_400(world: World, path: str, title: str) -> None:
    """§12.1 table: INVALID_DID, INVALID_DID_URL, INVALID_OPTIONS → 400."""
    response = _get(world, path)
    assert response.status_code == 400
    error = _error(response)
    assert error["title"] == title
    assert error["type"].endswith({"invalidDid": "#INVALID_DID", "invalidDidUrl": "#INVALID_DID_URL"}.get(title, ""))


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("did:example:123456789abcdefghi", "methodNotSupported"),
        ("did:ethr:0x539:0x" + "ab" * 20 + "/path", "featureNotSupported"),
        (quote("did:ethr:0x539:0x" + "ab" * 20 + "#controller", safe=""), "featureNotSupported"),
        ("did:ethr:0x539:0x" + "ab" * 20 + "?noCache=true", "featureNotSupported"),
        ("did:ethr:0x539:0x" + "ab" * 20 + "?transform=cbor", "featureNotSupported"),
    ],
)
def test_unsupported_is_501(world: World, path: str, title: str) -> None:
    """§12.1 table: METHOD_NOT_SUPPORTED, FEATURE_NOT_SUPPORTED → 501; §13.2 noCache refused so."""
    response = _get(world, path)
    assert response.status_code == 501
    assert _error(response)["title"] == title


@pytest.mark.parametrize("accept", ["text/html", "application/did+json;q=0, application/did-resolution;q=0", "image/*"])
def test_unacceptable_representation_is_406(world: World, accept: str) -> None:
    """§12.1 table: REPRESENTATION_NOT_SUPPORTED → 406 (the error itself as application/did-resolution)."""
    response = _get(world, world.issuer.did, accept)
    assert response.status_code == 406
    assert _error(response)["title"] == "representationNotSupported"


def test_json_ld_needs_a_context(world: World) -> None:
    """DID Core §6.3.1: a document without @context has no application/did+ld+json representation → 406."""
    assert _get(world, "did:rec:plain", "application/did+json").status_code == 200
    response = _get(world, "did:rec:plain", "application/did+ld+json")
    assert response.status_code == 406
    assert _error(response)["title"] == "representationNotSupported"


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("did:broken:x", "internalError"),
        ("did:down:x", "internalError"),
        ("did:ethr:0x1:0x" + "ab" * 20, "internalError"),  # the node for chain 1 is down
        ("did:wrongid:x", "invalidDidDocument"),
    ],
)
def test_internal_errors_are_500_without_details(world: World, path: str, title: str) -> None:
    """§12.1 table: INTERNAL_ERROR, INVALID_DID_DOCUMENT → 500; no traceback, no exception text, no node address."""
    response = _get(world, path)
    assert response.status_code == 500
    error = _error(response)
    assert error["title"] == title
    for leak in (SECRET, "10.1.2.3", "RuntimeError", "127.0.0.1", "Traceback"):
        assert leak not in response.text


def test_did_parameters_reach_the_driver_unchanged(world: World) -> None:
    """A literal DID keeps its own percent-encodings (did:web ports are ``%3A``); an encoded one is decoded once."""
    world.recorder.seen.clear()
    assert _get(world, "did:rec:literal%3A8443").status_code == 200
    assert _get(world, "did%3Arec%3Aencoded%253A8443").status_code == 200
    assert world.recorder.seen == ["did:rec:literal%3A8443", "did:rec:encoded%3A8443"]


# -- did:key and did:jwk --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "ES256K"])
def test_did_key_and_did_jwk(world: World, alg: str) -> None:
    key = PrivateKey.generate(alg).public_key
    for did in (did_key_from_public_key(key), did_jwk_from_public_key(key)):
        local = default_resolver().resolve(did).to_json()
        for path in (did, quote(did, safe="")):
            result = _get(world, path)
            assert result.status_code == 200
            assert result.json()["didDocument"] == local
            assert result.json()["didResolutionMetadata"] == {"contentType": "application/did+json"}
            assert _get(world, path, "application/did+json").json() == local


def test_healthz(world: World) -> None:
    response = http_get(world.url, "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert {"ethr", "key", "jwk"} <= set(response.json()["methods"])


# -- never a 500 --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_server(world: World) -> Iterator[str]:
    """The endpoint with working drivers only (did:key, did:jwk, did:ethr on the live node): any 500 is a bug."""
    resolver = DidResolver([DidKeyDriver(), DidJwkDriver()], cache_ttl=0)
    resolver.register(EthrDidDriver({CHAIN_ID: (world.node.url, world.registry)}))
    with served(resolver_app(resolver)) as url:
        yield url


_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
_PREFIXES = st.sampled_from(["", "did:", "did%3A", "did:key:z", "did:jwk:", "did:ethr:0x539:", "did%3Aethr%3A0x"])


@st.composite
def raw_paths(draw: st.DrawFn) -> str:
    """Arbitrary text made sendable: percent-encoded with a random set of characters left as they are (so literal
    '%', '?', '/', '#'-free but otherwise anything), after a random DID-ish prefix."""
    text = draw(st.text(max_size=80))
    safe = draw(st.text(alphabet=_PRINTABLE.replace("#", ""), max_size=20))
    return "/1.0/identifiers/" + draw(_PREFIXES) + quote(text, safe=safe)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=raw_paths(), raw_bytes=st.binary(max_size=12))
def test_arbitrary_paths_never_give_a_500(plain_server: str, path: str, raw_bytes: bytes) -> None:
    for candidate in (path, path + quote(raw_bytes, safe="")):
        reply = http_get(plain_server, candidate)
        assert reply.status_code in (200, 400, 404, 406, 410, 501), (candidate, reply)
        parsed = reply.json()
        if reply.status_code >= 400:
            assert reply.headers["content-type"] == DID_RESOLUTION
            assert parsed["didResolutionMetadata"]["error"]["type"].startswith("https://www.w3.org/ns/did#")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(accept=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120))
def test_arbitrary_accept_never_gives_a_500(plain_server: str, accept: str) -> None:
    did = did_key_from_public_key(PrivateKey.generate("EdDSA").public_key)
    reply = http_get(plain_server, f"/1.0/identifiers/{did}", {"Accept": accept})
    assert reply.status_code in (200, 406), (accept, reply)
    reply.json()
