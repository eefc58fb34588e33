"""The fast paths of ``ssi.encoding`` decide exactly like the plain definitions they replace.

base64url (RFC 4648 §5, RFC 7515 §2): the decoder works through ``binascii`` in strict mode and a table of allowed
final characters; here it is compared with the rule written out slowly (alphabet, no padding, length, canonical
re-encoding). JSON (RFC 8259 §4): duplicate names are found by comparing the member count with the pair count; §9
nesting depth is bounded before parsing, whatever the interpreter's recursion limit is.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.encoding import MAX_JSON_DEPTH, b64url_decode, b64url_encode, json_dumps, json_dumps_acyclic, json_loads
from ssi.errors import EncodingError

PROPERTY = settings(max_examples=200, deadline=None)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _reference_b64url_decode(text: str) -> bytes | None:
    """RFC 4648 §5 without padding, canonical (§3.5), written out slowly; ``None`` where it must be refused."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text, flags=re.ASCII) or len(text) % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        return None
    return raw


def _decide(text: str | bytes) -> bytes | None:
    try:
        return b64url_decode(text)
    except EncodingError:
        return None


@pytest.mark.parametrize("length", [2, 3, 4])
def test_rfc4648_s3_5_every_short_text_decides_like_the_definition(length: int) -> None:
    """All 64**2 + 64**3 tails (and the 4-character group, which has no unused bits) against the written-out rule."""
    alphabet = _ALPHABET if length < 4 else "AQgw_-09"
    texts = [""]
    for _ in range(length):
        texts = [t + c for t in texts for c in alphabet]
    for text in texts:
        assert _decide(text) == _reference_b64url_decode(text), text


@PROPERTY
@given(st.text(alphabet=_ALPHABET + "+/= \n\t.~\x00é", max_size=40))
def test_rfc4648_s5_fast_decoder_matches_the_definition(text: str) -> None:
    """Anything outside the URL-safe alphabet ('+', '/', '=', whitespace, non-ASCII) is refused, as by the rule."""
    assert _decide(text) == _reference_b64url_decode(text)
    assert _decide(text.encode("utf-8")) == _reference_b64url_decode(text)


@PROPERTY
@given(st.binary(max_size=40))
def test_rfc4648_s5_every_byte_value_decides_like_the_definition(raw: bytes) -> None:
    """The lenient-decode-and-count fast path (every byte outside the alphabet is skipped, so the output is short)
    refuses every byte the strict rule refuses, whatever it is and wherever it stands."""
    text = raw.decode("latin-1")
    expected = _reference_b64url_decode(text) if text.isascii() else None
    assert _decide(raw) == expected
    assert _decide(text) == expected


@PROPERTY
@given(st.text(alphabet=_ALPHABET, max_size=40), st.sampled_from("!*=+/ \n\x00\x7f"), st.integers(min_value=0))
def test_rfc4648_s5_one_foreign_character_anywhere_is_refused(text: str, foreign: str, where: int) -> None:
    where = where % (len(text) + 1)
    assert _decide(text[:where] + foreign + text[where:]) is None


@PROPERTY
@given(st.binary(max_size=80))
def test_rfc4648_s5_encoder_is_urlsafe_base64_without_padding(raw: bytes) -> None:
    assert b64url_encode(raw) == base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def test_b64url_decode_refuses_non_text() -> None:
    with pytest.raises(EncodingError):
        b64url_decode(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"a":1}',
        '{"a":{"b":1,"b":2}}',
        '[{"x":1},{"y":1,"z":2,"y":3}]',
        '{"a":1,"b":2,"c":3,"\\u0061":4}',  # the same name, once escaped
    ],
)
def test_rfc8259_s4_duplicate_names_anywhere_are_rejected(text: str) -> None:
    with pytest.raises(EncodingError) as info:
        json_loads(text)
    assert info.value.reason == "duplicate_json_key"
    assert "duplicate member name" in info.value.description


def _reference_json_loads(text: str) -> object:
    """json.loads with our rules as hooks (the call the fast path replaces); ``EncodingError`` where it refuses."""

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        if len({k for k, _ in items}) != len(items):
            raise EncodingError("duplicate", reason="duplicate_json_key")
        return dict(items)

    def refuse(_: str) -> object:
        raise EncodingError("constant", reason="bad_json")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=refuse)
    except ValueError:
        raise EncodingError("malformed", reason="bad_json") from None


def _outcome(parse: Callable[[str], object], text: str) -> tuple[str, object]:
    try:
        return ("ok", parse(text))
    except EncodingError as exc:
        return (exc.reason, None)


@PROPERTY
@given(st.text(alphabet='{}[]:,"\\ \t\n\r\x0cabnlrtuefs01-.eE+\u00e9', max_size=30))
def test_rfc8259_s2_fast_decode_matches_json_loads(text: str) -> None:
    """RFC 8259 §2: one value with optional whitespace (space, tab, LF, CR) around it, nothing else — as json.loads."""
    assert _outcome(json_loads, text) == _outcome(_reference_json_loads, text)


@pytest.mark.parametrize("text", ['{"a":1}', " [1] ", "\t\r\n 1 \n", '"x"', "null", "-0.5e3"])
def test_rfc8259_s2_whitespace_around_the_value_is_allowed(text: str) -> None:
    assert json_loads(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", " ", "1 2", '{"a":1}x', "[1]\x0c", "\ufeff{}", "\u00a0 1", "1\u2028"])
def test_rfc8259_s2_anything_else_around_the_value_is_refused(text: str) -> None:
    with pytest.raises(EncodingError) as info:
        json_loads(text)
    assert info.value.reason == "bad_json"


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@PROPERTY
@given(_JSON_VALUES)
def test_json_dumps_is_json_dumps_compact_utf8(value: object) -> None:
    """The signing-input serializer equals json.dumps with the compact separators, UTF-8 kept, NaN refused."""
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert json_dumps(value) == expected
    assert json_loads(json_dumps(value)) == json.loads(expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {"a": [float("-inf")]}, object(), {(1, 2): 3}, b"x"])
def test_json_dumps_refuses_what_json_dumps_refuses(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        json_dumps(bad)


@PROPERTY
@given(_JSON_VALUES)
def test_json_dumps_acyclic_is_json_dumps(value: object) -> None:
    """The shared encoder (no cycle bookkeeping) writes the same text as ``json_dumps`` for every acyclic value."""
    assert json_dumps_acyclic(value) == json_dumps(value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {"a": [float("-inf")]}, object(), {(1, 2): 3}, b"x"])
def test_json_dumps_acyclic_refuses_what_json_dumps_refuses(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        json_dumps_acyclic(bad)
    assert json_dumps_acyclic({"a": [1]}) == '{"a":[1]}'  # nothing left half-written in the shared encoder


def test_json_dumps_detects_circular_references_every_time() -> None:
    loop: list[object] = []
    loop.append(loop)
    for _ in range(2):  # the check does not depend on state left by an earlier call
        with pytest.raises(ValueError, match="Circular"):
            json_dumps({"a": loop})
    assert json_dumps({"a": [1], "b": [1]}) == '{"a":[1],"b":[1]}'


def test_rfc8259_s9_nesting_depth_is_bounded() -> None:
    """RFC 8259 §9: "An implementation may set limits on the maximum depth of nesting" — ours is MAX_JSON_DEPTH."""
    assert json_loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    for text in ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), '{"a":' * (MAX_JSON_DEPTH + 1) + "1"):
        with pytest.raises(EncodingError) as info:
            json_loads(text)
        assert info.value.reason == "json_too_deep"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    deep_looking = "[" * (2 * MAX_JSON_DEPTH)
    assert json_loads(f'["{deep_looking}", "\\"{deep_looking}"]') == [deep_looking, '"' + deep_looking]
    assert json_loads(f'{{"k":"{"{" * (2 * MAX_JSON_DEPTH)}"}}') == {"k": "{" * (2 * MAX_JSON_DEPTH)}


def test_nesting_bomb_is_refused_even_with_a_raised_recursion_limit() -> None:
    """Libraries in the same process raise the recursion limit (py_ecc, py-evm: 100000); the C JSON parser then
    overflows the C stack instead of raising RecursionError. The depth bound must hold regardless (own process, so a
    crash fails this test instead of killing the test run)."""
    code = (
        "import sys; sys.setrecursionlimit(100000)\n"
        "from ssi.encoding import json_loads\n"
        "from ssi.errors import EncodingError\n"
        "for opening in ('[', '{\"a\":', '[{\"a\":'):\n"
        "    try:\n"
        "        json_loads(opening * 200000)\n"
        "    except EncodingError as exc:\n"
        "        print(exc.reason)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["json_too_deep"] * 3
