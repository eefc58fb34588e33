"""Metadata documents: OpenID4VCI 1.0 §12.2 / §12.3, RFC 8414, SD-JWT VC §5 and §6."""

from __future__ import annotations

import pytest

from ssi.errors import Oid4vciError
from ssi.oid4vci import (
    AuthorizationServerMetadata,
    ClaimDescription,
    CredentialConfiguration,
    CredentialIssuerMetadata,
    Display,
    JwtVcIssuerMetadata,
    TypeMetadata,
    check_credential_issuer_identifier,
    error_description,
    well_known_url,
)

ISSUER = "https://issuer.example.com/issuers/koeln"
DISPLAY = (Display("de-DE", "Bewohnerparkausweis"), Display("en-US", "Residential parking permit"))
CLAIMS = (
    ClaimDescription(("family_name",), mandatory=True, sd="always", display=(Display("de-DE", "Familienname"),)),
    ClaimDescription(("address", "locality"), sd="always"),
)


def _config() -> CredentialConfiguration:
    return CredentialConfiguration(
        vct=f"{ISSUER}/vct/bewohnerparkausweis", scope="bewohnerparkausweis", display=DISPLAY, claims=CLAIMS
    )


def test_section_12_2_2_well_known_insertion() -> None:
    """§12.2.2: "https://issuer.example.com/tenant would be retrieved from
    https://issuer.example.com/.well-known/openid-credential-issuer/tenant"."""
    assert well_known_url("https://issuer.example.com/tenant", "openid-credential-issuer") == (
        "https://issuer.example.com/.well-known/openid-credential-issuer/tenant"
    )
    assert well_known_url("https://tenant.issuer.example.com", "openid-credential-issuer") == (
        "https://tenant.issuer.example.com/.well-known/openid-credential-issuer"
    )
    # SD-JWT VC §5.1: "any terminating / MUST be removed before inserting /.well-known/".
    assert well_known_url("https://example.com/tenant/1234/", "jwt-vc-issuer") == (
        "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"
    )


@pytest.mark.parametrize(
    "value",
    ["http://issuer.example.com", "https://issuer.example.com/?q", "https://issuer.example.com/", "https://u@h", ""],
)
def test_section_12_2_1_identifier_rules(value: str) -> None:
    with pytest.raises(Oid4vciError):
        check_credential_issuer_identifier(value)


def test_appendix_a3_configuration_for_dc_sd_jwt() -> None:
    """A.3.2: vct REQUIRED; HAIP: scope for every configuration; binding by jwk with jwt proofs."""
    doc = _config().to_json()
    assert doc["format"] == "dc+sd-jwt"
    assert doc["vct"] == f"{ISSUER}/vct/bewohnerparkausweis"
    assert doc["scope"] == "bewohnerparkausweis"
    assert doc["cryptographic_binding_methods_supported"] == ["jwk"]
    assert doc["proof_types_supported"] == {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}
    assert doc["credential_metadata"]["display"][0] == {"locale": "de-DE", "name": "Bewohnerparkausweis"}
    assert doc["credential_metadata"]["claims"][0] == {
        "path": ["family_name"],
        "mandatory": True,
        "display": [{"name": "Familienname", "locale": "de-DE"}],
    }


def test_section_12_2_4_issuer_metadata_round_trip() -> None:
    metadata = CredentialIssuerMetadata(
        credential_issuer=ISSUER,
        credential_endpoint=f"{ISSUER}/credential",
        nonce_endpoint=f"{ISSUER}/nonce",
        credential_configurations_supported={"bewohnerparkausweis": _config()},
        batch_size=10,
        display=DISPLAY,
        extensions={"did": "did:ethr:0x539:0xabc"},
    )
    doc = metadata.to_json()
    assert doc["batch_credential_issuance"] == {"batch_size": 10}
    assert doc["did"] == "did:ethr:0x539:0xabc"
    parsed = CredentialIssuerMetadata.from_json(doc, expected_issuer=ISSUER)
    assert parsed.extensions["did"] == "did:ethr:0x539:0xabc"
    assert parsed.authorization_server == ISSUER
    assert parsed.to_json() == doc


def test_section_12_2_4_credential_issuer_must_be_identical() -> None:
    """ "If these values are not identical ... the data contained in the response MUST NOT be used"."""
    doc = CredentialIssuerMetadata(ISSUER, f"{ISSUER}/credential", {"a": _config()}).to_json()
    with pytest.raises(Oid4vciError) as err:
        CredentialIssuerMetadata.from_json(doc, expected_issuer=ISSUER + "/")
    assert err.value.reason == "issuer_mismatch"


def test_section_12_2_4_batch_size_at_least_two() -> None:
    with pytest.raises(Oid4vciError):
        CredentialIssuerMetadata(ISSUER, f"{ISSUER}/credential", {}, batch_size=1).to_json()


def test_rfc8414_and_section_12_3() -> None:
    doc = AuthorizationServerMetadata(ISSUER, f"{ISSUER}/token").to_json()
    assert doc["issuer"] == ISSUER
    assert doc["grant_types_supported"] == ["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    assert doc["pre-authorized_grant_anonymous_access_supported"] is True
    assert doc["dpop_signing_alg_values_supported"] == ["ES256"]
    assert "response_types_supported" not in doc  # §12.2.4: MAY be omitted for pre-authorized only


def test_sd_jwt_vc_5_jwt_vc_issuer_metadata() -> None:
    doc = JwtVcIssuerMetadata(ISSUER, [{"kty": "EC", "x5c": ["MII"]}]).to_json()
    assert doc == {"issuer": ISSUER, "jwks": {"keys": [{"kty": "EC", "x5c": ["MII"]}]}}


def test_sd_jwt_vc_6_type_metadata() -> None:
    doc = TypeMetadata(
        vct=f"{ISSUER}/vct/x", name="X", display=(Display("de-DE", "X", background_color="#003366"),), claims=CLAIMS
    ).to_json()
    assert doc["display"] == [
        {"locale": "de-DE", "name": "X", "rendering": {"simple": {"background_color": "#003366"}}}
    ]
    assert doc["claims"][0] == {
        "path": ["family_name"],
        "display": [{"locale": "de-DE", "label": "Familienname"}],
        "mandatory": True,
        "sd": "always",
    }


def test_claim_description_rules() -> None:
    with pytest.raises(Oid4vciError):
        ClaimDescription(())
    with pytest.raises(Oid4vciError):
        ClaimDescription(("a", -1))
    with pytest.raises(Oid4vciError):
        ClaimDescription(("a",), sd="sometimes")


def test_section_8_3_1_2_error_description_charset() -> None:
    """error_description "MUST NOT include characters outside the set %x20-21 / %x23-5B / %x5D-7E"."""
    assert error_description('Straße "x" \\ y\n') == "Stra?e ?x? ? y?"
