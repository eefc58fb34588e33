"""The simulated eID card: its PIN state machine, persisted per card, and its eID applet.

PIN rules (BSI TR-03127 §3.3 "Passwords"; DESIGN.md §4):

- a new card carries a 5-digit **transport PIN**; "it can only be used to set an operational eID PIN by the holder
  [...] but not for authentication purposes" (§3.3.3; ``eid_transport_pin_active``);
- the **retry counter** starts at 3 and counts down with every wrong PIN (transport PIN included); a right PIN resets
  it to 3;
- at 1 (after the second wrong PIN) "the third attempt to enter the PIN is not enabled until the CAN printed on the
  card has been successfully entered" (§3.3.3; ``eid_can_required``, ``eid_wrong_can``); "The CAN has no retry
  counter" (§3.3.1), so a wrong CAN costs no PIN attempt;
- at 0 the PIN is **blocked** (``eid_pin_blocked``); the 10-digit **PUK** resets the counter to 3 (the PIN stays);
- the PUK resets the retry counter "a maximum of ten" times (§3.3.5); the simulator counts every PUK use, right or
  wrong, against the ten (so a 10-digit PUK cannot be guessed), and then it is exhausted (``eid_puk_exhausted``).

PIN, CAN and PUK with the wrong number of digits are refused without touching any counter (``eid_pin_format``), as the
eID client refuses them before they reach the card. State lives in ``<directory>/cards/<id>.json`` (chip memory),
read and written under a lock for every operation; a wrong PIN is written before the refusal is raised.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ssi.clock import Clock, system_clock
from ssi.eid import (
    CvCertificate,
    DataGroup,
    DocumentSigner,
    EidIdentity,
    EidRequest,
    EidResponse,
    decode_element,
    demo_key,
    demo_pki,
    element_digest,
    encode_element,
    sign_security_object,
)
from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import EidCardRefused, EidMalformed, WalletError
from ssi.keys import PrivateKey, PublicKey
from wallet_sim.eid._files import locked, read_json, write_json_atomic
from wallet_sim.eid.applet import ChipContent, Selection, run_applet, selection
from wallet_sim.eid.citizens import TestCitizen, find_citizen, load_citizens

__all__ = ["MAX_PUK_USES", "RETRY_COUNTER", "CardState", "CardStatus", "EidCard", "EidCards"]

RETRY_COUNTER: Final = 3
MAX_PUK_USES: Final = 10
CARD_FORMAT: Final = "govssi-eid-card/1"


class CardState(enum.StrEnum):
    """What the citizen sees (``govssi wallet eid cards``)."""

    TRANSPORT_PIN = "transport_pin"  # the transport PIN must be changed first
    ACTIVE = "active"
    CAN_REQUIRED = "can_required"  # two wrong PINs: CAN, then PIN
    BLOCKED = "blocked"  # three wrong PINs: PUK
    PUK_EXHAUSTED = "puk_exhausted"  # blocked and no PUK use left


@dataclass(frozen=True, slots=True)
class CardStatus:
    state: CardState
    retry_counter: int
    puk_uses_left: int
    pin_activated: bool
    expired: bool


def _pin_hash(salt: bytes, pin: str) -> bytes:
    # The chip's protection is its retry counter (chip memory cannot be read out); the salted MAC only keeps the
    # PIN itself out of the simulator's files.
    return hmac.new(salt, pin.encode("ascii"), hashlib.sha256).digest()


def _check_digits(value: object, lengths: tuple[int, ...], what: str) -> str:
    if not isinstance(value, str) or len(value) not in lengths or not value.isdigit() or not value.isascii():
        raise EidCardRefused(f"the {what} has {' or '.join(map(str, lengths))} digits", reason="eid_pin_format")
    return value


def _state_of(record: Mapping[str, Any]) -> CardState:
    counter = record["retry_counter"]
    if counter == 0:
        return CardState.PUK_EXHAUSTED if record["puk_uses_left"] == 0 else CardState.BLOCKED
    if counter == 1:
        return CardState.CAN_REQUIRED
    return CardState.ACTIVE if record["pin"] is not None else CardState.TRANSPORT_PIN


def personalise(
    citizen: TestCitizen,
    *,
    document_signer: DocumentSigner,
    trust_points: Sequence[CvCertificate],
    now: float,
) -> dict[str, Any]:
    """A new card's chip memory: salted data group elements, the security object the document signer signs over
    their digests and the chip key, the chip's keys, the trust points, and the citizen's initial PIN state."""
    values = citizen.identity.to_data_groups()
    elements = {group: encode_element(os.urandom(16), group, value) for group, value in values.items()}
    # Chip and restricted-identification keys derive from the card's public identity, so a test citizen's pseudonym
    # is the same in every data directory (test cards are public, like their PINs).
    label = f"card {citizen.id} {citizen.document_number}"
    chip_key, ri_key = demo_key(f"{label} chip authentication"), demo_key(f"{label} restricted identification")
    security_object = sign_security_object(
        document_signer.key,
        [document_signer.certificate],
        kind="card",
        digests={group: element_digest(element) for group, element in elements.items()},
        chip_key=chip_key.public_key,
        issued_at=int(now),
    )
    record: dict[str, Any] = {
        "format": CARD_FORMAT,
        "id": citizen.id,
        "document_number": citizen.document_number,
        "elements": {str(int(g)): e for g, e in sorted(elements.items())},
        "security_object": security_object,
        "chip_key": chip_key.private_jwk(),
        "ri_key": ri_key.private_jwk(),
        "trust_points": [p.encoded for p in trust_points],
        "transport_pin": citizen.transport_pin,
        "can": citizen.can,
        "puk": citizen.puk,
        "pin": None,
        "retry_counter": citizen.retry_counter,
        "puk_uses_left": MAX_PUK_USES,
    }
    if citizen.pin is not None:
        _set_pin(record, citizen.pin)
    return record


def _set_pin(record: dict[str, Any], pin: str) -> None:
    salt = os.urandom(16)
    record["pin"] = {"salt": b64url_encode(salt), "hash": b64url_encode(_pin_hash(salt, pin))}


class EidCard:
    """One simulated card, backed by its chip memory file. Every method reads the file, acts and writes it back."""

    def __init__(self, path: Path, *, clock: Clock = system_clock) -> None:
        self.path = path
        self._clock = clock

    @classmethod
    def create(
        cls,
        path: Path,
        citizen: TestCitizen,
        *,
        clock: Clock = system_clock,
        document_signer: DocumentSigner | None = None,
        trust_points: Sequence[CvCertificate] | None = None,
    ) -> EidCard:
        """Personalise a new card into ``path`` (replacing any old one). Default authorities: the demo PKI."""
        with locked(path):
            _write_new(path, citizen, clock(), document_signer, trust_points)
        return cls(path, clock=clock)

    # -- chip memory -------------------------------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if not self.path.is_file():
            raise WalletError(f"no card at {self.path}", reason="unknown_card")
        record = read_json(self.path)
        if not isinstance(record, dict) or record.get("format") != CARD_FORMAT:
            raise WalletError(f"{self.path} is not a govssi eID card", reason="eid_storage_corrupt")
        return record

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[dict[str, Any]]:
        """The record under the card's lock; changes are written back even when the operation then refuses."""
        with locked(self.path):
            record = self._load()
            before = json.dumps(record, sort_keys=True)
            try:
                yield record
            finally:
                if json.dumps(record, sort_keys=True) != before:
                    write_json_atomic(self.path, record)

    # -- what the citizen sees ---------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return str(self._load()["id"])

    def identity(self) -> EidIdentity:
        """The card's data (what a terminal with every right would read)."""
        return _identity(self._load())

    def restricted_identification_key(self) -> PublicKey:
        """The card's restricted-identification public key, as the card register keeps it from personalisation
        (TR-03110-3 §2.7.2): what a revocation service needs when the card is reported lost. Not on the chip's
        interface; the private key never leaves the card."""
        return PrivateKey.from_jwk(self._load()["ri_key"]).public_key

    def status(self) -> CardStatus:
        record = self._load()
        today = datetime.datetime.fromtimestamp(self._clock(), tz=datetime.UTC).date()
        expiry = _identity(record).date_of_expiry
        return CardStatus(
            state=_state_of(record),
            retry_counter=record["retry_counter"],
            puk_uses_left=record["puk_uses_left"],
            pin_activated=record["pin"] is not None,
            expired=expiry is not None and expiry < today,
        )

    def describe(self) -> dict[str, Any]:
        """The card as ``govssi wallet eid cards`` lists it: id, name, state and its public test secrets."""
        record = self._load()
        identity = _identity(record)
        status = self.status()
        return {
            "id": record["id"],
            "name": f"{identity.given_names} {identity.family_names}",
            "document_type": identity.document_type,
            "state": status.state.value,
            "retry_counter": status.retry_counter,
            "puk_uses_left": status.puk_uses_left,
            "expired": status.expired,
            "date_of_expiry": identity.date_of_expiry.isoformat() if identity.date_of_expiry else None,
            "transport_pin": record["transport_pin"],
            "can": record["can"],
            "puk": record["puk"],
        }

    # -- PIN management ----------------------------------------------------------------------------------------------

    def _pace(self, record: dict[str, Any], secret: str, can: str | None) -> None:
        """PACE with the current PIN (or transport PIN): the retry-counter rules of the module docstring."""
        counter = record["retry_counter"]
        if counter == 0:
            if record["puk_uses_left"] == 0:
                raise EidCardRefused("the PIN is blocked and the PUK is used up", reason="eid_puk_exhausted")
            raise EidCardRefused("the PIN is blocked: unblock it with the PUK", reason="eid_pin_blocked")
        transport = record["pin"] is None
        _check_digits(secret, (5,) if transport else (6,), "transport PIN" if transport else "PIN")
        if counter == 1:
            if can is None:
                raise EidCardRefused("two wrong PINs: enter the CAN first", reason="eid_can_required")
            _check_digits(can, (6,), "CAN")
            if not hmac.compare_digest(can, record["can"]):
                raise EidCardRefused("the CAN is wrong", reason="eid_wrong_can")
        if transport:
            right = hmac.compare_digest(secret, record["transport_pin"])
        else:
            salt = b64url_decode(record["pin"]["salt"])
            right = hmac.compare_digest(_pin_hash(salt, secret), b64url_decode(record["pin"]["hash"]))
        if not right:
            record["retry_counter"] = counter - 1
            left = counter - 1
            what = "transport PIN" if transport else "PIN"
            if left == 0:
                raise EidCardRefused(f"wrong {what}; the PIN is now blocked (PUK needed)", reason="eid_wrong_pin")
            if left == 1:
                raise EidCardRefused(f"wrong {what}; one try left, the CAN is needed first", reason="eid_wrong_pin")
            raise EidCardRefused(f"wrong {what}; {left} tries left", reason="eid_wrong_pin")
        record["retry_counter"] = RETRY_COUNTER

    def verify_pin(self, pin: str, *, can: str | None = None) -> None:
        """PACE with the PIN alone (e.g. the eID client's PIN check); needs the transport PIN changed."""
        with self._transaction() as record:
            if record["pin"] is None:
                self._refuse_transport(record)
            self._pace(record, pin, can)

    def change_pin(self, old: str, new: str, *, can: str | None = None) -> None:
        """Set a new 6-digit PIN after PACE with the old one — the transport PIN on a new card."""
        _check_digits(new, (6,), "new PIN")
        with self._transaction() as record:
            self._pace(record, old, can)
            _set_pin(record, new)

    def unblock(self, puk: str) -> None:
        """Reset the retry counter with the PUK (each use, right or wrong, counts against the limit of 10)."""
        _check_digits(puk, (10,), "PUK")
        with self._transaction() as record:
            if record["puk_uses_left"] == 0:
                raise EidCardRefused("the PUK has been used 10 times and is exhausted", reason="eid_puk_exhausted")
            record["puk_uses_left"] -= 1
            if not hmac.compare_digest(puk, record["puk"]):
                raise EidCardRefused(f"the PUK is wrong ({record['puk_uses_left']} uses left)", reason="eid_wrong_puk")
            record["retry_counter"] = RETRY_COUNTER

    @staticmethod
    def _refuse_transport(record: Mapping[str, Any]) -> None:
        if _state_of(record) in (CardState.BLOCKED, CardState.PUK_EXHAUSTED):
            return  # the blocked state is reported by PACE
        raise EidCardRefused(
            "the card still has its transport PIN: change it to a 6-digit PIN first", reason="eid_transport_pin_active"
        )

    # -- the eID function --------------------------------------------------------------------------------------------

    def authenticate(
        self, request: EidRequest | Mapping[str, Any], pin: str, *, can: str | None = None, deselect: Selection = ()
    ) -> EidResponse:
        """Answer a terminal's request: PACE with the PIN, then terminal authentication, access control and chip
        authentication (:mod:`wallet_sim.eid.applet`). ``deselect``: optional data the citizen does not release."""
        parsed = request if isinstance(request, EidRequest) else EidRequest.from_json(dict(request))
        deselected = selection(deselect)
        with self._transaction() as record:
            if record["pin"] is None:
                self._refuse_transport(record)
            self._pace(record, pin, can)
            chip = _chip(record)
        response, _ = run_applet(chip, parsed, deselected=deselected, now=self._clock())
        return response


def _write_new(
    path: Path,
    citizen: TestCitizen,
    now: float,
    document_signer: DocumentSigner | None = None,
    trust_points: Sequence[CvCertificate] | None = None,
) -> None:
    pki = demo_pki()
    record = personalise(
        citizen,
        document_signer=document_signer or pki.document_signer,
        trust_points=trust_points if trust_points is not None else pki.trust_points,
        now=now,
    )
    write_json_atomic(path, record)


def _elements(record: Mapping[str, Any]) -> dict[DataGroup, str]:
    return {DataGroup(int(number)): element for number, element in record["elements"].items()}


def _identity(record: Mapping[str, Any]) -> EidIdentity:
    return EidIdentity.from_data_groups(dict(decode_element(e) for e in _elements(record).values()))


def _chip(record: Mapping[str, Any]) -> ChipContent:
    identity = _identity(record)
    if identity.date_of_expiry is None:
        raise EidMalformed("a card has a date of expiry (DG3)", reason="eid_malformed")
    return ChipContent(
        elements=_elements(record),
        identity=identity,
        security_object=record["security_object"],
        chip_key=PrivateKey.from_jwk(record["chip_key"]),
        ri_key=PrivateKey.from_jwk(record["ri_key"]),
        valid_until=identity.date_of_expiry,
        trust_points=tuple(CvCertificate.parse(p) for p in record["trust_points"]),
    )


class EidCards:
    """The test cards of one wallet: ``<directory>/cards/<id>.json``, personalised from the test citizens on first
    use. ``directory`` is the wallet's eID directory (the CLI uses ``<wallet data dir>/eid``)."""

    def __init__(
        self,
        directory: Path,
        *,
        clock: Clock = system_clock,
        citizens: Sequence[TestCitizen] | None = None,
    ) -> None:
        self.directory = directory
        self._clock = clock
        self._citizens = tuple(citizens) if citizens is not None else load_citizens()

    def ids(self) -> list[str]:
        return [c.id for c in self._citizens]

    def card(self, card_id: str) -> EidCard:
        """The card of test citizen ``card_id`` (``WalletError`` ``unknown_card`` for an unknown id)."""
        citizen = next((c for c in self._citizens if c.id == card_id), None)
        if citizen is None:
            find_citizen(card_id)  # raises with the list of known ids
            raise WalletError(f"there is no test card {card_id!r}", reason="unknown_card")
        path = self.directory / "cards" / f"{citizen.id}.json"
        with locked(path):  # check and personalise under one lock: two processes never both personalise
            if not path.is_file():
                _write_new(path, citizen, self._clock())
        return EidCard(path, clock=self._clock)

    def __iter__(self) -> Iterator[EidCard]:
        return (self.card(card_id) for card_id in self.ids())

    def reset(self, card_id: str) -> EidCard:
        """A factory-new card for ``card_id`` (new salts and security object, initial PIN state)."""
        citizen = next((c for c in self._citizens if c.id == card_id), None)
        if citizen is None:
            find_citizen(card_id)
            raise WalletError(f"there is no test card {card_id!r}", reason="unknown_card")
        return EidCard.create(self.directory / "cards" / f"{citizen.id}.json", citizen, clock=self._clock)
