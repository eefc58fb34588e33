"""W3C Verifiable Credentials Data Model v2.0 basics: :func:`check_credential` (the §4 rules and the validity
period with an injected clock) and dateTimeStamp helpers. Securing mechanisms live elsewhere: Data Integrity
``bbs-2023`` in :mod:`ssi.data_integrity`, SD-JWT VC in :mod:`ssi.sd_jwt`."""

from ssi.vc._credential import (
    CREDENTIALS_V2_CONTEXT,
    VERIFIABLE_CREDENTIAL,
    check_credential,
    format_datetime_stamp,
    parse_datetime_stamp,
)

__all__ = [
    "CREDENTIALS_V2_CONTEXT",
    "VERIFIABLE_CREDENTIAL",
    "check_credential",
    "format_datetime_stamp",
    "parse_datetime_stamp",
]
