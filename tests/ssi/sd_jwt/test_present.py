"""The Holder (RFC 9901 §7.2) and the Key Binding JWT it creates (§4.3, §4.3.1)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sdjwt_support import (
    AUD,
    HOLDER,
    HOLDER_PUBLIC_JWK,
    ISSUER,
    ISSUER_KEY,
    KB_POLICY,
    NO_KB_POLICY,
    NONCE,
    NOW,
    clock,
    digest_with,
    disclosure,
    reason,
    sd_jwt,
    sha256_digest,
    with_kb,
)

from ssi.encoding import b64url_json
from ssi.jose import verify_compact
from ssi.sd_jwt import (
    HeldSdJwt,
    create_key_binding_jwt,
    issue_sd_jwt,
    parse_presentation_text,
    split_compact,
    verify_sd_jwt,
)

CLAIMS: dict[str, Any] = {
    "sub": "user_42",
    "given_name": "John",
    "family_name": "Doe",
    "address": {"street_address": "123 Main St", "locality": "Anytown", "country": "US"},
    "nationalities": ["US", "DE", "FR"],
    "cnf": {"jwk": HOLDER_PUBLIC_JWK},
}
PATHS = [
    ("given_name",),
    ("family_name",),
    ("address",),
    ("address", "street_address"),
    ("address", "locality"),
    ("nationalities",),
    ("nationalities", None),
]
ISSUED = issue_sd_jwt(CLAIMS, ISSUER, disclosable=PATHS, decoys=2)


def held() -> HeldSdJwt:
    return HeldSdJwt.parse(ISSUED.compact)


def present(paths: list[tuple[Any, ...]], **kwargs: Any) -> str:
    return held().present(paths, holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock(), **kwargs)


def verified_claims(presentation: str | dict[str, Any]) -> dict[str, Any]:
    return verify_sd_jwt(presentation, ISSUER_KEY, KB_POLICY, clock=clock()).claims


# --- §7.2 receiving ------------------------------------------------------------------------------------------------


def test_s7_2_holder_rejects_an_sd_jwt_kb() -> None:
    """§7.2: "The Issuer provides the Holder with an SD-JWT, not an SD-JWT+KB. If the Holder receives an SD-JWT+KB,
    it MUST be rejected"."""
    assert reason(lambda: HeldSdJwt.parse(with_kb(ISSUED.compact))) == "kb_unexpected"
    as_json = json.loads(present([("given_name",)], serialization="json"))
    assert reason(lambda: HeldSdJwt.parse(as_json)) == "kb_unexpected"


def test_s7_2_holder_processes_the_sd_jwt_per_7_1() -> None:
    """§7.2 step 1: "Process the SD-JWT as defined in Section 7.1" — e.g. unreferenced or duplicate Disclosures."""
    stranger = disclosure("salt-s", "is_admin", True)
    assert reason(lambda: HeldSdJwt.parse(ISSUED.compact + stranger + "~")) == "unreferenced_disclosure"
    dup = ISSUED.disclosures[0].encoded
    assert reason(lambda: HeldSdJwt.parse(ISSUED.compact + dup + "~")) == "duplicate_disclosure"
    assert reason(lambda: HeldSdJwt.parse(ISSUED.issuer_jwt)) == "malformed_sd_jwt"
    bad_payload = sd_jwt([1, 2])
    assert reason(lambda: HeldSdJwt.parse(bad_payload)) == "malformed_sd_jwt"


def test_s7_2_parsed_view_locates_every_disclosure() -> None:
    h = held()
    assert h.claims == CLAIMS
    assert h.payload == ISSUED.payload
    assert h.header["alg"] == "ES256"
    assert h.sd_alg == "sha-256"
    assert h.holder_jwk == HOLDER_PUBLIC_JWK
    assert {c.path for c in h.disclosed} == {
        ("given_name",),
        ("family_name",),
        ("address",),
        ("address", "street_address"),
        ("address", "locality"),
        ("nationalities",),
        ("nationalities", 0),
        ("nationalities", 1),
        ("nationalities", 2),
    }
    by_path = {c.path: c for c in h.disclosed}
    assert by_path[("address", "locality")].parent == by_path[("address",)].digest
    assert by_path[("given_name",)].parent is None
    no_cnf = HeldSdJwt.parse(issue_sd_jwt({"a": 1}, ISSUER).compact)
    assert no_cnf.holder_jwk is None


# --- §7.2 selection --------------------------------------------------------------------------------------------------


def test_s7_2_step_2_selecting_a_nested_claim_includes_its_ancestors() -> None:
    """§7.2 step 2: each selected Disclosure's digest must be "contained in the Issuer-signed JWT claims" or "in the
    claim value of another selected Disclosure" — so the ancestors are released too."""
    chosen = held().select([("address", "locality")])
    assert {c.path for c in chosen} == {("address",), ("address", "locality")}
    digests = {c.digest for c in chosen}
    for c in chosen:
        assert c.parent is None or c.parent in digests
    claims = verified_claims(present([("address", "locality")]))
    assert claims["address"] == {"locality": "Anytown", "country": "US"}
    assert "given_name" not in claims


def test_s7_2_selecting_an_array_element_releases_the_array_disclosure() -> None:
    claims = verified_claims(present([("nationalities", 1)]))
    assert claims["nationalities"] == ["DE"]
    claims = verified_claims(present([("nationalities", 0), ("nationalities", 2)]))
    assert claims["nationalities"] == ["US", "FR"]
    claims = verified_claims(present([("nationalities", None)]))
    assert claims["nationalities"] == ["US", "DE", "FR"]


def test_s7_2_selecting_a_parent_releases_everything_below_it() -> None:
    claims = verified_claims(present([("address",)]))
    assert claims["address"] == CLAIMS["address"]


def test_s7_2_selecting_a_permanently_disclosed_claim_releases_nothing() -> None:
    presentation = present([("sub",)])
    parts = split_compact(presentation)
    assert parts.disclosures == ()
    assert verified_claims(presentation) == {"sub": "user_42", "cnf": {"jwk": HOLDER_PUBLIC_JWK}}


def test_s7_2_no_selection_sends_only_the_issuer_signed_jwt() -> None:
    """§4: "The Holder MAY send any subset of the Disclosures to the Verifier, i.e., none, some, or all"."""
    text = held().present([])
    assert text == ISSUED.issuer_jwt + "~"
    assert verify_sd_jwt(text, ISSUER_KEY, NO_KB_POLICY, clock=clock()).claims == {
        "sub": "user_42",
        "cnf": {"jwk": HOLDER_PUBLIC_JWK},
    }


def test_s4_holder_never_sends_a_disclosure_twice_and_order_ignores_the_request() -> None:
    """§4: "A Holder MUST NOT ... send a Disclosure more than once"; the order of the Disclosures is fixed by the
    credential, so it does not reveal the order of the Verifier's request."""
    a = present([("address", "locality"), ("address",), ("given_name",), ("address", "locality")])
    b = present([("given_name",), ("address",)])
    da, db = split_compact(a).disclosures, split_compact(b).disclosures
    assert len(da) == len(set(da)) == 4  # given_name, address, street_address, locality
    assert da == db


def test_s4_holder_never_sends_a_disclosure_not_in_the_issued_sd_jwt() -> None:
    """§4: "A Holder MUST NOT send a Disclosure that was not included in the issued SD-JWT"; unknown paths refused."""
    assert reason(lambda: held().present([("email",)])) == "unknown_claim_path"
    assert reason(lambda: held().present([("nationalities", 7)])) == "unknown_claim_path"
    issued = {d.encoded for d in ISSUED.disclosures}
    assert set(split_compact(present(PATHS)).disclosures) <= issued


def test_s7_2_presenting_everything_reproduces_the_claims() -> None:
    assert verified_claims(present(PATHS)) == CLAIMS


# --- §4.3 Key Binding JWT -----------------------------------------------------------------------------------------


def test_s4_3_kb_jwt_header_and_claims() -> None:
    """§4.3: header ``typ`` kb+jwt and ``alg`` (not none); claims ``iat``, ``aud`` (single string), ``nonce``
    (string) and ``sd_hash``; §4.3.1: sd_hash over the SD-JWT with the selected Disclosures."""
    presentation = present([("given_name",)])
    parts = split_compact(presentation)
    assert parts.kb_jwt is not None
    verified = verify_compact(parts.kb_jwt, HOLDER.public_key, {"ES256"})
    assert verified.header == {"typ": "kb+jwt", "alg": "ES256"}
    claims = json.loads(verified.payload)
    assert claims == {"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": sha256_digest(parts.sd_jwt)}
    assert parts.sd_jwt == ISSUED.issuer_jwt + "~" + parts.disclosures[0] + "~"


def test_s4_3_1_sd_hash_uses_sd_alg() -> None:
    """§4.3.1: "The same hash algorithm as for the Disclosures MUST be used"."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",)], sd_alg="sha-512")
    text = HeldSdJwt.parse(issued.compact).present(
        [("given_name",)], holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock()
    )
    parts = split_compact(text)
    assert b64url_json(parts.kb_jwt.split(".")[1])["sd_hash"] == digest_with(parts.sd_jwt, "sha512")  # type: ignore[union-attr]
    assert verified_claims(text)["given_name"] == "John"


def test_s4_3_kb_requires_audience_and_nonce() -> None:
    """§4.3: ``aud`` and ``nonce`` are REQUIRED."""
    assert reason(lambda: held().present([], holder=HOLDER, nonce=NONCE)) == "kb_bad_input"
    assert reason(lambda: held().present([], holder=HOLDER, audience=AUD)) == "kb_bad_input"
    sd = ISSUED.issuer_jwt + "~"
    assert reason(lambda: create_key_binding_jwt(sd, HOLDER, audience="", nonce=NONCE)) == "kb_bad_input"
    assert reason(lambda: create_key_binding_jwt(sd, HOLDER, audience=AUD, nonce="")) == "kb_bad_input"
    assert reason(lambda: create_key_binding_jwt(sd, HOLDER, audience=[AUD], nonce=NONCE)) == "kb_bad_input"  # type: ignore[arg-type]


def test_s4_3_kb_iat_from_the_injected_clock_and_extra_claims() -> None:
    text = held().present([], holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock(NOW + 5), kb_extra_claims={"x": 1})
    kb = b64url_json(split_compact(text).kb_jwt.split(".")[1])  # type: ignore[union-attr]
    assert kb["iat"] == NOW + 5 and kb["x"] == 1
    # the required claims cannot be overridden by extra claims
    text = held().present([], holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock(), kb_extra_claims={"nonce": "x"})
    assert b64url_json(split_compact(text).kb_jwt.split(".")[1])["nonce"] == NONCE  # type: ignore[union-attr]


def test_s7_2_step_4_without_key_binding_the_sd_jwt_is_sent() -> None:
    """§7.2 step 4: "If Key Binding is not required: Send the SD-JWT" — ending in '~'."""
    text = held().present([("given_name",)])
    assert text.endswith("~")
    assert verify_sd_jwt(text, ISSUER_KEY, NO_KB_POLICY, clock=clock()).claims["given_name"] == "John"


# --- §8 presentations in JSON ----------------------------------------------------------------------------------------


def test_s8_holder_presents_in_the_serialization_it_received() -> None:
    """§8.1: in JSON the Disclosures and ``kb_jwt`` go into the unprotected header; sd_hash over the compact form."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=PATHS, serialization="json")
    h = HeldSdJwt.parse(issued.to_json())
    text = h.present([("family_name",)], holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock())
    obj = json.loads(text)
    assert set(obj["header"]) == {"disclosures", "kb_jwt"}
    compact = issued.issuer_jwt + "~" + obj["header"]["disclosures"][0] + "~"
    assert b64url_json(obj["header"]["kb_jwt"].split(".")[1])["sd_hash"] == sha256_digest(compact)
    assert verified_claims(obj)["family_name"] == "Doe"
    as_compact = h.present(
        [("family_name",)], holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock(), serialization="compact"
    )
    assert verified_claims(as_compact)["family_name"] == "Doe"
    from_compact = held().present([("family_name",)], serialization="json")
    assert (
        verify_sd_jwt(json.loads(from_compact), ISSUER_KEY, NO_KB_POLICY, clock=clock()).claims["family_name"] == "Doe"
    )


def test_parse_presentation_text_accepts_both_serializations() -> None:
    assert parse_presentation_text(f"  {ISSUED.compact}\n") == ISSUED.compact
    obj = ISSUED.to_json()
    assert parse_presentation_text(json.dumps(obj)) == obj
    assert reason(lambda: parse_presentation_text("{not json")) == "malformed_sd_jwt"
    assert reason(lambda: parse_presentation_text('{"a": 1, "a": 2}')) == "malformed_sd_jwt"


BASE_CLAIMS = {"sub": "user_42", "cnf": {"jwk": HOLDER_PUBLIC_JWK}}


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        ([("given_name",)], {**BASE_CLAIMS, "given_name": "John"}),
        (
            [("address", "street_address"), ("nationalities", 2)],
            {**BASE_CLAIMS, "address": {"country": "US", "street_address": "123 Main St"}, "nationalities": ["FR"]},
        ),
        ([("nationalities",)], {**BASE_CLAIMS, "nationalities": ["US", "DE", "FR"]}),
        (PATHS, CLAIMS),
    ],
)
def test_presentations_verify_to_exactly_the_selected_claims(
    paths: list[tuple[Any, ...]], expected: dict[str, Any]
) -> None:
    assert verified_claims(present(paths)) == expected
