"""did:jwk (did:jwk Method Specification), against the spec's two examples."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from did_support import private_key_from_secret
from did_vectors import DID_JWK_CONTEXT, DID_JWK_P256, DID_JWK_P256_JWK, DID_JWK_X25519, DID_JWK_X25519_JWK
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.did import (
    DidJwkDriver,
    did_jwk_from_public_key,
    jwk_from_did_jwk,
    public_key_from_did_jwk,
    resolve_did_jwk,
)
from ssi.encoding import b64url_encode
from ssi.errors import DidError, SsiError
from ssi.keys import PrivateKey

SIGNATURE_RELATIONSHIPS = ["assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"]


def _did(jwk: Any) -> str:
    return "did:jwk:" + b64url_encode(json.dumps(jwk).encode())


def _reason(did: str) -> str:
    with pytest.raises(DidError) as info:
        resolve_did_jwk(did)
    return info.value.reason


def test_example_p256_document() -> None:
    """The "P-256" example: DID, DID URL (#0) and DID document.

    The spec's example has a typo in ``authentication`` ("did:jwk:$eyJ…#0"); the template above it says
    ``did:jwk:${base64url-value}#0`` like every other relationship, which is what we produce.
    """
    doc = resolve_did_jwk(DID_JWK_P256)
    vm_id = f"{DID_JWK_P256}#0"
    expected = {
        "@context": DID_JWK_CONTEXT,
        "id": DID_JWK_P256,
        "verificationMethod": [
            {"id": vm_id, "type": "JsonWebKey2020", "controller": DID_JWK_P256, "publicKeyJwk": DID_JWK_P256_JWK}
        ],
        **{name: [vm_id] for name in SIGNATURE_RELATIONSHIPS},
        "keyAgreement": [vm_id],
    }
    assert doc.to_json() == expected
    assert jwk_from_did_jwk(DID_JWK_P256) == DID_JWK_P256_JWK
    key = doc.public_key(vm_id, "assertionMethod")
    assert key.jwk == {"kty": "EC", **DID_JWK_P256_JWK}
    assert public_key_from_did_jwk(DID_JWK_P256) == key
    # Create: the spec's DID is the base64url of the JWK with sorted members, as we serialize it
    assert did_jwk_from_public_key(key) == DID_JWK_P256
    assert DidJwkDriver().resolve(DID_JWK_P256) == doc


def test_example_x25519_document() -> None:
    """The "X25519" example: ``"use": "enc"`` → "only the keyAgreement property is included"."""
    doc = resolve_did_jwk(DID_JWK_X25519)
    vm_id = f"{DID_JWK_X25519}#0"
    assert doc.to_json() == {
        "@context": DID_JWK_CONTEXT,
        "id": DID_JWK_X25519,
        "verificationMethod": [
            {"id": vm_id, "type": "JsonWebKey2020", "controller": DID_JWK_X25519, "publicKeyJwk": DID_JWK_X25519_JWK}
        ],
        "keyAgreement": [vm_id],
    }
    with pytest.raises(DidError) as info:  # X25519 is not a verification key for govssi
        doc.public_key("#0", "keyAgreement")
    assert info.value.reason == "unsupportedPublicKeyType"


def test_use_sig_leaves_out_key_agreement() -> None:
    """ "If the JWK contains a use property with the value "sig" then the keyAgreement property is not included"."""
    key = PrivateKey.generate("ES256").public_key
    doc = resolve_did_jwk(_did({**key.jwk, "use": "sig"}))
    assert doc.key_agreement == ()
    assert all(getattr(doc, n) for n in ("authentication", "assertion_method", "capability_invocation"))
    doc = resolve_did_jwk(_did({**key.jwk, "use": "enc"}))
    assert doc.key_agreement and not doc.assertion_method and not doc.authentication


def test_fragment_is_always_0_even_with_kid() -> None:
    """ "If the JWK contains a kid value it is not used as the reference, #0 is the only valid value."
    Additional members are "accessible only in the verificationMethod"."""
    key = PrivateKey.generate("EdDSA").public_key
    did = _did({**key.jwk, "kid": "key-1", "x-custom": 1})
    doc = resolve_did_jwk(did)
    assert doc.verification_method[0].id == f"{did}#0"
    assert doc.verification_method[0].public_key_jwk == {**key.jwk, "kid": "key-1", "x-custom": 1}
    with pytest.raises(DidError):
        doc.public_key("#key-1")


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "ES256K"])
def test_private_keys_are_rejected(alg: str) -> None:
    """Security: "a JWK for a private key must never be used and must be rejected by all implementations"."""
    assert _reason(_did(PrivateKey.generate(alg).private_jwk())) == "invalidDid"


@pytest.mark.parametrize(
    "did",
    [
        "did:jwk:" + b64url_encode(b"{"),  # Read step 3: malformed JSON
        "did:jwk:" + b64url_encode(b'{"kty":"EC","kty":"EC"}'),  # duplicate member names
        "did:jwk:" + b64url_encode(b"[]"),  # not a JWK object
        "did:jwk:" + b64url_encode(b"\xff\xfe"),  # not UTF-8
        "did:jwk:" + b64url_encode(b'"x"'),
        "did:jwk:eyJ=",  # Read step 2: base64url without padding
        "did:jwk:e+J9",
        "did:jwk:eyJhIjoxfQ:eyJ9",  # ':' is not base64url
        "did:jwk:%65yJ9",
        "did:jwk:eyJhIjoxfR",  # non-canonical base64url (unused bits set)
        "did:key:" + b64url_encode(b"{}"),  # wrong method
    ],
)
def test_malformed_identifiers(did: str) -> None:
    assert _reason(did) == "invalidDid"


@pytest.mark.parametrize(
    ("jwk", "reason"),
    [
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "unsupportedPublicKeyType"),
        ({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, "unsupportedPublicKeyType"),
        ({"crv": "P-256", "x": "AA", "y": "AA"}, "unsupportedPublicKeyType"),
        ({"kty": "OKP", "crv": "X25519", "x": "short"}, "invalidPublicKey"),
        ({"kty": "OKP", "crv": "X25519", "x": DID_JWK_X25519_JWK["x"]}, "invalidPublicKey"),  # X25519 needs use=enc
        ({"kty": "OKP", "crv": "X25519", "use": "sig", "x": DID_JWK_X25519_JWK["x"]}, "invalidPublicKey"),
        ({**DID_JWK_P256_JWK, "kty": "EC", "use": "both"}, "invalidPublicKey"),
        ({**DID_JWK_P256_JWK, "kty": "EC", "y": DID_JWK_P256_JWK["x"]}, "invalidPublicKey"),  # not on the curve
        ({**DID_JWK_P256_JWK, "kty": "EC", "alg": "EdDSA"}, "invalidPublicKey"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "invalidPublicKey"),
    ],
)
def test_jwk_validation(jwk: dict[str, Any], reason: str) -> None:
    """Read step 4: "Validate the JWK properties"."""
    assert _reason(_did(jwk)) == reason


def test_ed25519_is_only_for_signatures() -> None:
    """ "the curve ed25519 is only valid for "sig" use" (RFC 8037)."""
    jwk = {**PrivateKey.generate("EdDSA").public_key.jwk, "use": "enc"}
    assert _reason(_did(jwk)) == "invalidPublicKey"


# -- round trips --------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["EdDSA", "ES256", "ES256K"]), st.binary(min_size=32, max_size=32))
def test_round_trip_generated_keys(alg: str, secret: bytes) -> None:
    private = private_key_from_secret(alg, secret)
    did = did_jwk_from_public_key(private.public_key)
    assert public_key_from_did_jwk(did) == private.public_key
    doc = resolve_did_jwk(did)
    key = doc.public_key(f"{did}#0", "assertionMethod")
    assert key == private.public_key
    key.verify(alg, b"payload", private.sign(b"payload"))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.binary(max_size=120).map(lambda b: "did:jwk:" + b64url_encode(b)),
        st.dictionaries(
            st.sampled_from(["kty", "crv", "x", "y", "d", "use", "alg", "kid"]),
            st.one_of(
                st.sampled_from(["EC", "OKP", "P-256", "Ed25519", "X25519", "secp256k1", "sig", "enc"]),
                st.text(max_size=50),
                st.integers(),
                st.none(),
                st.lists(st.integers(), max_size=2),
            ),
            max_size=6,
        ).map(_did),
    )
)
def test_arbitrary_input_raises_only_ssi_errors(text: str) -> None:
    for decode in (resolve_did_jwk, public_key_from_did_jwk, jwk_from_did_jwk):
        with contextlib.suppress(SsiError):
            decode(text)
