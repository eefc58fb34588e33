"""Metadata: Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), OAuth 2.0 Authorization Server Metadata (RFC 8414
§2 with OpenID4VCI §12.3), JWT VC Issuer Metadata (SD-JWT VC §5) and SD-JWT VC Type Metadata (SD-JWT VC §6).

Builders produce the JSON documents an issuer serves; ``from_json`` parsers check what a wallet must check before it
uses a document (§12.2.4 ``credential_issuer``: "If these values are not identical ... the data contained in the
response MUST NOT be used").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ssi.errors import Oid4vciError
from ssi.oid4vci._common import (
    PRE_AUTHORIZED_CODE_GRANT,
    SD_JWT_VC_FORMAT,
    check_credential_issuer_identifier,
    check_https_url,
)

__all__ = [
    "AuthorizationServerMetadata",
    "ClaimDescription",
    "CredentialConfiguration",
    "CredentialIssuerMetadata",
    "Display",
    "JwtVcIssuerMetadata",
    "TypeMetadata",
]


@dataclass(frozen=True, slots=True)
class Display:
    """A display object for one locale (§12.2.4 ``display``; SD-JWT VC §8 for types, where ``name`` is the type's
    name and claims use ``label``)."""

    locale: str
    name: str
    description: str | None = None
    background_color: str | None = None
    text_color: str | None = None

    def to_json(self, *, name_key: str = "name") -> dict[str, Any]:
        out: dict[str, Any] = {"locale": self.locale, name_key: self.name}
        if self.description is not None:
            out["description"] = self.description
        if self.background_color is not None:
            out["background_color"] = self.background_color
        if self.text_color is not None:
            out["text_color"] = self.text_color
        return out


@dataclass(frozen=True, slots=True)
class ClaimDescription:
    """Appendix B.2 (issuer metadata claims description) and SD-JWT VC §9 (type metadata claim metadata).

    ``sd`` is SD-JWT VC §9.4: ``always`` ("The Issuer MUST make the claim selectively disclosable"), ``never``, or
    ``allowed``.
    """

    path: tuple[str | int | None, ...]
    mandatory: bool = False
    sd: str = "allowed"
    display: tuple[Display, ...] = ()

    def __post_init__(self) -> None:
        # B.2 / SD-JWT VC §9.1: "path: REQUIRED ... a non-empty array of strings, null values, or non-negative
        # integers".
        if not self.path or not all(
            p is None or isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool) and p >= 0)
            for p in self.path
        ):
            raise Oid4vciError("a claim path is a non-empty array of strings, nulls and indexes", reason="bad_path")
        if self.sd not in ("always", "allowed", "never"):
            raise Oid4vciError("sd must be 'always', 'allowed' or 'never' (SD-JWT VC §9.4)", reason="bad_sd")

    def to_issuer_metadata(self) -> dict[str, Any]:
        """B.2: ``path``, ``mandatory``, ``display`` (``name`` + ``locale``)."""
        out: dict[str, Any] = {"path": list(self.path)}
        if self.mandatory:
            out["mandatory"] = True
        if self.display:
            out["display"] = [{"name": d.name, "locale": d.locale} for d in self.display]
        return out

    def to_type_metadata(self) -> dict[str, Any]:
        """SD-JWT VC §9: ``path``, ``display`` (``locale`` + ``label``), ``mandatory``, ``sd``."""
        out: dict[str, Any] = {"path": list(self.path)}
        if self.display:
            out["display"] = [
                {"locale": d.locale, "label": d.name, **({"description": d.description} if d.description else {})}
                for d in self.display
            ]
        if self.mandatory:
            out["mandatory"] = True
        out["sd"] = self.sd
        return out


@dataclass(frozen=True, slots=True)
class CredentialConfiguration:
    """One entry of ``credential_configurations_supported`` for the ``dc+sd-jwt`` format (§12.2.4, Appendix A.3.2).

    Cryptographic Key Binding is always required here (HAIP 1.0 §4: "Any of the flows defined in this specification
    MUST be used with cryptographic holder binding"), so ``cryptographic_binding_methods_supported`` (``jwk``) and
    ``proof_types_supported`` (``jwt``) are always present: §12.2.4 "It MUST be present if
    cryptographic_binding_methods_supported is present".
    """

    vct: str
    scope: str
    credential_signing_alg_values_supported: tuple[str, ...] = ("ES256",)
    proof_signing_alg_values_supported: tuple[str, ...] = ("ES256",)
    display: tuple[Display, ...] = ()
    claims: tuple[ClaimDescription, ...] = ()
    format: str = SD_JWT_VC_FORMAT

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": self.format,
            "scope": self.scope,  # HAIP 1.0 §4.6: "MUST include a scope for every Credential Configuration"
            "vct": self.vct,  # A.3.2: "vct: REQUIRED"
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": list(self.credential_signing_alg_values_supported),
            "proof_types_supported": {
                "jwt": {"proof_signing_alg_values_supported": list(self.proof_signing_alg_values_supported)}
            },
        }
        metadata: dict[str, Any] = {}
        if self.display:
            metadata["display"] = [d.to_json() for d in self.display]
        if self.claims:
            metadata["claims"] = [c.to_issuer_metadata() for c in self.claims]
        if metadata:
            out["credential_metadata"] = metadata
        return out


@dataclass(frozen=True, slots=True)
class CredentialIssuerMetadata:
    """§12.2.4 Credential Issuer Metadata Parameters (unsigned form, ``application/json``).

    ``extensions`` are additional members (§12.2.4: "Additional Credential Issuer metadata parameters MAY be defined
    and used"), e.g. govssi's ``did``.
    """

    credential_issuer: str
    credential_endpoint: str
    credential_configurations_supported: Mapping[str, CredentialConfiguration | Mapping[str, Any]]
    nonce_endpoint: str | None = None
    authorization_servers: tuple[str, ...] = ()
    batch_size: int | None = None
    display: tuple[Display, ...] = ()
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"credential_issuer": self.credential_issuer}
        if self.authorization_servers:
            out["authorization_servers"] = list(self.authorization_servers)
        out["credential_endpoint"] = self.credential_endpoint
        if self.nonce_endpoint is not None:
            out["nonce_endpoint"] = self.nonce_endpoint
        if self.batch_size is not None:
            # "batch_size: REQUIRED. ... It MUST be 2 or greater."
            if self.batch_size < 2:
                raise Oid4vciError("batch_size MUST be 2 or greater (§12.2.4)", reason="bad_batch_size")
            out["batch_credential_issuance"] = {"batch_size": self.batch_size}
        if self.display:
            out["display"] = [d.to_json() for d in self.display]
        out["credential_configurations_supported"] = {
            key: value.to_json() if isinstance(value, CredentialConfiguration) else dict(value)
            for key, value in self.credential_configurations_supported.items()
        }
        for key, value in self.extensions.items():
            out.setdefault(key, value)
        return out

    @classmethod
    def from_json(
        cls, obj: Any, *, expected_issuer: str, allow_http_loopback: bool = False
    ) -> CredentialIssuerMetadata:
        """Parse and check metadata the way a wallet must before using it (§12.2.2, §12.2.4)."""
        if not isinstance(obj, Mapping):
            raise Oid4vciError("credential issuer metadata must be a JSON object", reason="malformed_metadata")
        issuer = obj.get("credential_issuer")
        # §12.2.4 credential_issuer: "The value MUST be identical to the Credential Issuer's identifier value into
        # which the well-known URI string was inserted ... the data contained in the response MUST NOT be used."
        if issuer != expected_issuer:
            raise Oid4vciError("metadata credential_issuer is not the issuer asked for", reason="issuer_mismatch")
        check_credential_issuer_identifier(issuer, allow_http_loopback=allow_http_loopback)
        endpoint = check_https_url(
            obj.get("credential_endpoint"), "credential_endpoint", allow_http_loopback=allow_http_loopback
        )
        nonce_endpoint = obj.get("nonce_endpoint")
        if nonce_endpoint is not None:
            check_https_url(nonce_endpoint, "nonce_endpoint", allow_http_loopback=allow_http_loopback)
        configs = obj.get("credential_configurations_supported")
        if not isinstance(configs, Mapping) or not all(isinstance(v, Mapping) for v in configs.values()):
            raise Oid4vciError(
                "credential_configurations_supported is REQUIRED and must map ids to objects",
                reason="malformed_metadata",
            )
        for key, config in configs.items():
            if not isinstance(config.get("format"), str):
                raise Oid4vciError(f"configuration {key!r} lacks the REQUIRED format", reason="malformed_metadata")
        batch = obj.get("batch_credential_issuance")
        batch_size = None
        if batch is not None:
            size = batch.get("batch_size") if isinstance(batch, Mapping) else None
            if isinstance(size, bool) or not isinstance(size, int) or size < 2:
                raise Oid4vciError("batch_size must be an integer of 2 or greater", reason="malformed_metadata")
            batch_size = size
        servers = obj.get("authorization_servers", [])
        if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers):
            raise Oid4vciError("authorization_servers must be an array of strings", reason="malformed_metadata")
        known = {
            "credential_issuer",
            "credential_endpoint",
            "nonce_endpoint",
            "credential_configurations_supported",
            "batch_credential_issuance",
            "authorization_servers",
        }
        return cls(
            credential_issuer=issuer,
            credential_endpoint=endpoint,
            credential_configurations_supported={k: dict(v) for k, v in configs.items()},
            nonce_endpoint=nonce_endpoint,
            authorization_servers=tuple(servers),
            batch_size=batch_size,
            extensions={k: v for k, v in obj.items() if k not in known},
        )

    @property
    def authorization_server(self) -> str:
        """§12.2.4 ``authorization_servers``: "If this parameter is omitted, the entity providing the Credential
        Issuer is also acting as the Authorization Server"."""
        return self.authorization_servers[0] if self.authorization_servers else self.credential_issuer


@dataclass(frozen=True, slots=True)
class AuthorizationServerMetadata:
    """RFC 8414 §2 for an authorization server that serves the Pre-Authorized Code grant with DPoP.

    - ``issuer`` REQUIRED, ``token_endpoint`` (REQUIRED unless only the implicit grant is supported);
    - ``response_types_supported`` is omitted: OpenID4VCI §12.2.4 "An Authorization Server that only supports the
      Pre-Authorized Code grant type MAY omit the response_types_supported parameter in its metadata despite
      [RFC8414] mandating it";
    - ``pre-authorized_grant_anonymous_access_supported`` (OpenID4VCI §12.3);
    - ``dpop_signing_alg_values_supported`` (RFC 9449 §5.1).
    """

    issuer: str
    token_endpoint: str
    dpop_signing_alg_values_supported: tuple[str, ...] = ("ES256",)
    grant_types_supported: tuple[str, ...] = (PRE_AUTHORIZED_CODE_GRANT,)
    anonymous_access: bool = True
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "issuer": self.issuer,
            "token_endpoint": self.token_endpoint,
            "grant_types_supported": list(self.grant_types_supported),
            # RFC 8414 §2: "If omitted, the default is client_secret_basic"; the pre-authorized grant needs none.
            "token_endpoint_auth_methods_supported": ["none"],
            "pre-authorized_grant_anonymous_access_supported": self.anonymous_access,
            "dpop_signing_alg_values_supported": list(self.dpop_signing_alg_values_supported),
        }
        for key, value in self.extensions.items():
            out.setdefault(key, value)
        return out


@dataclass(frozen=True, slots=True)
class JwtVcIssuerMetadata:
    """SD-JWT VC §5.2: ``issuer`` (REQUIRED, identical to ``iss``) and ``jwks`` by value (``jwks_uri`` is the
    alternative: "MUST include either jwks_uri or jwks ... but not both")."""

    issuer: str
    keys: Sequence[Mapping[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "jwks": {"keys": [dict(k) for k in self.keys]}}


@dataclass(frozen=True, slots=True)
class TypeMetadata:
    """SD-JWT VC §6.2 Type Metadata: ``vct`` (REQUIRED), ``name``/``description`` (for developers), ``display``
    (§8: "MUST contain an object for each locale that is supported by the type"; ``locale`` and ``name``
    REQUIRED) and ``claims`` (§9)."""

    vct: str
    name: str | None = None
    description: str | None = None
    display: tuple[Display, ...] = ()
    claims: tuple[ClaimDescription, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"vct": self.vct}
        if self.name is not None:
            out["name"] = self.name
        if self.description is not None:
            out["description"] = self.description
        if self.display:
            out["display"] = [_type_display(d) for d in self.display]
        if self.claims:
            out["claims"] = [c.to_type_metadata() for c in self.claims]
        return out


def _type_display(display: Display) -> dict[str, Any]:
    """SD-JWT VC §8: ``locale``, ``name``, ``description``; colours under ``rendering.simple`` (§8.1.1)."""
    out: dict[str, Any] = {"locale": display.locale, "name": display.name}
    if display.description is not None:
        out["description"] = display.description
    simple = {}
    if display.background_color is not None:
        simple["background_color"] = display.background_color
    if display.text_color is not None:
        simple["text_color"] = display.text_color
    if simple:
        out["rendering"] = {"simple": simple}
    return out
