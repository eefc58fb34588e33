"""ssi.x509: x5c chains (RFC 7515 §4.1.6, RFC 5280 path validation) and the OpenID4VP client-id hashes."""

from __future__ import annotations

import base64
import contextlib
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.errors import CertificateError
from ssi.keys import PrivateKey
from ssi.x509 import (
    certificate_to_pem,
    dns_names,
    issue_certificate,
    load_pem_certificates,
    make_self_signed_ca,
    parse_x5c,
    spki_sha256,
    verify_x5c,
    x5c_chain,
    x509_hash,
)

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def pki() -> dict[str, object]:
    ca_key = PrivateKey.generate("ES256")
    ca = make_self_signed_ca(ca_key, "Demo Root CA", now=NOW, organization="govssi demo")
    sub_key = PrivateKey.generate("ES256")
    sub = issue_certificate(ca, ca_key, sub_key.public_key, "Demo Issuing CA", now=NOW, ca=True)
    leaf_key = PrivateKey.generate("ES256")
    leaf = issue_certificate(
        sub, sub_key, leaf_key.public_key, "Stadt Musterstadt", now=NOW, dns_names=["issuer.example"]
    )
    direct_leaf = issue_certificate(ca, ca_key, leaf_key.public_key, "Direct", now=NOW)
    return {"ca": ca, "ca_key": ca_key, "sub": sub, "leaf": leaf, "leaf_key": leaf_key, "direct": direct_leaf}


def test_rfc7515_s4_1_6_x5c_is_standard_base64_der_leaf_first(pki: dict[str, object]) -> None:
    chain = x5c_chain([pki["leaf"], pki["sub"]])  # type: ignore[list-item]
    assert base64.b64decode(chain[0]) == pki["leaf"].public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]
    assert "-" not in "".join(chain) and "_" not in "".join(chain)


def test_chain_through_intermediate_validates(pki: dict[str, object]) -> None:
    verified = verify_x5c(x5c_chain([pki["leaf"], pki["sub"]]), [pki["ca"]], now=NOW)  # type: ignore[list-item]
    assert verified.public_key == pki["leaf_key"].public_key  # type: ignore[attr-defined]
    assert verified.anchor == pki["ca"]
    assert len(verified.chain) == 3


def test_leaf_directly_under_anchor_validates(pki: dict[str, object]) -> None:
    verify_x5c(x5c_chain([pki["direct"]]), [pki["ca"]], now=NOW)  # type: ignore[list-item]


def test_rfc5280_missing_intermediate_refused(pki: dict[str, object]) -> None:
    with pytest.raises(CertificateError) as info:
        verify_x5c(x5c_chain([pki["leaf"]]), [pki["ca"]], now=NOW)  # type: ignore[list-item]
    assert info.value.reason == "x5c_untrusted"


def test_rfc5280_other_anchor_refused(pki: dict[str, object]) -> None:
    other_key = PrivateKey.generate("ES256")
    other = make_self_signed_ca(other_key, "Other Root", now=NOW)
    with pytest.raises(CertificateError):
        verify_x5c(x5c_chain([pki["leaf"], pki["sub"]]), [other], now=NOW)  # type: ignore[list-item]


def test_rfc5280_expired_and_not_yet_valid_refused(pki: dict[str, object]) -> None:
    chain = x5c_chain([pki["leaf"], pki["sub"]])  # type: ignore[list-item]
    with pytest.raises(CertificateError):
        verify_x5c(chain, [pki["ca"]], now=NOW + 400 * 86400)  # type: ignore[list-item]
    with pytest.raises(CertificateError):
        verify_x5c(chain, [pki["ca"]], now=NOW - 3600)  # type: ignore[list-item]


def test_rfc5280_end_entity_cannot_act_as_ca(pki: dict[str, object]) -> None:
    """A leaf (cA false, no keyCertSign) must not sign further certificates (RFC 5280 §4.2.1.9)."""
    rogue_key = PrivateKey.generate("ES256")
    rogue = issue_certificate(pki["direct"], pki["leaf_key"], rogue_key.public_key, "Rogue", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(CertificateError):
        verify_x5c(x5c_chain([rogue, pki["direct"]]), [pki["ca"]], now=NOW)  # type: ignore[list-item]


def test_tampered_certificate_refused(pki: dict[str, object]) -> None:
    der = bytearray(pki["leaf"].public_bytes(serialization.Encoding.DER))  # type: ignore[attr-defined]
    der[-5] ^= 0x01  # inside the signature
    chain = [base64.b64encode(bytes(der)).decode(), *x5c_chain([pki["sub"]])]  # type: ignore[list-item]
    with pytest.raises(CertificateError):
        verify_x5c(chain, [pki["ca"]], now=NOW)  # type: ignore[list-item]


@pytest.mark.parametrize("value", [None, [], "abc", [1], ["***"], ["QUJD"], ["a" * 30000], ["QUJD"] * 6])
def test_malformed_x5c_refused_with_specific_error(value: object) -> None:
    with pytest.raises(CertificateError) as info:
        parse_x5c(value)
    assert info.value.reason in {"x5c_malformed", "x5c_too_long"}


def test_no_anchors_configured_is_an_error(pki: dict[str, object]) -> None:
    with pytest.raises(CertificateError) as info:
        verify_x5c(x5c_chain([pki["direct"]]), [], now=NOW)  # type: ignore[list-item]
    assert info.value.reason == "no_trust_anchors"


def test_oid4vp_x509_hash_is_b64url_sha256_of_der(pki: dict[str, object]) -> None:
    leaf: x509.Certificate = pki["leaf"]  # type: ignore[assignment]
    digest = hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).digest()
    assert x509_hash(leaf) == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_oid4vp_x509_san_dns_names(pki: dict[str, object]) -> None:
    assert dns_names(pki["leaf"]) == ["issuer.example"]  # type: ignore[arg-type]
    assert dns_names(pki["ca"]) == []  # type: ignore[arg-type]


def test_spki_sha256_stable_across_certificates_for_one_key(pki: dict[str, object]) -> None:
    assert spki_sha256(pki["leaf"]) == spki_sha256(pki["direct"])  # type: ignore[arg-type]
    assert spki_sha256(pki["leaf"]) != spki_sha256(pki["sub"])  # type: ignore[arg-type]


def test_pem_round_trip(pki: dict[str, object]) -> None:
    pem = certificate_to_pem(pki["ca"]) + certificate_to_pem(pki["sub"])  # type: ignore[arg-type]
    assert load_pem_certificates(pem) == [pki["ca"], pki["sub"]]
    with pytest.raises(CertificateError):
        load_pem_certificates(b"garbage")


def test_ed25519_chains_refused_by_the_algorithm_policy() -> None:
    """Path validation uses the web-PKI algorithm set (ECDSA P-256/P-384, RSA); HAIP 1.0 mandates ES256 anyway."""
    ca_key = PrivateKey.generate("EdDSA")
    ca = make_self_signed_ca(ca_key, "Ed CA", now=NOW)
    leaf_key = PrivateKey.generate("EdDSA")
    leaf = issue_certificate(ca, ca_key, leaf_key.public_key, "Ed leaf", now=NOW)
    with pytest.raises(CertificateError):
        verify_x5c(x5c_chain([leaf]), [ca], now=NOW)


@settings(max_examples=50)
@given(st.lists(st.text(max_size=40), max_size=6))
def test_property_parse_x5c_never_crashes(value: list[str]) -> None:
    with contextlib.suppress(CertificateError):
        parse_x5c(value)
