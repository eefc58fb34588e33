"""OpenID for Verifiable Credential Issuance 1.0 (final, September 2025) messages and checks, pure: no HTTP, no
storage. The roles meet here: an issuer builds metadata and offers and verifies token requests, key proofs and
credential requests; a wallet parses offers and metadata and creates key proofs.

Modules follow the specification's sections: :mod:`~ssi.oid4vci.offer` (§4.1), :mod:`~ssi.oid4vci.token` (§6),
:mod:`~ssi.oid4vci.credential` (§7, §8), :mod:`~ssi.oid4vci.deferred` (§9), :mod:`~ssi.oid4vci.notification`
(§11), :mod:`~ssi.oid4vci.proof` (Appendix F), :mod:`~ssi.oid4vci.metadata`
(§12, RFC 8414, SD-JWT VC §5 and §6). Errors are the ``Oid4vciError`` family of :mod:`ssi.errors`, each carrying its
protocol error code.
"""

from ssi.oid4vci._common import (
    CREDENTIAL_OFFER_SCHEME,
    OPENID_CREDENTIAL,
    PRE_AUTHORIZED_CODE_GRANT,
    PROOF_JWT_TYP,
    SD_JWT_VC_FORMAT,
    TOKEN_TYPE_BEARER,
    TOKEN_TYPE_DPOP,
    WELL_KNOWN_AUTHORIZATION_SERVER,
    WELL_KNOWN_CREDENTIAL_ISSUER,
    WELL_KNOWN_JWT_VC_ISSUER,
    check_credential_issuer_identifier,
    check_https_url,
    error_description,
    is_loopback_host,
    well_known_url,
)
from ssi.oid4vci.credential import CredentialRequest, CredentialResponse, nonce_response, parse_credential_request
from ssi.oid4vci.deferred import DeferredResponse, parse_deferred_credential_request
from ssi.oid4vci.metadata import (
    AuthorizationServerMetadata,
    ClaimDescription,
    CredentialConfiguration,
    CredentialIssuerMetadata,
    Display,
    JwtVcIssuerMetadata,
    TypeMetadata,
)
from ssi.oid4vci.notification import NOTIFICATION_EVENTS, NotificationRequest, parse_notification_request
from ssi.oid4vci.offer import CredentialOffer, PreAuthorizedCodeGrant, TxCode, parse_credential_offer_link
from ssi.oid4vci.proof import VerifiedKeyProof, check_distinct_keys, create_proof_jwt, verify_proof_jwt
from ssi.oid4vci.token import (
    AuthorizationDetail,
    TokenRequest,
    TokenResponse,
    parse_authorization_details,
    parse_token_request,
)

__all__ = [
    "CREDENTIAL_OFFER_SCHEME",
    "NOTIFICATION_EVENTS",
    "OPENID_CREDENTIAL",
    "PRE_AUTHORIZED_CODE_GRANT",
    "PROOF_JWT_TYP",
    "SD_JWT_VC_FORMAT",
    "TOKEN_TYPE_BEARER",
    "TOKEN_TYPE_DPOP",
    "WELL_KNOWN_AUTHORIZATION_SERVER",
    "WELL_KNOWN_CREDENTIAL_ISSUER",
    "WELL_KNOWN_JWT_VC_ISSUER",
    "AuthorizationDetail",
    "AuthorizationServerMetadata",
    "ClaimDescription",
    "CredentialConfiguration",
    "CredentialIssuerMetadata",
    "CredentialOffer",
    "CredentialRequest",
    "CredentialResponse",
    "DeferredResponse",
    "Display",
    "JwtVcIssuerMetadata",
    "NotificationRequest",
    "PreAuthorizedCodeGrant",
    "TokenRequest",
    "TokenResponse",
    "TxCode",
    "TypeMetadata",
    "VerifiedKeyProof",
    "check_credential_issuer_identifier",
    "check_distinct_keys",
    "check_https_url",
    "create_proof_jwt",
    "error_description",
    "is_loopback_host",
    "nonce_response",
    "parse_authorization_details",
    "parse_credential_offer_link",
    "parse_credential_request",
    "parse_deferred_credential_request",
    "parse_notification_request",
    "parse_token_request",
    "verify_proof_jwt",
    "well_known_url",
]
