"""The verifier's trust in issuers, from the chain (DESIGN.md §1): accreditation in the cooperative's trusted-issuer
registry, compromise marks, and the anchored digests of status lists.

:class:`IssuerTrust` is the small policy interface the presentation checks use (tests inject their own);
:class:`ChainIssuerTrust` answers it with ``ledger.trust`` (Ledger II) and, for DID-level compromise marks,
``ledger.did_ethr``.
"""

from __future__ import annotations

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


class ChainIssuerTrust:
    """:class:`IssuerTrust` over the chain: a ``ledger.trust.TrustRegistry``, a ``StatusAnchorReader`` and optionally
    an ``ledger.did_ethr.EthrDidDriver`` for compromise marks on issuers' DIDs.

    An accreditation must permit the type both when the credential was issued (``iat``) and now: a credential issued
    while its issuer was accredited is refused once the accreditation is suspended, revoked, superseded or expired, or
    the key is marked compromised (``ledger.trust``: compromise counts from ``compromised_since``; checking ``now``
    makes a mark cover backdated ``iat`` values too, as a stolen key can write any ``iat``).
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
        for moment in (now, issued_at):
            refusal = accreditation.refusal(credential_type, moment)
            if refusal is not None:
                return IssuerStanding(
                    ACCREDITATION_REASONS.get(refusal, "issuer_not_accredited"), accreditation.did, record
                )
        return IssuerStanding(None, accreditation.did, record)

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
