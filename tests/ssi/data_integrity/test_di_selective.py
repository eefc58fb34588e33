"""The selective disclosure functions of vc-di-ecdsa §3.3 and vc-di-bbs §3.2.1 (JSON pointers, selection, label
maps), each rule with its section."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.data_integrity import CREDENTIALS_V2, json_pointer_to_paths, select_json_ld
from ssi.data_integrity._selective import create_label_map_function, create_shuffled_id_label_map_function
from ssi.errors import DataIntegrityError

DOC: dict[str, Any] = {
    "@context": [CREDENTIALS_V2],
    "id": "https://example.org/credentials/1",
    "type": ["VerifiableCredential"],
    "issuer": {"id": "did:example:issuer", "name": "Stadt Köln"},
    "credentialSubject": {
        "id": "_:subject",
        "type": "Person",
        "list": [{"a": 1}, {"b": 2}, {"c": 3}, 4],
        "age_equal_or_over": {"18": True, "65": False},
        "a/b": {"~x": "escaped"},
    },
}


@pytest.mark.parametrize(
    ("pointer", "paths"),
    [
        ("/issuer", ["issuer"]),
        ("/credentialSubject/list/2", ["credentialSubject", "list", 2]),
        ("/a~1b/~0x", ["a/b", "~x"]),
        ("/x/01", ["x", "01"]),  # RFC 6901 §4: an array index has no leading zero
        ("/x/0", ["x", 0]),
        ("/", [""]),
    ],
)
def test_json_pointer_to_paths(pointer: str, paths: list[Any]) -> None:
    """§3.3.10: split on "/", unescape ``~1`` and ``~0``, integers where a segment is an array index."""
    assert json_pointer_to_paths(pointer) == paths


@pytest.mark.parametrize("pointer", ["", "issuer", "/a~2", "/a~", 7])
def test_invalid_json_pointers(pointer: Any) -> None:
    with pytest.raises(DataIntegrityError) as raised:
        json_pointer_to_paths(pointer)
    assert raised.value.reason == "invalid_json_pointer"


@given(st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_json_pointer_round_trip(segments: list[str]) -> None:
    pointer = "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in segments)
    expected = [int(s) if s.isascii() and s.isdigit() and (s == "0" or not s.startswith("0")) else s for s in segments]
    assert json_pointer_to_paths(pointer) == expected


def test_no_pointers_select_nothing() -> None:
    """§3.3.13 step 1: "If pointers is empty, return null"."""
    assert select_json_ld([], DOC) is None


def test_selection_keeps_ids_and_types_on_the_path() -> None:
    """§3.3.11: the root and every node on the way keep their non-blank ``id`` and their ``type``; §3.3.13: the
    ``@context`` is copied."""
    selected = select_json_ld(["/issuer/name"], DOC)
    assert selected == {
        "@context": [CREDENTIALS_V2],
        "id": "https://example.org/credentials/1",
        "type": ["VerifiableCredential"],
        "issuer": {"id": "did:example:issuer", "name": "Stadt Köln"},
    }


def test_blank_node_ids_are_not_copied_into_the_selection() -> None:
    """§3.3.11: "If source has an id that is not a blank node identifier, set selection.id"."""
    selected = select_json_ld(["/credentialSubject/age_equal_or_over/18"], DOC)
    assert selected is not None
    assert selected["credentialSubject"] == {"type": "Person", "age_equal_or_over": {"18": True}}


def test_selected_array_elements_become_a_dense_array_in_order() -> None:
    """§3.3.13 step 6: sparse selected arrays are made dense (the order of the source array is kept)."""
    selected = select_json_ld(["/credentialSubject/list/3", "/credentialSubject/list/1"], DOC)
    assert selected is not None
    assert selected["credentialSubject"]["list"] == [{"b": 2}, 4]


def test_selecting_a_whole_node_and_a_member_of_it_merges() -> None:
    """§3.3.12 step 7: an object merges the selection so far with a deep copy of the value."""
    selected = select_json_ld(["/credentialSubject/list/0/a", "/credentialSubject/list/0"], DOC)
    assert selected is not None
    assert selected["credentialSubject"]["list"] == [{"a": 1}]


@pytest.mark.parametrize(
    "pointer", ["/nosuch", "/credentialSubject/list/9", "/credentialSubject/list/a", "/issuer/id/x"]
)
def test_pointer_that_does_not_match_is_an_error(pointer: str) -> None:
    """§3.3.12 step 5.3: "If value is now undefined, an error MUST be raised"."""
    with pytest.raises(DataIntegrityError) as raised:
        select_json_ld([pointer], DOC)
    assert raised.value.reason == "pointer_mismatch"


def test_shuffled_labels_are_ranks_of_hmac_digests() -> None:
    """vc-di-bbs §3.2.1: labels ``b0..b(n-1)`` by the sorted HMAC digests; another key gives another permutation."""
    canonical = {f"x{i}": f"c14n{i}" for i in range(6)}
    first = create_shuffled_id_label_map_function(b"\x01" * 32)(canonical)
    second = create_shuffled_id_label_map_function(b"\x02" * 32)(canonical)
    assert sorted(first.values()) == sorted(second.values()) == sorted(f"b{i}" for i in range(6))
    assert first != second
    assert first == create_shuffled_id_label_map_function(b"\x01" * 32)(canonical)


def test_label_map_function_needs_every_canonical_label() -> None:
    """§3.3.3: every canonical identifier is looked up in the label map; a missing one is an error, not a guess."""
    factory = create_label_map_function({"c14n0": "b1"})
    assert factory({"x": "c14n0"}) == {"x": "b1"}
    with pytest.raises(DataIntegrityError) as raised:
        factory({"x": "c14n0", "y": "c14n1"})
    assert raised.value.reason == "label_map_incomplete"


def test_list_objects_are_skolemized_inside_not_given_an_id() -> None:
    """§3.3.7 names value objects only; a JSON-LD ``@list`` object is no node either: its items get the ids."""
    from ssi.data_integrity._selective import _Skolemizer

    skolem = _Skolemizer()
    expanded = [{"https://example.org/p": [{"@list": [{"https://example.org/q": [{"@value": 1}]}]}]}]
    out = skolem.expanded(expanded)
    listed = out[0]["https://example.org/p"][0]
    assert "@id" not in listed and listed["@list"][0]["@id"].startswith(skolem.prefix)
    assert out[0]["@id"].startswith(skolem.prefix)
