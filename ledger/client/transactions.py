"""Signing Ethereum transactions with a :class:`~ledger.client.signer.ChainSigner` (no private key handed around).

eth-account serializes the transaction; the signature comes from the signer:

1. the unsigned transaction is RLP-encoded per its type — EIP-1559 (type 2, ``0x02 ‖ rlp([chainId, nonce,
   maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList])``) or legacy with EIP-155 replay protection
   (``rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])``);
2. its keccak-256 digest is signed by ``ChainSigner.sign_digest``;
3. the signature goes into the transaction: typed transactions take the y-parity (EIP-2718/EIP-1559
   ``signature_y_parity``), legacy ones ``v = {0,1} + chainId * 2 + 35`` (EIP-155);
4. the hash that identifies the transaction on chain is keccak-256 of the signed encoding.

Unprotected legacy transactions (no chain id) are refused: they could be replayed on any chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from eth_account._utils.legacy_transactions import encode_transaction, serializable_unsigned_transaction_from_dict
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ledger.client.signer import ChainSigner

__all__ = ["SignedTransaction", "SignerAccount", "sign_transaction", "signer_of"]

_EIP155_OFFSET = 35


@dataclass(frozen=True)
class SignedTransaction:
    """A signed transaction: the exact bytes to send and the hash that names it on chain.

    Resending ``raw`` is idempotent: it has one nonce and one hash, so a chain applies it at most once.
    """

    raw: bytes
    hash: bytes
    sender: str
    nonce: int
    #: The unsigned fields as signed (web3 names: ``to``, ``data``, ``value``, ``gas``, fees, ``chainId``, ``nonce``).
    fields: Mapping[str, Any] = field(repr=False)

    @property
    def hash_hex(self) -> str:
        return "0x" + self.hash.hex()


def sign_transaction(signer: ChainSigner, transaction: Mapping[str, Any]) -> SignedTransaction:
    """Sign ``transaction`` (web3-style fields; ``from``, if present, must be the signer) with ``signer``.

    With ``maxFeePerGas``/``maxPriorityFeePerGas`` (or ``type`` 2) it is an EIP-1559 transaction; with ``gasPrice``
    a legacy EIP-155 one. ``chainId`` is required either way.
    """
    fields = dict(transaction)
    sender = fields.pop("from", None)
    if sender is not None and to_checksum_address(sender) != signer.address:
        raise ValueError("the transaction's 'from' is not the signer's address")
    chain_id = fields.get("chainId")
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
        raise ValueError("a transaction needs a positive integer chainId (EIP-155 replay protection)")
    if "to" in fields and fields["to"] in (None, b"", ""):
        del fields["to"]  # contract creation
    unsigned = serializable_unsigned_transaction_from_dict(cast(Any, fields))
    signature = signer.sign_digest(bytes(unsigned.hash()))
    if isinstance(unsigned, TypedTransaction):
        v = signature.y_parity
    else:
        v = signature.y_parity + chain_id * 2 + _EIP155_OFFSET
    raw = bytes(encode_transaction(cast(Any, unsigned), (v, signature.r, signature.s)))
    return SignedTransaction(
        raw=raw, hash=bytes(keccak(raw)), sender=signer.address, nonce=int(fields["nonce"]), fields=fields
    )


class SignerAccount:
    """A :class:`ledger.accounts.ChainAccount` (``address`` + ``sign_transaction`` -> raw bytes) over a
    :class:`ChainSigner`, for code that takes accounts; :func:`signer_of` unwraps it where a signer is needed."""

    __slots__ = ("signer",)

    def __init__(self, signer: ChainSigner) -> None:
        self.signer = signer

    @property
    def address(self) -> str:
        return self.signer.address

    def sign_transaction(self, transaction: Mapping[str, Any]) -> bytes:
        return sign_transaction(self.signer, transaction).raw

    def __repr__(self) -> str:
        return f"SignerAccount(address={self.address!r})"


def signer_of(sender: ChainSigner | SignerAccount) -> ChainSigner:
    """The :class:`ChainSigner` that signs for ``sender`` (a signer, or a :class:`SignerAccount` such as
    ``ledger.accounts.SoftwareChainAccount``). Anything else — an eth-account ``LocalAccount`` holding a raw private
    key, say — is refused: every chain key of govssi signs through the protocol."""
    if isinstance(sender, SignerAccount):
        return sender.signer
    if isinstance(sender, ChainSigner):
        return sender
    raise TypeError(f"a chain sender is a ChainSigner or a SignerAccount, not {type(sender).__name__}")
