"""Constants and small checks shared by the OpenID4VCI 1.0 message modules."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Final
from urllib.parse import urlsplit

from ssi.errors import Oid4vciError

#: §4.1.1, §6.1: the Pre-Authorized Code grant type (registered in §13.1).
PRE_AUTHORIZED_CODE_GRANT: Final = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
AUTHORIZATION_CODE_GRANT: Final = "authorization_code"
#: Appendix F.1: "typ: REQUIRED. MUST be openid4vci-proof+jwt".
PROOF_JWT_TYP: Final = "openid4vci-proof+jwt"
#: Appendix A.3.1: "The Credential Format Identifier is dc+sd-jwt".
SD_JWT_VC_FORMAT: Final = "dc+sd-jwt"
#: §12.1.1: the custom URL scheme used when the wallet's Credential Offer Endpoint is unknown.
CREDENTIAL_OFFER_SCHEME: Final = "openid-credential-offer://"
#: §12.2.2 / §12.3 / SD-JWT VC §5: the well-known suffixes.
WELL_KNOWN_CREDENTIAL_ISSUER: Final = "openid-credential-issuer"
WELL_KNOWN_AUTHORIZATION_SERVER: Final = "oauth-authorization-server"
WELL_KNOWN_JWT_VC_ISSUER: Final = "jwt-vc-issuer"
#: RFC 6750 / RFC 9449 token types.
TOKEN_TYPE_DPOP: Final = "DPoP"  # noqa: S105 - a token type name, not a secret
TOKEN_TYPE_BEARER: Final = "Bearer"  # noqa: S105 - a token type name, not a secret
#: RFC 9396 §2 / OpenID4VCI §5.1.1: the authorization details type of this specification.
OPENID_CREDENTIAL: Final = "openid_credential"

#: Bounds on identifiers and codes received from the network (defence against resource exhaustion).
MAX_IDENTIFIER_LENGTH: Final = 256
MAX_CODE_LENGTH: Final = 512
MAX_TX_CODE_LENGTH: Final = 64
MAX_URL_LENGTH: Final = 2048
#: §4.1.1 tx_code.description: "The length of the string MUST NOT exceed 300 characters."
MAX_TX_CODE_DESCRIPTION: Final = 300

# §8.3.1.2: error_description "MUST NOT include characters outside the set %x20-21 / %x23-5B / %x5D-7E".
_NOT_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def error_description(text: str) -> str:
    """An ``error_description`` value allowed by RFC 6749 §5.2 / OpenID4VCI 1.0 §8.3.1.2: printable ASCII without
    ``"`` and ``\\`` (anything else becomes ``?``), at most 500 characters."""
    return _NOT_DESCRIPTION.sub("?", text)[:500]


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP literal (the only hosts plain HTTP is allowed for in development)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_https_url(
    value: Any,
    name: str,
    *,
    allow_http_loopback: bool = False,
    allow_query: bool = True,
    error: type[Oid4vciError] = Oid4vciError,
) -> str:
    """A URL "using the https scheme" (§4.1.1 ``credential_offer_uri``, §12.2.1 identifiers, §12.2.4 endpoints).

    ``allow_http_loopback`` admits ``http://localhost`` / ``http://127.0.0.1`` (tests and the demo only; the
    issue's explicit development setting). ``allow_query=False`` is the §12.2.1 identifier rule: "no query or
    fragment components".
    """
    if not isinstance(value, str) or not value:
        raise error(f"{name} must be a non-empty URL string", reason=f"malformed_{name}")
    if len(value) > MAX_URL_LENGTH:
        raise error(f"{name} is longer than {MAX_URL_LENGTH} characters", reason=f"malformed_{name}")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise error(f"{name} is not a valid URL", reason=f"malformed_{name}") from None
    if not host or parts.username is not None or parts.password is not None:
        raise error(f"{name} must name a host and no user information", reason=f"malformed_{name}")
    if parts.scheme != "https" and not (allow_http_loopback and parts.scheme == "http" and is_loopback_host(host)):
        raise error(f"{name} must use the https scheme", reason=f"{name}_not_https")
    if parts.fragment or "#" in value:
        raise error(f"{name} must not have a fragment", reason=f"malformed_{name}")
    if not allow_query and (parts.query or "?" in value):
        raise error(f"{name} must not have a query component", reason=f"malformed_{name}")
    return value


def check_credential_issuer_identifier(value: Any, *, allow_http_loopback: bool = False) -> str:
    """§12.2.1: "A Credential Issuer is identified by a case sensitive URL using the https scheme that contains
    scheme, host and, optionally, port number and path components, but no query or fragment components."

    A trailing ``/`` is refused too: §12.2.2 compares identifiers by simple string comparison, so ``https://a/`` and
    ``https://a`` would be two issuers whose metadata lives at one URL.
    """
    url = check_https_url(value, "credential_issuer", allow_http_loopback=allow_http_loopback, allow_query=False)
    if url.endswith("/"):
        raise Oid4vciError("credential_issuer must not end with '/'", reason="malformed_credential_issuer")
    return url


def well_known_url(identifier: str, suffix: str) -> str:
    """§12.2.2 / RFC 8414 §3.1 / SD-JWT VC §5.1: insert ``/.well-known/<suffix>`` "between the host component and
    the path component, if any" (a terminating ``/`` of the path is removed first)."""
    parts = urlsplit(identifier)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/{suffix}{path}"


def check_string(value: Any, name: str, *, max_length: int, error: type[Oid4vciError]) -> str:
    """A non-empty JSON string of bounded length."""
    if not isinstance(value, str) or not value:
        raise error(f"{name} must be a non-empty string", reason=f"malformed_{name}")
    if len(value) > max_length:
        raise error(f"{name} is longer than {max_length} characters", reason=f"malformed_{name}")
    return value
