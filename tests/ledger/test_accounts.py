"""Chain accounts (``ledger.accounts``): Ethereum addresses of secp256k1 JWKs, transaction signing behind a protocol.

``SoftwareChainAccount`` is ``SignerAccount(SoftwareChainSigner(key))``: the key signs digests inside the signer and is
never handed to eth-account."""

from __future__ import annotations

import pickle

import pytest
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from eth_account import Account
from eth_utils.address import to_canonical_address
from node_support import dev

from ledger.accounts import ChainAccount, SoftwareChainAccount, ethereum_address
from ledger.client import SignerAccount, SoftwareChainSigner, sign_transaction
from ledger.node import LocalChain
from ssi.encoding import b64url_encode
from ssi.errors import KeyError_
from ssi.keys import PrivateKey


def _jwk_key(secret: bytes) -> PrivateKey:
    return PrivateKey.from_jwk({"kty": "EC", "crv": "secp256k1", "d": b64url_encode(secret), **_public_members(secret)})


def _public_members(secret: bytes) -> dict[str, str]:
    from cryptography.hazmat.primitives.asymmetric import ec

    numbers = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256K1()).public_key().public_numbers()
    return {"x": b64url_encode(numbers.x.to_bytes(32, "big")), "y": b64url_encode(numbers.y.to_bytes(32, "big"))}


def test_address_is_keccak_of_the_public_key() -> None:
    """Yellow Paper §7: A(p) = the rightmost 160 bits of KEC(ECDSAPUBKEY(p)), EIP-55 checksummed."""
    key = _jwk_key(dev(0).key)
    assert ethereum_address(key.public_key) == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    one = _jwk_key((1).to_bytes(32, "big"))  # private key 1: the generator point's address
    assert ethereum_address(one.public_key) == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_other_curves_have_no_ethereum_address(alg: str) -> None:
    with pytest.raises(KeyError_) as refused:
        SoftwareChainAccount(PrivateKey.generate(alg))
    assert refused.value.reason == "wrong_curve"


def test_a_software_account_signs_transactions_the_chain_accepts() -> None:
    account = SoftwareChainAccount(PrivateKey.generate("ES256K"))
    assert isinstance(account, ChainAccount)
    chain = LocalChain.in_memory()
    raw = account.sign_transaction(
        {
            "chainId": 1337,
            "nonce": 0,
            "gas": 21_000,
            "maxFeePerGas": 0,
            "maxPriorityFeePerGas": 0,
            "to": "0x" + "01" * 20,
        }
    )
    found = chain.transaction(chain.send_raw_transaction(raw))
    assert found is not None
    assert chain.sender(found[0].transactions[0]) == to_canonical_address(account.address)


def test_the_key_does_not_leak() -> None:
    key = PrivateKey.generate("ES256K")
    account = SoftwareChainAccount(key)
    secret = key.private_jwk()["d"]
    assert secret not in repr(account) and account.address in repr(account)
    with pytest.raises(TypeError):
        pickle.dumps(account)


def test_a_software_account_is_a_signer_account_over_a_software_signer() -> None:
    """The account delegates to ``SoftwareChainSigner``: same address, the very bytes ``ledger.client`` signs."""
    key = PrivateKey.generate("ES256K")
    account = SoftwareChainAccount(key)
    assert isinstance(account, SignerAccount) and isinstance(account.signer, SoftwareChainSigner)
    assert account.address == ethereum_address(key.public_key) == account.signer.address
    transaction = {"chainId": 1337, "nonce": 3, "gas": 21_000, "gasPrice": 0, "to": "0x" + "02" * 20, "value": 1}
    raw = account.sign_transaction(transaction)
    assert Account.recover_transaction(raw) == account.address  # eth-account only reads the signature here
    if openssl_backend.ecdsa_deterministic_supported():  # RFC 6979: the same bytes as ledger.client signs
        assert raw == sign_transaction(SoftwareChainSigner(key), transaction).raw
