"""The simulated secure element and wallet provider: keys never leave, signing needs the PIN, attestations verify
against the provider's CA (what an issuer configures), the demo provider is the same everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssi.client_attestation import verify_client_attestation
from ssi.clock import FrozenClock
from ssi.encoding import b64url_decode
from ssi.errors import InvalidClient, InvalidProof, SecureElementLocked, WalletError, WalletPinError
from ssi.jose import decode_jwt
from ssi.keys import PublicKey
from ssi.oid4vci.key_attestation import create_attested_proof_jwt, verify_attested_proof_jwt
from wallet_sim.provider import DEMO_CLIENT_ID, WalletProvider
from wallet_sim.secure_element import SecureElement
from wallet_sim.store import DB_NAME, FAST_KDF, WalletStore

PIN = "246810"
NOW = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WalletStore]:
    with WalletStore.create(tmp_path, PIN, kdf=FAST_KDF, clock=FrozenClock(NOW)) as s:
        yield s


@pytest.fixture(scope="module")
def demo() -> WalletProvider:
    return WalletProvider.demo()


def element(store: WalletStore, provider: WalletProvider, **kw: object) -> SecureElement:
    return SecureElement(store, provider, clock=FrozenClock(NOW), **kw)  # type: ignore[arg-type]


def test_signing_needs_unlock(store: WalletStore, demo: WalletProvider) -> None:
    se = element(store, demo)
    handle = se.generate_key()
    signer = se.signer(handle.id)
    with pytest.raises(SecureElementLocked):
        signer.sign(b"data")
    with pytest.raises(WalletPinError):
        se.unlock("000001")
    assert not se.is_unlocked
    se.unlock(PIN)
    PublicKey.from_jwk(handle.public_jwk).verify("ES256", b"data", signer.sign(b"data"))
    se.lock()
    with pytest.raises(SecureElementLocked):  # a signer obtained earlier is locked too
        signer.sign(b"data")


def test_unlock_lifetime(store: WalletStore, demo: WalletProvider) -> None:
    clock = FrozenClock(NOW)
    se = SecureElement(store, demo, clock=clock, unlock_lifetime=60)
    signer = se.signer(se.generate_key().id)
    se.unlock(PIN)
    signer.sign(b"x")
    clock.advance(61)
    with pytest.raises(SecureElementLocked):
        signer.sign(b"x")


def test_no_private_material_through_the_api(store: WalletStore, demo: WalletProvider) -> None:
    se = element(store, demo, unlocked=True)
    handle = se.generate_key()
    for value in (handle, se.handle(handle.id), se.signer(handle.id)):
        text = repr(value) + json.dumps(getattr(value, "public_jwk", {}))
        assert '"d"' not in text
    assert "d" not in handle.public_jwk
    public_names = {name for name in dir(se) if not name.startswith("_")}
    assert not {n for n in public_names if "private" in n or "export" in n}
    # and nothing in the file's bytes either
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob(DB_NAME + "*"))
    assert handle.public_jwk["x"].encode() not in raw


def test_provisional_keys_bound_or_purged(store: WalletStore, demo: WalletProvider) -> None:
    clock = FrozenClock(NOW)
    se = SecureElement(store, demo, clock=clock)
    kept, lost = se.generate_keys(2)
    with store.transaction() as tx:
        tx.insert("credential", "c1", {})
        se.bind(tx, [kept.id], "c1")
    assert se.purge_provisional() == 0  # young provisional keys belong to an issuance in progress
    clock.advance(2 * 86400)
    assert se.purge_provisional() == 1
    se.handle(kept.id)
    with pytest.raises(WalletError):
        se.handle(lost.id)
    with store.transaction() as tx:
        se.delete_owned(tx, "c1")
    assert se.key_count() == 0


def test_key_attestation_accepted_by_an_issuer_trusting_the_provider(store: WalletStore, demo: WalletProvider) -> None:
    se = element(store, demo, unlocked=True)
    keys = se.generate_keys(3)
    attestation = se.key_attestation([k.id for k in keys], nonce="c1")
    aud = "https://issuer.example.de/issuers/demo"
    for key in keys:
        proof = create_attested_proof_jwt(se.signer(key.id), attestation, audience=aud, now=NOW, nonce="c1")
        verified, ka = verify_attested_proof_jwt(proof, anchors=[demo.ca_certificate], audience=aud, now=NOW)
        assert verified.jwk == key.public_jwk
        assert ka.key_storage == ("iso_18045_high",)
    other = WalletProvider.generate(now=NOW - 60)
    proof = create_attested_proof_jwt(se.signer(keys[0].id), attestation, audience=aud, now=NOW, nonce="c1")
    with pytest.raises(InvalidProof):
        verify_attested_proof_jwt(proof, anchors=[other.ca_certificate], audience=aud, now=NOW)
    with pytest.raises(WalletError):  # DPoP and instance keys are not attested as holder keys
        se.key_attestation([se.generate_key("dpop").id])


def test_wallet_attestation_fresh_instance_key_per_call(store: WalletStore, demo: WalletProvider) -> None:
    """HAIP 1.0 §4.4.1: individual attestations per issuer without linkable identifiers."""
    se = element(store, demo, unlocked=True)
    first, second = se.wallet_attestation(), se.wallet_attestation()
    assert first.instance.public_jwk != second.instance.public_jwk
    aud = "https://issuer.example.de/issuers/pid"
    headers = first.headers(audience=aud, now=NOW, challenge="ch")
    verified = verify_client_attestation(
        [headers["OAuth-Client-Attestation"]],
        [headers["OAuth-Client-Attestation-PoP"]],
        anchors=[demo.ca_certificate],
        audience=aud,
        now=NOW,
        client_id=DEMO_CLIENT_ID,
        challenge="ch",
    )
    assert verified.client_id == DEMO_CLIENT_ID  # the same for every instance of the wallet solution
    assert verified.claims["wallet_name"]
    assert "x5c" in json.loads(b64url_decode(first.attestation.split(".")[0]))
    se.lock()
    with pytest.raises(SecureElementLocked):  # the PoP is a signature of the secure element
        first.headers(audience=aud, now=NOW)
    with pytest.raises(InvalidClient):
        verify_client_attestation(
            [headers["OAuth-Client-Attestation"]],
            [headers["OAuth-Client-Attestation-PoP"]],
            anchors=[WalletProvider.generate(now=NOW).ca_certificate],
            audience=aud,
            now=NOW,
        )


def test_demo_provider_is_deterministic_and_files_interchangeable(tmp_path: Path) -> None:
    """Every simulator is the same demo wallet provider: a CA file from one data dir validates another's attester."""
    a = WalletProvider.demo(tmp_path / "a")
    b = WalletProvider.demo(tmp_path / "b")
    assert a.attester_key.public_key == b.attester_key.public_key
    assert (tmp_path / "a" / "ca.pem").is_file() and (tmp_path / "a" / "attester.pem").is_file()
    again = WalletProvider.demo(tmp_path / "a")
    assert again.ca_pem == a.ca_pem  # read back, not regenerated
    token = b.key_attestation([PublicKey.from_jwk(a.attester_key.public_key.jwk).jwk], now=NOW)
    verified = decode_jwt(token, b.attester_key.public_key, ["ES256"], clock=lambda: NOW)
    assert verified.claims["iss"] == a.issuer
    from ssi.oid4vci.key_attestation import verify_key_attestation

    verify_key_attestation(token, anchors=[a.ca_certificate], now=NOW)
