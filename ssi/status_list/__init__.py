"""Token Status List (draft-ietf-oauth-status-list-20): status lists, Status List Tokens (JWT) and status checks.

Issuer side: :class:`StatusList` (set statuses), :func:`issue_status_list_token`, and
:meth:`StatusListReference.to_status_claim` for the Referenced Token. Relying Party side:
:class:`StatusListVerifier` (fetch, verify, cache, read a status), :func:`verify_status_list_token`.
The CBOR/CWT formats (§4.3, §5.2, §6.3) and historical resolution (§8.4) are not implemented.
"""

from ssi.status_list._list import (
    ALLOWED_BITS,
    APPLICATION_SPECIFIC,
    APPLICATION_SPECIFIC_STATUSES,
    COMPRESSION_LEVEL,
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    compress_status_bytes,
    decompress_status_bytes,
)
from ssi.status_list._reference import StatusListReference
from ssi.status_list._token import (
    DEFAULT_MAX_TOKEN_SIZE,
    STATUS_LIST_JWT_MEDIA_TYPE,
    STATUS_LIST_JWT_TYP,
    StatusListToken,
    issue_status_list_token,
    verify_status_list_token,
)
from ssi.status_list._verifier import StatusListVerifier, status_list_http_fetcher

__all__ = [
    "ALLOWED_BITS",
    "APPLICATION_SPECIFIC",
    "APPLICATION_SPECIFIC_STATUSES",
    "COMPRESSION_LEVEL",
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "DEFAULT_MAX_TOKEN_SIZE",
    "INVALID",
    "STATUS_LIST_JWT_MEDIA_TYPE",
    "STATUS_LIST_JWT_TYP",
    "SUSPENDED",
    "VALID",
    "StatusList",
    "StatusListReference",
    "StatusListToken",
    "StatusListVerifier",
    "compress_status_bytes",
    "decompress_status_bytes",
    "issue_status_list_token",
    "status_list_http_fetcher",
    "verify_status_list_token",
]
