"""CHAT bit layout (BSI TR-03110-4 §2.2.3.2 / TR-03110-3 §C.4.2.2) and its algebra."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.eid import AccessRight, Chat, DataGroup, Role
from ssi.errors import EidMalformed

rights = st.integers(min_value=0, max_value=(1 << 38) - 1)
roles = st.sampled_from(list(Role))


def test_read_dg_n_is_bit_7_plus_n() -> None:
    """TR-03110-4: "Read access eID DG1" is b8 … "Read access eID DG21" is b28."""
    assert Chat.of(read=[DataGroup.DOCUMENT_TYPE]).rights == 1 << 8
    assert Chat.of(read=[DataGroup.RESIDENCE_PERMIT_I]).rights == 1 << 26
    assert Chat.of(read=[DataGroup.PLACE_OF_RESIDENCE]).rights == 1 << 24


def test_special_functions_are_the_low_byte() -> None:
    """b0 age verification, b1 community ID verification, b2 restricted identification, b5 PIN management."""
    assert AccessRight.AGE_VERIFICATION == 1
    assert AccessRight.COMMUNITY_ID_VERIFICATION == 2
    assert AccessRight.RESTRICTED_IDENTIFICATION == 4
    assert AccessRight.PIN_MANAGEMENT == 32


def test_role_is_the_top_two_bits_of_five_bytes() -> None:
    """b39 b38: 11 CVCA, 10 DV official domestic, 01 DV non-official/foreign, 00 authentication terminal."""
    assert Chat(0, Role.CVCA).hex == "C000000000"
    assert Chat(0, Role.DV_OFFICIAL).hex == "8000000000"
    assert Chat(0, Role.DV_NON_OFFICIAL).hex == "4000000000"
    assert Chat.of(read=[DataGroup.GIVEN_NAMES], special=AccessRight.AGE_VERIFICATION).hex == "0000000801"


@given(rights, roles)
def test_hex_round_trip(bits: int, role: Role) -> None:
    chat = Chat(bits, role)
    assert Chat.from_hex(chat.hex) == chat
    assert len(chat.hex) == 10


@given(rights, rights)
def test_subset_and_intersection(a: int, b: int) -> None:
    x, y = Chat(a), Chat(b)
    assert (x & y) <= x and (x & y) <= y
    assert x <= (x | y)
    assert (x <= y) == (x.rights | y.rights == y.rights)
    assert not (x.without(y) & y)


@given(st.sets(st.sampled_from(list(DataGroup))))
def test_data_groups_round_trip(groups: set[DataGroup]) -> None:
    assert Chat.of(read=groups).data_groups == frozenset(groups)


@pytest.mark.parametrize("text", ["", "C00000000", "c000000000", "C0000000000", "XYZ0000000", 123, None])
def test_malformed_chat_refused(text: object) -> None:
    with pytest.raises(EidMalformed):
        Chat.from_hex(text)


def test_describe_names_the_rights() -> None:
    chat = Chat.of(read=[DataGroup.GIVEN_NAMES], special=AccessRight.RESTRICTED_IDENTIFICATION)
    assert chat.describe() == ["DG4", "RESTRICTED_IDENTIFICATION"]
