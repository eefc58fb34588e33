"""The SD-JWT fast paths decide like the rules they replace.

- The Holder's selection shortcut (RFC 9901 §7.2 step 2: a selected claim brings its ancestors and descendants, i.e.
  every Disclosure on one line with the requested path).
- The Verifier's ``sd_hash`` input taken from the presented text (§4.3.1).
- The Issuer's inline Disclosure construction (§4.2.1-4.2.3) against ``Disclosure.create`` and ``digest`` (one by
  one and in batches), the batched system salts (§9.3: 128 bits each) against ``b64url_encode(os.urandom(16))``,
  and the path-existence check done by the walk (with compiled paths from a cache) against checking each path first.
"""

from __future__ import annotations

import dataclasses
import json
import random
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.encoding import b64url_decode, b64url_encode, json_dumps
from ssi.errors import SdJwtError, SsiError
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.sd_jwt import Disclosure, issue_sd_jwt, split_compact
from ssi.sd_jwt import _processing as processing_module
from ssi.sd_jwt import issue as issue_module
from ssi.sd_jwt._common import digest, hash_function, make_disclosure, slots_maker
from ssi.sd_jwt._processing import DisclosedClaim, ProcessedPayload, process_payload
from ssi.sd_jwt._serialization import SdJwtParts, _is_compact_jws
from ssi.sd_jwt.issue import SALT_BYTES, SYSTEM_RANDOM, IssuedSdJwt, _Encoder, disclosure_json, system_salts
from ssi.sd_jwt.present import _line_test, _on_one_line
from ssi.sd_jwt.verify import VerifiedSdJwt

_SIGNER = SoftwareSigner(PrivateKey.generate("ES256"))
#: Ed25519 signatures are deterministic (RFC 8032): two issuances with the same salts give the same text.
_FIXED_SIGNER = SoftwareSigner(PrivateKey.generate("EdDSA"))


class SeededRandom:
    """Salts and decoys from a fixed seed (``ssi.sd_jwt.RandomSource``): the same Disclosures on every run."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def token_bytes(self, nbytes: int) -> bytes:
        return self._rng.randbytes(nbytes)

    def randbelow(self, exclusive_upper_bound: int) -> int:
        return self._rng.randrange(exclusive_upper_bound)


_PATH_ITEMS = st.one_of(st.sampled_from(["a", "b", "address", "0"]), st.integers(min_value=0, max_value=3))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(_PATH_ITEMS, st.none()), max_size=4).map(tuple),
    st.lists(_PATH_ITEMS, max_size=4).map(tuple),
)
def test_s7_2_step_2_line_test_matches_on_one_line(requested: tuple, claim: tuple) -> None:  # type: ignore[type-arg]
    assert _line_test(requested)(claim) == _on_one_line(requested, claim)


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=8)
)
_JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_NAMES = st.text(st.characters(codec="utf-8"), max_size=8).filter(lambda n: n not in ("_sd", "...", "_sd_alg"))


class _Count(int):
    """An int subclass: json writes it with int.__repr__; the scalar shortcut leaves it to the encoder."""


@settings(max_examples=400, deadline=None)
@given(st.text(_B64URL, min_size=1, max_size=24), st.one_of(st.none(), _NAMES), _JSON_VALUES)
def test_s4_2_1_disclosure_json_is_json_dumps_of_the_array(salt: str, name: str | None, value: Any) -> None:
    items = [salt, value] if name is None else [salt, name, value]
    assert disclosure_json(salt, name, value) == json_dumps(items)


@pytest.mark.parametrize("value", [_Count(7), True, False, None, 0, -(2**70), 1.5, 'ä"\n', [True, {"a": None}]])
def test_s4_2_1_disclosure_json_scalar_shortcuts(value: Any) -> None:
    assert disclosure_json("c2FsdA", "n", value) == json_dumps(["c2FsdA", "n", value])
    assert json.loads(disclosure_json("c2FsdA", None, value)) == ["c2FsdA", value]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), _NAMES), _JSON_VALUES, st.sampled_from(["sha-256", "sha-384", "sha-512"]))
def test_s4_2_3_inline_disclose_equals_create_and_digest(name: str | None, value: Any, sd_alg: str) -> None:
    """The encoder's inline steps give the Disclosure ``Disclosure.create`` gives, and the §4.2.3 digest of it."""
    encoder = _Encoder(sd_alg, 0, SYSTEM_RANDOM, 1)
    got = encoder._disclose(name, value)
    (made,) = encoder.made()
    assert encoder.disclosures == [made.encoded]
    assert made == Disclosure.create(made.salt, name, value)
    assert got == digest(made.encoded, hash_function(sd_alg))
    assert Disclosure.parse(made.encoded) == made


@pytest.mark.parametrize("count", [1, 2, 3, 19, 64])
def test_s9_3_system_salts_are_128_bit_base64url_and_distinct(count: int) -> None:
    salts = system_salts(count)
    assert len(salts) == count == len(set(salts))
    for salt in salts:
        raw = b64url_decode(salt)  # strict and canonical
        assert len(raw) == SALT_BYTES and b64url_encode(raw) == salt


def test_s9_3_encoder_draws_more_system_salts_when_the_batch_runs_out() -> None:
    encoder = _Encoder("sha-256", 0, SYSTEM_RANDOM, 2)
    salts = [encoder._salt() for _ in range(7)]
    assert len(set(salts)) == 7 and all(len(b64url_decode(s)) == SALT_BYTES for s in salts)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("ABCab.-_~", min_size=1, max_size=6), min_size=1, max_size=5), st.text("ab.", max_size=6))
def test_s4_3_1_sd_hash_input_is_the_presented_text_before_the_kb_jwt(disclosures: list[str], kb: str) -> None:
    """The verifier hashes the presented characters up to the KB-JWT; that is ``SdJwtParts.sd_jwt`` re-joined."""
    text = "~".join(["h.p.s", *disclosures, kb])
    try:
        parts = split_compact(text)
    except SsiError:
        return
    assert text[: len(text) - len(parts.kb_jwt or "")] == parts.sd_jwt


# --- the Issuer's batched Disclosures and compiled claim paths -----------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.none(), _NAMES), _JSON_VALUES), min_size=1, max_size=6),
    st.sampled_from(["sha-256", "sha-384", "sha-512"]),
)
def test_s4_2_3_batched_disclosures_equal_create_and_digest_one_by_one(
    items: list[tuple[str | None, Any]], sd_alg: str
) -> None:
    """One batch gives, slot by slot, the Disclosure ``Disclosure.create`` gives and the §4.2.3 digest of it (values
    with line feeds, quotes and non-ASCII text included: the batch splits its joined texts at line feeds)."""
    encoder = _Encoder(sd_alg, 0, SYSTEM_RANDOM, len(items))
    encoder.disclosures.append(Disclosure.create("c2FsdA", "before", 1))  # a Disclosure made earlier keeps its slot
    reserved = [encoder._reserve(name, value) for name, value in items]
    digests = encoder._disclose_all(reserved)
    assert len(digests) == len(items) == len(encoder.disclosures) - 1
    disclosures = encoder.made()
    assert disclosures[0] == Disclosure.create("c2FsdA", "before", 1)
    for (slot, salt, name, value), got in zip(reserved, digests, strict=True):
        made = disclosures[slot]
        assert encoder.disclosures[slot] == made.encoded
        assert made == Disclosure.create(salt, name, value)
        assert got == digest(made.encoded, hash_function(sd_alg))
        assert type(made) is Disclosure and Disclosure.parse(made.encoded) == made


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.none(), _NAMES), _JSON_VALUES), min_size=1, max_size=6),
    st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_s4_2_3_batched_disclosures_fill_slots_between_others(
    items: list[tuple[str | None, Any]], gaps: list[bool]
) -> None:
    """The slots of one batch need not be consecutive (a nested object's Disclosures are made between them): each
    Disclosure lands in its own slot and the others stay."""
    encoder = _Encoder("sha-256", 0, SYSTEM_RANDOM, len(items))
    reserved = []
    others = {}
    for (name, value), gap in zip(items, gaps, strict=False):
        reserved.append(encoder._reserve(name, value))
        if gap:
            others[len(encoder.disclosures)] = other = Disclosure.create("b3RoZXI", "other", len(others))
            encoder.disclosures.append(other)
    digests = encoder._disclose_all(reserved)
    disclosures = encoder.made()
    for (slot, salt, name, value), got in zip(reserved, digests, strict=True):
        assert disclosures[slot] == Disclosure.create(salt, name, value)
        assert got == digest(disclosures[slot].encoded, hash_function("sha-256"))
    assert {slot: disclosures[slot] for slot in others} == others


def test_make_disclosure_is_the_dataclass_constructor() -> None:
    made = make_disclosure("c2FsdA", None, [1, {"a": "ä"}], "WyJjMkZzZEEiLFsxLHsiYSI6IsOkIn1dXQ")
    assert made == Disclosure("c2FsdA", None, [1, {"a": "ä"}], "WyJjMkZzZEEiLFsxLHsiYSI6IsOkIn1dXQ")
    with pytest.raises(AttributeError):
        made.salt = "other"  # type: ignore[misc]  # still frozen


_CLAIMS = {"a": 1, "n": [10, 20], "o": {"x": "y"}, "s": "text"}


def _reason(fn: Any) -> str:
    with pytest.raises(SsiError) as info:
        fn()
    return str(info.value.reason)


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        ([("a",), ("n", 1), ("o", "x")], None),
        ([("a",), ("a",)], None),  # the same path twice: one Disclosure
        ([("n", None)], None),  # a wildcard: the paths are checked one by one
        ([("b",)], "unknown_claim_path"),
        ([("n", 2)], "unknown_claim_path"),
        ([("s", 0)], "unknown_claim_path"),  # into a string
        ([("o", None)], "unknown_claim_path"),  # a wildcard over an object
        ([("n", True)], "bad_claim_path"),  # exists (True indexes a list) but is no index
        ([("a", True)], "unknown_claim_path"),  # absent first: its error comes before the bad item's
        ([("b",), ("_sd",)], "unknown_claim_path"),
        ([()], "bad_claim_path"),
    ],
)
def test_s4_2_every_disclosable_path_must_exist_and_is_checked_first(paths: list[Any], expected: str | None) -> None:
    """Issuance without the up-front path check decides like with it: an absent path is refused (before any other
    error), an existing one disclosed once."""
    signer = PrivateKey.generate("ES256")
    for _ in range(2):  # the second time with the compiled paths from the cache
        if expected is None:
            issued = issue_sd_jwt(_CLAIMS, SoftwareSigner(signer), disclosable=paths)
            assert len(issued.disclosures) == len({tuple(p) for p in paths if None not in p}) + (
                2 if ("n", None) in paths else 0
            )
        else:
            assert _reason(lambda: issue_sd_jwt(_CLAIMS, SoftwareSigner(signer), disclosable=paths)) == expected


@pytest.mark.parametrize(
    ("equal_but_other", "expected"), [(("n", True), "bad_claim_path"), (("n", 1.0), "unknown_claim_path")]
)
def test_compiled_paths_are_never_found_for_an_equal_path_of_another_type(
    equal_but_other: tuple[Any, ...], expected: str
) -> None:
    """``("n", True) == ("n", 1.0) == ("n", 1)``: the cache must not hand the tree of the last (which would disclose
    ``n[1]``) to the others, which are refused as without a cache."""
    signer = SoftwareSigner(PrivateKey.generate("ES256"))
    issue_sd_jwt(_CLAIMS, signer, disclosable=[("n", 1)])
    assert (("n", 1),) in issue_module._PATHS_CACHE
    for _ in range(2):
        assert _reason(lambda: issue_sd_jwt(_CLAIMS, signer, disclosable=[equal_but_other])) == expected


def test_compiled_paths_from_lists_are_not_cached_and_the_cache_is_bounded() -> None:
    signer = SoftwareSigner(PrivateKey.generate("ES256"))
    issue_module._PATHS_CACHE.clear()
    issued = issue_sd_jwt(_CLAIMS, signer, disclosable=[["o", "x"]])  # type: ignore[list-item]  # a list path
    assert [d.name for d in issued.disclosures] == ["x"] and not issue_module._PATHS_CACHE
    for i in range(issue_module._PATHS_CACHE_SIZE + 5):
        issue_sd_jwt({f"c{i}": i}, signer, disclosable=[(f"c{i}",)])
        assert len(issue_module._PATHS_CACHE) <= issue_module._PATHS_CACHE_SIZE


_SHARED_PATHS: list[Any] = [("a",), ("n", 1), ("o", "x"), ("n", None), ("n", True), ("n", 1.0), ("o",), ("n", 0)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(_SHARED_PATHS) - 1), max_size=5), st.booleans())
def test_compiled_paths_by_identity_are_the_compiled_tree_of_the_list(picks: list[int], copies: bool) -> None:
    """The lookup by the identity of the path objects gives the tree ``_compile_paths`` builds for the list (and the
    same refusal), for lists of the same objects, of equal copies and of equal paths of other types."""
    paths = [tuple(list(_SHARED_PATHS[i])) if copies else _SHARED_PATHS[i] for i in picks]
    for _ in range(2):  # the second time from the caches
        try:
            expected: Any = issue_module._compile_paths(paths)
        except SdJwtError as exc:
            expected = exc.reason
        try:
            got: Any = issue_module._compiled_paths(paths)
        except SdJwtError as exc:
            got = exc.reason
        assert got == expected


def test_compiled_paths_by_identity_need_every_object_and_are_bounded() -> None:
    first, second, other = ("a",), ("n", 1), ("n", 1.0)
    compiled = issue_module._compiled_paths([first, second])
    assert issue_module._PATHS_BY_FIRST[id(first)] == ((first, second), compiled)
    assert issue_module._compiled_paths([first, second]) is compiled
    assert issue_module._compiled_paths([first]) is not compiled  # the same first object, fewer paths
    assert issue_module._compiled_paths([first, second, ("o", "x")]).tree != compiled.tree
    with pytest.raises(SdJwtError):  # an equal path of another type after the same first object: refused as always
        issue_module._compiled_paths([first, other])
    for i in range(issue_module._PATHS_CACHE_SIZE + 5):
        issue_module._compiled_paths([(f"c{i}",)])
        assert len(issue_module._PATHS_BY_FIRST) <= issue_module._PATHS_CACHE_SIZE


# --- the third pass: frozen results without __init__, the compact split, the walks' one-go copies -----------------


def test_s9_3_system_salts_are_the_os_random_octets_16_by_16(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each salt is the base64url of its own 16 CSPRNG octets (two zero octets pad each group to 18 for one
    encoding; they are never part of a salt)."""
    drawn: list[bytes] = []

    def urandom(size: int) -> bytes:
        drawn.append(bytes((i * 7 + 3) % 256 for i in range(size)))
        return drawn[-1]

    monkeypatch.setattr(issue_module.os, "urandom", urandom)
    for count in (0, 1, 2, 5, 19, 100, *range(3, 80)):  # more counts than the layout cache keeps
        salts = system_salts(count)
        raw = drawn[-1]
        assert len(raw) == 18 * count
        assert salts == [b64url_encode(raw[18 * i : 18 * i + SALT_BYTES]) for i in range(count)]
        assert all(type(salt) is str for salt in salts)
        assert len(issue_module._SALT_LAYOUTS) <= 64


def test_slots_maker_is_the_dataclass_constructor() -> None:
    disclosure = Disclosure.create("c2FsdA", "a", {"b": [1]})
    cases: list[tuple[Any, tuple[Any, ...]]] = [
        (DisclosedClaim, (("a", 0), disclosure, "ZGln", None)),
        (ProcessedPayload, ({"a": 1}, (), "sha-256")),
        (SdJwtParts, ("h.p.s", ("ZA",), None, None)),
        (VerifiedSdJwt, ({"alg": "ES256"}, {"a": 1}, (), PrivateKey.generate("ES256").public_key, None, {"x": 1})),
        (Disclosure, ("c2FsdA", None, [1], "ZW5j")),
    ]
    for cls, values in cases:
        made = slots_maker(cls)(*values)
        assert type(made) is cls and made == cls(*values)
        with pytest.raises(AttributeError):
            made.__setattr__(dataclasses.fields(cls)[0].name, "other")  # still frozen


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="a.~é", max_size=12))
def test_s4_compact_jws_test_counts_two_dots(text: str) -> None:
    assert _is_compact_jws(text) == (text.count(".") == 2)


def _reference_split_compact(text: str) -> tuple[str, tuple[str, ...], str | None] | str:
    """The §4 split as written before the fast path (join of the Disclosures for the ASCII test, dot counting)."""
    parts = text.split("~")
    if len(parts) < 2:
        return "malformed_sd_jwt"
    disclosures = tuple(parts[1:-1])
    if "" in disclosures or not "".join(disclosures).isascii() or parts[0].count(".") != 2:
        return (
            "malformed_disclosure"
            if "" not in disclosures and not "".join(disclosures).isascii()
            else ("malformed_sd_jwt")
        )
    kb = parts[-1] or None
    if kb is not None and kb.count(".") != 2:
        return "malformed_sd_jwt"
    return parts[0], disclosures, kb


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab.~é", max_size=16))
def test_s4_split_compact_decides_like_the_written_out_split(text: str) -> None:
    expected = _reference_split_compact(text)
    try:
        parts = split_compact(text)
    except SsiError as exc:
        assert exc.reason == expected
    else:
        assert (parts.issuer_jwt, parts.disclosures, parts.kb_jwt) == expected


class _Node(dict):  # type: ignore[type-arg]
    """A dict the walks' one-go copy does not take (``type(node) is dict`` fails): the member-by-member walk."""


_KEYS = st.sampled_from(["a", "b", "_sd", "...", "_sd_alg"])
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["x", "sha-256", "_sd"]))


def _trees(digests: list[str]) -> st.SearchStrategy[Any]:
    digest_list = st.lists(st.sampled_from(digests), max_size=3) if digests else st.just([])
    return st.recursive(
        _LEAF,
        lambda inner: (
            st.lists(st.one_of(inner, st.builds(lambda d: {"...": d}, st.sampled_from(digests or ["x"]))))
            | st.dictionaries(_KEYS, st.one_of(inner, digest_list), max_size=4)
        ),
        max_leaves=12,
    )


def _processing_outcome(payload: Any, disclosures: list[str], max_depth: int) -> Any:
    try:
        processed = process_payload(payload, disclosures, max_depth=max_depth)
    except SsiError as exc:
        return type(exc).__name__, exc.reason
    return (
        json_dumps(processed.claims),  # member order included
        [(c.path, c.digest, c.parent, c.disclosure) for c in processed.disclosed],
        processed.sd_alg,
    )


@settings(max_examples=400, deadline=None)
@given(st.data(), st.integers(min_value=1, max_value=4))
def test_s7_1_walk_copy_in_one_go_decides_like_member_by_member(data: st.DataObject, max_depth: int) -> None:
    """RFC 9901 §7.1 steps 3-5 and §4.1: the walk that copies an object's members in one go and walks only its
    containers gives the same processed payload (same member order), the same disclosed claims and the same error as
    the member-by-member walk, on payloads with misplaced '...', '_sd', '_sd_alg', and nesting at the depth limit."""
    values = data.draw(st.lists(_trees([]), min_size=1, max_size=3))
    made = [
        Disclosure.create(f"c2FsdA{i}", data.draw(st.sampled_from(["a", "b", "c", None])), v)
        for i, v in enumerate(values)
    ]
    encoded = [d.encoded for d in made]
    digests = [digest(e, hash_function("sha-256")) for e in encoded]
    payload = data.draw(st.dictionaries(_KEYS, st.one_of(_trees(digests), st.lists(st.sampled_from(digests)))))
    if data.draw(st.booleans()):
        # mostly only the Disclosures the payload (or a Disclosure it references) can reach: an unreferenced one is
        # refused (§7.1 step 5) before anything else could differ
        reached, text = [], json_dumps(payload)
        while True:
            more = [i for i, d in enumerate(digests) if d in text and i not in reached]
            if not more:
                break
            reached += more
            text += "".join(json_dumps(values[i]) for i in more)
        encoded = [encoded[i] for i in sorted(reached)]
    fast = _processing_outcome(payload, encoded, max_depth)
    original = processing_module._Walk.obj

    def member_by_member(self: Any, node: dict[str, Any], *rest: Any) -> dict[str, Any]:
        return original(self, _Node(node), *rest)

    processing_module._Walk.obj = member_by_member  # type: ignore[method-assign]
    try:
        slow = _processing_outcome(payload, encoded, max_depth)
    finally:
        processing_module._Walk.obj = original  # type: ignore[method-assign]
    assert fast == slow


_CLAIM_KEYS = st.one_of(st.sampled_from(["a", "b", "c", "_sd", "...", "_sd_alg"]), st.integers(0, 1))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]),
        st.recursive(
            _LEAF | st.floats(allow_nan=False, allow_infinity=False),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_CLAIM_KEYS, inner, max_size=3),
            max_leaves=10,
        ),
    ),
    st.lists(st.sampled_from([("a",), ("b",), ("c", 0)]), max_size=2),
)
def test_s4_issuer_copies_undisclosed_objects_like_the_general_walk(claims: dict[str, Any], paths: list[Any]) -> None:
    """§4.1 item 7 and §4.2: objects with nothing disclosable below them, copied in one go, give the payload and
    Disclosures of the general walk (reached here through a Mapping that is not a dict), or its error."""

    def outcome(tree: Any) -> Any:
        try:
            issued = issue_sd_jwt(tree, signer, disclosable=paths, rng=SeededRandom(7))
        except SsiError as exc:
            return exc.reason
        except TypeError:
            return "not_json"
        return json_dumps(issued.payload), [d.encoded for d in issued.disclosures]

    def as_mapping(value: Any) -> Any:
        if isinstance(value, dict):
            return MappingProxyType({k: as_mapping(v) for k, v in value.items()})
        if isinstance(value, list):
            return [as_mapping(v) for v in value]
        return value

    signer = _SIGNER
    assert outcome(claims) == outcome({k: as_mapping(v) for k, v in claims.items()})


def _reference_object_disclosure(encoded: str, out: dict[str, Any]) -> tuple[str | None, Disclosure]:
    disclosure = Disclosure.parse(encoded)
    if disclosure.name is None:
        raise SdJwtError("array element", reason="disclosure_type_mismatch")
    if disclosure.name in out:
        raise SdJwtError("collision", reason="claim_name_collision")
    return disclosure.name, disclosure


_DISCLOSURE_ITEMS = st.one_of(
    st.sampled_from(["c2FsdA", "a", "_sd", "...", "_sd_alg", ""]), st.integers(0, 1), st.none(), st.lists(st.none())
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.lists(_DISCLOSURE_ITEMS, max_size=4).map(lambda items: b64url_encode(json_dumps(items).encode())),
        st.binary(max_size=12).map(b64url_encode),
        st.text(alphabet="WyJhIiwiYiJd=+/!é", max_size=12),
    ),
    st.sampled_from([{}, {"a": 1}]),
)
def test_s7_1_step_3_3_2_object_disclosure_decides_like_disclosure_parse(encoded: str, out: dict[str, Any]) -> None:
    """§7.1 steps 3.3.2.1-3.3.2.3: the walk's inline reading of an ``_sd`` Disclosure gives the Disclosure (and name)
    ``Disclosure.parse`` gives, or the same error."""

    def outcome(fn: Any) -> Any:
        try:
            return fn()
        except SsiError as exc:
            return exc.reason

    walk = processing_module._Walk({"d": encoded}, 32)
    assert outcome(lambda: walk._object_disclosure("d", out)) == outcome(
        lambda: _reference_object_disclosure(encoded, out)
    )


# --- the fifth pass (session 7) -------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="ABCabc019-_é", min_size=1, max_size=40), max_size=6),
    st.sampled_from(["sha-256", "sha-384", "sha-512"]),
)
def test_s4_2_3_index_disclosures_is_digest_of_each(encoded: list[str], sd_alg: str) -> None:
    """The verifier's index (digests inline) maps ``digest(e, hash_fn)`` to each Disclosure, refuses the same Disclosure
    twice (§4) and fails on non-ASCII text as ``digest`` does."""
    hash_fn = hash_function(sd_alg)

    def reference() -> Any:
        by_digest: dict[str, str] = {}
        for e in encoded:
            d = digest(e, hash_fn)
            if d in by_digest:
                return "duplicate_disclosure"
            by_digest[d] = e
        return by_digest

    try:
        expected = reference()
    except UnicodeEncodeError:
        expected = UnicodeEncodeError
    try:
        got: Any = processing_module.index_disclosures(encoded, hash_fn)
    except SdJwtError as exc:
        got = exc.reason
    except UnicodeEncodeError:
        got = UnicodeEncodeError
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=3), st.booleans())
def test_s4_issued_disclosures_made_on_first_read_are_the_encoder_s(seed: int, json_form: bool) -> None:
    """``IssuedSdJwt.disclosures`` made when first read equals the Disclosures of the same issuance made one by one
    (same salts: a seeded random source), once made stays the same object; ``compact``, ``to_json``, equality,
    ``repr``, ``dataclasses.replace``/``asdict`` and pickling see the same values before and after."""
    import pickle

    claims = {"a": 1, "n": [10, {"x": "é"}], "o": {"x": "y", "z": [True]}, "s": "text"}
    paths = [("a",), ("n", 1), ("n", 1, "x"), ("o",), ("o", "x"), ("s",)]

    def issued() -> Any:
        return issue_sd_jwt(
            claims,
            _FIXED_SIGNER,
            disclosable=paths,
            rng=SeededRandom(seed),
            decoys=seed,
            serialization="json" if json_form else "compact",
        )

    first, second = issued(), issued()
    compact = first.compact
    assert issue_module._GET_PENDING(first) is not None  # compact did not make the objects
    made = first.disclosures
    assert issue_module._GET_PENDING(first) is None and first.disclosures is made
    assert all(type(d) is Disclosure and Disclosure.parse(d.encoded) == d for d in made)
    assert compact == first.compact == "~".join([first.issuer_jwt, *(d.encoded for d in made), ""])
    # the other one, never read before: equal in every view
    assert second.to_json() == first.to_json()
    assert second == first and repr(second) == repr(first)
    again = issued()
    assert dataclasses.asdict(again) == dataclasses.asdict(first)
    assert dataclasses.replace(issued(), payload={"p": 1}).disclosures == made
    assert pickle.loads(pickle.dumps(issued())) == first
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.disclosures = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        _ = again.nothing  # type: ignore[attr-defined]
    direct = IssuedSdJwt(first.issuer_jwt, made, first.payload, first.serialization, first.jws_json)
    assert direct == first and direct.compact == compact and direct.disclosures is made
