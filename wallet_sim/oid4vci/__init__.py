"""The wallet's OpenID4VCI 1.0 client: offers (by value, by reference, from QR images), metadata, DPoP-bound tokens,
nonces, key proofs with key attestations, batch, deferred polling and notifications, plus the checks on received
credentials and the display metadata (de/en) the wallet keeps with them."""

from wallet_sim.oid4vci.client import (
    DeferredTransaction,
    IssuanceClient,
    IssuedCredentials,
    IssuerEndpoints,
    ResolvedOffer,
    TokenGrant,
    check_tx_code,
    parse_offer_text,
)
from wallet_sim.oid4vci.display import claim_label, localized, normalise_display, safe_colors
from wallet_sim.oid4vci.http import IssuerHttp
from wallet_sim.oid4vci.verify import CheckedCredential, check_credentials

__all__ = [
    "CheckedCredential",
    "DeferredTransaction",
    "IssuanceClient",
    "IssuedCredentials",
    "IssuerEndpoints",
    "IssuerHttp",
    "ResolvedOffer",
    "TokenGrant",
    "check_credentials",
    "check_tx_code",
    "claim_label",
    "localized",
    "normalise_display",
    "parse_offer_text",
    "safe_colors",
]
