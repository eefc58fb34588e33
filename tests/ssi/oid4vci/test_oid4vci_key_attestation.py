"""Key attestations (OpenID4VCI 1.0 Appendix D.1) and key proofs carrying them (F.1 ``key_attestation``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ssi.encoding import b64url_decode
from ssi.errors import InvalidProof
from ssi.jose import encode_jwt
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vci import create_proof_jwt
from ssi.oid4vci.key_attestation import (
    ISO_18045_HIGH,
    ISO_18045_MODERATE,
    KEY_ATTESTATION_TYP,
    create_attested_proof_jwt,
    create_key_attestation,
    verify_attested_proof_jwt,
    verify_key_attestation,
)
from ssi.x509 import issue_certificate, make_self_signed_ca, x5c_chain

NOW = 1_800_000_000.0
AUD = "https://issuer.example.de/issuers/demo"


class Provider:
    def __init__(self) -> None:
        ca_key = PrivateKey.generate("ES256")
        self.ca = make_self_signed_ca(ca_key, "Provider CA", now=NOW - 86400)
        self.key = PrivateKey.generate("ES256")
        self.x5c = x5c_chain([issue_certificate(self.ca, ca_key, self.key.public_key, "Attester", now=NOW - 86400)])

    def attest(self, keys: list[SoftwareSigner], **kw: Any) -> str:
        kw.setdefault("now", NOW)
        kw.setdefault("key_storage", [ISO_18045_HIGH])
        kw.setdefault("user_authentication", [ISO_18045_MODERATE])
        return create_key_attestation(
            SoftwareSigner(self.key), self.x5c, attested_keys=[k.public_jwk for k in keys], **kw
        )


@pytest.fixture(scope="module")
def provider() -> Provider:
    return Provider()


def test_d1_structure(provider: Provider) -> None:
    keys = [SoftwareSigner.generate() for _ in range(3)]
    token = provider.attest(keys, nonce="c-nonce", issuer="https://wallet.example")
    header = json.loads(b64url_decode(token.split(".")[0]))
    body = json.loads(b64url_decode(token.split(".")[1]))
    assert header == {"typ": KEY_ATTESTATION_TYP, "x5c": provider.x5c, "alg": "ES256"}
    assert body["attested_keys"] == [k.public_jwk for k in keys]
    assert body["exp"] > body["iat"] and body["nonce"] == "c-nonce"
    verified = verify_key_attestation(token, anchors=[provider.ca], now=NOW, nonce="c-nonce")
    assert [k.jwk for k in verified.attested_keys] == [k.public_jwk for k in keys]
    assert verified.key_storage == (ISO_18045_HIGH,)


def refused(token: str, provider: Provider, reason: str, **kw: Any) -> None:
    kw.setdefault("now", NOW)
    with pytest.raises(InvalidProof) as info:
        verify_key_attestation(token, anchors=[provider.ca], **kw)
    assert info.value.reason == reason


def test_d1_untrusted_provider(provider: Provider) -> None:
    refused(Provider().attest([SoftwareSigner.generate()]), provider, "ka_invalid")


def test_d1_expired(provider: Provider) -> None:
    refused(provider.attest([SoftwareSigner.generate()], lifetime=60), provider, "ka_invalid", now=NOW + 3600)


def test_d1_exp_required(provider: Provider) -> None:
    body = {"iat": NOW, "attested_keys": [SoftwareSigner.generate().public_jwk]}
    token = encode_jwt(body, SoftwareSigner(provider.key), typ=KEY_ATTESTATION_TYP, header={"x5c": provider.x5c})
    refused(token, provider, "ka_invalid")


def test_d1_typ(provider: Provider) -> None:
    body = {"iat": NOW, "exp": NOW + 60, "attested_keys": [SoftwareSigner.generate().public_jwk]}
    token = encode_jwt(body, SoftwareSigner(provider.key), typ="JWT", header={"x5c": provider.x5c})
    refused(token, provider, "ka_invalid")


def test_d1_attested_keys_required_and_public(provider: Provider) -> None:
    for keys in ([], [PrivateKey.generate("ES256").private_jwk()], "x"):
        body = {"iat": NOW, "exp": NOW + 60, "attested_keys": keys}
        token = encode_jwt(body, SoftwareSigner(provider.key), typ=KEY_ATTESTATION_TYP, header={"x5c": provider.x5c})
        refused(token, provider, "ka_no_keys" if keys in ([], "x") else "ka_bad_key")


def test_f1_nonce_must_be_c_nonce(provider: Provider) -> None:
    refused(provider.attest([SoftwareSigner.generate()], nonce="old"), provider, "ka_wrong_nonce", nonce="new")
    refused(provider.attest([SoftwareSigner.generate()]), provider, "ka_wrong_nonce", nonce="new")


def test_12_2_4_key_attestations_required_levels(provider: Provider) -> None:
    token = provider.attest([SoftwareSigner.generate()], key_storage=["iso_18045_basic"])
    refused(token, provider, "ka_key_storage", required_key_storage=[ISO_18045_HIGH])
    refused(
        provider.attest([SoftwareSigner.generate()]),
        provider,
        "ka_user_auth",
        required_user_authentication=[ISO_18045_HIGH],
    )


def test_attested_proof_roundtrip_with_batch(provider: Provider) -> None:
    """HAIP 1.0 §4.5.1: one key attestation covers all batch keys; each proof carries it."""
    keys = [SoftwareSigner.generate() for _ in range(3)]
    attestation = provider.attest(keys, nonce="n1")
    for key in keys:
        proof = create_attested_proof_jwt(key, attestation, audience=AUD, now=NOW, nonce="n1")
        header = json.loads(b64url_decode(proof.split(".")[0]))
        assert header["typ"] == "openid4vci-proof+jwt" and header["jwk"] == key.public_jwk and "kid" not in header
        verified, ka = verify_attested_proof_jwt(proof, anchors=[provider.ca], audience=AUD, now=NOW)
        assert verified.jwk == key.public_jwk and len(ka.attested_keys) == 3


def test_d1_proof_key_must_be_attested(provider: Provider) -> None:
    attestation = provider.attest([SoftwareSigner.generate()], nonce="n1")
    proof = create_attested_proof_jwt(SoftwareSigner.generate(), attestation, audience=AUD, now=NOW, nonce="n1")
    with pytest.raises(InvalidProof) as info:
        verify_attested_proof_jwt(proof, anchors=[provider.ca], audience=AUD, now=NOW)
    assert info.value.reason == "ka_key_not_attested"


def test_attested_proof_without_attestation(provider: Provider) -> None:
    proof = create_proof_jwt(SoftwareSigner.generate(), audience=AUD, now=NOW, nonce="n1")
    with pytest.raises(InvalidProof) as info:
        verify_attested_proof_jwt(proof, anchors=[provider.ca], audience=AUD, now=NOW)
    assert info.value.reason == "ka_missing"


def test_attestation_nonce_must_match_proof_nonce(provider: Provider) -> None:
    key = SoftwareSigner.generate()
    proof = create_attested_proof_jwt(key, provider.attest([key], nonce="n0"), audience=AUD, now=NOW, nonce="n1")
    with pytest.raises(InvalidProof) as info:
        verify_attested_proof_jwt(proof, anchors=[provider.ca], audience=AUD, now=NOW)
    assert info.value.reason == "ka_wrong_nonce"
