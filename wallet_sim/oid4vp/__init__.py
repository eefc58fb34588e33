"""The wallet simulator's OpenID4VP 1.0 presentation client (see :mod:`wallet_sim.oid4vp.client`)::

with PresentationClient(WalletRequestPolicy(x509_anchors=[verifier_ca])) as client:
    resolved = client.resolve(link)              # fetched by reference with wallet_nonce, verified
    proposal = propose(wallet, resolved)         # DCQL over the wallet's credentials
    if not proposal.satisfiable:
        client.decline(resolved, "access_denied", "no matching credentials")
    selection = proposal.choose(include=[], credentials={}, disclose={})   # the user's choice; default: preferred
    outcome = present(wallet, client, proposal, selection)   # KB-JWT in the secure element; copies retired
"""

from wallet_sim.oid4vp.client import (
    WALLET_METADATA,
    ClaimChoice,
    PresentationClient,
    PresentationOutcome,
    Proposal,
    QueryChoice,
    ResolvedRequest,
    path_text,
    present,
    propose,
    safe_redirect_uri,
)

__all__ = [
    "WALLET_METADATA",
    "ClaimChoice",
    "PresentationClient",
    "PresentationOutcome",
    "Proposal",
    "QueryChoice",
    "ResolvedRequest",
    "path_text",
    "present",
    "propose",
    "safe_redirect_uri",
]
