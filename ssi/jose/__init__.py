"""JOSE: JWS (RFC 7515) compact and JSON serializations and JWT (RFC 7519), strict and allowlist-only."""

from ssi.jose._jws import (
    DEFAULT_MAX_SIZE,
    FORBIDDEN_ALGORITHMS,
    KeyResolver,
    VerifiedJws,
    check_header,
    parse_compact,
    sign_compact,
    sign_json,
    verify_compact,
    verify_compact_parts,
    verify_json,
)
from ssi.jose._jwt import VerifiedJwt, check_time_claims, decode_jwt, encode_jwt, numeric_date

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FORBIDDEN_ALGORITHMS",
    "KeyResolver",
    "VerifiedJws",
    "VerifiedJwt",
    "check_header",
    "check_time_claims",
    "decode_jwt",
    "encode_jwt",
    "numeric_date",
    "parse_compact",
    "sign_compact",
    "sign_json",
    "verify_compact",
    "verify_compact_parts",
    "verify_json",
]
