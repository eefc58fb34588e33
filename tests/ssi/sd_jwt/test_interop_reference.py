"""Interoperability with the reference implementation, the ``sd-jwt`` PyPI package 0.10.4 (import name ``sd_jwt``).

Both directions, compact serialization, with Key Binding:
- our Issuer → reference Holder → reference Verifier (and our Verifier on the same presentation);
- reference Issuer → reference Holder → our Verifier (and the reference Verifier on the same presentation).

The reference library is draft-era. Differences that matter here (documented, adapted, or asserted):
- its Issuer-signed JWT has ``typ: example+sd-jwt`` and always ``_sd_alg``; our Verifier enforces ``typ`` only when
  the policy names values, so the default policy accepts it;
- its JSON serialization puts ``disclosures``/``kb_jwt`` at the top level of the JWS JSON object (older drafts), not
  in the unprotected header as RFC 9901 §8.1 requires; RFC 7515 §7.2.1 says unknown members "MUST be ignored", so our
  Verifier sees an SD-JWT without Disclosures and, when Key Binding is required, without a KB-JWT;
- its Verifier does not check unreferenced Disclosures (§7.1 step 5), the KB-JWT ``iat`` window (§7.3 step 5.5) or
  that the KB ``aud`` is a single string; ours does — see ``test_reference_verifier_is_more_lenient``.
The reference code is only *called* here (as a black box); none of it is copied.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sdjwt_support import (
    AUD,
    HOLDER,
    HOLDER_JWK,
    HOLDER_PUBLIC_JWK,
    ISSUER,
    ISSUER_JWK,
    ISSUER_KEY,
    KB_POLICY,
    NO_KB_POLICY,
    NONCE,
    Sd,
    disclosure,
    holder_paths,
    sha256_digest,
    strip_sd,
    with_kb,
)

from ssi.clock import system_clock
from ssi.encoding import b64url_json
from ssi.errors import SsiError
from ssi.sd_jwt import HeldSdJwt, issue_sd_jwt, split_compact, verify_sd_jwt

sd_jwt_common = pytest.importorskip("sd_jwt.common", reason="the reference library sd-jwt (0.10.x) is not installed")
sd_jwt_issuer = pytest.importorskip("sd_jwt.issuer")
sd_jwt_holder = pytest.importorskip("sd_jwt.holder")
sd_jwt_verifier = pytest.importorskip("sd_jwt.verifier")
jwcrypto_jwk = pytest.importorskip("jwcrypto.jwk")

REF_ISSUER_KEY = jwcrypto_jwk.JWK(**ISSUER_JWK)
REF_HOLDER_KEY = jwcrypto_jwk.JWK(**HOLDER_JWK)
ISS = "https://issuer.example.com"

#: (name, claims with Sd marks, holder selection in the reference's ``claims_to_disclose`` format, expected claims)
CASES: list[tuple[str, dict[Any, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "flat",
        {Sd("given_name"): "John", Sd("family_name"): "Doe", "email": "johndoe@example.com", Sd("age"): 42},
        {"given_name": True, "age": True},
        {"given_name": "John", "email": "johndoe@example.com", "age": 42},
    ),
    (
        "structured_and_recursive_object",
        {
            Sd("address"): {Sd("street_address"): "Schulstr. 12", Sd("locality"): "Schulpforta", "country": "DE"},
            "birth": {Sd("place"): {"country": "IS", "locality": "Þykkvabæjarklaustur"}, "date": "1956-01-28"},
        },
        {"address": {"locality": True}, "birth": {"place": True}},
        {
            "address": {"locality": "Schulpforta", "country": "DE"},
            "birth": {"place": {"country": "IS", "locality": "Þykkvabæjarklaustur"}, "date": "1956-01-28"},
        },
    ),
    (
        "recursive_array",
        {Sd("nationalities"): [Sd("DE"), Sd("FR"), "UK"], "plain": [1, Sd(2), 3]},
        {"nationalities": [True, False, None], "plain": [None, True]},
        {"nationalities": ["DE", "UK"], "plain": [1, 2, 3]},
    ),
    (
        "nested_arrays_and_objects_in_arrays",
        {
            "nested": [[Sd("foo"), Sd("bar")], [Sd("baz"), "qux"]],
            "addresses": [{"street": "Main St"}, Sd({"street": "Side St", Sd("zip"): "12345"})],
            "types": [Sd(None), Sd(3.5), Sd(True), Sd(["x"]), Sd({"k": "v"})],
        },
        {
            "nested": [[False, True], [True]],
            "addresses": [None, {"zip": True}],
            "types": [True, True, True, True, True],
        },
        {
            "nested": [["bar"], ["baz", "qux"]],
            "addresses": [{"street": "Main St"}, {"street": "Side St", "zip": "12345"}],
            "types": [None, 3.5, True, ["x"], {"k": "v"}],
        },
    ),
    (
        "nothing_disclosed",
        {Sd("a"): 1, "b": {Sd("c"): 2}, "d": [Sd(1)]},
        {},
        {"b": {}, "d": []},
    ),
]


def _to_reference(value: Any) -> Any:
    """Our Sd marks → the reference library's ``SDObj`` marks."""
    sd_obj = sd_jwt_common.SDObj
    if isinstance(value, Sd):
        return sd_obj(_to_reference(value.value))
    if isinstance(value, dict):
        return {(sd_obj(k.value) if isinstance(k, Sd) else k): _to_reference(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_reference(v) for v in value]
    return value


def _reference_verify(presentation: str, *, nonce: str = NONCE) -> dict[str, Any]:
    verifier = sd_jwt_verifier.SDJWTVerifier(
        presentation,
        lambda _iss, _header: jwcrypto_jwk.JWK(**ISSUER_KEY.jwk),
        expected_aud=AUD,
        expected_nonce=nonce,
        serialization_format="compact",
    )
    result: dict[str, Any] = verifier.get_verified_payload()
    return result


def _our_verify(presentation: str | dict[str, Any]) -> dict[str, Any]:
    return verify_sd_jwt(presentation, ISSUER_KEY, KB_POLICY, clock=system_clock).claims


def _reference_present(issuance: str, selection: dict[str, Any]) -> str:
    holder = sd_jwt_holder.SDJWTHolder(issuance, serialization_format="compact")
    holder.create_presentation(selection, nonce=NONCE, aud=AUD, holder_key=REF_HOLDER_KEY, sign_alg="ES256")
    text: str = holder.sd_jwt_presentation
    return text


def _with_envelope(expected: dict[str, Any]) -> dict[str, Any]:
    return {**expected, "iss": ISS, "cnf": {"jwk": HOLDER_PUBLIC_JWK}}


@pytest.mark.parametrize(("name", "marked", "selection", "expected"), CASES, ids=[c[0] for c in CASES])
def test_our_issuer_to_reference_holder_and_verifier(
    name: str, marked: dict[Any, Any], selection: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Our SD-JWT (decoys, compact JSON Disclosures, sorted ``_sd``) is understood by the reference Holder and
    Verifier; both Verifiers agree on the presentation the reference Holder built.

    Difference: the reference Holder selects array elements by position in the *signed* array, decoys included
    (its own Issuer never puts decoys into arrays), so with our array decoys its positional selection would no longer
    line up with the claims. Cases with disclosable array elements are therefore issued without decoys."""
    plain, paths = strip_sd(marked)
    claims = {**plain, "iss": ISS, "cnf": {"jwk": HOLDER_PUBLIC_JWK}}
    has_array_elements = any(isinstance(p[-1], int) for p in paths)
    decoys = 0 if has_array_elements else 2
    issued = issue_sd_jwt(claims, ISSUER, disclosable=paths, decoys=decoys, header={"typ": "example+sd-jwt"})
    presentation = _reference_present(issued.compact, selection)
    assert _reference_verify(presentation) == _with_envelope(expected)
    assert _our_verify(presentation) == _with_envelope(expected)


@pytest.mark.parametrize(("name", "marked", "selection", "expected"), CASES, ids=[c[0] for c in CASES])
def test_reference_issuer_and_holder_to_our_verifier(
    name: str, marked: dict[Any, Any], selection: dict[str, Any], expected: dict[str, Any]
) -> None:
    """A reference-issued SD-JWT (``typ`` example+sd-jwt, Python ``json.dumps`` spacing in Disclosures) presented by
    the reference Holder verifies with our Verifier to the same claims the reference Verifier outputs."""
    issuer = sd_jwt_issuer.SDJWTIssuer(
        {"iss": ISS, **_to_reference(marked)}, REF_ISSUER_KEY, holder_key=REF_HOLDER_KEY, sign_alg="ES256"
    )
    presentation = _reference_present(issuer.sd_jwt_issuance, selection)
    assert _our_verify(presentation) == _with_envelope(expected)
    assert _reference_verify(presentation) == _with_envelope(expected)


@pytest.mark.parametrize(("name", "marked", "selection", "expected"), CASES, ids=[c[0] for c in CASES])
def test_reference_issuer_to_our_holder_to_both_verifiers(
    name: str, marked: dict[Any, Any], selection: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Our Holder presents a reference-issued SD-JWT; the selection maps to claim paths as in test_testcases."""
    issuer = sd_jwt_issuer.SDJWTIssuer(
        {"iss": ISS, **_to_reference(marked)}, REF_ISSUER_KEY, holder_key=REF_HOLDER_KEY, sign_alg="ES256"
    )
    held = HeldSdJwt.parse(issuer.sd_jwt_issuance)
    text = held.present(holder_paths(selection), holder=HOLDER, audience=AUD, nonce=NONCE)
    assert _our_verify(text) == _with_envelope(expected)
    assert _reference_verify(text) == _with_envelope(expected)


def test_reference_kb_jwt_shape_matches_rfc_9901() -> None:
    """The reference KB-JWT has ``typ`` kb+jwt and iat/aud/nonce/sd_hash over the compact SD-JWT (§4.3, §4.3.1)."""
    issuer = sd_jwt_issuer.SDJWTIssuer(
        {"iss": ISS, sd_jwt_common.SDObj("a"): 1}, REF_ISSUER_KEY, holder_key=REF_HOLDER_KEY, sign_alg="ES256"
    )
    text = _reference_present(issuer.sd_jwt_issuance, {"a": True})
    parts = split_compact(text)
    assert parts.kb_jwt is not None
    header, claims = (b64url_json(p) for p in parts.kb_jwt.split(".")[:2])
    assert header == {"alg": "ES256", "typ": "kb+jwt"}
    assert claims["sd_hash"] == sha256_digest(parts.sd_jwt)
    assert abs(claims["iat"] - time.time()) < 120
    assert b64url_json(parts.issuer_jwt.split(".")[0])["typ"] == "example+sd-jwt"


def test_reference_json_serialization_is_draft_era() -> None:
    """Difference: the reference puts ``disclosures``/``kb_jwt`` at the top level of the JWS JSON object (older
    drafts); RFC 9901 §8.1 has them in the unprotected header. Our Verifier ignores the unknown top-level members
    (RFC 7515 §7.2.1), so it sees no KB-JWT (Key Binding required → ``kb_missing``) and no Disclosures."""
    issuer = sd_jwt_issuer.SDJWTIssuer(
        {"iss": ISS, sd_jwt_common.SDObj("a"): 1},
        REF_ISSUER_KEY,
        holder_key=REF_HOLDER_KEY,
        sign_alg="ES256",
        serialization_format="json",
    )
    holder = sd_jwt_holder.SDJWTHolder(issuer.sd_jwt_issuance, serialization_format="json")
    holder.create_presentation({"a": True}, nonce=NONCE, aud=AUD, holder_key=REF_HOLDER_KEY, sign_alg="ES256")
    obj = json.loads(holder.sd_jwt_presentation)
    assert "disclosures" in obj and "kb_jwt" in obj and "header" not in obj
    with pytest.raises(SsiError) as info:
        _our_verify(obj)
    assert info.value.reason == "kb_missing"
    without_kb = {k: v for k, v in obj.items() if k != "kb_jwt"}
    claims = verify_sd_jwt(without_kb, ISSUER_KEY, NO_KB_POLICY, clock=system_clock).claims
    assert "a" not in claims and claims["iss"] == ISS


def test_reference_verifier_is_more_lenient() -> None:
    """Differences in strictness (RFC 9901 §7.1 step 5 and §7.3 step 5.5): an unreferenced Disclosure and a KB-JWT
    from the distant past pass the reference Verifier but not ours."""
    issued = issue_sd_jwt({"iss": ISS, "a": 1, "cnf": {"jwk": HOLDER_PUBLIC_JWK}}, ISSUER, disclosable=[("a",)])
    stranger = disclosure("salt-s", "is_admin", True)
    text = HeldSdJwt.parse(issued.compact).present([("a",)]) + stranger + "~"
    holder = sd_jwt_holder.SDJWTHolder(text, serialization_format="compact")
    holder.create_presentation({"a": True}, nonce=NONCE, aud=AUD, holder_key=REF_HOLDER_KEY, sign_alg="ES256")
    # the reference Holder drops the stranger (it only sends what the payload references) ...
    assert stranger not in holder.sd_jwt_presentation
    # ... but the reference Verifier accepts it when a presentation carries it
    crafted = with_kb(text)
    assert _reference_verify(crafted)["a"] == 1
    with pytest.raises(SsiError) as info:
        verify_sd_jwt(crafted, ISSUER_KEY, KB_POLICY, clock=system_clock)
    assert info.value.reason == "unreferenced_disclosure"
    stale = with_kb(HeldSdJwt.parse(issued.compact).present([("a",)]), iat=1_000_000_000)
    assert _reference_verify(stale)["a"] == 1
    with pytest.raises(SsiError) as info:
        verify_sd_jwt(stale, ISSUER_KEY, KB_POLICY, clock=system_clock)
    assert info.value.reason == "kb_stale"
