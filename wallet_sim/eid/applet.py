"""The eID applet: what a chip does with a terminal's request once the citizen's PIN was accepted. The card and the
Smart-eID run the same applet over their own data, keys and security object, so both answer in one format.

Steps (TR-03127 §4.1 General Authentication Procedure, in the simulator's form, see :mod:`ssi.eid`):

1. terminal authentication: the DV and terminal certificates chain to one of the chip's CVCA trust points, are valid
   today and never widen their issuer's rights (:func:`ssi.eid.verify_terminal_chain`); the request is signed by the
   terminal certificate's key and has not expired;
2. access control: the request asks only for rights its certificate grants (``eid_chat_widened`` otherwise); the
   citizen may deselect optional rights, never required ones, and can add nothing (``eid_selection_invalid``);
3. the answer: the released data group elements, the restricted identification for the terminal's sector, age and
   place verification, document validity — MACed under chip authentication.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ssi.eid import (
    AccessRight,
    Chat,
    CvCertificate,
    DataGroup,
    EidAnswer,
    EidIdentity,
    EidRequest,
    EidResponse,
    RequestContent,
    restricted_identification,
    seal_answer,
    verify_terminal_chain,
)
from ssi.errors import EidCardRefused
from ssi.keys import PrivateKey

__all__ = ["ChipContent", "Selection", "authenticate_terminal", "effective_rights", "run_applet", "selection"]

#: A request may have been issued this much "in the future" by the server's clock (seconds).
CLOCK_SKEW = 300

Selection = Chat | Iterable[DataGroup | AccessRight]


def selection(value: Selection) -> Chat:
    """The citizen's deselection as a CHAT: a :class:`Chat`, or data groups and special functions."""
    if isinstance(value, Chat):
        return value
    groups = [v for v in value if isinstance(v, DataGroup)]
    special = AccessRight(0)
    for v in value:
        if isinstance(v, AccessRight):
            special |= v
    return Chat.of(read=groups, special=special)


@dataclass(frozen=True, slots=True)
class ChipContent:
    """What a chip holds: released-form elements, their values, the signed security object and its keys."""

    elements: Mapping[DataGroup, str]
    identity: EidIdentity
    security_object: str
    chip_key: PrivateKey
    ri_key: PrivateKey
    valid_until: datetime.date
    trust_points: tuple[CvCertificate, ...]


def authenticate_terminal(
    request: EidRequest, trust_points: Iterable[CvCertificate], *, now: float
) -> tuple[CvCertificate, RequestContent]:
    """Step 1 and the certificate half of step 2: the verified terminal certificate and request content."""
    today = datetime.datetime.fromtimestamp(now, tz=datetime.UTC).date()
    terminal = verify_terminal_chain(request.certificates, tuple(trust_points), today=today)
    content = request.verify(terminal.public_key)
    if now > content.expires_at:
        raise EidCardRefused("the terminal's request has expired", reason="eid_request_expired")
    if content.issued_at > now + CLOCK_SKEW:
        raise EidCardRefused("the terminal's request is dated in the future", reason="eid_request_expired")
    if not content.requested <= terminal.chat:
        raise EidCardRefused(
            "the request asks for rights the terminal certificate does not grant: "
            + ", ".join(content.requested.without(terminal.chat).describe()),
            reason="eid_chat_widened",
        )
    return terminal, content


def effective_rights(content: RequestContent, terminal: CvCertificate, deselected: Chat) -> Chat:
    """Step 2: required rights, plus the optional ones the citizen kept, within the terminal certificate."""
    if not deselected <= content.optional:
        raise EidCardRefused(
            "only optional data can be deselected: " + ", ".join(deselected.without(content.optional).describe()),
            reason="eid_selection_invalid",
        )
    effective = content.requested.without(deselected) & terminal.chat
    if effective.may(AccessRight.RESTRICTED_IDENTIFICATION) and terminal.sector_key is None:
        raise EidCardRefused(
            "restricted identification needs the terminal's sector key (TR-03110-3 §2.7, §C.3.2)",
            reason="eid_request_invalid",
        )
    return effective


def run_applet(
    chip: ChipContent, request: EidRequest, *, deselected: Chat, now: float
) -> tuple[EidResponse, CvCertificate]:
    """Steps 1–3 for a chip whose PIN was just accepted; returns the response and the terminal certificate."""
    terminal, content = authenticate_terminal(request, chip.trust_points, now=now)
    effective = effective_rights(content, terminal, deselected)
    identity = chip.identity
    age = None
    if effective.may(AccessRight.AGE_VERIFICATION) and content.age_verification is not None:
        # Age verification (TR-03127 §4.4.3): born on or before the requested date; unknown parts the latest day.
        birth = identity.date_of_birth
        age = birth is not None and birth.latest() <= content.age_verification
    place = None
    if effective.may(AccessRight.COMMUNITY_ID_VERIFICATION) and content.place_verification is not None:
        # Community ID verification (TR-03127 §4.4.3): DG18 starts with the requested prefix.
        place = identity.community_id is not None and identity.community_id.startswith(content.place_verification)
    ri = None
    if effective.may(AccessRight.RESTRICTED_IDENTIFICATION):
        assert terminal.sector_key is not None  # effective_rights refused otherwise
        ri = restricted_identification(chip.ri_key, terminal.sector_key)
    answer = EidAnswer(
        session_id=content.session_id,
        chat=effective,
        security_object=chip.security_object,
        data_groups={g: chip.elements[g] for g in effective.data_groups if g in chip.elements},
        document_valid=chip.valid_until >= content.validity_date,
        restricted_id=ri,
        age_verification=age,
        place_verification=place,
    )
    return seal_answer(answer, chip.chip_key, request, content), terminal
