"""The card's PIN state machine, exhaustively: a reference model of the rules (BSI TR-03127 PIN management,
TR-03110-2 PACE with PIN/CAN/PUK; DESIGN.md §4) against the real, persisted card.

1. every operation from every state class (transport PIN or PIN set × retry counter 0–3 × PUK uses 10/1/0), each
   input right, wrong or malformed, with and without the CAN: refusal reason and next state as the model says;
2. hypothesis stateful testing: random sequences of the same operations, the card re-opened from disk at random
   points, the state checked after every step.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ssi.clock import FrozenClock
from ssi.eid import Chat, DataGroup, EidServer, demo_pki
from ssi.errors import EidCardRefused
from wallet_sim.eid import MAX_PUK_USES, CardState, EidCard
from wallet_sim.eid import _files as card_files
from wallet_sim.eid.card import _set_pin
from wallet_sim.eid.citizens import find_citizen

NOW = 1_760_000_000.0
ERIKA = find_citizen("erika")
Kind = str  # "right" | "wrong" | "malformed"
CanKind = str | None  # None (not given) | "right" | "wrong" | "malformed"


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(card_files, "DURABLE", False)


@dataclass(frozen=True)
class Model:
    """The rules, written down once more, as plainly as possible."""

    pin: str | None = None  # None: the transport PIN is still active
    retry_counter: int = 3
    puk_left: int = MAX_PUK_USES

    @property
    def state(self) -> CardState:
        if self.retry_counter == 0:
            return CardState.PUK_EXHAUSTED if self.puk_left == 0 else CardState.BLOCKED
        if self.retry_counter == 1:
            return CardState.CAN_REQUIRED
        return CardState.TRANSPORT_PIN if self.pin is None else CardState.ACTIVE

    def pace(self, secret: Kind, can: CanKind) -> tuple[Model, str | None]:
        if self.retry_counter == 0:
            return self, "eid_puk_exhausted" if self.puk_left == 0 else "eid_pin_blocked"
        if secret == "malformed":
            return self, "eid_pin_format"
        if self.retry_counter == 1:
            if can is None:
                return self, "eid_can_required"
            if can == "malformed":
                return self, "eid_pin_format"
            if can == "wrong":
                return self, "eid_wrong_can"
        if secret == "wrong":
            return replace(self, retry_counter=self.retry_counter - 1), "eid_wrong_pin"
        return replace(self, retry_counter=3), None

    def verify_pin(self, secret: Kind, can: CanKind) -> tuple[Model, str | None]:
        if self.pin is None and self.retry_counter != 0:
            return self, "eid_transport_pin_active"
        return self.pace(secret, can)

    def change_pin(self, secret: Kind, new: str, can: CanKind) -> tuple[Model, str | None]:
        if len(new) != 6 or not new.isdigit():
            return self, "eid_pin_format"
        after, refused = self.pace(secret, can)
        return (after, refused) if refused else (replace(after, pin=new), None)

    def unblock(self, puk: Kind) -> tuple[Model, str | None]:
        if puk == "malformed":
            return self, "eid_pin_format"
        if self.puk_left == 0:
            return self, "eid_puk_exhausted"
        used = replace(self, puk_left=self.puk_left - 1)
        if puk == "wrong":
            return used, "eid_wrong_puk"
        return replace(used, retry_counter=3), None


def _secret(model: Model, kind: Kind) -> str:
    right = model.pin if model.pin is not None else ERIKA.transport_pin
    if kind == "right":
        return right
    if kind == "wrong":
        return ("0" if right[0] != "0" else "1") + right[1:]
    return right + "9"  # one digit too many


def _can(kind: CanKind) -> str | None:
    return {None: None, "right": ERIKA.can, "wrong": "000000", "malformed": "12345"}[kind]


def _puk(kind: Kind) -> str:
    return {"right": ERIKA.puk, "wrong": "0000000000", "malformed": "123"}[kind]


def _outcome(action: Callable[[], object]) -> str | None:
    try:
        action()
    except EidCardRefused as exc:
        return exc.reason
    return None


def _check(card: EidCard, model: Model) -> None:
    status = card.status()
    assert status.state is model.state
    assert status.retry_counter == model.retry_counter
    assert status.puk_uses_left == model.puk_left
    assert status.pin_activated == (model.pin is not None)


def _put(card: EidCard, model: Model) -> None:
    """Write ``model``'s state into the card's chip memory (test set-up only)."""
    record = json.loads(card.path.read_text())
    record["pin"] = None
    if model.pin is not None:
        _set_pin(record, model.pin)
    record["retry_counter"], record["puk_uses_left"] = model.retry_counter, model.puk_left
    card.path.write_text(json.dumps(record))


# -- 1. every operation from every state class --------------------------------------------------------------------


def _state_classes() -> Iterator[Model]:
    for pin in (None, "482916"):
        for counter in (0, 1, 2, 3):
            for puk_left in (MAX_PUK_USES, 1, 0):
                yield Model(pin, counter, puk_left)


def _operations() -> Iterator[
    tuple[str, Callable[[Model], tuple[Model, str | None]], Callable[[EidCard, Model], None]]
]:
    cans: tuple[CanKind, ...] = (None, "right", "wrong", "malformed")
    for secret in ("right", "wrong", "malformed"):
        for can in cans:
            yield (
                f"verify_pin({secret}, can={can})",
                lambda m, s=secret, c=can: m.verify_pin(s, c),
                lambda card, m, s=secret, c=can: card.verify_pin(_secret(m, s), can=_can(c)),
            )
            yield (
                f"change_pin({secret}, can={can})",
                lambda m, s=secret, c=can: m.change_pin(s, "135790", c),
                lambda card, m, s=secret, c=can: card.change_pin(_secret(m, s), "135790", can=_can(c)),
            )
    yield (
        "change_pin(new malformed)",
        lambda m: m.change_pin("right", "12345", "right"),
        lambda card, m: card.change_pin(_secret(m, "right"), "12345", can=ERIKA.can),
    )
    for puk in ("right", "wrong", "malformed"):
        yield (
            f"unblock({puk})",
            lambda m, p=puk: m.unblock(p),
            lambda card, m, p=puk: card.unblock(_puk(p)),
        )


def test_every_operation_from_every_state(tmp_path: Path) -> None:
    card = EidCard.create(tmp_path / "card.json", ERIKA, clock=FrozenClock(NOW))
    checked, mismatches = 0, []
    for start in _state_classes():
        for name, expect, act in _operations():
            _put(card, start)
            after, reason = expect(start)
            got = _outcome(functools.partial(act, card, start))
            status = card.status()
            observed = (got, status.state, status.retry_counter, status.puk_uses_left, status.pin_activated)
            wanted = (reason, after.state, after.retry_counter, after.puk_left, after.pin is not None)
            if observed != wanted:
                mismatches.append(f"{start} {name}: got {observed}, model {wanted}")
            checked += 1
    assert not mismatches, "\n".join(mismatches[:20])
    assert checked == 24 * 28


def test_the_transport_pin_is_5_digits_and_the_pin_6() -> None:
    """TR-03127: the 5-digit transport PIN must be replaced by a 6-digit PIN before the eID function is used."""
    card = EidCard.create(Path(tempfile.mkdtemp()) / "card.json", ERIKA)
    with pytest.raises(EidCardRefused) as caught:
        card.change_pin(ERIKA.transport_pin, "12345")
    assert caught.value.reason == "eid_pin_format"
    card.change_pin(ERIKA.transport_pin, "123456")
    with pytest.raises(EidCardRefused) as caught:
        card.change_pin(ERIKA.transport_pin, "654321")  # the transport PIN is gone
    assert caught.value.reason == "eid_pin_format"
    card.change_pin("123456", "654321")
    card.verify_pin("654321")


def test_puk_limit() -> None:
    """The PUK works ten times (right or wrong); then the PIN cannot be unblocked any more."""
    card = EidCard.create(Path(tempfile.mkdtemp()) / "card.json", ERIKA)
    for _ in range(MAX_PUK_USES):
        card.unblock(ERIKA.puk)
    with pytest.raises(EidCardRefused) as caught:
        card.unblock(ERIKA.puk)
    assert caught.value.reason == "eid_puk_exhausted"
    for _ in range(3):
        with pytest.raises(EidCardRefused):
            card.change_pin("00000", "123456", can=ERIKA.can)
    assert card.status().state is CardState.PUK_EXHAUSTED


def test_state_survives_reopening(tmp_path: Path) -> None:
    """A wrong PIN is written before the refusal: a new handle (another process) sees it."""
    path = tmp_path / "card.json"
    EidCard.create(path, ERIKA)
    with pytest.raises(EidCardRefused):
        EidCard(path).change_pin("00000", "123456")
    with pytest.raises(EidCardRefused):
        EidCard(path).change_pin("00000", "123456")
    assert EidCard(path).status().state is CardState.CAN_REQUIRED
    EidCard(path).change_pin(ERIKA.transport_pin, "123456", can=ERIKA.can)
    assert EidCard(path).status().state is CardState.ACTIVE


# -- 2. random sequences ---------------------------------------------------------------------------------------------

kinds = st.sampled_from(["right", "wrong", "malformed"])
can_kinds = st.sampled_from([None, "right", "wrong", "malformed"])
new_pins = st.one_of(st.text("0123456789", min_size=6, max_size=6), st.sampled_from(["12345", "1234567", "12a456"]))


class CardMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        card_files.DURABLE = False
        self.directory = Path(tempfile.mkdtemp(prefix="govssi-card-"))
        self.clock = FrozenClock(NOW)
        self.card = EidCard.create(self.directory / "card.json", ERIKA, clock=self.clock)
        self.model = Model()
        self.authentications = 0

    def teardown(self) -> None:
        card_files.DURABLE = True
        shutil.rmtree(self.directory, ignore_errors=True)

    def _apply(self, expected: tuple[Model, str | None], action: Callable[[], object]) -> None:
        after, reason = expected
        assert _outcome(action) == reason
        self.model = after

    @rule(secret=kinds, new=new_pins, can=can_kinds)
    def change_pin(self, secret: Kind, new: str, can: CanKind) -> None:
        old = _secret(self.model, secret)
        self._apply(self.model.change_pin(secret, new, can), lambda: self.card.change_pin(old, new, can=_can(can)))

    @rule(secret=kinds, can=can_kinds)
    def verify_pin(self, secret: Kind, can: CanKind) -> None:
        pin = _secret(self.model, secret)
        self._apply(self.model.verify_pin(secret, can), lambda: self.card.verify_pin(pin, can=_can(can)))

    @rule(puk=kinds)
    def unblock(self, puk: Kind) -> None:
        self._apply(self.model.unblock(puk), lambda: self.card.unblock(_puk(puk)))

    @precondition(lambda self: self.authentications < 3)
    @rule(secret=kinds, can=can_kinds)
    def authenticate(self, secret: Kind, can: CanKind) -> None:
        """The eID function follows the same PIN rules; when it passes, the server accepts the answer."""
        self.authentications += 1
        pki = demo_pki()
        server = EidServer(pki.pid_provider, pki.trust_anchors, clock=self.clock)
        request = server.start(required=Chat.of(read=[DataGroup.FAMILY_NAMES]))
        pin = _secret(self.model, secret)
        responses: list[str] = []
        self._apply(
            self.model.verify_pin(secret, can),
            lambda: responses.append(self.card.authenticate(request, pin, can=_can(can)).encode()),
        )
        if responses:
            auth = server.finish(request.content().session_id, responses[0])
            assert auth.identity.family_names == "MUSTERMANN"

    @rule()
    def reopen(self) -> None:
        self.card = EidCard(self.card.path, clock=self.clock)

    @invariant()
    def state_matches_the_model(self) -> None:
        _check(self.card, self.model)


CardMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCardStateMachine = CardMachine.TestCase
