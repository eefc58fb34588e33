"""``python -m verifier.portal registration`` prints a client document the OpenID Provider accepts as it is
(verifier/oidc/clients.py checks it on load)."""

from __future__ import annotations

import json

import pytest

from verifier.oidc import PortalRegistry
from verifier.portal import main


@pytest.mark.parametrize("parking", [None, "https://stadt.example/issuers/koeln/vct/bewohnerparkausweis"])
def test_registration_document_loads(
    parking: str | None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVSSI_PORTAL_CLIENT_SECRET", "s" * 40)
    args = ["registration", "--base-url", "http://127.0.0.1:8231"]
    assert main([*args, "--parking-vct", parking] if parking else args) == 0
    registry = PortalRegistry.from_document(json.loads(capsys.readouterr().out), dev_allow_http=True)
    client = registry.clients["buergerportal-musterstadt"]
    assert client.redirect_uris == ("http://127.0.0.1:8231/callback",)
    assert client.token_endpoint_auth_method == "client_secret_basic" and client.client_secret == "s" * 40
    expected = {"pid_basic", "age_over_18"} | ({"parking_permit"} if parking else set())
    assert set(client.scopes) == expected
    assert client.scopes["pid_basic"].identifying and not client.scopes["age_over_18"].identifying


def test_serve_needs_the_provider_and_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVSSI_PORTAL_CLIENT_SECRET", raising=False)
    assert main(["serve", "--base-url", "http://127.0.0.1:8231"]) == 2
