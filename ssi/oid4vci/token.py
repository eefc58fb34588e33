"""Token Endpoint messages (OpenID4VCI 1.0 §6): the Token Request of the Pre-Authorized Code Flow (§6.1), its
``authorization_details`` (RFC 9396, §5.1.1 type ``openid_credential``), the Token Response (§6.2) and the error
codes of §6.3.

The request arrives as ``application/x-www-form-urlencoded`` parameters (RFC 6749 §4.1.3); :func:`parse_token_request`
takes them as ``(name, value)`` pairs so that a repeated parameter is seen (RFC 6749 §3.2: "Request and response
parameters MUST NOT be included more than once").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ssi.encoding import json_dumps, json_loads
from ssi.errors import EncodingError, InvalidAuthorizationDetails, Oid4vciError, UnsupportedGrantType
from ssi.oid4vci._common import (
    MAX_CODE_LENGTH,
    MAX_IDENTIFIER_LENGTH,
    MAX_TX_CODE_LENGTH,
    OPENID_CREDENTIAL,
    PRE_AUTHORIZED_CODE_GRANT,
    TOKEN_TYPE_DPOP,
    check_string,
)

__all__ = ["AuthorizationDetail", "TokenRequest", "TokenResponse", "parse_authorization_details", "parse_token_request"]

#: Bounds: a token request is a few hundred bytes.
MAX_PARAMETERS = 32
MAX_AUTHORIZATION_DETAILS = 16
MAX_AUTHORIZATION_DETAILS_SIZE = 8 * 1024
#: Parameters this module reads; they must appear at most once (others are ignored, §6.1: "The Authorization Server
#: MUST ignore any unrecognized parameters").
_SINGLE = ("grant_type", "pre-authorized_code", "tx_code", "authorization_details", "client_id", "scope", "resource")


@dataclass(frozen=True, slots=True)
class AuthorizationDetail:
    """RFC 9396 §2 with OpenID4VCI §5.1.1: ``type`` ``openid_credential`` and ``credential_configuration_id``
    ("REQUIRED ... String specifying a unique identifier of the Credential being described in the
    credential_configurations_supported map"); ``claims`` and ``locations`` are kept."""

    credential_configuration_id: str
    claims: tuple[Mapping[str, Any], ...] = ()
    locations: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": OPENID_CREDENTIAL,
            "credential_configuration_id": self.credential_configuration_id,
        }
        if self.claims:
            out["claims"] = [dict(c) for c in self.claims]
        if self.locations:
            out["locations"] = list(self.locations)
        return out


def parse_authorization_details(text: str) -> tuple[AuthorizationDetail, ...]:
    """RFC 9396 §2: "a JSON array of JSON objects", each with a ``type``; this issuer knows ``openid_credential``
    only (§5: an unknown type is ``invalid_authorization_details``)."""
    if len(text) > MAX_AUTHORIZATION_DETAILS_SIZE:
        raise InvalidAuthorizationDetails(
            "authorization_details is too large", reason="authorization_details_too_large"
        )
    try:
        value = json_loads(text)
    except EncodingError as exc:
        raise InvalidAuthorizationDetails(
            f"authorization_details is not JSON: {exc.description}", reason="malformed_authorization_details"
        ) from None
    if not isinstance(value, list) or not value or len(value) > MAX_AUTHORIZATION_DETAILS:
        raise InvalidAuthorizationDetails(
            "authorization_details must be a non-empty JSON array", reason="malformed_authorization_details"
        )
    details = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidAuthorizationDetails(
                "each authorization_details entry must be an object", reason="malformed_authorization_details"
            )
        if item.get("type") != OPENID_CREDENTIAL:
            raise InvalidAuthorizationDetails(
                "only authorization_details of type openid_credential are supported", reason="unknown_type"
            )
        config_id = item.get("credential_configuration_id")
        if not isinstance(config_id, str) or not config_id or len(config_id) > MAX_IDENTIFIER_LENGTH:
            raise InvalidAuthorizationDetails(
                "openid_credential needs a credential_configuration_id string (§5.1.1)",
                reason="missing_credential_configuration_id",
            )
        claims = item.get("claims", [])
        locations = item.get("locations", [])
        if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
            raise InvalidAuthorizationDetails("claims must be an array of objects", reason="malformed_claims")
        if not isinstance(locations, list) or not all(isinstance(loc, str) for loc in locations):
            raise InvalidAuthorizationDetails("locations must be an array of strings", reason="malformed_locations")
        details.append(AuthorizationDetail(config_id, tuple(claims), tuple(locations)))
    return tuple(details)


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A Token Request with the Pre-Authorized Code grant (§6.1)."""

    pre_authorized_code: str
    tx_code: str | None = None
    authorization_details: tuple[AuthorizationDetail, ...] = ()
    client_id: str | None = None

    def to_form(self) -> dict[str, str]:
        """The request as form parameters (for clients)."""
        form = {"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": self.pre_authorized_code}
        if self.tx_code is not None:
            form["tx_code"] = self.tx_code
        if self.authorization_details:
            form["authorization_details"] = json_dumps([d.to_json() for d in self.authorization_details])
        if self.client_id is not None:
            form["client_id"] = self.client_id
        return form


def parse_token_request(pairs: Iterable[tuple[str, str]]) -> TokenRequest:
    """Parse Token Request parameters.

    - RFC 6749 §3.2: a parameter included more than once → ``invalid_request``;
    - RFC 6749 §4.1.3 / §5.2: ``grant_type`` REQUIRED; a grant type other than the Pre-Authorized Code →
      ``unsupported_grant_type`` (this authorization server serves no other grant);
    - §6.1 ``pre-authorized_code``: "This parameter MUST be present if the grant_type is
      urn:ietf:params:oauth:grant-type:pre-authorized_code";
    - §6.1 ``tx_code``: "String value containing a Transaction Code value itself" (whether it must be present is the
      server's decision: §6.3 ``invalid_request`` either way).
    """
    values: dict[str, str] = {}
    for count, (name, value) in enumerate(pairs, start=1):
        if count > MAX_PARAMETERS:
            raise Oid4vciError("too many token request parameters", reason="too_many_parameters")
        if name in _SINGLE:
            if name in values:
                raise Oid4vciError(
                    f"parameter {name} is included more than once (RFC 6749 §3.2)", reason="repeated_parameter"
                )
            values[name] = value
    grant_type = values.get("grant_type")
    if not grant_type:
        raise Oid4vciError("grant_type is REQUIRED (RFC 6749 §4.1.3)", reason="missing_grant_type")
    if grant_type != PRE_AUTHORIZED_CODE_GRANT:
        raise UnsupportedGrantType(
            "only the pre-authorized_code grant is supported by this authorization server",
            reason="unsupported_grant_type",
        )
    if "pre-authorized_code" not in values:
        raise Oid4vciError(
            "pre-authorized_code is REQUIRED for this grant (§6.1)", reason="missing_pre_authorized_code"
        )
    code = check_string(
        values["pre-authorized_code"], "pre-authorized_code", max_length=MAX_CODE_LENGTH, error=Oid4vciError
    )
    tx_code = values.get("tx_code")
    if tx_code is not None and len(tx_code) > MAX_TX_CODE_LENGTH:
        raise Oid4vciError("tx_code is too long", reason="malformed_tx_code")
    details: tuple[AuthorizationDetail, ...] = ()
    if "authorization_details" in values:
        details = parse_authorization_details(values["authorization_details"])
    client_id = values.get("client_id")
    if client_id is not None:
        check_string(client_id, "client_id", max_length=MAX_IDENTIFIER_LENGTH, error=Oid4vciError)
    return TokenRequest(pre_authorized_code=code, tx_code=tx_code, authorization_details=details, client_id=client_id)


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """§6.2 Successful Token Response (RFC 6749 §5.1): ``access_token``, ``token_type`` (``DPoP`` for DPoP-bound
    tokens, RFC 9449 §5), ``expires_in`` and, when ``authorization_details`` were requested ("REQUIRED when the
    authorization_details parameter ... is used in either the Authorization Request or Token Request"), each with
    its ``credential_identifiers``."""

    access_token: str
    expires_in: int
    token_type: str = TOKEN_TYPE_DPOP
    authorization_details: Sequence[tuple[AuthorizationDetail, Sequence[str]]] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }
        if self.authorization_details:
            out["authorization_details"] = [
                {**detail.to_json(), "credential_identifiers": list(identifiers)}
                for detail, identifiers in self.authorization_details
            ]
        return out
