"""Wallet attestation as client authentication at the PID provider's PAR and token endpoints (HAIP 1.0 §4.4.1,
OpenID4VCI 1.0 Appendix E, draft-ietf-oauth-attestation-based-client-auth).

- The Wallet Attestation (``OAuth-Client-Attestation``) must chain (``x5c``) to one of the **accepted wallet
  providers** (configured CA certificates): HAIP 1.0 §4.4.1 "The public key certificate ... MUST be included in the
  x5c JOSE header"; an attestation from any other provider is ``invalid_client``.
- The PoP (``OAuth-Client-Attestation-PoP``) is signed by the attested instance key, addressed to this authorization
  server (``aud`` = its RFC 8414 issuer identifier) and fresh; its ``jti`` is remembered so a captured PoP cannot be
  replayed (draft §12.1 "the authorization server SHOULD ... ensure that the jti was not used before").
- A ``client_id`` in the request must be the attestation's ``sub`` (draft §7.1 item 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from infra.ephemeral import EphemeralStore
from ssi.client_attestation import (
    ATTESTATION_HEADER,
    ATTESTATION_POP_HEADER,
    VerifiedClientAttestation,
    verify_client_attestation,
)
from ssi.clock import Clock
from ssi.errors import InvalidClient

__all__ = ["ATTESTATION_JTI_NS", "WalletClientAuth"]

ATTESTATION_JTI_NS = "pid_attestation_jti"


@dataclass
class WalletClientAuth:
    """Checks a request's wallet attestation against the accepted wallet providers."""

    anchors: Sequence[x509.Certificate]
    store: EphemeralStore
    clock: Clock
    max_pop_age: float = 300.0
    skew: float = 60.0

    def verify(
        self, attestations: list[str], pops: list[str], *, audience: str, client_id: str | None
    ) -> VerifiedClientAttestation:
        if not attestations or not pops:
            raise InvalidClient(
                f"wallet attestation client authentication is required ({ATTESTATION_HEADER} and "
                f"{ATTESTATION_POP_HEADER}, HAIP 1.0 §4.4.1)",
                reason="attestation_missing",
            )
        verified = verify_client_attestation(
            attestations,
            pops,
            anchors=self.anchors,
            audience=audience,
            now=self.clock(),
            client_id=client_id,
            max_pop_age=self.max_pop_age,
            skew=self.skew,
        )
        key = f"{verified.instance_key.thumbprint()}:{verified.jti}"
        if not self.store.remember_once(ATTESTATION_JTI_NS, key, self.max_pop_age + 2 * self.skew):
            raise InvalidClient("the client attestation PoP was used before (jti replay)", reason="pop_replay")
        return verified
