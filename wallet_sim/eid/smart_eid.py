"""The Smart-eID: the eID function in the phone's secure element, provisioned once from the card (BSI TR-03165
Smart-eID, simplified), and its provider.

**Provisioning** (:meth:`SmartEid.provision`): the :class:`SmartEidProvider` (a backend with its own terminal
certificate) reads the card once through an ordinary eID authentication with the card PIN and verifies it like any
eID-Server (:class:`ssi.eid.EidServer`). The secure element generates a device-bound key pair and a
restricted-identification key; the provider signs a new security object for the copied data groups (re-salted) with
the device key as chip key, ``kind`` ``smart-eid``, its validity (at most the card's) and the **level of assurance** it
attests (default ``substantial``; configurable — the PID issuer's policy decides what it accepts). The Smart-eID gets
its own 6-digit **Smart-eID PIN**.

**Later authentications need no card**: :meth:`SmartEid.authenticate` runs the same applet as the card
(:mod:`wallet_sim.eid.applet`) over the Smart-eID's data and keys, so the eID-Server verifies both alike and learns
``source="smart-eid"`` and the attested level from the security object.

**Secure element** (simulated): the private keys are sealed with AES-256-GCM under a per-device key
(``<directory>/device.key``, 0600, never leaving the device), so a copied ``smart-eid.json`` is useless elsewhere. The
Smart-eID PIN has a retry counter of 3; after three wrong PINs the Smart-eID is blocked and must be provisioned anew
from the card (there is no CAN or PUK).
"""

from __future__ import annotations

import calendar
import contextlib
import datetime
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ssi.clock import Clock, system_clock
from ssi.eid import (
    LEVELS_OF_ASSURANCE,
    Chat,
    CvCertificate,
    DataGroup,
    DocumentSigner,
    EidIdentity,
    EidRequest,
    EidResponse,
    EidServer,
    EidTrustAnchors,
    TerminalCredentials,
    decode_element,
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
from wallet_sim.eid.card import EidCard

__all__ = ["DEFAULT_LEVEL_OF_ASSURANCE", "SmartEid", "SmartEidProvider"]

DEFAULT_LEVEL_OF_ASSURANCE: Final = "substantial"
SMART_EID_FORMAT: Final = "govssi-smart-eid/1"
RETRY_COUNTER: Final = 3
#: The provider copies what the card has; document data is required, the rest follows if present.
_REQUIRED: Final = Chat.of(
    read=(
        DataGroup.DOCUMENT_TYPE,
        DataGroup.ISSUING_STATE,
        DataGroup.DATE_OF_EXPIRY,
        DataGroup.GIVEN_NAMES,
        DataGroup.FAMILY_NAMES,
        DataGroup.DATE_OF_BIRTH,
    )
)


class SmartEidProvider:
    """The Smart-eID provider's backend: reads a card once (its own terminal certificate) and signs the Smart-eID's
    security object under the Smart-eID CA."""

    def __init__(
        self,
        *,
        terminal: TerminalCredentials,
        signer: DocumentSigner,
        card_anchors: EidTrustAnchors,
        trust_points: tuple[CvCertificate, ...],
        level_of_assurance: str = DEFAULT_LEVEL_OF_ASSURANCE,
        validity_days: int = 2 * 365,
        clock: Clock = system_clock,
    ) -> None:
        if level_of_assurance not in LEVELS_OF_ASSURANCE:
            raise EidMalformed(f"level of assurance is one of {LEVELS_OF_ASSURANCE}", reason="eid_malformed")
        self.signer = signer
        self.level_of_assurance = level_of_assurance
        self.validity_days = validity_days
        self.trust_points = trust_points
        self._clock = clock
        self._server = EidServer(terminal, card_anchors, clock=clock)

    @classmethod
    def demo(
        cls, *, level_of_assurance: str = DEFAULT_LEVEL_OF_ASSURANCE, clock: Clock = system_clock
    ) -> SmartEidProvider:
        """The demo provider: the demo PKI's Smart-eID terminal and signer, reading cards of the demo CSCA."""
        pki = demo_pki()
        return cls(
            terminal=pki.smart_eid_provider,
            signer=pki.smart_eid_signer,
            card_anchors=EidTrustAnchors.of(pki.trust_anchors.csca),
            trust_points=pki.trust_points,
            level_of_assurance=level_of_assurance,
            clock=clock,
        )

    def start(self) -> EidRequest:
        """The request the card answers (every data group it holds)."""
        return self._server.start(required=_REQUIRED, optional=self._server.terminal.chat.without(_REQUIRED))

    def finish(
        self, request: EidRequest, response: str | EidResponse, device_key: PublicKey
    ) -> tuple[dict[DataGroup, str], str, int]:
        """Verify the card's answer and sign the Smart-eID: ``(elements, security object, expires_at)``."""
        authentication = self._server.finish(request.content().session_id, response)
        if authentication.source != "card":
            raise EidCardRefused("a Smart-eID is provisioned from a card", reason="eid_request_invalid")
        now = self._clock()
        values = authentication.identity.to_data_groups()
        elements = {group: encode_element(os.urandom(16), group, value) for group, value in values.items()}
        expiry = authentication.identity.date_of_expiry
        assert expiry is not None  # DG3 is required
        card_end = calendar.timegm((expiry + datetime.timedelta(days=1)).timetuple())
        expires_at = int(min(now + self.validity_days * 86400, card_end))
        security_object = sign_security_object(
            self.signer.key,
            [self.signer.certificate],
            kind="smart-eid",
            digests={group: element_digest(element) for group, element in elements.items()},
            chip_key=device_key,
            issued_at=int(now),
            expires_at=expires_at,
            level_of_assurance=self.level_of_assurance,
        )
        return elements, security_object, expires_at


def _pin_hash(salt: bytes, pin: str) -> bytes:
    # The chip's protection is its retry counter (chip memory cannot be read out); the salted MAC only keeps the
    # PIN itself out of the simulator's files.
    return hmac.new(salt, pin.encode("ascii"), hashlib.sha256).digest()


def _check_pin_format(pin: object, what: str = "Smart-eID PIN") -> str:
    if not isinstance(pin, str) or len(pin) != 6 or not pin.isdigit() or not pin.isascii():
        raise EidCardRefused(f"the {what} has 6 digits", reason="eid_pin_format")
    return pin


class SmartEid:
    """The Smart-eID in this device's (simulated) secure element: ``<directory>/smart-eid.json`` + ``device.key``."""

    def __init__(self, directory: Path, *, clock: Clock = system_clock) -> None:
        self.directory = directory
        self.path = directory / "smart-eid.json"
        self._clock = clock

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / "smart-eid.json").is_file()

    # -- the secure element ------------------------------------------------------------------------------------------

    def _device_key(self) -> bytes:
        """The device's sealing key, made on first use (0600); it never leaves the device."""
        path = self.directory / "device.key"
        if not path.is_file():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
        key = path.read_bytes()
        if len(key) != 32:
            raise WalletError("the device key of the secure element is damaged", reason="eid_storage_corrupt")
        return key

    def _seal(self, name: str, key: PrivateKey) -> str:
        nonce = os.urandom(12)
        data = key.private_jwk()["d"].encode("ascii")
        sealed = AESGCM(self._device_key()).encrypt(nonce, data, f"govssi smart-eid {name}".encode())
        return b64url_encode(nonce + sealed)

    def _unseal(self, name: str, sealed: str, public: Mapping[str, str]) -> PrivateKey:
        raw = b64url_decode(sealed)
        try:
            d = AESGCM(self._device_key()).decrypt(raw[:12], raw[12:], f"govssi smart-eid {name}".encode())
        except Exception:  # InvalidTag: another device's key or tampered
            raise EidCardRefused(
                "the Smart-eID's keys are bound to another device", reason="eid_device_binding"
            ) from None
        return PrivateKey.from_jwk({**public, "d": d.decode("ascii")})

    # -- provisioning ------------------------------------------------------------------------------------------------

    @classmethod
    def provision(
        cls,
        directory: Path,
        *,
        card: EidCard,
        card_pin: str,
        pin: str,
        provider: SmartEidProvider | None = None,
        can: str | None = None,
        clock: Clock = system_clock,
    ) -> SmartEid:
        """Read ``card`` once (with its PIN) through ``provider`` and set up the Smart-eID with ``pin``."""
        _check_pin_format(pin)
        provider = provider or SmartEidProvider.demo(clock=clock)
        smart = cls(directory, clock=clock)
        device_key, ri_key = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
        request = provider.start()
        response = card.authenticate(request, card_pin, can=can)
        elements, security_object, expires_at = provider.finish(request, response, device_key.public_key)
        salt = os.urandom(16)
        record: dict[str, Any] = {
            "format": SMART_EID_FORMAT,
            "card": card.id,
            "elements": {str(int(g)): e for g, e in sorted(elements.items())},
            "security_object": security_object,
            "expires_at": expires_at,
            "level_of_assurance": provider.level_of_assurance,
            "device_key": {"public": device_key.public_key.jwk, "sealed": smart._seal("device", device_key)},
            "ri_key": {"public": ri_key.public_key.jwk, "sealed": smart._seal("ri", ri_key)},
            "trust_points": [p.encoded for p in provider.trust_points],
            "pin": {"salt": b64url_encode(salt), "hash": b64url_encode(_pin_hash(salt, pin))},
            "retry_counter": RETRY_COUNTER,
            "provisioned_at": int(clock()),
        }
        with locked(smart.path):
            write_json_atomic(smart.path, record)
        return smart

    def delete(self) -> None:
        """Remove the Smart-eID and the device key (a new provisioning starts from the card)."""
        with locked(self.path):
            for name in ("smart-eid.json", "device.key"):
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / name).unlink()

    # -- state -------------------------------------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if not self.path.is_file():
            raise WalletError("no Smart-eID is set up on this device", reason="smart_eid_not_found")
        record = read_json(self.path)
        if not isinstance(record, dict) or record.get("format") != SMART_EID_FORMAT:
            raise WalletError(f"{self.path} is not a govssi Smart-eID", reason="eid_storage_corrupt")
        return record

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[dict[str, Any]]:
        with locked(self.path):
            record = self._load()
            before = json.dumps(record, sort_keys=True)
            try:
                yield record
            finally:
                if json.dumps(record, sort_keys=True) != before:
                    write_json_atomic(self.path, record)

    def identity(self) -> EidIdentity:
        record = self._load()
        return EidIdentity.from_data_groups(dict(decode_element(e) for e in record["elements"].values()))

    def describe(self) -> dict[str, Any]:
        record = self._load()
        identity = self.identity()
        counter = record["retry_counter"]
        return {
            "card": record["card"],
            "name": f"{identity.given_names} {identity.family_names}",
            "state": "blocked" if counter == 0 else "active",
            "retry_counter": counter,
            "level_of_assurance": record["level_of_assurance"],
            "expires_at": record["expires_at"],
            "expired": self._clock() > record["expires_at"],
        }

    # -- PIN and eID function ----------------------------------------------------------------------------------------

    def _verify_pin(self, record: dict[str, Any], pin: str) -> None:
        if record["retry_counter"] == 0:
            raise EidCardRefused(
                "the Smart-eID PIN is blocked: set up the Smart-eID again with the card", reason="eid_pin_blocked"
            )
        _check_pin_format(pin)
        salt = b64url_decode(record["pin"]["salt"])
        if not hmac.compare_digest(_pin_hash(salt, pin), b64url_decode(record["pin"]["hash"])):
            record["retry_counter"] -= 1
            left = record["retry_counter"]
            suffix = "the Smart-eID is now blocked" if left == 0 else f"{left} tries left"
            raise EidCardRefused(f"wrong Smart-eID PIN; {suffix}", reason="eid_wrong_pin")
        record["retry_counter"] = RETRY_COUNTER

    def change_pin(self, old: str, new: str) -> None:
        _check_pin_format(new, "new Smart-eID PIN")
        with self._transaction() as record:
            self._verify_pin(record, old)
            salt = os.urandom(16)
            record["pin"] = {"salt": b64url_encode(salt), "hash": b64url_encode(_pin_hash(salt, new))}

    def authenticate(
        self, request: EidRequest | Mapping[str, Any], pin: str, *, deselect: Selection = ()
    ) -> EidResponse:
        """Answer a terminal's request without the card (same applet and format as the card)."""
        parsed = request if isinstance(request, EidRequest) else EidRequest.from_json(dict(request))
        deselected = selection(deselect)
        with self._transaction() as record:
            self._verify_pin(record, pin)
        chip = self._chip(record)
        response, _ = run_applet(chip, parsed, deselected=deselected, now=self._clock())
        return response

    def _chip(self, record: Mapping[str, Any]) -> ChipContent:
        elements = {DataGroup(int(n)): e for n, e in record["elements"].items()}
        identity = EidIdentity.from_data_groups(dict(decode_element(e) for e in elements.values()))
        valid_until = datetime.datetime.fromtimestamp(record["expires_at"] - 1, tz=datetime.UTC).date()
        return ChipContent(
            elements=elements,
            identity=identity,
            security_object=record["security_object"],
            chip_key=self._unseal("device", record["device_key"]["sealed"], record["device_key"]["public"]),
            ri_key=self._unseal("ri", record["ri_key"]["sealed"], record["ri_key"]["public"]),
            valid_until=valid_until,
            trust_points=tuple(CvCertificate.parse(p) for p in record["trust_points"]),
        )
