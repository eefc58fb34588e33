"""The cooperative's trusted-issuer registry and status-list anchoring (issue 5, "Ledger II"), over
:class:`ledger.client.ChainClient`.

Verifier side (cached, invalidated by the contracts' events — one ``eth_blockNumber`` per cached read)::

    client = ChainClient.connect(os.environ["GOVSSI_CHAIN_RPC"])
    addresses = ledger.bootstrap.addresses_from_env()        # GOVSSI_TRUSTED_ISSUER_REGISTRY, GOVSSI_STATUS_ANCHOR …
    registry = TrustRegistry(client, addresses.trusted_issuer_registry)
    accreditation = registry.is_accredited(issuer_did, vct, at_time=iat)      # Accreditation | None
    accreditation = registry.is_accredited(spki_sha256(certificate), vct, iat)  # the x5c route: same accreditation
    registry.check(issuer_did, vct, iat)          # AccreditationCheck(accredited, reason, accreditation)
    registry.accreditation(issuer_did)            # the record whatever its status (active/suspended/revoked/…)

    anchors = StatusAnchorReader(client, addresses.status_anchor)
    anchors.latest(issuer_did, status_list_uri)   # AnchoredDigest(sha256, version, time) | None
    anchors.check(issuer_did, status_list_uri, hashlib.sha256(token).digest()).state  # current/rolled_back/unknown/…

``is_accredited`` answers ``None`` unless the accreditation is active, ``at_time`` lies in its validity window
(``valid_from`` inclusive, ``valid_until`` exclusive) and before any ``compromised_since``, and it covers the type
(SD-JWT VC ``vct``, mdoc doctype, W3C type). An issuer is named by its DID or by the SHA-256 of the DER
SubjectPublicKeyInfo of its X.509 certificate's key (:func:`ssi.x509.spki_sha256`); both lead to the same
accreditation.

Issuer side: :func:`anchor_status_lists` ``(client, anchor_address, signer, [(uri, token_sha256), …])`` anchors many
lists per transaction; the signer owns the issuer's did:ethr identity (ERC-1056) and the identity is accredited.

Development: :func:`describe_issuer` reads an issuer's DID, credential types and certificate key from its published
metadata (``govssi ledger dev-accredit --issuer URL``).

Members' side: :class:`RegistryMember` ``(registry, signer)`` proposes (admission, removal, accreditation,
suspension, reinstatement, revocation, compromise) and votes; a majority of the current members decides.
Refusals by a contract are :class:`ssi.errors.TransactionFailed` whose ``reason`` is the contract's code
(``not_member``, ``already_voted``, ``last_member``, ``not_accredited`` …).
"""

from ledger.trust._anchor import DEFAULT_ANCHOR_BATCH, AnchoringResult, StatusAnchorReader, anchor_status_lists
from ledger.trust._follow import CacheStats
from ledger.trust._issuer_metadata import IssuerDescription, credential_types_of, describe_issuer
from ledger.trust._keys import (
    credential_type_hash,
    ethr_identity,
    issuer_identity,
    issuer_key,
    parse_cert_key_sha256,
    status_list_uri_hash,
)
from ledger.trust._model import (
    Accreditation,
    AccreditationCheck,
    AccreditationStatus,
    AnchorCheck,
    AnchoredDigest,
    Proposal,
    ProposalKind,
    ProposalOutcome,
    ProposalState,
)
from ledger.trust._registry import RegistryMember, TrustRegistry, registry_refusal

__all__ = [
    "DEFAULT_ANCHOR_BATCH",
    "Accreditation",
    "AccreditationCheck",
    "AccreditationStatus",
    "AnchorCheck",
    "AnchoredDigest",
    "AnchoringResult",
    "CacheStats",
    "IssuerDescription",
    "Proposal",
    "ProposalKind",
    "ProposalOutcome",
    "ProposalState",
    "RegistryMember",
    "StatusAnchorReader",
    "TrustRegistry",
    "anchor_status_lists",
    "credential_type_hash",
    "credential_types_of",
    "describe_issuer",
    "ethr_identity",
    "issuer_identity",
    "issuer_key",
    "parse_cert_key_sha256",
    "registry_refusal",
    "status_list_uri_hash",
]
