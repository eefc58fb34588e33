"""The verifier's own keys: the request-signing key with its X.509 certificate chain (``x509_hash`` / ``x509_san_dns``,
OpenID4VP 1.0 §5.9.3, HAIP 1.0), or a DID key (``decentralized_identifier``).

Files (``GOVSSI_VERIFIER_KEYS_DIR``, default ``<data_dir>/verifier/keys``): ``request-signing.key.json`` (a key file,
encrypted with ``GOVSSI_KEY_PASSPHRASE`` when set; mode 0600) and ``request-signing.chain.pem`` (leaf first, without
the trust anchor). When the chain is missing, belongs to another key or host, or expires within 14 days, a new leaf is
issued by the **demo CA** in ``<data_dir>/verifier/ca`` (``ca.pem`` is what wallets configure as trust anchor for this
verifier). In production put a chain from a real CA into the chain file and keep no CA key on the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from ssi.keys import PrivateKey, Signer, SoftwareSigner, load_private_key, write_key_file
from ssi.x509 import (
    certificate_to_pem,
    dns_names,
    issue_certificate,
    load_pem_certificates,
    make_self_signed_ca,
    x5c_chain,
)

__all__ = ["RequestSigningKeys", "VerifierCa", "load_request_signing_keys"]

KEY_FILE = "request-signing.key.json"
CHAIN_FILE = "request-signing.chain.pem"
CERTIFICATE_DAYS = 90
RENEW_BEFORE = 14 * 86400


@dataclass(frozen=True)
class RequestSigningKeys:
    """What signing a Request Object needs: the signer, and for the x509 prefixes the chain (leaf first)."""

    signer: Signer
    chain: tuple[x509.Certificate, ...] = ()
    kid: str | None = None

    @property
    def leaf(self) -> x509.Certificate:
        if not self.chain:
            raise ValueError("these request-signing keys have no certificate")
        return self.chain[0]

    @property
    def x5c(self) -> list[str]:
        return x5c_chain(self.chain)


class VerifierCa:
    """The demo CA that certifies the verifier's request-signing key (production CAs are external)."""

    def __init__(self, key: PrivateKey, certificate: x509.Certificate) -> None:
        self.key = key
        self.certificate = certificate

    @classmethod
    def generate(cls, *, now: float, common_name: str = "govssi Verifier Demo-CA") -> VerifierCa:
        key = PrivateKey.generate("ES256")
        return cls(key, make_self_signed_ca(key, common_name, now=now, days=3650, organization="govssi demo"))

    @classmethod
    def load_or_create(cls, directory: Path, *, passphrase: str | None, now: float) -> VerifierCa:
        key_file, cert_file = directory / "ca.key.json", directory / "ca.pem"
        if key_file.exists() and cert_file.exists():
            return cls(load_private_key(key_file, passphrase), load_pem_certificates(cert_file.read_bytes())[0])
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        ca = cls.generate(now=now)
        write_key_file(key_file, ca.key, passphrase=passphrase, kid="govssi-verifier-demo-ca")
        cert_file.write_bytes(certificate_to_pem(ca.certificate))
        return ca

    def certify(self, key: PrivateKey, public_url: str, *, now: float, name: str) -> x509.Certificate:
        """A leaf for the request-signing key: subject the verifier's name, subjectAltName its host (``x509_san_dns``
        needs it, §5.9.3) and its public URL."""
        host = urlsplit(public_url).hostname or ""
        return issue_certificate(
            self.certificate,
            self.key,
            key.public_key,
            name,
            now=now,
            days=CERTIFICATE_DAYS,
            organization=name,
            dns_names=[host] if host else [],
            uris=[public_url] if public_url else [],
        )


def _chain_usable(chain: list[x509.Certificate], key: PrivateKey, public_url: str, now: float) -> bool:
    if not chain:
        return False
    leaf = chain[0]
    host = urlsplit(public_url).hostname or ""
    same_key = leaf.public_key().public_numbers() == key.crypto_key.public_key().public_numbers()  # type: ignore[union-attr]
    fresh = leaf.not_valid_after_utc.timestamp() - now > RENEW_BEFORE
    return same_key and fresh and (not host or host in dns_names(leaf))


def load_request_signing_keys(
    keys_dir: Path,
    ca_dir: Path,
    *,
    public_url: str,
    passphrase: str | None,
    name: str = "govssi Verifier",
    now: float | None = None,
) -> RequestSigningKeys:
    """Load (or create) the request-signing key and its chain; renew the leaf from the demo CA when needed."""
    now = time.time() if now is None else now
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path, chain_path = keys_dir / KEY_FILE, keys_dir / CHAIN_FILE
    if not key_path.exists():
        write_key_file(key_path, PrivateKey.generate("ES256"), passphrase=passphrase, kid="request-signing")
    key = load_private_key(key_path, passphrase)
    chain = load_pem_certificates(chain_path.read_bytes()) if chain_path.exists() else []
    if not _chain_usable(chain, key, public_url, now):
        ca = VerifierCa.load_or_create(ca_dir, passphrase=passphrase, now=now)
        chain = [ca.certify(key, public_url, now=now, name=name)]
        chain_path.write_bytes(b"".join(certificate_to_pem(cert) for cert in chain))
    return RequestSigningKeys(SoftwareSigner(key), tuple(chain))
