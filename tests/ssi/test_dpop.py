"""RFC 9449 (DPoP): every check of §4.3 has a test named after its point."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.dpop import access_token_hash, create_dpop_proof, normalize_htu, verify_dpop_proof
from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import InvalidDpopProof, UseDpopNonce
from ssi.jose import sign_compact
from ssi.keys import SoftwareSigner

NOW = 1_800_000_000.0
URL = "https://issuer.example/token"


@pytest.fixture(scope="module")
def signer() -> SoftwareSigner:
    return SoftwareSigner.generate("ES256")


def _proof(signer: SoftwareSigner, **kw: object) -> str:
    args: dict[str, object] = {"htm": "POST", "htu": URL, "now": NOW}
    args.update(kw)
    return create_dpop_proof(signer, **args)  # type: ignore[arg-type]


def _forge(signer: SoftwareSigner, header: dict[str, object], claims: dict[str, object]) -> str:
    return sign_compact(json.dumps(claims).encode(), signer, header)


def test_round_trip_returns_thumbprint_and_jti(signer: SoftwareSigner) -> None:
    proof = verify_dpop_proof(_proof(signer, jti="j1"), htm="POST", htu=URL, now=NOW)
    assert proof.jkt == signer.public_key.thumbprint()
    assert proof.jti == "j1"
    assert proof.iat == NOW


def test_s4_2_header_has_typ_and_public_jwk_only(signer: SoftwareSigner) -> None:
    header = json.loads(b64url_decode(_proof(signer).split(".")[0]))
    assert header["typ"] == "dpop+jwt"
    assert header["jwk"] == signer.public_jwk
    assert "kid" not in header
    assert "d" not in header["jwk"]


def test_s4_2_htu_without_query_and_fragment(signer: SoftwareSigner) -> None:
    claims = json.loads(b64url_decode(_proof(signer, htu=URL + "?a=1#f").split(".")[1]))
    assert claims["htu"] == URL


def test_s4_3_point2_malformed_jwt(signer: SoftwareSigner) -> None:
    with pytest.raises(InvalidDpopProof):
        verify_dpop_proof("not.a.jwt", htm="POST", htu=URL, now=NOW)
    with pytest.raises(InvalidDpopProof, match="missing"):
        verify_dpop_proof("", htm="POST", htu=URL, now=NOW)


def test_s4_3_point3_required_claims(signer: SoftwareSigner) -> None:
    header = {"typ": "dpop+jwt", "jwk": signer.public_jwk}
    base = {"jti": "x", "htm": "POST", "htu": URL, "iat": int(NOW)}
    for missing in base:
        claims = {k: v for k, v in base.items() if k != missing}
        with pytest.raises(InvalidDpopProof):
            verify_dpop_proof(_forge(signer, header, claims), htm="POST", htu=URL, now=NOW)


def test_s4_3_point4_typ_must_be_dpop_jwt(signer: SoftwareSigner) -> None:
    claims = {"jti": "x", "htm": "POST", "htu": URL, "iat": int(NOW)}
    for typ in ("JWT", "dpop", None):
        header = {"typ": typ, "jwk": signer.public_jwk}
        with pytest.raises(InvalidDpopProof) as info:
            verify_dpop_proof(_forge(signer, header, claims), htm="POST", htu=URL, now=NOW)
        assert info.value.reason == "dpop_wrong_typ"


def test_s4_3_point5_alg_allowlist(signer: SoftwareSigner) -> None:
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof(_proof(signer), htm="POST", htu=URL, now=NOW, algorithms=("EdDSA",))
    assert info.value.code == "invalid_dpop_proof"
    none_proof = (
        b64url_encode(json.dumps({"alg": "none", "typ": "dpop+jwt", "jwk": signer.public_jwk}).encode())
        + "."
        + b64url_encode(json.dumps({"jti": "x", "htm": "POST", "htu": URL, "iat": int(NOW)}).encode())
        + "."
    )
    with pytest.raises(InvalidDpopProof):
        verify_dpop_proof(none_proof, htm="POST", htu=URL, now=NOW)


def test_s4_3_point6_signature_by_header_key(signer: SoftwareSigner) -> None:
    other = SoftwareSigner.generate("ES256")
    claims = {"jti": "x", "htm": "POST", "htu": URL, "iat": int(NOW)}
    forged = _forge(other, {"typ": "dpop+jwt", "jwk": signer.public_jwk}, claims)
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof(forged, htm="POST", htu=URL, now=NOW)
    assert info.value.reason == "dpop_invalid_signature"


def test_s4_3_point7_private_key_in_jwk_refused(signer: SoftwareSigner) -> None:
    private_jwk = signer._key.private_jwk()
    claims = {"jti": "x", "htm": "POST", "htu": URL, "iat": int(NOW)}
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof(_forge(signer, {"typ": "dpop+jwt", "jwk": private_jwk}, claims), htm="POST", htu=URL, now=NOW)
    assert info.value.reason == "dpop_private_jwk"


def test_s4_3_point8_htm(signer: SoftwareSigner) -> None:
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof(_proof(signer), htm="GET", htu=URL, now=NOW)
    assert info.value.reason == "dpop_wrong_htm"


def test_s4_3_point9_htu_ignoring_query_and_fragment(signer: SoftwareSigner) -> None:
    verify_dpop_proof(_proof(signer), htm="POST", htu=URL + "?x=1", now=NOW)
    verify_dpop_proof(_proof(signer), htm="POST", htu="HTTPS://Issuer.Example:443/token", now=NOW)
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof(_proof(signer), htm="POST", htu="https://issuer.example/credential", now=NOW)
    assert info.value.reason == "dpop_wrong_htu"


def test_s4_3_point10_nonce(signer: SoftwareSigner) -> None:
    with pytest.raises(UseDpopNonce) as info:
        verify_dpop_proof(_proof(signer), htm="POST", htu=URL, now=NOW, nonce="n1")
    assert info.value.code == "use_dpop_nonce"
    with pytest.raises(UseDpopNonce):
        verify_dpop_proof(_proof(signer, nonce="old"), htm="POST", htu=URL, now=NOW, nonce="n1")
    with pytest.raises(UseDpopNonce):
        verify_dpop_proof(_proof(signer), htm="POST", htu=URL, now=NOW, nonce_required=True)
    assert verify_dpop_proof(_proof(signer, nonce="n1"), htm="POST", htu=URL, now=NOW, nonce="n1").nonce == "n1"


def test_s4_3_point11_iat_window(signer: SoftwareSigner) -> None:
    verify_dpop_proof(_proof(signer, now=NOW - 60), htm="POST", htu=URL, now=NOW)
    for when in (NOW - 120, NOW + 30):
        with pytest.raises(InvalidDpopProof) as info:
            verify_dpop_proof(_proof(signer, now=when), htm="POST", htu=URL, now=NOW)
        assert info.value.reason == "dpop_iat_window"


def test_s4_3_point13_ath_and_bound_key(signer: SoftwareSigner) -> None:
    token = "access-token-value"
    proof = _proof(signer, htm="GET", access_token=token)
    jkt = signer.public_key.thumbprint()
    verify_dpop_proof(proof, htm="GET", htu=URL, now=NOW, access_token=token, jkt=jkt)
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof(proof, htm="GET", htu=URL, now=NOW, access_token="other", jkt=jkt)
    assert info.value.reason == "dpop_wrong_ath"
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof(_proof(signer, htm="GET"), htm="GET", htu=URL, now=NOW, access_token=token, jkt=jkt)
    assert info.value.reason == "dpop_wrong_ath"
    other = SoftwareSigner.generate("ES256").public_key.thumbprint()
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof(proof, htm="GET", htu=URL, now=NOW, access_token=token, jkt=other)
    assert info.value.reason == "dpop_wrong_key"


def test_s4_2_ath_is_b64url_sha256_of_token() -> None:
    # SHA-256("abc") is a well-known value; base64url without padding.
    assert access_token_hash("abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"


def test_oversize_proof_refused() -> None:
    with pytest.raises(InvalidDpopProof) as info:
        verify_dpop_proof("a" * 9000, htm="POST", htu=URL, now=NOW)
    assert info.value.reason == "dpop_too_large"


@given(st.text(max_size=200))
def test_property_verify_never_crashes_on_garbage(text: str) -> None:
    with contextlib.suppress(InvalidDpopProof):
        verify_dpop_proof(text, htm="POST", htu=URL, now=NOW)


@given(st.sampled_from(["http", "https"]), st.sampled_from(["A.example", "a.example"]), st.text("/abc", max_size=8))
def test_property_normalize_htu_idempotent(scheme: str, host: str, path: str) -> None:
    url = f"{scheme}://{host}/{path}?q=1#frag"
    once = normalize_htu(url)
    assert normalize_htu(once) == once
    assert "?" not in once and "#" not in once
