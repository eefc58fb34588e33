"""The eID protocol messages (govssi's compact rendering of a TR-03130 eID-Server ⇄ eID-Client ⇄ card exchange).

**Request** (server → eID client → card), :class:`EidRequest`, JSON::

    {"certificates": [DV certificate, terminal certificate], "request": <compact JWS, typ eid-request+jwt>}

The JWS is signed with the terminal's key (terminal authentication, TR-03110-2 Terminal Authentication version 2,
TR-03127 §3.1.2: the terminal proves possession of the key certified in its terminal certificate over the session data
and its ephemeral key). Its payload:

- ``sid`` session id, ``challenge`` (base64url, 32 random bytes), ``epk`` the terminal's ephemeral P-256 public key
  for chip authentication;
- ``required_chat`` / ``optional_chat`` (TR-03130: RequiredCHAT and OptionalCHAT) — what the service needs and what
  the citizen may deselect;
- ``age_verification`` (``YYYY-MM-DD``: "born on or before"), ``place_verification`` (a prefix of the community ID),
  ``validity_date`` (TR-03127 §4.4.1 document validity query: "The test date is sent as part of Terminal
  Authentication"), optional ``transaction_info``;
- ``iat``/``exp``: the card refuses an expired request.

**Security object** (from the card, signed at personalisation), :class:`SecurityObject`: a compact JWS (ES256,
``typ`` ``eid-so+jwt``, ``x5c`` = [document signer certificate]) whose payload lists the SHA-256 digest of every
data group element, the chip's public key (``chip_key``), ``kind`` (``card`` or ``smart-eid``), ``iat`` and, for a
Smart-eID, ``exp`` and ``loa`` (the level of assurance its provider attests). This is passive authentication
(ICAO Doc 9303 Part 11 §5.1; TR-03127 §3.1.3), as the issue asks. The real eID differs: passive authentication covers
EF.CardSecurity (the chip key), and the data groups are deliberately *not* signed — "This prevents a service provider
from passing on any data to third parties with cryptographic proof of authenticity" (TR-03127 §3.2.2); their
authenticity comes from chip authentication alone. Here the released, salted elements do carry such a proof (salts
keep unreleased groups hidden); services must not pass them on.

**Response** (card → eID client → server), :class:`EidResponse`, text ``<base64url(answer JSON)>.<base64url(mac)>``:
the answer (``sid``, effective ``chat``, ``security_object``, released ``data_groups`` by number, ``document_valid``,
optional ``restricted_id``, ``age_verification``, ``place_verification``) and the chip authentication MAC over it
(:func:`ssi.eid.chip.chip_authentication_mac`).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from cryptography import x509

from ssi.eid.chat import Chat, Role
from ssi.eid.chip import chip_authentication_mac
from ssi.eid.cvc import CvCertificate
from ssi.eid.datagroups import DataGroup
from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import EidCardRefused, EidMalformed, EncodingError, JoseError, KeyError_
from ssi.jose import parse_compact, sign_compact, verify_compact
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner
from ssi.x509 import x5c_chain

__all__ = [
    "LEVELS_OF_ASSURANCE",
    "REQUEST_TYP",
    "SECURITY_OBJECT_TYP",
    "DocumentKind",
    "EidAnswer",
    "EidRequest",
    "EidResponse",
    "RequestContent",
    "SecurityObject",
    "seal_answer",
    "sign_request",
    "sign_security_object",
]

REQUEST_TYP: Final = "eid-request+jwt"
SECURITY_OBJECT_TYP: Final = "eid-so+jwt"
MAX_MESSAGE: Final = 64 * 1024
#: eIDAS levels of assurance (Implementing Regulation (EU) 2015/1502): the card is "high"; a Smart-eID's is attested.
LEVELS_OF_ASSURANCE: Final = ("low", "substantial", "high")
DocumentKind = Literal["card", "smart-eid"]
_ID: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")
_GROUP_KEY: Final = re.compile(r"[1-9][0-9]?")
_COMMUNITY_PREFIX: Final = re.compile(r"[0-9]{1,14}")


def _b64(value: object, name: str, *, size: int | None = None) -> bytes:
    if not isinstance(value, str) or len(value) > 1024:
        raise EidMalformed(f"{name} is base64url", reason="eid_malformed")
    try:
        raw = b64url_decode(value)
    except EncodingError:
        raise EidMalformed(f"{name} is base64url", reason="eid_malformed") from None
    if size is not None and len(raw) != size:
        raise EidMalformed(f"{name} has {size} bytes", reason="eid_malformed")
    return raw


def _data_group_key(number: str, what: str) -> DataGroup:
    """A data group number as a JSON member name: canonical decimal ASCII ("4", not "04" or "٤")."""
    if not _GROUP_KEY.fullmatch(number) or int(number) not in DataGroup._value2member_map_:
        raise EidMalformed(f"{what} names an unknown data group", reason="eid_malformed")
    return DataGroup(int(number))


def _p256(value: object, what: str) -> PublicKey:
    if not isinstance(value, dict):
        raise EidMalformed(f"{what} is a JWK", reason="eid_malformed")
    try:
        key = PublicKey.from_jwk(value)
    except KeyError_:
        raise EidMalformed(f"{what} is not a usable public key", reason="eid_malformed") from None
    if key.alg != "ES256":
        raise EidMalformed(f"{what} is a P-256 key", reason="eid_malformed")
    return key


def _iso_date(value: object, name: str) -> datetime.date:
    if not isinstance(value, str) or len(value) != 10:
        raise EidMalformed(f"{name} is YYYY-MM-DD", reason="eid_malformed")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise EidMalformed(f"{name} is YYYY-MM-DD", reason="eid_malformed") from None


def _int(value: object, name: str) -> int:
    if type(value) is not int or value < 0:
        raise EidMalformed(f"{name} is a NumericDate", reason="eid_malformed")
    return value


def _jws_body(text: object, typ: str, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(text, str) or len(text) > MAX_MESSAGE:
        raise EidMalformed(f"the {what} is a bounded compact JWS", reason="eid_malformed")
    try:
        _, payload_b64, _, header = parse_compact(text, max_size=MAX_MESSAGE)
        body = json_loads(b64url_decode(payload_b64))
    except (JoseError, EncodingError):
        raise EidMalformed(f"the {what} is a compact JWS", reason="eid_malformed") from None
    if header.get("typ") != typ or header.get("alg") != "ES256" or not isinstance(body, dict):
        raise EidMalformed(f"the {what} is an ES256 JWS of typ {typ}", reason="eid_malformed")
    return header, body


# -- request ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestContent:
    """The signed payload of a request."""

    session_id: str
    challenge: bytes
    ephemeral_key: PublicKey
    required: Chat
    optional: Chat
    age_verification: datetime.date | None
    place_verification: str | None
    validity_date: datetime.date
    issued_at: int
    expires_at: int
    transaction_info: str | None

    @property
    def requested(self) -> Chat:
        return self.required | self.optional

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> RequestContent:
        known = {
            "sid",
            "challenge",
            "epk",
            "required_chat",
            "optional_chat",
            "age_verification",
            "place_verification",
            "validity_date",
            "iat",
            "exp",
            "transaction_info",
        }
        if not set(body) <= known:
            raise EidMalformed("the request has unknown members", reason="eid_malformed")
        sid = body.get("sid")
        if not isinstance(sid, str) or not _ID.fullmatch(sid):
            raise EidMalformed("the request's sid is 16-128 base64url characters", reason="eid_malformed")
        ephemeral = _p256(body.get("epk"), "the request's epk")
        required, optional = Chat.from_hex(body.get("required_chat")), Chat.from_hex(body.get("optional_chat"))
        if required.role is not Role.TERMINAL or optional.role is not Role.TERMINAL:
            raise EidMalformed("requested CHATs carry the terminal role", reason="eid_malformed")
        age = body.get("age_verification")
        place = body.get("place_verification")
        if place is not None and (not isinstance(place, str) or not _COMMUNITY_PREFIX.fullmatch(place)):
            raise EidMalformed("place_verification is a municipality key prefix", reason="eid_malformed")
        info = body.get("transaction_info")
        if info is not None and (not isinstance(info, str) or len(info) > 2000):
            raise EidMalformed("transaction_info is a bounded text", reason="eid_malformed")
        return cls(
            session_id=sid,
            challenge=_b64(body.get("challenge"), "challenge", size=32),
            ephemeral_key=ephemeral,
            required=required,
            optional=optional,
            age_verification=None if age is None else _iso_date(age, "age_verification"),
            place_verification=place,
            validity_date=_iso_date(body.get("validity_date"), "validity_date"),
            issued_at=_int(body.get("iat"), "iat"),
            expires_at=_int(body.get("exp"), "exp"),
            transaction_info=info,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sid": self.session_id,
            "challenge": b64url_encode(self.challenge),
            "epk": self.ephemeral_key.jwk,
            "required_chat": self.required.hex,
            "optional_chat": self.optional.hex,
            "validity_date": self.validity_date.isoformat(),
            "iat": self.issued_at,
            "exp": self.expires_at,
        }
        if self.age_verification is not None:
            out["age_verification"] = self.age_verification.isoformat()
        if self.place_verification is not None:
            out["place_verification"] = self.place_verification
        if self.transaction_info is not None:
            out["transaction_info"] = self.transaction_info
        return out


@dataclass(frozen=True, slots=True)
class EidRequest:
    """What the eID-Server sends to the eID client: the terminal's certificates and its signed request."""

    certificates: tuple[str, str]
    signed: str

    def to_json(self) -> dict[str, Any]:
        return {"certificates": list(self.certificates), "request": self.signed}

    @classmethod
    def from_json(cls, value: object) -> EidRequest:
        if not isinstance(value, dict) or set(value) != {"certificates", "request"}:
            raise EidMalformed("an eID request has certificates and request", reason="eid_malformed")
        certificates, signed = value["certificates"], value["request"]
        if not isinstance(certificates, list) or len(certificates) != 2:
            raise EidMalformed("an eID request carries the DV and terminal certificates", reason="eid_malformed")
        if not all(isinstance(c, str) for c in certificates) or not isinstance(signed, str):
            raise EidMalformed("an eID request's certificates and request are strings", reason="eid_malformed")
        request = cls((certificates[0], certificates[1]), signed)
        request.content()  # form check now, signature later (by the card, with the terminal's key)
        return request

    def terminal_certificate(self) -> CvCertificate:
        """The terminal certificate, parsed but not verified (the eID client shows its description)."""
        return CvCertificate.parse(self.certificates[1])

    def content(self) -> RequestContent:
        """The payload without checking the signature (for display; the card uses :meth:`verify`)."""
        _, body = _jws_body(self.signed, REQUEST_TYP, "eID request")
        return RequestContent.from_json(body)

    def verify(self, terminal_key: PublicKey) -> RequestContent:
        """Terminal authentication (TR-03110-2 TA version 2): the request is signed with the terminal certificate's
        key."""
        try:
            verify_compact(self.signed, terminal_key, ["ES256"], max_size=MAX_MESSAGE)
        except JoseError:
            raise EidCardRefused(
                "the request is not signed by the terminal certificate's key", reason="eid_request_signature"
            ) from None
        return self.content()

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.signed.encode("ascii")).digest()


def sign_request(content: RequestContent, terminal_key: PrivateKey, certificates: Sequence[str]) -> EidRequest:
    """Sign a request with the terminal's key."""
    signed = sign_compact(
        json_dumps(content.to_json()).encode("utf-8"), SoftwareSigner(terminal_key), {"typ": REQUEST_TYP}
    )
    dv, terminal = certificates
    return EidRequest((dv, terminal), signed)


# -- security object -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SecurityObject:
    """A parsed security object (signature and chain not yet checked: :func:`ssi.eid.verify_security_object`)."""

    kind: DocumentKind
    digests: Mapping[DataGroup, str]
    chip_key: PublicKey
    issued_at: int
    expires_at: int | None
    level_of_assurance: str | None
    x5c: list[str]
    encoded: str

    @classmethod
    def parse(cls, text: object) -> SecurityObject:
        header, body = _jws_body(text, SECURITY_OBJECT_TYP, "security object")
        assert isinstance(text, str)
        if not set(body) <= {"kind", "digest_alg", "data_groups", "chip_key", "iat", "exp", "loa"}:
            raise EidMalformed("the security object has unknown members", reason="eid_malformed")
        kind = body.get("kind")
        if kind not in ("card", "smart-eid") or body.get("digest_alg") != "sha-256":
            raise EidMalformed("the security object names its kind and sha-256", reason="eid_malformed")
        groups = body.get("data_groups")
        if not isinstance(groups, dict) or not groups:
            raise EidMalformed("the security object lists data group digests", reason="eid_malformed")
        digests: dict[DataGroup, str] = {}
        for number, digest in groups.items():
            group = _data_group_key(number, "the security object")
            _b64(digest, "data group digest", size=32)
            digests[group] = digest
        chip_key = _p256(body.get("chip_key"), "the security object's chip_key")
        exp, loa = body.get("exp"), body.get("loa")
        if kind == "smart-eid" and (exp is None or loa not in LEVELS_OF_ASSURANCE):
            raise EidMalformed("a Smart-eID security object has exp and loa", reason="eid_malformed")
        if kind == "card" and loa is not None:
            raise EidMalformed("a card's level of assurance is not attested per card", reason="eid_malformed")
        x5c = header.get("x5c")
        if not isinstance(x5c, list) or not x5c:
            raise EidMalformed("the security object carries its signer's x5c", reason="eid_malformed")
        return cls(
            kind=kind,
            digests=digests,
            chip_key=chip_key,
            issued_at=_int(body.get("iat"), "iat"),
            expires_at=None if exp is None else _int(exp, "exp"),
            level_of_assurance=loa,
            x5c=x5c,
            encoded=text,
        )


def sign_security_object(
    signer_key: PrivateKey,
    chain: Sequence[x509.Certificate],
    *,
    kind: DocumentKind,
    digests: Mapping[DataGroup, str],
    chip_key: PublicKey,
    issued_at: int,
    expires_at: int | None = None,
    level_of_assurance: str | None = None,
) -> str:
    """Sign a security object (document signer at personalisation; Smart-eID provider at provisioning). ``chain`` is
    the signer's certificate and any intermediates, without the trust anchor."""
    body: dict[str, Any] = {
        "kind": kind,
        "digest_alg": "sha-256",
        "data_groups": {str(int(g)): d for g, d in sorted(digests.items())},
        "chip_key": chip_key.jwk,
        "iat": issued_at,
    }
    if expires_at is not None:
        body["exp"] = expires_at
    if level_of_assurance is not None:
        body["loa"] = level_of_assurance
    header = {"typ": SECURITY_OBJECT_TYP, "x5c": x5c_chain(chain)}
    return sign_compact(json_dumps(body).encode("utf-8"), SoftwareSigner(signer_key), header)


# -- response --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EidAnswer:
    """The card's answer, before the MAC."""

    session_id: str
    chat: Chat
    security_object: str
    data_groups: Mapping[DataGroup, str]
    document_valid: bool
    restricted_id: bytes | None = None
    age_verification: bool | None = None
    place_verification: bool | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sid": self.session_id,
            "chat": self.chat.hex,
            "security_object": self.security_object,
            "data_groups": {str(int(g)): e for g, e in sorted(self.data_groups.items())},
            "document_valid": self.document_valid,
        }
        if self.restricted_id is not None:
            out["restricted_id"] = b64url_encode(self.restricted_id)
        if self.age_verification is not None:
            out["age_verification"] = self.age_verification
        if self.place_verification is not None:
            out["place_verification"] = self.place_verification
        return out

    def encode(self) -> str:
        return b64url_encode(json_dumps(self.to_json()).encode("utf-8"))

    @classmethod
    def from_json(cls, body: object) -> EidAnswer:
        known = {
            "sid",
            "chat",
            "security_object",
            "data_groups",
            "document_valid",
            "restricted_id",
            "age_verification",
            "place_verification",
        }
        if not isinstance(body, dict) or not set(body) <= known:
            raise EidMalformed("the eID answer has unknown members", reason="eid_malformed")
        sid, so, groups = body.get("sid"), body.get("security_object"), body.get("data_groups")
        if not isinstance(sid, str) or not _ID.fullmatch(sid) or not isinstance(so, str):
            raise EidMalformed("the eID answer names its session and security object", reason="eid_malformed")
        if not isinstance(groups, dict):
            raise EidMalformed("the eID answer's data_groups is an object", reason="eid_malformed")
        elements: dict[DataGroup, str] = {}
        for number, element in groups.items():
            group = _data_group_key(number, "the eID answer")
            if not isinstance(element, str):
                raise EidMalformed("a released data group is an encoded element", reason="eid_malformed")
            elements[group] = element
        flags = {}
        for name in ("document_valid", "age_verification", "place_verification"):
            value = body.get(name)
            if value is not None and not isinstance(value, bool):
                raise EidMalformed(f"{name} is a boolean", reason="eid_malformed")
            flags[name] = value
        if flags["document_valid"] is None:
            raise EidMalformed("the eID answer states document validity", reason="eid_malformed")
        ri = body.get("restricted_id")
        return cls(
            session_id=sid,
            chat=Chat.from_hex(body.get("chat")),
            security_object=so,
            data_groups=elements,
            document_valid=bool(flags["document_valid"]),
            restricted_id=None if ri is None else _b64(ri, "restricted_id", size=32),
            age_verification=flags["age_verification"],
            place_verification=flags["place_verification"],
        )


@dataclass(frozen=True, slots=True)
class EidResponse:
    """The card's response: the encoded answer and the chip authentication MAC over it."""

    answer: EidAnswer
    encoded_answer: str
    mac: bytes

    def encode(self) -> str:
        return f"{self.encoded_answer}.{b64url_encode(self.mac)}"

    @classmethod
    def parse(cls, text: object) -> EidResponse:
        if not isinstance(text, str) or len(text) > MAX_MESSAGE or text.count(".") != 1:
            raise EidMalformed("an eID response is <answer>.<mac>", reason="eid_malformed")
        encoded, mac = text.split(".")
        try:
            body = json_loads(b64url_decode(encoded))
        except EncodingError:
            raise EidMalformed("the eID answer is base64url JSON", reason="eid_malformed") from None
        return cls(EidAnswer.from_json(body), encoded, _b64(mac, "mac", size=32))


def seal_answer(answer: EidAnswer, chip_key: PrivateKey, request: EidRequest, content: RequestContent) -> EidResponse:
    """The chip's side of chip authentication: MAC the encoded answer with the key agreed between the chip's static
    key and the terminal's ephemeral key (:func:`ssi.eid.chip.chip_authentication_mac`)."""
    encoded = answer.encode()
    mac = chip_authentication_mac(
        chip_key, content.ephemeral_key, challenge=content.challenge, request=request.signed, answer=encoded
    )
    return EidResponse(answer, encoded, mac)
