"""Chain accounts: something with an Ethereum address that signs whole transactions.

An Ethereum account is the last 20 bytes of ``keccak256(X ‖ Y)`` of its secp256k1 public key (Yellow Paper §7,
``A(p_r)``), written with the EIP-55 mixed-case checksum (:func:`ethereum_address`). Transactions are signed over their
keccak signing hash with a recoverable signature — which is not a JWS ``ES256K`` signature (RFC 8812 hashes with
SHA-256 and has no recovery id), so :class:`ssi.keys.Signer` cannot sign them.

Keys sign through :class:`ledger.client.ChainSigner` (a 32-byte digest in, a recoverable signature out), which a
PKCS#11 token implements as well as a software key; no raw private key is ever handed to eth-account. A
:class:`ChainAccount` (``sign_transaction`` → raw bytes) is the account-shaped view of a signer for code that wants
one: :class:`ledger.client.SignerAccount` adapts any signer, and :class:`SoftwareChainAccount` is that adapter over a
:class:`ssi.keys.PrivateKey` (a JWK or encrypted key file) — kept for callers that take a key, while ``ledger.deploy``,
``ledger.did_ethr`` and the CLI take the signer itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from ledger.client.signer import SoftwareChainSigner, ethereum_address
from ledger.client.transactions import SignerAccount
from ssi.keys import PrivateKey

__all__ = ["ChainAccount", "SoftwareChainAccount", "ethereum_address"]


@runtime_checkable
class ChainAccount(Protocol):
    """What signing a whole transaction needs from a key."""

    @property
    def address(self) -> str:
        """EIP-55 checksummed address."""
        ...

    def sign_transaction(self, transaction: Mapping[str, Any]) -> bytes:
        """The raw signed transaction (for ``eth_sendRawTransaction``), from web3-style fields (``chainId``,
        ``nonce``, ``gas``, ``maxFeePerGas``/``maxPriorityFeePerGas`` or ``gasPrice``, ``to``, ``value``, ``data``)."""
        ...


class SoftwareChainAccount(SignerAccount):
    """``SignerAccount(SoftwareChainSigner(key))``: a :class:`ChainAccount` over an in-memory secp256k1
    :class:`PrivateKey`. The key stays inside the signer; ``repr`` never shows it and the account cannot be pickled."""

    __slots__ = ()

    def __init__(self, key: PrivateKey) -> None:
        super().__init__(SoftwareChainSigner(key))

    def __repr__(self) -> str:
        return f"SoftwareChainAccount(address={self.address!r})"

    def __reduce__(self) -> Any:  # pickling would copy the key around silently
        raise TypeError("SoftwareChainAccount cannot be pickled")
