"""Credential Offer (OpenID4VCI 1.0 §4.1): object, links by value and by reference, parsing."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssi.errors import Oid4vciError
from ssi.oid4vci import (
    PRE_AUTHORIZED_CODE_GRANT,
    CredentialOffer,
    PreAuthorizedCodeGrant,
    TxCode,
    parse_credential_offer_link,
)

ISSUER = "https://credential-issuer.example.com"
# §4.1.1, the spec's example "credential_offer_pre-authz_code.json" (test data).
SPEC_EXAMPLE = {
    "credential_issuer": "https://credential-issuer.example.com",
    "credential_configuration_ids": ["UniversityDegreeCredential"],
    "grants": {
        "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
            "pre-authorized_code": "adhjhdjajkdkhjhdj",
            "tx_code": {"description": "Please provide the one-time code which was sent to your mobile phone via SMS"},
        }
    },
}


def _offer(tx: TxCode | None = None) -> CredentialOffer:
    return CredentialOffer(ISSUER, ("bewohnerparkausweis",), PreAuthorizedCodeGrant("code-123", tx))


def test_spec_example_round_trips() -> None:
    offer = CredentialOffer.from_json(SPEC_EXAMPLE)
    assert offer.pre_authorized_code is not None
    assert offer.pre_authorized_code.tx_code == TxCode(
        description="Please provide the one-time code which was sent to your mobile phone via SMS"
    )
    assert offer.to_json() == SPEC_EXAMPLE


def test_section_4_1_1_empty_tx_code_object_still_means_required() -> None:
    """§4.1.1 tx_code: "Object indicating that a Transaction Code is required if present, even if empty"."""
    offer = _offer(TxCode())
    doc = offer.to_json()
    assert doc["grants"][PRE_AUTHORIZED_CODE_GRANT]["tx_code"] == {}
    assert CredentialOffer.from_json(doc).pre_authorized_code.tx_code == TxCode()  # type: ignore[union-attr]


def test_section_4_1_1_no_tx_code_member_when_not_required() -> None:
    assert "tx_code" not in _offer().to_json()["grants"][PRE_AUTHORIZED_CODE_GRANT]


@pytest.mark.parametrize(
    "ids",
    [[], ["a", "a"], [1], [""]],
    ids=["empty", "duplicate", "not-string", "empty-string"],
)
def test_section_4_1_1_configuration_ids_non_empty_unique_strings(ids: list[object]) -> None:
    """§4.1.1: "credential_configuration_ids: REQUIRED. A non-empty array of unique strings"."""
    with pytest.raises(Oid4vciError):
        CredentialOffer.from_json({**SPEC_EXAMPLE, "credential_configuration_ids": ids})


@pytest.mark.parametrize(
    "issuer", ["http://issuer.example.com", "https://a.example/x?y=1", "https://a.example/#f", "ftp://a"]
)
def test_section_12_2_1_credential_issuer_is_https_without_query_or_fragment(issuer: str) -> None:
    with pytest.raises(Oid4vciError):
        CredentialOffer.from_json({**SPEC_EXAMPLE, "credential_issuer": issuer})


def test_http_loopback_only_with_the_development_setting() -> None:
    doc = {**SPEC_EXAMPLE, "credential_issuer": "http://127.0.0.1:8080/issuers/demo"}
    with pytest.raises(Oid4vciError):
        CredentialOffer.from_json(doc)
    assert CredentialOffer.from_json(doc, allow_http_loopback=True).credential_issuer == doc["credential_issuer"]
    with pytest.raises(Oid4vciError):
        CredentialOffer.from_json({**doc, "credential_issuer": "http://example.com"}, allow_http_loopback=True)


def test_section_4_1_1_pre_authorized_code_required_in_its_grant() -> None:
    grants = {PRE_AUTHORIZED_CODE_GRANT: {"tx_code": {}}}
    with pytest.raises(Oid4vciError):
        CredentialOffer.from_json({**SPEC_EXAMPLE, "grants": grants})


def test_section_4_1_1_tx_code_rules() -> None:
    """input_mode is numeric or text; description at most 300 characters."""
    with pytest.raises(Oid4vciError):
        TxCode(input_mode="alpha")  # type: ignore[arg-type]
    with pytest.raises(Oid4vciError):
        TxCode(description="x" * 301)
    with pytest.raises(Oid4vciError):
        TxCode(length=0)
    assert TxCode(input_mode="numeric", length=6, description="x" * 300).to_json()["length"] == 6


def test_section_4_1_1_unrecognised_parameters_ignored() -> None:
    """ "The Wallet MUST ignore any unrecognized parameters." Other grants are kept as they are."""
    doc = {
        **SPEC_EXAMPLE,
        "extra": 1,
        "grants": {**SPEC_EXAMPLE["grants"], "authorization_code": {"issuer_state": "s"}},
    }
    offer = CredentialOffer.from_json(doc)
    assert offer.other_grants == {"authorization_code": {"issuer_state": "s"}}


def test_section_4_1_2_link_by_value() -> None:
    offer = _offer(TxCode(input_mode="numeric", length=6))
    link = offer.link_by_value()
    assert link.startswith("openid-credential-offer://?credential_offer=")
    query = parse_qs(urlsplit(link).query)
    assert json.loads(query["credential_offer"][0]) == offer.to_json()
    assert parse_credential_offer_link(link) == offer


def test_section_4_1_3_link_by_reference() -> None:
    uri = f"{ISSUER}/credential-offer/GkurKxf5T0Y"
    link = CredentialOffer.link_by_reference(uri)
    assert (
        link
        == "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fcredential-issuer.example.com%2Fcredential-offer%2FGkurKxf5T0Y"
    )
    assert parse_credential_offer_link(link) == uri


def test_section_4_1_3_reference_must_be_https() -> None:
    with pytest.raises(Oid4vciError):
        parse_credential_offer_link(CredentialOffer.link_by_reference("http://evil.example/offer"))


@pytest.mark.parametrize(
    "link",
    [
        "openid-credential-offer://?",
        "openid-credential-offer://?credential_offer=%7B%7D&credential_offer_uri=https%3A%2F%2Fa",
        "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fa&credential_offer_uri=https%3A%2F%2Fb",
        "openid-credential-offer://?credential_offer=not-json",
        "openid-credential-offer://?credential_offer=%5B%5D",
    ],
)
def test_section_4_1_exactly_one_offer_parameter(link: str) -> None:
    """§4.1: "either credential_offer or credential_offer_uri"; each "MUST NOT be present when the [other] is"."""
    with pytest.raises(Oid4vciError):
        parse_credential_offer_link(link)


def test_haip_scheme_links_parse_too() -> None:
    offer = _offer()
    assert parse_credential_offer_link(offer.link_by_value("haip://")) == offer


_code = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60)


@given(
    code=_code,
    ids=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=4, unique=True),
    length=st.none() | st.integers(1, 12),
    description=st.none() | st.text(max_size=40),
)
def test_property_link_by_value_round_trips(
    code: str, ids: list[str], length: int | None, description: str | None
) -> None:
    offer = CredentialOffer(
        ISSUER,
        tuple(ids),
        PreAuthorizedCodeGrant(code, TxCode(input_mode="numeric", length=length, description=description)),
    )
    assert parse_credential_offer_link(offer.link_by_value()) == offer


@given(st.text(max_size=300))
def test_property_arbitrary_links_raise_only_oid4vci_errors(link: str) -> None:
    with contextlib.suppress(Oid4vciError):
        parse_credential_offer_link(link)
