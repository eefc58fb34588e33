"""The eID-Server side (BSI TR-03130 role): build a request for the card, then verify the card's (or Smart-eID's)
response — chip authentication, passive authentication, released data against what was requested — and hand the
verified data to the service (the PID provider).

Two layers:

- pure functions :func:`create_session` (a session holds the ephemeral private key and the signed request) and
  :func:`verify_response` (given a session, the response and the injected trust anchors);
- :class:`EidServer`, which keeps sessions in an :class:`EidSessionStore` and takes each out exactly once, so a
  replayed response finds no session (``eid_unknown_session``). Services with several instances plug in their shared
  single-use store (a session serialises with :meth:`EidSession.to_json`).
"""

from __future__ import annotations

import datetime
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ssi.clock import Clock, system_clock
from ssi.eid.chat import NO_RIGHTS, AccessRight, Chat
from ssi.eid.chip import chip_authentication_mac, mac_matches
from ssi.eid.cvc import CertificateDescription, CvCertificate
from ssi.eid.datagroups import DataGroup, years_before
from ssi.eid.identity import EidIdentity
from ssi.eid.messages import (
    DocumentKind,
    EidRequest,
    EidResponse,
    RequestContent,
    SecurityObject,
    sign_request,
)
from ssi.eid.passive_auth import EidTrustAnchors, check_data_groups, verify_security_object
from ssi.encoding import b64url_encode
from ssi.errors import EidMalformed, EidVerificationFailed, KeyError_
from ssi.keys import PrivateKey

__all__ = [
    "DEFAULT_SESSION_LIFETIME",
    "EidAuthentication",
    "EidServer",
    "EidSession",
    "EidSessionStore",
    "MemoryEidSessions",
    "TerminalCredentials",
    "create_session",
    "verify_response",
]

#: Seconds a request (and its session) stays valid: time for the citizen to read, consent and enter the PIN.
DEFAULT_SESSION_LIFETIME = 600.0


def _today(now: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(now, tz=datetime.UTC).date()


@dataclass(frozen=True, slots=True)
class TerminalCredentials:
    """A service's authorization: its terminal key, terminal certificate and the DV certificate that issued it."""

    key: PrivateKey
    dv_certificate: CvCertificate
    certificate: CvCertificate

    def __post_init__(self) -> None:
        if self.certificate.public_key != self.key.public_key:
            raise EidMalformed("the terminal key does not belong to the terminal certificate", reason="eid_malformed")

    @property
    def chain(self) -> tuple[str, str]:
        return (self.dv_certificate.encoded, self.certificate.encoded)

    @property
    def chat(self) -> Chat:
        return self.certificate.chat

    @property
    def description(self) -> CertificateDescription | None:
        return self.certificate.description


@dataclass(frozen=True, slots=True)
class EidSession:
    """One authentication: the signed request and the terminal's ephemeral private key (server-side secret)."""

    request: EidRequest
    ephemeral_key: PrivateKey
    content: RequestContent

    @property
    def session_id(self) -> str:
        return self.content.session_id

    @property
    def expires_at(self) -> int:
        return self.content.expires_at

    def to_json(self) -> dict[str, Any]:
        """For a session store. Holds the ephemeral private key: keep it server-side."""
        return {"request": self.request.to_json(), "ephemeral_key": self.ephemeral_key.private_jwk()}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> EidSession:
        request = EidRequest.from_json(value.get("request"))
        try:
            key = PrivateKey.from_jwk(value.get("ephemeral_key") or {})
        except KeyError_:
            raise EidMalformed("a stored eID session has no usable ephemeral key", reason="eid_malformed") from None
        content = request.content()
        if content.ephemeral_key != key.public_key:
            raise EidMalformed("a stored eID session's key does not match its request", reason="eid_malformed")
        return cls(request, key, content)


@dataclass(frozen=True, slots=True)
class EidAuthentication:
    """A verified eID answer: who (the released data), from what (``source``, ``level_of_assurance``), and the special
    functions' results. ``restricted_id`` is the card's pseudonym for this terminal's sector."""

    session_id: str
    source: DocumentKind
    level_of_assurance: str
    chat: Chat
    identity: EidIdentity
    data_groups: frozenset[DataGroup]
    restricted_id: bytes | None
    age_verified: bool | None
    place_verified: bool | None
    terminal: str
    authenticated_at: float

    def summary(self) -> dict[str, Any]:
        """Non-personal facts for logs: source, level, which data groups, which terminal (never values)."""
        return {
            "session_id": self.session_id,
            "source": self.source,
            "level_of_assurance": self.level_of_assurance,
            "data_groups": sorted(int(g) for g in self.data_groups),
            "restricted_identification": self.restricted_id is not None,
            "terminal": self.terminal,
        }


def create_session(
    terminal: TerminalCredentials,
    *,
    required: Chat,
    optional: Chat = NO_RIGHTS,
    minimum_age: int | None = None,
    place_verification: str | None = None,
    transaction_info: str | None = None,
    now: float,
    lifetime: float = DEFAULT_SESSION_LIFETIME,
    random: Callable[[int], bytes] = os.urandom,
) -> EidSession:
    """A new session and its signed request. ``minimum_age`` asks the card's age verification ("born on or before
    ``today - minimum_age`` years"), ``place_verification`` its community ID verification (a prefix of DG18, e.g.
    ``"027605"`` for North Rhine-Westphalia); each adds its right to ``required`` unless ``optional`` already has it.

    The service can ask only for what its terminal certificate allows (TR-03130: the eID-Server never requests more
    than the authorization certificate grants).
    """
    special = AccessRight(0)
    if minimum_age is not None:
        if not 0 < minimum_age < 150:
            raise EidMalformed("minimum_age is a number of years", reason="eid_malformed")
        special |= AccessRight.AGE_VERIFICATION
    if place_verification is not None:
        special |= AccessRight.COMMUNITY_ID_VERIFICATION
    required = required | Chat(int(special) & ~optional.rights)
    if not (required | optional) <= terminal.chat:
        extra = (required | optional).without(terminal.chat).describe()
        raise EidMalformed(
            f"the request asks for rights the terminal certificate does not grant: {extra}",
            reason="eid_request_exceeds_certificate",
        )
    today = _today(now)
    ephemeral = PrivateKey.generate("ES256")
    content = RequestContent(
        session_id=b64url_encode(random(24)),
        challenge=random(32),
        ephemeral_key=ephemeral.public_key,
        required=required,
        optional=optional.without(required),
        age_verification=None if minimum_age is None else years_before(today, minimum_age),
        place_verification=place_verification,
        validity_date=today,
        issued_at=math.floor(now),
        expires_at=math.floor(now + lifetime),
        transaction_info=transaction_info,
    )
    request = sign_request(content, terminal.key, terminal.chain)
    return EidSession(request, ephemeral, content)


def _check_released(
    session: EidSession, answer_chat: Chat, security_object: SecurityObject, released: set[DataGroup]
) -> None:
    content = session.content
    if not answer_chat <= content.requested:
        raise EidVerificationFailed(
            f"the answer releases rights that were not requested: {answer_chat.without(content.requested).describe()}",
            reason="eid_unrequested_data",
        )
    if not content.required <= answer_chat:
        raise EidVerificationFailed(
            f"required rights were not granted: {content.required.without(answer_chat).describe()}",
            reason="eid_required_data_missing",
        )
    outside = {g for g in released if not answer_chat.may_read(g)}
    if outside:
        raise EidVerificationFailed(
            f"the answer carries data groups outside its access rights: {sorted(int(g) for g in outside)}",
            reason="eid_unrequested_data",
        )
    withheld = {g for g in answer_chat.data_groups if g in security_object.digests and g not in released}
    if withheld:
        raise EidVerificationFailed(
            f"granted data groups the document holds are missing: {sorted(int(g) for g in withheld)}",
            reason="eid_required_data_missing",
        )


def verify_response(
    session: EidSession, response: str | EidResponse, anchors: EidTrustAnchors, *, now: float
) -> EidAuthentication:
    """Verify a card's or Smart-eID's response to ``session``'s request, in this order:

    1. the answer names this session (``eid_unknown_session``: a response from another session) and the session has
       not expired (``eid_session_expired``);
    2. chip authentication (TR-03110-2 CA version 2): the MAC, keyed by ECDH of the session's ephemeral key and the
       chip key from the security object, covers this request and the whole answer (``eid_chip_authentication``);
    3. passive authentication: the security object chains to an anchor of its kind and its signature holds
       (:func:`ssi.eid.verify_security_object`);
    4. the effective access rights lie within the request and include every required right, and each released data
       group is within them and matches its digest (``eid_unrequested_data``, ``eid_required_data_missing``,
       ``eid_data_group_hash``);
    5. special functions answered exactly when granted; the document is valid (``eid_document_expired``: the card's
       answer to the document validity query, TR-03127 §4.4.1, and DG3 when released).

    The caller must make sure a session is verified at most once (:class:`EidServer` does).
    """
    parsed = response if isinstance(response, EidResponse) else EidResponse.parse(response)
    answer, content = parsed.answer, session.content
    # 1.
    if answer.session_id != content.session_id:
        raise EidVerificationFailed("the response belongs to another session", reason="eid_unknown_session")
    if now > content.expires_at:
        raise EidVerificationFailed("the eID session has expired", reason="eid_session_expired")
    # 2.
    claimed = SecurityObject.parse(answer.security_object)
    expected = chip_authentication_mac(
        session.ephemeral_key,
        claimed.chip_key,
        challenge=content.challenge,
        request=session.request.signed,
        answer=parsed.encoded_answer,
    )
    if not mac_matches(expected, parsed.mac):
        raise EidVerificationFailed(
            "chip authentication failed: the answer is not from the chip of the security object, or not for this "
            "session",
            reason="eid_chip_authentication",
        )
    # 3.
    security_object = verify_security_object(answer.security_object, anchors, now=now)
    # 4.
    _check_released(session, answer.chat, security_object, set(answer.data_groups))
    values = check_data_groups(security_object, answer.data_groups)
    # 5.
    chat = answer.chat
    if (answer.restricted_id is not None) != chat.may(AccessRight.RESTRICTED_IDENTIFICATION):
        raise EidMalformed("restricted identification is answered exactly when granted", reason="eid_malformed")
    age_granted = chat.may(AccessRight.AGE_VERIFICATION) and content.age_verification is not None
    if (answer.age_verification is not None) != age_granted:
        raise EidMalformed("age verification is answered exactly when asked and granted", reason="eid_malformed")
    place_granted = chat.may(AccessRight.COMMUNITY_ID_VERIFICATION) and content.place_verification is not None
    if (answer.place_verification is not None) != place_granted:
        raise EidMalformed("place verification is answered exactly when asked and granted", reason="eid_malformed")
    identity = EidIdentity.from_data_groups(values)
    if not answer.document_valid or (identity.date_of_expiry is not None and identity.date_of_expiry < _today(now)):
        raise EidVerificationFailed("the identity document has expired", reason="eid_document_expired")
    terminal = CvCertificate.parse(session.request.certificates[1])
    return EidAuthentication(
        session_id=content.session_id,
        source=security_object.kind,
        level_of_assurance="high" if security_object.kind == "card" else str(security_object.level_of_assurance),
        chat=chat,
        identity=identity,
        data_groups=frozenset(values),
        restricted_id=answer.restricted_id,
        age_verified=answer.age_verification,
        place_verified=answer.place_verification,
        terminal=terminal.chr,
        authenticated_at=now,
    )


class EidSessionStore(Protocol):
    """Where an :class:`EidServer` keeps open sessions. ``take`` removes and returns (atomically: at most once)."""

    def put(self, session: EidSession) -> None: ...

    def take(self, session_id: str) -> EidSession | None: ...


class MemoryEidSessions:
    """Sessions in this process's memory (one server instance). Expired sessions are dropped as new ones arrive."""

    def __init__(self, clock: Clock = system_clock) -> None:
        self._sessions: dict[str, EidSession] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def put(self, session: EidSession) -> None:
        now = self._clock()
        with self._lock:
            for key in [k for k, s in self._sessions.items() if s.expires_at < now]:
                del self._sessions[key]
            self._sessions[session.session_id] = session

    def take(self, session_id: str) -> EidSession | None:
        with self._lock:
            return self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)


class EidServer:
    """An eID-Server for one terminal (service): :meth:`start` a session, :meth:`finish` it with the response."""

    def __init__(
        self,
        terminal: TerminalCredentials,
        anchors: EidTrustAnchors,
        *,
        sessions: EidSessionStore | None = None,
        clock: Clock = system_clock,
        lifetime: float = DEFAULT_SESSION_LIFETIME,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.terminal = terminal
        self.anchors = anchors
        self.sessions: EidSessionStore = sessions if sessions is not None else MemoryEidSessions(clock)
        self._clock = clock
        self._lifetime = lifetime
        self._random = random

    def start(
        self,
        *,
        required: Chat,
        optional: Chat = NO_RIGHTS,
        minimum_age: int | None = None,
        place_verification: str | None = None,
        transaction_info: str | None = None,
    ) -> EidRequest:
        """Open a session; the returned request goes to the eID client (``request.to_json()``)."""
        session = create_session(
            self.terminal,
            required=required,
            optional=optional,
            minimum_age=minimum_age,
            place_verification=place_verification,
            transaction_info=transaction_info,
            now=self._clock(),
            lifetime=self._lifetime,
            random=self._random,
        )
        self.sessions.put(session)
        return session.request

    def finish(self, session_id: str, response: str | EidResponse) -> EidAuthentication:
        """Verify the response to the session ``session_id`` (the service remembers which session it started for
        this user). The session is consumed whatever the outcome: a response counts once."""
        session = self.sessions.take(session_id)
        if session is None:
            raise EidVerificationFailed(
                "no open eID session with this id (used or expired)", reason="eid_unknown_session"
            )
        return verify_response(session, response, self.anchors, now=self._clock())
