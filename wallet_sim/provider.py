"""The simulated wallet provider: the organisation that vouches for the wallet app and its secure element.

In a real deployment the wallet provider's backend checks the device (platform attestations) and then signs **key
attestations** (OpenID4VCI 1.0 Appendix D: "these keys live in certified secure hardware") and **wallet
attestations** (Appendix E, the client authentication HAIP 1.0 §4.4.1 requires). Here the provider is part of the
simulator: a CA (the trust anchor issuers configure as an accepted wallet provider) and an attester key certified by
it, whose chain goes into the ``x5c`` header of both attestations.

The **demo provider** is deterministic: its two P-256 keys are derived from fixed, public labels, so every simulator
on every machine is the same wallet provider and an issuer configured with one ``ca.pem`` accepts them all. Like the
development accounts of the local chain, these keys are public: development and tests only. The certificates are
written once to ``<wallet data dir>/provider/`` (``ca.pem`` = the trust anchor, ``attester.pem``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ssi.client_attestation import create_client_attestation
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vci.key_attestation import ISO_18045_HIGH, ISO_18045_MODERATE, create_key_attestation
from ssi.x509 import certificate_to_pem, issue_certificate, load_pem_certificates, make_self_signed_ca, x5c_chain

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_WALLET_NAME",
    "WalletProvider",
]

#: HAIP 1.0 §4.4.1 / OpenID4VCI §14.4.4: the Wallet Attestation ``sub`` is the ``client_id``, "the same across
#: Wallet instances of that Wallet Provider" — so it identifies the wallet solution, never the citizen's instance.
DEMO_CLIENT_ID: Final = "https://wallet.govssi.example/simulator"
DEMO_WALLET_NAME: Final = "govssi Wallet-Simulator"
DEMO_PROVIDER_URL: Final = "https://wallet.govssi.example"
#: Fixed certificate times of the demo provider (2025-01-01T00:00:00Z), so its files do not depend on when they were
#: made: CA for 20 years, attester for 10.
_DEMO_EPOCH: Final = 1735689600.0
_P256_ORDER: Final = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def _demo_key(label: str) -> PrivateKey:
    """A P-256 key from a public label (scalar = SHA-256(label) mod (n-1) + 1): reproducible, hence demo only."""
    scalar = (
        int.from_bytes(hashlib.sha256(f"govssi demo wallet provider: {label}".encode()).digest()) % (_P256_ORDER - 1)
        + 1
    )
    return PrivateKey(ec.derive_private_key(scalar, ec.SECP256R1()))


@dataclass(frozen=True)
class WalletProvider:
    """A wallet provider: its CA certificate (trust anchor), attester key and certificate, and the values it puts into
    attestations. Attestations are short-lived (``attestation_lifetime`` seconds)."""

    ca_certificate: x509.Certificate
    attester_key: PrivateKey
    attester_certificate: x509.Certificate
    client_id: str = DEMO_CLIENT_ID
    wallet_name: str = DEMO_WALLET_NAME
    wallet_link: str = DEMO_PROVIDER_URL
    issuer: str = DEMO_PROVIDER_URL
    #: Appendix D.2 values the simulated secure element claims: keys in (simulated) certified hardware, access after
    #: PIN entry.
    key_storage: tuple[str, ...] = (ISO_18045_HIGH,)
    user_authentication: tuple[str, ...] = (ISO_18045_MODERATE,)
    attestation_lifetime: float = 3600.0

    # -- construction -----------------------------------------------------------------------------------------------

    @classmethod
    def demo(cls, directory: Path | None = None) -> WalletProvider:
        """The deterministic demo provider; with ``directory``, its certificates are read from there or written there
        (``ca.pem``, ``attester.pem``) for operators who configure issuers."""
        ca_key, attester_key = _demo_key("ca"), _demo_key("attester")
        if directory is not None:
            ca_file, attester_file = directory / "ca.pem", directory / "attester.pem"
            if ca_file.is_file() and attester_file.is_file():
                ca_cert = load_pem_certificates(ca_file.read_bytes())[0]
                attester_cert = load_pem_certificates(attester_file.read_bytes())[0]
                if ca_cert.public_key() == ca_key.public_key.key and attester_cert.public_key() == (
                    attester_key.public_key.key
                ):
                    return cls(ca_cert, attester_key, attester_cert)
        ca_cert = make_self_signed_ca(
            ca_key, "govssi Demo Wallet Provider CA", now=_DEMO_EPOCH, days=7300, organization="govssi demo"
        )
        attester_cert = issue_certificate(
            ca_cert,
            ca_key,
            attester_key.public_key,
            "govssi Demo Wallet Provider Attester",
            now=_DEMO_EPOCH,
            days=3650,
            organization="govssi demo",
            uris=(DEMO_PROVIDER_URL,),
        )
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            (directory / "ca.pem").write_bytes(certificate_to_pem(ca_cert))
            (directory / "attester.pem").write_bytes(certificate_to_pem(attester_cert))
        return cls(ca_cert, attester_key, attester_cert)

    @classmethod
    def generate(cls, *, now: float, name: str = "Test Wallet Provider", **values: Any) -> WalletProvider:
        """A provider with fresh random keys (tests: a provider no issuer trusts)."""
        ca_key, attester_key = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
        ca_cert = make_self_signed_ca(ca_key, f"{name} CA", now=now, days=365)
        attester_cert = issue_certificate(ca_cert, ca_key, attester_key.public_key, f"{name} Attester", now=now)
        return cls(ca_cert, attester_key, attester_cert, **values)

    # -- what it signs ----------------------------------------------------------------------------------------------

    @property
    def x5c(self) -> list[str]:
        """The attester's chain for ``x5c``: leaf only (HAIP: the trust anchor is not included)."""
        return x5c_chain([self.attester_certificate])

    @property
    def ca_pem(self) -> bytes:
        return certificate_to_pem(self.ca_certificate)

    def key_attestation(
        self, attested_keys: Sequence[Mapping[str, Any]], *, now: float, nonce: str | None = None
    ) -> str:
        """A ``key-attestation+jwt`` (OpenID4VCI Appendix D.1) for keys of the simulated secure element."""
        return create_key_attestation(
            SoftwareSigner(self.attester_key),
            self.x5c,
            attested_keys=attested_keys,
            now=now,
            lifetime=self.attestation_lifetime,
            nonce=nonce,
            key_storage=self.key_storage,
            user_authentication=self.user_authentication,
            issuer=self.issuer,
        )

    def wallet_attestation(self, instance_jwk: Mapping[str, Any], *, now: float) -> str:
        """A Wallet Attestation (OpenID4VCI Appendix E; ``oauth-client-attestation+jwt``) for one instance key."""
        return create_client_attestation(
            SoftwareSigner(self.attester_key),
            self.x5c,
            client_id=self.client_id,
            instance_jwk=instance_jwk,
            now=now,
            lifetime=self.attestation_lifetime,
            extra_claims={"iss": self.issuer, "wallet_name": self.wallet_name, "wallet_link": self.wallet_link},
        )
