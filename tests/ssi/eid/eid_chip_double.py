"""A chip built only from ``ssi.eid`` primitives, for server-side tests: it answers like a card, and each step can be
overridden to forge what a broken or malicious chip (or wallet) would send."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Any

from ssi.eid import (
    NO_RIGHTS,
    AccessRight,
    Chat,
    DataGroup,
    DocumentKind,
    DocumentSigner,
    EidAnswer,
    EidIdentity,
    EidRequest,
    EidResponse,
    FreeTextPlace,
    PartialDate,
    StructuredPlace,
    demo_key,
    demo_pki,
    element_digest,
    encode_element,
    restricted_identification,
    seal_answer,
    sign_security_object,
    verify_terminal_chain,
)
from ssi.keys import PrivateKey

#: 2025-10-09T09:46:40Z
NOW = 1_760_000_000.0
TODAY = datetime.date(2025, 10, 9)

ERIKA = EidIdentity(
    document_type="ID",
    issuing_state="D",
    date_of_expiry=datetime.date(2034, 10, 31),
    given_names="ERIKA",
    family_names="MUSTERMANN",
    date_of_birth=PartialDate(1964, 8, 12),
    place_of_birth=FreeTextPlace("BERLIN"),
    nationality="D",
    birth_name="GABLER",
    place_of_residence=StructuredPlace(city="KÖLN", country="D", street="HEIDESTRASSE 17", zipcode="51147"),
    community_id="02760503150000",
)

NAME = Chat.of(read=[DataGroup.GIVEN_NAMES, DataGroup.FAMILY_NAMES])
BIRTH = Chat.of(read=[DataGroup.DATE_OF_BIRTH, DataGroup.PLACE_OF_BIRTH])
ADDRESS = Chat.of(read=[DataGroup.PLACE_OF_RESIDENCE])
RI = Chat.of(special=AccessRight.RESTRICTED_IDENTIFICATION)


@dataclass
class ChipDouble:
    identity: EidIdentity = ERIKA
    signer: DocumentSigner | None = None
    kind: DocumentKind = "card"
    level_of_assurance: str | None = None
    expires_at: int | None = None
    chip_key: PrivateKey = field(default_factory=lambda: demo_key("test chip"))
    ri_key: PrivateKey = field(default_factory=lambda: demo_key("test chip ri"))

    def __post_init__(self) -> None:
        pki = demo_pki()
        signer = self.signer or (pki.document_signer if self.kind == "card" else pki.smart_eid_signer)
        self.elements = {g: encode_element(os.urandom(16), g, v) for g, v in self.identity.to_data_groups().items()}
        self.security_object = sign_security_object(
            signer.key,
            [signer.certificate],
            kind=self.kind,
            digests={g: element_digest(e) for g, e in self.elements.items()},
            chip_key=self.chip_key.public_key,
            issued_at=int(NOW) - 86400,
            expires_at=self.expires_at,
            level_of_assurance=self.level_of_assurance,
        )

    def answer(self, request: EidRequest, *, deselect: Chat = NO_RIGHTS, today: datetime.date = TODAY) -> EidAnswer:
        """What an honest chip answers (terminal authentication checked with the demo CVCA)."""
        terminal = verify_terminal_chain(request.certificates, demo_pki().trust_points, today=today)
        content = request.verify(terminal.public_key)
        effective = content.requested.without(deselect) & terminal.chat
        birth = self.identity.date_of_birth
        age = None
        if effective.may(AccessRight.AGE_VERIFICATION) and content.age_verification is not None:
            age = birth is not None and birth.latest() <= content.age_verification
        place = None
        if effective.may(AccessRight.COMMUNITY_ID_VERIFICATION) and content.place_verification is not None:
            place = (self.identity.community_id or "").startswith(content.place_verification)
        ri = None
        if effective.may(AccessRight.RESTRICTED_IDENTIFICATION) and terminal.sector_key is not None:
            ri = restricted_identification(self.ri_key, terminal.sector_key)
        expiry = self.identity.date_of_expiry or today
        return EidAnswer(
            session_id=content.session_id,
            chat=effective,
            security_object=self.security_object,
            data_groups={g: self.elements[g] for g in effective.data_groups if g in self.elements},
            document_valid=expiry >= content.validity_date,
            restricted_id=ri,
            age_verification=age,
            place_verification=place,
        )

    def seal(self, answer: EidAnswer, request: EidRequest, *, key: PrivateKey | None = None) -> EidResponse:
        return seal_answer(answer, key or self.chip_key, request, request.content())

    def respond(self, request: EidRequest, **kwargs: Any) -> str:
        return self.seal(self.answer(request, **kwargs), request).encode()
