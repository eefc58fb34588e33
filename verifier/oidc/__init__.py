"""OpenID Connect for portals (issue "Verifier II"): the verifier as an OpenID Provider whose login is an OpenID4VP
presentation from the citizen's wallet. See docs/verifier.md and docs/privacy.md.

::

    provider = build_provider(settings, service)          # None when no portal client is configured
    app = create_app(settings, service=service, oidc=provider)

Modules: :mod:`~verifier.oidc.clients` (registered portals and scopes → DCQL), :mod:`~verifier.oidc.subject`
(pairwise and transient ``sub``), :mod:`~verifier.oidc.client_auth` (token endpoint client authentication),
:mod:`~verifier.oidc.provider` (the protocol), :mod:`~verifier.oidc.routes` (HTTP).
"""

from __future__ import annotations

from verifier.oidc.client_auth import CLIENT_ASSERTION_TYPE, authenticate_client
from verifier.oidc.clients import (
    BUILTIN_SCOPES,
    OidcConfigurationError,
    PortalClient,
    PortalRegistry,
    Scope,
    load_portal_registry,
    login_query,
)
from verifier.oidc.provider import AuthorizationError, BegunLogin, LoginNotFound, OpenIdProvider
from verifier.oidc.routes import LOGIN_COOKIE, oidc_router
from verifier.oidc.settings import EIDAS_LOA, OidcSettings, load_id_token_signer, load_pairwise_secret
from verifier.oidc.subject import SubjectInput, normalise_name, pairwise_subject, transient_subject
from verifier.service import PresentationService
from verifier.settings import VerifierSettings

__all__ = [
    "BUILTIN_SCOPES",
    "CLIENT_ASSERTION_TYPE",
    "EIDAS_LOA",
    "LOGIN_COOKIE",
    "AuthorizationError",
    "BegunLogin",
    "LoginNotFound",
    "OidcConfigurationError",
    "OidcSettings",
    "OpenIdProvider",
    "PortalClient",
    "PortalRegistry",
    "Scope",
    "SubjectInput",
    "authenticate_client",
    "build_provider",
    "load_portal_registry",
    "login_query",
    "normalise_name",
    "oidc_router",
    "pairwise_subject",
    "transient_subject",
]


def build_provider(
    settings: VerifierSettings,
    service: PresentationService,
    *,
    oidc_settings: OidcSettings | None = None,
    registry: PortalRegistry | None = None,
) -> OpenIdProvider | None:
    """The OpenID Provider of this verifier (issuer = ``public_url``), or ``None`` when no portal is registered."""
    oidc_settings = oidc_settings or OidcSettings()
    if registry is None:
        registry = load_portal_registry(
            oidc_settings.clients, oidc_settings.clients_json, dev_allow_http=settings.dev_allow_http
        )
    if not registry.clients:
        return None
    directory = oidc_settings.keys_dir or settings.data_dir / "verifier" / "oidc"
    passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
    return OpenIdProvider(
        issuer=settings.public_url,
        registry=registry,
        presentations=service,
        signer=load_id_token_signer(directory, passphrase),
        pairwise_secret=load_pairwise_secret(oidc_settings, directory),
        store=service.store,
        clock=service.clock,
        settings=oidc_settings,
    )
