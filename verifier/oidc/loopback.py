"""The verifier with its OpenID Provider over real HTTP on 127.0.0.1 (tests, the demo, the benchmark)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from infra.server import LoopbackServer
from verifier.oidc import OidcSettings, OpenIdProvider, PortalRegistry, build_provider
from verifier.service import PresentationService
from verifier.settings import VerifierSettings

__all__ = ["loopback_openid_provider"]


@contextlib.contextmanager
def loopback_openid_provider(
    settings: VerifierSettings,
    registry: PortalRegistry | Callable[[str], PortalRegistry],
    *,
    oidc_settings: OidcSettings | None = None,
    **dependencies: Any,
) -> Iterator[tuple[LoopbackServer, PresentationService, OpenIdProvider]]:
    """Like :func:`verifier.loopback_verifier`, with the OpenID Provider mounted. ``registry`` may be a function of
    the verifier's URL (portals registered after the port is known)."""
    from verifier import build_verifier, create_app
    from verifier.app import free_loopback_port

    for attempt in range(3):
        port = free_loopback_port()
        url = f"http://127.0.0.1:{port}"
        configured = settings.model_copy(update={"public_url": url, "dev_allow_http": True})
        service = build_verifier(configured, **dependencies)
        portals = registry(url) if callable(registry) else registry
        provider = build_provider(configured, service, oidc_settings=oidc_settings, registry=portals)
        if provider is None:
            raise ValueError("no portal client registered")
        server = LoopbackServer(create_app(configured, service=service, oidc=provider), port=port)
        try:
            server.start()
        except RuntimeError:
            if attempt == 2:
                raise
            continue
        try:
            yield server, service, provider
        finally:
            server.stop()
        return
