"""Property tests (hypothesis) for the SD-JWT layer.

1. For random JSON claim sets with random selectively disclosable paths (objects, arrays, recursion, decoys): issue →
   present a random selection → verify gives exactly the plain claims restricted to what was disclosed, plus the
   always-visible claims (RFC 9901 §7.1 step 3-5 and §7.2 step 2).
2. Parsers fed arbitrary text or bytes raise only ``SsiError`` subclasses: ``split_compact``, ``HeldSdJwt.parse``,
   ``verify_sd_jwt``, ``Disclosure.parse``, ``split_json``.
"""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sdjwt_support import (
    AUD,
    HOLDER,
    HOLDER_PUBLIC_JWK,
    ISSUER,
    ISSUER_KEY,
    KB_POLICY,
    NO_KB_POLICY,
    NONCE,
    clock,
    disclosure,
    sd_jwt,
    sha256_digest,
)

from ssi.errors import SsiError
from ssi.sd_jwt import (
    ClaimPath,
    Disclosure,
    HeldSdJwt,
    issue_sd_jwt,
    parse_presentation_text,
    split_compact,
    split_json,
    verify_sd_jwt,
)

#: reserved by RFC 9901 (§4.1), added by the test (cnf), or checked as validity claims (§7.1 step 6)
RESERVED = {"_sd", "...", "_sd_alg", "cnf", "exp", "nbf", "iat"}
names = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=0, max_size=6).filter(
    lambda s: s not in RESERVED
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(names, children, max_size=4),
    max_leaves=12,
)
claim_sets = st.dictionaries(names, json_values, min_size=1, max_size=5)


class SeededRandom:
    """A reproducible :class:`~ssi.sd_jwt.RandomSource` (so hypothesis can replay a failing example exactly)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def token_bytes(self, nbytes: int) -> bytes:
        return self._random.randbytes(nbytes)

    def randbelow(self, exclusive_upper_bound: int) -> int:
        return self._random.randrange(exclusive_upper_bound)


def all_paths(value: Any, prefix: ClaimPath = ()) -> list[ClaimPath]:
    out: list[ClaimPath] = []
    if isinstance(value, dict):
        for key, member in value.items():
            out.append((*prefix, key))
            out.extend(all_paths(member, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append((*prefix, i))
            out.extend(all_paths(item, (*prefix, i)))
    return out


def on_one_line(a: ClaimPath, b: ClaimPath) -> bool:
    return a[: len(b)] == b or b[: len(a)] == a


def restrict(value: Any, sd: set[ClaimPath], disclosed: set[ClaimPath], path: ClaimPath = ()) -> Any:
    """The model: drop every selectively disclosable member/element that was not disclosed (with its subtree)."""
    if isinstance(value, dict):
        return {
            k: restrict(v, sd, disclosed, (*path, k))
            for k, v in value.items()
            if (*path, k) not in sd or (*path, k) in disclosed
        }
    if isinstance(value, list):
        return [
            restrict(v, sd, disclosed, (*path, i))
            for i, v in enumerate(value)
            if (*path, i) not in sd or (*path, i) in disclosed
        ]
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims=claim_sets, data=st.data())
def test_issue_present_verify_gives_exactly_the_disclosed_claims(claims: dict[str, Any], data: st.DataObject) -> None:
    """§7.1/§7.2: the Verifier sees the always-visible claims plus exactly the selected claims (and what is needed to
    reach them); nothing else, nothing changed; with or without Key Binding, compact or JSON."""
    paths = all_paths(claims)
    sd_paths = data.draw(st.lists(st.sampled_from(paths), unique=True, max_size=len(paths)) if paths else st.just([]))
    decoys = data.draw(st.integers(0, 2))
    serialization = data.draw(st.sampled_from(["compact", "json"]))
    with_cnf = {**claims, "cnf": {"jwk": HOLDER_PUBLIC_JWK}}
    rng = SeededRandom(data.draw(st.integers(0, 2**32)))
    issued = issue_sd_jwt(with_cnf, ISSUER, disclosable=sd_paths, decoys=decoys, rng=rng, serialization=serialization)
    held = HeldSdJwt.parse(issued.to_json() if serialization == "json" else issued.compact)
    assert held.claims == with_cnf
    selection = data.draw(st.lists(st.sampled_from(paths), unique=True, max_size=4) if paths else st.just([]))
    kb = data.draw(st.booleans())
    if kb:
        text = held.present(selection, holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock())
    else:
        text = held.present(selection)
    presentation = parse_presentation_text(text)
    result = verify_sd_jwt(presentation, ISSUER_KEY, KB_POLICY if kb else NO_KB_POLICY, clock=clock())
    sd = set(sd_paths)
    disclosed = {p for p in sd if any(on_one_line(p, r) for r in selection)}
    assert result.claims == restrict(with_cnf, sd, disclosed)
    assert {c.path for c in result.disclosed} <= set(all_paths(result.claims))
    assert len(result.disclosed) == len(disclosed)


@settings(max_examples=100, deadline=None)
@given(claims=claim_sets)
def test_disclosing_everything_round_trips(claims: dict[str, Any]) -> None:
    """Every path disclosable, everything presented: the verified claims equal the input (§4.2.6 recursion)."""
    paths = all_paths(claims)
    issued = issue_sd_jwt(claims, ISSUER, disclosable=paths)
    assert len(issued.disclosures) == len(paths)
    result = verify_sd_jwt(issued.compact, ISSUER_KEY, NO_KB_POLICY, clock=clock())
    assert result.claims == claims


@settings(max_examples=150, deadline=None)
@given(salt=st.text(max_size=10), name=names, value=json_values)
def test_disclosure_create_parse_round_trip(salt: str, name: str, value: Any) -> None:
    """§4.2.1/§4.2.2: ``Disclosure.parse(Disclosure.create(...).encoded)`` gives back salt, name and value."""
    assume(name not in RESERVED)
    for n in (name, None):
        d = Disclosure.create(salt, n, value)
        parsed = Disclosure.parse(d.encoded)
        assert (parsed.salt, parsed.name, parsed.value) == (salt, n, value)
        assert parsed.encoded == d.encoded


# --- arbitrary input raises only SsiError ---------------------------------------------------------------------------

BASE = sd_jwt({"_sd": [sha256_digest(disclosure("s", "a", 1))], "cnf": {"jwk": HOLDER_PUBLIC_JWK}})
ALPHABET = '~.-_=+/ ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"{}[],:é\x00'
texts = st.text(max_size=200) | st.text(ALPHABET, max_size=200)
# mutations of a genuine SD-JWT reach the deeper layers (JSON, Disclosures, KB-JWT) much more often
mutated = st.builds(
    lambda i, s, cut: BASE[:i] + s + BASE[i + cut :],
    st.integers(0, len(BASE)),
    st.text(ALPHABET, max_size=12),
    st.integers(0, 8),
)
inputs = texts | mutated | st.builds(lambda t: BASE + t, texts)


def _only_ssi_errors(fn: Any, arg: Any) -> None:
    """Any outcome is fine except an exception outside the ``SsiError`` hierarchy (the test fails on those)."""
    with contextlib.suppress(SsiError):
        fn(arg)


@settings(max_examples=300, deadline=None)
@given(text=inputs)
def test_split_compact_raises_only_ssi_errors(text: str) -> None:
    _only_ssi_errors(split_compact, text)


@settings(max_examples=300, deadline=None)
@given(text=inputs)
def test_held_parse_raises_only_ssi_errors(text: str) -> None:
    _only_ssi_errors(HeldSdJwt.parse, text)


@settings(max_examples=300, deadline=None)
@given(text=inputs, kb=st.booleans())
def test_verify_raises_only_ssi_errors(text: str, kb: bool) -> None:
    _only_ssi_errors(lambda t: verify_sd_jwt(t, ISSUER_KEY, KB_POLICY if kb else NO_KB_POLICY, clock=clock()), text)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=120) | st.text(max_size=120).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_disclosure_parse_raises_only_ssi_errors(raw: bytes) -> None:
    from ssi.encoding import b64url_encode

    _only_ssi_errors(Disclosure.parse, b64url_encode(raw))
    _only_ssi_errors(Disclosure.parse, raw.decode("latin-1"))


@settings(max_examples=200, deadline=None)
@given(
    value=json_values
    | st.dictionaries(st.sampled_from(["payload", "protected", "signature", "header", "signatures"]), json_values)
)
def test_json_serialization_parsers_raise_only_ssi_errors(value: Any) -> None:
    _only_ssi_errors(split_json, value)
    _only_ssi_errors(HeldSdJwt.parse, value if isinstance(value, dict) else {"payload": json.dumps(value)})
    _only_ssi_errors(
        lambda v: verify_sd_jwt(v, ISSUER_KEY, NO_KB_POLICY, clock=clock()), value if isinstance(value, dict) else {}
    )
