"""Issuer keys in a PKCS#11 token (issue 7; SoftHSM2 from Debian): the credential signing key (P-256) and the DID
controller key (secp256k1) are generated inside the token, sensitive and unextractable; credentials and Status List
Tokens are signed there (verified here with the certificate's public key); a second process finds the same keys."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from issuer_support import demo_ca, settings
from protocol_support import InProcessWallet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssi" / "keys"))
from softhsm_support import USER_PIN, SoftHsm, skip_reason

from issuer import Pkcs11Keyring, build_issuer
from ssi.jose import parse_compact, verify_compact
from ssi.keys import PublicKey, SoftwareSigner
from ssi.keys import _pkcs11 as pkcs11_impl
from ssi.sd_jwt import HeldSdJwt
from ssi.status_list import VALID, verify_status_list_token
from ssi.x509 import verify_x5c

TOKEN = "govssi-issuer"
pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    previous = os.environ.get("SOFTHSM2_CONF")
    softhsm = SoftHsm.create(tmp_path_factory.mktemp("softhsm"))
    softhsm.init_token(TOKEN)
    softhsm.activate()
    yield softhsm
    # PKCS#11 logins are per process (Base §5.6.1): a keyring that dropped a connection without closing it would
    # leave the token logged in for every later test in this process (tests/ssi/keys/test_pkcs11.py checks that)
    assert not any(m.logins for m in pkcs11_impl._modules.values()), "a keyring left a token logged in"
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def test_credentials_and_status_lists_signed_in_the_token(hsm: SoftHsm, tmp_path: Path) -> None:
    keyring = Pkcs11Keyring(hsm.module, TOKEN, USER_PIN, directory=tmp_path / "keys", ca=demo_ca())
    try:
        issuer = build_issuer(settings(tmp_path), keyring=keyring)
        wallet = InProcessWallet(issuer, time.time)  # type: ignore[arg-type]
        offer = wallet.offer()
        token = wallet.token(offer, offer.tx_code)
        (credential,) = wallet.credential(token, wallet.request_body([SoftwareSigner.generate()])).credentials
        header = parse_compact(credential.split("~")[0])[3]
        chain = verify_x5c(header["x5c"], [demo_ca().certificate], now=time.time())
        keys = issuer.context.keys(wallet.tenant)
        assert type(keys.signer).__name__ == "Pkcs11Signer" and keys.signer.label == "demo-signing"
        assert chain.public_key == keys.public_key
        held = HeldSdJwt.parse(credential)
        verify_compact(credential.split("~")[0], chain.public_key, ["ES256"])  # signed by the token's key
        idx = held.payload["status"]["status_list"]["idx"]
        issuer.publisher.publish_due()
        status_token = issuer.publisher.current_token(wallet.tenant, 1)
        assert verify_status_list_token(status_token, chain.public_key, ["ES256"]).status(idx) == VALID
        # The keys live in the token, sensitive and unextractable (Pkcs11Token refuses others).
        token_handle = keyring._open()
        labels = {k.label: k.alg for k in token_handle.list_keys()}
        assert labels == {"demo-signing": "ES256", "demo-controller": "ES256K"}
        # no key files but the BBS key's (issuer/bbs_key.py: PKCS#11 tokens offer no BLS12-381)
        assert [p.name for p in (tmp_path / "keys").glob("*.json")] == ["demo.bbs.json"]
        # Another process (a worker) opens the token itself and finds the same keys.
        keyring._pid = -1
        again = Pkcs11Keyring(hsm.module, TOKEN, USER_PIN, directory=tmp_path / "keys", ca=demo_ca())
        try:
            other = again.keys_for(wallet.tenant.authority, wallet.tenant.credential_issuer)
            assert other.public_key == keys.public_key and other.controller.address == keys.controller.address
        finally:
            again.close()
        assert keyring.keys_for(wallet.tenant.authority, wallet.tenant.credential_issuer).public_key == keys.public_key
    finally:
        keyring.close()


def test_keyring_from_settings_needs_label_and_pin(
    hsm: SoftHsm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ssi.errors import Pkcs11Error

    configured = settings(tmp_path, pkcs11_module=hsm.module, pkcs11_token_label=TOKEN, pkcs11_controller_label="")
    monkeypatch.delenv("GOVSSI_PKCS11_PIN", raising=False)
    monkeypatch.delenv("GOVSSI_PKCS11_PIN_FILE", raising=False)
    with pytest.raises(Pkcs11Error) as err:
        Pkcs11Keyring.from_settings(configured, ca=demo_ca())
    assert err.value.reason == "pkcs11_pin_required"
    with pytest.raises(Pkcs11Error):
        Pkcs11Keyring.from_settings(settings(tmp_path, pkcs11_module=hsm.module), ca=demo_ca())
    pin_file = tmp_path / "pin"
    pin_file.write_text(USER_PIN + "\n")
    monkeypatch.setenv("GOVSSI_PKCS11_PIN_FILE", str(pin_file))
    issuer = build_issuer(configured)  # the keyring from the settings (GOVSSI_PKCS11_*)
    keyring = issuer.context.keyring
    try:
        assert isinstance(keyring, Pkcs11Keyring)
        keys = issuer.context.keys(issuer.context.tenant("demo"))
        assert keys.signer.alg == "ES256" and type(keys.controller).__name__ == "SoftwareChainSigner"
        assert (tmp_path / "issuer" / "keys" / "demo.controller.json").exists()  # controller in a key file
        assert not (tmp_path / "issuer" / "keys" / "demo.signing.json").exists()
        assert isinstance(keys.public_key, PublicKey)
    finally:
        keyring.close()
