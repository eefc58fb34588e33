"""Certificate Holder Authorization Template (CHAT) for authentication terminals (BSI TR-03110-3 §C.1.5 and §C.4.2
Table 21; TR-03110-4 §2.2.3.2 Table 4): the access rights of a card-verifiable certificate, as a 40-bit mask.

Bit layout (least significant first):

- b0 age verification, b1 community (municipality) ID verification, b2 restricted identification, b3 privileged
  terminal,
  b4 CAN allowed, b5 PIN management, b6 install certificate, b7 install qualified certificate;
- b8…b29 read access to eID DG1…DG22 (DG *n* is bit 7+*n*);
- b32…b37 write access to DG22…DG17 (not used by the simulator);
- b38–b39 the role: 11 CVCA, 10 DV (official domestic), 01 DV (non-official / foreign), 00 terminal.

TR-03110-3 §2.6: "To determine the effective authorization of a certificate holder, the MRTD chip MUST calculate a
bitwise Boolean 'and' of the relative authorization contained in the Terminal Certificate, the referenced Document
Verifier Certificate, and the referenced CVCA Certificate" (and, §2.6.1, the authorization the terminal asks for). The
simulated card is stricter: a certificate claiming more rights than its issuer's is refused outright
(``eid_chat_widened``), because a correctly issued chain never does that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Final

from ssi.eid.datagroups import DataGroup
from ssi.errors import EidMalformed

__all__ = ["NO_RIGHTS", "NO_SPECIAL", "AccessRight", "Chat", "Role"]

_RIGHTS_MASK: Final = (1 << 38) - 1  # b0…b37; b38/b39 are the role
_HEX: Final = re.compile(r"[0-9A-F]{10}")


class Role(IntEnum):
    """b39 b38 of the CHAT (TR-03110-3 §C.4.2, Table 21)."""

    TERMINAL = 0b00
    DV_NON_OFFICIAL = 0b01
    DV_OFFICIAL = 0b10
    CVCA = 0b11

    @property
    def is_dv(self) -> bool:
        return self in (Role.DV_NON_OFFICIAL, Role.DV_OFFICIAL)


class AccessRight(IntFlag):
    """The special functions of b0…b7 (data group read rights are :meth:`Chat.read`)."""

    AGE_VERIFICATION = 1 << 0
    COMMUNITY_ID_VERIFICATION = 1 << 1
    RESTRICTED_IDENTIFICATION = 1 << 2
    PRIVILEGED_TERMINAL = 1 << 3
    CAN_ALLOWED = 1 << 4
    PIN_MANAGEMENT = 1 << 5
    INSTALL_CERTIFICATE = 1 << 6
    INSTALL_QUALIFIED_CERTIFICATE = 1 << 7


#: No special function.
NO_SPECIAL: Final = AccessRight(0)


def _read_bit(group: DataGroup) -> int:
    return 1 << (7 + group.value)


@dataclass(frozen=True, slots=True)
class Chat:
    """Access rights (38 bits) and a role. ``a <= b``: every right of ``a`` is one of ``b`` (roles ignored)."""

    rights: int = 0
    role: Role = Role.TERMINAL

    def __post_init__(self) -> None:
        if not 0 <= self.rights <= _RIGHTS_MASK:
            raise EidMalformed("CHAT rights exceed 38 bits", reason="eid_malformed_chat")

    @classmethod
    def of(
        cls,
        *,
        read: Iterable[DataGroup] = (),
        special: AccessRight = NO_SPECIAL,
        role: Role = Role.TERMINAL,
    ) -> Chat:
        bits = int(special)
        for group in read:
            bits |= _read_bit(DataGroup(group))
        return cls(bits, role)

    @classmethod
    def all_rights(cls, role: Role) -> Chat:
        """Every right the simulator knows (a CVCA's or DV's certificate)."""
        return cls.of(read=DataGroup, special=AccessRight(0xFF), role=role)

    @classmethod
    def from_hex(cls, text: object) -> Chat:
        """The 5-byte CHAT value as 10 upper-case hex digits."""
        if not isinstance(text, str) or not _HEX.fullmatch(text):
            raise EidMalformed("a CHAT is 10 upper-case hex digits", reason="eid_malformed_chat")
        value = int(text, 16)
        return cls(value & _RIGHTS_MASK, Role(value >> 38))

    @property
    def hex(self) -> str:
        return f"{(self.role.value << 38) | self.rights:010X}"

    @property
    def data_groups(self) -> frozenset[DataGroup]:
        """The data groups this CHAT may read (only the simulated ones)."""
        return frozenset(g for g in DataGroup if self.rights & _read_bit(g))

    @property
    def special(self) -> AccessRight:
        return AccessRight(self.rights & 0xFF)

    def may(self, right: AccessRight) -> bool:
        return bool(self.rights & right) and (self.rights & right) == int(right)

    def may_read(self, group: DataGroup) -> bool:
        return bool(self.rights & _read_bit(group))

    def with_role(self, role: Role) -> Chat:
        return Chat(self.rights, role)

    def __le__(self, other: Chat) -> bool:
        return self.rights & ~other.rights == 0

    def __and__(self, other: Chat) -> Chat:
        return Chat(self.rights & other.rights, self.role)

    def __or__(self, other: Chat) -> Chat:
        return Chat(self.rights | other.rights, self.role)

    def without(self, other: Chat) -> Chat:
        return Chat(self.rights & ~other.rights, self.role)

    def __bool__(self) -> bool:
        return self.rights != 0

    def describe(self) -> list[str]:
        """Human-readable names of the rights (for logs and the CLI): ``DG4``…, ``AGE_VERIFICATION``…."""
        names = [f"DG{g.value}" for g in sorted(self.data_groups)]
        return names + [right.name or "" for right in AccessRight if self.rights & right]


#: No rights at all (the default ``optional`` of a request).
NO_RIGHTS: Final = Chat()
