"""Attack corpus for the SD-JWT VC Verifier (RFC 9901 §4, §7.1, §7.3, §8; draft-ietf-oauth-sd-jwt-vc-13 §3.2).

Every case starts from one valid PID-like SD-JWT VC presentation (``corpus.World``) and breaks exactly one thing:
truncation and reordering (§4), tampered Disclosures (§7.1 steps 3-5, §9.2 "Manipulation of Disclosures"), the
KB-JWT (§4.3, §7.3 step 5), validity claims (§7.1 step 6), duplicates (§4, §7.1 steps 4-5), the JOSE header (§7.1
step 2, RFC 8725 §3.1/§3.2/§3.11), resource limits, strict encodings, ``_sd``/``...``/``_sd_alg`` misuse (§4.1,
§4.2.4), Disclosure shapes (§4.2.1/§4.2.2, §7.1 step 3.3), the SD-JWT VC rules (§3.2.2) and the JSON serialization
(§8). Semantically broken Issuer-signed JWTs are signed by the genuine Issuer key and KB-JWTs by the genuine Holder
key, so the signatures verify and only the rule under test can reject the input.

Each case asserts the exact exception class from ``ssi.errors`` AND its ``reason``: a generic exception, another
class, another reason or a successful verification all fail it. Positive controls built with the same machinery
must verify, so the corpus cannot pass vacuously.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from corpus import (
    AUD,
    CLAIMS,
    DISCLOSABLE,
    FOURTEEN_DAYS,
    ISS,
    NONCE,
    NOW,
    STATUS,
    TYP,
    VCT,
    Attack,
    Attempt,
    Control,
    SeededRandom,
    World,
    add_sd,
    b64,
    decoy,
    deep_object,
    disclosure,
    flip_char,
    hmac_with_public_key,
    noncanonical,
    padded,
    raw_disclosure,
    reencode,
    sha256,
)

from ssi.clock import FrozenClock
from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import (
    InputTooLarge,
    InvalidSignature,
    JoseError,
    KeyBindingError,
    SdJwtError,
    SsiError,
    TokenExpired,
    TokenNotYetValid,
    UnsupportedAlgorithm,
)
from ssi.jose import sign_compact, sign_json
from ssi.sd_jwt._common import digest
from ssi.sd_jwt.vc import issue_sd_jwt_vc

Build = Callable[[World], Attempt]

ATTACKS: list[Attack] = []
CONTROLS: list[Control] = []


def add(category: str, name: str, error: type[SsiError], reason: str, build: Build) -> None:
    ATTACKS.append(Attack(f"{category}/{name}", category, build, error, reason))


def attack(category: str, name: str, error: type[SsiError], reason: str) -> Callable[[Build], Build]:
    """Decorator form of :func:`add` for builders that need more than one line."""

    def register(build: Build) -> Build:
        add(category, name, error, reason, build)
        return build

    return register


def control(name: str, build: Build, check: Callable[[Any], bool] = lambda _: True) -> None:
    CONTROLS.append(Control(name, build, check))


# --- small builders shared by several categories ---------------------------------------------------------------------


def _jwt_parts(jwt: str) -> tuple[str, str, str]:
    h, p, s = jwt.split(".")
    return h, p, s


def _kb_of(w: World) -> str:
    """The genuine KB-JWT over the full presentation."""
    return w.kb(w.sd_jwt())


def _with_jwt(w: World, jwt: str) -> str:
    """All genuine Disclosures under ``jwt``, with a KB-JWT the Holder computed over exactly that."""
    return w.present(jwt)


def _resigned_jwt(w: World, **header: Any) -> str:
    """The genuine payload, freshly signed by the Issuer with a changed protected header."""
    return _with_jwt(w, w.resign(lambda p: None, header=header))


def _signed_text(w: World, header_text: str | bytes, payload_text: str | bytes | None = None) -> str:
    """Issuer-signed JWT over verbatim header/payload text (the payload defaults to the genuine one)."""
    return _with_jwt(w, w.sign_text(header_text, json_dumps(w.payload) if payload_text is None else payload_text))


def _payload_plus(w: World, member_text: str) -> str:
    """The genuine payload JSON text with one more member appended verbatim (duplicates, NaN, deep nesting...)."""
    return json_dumps(w.payload)[:-1] + "," + member_text + "}"


def _referenced(w: World, encoded: str) -> Attempt:
    """Embed a (possibly malformed) Disclosure's digest in the re-signed payload, so the Verifier must parse it."""
    return w.attempt(w.resigned(lambda p: add_sd(p, sha256(encoded)), extra=[encoded]))


def _kb_header(**extra: Any) -> str:
    return json_dumps({"alg": "ES256", "typ": "kb+jwt", **extra})


def _kb_json(w: World, **changes: Any) -> str:
    return json_dumps(w.kb_claims(w.sd_jwt(), **changes))


def _kb_raw(w: World, header_text: str, payload_text: str | bytes, signer: Any = None) -> str:
    """A KB-JWT over verbatim header/payload text, signed by the Holder (or ``signer``)."""
    return w.sd_jwt() + w.sign_text(header_text, payload_text, signer or w.holder)


def _salt(w: World, *path: str | int) -> str:
    return next(c.disclosure.salt for c in w.held.disclosed if c.path == path)


def _forged(w: World, path: tuple[str | int, ...], *items: Any) -> tuple[str, ...]:
    """All genuine Disclosures, the one at ``path`` replaced by ``items`` (same salt unless ``items`` says else)."""
    return w.replaced(w.d(*path), disclosure(*items))


def _impossible_length(segment: str) -> str:
    """Pad with 'A' to a length of 1 mod 4, which no base64 encoding has (RFC 4648 §4)."""
    return segment + "A" * ((1 - len(segment)) % 4)


_bomb = "[" * 5000 + "]" * 5000  # nested deeper than the JSON parser itself will go

# =====================================================================================================================
# §4 structure: truncated at every structural boundary and mid-token, reordered parts, '~' misuse
# =====================================================================================================================

S = "structure"
_malformed = (SdJwtError, "malformed_sd_jwt")

add(S, "truncated-empty", *_malformed, lambda w: w.attempt(""))
add(S, "truncated-mid-issuer-header", *_malformed, lambda w: w.attempt(w.issuer_jwt[:20]))
add(S, "truncated-after-issuer-header", *_malformed, lambda w: w.attempt(_jwt_parts(w.issuer_jwt)[0]))
add(S, "truncated-after-first-dot", *_malformed, lambda w: w.attempt(_jwt_parts(w.issuer_jwt)[0] + "."))
add(S, "truncated-mid-issuer-payload", *_malformed, lambda w: w.attempt(w.issuer_jwt[: w.issuer_jwt.index(".") + 40]))
add(S, "truncated-after-second-dot", *_malformed, lambda w: w.attempt(w.issuer_jwt.rsplit(".", 1)[0] + "."))
add(S, "truncated-mid-issuer-signature", *_malformed, lambda w: w.attempt(w.issuer_jwt[:-10]))
add(S, "truncated-issuer-jwt-without-tilde", *_malformed, lambda w: w.attempt(w.issuer_jwt))
add(S, "truncated-after-jwt-tilde", KeyBindingError, "kb_missing", lambda w: w.attempt(w.issuer_jwt + "~"))
for _k in (1, 5, 10, 18):
    add(
        S,
        f"truncated-after-disclosure-{_k}",
        KeyBindingError,
        "kb_missing",
        lambda w, k=_k: w.attempt(w.sd_jwt(disclosures=w.disclosures[:k])),
    )
add(S, "truncated-mid-disclosure", *_malformed, lambda w: w.attempt(w.sd_jwt()[:-20]))
add(S, "truncated-mid-kb-header", *_malformed, lambda w: w.attempt(w.sd_jwt() + _kb_of(w)[:15]))
add(S, "truncated-kb-after-first-dot", *_malformed, lambda w: w.attempt(w.sd_jwt() + _kb_of(w).split(".")[0] + "."))
add(
    S, "truncated-kb-mid-payload", *_malformed, lambda w: w.attempt(w.sd_jwt() + _kb_of(w)[: _kb_of(w).index(".") + 30])
)
add(
    S,
    "truncated-kb-after-second-dot",
    KeyBindingError,
    "kb_invalid_signature",
    lambda w: w.attempt(w.sd_jwt() + _kb_of(w).rsplit(".", 1)[0] + "."),
)
# 86 → 84 characters: 63 octets, a short R || S; 85 characters: no base64url string has a length of 1 mod 4
add(
    S,
    "truncated-kb-signature-84",
    KeyBindingError,
    "kb_invalid_signature",
    lambda w: w.attempt(w.sd_jwt() + _kb_of(w)[:-2]),
)
add(
    S,
    "truncated-kb-signature-85",
    KeyBindingError,
    "kb_malformed_jws",
    lambda w: w.attempt(w.sd_jwt() + _kb_of(w)[:-1]),
)
add(
    S,
    "truncated-issuer-signature-empty",
    InvalidSignature,
    "invalid_signature",
    lambda w: w.attempt(_with_jwt(w, w.issuer_jwt.rsplit(".", 1)[0] + ".")),
)
add(
    S,
    "truncated-issuer-signature-84",
    InvalidSignature,
    "invalid_signature",
    lambda w: w.attempt(_with_jwt(w, w.issuer_jwt[:-2])),
)
add(
    S, "truncated-issuer-signature-85", JoseError, "malformed_jws", lambda w: w.attempt(_with_jwt(w, w.issuer_jwt[:-1]))
)


@attack(S, "issuer-payload-dropped", InvalidSignature, "invalid_signature")
def _issuer_payload_dropped(w: World) -> Attempt:
    h, _, s = _jwt_parts(w.issuer_jwt)
    return w.attempt(_with_jwt(w, f"{h}..{s}"))


@attack(S, "issuer-header-dropped", JoseError, "malformed_header")
def _issuer_header_dropped(w: World) -> Attempt:
    _, p, s = _jwt_parts(w.issuer_jwt)
    return w.attempt(_with_jwt(w, f".{p}.{s}"))


# reordered parts
add(
    S,
    "reordered-kb-before-disclosures",
    KeyBindingError,
    "kb_missing",
    lambda w: w.attempt(w.sd_jwt(disclosures=(_kb_of(w), *w.disclosures))),
)
add(
    S,
    "reordered-kb-before-disclosures-no-kb-policy",
    SdJwtError,
    "unreferenced_disclosure",
    lambda w: w.no_kb(w.sd_jwt(disclosures=(_kb_of(w), *w.disclosures))),
)
add(
    S,
    "reordered-disclosures-before-jwt",
    *_malformed,
    lambda w: w.attempt("~".join((*w.disclosures, w.issuer_jwt, _kb_of(w)))),
)
# the KB-JWT in the Issuer-signed JWT's place: it is not signed by the Issuer
add(
    S,
    "reordered-kb-first-no-kb-policy",
    InvalidSignature,
    "invalid_signature",
    lambda w: w.no_kb("~".join((_kb_of(w), w.issuer_jwt, *w.disclosures, ""))),
)
add(
    S,
    "reordered-jwt-and-kb-swapped",
    InvalidSignature,
    "invalid_signature",
    lambda w: w.attempt("~".join((_kb_of(w), *w.disclosures, w.issuer_jwt))),
)
# the order is the Holder's choice, but the KB-JWT signed the other order (§4.3.1)
add(
    S,
    "reordered-disclosures-reversed-after-kb",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.sd_jwt(disclosures=w.disclosures[::-1]) + _kb_of(w)),
)
add(
    S,
    "reordered-first-disclosure-moved-last",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.sd_jwt(disclosures=(*w.disclosures[1:], w.disclosures[0])) + _kb_of(w)),
)
# '~' misuse
add(S, "tilde-final-missing-no-kb", *_malformed, lambda w: w.no_kb(w.sd_jwt()[:-1]))
add(S, "tilde-final-missing-kb-policy", *_malformed, lambda w: w.attempt(w.sd_jwt()[:-1]))
# the last Disclosure glued to the KB-JWT's header
add(
    S,
    "tilde-missing-before-kb",
    KeyBindingError,
    "kb_malformed_header",
    lambda w: w.attempt(w.sd_jwt()[:-1] + w.kb(w.sd_jwt(disclosures=w.disclosures[:-1]))),
)
add(S, "tilde-extra-final-no-kb", *_malformed, lambda w: w.no_kb(w.sd_jwt() + "~"))
add(S, "tilde-extra-after-kb", KeyBindingError, "kb_missing", lambda w: w.attempt(w.present() + "~"))
add(
    S,
    "tilde-empty-disclosure-middle",
    *_malformed,
    lambda w: w.attempt(w.sd_jwt(disclosures=(*w.disclosures[:3], "", *w.disclosures[3:])) + _kb_of(w)),
)
add(S, "tilde-empty-disclosure-after-jwt", *_malformed, lambda w: w.attempt(w.present().replace("~", "~~", 1)))
add(S, "tilde-leading", *_malformed, lambda w: w.attempt("~" + w.present()))
add(S, "tilde-only", *_malformed, lambda w: w.attempt("~"))
add(S, "tilde-only-three", *_malformed, lambda w: w.attempt("~~~"))
add(S, "tilde-trailing-newline", *_malformed, lambda w: w.no_kb(w.sd_jwt() + "\n"))
add(
    S,
    "tilde-space-before-separator",
    SdJwtError,
    "unreferenced_disclosure",
    lambda w: w.attempt(w.present(disclosures=(w.disclosures[0] + " ", *w.disclosures[1:]))),
)
add(
    S,
    "dot-instead-of-tilde-between-disclosures",
    SdJwtError,
    "unreferenced_disclosure",
    lambda w: w.attempt(w.present(disclosures=(w.disclosures[0] + "." + w.disclosures[1], *w.disclosures[2:]))),
)

# =====================================================================================================================
# Tampered Disclosures (§7.1 steps 3-5, §9.2): which check catches which variant
# =====================================================================================================================

T = "tampered"
_unreferenced = (SdJwtError, "unreferenced_disclosure")


def _forged_given_name(w: World) -> str:
    """Same salt and claim name as the genuine Disclosure, another value."""
    return disclosure(_salt(w, "given_name"), "given_name", "MAX")


def _swap_given_name(w: World) -> tuple[str, ...]:
    return w.replaced(w.d("given_name"), _forged_given_name(w))


def _resigned_forgery(w: World, *, kb: bool = True) -> str:
    """The Issuer-signed JWT freshly signed by the genuine Issuer; the forged Disclosure instead of the genuine one."""
    return w.resigned(lambda p: None, extra=[_forged_given_name(w)], drop=[w.d("given_name")], kb=kb)


# (a) the Issuer's original JWT and signature: the digest rule (§7.1 step 5) catches it before the KB-JWT is looked at
add(
    T,
    "value-original-jwt-stale-kb",
    *_unreferenced,
    lambda w: w.attempt(w.sd_jwt(disclosures=_swap_given_name(w)) + _kb_of(w)),
)
add(
    T,
    "value-original-jwt-kb-recomputed",
    *_unreferenced,
    lambda w: w.attempt(w.present(disclosures=_swap_given_name(w))),
)
add(
    T,
    "value-original-jwt-no-kb",
    *_unreferenced,
    lambda w: w.no_kb(w.present(disclosures=_swap_given_name(w), kb=False)),
)


@attack(T, "value-and-digest-swapped-original-signature", InvalidSignature, "invalid_signature")
def _value_and_digest_swapped(w: World) -> Attempt:
    """The attacker also swaps the digest in the payload and keeps the Issuer's signature: §7.1 step 2.2 catches it."""
    payload = w.payload_copy()
    payload["_sd"] = sorted(
        sha256(_forged_given_name(w)) if d == w.digest_of("given_name") else d for d in payload["_sd"]
    )
    h, _, s = _jwt_parts(w.issuer_jwt)
    return w.attempt(w.present(f"{h}.{b64(json_dumps(payload))}.{s}", _swap_given_name(w)))


# (b) re-signed by the genuine Issuer, so the signature is valid: only the digest rule is left to catch it
add(T, "value-resigned-by-issuer-kb-recomputed", *_unreferenced, lambda w: w.attempt(_resigned_forgery(w)))
# (c) without a KB-JWT: a Verifier that requires Key Binding stops first, one that does not at the digest rule
add(
    T,
    "value-no-kb-kb-required",
    KeyBindingError,
    "kb_missing",
    lambda w: w.attempt(w.present(disclosures=_swap_given_name(w), kb=False)),
)
add(T, "value-resigned-no-kb-policy", *_unreferenced, lambda w: w.no_kb(_resigned_forgery(w, kb=False)))
# (d) the Holder recomputes the KB-JWT over the tampered set (sd_hash valid): still the digest rule
add(
    T,
    "value-holder-recomputed-kb-subset",
    *_unreferenced,
    lambda w: w.attempt(w.present(disclosures=(_forged_given_name(w),))),
)
add(
    T,
    "salt-changed",
    *_unreferenced,
    lambda w: w.attempt(
        w.present(disclosures=_forged(w, ("given_name",), _salt(w, "given_name") + "A", "given_name", "ERIKA"))
    ),
)
add(
    T,
    "claim-name-changed",
    *_unreferenced,
    lambda w: w.attempt(
        w.present(disclosures=_forged(w, ("given_name",), _salt(w, "given_name"), "nickname", "ERIKA"))
    ),
)


@attack(T, "reencoded-with-whitespace", *_unreferenced)
def _reencoded_with_whitespace(w: World) -> Attempt:
    """The same JSON array, serialized with spaces: another encoding is another Disclosure (§4.2.3, App. B)."""
    reencoded = raw_disclosure(f'["{_salt(w, "given_name")}", "given_name", "ERIKA"]')
    return w.attempt(w.present(disclosures=w.replaced(w.d("given_name"), reencoded)))


add(
    T,
    "nested-address-member",
    *_unreferenced,
    lambda w: w.attempt(
        w.present(
            disclosures=_forged(
                w,
                ("address", "street_address"),
                _salt(w, "address", "street_address"),
                "street_address",
                "SCHLOSSALLEE 1",
            )
        )
    ),
)
add(
    T,
    "array-element",
    *_unreferenced,
    lambda w: w.attempt(w.present(disclosures=_forged(w, ("nationalities", 0), _salt(w, "nationalities", 0), "FR"))),
)
add(
    T,
    "age-over-65-flipped",
    *_unreferenced,
    lambda w: w.attempt(
        w.present(disclosures=_forged(w, ("age_equal_or_over", "65"), _salt(w, "age_equal_or_over", "65"), "65", True))
    ),
)
add(
    T,
    "recursive-parent-value",
    *_unreferenced,
    lambda w: w.attempt(
        w.present(
            disclosures=_forged(
                w, ("address",), _salt(w, "address"), "address", {"_sd": [w.digest_of("address", "locality")]}
            )
        )
    ),
)
add(
    T,
    "case-of-characters",
    *_unreferenced,
    lambda w: w.attempt(w.present(disclosures=w.replaced(w.d("given_name"), w.d("given_name").swapcase()))),
)


@attack(T, "plain-claim-original-signature", InvalidSignature, "invalid_signature")
def _plain_claim_original_signature(w: World) -> Attempt:
    h, _, s = _jwt_parts(w.issuer_jwt)
    return w.attempt(_with_jwt(w, f"{h}.{b64(json_dumps({**w.payload, 'issuing_country': 'AT'}))}.{s}"))


@attack(T, "signature-one-character-changed", InvalidSignature, "invalid_signature")
def _signature_one_character_changed(w: World) -> Attempt:
    signing_input, signature = w.issuer_jwt.rsplit(".", 1)
    return w.attempt(_with_jwt(w, f"{signing_input}.{flip_char(signature, 5)}"))


add(
    T,
    "resigned-by-attacker",
    InvalidSignature,
    "invalid_signature",
    lambda w: w.attempt(_with_jwt(w, w.resign(lambda p: None, signer=w.attacker))),
)


@attack(T, "value-and-digest-resigned-by-attacker", InvalidSignature, "invalid_signature")
def _value_and_digest_resigned_by_attacker(w: World) -> Attempt:
    forged_payload = {**w.payload, "_sd": sorted([*w.payload["_sd"], sha256(_forged_given_name(w))])}
    return w.attempt(w.present(w.sign(forged_payload, signer=w.attacker), _swap_given_name(w)))


@attack(T, "signature-from-another-jwt", InvalidSignature, "invalid_signature")
def _signature_from_another_jwt(w: World) -> Attempt:
    other_signature = w.resign(lambda p: p.update(iat=NOW - 1)).rsplit(".", 1)[1]
    return w.attempt(_with_jwt(w, w.issuer_jwt.rsplit(".", 1)[0] + "." + other_signature))


# =====================================================================================================================
# Key Binding JWT (§4.3, §7.3 steps 1-5)
# =====================================================================================================================

K = "key-binding"

add(
    K,
    "signed-by-attacker-key",
    KeyBindingError,
    "kb_invalid_signature",
    lambda w: w.attempt(w.present(signer=w.attacker)),
)
add(K, "signed-by-issuer-key", KeyBindingError, "kb_invalid_signature", lambda w: w.attempt(w.present(signer=w.issuer)))
add(
    K,
    "signed-by-attacker-with-embedded-jwk",
    KeyBindingError,
    "kb_invalid_signature",
    lambda w: w.attempt(w.present(signer=w.attacker, header={"jwk": w.attacker.public_jwk})),
)
add(
    K,
    "signed-by-attacker-eddsa",
    KeyBindingError,
    "kb_algorithm_not_allowed",
    lambda w: w.attempt(w.present(signer=w.attacker_eddsa)),
)
add(
    K,
    "alg-none-unsigned",
    KeyBindingError,
    "kb_forbidden_algorithm",
    lambda w: w.attempt(w.sd_jwt() + f"{b64(json_dumps({'alg': 'none', 'typ': 'kb+jwt'}))}.{b64(_kb_json(w))}."),
)
add(
    K,
    "alg-none-with-holder-signature",
    KeyBindingError,
    "kb_forbidden_algorithm",
    lambda w: w.attempt(_kb_raw(w, json_dumps({"alg": "none", "typ": "kb+jwt"}), _kb_json(w))),
)


@attack(K, "hs256-with-holder-public-key", KeyBindingError, "kb_forbidden_algorithm")
def _kb_hs256(w: World) -> Attempt:
    secret = w.holder.public_key.raw_bytes(False)
    mac_jwt = hmac_with_public_key(w, {"alg": "HS256", "typ": "kb+jwt"}, w.kb_claims(w.sd_jwt()), secret)
    return w.attempt(w.sd_jwt() + mac_jwt)


add(
    K,
    "es256k-header-over-p256-holder-key",
    KeyBindingError,
    "kb_alg_key_mismatch",
    lambda w: w.attempt(
        _kb_raw(w, _kb_header(alg="ES256K"), _kb_json(w)), kb_algorithms=frozenset({"ES256", "ES256K"})
    ),
)
add(K, "missing-when-required", KeyBindingError, "kb_missing", lambda w: w.attempt(w.present(kb=False)))
add(K, "present-when-not-expected", SdJwtError, "kb_unexpected", lambda w: w.no_kb(w.present()))
add(K, "aud-wrong", KeyBindingError, "kb_wrong_aud", lambda w: w.attempt(w.present(aud="https://evil.example")))
add(K, "aud-array", KeyBindingError, "kb_wrong_aud", lambda w: w.attempt(w.present(aud=[AUD])))
add(
    K,
    "aud-array-two",
    KeyBindingError,
    "kb_wrong_aud",
    lambda w: w.attempt(w.present(aud=[AUD, "https://evil.example"])),
)
add(K, "aud-missing", KeyBindingError, "kb_wrong_aud", lambda w: w.attempt(w.present(drop=["aud"])))
add(K, "aud-prefix", KeyBindingError, "kb_wrong_aud", lambda w: w.attempt(w.present(aud=AUD + "/x")))
add(K, "nonce-wrong", KeyBindingError, "kb_wrong_nonce", lambda w: w.attempt(w.present(nonce="replayed-nonce")))
# §4.3: "The value type of this claim MUST be a string" — 8675309 is not "8675309"
add(
    K, "nonce-number", KeyBindingError, "kb_wrong_nonce", lambda w: w.attempt(w.present(nonce=8675309), nonce="8675309")
)
add(K, "nonce-missing", KeyBindingError, "kb_wrong_nonce", lambda w: w.attempt(w.present(drop=["nonce"])))
add(K, "nonce-array", KeyBindingError, "kb_wrong_nonce", lambda w: w.attempt(w.present(nonce=[NONCE])))
add(
    K,
    "replayed-from-another-verifier",
    KeyBindingError,
    "kb_wrong_nonce",
    lambda w: w.attempt(w.present(aud="https://other-portal.example", nonce="their-nonce")),
)
add(K, "iat-stale", KeyBindingError, "kb_stale", lambda w: w.attempt(w.present(iat=NOW - 300 - 60 - 1)))
add(K, "iat-in-future", KeyBindingError, "kb_iat_in_future", lambda w: w.attempt(w.present(iat=NOW + 61)))
add(K, "iat-missing", KeyBindingError, "kb_malformed", lambda w: w.attempt(w.present(drop=["iat"])))
add(K, "iat-string", KeyBindingError, "kb_malformed", lambda w: w.attempt(w.present(iat=str(NOW))))
add(K, "iat-bool", KeyBindingError, "kb_malformed", lambda w: w.attempt(w.present(iat=True)))
add(K, "iat-huge-integer", KeyBindingError, "kb_malformed", lambda w: w.attempt(w.present(iat=10**400)))
add(K, "typ-jwt", KeyBindingError, "kb_wrong_typ", lambda w: w.attempt(w.present(typ="JWT")))
add(K, "typ-missing", KeyBindingError, "kb_wrong_typ", lambda w: w.attempt(w.present(typ=None)))
add(K, "typ-issuer-type", KeyBindingError, "kb_wrong_typ", lambda w: w.attempt(w.present(typ=TYP)))
add(K, "typ-number", KeyBindingError, "kb_wrong_typ", lambda w: w.attempt(w.present(header={"typ": 1}, typ=None)))
add(K, "sd-hash-wrong", KeyBindingError, "kb_sd_hash_mismatch", lambda w: w.attempt(w.present(sd_hash=sha256("other"))))
add(K, "sd-hash-missing", KeyBindingError, "kb_sd_hash_mismatch", lambda w: w.attempt(w.present(drop=["sd_hash"])))
for _name, _fn in (("sha-384", hashlib.sha384), ("sha-512", hashlib.sha512), ("sha-1", hashlib.sha1)):
    add(
        K,
        f"sd-hash-computed-with-{_name}",
        KeyBindingError,
        "kb_sd_hash_mismatch",
        lambda w, fn=_fn: w.attempt(w.present(sd_hash=digest(w.sd_jwt(), fn))),
    )
# a man in the middle drops a Disclosure after the Holder signed, or adds one the Holder did not sign
add(
    K,
    "sd-hash-over-superset-one-dropped",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.sd_jwt(disclosures=w.without(("given_name",))) + _kb_of(w)),
)
add(
    K,
    "sd-hash-over-subset-one-added",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.sd_jwt() + w.kb(w.sd_jwt(disclosures=w.without(("given_name",))))),
)
add(
    K,
    "sd-hash-two-disclosures-swapped",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.sd_jwt(disclosures=(w.disclosures[1], w.disclosures[0], *w.disclosures[2:])) + _kb_of(w)),
)
add(
    K,
    "sd-hash-without-final-tilde",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.present(sd_hash=sha256(w.sd_jwt()[:-1]))),
)
add(
    K,
    "sd-hash-over-issuer-jwt-only",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.present(sd_hash=sha256(w.issuer_jwt))),
)
add(
    K,
    "sd-hash-hex",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.present(sd_hash=hashlib.sha256(w.sd_jwt().encode()).hexdigest())),
)
add(
    K,
    "sd-hash-padded",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(w.present(sd_hash=sha256(w.sd_jwt()) + "=")),
)
add(K, "sd-hash-number", KeyBindingError, "kb_sd_hash_mismatch", lambda w: w.attempt(w.present(sd_hash=12345)))


@attack(K, "sd-hash-sha256-under-sha384-credential", KeyBindingError, "kb_sd_hash_mismatch")
def _sd_hash_sha256_under_sha384(w: World) -> Attempt:
    """§4.3.1: "The same hash algorithm as for the Disclosures MUST be used" — here the credential's sha-384."""
    issued = issue_sd_jwt_vc(
        CLAIMS,
        w.issuer,
        vct=VCT,
        issuer=ISS,
        holder_jwk=w.holder.public_jwk,
        disclosable=DISCLOSABLE,
        valid_for=FOURTEEN_DAYS,
        clock=FrozenClock(NOW),
        sd_alg="sha-384",
        rng=SeededRandom(384),
    )
    return w.attempt(issued.compact + w.kb(issued.compact, sd_hash=digest(issued.compact, hashlib.sha256)))


add(K, "exp-in-past", KeyBindingError, "kb_expired", lambda w: w.attempt(w.present(exp=NOW - 120)))
add(K, "exp-string", KeyBindingError, "kb_malformed_exp", lambda w: w.attempt(w.present(exp="soon")))
add(K, "nbf-in-future", KeyBindingError, "kb_not_yet_valid", lambda w: w.attempt(w.present(nbf=NOW + 3600)))
add(
    K,
    "payload-duplicate-nonce",
    KeyBindingError,
    "kb_malformed",
    lambda w: w.attempt(_kb_raw(w, _kb_header(), _kb_json(w)[:-1] + ',"nonce":"x"}')),
)
add(
    K,
    "header-duplicate-typ",
    KeyBindingError,
    "kb_malformed_header",
    lambda w: w.attempt(_kb_raw(w, '{"alg":"ES256","typ":"JWT","typ":"kb+jwt"}', _kb_json(w))),
)
add(K, "kid-number", KeyBindingError, "kb_malformed_kid", lambda w: w.attempt(w.present(header={"kid": 7})))
add(
    K,
    "crit-unknown",
    KeyBindingError,
    "kb_unknown_crit",
    lambda w: w.attempt(w.present(header={"crit": ["x-bind"], "x-bind": 1})),
)
add(
    K,
    "payload-array",
    KeyBindingError,
    "kb_malformed",
    lambda w: w.attempt(_kb_raw(w, _kb_header(), f"[{_kb_json(w)}]")),
)
add(
    K,
    "payload-not-json",
    KeyBindingError,
    "kb_malformed",
    lambda w: w.attempt(_kb_raw(w, _kb_header(), "iat=1760000000")),
)
add(
    K,
    "payload-nan-iat",
    KeyBindingError,
    "kb_malformed",
    lambda w: w.attempt(_kb_raw(w, _kb_header(), _kb_json(w).replace(str(NOW), "NaN"))),
)
add(
    K,
    "payload-invalid-utf8",
    KeyBindingError,
    "kb_malformed",
    lambda w: w.attempt(_kb_raw(w, _kb_header(), _kb_json(w).encode()[:-1] + b',"x":"\xc3\x28"}')),
)
add(
    K,
    "payload-base64-padded",
    KeyBindingError,
    "kb_malformed_jws",
    lambda w: w.attempt(w.sd_jwt() + w.sign_segments(b64(_kb_header()), padded(b64(_kb_json(w))), w.holder)),
)
add(K, "credential-without-cnf", KeyBindingError, "kb_no_cnf", lambda w: w.attempt(w.resigned(lambda p: p.pop("cnf"))))
add(
    K,
    "cnf-without-jwk",
    KeyBindingError,
    "kb_no_cnf",
    lambda w: w.attempt(w.resigned(lambda p: p.update(cnf={"kid": "holder-key-1"}))),
)
add(
    K, "cnf-not-object", KeyBindingError, "kb_no_cnf", lambda w: w.attempt(w.resigned(lambda p: p.update(cnf="holder")))
)
add(
    K,
    "cnf-jwk-not-on-curve",
    KeyBindingError,
    "kb_no_cnf",
    lambda w: w.attempt(w.resigned(lambda p: p["cnf"]["jwk"].update(y=w.attacker.public_jwk["y"]))),
)
add(
    K,
    "cnf-jwk-symmetric",
    KeyBindingError,
    "kb_no_cnf",
    lambda w: w.attempt(w.resigned(lambda p: p.update(cnf={"jwk": {"kty": "oct", "k": b64("holder secret")}}))),
)

# =====================================================================================================================
# Validity claims (§7.1 step 6; RFC 7519 §4.1.4-4.1.6)
# =====================================================================================================================

V = "validity"
_LATER = NOW + 15 * 24 * 3600


def _hidden_claim(name: str, value: Any, *, present: bool = True) -> Build:
    """``name`` moved from the signed payload into a Disclosure (re-signed), which the Holder sends or withholds."""
    enc = disclosure("c2FsdC0" + name, name, value)

    def build(w: World) -> Attempt:
        return w.attempt(w.resigned(lambda p: (p.pop(name), add_sd(p, sha256(enc))), extra=[enc] if present else []))

    return build


add(V, "expired", TokenExpired, "expired", lambda w: w.attempt(w.present(iat=_LATER), now=_LATER))
add(
    V,
    "expired-at-skew-boundary",
    TokenExpired,
    "expired",
    lambda w: w.attempt(w.present(iat=w.payload["exp"] + 60), now=w.payload["exp"] + 60),
)
add(
    V,
    "nbf-in-future",
    TokenNotYetValid,
    "not_yet_valid",
    lambda w: w.attempt(w.resigned(lambda p: p.update(nbf=NOW + 3600))),
)
add(
    V,
    "iat-in-future",
    TokenNotYetValid,
    "iat_in_future",
    lambda w: w.attempt(w.resigned(lambda p: p.update(iat=NOW + 3600))),
)
# iat MAY be selectively disclosable (SD-JWT VC §3.2.2.2); a disclosed iat is still checked
add(V, "iat-in-future-via-disclosure", TokenNotYetValid, "iat_in_future", _hidden_claim("iat", NOW + 3600))
add(V, "exp-expired-via-disclosure", TokenExpired, "expired", _hidden_claim("exp", NOW - 3600))
# §7.1 step 6: "If a required validity-controlling claim is missing ..., the SD-JWT MUST be rejected."
add(V, "exp-withheld-disclosure", JoseError, "missing_exp", _hidden_claim("exp", NOW + 60, present=False))
add(V, "exp-missing", JoseError, "missing_exp", lambda w: w.attempt(w.resigned(lambda p: p.pop("exp"))))
for _value, _label in (
    ("1761209600", "string"),
    (True, "bool"),
    (None, "null"),
    ([NOW + 60], "array"),
    ({"t": 1}, "object"),
    (10**400, "huge-integer"),
):
    add(
        V,
        f"exp-{_label}",
        JoseError,
        "malformed_exp",
        lambda w, v=_value: w.attempt(w.resigned(lambda p: p.update(exp=v))),
    )
add(V, "nbf-string", JoseError, "malformed_nbf", lambda w: w.attempt(w.resigned(lambda p: p.update(nbf="yesterday"))))
add(V, "iat-string", JoseError, "malformed_iat", lambda w: w.attempt(w.resigned(lambda p: p.update(iat=str(NOW)))))
add(V, "iat-bool", JoseError, "malformed_iat", lambda w: w.attempt(w.resigned(lambda p: p.update(iat=False))))
# 1e400 is no IEEE 754 double (RFC 8259 §6): the payload is not acceptable JSON
add(
    V,
    "exp-overflowing-float",
    SdJwtError,
    "malformed_sd_jwt",
    lambda w: w.attempt(
        _signed_text(w, w.header_text(), json_dumps(w.payload).replace(str(w.payload["exp"]), "1e400"))
    ),
)

# =====================================================================================================================
# Duplicates and unreferenced Disclosures (§4 "MUST NOT send a Disclosure ... more than once", §7.1 steps 4-5)
# =====================================================================================================================

D = "duplicates"
_FOREIGN_SALT = "Zm9yZWlnbi1zYWx0LTEyMzQ"


add(
    D,
    "extra-foreign-disclosure",
    *_unreferenced,
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, disclosure(_FOREIGN_SALT, "given_name", "ERIKA")))),
)
add(
    D,
    "extra-fabricated-claim",
    *_unreferenced,
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, disclosure(_FOREIGN_SALT, "is_admin", True)))),
)
add(
    D,
    "extra-fabricated-array-element",
    *_unreferenced,
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, disclosure(_FOREIGN_SALT, "FR")))),
)
add(D, "extra-garbage", *_unreferenced, lambda w: w.attempt(w.present(disclosures=(*w.disclosures, "AAAA"))))
add(
    D,
    "extra-issuer-jwt-as-disclosure",
    *_unreferenced,
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, w.issuer_jwt))),
)
# a nested Disclosure whose parent (address) is withheld is referenced by nothing (§7.2 step 2)
add(
    D, "extra-child-without-parent", *_unreferenced, lambda w: w.attempt(w.present(disclosures=w.without(("address",))))
)
add(
    D,
    "same-disclosure-twice-adjacent",
    SdJwtError,
    "duplicate_disclosure",
    lambda w: w.attempt(w.present(disclosures=(w.disclosures[0], *w.disclosures))),
)
add(
    D,
    "same-disclosure-twice-apart",
    SdJwtError,
    "duplicate_disclosure",
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, w.disclosures[0]))),
)
add(
    D,
    "nested-disclosure-twice",
    SdJwtError,
    "duplicate_disclosure",
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, w.d("address", "locality")))),
)
add(
    D,
    "array-disclosure-twice",
    SdJwtError,
    "duplicate_disclosure",
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, w.d("nationalities", 0)))),
)
_dup_digest = (SdJwtError, "duplicate_digest")
add(
    D,
    "digest-twice-in-one-sd",
    *_dup_digest,
    lambda w: w.attempt(w.resigned(lambda p: p["_sd"].append(w.digest_of("given_name")))),
)
add(
    D,
    "decoy-twice-in-one-sd",
    *_dup_digest,
    lambda w: w.attempt(w.resigned(lambda p: add_sd(p, decoy("a"), decoy("a")))),
)
add(
    D,
    "digest-across-levels",
    *_dup_digest,
    lambda w: w.attempt(w.resigned(lambda p: add_sd(p["place_of_birth"], w.digest_of("given_name")))),
)
add(
    D,
    "decoy-across-levels",
    *_dup_digest,
    lambda w: w.attempt(w.resigned(lambda p: (add_sd(p, decoy("b")), add_sd(p["age_equal_or_over"], decoy("b"))))),
)
add(
    D,
    "digest-in-array-and-sd",
    *_dup_digest,
    lambda w: w.attempt(w.resigned(lambda p: add_sd(p, w.digest_of("nationalities", 0)))),
)
add(
    D,
    "digest-twice-in-array",
    *_dup_digest,
    lambda w: w.attempt(w.resigned(lambda p: p["nationalities"].append({"...": w.digest_of("nationalities", 0)}))),
)
# address.locality's digest lives inside the address Disclosure; a second copy goes into the signed payload
add(
    D,
    "digest-inside-disclosure-and-payload",
    *_dup_digest,
    lambda w: w.attempt(w.resigned(lambda p: add_sd(p["age_equal_or_over"], w.digest_of("address", "locality")))),
)


@attack(D, "digest-twice-inside-one-disclosure", *_dup_digest)
def _digest_twice_inside_one_disclosure(w: World) -> Attempt:
    return _referenced(w, disclosure(_FOREIGN_SALT, "extra", {"_sd": [decoy("c"), decoy("c")]}))


# =====================================================================================================================
# JOSE header of the Issuer-signed JWT (§7.1 step 2; RFC 8725 §3.1, §3.2, §3.11; RFC 7515 §4.1)
# =====================================================================================================================

H = "header"
_wrong_typ = (SdJwtError, "wrong_typ")

add(H, "typ-missing", *_wrong_typ, lambda w: w.attempt(_signed_text(w, json_dumps({"alg": "ES256"}))))
add(H, "typ-jwt", *_wrong_typ, lambda w: w.attempt(_resigned_jwt(w, typ="JWT")))
add(H, "typ-legacy-without-opt-in", *_wrong_typ, lambda w: w.attempt(_resigned_jwt(w, typ="vc+sd-jwt")))
add(H, "typ-kb-jwt", *_wrong_typ, lambda w: w.attempt(_resigned_jwt(w, typ="kb+jwt")))
add(H, "typ-plain-sd-jwt", *_wrong_typ, lambda w: w.attempt(_resigned_jwt(w, typ="example+sd-jwt")))
add(H, "typ-number", *_wrong_typ, lambda w: w.attempt(_resigned_jwt(w, typ=1)))
add(H, "typ-array", *_wrong_typ, lambda w: w.attempt(_resigned_jwt(w, typ=[TYP])))


def _alg_none(w: World, signature: str, alg: str = "none") -> Attempt:
    return w.attempt(
        _with_jwt(w, f"{b64(json_dumps({'alg': alg, 'typ': TYP}))}.{b64(json_dumps(w.payload))}.{signature}")
    )


add(H, "alg-none-empty-signature", UnsupportedAlgorithm, "forbidden_algorithm", lambda w: _alg_none(w, ""))
add(
    H,
    "alg-none-original-signature",
    UnsupportedAlgorithm,
    "forbidden_algorithm",
    lambda w: _alg_none(w, _jwt_parts(w.issuer_jwt)[2]),
)
add(H, "alg-none-capitalised", UnsupportedAlgorithm, "algorithm_not_allowed", lambda w: _alg_none(w, "", "None"))


def _hmac_secret(w: World, name: str) -> bytes:
    return {
        "raw-point": w.issuer.public_key.raw_bytes(False),
        "compressed-point": w.issuer.public_key.raw_bytes(True),
        "jwk-json": json_dumps(w.issuer.public_jwk).encode(),
    }[name]


for _alg, _secret in (
    ("HS256", "raw-point"),
    ("HS256", "jwk-json"),
    ("HS384", "raw-point"),
    ("HS512", "compressed-point"),
):
    add(
        H,
        f"{_alg.lower()}-with-public-key-{_secret}",
        UnsupportedAlgorithm,
        "forbidden_algorithm",
        lambda w, alg=_alg, secret=_secret: w.attempt(
            _with_jwt(w, hmac_with_public_key(w, {"alg": alg, "typ": TYP}, w.payload, _hmac_secret(w, secret)))
        ),
    )
add(
    H,
    "es256k-header-over-p256-key",
    UnsupportedAlgorithm,
    "alg_key_mismatch",
    lambda w: w.attempt(_signed_text(w, w.header_text(alg="ES256K")), algorithms=frozenset({"ES256", "ES256K"})),
)
add(
    H,
    "eddsa-header-over-p256-key",
    UnsupportedAlgorithm,
    "alg_key_mismatch",
    lambda w: w.attempt(_signed_text(w, w.header_text(alg="EdDSA")), algorithms=frozenset({"ES256", "EdDSA"})),
)
for _alg in ("ES256K", "ES384", "RS256", "PS256", "EdDSA"):
    add(
        H,
        f"alg-{_alg.lower()}-not-allowlisted",
        UnsupportedAlgorithm,
        "algorithm_not_allowed",
        lambda w, alg=_alg: w.attempt(_signed_text(w, w.header_text(alg=alg))),
    )
add(
    H,
    "eddsa-issuer-not-allowlisted",
    UnsupportedAlgorithm,
    "algorithm_not_allowed",
    lambda w: w.attempt(
        _with_jwt(w, w.resign(lambda p: None, signer=w.attacker_eddsa)), issuer_key=w.attacker_eddsa.public_key
    ),
)
add(H, "alg-missing", JoseError, "malformed_header", lambda w: w.attempt(_signed_text(w, json_dumps({"typ": TYP}))))
add(H, "alg-number", JoseError, "malformed_header", lambda w: w.attempt(_signed_text(w, w.header_text(alg=-7))))
for _kid, _label in (
    (7, "number"),
    ({"k": 1}, "object"),
    (None, "null"),
    (["pid-issuer-2025"], "array"),
    (True, "bool"),
):
    add(
        H,
        f"kid-{_label}",
        JoseError,
        "malformed_kid",
        lambda w, kid=_kid: w.attempt(_signed_text(w, w.header_text(kid=kid))),
    )
add(
    H,
    "crit-unknown",
    JoseError,
    "unknown_crit",
    lambda w: w.attempt(_resigned_jwt(w, crit=["x-policy"], **{"x-policy": 1})),
)
add(H, "crit-empty", JoseError, "malformed_crit", lambda w: w.attempt(_resigned_jwt(w, crit=[])))
add(H, "crit-registered-name", JoseError, "malformed_crit", lambda w: w.attempt(_resigned_jwt(w, crit=["alg"])))
add(H, "crit-string", JoseError, "malformed_crit", lambda w: w.attempt(_resigned_jwt(w, crit="x-policy")))
add(
    H,
    "crit-understood-but-absent",
    JoseError,
    "malformed_crit",
    lambda w: w.attempt(_resigned_jwt(w, crit=["x-policy"]), understood_crit=frozenset({"x-policy"})),
)
add(
    H,
    "header-array",
    JoseError,
    "malformed_header",
    lambda w: w.attempt(_signed_text(w, json_dumps([{"alg": "ES256"}]))),
)
# the Verifier's Issuer key decides, never a key the token brings along
add(
    H,
    "embedded-jwk-of-attacker",
    InvalidSignature,
    "invalid_signature",
    lambda w: w.attempt(
        _with_jwt(w, w.resign(lambda p: None, header={"jwk": w.attacker.public_jwk}, signer=w.attacker))
    ),
)
add(
    H,
    "signature-65-octets",
    InvalidSignature,
    "invalid_signature",
    lambda w: w.attempt(_with_jwt(w, w.issuer_jwt.rsplit(".", 1)[0] + "." + b64url_encode(b"\x01" * 65))),
)

# =====================================================================================================================
# Resource limits: size (total and of each JWS), Disclosure count, nesting depth
# =====================================================================================================================

L = "limits"
_too_large = (InputTooLarge, "input_too_large")
_too_deep = (InputTooLarge, "too_deep")


def _recursive_chain(levels: int) -> tuple[str, list[str]]:
    """``levels`` Disclosures, each hiding the next one (§4.2.6): the outermost digest and all Disclosures."""
    inner = disclosure("c2FsdC0w", "leaf", "x")
    chain = [inner]
    for i in range(1, levels):
        inner = disclosure(f"c2FsdC0{i}", f"level{i}", {"_sd": [sha256(inner)]})
        chain.append(inner)
    return sha256(inner), chain


def _array_chain(levels: int) -> tuple[str, list[str]]:
    """The same with array-element Disclosures: each value is an array holding the next digest."""
    inner = disclosure("YXJyLTA", "x")
    chain = [inner]
    for i in range(1, levels):
        inner = disclosure(f"YXJyLT{i}", [{"...": sha256(inner)}])
        chain.append(inner)
    return sha256(inner), chain


def _chain_attempt(w: World, levels: int) -> Attempt:
    top, chain = _recursive_chain(levels)
    return w.attempt(w.resigned(lambda p: add_sd(p, top), extra=chain))


add(
    L,
    "total-over-default",
    *_too_large,
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, "A" * (512 * 1024)))),
)
add(L, "total-over-configured", *_too_large, lambda w: w.attempt(w.present(), max_size=2048))
add(L, "huge-issuer-jwt", *_too_large, lambda w: w.attempt(w.resigned(lambda p: p.update(padding="x" * (400 * 1024)))))
add(L, "huge-kb-jwt", *_too_large, lambda w: w.attempt(w.present(padding="x" * (400 * 1024))))
add(
    L,
    "disclosure-count-over-default",
    *_too_large,
    lambda w: w.attempt(w.sd_jwt(disclosures=["AA"] * 1025) + _kb_of(w)),
)
add(L, "disclosure-count-over-configured", *_too_large, lambda w: w.attempt(w.present(), max_disclosures=5))
add(L, "json-disclosure-count-over-configured", *_too_large, lambda w: w.attempt(w.json_form(), max_disclosures=5))
add(L, "json-total-over-configured", *_too_large, lambda w: w.attempt(w.json_form(), max_size=2048))
add(
    L,
    "json-huge-disclosure",
    *_too_large,
    lambda w: w.attempt(w.json_form(disclosures=(*w.disclosures, "A" * (600 * 1024)))),
)
add(L, "recursive-disclosures-beyond-max-depth", *_too_deep, lambda w: _chain_attempt(w, 40))


@attack(L, "recursive-array-disclosures-beyond-max-depth", *_too_deep)
def _recursive_array_chain(w: World) -> Attempt:
    top, chain = _array_chain(40)
    return w.attempt(w.resigned(lambda p: p.update(chain=[{"...": top}]), extra=chain))


add(L, "structure-deeper-than-configured", *_too_deep, lambda w: w.attempt(w.present(), max_depth=1))
add(
    L,
    "nested-json-in-disclosure-value",
    *_too_deep,
    lambda w: _referenced(w, disclosure("ZGVlcA", "deep", deep_object(40))),
)
add(
    L,
    "nested-arrays-in-disclosure-value",
    *_too_deep,
    lambda w: _referenced(w, raw_disclosure('["ZGVlcA","deep",' + "[" * 40 + "]" * 40 + "]")),
)
add(
    L,
    "json-recursion-bomb-in-disclosure",
    SdJwtError,
    "malformed_disclosure",
    lambda w: _referenced(w, raw_disclosure(f'["ZGVlcA","deep",{_bomb}]')),
)
add(L, "nested-payload", *_too_deep, lambda w: w.attempt(w.resigned(lambda p: p.update(deep=deep_object(40)))))
add(
    L,
    "json-recursion-bomb-in-payload",
    SdJwtError,
    "malformed_sd_jwt",
    lambda w: w.attempt(_signed_text(w, w.header_text(), _payload_plus(w, f'"d":{_bomb}'))),
)
add(
    L,
    "json-recursion-bomb-in-kb",
    KeyBindingError,
    "kb_malformed",
    lambda w: w.attempt(_kb_raw(w, _kb_header(), _kb_json(w)[:-1] + f',"d":{_bomb}}}')),
)

# =====================================================================================================================
# Strict encodings: base64url (RFC 7515 §2, RFC 9901 §4 ABNF), UTF-8, duplicate JSON names, NaN/Infinity (RFC 8259)
# =====================================================================================================================

E = "encoding"
_bad_disclosure = (SdJwtError, "malformed_disclosure")


def _std_alphabet_header(w: World, char: str) -> str:
    """An encoded header whose standard-alphabet (RFC 4648 §4) form contains ``char``; the Issuer signs that form."""
    for n in range(64):
        std = reencode(b64(w.header_text(x="?" * n + ">" * n)), standard_alphabet=True)
        if char in std:
            return std
    raise AssertionError("no header with that character")


def _odd_length_header(w: World) -> str:
    """An encoded header whose length is 2 or 3 mod 4, so that it has unused trailing bits."""
    return next(s for n in range(4) if len(s := b64(w.header_text(x="p" * n))) % 4 in (2, 3))


def _payload_b64(w: World) -> str:
    return b64(json_dumps(w.payload))


def _segments(w: World, header_b64: str, payload_b64: str | None = None) -> Attempt:
    """The Issuer signs exactly these encoded segments: a valid signature, so only the encoding rule can object."""
    return w.attempt(_with_jwt(w, w.sign_segments(header_b64, payload_b64 or _payload_b64(w))))


add(E, "header-base64-padded", JoseError, "malformed_header", lambda w: _segments(w, padded(_odd_length_header(w))))
add(E, "header-base64-plus", JoseError, "malformed_header", lambda w: _segments(w, _std_alphabet_header(w, "+")))
add(E, "header-base64-slash", JoseError, "malformed_header", lambda w: _segments(w, _std_alphabet_header(w, "/")))
add(
    E,
    "header-base64-noncanonical",
    JoseError,
    "malformed_header",
    lambda w: _segments(w, noncanonical(_odd_length_header(w))),
)
add(E, "header-non-ascii", JoseError, "malformed_header", lambda w: w.attempt(_with_jwt(w, "é" + w.issuer_jwt)))
add(
    E,
    "payload-base64-padded",
    JoseError,
    "malformed_jws",
    lambda w: _segments(w, b64(w.header_text()), _payload_b64(w) + "=="),
)
add(
    E,
    "payload-non-ascii",
    JoseError,
    "malformed_jws",
    lambda w: w.attempt(_with_jwt(w, w.issuer_jwt.replace(".", ".ü", 1))),
)
add(E, "signature-base64-padded", JoseError, "malformed_jws", lambda w: w.attempt(_with_jwt(w, w.issuer_jwt + "==")))


@attack(E, "signature-base64-standard-alphabet", JoseError, "malformed_jws")
def _signature_standard_alphabet(w: World) -> Attempt:
    signature = reencode(b64url_encode(b"\xfb\xff" * 32), standard_alphabet=True)  # '+' and '/' guaranteed
    return w.attempt(_with_jwt(w, w.issuer_jwt.rsplit(".", 1)[0] + "." + signature))


add(
    E,
    "header-invalid-utf8",
    JoseError,
    "malformed_header",
    lambda w: w.attempt(_signed_text(w, w.header_text()[:-1].encode() + b',"x":"\xff"}')),
)
add(
    E,
    "payload-invalid-utf8",
    SdJwtError,
    "malformed_sd_jwt",
    lambda w: w.attempt(
        _signed_text(w, w.header_text(), json_dumps(w.payload)[:-1].encode() + b',"x":"\xed\xa0\x80"}')
    ),
)
add(
    E,
    "header-duplicate-typ",
    JoseError,
    "malformed_header",
    lambda w: w.attempt(_signed_text(w, '{"alg":"ES256","typ":"JWT","typ":"dc+sd-jwt"}')),
)
add(
    E,
    "header-duplicate-alg",
    JoseError,
    "malformed_header",
    lambda w: w.attempt(_signed_text(w, '{"alg":"none","alg":"ES256","typ":"dc+sd-jwt"}')),
)
_bad_payload = (SdJwtError, "malformed_sd_jwt")
add(
    E,
    "payload-duplicate-vct",
    *_bad_payload,
    lambda w: w.attempt(_signed_text(w, w.header_text(), _payload_plus(w, '"vct":"urn:x"'))),
)
# two _sd arrays: parsers that keep the first or the last one see different claims
add(
    E,
    "payload-duplicate-sd",
    *_bad_payload,
    lambda w: w.attempt(_signed_text(w, w.header_text(), _payload_plus(w, '"_sd":[]'))),
)
add(
    E,
    "payload-nan",
    *_bad_payload,
    lambda w: w.attempt(_signed_text(w, w.header_text(), _payload_plus(w, '"score":NaN'))),
)
add(
    E,
    "payload-infinity",
    *_bad_payload,
    lambda w: w.attempt(_signed_text(w, w.header_text(), _payload_plus(w, '"s":Infinity'))),
)
add(
    E,
    "payload-negative-infinity",
    *_bad_payload,
    lambda w: w.attempt(_signed_text(w, w.header_text(), _payload_plus(w, '"s":-Infinity'))),
)
add(
    E,
    "payload-lone-surrogate",
    *_bad_payload,
    lambda w: w.attempt(_signed_text(w, w.header_text(), _payload_plus(w, '"x":"\\udc00"'))),
)
add(
    E,
    "header-nan",
    JoseError,
    "malformed_header",
    lambda w: w.attempt(_signed_text(w, w.header_text()[:-1] + ',"x":NaN}')),
)
add(
    E, "disclosure-padded", *_bad_disclosure, lambda w: _referenced(w, padded(disclosure("c2FsdA", "nickname", "EMMI")))
)
add(
    E,
    "disclosure-standard-alphabet",
    *_bad_disclosure,
    lambda w: _referenced(w, reencode(disclosure("c2FsdA", "nick", "»?»?»?»"), standard_alphabet=True)),
)
add(
    E,
    "disclosure-noncanonical",
    *_bad_disclosure,
    lambda w: _referenced(w, noncanonical(disclosure("c2FsdA", "nickname", "EMMI"))),
)
add(
    E,
    "disclosure-impossible-length",
    *_bad_disclosure,
    lambda w: _referenced(w, _impossible_length(disclosure("c2FsdA", "nickname", "EMMI"))),
)
# cannot even be hashed: §4.2.3 hashes "the US-ASCII bytes of the encoded Disclosure"
add(
    E,
    "disclosure-non-ascii",
    *_bad_disclosure,
    lambda w: w.attempt(w.present(disclosures=(*w.disclosures, disclosure("c2FsdA", "nick", "EMMI") + "é"))),
)
add(
    E,
    "disclosure-non-ascii-no-kb",
    *_bad_disclosure,
    lambda w: w.no_kb(w.present(disclosures=(*w.disclosures, "ÿ"), kb=False)),
)
add(
    E,
    "disclosure-invalid-utf8",
    *_bad_disclosure,
    lambda w: _referenced(w, raw_disclosure(b'["c2FsdA","nick","\xc3\x28"]')),
)
add(
    E,
    "disclosure-lone-surrogate",
    *_bad_disclosure,
    lambda w: _referenced(w, raw_disclosure('["c2FsdA","nick","\\ud800"]')),
)
add(
    E,
    "disclosure-duplicate-keys-in-value",
    *_bad_disclosure,
    lambda w: _referenced(w, raw_disclosure('["c2FsdA","office",{"room":"1","room":"2"}]')),
)
add(
    E,
    "disclosure-duplicate-sd-in-value",
    *_bad_disclosure,
    lambda w: _referenced(w, raw_disclosure('["c2FsdA","office",{"_sd":["' + decoy("d") + '"],"_sd":[]}]')),
)
add(E, "disclosure-nan", *_bad_disclosure, lambda w: _referenced(w, raw_disclosure('["c2FsdA","score",NaN]')))
add(
    E, "disclosure-infinity", *_bad_disclosure, lambda w: _referenced(w, raw_disclosure('["c2FsdA","score",-Infinity]'))
)
add(
    E,
    "disclosure-overflowing-number",
    *_bad_disclosure,
    lambda w: _referenced(w, raw_disclosure('["c2FsdA","score",1e400]')),
)
add(
    E,
    "disclosure-trailing-garbage",
    *_bad_disclosure,
    lambda w: _referenced(w, raw_disclosure('["c2FsdA","nick","EMMI"]]')),
)
add(E, "disclosure-not-json", *_bad_disclosure, lambda w: _referenced(w, raw_disclosure("salt,nick,EMMI")))


@attack(E, "kb-header-standard-alphabet", KeyBindingError, "kb_malformed_header")
def _kb_header_standard_alphabet(w: World) -> Attempt:
    header = reencode(b64(_kb_header(x="?>?>?>")), standard_alphabet=True)
    return w.attempt(w.sd_jwt() + w.sign_segments(header, b64(_kb_json(w)), w.holder))


add(E, "kb-non-ascii", KeyBindingError, "kb_malformed_header", lambda w: w.attempt(w.sd_jwt() + "ü" + _kb_of(w)))

# =====================================================================================================================
# `_sd`, `...` and `_sd_alg` misuse (§4.1 item 7, §4.1.1, §4.2.4, §7.1 steps 2.5, 3.2, 3.3.2.2)
# =====================================================================================================================

M = "sd-misuse"
_malformed_sd = (SdJwtError, "malformed_sd")
_ellipsis = (SdJwtError, "misused_ellipsis")

add(
    M,
    "sd-string",
    *_malformed_sd,
    lambda w: w.attempt(w.resigned(lambda p: p.update(_sd=w.digest_of("given_name")), drop=w.disclosures)),
)
for _value, _label in (({"a": "b"}, "object"), (42, "number"), (None, "null"), (True, "bool")):
    add(M, f"sd-{_label}", *_malformed_sd, lambda w, v=_value: w.attempt(w.resigned(lambda p: p.update(_sd=v))))
for _entry, _label in ((42, "number"), (None, "null"), ({"d": "x"}, "object"), (["x"], "array"), (False, "bool")):
    add(
        M, f"sd-entry-{_label}", *_malformed_sd, lambda w, e=_entry: w.attempt(w.resigned(lambda p: p["_sd"].append(e)))
    )
add(
    M,
    "nested-sd-string",
    *_malformed_sd,
    lambda w: w.attempt(w.resigned(lambda p: p["place_of_birth"].update(_sd="x"))),
)
add(
    M,
    "sd-string-inside-disclosure-value",
    *_malformed_sd,
    lambda w: _referenced(w, disclosure("c2FsdA", "office", {"_sd": decoy("e")})),
)
add(
    M,
    "ellipsis-with-extra-key",
    *_ellipsis,
    lambda w: w.attempt(w.resigned(lambda p: p["nationalities"][0].update(note="x"))),
)
for _value, _label in ((7, "number"), (None, "null"), ([], "array"), ({"d": 1}, "object")):
    add(
        M,
        f"ellipsis-value-{_label}",
        *_ellipsis,
        lambda w, v=_value: w.attempt(w.resigned(lambda p: p["nationalities"].append({"...": v}))),
    )
add(
    M, "ellipsis-key-at-top-level", *_ellipsis, lambda w: w.attempt(w.resigned(lambda p: p.update({"...": decoy("f")})))
)
add(
    M,
    "ellipsis-key-in-nested-object",
    *_ellipsis,
    lambda w: w.attempt(w.resigned(lambda p: p["place_of_birth"].update({"...": decoy("f")}))),
)
add(
    M,
    "ellipsis-key-in-disclosure-object",
    *_ellipsis,
    lambda w: _referenced(w, disclosure("c2FsdA", "office", {"...": decoy("f")})),
)


@attack(M, "ellipsis-object-as-array-element-value", *_ellipsis)
def _ellipsis_object_as_array_element_value(w: World) -> Attempt:
    """An array-element Disclosure whose value is itself a '...' object: no digest layer is allowed there."""
    enc = disclosure("c2FsdA", {"...": decoy("g")})
    return w.attempt(w.resigned(lambda p: p["nationalities"].append({"...": sha256(enc)}), extra=[enc]))


add(
    M,
    "sd-alg-nested",
    SdJwtError,
    "misplaced_sd_alg",
    lambda w: w.attempt(w.resigned(lambda p: p["place_of_birth"].update(_sd_alg="sha-256"))),
)
add(
    M,
    "sd-alg-inside-disclosure-value",
    SdJwtError,
    "misplaced_sd_alg",
    lambda w: _referenced(w, disclosure("c2FsdA", "office", {"_sd_alg": "md5"})),
)
for _alg, _label in (
    ("md5", "md5"),
    ("sha-1", "sha-1"),
    (256, "number"),
    ("SHA-256", "uppercase"),
    (None, "null"),
    ("sha3-256", "sha3-256"),
    ("sha-256 ", "trailing-space"),
    (["sha-256"], "array"),
):
    add(
        M,
        f"sd-alg-{_label}",
        SdJwtError,
        "unsupported_sd_alg",
        lambda w, a=_alg: w.attempt(w.resigned(lambda p: p.update(_sd_alg=a))),
    )
for _name, _label, _value in (("_sd", "sd", [decoy("h")]), ("...", "ellipsis", "x"), ("_sd_alg", "sd-alg", "sha-256")):
    add(
        M,
        f"disclosure-named-{_label}",
        SdJwtError,
        "forbidden_claim_name",
        lambda w, n=_name, v=_value: _referenced(w, disclosure("c2FsdA", n, v)),
    )


@attack(M, "disclosure-named-sd-nested", SdJwtError, "forbidden_claim_name")
def _disclosure_named_sd_nested(w: World) -> Attempt:
    enc = disclosure("c2FsdA", "_sd", [])
    return w.attempt(w.resigned(lambda p: add_sd(p["place_of_birth"], sha256(enc)), extra=[enc]))


# =====================================================================================================================
# Disclosure shapes (§4.2.1, §4.2.2; §7.1 steps 3.3.2.1, 3.3.2.3, 3.3.3.1)
# =====================================================================================================================

F = "disclosure-shape"

for _items, _label in (
    ([], "zero-elements"),
    (["c2FsdA"], "one-element"),
    (["c2FsdA", "nick", "EMMI", "extra"], "four-elements"),
    (["c2FsdA", "nick", "EMMI", 1, 2], "five-elements"),
    ({"salt": "c2FsdA", "name": "nick", "value": "EMMI"}, "object"),
    ("c2FsdA nick EMMI", "string"),
    (42, "number"),
    (None, "null"),
    (True, "bool"),
    ([42, "nick", "EMMI"], "salt-number"),
    ([None, "nick", "EMMI"], "salt-null"),
    ([["c2FsdA"], "nick", "EMMI"], "salt-array"),
    ([{"s": 1}, "nick", "EMMI"], "salt-object"),
    (["c2FsdA", 42, "EMMI"], "name-number"),
    (["c2FsdA", None, "EMMI"], "name-null"),
    (["c2FsdA", ["nick"], "EMMI"], "name-array"),
    (["c2FsdA", True, "EMMI"], "name-bool"),
):
    add(F, _label, *_bad_disclosure, lambda w, items=_items: _referenced(w, b64(json_dumps(items))))
_mismatch = (SdJwtError, "disclosure_type_mismatch")
add(F, "array-element-disclosure-in-sd", *_mismatch, lambda w: _referenced(w, disclosure("c2FsdA", "EMMI")))


@attack(F, "array-element-disclosure-in-nested-sd", *_mismatch)
def _array_element_in_nested_sd(w: World) -> Attempt:
    enc = disclosure("c2FsdA", "HAMBURG")
    return w.attempt(w.resigned(lambda p: add_sd(p["place_of_birth"], sha256(enc)), extra=[enc]))


@attack(F, "object-disclosure-in-array", *_mismatch)
def _object_disclosure_in_array(w: World) -> Attempt:
    enc = disclosure("c2FsdA", "nat", "FR")
    return w.attempt(w.resigned(lambda p: p["nationalities"].append({"...": sha256(enc)}), extra=[enc]))


@attack(F, "genuine-object-disclosure-moved-into-array", *_mismatch)
def _genuine_object_disclosure_moved(w: World) -> Attempt:
    def move(p: dict[str, Any]) -> None:
        p["_sd"].remove(w.digest_of("given_name"))
        p["nationalities"].append({"...": w.digest_of("given_name")})

    return w.attempt(w.resigned(move))


_collision = (SdJwtError, "claim_name_collision")
add(
    F,
    "collision-with-plain-claim",
    *_collision,
    lambda w: _referenced(w, disclosure("c2FsdA", "issuing_country", "AT")),
)
add(F, "collision-with-vct", *_collision, lambda w: _referenced(w, disclosure("c2FsdA", "vct", "urn:other")))
add(
    F,
    "collision-between-two-disclosures",
    *_collision,
    lambda w: _referenced(w, disclosure("c2FsdA", "given_name", "MAX")),
)
add(
    F,
    "collision-in-nested-object",
    *_collision,
    lambda w: w.attempt(w.resigned(lambda p: p["place_of_birth"].update(locality="HAMBURG"))),
)


@attack(F, "collision-inside-recursive-disclosure", *_collision)
def _collision_inside_recursive_disclosure(w: World) -> Attempt:
    room = disclosure("c2FsdB", "room", "2")
    office = disclosure("c2FsdA", "office", {"room": "1", "_sd": [sha256(room)]})
    return w.attempt(w.resigned(lambda p: add_sd(p, sha256(office)), extra=[office, room]))


# =====================================================================================================================
# SD-JWT VC (draft-ietf-oauth-sd-jwt-vc-13 §3.2.2)
# =====================================================================================================================

C = "sd-jwt-vc"

add(C, "vct-missing", SdJwtError, "missing_vct", lambda w: w.attempt(w.resigned(lambda p: p.pop("vct"))))
for _vct, _label in ((1, "number"), (None, "null"), ("", "empty"), ([VCT], "array"), ({"id": VCT}, "object")):
    add(
        C,
        f"vct-{_label}",
        SdJwtError,
        "missing_vct",
        lambda w, v=_vct: w.attempt(w.resigned(lambda p: p.update(vct=v))),
    )
add(
    C,
    "vct-not-requested",
    SdJwtError,
    "wrong_vct",
    lambda w: w.attempt(w.resigned(lambda p: p.update(vct="urn:eudi:pid:xx:1")), vct=VCT),
)


def _disclosed_registered(name: str, value: Any, *, kb: bool = True) -> Build:
    """§3.2.2.2: the registered claim moved out of the signed payload into a Disclosure, re-signed by the Issuer."""
    enc = disclosure("cmVnaXN0ZXJlZA", name, value)

    def build(w: World) -> Attempt:
        presentation = w.resigned(lambda p: (p.pop(name, None), add_sd(p, sha256(enc))), extra=[enc], kb=kb)
        return w.attempt(presentation) if kb else w.no_kb(presentation)

    return build


for _name, _value in (
    ("iss", ISS),
    ("exp", NOW + 3600),
    ("nbf", NOW - 3600),
    ("vct", VCT),
    ("vct#integrity", "sha256-" + b64("integrity")),
    ("status", STATUS),
):
    add(
        C,
        f"never-disclosable-{_name.replace('#', '-')}",
        SdJwtError,
        "never_disclosable",
        _disclosed_registered(_name, _value),
    )
add(
    C,
    "never-disclosable-cnf",
    SdJwtError,
    "never_disclosable",
    lambda w: _disclosed_registered("cnf", {"jwk": w.holder.public_jwk}, kb=False)(w),
)
# §7.3 step 5.1: under Key Binding the Holder key is taken from the signed payload only, never from a Disclosure
add(
    C,
    "never-disclosable-cnf-under-kb",
    KeyBindingError,
    "kb_no_cnf",
    lambda w: _disclosed_registered("cnf", {"jwk": w.holder.public_jwk})(w),
)


@attack(C, "never-disclosable-status-sub-claim", SdJwtError, "never_disclosable")
def _status_sub_claim(w: World) -> Attempt:
    enc = disclosure("c3RhdHVz", "status_list", STATUS["status_list"])
    return w.attempt(w.resigned(lambda p: p.update(status={"_sd": [sha256(enc)]}), extra=[enc]))


@attack(C, "never-disclosable-cnf-jwk-sub-claim", SdJwtError, "never_disclosable")
def _cnf_jwk_sub_claim(w: World) -> Attempt:
    enc = disclosure("Y25m", "jwk", w.holder.public_jwk)
    return w.no_kb(w.resigned(lambda p: p.update(cnf={"_sd": [sha256(enc)]}), extra=[enc], kb=False))


_status = (SdJwtError, "malformed_status")
_URI = STATUS["status_list"]["uri"]
for _ref, _label in (
    ({"idx": -1, "uri": _URI}, "idx-negative"),
    ({"idx": "4711", "uri": _URI}, "idx-string"),
    ({"idx": 47.5, "uri": _URI}, "idx-float"),
    ({"idx": True, "uri": _URI}, "idx-bool"),
    ({"uri": _URI}, "idx-missing"),
    ({"idx": 4711}, "uri-missing"),
    ({"idx": 4711, "uri": 7}, "uri-number"),
    ({"idx": 4711, "uri": ""}, "uri-empty"),
    ([4711, _URI], "status-list-array"),
):
    add(
        C,
        f"status-{_label}",
        *_status,
        lambda w, r=_ref: w.attempt(w.resigned(lambda p: p.update(status={"status_list": r}))),
    )
add(C, "status-not-object", *_status, lambda w: w.attempt(w.resigned(lambda p: p.update(status="valid"))))
add(
    C,
    "cnf-string-no-kb",
    SdJwtError,
    "malformed_cnf",
    lambda w: w.no_kb(w.resigned(lambda p: p.update(cnf="holder"), kb=False)),
)
add(
    C,
    "cnf-array-no-kb",
    SdJwtError,
    "malformed_cnf",
    lambda w: w.no_kb(w.resigned(lambda p: p.update(cnf=[w.holder.public_jwk]), kb=False)),
)
add(C, "iss-number", SdJwtError, "malformed_iss", lambda w: w.attempt(w.resigned(lambda p: p.update(iss=42))))
add(C, "iss-object", SdJwtError, "malformed_iss", lambda w: w.attempt(w.resigned(lambda p: p.update(iss={"id": ISS}))))

# =====================================================================================================================
# JWS JSON serialization (§8; RFC 7515 §7.2)
# =====================================================================================================================

J = "json"


def _json_with(w: World, **changes: Any) -> dict[str, Any]:
    """The flattened form with members added to (or replaced in) the unprotected header."""
    obj = w.json_form()
    obj["header"].update(changes)
    return obj


add(
    J, "disclosures-in-second-header", SdJwtError, "malformed_sd_jwt", lambda w: w.attempt(w.general_json(members_in=1))
)


@attack(J, "kb-jwt-in-second-header", SdJwtError, "malformed_sd_jwt")
def _kb_jwt_in_second_header(w: World) -> Attempt:
    obj = w.general_json()
    obj["signatures"][1]["header"] = {"kb_jwt": obj["signatures"][0]["header"].pop("kb_jwt")}
    return w.attempt(obj)


add(J, "header-overlap-typ", JoseError, "malformed_header", lambda w: w.attempt(_json_with(w, typ=TYP)))
add(J, "header-overlap-kid", JoseError, "malformed_header", lambda w: w.attempt(_json_with(w, kid="pid-issuer-2025")))
add(J, "header-overlap-alg", JoseError, "malformed_header", lambda w: w.attempt(_json_with(w, alg="none")))
add(J, "crit-in-unprotected-header", JoseError, "malformed_header", lambda w: w.attempt(_json_with(w, crit=["x"])))


@attack(J, "typ-only-in-unprotected-header", SdJwtError, "wrong_typ")
def _typ_only_in_unprotected_header(w: World) -> Attempt:
    """§8.1: unprotected headers "are not protected against tampering": a JWT of another kind (no ``typ``) signed by
    the same Issuer key must not become an SD-JWT VC by an unprotected ``typ`` (§9.11, RFC 8725 §3.11)."""
    untyped = sign_compact(json_dumps(w.payload).encode(), w.issuer)
    return w.attempt(w.json_form(untyped, header={"typ": TYP}))


for _value, _label in (
    ("WyJ4Il0", "string"),
    ({"0": "WyJ4Il0"}, "object"),
    (None, "null"),
    ([1], "number-entry"),
    ([""], "empty-entry"),
):
    add(
        J,
        f"disclosures-{_label}",
        SdJwtError,
        "malformed_sd_jwt",
        lambda w, v=_value: w.attempt(_json_with(w, disclosures=v)),
    )
for _value, _label in ((1, "number"), ({"jwt": "a.b.c"}, "object"), (["a.b.c"], "array"), ("a.b", "two-parts")):
    add(J, f"kb-jwt-{_label}", SdJwtError, "malformed_sd_jwt", lambda w, v=_value: w.attempt(_json_with(w, kb_jwt=v)))
add(
    J,
    "payload-missing",
    SdJwtError,
    "malformed_sd_jwt",
    lambda w: w.attempt({k: v for k, v in w.json_form().items() if k != "payload"}),
)
add(
    J,
    "signatures-empty",
    SdJwtError,
    "malformed_sd_jwt",
    lambda w: w.attempt({"payload": w.json_form()["payload"], "signatures": []}),
)
add(
    J,
    "unprotected-header-not-object",
    SdJwtError,
    "malformed_sd_jwt",
    lambda w: w.attempt({**w.json_form(), "header": ["disclosures"]}),
)
# RFC 7515 §7.2: one syntax or the other; a mix is read differently by different parsers
add(
    J,
    "general-mixed-with-flattened",
    SdJwtError,
    "malformed_sd_jwt",
    lambda w: w.attempt({**w.general_json(), "protected": w.json_form()["protected"]}),
)
add(J, "tampered-disclosure", *_unreferenced, lambda w: w.attempt(w.json_form(disclosures=_swap_given_name(w))))
add(
    J,
    "kb-sd-hash-over-json-text",
    KeyBindingError,
    "kb_sd_hash_mismatch",
    lambda w: w.attempt(_json_with(w, kb_jwt=w.kb("", sd_hash=sha256(json_dumps(w.json_form(kb=False)))))),
)
add(J, "kb-missing", KeyBindingError, "kb_missing", lambda w: w.attempt(w.json_form(kb=False)))


@attack(J, "general-only-attacker-signature", InvalidSignature, "invalid_signature")
def _general_only_attacker_signature(w: World) -> Attempt:
    jws = sign_json(
        json_dumps(w.payload).encode(), [w.attacker, w.cosigner], headers=[{"typ": TYP}] * 2, flattened=False
    )
    jws["signatures"][0]["header"] = {"disclosures": list(w.disclosures)}
    return w.no_kb(jws)


# =====================================================================================================================
# Positive controls: the same machinery with nothing broken must verify
# =====================================================================================================================

control(
    "untampered-presentation", lambda w: w.attempt(w.present()), lambda r: r.claims["address"]["locality"] == "KÖLN"
)
control("no-disclosures", lambda w: w.attempt(w.present(disclosures=())), lambda r: "given_name" not in r.claims)
control(
    "single-nested-member", lambda w: w.attempt(w.present(disclosures=(w.d("address"), w.d("address", "locality"))))
)
control("disclosure-order-is-free", lambda w: w.attempt(w.present(disclosures=w.disclosures[::-1])))
control("resigned-unchanged", lambda w: w.attempt(w.resigned(lambda p: None)))
control(
    "resigned-with-new-disclosure",
    lambda w: _referenced(w, disclosure("c2FsdA", "nickname", "EMMI")),
    lambda r: r.claims["nickname"] == "EMMI",
)
control(
    "decoy-only-digests",
    lambda w: w.attempt(
        w.resigned(lambda p: (add_sd(p, decoy("1"), decoy("2")), add_sd(p["place_of_birth"], decoy("3"))))
    ),
)
control(
    "decoys-without-any-disclosure",
    lambda w: w.attempt(w.present(w.resign(lambda p: add_sd(p, decoy("4"))), disclosures=())),
)
control(
    "decoy-array-element-removed",
    lambda w: w.attempt(w.resigned(lambda p: p["nationalities"].append({"...": decoy("5")}))),
    lambda r: r.claims["nationalities"] == ["DE"],
)
control("legacy-typ-with-opt-in", lambda w: w.attempt(_resigned_jwt(w, typ="vc+sd-jwt"), legacy=True))
control("no-kb-policy-without-kb", lambda w: w.no_kb(w.present(kb=False)))
control("kb-at-max-age", lambda w: w.attempt(w.present(iat=NOW - 300)))
control("flattened-json", lambda w: w.attempt(w.json_form()))
control("general-json", lambda w: w.attempt(w.general_json()))
control("expected-vct", lambda w: w.attempt(w.present(), vct=VCT))
control("recursive-chain-within-depth", lambda w: _chain_attempt(w, 10), lambda r: "level9" in r.claims)
control(
    "iat-disclosed-in-past",
    lambda w: _hidden_claim("iat", NOW - 60)(w),
    lambda r: r.claims["iat"] == NOW - 60,
)


# =====================================================================================================================
# The tests
# =====================================================================================================================


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.mark.parametrize("case", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_is_rejected_with_its_specific_error(world: World, case: Attack) -> None:
    """Each malformed or tampered input is refused by the rule it breaks: exact class and ``reason``."""
    attempt = case.build(world)
    try:
        result = attempt.verify()
    except SsiError as exc:
        assert (type(exc), exc.reason) == (case.error, case.reason), f"{case.id}: wrong error {exc!r}"
    else:
        pytest.fail(f"{case.id}: the Verifier ACCEPTED the input (claims: {sorted(result.claims)})")


@pytest.mark.parametrize("case", CONTROLS, ids=[c.id for c in CONTROLS])
def test_positive_control_verifies(world: World, case: Control) -> None:
    """The corpus machinery (re-signing, KB recomputation, decoys, JSON form) yields valid input when nothing is
    broken, so every rejection above is due to the one defect each case introduces."""
    result = case.build(world).verify()
    assert case.check(result)


def test_corpus_has_at_least_150_distinct_attacks(world: World) -> None:
    """At least 150 cases with unique ids, no two of which hand the Verifier the same input under the same policy
    (signing is deterministic, so equal inputs would have equal fingerprints)."""
    ids = [a.id for a in ATTACKS]
    assert len(set(ids)) == len(ids)
    fingerprints = {a.build(world).fingerprint() for a in ATTACKS}
    assert len(fingerprints) == len(ATTACKS)
    assert len(fingerprints) >= 150


def test_every_category_has_several_variants() -> None:
    counts: dict[str, int] = {}
    for a in ATTACKS:
        counts[a.category] = counts.get(a.category, 0) + 1
    assert len(counts) == 12
    assert min(counts.values()) >= 10, counts
