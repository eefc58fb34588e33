"""RFC 9901 §4 (compact format, the '~' rules) and §8 (JWS JSON serialization, flattened and general)."""

from __future__ import annotations

import json

import pytest
from sdjwt_support import (
    AUD,
    HOLDER,
    HOLDER_PUBLIC_JWK,
    ISSUER_1,
    ISSUER_2,
    ISSUER_KEY,
    KB_POLICY,
    NO_KB_POLICY,
    NONCE,
    KidResolver,
    clock,
    disclosure,
    kb_jwt,
    reason,
    sd_jwt,
    sha256_digest,
)

from ssi.errors import InputTooLarge, SdJwtError
from ssi.sd_jwt import HeldSdJwt, SdJwtParts, issue_sd_jwt, split_compact, split_json, verify_sd_jwt
from ssi.sd_jwt._serialization import to_json

D_GIVEN = disclosure("salt-given-0001", "given_name", "Erika")
D_FAMILY = disclosure("salt-family-001", "family_name", "Mustermann")
PAYLOAD = {
    "_sd": sorted([sha256_digest(D_GIVEN), sha256_digest(D_FAMILY)]),
    "iss": "https://issuer.example",
    "cnf": {"jwk": HOLDER_PUBLIC_JWK},
}


JWT = sd_jwt(PAYLOAD)[:-1]  # ECDSA signatures are randomized: sign once


def _jwt() -> str:
    return JWT


# --- §4 compact format -----------------------------------------------------------------------------------------------


def test_s4_sd_jwt_without_disclosures_is_jwt_and_one_tilde() -> None:
    """§4: "An SD-JWT without Disclosures: <Issuer-signed JWT>~"."""
    parts = split_compact(_jwt() + "~")
    assert parts == SdJwtParts(_jwt(), (), None)


def test_s4_sd_jwt_with_disclosures_keeps_order_and_no_kb() -> None:
    """§4: ``<Issuer-signed JWT>~<Disclosure 1>~<Disclosure N>~``; the empty last element means no KB-JWT."""
    parts = split_compact(f"{_jwt()}~{D_GIVEN}~{D_FAMILY}~")
    assert parts.disclosures == (D_GIVEN, D_FAMILY)
    assert parts.kb_jwt is None


def test_s4_sd_jwt_kb_last_component_is_the_kb_jwt() -> None:
    """§4: ``<Issuer-signed JWT>~<Disclosure 1>~...~<KB-JWT>`` and ``<Issuer-signed JWT>~<KB-JWT>``."""
    base = f"{_jwt()}~{D_GIVEN}~"
    kb = kb_jwt(base)
    parts = split_compact(base + kb)
    assert parts.disclosures == (D_GIVEN,)
    assert parts.kb_jwt == kb
    no_disclosures = split_compact(f"{_jwt()}~{kb}")
    assert no_disclosures.disclosures == ()
    assert no_disclosures.kb_jwt == kb


def test_s4_last_tilde_must_not_be_omitted() -> None:
    """§4: "the last separating tilde character MUST NOT be omitted" — a bare JWT is not an SD-JWT."""
    assert reason(lambda: split_compact(_jwt())) == "malformed_sd_jwt"


def test_s4_final_component_of_sd_jwt_must_be_empty_or_a_kb_jwt() -> None:
    """§4: "A Verifier that expects an SD-JWT MUST verify that the final tilde-separated component is empty";
    a Disclosure without its trailing '~' is neither empty nor a JWT."""
    assert reason(lambda: split_compact(f"{_jwt()}~{D_GIVEN}")) == "malformed_sd_jwt"


def test_s4_empty_disclosure_between_tildes_is_rejected() -> None:
    """§4 ABNF: ``DISCLOSURE = BASE64URL`` with ``1*(...)`` — a Disclosure is never empty (``~~``)."""
    assert reason(lambda: split_compact(f"{_jwt()}~~{D_GIVEN}~")) == "malformed_sd_jwt"
    assert reason(lambda: split_compact(f"{_jwt()}~{D_GIVEN}~~")) == "malformed_sd_jwt"


def test_s4_issuer_signed_part_must_be_a_compact_jws() -> None:
    """§4 ABNF: ``JWT = BASE64URL "." BASE64URL "." BASE64URL``."""
    head, body, _sig = _jwt().split(".")
    assert reason(lambda: split_compact(f"{head}.{body}~")) == "malformed_sd_jwt"
    assert reason(lambda: split_compact(f"{_jwt()}.x~")) == "malformed_sd_jwt"


def test_s4_non_string_input_is_rejected() -> None:
    assert reason(lambda: split_compact(b"abc~"), SdJwtError) == "malformed_sd_jwt"  # type: ignore[arg-type]


def test_size_and_disclosure_count_limits() -> None:
    """Resource limits: the text size and the number of Disclosures are bounded before anything is decoded."""
    text = f"{_jwt()}~{D_GIVEN}~{D_FAMILY}~"
    with pytest.raises(InputTooLarge):
        split_compact(text, max_size=len(text) - 1)
    with pytest.raises(InputTooLarge):
        split_compact(text, max_disclosures=1)
    assert split_compact(text, max_disclosures=2).disclosures == (D_GIVEN, D_FAMILY)


def test_s4_3_1_sd_jwt_property_is_the_sd_hash_input() -> None:
    """§4.3.1: sd_hash is over ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~`` — without the KB-JWT."""
    base = f"{_jwt()}~{D_GIVEN}~{D_FAMILY}~"
    parts = split_compact(base + kb_jwt(base))
    assert parts.sd_jwt == base
    assert parts.compact() == base + parts.kb_jwt  # type: ignore[operator]
    assert split_compact(f"{_jwt()}~").sd_jwt == f"{_jwt()}~"


# --- §8 JWS JSON serialization ---------------------------------------------------------------------------------------


def _flattened(disclosures: list[str], kb: str | None = None) -> dict[str, object]:
    protected, payload, signature = _jwt().split(".")
    header: dict[str, object] = {"disclosures": disclosures}
    if kb is not None:
        header["kb_jwt"] = kb
    return {"payload": payload, "protected": protected, "signature": signature, "header": header}


def test_s8_1_flattened_disclosures_and_kb_jwt_come_from_the_unprotected_header() -> None:
    """§8.1: ``disclosures`` (array of strings) and ``kb_jwt`` are unprotected header parameters; the compact
    SD-JWT is rebuilt as protected.payload.signature plus the Disclosures."""
    kb = kb_jwt(f"{_jwt()}~{D_GIVEN}~")
    parts = split_json(_flattened([D_GIVEN], kb))
    assert parts.issuer_jwt == _jwt()
    assert parts.disclosures == (D_GIVEN,)
    assert parts.kb_jwt == kb
    assert parts.sd_jwt == f"{_jwt()}~{D_GIVEN}~"
    assert parts.jws_json is not None and "header" not in parts.jws_json  # our members are removed before JWS checks


def test_s8_1_disclosures_must_be_an_array_of_strings() -> None:
    for bad in ("abc", [1], [""], {"a": "b"}):
        obj = _flattened([])
        obj["header"] = {"disclosures": bad}
        assert reason(lambda obj=obj: split_json(obj)) == "malformed_sd_jwt", bad


def test_s8_1_kb_jwt_must_be_a_compact_jwt() -> None:
    for bad in ("not-a-jwt", 42, ["a.b.c"]):
        obj = _flattened([], None)
        obj["header"] = {"disclosures": [], "kb_jwt": bad}
        assert reason(lambda obj=obj: split_json(obj)) == "malformed_sd_jwt", bad


def test_s8_structure_errors() -> None:
    """§8 / RFC 7515 §7.2: an object with a string ``payload`` and signature entries with protected+signature."""
    assert reason(lambda: split_json([])) == "malformed_sd_jwt"
    assert reason(lambda: split_json({"payload": 1})) == "malformed_sd_jwt"
    assert reason(lambda: split_json({"payload": "x", "signatures": []})) == "malformed_sd_jwt"
    assert reason(lambda: split_json({"payload": "x", "signatures": ["x"]})) == "malformed_sd_jwt"
    assert reason(lambda: split_json({"payload": "x", "header": {}})) == "malformed_sd_jwt"
    obj = _flattened([])
    obj["header"] = "x"
    assert reason(lambda: split_json(obj)) == "malformed_sd_jwt"


def test_s8_1_limit_on_disclosures() -> None:
    with pytest.raises(InputTooLarge):
        split_json(_flattened([D_GIVEN, D_FAMILY]), max_disclosures=1)


def _general_issued() -> dict[str, object]:
    issued = issue_sd_jwt(
        {"given_name": "Erika", "cnf": {"jwk": HOLDER_PUBLIC_JWK}},
        ISSUER_1,
        disclosable=[("given_name",)],
        serialization="json",
        extra_signers=[ISSUER_2],
    )
    return issued.to_json()


def test_s8_3_general_disclosures_only_in_first_unprotected_header() -> None:
    """§8.3: "disclosures and kb_jwt, MUST be included in the first unprotected header and MUST NOT be present in
    any following unprotected headers"."""
    ok = _general_issued()
    first_header = ok["signatures"][0]["header"]  # type: ignore[index]
    assert split_json(ok).disclosures == tuple(first_header["disclosures"])
    assert verify_sd_jwt(ok, ISSUER_KEY, NO_KB_POLICY, clock=clock()).claims["given_name"] == "Erika"
    for member in ({"disclosures": []}, {"disclosures": first_header["disclosures"]}, {"kb_jwt": "a.b.c"}):
        bad = _general_issued()
        bad["signatures"][1].setdefault("header", {}).update(member)  # type: ignore[index]
        assert reason(lambda bad=bad: split_json(bad)) == "malformed_sd_jwt"
        assert reason(lambda bad=bad: verify_sd_jwt(bad, ISSUER_KEY, NO_KB_POLICY, clock=clock())) == "malformed_sd_jwt"


def test_s8_to_json_round_trips_flattened_and_general() -> None:
    flat = split_json(_flattened([D_GIVEN], "a.b.c"))
    assert split_json(to_json(flat)) == flat
    issued = issue_sd_jwt({"a": 1}, ISSUER_1, disclosable=[("a",)], serialization="json", extra_signers=[ISSUER_2])
    general = split_json(issued.to_json())
    again = to_json(general)
    assert "signatures" in again and "disclosures" in again["signatures"][0]["header"]
    assert "header" not in again["signatures"][1] or "disclosures" not in again["signatures"][1]["header"]
    assert split_json(again) == general
    # from compact: the flattened form
    compact = split_compact(f"{_jwt()}~{D_GIVEN}~")
    assert split_json(to_json(compact)).sd_jwt == compact.sd_jwt


def test_s8_1_sd_hash_is_taken_over_the_compact_form() -> None:
    """§8.1: "even when using the JWS JSON Serialization, the representation as a regular SD-JWT Compact
    Serialization MUST be created temporarily to calculate the digest"."""
    compact = f"{_jwt()}~{D_GIVEN}~"
    good = _flattened([D_GIVEN], kb_jwt(compact))
    result = verify_sd_jwt(good, ISSUER_KEY, KB_POLICY, clock=clock())
    assert result.claims["given_name"] == "Erika"
    assert result.key_binding is not None and result.key_binding["sd_hash"] == sha256_digest(compact)
    # a KB-JWT whose sd_hash covers the JSON text instead of the compact form is refused
    json_text = json.dumps(_flattened([D_GIVEN]))
    wrong = _flattened([D_GIVEN], kb_jwt(json_text))
    assert reason(lambda: verify_sd_jwt(wrong, ISSUER_KEY, KB_POLICY, clock=clock())) == "kb_sd_hash_mismatch"


def test_s8_3_general_verified_with_key_resolver_and_kb() -> None:
    """§8.3 + §8.4: general JSON with two Issuer signatures (kids); the resolver picks the key by kid; the
    KB-JWT's sd_hash is over the compact form built from the first signature."""
    first, second = ISSUER_1, ISSUER_2
    issued = issue_sd_jwt(
        {"given_name": "Erika", "family_name": "Mustermann", "cnf": {"jwk": HOLDER_PUBLIC_JWK}},
        first,
        disclosable=[("given_name",), ("family_name",)],
        serialization="json",
        extra_signers=[second],
    )
    held = HeldSdJwt.parse(issued.to_json())
    text = held.present([("family_name",)], holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock())
    obj = json.loads(text)
    assert "kb_jwt" in obj["signatures"][0]["header"]
    assert all("disclosures" not in s.get("header", {}) for s in obj["signatures"][1:])
    resolver = KidResolver({"issuer-key-1": first.public_key, "issuer-key-2": second.public_key})
    result = verify_sd_jwt(obj, resolver, KB_POLICY, clock=clock())
    assert result.claims == {"family_name": "Mustermann", "cnf": {"jwk": HOLDER_PUBLIC_JWK}}
    # only the second Issuer is known: its signature verifies the same payload
    only_second = KidResolver({"issuer-key-2": second.public_key})
    assert verify_sd_jwt(obj, only_second, KB_POLICY, clock=clock()).issuer_key == second.public_key
