"""``ledger.trust.describe_issuer``: what the cooperative accredits, read from an issuer's published metadata
(OpenID4VCI 1.0 §12.2, SD-JWT VC §5), with an injected fetcher."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from cryptography import x509

from ledger.trust import credential_types_of, describe_issuer
from ledger.trust._issuer_metadata import development_fetcher
from ssi.errors import SsiError
from ssi.fetch import FetchResponse
from ssi.keys import PrivateKey
from ssi.x509 import issue_certificate, make_self_signed_ca, spki_sha256, x5c_chain

ISSUER = "https://kba.example/issuers/kba"
DID = "did:ethr:0x539:0x1111111111111111111111111111111111111111"


def certificate_for(key: PrivateKey) -> x509.Certificate:
    now = time.time()
    ca_key = PrivateKey.generate("ES256")
    return issue_certificate(make_self_signed_ca(ca_key, "CA", now=now), ca_key, key.public_key, "KBA", now=now)


def jwk_with_x5c(key: PrivateKey, certificate: x509.Certificate | None = None) -> dict[str, Any]:
    jwk: dict[str, Any] = {**key.public_key.jwk, "kid": key.public_key.thumbprint()}
    if certificate is not None:
        jwk["x5c"] = x5c_chain([certificate])
    return jwk


class Documents:
    """A fetcher serving JSON documents by URL (404 for anything else); records what was asked."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.asked: list[str] = []

    def __call__(self, url: str) -> FetchResponse:
        self.asked.append(url)
        if url not in self.documents:
            return FetchResponse(404, b"")
        return FetchResponse(200, json.dumps(self.documents[url]).encode(), "application/json")


def issuer_documents(configurations: dict[str, Any], keys: list[dict[str, Any]], **extra: Any) -> Documents:
    metadata = {
        "credential_issuer": ISSUER,
        "credential_endpoint": ISSUER + "/credential",
        "credential_configurations_supported": configurations,
        "did": DID,
        **extra,
    }
    return Documents(
        {
            "https://kba.example/.well-known/openid-credential-issuer/issuers/kba": metadata,
            "https://kba.example/.well-known/jwt-vc-issuer/issuers/kba": {"issuer": ISSUER, "jwks": {"keys": keys}},
        }
    )


PID = {"pid": {"format": "dc+sd-jwt", "vct": "urn:eudi:pid:de:1"}}


def test_reads_did_types_and_certificate_key_from_the_well_known_documents() -> None:
    key = PrivateKey.generate("ES256")
    certificate = certificate_for(key)
    fetch = issuer_documents(PID, [jwk_with_x5c(key, certificate)])
    described = describe_issuer(ISSUER, fetch)
    assert described.did == DID and described.credential_types == ("urn:eudi:pid:de:1",)
    assert described.cert_key_sha256 == spki_sha256(certificate)
    # OpenID4VCI §12.2.2 / SD-JWT VC §5.1: the well-known segment goes between host and path
    assert fetch.asked == [
        "https://kba.example/.well-known/openid-credential-issuer/issuers/kba",
        "https://kba.example/.well-known/jwt-vc-issuer/issuers/kba",
    ]


def test_types_by_format() -> None:
    configurations = {
        "a": {"format": "dc+sd-jwt", "vct": "urn:a"},
        "b": {"format": "mso_mdoc", "doctype": "org.iso.18013.5.1.mDL"},
        "c": {"format": "ldp_vc", "credential_definition": {"type": ["VerifiableCredential", "Diploma"]}},
        "d": {"format": "jwt_vc_json", "credential_definition": {"type": ["VerifiableCredential", "Licence"]}},
        "e": {"format": "dc+sd-jwt", "vct": "urn:a"},
        "f": {"format": "x-other", "whatever": 1},
    }
    assert credential_types_of(configurations) == ("urn:a", "org.iso.18013.5.1.mDL", "Diploma", "Licence")
    for broken in ({"format": "dc+sd-jwt"}, {"format": "mso_mdoc", "doctype": ""}, {"format": "ldp_vc"}):
        with pytest.raises(SsiError) as refused:
            credential_types_of({"x": broken})
        assert refused.value.reason == "malformed_metadata"


def test_without_x5c_the_accreditation_names_only_the_did() -> None:
    key = PrivateKey.generate("ES256")
    assert describe_issuer(ISSUER, issuer_documents(PID, [jwk_with_x5c(key)])).cert_key_sha256 is None


def test_jwks_uri_is_followed() -> None:
    key = PrivateKey.generate("ES256")
    certificate = certificate_for(key)
    fetch = issuer_documents(PID, [])
    fetch.documents["https://kba.example/.well-known/jwt-vc-issuer/issuers/kba"] = {
        "issuer": ISSUER,
        "jwks_uri": "https://kba.example/jwks.json",
    }
    fetch.documents["https://kba.example/jwks.json"] = {"keys": [jwk_with_x5c(key, certificate)]}
    assert describe_issuer(ISSUER, fetch).cert_key_sha256 == spki_sha256(certificate)


def metadata(documents: Documents) -> dict[str, Any]:
    return documents.documents["https://kba.example/.well-known/openid-credential-issuer/issuers/kba"]  # type: ignore[no-any-return]


def jwt_vc_issuer(documents: Documents) -> dict[str, Any]:
    return documents.documents["https://kba.example/.well-known/jwt-vc-issuer/issuers/kba"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.documents.clear(), "metadata_unavailable"),
        (lambda d: metadata(d).pop("did"), "no_did"),
        (lambda d: metadata(d).update(did="kba"), "no_did"),
        (lambda d: metadata(d).update(credential_configurations_supported={}), "no_credential_types"),
        (lambda d: metadata(d).update(credential_issuer="https://evil.example"), "issuer_mismatch"),
        (lambda d: jwt_vc_issuer(d).update(issuer="https://evil.example"), "issuer_mismatch"),
        (lambda d: jwt_vc_issuer(d).pop("jwks"), "malformed_metadata"),
        (lambda d: jwt_vc_issuer(d)["jwks"]["keys"][0].update(x5c="MII"), "malformed_metadata"),
        (lambda d: jwt_vc_issuer(d)["jwks"]["keys"][0].update(x5c=["!!"]), "malformed_metadata"),
    ],
)
def test_refusals(mutate: Any, reason: str) -> None:
    key = PrivateKey.generate("ES256")
    fetch = issuer_documents(PID, [jwk_with_x5c(key, certificate_for(key))])
    mutate(fetch)
    with pytest.raises(SsiError) as refused:
        describe_issuer(ISSUER, fetch)
    assert refused.value.reason == reason


def test_the_certificate_must_hold_the_jwks_key_and_be_unambiguous() -> None:
    key, other = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
    mismatch = issuer_documents(PID, [jwk_with_x5c(key, certificate_for(other))])
    with pytest.raises(SsiError) as refused:
        describe_issuer(ISSUER, mismatch)
    assert refused.value.reason == "x5c_key_mismatch"
    two = issuer_documents(PID, [jwk_with_x5c(key, certificate_for(key)), jwk_with_x5c(other, certificate_for(other))])
    with pytest.raises(SsiError) as refused:
        describe_issuer(ISSUER, two)
    assert refused.value.reason == "ambiguous_certificate_key"
    renewed = issuer_documents(PID, [jwk_with_x5c(key, certificate_for(key)), jwk_with_x5c(key, certificate_for(key))])
    assert describe_issuer(ISSUER, renewed).cert_key_sha256 is not None  # two certificates, one key: fine


def test_development_fetcher_allows_plain_http_only_on_loopback() -> None:
    local = development_fetcher("http://127.0.0.1:8080/issuers/kba")
    assert local.allow_http and local.allow_loopback and not local.allow_private
    public = development_fetcher("https://kba.example")
    assert not public.allow_http and not public.allow_loopback
    assert not development_fetcher("http://10.0.0.1").allow_http
