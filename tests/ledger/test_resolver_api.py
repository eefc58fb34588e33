"""The DID resolver endpoint's logic without HTTP (:func:`ledger.resolver_api.resolve_over_http`, :func:`negotiate`):
Accept negotiation per RFC 9110 §12.5.1, the §12.1 status table of W3C DID Resolution, the request forms of §12.1."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from ledger.resolver_api import (
    DID_RESOLUTION,
    DID_RESOLUTION_LD,
    ERROR_TYPES,
    identifier_from_path,
    negotiate,
    resolve_over_http,
)
from ssi.did import DidDocument, DidResolver, ResolutionResult

#: DID Resolution §12.1: "the HTTP response status code MUST correspond to the type property of the error object".
SPEC_TABLE = {
    "INVALID_DID": 400,
    "INVALID_DID_URL": 400,
    "INVALID_OPTIONS": 400,
    "NOT_FOUND": 404,
    "REPRESENTATION_NOT_SUPPORTED": 406,
    "INVALID_DID_DOCUMENT": 500,
    "METHOD_NOT_SUPPORTED": 501,
    "FEATURE_NOT_SUPPORTED": 501,
    "INTERNAL_ERROR": 500,
}


class VersionedDriver:
    """did:v — versions 1 and 2; version 2 is deactivated."""

    method = "v"
    manages_own_cache = True

    def resolve(self, did: str) -> DidDocument:
        return self.resolve_result(did, {}).document

    def resolve_result(self, did: str, parameters: Mapping[str, str]) -> ResolutionResult:
        version = parameters.get("versionId", "2")
        metadata: dict[str, Any] = {"versionId": version}
        if version == "2":
            metadata["deactivated"] = True
        document = DidDocument.from_json({"@context": "https://www.w3.org/ns/did/v1", "id": did})
        return ResolutionResult(document, metadata, {"contentType": "application/did+ld+json"})


@pytest.fixture
def resolver() -> DidResolver:
    return DidResolver([VersionedDriver()])


def test_status_table_is_the_specs() -> None:
    """Every error type the endpoint sends has the §12.1 status; every row of the table is used."""
    assert {error_type: status for error_type, status in ERROR_TYPES.values()} == SPEC_TABLE


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, DID_RESOLUTION),
        ("", DID_RESOLUTION),
        ("*/*", DID_RESOLUTION),
        ("application/did-resolution", DID_RESOLUTION),
        (DID_RESOLUTION_LD, DID_RESOLUTION_LD),
        ("application/ld+json", DID_RESOLUTION_LD),  # a range without parameters matches any parameters
        ('application/ld+json; profile="https://w3id.org/did-resolution"', DID_RESOLUTION_LD),
        ("application/did+json", "application/did+json"),
        ("Application/DID+JSON; charset=UTF-8", "application/did+json"),
        ("application/did+ld+json", "application/did+ld+json"),
        ("application/did", "application/did"),
        ("text/html, application/did+json;q=0.1", "application/did+json"),
        ("application/did-resolution;q=0.5, application/did+json", "application/did+json"),
        # "more specific media ranges or specific media types" override less specific ones
        ("*/*;q=0.1, application/did+json;q=0.9", "application/did+json"),
        ("application/*;q=0, application/did+json", "application/did+json"),
        ("*/*, application/did-resolution;q=0", DID_RESOLUTION_LD),
        # malformed members are ignored; nothing well-formed is "no Accept"
        ("garbage, application/did+json", "application/did+json"),
        ("application/did+json;q=2", DID_RESOLUTION),
        ("application/did+json;q=0.0001", DID_RESOLUTION),
    ],
)
def test_negotiation(accept: str | None, expected: str) -> None:
    """RFC 9110 §12.5.1 Accept, §12.4.2 weights."""
    chosen = negotiate(accept)
    assert chosen is not None
    assert chosen.content_type == expected


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "application/json",
        "application/did+json;q=0",
        'application/ld+json;profile="https://example.com/other"',
        "*/*;q=0",
        "application/did+json;charset=latin-1",
    ],
)
def test_nothing_acceptable(accept: str) -> None:
    assert negotiate(accept) is None


def test_identifier_forms() -> None:
    """§12.1: a literal DID keeps its own percent-encodings; a URL-encoded one is decoded once."""
    assert identifier_from_path("did:web:host%3A8443") == "did:web:host%3A8443"
    assert identifier_from_path("did%3Aweb%3Ahost%253A8443") == "did:web:host%3A8443"
    assert identifier_from_path("DID%3aweb%3ahost") == "DID:web:host"  # then refused as invalidDid


def test_deactivated_answer(resolver: DidResolver) -> None:
    """§12.1: 410 for a deactivated DID; §4.4: didDocument null with the document metadata."""
    answer = resolve_over_http(resolver, "did:v:a")
    assert answer.status == 410
    assert answer.content_type == DID_RESOLUTION
    assert answer.body == {
        "didDocument": None,
        "didDocumentMetadata": {"versionId": "2", "deactivated": True},
        "didResolutionMetadata": {},
    }
    earlier = resolve_over_http(resolver, "did:v:a", "versionId=1", "application/did+json")
    assert (earlier.status, earlier.content_type) == (200, "application/did+json")
    assert earlier.body == {"@context": "https://www.w3.org/ns/did/v1", "id": "did:v:a"}


def test_content_type_is_the_resolution_metadata_content_type(resolver: DidResolver) -> None:
    """§12.1: the Content-Type "MUST be the value of the contentType metadata property in the
    didResolutionMetadata" — the result names the representation of its document; a bare document is sent as asked."""
    full = resolve_over_http(resolver, "did:v:a", "versionId=1")
    assert full.body["didResolutionMetadata"] == {"contentType": "application/did+ld+json"}
    bare = resolve_over_http(resolver, "did:v:a", "versionId=1", "application/did")
    assert bare.content_type == "application/did"


@pytest.mark.parametrize(
    ("raw", "query", "title"),
    [
        ("did:v:a", "versionId=1&versionId=1", "invalidOptions"),
        ("did:v:a", "versionId=1&versionTime=5", "invalidOptions"),
        ("did:v:a", "versionId", "invalidOptions"),
        ("did:v:a", "noCache=maybe", "invalidOptions"),
        ("did:v:a", "noCache=true", "featureNotSupported"),
        ("did:v:a", "accept=application/did", "featureNotSupported"),
        ("did%3Av%3Aa%3FversionId%3D1", "versionId=1", "invalidOptions"),
        ("did%3Av%3Aa%FF", "", "invalidDid"),
        ("did:v:a/path", "", "featureNotSupported"),
        ("did:v:a%", "", "invalidDid"),
        ("did:V:a", "", "invalidDid"),
    ],
)
def test_options_and_forms_refused(resolver: DidResolver, raw: str, query: str, title: str) -> None:
    answer = resolve_over_http(resolver, raw, query)
    assert answer.body["didResolutionMetadata"]["error"]["title"] == title
    assert answer.status == {"invalidOptions": 400, "invalidDid": 400, "featureNotSupported": 501}[title]


def test_accepted_options(resolver: DidResolver) -> None:
    """§4.1 expandRelativeUrls (documents are written with absolute DID URLs) and noCache=false are honoured."""
    answer = resolve_over_http(resolver, "did:v:a", "versionId=1&expandRelativeUrls=true&noCache=false")
    assert answer.status == 200
