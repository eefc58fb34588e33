"""The OpenID4VP 1.0 verifier (issue 9, "Verifier I"): presentation requests from DCQL queries or presets, signed
requests by reference, ``direct_post`` / ``direct_post.jwt`` responses, SD-JWT VC verification with issuer trust and
status from the chain, same-device and cross-device flows. See docs/verifier.md.

In-process without HTTP::

    service = build_verifier(settings, trust=..., store=..., keys=...)   # tests inject what they swap
    created = service.create(service.query_for(preset="age_over_18")[0])
    ...the wallet fetches created.request_uri and posts to the response_uri...
    service.result(created.transaction_id)

Over HTTP: ``create_app(settings, service=service)``; for tests and the demo :func:`loopback_verifier`.
"""

from __future__ import annotations

from typing import Any

from infra.db import create_engine
from infra.ephemeral import EphemeralStore, ephemeral_store
from ssi.clock import Clock, system_clock
from ssi.fetch import Fetcher
from ssi.keys import SoftwareSigner, load_private_key
from ssi.status_list import status_list_http_fetcher
from ssi.x509 import load_pem_certificates
from verifier.app import create_app, loopback_verifier
from verifier.keys import RequestSigningKeys, load_request_signing_keys
from verifier.ldp_vc import LdpVcVerifier
from verifier.presentations import CredentialVerifier, VerifiedCredential, VerifiedResponse, verify_vp_token
from verifier.presets import BUILTIN_PRESETS, Preset, load_presets
from verifier.service import CreatedPresentation, PresentationNotFound, PresentationService, ResultNotReady
from verifier.session_store import VerifierRedisStore
from verifier.settings import VerifierSettings
from verifier.status import StatusChecker
from verifier.trust import ChainIssuerTrust, IssuerStanding, IssuerTrust, TrustUnavailable

__all__ = [
    "BUILTIN_PRESETS",
    "ChainIssuerTrust",
    "CreatedPresentation",
    "CredentialVerifier",
    "IssuerStanding",
    "IssuerTrust",
    "PresentationNotFound",
    "PresentationService",
    "Preset",
    "RequestSigningKeys",
    "ResultNotReady",
    "StatusChecker",
    "TrustUnavailable",
    "VerifiedCredential",
    "VerifiedResponse",
    "VerifierRedisStore",
    "VerifierSettings",
    "build_verifier",
    "chain_trust",
    "create_app",
    "loopback_verifier",
    "verify_vp_token",
]

_UNSET: Any = object()


def chain_trust(settings: VerifierSettings) -> tuple[IssuerTrust | None, Any, Any]:
    """``(trust, key_history, did_resolver)`` from ``GOVSSI_CHAIN_RPC`` and the contract addresses
    (``GOVSSI_TRUSTED_ISSUER_REGISTRY``, ``GOVSSI_STATUS_ANCHOR``, ``GOVSSI_DID_REGISTRY``); all ``None`` without a
    chain."""
    urls = settings.chain_rpc_urls()
    if not urls:
        return None, None, None
    from ledger.bootstrap import addresses_from_env
    from ledger.client import ChainClient
    from ledger.did_ethr import EthrDidDriver, SigningKeyHistory
    from ledger.trust import StatusAnchorReader, TrustRegistry
    from ssi.did import DidResolver

    client = ChainClient.connect(urls)
    addresses = addresses_from_env()
    staleness = settings.chain_max_staleness  # GOVSSI_VERIFIER_CHAIN_MAX_STALENESS
    driver = EthrDidDriver({client.chain_id: (client.w3, addresses.did_registry)}, max_staleness=staleness)
    trust = ChainIssuerTrust(
        TrustRegistry(client, addresses.trusted_issuer_registry, max_staleness=staleness),
        StatusAnchorReader(client, addresses.status_anchor, max_staleness=staleness),
        did_driver=driver,
        chain_id=client.chain_id,
    )
    return trust, SigningKeyHistory(driver), DidResolver([driver])


def build_verifier(
    settings: VerifierSettings,
    *,
    store: EphemeralStore | None = None,
    keys: RequestSigningKeys | None = None,
    trust: IssuerTrust | None = _UNSET,
    key_history: Any = _UNSET,
    did_resolver: Any = _UNSET,
    anchors: list[Any] | None = None,
    fetcher: Fetcher | None = None,
    clock: Clock = system_clock,
    presets: dict[str, Preset] | None = None,
) -> PresentationService:
    """Build the service from ``settings``; tests inject the store, keys, trust policy, fetcher and clock."""
    if not settings.public_url:
        raise ValueError("GOVSSI_VERIFIER_PUBLIC_URL is required")
    passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
    if store is None:
        engine = create_engine(settings.effective_database_url())
        # Redis: the verifier's store decides a response in one round trip (verifier.session_store)
        store = (
            VerifierRedisStore(settings.redis_url, prefix="govssi:verifier:")
            if settings.redis_url
            else ephemeral_store(engine, None)
        )
    if trust is _UNSET or key_history is _UNSET or did_resolver is _UNSET:
        built = chain_trust(settings) if trust is _UNSET else (None, None, None)
        trust = built[0] if trust is _UNSET else trust
        key_history = built[1] if key_history is _UNSET else key_history
        did_resolver = built[2] if did_resolver is _UNSET else did_resolver
    if anchors is None:
        anchors = load_pem_certificates(settings.trust_anchors.read_bytes()) if settings.trust_anchors else []
    if keys is None:
        if settings.client_id_prefix == "decentralized_identifier":
            if not settings.did or not settings.did_key_file:
                raise ValueError("decentralized_identifier needs GOVSSI_VERIFIER_DID and GOVSSI_VERIFIER_DID_KEY_FILE")
            signer = SoftwareSigner(load_private_key(settings.did_key_file, passphrase))
            keys = RequestSigningKeys(signer, (), settings.did_kid or f"{settings.did}#controllerKey")
        else:
            keys = load_request_signing_keys(
                settings.resolved_keys_dir(),
                settings.resolved_ca_dir(),
                public_url=settings.public_url,
                passphrase=passphrase,
            )
    if fetcher is None:
        fetcher = status_list_http_fetcher(allow_http=settings.dev_allow_http, allow_loopback=settings.dev_allow_http)
    status = StatusChecker(
        fetcher,
        anchors,
        did_resolver=did_resolver,
        trust=trust,
        max_age=settings.status_max_age,
        clock=clock,
        skew=settings.clock_skew,
        fail_open=settings.status_fail_open,
        require_anchored=settings.require_anchored_status,
    )
    credentials = CredentialVerifier(
        anchors=anchors,
        status=status,
        trust=trust,
        clock=clock,
        key_history=key_history,
        kb_max_age=settings.kb_max_age,
        skew=settings.clock_skew,
        require_accreditation=settings.require_accreditation,
        require_status=settings.require_status,
        allow_http_loopback=settings.dev_allow_http,
        ldp_vc=LdpVcVerifier(
            resolve=did_resolver.resolve if did_resolver is not None else None,
            trust=trust,
            clock=clock,
            skew=settings.clock_skew,
            require_accreditation=settings.require_accreditation,
        ),
    )
    return PresentationService(
        public_url=settings.public_url,
        store=store,
        keys=keys,
        credentials=credentials,
        presets=presets if presets is not None else load_presets(settings.presets_file),
        clock=clock,
        client_id_prefix=settings.client_id_prefix,
        did=settings.did,
        allow_redirect_uri=settings.allow_redirect_uri,
        response_mode=settings.response_mode,
        session_ttl=settings.session_ttl,
        result_ttl=settings.result_ttl,
    )
