"""Card-verifiable certificates (BSI TR-03110-3 Appendix C) in a compact JSON form, and the terminal's chain check.

A real CV certificate is a TLV structure the chip parses; the simulator keeps its content and its rules but encodes it
as a compact JWS (ES256, ``typ`` ``eid-cvc+jwt``) so it reuses :mod:`ssi.jose`. Members (TR-03110-3 §C.1, Table 17):

- ``car`` Certification Authority Reference and ``chr`` Certificate Holder Reference (TR-03110-3 Appendix A.6,
  Table 12: country code, holder mnemonic, sequence number — e.g. ``DECVCAGOV00001``);
- ``chat`` the Certificate Holder Authorization Template with role and access rights (:mod:`ssi.eid.chat`);
- ``ced``/``cxd`` Certificate Effective Date and Certificate Expiration Date (``YYYY-MM-DD``);
- ``key`` the holder's public key (a P-256 JWK);
- ``holder`` the holder's name and, for terminals, ``description`` — the Certificate Description extension
  (TR-03110-3 §C.3.1: issuer name, subject name and URL, terms of usage), which the eID client shows to the citizen;
- ``sector`` the Terminal Sector extension (TR-03110-3 §C.3.2, §2.7): the sector public key from which the card derives
  the terminal's restricted identification (a per-service pseudonym).

The chain is CVCA (the card's trust point) → DV (document verifier) → terminal. :func:`verify_terminal_chain` is the
card's part of terminal authentication (TR-03110-3 §2.5 certificate validation, §2.6 effective authorization): every
signature, role, validity period and access
right is checked; the first failure refuses the terminal.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ssi.eid.chat import Chat, Role
from ssi.encoding import b64url_decode, json_dumps, json_loads
from ssi.errors import EidCardRefused, EidMalformed, EncodingError, JoseError, KeyError_
from ssi.jose import parse_compact, sign_compact, verify_compact
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner

__all__ = [
    "CVC_TYP",
    "CertificateDescription",
    "CvCertificate",
    "issue_cv_certificate",
    "verify_terminal_chain",
]

CVC_TYP: Final = "eid-cvc+jwt"
MAX_CVC_SIZE: Final = 8 * 1024
#: TR-03110-3 Appendix A.6 Table 12: ISO 3166-1 alpha-2 country code, holder mnemonic (up to 9 characters),
#: 5-character sequence number.
_REFERENCE: Final = re.compile(r"[A-Z]{2}[A-Z0-9]{1,9}[A-Z0-9]{5}")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MEMBERS: Final = frozenset({"car", "chr", "chat", "ced", "cxd", "key", "holder", "description", "sector"})


def _date(value: object, name: str) -> datetime.date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise EidMalformed(f"CVC {name} is YYYY-MM-DD", reason="eid_malformed_certificate")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise EidMalformed(f"CVC {name} is not a calendar day", reason="eid_malformed_certificate") from None


def _bounded_text(value: object, name: str, *, limit: int = 500) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise EidMalformed(f"CVC {name} must be a non-empty bounded text", reason="eid_malformed_certificate")
    return value


def _key(value: object, name: str) -> PublicKey:
    if not isinstance(value, dict):
        raise EidMalformed(f"CVC {name} is a JWK", reason="eid_malformed_certificate")
    try:
        key = PublicKey.from_jwk(value)
    except KeyError_:
        raise EidMalformed(f"CVC {name} is not a usable public key", reason="eid_malformed_certificate") from None
    if key.alg != "ES256":
        raise EidMalformed(f"CVC {name} must be a P-256 key", reason="eid_malformed_certificate")
    return key


@dataclass(frozen=True, slots=True)
class CertificateDescription:
    """TR-03110-3 §C.3.1 Certificate Description: who asks, shown to the citizen before the PIN is entered ("used by a
    local terminal as part of the user interaction for online authentication of a remote terminal")."""

    issuer_name: str
    subject_name: str
    subject_url: str | None = None
    terms_of_usage: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"issuer_name": self.issuer_name, "subject_name": self.subject_name}
        if self.subject_url is not None:
            out["subject_url"] = self.subject_url
        if self.terms_of_usage is not None:
            out["terms_of_usage"] = self.terms_of_usage
        return out

    @classmethod
    def from_json(cls, value: object) -> CertificateDescription:
        if not isinstance(value, dict) or not set(value) <= {
            "issuer_name",
            "subject_name",
            "subject_url",
            "terms_of_usage",
        }:
            raise EidMalformed("CVC description has unknown members", reason="eid_malformed_certificate")
        url = value.get("subject_url")
        terms = value.get("terms_of_usage")
        return cls(
            issuer_name=_bounded_text(value.get("issuer_name"), "issuer_name"),
            subject_name=_bounded_text(value.get("subject_name"), "subject_name"),
            subject_url=None if url is None else _bounded_text(url, "subject_url"),
            terms_of_usage=None if terms is None else _bounded_text(terms, "terms_of_usage", limit=4000),
        )


@dataclass(frozen=True, slots=True)
class CvCertificate:
    """A parsed card-verifiable certificate. Parsing checks the form; :meth:`verify_signed_by` the signature."""

    car: str
    chr: str
    chat: Chat
    effective: datetime.date
    expiry: datetime.date
    public_key: PublicKey
    holder_name: str
    description: CertificateDescription | None
    sector_key: PublicKey | None
    encoded: str

    @property
    def role(self) -> Role:
        return self.chat.role

    def valid_on(self, day: datetime.date) -> bool:
        """TR-03110-3 §2.4: the expiration date is "the date *after* which the certificate expires" — valid from the
        effective date through the expiration date; §2.5: the chip "MUST NOT accept expired DV and Terminal
        Certificates"."""
        return self.effective <= day <= self.expiry

    def verify_signed_by(self, key: PublicKey) -> None:
        """The certificate's signature verifies with ``key`` (its issuer's public key)."""
        try:
            verify_compact(self.encoded, key, ["ES256"], max_size=MAX_CVC_SIZE)
        except JoseError:
            raise EidCardRefused(
                f"the signature of certificate {self.chr} does not verify with {self.car}'s key",
                reason="eid_terminal_untrusted",
            ) from None

    @classmethod
    def parse(cls, text: object) -> CvCertificate:
        """Parse the compact form (signature not yet checked)."""
        if not isinstance(text, str) or len(text) > MAX_CVC_SIZE:
            raise EidMalformed("a CV certificate is a bounded compact JWS", reason="eid_malformed_certificate")
        try:
            _, payload_b64, _, header = parse_compact(text, max_size=MAX_CVC_SIZE)
            body = json_loads(b64url_decode(payload_b64))
        except (JoseError, EncodingError):
            raise EidMalformed("a CV certificate is a compact JWS", reason="eid_malformed_certificate") from None
        if header.get("typ") != CVC_TYP or header.get("alg") != "ES256":
            raise EidMalformed(f"a CV certificate has typ {CVC_TYP} and alg ES256", reason="eid_malformed_certificate")
        if not isinstance(body, dict) or not set(body) <= _MEMBERS:
            raise EidMalformed("a CV certificate has unknown members", reason="eid_malformed_certificate")
        car, chr_ = body.get("car"), body.get("chr")
        if not isinstance(car, str) or not isinstance(chr_, str):
            raise EidMalformed("CVC car and chr are references", reason="eid_malformed_certificate")
        if not _REFERENCE.fullmatch(car) or not _REFERENCE.fullmatch(chr_):
            raise EidMalformed("CVC car/chr do not follow TR-03110-3 Table 12", reason="eid_malformed_certificate")
        effective, expiry = _date(body.get("ced"), "ced"), _date(body.get("cxd"), "cxd")
        if expiry < effective:
            raise EidMalformed("CVC expires before it becomes effective", reason="eid_malformed_certificate")
        description = body.get("description")
        sector = body.get("sector")
        return cls(
            car=car,
            chr=chr_,
            chat=Chat.from_hex(body.get("chat")),
            effective=effective,
            expiry=expiry,
            public_key=_key(body.get("key"), "key"),
            holder_name=_bounded_text(body.get("holder"), "holder"),
            description=None if description is None else CertificateDescription.from_json(description),
            sector_key=None if sector is None else _key(sector, "sector"),
            encoded=text,
        )


def issue_cv_certificate(
    issuer_key: PrivateKey,
    *,
    car: str,
    chr: str,
    chat: Chat,
    effective: datetime.date,
    expiry: datetime.date,
    public_key: PublicKey,
    holder_name: str,
    description: CertificateDescription | None = None,
    sector_key: PublicKey | None = None,
) -> CvCertificate:
    """Sign a CV certificate with the issuer's key (the CVCA's own key for a self-signed CVCA certificate)."""
    body: dict[str, Any] = {
        "car": car,
        "chr": chr,
        "chat": chat.hex,
        "ced": effective.isoformat(),
        "cxd": expiry.isoformat(),
        "key": public_key.jwk,
        "holder": holder_name,
    }
    if description is not None:
        body["description"] = description.to_json()
    if sector_key is not None:
        body["sector"] = sector_key.jwk
    encoded = sign_compact(json_dumps(body).encode("utf-8"), SoftwareSigner(issuer_key), {"typ": CVC_TYP})
    return CvCertificate.parse(encoded)


def _trust_point(car: str, trust_points: Mapping[str, CvCertificate]) -> CvCertificate:
    trusted = trust_points.get(car)
    if trusted is None:
        raise EidCardRefused(
            f"the certificate chain starts at {car}, which is not a trust point of this card",
            reason="eid_terminal_untrusted",
        )
    return trusted


def verify_terminal_chain(
    certificates: Sequence[str | CvCertificate], trust_points: Sequence[CvCertificate], *, today: datetime.date
) -> CvCertificate:
    """The card's certificate checks of terminal authentication: DV certificate, then terminal certificate.

    TR-03110-3 §2.5.1: "The signature MUST be valid and unless the certificate is a CVCA Link Certificate, the
    certificate MUST NOT be expired"; expired trust points "MUST NOT be used for the verification of DV
    Certificates"; §2.6.2 / §C.4.2: the roles follow CVCA → DV → authentication terminal. Returns the verified
    terminal certificate.

    Raises :class:`EidCardRefused` with ``eid_terminal_untrusted`` (unknown CVCA, bad signature, wrong roles),
    ``eid_terminal_expired`` (a certificate or the trust point not valid today) or ``eid_chat_widened`` (a certificate
    with rights beyond its issuer's).
    """
    if len(certificates) != 2:
        raise EidMalformed("the terminal sends its DV and terminal certificates", reason="eid_malformed_certificate")
    dv, terminal = (c if isinstance(c, CvCertificate) else CvCertificate.parse(c) for c in certificates)
    points = {p.chr: p for p in trust_points if p.role is Role.CVCA}
    cvca = _trust_point(dv.car, points)
    if not cvca.valid_on(today):
        raise EidCardRefused(f"the trust point {cvca.chr} has expired", reason="eid_terminal_expired")
    previous = cvca
    for certificate, role_ok in ((dv, dv.role.is_dv), (terminal, terminal.role is Role.TERMINAL)):
        if certificate.car != previous.chr:
            raise EidCardRefused(
                f"certificate {certificate.chr} is not issued by {previous.chr}", reason="eid_terminal_untrusted"
            )
        certificate.verify_signed_by(previous.public_key)
        if not role_ok:
            raise EidCardRefused(
                f"certificate {certificate.chr} has role {certificate.role.name} where the chain needs a "
                + ("DV" if certificate is dv else "terminal"),
                reason="eid_terminal_untrusted",
            )
        if not certificate.chat <= previous.chat:
            raise EidCardRefused(
                f"certificate {certificate.chr} claims access rights its issuer {previous.chr} does not have",
                reason="eid_chat_widened",
            )
        if not certificate.valid_on(today):
            raise EidCardRefused(
                f"certificate {certificate.chr} is valid from {certificate.effective} to {certificate.expiry}, "
                f"not on {today}",
                reason="eid_terminal_expired",
            )
        previous = certificate
    return terminal
