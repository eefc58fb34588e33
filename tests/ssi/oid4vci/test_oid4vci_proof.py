"""Key proofs of the jwt proof type (OpenID4VCI 1.0 Appendix F.1) verified by Appendix F.4."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import InvalidProof
from ssi.jose import sign_compact
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vci import PROOF_JWT_TYP, check_distinct_keys, create_proof_jwt, verify_proof_jwt

AUD = "https://credential-issuer.example.com"
NOW = 1_800_000_000.0
# Appendix F.1, the spec's example proof (test data): signed with the P-256 key in its header.
SPEC_PROOF = (
    "eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwiY3J2IjoiUC0yNTYiLCJ4Ijoi"
    "blVXQW9BdjNYWml0aDhFN2kxOU9kYXhPTFlGT3dNLVoyRXVNMDJUaXJUNCIsInkiOiJIc2tIVThCalVpMVU5WHFpN1N3bWo4Z3dBS18weGtj"
    "RGpFV183MVNvc0VZIn19.eyJhdWQiOiJodHRwczovL2NyZWRlbnRpYWwtaXNzdWVyLmV4YW1wbGUuY29tIiwiaWF0IjoxNzAxOTYwNDQ0LCJu"
    "b25jZSI6IkxhclJHU2JtVVBZdFJZTzZCUTR5bjgifQ.-a3EDsxClUB4O3LeDD5DVGEnNMT01FCQW4P6-2-BNBqc_Zxf0Qw4CWayLEpqkAomlkL"
    "b9zioZoipdP-jvh1WlA"
)


@pytest.fixture(scope="module")
def holder() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256")


def _forge(signer: SoftwareSigner, header: dict[str, Any], claims: dict[str, Any]) -> str:
    return sign_compact(json_dumps(claims).encode(), signer, header)


def _claims(**over: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"aud": AUD, "iat": int(NOW), "nonce": "n-1"}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _header(signer: SoftwareSigner, **over: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"typ": PROOF_JWT_TYP, "jwk": signer.public_jwk}
    header.update(over)
    return {k: v for k, v in header.items() if v is not None}


def test_appendix_f1_spec_example_verifies() -> None:
    proof = verify_proof_jwt(SPEC_PROOF, audience=AUD, now=1701960444)
    assert proof.nonce == "LarRGSbmUPYtRYO6BQ4yn8"
    assert proof.jwk["x"] == "nUWAoAv3XZith8E7i19OdaxOLYFOwM-Z2EuM02TirT4"


def test_round_trip_with_our_creator(holder: SoftwareSigner) -> None:
    token = create_proof_jwt(holder, audience=AUD, now=NOW, nonce="abc")
    proof = verify_proof_jwt(token, audience=AUD, now=NOW)
    assert proof.public_key == holder.public_key and proof.nonce == "abc" and proof.iat == NOW
    assert proof.thumbprint == holder.public_key.thumbprint()


def test_eddsa_when_allowed() -> None:
    ed = SoftwareSigner.generate("EdDSA")
    token = create_proof_jwt(ed, audience=AUD, now=NOW, nonce="n")
    with pytest.raises(InvalidProof):
        verify_proof_jwt(token, audience=AUD, now=NOW)
    assert verify_proof_jwt(token, audience=AUD, now=NOW, algorithms=("ES256", "EdDSA")).public_key == ed.public_key


@pytest.mark.parametrize(
    ("header_over", "reason"),
    [
        ({"typ": "JWT"}, "proof_wrong_typ"),
        ({"typ": None}, "proof_wrong_typ"),
        ({"kid": "did:example:123#1"}, "proof_key_ambiguous"),
        ({"jwk": None, "kid": "did:example:123#1"}, "proof_key_unsupported"),
        ({"jwk": None, "x5c": ["MIIB"]}, "proof_key_unsupported"),
        ({"jwk": None}, "proof_key_unsupported"),
        ({"jwk": "not-an-object"}, "proof_malformed_jwk"),
    ],
)
def test_appendix_f1_header_rules(holder: SoftwareSigner, header_over: dict[str, Any], reason: str) -> None:
    """F.1: typ "MUST be openid4vci-proof+jwt"; kid/jwk/x5c mutually exclusive; we bind by jwk only."""
    token = _forge(holder, _header(holder, **header_over), _claims())
    with pytest.raises(InvalidProof) as err:
        verify_proof_jwt(token, audience=AUD, now=NOW)
    assert err.value.reason == reason
    assert err.value.code == "invalid_proof"


def test_appendix_f4_private_key_in_header_refused(holder: SoftwareSigner) -> None:
    """F.4: "the header parameter does not contain a private key"."""
    key = PrivateKey.generate("ES256")
    signer = SoftwareSigner(key)
    token = _forge(signer, {"typ": PROOF_JWT_TYP, "jwk": key.private_jwk()}, _claims())
    with pytest.raises(InvalidProof) as err:
        verify_proof_jwt(token, audience=AUD, now=NOW)
    assert err.value.reason == "proof_private_jwk"


def test_appendix_f4_signature_must_verify_with_header_key(holder: SoftwareSigner) -> None:
    other = SoftwareSigner.generate("ES256")
    token = _forge(other, _header(holder), _claims())
    with pytest.raises(InvalidProof) as err:
        verify_proof_jwt(token, audience=AUD, now=NOW)
    assert err.value.reason == "proof_invalid_signature"


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_appendix_f4_alg_none_and_mac_refused(holder: SoftwareSigner, alg: str) -> None:
    header = b64url_encode(json.dumps({**_header(holder), "alg": alg}).encode())
    payload = b64url_encode(json.dumps(_claims()).encode())
    with pytest.raises(InvalidProof):
        verify_proof_jwt(f"{header}.{payload}.", audience=AUD, now=NOW)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (_claims(aud=None), "proof_missing_aud"),
        (_claims(aud=[AUD]), "proof_missing_aud"),
        (_claims(aud="https://other.example"), "proof_wrong_aud"),
        (_claims(iat=None), "proof_missing_iat"),
        (_claims(iat="1800000000"), "proof_missing_iat"),
        (_claims(iat=True), "proof_missing_iat"),
        (_claims(iat=int(NOW) + 61), "proof_iat_future"),
        (_claims(iat=int(NOW) - 361), "proof_iat_too_old"),
        (_claims(nonce=None), "proof_missing_nonce"),
        (_claims(nonce=5), "proof_malformed_nonce"),
        (_claims(nonce=""), "proof_malformed_nonce"),
        (_claims(iss="wallet-client"), "proof_unexpected_iss"),
    ],
)
def test_appendix_f1_claim_rules(holder: SoftwareSigner, claims: dict[str, Any], reason: str) -> None:
    """F.1: aud REQUIRED string = issuer identifier; iat REQUIRED number within the window; nonce when the issuer
    has a Nonce Endpoint; iss omitted after anonymous pre-authorized access."""
    token = _forge(holder, _header(holder), claims)
    with pytest.raises(InvalidProof) as err:
        verify_proof_jwt(token, audience=AUD, now=NOW)
    assert err.value.reason == reason


def test_appendix_f1_iss_is_the_client_id_when_the_client_authenticated(holder: SoftwareSigner) -> None:
    good = create_proof_jwt(holder, audience=AUD, now=NOW, nonce="n", client_id="wallet-1")
    assert verify_proof_jwt(good, audience=AUD, now=NOW, client_id="wallet-1").nonce == "n"
    bad = create_proof_jwt(holder, audience=AUD, now=NOW, nonce="n", client_id="wallet-2")
    with pytest.raises(InvalidProof) as err:
        verify_proof_jwt(bad, audience=AUD, now=NOW, client_id="wallet-1")
    assert err.value.reason == "proof_wrong_iss"


def test_nonce_optional_without_nonce_endpoint(holder: SoftwareSigner) -> None:
    token = create_proof_jwt(holder, audience=AUD, now=NOW)
    assert verify_proof_jwt(token, audience=AUD, now=NOW, nonce_required=False).nonce is None


def test_distinct_keys_in_a_batch(holder: SoftwareSigner) -> None:
    """§8.3: "Each key provided by the Wallet is used to bind to, at most, one Credential"."""
    a = verify_proof_jwt(create_proof_jwt(holder, audience=AUD, now=NOW, nonce="n"), audience=AUD, now=NOW)
    b = verify_proof_jwt(create_proof_jwt(holder, audience=AUD, now=NOW - 1, nonce="n"), audience=AUD, now=NOW)
    other = SoftwareSigner.generate("ES256")
    c = verify_proof_jwt(create_proof_jwt(other, audience=AUD, now=NOW, nonce="n"), audience=AUD, now=NOW)
    check_distinct_keys([a, c])
    with pytest.raises(InvalidProof) as err:
        check_distinct_keys([a, c, b])
    assert err.value.reason == "proof_duplicate_key"


@pytest.mark.parametrize("value", [None, 5, "", "a.b", "x" * 20000, ["a"]])
def test_malformed_proof_values(value: Any) -> None:
    with pytest.raises(InvalidProof):
        verify_proof_jwt(value, audience=AUD, now=NOW)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_property_arbitrary_text_is_an_invalid_proof(text: str) -> None:
    with pytest.raises(InvalidProof):
        verify_proof_jwt(text, audience=AUD, now=NOW)
