"""The chain client (issue 4, "Client"): web3.py over a list of JSON-RPC URLs with failover and timeouts, chain-id
check, PoA blocks, nonce management for concurrent senders, confirmation depth, idempotent transaction delivery, and
chain accounts behind the :class:`ChainSigner` protocol (secp256k1 digest signing, so software keys and PKCS#11
tokens are interchangeable).

    client = ChainClient.connect("http://127.0.0.1:8545,http://127.0.0.1:8546", policy=ClientPolicy(confirmations=2))
    signer = SoftwareChainSigner(load_private_key("issuer-chain.jwk"))
    registry = client.contract(address, load_artifact(DID_REGISTRY))
    receipt = client.transact(registry.functions.setAttribute(...), sender=signer)
    owner = client.call(registry.functions.identityOwner(identity))
    changes = client.get_logs(registry.events.DIDAttributeChanged, from_block=0)

Errors are :mod:`ledger.errors` (all ``ssi.errors.SsiError``): ``ChainUnavailable`` (no node answered in time),
``ChainIdMismatch``, ``TransactionFailed`` (reverted, with the reason), ``TransactionRejected``,
``TransactionNotConfirmed`` (fate unknown in time; resend the attached bytes, it cannot apply twice).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ledger.client.nonces import Nonces, NonceSlot
from ledger.client.signer import (
    SECP256K1_N,
    ChainSigner,
    RecoverableSignature,
    SoftwareChainSigner,
    ethereum_address,
    recover_address,
    recoverable_signature,
)

if TYPE_CHECKING:
    from ledger.client.client import ChainClient, ClientPolicy, call_data
    from ledger.client.endpoints import EndpointStatus, FailoverPolicy, FailoverProvider, display_url, endpoint_urls
    from ledger.client.transactions import SignedTransaction, SignerAccount, sign_transaction, signer_of

# web3 and eth-account load only when these are first used: a chain node process (ledger.poa) needs the signer and
# the HTTP transport of this package, not web3 (about a second of start-up per process).
_LAZY = {
    "ChainClient": "ledger.client.client",
    "ClientPolicy": "ledger.client.client",
    "call_data": "ledger.client.client",
    "EndpointStatus": "ledger.client.endpoints",
    "FailoverPolicy": "ledger.client.endpoints",
    "FailoverProvider": "ledger.client.endpoints",
    "display_url": "ledger.client.endpoints",
    "endpoint_urls": "ledger.client.endpoints",
    "SignedTransaction": "ledger.client.transactions",
    "SignerAccount": "ledger.client.transactions",
    "sign_transaction": "ledger.client.transactions",
    "signer_of": "ledger.client.transactions",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "SECP256K1_N",
    "ChainClient",
    "ChainSigner",
    "ClientPolicy",
    "EndpointStatus",
    "FailoverPolicy",
    "FailoverProvider",
    "NonceSlot",
    "Nonces",
    "RecoverableSignature",
    "SignedTransaction",
    "SignerAccount",
    "SoftwareChainSigner",
    "call_data",
    "display_url",
    "endpoint_urls",
    "ethereum_address",
    "recover_address",
    "recoverable_signature",
    "sign_transaction",
    "signer_of",
]
