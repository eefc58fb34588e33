"""Each authority's key material: the credential signing key behind :class:`ssi.keys.Signer` (HAIP: P-256, ES256),
its X.509 certificate chain for the ``x5c`` header (HAIP 1.0 §6.1.1), and the secp256k1 key that controls the
authority's did:ethr (the DID publishes the same signing key: govssi's second key-discovery route, docs/issuer.md).

:class:`FileKeyring` keeps keys in encrypted key files (``ssi.keys.write_key_file``, scrypt + AES-GCM) named by the
authority's slug, and gets certificates from a :class:`CertificateAuthority` — the demo CA of
``govssi issuer make-ca`` — unless an operator put a chain file ``<slug>.chain.pem`` (issued by a real CA) next to
the keys. :class:`MemoryKeyring` is the same in memory, for tests. :class:`Pkcs11Keyring` keeps the keys in a
PKCS#11 token (an HSM): they are generated there and never leave it; signing goes through ``ssi.keys.Pkcs11Signer``.
Every keyring also holds the authority's BBS key for ``bbs-2023`` credentials (:mod:`issuer.bbs_key`; in memory, or
the encrypted key file ``<slug>.bbs.json`` — also next to a PKCS#11 token, which has no BLS12-381).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from cryptography import x509

from issuer.bbs_key import BbsKey, load_or_create_bbs_key
from issuer.storage import Authority
from ssi.clock import Clock, system_clock
from ssi.errors import KeyFileError
from ssi.keys import PrivateKey, PublicKey, Signer, SoftwareSigner, load_private_key, write_key_file
from ssi.oid4vci import is_loopback_host
from ssi.x509 import (
    certificate_to_pem,
    issue_certificate,
    load_pem_certificates,
    make_self_signed_ca,
    x5c_chain,
)

if TYPE_CHECKING:  # ledger.client's signer pulls in eth-keys: loaded when a controller key is first used
    from ledger.client import ChainSigner

__all__ = [
    "AuthorityKeys",
    "CertificateAuthority",
    "CertificateAuthorityFiles",
    "Certifier",
    "FileKeyring",
    "Keyring",
    "MemoryKeyring",
    "Pkcs11Keyring",
    "certificate_chain",
]

#: Issuer certificates are renewed when less than this is left (seconds).
RENEW_BEFORE = 14 * 86400
CERTIFICATE_DAYS = 365


@dataclass(frozen=True)
class AuthorityKeys:
    """What issuing needs: ``signer`` signs credentials; ``chain`` is its certificate chain, leaf first, without the
    trust anchor (what goes into ``x5c``); ``controller`` controls the authority's did:ethr; ``bbs`` signs
    ``bbs-2023`` credentials."""

    signer: Signer
    public_key: PublicKey
    chain: tuple[x509.Certificate, ...]
    controller: ChainSigner
    bbs: BbsKey | None = None

    @property
    def x5c(self) -> list[str]:
        """The ``x5c`` header value (a new list each time; the encoding is done once per key set, not per
        credential)."""
        return list(self._x5c)

    @functools.cached_property
    def _x5c(self) -> tuple[str, ...]:
        return tuple(x5c_chain(self.chain))


class Keyring(Protocol):
    def keys_for(self, authority: Authority, credential_issuer: str) -> AuthorityKeys: ...


class CertificateAuthority:
    """A CA key and certificate that certify issuer keys (the demo CA; production CAs are external)."""

    def __init__(self, key: PrivateKey, certificate: x509.Certificate) -> None:
        self.key = key
        self.certificate = certificate

    @classmethod
    def generate(cls, common_name: str = "govssi Demo-CA", *, now: float, days: int = 3650) -> CertificateAuthority:
        key = PrivateKey.generate("ES256")
        return cls(key, make_self_signed_ca(key, common_name, now=now, days=days, organization="govssi demo"))

    @classmethod
    def create_files(
        cls, directory: Path, *, passphrase: str | None, now: float, common_name: str = "govssi Demo-CA"
    ) -> CertificateAuthority:
        """Write ``ca.key.json`` (encrypted when a passphrase is given; mode 0600) and ``ca.pem``."""
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls.generate(common_name, now=now)
        write_key_file(directory / "ca.key.json", ca.key, passphrase=passphrase, kid="govssi-demo-ca")
        (directory / "ca.pem").write_bytes(certificate_to_pem(ca.certificate))
        return ca

    @classmethod
    def load_files(cls, directory: Path, *, passphrase: str | None) -> CertificateAuthority | None:
        key_file, cert_file = directory / "ca.key.json", directory / "ca.pem"
        if not key_file.exists() or not cert_file.exists():
            return None
        certificate = load_pem_certificates(cert_file.read_bytes())[0]
        return cls(load_private_key(key_file, passphrase), certificate)

    def certify(
        self, public_key: PublicKey, authority: Authority, credential_issuer: str, *, now: float
    ) -> x509.Certificate:
        """An end-entity certificate for an issuer key: subject the authority, subjectAltName the credential issuer
        URL (and its host name), so a verifier can tie ``iss`` to the certificate (SD-JWT VC §3.5)."""
        host = urlsplit(credential_issuer).hostname or ""
        dns = [host] if host and not is_loopback_host(host) and not host.replace(".", "").isdigit() else []
        return issue_certificate(
            self.certificate,
            self.key,
            public_key,
            authority.name_de,
            now=now,
            days=CERTIFICATE_DAYS,
            organization=authority.name_de,
            dns_names=dns,
            uris=[credential_issuer],
        )


class Certifier(Protocol):
    """What issues the issuer certificates: :class:`CertificateAuthority` or :class:`CertificateAuthorityFiles`."""

    def certify(
        self, public_key: PublicKey, authority: Authority, credential_issuer: str, *, now: float
    ) -> x509.Certificate: ...


class CertificateAuthorityFiles:
    """The demo CA in its files, decrypted only when it first certifies (an scrypt derivation saved at every start
    whose certificates are still good)."""

    def __init__(self, directory: Path, *, passphrase: str | None) -> None:
        self._directory = directory
        self._passphrase = passphrase
        self._loaded: CertificateAuthority | None = None
        self._load_lock = threading.Lock()

    def load(self) -> CertificateAuthority:
        with self._load_lock:
            if self._loaded is None:
                loaded = CertificateAuthority.load_files(self._directory, passphrase=self._passphrase)
                if loaded is None:
                    raise ValueError(f"the CA files in {self._directory} are gone")
                self._loaded = loaded
            return self._loaded

    def certify(
        self, public_key: PublicKey, authority: Authority, credential_issuer: str, *, now: float
    ) -> x509.Certificate:
        return self.load().certify(public_key, authority, credential_issuer, now=now)


def _needs_certificate(chain: Sequence[x509.Certificate], public_key: PublicKey, issuer: str, now: float) -> bool:
    if not chain:
        return True
    leaf = chain[0]
    if PublicKey.from_crypto(leaf.public_key()) != public_key:  # type: ignore[arg-type]
        return True
    if leaf.not_valid_after_utc.timestamp() - now < RENEW_BEFORE:
        return True
    try:
        uris = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return issuer not in uris.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        return True


def certificate_chain(
    directory: Path,
    authority: Authority,
    public: PublicKey,
    credential_issuer: str,
    *,
    ca: Certifier | None,
    now: float,
) -> tuple[x509.Certificate, ...]:
    """The chain in ``<directory>/<slug>.chain.pem``, (re)issued by ``ca`` when it is missing, does not match the key,
    names another issuer URL or expires within :data:`RENEW_BEFORE` (refused without a CA)."""
    chain_file = directory / f"{authority.slug}.chain.pem"
    chain: tuple[x509.Certificate, ...] = ()
    if chain_file.exists():
        chain = tuple(load_pem_certificates(chain_file.read_bytes()))
    if _needs_certificate(chain, public, credential_issuer, now):
        if ca is None:
            raise ValueError(
                f"no valid certificate for {authority.slug}'s issuer key in {chain_file} and no CA to issue one"
                " (govssi issuer make-ca)"
            )
        chain = (ca.certify(public, authority, credential_issuer, now=now),)
        directory.mkdir(parents=True, exist_ok=True)
        chain_file.write_bytes(b"".join(certificate_to_pem(c) for c in chain))
    return chain


class MemoryKeyring:
    """Keys generated in memory per authority, certified by ``ca`` (tests, benchmarks)."""

    def __init__(self, ca: CertificateAuthority, *, clock: Clock = system_clock, alg: str = "ES256") -> None:
        self.ca = ca
        self._clock = clock
        self._alg = alg
        self._keys: dict[tuple[str, str], AuthorityKeys] = {}
        self._lock = threading.Lock()

    def keys_for(self, authority: Authority, credential_issuer: str) -> AuthorityKeys:
        with self._lock:
            found = self._keys.get((authority.slug, credential_issuer))
            if found is None:
                key = PrivateKey.generate(self._alg)
                public = key.public_key
                certificate = self.ca.certify(public, authority, credential_issuer, now=self._clock())
                found = AuthorityKeys(
                    signer=SoftwareSigner(key, kid=public.thumbprint()),
                    public_key=public,
                    chain=(certificate,),
                    controller=_software_chain_signer(PrivateKey.generate("ES256K")),
                    bbs=BbsKey.generate(),
                )
                self._keys[(authority.slug, credential_issuer)] = found
            return found


class FileKeyring:
    """Key files in ``directory``: ``<slug>.signing.json`` (P-256), ``<slug>.controller.json`` (secp256k1),
    ``<slug>.bbs.json`` (BLS12-381, :mod:`issuer.bbs_key`), all encrypted with ``passphrase``; ``<slug>.chain.pem``
    the certificate chain (leaf first). Missing keys are generated; a missing, mismatched or expiring chain is
    re-issued by ``ca`` (when there is none, issuing fails with a clear error until an operator provides the chain
    file)."""

    def __init__(
        self,
        directory: Path,
        *,
        passphrase: str | None,
        ca: Certifier | None,
        clock: Clock = system_clock,
    ) -> None:
        self.directory = directory
        self._passphrase = passphrase
        self.ca = ca
        self._clock = clock
        self._cache: dict[tuple[str, str], AuthorityKeys] = {}
        self._lock = threading.Lock()

    def _key(self, path: Path, alg: str, kid: str) -> PrivateKey:
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
            try:
                write_key_file(path, PrivateKey.generate(alg), passphrase=self._passphrase, kid=kid)
            except KeyFileError as error:
                if error.reason != "exists":
                    raise
                # another worker of this service created it a moment ago (written whole, then linked): use that one
        key = load_private_key(path, self._passphrase)
        if key.alg != alg:
            raise ValueError(f"{path} holds a {key.alg} key, not {alg}")
        return key

    def keys_for(self, authority: Authority, credential_issuer: str) -> AuthorityKeys:
        with self._lock:
            cached = self._cache.get((authority.slug, credential_issuer))
            now = self._clock()
            if cached is not None and not _needs_certificate(cached.chain, cached.public_key, credential_issuer, now):
                return cached
            signing = self._key(self.directory / f"{authority.slug}.signing.json", "ES256", f"{authority.slug}-signing")
            controller = self._key(
                self.directory / f"{authority.slug}.controller.json", "ES256K", f"{authority.slug}-controller"
            )
            public = signing.public_key
            chain = certificate_chain(self.directory, authority, public, credential_issuer, ca=self.ca, now=now)
            keys = AuthorityKeys(
                signer=SoftwareSigner(signing, kid=public.thumbprint()),
                public_key=public,
                chain=chain,
                controller=_software_chain_signer(controller),
                bbs=load_or_create_bbs_key(self.directory / f"{authority.slug}.bbs.json", passphrase=self._passphrase),
            )
            self._cache[(authority.slug, credential_issuer)] = keys
            return keys


class Pkcs11Keyring:
    """Keys in a PKCS#11 token: the credential (and status list) signing key — P-256, label ``key_label`` with
    ``{authority}`` replaced by the slug — and the DID controller key — secp256k1, ``controller_label`` — or, with an
    empty ``controller_label``, a controller key file in ``directory``. Missing keys are generated inside the token
    (sensitive, unextractable: ``Pkcs11Token.generate_key``). Certificate chains are files in ``directory`` as with
    :class:`FileKeyring`.

    The token is opened on first use in the process that signs — PKCS#11 state does not survive ``fork()`` — and
    opened again if the keyring finds itself in another process. Key generation and certificate files are guarded
    by a lock file, so several worker processes starting together create each key once.
    """

    def __init__(
        self,
        module: str,
        token_label: str,
        pin: str,
        *,
        directory: Path,
        ca: Certifier | None,
        key_label: str = "{authority}-signing",
        controller_label: str = "{authority}-controller",
        passphrase: str | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.module = module
        self.token_label = token_label
        self._pin = pin
        self.directory = directory
        self.ca = ca
        self.key_label = key_label
        self.controller_label = controller_label
        self._passphrase = passphrase
        self._clock = clock
        self._token: object | None = None
        self._pid = 0
        self._cache: dict[tuple[str, str], AuthorityKeys] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, *, ca: Certifier | None, clock: Clock = system_clock) -> Pkcs11Keyring:
        """From ``GOVSSI_PKCS11_MODULE``, ``GOVSSI_PKCS11_TOKEN_LABEL``, the key label settings and the PIN in
        ``GOVSSI_PKCS11_PIN`` / ``GOVSSI_PKCS11_PIN_FILE``."""
        from ssi.errors import Pkcs11Error
        from ssi.keys import read_pin

        if not settings.pkcs11_token_label:
            raise Pkcs11Error("GOVSSI_PKCS11_TOKEN_LABEL is required with GOVSSI_PKCS11_MODULE", reason="pkcs11_config")
        pin = read_pin()
        if pin is None:
            raise Pkcs11Error("set GOVSSI_PKCS11_PIN or GOVSSI_PKCS11_PIN_FILE", reason="pkcs11_pin_required")
        passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase is not None else None
        return cls(
            settings.pkcs11_module,
            settings.pkcs11_token_label,
            pin,
            directory=settings.resolved_keys_dir(),
            ca=ca,
            key_label=settings.pkcs11_key_label,
            controller_label=settings.pkcs11_controller_label,
            passphrase=passphrase,
            clock=clock,
        )

    def _open(self) -> Any:
        from ssi.keys import Pkcs11Token

        if self._token is None or self._pid != os.getpid():
            stale, self._token = self._token, Pkcs11Token(self.module, self.token_label, self._pin)
            self._pid = os.getpid()
            self._cache.clear()
            if stale is not None:
                # Pkcs11Token.close does nothing in a process that did not open it (a forked child leaves the
                # parent's login alone); in the opening process it ends this connection, or its login would stay.
                stale.close()  # type: ignore[attr-defined]
        return self._token

    def _signer(self, token: Any, label: str, alg: str) -> Any:
        from ssi.errors import Pkcs11Error

        try:
            return token.signer(label=label)
        except Pkcs11Error as exc:
            if exc.reason != "pkcs11_key_not_found":
                raise
        try:
            return token.generate_key(alg, label=label)
        except Pkcs11Error as exc:
            if exc.reason != "pkcs11_key_exists":  # another process generated it a moment ago
                raise
            return token.signer(label=label)

    def close(self) -> None:
        """Log out of the token (this process); signers handed out stop working."""
        with self._lock:
            if self._token is not None:
                self._token.close()  # type: ignore[attr-defined]  # a no-op in a process that did not open it
            self._token = None
            self._cache.clear()

    def keys_for(self, authority: Authority, credential_issuer: str) -> AuthorityKeys:
        from ledger.client.pkcs11_signer import Pkcs11ChainSigner

        with self._lock:
            token = self._open()
            cached = self._cache.get((authority.slug, credential_issuer))
            now = self._clock()
            if cached is not None and not _needs_certificate(cached.chain, cached.public_key, credential_issuer, now):
                return cached
            self.directory.mkdir(parents=True, exist_ok=True)
            with _file_lock(self.directory / ".keyring.lock"):
                signing = self._signer(token, self.key_label.format(authority=authority.slug), "ES256")
                if signing.alg != "ES256":
                    raise ValueError(f"the token key {signing.label!r} is {signing.alg}, not ES256")
                if self.controller_label:
                    controller: ChainSigner = Pkcs11ChainSigner(
                        self._signer(token, self.controller_label.format(authority=authority.slug), "ES256K")
                    )
                else:
                    path = self.directory / f"{authority.slug}.controller.json"
                    if not path.exists():
                        os.chmod(self.directory, 0o700)
                        write_key_file(
                            path,
                            PrivateKey.generate("ES256K"),
                            passphrase=self._passphrase,
                            kid=f"{authority.slug}-controller",
                        )
                    controller = _software_chain_signer(load_private_key(path, self._passphrase))
                chain = certificate_chain(
                    self.directory, authority, signing.public_key, credential_issuer, ca=self.ca, now=now
                )
                bbs_key = load_or_create_bbs_key(
                    self.directory / f"{authority.slug}.bbs.json", passphrase=self._passphrase
                )
            keys = AuthorityKeys(
                signer=signing, public_key=signing.public_key, chain=chain, controller=controller, bbs=bbs_key
            )
            self._cache[(authority.slug, credential_issuer)] = keys
            return keys


def _software_chain_signer(key: PrivateKey) -> ChainSigner:
    from ledger.client import SoftwareChainSigner

    return SoftwareChainSigner(key)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (released when the block ends or the process dies)."""
    import fcntl

    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
