"""The demo eID PKI: every authority of the simulated eID world, deterministic so every process agrees on it.

Keys are P-256 scalars derived from fixed, public labels (``SHA-256("govssi demo eID PKI: <label>")``) and certificate
dates are fixed (from 2025-01-01), so the wallet simulator (which personalises cards) and the PID issuer (which
verifies them) build the same authorities independently, with no file to share. Like the development accounts of the
local chain, these keys are public: **development and tests only**.

=====================  ============================================================================================
which                  what it is
=====================  ============================================================================================
CSCA                   X.509 Country Signing CA (``govssi Demo CSCA``): trust anchor of passive authentication for
                       cards (ICAO Doc 9303 Part 12). File ``csca.pem``.
Document Signer (DS)   X.509 end-entity under the CSCA: signs each card's security object at personalisation.
                       File ``document-signer.pem``.
Smart-eID CA           X.509 CA of the Smart-eID provider: trust anchor for Smart-eIDs. File ``smart-eid-ca.pem``.
Smart-eID signer       X.509 end-entity under the Smart-eID CA: signs a Smart-eID's security object when it is
                       provisioned (attesting the device-bound key and the level of assurance).
                       File ``smart-eid-signer.pem``.
CVCA                   Card-verifiable root (``DECVCAGOV00001``, TR-03110-3): the cards' trust point for
                       terminal authentication. File ``cvca.cvc``.
DV                     Document verifier (``DEDVGOVSSI00001``) under the CVCA: issues terminal certificates.
                       File ``dv.cvc``.
PID provider terminal  Terminal certificate ``DEPIDPROV00001`` for the PID provider (its access rights, description
                       and sector key). File ``pid-provider.cvc``.
Smart-eID terminal     Terminal certificate ``DESMARTEID00001`` the Smart-eID provider uses to read the card once
                       at provisioning. File ``smart-eid-provider.cvc``.
=====================  ============================================================================================

:func:`demo_pki` builds them (cached); :meth:`DemoEidPki.write` writes the public parts and a ``README.txt`` with this
table into a directory.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ssi.eid.chat import AccessRight, Chat, Role
from ssi.eid.cvc import CertificateDescription, CvCertificate, issue_cv_certificate
from ssi.eid.datagroups import DataGroup
from ssi.eid.passive_auth import EidTrustAnchors
from ssi.eid.server import TerminalCredentials
from ssi.keys import PrivateKey, PublicKey
from ssi.x509 import certificate_to_pem, issue_certificate, make_self_signed_ca

__all__ = [
    "DEMO_EPOCH",
    "PID_PROVIDER_RIGHTS",
    "SMART_EID_PROVIDER_RIGHTS",
    "DemoEidPki",
    "DocumentSigner",
    "demo_key",
    "demo_pki",
]

#: 2025-01-01T00:00:00Z: the effective date of every demo certificate.
DEMO_EPOCH: Final = 1735689600.0
DEMO_START: Final = datetime.date(2025, 1, 1)
DEMO_TERMINAL_EXPIRY: Final = datetime.date(2035, 1, 1)
_P256_ORDER: Final = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)

CVCA_CHR: Final = "DECVCAGOV00001"
DV_CHR: Final = "DEDVGOVSSI00001"
PID_TERMINAL_CHR: Final = "DEPIDPROV00001"
SMART_EID_TERMINAL_CHR: Final = "DESMARTEID00001"

#: What the PID provider's terminal certificate allows: the data groups the German PID is made of (TR-03127 names,
#: German PID rulebook attributes), age and place verification, and restricted identification (its pseudonym per
#: card, used to revoke the PIDs of a card reported lost).
PID_PROVIDER_RIGHTS: Final = Chat.of(
    read=(
        DataGroup.DOCUMENT_TYPE,
        DataGroup.ISSUING_STATE,
        DataGroup.DATE_OF_EXPIRY,
        DataGroup.GIVEN_NAMES,
        DataGroup.FAMILY_NAMES,
        DataGroup.NOM_DE_PLUME,
        DataGroup.ACADEMIC_TITLE,
        DataGroup.DATE_OF_BIRTH,
        DataGroup.PLACE_OF_BIRTH,
        DataGroup.NATIONALITY,
        DataGroup.BIRTH_NAME,
        DataGroup.PLACE_OF_RESIDENCE,
    ),
    special=AccessRight.AGE_VERIFICATION
    | AccessRight.COMMUNITY_ID_VERIFICATION
    | AccessRight.RESTRICTED_IDENTIFICATION,
)
#: The Smart-eID provider copies every data group once (and needs no pseudonym).
SMART_EID_PROVIDER_RIGHTS: Final = Chat.of(read=DataGroup)


def demo_key(label: str) -> PrivateKey:
    """A P-256 key from a public label (scalar = SHA-256(label) mod (n-1) + 1): reproducible, hence demo only."""
    digest = hashlib.sha256(f"govssi demo eID PKI: {label}".encode()).digest()
    scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    return PrivateKey(ec.derive_private_key(scalar, ec.SECP256R1()))


@dataclass(frozen=True, slots=True)
class DocumentSigner:
    """A signer of security objects: its key, its certificate and the CA certificate it chains to (the anchor)."""

    key: PrivateKey
    certificate: x509.Certificate
    ca_certificate: x509.Certificate

    @classmethod
    def generate(
        cls, name: str, *, now: float, days: int = 3650, ca_key: PrivateKey | None = None, key: PrivateKey | None = None
    ) -> DocumentSigner:
        """A CA and a signer under it (``now`` = start of validity). Tests make foreign ones with random keys."""
        ca_key = ca_key or PrivateKey.generate("ES256")
        key = key or PrivateKey.generate("ES256")
        ca = make_self_signed_ca(ca_key, f"{name} CA", now=now, days=days * 2, organization="govssi demo")
        certificate = issue_certificate(
            ca, ca_key, key.public_key, f"{name} Signer", now=now, days=days, organization="govssi demo"
        )
        return cls(key, certificate, ca)


def _issue_terminal(
    dv_key: PrivateKey,
    dv: CvCertificate,
    *,
    chr: str,
    holder_name: str,
    rights: Chat,
    subject_url: str | None,
    terms_of_usage: str | None,
    key: PrivateKey | None = None,
    sector_key: PublicKey | None = None,
    effective: datetime.date = DEMO_START,
    expiry: datetime.date = DEMO_TERMINAL_EXPIRY,
) -> TerminalCredentials:
    key = key or demo_key(f"terminal {chr}")
    if sector_key is None and rights.may(AccessRight.RESTRICTED_IDENTIFICATION):
        sector_key = demo_key(f"sector {chr}").public_key
    certificate = issue_cv_certificate(
        dv_key,
        car=dv.chr,
        chr=chr,
        chat=rights.with_role(Role.TERMINAL),
        effective=effective,
        expiry=expiry,
        public_key=key.public_key,
        holder_name=holder_name,
        description=CertificateDescription(
            issuer_name=dv.holder_name, subject_name=holder_name, subject_url=subject_url, terms_of_usage=terms_of_usage
        ),
        sector_key=sector_key,
    )
    return TerminalCredentials(key, dv, certificate)


@dataclass(frozen=True, slots=True)
class DemoEidPki:
    """The demo authorities (see the module table)."""

    document_signer: DocumentSigner
    smart_eid_signer: DocumentSigner
    cvca_key: PrivateKey
    cvca: CvCertificate
    dv_key: PrivateKey
    dv: CvCertificate
    pid_provider: TerminalCredentials
    smart_eid_provider: TerminalCredentials

    @property
    def trust_anchors(self) -> EidTrustAnchors:
        """What an eID-Server trusts: the demo CSCA (cards) and the demo Smart-eID CA."""
        return EidTrustAnchors.of([self.document_signer.ca_certificate], [self.smart_eid_signer.ca_certificate])

    @property
    def trust_points(self) -> tuple[CvCertificate, ...]:
        """What a card trusts for terminal authentication: the CVCA."""
        return (self.cvca,)

    def issue_terminal(
        self,
        *,
        chr: str,
        holder_name: str,
        rights: Chat,
        subject_url: str | None = None,
        terms_of_usage: str | None = None,
        key: PrivateKey | None = None,
        sector_key: PublicKey | None = None,
        effective: datetime.date = DEMO_START,
        expiry: datetime.date = DEMO_TERMINAL_EXPIRY,
    ) -> TerminalCredentials:
        """A terminal certificate from the demo DV, e.g. for a service at another URL (``key`` default: derived from
        ``chr``; ``sector_key`` default: derived from ``chr`` when restricted identification is granted)."""
        return _issue_terminal(
            self.dv_key,
            self.dv,
            chr=chr,
            holder_name=holder_name,
            rights=rights,
            subject_url=subject_url,
            terms_of_usage=terms_of_usage,
            key=key,
            sector_key=sector_key,
            effective=effective,
            expiry=expiry,
        )

    def sector_key(self, chr: str) -> PrivateKey:
        """The demo sector private key of terminal ``chr`` (held by its DV; with it the service computes a lost card's
        pseudonym from the card's restricted-identification public key, :func:`ssi.eid.sector_identifier`)."""
        return demo_key(f"sector {chr}")

    def write(self, directory: Path) -> dict[str, Path]:
        """Write the public parts (PEM certificates, CV certificates) and ``README.txt``; return the files by role."""
        directory.mkdir(parents=True, exist_ok=True)
        files = {
            "csca": ("csca.pem", certificate_to_pem(self.document_signer.ca_certificate)),
            "document_signer": ("document-signer.pem", certificate_to_pem(self.document_signer.certificate)),
            "smart_eid_ca": ("smart-eid-ca.pem", certificate_to_pem(self.smart_eid_signer.ca_certificate)),
            "smart_eid_signer": ("smart-eid-signer.pem", certificate_to_pem(self.smart_eid_signer.certificate)),
            "cvca": ("cvca.cvc", self.cvca.encoded.encode("ascii") + b"\n"),
            "dv": ("dv.cvc", self.dv.encoded.encode("ascii") + b"\n"),
            "pid_provider": ("pid-provider.cvc", self.pid_provider.certificate.encoded.encode("ascii") + b"\n"),
            "smart_eid_provider": (
                "smart-eid-provider.cvc",
                self.smart_eid_provider.certificate.encoded.encode("ascii") + b"\n",
            ),
            "readme": ("README.txt", _README.encode("utf-8")),
        }
        written = {}
        for role, (name, data) in files.items():
            path = directory / name
            if not path.is_file() or path.read_bytes() != data:
                temporary = path.with_suffix(path.suffix + ".tmp")
                temporary.write_bytes(data)
                temporary.replace(path)
            written[role] = path
        return written


_README: Final = """govssi demo eID PKI (development and tests only: every private key is derived from a public label)

csca.pem                Country Signing CA (X.509): trust anchor for passive authentication of cards
document-signer.pem     Document Signer (X.509, under the CSCA): signs each card's security object
smart-eid-ca.pem        Smart-eID provider CA (X.509): trust anchor for Smart-eIDs
smart-eid-signer.pem    Smart-eID signer (X.509, under the Smart-eID CA): signs a Smart-eID at provisioning
cvca.cvc                CVCA DECVCAGOV00001 (card-verifiable certificate, compact JWS): the cards' trust point
dv.cvc                  DV DEDVGOVSSI00001 (under the CVCA): issues terminal certificates
pid-provider.cvc        Terminal DEPIDPROV00001: the PID provider's authorization (access rights, description, sector)
smart-eid-provider.cvc  Terminal DESMARTEID00001: the Smart-eID provider's authorization to read the card once

Certificates are effective from 2025-01-01. See ssi/eid/demo.py.
"""


@functools.cache
def demo_pki() -> DemoEidPki:
    """The demo PKI (built once per process)."""
    document_signer = DocumentSigner.generate(
        "govssi Demo CSCA", now=DEMO_EPOCH, days=7300, ca_key=demo_key("csca"), key=demo_key("document signer")
    )
    smart_eid_signer = DocumentSigner.generate(
        "govssi Demo Smart-eID", now=DEMO_EPOCH, days=7300, ca_key=demo_key("smart-eid ca"), key=demo_key("smart-eid")
    )
    cvca_key, dv_key = demo_key("cvca"), demo_key("dv")
    cvca = issue_cv_certificate(
        cvca_key,
        car=CVCA_CHR,
        chr=CVCA_CHR,
        chat=Chat.all_rights(Role.CVCA),
        effective=DEMO_START,
        expiry=datetime.date(2045, 1, 1),
        public_key=cvca_key.public_key,
        holder_name="govssi Demo CVCA",
    )
    dv = issue_cv_certificate(
        cvca_key,
        car=CVCA_CHR,
        chr=DV_CHR,
        chat=Chat.all_rights(Role.DV_OFFICIAL),
        effective=DEMO_START,
        expiry=datetime.date(2040, 1, 1),
        public_key=dv_key.public_key,
        holder_name="govssi Demo DV",
    )
    pid_provider = _issue_terminal(
        dv_key,
        dv,
        chr=PID_TERMINAL_CHR,
        holder_name="govssi Demo PID-Provider",
        rights=PID_PROVIDER_RIGHTS,
        subject_url="https://pid.govssi.example",
        terms_of_usage="Ausstellung eines PID (Personenidentifikationsdaten) für die EUDI-Wallet.",
    )
    smart_eid_provider = _issue_terminal(
        dv_key,
        dv,
        chr=SMART_EID_TERMINAL_CHR,
        holder_name="govssi Demo Smart-eID-Provider",
        rights=SMART_EID_PROVIDER_RIGHTS,
        subject_url="https://smart-eid.govssi.example",
        terms_of_usage="Einrichtung der Smart-eID auf diesem Gerät.",
    )
    return DemoEidPki(document_signer, smart_eid_signer, cvca_key, cvca, dv_key, dv, pid_provider, smart_eid_provider)
