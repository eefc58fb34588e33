"""The public documents of each credential issuer (one per authority):

- Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), with govssi's ``did`` member: the authority's did:ethr, which
  publishes the same signing key on the chain (the second key-discovery route, docs/issuer.md);
- OAuth 2.0 Authorization Server Metadata (RFC 8414 §2, OpenID4VCI §12.3): the issuer is its own authorization
  server (no ``authorization_servers`` member);
- JWT VC Issuer Metadata (SD-JWT VC §5) with the signing key in ``jwks``, carrying its ``x5c`` chain;
- SD-JWT VC Type Metadata (SD-JWT VC §6) at each type's ``vct`` URL.
"""

from __future__ import annotations

from typing import Any

from issuer.context import IssuerContext, NotFound, Tenant
from ssi.oid4vci import (
    AuthorizationServerMetadata,
    CredentialIssuerMetadata,
    Display,
    JwtVcIssuerMetadata,
)

__all__ = [
    "authorization_server_metadata",
    "credential_issuer_metadata",
    "jwt_vc_issuer_metadata",
    "type_metadata",
]

#: The credential signing algorithm (HAIP 1.0 §7: ES256 on P-256).
SIGNING_ALGORITHMS = ("ES256",)


def credential_issuer_metadata(context: IssuerContext, tenant: Tenant) -> dict[str, Any]:
    settings = context.settings
    configurations = {
        type_id: ctype.configuration(
            tenant.credential_issuer, algorithms=SIGNING_ALGORITHMS, proof_algorithms=settings.proof_algorithms
        )
        for type_id, ctype in tenant.types.items()
    }
    # §12.2.4: "deferred_credential_endpoint: OPTIONAL"; "notification_endpoint: OPTIONAL".
    extensions: dict[str, Any] = {
        "deferred_credential_endpoint": f"{tenant.credential_issuer}/deferred-credential",
        "notification_endpoint": f"{tenant.credential_issuer}/notification",
    }
    if tenant.authority.did:
        extensions["did"] = tenant.authority.did
    return CredentialIssuerMetadata(
        credential_issuer=tenant.credential_issuer,
        credential_endpoint=tenant.credential_endpoint,
        nonce_endpoint=tenant.nonce_endpoint,
        credential_configurations_supported=configurations,
        batch_size=settings.batch_size,
        display=(Display("de-DE", tenant.authority.name_de), Display("en-US", tenant.authority.name_en)),
        extensions=extensions,
    ).to_json()


def authorization_server_metadata(context: IssuerContext, tenant: Tenant) -> dict[str, Any]:
    return AuthorizationServerMetadata(
        issuer=tenant.credential_issuer,
        token_endpoint=tenant.token_endpoint,
        dpop_signing_alg_values_supported=context.settings.proof_algorithms,
    ).to_json()


def jwt_vc_issuer_metadata(context: IssuerContext, tenant: Tenant) -> dict[str, Any]:
    """SD-JWT VC §5.2: ``issuer`` identical to ``iss``; the key with ``kid`` (what the credentials' header names),
    ``alg``, ``use`` and ``x5c`` (RFC 7517 §4.7: "The certificate containing the key value MUST be the first")."""
    keys = context.keys(tenant)
    jwk: dict[str, Any] = dict(keys.public_key.jwk)
    jwk["kid"] = keys.signer.kid or keys.public_key.thumbprint()
    jwk["alg"] = keys.signer.alg
    jwk["use"] = "sig"
    jwk["x5c"] = keys.x5c
    return JwtVcIssuerMetadata(issuer=tenant.credential_issuer, keys=[jwk]).to_json()


def type_metadata(tenant: Tenant, type_id: str) -> dict[str, Any]:
    ctype = tenant.types.get(type_id)
    if ctype is None or ctype.vct(tenant.credential_issuer) != f"{tenant.credential_issuer}/vct/{type_id}":
        raise NotFound("no type metadata here")
    return ctype.type_metadata(tenant.credential_issuer).to_json()
