"""SD-JWT (RFC 9901) and SD-JWT VC, strict and fast. The roles are visible in the modules:
``issue`` (Issuer), ``present`` (Holder), ``verify`` (Verifier), ``vc`` (the SD-JWT VC profile)."""

from ssi.sd_jwt._common import (
    DEFAULT_SD_ALG,
    HASH_ALGORITHMS,
    ClaimPath,
    Disclosure,
    format_claim_path,
    parse_claim_path,
)
from ssi.sd_jwt._processing import DisclosedClaim, process_payload
from ssi.sd_jwt._serialization import SdJwtParts, split_compact, split_json
from ssi.sd_jwt.issue import IssuedSdJwt, RandomSource, issue_sd_jwt
from ssi.sd_jwt.present import HeldSdJwt, create_key_binding_jwt, parse_presentation_text
from ssi.sd_jwt.verify import VerificationPolicy, VerifiedSdJwt, verify_key_binding, verify_sd_jwt

__all__ = [
    "DEFAULT_SD_ALG",
    "HASH_ALGORITHMS",
    "ClaimPath",
    "DisclosedClaim",
    "Disclosure",
    "HeldSdJwt",
    "IssuedSdJwt",
    "RandomSource",
    "SdJwtParts",
    "VerificationPolicy",
    "VerifiedSdJwt",
    "create_key_binding_jwt",
    "format_claim_path",
    "issue_sd_jwt",
    "parse_claim_path",
    "parse_presentation_text",
    "process_payload",
    "split_compact",
    "split_json",
    "verify_key_binding",
    "verify_sd_jwt",
]
