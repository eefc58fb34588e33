"""govssi's chain layer: Solidity contracts and their committed artifacts, ERC-1056 bindings for did:ethr.

DESIGN.md §1-3: the chain holds only public, non-personal data (issuer DIDs in the ERC-1056 registry, the trusted-issuer
registry, status-list digests). ``ledger`` may import ``ssi``; ``ssi`` never imports ``ledger``.

Public API so far: :func:`load_artifact` / :class:`ContractArtifact` (``ledger.contracts``; the ERC-1056 DID registry,
the trusted-issuer registry and the status-list anchor), the ERC-1056 signed-call digests (``ledger.erc1056``), the
cooperative's registry and status-list anchoring (``ledger.trust``), the development deployment with the
services' address settings (``ledger.bootstrap``) and the Besu QBFT network generator (``ledger.qbft``; see
``docs/ledger.md``). ``python -m ledger.build`` rebuilds the artifacts;
``python -m ledger.gas_report`` prints the contracts' gas per call.
"""

from ledger.contracts import (
    DID_REGISTRY,
    STATUS_LIST_ANCHOR,
    TRUSTED_ISSUER_REGISTRY,
    ContractArtifact,
    load_artifact,
)

__all__ = ["DID_REGISTRY", "STATUS_LIST_ANCHOR", "TRUSTED_ISSUER_REGISTRY", "ContractArtifact", "load_artifact"]
