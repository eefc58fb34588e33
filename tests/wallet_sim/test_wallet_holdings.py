"""Holdings and the presentation API without a network: credentials written as the wallet writes them (issued here
with ssi.sd_jwt), one-time instances retired atomically even under concurrency, deletion destroys keys, the KB-JWT is
signed by the secure element only while unlocked."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ssi.errors import SecureElementLocked, WalletError
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import issue_sd_jwt_vc, verify_sd_jwt_vc
from wallet_sim.oid4vci.client import IssuerEndpoints, TokenGrant
from wallet_sim.oid4vci.verify import CheckedCredential
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import ReceivedCredentials, Wallet

PIN = "246810"
ISSUER_KEY = PrivateKey.generate("ES256")
ISS = "https://issuer.example/issuers/demo"


def store_credential(wallet: Wallet, copies: int = 2) -> str:
    keys = wallet.secure_element.generate_keys(copies)
    checked = []
    for handle in keys:
        issued = issue_sd_jwt_vc(
            {"family_name": "MUSTERMANN", "given_name": "ERIKA"},
            SoftwareSigner(ISSUER_KEY),
            vct="urn:test",
            issuer=ISS,
            holder_jwk=handle.public_jwk,
            disclosable=[("family_name",), ("given_name",)],
            valid_for=3600,
        )
        held = HeldSdJwt.parse(issued.compact)
        checked.append(CheckedCredential(issued.compact, handle.id, held, held.payload))
    received = ReceivedCredentials(
        flow_id="f",
        configuration_id="test",
        endpoints=IssuerEndpoints(ISS, ISS + "/credential", ISS + "/token", ISS),
        grant=TokenGrant("t", "DPoP", None),
        checked=checked,
        notification_id=None,
        display={"credential": [{"locale": "de", "name": "Test"}]},
        vct="urn:test",
        holder_key_ids=[k.id for k in keys],
        flow_key_ids=[],
    )
    return wallet.accept(received).id


@pytest.fixture
def wallet(tmp_path: Path) -> Wallet:
    return Wallet.create(tmp_path / "w", PIN, kdf=FAST_KDF, allow_http_loopback=False)


def test_list_and_presentation_material(wallet: Wallet) -> None:
    credential_id = store_credential(wallet)
    (credential,) = wallet.credentials()
    assert credential.id == credential_id and credential.vct == "urn:test" and credential.format == "dc+sd-jwt"
    assert credential.claims == {"family_name": "MUSTERMANN", "given_name": "ERIKA"}
    assert credential.expires_at is not None and credential.name("de") == "Test"
    material = wallet.presentation_material(credential_id)
    presentation = material.held.present([("given_name",)], holder=material.signer, audience="https://rp", nonce="n")
    verified = verify_sd_jwt_vc(
        presentation, ISSUER_KEY.public_key, VerificationPolicy(audience="https://rp", nonce="n")
    )
    assert verified.claims["given_name"] == "ERIKA" and "family_name" not in verified.claims
    wallet.secure_element.lock()
    with pytest.raises(SecureElementLocked):
        material.held.present([("given_name",)], holder=material.signer, audience="https://rp", nonce="n2")
    wallet.secure_element.unlock(PIN)
    wallet.mark_used(material.instance_id)
    with pytest.raises(WalletError) as info:
        wallet.mark_used(material.instance_id)
    assert info.value.reason == "already_used"
    second = wallet.presentation_material(credential_id)
    assert second.instance_id != material.instance_id
    wallet.mark_used(second.instance_id)
    with pytest.raises(WalletError) as info:
        wallet.presentation_material(credential_id)
    assert info.value.reason == "credential_used_up"
    assert wallet.presentation_material(credential_id, allow_reuse=True).instance_id == second.instance_id
    assert wallet.holder_signer(second.instance_id).public_jwk == second.signer.public_jwk


def test_one_time_instance_retired_once_under_concurrency(wallet: Wallet, tmp_path: Path) -> None:
    credential_id = store_credential(wallet, copies=1)
    instance_id = wallet.credential(credential_id).instances[0].id
    others = [Wallet.open(tmp_path / "w", PIN, allow_http_loopback=False) for _ in range(4)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(others))

    def mark(w: Wallet) -> None:
        barrier.wait()
        try:
            w.mark_used(instance_id)
            outcomes.append("ok")
        except WalletError as exc:
            outcomes.append(exc.reason)

    threads = [threading.Thread(target=mark, args=(w,)) for w in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in others:
        w.close()
    assert sorted(outcomes) == ["already_used"] * 3 + ["ok"]


def test_delete_destroys_instances_and_keys(wallet: Wallet) -> None:
    keep = store_credential(wallet)
    gone = store_credential(wallet)
    assert wallet.secure_element.key_count() == 4
    wallet.delete(gone)
    assert [c.id for c in wallet.credentials()] == [keep]
    assert wallet.secure_element.key_count() == 2
    with pytest.raises(WalletError) as info:
        wallet.delete(gone)
    assert info.value.reason == "unknown_credential"
    with pytest.raises(WalletError):
        wallet.compact(gone)
    assert wallet.compact(keep).endswith("~")


def test_reopen_with_pin_sees_everything(wallet: Wallet, tmp_path: Path) -> None:
    credential_id = store_credential(wallet)
    wallet.close()
    with Wallet.open(tmp_path / "w", PIN, allow_http_loopback=False) as again:
        assert again.credential(credential_id).unused == 2
        material = again.presentation_material(credential_id)
        material.signer.sign(b"x")  # the secure element of an opened wallet is unlocked by the PIN
