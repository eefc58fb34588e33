"""The Issuer (RFC 9901 §4.1, §4.2): Disclosures, digests, embedding, decoys, recursive disclosures, §8 issuance."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sdjwt_support import (
    HOLDER_PUBLIC_JWK,
    ISSUER,
    ISSUER_1,
    ISSUER_2,
    ISSUER_KEY,
    NO_KB_POLICY,
    clock,
    digest_with,
    reason,
    sha256_digest,
    without_sd,
)

from ssi.encoding import b64url_decode, b64url_json
from ssi.errors import SdJwtError
from ssi.jose import verify_compact
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import (
    Disclosure,
    VerificationPolicy,
    format_claim_path,
    issue_sd_jwt,
    parse_claim_path,
    split_compact,
    split_json,
    verify_sd_jwt,
)

B64URL = re.compile(r"[A-Za-z0-9_-]+")

CLAIMS: dict[str, Any] = {
    "sub": "user_42",
    "given_name": "John",
    "family_name": "Doe",
    "address": {"street_address": "123 Main St", "locality": "Anytown", "country": "US"},
    "nationalities": ["US", "DE"],
}


class CountingRandom:
    """Deterministic :class:`~ssi.sd_jwt.RandomSource`: distinct counter bytes; ``randbelow`` at its maximum."""

    def __init__(self, *, maximum: bool = True) -> None:
        self.count = 0
        self.requests: list[int] = []
        self.maximum = maximum

    def token_bytes(self, nbytes: int) -> bytes:
        self.count += 1
        self.requests.append(nbytes)
        return self.count.to_bytes(nbytes, "big")

    def randbelow(self, exclusive_upper_bound: int) -> int:
        return exclusive_upper_bound - 1 if self.maximum else 0


def _all_digests(value: Any, disclosures: tuple[Disclosure, ...]) -> list[str]:
    """Every embedded digest of the payload and (recursively) of the Disclosure values."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if isinstance(v.get("_sd"), list):
                out.extend(v["_sd"])
            if set(v) == {"..."}:
                out.append(v["..."])
            for k, member in v.items():
                if k != "_sd":
                    walk(member)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    for d in disclosures:
        walk(d.value)
    return out


# --- §4.1 Issuer-signed JWT ---------------------------------------------------------------------------------------


def test_s4_1_issuer_signed_jwt_is_signed_with_the_issuer_key_never_none() -> None:
    """§4.1: "An SD-JWT has a JWT component that MUST be signed using the Issuer's private key. It MUST NOT use
    the none algorithm." The header carries the signer's alg and the caller's typ (§9.11 explicit typing)."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",)], header={"typ": "example+sd-jwt"})
    verified = verify_compact(issued.issuer_jwt, ISSUER_KEY, {"ES256"})
    assert verified.header == {"typ": "example+sd-jwt", "alg": "ES256"}
    assert json.loads(verified.payload) == issued.payload


def test_s4_1_permanently_disclosed_claims_stay_in_plaintext() -> None:
    """§4.1 item 4 / §4: claims that are not selectively disclosable are included in plaintext."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",), ("family_name",)])
    assert issued.payload["sub"] == "user_42"
    assert issued.payload["address"] == CLAIMS["address"]
    assert issued.payload["nationalities"] == ["US", "DE"]
    assert "given_name" not in issued.payload and "family_name" not in issued.payload


@pytest.mark.parametrize("name", ["_sd", "...", "_sd_alg"])
def test_s4_1_item_7_reserved_claim_names_are_refused_in_input(name: str) -> None:
    """§4.1 item 7: "The payload MUST NOT contain the claims _sd or ... except for the purpose of conveying
    digests" (and ``_sd_alg`` only as §4.1.1 says) — at any depth of the input claims."""
    assert reason(lambda: issue_sd_jwt({name: 1}, ISSUER)) == "reserved_claim_name"
    assert reason(lambda: issue_sd_jwt({"a": {"b": [{name: 1}]}}, ISSUER)) == "reserved_claim_name"


def test_s4_1_the_same_digest_never_appears_twice() -> None:
    """§4.1: "The same digest value MUST NOT appear more than once in the SD-JWT" — even for equal values."""
    claims = {"a": "same", "b": "same", "list": ["same", "same", "same"], "o": {"a": "same"}}
    paths = [("a",), ("b",), ("list", None), ("o", "a"), ("o",)]
    issued = issue_sd_jwt(claims, ISSUER, disclosable=paths, decoys=3, rng=CountingRandom())
    digests = _all_digests(issued.payload, issued.disclosures)
    assert len(digests) == len(set(digests))
    assert len(issued.disclosures) == 7


def test_s4_1_1_sd_alg_at_top_level_and_default_sha_256() -> None:
    """§4.1.1: ``_sd_alg`` appears only at the top level; sha-256 is the default and MUST be supported."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("address", "locality")])
    assert issued.payload["_sd_alg"] == "sha-256"
    assert "_sd_alg" not in issued.payload["address"]
    plain = issue_sd_jwt({"a": 1}, ISSUER)
    assert "_sd_alg" not in plain.payload and "_sd" not in plain.payload  # nothing to hash, nothing to say
    assert plain.compact.endswith("~") and plain.compact.count("~") == 1


@pytest.mark.parametrize(("sd_alg", "hash_name"), [("sha-256", "sha256"), ("sha-384", "sha384"), ("sha-512", "sha512")])
def test_s4_1_1_and_4_2_3_digests_use_the_sd_alg_hash(sd_alg: str, hash_name: str) -> None:
    """§4.2.3: "each Disclosure is hashed using the hash algorithm specified in the _sd_alg claim"."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",)], sd_alg=sd_alg)
    assert issued.payload["_sd_alg"] == sd_alg
    assert issued.payload["_sd"] == [digest_with(issued.disclosures[0].encoded, hash_name)]
    result = verify_sd_jwt(issued.compact, ISSUER_KEY, NO_KB_POLICY, clock=clock())
    assert result.claims["given_name"] == "John"


@pytest.mark.parametrize("sd_alg", ["sha-1", "md5", "SHA-256", "sha3-256", ""])
def test_s4_1_1_unknown_or_weak_hash_algorithms_are_refused(sd_alg: str) -> None:
    """§4.1.1 + §9.4 (choice of a hash algorithm): only strong, known names from the IANA registry column."""
    assert reason(lambda: issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("sub",)], sd_alg=sd_alg)) == "unsupported_sd_alg"


# --- §4.2.1 / §4.2.2 Disclosures ----------------------------------------------------------------------------------


def test_s4_2_1_object_property_disclosure_is_salt_name_value() -> None:
    """§4.2.1: a JSON array ``[salt, claim name, claim value]``, base64url of its UTF-8 bytes."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("address",)])
    (d,) = issued.disclosures
    items = json.loads(b64url_decode(d.encoded).decode("utf-8"))
    assert items == [d.salt, "address", CLAIMS["address"]]
    assert isinstance(items[0], str)
    assert B64URL.fullmatch(d.encoded)


def test_s4_2_1_values_of_every_json_type_and_unicode_survive() -> None:
    """§4.2.1 item 3: "The value can be of any type that is allowed in JSON"; UTF-8 (§4.2.1: UTF-8 byte sequence)."""
    claims = {"n": None, "i": 42, "f": 3.14, "s": "Möbius 太郎", "b": False, "a": ["Test"], "o": {"foo": "bar"}}
    issued = issue_sd_jwt(claims, ISSUER, disclosable=[(k,) for k in claims])
    for d in issued.disclosures:
        assert Disclosure.parse(d.encoded).value == claims[d.name]  # type: ignore[index]
    result = verify_sd_jwt(issued.compact, ISSUER_KEY, NO_KB_POLICY, clock=clock())
    assert result.claims == claims


def test_s4_2_1_item_1_salt_is_128_bits_from_the_random_source_and_unique() -> None:
    """§4.2.1 item 1 / §9.3: "base64url-encode 128 bits of cryptographically secure random data"; "The salt value
    MUST be unique for each claim"."""
    rng = CountingRandom()
    issued = issue_sd_jwt(
        CLAIMS, ISSUER, disclosable=[("given_name",), ("family_name",), ("nationalities", 0)], rng=rng
    )
    assert rng.requests == [16, 16, 16]
    salts = [d.salt for d in issued.disclosures]
    assert all(len(b64url_decode(s)) == 16 for s in salts)
    assert len(set(salts)) == 3
    # the default source is the system CSPRNG: two issuances never share salts
    a = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",)]).disclosures[0].salt
    b = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",)]).disclosures[0].salt
    assert a != b and len(b64url_decode(a)) == 16


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_s4_2_1_item_2_claim_name_must_not_be_sd_or_ellipsis(name: str) -> None:
    """§4.2.1 item 2: the claim name "MUST be a string and MUST NOT be _sd, ...\"."""
    assert reason(lambda: Disclosure.create("salt", name, 1)) == "forbidden_claim_name"
    assert reason(lambda: Disclosure.create("salt", 7, 1)) == "forbidden_claim_name"  # type: ignore[arg-type]


def test_s4_2_2_array_element_disclosure_is_salt_value_in_place() -> None:
    """§4.2.2: ``[salt, value]``; §4.2.4.2: ``{"...": digest}`` "in the same position as the original claim value"."""
    issued = issue_sd_jwt({"nationalities": ["DE", "FR", "US"]}, ISSUER, disclosable=[("nationalities", 1)])
    (d,) = issued.disclosures
    assert json.loads(b64url_decode(d.encoded)) == [d.salt, "FR"]
    assert d.is_array_element and d.name is None
    assert issued.payload["nationalities"] == ["DE", {"...": sha256_digest(d.encoded)}, "US"]


def test_s4_2_2_wildcard_path_makes_every_element_disclosable() -> None:
    issued = issue_sd_jwt({"nationalities": ["DE", "FR"]}, ISSUER, disclosable=[("nationalities", None)])
    assert [d.value for d in issued.disclosures] == ["DE", "FR"]
    assert issued.payload["nationalities"] == [{"...": sha256_digest(d.encoded)} for d in issued.disclosures]


# --- §4.2.3 / §4.2.4 digests and embedding --------------------------------------------------------------------------


def test_s4_2_3_digest_is_over_the_ascii_of_the_encoded_disclosure() -> None:
    """§4.2.3: "The input to the hash function MUST be the base64url-encoded Disclosure, not the bytes encoded by
    the base64url string" and the output is base64url, not hex."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("family_name",)])
    (d,) = issued.disclosures
    assert issued.payload["_sd"] == [sha256_digest(d.encoded)]
    assert issued.payload["_sd"][0] != digest_with(b64url_decode(d.encoded).decode("latin-1"), "sha256")
    assert len(issued.payload["_sd"][0]) == 43


def test_s4_2_4_1_sd_array_of_strings_sorted_and_omitted_when_empty() -> None:
    """§4.2.4.1: ``_sd`` is "an array of strings"; "The Issuer MUST hide the original order of the claims" (we sort);
    "it is RECOMMENDED to omit the _sd key" when nothing at that level is disclosable."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("sub",), ("given_name",), ("family_name",)])
    sd = issued.payload["_sd"]
    assert all(isinstance(x, str) for x in sd) and sd == sorted(sd) and len(sd) == 3
    assert "_sd" not in issued.payload["address"]
    assert without_sd(issued.payload["address"])


def test_s4_2_4_1_digest_order_does_not_depend_on_claim_order() -> None:
    """§4.2.4.1: "The precise method does not matter as long as it does not depend on the original order" — with
    deterministic salts, the ``_sd`` array is the sorted digest set, not the claim order."""
    claims = {name: i for i, name in enumerate("abcdef")}
    issued = issue_sd_jwt(claims, ISSUER, disclosable=[(k,) for k in claims], rng=CountingRandom())
    in_claim_order = [sha256_digest(d.encoded) for d in issued.disclosures]
    assert [d.name for d in issued.disclosures] == list("abcdef")
    assert issued.payload["_sd"] == sorted(in_claim_order) != in_claim_order
    reversed_claims = dict(reversed(list(claims.items())))
    again = issue_sd_jwt(reversed_claims, ISSUER, disclosable=[(k,) for k in claims], rng=CountingRandom())
    assert again.payload["_sd"] == sorted(again.payload["_sd"])


def test_s4_2_4_2_array_digest_object_has_only_the_ellipsis_key() -> None:
    """§4.2.4.2: "The key MUST always be the string ... There MUST NOT be any other keys in the object"."""
    issued = issue_sd_jwt({"x": [1, {"k": "v"}, 3]}, ISSUER, disclosable=[("x", 1)])
    element = issued.payload["x"][1]
    assert list(element) == ["..."] and isinstance(element["..."], str)


def test_s4_2_4_nested_structured_disclosure_at_its_level() -> None:
    """§4.2.4.1 / §6.2: an ``_sd`` key "can be present at any level of the JSON object hierarchy"."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("address", "street_address"), ("address", "locality")])
    assert issued.payload["address"]["country"] == "US"
    assert len(issued.payload["address"]["_sd"]) == 2
    assert "_sd" not in issued.payload


# --- §4.2.5 decoys ------------------------------------------------------------------------------------------------


def test_s4_2_5_decoy_digests_are_added_to_sd_arrays_and_arrays() -> None:
    """§4.2.5: decoys "MAY be added both to the _sd array for objects as well as in arrays", created "by hashing over
    a cryptographically secure random number" with "The same digest function as for the Disclosures"."""
    issued = issue_sd_jwt(
        CLAIMS, ISSUER, disclosable=[("given_name",), ("nationalities", 0)], decoys=3, rng=CountingRandom()
    )
    real = {sha256_digest(d.encoded) for d in issued.disclosures}
    sd = issued.payload["_sd"]
    assert len(sd) == 1 + 3 and sd == sorted(sd)
    decoys = [x for x in sd if x not in real]
    assert len(decoys) == 3 and all(len(x) == 43 and B64URL.fullmatch(x) for x in decoys)
    array = issued.payload["nationalities"]
    assert len(array) == 2 + 3 and "DE" in array
    assert sum(1 for e in array if isinstance(e, dict) and e["..."] not in real) == 3
    # no Disclosure exists for a decoy; the verifier drops them (§7.1 step 3.3.1 / 3.4)
    result = verify_sd_jwt(issued.compact, ISSUER_KEY, NO_KB_POLICY, clock=clock())
    assert result.claims["nationalities"] == ["US", "DE"]
    assert result.claims["given_name"] == "John"


def test_s4_2_5_decoy_count_is_bounded_and_random() -> None:
    """``decoys`` is a maximum: the count per container is drawn from the random source (0..decoys)."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",)], decoys=5, rng=CountingRandom(maximum=False))
    assert len(issued.payload["_sd"]) == 1
    with_sha512 = issue_sd_jwt(
        CLAIMS, ISSUER, disclosable=[("given_name",)], decoys=2, sd_alg="sha-512", rng=CountingRandom()
    )
    assert {len(x) for x in with_sha512.payload["_sd"]} == {86}  # decoys use the same hash as the Disclosures
    assert reason(lambda: issue_sd_jwt(CLAIMS, ISSUER, decoys=-1)) == "bad_claims"


def test_s4_2_5_no_decoys_where_nothing_is_disclosable() -> None:
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",)], decoys=4, rng=CountingRandom())
    assert "_sd" not in issued.payload["address"]
    assert issued.payload["nationalities"] == ["US", "DE"]


# --- §4.2.6 recursive disclosures --------------------------------------------------------------------------------


def test_s4_2_6_recursive_disclosure_of_array_and_its_elements() -> None:
    """§4.2.6: "first making the entries within the nationalities array selectively disclosable, and then making the
    whole nationalities field selectively disclosable"."""
    claims = {"family_name": "Möbius", "nationalities": ["DE", "FR", "UK"]}
    issued = issue_sd_jwt(claims, ISSUER, disclosable=[("nationalities",), ("nationalities", None)])
    assert issued.payload == {"family_name": "Möbius", "_sd": issued.payload["_sd"], "_sd_alg": "sha-256"}
    by_value = {json.dumps(d.value): d for d in issued.disclosures}
    outer = next(d for d in issued.disclosures if d.name == "nationalities")
    elements = [by_value[json.dumps(v)] for v in ("DE", "FR", "UK")]
    assert outer.value == [{"...": sha256_digest(e.encoded)} for e in elements]
    assert issued.payload["_sd"] == [sha256_digest(outer.encoded)]


def test_s4_2_6_recursive_disclosure_of_object_members() -> None:
    """§6.3 (recursive): the address Disclosure contains an ``_sd`` with its members' digests."""
    issued = issue_sd_jwt(
        CLAIMS, ISSUER, disclosable=[("address",), ("address", "street_address"), ("address", "country")]
    )
    outer = next(d for d in issued.disclosures if d.name == "address")
    inner = [d for d in issued.disclosures if d.name in ("street_address", "country")]
    assert outer.value["locality"] == "Anytown"
    assert sorted(outer.value["_sd"]) == sorted(sha256_digest(d.encoded) for d in inner)
    result = verify_sd_jwt(issued.compact, ISSUER_KEY, NO_KB_POLICY, clock=clock())
    assert result.claims["address"] == CLAIMS["address"]


# --- claim paths --------------------------------------------------------------------------------------------------


def test_unknown_claim_path_is_refused_rather_than_leaving_claims_in_the_clear() -> None:
    assert reason(lambda: issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_nmae",)])) == "unknown_claim_path"
    assert reason(lambda: issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("nationalities", 5)])) == "unknown_claim_path"
    assert reason(lambda: issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("address", None)])) == "unknown_claim_path"


def test_bad_claim_paths() -> None:
    assert reason(lambda: issue_sd_jwt(CLAIMS, ISSUER, disclosable=[()])) == "bad_claim_path"
    assert reason(lambda: issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("sub", True)])) == "unknown_claim_path"
    assert reason(lambda: issue_sd_jwt({"a": 1}, ISSUER, disclosable=[(1.5,)])) == "unknown_claim_path"  # type: ignore[list-item]
    assert reason(lambda: issue_sd_jwt([1], ISSUER)) == "bad_claims"  # type: ignore[arg-type]
    assert reason(lambda: issue_sd_jwt({1: 1}, ISSUER)) == "bad_claims"  # type: ignore[dict-item]


def test_claim_path_notation_round_trips() -> None:
    for text, path in [
        ("a", ("a",)),
        ("address.street", ("address", "street")),
        ("n.0", ("n", 0)),
        ("n.*", ("n", None)),
    ]:
        assert parse_claim_path(text) == path
        assert format_claim_path(path) == text
    for bad in ("", "a..b", ".a"):
        assert reason(lambda bad=bad: parse_claim_path(bad)) == "bad_claim_path"


# --- §8 issuance in JSON -------------------------------------------------------------------------------------------


def test_s8_2_flattened_issuance_puts_disclosures_in_the_unprotected_header() -> None:
    """§8.1/§8.2: Disclosures go in the ``disclosures`` unprotected header; the compact form is the same SD-JWT."""
    issued = issue_sd_jwt(CLAIMS, ISSUER, disclosable=[("given_name",)], serialization="json")
    obj = issued.to_json()
    assert set(obj) == {"payload", "protected", "signature", "header"}
    assert obj["header"] == {"disclosures": [d.encoded for d in issued.disclosures]}
    assert split_json(obj).sd_jwt == issued.compact == split_compact(issued.compact).sd_jwt
    assert b64url_json(obj["payload"]) == issued.payload


def test_s8_3_general_issuance_has_disclosures_only_in_the_first_header() -> None:
    """§8.3: with several signatures, ``disclosures`` only in the first unprotected header."""
    issued = issue_sd_jwt(
        CLAIMS, ISSUER_1, disclosable=[("given_name",)], serialization="json", extra_signers=[ISSUER_2]
    )
    obj = issued.to_json()
    first, second = obj["signatures"]
    assert first["header"]["disclosures"] == [d.encoded for d in issued.disclosures]
    assert "disclosures" not in second.get("header", {})
    kids = [b64url_json(s["protected"])["kid"] for s in obj["signatures"]]
    assert kids == ["issuer-key-1", "issuer-key-2"]


def test_s8_3_several_signatures_need_the_json_serialization() -> None:
    assert reason(lambda: issue_sd_jwt(CLAIMS, ISSUER, extra_signers=[ISSUER_2])) == "bad_claims"


def test_issued_sd_jwt_with_holder_key_round_trips_through_verification() -> None:
    """§4.1.2: the Holder's key goes into ``cnf.jwk`` and stays permanently disclosed (any Issuer algorithm)."""
    claims = {**CLAIMS, "cnf": {"jwk": HOLDER_PUBLIC_JWK}}
    eddsa = SoftwareSigner.generate("EdDSA")
    issued = issue_sd_jwt(claims, eddsa, disclosable=[("given_name",)])
    assert issued.payload["cnf"] == {"jwk": HOLDER_PUBLIC_JWK}
    policy = VerificationPolicy(algorithms=frozenset({"EdDSA"}), require_key_binding=False)
    assert verify_sd_jwt(issued.compact, eddsa.public_key, policy, clock=clock()).claims == claims
    with pytest.raises(SdJwtError):
        split_compact(issued.issuer_jwt)  # an Issuer-signed JWT alone is not an SD-JWT
