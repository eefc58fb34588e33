"""The wallet's side of DCQL ``trusted_authorities`` (OpenID4VP 1.0 §6.1.1) for govssi's extension type
``govssi_chain_accreditation`` (:data:`ssi.dcql.TRUSTED_AUTHORITY_CHAIN`): a value names a trusted-issuer registry as
``eip155:<chain id>:<registry address>``, and a held credential matches when that registry accredits its issuer (the
SHA-256 of its ``x5c`` leaf's key, or its ``did:`` issuer) for the credential's ``vct`` now.

§6.1.1: "Every Credential returned by the Wallet SHOULD match at least one of the conditions present in the
corresponding ``trusted_authorities`` array if present." Without a registry to ask (no chain configured) the type
never matches — the wallet does not claim what it cannot check (``ssi.dcql``); an unreachable chain likewise.
``aki`` needs no help: :mod:`ssi.dcql` matches it from the credential's ``x5c``.

:func:`chain_authorities_from_env`: the registry on ``GOVSSI_CHAIN_RPC`` (``GOVSSI_TRUSTED_ISSUER_REGISTRY``) for a
long-running wallet (the web wallet): connected when a query first names the type, kept once connected; a chain that
does not answer is asked again only after ``retry_after`` seconds, and matches nothing meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ssi.clock import Clock, system_clock
from ssi.dcql import TRUSTED_AUTHORITY_CHAIN, AuthorityMatcher, CredentialDescription
from ssi.errors import CertificateError, SsiError
from ssi.x509 import parse_x5c, spki_sha256

__all__ = ["LazyChainAuthorities", "chain_authorities", "chain_authorities_from_env"]

_log = logging.getLogger("wallet_sim.oid4vp.trust")


def _issuer_keys(credential: CredentialDescription) -> list[str | bytes]:
    keys: list[str | bytes] = []
    if credential.x5c:
        with contextlib.suppress(CertificateError):
            keys.append(spki_sha256(parse_x5c(list(credential.x5c))[0]))
    if credential.issuer and credential.issuer.startswith("did:"):
        keys.append(credential.issuer)
    return keys


def chain_authorities(registries: Mapping[str, Any], *, clock: Clock = system_clock) -> dict[str, AuthorityMatcher]:
    """Matchers for :func:`ssi.dcql.evaluate`: ``registries`` maps registry ids (``eip155:<chain id>:<address>``,
    compared case-insensitively) to objects with ``accreditation(issuer) -> Accreditation | None``
    (``ledger.trust.TrustRegistry``)."""
    by_id = {key.lower(): registry for key, registry in registries.items()}

    def match(_kind: str, value: str, credential: CredentialDescription) -> bool:
        registry = by_id.get(value.lower())
        if registry is None or credential.vct is None:
            return False
        now = clock()
        for key in _issuer_keys(credential):
            try:
                accreditation = registry.accreditation(key)
            except SsiError:  # the chain does not answer: no match rather than a guess
                return False
            if accreditation is not None and accreditation.permits(credential.vct, now):
                return True
        return False

    return {TRUSTED_AUTHORITY_CHAIN: match}


class LazyChainAuthorities:
    """A trusted-issuer registry reached through ``connect`` (→ ``(registry id, registry)``) on first use."""

    def __init__(
        self,
        connect: Callable[[], tuple[str, Any]],
        *,
        clock: Clock = system_clock,
        retry_after: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._clock = clock
        self._retry_after = retry_after
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._registries: dict[str, Any] | None = None
        self._failed_at: float | None = None

    def registries(self) -> dict[str, Any]:
        """``{registry id: registry}``, or ``{}`` while the chain does not answer."""
        with self._lock:
            if self._registries is not None:
                return self._registries
            if self._failed_at is not None and self._monotonic() - self._failed_at < self._retry_after:
                return {}
            try:
                registry_id, registry = self._connect()
            except (SsiError, ValueError, OSError) as exc:
                self._failed_at = self._monotonic()
                _log.warning("trusted-issuer registry unreachable: %s", exc)
                return {}
            self._registries = {registry_id: registry}
            return self._registries

    def matchers(self) -> dict[str, AuthorityMatcher]:
        """Matchers for :func:`ssi.dcql.evaluate`: the chain is contacted only when a query names the type."""

        def match(kind: str, value: str, credential: CredentialDescription) -> bool:
            matcher = chain_authorities(self.registries(), clock=self._clock)[TRUSTED_AUTHORITY_CHAIN]
            return matcher(kind, value, credential)

        return {TRUSTED_AUTHORITY_CHAIN: match}


def chain_authorities_from_env(
    environ: Mapping[str, str] | None = None, *, clock: Clock = system_clock
) -> LazyChainAuthorities | None:
    """The trusted-issuer registry on ``GOVSSI_CHAIN_RPC`` (comma-separated JSON-RPC URLs, failover) at
    ``GOVSSI_TRUSTED_ISSUER_REGISTRY`` (default: the development address), as ``eip155:<chain id>:<address>``;
    ``None`` when no chain is configured."""
    env = os.environ if environ is None else environ
    urls = [url.strip() for url in env.get("GOVSSI_CHAIN_RPC", "").split(",") if url.strip()]
    if not urls:
        return None

    def connect() -> tuple[str, Any]:
        from ledger.bootstrap import addresses_from_env
        from ledger.client import ChainClient
        from ledger.trust import TrustRegistry

        client = ChainClient.connect(urls)
        registry = TrustRegistry(client, addresses_from_env(env).trusted_issuer_registry)
        return f"eip155:{client.chain_id}:{registry.address}", registry

    return LazyChainAuthorities(connect, clock=clock)
