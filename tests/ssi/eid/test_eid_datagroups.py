"""Data group values (TR-03110-4 §2.2.3, TR-03127 §3.2.2), partial dates of birth, age rules and the salted element
encoding."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.eid import (
    DataGroup,
    EidIdentity,
    FreeTextPlace,
    NoPlaceInfo,
    PartialDate,
    StructuredPlace,
    age_reached,
    decode_element,
    element_digest,
    encode_element,
    years_before,
)
from ssi.eid.datagroups import place_from_json, validate_value
from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import EidMalformed


@st.composite
def partial_dates(draw: st.DrawFn) -> PartialDate:
    day = draw(st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2030, 12, 31)))
    known = draw(st.sampled_from(["all", "month", "year"]))
    if known == "all":
        return PartialDate(day.year, day.month, day.day)
    if known == "month":
        return PartialDate(day.year, day.month)
    return PartialDate(day.year)


def test_unknown_parts_are_spaces_on_the_card() -> None:
    """TR-03127 §3.2.2 (DG8): "unknown parts are filled with blanks"."""
    assert PartialDate(1980).to_card() == "1980    "
    assert PartialDate(1990, 4).to_card() == "199004  "
    assert PartialDate.parse_card("19640812") == PartialDate(1964, 8, 12)
    assert PartialDate.parse_card("1980    ") == PartialDate(1980)


@pytest.mark.parametrize("text", ["1980  01", "19801301", "19800230", "1980", "198O0101", "1980-01-01", 19800101])
def test_malformed_card_dates_refused(text: object) -> None:
    with pytest.raises(EidMalformed):
        PartialDate.parse_card(text)


@given(partial_dates())
def test_partial_date_round_trip_and_bounds(date: PartialDate) -> None:
    assert PartialDate.parse_card(date.to_card()) == date
    assert date.earliest() <= date.latest()
    if date.complete:
        assert date.earliest() == date.latest()


def test_latest_possible_day() -> None:
    assert PartialDate(1980).latest() == datetime.date(1980, 12, 31)
    assert PartialDate(1990, 2).latest() == datetime.date(1990, 2, 28)
    assert PartialDate(1992, 2).latest() == datetime.date(1992, 2, 29)


def test_years_before_29_february() -> None:
    assert years_before(datetime.date(2024, 2, 29), 18) == datetime.date(2006, 2, 28)
    assert years_before(datetime.date(2025, 10, 9), 18) == datetime.date(2007, 10, 9)


def test_age_reached_on_the_birthday() -> None:
    born = PartialDate(2007, 10, 9)
    assert age_reached(born, 18, datetime.date(2025, 10, 9))
    assert not age_reached(born, 18, datetime.date(2025, 10, 8))


def test_age_is_conservative_for_unknown_parts() -> None:
    """Born 1980-00-00: 18 only once even a birthday on 31 December 1980 has passed 18 years."""
    born = PartialDate(1980)
    assert not age_reached(born, 18, datetime.date(1998, 12, 30))
    assert age_reached(born, 18, datetime.date(1998, 12, 31))
    assert not age_reached(PartialDate(1990, 4), 21, datetime.date(2011, 4, 29))
    assert age_reached(PartialDate(1990, 4), 21, datetime.date(2011, 4, 30))


@given(partial_dates(), st.integers(min_value=1, max_value=99), st.dates(min_value=datetime.date(1900, 1, 1)))
def test_age_never_overstated(born: PartialDate, years: int, on: datetime.date) -> None:
    """Whatever the real birthday within the known parts, ``age_reached`` is True only if it is reached for all."""
    if age_reached(born, years, on):
        assert born.earliest() <= years_before(on, years)
        assert born.latest() <= years_before(on, years)


def test_places() -> None:
    """TR-03110-4 §2.2.3.1 GeneralPlace: structured, free text or no place information — exactly one."""
    assert place_from_json({"free_text": "BERLIN"}) == FreeTextPlace("BERLIN")
    assert place_from_json({"no_place_info": ""}) == NoPlaceInfo("")
    structured = {"street": "HEIDESTRASSE 17", "zipcode": "51147", "city": "KÖLN", "country": "D"}
    assert place_from_json(structured) == StructuredPlace("KÖLN", "D", "HEIDESTRASSE 17", "51147")
    assert place_from_json(structured).to_json() == structured
    for bad in ({}, {"free_text": "A", "no_place_info": ""}, {"city": "KÖLN"}, {"city": "X", "country": "de"}, []):
        with pytest.raises(EidMalformed):
            place_from_json(bad)


@pytest.mark.parametrize(
    ("group", "value"),
    [
        (DataGroup.DOCUMENT_TYPE, "id"),
        (DataGroup.NATIONALITY, "DEU1"),
        (DataGroup.DATE_OF_EXPIRY, "20341301"),
        (DataGroup.GIVEN_NAMES, ""),
        (DataGroup.GIVEN_NAMES, "A\nB"),
        (DataGroup.GIVEN_NAMES, 5),
        (DataGroup.COMMUNITY_ID, "05A15"),
        (DataGroup.FAMILY_NAMES, "X" * 201),
    ],
)
def test_values_checked_per_group(group: DataGroup, value: object) -> None:
    with pytest.raises(EidMalformed):
        validate_value(group, value)


text_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=1, max_size=40)


@given(st.binary(min_size=16, max_size=32), text_values)
def test_element_round_trip(salt: bytes, name: str) -> None:
    element = encode_element(salt, DataGroup.FAMILY_NAMES, name)
    assert decode_element(element) == (DataGroup.FAMILY_NAMES, name)
    assert element_digest(element) != element_digest(encode_element(bytes(16), DataGroup.FAMILY_NAMES, name)) or (
        salt == bytes(16)
    )


def test_short_salt_refused() -> None:
    with pytest.raises(EidMalformed):
        encode_element(b"x" * 15, DataGroup.GIVEN_NAMES, "ERIKA")


@pytest.mark.parametrize(
    "payload",
    [
        ["c2FsdA", 4],
        ["c2FsdA", 12, "X"],
        ["c2FsdA", "4", "ERIKA"],
        ["c2FsdA", True, "ERIKA"],
        ["c2FsdA", 3, "2034-10-31"],
        {"salt": "x"},
    ],
)
def test_malformed_elements_refused(payload: object) -> None:
    with pytest.raises(EidMalformed):
        decode_element(b64url_encode(json_dumps(payload).encode()))


def test_identity_round_trip() -> None:
    identity = EidIdentity(
        document_type="AR",
        date_of_expiry=datetime.date(2030, 6, 30),
        family_names="ÖZTÜRK",
        date_of_birth=PartialDate(1980),
        place_of_birth=NoPlaceInfo(),
        nationality="TUR",
    )
    groups = identity.to_data_groups()
    assert groups[DataGroup.DATE_OF_BIRTH] == "1980    "
    assert groups[DataGroup.DATE_OF_EXPIRY] == "20300630"
    assert EidIdentity.from_data_groups(groups) == identity
