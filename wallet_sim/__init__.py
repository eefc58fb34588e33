"""The wallet simulator: the citizen's wallet (holder) — a simulated secure element and wallet provider, an encrypted
credential store, an OpenID4VCI 1.0 client, the ``govssi wallet`` CLI and a phone-sized web wallet. It talks to
services only over HTTP, like a real wallet (DESIGN.md §2). ``wallet_sim.eid`` (the simulated eID card) is its own
subpackage.

Modules, by role: :mod:`~wallet_sim.store` (the SQLite wallet file, encrypted under the wallet PIN),
:mod:`~wallet_sim.secure_element` (non-exportable P-256 keys, signing only after PIN unlock, key and wallet
attestations), :mod:`~wallet_sim.provider` (the deterministic demo wallet provider: CA and attester),
:mod:`~wallet_sim.oid4vci` (the issuance client, received-credential checks, display metadata),
:mod:`~wallet_sim.qr` (offers from QR images), :mod:`~wallet_sim.wallet` (the :class:`Wallet` that ties them
together), :mod:`~wallet_sim.web` (``create_wallet_app``). See docs/wallet.md.

Opening a wallet (the data directory holds ``wallet.db`` and ``provider/``)::

    from wallet_sim import Wallet

    wallet = Wallet.create(data_dir, pin)          # or Wallet.open(data_dir, pin); WalletPinError when wrong
    # development: allow_http_loopback=True (or GOVSSI_DEV_ALLOW_HTTP=1) for http://127.0.0.1 issuers

Receiving (OpenID4VCI 1.0, pre-authorized code)::

    resolved = wallet.resolve_offer(link)          # or resolve_offer(image=png_or_jpeg_bytes); nothing spent yet
    resolved.tx_code                               # TxCode | None: ask the user for it
    for result in wallet.request(resolved, tx_code):
        if isinstance(result, ReceivedCredentials):    # verified, not yet stored: show result.claims
            wallet.accept(result)                      # stored atomically + credential_accepted
            # or wallet.decline(result)                # discarded, keys destroyed + credential_deleted
        else:                                          # PendingIssuance (deferred, §9)
            wallet.poll(result.id) / wallet.wait_for(result, timeout=60)

**Presentation API** (for the OpenID4VP client)::

    for credential in wallet.credentials():        # StoredCredential: id, format ("dc+sd-jwt"), vct,
        credential.claims                          #   credential_issuer, claims (all the issuer disclosed to the
        credential.unused                          #   holder, without iss/iat/exp/cnf/vct/status), display (de/en),
                                                   #   issued_at, expires_at, instances (one-time copies)
    held = wallet.presentation_material(credential.id)   # HeldCredential of the first unused copy:
    held.held                                      #   ssi.sd_jwt.HeldSdJwt (select/present Disclosures)
    held.signer                                    #   the copy's holder key in the secure element (ssi.keys.Signer)
    presentation = held.held.present(paths, holder=held.signer, audience=client_id, nonce=nonce)  # KB-JWT signed
    wallet.mark_used(held.instance_id)             # after sending: retire the one-time copy (atomic, once)

``presentation_material`` raises ``WalletError(reason="credential_used_up")`` when every copy was presented (pass
``allow_reuse=True`` to reuse the last one); the signer raises ``SecureElementLocked`` after
``wallet.secure_element.lock()`` until ``wallet.secure_element.unlock(pin)``. ``wallet.holder_signer(instance_id)``
gives the signer of a given copy; ``wallet.compact(credential_id)`` the credential as issued.

Attestations (HAIP 1.0; for the PID issuance of Wallet simulator II): ``wallet.secure_element.key_attestation(key_ids,
nonce=c_nonce)`` and ``wallet.secure_element.wallet_attestation()`` → :class:`ClientAttestation` with
``.headers(audience=as_issuer, now=..., challenge=...)`` (``OAuth-Client-Attestation`` and ``-PoP``);
issuers verify them with :mod:`ssi.client_attestation` and :mod:`ssi.oid4vci.key_attestation` against
``WalletProvider.demo().ca_certificate`` (also written to ``<data dir>/provider/ca.pem``).

The names below load on first use (PEP 562), so ``import wallet_sim.eid`` does not pull in httpx, Pillow or zxing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wallet_sim.provider import WalletProvider
    from wallet_sim.qr import decode_qr_image
    from wallet_sim.secure_element import ClientAttestation, KeyHandle, SecureElement, SecureElementSigner
    from wallet_sim.store import FAST_KDF, KdfParams, WalletStore
    from wallet_sim.wallet import (
        DEFAULT_BATCH,
        CredentialInstance,
        HeldCredential,
        PendingIssuance,
        ReceivedCredentials,
        StoredCredential,
        Wallet,
    )

_EXPORTS = {
    "DEFAULT_BATCH": "wallet_sim.wallet",
    "CredentialInstance": "wallet_sim.wallet",
    "HeldCredential": "wallet_sim.wallet",
    "PendingIssuance": "wallet_sim.wallet",
    "ReceivedCredentials": "wallet_sim.wallet",
    "StoredCredential": "wallet_sim.wallet",
    "Wallet": "wallet_sim.wallet",
    "ClientAttestation": "wallet_sim.secure_element",
    "KeyHandle": "wallet_sim.secure_element",
    "SecureElement": "wallet_sim.secure_element",
    "SecureElementSigner": "wallet_sim.secure_element",
    "FAST_KDF": "wallet_sim.store",
    "KdfParams": "wallet_sim.store",
    "WalletStore": "wallet_sim.store",
    "WalletProvider": "wallet_sim.provider",
    "decode_qr_image": "wallet_sim.qr",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wallet_sim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_BATCH",
    "FAST_KDF",
    "ClientAttestation",
    "CredentialInstance",
    "HeldCredential",
    "KdfParams",
    "KeyHandle",
    "PendingIssuance",
    "ReceivedCredentials",
    "SecureElement",
    "SecureElementSigner",
    "StoredCredential",
    "Wallet",
    "WalletProvider",
    "WalletStore",
    "decode_qr_image",
]
