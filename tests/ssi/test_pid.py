"""German PID rules (ssi.pid): one test per rule of the module docstring, plus issuance as an SD-JWT VC."""

from __future__ import annotations

import calendar
import dataclasses
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.eid import EidIdentity, FreeTextPlace, NoPlaceInfo, PartialDate, StructuredPlace
from ssi.errors import PidMappingError
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.pid import (
    AGE_THRESHOLDS,
    PID_VALIDITY,
    PID_VCT,
    birthdate_claim,
    iso_country,
    pid_claims,
)
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import issue_sd_jwt_vc, verify_sd_jwt_vc

#: 2025-10-09T09:46:40Z
NOW = 1_760_000_000.0

ERIKA = EidIdentity(
    document_type="ID",
    issuing_state="D",
    date_of_expiry=datetime.date(2034, 10, 31),
    given_names="ERIKA",
    family_names="MUSTERMANN",
    date_of_birth=PartialDate(1964, 8, 12),
    place_of_birth=FreeTextPlace("BERLIN"),
    nationality="D",
    birth_name="GABLER",
    place_of_residence=StructuredPlace(city="KÖLN", country="D", street="HEIDESTRASSE 17", zipcode="51147"),
    community_id="05315000",
)


def _at(year: int, month: int, day: int) -> float:
    return float(calendar.timegm((year, month, day, 12, 0, 0)))


def test_erika_as_in_the_sample_pid() -> None:
    """The claims of the sample PID (the existing corpus in tests/ssi/sd_jwt and scripts/cli-tour.sh)."""
    pid = pid_claims(ERIKA, now=NOW)
    assert pid.vct == PID_VCT == "urn:eudi:pid:de:1"
    assert pid.claims == {
        "given_name": "ERIKA",
        "family_name": "MUSTERMANN",
        "birth_family_name": "GABLER",
        "birthdate": "1964-08-12",
        "place_of_birth": {"locality": "BERLIN"},
        "nationalities": ["DE"],
        "address": {"street_address": "HEIDESTRASSE 17", "postal_code": "51147", "locality": "KÖLN", "country": "DE"},
        "age_equal_or_over": {"12": True, "14": True, "16": True, "18": True, "21": True, "65": False},
        "issuing_country": "DE",
        "issuing_authority": "DE",
        "source_document_type": "id_card",
    }


def test_rule_2_strings_as_on_the_card() -> None:
    """Never transliterated, never re-cased: "Ö" stays, and a card's "ß" is not turned into "SS"."""
    identity = dataclasses.replace(ERIKA, family_names="WEIß", given_names="JÜRGEN", birth_name="ÖZTÜRK")
    claims = pid_claims(identity, now=NOW).claims
    assert (claims["family_name"], claims["given_name"], claims["birth_family_name"]) == ("WEIß", "JÜRGEN", "ÖZTÜRK")


@pytest.mark.parametrize(
    ("date", "claim"),
    [(PartialDate(1964, 8, 12), "1964-08-12"), (PartialDate(1980), "1980-00-00"), (PartialDate(1990, 4), "1990-04-00")],
)
def test_rule_3_unknown_birthdate_parts_are_00(date: PartialDate, claim: str) -> None:
    assert birthdate_claim(date) == claim
    assert pid_claims(dataclasses.replace(ERIKA, date_of_birth=date), now=NOW).claims["birthdate"] == claim


def test_rule_4_place_of_birth() -> None:
    def place(value: object) -> object:
        return pid_claims(dataclasses.replace(ERIKA, place_of_birth=value), now=NOW).claims.get("place_of_birth")

    assert place(FreeTextPlace("ISTANBUL")) == {"locality": "ISTANBUL"}
    assert place(NoPlaceInfo()) == {"no_place_info": True}
    assert place(NoPlaceInfo("UNBEKANNT")) == {"no_place_info": True}
    assert place(FreeTextPlace(" ")) == {"no_place_info": True}
    assert place(StructuredPlace(city="LYON", country="FRA")) == {"locality": "LYON", "country": "FR"}
    assert place(None) is None  # not released: no claim


@pytest.mark.parametrize(
    ("icao", "iso"),
    [("D", "DE"), ("TUR", "TR"), ("FRA", "FR"), ("GBD", "GB"), ("GBR", "GB"), ("RKS", "XK"), ("UNK", "XK")],
)
def test_rule_5_nationality_three_to_two_letters(icao: str, iso: str) -> None:
    assert iso_country(icao) == iso
    assert pid_claims(dataclasses.replace(ERIKA, nationality=icao), now=NOW).claims["nationalities"] == [iso]


def test_rule_5_old_id_card_without_dg10_is_german() -> None:
    assert pid_claims(dataclasses.replace(ERIKA, nationality=None), now=NOW).claims["nationalities"] == ["DE"]
    permit = dataclasses.replace(ERIKA, nationality=None, document_type="AR")
    assert "nationalities" not in pid_claims(permit, now=NOW).claims


@pytest.mark.parametrize("code", ["XXA", "XXB", "XXC", "XXX", "UNO", "EUE", "XPO"])
def test_rule_5_no_country_no_claim(code: str) -> None:
    assert iso_country(code) is None
    assert "nationalities" not in pid_claims(dataclasses.replace(ERIKA, nationality=code), now=NOW).claims


def test_rule_6_age_thresholds() -> None:
    assert AGE_THRESHOLDS == (12, 14, 16, 18, 21, 65)
    born = dataclasses.replace(ERIKA, date_of_birth=PartialDate(2007, 10, 9))
    assert pid_claims(born, now=_at(2025, 10, 8)).claims["age_equal_or_over"]["18"] is False
    assert pid_claims(born, now=_at(2025, 10, 9)).claims["age_equal_or_over"] == {
        "12": True,
        "14": True,
        "16": True,
        "18": True,
        "21": False,
        "65": False,
    }


def test_rule_6_conservative_with_unknown_parts() -> None:
    """Born 1980-00-00: 18 on 1998-12-31 at the latest, so earlier in 1998 the claim is not yet true."""
    unknown = dataclasses.replace(ERIKA, date_of_birth=PartialDate(1980))
    assert pid_claims(unknown, now=_at(1998, 12, 30)).claims["age_equal_or_over"]["18"] is False
    assert pid_claims(unknown, now=_at(1998, 12, 31)).claims["age_equal_or_over"]["18"] is True
    month_known = dataclasses.replace(ERIKA, date_of_birth=PartialDate(2004, 2))
    assert pid_claims(month_known, now=_at(2025, 2, 28)).claims["age_equal_or_over"]["21"] is False  # 2004-02-29
    assert pid_claims(month_known, now=_at(2025, 3, 1)).claims["age_equal_or_over"]["21"] is True


@given(st.dates(min_value=datetime.date(1920, 1, 1), max_value=datetime.date(2020, 12, 31)), st.booleans())
def test_rule_6_never_states_an_age_not_reached(born: datetime.date, day_unknown: bool) -> None:
    date = PartialDate(born.year, born.month, None if day_unknown else born.day)
    now = _at(2025, 10, 9)
    ages = pid_claims(dataclasses.replace(ERIKA, date_of_birth=date), now=now).claims["age_equal_or_over"]
    today = datetime.date(2025, 10, 9)
    for threshold, stated in ages.items():
        exact = (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) >= int(threshold)
        if stated:
            assert exact  # true only if true for the real birthday
        if not day_unknown:
            assert stated == exact


def test_rule_7_structured_address() -> None:
    free = dataclasses.replace(ERIKA, place_of_residence=FreeTextPlace("C/O MUSTER, POSTFACH 12, 10117 BERLIN"))
    assert pid_claims(free, now=NOW).claims["address"] == {"formatted": "C/O MUSTER, POSTFACH 12, 10117 BERLIN"}
    abroad = dataclasses.replace(ERIKA, place_of_residence=NoPlaceInfo("KEINE HAUPTWOHNUNG IN DEUTSCHLAND"))
    assert "address" not in pid_claims(abroad, now=NOW).claims
    assert "address" not in pid_claims(dataclasses.replace(ERIKA, place_of_residence=None), now=NOW).claims


def test_rule_8_issuing_country_and_authority() -> None:
    claims = pid_claims(ERIKA, now=NOW).claims
    assert claims["issuing_country"] == claims["issuing_authority"] == "DE"


@pytest.mark.parametrize(
    ("document_type", "source"),
    [("ID", "id_card"), ("AR", "residence_permit"), ("AS", "residence_permit"), ("UB", "eu_citizen_card")],
)
def test_rule_9_source_document_type(document_type: str, source: str) -> None:
    identity = dataclasses.replace(ERIKA, document_type=document_type)
    assert pid_claims(identity, now=NOW).claims["source_document_type"] == source


def test_rule_9_unknown_document_type_refused() -> None:
    for document_type in ("P", None):
        with pytest.raises(PidMappingError) as caught:
            pid_claims(dataclasses.replace(ERIKA, document_type=document_type), now=NOW)
        assert caught.value.reason == "pid_document_type"


def test_rule_10_fourteen_days_within_the_document() -> None:
    pid = pid_claims(ERIKA, now=NOW)
    assert PID_VALIDITY == 14 * 86400
    assert (pid.issued_at, pid.expires_at) == (int(NOW), int(NOW) + 14 * 86400)
    short = dataclasses.replace(ERIKA, date_of_expiry=datetime.date(2025, 10, 12))
    assert pid_claims(short, now=NOW).expires_at == calendar.timegm((2025, 10, 13, 0, 0, 0))
    with pytest.raises(PidMappingError) as caught:
        pid_claims(dataclasses.replace(ERIKA, date_of_expiry=datetime.date(2025, 10, 8)), now=NOW)
    assert caught.value.reason == "pid_document_expired"


def test_rule_11_optional_attributes() -> None:
    identity = dataclasses.replace(ERIKA, academic_title="DR.", nom_de_plume="SCHWESTER AGNES", birth_name=None)
    claims = pid_claims(identity, now=NOW).claims
    assert claims["academic_title"] == "DR."
    assert claims["also_known_as"] == "SCHWESTER AGNES"
    assert "birth_family_name" not in claims


def test_mandatory_attributes() -> None:
    for missing in ("given_names", "family_names", "date_of_birth"):
        with pytest.raises(PidMappingError):
            pid_claims(dataclasses.replace(ERIKA, **{missing: None}), now=NOW)


def test_issued_as_sd_jwt_vc_with_the_suggested_disclosures() -> None:
    """The claims and disclosable paths go straight into ssi.sd_jwt.vc; a verifier sees exactly what is disclosed."""
    pid = pid_claims(dataclasses.replace(ERIKA, academic_title="DR."), now=NOW)
    issuer, holder = SoftwareSigner(PrivateKey.generate()), SoftwareSigner(PrivateKey.generate())
    issued = issue_sd_jwt_vc(
        pid.claims,
        issuer,
        vct=pid.vct,
        issuer="https://pid.example",
        holder_jwk=holder.public_key,
        disclosable=pid.disclosable,
        expires_at=pid.expires_at,
        clock=lambda: NOW,
    )
    held = HeldSdJwt.parse(issued.compact)
    assert {k: v for k, v in held.claims.items() if k not in ("iss", "iat", "exp", "cnf", "vct")} == pid.claims
    assert held.claims["exp"] == pid.expires_at
    presentation = held.present(
        [("age_equal_or_over", "18"), ("address", "locality"), ("nationalities", 0)],
        holder=holder,
        audience="https://portal.example",
        nonce="n-1",
        clock=lambda: NOW,
    )
    verified = verify_sd_jwt_vc(
        presentation,
        issuer.public_key,
        VerificationPolicy(audience="https://portal.example", nonce="n-1"),
        expected_vct=PID_VCT,
        clock=lambda: NOW,
    )
    assert verified.claims["age_equal_or_over"] == {"18": True}
    assert verified.claims["address"] == {"locality": "KÖLN"}
    assert verified.claims["nationalities"] == ["DE"]
    assert verified.claims["issuing_country"] == "DE"
    assert "given_name" not in verified.claims
