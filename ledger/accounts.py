"""Chain accounts: secp256k1 keys that sign Ethereum transactions.

An Ethereum account is the last 20 bytes of ``keccak256(X ‖ Y)`` of its secp256k1 public key (Yellow Paper §7,
``A(p_r)``), written with the EIP-55 mixed-case checksum. Transactions are signed over their keccak signing hash with a
recoverable signature — which is not a JWS ``ES256K`` signature (RFC 8812 hashes with SHA-256 and has no recovery id).
So the :class:`ssi.keys.Signer` protocol cannot sign transactions as it stands; a chain account is its own small
protocol, :class:`ChainAccount`, and the key never leaves the object that implements it.

:class:`SoftwareChainAccount` holds an :class:`ssi.keys.PrivateKey` (a JWK or encrypted key file). A PKCS#11 chain
account (an HSM signing the 32-byte digest with ``CKM_ECDSA`` and finding the recovery id by trial recovery) comes with
the HSM work; it implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ssi.encoding import b64url_decode
from ssi.errors import KeyError_
from ssi.keys import PrivateKey, PublicKey

__all__ = ["ChainAccount", "SoftwareChainAccount", "ethereum_address"]


def ethereum_address(public_key: PublicKey) -> str:
    """The EIP-55 checksummed Ethereum address of a secp256k1 public key."""
    if public_key.alg != "ES256K":
        raise KeyError_("an Ethereum account needs a secp256k1 (ES256K) key", reason="wrong_curve")
    uncompressed = public_key.raw_bytes(compressed=False)  # 0x04 ‖ X ‖ Y
    return str(to_checksum_address(keccak(uncompressed[1:])[-20:]))


@runtime_checkable
class ChainAccount(Protocol):
    """What sending a transaction needs from a key."""

    @property
    def address(self) -> str:
        """EIP-55 checksummed address."""
        ...

    def sign_transaction(self, transaction: Mapping[str, Any]) -> bytes:
        """The raw signed transaction (for ``eth_sendRawTransaction``), from web3-style fields (``chainId``,
        ``nonce``, ``gas``, ``maxFeePerGas``/``maxPriorityFeePerGas`` or ``gasPrice``, ``to``, ``value``, ``data``)."""
        ...


class SoftwareChainAccount:
    """A :class:`ChainAccount` over an in-memory secp256k1 :class:`PrivateKey`. ``repr`` never shows the key."""

    __slots__ = ("_account", "address")

    def __init__(self, key: PrivateKey) -> None:
        self.address = ethereum_address(key.public_key)
        self._account = Account.from_key(b64url_decode(key.private_jwk()["d"]))
        if self._account.address != self.address:  # pragma: no cover - two derivations of one address
            raise KeyError_("key and derived account disagree", reason="invalid_key")

    def sign_transaction(self, transaction: Mapping[str, Any]) -> bytes:
        return bytes(self._account.sign_transaction(dict(transaction)).raw_transaction)

    def __repr__(self) -> str:
        return f"SoftwareChainAccount(address={self.address!r})"

    def __reduce__(self) -> Any:  # pickling would copy the key around silently
        raise TypeError("SoftwareChainAccount cannot be pickled")
