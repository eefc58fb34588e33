"""``ledger.client.pkcs11_signer.Pkcs11ChainSigner``: a secp256k1 key in SoftHSM2 signs Ethereum transactions.

eth-account recovers the sender of what it signed (the cross-check); the key itself never leaves the token.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from ledger.client import SECP256K1_N, ChainSigner, ethereum_address, recover_address, sign_transaction
from ledger.client.pkcs11_signer import Pkcs11ChainSigner
from ssi.errors import KeyError_
from ssi.keys import Pkcs11Token

# The SoftHSM2 test token helper lives with the ssi.keys tests (pytest puts only this directory on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssi" / "keys"))
from softhsm_support import USER_PIN, SoftHsm, skip_reason

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

TOKEN = "govssi-chain"


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pkcs11Token]:
    previous = os.environ.get("SOFTHSM2_CONF")
    softhsm = SoftHsm.create(tmp_path_factory.mktemp("softhsm"))
    softhsm.init_token(TOKEN)
    softhsm.activate()
    with Pkcs11Token(softhsm.module, TOKEN, USER_PIN) as tok:
        yield tok
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(scope="module")
def chain_signer(token: Pkcs11Token) -> Pkcs11ChainSigner:
    return Pkcs11ChainSigner(token.generate_key("ES256K", label="chain-key"))


def test_is_a_chain_signer_with_the_keys_address(chain_signer: Pkcs11ChainSigner) -> None:
    """Yellow Paper §7: the address is the last 20 bytes of keccak-256 of the public point."""
    assert isinstance(chain_signer, ChainSigner)
    assert chain_signer.address == ethereum_address(chain_signer.public_key)
    assert chain_signer.address in repr(chain_signer)


def test_digest_signatures_recover_to_the_address(chain_signer: Pkcs11ChainSigner) -> None:
    """ECDSARECOVER of every signature yields the signer's address; ``s`` is always low (EIP-2)."""
    for i in range(20):
        digest = keccak(i.to_bytes(4, "big"))
        signature = chain_signer.sign_digest(digest)
        assert signature.v in (27, 28)
        assert 0 < signature.s <= SECP256K1_N // 2
        assert recover_address(digest, signature) == chain_signer.address
    with pytest.raises(ValueError):
        chain_signer.sign_digest(b"\x00" * 31)


@pytest.mark.parametrize(
    "fee_fields",
    [{"gasPrice": 10**9}, {"maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9}],
    ids=["eip155-legacy", "eip1559"],
)
def test_signed_transactions_recover_to_the_token_account(
    chain_signer: Pkcs11ChainSigner, fee_fields: dict[str, int]
) -> None:
    transaction = {"nonce": 3, "gas": 21000, "to": "0x" + "35" * 20, "value": 1, "data": b"", "chainId": 1337}
    signed = sign_transaction(chain_signer, {**transaction, **fee_fields})
    assert signed.sender == chain_signer.address
    assert Account.recover_transaction(signed.raw) == chain_signer.address


def test_a_p256_key_is_refused(token: Pkcs11Token) -> None:
    with pytest.raises(KeyError_) as caught:
        Pkcs11ChainSigner(token.generate_key("ES256", label="not-a-chain-key"))
    assert caught.value.reason == "wrong_curve"
