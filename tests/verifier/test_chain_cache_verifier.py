"""The verifier remembers validated issuer chains (ssi.x5c_cache) without changing what it accepts: repeated
credentials and status checks of one issuer are answered from memory, and a remembered chain whose certificate has
expired since is refused as before (HAIP 1.0 §6.1.1 ``x5c``; RFC 5280 §6.1.3 (a)(2))."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from verifier_support import FakeTrust, TestIssuer, settings, sqlite_store, verifier_identity

from ssi.errors import CredentialRefused
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import HeldSdJwt
from ssi.x509 import issue_certificate
from verifier import build_verifier

AUDIENCE = "x509_hash:bench-audience"


def test_haip_6_1_1_remembered_chain_is_used_until_its_certificate_expires(tmp_path: Path) -> None:
    start = time.time()
    moment = [start]
    issuer = TestIssuer.create(now=start)
    # a leaf valid for one day: the credential (14 days) outlives it
    issuer.chain = [
        issue_certificate(
            issuer.ca, issuer.ca_key, issuer.key.public_key, "Stadt Köln", now=start - 3600, days=1, uris=[issuer.url]
        )
    ]
    issuer.publish("1", now=start, exp_in=10 * 86400)
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    service = build_verifier(
        settings(tmp_path, require_status=True),
        store=sqlite_store(tmp_path),
        keys=verifier_identity("https://verifier.example").keys,
        trust=trust,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
        clock=lambda: moment[0],
    )
    query = service.query_for(preset="pid_identification")[0].credentials[0]
    holder = SoftwareSigner.generate("ES256")
    compact, _idx = issuer.issue(holder, now=start)
    held = HeldSdJwt.parse(compact)

    def verify(nonce: str) -> object:
        presentation = held.present(
            [("given_name",), ("family_name",), ("birthdate",)],
            holder=holder,
            audience=AUDIENCE,
            nonce=nonce,
            clock=lambda: moment[0],
        )
        return service.credentials.verify(presentation, query=query, client_id=AUDIENCE, nonce=nonce)

    first, second = verify("nonce-one-0123456789"), verify("nonce-two-0123456789")
    assert first.status.state == second.status.state == "valid"  # type: ignore[attr-defined]
    credential_chains, status_chains = service.credentials._chains, service.credentials.status._chains
    assert credential_chains.hits >= 1 and status_chains.hits >= 2  # the second credential and both signer checks
    assert credential_chains.misses == 1 and status_chains.misses == 1

    moment[0] = issuer.chain[0].not_valid_after_utc.timestamp() + 120
    with pytest.raises(CredentialRefused) as refused:
        verify("nonce-three-0123456789")
    assert refused.value.reason == "issuer_certificate_expired"
