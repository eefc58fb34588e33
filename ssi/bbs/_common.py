"""Argument checks shared by the BBS operations (draft-irtf-cfrg-bbs-signatures-09 §3.5, §3.6)."""

from __future__ import annotations

from collections.abc import Sequence

from ssi.errors import BbsInputError


def require_octets(value: object, what: str) -> bytes:
    """``header``, ``presentation_header`` and messages are octet strings (§3.5)."""
    if not isinstance(value, bytes):
        raise BbsInputError(f"{what} must be an octet string", reason="bbs_not_octets")
    return value


def require_messages(messages: Sequence[bytes]) -> Sequence[bytes]:
    """A vector of octet strings (a list or tuple, never a single ``bytes`` or ``str``)."""
    if not isinstance(messages, (list, tuple)):
        raise BbsInputError("messages must be a list of octet strings", reason="bbs_message_not_octets")
    return messages


def check_disclosed_indexes(indexes: Sequence[int], count: int) -> list[int]:
    """Disclosed indexes are "non-negative integers in ascending order" in "the range from 0 to length(messages) - 1"
    (§3.6.3; §3.7.3 Deserialization step 6; ascending means no repeats, otherwise ``L = R + U`` breaks)."""
    if not isinstance(indexes, (list, tuple)):
        raise BbsInputError("disclosed indexes must be a list of integers", reason="bbs_index_not_integer")
    previous = -1
    for index in indexes:
        if not isinstance(index, int) or isinstance(index, bool):
            raise BbsInputError("disclosed indexes must be integers", reason="bbs_index_not_integer")
        if index < 0 or index >= count:
            raise BbsInputError(f"disclosed index {index} is outside 0..{count - 1}", reason="bbs_index_out_of_range")
        if index <= previous:
            raise BbsInputError("disclosed indexes must be strictly ascending", reason="bbs_indexes_not_ascending")
        previous = index
    return list(indexes)
