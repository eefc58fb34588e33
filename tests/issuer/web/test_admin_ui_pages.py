"""The admin web UI's pages over ASGI (issue 7 "Authorities' admin UI"): create an offer from the form generated
from the credential type (QR on screen, transaction code, printable view), list offers and issued credentials
(metadata only — never a claim value), revoke/suspend/unsuspend one credential or every credential of a subject,
approve or reject deferred requests, view and upload credential types, create (shown once) and revoke API keys,
manage staff accounts; German and English; accessible forms (labels, errors linked and announced)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from admin_ui_support import ADMIN_USER, CLERK, Browser, add_staff, browser, issue_credential, ui_app
from fastapi import FastAPI
from issuer_support import SAMPLE_CLAIMS
from protocol_support import InProcessWallet

from issuer import Issuer
from issuer.offers import qr_svg
from ssi.keys import SoftwareSigner
from ssi.oid4vci import DeferredResponse

PERMIT = {
    "claims.family_name": "MUSTERMANN",
    "claims.given_name": "ERIKA",
    "claims.address.street_address": "HEIDESTRASSE 17",
    "claims.address.postal_code": "51147",
    "claims.address.locality": "KÖLN",
    "claims.license_plate": "K-EM 1964",
    "claims.parking_zone": "K3",
    "claims.valid_until": "2099-06-30",
}


@pytest.fixture
def app(issuer: Issuer, tmp_path: Path) -> FastAPI:
    app = ui_app(issuer, tmp_path)
    add_staff(app, issuer)
    return app


@pytest.fixture
def clerk(app: FastAPI) -> Browser:
    b = browser(app)
    b.login(CLERK)
    return b


@pytest.fixture
def admin(app: FastAPI) -> Browser:
    b = browser(app)
    b.login(ADMIN_USER)
    return b


def tenant(issuer: Issuer) -> Any:
    return issuer.context.tenant("demo")


def audit_actions(issuer: Issuer) -> list[tuple[str, str]]:
    return [(e["actor"], e["action"]) for e in issuer.admin.audit_entries(tenant(issuer), limit=1000)]


# -- offers -----------------------------------------------------------------------------------------------------------


def test_offer_form_is_generated_from_the_type(clerk: Browser) -> None:
    page = clerk.get("/offers/new?type=bewohnerparkausweis").text
    for name in PERMIT:
        field_id = "f-" + name.replace(".", "-")
        assert f'name="{name}"' in page and f'<label for="{field_id}">' in page, name
    assert "<legend>Anschrift" in page  # the object claim groups its members
    assert 'type="date" id="f-claims-valid_until"' in page
    assert 'maxlength="12"' in page  # license_plate's max_length from the type
    assert 'id="tx_code" name="tx_code" checked' in page


def test_create_parking_permit_offer_shows_qr_and_tx_code(clerk: Browser, issuer: Issuer) -> None:
    response = clerk.post("/offers", {"type": "bewohnerparkausweis", "tx_code": "on", **PERMIT}, page="/offers/new")
    assert response.status_code == 201, response.text
    page = response.text
    image = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', page)
    assert image is not None and "QR-Code" in image.group(2)
    offers = issuer.admin.offers(tenant(issuer))
    assert len(offers) == 1 and offers[0]["tx_code_required"]
    link = "openid-credential-offer://?credential_offer_uri="
    svg = base64.b64decode(image.group(1)).decode()
    offer_id = offers[0]["offer_id"]
    from ssi.oid4vci import CredentialOffer

    expected_link = CredentialOffer.link_by_reference(tenant(issuer).offer_uri(offer_id))
    assert expected_link.startswith(link) and svg == qr_svg(expected_link)
    assert expected_link.replace("&", "&amp;") in page or expected_link in page
    code = re.search(r'<p class="code" id="tx-code"><span class="visually-hidden">[^<]*</span>([0-9 ]+)</p>', page)
    assert code is not None and len(code.group(1).replace(" ", "")) == 6
    # The wallet can redeem the offer with the code shown.
    document = issuer.offers.document(tenant(issuer), offer_id)
    assert document["credential_configuration_ids"] == ["bewohnerparkausweis"]
    assert ("user:erika.clerk", "offer.create") in audit_actions(issuer)


def test_offer_without_tx_code(clerk: Browser, issuer: Issuer) -> None:
    response = clerk.post("/offers", {"type": "bewohnerparkausweis", **PERMIT}, page="/offers/new")
    assert response.status_code == 201
    assert 'id="tx-code"' not in response.text
    assert not issuer.admin.offers(tenant(issuer))[0]["tx_code_required"]


def test_offer_form_errors_are_named_and_linked(clerk: Browser, issuer: Issuer) -> None:
    """WCAG 2.1 SC 3.3.1/3.3.3: each error names its field, is linked from the summary and by aria-describedby;
    what was typed stays."""
    data = {**PERMIT, "claims.license_plate": "", "claims.valid_until": "30.06.2099"}
    response = clerk.post("/offers", {"type": "bewohnerparkausweis", **data}, page="/offers/new")
    assert response.status_code == 400
    page = response.text
    assert (
        'role="alert"' in page and 'href="#f-claims-license_plate"' in page and 'href="#f-claims-valid_until"' in page
    )
    plate = re.search(r'<input type="text" id="f-claims-license_plate"[^>]*>', page)
    assert plate is not None and 'aria-invalid="true"' in plate.group(0)
    assert 'aria-describedby="f-claims-license_plate-error"' in plate.group(0)
    assert 'id="f-claims-license_plate-error"' in page and "Bitte füllen Sie dieses Feld aus." in page
    assert "Format JJJJ-MM-TT" in page
    assert 'value="MUSTERMANN"' in page and 'value="30.06.2099"' in page
    assert issuer.admin.offers(tenant(issuer)) == []


def test_offer_refused_by_the_type_shows_the_reason(clerk: Browser, issuer: Issuer) -> None:
    data = {**PERMIT, "claims.license_plate": "K-EM 19641964"}  # longer than max_length 12
    response = clerk.post("/offers", {"type": "bewohnerparkausweis", **data}, page="/offers/new")
    assert response.status_code == 400 and "Die Eingabe ist zu lang." in response.text
    unknown = clerk.post("/offers", {"type": "nosuchtype", **PERMIT}, page="/offers/new")
    assert unknown.status_code == 400 and "Bitte wählen Sie eine Nachweisart." in unknown.text


def test_offer_list_detail_and_print(clerk: Browser, issuer: Issuer) -> None:
    clerk.post("/offers", {"type": "bewohnerparkausweis", "tx_code": "on", **PERMIT}, page="/offers/new")
    offer_id = issuer.admin.offers(tenant(issuer))[0]["offer_id"]
    listing = clerk.get("/offers").text
    assert f"/admin/demo/offers/{offer_id}" in listing and "Bewohnerparkausweis" in listing and "offen" in listing
    assert "MUSTERMANN" not in listing
    detail = clerk.get(f"/offers/{offer_id}").text
    assert "data:image/svg+xml;base64," in detail and "MUSTERMANN" not in detail
    printable = clerk.get(f"/offers/{offer_id}/print")
    assert printable.status_code == 200
    assert "data:image/svg+xml;base64," in printable.text and "Transaktionscode ein" in printable.text
    assert 'id="tx-code"' not in printable.text  # the code is never printed with the QR code
    assert clerk.get("/offers/nosuchoffer").status_code == 404
    assert clerk.get("/offers?state=offered&type=bewohnerparkausweis").status_code == 200
    assert "Keine Angebote" in clerk.get("/offers?state=delivered").text


def test_delivered_offer_has_no_qr(clerk: Browser, issuer: Issuer, wallet: InProcessWallet) -> None:
    credential_id = issue_credential(wallet)
    record = issuer.admin.credential(tenant(issuer), credential_id)
    detail = clerk.get(f"/offers/{record.offer_id}").text
    assert "data:image/svg" not in detail and "zugestellt" in detail and credential_id in detail
    assert clerk.get(f"/offers/{record.offer_id}/print").status_code == 409


def test_english(clerk: Browser) -> None:
    page = clerk.get("/offers/new?type=bewohnerparkausweis&lang=en").text
    assert '<html lang="en">' in page and "New offer" in page and "Licence plate" in page
    assert '<a href="?lang=de" lang="de" hreflang="de">Deutsch</a>' in page
    assert "New offer" in clerk.get("/offers").text  # the choice stays with the session


def test_english_from_accept_language(app: FastAPI) -> None:
    b = browser(app)
    page = b.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"}).text
    assert '<html lang="en">' in page and "Log in" in page


# -- credentials and status ---------------------------------------------------------------------------------------


def test_credentials_list_shows_metadata_only(clerk: Browser, wallet: InProcessWallet) -> None:
    credential_id = issue_credential(wallet)
    record = wallet.issuer.admin.credential(wallet.tenant, credential_id)
    page = clerk.get("/credentials").text
    assert f"/admin/demo/credentials/{credential_id}" in page and record.holder_jkt[:12] in page
    assert "gültig" in page and "Bewohnerparkausweis" in page
    for value in ("MUSTERMANN", "ERIKA", "K-EM 1964", "HEIDESTRASSE"):
        assert value not in page
    detail = clerk.get(f"/credentials/{credential_id}").text
    assert record.holder_jkt in detail and record.status_list_uri in detail
    assert "MUSTERMANN" not in detail
    assert clerk.get("/credentials/cnosuchcredential").status_code == 404
    assert "Keine Nachweise" in clerk.get("/credentials?status=revoked").text


def test_suspend_unsuspend_revoke(clerk: Browser, wallet: InProcessWallet) -> None:
    issuer = wallet.issuer
    credential_id = issue_credential(wallet)
    path = f"/credentials/{credential_id}/status"
    page = f"/credentials/{credential_id}"
    response = clerk.post(path, {"action": "suspend"}, page=page)
    assert response.status_code == 303 and response.headers["location"] == f"/admin/demo{page}"
    assert issuer.admin.credential(tenant(issuer), credential_id).status == "suspended"
    shown = clerk.get(page).text
    assert 'role="status"' in shown and "vorläufig gesperrt" in shown
    clerk.post(path, {"action": "unsuspend"}, page=page)
    assert issuer.admin.credential(tenant(issuer), credential_id).status == "valid"
    # Revocation is final and needs the confirmation.
    clerk.post(path, {"action": "revoke"}, page=page)
    assert issuer.admin.credential(tenant(issuer), credential_id).status == "valid"
    assert "bestätigen" in clerk.get(page).text
    clerk.post(path, {"action": "revoke", "confirm": "yes"}, page=page)
    assert issuer.admin.credential(tenant(issuer), credential_id).status == "revoked"
    after = clerk.get(page).text
    assert "widerrufen" in after and 'value="unsuspend"' not in after and 'value="suspend"' not in after
    clerk.post(path, {"action": "unsuspend"}, page=page)
    assert issuer.admin.credential(tenant(issuer), credential_id).status == "revoked"
    assert 'role="alert"' in clerk.get(page).text
    actions = audit_actions(issuer)
    for action in ("credential.suspend", "credential.unsuspend", "credential.revoke"):
        assert ("user:erika.clerk", action) in actions


def test_revoke_every_credential_of_a_licence_plate(clerk: Browser, wallet: InProcessWallet) -> None:
    first = issue_credential(wallet)
    second = issue_credential(wallet)
    other = issue_credential(wallet, license_plate="K-XY 1")
    page = clerk.get("/credentials").text
    assert '<option value="license_plate">Kennzeichen</option>' in page
    data = {"kind": "license_plate", "value": "K-EM 1964", "action": "revoke", "confirm": "yes"}
    response = clerk.post("/subjects/status", data, page="/credentials")
    assert response.status_code == 303
    issuer = wallet.issuer
    statuses = {c: issuer.admin.credential(tenant(issuer), c).status for c in (first, second, other)}
    assert statuses == {first: "revoked", second: "revoked", other: "valid"}
    assert "Geändert: 2 Nachweis(e)." in clerk.get("/credentials").text


# -- deferred issuance ----------------------------------------------------------------------------------------------


def needs_approval(issuer: Issuer) -> None:
    document = json.loads(json.dumps(dict(tenant(issuer).types["bewohnerparkausweis"].document)))
    document["requires_approval"] = True
    issuer.admin.put_type(tenant(issuer), document, actor="test:setup")


def deferred_request(wallet: InProcessWallet) -> str:
    offer = wallet.offer("bewohnerparkausweis")
    token = wallet.token(offer, offer.tx_code)
    answer = wallet.credential(token, wallet.request_body([SoftwareSigner.generate("ES256")]))
    assert isinstance(answer, DeferredResponse)
    return offer.offer_id


@pytest.mark.parametrize(("decision", "state"), [("approve", "approved"), ("reject", "rejected")])
def test_deferred_requests(clerk: Browser, wallet: InProcessWallet, decision: str, state: str) -> None:
    issuer = wallet.issuer
    needs_approval(issuer)
    offer_id = deferred_request(wallet)
    page = clerk.get("/deferred").text
    assert f'action="/admin/demo/deferred/{offer_id}"' in page and "Wartende Anträge (1)" in page
    assert "MUSTERMANN" not in page
    response = clerk.post(f"/deferred/{offer_id}", {"decision": decision}, page="/deferred")
    assert response.status_code == 303
    requests = issuer.admin.deferred_requests(tenant(issuer), state=None)
    assert [(r.offer_id, r.state, r.decided_by) for r in requests] == [(offer_id, state, "user:erika.clerk")]
    after = clerk.get("/deferred").text
    assert "Keine Anträge warten" in after and "Entschiedene Anträge" in after
    again = clerk.post(f"/deferred/{offer_id}", {"decision": decision}, page="/deferred")
    assert again.status_code == 303 and 'role="alert"' in clerk.get("/deferred").text
    assert "die auf eine Entscheidung warten: 0" in clerk.get("/").text


def test_offer_form_tells_when_approval_is_needed(clerk: Browser, issuer: Issuer) -> None:
    needs_approval(issuer)
    issuer.context.forget_tenant("demo")
    assert "muss jede Ausstellung freigegeben werden" in clerk.get("/offers/new?type=bewohnerparkausweis").text


# -- credential types -----------------------------------------------------------------------------------------------


def new_type(type_id: str = "angelschein") -> dict[str, Any]:
    return {
        "id": type_id,
        "display": [{"locale": "de-DE", "name": "Angelschein"}, {"locale": "en-US", "name": "Fishing licence"}],
        "claims": [
            {"path": ["family_name"], "mandatory": True,
             "display": [{"locale": "de-DE", "label": "Familienname"}, {"locale": "en-US", "label": "Family name"}]},
            {"path": ["waters"], "type": "integer", "display": [{"locale": "de-DE", "label": "Gewässer"}]},
            {"path": ["sea"], "type": "boolean", "display": [{"locale": "de-DE", "label": "Küste"}]},
        ],
    }  # fmt: skip


def test_types_are_listed_and_shown(clerk: Browser) -> None:
    page = clerk.get("/types").text
    for type_id in SAMPLE_CLAIMS:
        assert f"/admin/demo/types/{type_id}" in page
    detail = clerk.get("/types/bewohnerparkausweis").text
    assert (
        "address.postal_code" in detail and "https://issuer.example.de/issuers/demo/vct/bewohnerparkausweis" in detail
    )
    assert "&#34;id&#34;: &#34;bewohnerparkausweis&#34;" in detail  # the JSON document, escaped
    assert clerk.get("/types/nosuchtype").status_code == 404


def test_admin_uploads_a_type_and_offers_it(admin: Browser, issuer: Issuer) -> None:
    response = admin.post("/types", {"document": json.dumps(new_type())}, page="/types")
    assert response.status_code == 303 and response.headers["location"] == "/admin/demo/types/angelschein"
    assert "angelschein" in issuer.admin.credential_types(tenant(issuer))
    assert ("user:max.admin", "credential_type.put") in audit_actions(issuer)
    form = admin.get("/offers/new?type=angelschein").text
    assert 'type="number" id="f-claims-waters"' in form and '<select id="f-claims-sea"' in form
    bad = {
        "type": "angelschein",
        "claims.family_name": "MUSTERMANN",
        "claims.waters": "drei",
        "claims.sea": "vielleicht",
    }
    refused = admin.post("/offers", bad, page="/offers/new")
    assert refused.status_code == 400
    assert "Bitte geben Sie eine ganze Zahl ein." in refused.text and "Bitte wählen Sie Ja oder Nein." in refused.text
    good = {"type": "angelschein", "claims.family_name": "MUSTERMANN", "claims.waters": "3", "claims.sea": "false"}
    assert admin.post("/offers", good, page="/offers/new").status_code == 201


def test_type_upload_as_file(admin: Browser, issuer: Issuer) -> None:
    from admin_ui_support import csrf_of

    csrf = csrf_of(admin.get("/types").text)
    files = {"file": ("angelschein.json", json.dumps(new_type("angelschein2")).encode(), "application/json")}
    response = admin.client.post(
        "/admin/demo/types",
        data={"csrf": csrf},
        files=files,
        headers={"Origin": "https://issuer.example.de"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "angelschein2" in issuer.admin.credential_types(tenant(issuer))


@pytest.mark.parametrize(
    "document",
    ["", "{not json", json.dumps({"id": "Bad Id"}), json.dumps({**new_type(), "claims": []})],
)
def test_bad_type_documents_are_refused(admin: Browser, document: str) -> None:
    response = admin.post("/types", {"document": document}, page="/types")
    assert response.status_code == 400
    assert 'role="alert"' in response.text and 'aria-invalid="true"' in response.text


# -- API keys and users ---------------------------------------------------------------------------------------------


def test_api_key_shown_once_then_works_then_revoked(admin: Browser, issuer: Issuer) -> None:
    response = admin.post("/api-keys", {"label": "Fachverfahren Parken"}, page="/api-keys")
    assert response.status_code == 201
    key = re.search(r'id="new-key" readonly value="([^"]+)"', response.text)
    assert key is not None and key.group(1).startswith("gsk_")
    bearer = {"Authorization": f"Bearer {key.group(1)}"}
    assert admin.client.get("/issuers/demo/admin/offers", headers=bearer).status_code == 200
    listing = admin.get("/api-keys").text
    assert "Fachverfahren Parken" in listing and key.group(1) not in listing  # never shown again
    key_id = key.group(1).split("_")[1]
    assert admin.post(f"/api-keys/{key_id}/revoke", {}, page="/api-keys").status_code == 303
    assert admin.client.get("/issuers/demo/admin/offers", headers=bearer).status_code == 401
    assert "widerrufen am" in admin.get("/api-keys").text
    actions = audit_actions(issuer)
    assert ("user:max.admin", "api_key.create") in actions and ("user:max.admin", "api_key.revoke") in actions


def test_api_key_label_required(admin: Browser) -> None:
    response = admin.post("/api-keys", {"label": ""}, page="/api-keys")
    assert response.status_code == 400 and 'aria-invalid="true"' in response.text


def test_admin_manages_users(admin: Browser, app: FastAPI) -> None:
    weak = admin.post("/users", {"username": "neu", "password": "kurz", "role": "clerk"}, page="/users")
    assert weak.status_code == 400 and 'href="#new-password"' in weak.text
    created = admin.post("/users", {"username": "neu", "password": "Ein-gutes-Passwort-7", "role": "clerk"},
                         page="/users")  # fmt: skip
    assert created.status_code == 303
    newcomer = browser(app)
    newcomer.login(("neu", "Ein-gutes-Passwort-7"))
    assert newcomer.get("/offers").status_code == 200
    taken = admin.post("/users", {"username": "neu", "password": "Ein-gutes-Passwort-7", "role": "admin"},
                       page="/users")  # fmt: skip
    assert taken.status_code == 400 and "gibt es bei dieser Behörde schon" in taken.text
    assert admin.post("/users/neu/disable", {}, page="/users").status_code == 303
    assert newcomer.get("/offers").status_code == 303
    admin.post(f"/users/{ADMIN_USER[0]}/disable", {}, page="/users")
    assert "eigenes Konto" in admin.get("/users").text


def test_overview(clerk: Browser, issuer: Issuer) -> None:
    assert ("user:erika.clerk", "staff.login") in audit_actions(issuer)
    page = clerk.get("/").text
    assert "<h1>Übersicht</h1>" in page and "Demo-Behörde" in page
    assert clerk.client.get("/admin/demo", follow_redirects=False).headers["location"] == "/admin/demo/"
