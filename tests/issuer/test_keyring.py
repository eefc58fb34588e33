"""Authority keys (issuer/keyring.py): encrypted key files, certificates from the demo CA with the issuer URL in
subjectAltName, renewal, operator-provided chains, and the CA files of ``govssi issuer make-ca``."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from cryptography import x509

from issuer import CertificateAuthority, FileKeyring, MemoryKeyring
from issuer.storage import Authority
from ssi.clock import FrozenClock
from ssi.errors import KeyFileError
from ssi.keys import is_encrypted, read_jwk_file
from ssi.x509 import certificate_to_pem, verify_x5c, x5c_chain

AUTHORITY = Authority(1, "koeln", "Stadt Köln", "City of Cologne", None)
ISSUER = "https://ausweise.stadt-koeln.de/issuers/koeln"


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.generate(now=time.time() - 3600)


def test_file_keyring_creates_encrypted_keys_and_a_certificate(tmp_path: Path, ca: CertificateAuthority) -> None:
    keyring = FileKeyring(tmp_path / "keys", passphrase="pw", ca=ca)
    keys = keyring.keys_for(AUTHORITY, ISSUER)
    for name in ("koeln.signing.json", "koeln.controller.json"):
        path = tmp_path / "keys" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and is_encrypted(read_jwk_file(path))
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert keys.signer.alg == "ES256" and keys.signer.kid == keys.public_key.thumbprint()
    chain = verify_x5c(keys.x5c, [ca.certificate], now=time.time())
    assert chain.public_key == keys.public_key
    alt = keys.chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt.get_values_for_type(x509.UniformResourceIdentifier) == [ISSUER]
    assert alt.get_values_for_type(x509.DNSName) == ["ausweise.stadt-koeln.de"]
    # A second keyring over the same files finds the same keys (and the same certificate).
    again = FileKeyring(tmp_path / "keys", passphrase="pw", ca=ca).keys_for(AUTHORITY, ISSUER)
    assert again.public_key == keys.public_key and again.chain[0] == keys.chain[0]
    with pytest.raises(KeyFileError):
        FileKeyring(tmp_path / "keys", passphrase="wrong", ca=ca).keys_for(AUTHORITY, ISSUER)


def test_certificate_renewed_when_expiring_or_for_another_url(tmp_path: Path, ca: CertificateAuthority) -> None:
    clock = FrozenClock(time.time())
    keyring = FileKeyring(tmp_path, passphrase="pw", ca=ca, clock=clock)
    first = keyring.keys_for(AUTHORITY, ISSUER).chain[0]
    assert keyring.keys_for(AUTHORITY, ISSUER).chain[0] == first
    clock.advance(360 * 86400)  # 5 days before the end of a 365-day certificate
    renewed = keyring.keys_for(AUTHORITY, ISSUER).chain[0]
    assert renewed != first and renewed.not_valid_after_utc > first.not_valid_after_utc
    moved = keyring.keys_for(AUTHORITY, "https://neu.example.de/issuers/koeln").chain[0]
    assert moved not in (first, renewed)


def test_operator_chain_is_used_and_no_ca_means_a_clear_error(tmp_path: Path, ca: CertificateAuthority) -> None:
    keyring = FileKeyring(tmp_path, passphrase="pw", ca=ca)
    keys = keyring.keys_for(AUTHORITY, ISSUER)
    without_ca = FileKeyring(tmp_path, passphrase="pw", ca=None)
    assert without_ca.keys_for(AUTHORITY, ISSUER).chain[0] == keys.chain[0]  # the chain file written before
    other = CertificateAuthority.generate(now=time.time())
    (tmp_path / "bonn.chain.pem").write_bytes(certificate_to_pem(other.certificate))  # not the key's certificate
    bonn = Authority(2, "bonn", "Bonn", "Bonn", None)
    with pytest.raises(ValueError, match="no valid certificate"):
        without_ca.keys_for(bonn, "https://bonn.example/issuers/bonn")


def test_ca_files(tmp_path: Path) -> None:
    created = CertificateAuthority.create_files(tmp_path, passphrase="pw", now=time.time())
    loaded = CertificateAuthority.load_files(tmp_path, passphrase="pw")
    assert loaded is not None and loaded.certificate == created.certificate
    assert is_encrypted(read_jwk_file(tmp_path / "ca.key.json"))
    assert CertificateAuthority.load_files(tmp_path / "none", passphrase="pw") is None


def test_memory_keyring_per_authority(ca: CertificateAuthority) -> None:
    keyring = MemoryKeyring(ca)
    a = keyring.keys_for(AUTHORITY, ISSUER)
    assert keyring.keys_for(AUTHORITY, ISSUER) is a
    b = keyring.keys_for(Authority(2, "bonn", "Bonn", "Bonn", None), "https://b.example/issuers/bonn")
    assert a.public_key != b.public_key and a.controller.address != b.controller.address


def test_x5c_encoded_once_and_handed_out_as_a_copy(ca: CertificateAuthority) -> None:
    """RFC 7515 §4.1.6: standard base64 DER, leaf first — computed once per key set; each caller gets its own list."""
    keys = MemoryKeyring(ca).keys_for(AUTHORITY, ISSUER)
    first = keys.x5c
    assert first == x5c_chain(keys.chain)
    first.append("tampered")
    assert keys.x5c == x5c_chain(keys.chain) and keys.x5c is not keys.x5c


def test_workers_starting_together_share_the_key_another_created(tmp_path: Path, ca: CertificateAuthority) -> None:
    """Two workers of one service on a fresh data directory (each its own ``FileKeyring``) ask for the authority's
    keys at the same moment: the one that finds the key file created meanwhile uses it instead of failing
    ("already exists; refusing to overwrite a key" — the issuer's status-list publisher logged that error on start)."""
    import threading

    keyrings = [FileKeyring(tmp_path / "keys", passphrase="pw", ca=ca) for _ in range(6)]
    barrier = threading.Barrier(len(keyrings))
    signing: list[object] = []
    errors: list[BaseException] = []

    def start(keyring: FileKeyring) -> None:
        barrier.wait()
        try:
            signing.append(keyring.keys_for(AUTHORITY, ISSUER).public_key.jwk)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=start, args=(k,)) for k in keyrings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(signing) == len(keyrings) and all(jwk == signing[0] for jwk in signing)
