"""Credential Offer (OpenID4VCI 1.0 §4.1): the object, and the ``openid-credential-offer://`` links that carry it by
value (``credential_offer``, §4.1.2) or by reference (``credential_offer_uri``, §4.1.3).

Only the Pre-Authorized Code grant is modelled with its parameters (§4.1.1); an ``authorization_code`` grant object
is kept as given (``issuer_state``, ``authorization_server``) so that parsing an offer never drops data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

from ssi.encoding import json_dumps, json_loads
from ssi.errors import EncodingError, Oid4vciError
from ssi.oid4vci._common import (
    CREDENTIAL_OFFER_SCHEME,
    MAX_CODE_LENGTH,
    MAX_IDENTIFIER_LENGTH,
    MAX_TX_CODE_DESCRIPTION,
    PRE_AUTHORIZED_CODE_GRANT,
    check_credential_issuer_identifier,
    check_https_url,
    check_string,
)

__all__ = ["CredentialOffer", "PreAuthorizedCodeGrant", "TxCode", "parse_credential_offer_link"]

#: A Credential Offer is small; a link or document beyond this is not one.
MAX_OFFER_SIZE = 16 * 1024
#: More offered configurations than this in one offer is refused.
MAX_CONFIGURATION_IDS = 32


@dataclass(frozen=True, slots=True)
class TxCode:
    """§4.1.1 ``tx_code``: "Object indicating that a Transaction Code is required if present, even if empty"."""

    input_mode: Literal["numeric", "text"] | None = None
    length: int | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        # "input_mode: OPTIONAL ... Possible values are numeric (only digits) and text (any characters)."
        if self.input_mode is not None and self.input_mode not in ("numeric", "text"):
            raise Oid4vciError("tx_code.input_mode must be 'numeric' or 'text'", reason="malformed_tx_code")
        # "length: OPTIONAL. Integer specifying the length of the Transaction Code."
        if self.length is not None and (
            isinstance(self.length, bool) or not isinstance(self.length, int) or not 1 <= self.length <= 64
        ):
            raise Oid4vciError("tx_code.length must be an integer between 1 and 64", reason="malformed_tx_code")
        # "description ... The length of the string MUST NOT exceed 300 characters."
        if self.description is not None and (
            not isinstance(self.description, str) or len(self.description) > MAX_TX_CODE_DESCRIPTION
        ):
            raise Oid4vciError(
                "tx_code.description must be a string of at most 300 characters", reason="malformed_tx_code"
            )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.input_mode is not None:
            out["input_mode"] = self.input_mode
        if self.length is not None:
            out["length"] = self.length
        if self.description is not None:
            out["description"] = self.description
        return out

    @classmethod
    def from_json(cls, obj: Any) -> TxCode:
        if not isinstance(obj, Mapping):
            raise Oid4vciError("tx_code must be a JSON object", reason="malformed_tx_code")
        return cls(input_mode=obj.get("input_mode"), length=obj.get("length"), description=obj.get("description"))


@dataclass(frozen=True, slots=True)
class PreAuthorizedCodeGrant:
    """§4.1.1, grant type ``urn:ietf:params:oauth:grant-type:pre-authorized_code``."""

    pre_authorized_code: str
    tx_code: TxCode | None = None
    authorization_server: str | None = None

    def __post_init__(self) -> None:
        # "pre-authorized_code: REQUIRED. ... This code MUST be short lived and single use."
        check_string(self.pre_authorized_code, "pre-authorized_code", max_length=MAX_CODE_LENGTH, error=Oid4vciError)
        if self.authorization_server is not None:
            check_string(self.authorization_server, "authorization_server", max_length=2048, error=Oid4vciError)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pre-authorized_code": self.pre_authorized_code}
        if self.tx_code is not None:
            out["tx_code"] = self.tx_code.to_json()
        if self.authorization_server is not None:
            out["authorization_server"] = self.authorization_server
        return out

    @classmethod
    def from_json(cls, obj: Any) -> PreAuthorizedCodeGrant:
        if not isinstance(obj, Mapping):
            raise Oid4vciError("the pre-authorized_code grant must be a JSON object", reason="malformed_grants")
        if "pre-authorized_code" not in obj:
            raise Oid4vciError("the grant lacks the REQUIRED pre-authorized_code (§4.1.1)", reason="malformed_grants")
        tx = obj.get("tx_code")
        return cls(
            pre_authorized_code=obj["pre-authorized_code"],
            tx_code=None if tx is None else TxCode.from_json(tx),
            authorization_server=obj.get("authorization_server"),
        )


@dataclass(frozen=True, slots=True)
class CredentialOffer:
    """§4.1.1 Credential Offer Parameters."""

    credential_issuer: str
    credential_configuration_ids: tuple[str, ...]
    pre_authorized_code: PreAuthorizedCodeGrant | None = None
    #: Other grants (e.g. ``authorization_code``) as received, name → object.
    other_grants: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # "credential_configuration_ids: REQUIRED. A non-empty array of unique strings".
        ids = self.credential_configuration_ids
        if not isinstance(ids, tuple) or not ids:
            raise Oid4vciError(
                "credential_configuration_ids must be a non-empty array", reason="malformed_credential_offer"
            )
        if len(ids) > MAX_CONFIGURATION_IDS:
            raise Oid4vciError("too many credential_configuration_ids", reason="malformed_credential_offer")
        for item in ids:
            check_string(item, "credential_configuration_id", max_length=MAX_IDENTIFIER_LENGTH, error=Oid4vciError)
        if len(set(ids)) != len(ids):
            raise Oid4vciError(
                "credential_configuration_ids must be unique (§4.1.1)", reason="malformed_credential_offer"
            )

    def check_issuer(self, *, allow_http_loopback: bool = False) -> None:
        """``credential_issuer``: "REQUIRED. The URL of the Credential Issuer, as defined in Section 12.2.1"."""
        check_credential_issuer_identifier(self.credential_issuer, allow_http_loopback=allow_http_loopback)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "credential_issuer": self.credential_issuer,
            "credential_configuration_ids": list(self.credential_configuration_ids),
        }
        grants: dict[str, Any] = dict(self.other_grants)
        if self.pre_authorized_code is not None:
            grants[PRE_AUTHORIZED_CODE_GRANT] = self.pre_authorized_code.to_json()
        if grants:
            out["grants"] = grants
        return out

    @classmethod
    def from_json(cls, obj: Any, *, allow_http_loopback: bool = False) -> CredentialOffer:
        """Parse a Credential Offer object. "The Wallet MUST ignore any unrecognized parameters" (§4.1.1)."""
        if not isinstance(obj, Mapping):
            raise Oid4vciError("a Credential Offer must be a JSON object", reason="malformed_credential_offer")
        if "credential_issuer" not in obj:
            raise Oid4vciError("the offer lacks the REQUIRED credential_issuer", reason="malformed_credential_offer")
        ids = obj.get("credential_configuration_ids")
        if not isinstance(ids, list):
            raise Oid4vciError(
                "the offer lacks the REQUIRED credential_configuration_ids array", reason="malformed_credential_offer"
            )
        grants = obj.get("grants", {})
        if not isinstance(grants, Mapping):
            raise Oid4vciError("grants must be a JSON object", reason="malformed_grants")
        pre = grants.get(PRE_AUTHORIZED_CODE_GRANT)
        offer = cls(
            credential_issuer=obj["credential_issuer"],
            credential_configuration_ids=tuple(ids),
            pre_authorized_code=None if pre is None else PreAuthorizedCodeGrant.from_json(pre),
            other_grants={k: v for k, v in grants.items() if k != PRE_AUTHORIZED_CODE_GRANT},
        )
        offer.check_issuer(allow_http_loopback=allow_http_loopback)
        return offer

    # -- links ---------------------------------------------------------------------------------------------------------

    def link_by_value(self, scheme: str = CREDENTIAL_OFFER_SCHEME) -> str:
        """§4.1.2: the offer in the ``credential_offer`` query parameter (URL-encoded JSON)."""
        return f"{_base(scheme)}?credential_offer={quote(json_dumps(self.to_json()), safe='')}"

    @staticmethod
    def link_by_reference(credential_offer_uri: str, scheme: str = CREDENTIAL_OFFER_SCHEME) -> str:
        """§4.1.3: "String that is a URL using the https scheme referencing a resource containing a JSON object with
        the Credential Offer parameters", in the ``credential_offer_uri`` query parameter."""
        return f"{_base(scheme)}?credential_offer_uri={quote(credential_offer_uri, safe='')}"


def _base(scheme: str) -> str:
    return scheme if scheme.endswith("://") else scheme.rstrip("/")


def parse_credential_offer_link(link: str, *, allow_http_loopback: bool = False) -> CredentialOffer | str:
    """Read an offer link (any scheme, e.g. ``openid-credential-offer://`` or ``haip://``): the offer when it is
    passed by value, or the ``credential_offer_uri`` to fetch when it is passed by reference.

    §4.1: "The Credential Offer contains a single URI query parameter, either credential_offer or
    credential_offer_uri" — each "MUST NOT be present when the [other] parameter is present".
    """
    if not isinstance(link, str) or len(link) > MAX_OFFER_SIZE:
        raise Oid4vciError("not a credential offer link", reason="malformed_credential_offer")
    try:
        query = parse_qs(urlsplit(link).query, keep_blank_values=True, strict_parsing=False)
    except ValueError:
        raise Oid4vciError("the credential offer link is not a URL", reason="malformed_credential_offer") from None
    by_value, by_reference = query.get("credential_offer"), query.get("credential_offer_uri")
    if (by_value is None) == (by_reference is None):
        raise Oid4vciError(
            "an offer link carries exactly one of credential_offer and credential_offer_uri (§4.1)",
            reason="malformed_credential_offer",
        )
    values = by_value if by_value is not None else by_reference
    assert values is not None
    if len(values) != 1:
        raise Oid4vciError("the offer parameter appears more than once", reason="malformed_credential_offer")
    if by_reference is not None:
        return check_https_url(values[0], "credential_offer_uri", allow_http_loopback=allow_http_loopback)
    try:
        obj = json_loads(values[0])
    except EncodingError as exc:
        raise Oid4vciError(
            f"credential_offer is not JSON: {exc.description}", reason="malformed_credential_offer"
        ) from None
    return CredentialOffer.from_json(obj, allow_http_loopback=allow_http_loopback)
