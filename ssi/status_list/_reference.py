"""The reference a Referenced Token carries to its entry in a Status List (§6.1, §6.2).

§6.2 (Referenced Token in JOSE):

- ``status``: "REQUIRED. The `status` (status) claim MUST specify a JSON Object that contains at least one reference
  to a status mechanism."
- ``status_list``: "REQUIRED when the status mechanism defined in this specification is used. It MUST specify a JSON
  Object that contains a reference to a Status List Token."
- ``idx``: "REQUIRED. ... MUST specify a non-negative Integer";
- ``uri``: "REQUIRED. ... MUST specify a String value ... The value of `uri` MUST be a URI conforming to [RFC3986]."
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssi.errors import StatusListError
from ssi.status_list._uri import check_uri


@dataclass(frozen=True, slots=True)
class StatusListReference:
    """``{"idx": ..., "uri": ...}``: which entry of which Status List Token holds a Referenced Token's status."""

    idx: int
    uri: str

    def __post_init__(self) -> None:
        # §6.2 idx: "a non-negative Integer" (JSON integers only: booleans and 1.0 are not integers here).
        if isinstance(self.idx, bool) or not isinstance(self.idx, int) or self.idx < 0:
            raise StatusListError("'idx' must be a non-negative integer (§6.2)", reason="malformed_idx")
        check_uri(self.uri, "uri")

    @classmethod
    def from_status_claim(cls, status: Any) -> StatusListReference:
        """Parse the value of a Referenced Token's ``status`` claim (§8.3 step 1)."""
        if not isinstance(status, Mapping):
            raise StatusListError("'status' claim must be a JSON object (§6.2)", reason="malformed_status")
        if "status_list" not in status:
            # §6.2: "at least one reference to a status mechanism" — and this is the Status List mechanism.
            raise StatusListError("'status' claim has no 'status_list' reference (§8.3)", reason="missing_status_list")
        ref = status["status_list"]
        if not isinstance(ref, Mapping):
            raise StatusListError(
                "'status_list' must be a JSON object (§6.2)", reason="malformed_status_list_reference"
            )
        if "idx" not in ref:
            raise StatusListError("'status_list' lacks the REQUIRED 'idx' (§6.2)", reason="missing_idx")
        if "uri" not in ref:
            raise StatusListError("'status_list' lacks the REQUIRED 'uri' (§6.2)", reason="missing_uri")
        return cls(idx=ref["idx"], uri=ref["uri"])

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> StatusListReference:
        """Parse the reference from a Referenced Token's claim set (§8.3 step 1: check that ``status`` exists)."""
        if not isinstance(claims, Mapping) or "status" not in claims:
            raise StatusListError("Referenced Token has no 'status' claim (§8.3)", reason="missing_status")
        return cls.from_status_claim(claims["status"])

    def to_status_claim(self) -> dict[str, Any]:
        """The ``status`` claim value an issuer puts into a Referenced Token."""
        return {"status_list": {"idx": self.idx, "uri": self.uri}}
