"""DID and DID URL syntax (DID Core 1.0 §3.1, §3.2, §3.2.2)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.did import Did, DidUrl, is_did, parse_did, parse_did_url, resolve_did_url
from ssi.did._syntax import MAX_DID_URL_LENGTH
from ssi.errors import DidError, SsiError

# -- §3.1 DID syntax ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "did:example:123456789abcdefghi",  # §3.1 / §5.1.1 example
        "did:example:123456789abcdefghijk",
        "did:web:w3c-ccg.github.io:user:alice",  # colons inside the method-specific-id
        "did:web:example.com%3A3000",  # pct-encoded
        "did:ethr:0x1:0xb9c5714089478a327f09197987f16f9e5d936e8a",
        "did:a1:B.-_",  # method-char digits; idchar ALPHA / DIGIT / "." / "-" / "_"
        "did:example::x",  # *( *idchar ":" ): empty segments before the last one are allowed
        "did:example:%Aa",  # HEXDIG is case-insensitive (RFC 5234 §B.1)
    ],
)
def test_3_1_valid_dids(text: str) -> None:
    did = parse_did(text)
    assert str(did) == text
    assert is_did(text)


def test_3_1_parts() -> None:
    assert parse_did("did:web:example.com%3A3000:user") == Did("web", "example.com%3A3000:user")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("did:Example:123", "method-char = %x61-7A / DIGIT: lower case only"),
        ("did:exa_mple:123", "method-char excludes '_'"),
        ("did::123", "method-name = 1*method-char"),
        ("did:example:", "method-specific-id ends with 1*idchar"),
        ("did:example:123:", "the last segment must not be empty"),
        ("did:example", "':' method-specific-id is required"),
        ("DID:example:123", "the scheme is the literal 'did:'"),
        (" did:example:123", "no leading whitespace"),
        ("did:example:123 ", "no trailing whitespace"),
        ("did:example:12 3", "space is not an idchar"),
        ("did:example:123\n", "newline is not an idchar (no $ that matches before a trailing newline)"),
        ("did:example:%", "pct-encoded = '%' HEXDIG HEXDIG"),
        ("did:example:%4", "pct-encoded needs two hex digits"),
        ("did:example:%GG", "HEXDIG only"),
        ("did:example:ä", "idchar is ASCII"),
        ("did:example:a+b", "'+' is not an idchar"),
        ("did:exämple:1", "method-char is ASCII"),
        ("did:example:a@b", "'@' is not an idchar"),
    ],
)
def test_3_1_invalid_dids(text: str, rule: str) -> None:
    with pytest.raises(DidError) as info:
        parse_did(text)
    assert info.value.reason == "invalidDid", rule
    assert not is_did(text)


@pytest.mark.parametrize("text", ["did:example:123/path", "did:example:123?versionId=1", "did:example:123#key-1"])
def test_3_1_a_did_url_is_not_a_did(text: str) -> None:
    with pytest.raises(DidError) as info:
        parse_did(text)
    assert info.value.reason == "invalidDid"


def test_3_1_non_string_and_overlong_input() -> None:
    with pytest.raises(DidError):
        parse_did(123)  # type: ignore[arg-type]
    with pytest.raises(DidError):
        parse_did("did:example:" + "a" * MAX_DID_URL_LENGTH)


# -- §3.2 DID URL syntax ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "query", "fragment"),
    [
        ("did:example:123456/path", "/path", None, None),  # §3.2 Path example
        ("did:example:123456?versionId=1", "", "versionId=1", None),  # §3.2 Query example
        ("did:example:123#public-key-0", "", None, "public-key-0"),  # §3.2 Fragment example
        ("did:example:123#agent", "", None, "agent"),
        (
            "did:example:123?service=agent&relativeRef=/credentials#degree",
            "",
            "service=agent&relativeRef=/credentials",
            "degree",
        ),
        ("did:example:123?versionTime=2021-05-10T17:00:00Z", "", "versionTime=2021-05-10T17:00:00Z", None),  # §3.2.1
        ("did:example:123?service=files&relativeRef=/resume.pdf", "", "service=files&relativeRef=/resume.pdf", None),
        ("did:example:123/a/b;c=d/%20?q=/?#f/?", "/a/b;c=d/%20", "q=/?", "f/?"),
        ("did:example:123#", "", None, ""),  # an empty fragment is a fragment
        ("did:example:123?", "", "", None),
        ("did:example:123//x", "//x", None, None),  # path-abempty allows empty segments
    ],
)
def test_3_2_valid_did_urls(text: str, path: str, query: str | None, fragment: str | None) -> None:
    url = parse_did_url(text)
    assert (url.path, url.query, url.fragment) == (path, query, fragment)
    assert str(url) == text


def test_3_2_a_did_is_a_did_url() -> None:
    url = parse_did_url("did:example:123")
    assert url.is_did and url.did == Did("example", "123")
    assert not parse_did_url("did:example:123#k").is_did


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("did:example:123#a#b", "'#' is not allowed inside a fragment (RFC 3986 §3.5)"),
        ("did:example:123/a b", "space in path (RFC 3986 §3.3 pchar)"),
        ("did:example:123?a b", "space in query"),
        ("did:example:123#a b", "space in fragment"),
        ("did:example:123/%zz", "bad pct-encoding in the path"),
        ("did:example:123#%4", "bad pct-encoding in the fragment"),
        ("did:example:123/[x]", "'[' is a gen-delim, not a pchar"),
        ("did:example:123#\u00e9", "non-ASCII in the fragment"),
        ("did:Example:123#k", "the DID part must follow §3.1"),
        ("#key-1", "a relative reference is not an absolute DID URL"),
    ],
)
def test_3_2_invalid_did_urls(text: str, rule: str) -> None:
    with pytest.raises(DidError) as info:
        parse_did_url(text)
    assert info.value.reason == "invalidDidUrl", rule


# -- §3.2.2 relative DID URLs (RFC 3986 §5.2) ---------------------------------------------------------------------

BASE = "did:example:123456789abcdefghi"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("#key-1", f"{BASE}#key-1"),  # the §3.2.2 example
        ("?service=files", f"{BASE}?service=files"),
        ("?service=files#x", f"{BASE}?service=files#x"),
        ("/path", f"{BASE}/path"),
        ("path/sub", f"{BASE}/path/sub"),  # §5.2.3 merge with an empty base path under an authority
        ("/a/./b/../c", f"{BASE}/a/c"),  # §5.2.4 remove_dot_segments
        ("../../x", f"{BASE}/x"),
        ("did:other:1#k", "did:other:1#k"),  # absolute DID URLs stay as they are
        ("", BASE),  # the empty reference is the base itself
    ],
)
def test_3_2_2_relative_did_urls_resolve_against_the_did(reference: str, expected: str) -> None:
    assert str(resolve_did_url(reference, BASE)) == expected
    assert str(resolve_did_url(reference, parse_did(BASE))) == expected


@pytest.mark.parametrize("reference", ["https://example.com/key", "//example.com/key", "urn:x:y", "#a b"])
def test_3_2_2_non_did_references_are_refused(reference: str) -> None:
    with pytest.raises(DidError) as info:
        resolve_did_url(reference, BASE)
    assert info.value.reason == "invalidDidUrl"


def test_did_url_str_round_trip() -> None:
    url = DidUrl(Did("example", "1"), "/p", "q=1", "f")
    assert str(url) == "did:example:1/p?q=1#f"
    assert parse_did_url(str(url)) == url


# -- robustness ---------------------------------------------------------------------------------------------------

_DID_ALPHABET = st.sampled_from(list("did:example:aZ09.-_%3A/?#@!$&'()*+,;= \n\u00e9"))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_DID_ALPHABET, max_size=40).map("".join)))
def test_arbitrary_strings_raise_only_ssi_errors(text: str) -> None:
    for parse in (parse_did, parse_did_url, lambda t: resolve_did_url(t, BASE)):
        with contextlib.suppress(SsiError):
            parse(text)


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(
        r"did:[a-z0-9]{1,8}:([A-Za-z0-9._-]|%[0-9A-F]{2}){0,5}(:([A-Za-z0-9._-]|%[0-9a-f]{2}){1,5}){0,3}",
        fullmatch=True,
    )
)
def test_3_1_generated_dids_round_trip(text: str) -> None:
    if text.endswith(":"):
        return
    assert str(parse_did(text)) == text
