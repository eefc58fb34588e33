"""Offers (OpenID4VCI 1.0 §4.1): links by value and by reference, the QR code, transaction codes, the offer
document behind credential_offer_uri, claim checks, and what the database keeps."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw
from protocol_support import InProcessWallet

from issuer import Issuer
from issuer import tables as t
from issuer.context import NotFound
from issuer.credential_type import ClaimsRejected
from issuer.offers import qr_svg
from ssi.clock import FrozenClock
from ssi.oid4vci import CredentialOffer, parse_credential_offer_link


def _decode_svg_qr(svg: str) -> str:
    """Render the qrcode package's path SVG (one unit square per dark module) and decode it with zxing-cpp."""
    zxingcpp = pytest.importorskip("zxingcpp")
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))  # type: ignore[union-attr]
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y in re.findall(r"M(\d+),(\d+)H", svg):
        draw.rectangle([int(x) * scale, int(y) * scale, (int(x) + 1) * scale - 1, (int(y) + 1) * scale - 1], fill=0)
    results = zxingcpp.read_barcodes(image)
    assert results, "no QR code found"
    text: str = results[0].text
    return text


def test_qr_code_encodes_the_link() -> None:
    link = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example.de%2Fo%2Fabc"
    svg = qr_svg(link)
    assert svg.startswith("<svg") and "<script" not in svg
    assert _decode_svg_qr(svg) == link


def test_offer_links_and_document(wallet: InProcessWallet, issuer: Issuer) -> None:
    offer = wallet.offer()
    tenant = wallet.tenant
    document = offer.to_json()
    # §4.1.3: a unique credential_offer_uri per offer; the wallet GETs the offer object there.
    assert document["credential_offer_uri"] == f"{tenant.credential_issuer}/credential-offer/{offer.offer_id}"
    assert parse_credential_offer_link(document["offer_uri"]) == document["credential_offer_uri"]
    assert document["offer_uri_haip"].startswith("haip://?credential_offer_uri=")
    assert parse_credential_offer_link(document["offer_uri_haip"]) == document["credential_offer_uri"]
    by_value = parse_credential_offer_link(document["offer_uri_by_value"])
    assert isinstance(by_value, CredentialOffer) and by_value == offer.credential_offer
    assert issuer.offers.document(tenant, offer.offer_id) == offer.credential_offer.to_json()
    assert _decode_svg_qr(document["qr_svg"]) == document["offer_uri"]
    query = parse_qs(urlsplit(document["offer_uri_by_value"]).query)
    grant = json.loads(query["credential_offer"][0])["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    assert grant["tx_code"]["input_mode"] == "numeric" and len(grant["tx_code"]["description"]) <= 300


def test_offer_document_gone_after_redemption(wallet: InProcessWallet, issuer: Issuer) -> None:
    offer = wallet.offer()
    wallet.token(offer, offer.tx_code)
    with pytest.raises(NotFound):
        issuer.offers.document(wallet.tenant, offer.offer_id)


def test_offer_document_gone_after_expiry(wallet: InProcessWallet, issuer: Issuer, clock: FrozenClock) -> None:
    offer = wallet.offer()
    clock.advance(24 * 3600 + 1)
    with pytest.raises(NotFound):
        issuer.offers.document(wallet.tenant, offer.offer_id)
    assert issuer.offers.status(wallet.tenant, offer.offer_id)["state"] == "expired"


def test_codes_are_unguessable_and_stored_hashed(wallet: InProcessWallet, issuer: Issuer) -> None:
    offers = [wallet.offer() for _ in range(5)]
    codes = {o.credential_offer.pre_authorized_code.pre_authorized_code for o in offers}  # type: ignore[union-attr]
    assert len(codes) == 5 and all(len(c) >= 43 for c in codes)
    with issuer.context.storage.engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT key FROM ephemeral_state")).scalars().all()
        offers_table = conn.execute(sa.select(t.offer)).mappings().all()
    assert not codes & set(keys)
    dumped = json.dumps([dict(r) for r in offers_table])
    assert not any(c in dumped for c in codes)
    assert not any(o.tx_code in dumped for o in offers if o.tx_code)


def test_claims_are_checked_before_an_offer_exists(wallet: InProcessWallet, issuer: Issuer) -> None:
    with pytest.raises(ClaimsRejected):
        issuer.offers.create(wallet.tenant, "bewohnerparkausweis", {"family_name": "X"})
    with pytest.raises(NotFound):
        issuer.offers.create(wallet.tenant, "unknown-type", {})
    with issuer.context.storage.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.offer)).scalar_one() == 0


def test_an_offer_that_would_be_expired_is_refused(wallet: InProcessWallet) -> None:
    with pytest.raises(Exception, match="expired"):
        wallet.offer(valid_until="2020-01-01")


def test_offer_status_for_the_clerk(wallet: InProcessWallet, issuer: Issuer) -> None:
    offer = wallet.offer()
    status = issuer.offers.status(wallet.tenant, offer.offer_id)
    assert status["state"] == "offered" and status["claims_stored"] is True and "claims" not in status
    with pytest.raises(NotFound):
        issuer.offers.status(wallet.tenant, "unknown")
