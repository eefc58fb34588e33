"""Portal client configuration (verifier/oidc/clients.py): checked on load — RFC 6749 §3.1.2 redirect URIs, OpenID
Connect Core §9 client authentication material, §8.1 sector identifiers, scopes as DCQL — and the login query built
from several scopes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ssi.keys import PrivateKey
from verifier.oidc import BUILTIN_SCOPES, OidcConfigurationError, PortalRegistry, load_portal_registry, login_query

SECRET = "c" * 40


def client(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "client_id": "portal",
        "redirect_uris": ["https://portal.example/cb"],
        "client_secret": SECRET,
        "scopes": ["pid_basic"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (client(redirect_uris=["http://portal.example/cb"]), "https"),
        (client(redirect_uris=["https://portal.example/cb#frag"]), "fragment"),
        (client(redirect_uris=["/cb"]), "absolute"),
        (client(redirect_uris=[]), "non-empty"),
        (client(client_secret="short"), "32 characters"),
        (client(token_endpoint_auth_method="private_key_jwt", client_secret=None), "jwks"),
        (client(token_endpoint_auth_method="client_secret_post"), "token_endpoint_auth_method"),
        (client(scopes=["pid_basic", "unknown"]), "unknown scope"),
        (client(scopes=["openid"]), "unknown scope"),
        (client(redirect_uris=["https://a.example/cb", "https://b.example/cb"]), "sector_identifier"),
        (client(client_id=""), "client_id"),
        (
            client(scopes={"custom": {"credentials": [{"id": "x", "format": "dc+sd-jwt", "claim_sets": [["a"]]}]}}),
            "claim_sets",
        ),
        (client(scopes={"custom": {"credentials": [{"id": "x", "format": "dc+sd-jwt", "claims": "no"}]}}), "custom"),
    ],
)
def test_malformed_clients_are_refused_on_load(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(OidcConfigurationError) as err:
        PortalRegistry.from_document({"clients": [entry]})
    assert message in err.value.description


def test_loopback_http_only_in_development() -> None:
    entry = client(redirect_uris=["http://127.0.0.1:9/cb"])
    with pytest.raises(OidcConfigurationError):
        PortalRegistry.from_document({"clients": [entry]})
    assert PortalRegistry.from_document({"clients": [entry]}, dev_allow_http=True).get("portal") is not None


def test_duplicate_client_and_sector_default() -> None:
    with pytest.raises(OidcConfigurationError):
        PortalRegistry.from_document({"clients": [client(), client()]})
    registry = PortalRegistry.from_document({"clients": [client()]})
    assert registry.clients["portal"].sector_identifier == "portal.example"


def test_private_key_jwt_client_keeps_its_key_ids() -> None:
    jwk = {**PrivateKey.generate("ES256").public_key.jwk, "kid": "k-1"}
    entry = client(token_endpoint_auth_method="private_key_jwt", client_secret=None, jwks={"keys": [jwk]})
    ((kid, key),) = PortalRegistry.from_document({"clients": [entry]}).clients["portal"].jwks
    assert kid == "k-1" and key.jwk["x"] == jwk["x"]


def test_from_text_and_file(tmp_path: Any) -> None:
    import json

    text = json.dumps({"clients": [client()]})
    assert load_portal_registry(None, text).get("portal") is not None
    path = tmp_path / "clients.json"
    path.write_text(text, encoding="utf-8")
    assert load_portal_registry(path).get("portal") is not None
    assert load_portal_registry(None).clients == {}
    with pytest.raises(OidcConfigurationError):
        load_portal_registry(None, "{not json")


def test_login_query_merges_scopes_and_adds_the_place_of_birth_for_pseudonyms() -> None:
    """pid_basic + age_over_18 are one PID Credential Query with their claims united; an identifying login also asks
    for place_of_birth, which is not among the claims released to the portal."""
    query, released = login_query([BUILTIN_SCOPES["pid_basic"], BUILTIN_SCOPES["age_over_18"]])
    (pid,) = query.credentials
    paths = [tuple(c.path) for c in pid.claims or ()]
    assert paths == [
        ("given_name",),
        ("family_name",),
        ("birthdate",),
        ("age_equal_or_over", "18"),
        ("place_of_birth",),
    ]
    assert ("pid", ("place_of_birth",)) not in released and ("pid", ("birthdate",)) in released
    anonymous, _ = login_query([BUILTIN_SCOPES["age_over_18"]])
    assert [tuple(c.path) for c in anonymous.credentials[0].claims or ()] == [("age_equal_or_over", "18")]


def test_scopes_that_disagree_about_a_credential_query() -> None:
    from ssi.errors import DcqlError
    from verifier.oidc import Scope

    other = copy.deepcopy(dict(BUILTIN_SCOPES["pid_basic"].credentials[0]))
    other["meta"] = {"vct_values": ["urn:other"]}
    with pytest.raises(DcqlError):
        login_query([BUILTIN_SCOPES["pid_basic"], Scope("x", "x", (other,))])
