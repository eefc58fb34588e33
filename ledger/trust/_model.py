"""What the trusted-issuer registry and the status-list anchor hold, as Python values (mirrors of the contracts' structs
and enums, ``ledger/contracts/TrustedIssuerRegistry.sol`` and ``StatusListAnchor.sol``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Accreditation",
    "AccreditationCheck",
    "AccreditationStatus",
    "AnchorCheck",
    "AnchoredDigest",
    "Proposal",
    "ProposalKind",
    "ProposalOutcome",
    "ProposalState",
]


class AccreditationStatus(enum.Enum):
    """The contract's ``Status`` (``superseded``: replaced by a later accreditation of the same DID)."""

    ACTIVE = 1
    SUSPENDED = 2
    REVOKED = 3
    SUPERSEDED = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class ProposalKind(enum.Enum):
    """The contract's ``ProposalKind``."""

    ADD_MEMBER = 1
    REMOVE_MEMBER = 2
    ACCREDIT = 3
    SUSPEND = 4
    REINSTATE = 5
    REVOKE = 6
    MARK_COMPROMISED = 7

    @property
    def label(self) -> str:
        return self.name.lower()


class ProposalState(enum.Enum):
    """The contract's ``ProposalState``, plus ``expired``: open on chain but past ``expiresAt`` (no vote can land)."""

    OPEN = 1
    EXECUTED = 2
    REJECTED = 3
    EXPIRED = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Accreditation:
    """One accreditation: an issuer (DID, optional certificate key and did:ethr identity) for credential types, with a
    validity window (``valid_from`` inclusive, ``valid_until`` exclusive, Unix seconds), a status and, when the key was
    marked compromised, the time from which it is (``compromised_since``)."""

    id: int
    did: str
    identity: str | None
    cert_key_sha256: bytes | None
    credential_types: tuple[str, ...]
    valid_from: int
    valid_until: int
    compromised_since: int | None
    status: AccreditationStatus

    def refusal(self, credential_type: str, at_time: float) -> str | None:
        """Why this accreditation does not let its issuer issue ``credential_type`` at ``at_time``, or ``None`` when
        it does — the same rule as the contract's ``isAccredited``: status active, ``valid_from <= at_time <
        valid_until``, not at or after ``compromised_since``, the type covered."""
        if self.status is not AccreditationStatus.ACTIVE:
            return self.status.label
        if at_time < self.valid_from:
            return "not_yet_valid"
        if at_time >= self.valid_until:
            return "expired"
        if self.compromised_since is not None and at_time >= self.compromised_since:
            return "key_compromised"
        if credential_type not in self.credential_types:
            return "type_not_accredited"
        return None

    def permits(self, credential_type: str, at_time: float) -> bool:
        return self.refusal(credential_type, at_time) is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "did": self.did,
            "identity": self.identity,
            "cert_key_sha256": self.cert_key_sha256.hex() if self.cert_key_sha256 else None,
            "credential_types": list(self.credential_types),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "compromised_since": self.compromised_since,
            "status": self.status.label,
        }


@dataclass(frozen=True)
class AccreditationCheck:
    """The answer to "may this issuer issue this type at this time": ``accredited``, else ``reason``
    (``not_accredited`` when no accreditation names the issuer, or :meth:`Accreditation.refusal`'s reason)."""

    accredited: bool
    reason: str | None
    accreditation: Accreditation | None

    def to_json(self) -> dict[str, Any]:
        return {
            "accredited": self.accredited,
            "reason": self.reason,
            "accreditation": self.accreditation.to_json() if self.accreditation else None,
        }


@dataclass(frozen=True)
class Proposal:
    """A proposal with its votes counted over the current members; ``parameters`` decoded by kind."""

    id: int
    kind: ProposalKind
    state: ProposalState
    proposer: str
    created_at: int
    expires_at: int
    yes: int
    no: int
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.label,
            "state": self.state.label,
            "proposer": self.proposer,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "yes": self.yes,
            "no": self.no,
            "parameters": self.parameters,
        }


@dataclass(frozen=True)
class ProposalOutcome:
    """Where a proposal stands after a member's transaction (``accreditation_id``: what an executed accreditation
    created)."""

    proposal: Proposal
    transaction_hash: str
    block_number: int
    accreditation_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "proposal": self.proposal.to_json(),
            "transaction_hash": self.transaction_hash,
            "block_number": self.block_number,
        }
        if self.accreditation_id is not None:
            out["accreditation_id"] = self.accreditation_id
        return out


@dataclass(frozen=True)
class AnchoredDigest:
    """One anchored status list version: the SHA-256 of the Status List Token, its version (1, 2, …) and the block
    time it was anchored at (``block``: where, when read from the events)."""

    sha256: bytes
    version: int
    time: int
    block: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sha256": self.sha256.hex(), "version": self.version, "time": self.time}
        if self.block is not None:
            out["block"] = self.block
        return out


@dataclass(frozen=True)
class AnchorCheck:
    """A fetched status list token compared with the anchors: ``state`` is ``current`` (its SHA-256 is the latest
    anchored one), ``rolled_back`` (an older anchored version: the list was replaced by an earlier one),
    ``unknown`` (never anchored: substituted, or published before it was anchored) or ``not_anchored`` (the issuer
    anchored nothing for that list)."""

    state: str
    latest: AnchoredDigest | None
    matched: AnchoredDigest | None = None

    @property
    def current(self) -> bool:
        return self.state == "current"
