"""The Verifier: every step of RFC 9901 §7.1 (verification of the SD-JWT) and §7.3 (Key Binding).

Violating inputs are built by hand and signed with the genuine Issuer (and Holder) keys, so the signatures are valid
and only the rule under test can reject them; each test asserts the specific ``reason``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

import pytest
from sdjwt_support import (
    AUD,
    HOLDER,
    HOLDER_PUBLIC_JWK,
    ISSUER,
    ISSUER_1,
    ISSUER_KEY,
    KB_POLICY,
    NO_KB_POLICY,
    NONCE,
    NOW,
    OMIT,
    OTHER,
    KidResolver,
    clock,
    decoy,
    digest_with,
    disclosure,
    issuer_jwt,
    kb_jwt,
    raw_disclosure,
    reason,
    sd_jwt,
    sha256_digest,
    unsigned_jwt,
    with_kb,
    without_sd,
)

from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import InputTooLarge, JoseError, KeyBindingError, SdJwtError
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import VerificationPolicy, issue_sd_jwt, verify_sd_jwt

D_GIVEN = disclosure("salt-given", "given_name", "John")
D_FAMILY = disclosure("salt-family", "family_name", "Doe")
D_US = disclosure("salt-us", "US")
CNF = {"jwk": HOLDER_PUBLIC_JWK}


def base_payload(**extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "_sd": sorted([sha256_digest(D_GIVEN), sha256_digest(D_FAMILY)]),
        "iss": "https://issuer.example.com",
        "nationalities": [{"...": sha256_digest(D_US)}, "DE"],
        "cnf": CNF,
        "_sd_alg": "sha-256",
    }
    payload.update(extra)
    return payload


BASE = sd_jwt(base_payload(), [D_GIVEN, D_FAMILY, D_US])  # signed once: ECDSA signatures are randomized


def plain(text: str | dict[str, Any], policy: VerificationPolicy = NO_KB_POLICY, now: float = NOW) -> Any:
    return verify_sd_jwt(text, ISSUER_KEY, policy, clock=clock(now))


def kb(text: str, policy: VerificationPolicy = KB_POLICY, now: float = NOW) -> Any:
    return verify_sd_jwt(text, ISSUER_KEY, policy, clock=clock(now))


def test_happy_path_sd_jwt_and_sd_jwt_kb() -> None:
    result = plain(BASE)
    assert result.claims == {
        "iss": "https://issuer.example.com",
        "nationalities": ["US", "DE"],
        "cnf": CNF,
        "given_name": "John",
        "family_name": "Doe",
    }
    assert {r.path for r in result.disclosed} == {("given_name",), ("family_name",), ("nationalities", 0)}
    assert result.key_binding is None
    assert result.signed_payload == base_payload()
    bound = kb(with_kb(BASE))
    assert bound.claims == result.claims
    assert bound.key_binding == {"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": sha256_digest(BASE)}


# --- §7.1 step 1: separate --------------------------------------------------------------------------------------


def test_s7_1_step_1_separation_requires_the_tilde_format() -> None:
    """§7.1 step 1 + §4: the presentation must split into Issuer-signed JWT and Disclosures."""
    assert reason(lambda: plain(BASE[:-1])) == "malformed_sd_jwt"  # last '~' omitted
    assert reason(lambda: plain(BASE.split("~")[0])) == "malformed_sd_jwt"
    assert reason(lambda: plain(BASE.replace("~", "~~", 1))) == "malformed_sd_jwt"


# --- §7.1 step 2: the Issuer-signed JWT --------------------------------------------------------------------------


def test_s7_1_step_2_1_alg_none_is_never_accepted() -> None:
    """§7.1 step 2.1: "The none algorithm MUST NOT be accepted" — whatever the policy lists."""
    text = unsigned_jwt({"alg": "none"}, base_payload()) + "~"
    assert reason(lambda: plain(text)) == "forbidden_algorithm"
    permissive = replace(NO_KB_POLICY, algorithms=frozenset({"ES256", "EdDSA"}))
    assert reason(lambda: plain(text, permissive)) == "forbidden_algorithm"
    with pytest.raises(JoseError):
        plain(text, replace(NO_KB_POLICY, algorithms=frozenset({"none"})))


def test_s7_1_step_2_1_hmac_with_the_public_key_is_refused() -> None:
    """§7.1 step 2.1 / RFC 8725 §3.2: no algorithm confusion (HS256 keyed with the Issuer's public key)."""
    header = b64url_encode(json_dumps({"alg": "HS256"}).encode())
    body = b64url_encode(json_dumps(base_payload()).encode())
    secret = json_dumps(ISSUER_KEY.jwk).encode()
    sig = b64url_encode(hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest())
    assert reason(lambda: plain(f"{header}.{body}.{sig}~")) == "forbidden_algorithm"


def test_s7_1_step_2_1_algorithm_must_be_on_the_allowlist() -> None:
    """§7.1 step 2.1: "Ensure that a signing algorithm was used that was deemed secure for the application"."""
    eddsa = SoftwareSigner.generate("EdDSA")
    text = sd_jwt(base_payload(), [D_GIVEN, D_FAMILY, D_US], signer=eddsa)
    assert reason(lambda: verify_sd_jwt(text, eddsa.public_key, NO_KB_POLICY, clock=clock())) == "algorithm_not_allowed"
    widened = replace(NO_KB_POLICY, algorithms=frozenset({"EdDSA"}))
    assert verify_sd_jwt(text, eddsa.public_key, widened, clock=clock()).claims["given_name"] == "John"
    # alg/key confusion: the header's alg must be the key's
    both = replace(NO_KB_POLICY, algorithms=frozenset({"ES256", "EdDSA"}))
    assert reason(lambda: verify_sd_jwt(text, ISSUER_KEY, both, clock=clock())) == "alg_key_mismatch"


def test_s7_1_step_2_2_signature_is_validated() -> None:
    """§7.1 step 2.2: "Validate the signature over the Issuer-signed JWT per Section 5.2 of [RFC7515]"."""
    head, body, sig = BASE.split("~")[0].split(".")
    tampered_body = b64url_encode(json_dumps(base_payload(iss="https://evil.example")).encode())
    rest = BASE[BASE.index("~") :]
    assert reason(lambda: plain(f"{head}.{tampered_body}.{sig}{rest}")) == "invalid_signature"
    forged = sd_jwt(base_payload(), [D_GIVEN, D_FAMILY, D_US], signer=OTHER)
    assert reason(lambda: plain(forged)) == "invalid_signature"
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    assert reason(lambda: plain(f"{head}.{body}.{flipped}{rest}")) == "invalid_signature"


def test_s7_1_step_2_3_issuer_key_comes_from_the_callers_resolver() -> None:
    """§7.1 step 2.3: "Validate the Issuer and that the signing key belongs to this Issuer" — the resolver sees the
    protected header; an unknown key id is refused; the key used is reported."""
    text = sd_jwt(base_payload(), [D_GIVEN], signer=ISSUER_1)
    resolver = KidResolver({"issuer-key-1": ISSUER_KEY})
    result = verify_sd_jwt(text, resolver, NO_KB_POLICY, clock=clock())
    assert result.issuer_key == ISSUER_KEY
    assert resolver.calls == [{"alg": "ES256", "kid": "issuer-key-1"}]
    stranger = KidResolver({"someone-else": ISSUER_KEY})
    assert reason(lambda: verify_sd_jwt(text, stranger, NO_KB_POLICY, clock=clock())) == "unknown_kid"


@pytest.mark.parametrize("sd_alg", ["md5", "sha-1", "SHA-256", "sha3-256", "", 256, None, ["sha-256"]])
def test_s7_1_step_2_4_sd_alg_must_be_understood_and_secure(sd_alg: Any) -> None:
    """§7.1 step 2.4: "Check that the _sd_alg claim value is understood and the hash algorithm is deemed secure"."""
    text = sd_jwt(base_payload(_sd_alg=sd_alg), [D_GIVEN])
    assert reason(lambda: plain(text)) == "unsupported_sd_alg"


def test_s4_1_1_absent_sd_alg_means_sha_256() -> None:
    """§4.1.1: "If the _sd_alg claim is not present at the top level, a default value of sha-256 MUST be used"."""
    payload = base_payload()
    del payload["_sd_alg"]
    assert plain(sd_jwt(payload, [D_GIVEN])).claims["given_name"] == "John"


def test_s9_11_explicit_typ_is_enforced_when_the_policy_names_one() -> None:
    """§9.11: explicit typing; a Verifier that names accepted ``typ`` values rejects others."""
    typed = replace(NO_KB_POLICY, typ=frozenset({"example+sd-jwt"}))
    good = sd_jwt(base_payload(), [D_GIVEN], header={"typ": "example+sd-jwt"})
    assert plain(good, typed).header["typ"] == "example+sd-jwt"
    for header in ({"typ": "JWT"}, {}, {"typ": "kb+jwt"}):
        text = sd_jwt(base_payload(), [D_GIVEN], header=header)
        assert reason(lambda text=text: plain(text, typed)) == "wrong_typ"


def test_s7_1_step_2_payload_must_be_a_strict_json_object() -> None:
    """RFC 7519 §7.2 step 10 / §7.1: the payload is a JSON object; duplicate member names are refused."""
    for raw in (b"[1,2]", b"not json", b'{"iss":"a","iss":"b"}', b'"string"'):
        text = issuer_jwt(None, raw=raw) + "~"
        assert reason(lambda text=text: plain(text)) == "malformed_sd_jwt", raw


# --- §7.1 step 3: Disclosures and digests --------------------------------------------------------------------------


def test_s7_1_step_3_1_digest_is_over_the_encoded_string_as_sent() -> None:
    """§7.1 step 3.1 + §4.2.1: digests are over the base64url string itself, so any JSON encoding variant the
    Issuer signed is accepted, and a re-encoding of the same content is a different Disclosure."""
    variant = raw_disclosure(["salt-given", "given_name", "John"], separators=(",", ":"))
    assert variant != D_GIVEN
    signed_variant = sd_jwt(base_payload(_sd=[sha256_digest(variant)]), [variant])
    assert plain(signed_variant).claims["given_name"] == "John"
    # the Issuer signed D_GIVEN; the same content encoded differently matches no digest
    swapped = sd_jwt(base_payload(), [variant])
    assert reason(lambda: plain(swapped)) == "unreferenced_disclosure"


@pytest.mark.parametrize("sd", ["digest", [1], [None], {"a": "b"}, [["x"]]])
def test_s7_1_step_3_2_1_sd_must_be_an_array_of_strings(sd: Any) -> None:
    """§7.1 step 3.2.1 / §4.2.4.1: "The _sd key MUST refer to an array of strings"."""
    assert reason(lambda: plain(sd_jwt(base_payload(_sd=sd)))) == "malformed_sd"
    nested = base_payload(address={"_sd": sd})
    assert reason(lambda: plain(sd_jwt(nested))) == "malformed_sd"


@pytest.mark.parametrize("element", [{"...": 5}, {"...": sha256_digest(D_US), "x": 1}, {"...": [sha256_digest(D_US)]}])
def test_s7_1_step_3_2_2_array_digest_is_an_object_with_the_single_key_ellipsis(element: Any) -> None:
    """§7.1 step 3.2.2 / §4.2.4.2: "objects with one key, that key being ... and referring to a string"; "There
    MUST NOT be any other keys in the object" and §4.1 item 7 forbids ``...`` for anything else."""
    text = sd_jwt(base_payload(nationalities=[element, "DE"]), [D_GIVEN, D_FAMILY])
    assert reason(lambda: plain(text)) == "misused_ellipsis"


def test_s4_1_item_7_ellipsis_key_outside_an_array_element_is_refused() -> None:
    """§4.1 item 7: ``...`` only conveys array element digests."""
    text = sd_jwt(base_payload(address={"...": sha256_digest(D_US)}), [D_GIVEN, D_FAMILY])
    assert reason(lambda: plain(text)) == "misused_ellipsis"


def test_s7_1_step_3_3_1_digest_without_disclosure_is_ignored() -> None:
    """§7.1 step 3.3.1: "If no such Disclosure can be found, the digest MUST be ignored" (decoys, withheld claims)."""
    payload = base_payload()
    payload["_sd"] = sorted([*payload["_sd"], decoy("a"), decoy("b")])
    result = plain(sd_jwt(payload, [D_FAMILY]))
    assert "given_name" not in result.claims
    assert result.claims["family_name"] == "Doe"
    assert result.claims["nationalities"] == ["DE"]
    assert without_sd(result.claims)


def test_s7_1_step_3_3_2_1_sd_digest_needs_a_three_element_disclosure() -> None:
    """§7.1 step 3.3.2.1: "If the contents of the respective Disclosure is not a JSON array of three elements
    (salt, claim name, claim value), the SD-JWT MUST be rejected"."""
    two = disclosure("salt-x", "John")
    text = sd_jwt(base_payload(_sd=[sha256_digest(two)]), [two])
    assert reason(lambda: plain(text)) == "disclosure_type_mismatch"
    four = raw_disclosure(["salt-x", "given_name", "John", "extra"])
    text = sd_jwt(base_payload(_sd=[sha256_digest(four)]), [four])
    assert reason(lambda: plain(text)) == "malformed_disclosure"


@pytest.mark.parametrize("name", ["_sd", "...", "_sd_alg"])
def test_s7_1_step_3_3_2_2_claim_name_must_not_be_sd_or_ellipsis(name: str) -> None:
    """§7.1 step 3.3.2.2: "If the claim name is _sd or ..., the SD-JWT MUST be rejected" (and ``_sd_alg``, which
    §4.1.1 allows only at the top level of the signed payload)."""
    bad = disclosure("salt-x", name, ["x"])
    text = sd_jwt(base_payload(_sd=[sha256_digest(bad)]), [bad])
    assert reason(lambda: plain(text)) == "forbidden_claim_name"


def test_s7_1_step_3_3_2_3_claim_name_must_not_exist_at_its_level() -> None:
    """§7.1 step 3.3.2.3: "If the claim name already exists at the level of the _sd key, the SD-JWT MUST be
    rejected" — a disclosed claim must not overwrite (or be overwritten by) a permanently disclosed one."""
    clash = disclosure("salt-x", "iss", "https://evil.example")
    text = sd_jwt(base_payload(_sd=[sha256_digest(clash)]), [clash])
    assert reason(lambda: plain(text)) == "claim_name_collision"
    # two Disclosures with the same name at one level
    twin = disclosure("salt-twin", "given_name", "Jane")
    text = sd_jwt(base_payload(_sd=sorted([sha256_digest(D_GIVEN), sha256_digest(twin)])), [D_GIVEN, twin])
    assert reason(lambda: plain(text)) == "claim_name_collision"
    # nested level
    inner = disclosure("salt-in", "city", "Berlin")
    nested = base_payload(address={"city": "Bonn", "_sd": [sha256_digest(inner)]})
    assert reason(lambda: plain(sd_jwt(nested, [D_GIVEN, inner]))) == "claim_name_collision"


def test_s7_1_step_3_3_2_4_and_5_insert_at_the_level_and_recurse() -> None:
    """§7.1 step 3.3.2.4: insert "at the level of the _sd key"; step 3.3.2.5: "Recursively process the value"."""
    street = disclosure("salt-street", "street", "Hauptstr. 1")
    zipcode = disclosure("salt-zip", "zip", "10115")
    address = disclosure(
        "salt-addr",
        "address",
        {"city": "Berlin", "_sd": [sha256_digest(street)], "more": {"_sd": [sha256_digest(zipcode)]}},
    )
    payload = base_payload(_sd=[sha256_digest(address)])
    result = plain(sd_jwt(payload, [address, street, zipcode]))
    assert result.claims["address"] == {"city": "Berlin", "street": "Hauptstr. 1", "more": {"zip": "10115"}}
    paths = {r.path: r.parent for r in result.disclosed}
    assert paths[("address",)] is None
    assert paths[("address", "street")] == sha256_digest(address)
    assert paths[("address", "more", "zip")] == sha256_digest(address)


def test_s7_1_step_3_3_3_1_array_digest_needs_a_two_element_disclosure() -> None:
    """§7.1 step 3.3.3.1: "If the contents of the respective Disclosure is not a JSON array of two elements
    (salt, value), the SD-JWT MUST be rejected"."""
    three = disclosure("salt-x", "country", "US")
    text = sd_jwt(base_payload(nationalities=[{"...": sha256_digest(three)}]), [D_GIVEN, three])
    assert reason(lambda: plain(text)) == "disclosure_type_mismatch"


def test_s7_1_step_3_3_3_2_and_3_array_element_replaced_in_place_and_recursed() -> None:
    """§7.1 step 3.3.3.2: "Replace the array element with the value from the Disclosure"; 3.3.3.3: recurse."""
    inner = disclosure("salt-inner", "FR")
    name = disclosure("salt-name", "name", "x")
    outer = disclosure("salt-outer", {"_sd": [sha256_digest(name)], "list": [{"...": sha256_digest(inner)}]})
    payload = base_payload(nationalities=["DE", {"...": sha256_digest(outer)}, "US"])
    result = plain(sd_jwt(payload, [outer, inner, name]))
    assert result.claims["nationalities"] == ["DE", {"name": "x", "list": ["FR"]}, "US"]
    assert {r.path for r in result.disclosed} == {
        ("nationalities", 1),
        ("nationalities", 1, "name"),
        ("nationalities", 1, "list", 0),
    }


def test_s7_1_step_3_4_array_elements_without_disclosure_are_removed() -> None:
    """§7.1 step 3.4: "Remove all array elements for which the digest was not found"."""
    payload = base_payload(nationalities=[{"...": decoy("x")}, "DE", {"...": sha256_digest(D_US)}, {"...": decoy("y")}])
    assert plain(sd_jwt(payload, [D_US])).claims["nationalities"] == ["DE", "US"]
    assert plain(sd_jwt(payload)).claims["nationalities"] == ["DE"]
    only_hidden = base_payload(nationalities=[{"...": sha256_digest(D_US)}])
    assert plain(sd_jwt(only_hidden)).claims["nationalities"] == []


def test_s7_1_step_3_5_sd_keys_removed_and_empty_objects_stay() -> None:
    """§7.1 step 3.5: "Remove all _sd keys ... If this results in an object with no properties, it should be
    represented as an empty object {}"."""
    inner = disclosure("salt-in", "age", 10)
    payload = base_payload(animals={"_sd": [sha256_digest(inner)]})
    assert plain(sd_jwt(payload)).claims["animals"] == {}
    result = plain(sd_jwt(payload, [inner, D_GIVEN]))
    assert result.claims["animals"] == {"age": 10}
    assert without_sd(result.claims)


def test_s7_1_step_3_6_sd_alg_removed_from_the_output() -> None:
    """§7.1 step 3.6: "Remove the claim _sd_alg from the SD-JWT payload"."""
    result = plain(BASE)
    assert "_sd_alg" not in result.claims
    assert result.signed_payload["_sd_alg"] == "sha-256"


def test_s4_1_1_sd_alg_must_not_be_nested() -> None:
    """§4.1.1: ``_sd_alg`` "MUST NOT be used in any object nested within the payload"."""
    text = sd_jwt(base_payload(address={"_sd_alg": "sha-256", "city": "x"}), [D_GIVEN])
    assert reason(lambda: plain(text)) == "misplaced_sd_alg"
    in_disclosure = disclosure("salt-a", "address", {"_sd_alg": "sha-256"})
    text = sd_jwt(base_payload(_sd=[sha256_digest(in_disclosure)]), [in_disclosure])
    assert reason(lambda: plain(text)) == "misplaced_sd_alg"


@pytest.mark.parametrize(
    "encoded",
    [
        "not+base64url",
        b64url_encode(b'{"salt": "x"}'),
        b64url_encode(b'["only-salt"]'),
        b64url_encode(b'[1, "name", "value"]'),
        b64url_encode(b'["salt", 42, "value"]'),
        b64url_encode(b"not json"),
        b64url_encode(b'["salt", "name", {"a": 1, "a": 2}]'),
        b64url_encode(b'["salt", "name", NaN]'),
        b64url_encode(b"\xff\xfe"),
    ],
)
def test_s4_2_malformed_disclosures_are_rejected_when_referenced(encoded: str) -> None:
    """§4.2.1/§4.2.2: a Disclosure is base64url of a UTF-8 JSON array ``[salt(string), name(string), value]`` or
    ``[salt, value]``; anything else is rejected (strict JSON: no duplicate names, no NaN)."""
    text = sd_jwt(base_payload(_sd=[sha256_digest(encoded)]), [encoded])
    assert reason(lambda: plain(text)) == "malformed_disclosure"


# --- §7.1 step 4/5 --------------------------------------------------------------------------------------------------


def test_s7_1_step_4_same_digest_twice_in_one_sd_array() -> None:
    """§7.1 step 4: "If any digest value is encountered more than once in the Issuer-signed JWT payload (directly or
    recursively via other Disclosures), the SD-JWT MUST be rejected"."""
    d = sha256_digest(D_GIVEN)
    assert reason(lambda: plain(sd_jwt(base_payload(_sd=[d, d]), [D_GIVEN]))) == "duplicate_digest"


def test_s7_1_step_4_same_digest_in_different_places() -> None:
    d_us = sha256_digest(D_US)
    across = base_payload(other=[{"...": d_us}])
    assert reason(lambda: plain(sd_jwt(across, [D_US]))) == "duplicate_digest"
    object_and_array = base_payload(address={"_sd": [sha256_digest(D_GIVEN)]})
    assert reason(lambda: plain(sd_jwt(object_and_array, [D_GIVEN]))) == "duplicate_digest"
    # recursively: a Disclosure's value repeats a digest of the signed payload
    repeat = disclosure("salt-r", "wrapper", {"_sd": [sha256_digest(D_FAMILY)]})
    payload = base_payload(_sd=sorted([sha256_digest(D_FAMILY), sha256_digest(repeat)]))
    assert reason(lambda: plain(sd_jwt(payload, [repeat, D_FAMILY]))) == "duplicate_digest"


def test_s7_1_step_4_repeated_decoy_digest_is_also_a_duplicate() -> None:
    """§7.1 step 4 says *any* digest value — also one without a Disclosure."""
    payload = base_payload(_sd=[decoy(), decoy()])
    assert reason(lambda: plain(sd_jwt(payload))) == "duplicate_digest"


def test_s4_a_disclosure_sent_twice_is_refused() -> None:
    """§4: "A Holder MUST NOT ... send a Disclosure more than once"."""
    text = BASE + D_GIVEN + "~"
    assert reason(lambda: plain(text)) == "duplicate_disclosure"


def test_s7_1_step_5_unreferenced_disclosure_is_rejected() -> None:
    """§7.1 step 5: "If any Disclosure was not referenced by digest value in the Issuer-signed JWT (directly or
    recursively via other Disclosures), the SD-JWT MUST be rejected"."""
    stranger = disclosure("salt-s", "is_admin", True)
    assert reason(lambda: plain(BASE + stranger + "~")) == "unreferenced_disclosure"


def test_s7_1_step_5_nested_disclosure_without_its_parent_is_rejected() -> None:
    """§4.2.6: "it would be illegal to include any one of the [element] disclosure objects without also including
    the [parent] disclosure object" — the child is then unreferenced."""
    child = disclosure("salt-c", "DE")
    parent = disclosure("salt-p", "nationalities", [{"...": sha256_digest(child)}])
    payload = base_payload(_sd=[sha256_digest(parent)])
    del payload["nationalities"]
    assert plain(sd_jwt(payload, [parent, child])).claims["nationalities"] == ["DE"]
    assert reason(lambda: plain(sd_jwt(payload, [child]))) == "unreferenced_disclosure"


# --- §7.1 step 6: validity claims ----------------------------------------------------------------------------------


def test_s7_1_step_6_exp_nbf_iat_in_the_processed_payload() -> None:
    """§7.1 step 6: "Check that the SD-JWT is valid using claims such as nbf, exp, and aud in the processed payload"."""
    assert reason(lambda: plain(sd_jwt(base_payload(exp=NOW - 3600), [D_GIVEN]))) == "expired"
    assert reason(lambda: plain(sd_jwt(base_payload(nbf=NOW + 3600), [D_GIVEN]))) == "not_yet_valid"
    assert reason(lambda: plain(sd_jwt(base_payload(iat=NOW + 3600), [D_GIVEN]))) == "iat_in_future"
    assert reason(lambda: plain(sd_jwt(base_payload(exp="tomorrow"), [D_GIVEN]))) == "malformed_exp"
    assert (
        plain(sd_jwt(base_payload(exp=NOW + 3600, nbf=NOW - 10, iat=NOW - 10), [D_GIVEN])).claims["exp"] == NOW + 3600
    )


def test_s7_1_step_6_selectively_disclosed_exp_is_checked_too() -> None:
    """§7.1 step 6 and §9.7: validity claims are checked in the *processed* payload, also when disclosed."""
    exp = disclosure("salt-exp", "exp", NOW - 3600)
    text = sd_jwt(base_payload(_sd=[sha256_digest(exp)]), [exp])
    assert reason(lambda: plain(text)) == "expired"


def test_s7_1_step_6_required_validity_claim_missing() -> None:
    """§7.1 step 6: "If a required validity-controlling claim is missing (see Section 9.7), the SD-JWT MUST be
    rejected" — also when the Holder withheld its Disclosure."""
    exp = disclosure("salt-exp", "exp", NOW + 3600)
    text = sd_jwt(base_payload(_sd=[sha256_digest(exp)]))
    strict = replace(NO_KB_POLICY, required_claims=frozenset({"exp", "iss"}))
    assert reason(lambda: plain(text, strict)) == "missing_exp"
    assert plain(sd_jwt(base_payload(_sd=[sha256_digest(exp)]), [exp]), strict).claims["exp"] == NOW + 3600
    no_iss = base_payload(exp=NOW + 10)
    del no_iss["iss"]
    assert reason(lambda: plain(sd_jwt(no_iss), strict)) == "missing_iss"


# --- limits ----------------------------------------------------------------------------------------------------------


def test_nesting_depth_and_disclosure_count_limits() -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"a": deep}
    with pytest.raises(InputTooLarge):
        plain(sd_jwt(base_payload(deep=deep)))
    assert plain(sd_jwt(base_payload(deep=deep)), replace(NO_KB_POLICY, max_depth=64)).claims["deep"] == deep
    with pytest.raises(InputTooLarge):
        plain(BASE, replace(NO_KB_POLICY, max_disclosures=2))
    with pytest.raises(InputTooLarge):
        plain(BASE, replace(NO_KB_POLICY, max_size=len(BASE) - 1))


# --- §7.3 Key Binding -----------------------------------------------------------------------------------------------


def test_s7_3_step_1_and_2_policy_requires_kb_and_a_plain_sd_jwt_is_rejected() -> None:
    """§7.3 step 2: "If Key Binding is required and the Holder has provided an SD-JWT (without Key Binding), the
    Verifier MUST reject the presentation"."""
    assert reason(lambda: kb(BASE), KeyBindingError) == "kb_missing"


def test_s7_3_step_1_decision_is_the_verifiers_not_the_holders() -> None:
    """§7.3 step 1: the decision "MUST NOT be based on whether a Key Binding JWT is provided"; §4: "A Verifier that
    expects an SD-JWT MUST verify that the final tilde-separated component is empty"."""
    assert reason(lambda: plain(with_kb(BASE))) == "kb_unexpected"
    no_aud = VerificationPolicy(nonce=NONCE)
    assert reason(lambda: kb(with_kb(BASE), no_aud)) == "bad_policy"
    assert reason(lambda: kb(with_kb(BASE), VerificationPolicy(audience=AUD))) == "bad_policy"


def test_s7_3_step_4_sd_jwt_part_is_processed_per_7_1() -> None:
    """§7.3 step 4: the SD-JWT inside an SD-JWT+KB goes through §7.1 — a valid KB-JWT does not excuse it."""
    stranger = disclosure("salt-s", "is_admin", True)
    assert reason(lambda: kb(with_kb(BASE + stranger + "~"))) == "unreferenced_disclosure"


def test_s7_3_step_5_1_holder_key_comes_from_cnf_jwk() -> None:
    """§7.3 step 5.1: "Determine the public key for the Holder from the SD-JWT"; a KB-JWT by another key fails."""
    for cnf in (OMIT, {"kid": "holder-key"}, {"jwk": {"kty": "EC"}}, "not-an-object", {"jwk": "x"}):
        payload = base_payload()
        if cnf is OMIT:
            del payload["cnf"]
        else:
            payload["cnf"] = cnf
        text = with_kb(sd_jwt(payload, [D_GIVEN]))
        assert reason(lambda text=text: kb(text), KeyBindingError) == "kb_no_cnf", cnf
    assert reason(lambda: kb(with_kb(BASE, signer=OTHER))) == "kb_invalid_signature"


def test_s7_3_step_5_2_kb_algorithm_allowlisted_never_none() -> None:
    """§7.3 step 5.2: "Ensure that a signing algorithm was used that was deemed secure ... The none algorithm MUST
    NOT be accepted"."""
    none_kb = unsigned_jwt(
        {"alg": "none", "typ": "kb+jwt"}, {"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": sha256_digest(BASE)}
    )
    assert reason(lambda: kb(BASE + none_kb)) == "kb_forbidden_algorithm"
    eddsa_holder = SoftwareSigner.generate("EdDSA")
    text = sd_jwt(base_payload(cnf={"jwk": eddsa_holder.public_jwk}), [D_GIVEN])
    presentation = with_kb(text, signer=eddsa_holder)
    assert reason(lambda: kb(presentation)) == "kb_algorithm_not_allowed"
    widened = replace(KB_POLICY, kb_algorithms=frozenset({"ES256", "EdDSA"}))
    assert kb(presentation, widened).key_binding["nonce"] == NONCE


def test_s7_3_step_5_3_kb_signature_is_validated() -> None:
    """§7.3 step 5.3: "Validate the signature over the Key Binding JWT per Section 5.2 of [RFC7515]"."""
    good = kb_jwt(BASE)
    head, _body, sig = good.split(".")
    other_body = b64url_encode(
        json_dumps({"iat": NOW, "aud": AUD, "nonce": "other", "sd_hash": sha256_digest(BASE)}).encode()
    )
    assert reason(lambda: kb(BASE + f"{head}.{other_body}.{sig}")) == "kb_invalid_signature"


@pytest.mark.parametrize("typ", ["JWT", "KB+JWT", "kb+jwt ", "example+sd-jwt", OMIT, 1])
def test_s7_3_step_5_4_kb_typ_must_be_kb_jwt(typ: Any) -> None:
    """§7.3 step 5.4: "Check that the typ of the Key Binding JWT is kb+jwt"; §4.3: "typ: REQUIRED. MUST be kb+jwt"."""
    assert reason(lambda: kb(with_kb(BASE, typ=typ)), KeyBindingError) == "kb_wrong_typ"


def test_s7_3_step_5_5_kb_iat_required_and_within_window() -> None:
    """§7.3 step 5.5: "Check that the creation time of the Key Binding JWT, as determined by the iat claim, is within
    an acceptable window"; §4.3: iat REQUIRED."""
    assert reason(lambda: kb(with_kb(BASE, iat=OMIT))) == "kb_malformed"
    assert reason(lambda: kb(with_kb(BASE, iat="1700000000"))) == "kb_malformed"
    assert reason(lambda: kb(with_kb(BASE, iat=True))) == "kb_malformed"
    assert reason(lambda: kb(with_kb(BASE, iat=NOW + 61))) == "kb_iat_in_future"
    assert reason(lambda: kb(with_kb(BASE, iat=NOW - 361))) == "kb_stale"
    assert kb(with_kb(BASE, iat=NOW - 359)).key_binding["iat"] == NOW - 359
    assert kb(with_kb(BASE, iat=NOW + 59)).key_binding["iat"] == NOW + 59
    short = replace(KB_POLICY, kb_max_age=10, skew=0)
    assert reason(lambda: kb(with_kb(BASE, iat=NOW - 11), short)) == "kb_stale"


def test_s7_3_step_5_6_nonce_binds_the_transaction() -> None:
    """§7.3 step 5.6: "Determine that the Key Binding JWT is bound to the current transaction ... by validating nonce";
    §4.3: nonce "MUST be a string"."""
    for nonce in ("other-nonce", OMIT, 12345, [NONCE], ""):
        text = with_kb(BASE, nonce=nonce)
        assert reason(lambda text=text: kb(text), KeyBindingError) == "kb_wrong_nonce", nonce


def test_s7_3_step_5_6_aud_is_this_verifier() -> None:
    """§7.3 step 5.6: "... and was created for this Verifier"; §4.3: aud "MUST be a single string"."""
    for aud in ("https://other.example", OMIT, [AUD], {"aud": AUD}):
        text = with_kb(BASE, aud=aud)
        assert reason(lambda text=text: kb(text), KeyBindingError) == "kb_wrong_aud", aud


def test_s7_3_step_5_7_sd_hash_over_issuer_jwt_and_selected_disclosures() -> None:
    """§7.3 step 5.7 / §4.3.1: sd_hash over ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~`` with the
    ``_sd_alg`` hash; any other input or encoding is refused."""
    jwt_part = BASE.split("~")[0]
    hex_digest = hashlib.sha256(BASE.encode()).hexdigest()
    for sd_hash in (
        sha256_digest(BASE[:-1]),  # without the final '~'
        sha256_digest(jwt_part + "~"),  # Issuer-signed JWT only
        hex_digest,
        base64.urlsafe_b64encode(hashlib.sha256(BASE.encode()).digest()).decode(),  # padded
        OMIT,
        None,
    ):
        text = with_kb(BASE, sd_hash=sd_hash)
        assert reason(lambda text=text: kb(text), KeyBindingError) == "kb_sd_hash_mismatch", sd_hash


def test_s7_3_step_5_7_presentation_changed_after_key_binding() -> None:
    """§4.3.1: the KB-JWT binds the exact set and order of Disclosures (a Disclosure dropped, added or reordered)."""
    selected = sd_jwt(base_payload(), [D_GIVEN, D_FAMILY])
    binding = kb_jwt(selected)
    assert kb(selected + binding).claims["family_name"] == "Doe"
    jwt_part = selected.split("~")[0]
    for changed in (
        f"{jwt_part}~{D_GIVEN}~",
        f"{jwt_part}~{D_GIVEN}~{D_FAMILY}~{D_US}~",
        f"{jwt_part}~{D_FAMILY}~{D_GIVEN}~",
    ):
        assert reason(lambda changed=changed: kb(changed + binding)) == "kb_sd_hash_mismatch"


def test_s4_3_1_sd_hash_uses_the_sd_alg_hash() -> None:
    """§4.3.1: "The same hash algorithm as for the Disclosures MUST be used"."""
    g384 = disclosure("salt-g", "given_name", "John")
    d384 = digest_with(g384, "sha384")
    text = sd_jwt(base_payload(_sd=[d384], nationalities=["DE"], _sd_alg="sha-384"), [g384])
    assert kb(with_kb(text, hash_name="sha384")).claims["given_name"] == "John"
    assert reason(lambda: kb(with_kb(text, hash_name="sha256"))) == "kb_sd_hash_mismatch"


def test_s7_3_step_5_8_kb_jwt_valid_in_all_other_respects() -> None:
    """§7.3 step 5.8: "Check that the Key Binding JWT is a valid JWT in all other respects, per [RFC7519]" — exp/nbf."""
    assert reason(lambda: kb(with_kb(BASE, exp=NOW - 120))) == "kb_expired"
    assert reason(lambda: kb(with_kb(BASE, nbf=NOW + 120))) == "kb_not_yet_valid"
    assert kb(with_kb(BASE, exp=NOW + 120)).key_binding["exp"] == NOW + 120


def test_s7_3_kb_jwt_payload_must_be_a_strict_json_object() -> None:
    from ssi.jose import sign_compact

    for raw in (b"[1]", b'{"nonce":"a","nonce":"b"}', b"nope"):
        bad = sign_compact(raw, HOLDER, {"typ": "kb+jwt"})
        assert reason(lambda bad=bad: kb(BASE + bad), KeyBindingError) == "kb_malformed", raw


def test_s7_3_kb_jwt_from_an_issued_credential_round_trip() -> None:
    """End to end with our issuer: the KB-JWT claims are returned to the application."""
    issued = issue_sd_jwt({"given_name": "John", "cnf": CNF}, ISSUER, disclosable=[("given_name",)])
    presentation = with_kb(issued.compact, nonce=NONCE)
    result = kb(presentation)
    assert result.claims == {"given_name": "John", "cnf": CNF}
    assert isinstance(result.key_binding, dict)


def test_errors_are_credential_errors_with_oauth_codes() -> None:
    """The hierarchy: SD-JWT failures are ``SdJwtError`` (``invalid_credential``), KB failures ``KeyBindingError``."""
    with pytest.raises(SdJwtError) as info:
        plain(BASE + "x~")
    assert info.value.code == "invalid_credential"
    with pytest.raises(KeyBindingError):
        kb(with_kb(BASE, nonce="x"))
    assert json.loads(json.dumps(info.value.to_dict()))["error"] == "invalid_credential"
