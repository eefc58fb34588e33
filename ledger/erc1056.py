"""ERC-1056 (Ethereum Lightweight Identity) message digests for the registry's ``*Signed`` functions.

ERC-1056 lets anyone submit a change on an identity's behalf when the identity's owner signed it ("Same as above but
with raw signature"). The signed message follows EIP-191 version 0x00 ("data with intended validator"):

    keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce ‖ identity ‖ <function name, UTF-8> ‖ <parameters, tightly packed>)

where ``registry`` is the registry's 20-byte address, ``nonce`` is ``nonce(identityOwner(identity))`` as a 32-byte
big-endian integer, addresses are 20 bytes, ``bytes32`` values 32 bytes, ``uint`` values 32 bytes and ``bytes`` values
raw. The owner signs the digest itself (no further prefix) and passes (v, r, s) with v in {27, 28}. The registry
increments the signer's nonce on success, so a signature applies at most once.

These functions build exactly the digests ``ledger/contracts/EthereumDIDRegistry.sol`` verifies, and that did:ethr
controllers sign.
"""

from __future__ import annotations

from eth_utils.address import to_canonical_address
from eth_utils.crypto import keccak

__all__ = [
    "add_delegate_digest",
    "bytes32",
    "change_owner_digest",
    "revoke_attribute_digest",
    "revoke_delegate_digest",
    "set_attribute_digest",
]

_EIP191_VALIDATOR_PREFIX = b"\x19\x00"


def bytes32(text: str | bytes) -> bytes:
    """A delegate type or attribute name as ERC-1056's ``bytes32``: UTF-8, right-padded with zero bytes.

    did:ethr names such as ``veriKey``, ``sigAuth`` or ``did/pub/Ed25519/veriKey/base64`` must fit in 32 bytes.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if len(raw) > 32:
        raise ValueError(f"does not fit in bytes32 ({len(raw)} bytes)")
    return raw.ljust(32, b"\x00")


def _uint256(value: int) -> bytes:
    if not 0 <= value < 2**256:
        raise ValueError("uint256 out of range")
    return value.to_bytes(32, "big")


def _word32(value: bytes) -> bytes:
    if len(value) != 32:
        raise ValueError("bytes32 value must be exactly 32 bytes")
    return value


def _digest(registry: str, nonce: int, identity: str, function: str, packed: bytes) -> bytes:
    return keccak(
        _EIP191_VALIDATOR_PREFIX
        + to_canonical_address(registry)
        + _uint256(nonce)
        + to_canonical_address(identity)
        + function.encode("ascii")
        + packed
    )


def change_owner_digest(registry: str, nonce: int, identity: str, *, new_owner: str) -> bytes:
    """Digest the owner signs for ``changeOwnerSigned(identity, v, r, s, newOwner)``.

    ``nonce`` is ``nonce(identityOwner(identity))`` read from the registry right before signing.
    """
    return _digest(registry, nonce, identity, "changeOwner", to_canonical_address(new_owner))


def add_delegate_digest(
    registry: str, nonce: int, identity: str, *, delegate_type: bytes, delegate: str, validity: int
) -> bytes:
    """Digest for ``addDelegateSigned(identity, v, r, s, delegateType, delegate, validity)``."""
    packed = _word32(delegate_type) + to_canonical_address(delegate) + _uint256(validity)
    return _digest(registry, nonce, identity, "addDelegate", packed)


def revoke_delegate_digest(registry: str, nonce: int, identity: str, *, delegate_type: bytes, delegate: str) -> bytes:
    """Digest for ``revokeDelegateSigned(identity, v, r, s, delegateType, delegate)``."""
    return _digest(registry, nonce, identity, "revokeDelegate", _word32(delegate_type) + to_canonical_address(delegate))


def set_attribute_digest(
    registry: str, nonce: int, identity: str, *, name: bytes, value: bytes, validity: int
) -> bytes:
    """Digest for ``setAttributeSigned(identity, v, r, s, name, value, validity)``."""
    return _digest(registry, nonce, identity, "setAttribute", _word32(name) + bytes(value) + _uint256(validity))


def revoke_attribute_digest(registry: str, nonce: int, identity: str, *, name: bytes, value: bytes) -> bytes:
    """Digest for ``revokeAttributeSigned(identity, v, r, s, name, value)``."""
    return _digest(registry, nonce, identity, "revokeAttribute", _word32(name) + bytes(value))
