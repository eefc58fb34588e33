"""The verifier's trust in issuers, from the chain (DESIGN.md §1): accreditation in the cooperative's trusted-issuer
registry, compromise marks, and the anchored digests of status lists.

:class:`IssuerTrust` is the small policy interface the presentation checks use (tests inject their own);
:class:`ChainIssuerTrust` answers it with ``ledger.trust`` (Ledger II) and, for DID-level compromise marks,
``ledger.did_ethr``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ssi.errors import ChainError, DidError, SsiError
from ssi.keys import PublicKey

__all__ = [
    "ACCREDITATION_REASONS",
    "ChainIssuerTrust",
    "IssuerStanding",
    "IssuerTrust",
    "TrustUnavailable",
]

#: Refusals of ``ledger.trust.Accreditation.refusal`` (and "no accreditation") → the verifier's reasons.
ACCREDITATION_REASONS = {
    "not_accredited": "issuer_not_accredited",
    "type_not_accredited": "issuer_not_accredited_for_type",
    "expired": "accreditation_expired",
    "not_yet_valid": "accreditation_not_yet_valid",
    "suspended": "accreditation_suspended",
    "revoked": "accreditation_revoked",
    "superseded": "accreditation_superseded",
    "key_compromised": "issuer_key_compromised",
}


class TrustUnavailable(Exception):
    """The trust source (the chain) did not answer."""


@dataclass(frozen=True, slots=True)
class IssuerStanding:
    """Whether an issuer may issue a credential type: ``refusal`` is ``None`` when it may, else a reason of
    :data:`ACCREDITATION_REASONS`. ``did`` is the issuer's DID as the registry knows it (status lists are anchored
    under it); ``record`` the accreditation for the verified result."""

    refusal: str | None
    did: str | None = None
    record: dict[str, Any] | None = None


class IssuerTrust(Protocol):
    """What the verifier asks about issuers. Implementations raise :class:`TrustUnavailable` when they cannot tell."""

    @property
    def registry_id(self) -> str | None:
        """The trusted-issuer registry as a CAIP-10 account id ``eip155:<chain id>:<address>`` (DCQL
        ``trusted_authorities`` type ``govssi_chain_accreditation``), or ``None``."""

    def standing(self, issuer: str | bytes, credential_type: str, *, issued_at: float, now: float) -> IssuerStanding:
        """``issuer`` is a DID or the SHA-256 of a certificate's SubjectPublicKeyInfo (``ssi.x509.spki_sha256``)."""

    def status_list_state(self, issuer_did: str, uri: str, token_sha256: bytes) -> str:
        """``current``, ``rolled_back``, ``unknown`` or ``not_anchored`` (``ledger.trust.AnchorCheck``)."""

    def key_compromised(self, did: str, key: PublicKey) -> bool:
        """Whether the DID carries a compromise mark for ``key`` (``ledger.did_ethr``: marks are final)."""

    def status_list_signer(self, cert_key_sha256: bytes, *, now: float) -> str | None:
        """The DID whose **live** accreditation (active or suspended, ``now`` inside its window) names the certificate
        key ``cert_key_sha256`` and carries no compromise mark — the issuer whose status lists the key may sign
        (``verifier.status``) — else ``None``. A superseded accreditation's key signs no status list."""


class ChainIssuerTrust:
    """:class:`IssuerTrust` over the chain: a ``ledger.trust.TrustRegistry``, a ``StatusAnchorReader`` and optionally
    an ``ledger.did_ethr.EthrDidDriver`` for compromise marks on issuers' DIDs.

    An accreditation must permit the type both when the credential was issued (``iat``) and now: a credential issued
    while its issuer was accredited is refused once the accreditation is suspended, revoked or expired, or the key is
    marked compromised (``ledger.trust``: compromise counts from ``compromised_since``; checking ``now`` makes a mark
    cover backdated ``iat`` values too, as a stolen key can write any ``iat``).

    **Key rotation.** A *superseded* accreditation was replaced by a later one of the same DID (docs/ledger.md,
    "Accreditations": "renewal, new types, new certificate key"; docs/operations.md, "Key rotation"). A credential
    whose certificate key is named only by the superseded one is judged as its issuer is judged now: the old record
    must have covered the type at ``iat`` (window, type, no compromise), the old key must carry no compromise mark
    dated at or before now, and the DID's **current** accreditation must permit the type now — so the credentials an
    authority signed before a routine rotation stay valid until they expire, a suspension or revocation of the DID
    still reaches them, and a compromise mark on the old certificate key (``proposeCompromise``, final) withdraws them.
    A superseded record with no later accreditation of its DID stays ``accreditation_superseded``.
    """

    def __init__(self, registry: Any, anchors: Any, *, did_driver: Any | None = None, chain_id: int | None = None):
        self.registry = registry
        self.anchors = anchors
        self.did_driver = did_driver
        self._chain_id = chain_id

    @property
    def registry_id(self) -> str | None:
        try:
            chain_id = self._chain_id if self._chain_id is not None else self.registry.client.chain_id
            return f"eip155:{int(chain_id)}:{self.registry.address}"
        except (ChainError, AttributeError):
            return None

    def _guard(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ChainError as exc:
            raise TrustUnavailable(exc.description) from None

    def standing(self, issuer: str | bytes, credential_type: str, *, issued_at: float, now: float) -> IssuerStanding:
        accreditation = self._guard(lambda: self.registry.accreditation(issuer))
        if accreditation is None:
            return IssuerStanding("issuer_not_accredited")
        record = accreditation.to_json()
        if accreditation.status.label == "superseded":
            return self._superseded(accreditation, credential_type, issued_at=issued_at, now=now)
        for moment in (now, issued_at):
            refusal = accreditation.refusal(credential_type, moment)
            if refusal is not None:
                return IssuerStanding(
                    ACCREDITATION_REASONS.get(refusal, "issuer_not_accredited"), accreditation.did, record
                )
        return IssuerStanding(None, accreditation.did, record)

    def _superseded(self, old: Any, credential_type: str, *, issued_at: float, now: float) -> IssuerStanding:
        """A rotated-out certificate key's standing (class docstring, "Key rotation")."""
        record = old.to_json()
        current = self._guard(lambda: self.registry.accreditation(old.did))
        if current is None or current.did != old.did or current.id <= old.id:
            return IssuerStanding("accreditation_superseded", old.did, record)
        record["superseded_by"] = current.id
        # the old record as it was while live, at issuance: window, type, no compromise from before iat
        as_live = dataclasses.replace(old, status=type(old.status).ACTIVE)  # ledger.trust.AccreditationStatus
        refusal = as_live.refusal(credential_type, issued_at)
        if refusal is None and old.compromised_since is not None and now >= old.compromised_since:
            refusal = "key_compromised"
        if refusal is None:
            refusal = current.refusal(credential_type, now)
        if refusal is not None:
            return IssuerStanding(ACCREDITATION_REASONS.get(refusal, "issuer_not_accredited"), old.did, record)
        return IssuerStanding(None, old.did, record)

    def status_list_signer(self, cert_key_sha256: bytes, *, now: float) -> str | None:
        accreditation = self._guard(lambda: self.registry.accreditation(cert_key_sha256))
        if accreditation is None or accreditation.cert_key_sha256 != cert_key_sha256:
            return None
        if accreditation.status.label not in ("active", "suspended"):
            return None
        if not accreditation.valid_from <= now < accreditation.valid_until:
            return None
        if accreditation.compromised_since is not None:
            return None
        return str(accreditation.did)

    def status_list_state(self, issuer_did: str, uri: str, token_sha256: bytes) -> str:
        check = self._guard(lambda: self.anchors.check(issuer_did, uri, token_sha256))
        return str(check.state)

    def key_compromised(self, did: str, key: PublicKey) -> bool:
        driver = self.did_driver
        if driver is None or not did.startswith("did:ethr:"):
            return False
        try:
            result = self._guard(lambda: driver.resolve_at(did, hide_compromised=False))
        except DidError:
            return False
        except SsiError as exc:
            raise TrustUnavailable(exc.description) from None
        marked = result.document_metadata.get("compromisedKeys", ())
        return key.thumbprint() in marked
