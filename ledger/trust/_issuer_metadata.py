"""What the cooperative accredits, read from a credential issuer's published metadata (``govssi ledger dev-accredit
--issuer URL``): its DID, its credential types and the SHA-256 of its certificate's public key.

- Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.2: ``/.well-known/openid-credential-issuer`` inserted between the
  host and the path of the issuer identifier), checked as a wallet checks it (``credential_issuer`` identical to the
  identifier, §12.2.4). ``did`` is govssi's extension member (§12.2.4: "Additional Credential Issuer metadata
  parameters MAY be defined"): the issuer's DID. The types come from ``credential_configurations_supported`` by
  format: ``vct`` for ``dc+sd-jwt`` (Appendix A.3.2), ``doctype`` for ``mso_mdoc`` (Appendix A.2.2), and the last
  entry of ``credential_definition.type`` for ``ldp_vc``, ``jwt_vc_json`` and ``jwt_vc_json-ld`` (Appendix A.1: the
  most specific W3C type comes last).
- JWT VC Issuer Metadata (SD-JWT VC §5: ``/.well-known/jwt-vc-issuer``, same insertion; ``issuer`` "MUST be
  identical to the iss value"), ``jwks`` by value or ``jwks_uri``. Each key's ``x5c[0]`` is the base64 (not url) DER
  leaf certificate (RFC 7517 §4.7), whose key "MUST match the public key represented by other members of the JWK" —
  checked. All keys must name one certificate key: an accreditation names exactly one.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ssi.encoding import json_loads
from ssi.errors import EncodingError, FetchError, KeyError_, SsiError
from ssi.fetch import Fetcher, HttpFetcher
from ssi.keys import PublicKey
from ssi.oid4vci import (
    WELL_KNOWN_CREDENTIAL_ISSUER,
    WELL_KNOWN_JWT_VC_ISSUER,
    CredentialIssuerMetadata,
    well_known_url,
)
from ssi.x509 import spki_sha256

__all__ = ["IssuerDescription", "credential_types_of", "describe_issuer", "development_fetcher"]

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_W3C_FORMATS = ("ldp_vc", "jwt_vc_json", "jwt_vc_json-ld")


@dataclass(frozen=True)
class IssuerDescription:
    """What an accreditation of the issuer at ``credential_issuer`` names."""

    credential_issuer: str
    did: str
    credential_types: tuple[str, ...]
    #: SHA-256 of the DER SubjectPublicKeyInfo of the certificate key (``None``: the issuer publishes no ``x5c``).
    cert_key_sha256: bytes | None


def development_fetcher(url: str, *, timeout: float = 10.0) -> HttpFetcher:
    """An :class:`HttpFetcher` for ``url``: HTTPS to public hosts only, except that a development issuer on the
    loopback interface (127.0.0.1, localhost, ::1) may be reached over plain HTTP."""
    host = urlsplit(url).hostname or ""
    loopback = host in _LOOPBACK_HOSTS
    return HttpFetcher(timeout=timeout, allow_http=loopback, allow_loopback=loopback, accept="application/json")


def _json(fetch: Fetcher, url: str) -> Any:
    response = fetch(url)
    if response.status != 200:
        raise FetchError(f"{url} answered HTTP {response.status}", reason="metadata_unavailable")
    try:
        return json_loads(response.body)
    except EncodingError as exc:
        raise SsiError(f"{url} is not JSON: {exc.description}", reason="malformed_metadata") from None


def credential_types_of(configurations: dict[str, Any]) -> tuple[str, ...]:
    """The credential types of ``credential_configurations_supported``, in order, each once (formats govssi does not
    know are skipped)."""
    found: list[str] = []
    for configuration in configurations.values():
        fmt = configuration.get("format")
        value: Any = None
        if fmt == "dc+sd-jwt":
            value = configuration.get("vct")
        elif fmt == "mso_mdoc":
            value = configuration.get("doctype")
        elif fmt in _W3C_FORMATS:
            definition = configuration.get("credential_definition")
            types = definition.get("type") if isinstance(definition, dict) else None
            value = types[-1] if isinstance(types, list) and types else None
            if fmt == "ldp_vc" and isinstance(value, str):
                value = _expanded_type(definition, value)
        else:
            continue
        if not isinstance(value, str) or not value:
            raise SsiError(f"a {fmt} configuration names no credential type", reason="malformed_metadata")
        if value not in found:
            found.append(value)
    return tuple(found)


def _expanded_type(definition: dict[str, Any], compact: str) -> str:
    """An ldp_vc type as verifiers compare it — the expanded IRI (OpenID4VP 1.0 B.1.1 ``type_values``: "the fully
    expanded types (IRIs)"; govssi's verifier asks the registry for it, verifier/ldp_vc.py) — when every context of
    the definition is one govssi bundles (nothing is fetched); otherwise the type as written."""
    from ssi.data_integrity import BUNDLED_CONTEXTS, expanded_types

    context = definition.get("@context")
    if not isinstance(context, list) or not all(isinstance(c, str) and BUNDLED_CONTEXTS.known(c) for c in context):
        return compact
    try:
        return expanded_types({"@context": context, "type": definition["type"]})[-1]
    except SsiError:
        return compact


def _certificate_key(jwk: Any) -> bytes | None:
    if not isinstance(jwk, dict):
        raise SsiError("a key in jwks is not a JSON object", reason="malformed_metadata")
    chain = jwk.get("x5c")
    if chain is None:
        return None
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise SsiError("x5c must be a non-empty array of base64 certificates", reason="malformed_metadata")
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError):
        raise SsiError("x5c[0] is not a base64 DER certificate", reason="malformed_metadata") from None
    public_key = certificate.public_key()
    try:
        matches = isinstance(public_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) and (
            PublicKey.from_crypto(public_key) == PublicKey.from_jwk(jwk)
        )
    except KeyError_:
        matches = False
    if not matches:
        raise SsiError("the x5c certificate's key is not the JWK's key (RFC 7517 §4.7)", reason="x5c_key_mismatch")
    return spki_sha256(certificate)


def describe_issuer(credential_issuer: str, fetch: Fetcher | None = None) -> IssuerDescription:
    """Read the issuer's metadata (see the module docstring); ``fetch`` defaults to :func:`development_fetcher`.

    Raises :class:`~ssi.errors.SsiError` (``FetchError``, ``Oid4vciError``, ``malformed_metadata``, ``no_did``,
    ``no_credential_types``, ``ambiguous_certificate_key``, ``x5c_key_mismatch``)."""
    fetch = fetch or development_fetcher(credential_issuer)
    loopback = (urlsplit(credential_issuer).hostname or "") in _LOOPBACK_HOSTS
    document = _json(fetch, well_known_url(credential_issuer, WELL_KNOWN_CREDENTIAL_ISSUER))
    metadata = CredentialIssuerMetadata.from_json(
        document, expected_issuer=credential_issuer, allow_http_loopback=loopback
    )
    did = metadata.extensions.get("did")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise SsiError("the issuer's metadata has no did member (govssi's extension)", reason="no_did")
    types = credential_types_of(dict(metadata.credential_configurations_supported))
    if not types:
        raise SsiError("the issuer offers no credential type govssi knows", reason="no_credential_types")

    jwt_vc_issuer = _json(fetch, well_known_url(credential_issuer, WELL_KNOWN_JWT_VC_ISSUER))
    if not isinstance(jwt_vc_issuer, dict) or jwt_vc_issuer.get("issuer") != credential_issuer:
        raise SsiError("JWT VC Issuer Metadata must name this issuer (SD-JWT VC §5)", reason="issuer_mismatch")
    jwks = jwt_vc_issuer.get("jwks")
    if jwks is None and isinstance(jwt_vc_issuer.get("jwks_uri"), str):
        jwks = _json(fetch, jwt_vc_issuer["jwks_uri"])
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        raise SsiError("JWT VC Issuer Metadata has no jwks", reason="malformed_metadata")
    cert_keys = {key for key in (_certificate_key(jwk) for jwk in keys) if key is not None}
    if len(cert_keys) > 1:
        raise SsiError(
            "the issuer publishes several certificate keys; an accreditation names one (give --cert-key-sha256)",
            reason="ambiguous_certificate_key",
        )
    return IssuerDescription(credential_issuer, did, types, cert_keys.pop() if cert_keys else None)
