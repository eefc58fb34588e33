"""What both roles of OpenID for Verifiable Presentations 1.0 share: Client Identifiers with their prefixes (§5.9),
the Authorization Request parameters (§5, §8.2) and the VP Token (§8.1)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ssi.dcql import DcqlQuery
from ssi.encoding import json_dumps, json_loads
from ssi.errors import DcqlError, EncodingError, InvalidRequestObject, Oid4vpError

__all__ = [
    "CLIENT_ID_PREFIXES",
    "DIRECT_POST",
    "DIRECT_POST_JWT",
    "REQUEST_OBJECT_TYP",
    "REQUEST_OBJECT_MEDIA_TYPE",
    "SELF_ISSUED_AUDIENCE",
    "AuthorizationRequest",
    "ClientId",
    "check_url_safe",
    "parse_vp_token",
]

#: §5: "Verifiers MUST include the typ Header Parameter in Request Objects with the value oauth-authz-req+jwt".
REQUEST_OBJECT_TYP = "oauth-authz-req+jwt"
#: §5.10.1: "The Request URI response MUST be an HTTP response with the content type application/oauth-authz-req+jwt".
REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
#: §5.8: "the aud claim MUST be "https://self-issued.me/v2", when Static Discovery metadata is used".
SELF_ISSUED_AUDIENCE = "https://self-issued.me/v2"
VP_TOKEN = "vp_token"  # noqa: S105 - a parameter name, not a secret
DIRECT_POST = "direct_post"
DIRECT_POST_JWT = "direct_post.jwt"
RESPONSE_MODES = frozenset({DIRECT_POST, DIRECT_POST_JWT})

REDIRECT_URI = "redirect_uri"
X509_SAN_DNS = "x509_san_dns"
X509_HASH = "x509_hash"
DECENTRALIZED_IDENTIFIER = "decentralized_identifier"
#: §5.9.3, the prefixes govssi implements (``redirect_uri`` for development only, off unless allowed).
CLIENT_ID_PREFIXES = frozenset({REDIRECT_URI, X509_SAN_DNS, X509_HASH, DECENTRALIZED_IDENTIFIER})
#: §5.9.3 prefixes defined by OpenID4VP that govssi does not implement; ``origin`` "MUST NOT" be accepted.
KNOWN_UNSUPPORTED_PREFIXES = frozenset({"openid_federation", "verifier_attestation", "origin"})

#: §5.2 nonce / state: "MUST only contain ASCII URL safe characters (uppercase and lowercase letters, decimal digits,
#: hyphen, period, underscore, and tilde)".
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")
MAX_PARAMETER = 512
MAX_VP_TOKEN_ENTRIES = 32
MAX_PRESENTATIONS = 16
MAX_PRESENTATION_SIZE = 128 * 1024


def check_url_safe(value: Any, name: str, *, error: type[Oid4vpError] = InvalidRequestObject) -> str:
    """§5.2: ``nonce`` and ``state`` values "MUST only contain ASCII URL safe characters"."""
    if not isinstance(value, str) or not value or len(value) > MAX_PARAMETER or not _URL_SAFE.fullmatch(value):
        raise error(f"'{name}' must be a non-empty string of ASCII URL safe characters (§5.2)", reason=f"bad_{name}")
    return value


@dataclass(frozen=True, slots=True)
class ClientId:
    """A Client Identifier and its prefix (§5.9.1): "The Client Identifier Prefix is defined as the string before the
    (first) : character". ``prefix`` is ``None`` for a pre-registered client (§5.9.2, no ``:``)."""

    value: str
    prefix: str | None
    identifier: str

    @classmethod
    def parse(cls, value: Any) -> ClientId:
        if not isinstance(value, str) or not value or len(value) > 2048:
            raise InvalidRequestObject("'client_id' must be a non-empty string", reason="bad_client_id")
        prefix, sep, rest = value.partition(":")
        if not sep:
            return cls(value, None, value)
        if not rest:
            raise InvalidRequestObject("the Client Identifier after its prefix is empty", reason="bad_client_id")
        return cls(value, prefix, rest)

    def __str__(self) -> str:
        return self.value


def _json_object(value: Any, name: str) -> dict[str, Any]:
    """§5.1: "parameters containing objects are transferred as JSON-serialized strings" in URLs and forms; inside a
    Request Object they are JSON objects."""
    if isinstance(value, str):
        try:
            value = json_loads(value)
        except EncodingError:
            raise InvalidRequestObject(f"'{name}' is not valid JSON", reason=f"bad_{name}") from None
    if not isinstance(value, dict):
        raise InvalidRequestObject(f"'{name}' must be a JSON object", reason=f"bad_{name}")
    return value


def _https_url(value: Any, name: str, *, allow_http_loopback: bool) -> str:
    from urllib.parse import urlsplit

    if not isinstance(value, str) or not value or len(value) > 2048:
        raise InvalidRequestObject(f"'{name}' must be a URL", reason=f"bad_{name}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidRequestObject(f"'{name}' is not a valid URL", reason=f"bad_{name}") from None
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.fragment or not parts.hostname:
        raise InvalidRequestObject(f"'{name}' must be an absolute URL without fragment", reason=f"bad_{name}")
    if parts.scheme != "https" and not (allow_http_loopback and loopback and parts.scheme == "http"):
        raise InvalidRequestObject(f"'{name}' must be an https URL (§14.6)", reason=f"insecure_{name}")
    return value


@dataclass(frozen=True)
class AuthorizationRequest:
    """The Authorization Request parameters of a presentation (§5) with Response Mode ``direct_post`` or
    ``direct_post.jwt`` (§8.2, §8.3.1) and a DCQL query — what the Verifier signs into its Request Object and what the
    Wallet acts on after verifying it.

    ``extra`` keeps other parameters (``iss``, ``aud``, ``iat``, ``exp``, …) as received.
    """

    client_id: str
    response_mode: str
    response_uri: str
    nonce: str
    dcql_query: DcqlQuery
    state: str | None = None
    client_metadata: dict[str, Any] | None = None
    wallet_nonce: str | None = None
    response_type: str = VP_TOKEN
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_claims(self) -> dict[str, Any]:
        """The Request Object claims (RFC 9101 §4) for these parameters."""
        claims: dict[str, Any] = {
            "client_id": self.client_id,
            "response_type": self.response_type,
            "response_mode": self.response_mode,
            "response_uri": self.response_uri,
            "nonce": self.nonce,
            "dcql_query": self.dcql_query.raw or self.dcql_query.to_json(),
        }
        if self.state is not None:
            claims["state"] = self.state
        if self.client_metadata is not None:
            claims["client_metadata"] = self.client_metadata
        if self.wallet_nonce is not None:
            claims["wallet_nonce"] = self.wallet_nonce
        return claims

    def to_query_parameters(self) -> dict[str, str]:
        """The parameters as URL query parameters (§5.1: objects as JSON-serialized strings) — only for the unsigned
        ``redirect_uri`` prefix (§5.9.3), where there is no Request Object."""
        return {k: v if isinstance(v, str) else json_dumps(v) for k, v in self.to_claims().items()}

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any], *, allow_http_loopback: bool = False) -> AuthorizationRequest:
        """Validate Authorization Request parameters (from a verified Request Object, or from the URL for the
        ``redirect_uri`` prefix). Raises :class:`InvalidRequestObject` (``invalid_request``)."""
        client_id = ClientId.parse(params.get("client_id")).value
        # §5.6: Response Type vp_token; §8.2: response_mode REQUIRED
        if params.get("response_type") != VP_TOKEN:
            raise InvalidRequestObject("'response_type' must be 'vp_token' (§5.6)", reason="unsupported_response_type")
        mode = params.get("response_mode")
        if mode not in RESPONSE_MODES:
            raise InvalidRequestObject(
                "'response_mode' must be direct_post or direct_post.jwt", reason="unsupported_response_mode"
            )
        # §8.2 response_uri: "REQUIRED when the Response Mode direct_post is used ... If the redirect_uri
        # Authorization Request parameter is present when the Response Mode is direct_post, the Wallet MUST return
        # an invalid_request Authorization Response error."
        if "redirect_uri" in params:
            raise InvalidRequestObject(
                "'redirect_uri' must not be present with Response Mode direct_post (§8.2)",
                reason="redirect_uri_present",
            )
        if "response_uri" not in params:
            raise InvalidRequestObject(
                "'response_uri' is REQUIRED with direct_post (§8.2)", reason="missing_response_uri"
            )
        response_uri = _https_url(params["response_uri"], "response_uri", allow_http_loopback=allow_http_loopback)
        # §5.2 nonce: REQUIRED
        if "nonce" not in params:
            raise InvalidRequestObject("'nonce' is REQUIRED (§5.2)", reason="missing_nonce")
        nonce = check_url_safe(params["nonce"], "nonce")
        state = check_url_safe(params["state"], "state") if "state" in params else None
        # §5.1 dcql_query: "Either a dcql_query or a scope parameter representing a DCQL Query MUST be present ...
        # but not both." Scopes are not supported (no scope-to-query mapping is configured).
        if "scope" in params and "dcql_query" in params:
            raise InvalidRequestObject(
                "'dcql_query' and 'scope' must not both be present (§5.1)", reason="dcql_and_scope"
            )
        if "dcql_query" not in params:
            if "scope" in params:
                raise InvalidRequestObject("no scope value is known to this wallet", reason="invalid_scope")
            raise InvalidRequestObject("'dcql_query' is REQUIRED (§5.1)", reason="missing_dcql_query")
        try:
            # §6.1: "Wallets SHOULD ignore such duplicate claim queries."
            query = DcqlQuery.parse(_json_object(params["dcql_query"], "dcql_query"), ignore_duplicate_claims=True)
        except DcqlError as exc:
            raise InvalidRequestObject(f"'dcql_query': {exc.description}", reason=exc.reason) from None
        # §5.1 transaction_data: "Wallets that do not support this parameter MUST reject requests that contain it."
        if "transaction_data" in params:
            raise InvalidRequestObject("transaction_data is not supported by this wallet", reason="transaction_data")
        metadata = _json_object(params["client_metadata"], "client_metadata") if "client_metadata" in params else None
        wallet_nonce = params.get("wallet_nonce")
        if wallet_nonce is not None and not isinstance(wallet_nonce, str):
            raise InvalidRequestObject("'wallet_nonce' must be a string", reason="bad_wallet_nonce")
        known = {
            "client_id",
            "response_type",
            "response_mode",
            "response_uri",
            "nonce",
            "state",
            "dcql_query",
            "client_metadata",
            "wallet_nonce",
        }
        return cls(
            client_id=client_id,
            response_mode=mode,
            response_uri=response_uri,
            nonce=nonce,
            dcql_query=query,
            state=state,
            client_metadata=metadata,
            wallet_nonce=wallet_nonce,
            extra={k: v for k, v in params.items() if k not in known},
        )


def parse_vp_token(value: Any, *, error: type[Oid4vpError]) -> dict[str, list[str | dict[str, Any]]]:
    """§8.1 ``vp_token``: "a JSON-encoded object containing entries where the key is the id value used for a
    Credential Query in the DCQL query and the value is an array of one or more Presentations"; each Presentation "is
    represented as a string or object". Bounded in entries, presentations and size."""
    if isinstance(value, str):
        if len(value) > MAX_PRESENTATIONS * MAX_PRESENTATION_SIZE:
            raise error("'vp_token' is too large", reason="vp_token_too_large")
        try:
            value = json_loads(value)
        except EncodingError:
            raise error("'vp_token' is not valid JSON (§8.1)", reason="vp_token_malformed") from None
    if not isinstance(value, dict):
        raise error("'vp_token' must be a JSON object keyed by Credential Query id (§8.1)", reason="vp_token_malformed")
    if len(value) > MAX_VP_TOKEN_ENTRIES:
        raise error("'vp_token' has too many entries", reason="vp_token_too_large")
    out: dict[str, list[str | dict[str, Any]]] = {}
    for key, items in value.items():
        if not isinstance(items, list) or not items:
            raise error(f"'vp_token' entry {key!r} must be a non-empty array (§8.1)", reason="vp_token_malformed")
        if len(items) > MAX_PRESENTATIONS:
            raise error(f"'vp_token' entry {key!r} has too many presentations", reason="vp_token_too_large")
        for item in items:
            if isinstance(item, str):
                if not item or len(item) > MAX_PRESENTATION_SIZE:
                    raise error("a presentation is empty or too large", reason="vp_token_too_large")
            elif not isinstance(item, dict):
                raise error("a presentation must be a string or an object (§8.1)", reason="vp_token_malformed")
        out[key] = list(items)
    return out
