"""OpenID for Verifiable Presentations 1.0 (final) with the HAIP 1.0 profile: both roles, no I/O.

- :mod:`ssi.oid4vp.verifier` — Client Identifiers (``x509_hash``, ``x509_san_dns``, ``decentralized_identifier``),
  the signed Request Object (RFC 9101), the request link, the Request URI ``post`` method, parsing what arrives at
  the Response URI (``direct_post``, ``direct_post.jwt``, error responses);
- :mod:`ssi.oid4vp.wallet` — the request link, Request Object verification per Client Identifier Prefix (and the
  unsigned ``redirect_uri`` prefix, development only), the response and error response forms;
- :mod:`ssi.oid4vp.encryption` — JWE ``ECDH-ES`` with ``A128GCM``/``A256GCM`` to an ephemeral P-256 key per request;
- shared: :class:`AuthorizationRequest`, :class:`ClientId`, :func:`parse_vp_token`.

DCQL is :mod:`ssi.dcql`; SD-JWT VC presentations are :mod:`ssi.sd_jwt`. Typical use::

    # Verifier
    request = AuthorizationRequest(client_id=x509_hash_client_id(leaf), response_mode=DIRECT_POST_JWT,
                                   response_uri=url, nonce=nonce, state=state, dcql_query=query,
                                   client_metadata=client_metadata(key, vp_formats=VP_FORMATS))
    jwt = create_request_object(request, signer, x5c=chain)
    link = authorization_request_link(request.client_id, request_uri, request_uri_method="post")
    response = parse_authorization_response(form, response_mode=DIRECT_POST_JWT, key=key, expected_state=state)

    # Wallet
    ref = parse_authorization_request_link(link)
    verified = verify_request_object(fetched_jwt, ref, policy, wallet_nonce=nonce)
    form = response_form(verified.request, {"pid": [presentation]})
"""

from ssi.oid4vp._common import (
    CLIENT_ID_PREFIXES,
    DECENTRALIZED_IDENTIFIER,
    DIRECT_POST,
    DIRECT_POST_JWT,
    REDIRECT_URI,
    REQUEST_OBJECT_MEDIA_TYPE,
    REQUEST_OBJECT_TYP,
    SELF_ISSUED_AUDIENCE,
    X509_HASH,
    X509_SAN_DNS,
    AuthorizationRequest,
    ClientId,
    check_url_safe,
    parse_vp_token,
)
from ssi.oid4vp.encryption import (
    DEFAULT_ENC,
    ECDH_ES,
    SUPPORTED_ENC,
    ResponseEncryptionKey,
    choose_encryption,
    client_metadata,
    decrypt_response,
    encrypt_response,
)
from ssi.oid4vp.verifier import (
    WALLET_ERROR_CODES,
    AuthorizationResponse,
    RequestUriPost,
    authorization_request_link,
    create_request_object,
    did_client_id,
    parse_authorization_response,
    parse_request_uri_post,
    x509_hash_client_id,
    x509_san_dns_client_id,
)
from ssi.oid4vp.wallet import (
    AnswerableInvalidRequest,
    AuthorizationRequestLink,
    ErrorDestination,
    VerifiedRequest,
    VerifierIdentity,
    WalletRequestPolicy,
    error_response_form,
    parse_authorization_request_link,
    request_uri_post_form,
    response_form,
    verify_request_object,
    verify_unsigned_request,
)

#: HAIP 1.0 §7: ES256 for Issuer-signed JWTs and KB-JWTs (``vp_formats_supported``, §11.1, B.3.4).
VP_FORMATS = {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]}}

__all__ = [
    "CLIENT_ID_PREFIXES",
    "DECENTRALIZED_IDENTIFIER",
    "DEFAULT_ENC",
    "DIRECT_POST",
    "DIRECT_POST_JWT",
    "ECDH_ES",
    "REDIRECT_URI",
    "REQUEST_OBJECT_MEDIA_TYPE",
    "REQUEST_OBJECT_TYP",
    "SELF_ISSUED_AUDIENCE",
    "SUPPORTED_ENC",
    "VP_FORMATS",
    "WALLET_ERROR_CODES",
    "X509_HASH",
    "X509_SAN_DNS",
    "AnswerableInvalidRequest",
    "AuthorizationRequest",
    "AuthorizationRequestLink",
    "AuthorizationResponse",
    "ClientId",
    "ErrorDestination",
    "RequestUriPost",
    "ResponseEncryptionKey",
    "VerifiedRequest",
    "VerifierIdentity",
    "WalletRequestPolicy",
    "authorization_request_link",
    "check_url_safe",
    "choose_encryption",
    "client_metadata",
    "create_request_object",
    "decrypt_response",
    "did_client_id",
    "encrypt_response",
    "error_response_form",
    "parse_authorization_request_link",
    "parse_authorization_response",
    "parse_request_uri_post",
    "parse_vp_token",
    "request_uri_post_form",
    "response_form",
    "verify_request_object",
    "verify_unsigned_request",
    "x509_hash_client_id",
    "x509_san_dns_client_id",
]
