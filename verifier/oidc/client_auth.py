"""Client authentication at the token endpoint (OpenID Connect Core 1.0 §9): ``client_secret_basic`` and
``private_key_jwt``. A client uses the one method it registered (§9: "the Client MUST use … the method registered");
anything else is ``invalid_client``."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from infra.ephemeral import EphemeralStore
from ssi.clock import Clock
from ssi.encoding import b64url_decode, json_loads
from ssi.errors import InvalidClient, SsiError
from ssi.jose import decode_jwt, numeric_date, parse_compact
from ssi.keys import ALGORITHMS, PublicKey
from verifier.oidc.clients import PortalClient, PortalRegistry

__all__ = ["CLIENT_ASSERTION_TYPE", "authenticate_client"]

#: RFC 7523 §2.2.
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Longest accepted assertion lifetime (common clients, e.g. authlib, sign for one hour).
MAX_ASSERTION_LIFETIME = 3600.0 + 60.0


def _fail(description: str, reason: str) -> InvalidClient:
    return InvalidClient(description, reason=reason)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: HTTP Basic with client_id and secret "encoded using the application/x-www-form-urlencoded
    encoding algorithm" first."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _fail("malformed Basic credentials", "client_auth_malformed") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _fail("malformed Basic credentials", "client_auth_malformed")
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_client(
    form: Mapping[str, str],
    authorization: str | None,
    registry: PortalRegistry,
    *,
    audiences: frozenset[str],
    store: EphemeralStore,
    clock: Clock,
    skew: float = 60.0,
) -> PortalClient:
    """The authenticated client, or ``InvalidClient`` (HTTP 401) naming the failed rule in ``reason``."""
    basic = _basic_credentials(authorization) if authorization else None
    assertion = form.get("client_assertion")
    if basic is not None and assertion is not None:
        # RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
        raise _fail("more than one client authentication method", "client_auth_multiple")
    if basic is not None:
        client_id, secret = basic
        client = registry.get(client_id)
        if client is None or client.token_endpoint_auth_method != "client_secret_basic":  # noqa: S105 (a method name)
            raise _fail("client authentication failed", "client_auth_method")
        assert client.client_secret is not None
        if not hmac.compare_digest(secret.encode("utf-8"), client.client_secret.encode("utf-8")):
            raise _fail("client authentication failed", "client_secret_wrong")
        if form.get("client_id", client_id) != client_id:
            raise _fail("client_id differs from the authenticated client", "client_id_mismatch")
        return client
    if assertion is not None:
        return _private_key_jwt(form, assertion, registry, audiences=audiences, store=store, clock=clock, skew=skew)
    raise _fail("client authentication is required", "client_auth_missing")


def _private_key_jwt(
    form: Mapping[str, str],
    assertion: str,
    registry: PortalRegistry,
    *,
    audiences: frozenset[str],
    store: EphemeralStore,
    clock: Clock,
    skew: float,
) -> PortalClient:
    """OpenID Connect Core §9 ``private_key_jwt`` with the claims of RFC 7523 §3."""
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise _fail(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}", "client_assertion_type")
    try:
        _h, _p, _s, header = parse_compact(assertion, max_size=8192)
        unverified = _unverified_claims(assertion)
    except SsiError:
        raise _fail("the client assertion is malformed", "client_assertion_malformed") from None
    client_id = unverified.get("iss")
    client = registry.get(client_id) if isinstance(client_id, str) else None
    if client is None or client.token_endpoint_auth_method != "private_key_jwt":  # noqa: S105 (a method name)
        raise _fail("client authentication failed", "client_auth_method")
    if form.get("client_id", client.client_id) != client.client_id:
        raise _fail("client_id differs from the authenticated client", "client_id_mismatch")

    def key_for(hdr: Mapping[str, Any]) -> PublicKey:
        kid = hdr.get("kid")
        candidates = [k for k_id, k in client.jwks if kid is None or kid in (k_id, k.thumbprint())]
        if len(candidates) != 1:
            raise _fail("no single registered key matches the assertion", "client_assertion_key")
        return candidates[0]

    try:
        verified = decode_jwt(
            assertion,
            key_for(header),
            tuple(ALGORITHMS),
            clock=clock,
            skew=skew,
            require=("exp",),
        )
    except InvalidClient:
        raise
    except SsiError as exc:
        raise _fail(f"the client assertion does not verify: {exc.description}", "client_assertion_invalid") from None
    claims = verified.claims
    # RFC 7523 §3 (1)/(2): iss and sub are the client_id.
    if claims.get("sub") != client.client_id:
        raise _fail("the assertion's sub must be the client_id", "client_assertion_sub")
    # §3 (3): "The JWT MUST contain an aud (audience) claim containing a value that identifies the authorization
    # server as an intended audience" — our token endpoint URL or issuer identifier.
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(a, str) and a in audiences for a in auds):
        raise _fail("the assertion is not meant for this token endpoint", "client_assertion_aud")
    exp = numeric_date(claims, "exp", required=True)
    assert exp is not None
    now = clock()
    if exp - now > MAX_ASSERTION_LIFETIME:
        raise _fail("the assertion lives too long", "client_assertion_lifetime")
    # §3 (7): jti; OpenID Connect Core §9: "The JWT MAY contain a jti … to prevent the token from being reused".
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise _fail("the assertion needs a jti", "client_assertion_jti")
    if not store.remember_once("oidc_jti", f"{client.client_id}:{jti}"[:200], max(exp - now + skew, 1.0)):
        raise _fail("the assertion was used before", "client_assertion_replayed")
    return client


def _unverified_claims(token: str) -> dict[str, Any]:
    payload = json_loads(b64url_decode(token.split(".")[1]))
    if not isinstance(payload, dict):
        raise _fail("the client assertion is malformed", "client_assertion_malformed")
    return payload
