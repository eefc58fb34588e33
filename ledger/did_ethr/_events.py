"""The ERC-1056 registry's events, decoded from logs (ERC-1056 "Events"; did:ethr method spec, "Enumerating Contract
Events to build the DID Document")::

    event DIDOwnerChanged(address indexed identity, address owner, uint previousChange);
    event DIDDelegateChanged(address indexed identity, bytes32 delegateType, address delegate, uint validTo,
                             uint previousChange);
    event DIDAttributeChanged(address indexed identity, bytes32 name, bytes value, uint validTo, uint previousChange);

Delegate types and attribute names are ``bytes32``: UTF-8 text right-padded with zero bytes. A log whose ``bytes32``
is not UTF-8 is not a DID event (ethr-did-resolver skips it), but its ``previousChange`` still links the identity's
history, so decoding returns the link even when there is no event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ssi.errors import ChainError

__all__ = [
    "EVENT_TOPICS",
    "AttributeChanged",
    "DecodedLog",
    "DelegateChanged",
    "OwnerChanged",
    "RegistryEvent",
    "bytes32_text",
    "decode_log",
]

OWNER_CHANGED: Final = keccak(b"DIDOwnerChanged(address,address,uint256)")
DELEGATE_CHANGED: Final = keccak(b"DIDDelegateChanged(address,bytes32,address,uint256,uint256)")
ATTRIBUTE_CHANGED: Final = keccak(b"DIDAttributeChanged(address,bytes32,bytes,uint256,uint256)")
#: topic 0 of the three events.
EVENT_TOPICS: Final = (OWNER_CHANGED, DELEGATE_CHANGED, ATTRIBUTE_CHANGED)
_DATA_TYPES: Final = {
    OWNER_CHANGED: ("address", "uint256"),
    DELEGATE_CHANGED: ("bytes32", "address", "uint256", "uint256"),
    ATTRIBUTE_CHANGED: ("bytes32", "bytes", "uint256", "uint256"),
}


@dataclass(frozen=True, slots=True)
class _EventBase:
    block_number: int
    log_index: int
    #: Timestamp (Unix seconds) of the block the event is in.
    block_timestamp: int
    #: The block of the identity's change before this one (0: none).
    previous_change: int


@dataclass(frozen=True, slots=True)
class OwnerChanged(_EventBase):
    """``DIDOwnerChanged``: the identity's controller is now ``owner`` (EIP-55; the zero address deactivates)."""

    owner: str


@dataclass(frozen=True, slots=True)
class DelegateChanged(_EventBase):
    """``DIDDelegateChanged``: ``delegate`` (EIP-55) of ``delegate_type`` is valid until ``valid_to``."""

    delegate_type: str
    delegate: str
    valid_to: int


@dataclass(frozen=True, slots=True)
class AttributeChanged(_EventBase):
    """``DIDAttributeChanged``: attribute ``name`` = ``value`` is valid until ``valid_to`` (0 after revocation)."""

    name: str
    value: bytes
    valid_to: int


RegistryEvent = OwnerChanged | DelegateChanged | AttributeChanged


@dataclass(frozen=True, slots=True)
class DecodedLog:
    identity: str
    previous_change: int
    #: ``None`` when the log is a registry event but not a DID event (a ``bytes32`` that is not UTF-8).
    event: RegistryEvent | None


def bytes32_text(raw: bytes) -> str | None:
    """A ``bytes32`` name as text: strict UTF-8 with the trailing zero bytes removed, or ``None`` if not UTF-8."""
    try:
        return raw.decode("utf-8").rstrip("\x00")
    except UnicodeDecodeError:
        return None


def decode_log(
    topics: list[bytes], data: bytes, *, block_number: int, log_index: int, block_timestamp: int
) -> DecodedLog | None:
    """Decode one registry log; ``None`` for a log that is none of the three events."""
    if not topics or topics[0] not in _DATA_TYPES:
        return None
    if len(topics) != 2 or len(topics[1]) != 32 or any(topics[1][:12]):
        raise ChainError("a registry event log has no indexed identity address", reason="malformed_log")
    identity = str(to_checksum_address(topics[1][12:]))
    try:
        values = abi_decode(list(_DATA_TYPES[topics[0]]), data)
    except (DecodingError, ValueError, OverflowError):
        raise ChainError("a registry event log has malformed data", reason="malformed_log") from None
    previous_change = int(values[-1])
    base = {"block_number": block_number, "log_index": log_index, "block_timestamp": block_timestamp}
    event: RegistryEvent | None
    if topics[0] == OWNER_CHANGED:
        event = OwnerChanged(**base, previous_change=previous_change, owner=str(to_checksum_address(values[0])))
    else:
        name = bytes32_text(bytes(values[0]))
        if name is None:
            event = None
        elif topics[0] == DELEGATE_CHANGED:
            event = DelegateChanged(
                **base,
                previous_change=previous_change,
                delegate_type=name,
                delegate=str(to_checksum_address(values[1])),
                valid_to=int(values[2]),
            )
        else:
            event = AttributeChanged(
                **base, previous_change=previous_change, name=name, value=bytes(values[1]), valid_to=int(values[2])
            )
    return DecodedLog(identity=identity, previous_change=previous_change, event=event)
