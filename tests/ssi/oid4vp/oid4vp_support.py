"""A Verifier's keys and certificates for the OpenID4VP tests (generated per run, never committed)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509

from ssi.dcql import DcqlQuery
from ssi.did import did_jwk_from_public_key
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vp import (
    DIRECT_POST_JWT,
    VP_FORMATS,
    AuthorizationRequest,
    ResponseEncryptionKey,
    client_metadata,
    x509_hash_client_id,
)
from ssi.x509 import issue_certificate, make_self_signed_ca, x5c_chain

NOW = 1_750_000_000
HOST = "verifier.example.org"
RESPONSE_URI = f"https://{HOST}/response/req-1"
QUERY = DcqlQuery.parse(
    {
        "credentials": [
            {
                "id": "pid",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["urn:eudi:pid:de:1"]},
                "claims": [{"path": ["given_name"]}],
            }
        ]
    }
)


@dataclass(frozen=True)
class VerifierKeys:
    ca: x509.Certificate
    leaf: x509.Certificate
    signer: SoftwareSigner
    x5c: list[str]
    did: str
    did_signer: SoftwareSigner

    @property
    def kid(self) -> str:
        return f"{self.did}#0"


def make_verifier(host: str = HOST) -> VerifierKeys:
    ca_key, leaf_key = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
    ca = make_self_signed_ca(ca_key, "Test Verifier CA", now=NOW - 3600, days=30)
    leaf = issue_certificate(
        ca, ca_key, leaf_key.public_key, "Portal Musterstadt", now=NOW - 3600, days=10, dns_names=[host]
    )
    did_key = PrivateKey.generate("ES256")
    did = did_jwk_from_public_key(did_key.public_key)
    return VerifierKeys(ca, leaf, SoftwareSigner(leaf_key), x5c_chain([leaf]), did, SoftwareSigner(did_key))


def request(verifier: VerifierKeys, **changes: Any) -> tuple[AuthorizationRequest, ResponseEncryptionKey]:
    key = ResponseEncryptionKey.generate("enc-1")
    base = AuthorizationRequest(
        client_id=x509_hash_client_id(verifier.leaf),
        response_mode=DIRECT_POST_JWT,
        response_uri=RESPONSE_URI,
        nonce="n-0S6_WzA2Mj",
        state="state-1",
        dcql_query=QUERY,
        client_metadata=client_metadata(key, vp_formats=VP_FORMATS),
    )
    return replace(base, **changes), key
