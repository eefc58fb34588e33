"""Parsing what people paste or photograph: offer links (OpenID4VCI 1.0 §4.1.2/§4.1.3, HAIP 1.0 §4.1 ``haip://``),
transaction codes (§4.1.1), QR images — property tests: any input ends in an offer or one of our errors."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import pytest
import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.errors import SsiError, WalletError
from ssi.oid4vci import CredentialOffer, TxCode
from wallet_sim.oid4vci.client import check_tx_code, parse_offer_text
from wallet_sim.qr import decode_qr_image

OFFER = {
    "credential_issuer": "https://ausweise.koeln.example/issuers/koeln",
    "credential_configuration_ids": ["bewohnerparkausweis"],
    "grants": {
        "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
            "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
            "tx_code": {"length": 6},
        }
    },
}
VALUE = quote(json.dumps(OFFER), safe="")
URI = quote("https://ausweise.koeln.example/issuers/koeln/credential-offer/abc", safe="")


@pytest.mark.parametrize(
    "text",
    [
        f"openid-credential-offer://?credential_offer={VALUE}",
        f"haip://?credential_offer={VALUE}",  # HAIP 1.0 §4.1: "at least a custom URL scheme haip:// MUST be supported"
        f"https://wallet.example/offer?credential_offer={VALUE}",
        json.dumps(OFFER),
        f"  openid-credential-offer://?credential_offer={VALUE}\n",
    ],
)
def test_4_1_2_offer_by_value_forms(text: str) -> None:
    offer = parse_offer_text(text)
    assert isinstance(offer, CredentialOffer) and offer.credential_configuration_ids == ("bewohnerparkausweis",)


def test_4_1_3_offer_by_reference() -> None:
    assert parse_offer_text(f"openid-credential-offer://?credential_offer_uri={URI}") == (
        "https://ausweise.koeln.example/issuers/koeln/credential-offer/abc"
    )
    with pytest.raises(SsiError):  # §4.1.3: "a URL using the https scheme"
        parse_offer_text("openid-credential-offer://?credential_offer_uri=" + quote("http://example.org/o", safe=""))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "mailto:erika@example.org",
        "javascript:alert(1)",
        "ftp://x/?credential_offer_uri=x",
        f"openid-credential-offer://?credential_offer={VALUE}&credential_offer_uri={URI}",
        "{not json",
        "[]",
    ],
)
def test_not_offers(text: str) -> None:
    with pytest.raises(SsiError):
        parse_offer_text(text)


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_text_is_an_offer_or_our_error(text: str) -> None:
    """No input crashes the parser: it is an offer, an https offer URI, or an SsiError with a reason."""
    try:
        result = parse_offer_text(text)
    except SsiError as exc:
        assert exc.reason and exc.description
        return
    assert isinstance(result, CredentialOffer) or result.startswith("https://")


@given(
    st.dictionaries(
        st.sampled_from(["credential_issuer", "credential_configuration_ids", "grants", "x"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
            max_leaves=8,
        ),
    )
)
@settings(max_examples=300, deadline=None)
def test_any_offer_json_is_an_offer_or_our_error(obj: dict[str, object]) -> None:
    try:
        offer = parse_offer_text(json.dumps(obj))
    except SsiError as exc:
        assert exc.reason
        return
    assert isinstance(offer, CredentialOffer) and offer.credential_issuer.startswith("https://")


@given(st.binary(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_any_bytes_are_a_qr_text_or_our_error(data: bytes) -> None:
    for blob in (data, b"\x89PNG\r\n\x1a\n" + data, b"\xff\xd8\xff" + data):
        try:
            text = decode_qr_image(blob)
        except WalletError as exc:
            assert exc.reason in {"unsupported_image", "malformed_image", "no_qr_code", "image_too_large"}
            continue
        assert text  # pragma: no cover - random bytes practically never hold a QR code


def test_two_different_qr_codes_refused() -> None:
    from PIL import Image

    a, b = qrcode.make("openid-credential-offer://?a").get_image(), qrcode.make("haip://?b").get_image()
    canvas = Image.new("RGB", (a.size[0] + b.size[0] + 40, max(a.size[1], b.size[1])), "white")
    canvas.paste(a, (0, 0))
    canvas.paste(b, (a.size[0] + 40, 0))
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    with pytest.raises(WalletError) as info:
        decode_qr_image(out.getvalue())
    assert info.value.reason == "several_qr_codes"


@pytest.mark.parametrize(
    ("code", "spec", "ok"),
    [
        ("493536", TxCode(length=6), True),
        (" 493536 ", TxCode(length=6), True),
        ("49353", TxCode(length=6), False),  # "length ... of the Transaction Code"
        ("49353a", TxCode(), False),  # "The default is numeric"
        ("ab-12", TxCode(input_mode="text"), True),
        ("", TxCode(), False),
    ],
)
def test_4_1_1_tx_code_shape(code: str, spec: TxCode, ok: bool) -> None:
    if ok:
        assert check_tx_code(code, spec) == code.strip()
    else:
        with pytest.raises(WalletError):
            check_tx_code(code, spec)


@given(st.text(max_size=80), st.sampled_from([None, "numeric", "text"]), st.one_of(st.none(), st.integers(1, 12)))
def test_tx_code_property(code: str, mode: str | None, length: int | None) -> None:
    spec = TxCode(input_mode=mode, length=length)  # type: ignore[arg-type]
    try:
        accepted = check_tx_code(code, spec)
    except WalletError:
        return
    assert length is None or len(accepted) == length
    assert mode == "text" or accepted.isdigit()
