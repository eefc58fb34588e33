"""Credential Endpoint messages (OpenID4VCI 1.0 §8) and the Nonce Response (§7.2).

:func:`parse_credential_request` checks the structure of §8.2; the key proofs inside are verified one by one with
:func:`ssi.oid4vci.proof.verify_proof_jwt`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ssi.errors import InvalidCredentialRequest, InvalidEncryptionParameters, InvalidProof
from ssi.oid4vci._common import MAX_IDENTIFIER_LENGTH, check_string

__all__ = ["CredentialRequest", "CredentialResponse", "nonce_response", "parse_credential_request"]

#: No sensible batch is larger; the issuer's own ``batch_size`` is the binding limit.
MAX_PROOFS = 100


@dataclass(frozen=True, slots=True)
class CredentialRequest:
    """§8.2: exactly one of ``credential_configuration_id`` / ``credential_identifier``, and ``proofs`` of one proof
    type (``jwt`` here)."""

    credential_configuration_id: str | None
    credential_identifier: str | None
    proof_type: str | None
    proofs: tuple[Any, ...]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.credential_identifier is not None:
            out["credential_identifier"] = self.credential_identifier
        if self.credential_configuration_id is not None:
            out["credential_configuration_id"] = self.credential_configuration_id
        if self.proof_type is not None:
            out["proofs"] = {self.proof_type: list(self.proofs)}
        return out


def parse_credential_request(body: Any, *, max_proofs: int = MAX_PROOFS) -> CredentialRequest:
    """Structure checks of §8.2 (``invalid_credential_request`` unless said otherwise):

    - ``credential_identifier`` / ``credential_configuration_id``: "When this parameter is used, the
      credential_configuration_id [credential_identifier] MUST NOT be present"; one of them is REQUIRED;
    - ``proofs``: "contains exactly one parameter named as the proof type ..., the value set for this parameter is a
      non-empty array" (a malformed ``proofs`` is ``invalid_proof``, §8.3.1.2 item 1);
    - more proofs than ``max_proofs`` (the issuer's ``batch_size``, §12.2.4: "the maximum array size for the proofs
      parameter") is an unsupported parameter value;
    - ``credential_response_encryption``: this issuer advertises no response encryption, so a request for it is
      refused with ``invalid_encryption_parameters`` rather than answered in the clear.
    Whether ``proofs`` must be present depends on the configuration (§8.2: "MUST be present if the
    proof_types_supported parameter is present"); the caller checks it.
    """
    if not isinstance(body, Mapping):
        raise InvalidCredentialRequest("the credential request must be a JSON object", reason="malformed_request")
    config_id = body.get("credential_configuration_id")
    identifier = body.get("credential_identifier")
    if config_id is not None and identifier is not None:
        raise InvalidCredentialRequest(
            "credential_configuration_id and credential_identifier MUST NOT be used together (§8.2)",
            reason="both_identifiers",
        )
    if config_id is None and identifier is None:
        raise InvalidCredentialRequest(
            "credential_configuration_id or credential_identifier is REQUIRED (§8.2)", reason="missing_identifier"
        )
    if config_id is not None:
        check_string(
            config_id, "credential_configuration_id", max_length=MAX_IDENTIFIER_LENGTH, error=InvalidCredentialRequest
        )
    if identifier is not None:
        check_string(
            identifier, "credential_identifier", max_length=MAX_IDENTIFIER_LENGTH, error=InvalidCredentialRequest
        )
    if "credential_response_encryption" in body:
        raise InvalidEncryptionParameters(
            "this issuer does not encrypt credential responses", reason="response_encryption_unsupported"
        )
    proof_type: str | None = None
    proofs: tuple[Any, ...] = ()
    if "proofs" in body:
        container = body["proofs"]
        if not isinstance(container, Mapping) or len(container) != 1:
            raise InvalidProof("proofs must be an object with exactly one proof type (§8.2)", reason="malformed_proofs")
        ((proof_type, values),) = container.items()
        if not isinstance(values, list) or not values:
            raise InvalidProof("the proofs of a proof type must be a non-empty array (§8.2)", reason="malformed_proofs")
        if len(values) > max_proofs:
            raise InvalidCredentialRequest(
                f"at most {max_proofs} proofs are accepted in one request (batch_size)", reason="too_many_proofs"
            )
        proofs = tuple(values)
    return CredentialRequest(
        credential_configuration_id=config_id,
        credential_identifier=identifier,
        proof_type=proof_type,
        proofs=proofs,
    )


@dataclass(frozen=True, slots=True)
class CredentialResponse:
    """§8.3 immediate response: ``credentials``, "an array of one or more issued Credentials ... The elements of the
    array MUST be objects" with ``credential``; optional ``notification_id``."""

    credentials: Sequence[str | Mapping[str, Any]]  # A.1.2.4 ldp_vc: "MUST be a JSON object"
    notification_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"credentials": [{"credential": c} for c in self.credentials]}
        if self.notification_id is not None:
            out["notification_id"] = self.notification_id
        return out


def nonce_response(c_nonce: str) -> dict[str, str]:
    """§7.2: "c_nonce: REQUIRED. String containing a challenge to be used when creating a proof of possession"."""
    return {"c_nonce": c_nonce}
