"""The Verifier's role in OpenID4VP 1.0: Client Identifiers (§5.9.3), the signed Request Object (RFC 9101, §5), the
request link, the Request URI ``post`` method (§5.10) and the Authorization Response at the Response URI (§8.2,
§8.3.1, §8.5)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from cryptography import x509

from ssi.encoding import json_loads
from ssi.errors import EncodingError, InvalidAuthorizationResponse, Oid4vpError
from ssi.jose import encode_jwt
from ssi.keys import Signer
from ssi.oid4vp._common import (
    DECENTRALIZED_IDENTIFIER,
    DIRECT_POST,
    DIRECT_POST_JWT,
    REQUEST_OBJECT_TYP,
    SELF_ISSUED_AUDIENCE,
    X509_HASH,
    X509_SAN_DNS,
    AuthorizationRequest,
    check_url_safe,
    parse_vp_token,
)
from ssi.oid4vp.encryption import SUPPORTED_ENC, ResponseEncryptionKey, decrypt_response
from ssi.x509 import x509_hash

__all__ = [
    "AuthorizationResponse",
    "RequestUriPost",
    "authorization_request_link",
    "create_request_object",
    "did_client_id",
    "parse_authorization_response",
    "parse_request_uri_post",
    "x509_hash_client_id",
    "x509_san_dns_client_id",
]

#: §8.5 and RFC 6749 §4.1.2.1 error codes a Wallet may answer with.
WALLET_ERROR_CODES = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "invalid_client",
        "vp_formats_not_supported",
        "invalid_request_uri_method",
        "invalid_transaction_data",
        "wallet_unavailable",
    }
)


def x509_hash_client_id(leaf: x509.Certificate) -> str:
    """§5.9.3 ``x509_hash``: "the base64url-encoded value of the SHA-256 hash of the DER-encoded X.509 certificate"
    (HAIP 1.0: the prefix Verifiers MUST use)."""
    return f"{X509_HASH}:{x509_hash(leaf)}"


def x509_san_dns_client_id(dns_name: str) -> str:
    """§5.9.3 ``x509_san_dns``: a DNS name that is a ``dNSName`` SAN of the leaf certificate."""
    return f"{X509_SAN_DNS}:{dns_name}"


def did_client_id(did: str) -> str:
    """§5.9.3 ``decentralized_identifier``: the Verifier's DID (govssi: a portal's did:ethr)."""
    return f"{DECENTRALIZED_IDENTIFIER}:{did}"


def create_request_object(
    request: AuthorizationRequest,
    signer: Signer,
    *,
    x5c: Sequence[str] | None = None,
    kid: str | None = None,
    now: float | None = None,
    lifetime: float = 600,
) -> str:
    """Sign the Request Object (RFC 9101 §4): ``typ`` ``oauth-authz-req+jwt`` (§5), the request parameters as
    claims, ``aud`` ``https://self-issued.me/v2`` (§5.8, static discovery), ``iat`` and ``exp``.

    The JOSE header carries what the Client Identifier Prefix needs (§5.9.3): ``x5c`` (leaf first) for
    ``x509_san_dns`` and ``x509_hash``, ``kid`` (a DID URL) for ``decentralized_identifier``.
    """
    issued = int(time.time() if now is None else now)
    claims = {**request.to_claims(), "aud": SELF_ISSUED_AUDIENCE, "iat": issued, "exp": issued + int(lifetime)}
    header: dict[str, Any] = {}
    if x5c is not None:
        header["x5c"] = list(x5c)
    if kid is not None:
        header["kid"] = kid
    return encode_jwt(claims, signer, typ=REQUEST_OBJECT_TYP, header=header)


def authorization_request_link(
    client_id: str,
    request_uri: str,
    *,
    request_uri_method: str | None = None,
    scheme: str = "openid4vp://",
) -> str:
    """The Authorization Request by reference (RFC 9101 §5.2, §5.10): ``client_id`` and ``request_uri`` (and
    ``request_uri_method``), for a QR code or a link. HAIP 1.0 wallets answer ``haip://`` too."""
    params = {"client_id": client_id, "request_uri": request_uri}
    if request_uri_method is not None:
        if request_uri_method not in ("get", "post"):
            raise Oid4vpError("request_uri_method is 'get' or 'post' (§5.1)", reason="bad_request_uri_method")
        params["request_uri_method"] = request_uri_method
    return f"{scheme}?{urlencode(params)}"


@dataclass(frozen=True, slots=True)
class RequestUriPost:
    """The Wallet's POST to the Request URI (§5.10): ``wallet_nonce`` (to be echoed in the Request Object) and
    ``wallet_metadata`` (§10)."""

    wallet_nonce: str | None
    wallet_metadata: dict[str, Any] | None


def parse_request_uri_post(form: Mapping[str, str]) -> RequestUriPost:
    """§5.10: ``wallet_metadata`` "a string containing a JSON object", ``wallet_nonce`` a string; "The Verifier MUST
    ignore any unrecognized parameters"."""
    nonce = form.get("wallet_nonce")
    if nonce is not None:
        check_url_safe(nonce, "wallet_nonce", error=Oid4vpError)
    metadata = None
    if "wallet_metadata" in form:
        try:
            metadata = json_loads(form["wallet_metadata"])
        except EncodingError:
            raise Oid4vpError("'wallet_metadata' is not JSON (§5.10)", reason="bad_wallet_metadata") from None
        if not isinstance(metadata, dict):
            raise Oid4vpError("'wallet_metadata' must be a JSON object (§5.10)", reason="bad_wallet_metadata")
    return RequestUriPost(nonce, metadata)


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    """What arrived at the Response URI: a VP Token (§8.1), or an error response (§8.5) — ``error`` set."""

    vp_token: dict[str, list[str | dict[str, Any]]] | None
    state: str | None
    error: str | None = None
    error_description: str | None = None
    encrypted: bool = False


def _error_response(params: Mapping[str, Any], state: str | None) -> AuthorizationResponse:
    code = params["error"]
    if not isinstance(code, str) or code not in WALLET_ERROR_CODES:
        raise InvalidAuthorizationResponse("the error response has an unknown error code", reason="response_malformed")
    description = params.get("error_description")
    if description is not None and (not isinstance(description, str) or len(description) > 1024):
        raise InvalidAuthorizationResponse("'error_description' must be a short string", reason="response_malformed")
    return AuthorizationResponse(None, state, code, description)


def _state(params: Mapping[str, Any], expected_state: str | None) -> str | None:
    """§14.3.2: "checking that the value of the received state parameter corresponds to a recent Authorization
    Request"; §5.3: it MUST be checked when a presentation without Holder Binding may be returned."""
    state = params.get("state")
    if expected_state is not None and state != expected_state:
        raise InvalidAuthorizationResponse("'state' does not belong to this request", reason="state_mismatch")
    if state is not None and not isinstance(state, str):
        raise InvalidAuthorizationResponse("'state' must be a string", reason="response_malformed")
    return state


def parse_authorization_response(
    form: Mapping[str, str],
    *,
    response_mode: str,
    key: ResponseEncryptionKey | None = None,
    expected_state: str | None = None,
    enc_values: Sequence[str] = SUPPORTED_ENC,
) -> AuthorizationResponse:
    """Parse the form POSTed to the Response URI (§8.2, §8.3.1) for a request with ``response_mode``.

    - ``direct_post.jwt``: the form's ``response`` is a JWE to this request's ``key`` (decrypted by
      :func:`~ssi.oid4vp.encryption.decrypt_response`); plaintext ``vp_token`` is refused (``response_not_encrypted``)
      — only an error response may come unencrypted (§8.3.1 "If a Wallet is unable to generate an encrypted
      response, it MAY send an error response without encryption");
    - ``direct_post``: ``vp_token`` is a JSON-encoded string (§8.2) next to ``state``;
    - ``state`` must equal ``expected_state`` (``state_mismatch``); an ``error`` gives an error response.
    """
    if response_mode == DIRECT_POST_JWT:
        if "response" not in form:
            if "error" in form:
                return _error_response(form, _state(form, expected_state))
            if "vp_token" in form:
                raise InvalidAuthorizationResponse(
                    "this request asked for an encrypted response (direct_post.jwt)", reason="response_not_encrypted"
                )
            raise InvalidAuthorizationResponse("the form has no 'response' (§8.3.1)", reason="response_malformed")
        if key is None:
            raise InvalidAuthorizationResponse(
                "no decryption key for this request", reason="response_decryption_failed"
            )
        params = decrypt_response(form["response"], key, enc_values=enc_values)
        state = _state(params, expected_state)
        if "error" in params:
            return _error_response(params, state)
        if "vp_token" not in params:
            raise InvalidAuthorizationResponse("the response has no 'vp_token' (§8.1)", reason="vp_token_missing")
        vp_token = parse_vp_token(params["vp_token"], error=InvalidAuthorizationResponse)
        return AuthorizationResponse(vp_token, state, encrypted=True)
    if response_mode != DIRECT_POST:
        raise Oid4vpError(f"response mode {response_mode!r} is not supported", reason="unsupported_response_mode")
    state = _state(form, expected_state)
    if "error" in form:
        return _error_response(form, state)
    if "vp_token" not in form:
        raise InvalidAuthorizationResponse("the form has no 'vp_token' (§8.1)", reason="vp_token_missing")
    return AuthorizationResponse(parse_vp_token(form["vp_token"], error=InvalidAuthorizationResponse), state)
