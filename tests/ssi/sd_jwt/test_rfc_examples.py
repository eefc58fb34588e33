"""RFC 9901 examples, used as literal test data (spec examples are facts).

Source: the RFC 9901 text as published by the OAuth WG (draft-ietf-oauth-selective-disclosure-jwt-22, the document
the RFC was produced from; rendered text on the WG repository's gh-pages branch), sections named per test. The
examples were generated with the Issuer key of Appendix A.5 and the Holder key in the examples' ``cnf``; the KB-JWTs
were created at iat 1748537243 for aud ``https://verifier.example.org`` and nonce ``1234567890``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sdjwt_support import reason, sha256_digest

from ssi.clock import FrozenClock
from ssi.encoding import b64url_json
from ssi.errors import KeyError_
from ssi.keys import PublicKey
from ssi.sd_jwt import (
    Disclosure,
    HeldSdJwt,
    VerificationPolicy,
    process_payload,
    split_compact,
    verify_sd_jwt,
)

#: Appendix A.5: "The following Elliptic Curve public key ... can be used to validate the Issuer signatures".
ISSUER_PUBLIC_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
    "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8",
}
#: §5: the Holder key, as the ``cnf.jwk`` of the example (A.5: "found in the examples as the content of the cnf claim").
HOLDER_PUBLIC_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
    "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ",
}
KB_IAT = 1748537243
AUD = "https://verifier.example.org"
NONCE = "1234567890"
KB_POLICY = VerificationPolicy(audience=AUD, nonce=NONCE)
NO_KB_POLICY = VerificationPolicy(require_key_binding=False)
ISSUER_KEY = PublicKey.from_jwk(ISSUER_PUBLIC_JWK)

# --- §5.1 Issuance: the Issuer-signed JWT and the Disclosures ---------------------------------------------------------

ISSUER_SIGNED_JWT = (
    "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0.eyJfc2QiOiBbIkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJk"
    "dDJTSDVhVFkxc1VfTS1QZ2tqUEkiLCAiSnpZakg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JG"
    "YnBLdVZ1Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1SlFhSHlLVlFaVTlVZEdFMHc1cnRE"
    "c3JaemZVYW9tTG8iLCAiWFFfM2tQS3QxWHlYN0tBTmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242"
    "Q0pEYzZ2Vks4QmtNbmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFrb2I5aFYxY1JEMEFUTjNvUUw5"
    "Sk0iLCAianN1OXlWdWx3UVFsaEZsTV8zSmx6TWFTRnpnbGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0dHBzOi8vaXNzdWVy"
    "LmV4YW1wbGUuY29tIiwgImlhdCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3ViIjogInVzZXJfNDIiLCAibmF0"
    "aW9uYWxpdGllcyI6IFt7Ii4uLiI6ICJwRm5kamtaX1ZDem15VGE2VWpsWm8zZGgta284YUlLUWM5RGxHemhhVllvIn0sIHsiLi4u"
    "IjogIjdDZjZKa1B1ZHJ5M2xjYndIZ2VaOGtoQXYxVTFPU2xlclAwVmtCSnJXWjAifV0sICJfc2RfYWxnIjogInNoYS0yNTYiLCAi"
    "Y25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnYiOiAiUC0yNTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9I"
    "SVAxSUxpbERsczd2Q2VHZW1jIiwgInkiOiAiWnhqaVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlGMkhaUSJ9fX0."
    "ow2VRoOnXDjBhV-c2XUX9zWmHhbd5hao3xa39DfE4UX_wlsBlh5KBsmKeDd59GgpIbWFIomQWRy3A4L-St_6aQ"
)

KB_JWT = (
    "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM0NTY3ODkwIiwgImF1ZCI6ICJodHRwczovL3Z"
    "lcmlmaWVyLmV4YW1wbGUub3JnIiwgImlhdCI6IDE3NDg1MzcyNDMsICJzZF9oYXNoIjogIkczSTh6LWNGTUFUQUsyZXA4TVhXay1"
    "2bmpJM1g2LWFhaFllVTlUdnp6M0UifQ.PqD8kiTmgP5PDvnRB8PzuzHYU5hH8bEw88jFN9aT5a5CblBjVcFig044UoWeJU6cUqBP"
    "AXVh0XAL8of4_Sp71g"
)

D_GIVEN_NAME = "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd"

D_FAMILY_NAME = "WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRvZSJd"

D_EMAIL = "WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWlsIiwgImpvaG5kb2VAZXhhbXBsZS5jb20iXQ"

D_PHONE_NUMBER = "WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgInBob25lX251bWJlciIsICIrMS0yMDItNTU1LTAxMDEiXQ"

D_PHONE_NUMBER_VERIFIED = "WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgInBob25lX251bWJlcl92ZXJpZmllZCIsIHRydWVd"

D_ADDRESS = (
    "WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxv"
    "Y2FsaXR5IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0"
)

D_BIRTHDATE = "WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZRIiwgImJpcnRoZGF0ZSIsICIxOTQwLTAxLTAxIl0"

D_UPDATED_AT = "WyJHMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcwMDAwMDAwXQ"

D_NATIONALITIES_US = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0"

D_NATIONALITIES_DE = "WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0"

#: §5.1: "SHA-256 Hash" and "Contents" listed for each Disclosure.
DISCLOSURE_TABLE: list[tuple[str, str, list[Any]]] = [
    (D_GIVEN_NAME, "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4", ["2GLC42sKQveCfGfryNRN9w", "given_name", "John"]),
    (D_FAMILY_NAME, "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo", ["eluV5Og3gSNII8EYnsxA_A", "family_name", "Doe"]),
    (
        D_EMAIL,
        "JzYjH4svliH0R3PyEMfeZu6Jt69u5qehZo7F7EPYlSE",
        ["6Ij7tM-a5iVPGboS5tmvVA", "email", "johndoe@example.com"],
    ),
    (
        D_PHONE_NUMBER,
        "PorFbpKuVu6xymJagvkFsFXAbRoc2JGlAUA2BA4o7cI",
        ["eI8ZWm9QnKPpNPeNenHdhQ", "phone_number", "+1-202-555-0101"],
    ),
    (
        D_PHONE_NUMBER_VERIFIED,
        "XQ_3kPKt1XyX7KANkqVR6yZ2Va5NrPIvPYbyMvRKBMM",
        ["Qg_O64zqAxe412a108iroA", "phone_number_verified", True],
    ),
    (
        D_ADDRESS,
        "XzFrzwscM6Gn6CJDc6vVK8BkMnfG8vOSKfpPIZdAfdE",
        [
            "AJx-095VPrpTtN4QMOqROA",
            "address",
            {"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate", "country": "US"},
        ],
    ),
    (D_BIRTHDATE, "gbOsI4Edq2x2Kw-w5wPEzakob9hV1cRD0ATN3oQL9JM", ["Pc33JM2LchcU_lHggv_ufQ", "birthdate", "1940-01-01"]),
    (D_UPDATED_AT, "CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI", ["G02NSrQfjFXQ7Io09syajA", "updated_at", 1570000000]),
    (D_NATIONALITIES_US, "pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo", ["lklxF5jMYlGTPUovMNIvCA", "US"]),
    (D_NATIONALITIES_DE, "7Cf6JkPudry3lcbwHgeZ8khAv1U1OSlerP0VkBJrWZ0", ["nPuoQnkRFq3BIeAm7AnXFA", "DE"]),
]
#: §5.1 "Adding the Disclosures produces the SD-JWT" (the Disclosures in this order).
ISSUED_SD_JWT = ISSUER_SIGNED_JWT + "~" + "".join(d + "~" for d, _, _ in DISCLOSURE_TABLE)
#: §5.2: "four Disclosures (for the claims given_name, family_name, address, and one of the nationalities)".
PRESENTATION = "~".join([ISSUER_SIGNED_JWT, D_FAMILY_NAME, D_ADDRESS, D_GIVEN_NAME, D_NATIONALITIES_US, KB_JWT])

#: §5.2: "The following Key Binding JWT payload was created and signed for this presentation by the Holder".
KB_JWT_PAYLOAD = {
    "nonce": "1234567890",
    "aud": "https://verifier.example.org",
    "iat": 1748537243,
    "sd_hash": "G3I8z-cFMATAK2ep8MXWk-vnjI3X6-aahYeU9Tvzz3E",
}
#: §5.2: "After validation, the Verifier will have the following Processed SD-JWT Payload available".
PROCESSED_PAYLOAD = {
    "iss": "https://issuer.example.com",
    "iat": 1683000000,
    "exp": 1883000000,
    "sub": "user_42",
    "nationalities": ["US"],
    "cnf": {"jwk": HOLDER_PUBLIC_JWK},
    "family_name": "Doe",
    "address": {"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate", "country": "US"},
    "given_name": "John",
}
#: §5.1: "The following data about the user comprises the input JWT Claims Set" (+ iss, iat, exp, cnf of the payload).
USER_CLAIMS = {
    "sub": "user_42",
    "given_name": "John",
    "family_name": "Doe",
    "email": "johndoe@example.com",
    "phone_number": "+1-202-555-0101",
    "phone_number_verified": True,
    "address": {"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate", "country": "US"},
    "birthdate": "1940-01-01",
    "updated_at": 1570000000,
    "nationalities": ["US", "DE"],
}


def test_s5_2_presentation_verifies_to_the_processed_payload() -> None:
    """§5.2: the SD-JWT+KB verified with the A.5 Issuer key and the cnf Holder key at the KB-JWT's iat yields exactly
    the Processed SD-JWT Payload shown in the RFC."""
    result = verify_sd_jwt(PRESENTATION, ISSUER_KEY, KB_POLICY, clock=FrozenClock(KB_IAT))
    assert result.claims == PROCESSED_PAYLOAD
    assert result.key_binding == KB_JWT_PAYLOAD
    assert result.header == {"alg": "ES256", "typ": "example+sd-jwt"}


def test_s5_2_presentation_kb_binds_this_verifier_and_nonce_and_time() -> None:
    """§7.3 step 5.5/5.6 over the RFC example: another nonce or audience, or a much later time, is refused."""
    later = FrozenClock(KB_IAT + 3600)
    assert reason(lambda: verify_sd_jwt(PRESENTATION, ISSUER_KEY, KB_POLICY, clock=later)) == "kb_stale"
    other_nonce = VerificationPolicy(audience=AUD, nonce="0987654321")
    assert reason(lambda: verify_sd_jwt(PRESENTATION, ISSUER_KEY, other_nonce, clock=FrozenClock(KB_IAT))) == (
        "kb_wrong_nonce"
    )
    other_aud = VerificationPolicy(audience="https://other.example.org", nonce=NONCE)
    assert reason(lambda: verify_sd_jwt(PRESENTATION, ISSUER_KEY, other_aud, clock=FrozenClock(KB_IAT))) == (
        "kb_wrong_aud"
    )
    without_kb = PRESENTATION[: PRESENTATION.rindex("~") + 1]
    assert reason(lambda: verify_sd_jwt(without_kb, ISSUER_KEY, KB_POLICY, clock=FrozenClock(KB_IAT))) == "kb_missing"


def test_s5_2_kb_jwt_sd_hash_is_over_the_presented_sd_jwt() -> None:
    """§4.3.1 on the RFC example: sd_hash = base64url(SHA-256(<Issuer-signed JWT>~<4 Disclosures>~))."""
    parts = split_compact(PRESENTATION)
    assert b64url_json(KB_JWT.split(".")[1]) == KB_JWT_PAYLOAD
    assert sha256_digest(parts.sd_jwt) == KB_JWT_PAYLOAD["sd_hash"]


def test_s5_1_issued_sd_jwt_verifies_with_all_claims() -> None:
    """§5.1: the issued SD-JWT (all ten Disclosures, no KB-JWT) verifies to the input claims plus iss/iat/exp/cnf."""
    result = verify_sd_jwt(ISSUED_SD_JWT, ISSUER_KEY, NO_KB_POLICY, clock=FrozenClock(KB_IAT))
    expected = {
        **USER_CLAIMS,
        "iss": "https://issuer.example.com",
        "iat": 1683000000,
        "exp": 1883000000,
        "cnf": {"jwk": HOLDER_PUBLIC_JWK},
    }
    assert result.claims == expected


@pytest.mark.parametrize(("encoded", "digest", "contents"), DISCLOSURE_TABLE)
def test_s5_1_disclosure_digests_and_contents(encoded: str, digest: str, contents: list[Any]) -> None:
    """§5.1 Disclosure list and §4.2.3: each Disclosure's SHA-256 digest and decoded contents as given in the RFC."""
    assert sha256_digest(encoded) == digest
    parsed = Disclosure.parse(encoded)
    assert [parsed.salt, *([] if parsed.name is None else [parsed.name]), parsed.value] == contents


def test_s5_1_payload_embeds_the_digests() -> None:
    """§5.1: the payload's ``_sd`` and ``nationalities`` hold exactly the listed digests (sorted, §4.2.4.1)."""
    payload = b64url_json(ISSUER_SIGNED_JWT.split(".")[1])
    object_digests = [d for e, d, c in DISCLOSURE_TABLE if len(c) == 3]
    assert payload["_sd"] == sorted(object_digests)
    assert payload["nationalities"] == [{"...": d} for e, d, c in DISCLOSURE_TABLE if len(c) == 2]
    assert payload["_sd_alg"] == "sha-256"


def test_s5_holder_selects_the_same_disclosures_as_the_rfc() -> None:
    """§5.2 from the Holder side: disclosing given_name, family_name, address and the first nationality releases
    exactly the four Disclosures of the RFC's presentation; our KB-JWT then verifies like the RFC's."""
    held = HeldSdJwt.parse(ISSUED_SD_JWT)
    chosen = held.select([("given_name",), ("family_name",), ("address",), ("nationalities", 0)])
    assert {c.disclosure.encoded for c in chosen} == set(split_compact(PRESENTATION).disclosures)
    text = held.present([("given_name",), ("family_name",), ("address",), ("nationalities", 0)])
    assert verify_sd_jwt(text, ISSUER_KEY, NO_KB_POLICY, clock=FrozenClock(KB_IAT)).claims == PROCESSED_PAYLOAD


def test_s7_1_tampering_with_the_rfc_example_is_detected() -> None:
    """A Disclosure not in the issued SD-JWT (the §4.2.2 "FR" example) appended to the RFC presentation: either the
    sd_hash no longer matches (with KB) or it is unreferenced (without)."""
    fr = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"
    sd = split_compact(PRESENTATION).sd_jwt
    assert reason(lambda: verify_sd_jwt(sd + fr + "~", ISSUER_KEY, NO_KB_POLICY, clock=FrozenClock(KB_IAT))) == (
        "unreferenced_disclosure"
    )
    assert reason(lambda: verify_sd_jwt(sd + fr + "~" + KB_JWT, ISSUER_KEY, KB_POLICY, clock=FrozenClock(KB_IAT))) == (
        "unreferenced_disclosure"
    )


# --- §4.2.1 / §4.2.3 Disclosure and digest examples -------------------------------------------------------------------

#: §4.2.1: ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"] and its encodings.
MOBIUS = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
MOBIUS_VARIANTS = [
    "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd",  # unicode escape
    "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Yml1cyJd",  # no white space
    "WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiTcO2Yml1cyIKXQ",  # newlines
]
#: §4.2.3: "the base64url-encoded SHA-256 digest of the Disclosure ... for the family_name claim ... is".
MOBIUS_DIGEST = "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"


def test_s4_2_3_digest_of_the_family_name_disclosure() -> None:
    """§4.2.3 example: WyJfMjZiYzRMVC1h...Il0 → X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0 (library and
    independent computation agree)."""
    from ssi.sd_jwt._common import digest, hash_function

    assert digest(MOBIUS, hash_function("sha-256")) == MOBIUS_DIGEST
    assert sha256_digest(MOBIUS) == MOBIUS_DIGEST


def test_s4_2_3_older_draft_digest_vector() -> None:
    """The same rule checked on the family_name example of earlier drafts (salt 6qMQvRL5haj), whose digest
    uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY we recomputed; RFC 9901 itself uses the X9yH0… vector above."""
    encoded = "WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
    assert sha256_digest(encoded) == "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY"
    assert Disclosure.parse(encoded).value == "Möbius"


def test_s4_2_1_disclosure_example_and_encoding_variants() -> None:
    """§4.2.1: the Möbius Disclosure; "the following strings are all valid and encode the same claim value"; each
    has its own digest ("effectively signs the variation chosen by the Issuer")."""
    for encoded in [MOBIUS, *MOBIUS_VARIANTS]:
        d = Disclosure.parse(encoded)
        assert (d.salt, d.name, d.value) == ("_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius")
    digests = {sha256_digest(e) for e in [MOBIUS, *MOBIUS_VARIANTS]}
    assert len(digests) == 4
    # our encoder produces exactly the RFC's "No white space" variant
    assert Disclosure.create("_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius").encoded == MOBIUS_VARIANTS[1]


def test_s4_2_4_1_object_property_embedding_example() -> None:
    """§4.2.4.1: ``{"given_name": "Alice", "_sd": ["X9yH0Aj..."]}`` makes family_name selectively disclosable."""
    payload = {"given_name": "Alice", "_sd": [MOBIUS_DIGEST]}
    assert process_payload(payload, [MOBIUS]).claims == {"given_name": "Alice", "family_name": "Möbius"}
    assert process_payload(payload, []).claims == {"given_name": "Alice"}


# --- §4.2.2 / §4.2.4.2 array element example --------------------------------------------------------------------------

#: §4.2.2: the Disclosure ["lklxF5jMYlGTPUovMNIvCA", "FR"] for the second element of ["DE", "FR", "US"].
FR = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"
#: §4.2.4.2: its digest in ``{"nationalities": ["DE", {"...": "w0I8EKcd..."}, "US"]}``.
FR_DIGEST = "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"


def test_s4_2_2_array_element_disclosure_example() -> None:
    d = Disclosure.parse(FR)
    assert (d.salt, d.name, d.value) == ("lklxF5jMYlGTPUovMNIvCA", None, "FR")
    assert d.is_array_element
    assert sha256_digest(FR) == FR_DIGEST


def test_s4_2_4_2_array_element_embedding_example() -> None:
    """§4.2.4.2: "the verification process would output an array with only two elements, ["DE", "US"], unless the
    matching Disclosure for the second element is received, in which case the output would be ["DE", "FR", "US"]"."""
    payload = {"nationalities": ["DE", {"...": FR_DIGEST}, "US"]}
    assert process_payload(payload, []).claims == {"nationalities": ["DE", "US"]}
    assert process_payload(payload, [FR]).claims == {"nationalities": ["DE", "FR", "US"]}


# --- §4.2.6 recursive disclosure example ----------------------------------------------------------------------------


def test_s4_2_6_recursive_example_element_digests() -> None:
    """§4.2.6: the element Disclosures ``["16_mAd0GiwaZokU26_0i0h","DE"]`` etc. (compact JSON) have the digests
    PmnlrRj…, r823HFN…, nP5GYjw… shown in the example; the Holder releases an element only with its parent."""
    elements = {
        "PmnlrRjhLcwf8zTDdK15HVGwHtPYjddvD362WjBLwro": ["16_mAd0GiwaZokU26_0i0h", "DE"],
        "r823HFN6Ba_lpSANYtXqqCBAH-TsQlIzfOK0lRAFLCM": ["fn9fN0rD-fFs2n303ZI-0c", "FR"],
        "nP5GYjwhFm6ESlAeC4NCaIliW4tz0hTrUeoJB3lb5TA": ["YIKesqOkXXNzMQtsX_-_lw", "UK"],
    }
    encoded = {d: Disclosure.create(items[0], None, items[1]).encoded for d, items in elements.items()}
    for d, e in encoded.items():
        assert sha256_digest(e) == d
    parent = Disclosure.create("4drfeTtSUK3aY_-PF12gcX", "nationalities", [{"...": d} for d in elements])
    payload = {"family_name": "Möbius", "_sd": [sha256_digest(parent.encoded)]}
    de = encoded["PmnlrRjhLcwf8zTDdK15HVGwHtPYjddvD362WjBLwro"]
    assert process_payload(payload, [parent.encoded, de]).claims == {"family_name": "Möbius", "nationalities": ["DE"]}
    assert reason(lambda: process_payload(payload, [de])) == "unreferenced_disclosure"


# --- §8 JWS JSON serialization examples -----------------------------------------------------------------------------

JSON_PAYLOAD = (
    "eyJfc2QiOiBbIjRIQm42YUlZM1d0dUdHV1R4LXFVajZjZGs2V0JwWnlnbHRkRmF2UGE3TFkiLCAiOHNtMVFDZjAyMXBObkhBQ0k1"
    "c1A0bTRLWmd5Tk9PQVljVGo5SE5hQzF3WSIsICJjZ0ZkaHFQbzgzeFlObEpmYWNhQ2FhN3VQOVJDUjUwVkU1UjRMQVE5aXFVIiwg"
    "ImpNQ1hWei0tOWI4eDM3WWNvRGZYUWluencxd1pjY2NmRlJCQ0ZHcWRHMm8iXSwgImlzcyI6ICJodHRwczovL2lzc3Vlci5leGFt"
    "cGxlLmNvbSIsICJpYXQiOiAxNjgzMDAwMDAwLCAiZXhwIjogMTg4MzAwMDAwMCwgIl9zZF9hbGciOiAic2hhLTI1NiIsICJjbmYi"
    "OiB7Imp3ayI6IHsia3R5IjogIkVDIiwgImNydiI6ICJQLTI1NiIsICJ4IjogIlRDQUVSMTladnUzT0hGNGo0VzR2ZlNWb0hJUDFJ"
    "TGlsRGxzN3ZDZUdlbWMiLCAieSI6ICJaeGppV1diWk1RR0hWV0tWUTRoYlNJaXJzVmZ1ZWNDRTZ0NGpUOUYySFpRIn19fQ"
)

JSON_PROTECTED = "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0"

FLATTENED_SIGNATURE = "xqL5sHgX3vmGWLbs1pBNJUP24TCoT9yf0eiESX8U2QGWgsBJJpVpZv0KOAoh20dl5yuQG7G9xpsI85h88lepYQ"

FLATTENED_KB_JWT = (
    "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM0NTY3ODkwIiwgImF1ZCI6ICJodHRwczovL3Z"
    "lcmlmaWVyLmV4YW1wbGUub3JnIiwgImlhdCI6IDE3NDg1MzcyNDMsICJzZF9oYXNoIjogIlpuQjhKWDhCWWVmMS1iN25VdXpTZm5"
    "xUGVPZnJEZVF5S3pXbFpIdG5rM00ifQ.gFvS-x6subx4FDWt1oHvZdGEuK1_r6dd5e9C6aLtsDeS9d6uWGGinBmk6hkGJAzPqwxJ"
    "wmU96xJ0VHOjlMdXgA"
)

JSON_DISCLOSURES = [
    "WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImZhbWlseV9uYW1lIiwgIkRvZSJd",
    "WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
]
GENERAL_SIGNATURE_1 = "5zxMj3xAtzAP6ALCw1q5-eWq6yKyLLVHlhI6TVR4QhTYneVcvMtEYdVsrds3ALkloO-sMXVSaWcVcvTCtG0vEg"

GENERAL_SIGNATURE_2 = "Nq50PBIul46S08L0Z-mYk260olj7OfO2GHGsNHsGCAzhl3Hl5SxYV6XJnSiDiF91ITdvR5ZZBPyDqw4arlfFBA"

GENERAL_KB_JWT = (
    "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM0NTY3ODkwIiwgImF1ZCI6ICJodHRwczovL3Z"
    "lcmlmaWVyLmV4YW1wbGUub3JnIiwgImlhdCI6IDE3NDg1MzcyNDMsICJzZF9oYXNoIjogIjN1Uk0wY25Xck9UOTR0bkItQnc0N2d"
    "ia1dnT2JnYmlESWgwanN3X3B6SjAifQ.ATDyfIVQ-MYW6-I6mylRg7Hn6EM7TlbpngV3jbN2aIZM6qoTvj0rstgEVB4B8USv5s-j"
    "Tz82Gt9SsYzKmM2CtQ"
)


def _flattened_presentation() -> dict[str, Any]:
    """§8.2: "The following is an SD-JWT+KB with two Disclosures"."""
    return {
        "header": {"disclosures": list(JSON_DISCLOSURES), "kb_jwt": FLATTENED_KB_JWT},
        "payload": JSON_PAYLOAD,
        "protected": JSON_PROTECTED,
        "signature": FLATTENED_SIGNATURE,
    }


def _general_presentation() -> dict[str, Any]:
    """§8.3: "a presentation of a JWS JSON serialized SD-JWT including a Key Binding JWT using the General JSON
    Serialization"."""
    return {
        "payload": JSON_PAYLOAD,
        "signatures": [
            {
                "header": {"disclosures": list(JSON_DISCLOSURES), "kid": "issuer-key-1", "kb_jwt": GENERAL_KB_JWT},
                "protected": JSON_PROTECTED,
                "signature": GENERAL_SIGNATURE_1,
            },
            {"header": {"kid": "issuer-key-2"}, "protected": JSON_PROTECTED, "signature": GENERAL_SIGNATURE_2},
        ],
    }


JSON_PROCESSED = {
    "iss": "https://issuer.example.com",
    "iat": 1683000000,
    "exp": 1883000000,
    "cnf": {"jwk": HOLDER_PUBLIC_JWK},
    "family_name": "Doe",
    "given_name": "John",
}


def test_s8_2_flattened_example_verifies() -> None:
    """§8.2 + §8.4: the flattened SD-JWT+KB; sd_hash over the compact form built from protected.payload.signature."""
    result = verify_sd_jwt(_flattened_presentation(), ISSUER_KEY, KB_POLICY, clock=FrozenClock(KB_IAT))
    assert result.claims == JSON_PROCESSED
    compact = f"{JSON_PROTECTED}.{JSON_PAYLOAD}.{FLATTENED_SIGNATURE}~" + "".join(d + "~" for d in JSON_DISCLOSURES)
    assert result.key_binding is not None and result.key_binding["sd_hash"] == sha256_digest(compact)


def test_s8_3_general_example_verifies_with_a_kid_resolver() -> None:
    """§8.3: two signatures (kids issuer-key-1 and -2); only A.5's key is known, so the resolver refuses the other kid;
    the KB-JWT's sd_hash is over the compact form of the *first* signature."""

    def resolver(header: Any) -> PublicKey:
        if header.get("kid") == "issuer-key-1":
            return ISSUER_KEY
        raise KeyError_("unknown kid", reason="unknown_kid")

    result = verify_sd_jwt(_general_presentation(), resolver, KB_POLICY, clock=FrozenClock(KB_IAT))
    assert result.claims == JSON_PROCESSED
    compact = f"{JSON_PROTECTED}.{JSON_PAYLOAD}.{GENERAL_SIGNATURE_1}~" + "".join(d + "~" for d in JSON_DISCLOSURES)
    assert result.key_binding is not None and result.key_binding["sd_hash"] == sha256_digest(compact)


def test_s8_3_general_example_rejects_disclosures_in_a_later_header() -> None:
    """§8.3: moving ``disclosures`` into the second unprotected header is refused."""
    obj = _general_presentation()
    obj["signatures"][1]["header"]["disclosures"] = obj["signatures"][0]["header"].pop("disclosures")
    assert reason(lambda: verify_sd_jwt(obj, ISSUER_KEY, KB_POLICY, clock=FrozenClock(KB_IAT))) == "malformed_sd_jwt"


def test_s8_2_flattened_example_kb_is_bound_to_the_disclosures() -> None:
    """§8.1: dropping one Disclosure from the header breaks the sd_hash binding."""
    obj = _flattened_presentation()
    obj["header"]["disclosures"] = obj["header"]["disclosures"][:1]
    assert reason(lambda: verify_sd_jwt(obj, ISSUER_KEY, KB_POLICY, clock=FrozenClock(KB_IAT))) == "kb_sd_hash_mismatch"
    assert json.loads(json.dumps(obj))["header"]["kb_jwt"] == FLATTENED_KB_JWT
