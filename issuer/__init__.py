"""govssi's credential issuer: OpenID for Verifiable Credential Issuance 1.0 with the HAIP 1.0 profile —
pre-authorized code flow with transaction codes, DPoP-bound access tokens with server nonces, a nonce endpoint, batch
issuance of ``dc+sd-jwt`` credentials (SD-JWT VC) signed with ``x5c`` chains, one credential issuer per authority
(tenant), credential types as JSON data, status-list indexes, and a did:ethr per authority on the chain.

Endpoints per authority ``{public_url}/issuers/{slug}`` (the Credential Issuer Identifier): ``/token``, ``/nonce``,
``/credential``, ``/credential-offer/{id}``, ``/vct/{type}``; metadata at ``/.well-known/openid-credential-issuer/
issuers/{slug}``, ``/.well-known/oauth-authorization-server/issuers/{slug}``, ``/.well-known/jwt-vc-issuer/issuers/
{slug}``; the authority's admin API under ``/issuers/{slug}/admin`` (``Authorization: Bearer <API key>``). See
docs/issuer.md.

Running the issuer in a test (real HTTP on 127.0.0.1, port picked for you)::

    from infra.db import create_engine
    from issuer import IssuerSettings, loopback_issuer

    settings = IssuerSettings(data_dir=tmp_path, bootstrap_key="test-bootstrap-key-0001")
    with loopback_issuer(settings) as (server, issuer):
        credential_issuer = issuer.bootstrap.credential_issuer   # "http://127.0.0.1:<port>/issuers/demo"
        # POST {credential_issuer}/admin/offers with Authorization: Bearer test-bootstrap-key-0001 and
        # {"credential_configuration_id": "bewohnerparkausweis", "claims": {...}} → offer_uri, tx_code, qr_svg

Everything is injectable: ``loopback_issuer(settings, engine=..., store=..., keyring=MemoryKeyring(ca), clock=...,
chain=IssuerChain(...))``; without a keyring the keys are encrypted files in ``data_dir`` certified by a demo CA
(``<data_dir>/issuer/ca/ca.pem`` is the trust anchor a verifier needs). In-process without HTTP:
``create_app(settings, ...)`` gives the ASGI app, ``build_issuer(settings, ...)`` the protocol objects
(``issuer.offers``, ``issuer.tokens``, ``issuer.credentials``, ``issuer.deferred``, ``issuer.notifications``), the
status publisher (``issuer.publisher``) and the staff's functions (``issuer.admin``, an :class:`AdminDesk`: offers,
credentials and their status, subjects, deferred requests, types, API keys, status lists, audit) — what the admin
API and the admin web pages call.
"""

from issuer.admin import AdminDesk, actor_for_api_key, actor_for_user
from issuer.anchoring import AnchorOutcome, LedgerStatusAnchoring, NoStatusAnchoring, StatusListAnchoring
from issuer.app import create_app, free_loopback_port, loopback_issuer
from issuer.chain import AccreditationRegistry, IssuerChain, RegistryNotAvailable, did_registry_address
from issuer.credential_type import CredentialType, load_credential_type, shipped_credential_types
from issuer.keyring import AuthorityKeys, CertificateAuthority, FileKeyring, Keyring, MemoryKeyring, Pkcs11Keyring
from issuer.publishing import StatusPublisher
from issuer.records import CredentialRecord, StatusChange
from issuer.service import Bootstrap, Issuer, build_issuer
from issuer.settings import IssuerSettings

__all__ = [
    "AccreditationRegistry",
    "AdminDesk",
    "AnchorOutcome",
    "AuthorityKeys",
    "Bootstrap",
    "CertificateAuthority",
    "CredentialRecord",
    "CredentialType",
    "FileKeyring",
    "Issuer",
    "IssuerChain",
    "IssuerSettings",
    "Keyring",
    "LedgerStatusAnchoring",
    "MemoryKeyring",
    "NoStatusAnchoring",
    "Pkcs11Keyring",
    "RegistryNotAvailable",
    "StatusChange",
    "StatusListAnchoring",
    "StatusPublisher",
    "actor_for_api_key",
    "actor_for_user",
    "build_issuer",
    "create_app",
    "did_registry_address",
    "free_loopback_port",
    "load_credential_type",
    "loopback_issuer",
    "shipped_credential_types",
]
