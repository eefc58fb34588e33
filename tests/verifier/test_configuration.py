"""Configuration: request-signing keys and their certificate (created, reused, renewed), the Client Identifier
Prefixes (``decentralized_identifier`` with the portal's DID; ``redirect_uri`` only in development), presets from a
file, and what ``build_verifier`` refuses."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest
from verifier_support import FakeTrust, HeldCredential, TestIssuer, settings, sqlite_store, verifier_identity

from ssi.did import default_resolver, did_jwk_from_public_key
from ssi.errors import DcqlError, SsiError
from ssi.keys import PrivateKey, SoftwareSigner, write_key_file
from ssi.oid4vp import (
    WalletRequestPolicy,
    parse_authorization_request_link,
    response_form,
    verify_request_object,
    verify_unsigned_request,
)
from ssi.x509 import dns_names, verify_x5c, x509_hash
from verifier import PresentationService, build_verifier
from verifier.keys import load_request_signing_keys
from verifier.presets import load_presets


def test_request_signing_keys_are_created_reused_and_renewed(tmp_path: Path) -> None:
    now = time.time()
    keys_dir, ca_dir = tmp_path / "keys", tmp_path / "ca"
    first = load_request_signing_keys(keys_dir, ca_dir, public_url="https://portal.example", passphrase="pw", now=now)
    assert (keys_dir / "request-signing.key.json").stat().st_mode & 0o777 == 0o600
    assert dns_names(first.leaf) == ["portal.example"]
    ca = (ca_dir / "ca.pem").read_bytes()
    from ssi.x509 import load_pem_certificates

    anchor = load_pem_certificates(ca)[0]
    assert verify_x5c(first.x5c, [anchor], now=now).public_key.jwk == first.signer.public_jwk
    again = load_request_signing_keys(keys_dir, ca_dir, public_url="https://portal.example", passphrase="pw", now=now)
    assert x509_hash(again.leaf) == x509_hash(first.leaf)  # the same certificate: a stable x509_hash client id
    moved = load_request_signing_keys(keys_dir, ca_dir, public_url="https://neu.example", passphrase="pw", now=now)
    assert dns_names(moved.leaf) == ["neu.example"] and moved.signer.public_jwk == first.signer.public_jwk
    later = load_request_signing_keys(
        keys_dir, ca_dir, public_url="https://neu.example", passphrase="pw", now=now + 80 * 86400
    )
    assert x509_hash(later.leaf) != x509_hash(moved.leaf)  # renewed before it expires
    with pytest.raises(SsiError):
        load_request_signing_keys(keys_dir, ca_dir, public_url="https://neu.example", passphrase="wrong", now=now)


def _service(tmp_path: Path, issuer: TestIssuer, **changes: object) -> PresentationService:
    tmp_path.mkdir(parents=True, exist_ok=True)
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    return build_verifier(
        settings(tmp_path, **changes),
        store=sqlite_store(tmp_path),
        trust=trust,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
        **({"keys": verifier_identity("https://verifier.example").keys} if "did" not in changes else {}),
    )


def _answer(service: PresentationService, request: object, issuer: TestIssuer, request_id: str) -> None:
    holder = SoftwareSigner.generate("ES256")
    compact, idx = issuer.issue(holder)
    held = HeldCredential(compact, holder, idx).held
    text = held.present(
        [("given_name",), ("family_name",), ("birthdate",)],
        holder=holder,
        audience=request.client_id,  # type: ignore[attr-defined]
        nonce=request.nonce,  # type: ignore[attr-defined]
    )
    with contextlib.suppress(SsiError):
        service.handle_response(request_id, response_form(request, {"pid": [text]}))  # type: ignore[arg-type]


def test_decentralized_identifier_prefix(tmp_path: Path) -> None:
    """§5.9.3: the request is signed with a key of the verifier's DID, named by ``kid``; wallets resolve the DID."""
    key = PrivateKey.generate("ES256")
    did = did_jwk_from_public_key(key.public_key)
    key_file = tmp_path / "did.key.json"
    write_key_file(key_file, key)
    issuer = TestIssuer.create()
    service = _service(
        tmp_path,
        issuer,
        client_id_prefix="decentralized_identifier",
        did=did,
        did_key_file=key_file,
        did_kid=f"{did}#0",
    )
    created = service.create(service.query_for(preset="pid_identification")[0])
    assert created.client_id == f"decentralized_identifier:{did}"
    link = parse_authorization_request_link(created.authorization_request)
    token = service.request_object(created.request_id)
    verified = verify_request_object(token, link, WalletRequestPolicy(did_resolver=default_resolver()))
    assert verified.verifier.name == did
    _answer(service, verified.request, issuer, created.request_id)
    assert service.result(created.transaction_id)["status"] == "verified"


def test_redirect_uri_prefix_only_in_development(tmp_path: Path) -> None:
    issuer = TestIssuer.create()
    with pytest.raises(ValueError, match="development"):
        _service(tmp_path / "a", issuer, client_id_prefix="redirect_uri")
    service = _service(tmp_path / "b", issuer, client_id_prefix="redirect_uri", allow_redirect_uri=True)
    created = service.create(service.query_for(preset="pid_identification")[0], response_mode="direct_post")
    assert created.request_uri is None and "response_uri=" in created.authorization_request
    link = parse_authorization_request_link(created.authorization_request)
    with pytest.raises(SsiError):
        verify_unsigned_request(link, WalletRequestPolicy())  # wallets refuse it unless they allow it too
    verified = verify_unsigned_request(link, WalletRequestPolicy(allow_redirect_uri=True))
    assert not verified.verifier.authenticated
    _answer(service, verified.request, issuer, created.request_id)
    assert service.result(created.transaction_id)["status"] == "verified"


def test_presets_file(tmp_path: Path) -> None:
    path = tmp_path / "presets.json"
    query = {
        "credentials": [{"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://a.example/vct/x"]}}]
    }
    path.write_text(json.dumps({"parking": {"purpose": "Parkausweis", "dcql_query": query}}))
    presets = load_presets(path)
    assert presets["parking"].purpose == "Parkausweis" and "age_over_18" in presets
    path.write_text(json.dumps({"broken": {"dcql_query": {"credentials": []}}}))
    with pytest.raises(DcqlError, match="broken"):
        load_presets(path)
    path.write_text(json.dumps({"no_query": {}}))
    with pytest.raises(DcqlError):
        load_presets(path)


def test_build_verifier_refusals(tmp_path: Path) -> None:
    issuer = TestIssuer.create()
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        build_verifier(settings(tmp_path, public_url=""), store=sqlite_store(tmp_path), trust=None)
    with pytest.raises(ValueError, match="decentralized_identifier"):
        build_verifier(
            settings(tmp_path, client_id_prefix="decentralized_identifier"), store=sqlite_store(tmp_path), trust=None
        )
    # no chain configured, accreditation required: every credential is refused (fail closed)
    service = build_verifier(
        settings(tmp_path),
        store=sqlite_store(tmp_path),
        trust=None,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
        keys=verifier_identity("https://verifier.example").keys,
    )
    created = service.create(service.query_for(preset="pid_identification")[0])
    # the request as the wallet reads it (its signature is covered by the other tests)
    session = service.store.get("vp_session", created.request_id)
    assert session is not None
    from ssi.oid4vp import AuthorizationRequest

    request = AuthorizationRequest.from_parameters(
        {
            "client_id": session["client_id"],
            "response_type": "vp_token",
            "response_mode": session["response_mode"],
            "response_uri": f"https://verifier.example/response/{created.request_id}",
            "nonce": session["nonce"],
            "state": created.request_id,
            "dcql_query": session["dcql_query"],
            "client_metadata": session["client_metadata"],
        }
    )
    _answer(service, request, issuer, created.request_id)
    assert service.result(created.transaction_id)["reason"] == "trust_unavailable"
