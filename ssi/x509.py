"""X.509 for ``x5c`` (RFC 7515 §4.1.6) as HAIP 1.0 uses it: issuers sign credentials and status lists with a key whose
certificate chains to a trust anchor the verifier configured; OpenID4VP 1.0 §5.9.3 names verifiers by the hash of
their certificate (``x509_hash``) or a DNS name in it (``x509_san_dns``).

Path validation is ``cryptography``'s RFC 5280 verifier (``cryptography.x509.verification``), not ours: signatures,
validity periods, basic constraints and key usage of CA certificates, path length, and the web-PKI algorithm set
(ECDSA P-256/P-384, RSA; HAIP 1.0 mandates ES256, so Ed25519 chains are refused). End-entity extensions are not
constrained by web-PKI rules (credential issuer certificates carry no TLS extended key usage).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from ssi.encoding import b64url_encode
from ssi.errors import CertificateError, KeyError_
from ssi.keys import PrivateKey, PublicKey

__all__ = [
    "MAX_CHAIN_LENGTH",
    "VerifiedChain",
    "certificate_to_pem",
    "dns_names",
    "issue_certificate",
    "load_pem_certificates",
    "make_self_signed_ca",
    "parse_x5c",
    "spki_sha256",
    "verify_x5c",
    "x509_hash",
    "x5c_chain",
]

#: Longer chains are refused before any parsing (leaf, intermediates, anchor).
MAX_CHAIN_LENGTH = 5
MAX_CERTIFICATE_SIZE = 16 * 1024


@dataclass(frozen=True)
class VerifiedChain:
    """A chain that validated to a trust anchor: ``chain`` is leaf first and ends with the anchor."""

    leaf: x509.Certificate
    public_key: PublicKey
    chain: tuple[x509.Certificate, ...]

    @property
    def anchor(self) -> x509.Certificate:
        return self.chain[-1]


def _utc(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"))
    return x509.Name(attributes)


def _signing_hash(key: PrivateKey) -> hashes.HashAlgorithm | None:
    return None if isinstance(key.crypto_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def make_self_signed_ca(
    key: PrivateKey, common_name: str, *, now: float, days: int = 3650, organization: str | None = None
) -> x509.Certificate:
    """A self-signed root CA certificate (RFC 5280 §4.2.1.9: basicConstraints cA, critical; keyCertSign, cRLSign)."""
    name = _name(common_name, organization)
    public = key.crypto_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(now - 60))
        .not_valid_after(_utc(now + days * 86400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
    )
    return builder.sign(key.crypto_key, _signing_hash(key))  # type: ignore[arg-type]


def issue_certificate(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    subject_public: PublicKey,
    common_name: str,
    *,
    now: float,
    days: int = 365,
    organization: str | None = None,
    dns_names: Sequence[str] = (),
    uris: Sequence[str] = (),
    ca: bool = False,
) -> x509.Certificate:
    """A certificate for ``subject_public`` signed by the CA: an end-entity signing certificate (digitalSignature)
    or, with ``ca=True``, an intermediate CA. DNS names and URIs go into subjectAltName (OpenID4VP ``x509_san_dns``;
    HAIP: the credential issuer URL)."""
    public = subject_public.key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(now - 60))
        .not_valid_after(_utc(now + days * 86400))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    alt_names += [x509.UniformResourceIdentifier(uri) for uri in uris]
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(ca_key.crypto_key, _signing_hash(ca_key))  # type: ignore[arg-type]


def x5c_chain(certificates: Sequence[x509.Certificate]) -> list[str]:
    """The ``x5c`` value: "a JSON array of certificate value strings", each "base64-encoded (Section 4 of RFC 4648 --
    not base64url-encoded) DER", the one containing the signing key first (RFC 7515 §4.1.6)."""
    return [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii") for cert in certificates]


def parse_x5c(x5c: object) -> list[x509.Certificate]:
    """Decode an ``x5c`` header value (RFC 7515 §4.1.6): a non-empty array of standard-base64 DER certificates."""
    if not isinstance(x5c, list) or not x5c:
        raise CertificateError("x5c must be a non-empty array of certificates", reason="x5c_malformed")
    if len(x5c) > MAX_CHAIN_LENGTH:
        raise CertificateError(f"x5c holds more than {MAX_CHAIN_LENGTH} certificates", reason="x5c_too_long")
    certificates = []
    for entry in x5c:
        if not isinstance(entry, str) or len(entry) > MAX_CERTIFICATE_SIZE * 4 // 3 + 4:
            raise CertificateError("x5c entries must be base64 strings of bounded size", reason="x5c_malformed")
        try:
            der = base64.b64decode(entry, validate=True)
            certificates.append(x509.load_der_x509_certificate(der))
        except (binascii.Error, ValueError):
            raise CertificateError("x5c entry is not a base64 DER certificate", reason="x5c_malformed") from None
    return certificates


def verify_x5c(x5c: object, anchors: Sequence[x509.Certificate], *, now: float) -> VerifiedChain:
    """Validate an ``x5c`` chain to one of ``anchors`` at time ``now`` (RFC 5280 §6 path validation).

    RFC 7515 §4.1.6: "The recipient MUST validate the certificate chain according to RFC 5280 [...] and consider the
    certificate or certificate chain to be invalid if any validation failure occurs." The anchor may or may not be
    included in ``x5c`` (HAIP: the trust anchor certificate is not included).
    """
    certificates = parse_x5c(x5c)
    if not anchors:
        raise CertificateError("no trust anchors are configured", reason="no_trust_anchors")
    leaf, intermediates = certificates[0], certificates[1:]
    builder = (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(_utc(now).replace(tzinfo=None))
        .max_chain_depth(MAX_CHAIN_LENGTH)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
    )
    try:
        chain = builder.build_client_verifier().verify(leaf, intermediates).chain
    except VerificationError as exc:
        raise CertificateError(f"certificate chain does not validate: {exc}", reason="x5c_untrusted") from None
    try:
        public = PublicKey.from_crypto(leaf.public_key())  # type: ignore[arg-type]
    except (KeyError_, TypeError, ValueError):
        raise CertificateError("the certificate's key type is not supported", reason="x5c_unsupported_key") from None
    return VerifiedChain(leaf=leaf, public_key=public, chain=tuple(chain))


def spki_sha256(certificate: x509.Certificate) -> bytes:
    """SHA-256 of the DER SubjectPublicKeyInfo: how the trusted-issuer registry names an issuer's certificate key, so
    a renewed certificate for the same key keeps its accreditation."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def x509_hash(certificate: x509.Certificate) -> str:
    """OpenID4VP 1.0 §5.9.3 ``x509_hash``: "the value [...] is the base64url-encoded value of the SHA-256 hash of the
    DER-encoded X.509 certificate"."""
    return b64url_encode(hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest())


def dns_names(certificate: x509.Certificate) -> list[str]:
    """The dNSName entries of subjectAltName (OpenID4VP 1.0 §5.9.3 ``x509_san_dns``)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(san.get_values_for_type(x509.DNSName))


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle (trust anchor files)."""
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateError("not a PEM certificate bundle", reason="pem_malformed") from None
    return certificates


def certificate_to_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)
