"""did:ethr (the ethr DID method spec, ERC-1056 "Lightweight Identity") for :mod:`ssi.did`.

- :class:`EthrDidDriver` — the method driver: ``DidResolver.register(EthrDidDriver({chain_id: (w3_or_url,
  registry)}))``; documents built from the registry's events exactly as ethr-did-resolver builds them, document
  metadata (``versionId``, ``updated``, ``nextVersionId``, ``nextUpdate``, ``deactivated``), historical resolution
  (``?versionId=<block>``, ``?versionTime=<time>``, :meth:`EthrDidDriver.resolve_at`);
- :class:`RegistryCache` — per-network cache invalidated by following the registry's events;
- :class:`EthrDidController` — the owner's changes (attributes, delegates, owner, deactivation, keys);
- key lifecycle (:mod:`ledger.did_ethr._lifecycle`): :class:`SigningKeyHistory` verifies a credential with the key
  valid at its issuance (routine rotation), and refuses keys marked compromised (:func:`compromise_mark`) whatever
  their ``iat``;
- identifiers: :func:`ethr_did`, :func:`parse_ethr_did`, :func:`network_id`; key attributes: :func:`key_attribute`,
  :func:`multikey_attribute`.

Differences from ethr-did-resolver are listed in ``ledger/README.md``.
"""

from ledger.did_ethr._cache import CacheStats, RegistryCache
from ledger.did_ethr._controller import DEFAULT_VALIDITY, EthrDidController, RegistryChange, send_transaction
from ledger.did_ethr._document import DocumentVersion, build_document, ld_context
from ledger.did_ethr._driver import CONTENT_TYPE, EthrDidDriver, EthrNetwork
from ledger.did_ethr._events import AttributeChanged, DelegateChanged, OwnerChanged, RegistryEvent
from ledger.did_ethr._identifier import MAINNET, METHOD, EthrDid, ethr_did, network_id, parse_ethr_did
from ledger.did_ethr._keys import attribute_key, key_attribute, multikey_attribute, verification_method_thumbprint
from ledger.did_ethr._lifecycle import (
    COMPROMISE_ATTRIBUTE,
    SigningKeyHistory,
    compromise_mark,
    compromised_thumbprints,
)
from ledger.did_ethr._registry import RegistryReader, connect, identity_history

__all__ = [
    "COMPROMISE_ATTRIBUTE",
    "CONTENT_TYPE",
    "DEFAULT_VALIDITY",
    "MAINNET",
    "METHOD",
    "AttributeChanged",
    "CacheStats",
    "DelegateChanged",
    "DocumentVersion",
    "EthrDid",
    "EthrDidController",
    "EthrDidDriver",
    "EthrNetwork",
    "OwnerChanged",
    "RegistryCache",
    "RegistryChange",
    "RegistryEvent",
    "RegistryReader",
    "SigningKeyHistory",
    "attribute_key",
    "build_document",
    "compromise_mark",
    "compromised_thumbprints",
    "connect",
    "ethr_did",
    "identity_history",
    "key_attribute",
    "ld_context",
    "multikey_attribute",
    "network_id",
    "parse_ethr_did",
    "send_transaction",
    "verification_method_thumbprint",
]
