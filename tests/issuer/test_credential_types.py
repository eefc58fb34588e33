"""Credential types as data (issuer/credential_type.py): the shipped documents, the loader's checks, claim checks for
offers, validity, and the metadata each type yields (OpenID4VCI §12.2.4 / Appendix B.2, SD-JWT VC §6-§9)."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from issuer_support import SAMPLE_CLAIMS

from issuer import load_credential_type, shipped_credential_types
from issuer.credential_type import ClaimsRejected, CredentialTypeError

ISSUER = "https://issuer.example.de/issuers/koeln"


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return shipped_credential_types()


def test_shipped_types(shipped: dict[str, Any]) -> None:
    """The issue: a Bewohnerparkausweis, a Meldebescheinigung and a public-employee card, German and English (the
    ldp_vc types of issue 14 are checked in test_ldp_vc_issuance.py)."""
    sd_jwt = {k: v for k, v in shipped.items() if not v.is_ldp_vc}
    assert set(sd_jwt) == {"bewohnerparkausweis", "meldebescheinigung", "dienstausweis"}
    for ctype in sd_jwt.values():
        assert {d.locale for d in ctype.display} == {"de-DE", "en-US"}
        assert all({d.locale for d in c.display} == {"de-DE", "en-US"} for c in ctype.claims)
        assert ctype.check_claims(SAMPLE_CLAIMS[ctype.id]) == SAMPLE_CLAIMS[ctype.id]
    parking = shipped["bewohnerparkausweis"]
    assert {c.path for c in parking.claims} >= {("license_plate",), ("parking_zone",), ("valid_until",), ("address",)}


def test_vct_is_an_https_url_under_the_issuer(shipped: dict[str, Any]) -> None:
    assert shipped["meldebescheinigung"].vct(ISSUER) == f"{ISSUER}/vct/meldebescheinigung"
    document = {**shipped["meldebescheinigung"].document, "vct": "urn:example:type:1"}
    assert load_credential_type(document).vct(ISSUER) == "urn:example:type:1"


def test_issuer_metadata_configuration(shipped: dict[str, Any]) -> None:
    config = shipped["dienstausweis"].configuration(ISSUER, algorithms=["ES256"], proof_algorithms=["ES256"]).to_json()
    assert config["scope"] == "dienstausweis" and config["format"] == "dc+sd-jwt"
    assert config["credential_metadata"]["display"][0]["name"] == "Dienstausweis"
    assert {
        "path": ["role"],
        "mandatory": True,
        "display": [{"name": "Funktion", "locale": "de-DE"}, {"name": "Role", "locale": "en-US"}],
    } in config["credential_metadata"]["claims"]


def test_type_metadata(shipped: dict[str, Any]) -> None:
    doc = shipped["bewohnerparkausweis"].type_metadata(ISSUER).to_json()
    assert doc["vct"] == f"{ISSUER}/vct/bewohnerparkausweis"
    assert doc["display"][0]["rendering"]["simple"]["background_color"] == "#1F4E79"
    plate = next(c for c in doc["claims"] if c["path"] == ["license_plate"])
    assert plate["sd"] == "always" and plate["display"][0] == {"locale": "de-DE", "label": "Kennzeichen"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"family_name": None}, "missing_claim"),
        ({"nickname": "x"}, "unknown_claim"),
        ({"license_plate": 5}, "bad_claim_value"),
        ({"license_plate": "X" * 13}, "bad_claim_value"),
        ({"valid_until": "2027-02-30"}, "bad_claim_value"),
        ({"valid_until": "30.06.2027"}, "bad_claim_value"),
        ({"address": "HEIDESTRASSE 17"}, "bad_claim_value"),
        ({"address": {"street_address": "x", "postal_code": "1"}}, "missing_claim"),
        ({"address": {**SAMPLE_CLAIMS["bewohnerparkausweis"]["address"], "floor": "2"}}, "unknown_claim"),
        ({"iss": "https://evil.example"}, "unknown_claim"),
    ],
)
def test_claims_for_an_offer_must_fit_the_type(shipped: dict[str, Any], change: dict[str, Any], reason: str) -> None:
    claims = copy.deepcopy(SAMPLE_CLAIMS["bewohnerparkausweis"])
    for key, value in change.items():
        if value is None:
            del claims[key]
        else:
            claims[key] = value
    with pytest.raises(ClaimsRejected) as err:
        shipped["bewohnerparkausweis"].check_claims(claims)
    assert err.value.reason == reason


def test_optional_claims_may_be_left_out(shipped: dict[str, Any]) -> None:
    claims = copy.deepcopy(SAMPLE_CLAIMS["meldebescheinigung"])
    del claims["address"]["country"]
    assert shipped["meldebescheinigung"].check_claims(claims) == claims


def test_validity(shipped: dict[str, Any]) -> None:
    parking = shipped["bewohnerparkausweis"]
    now = 1_800_000_000
    assert parking.expiry({"valid_until": "2099-01-01"}, now) == now + 365 * 86400
    assert parking.expiry({"valid_until": "2027-01-31"}, now) == 1801439999
    assert shipped["dienstausweis"].expiry({}, now) == now + 1095 * 86400


def _minimal(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "fischereischein",
        "display": [{"locale": "de-DE", "name": "Fischereischein"}, {"locale": "en-US", "name": "Fishing licence"}],
        "claims": [{"path": ["family_name"], "mandatory": True}],
    }
    doc.update(over)
    return doc


def test_an_authority_can_add_a_type() -> None:
    ctype = load_credential_type(json.dumps(_minimal()))
    assert (
        ctype.id == "fischereischein" and ctype.validity_days == 365 and ctype.disclosable_paths == [("family_name",)]
    )


@pytest.mark.parametrize(
    "doc",
    [
        _minimal(id="Has Space"),
        _minimal(format="jwt_vc_json"),
        _minimal(display=[]),
        _minimal(display=[{"locale": "de-DE", "name": "a"}, {"locale": "de-DE", "name": "b"}]),
        _minimal(display=[{"locale": "de-DE", "name": "a", "background_color": "blue"}]),
        _minimal(claims=[]),
        _minimal(claims=[{"path": ["iss"]}]),
        _minimal(claims=[{"path": ["a", "b"]}]),
        _minimal(claims=[{"path": ["a"], "type": "string"}, {"path": ["a", "b"]}]),
        _minimal(claims=[{"path": ["a"]}, {"path": ["a"]}]),
        _minimal(claims=[{"path": ["a"], "sd": "sometimes"}]),
        _minimal(claims=[{"path": ["a"], "type": "float"}]),
        _minimal(claims=[{"path": ["a"], "max_length": 100000}]),
        _minimal(validity={"days": 0}),
        _minimal(validity={"days": 30, "until_claim": "family_name"}),
        _minimal(bearer_tokens_allowed="yes"),
        [],
        "not json",
    ],
)
def test_malformed_type_documents(doc: Any) -> None:
    with pytest.raises(CredentialTypeError):
        load_credential_type(doc)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_property_arbitrary_claims_are_accepted_or_rejected_cleanly(value: Any) -> None:
    ctype = shipped_credential_types()["bewohnerparkausweis"]
    with contextlib.suppress(ClaimsRejected):
        ctype.check_claims(value)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "display", "claims", "validity", "vct", "format"]), _json, max_size=6))
def test_property_arbitrary_type_documents_fail_cleanly(doc: dict[str, Any]) -> None:
    with contextlib.suppress(CredentialTypeError):
        load_credential_type(doc)
