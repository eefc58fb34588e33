"""The Wallet's role in OpenID4VP 1.0: read the request link (§5, RFC 9101 §5.2), fetch and verify the Request Object
by its Client Identifier Prefix (§5.9.3, §5.10), and answer at the Response URI (§8.2, §8.3.1, §8.5).

No I/O happens here: the caller fetches the ``request_uri`` (GET, or POST with :func:`request_uri_post_form`) and
sends the forms this module builds.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.x509.oid import NameOID

from ssi.did import DidResolver, parse_did, parse_did_url
from ssi.encoding import json_dumps
from ssi.errors import (
    CertificateError,
    DidError,
    InvalidRequestObject,
    InvalidRequestUriMethod,
    JoseError,
    Oid4vpError,
    SsiError,
)
from ssi.jose import check_time_claims, parse_compact, verify_compact
from ssi.keys import PublicKey
from ssi.oid4vp._common import (
    CLIENT_ID_PREFIXES,
    DIRECT_POST_JWT,
    KNOWN_UNSUPPORTED_PREFIXES,
    REDIRECT_URI,
    REQUEST_OBJECT_TYP,
    SELF_ISSUED_AUDIENCE,
    X509_HASH,
    X509_SAN_DNS,
    AuthorizationRequest,
    ClientId,
    _https_url,
    check_url_safe,
)
from ssi.oid4vp.encryption import choose_encryption, encrypt_response
from ssi.x509 import dns_names, verify_x5c, x509_hash

__all__ = [
    "AnswerableInvalidRequest",
    "AuthorizationRequestLink",
    "ErrorDestination",
    "VerifiedRequest",
    "VerifierIdentity",
    "WalletRequestPolicy",
    "error_response_form",
    "parse_authorization_request_link",
    "request_uri_post_form",
    "response_form",
    "verify_request_object",
    "verify_unsigned_request",
]

MAX_LINK = 16 * 1024
MAX_REQUEST_OBJECT = 64 * 1024


@dataclass(frozen=True, slots=True)
class AuthorizationRequestLink:
    """The Authorization Request as the wallet received it (a link or QR code): by reference (``request_uri``, with
    ``request_uri_method``), by value (``request``, a Request Object), or — ``redirect_uri`` prefix only — plain
    ``parameters``."""

    client_id: str
    request_uri: str | None = None
    request_uri_method: str | None = None
    request: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)


def parse_authorization_request_link(link: str) -> AuthorizationRequestLink:
    """Parse ``openid4vp://?client_id=…&request_uri=…`` (also ``haip://`` and ``https://`` links, §9).

    RFC 6749 §3.1: parameters "MUST NOT be included more than once". §5.1 ``request_uri_method``: "MUST NOT be present
    if a request_uri parameter is not present"; a value other than ``get``/``post`` is the error
    ``invalid_request_uri_method`` (§8.5).
    """
    if not isinstance(link, str) or not link or len(link) > MAX_LINK:
        raise InvalidRequestObject("the authorization request link is empty or too long", reason="bad_link")
    try:
        parts = urlsplit(link.strip())
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False, max_num_fields=64)
    except ValueError:
        raise InvalidRequestObject("the authorization request link is malformed", reason="bad_link") from None
    if parts.scheme not in ("openid4vp", "haip", "https"):
        raise InvalidRequestObject("not an OpenID4VP authorization request link", reason="bad_link")
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise InvalidRequestObject(f"parameter {name!r} is repeated (RFC 6749 §3.1)", reason="repeated_parameter")
        params[name] = value
    if "client_id" not in params:
        raise InvalidRequestObject("the request has no 'client_id' (§5.2)", reason="missing_client_id")
    client_id = ClientId.parse(params["client_id"]).value
    method = params.get("request_uri_method")
    if method is not None:
        if "request_uri" not in params:
            raise InvalidRequestObject(
                "'request_uri_method' without 'request_uri' (§5.1)", reason="request_uri_method_without_request_uri"
            )
        if method not in ("get", "post"):
            raise InvalidRequestUriMethod("'request_uri_method' must be 'get' or 'post' (§5.1)")
    if "request_uri" in params and "request" in params:
        raise InvalidRequestObject(
            "'request' and 'request_uri' must not both be present (RFC 9101 §5)", reason="bad_link"
        )
    return AuthorizationRequestLink(
        client_id=client_id,
        request_uri=params.get("request_uri"),
        request_uri_method=method,
        request=params.get("request"),
        parameters=params,
    )


def request_uri_post_form(wallet_nonce: str | None, wallet_metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """The form of the POST to the Request URI (§5.10): ``wallet_nonce`` and ``wallet_metadata`` (a JSON string)."""
    form: dict[str, str] = {}
    if wallet_metadata is not None:
        form["wallet_metadata"] = json_dumps(dict(wallet_metadata))
    if wallet_nonce is not None:
        form["wallet_nonce"] = wallet_nonce
    return form


@dataclass(frozen=True)
class WalletRequestPolicy:
    """What the wallet trusts when it verifies a request: X.509 trust anchors for Verifiers using ``x509_san_dns``
    and ``x509_hash``, a DID resolver for ``decentralized_identifier``, and whether the unsigned ``redirect_uri``
    prefix is allowed (never, unless in development)."""

    x509_anchors: Sequence[x509.Certificate] = ()
    did_resolver: DidResolver | None = None
    allow_redirect_uri: bool = False
    allow_http_loopback: bool = False
    algorithms: Collection[str] = ("ES256",)
    skew: float = 60.0


@dataclass(frozen=True, slots=True)
class VerifierIdentity:
    """Who the Verifier is, as its Client Identifier Prefix established it: ``name`` is for the consent screen
    (certificate organisation or common name; the DID; the redirect URI)."""

    client_id: str
    prefix: str
    name: str
    authenticated: bool
    certificate: x509.Certificate | None = None


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    request: AuthorizationRequest
    verifier: VerifierIdentity


def _subject_name(certificate: x509.Certificate) -> str:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        values = certificate.subject.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return certificate.subject.rfc4514_string()


def _x509_key(header: Mapping[str, Any], policy: WalletRequestPolicy, now: float) -> tuple[PublicKey, x509.Certificate]:
    """§5.9.3: "The Wallet MUST validate the signature and the trust chain of the X.509 certificate"."""
    if "x5c" not in header:
        raise InvalidRequestObject("the Request Object has no x5c header (§5.9.3)", reason="missing_x5c")
    try:
        chain = verify_x5c(header["x5c"], policy.x509_anchors, now=now)
    except CertificateError as exc:
        raise InvalidRequestObject(f"the Verifier's certificate: {exc.description}", reason=exc.reason) from None
    return chain.public_key, chain.leaf


def _did_key(header: Mapping[str, Any], did: str, policy: WalletRequestPolicy) -> PublicKey:
    """§5.9.3 decentralized_identifier: "A public key to verify the signature MUST be obtained from the
    verificationMethod property of a DID Document ... identified by the kid in the JOSE Header"."""
    if policy.did_resolver is None:
        raise InvalidRequestObject("this wallet resolves no DIDs", reason="unsupported_client_id_prefix")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidRequestObject("the Request Object has no 'kid' DID URL (§5.9.3)", reason="missing_kid")
    try:
        if str(parse_did_url(kid).did) != str(parse_did(did)):
            raise InvalidRequestObject("'kid' names a key of another DID", reason="kid_not_of_client_did")
        return policy.did_resolver.find_verification_method(kid).public_key()
    except DidError as exc:
        raise InvalidRequestObject(f"the Verifier's DID: {exc.description}", reason=f"did_{exc.reason}") from None


def verify_request_object(
    token: str,
    link: AuthorizationRequestLink,
    policy: WalletRequestPolicy,
    *,
    wallet_nonce: str | None = None,
    now: float | None = None,
) -> VerifiedRequest:
    """Verify a Request Object fetched from ``link.request_uri`` (or given by value) and return its parameters.

    In order: §5 ``typ`` "MUST NOT process Request Objects where the typ Header Parameter is not present or does not
    have the value oauth-authz-req+jwt"; the signature by the key the Client Identifier Prefix designates (§5.9.3:
    ``x509_san_dns`` — trust chain and the identifier a dNSName SAN of the leaf; ``x509_hash`` — trust chain and the
    identifier the hash of the leaf; ``decentralized_identifier`` — the ``kid``'s key in the DID document); §5.10.1
    "The Client Identifier value in the client_id Authorization Request parameter and the Request Object client_id
    claim value MUST be identical, including the Client Identifier Prefix"; the ``wallet_nonce`` echoed (§5.10.1);
    ``aud`` (§5.8) and the time claims; then the parameters themselves (:meth:`AuthorizationRequest.from_parameters`).
    For ``x509_san_dns`` "the FQDN of the redirect_uri value MUST match the Client Identifier" (applied to
    ``response_uri``, §8.2), as the wallet keeps no list of trusted Client Identifiers.
    """
    now = time.time() if now is None else now
    if not isinstance(token, str) or len(token) > MAX_REQUEST_OBJECT:
        raise InvalidRequestObject("the Request Object is missing or too large", reason="request_object_too_large")
    try:
        _, _, _, header = parse_compact(token.strip(), max_size=MAX_REQUEST_OBJECT)
    except SsiError as exc:
        raise InvalidRequestObject(
            f"the Request Object is not a JWS: {exc.description}", reason="request_malformed"
        ) from None
    if header.get("typ") != REQUEST_OBJECT_TYP:
        raise InvalidRequestObject("Request Object 'typ' must be oauth-authz-req+jwt (§5)", reason="request_wrong_typ")
    client_id = ClientId.parse(link.client_id)
    if client_id.prefix not in CLIENT_ID_PREFIXES or client_id.prefix == REDIRECT_URI:
        # §5.9.3: redirect_uri "cannot be signed"; openid_federation/verifier_attestation are not implemented; origin
        # "MUST NOT" be accepted; a pre-registered client is unknown to this wallet.
        raise InvalidRequestObject(
            f"the Client Identifier Prefix {client_id.prefix!r} is not supported for signed requests (§8.5)",
            reason="unsupported_client_id_prefix",
        )
    certificate = None
    if client_id.prefix in (X509_SAN_DNS, X509_HASH):
        key, certificate = _x509_key(header, policy, now)
        if client_id.prefix == X509_HASH and x509_hash(certificate) != client_id.identifier:
            raise InvalidRequestObject(
                "x509_hash does not match the leaf certificate (§5.9.3)", reason="client_id_x509_hash_mismatch"
            )
        if client_id.prefix == X509_SAN_DNS and client_id.identifier not in dns_names(certificate):
            raise InvalidRequestObject(
                "the Client Identifier is no dNSName SAN of the leaf certificate (§5.9.3)",
                reason="client_id_san_mismatch",
            )
        name = _subject_name(certificate)
    else:
        key = _did_key(header, client_id.identifier, policy)
        name = client_id.identifier
    try:
        verified = verify_compact(token.strip(), key, policy.algorithms, max_size=MAX_REQUEST_OBJECT)
    except JoseError as exc:
        raise InvalidRequestObject(
            f"Request Object signature: {exc.description}", reason="request_bad_signature"
        ) from None
    try:
        claims = verified.json_payload()
    except SsiError:
        raise InvalidRequestObject("the Request Object payload is not JSON", reason="request_malformed") from None
    if not isinstance(claims, dict):
        raise InvalidRequestObject("the Request Object payload must be a JSON object", reason="request_malformed")
    if claims.get("client_id") != client_id.value:
        raise InvalidRequestObject(
            "'client_id' of the link and of the Request Object differ (§5.10.1)", reason="client_id_mismatch"
        )
    if wallet_nonce is not None and claims.get("wallet_nonce") != wallet_nonce:
        # §5.10.1: "If it does not, the Wallet MUST terminate request processing."
        raise InvalidRequestObject(
            "the Request Object does not carry our wallet_nonce (§5.10.1)", reason="wallet_nonce_mismatch"
        )
    if "aud" in claims and claims["aud"] != SELF_ISSUED_AUDIENCE:
        raise InvalidRequestObject(
            "the Request Object is meant for another wallet (aud, §5.8)", reason="request_wrong_aud"
        )
    try:
        check_time_claims(claims, now=now, skew=policy.skew)
    except JoseError as exc:
        raise InvalidRequestObject(f"Request Object: {exc.description}", reason=f"request_{exc.reason}") from None
    try:
        request = AuthorizationRequest.from_parameters(claims, allow_http_loopback=policy.allow_http_loopback)
    except InvalidRequestObject as exc:
        destination = _error_destination(claims, client_id, policy)
        if destination is None:
            raise
        raise AnswerableInvalidRequest(exc.description, reason=exc.reason, destination=destination) from None
    if client_id.prefix == X509_SAN_DNS and urlsplit(request.response_uri).hostname != client_id.identifier:
        raise InvalidRequestObject(
            "the response_uri's host is not the Client Identifier (§5.9.3 x509_san_dns)",
            reason="response_uri_not_client_id",
        )
    authenticated = VerifierIdentity(client_id.value, client_id.prefix or "", name, True, certificate)
    return VerifiedRequest(request, authenticated)


@dataclass(frozen=True, slots=True)
class ErrorDestination:
    """Where an authenticated Verifier receives answers (its signed ``response_uri`` and ``state``), so the Wallet can
    return an error response about the Verifier's own invalid request."""

    response_uri: str
    state: str | None


class AnswerableInvalidRequest(InvalidRequestObject):
    """A signed, authenticated Request Object (signature, Client Identifier, ``wallet_nonce``, ``aud``, times all
    checked) whose parameters break a rule — e.g. §8.2: "If the redirect_uri Authorization Request parameter is
    present when the Response Mode is direct_post, the Wallet MUST return an invalid_request Authorization Response
    error"; §8.4: "If the Wallet does not support transaction_data parameter, it MUST return an error". ``destination``
    says where (:func:`error_response_form` with ``state``)."""

    def __init__(self, description: str, *, reason: str | None = None, destination: ErrorDestination) -> None:
        super().__init__(description, reason=reason)
        self.destination = destination


def _error_destination(
    claims: Mapping[str, Any], client_id: ClientId, policy: WalletRequestPolicy
) -> ErrorDestination | None:
    """The signed ``response_uri`` (https, or loopback http in development; for ``x509_san_dns`` on the Client
    Identifier's host) and a URL-safe ``state``; ``None`` when there is nowhere safe to answer."""
    try:
        response_uri = _https_url(
            claims.get("response_uri"), "response_uri", allow_http_loopback=policy.allow_http_loopback
        )
        state = check_url_safe(claims["state"], "state") if "state" in claims else None
    except InvalidRequestObject:
        return None
    if client_id.prefix == X509_SAN_DNS and urlsplit(response_uri).hostname != client_id.identifier:
        return None
    return ErrorDestination(response_uri, state)


def verify_unsigned_request(link: AuthorizationRequestLink, policy: WalletRequestPolicy) -> VerifiedRequest:
    """An unsigned request with the ``redirect_uri`` prefix, parameters in the link (§5.9.3: "Requests using the
    redirect_uri Client Identifier Prefix cannot be signed"). Refused unless ``policy.allow_redirect_uri`` — it
    authenticates nobody. The Client Identifier must be the Response URI (§5.9.3: "the original Client Identifier
    part ... is the Verifier's Redirect URI (or Response URI when Response Mode direct_post is used)")."""
    client_id = ClientId.parse(link.client_id)
    if client_id.prefix != REDIRECT_URI:
        if client_id.prefix in KNOWN_UNSUPPORTED_PREFIXES or client_id.prefix not in CLIENT_ID_PREFIXES:
            raise InvalidRequestObject("unsupported Client Identifier Prefix", reason="unsupported_client_id_prefix")
        raise InvalidRequestObject(
            f"a request with prefix {client_id.prefix!r} must be signed (§8.5)", reason="unsigned_request"
        )
    if not policy.allow_redirect_uri:
        raise InvalidRequestObject(
            "unsigned requests (redirect_uri prefix) are not allowed by this wallet",
            reason="unsupported_client_id_prefix",
        )
    params = {k: v for k, v in link.parameters.items() if k not in ("request_uri", "request_uri_method", "request")}
    request = AuthorizationRequest.from_parameters(params, allow_http_loopback=policy.allow_http_loopback)
    if request.response_uri != client_id.identifier:
        raise InvalidRequestObject(
            "a redirect_uri Client Identifier must be the response_uri (§5.9.3)", reason="response_uri_not_client_id"
        )
    return VerifiedRequest(request, VerifierIdentity(client_id.value, REDIRECT_URI, client_id.identifier, False))


def response_form(
    request: AuthorizationRequest, vp_token: Mapping[str, Sequence[str | Mapping[str, Any]]]
) -> dict[str, str]:
    """The form to POST to ``response_uri``: for ``direct_post`` ``vp_token`` (JSON-encoded, §8.2) and ``state``;
    for ``direct_post.jwt`` one ``response``, a JWE of both to the Verifier's key (§8.3.1)."""
    params: dict[str, Any] = {"vp_token": {k: list(v) for k, v in vp_token.items()}}
    if request.state is not None:
        params["state"] = request.state
    if request.response_mode == DIRECT_POST_JWT:
        jwk, enc = choose_encryption(request.client_metadata)
        return {"response": encrypt_response(params, jwk, enc)}
    return {k: v if isinstance(v, str) else json_dumps(v) for k, v in params.items()}


def error_response_form(
    request: AuthorizationRequest | None,
    error: str,
    description: str | None = None,
    *,
    state: str | None = None,
    encrypt: bool = True,
) -> dict[str, str]:
    """An Authorization Error Response (§8.5, RFC 6749 §4.1.2.1) for the Response URI, e.g. ``access_denied`` when
    the user declines or the wallet holds nothing that satisfies the query. Encrypted for ``direct_post.jwt`` when
    the Verifier's key is usable, else plain (§8.3.1 allows that for errors)."""
    params: dict[str, str] = {"error": error}
    if description:
        params["error_description"] = description
    chosen_state = request.state if request is not None and request.state is not None else state
    if chosen_state is not None:
        params["state"] = chosen_state
    if encrypt and request is not None and request.response_mode == DIRECT_POST_JWT:
        try:
            jwk, enc = choose_encryption(request.client_metadata)
            return {"response": encrypt_response(params, jwk, enc)}
        except Oid4vpError:
            pass
    return params
