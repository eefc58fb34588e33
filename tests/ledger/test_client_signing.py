"""Chain signers and transaction signing (``ledger.client.signer``, ``ledger.client.transactions``), offline.

Test vectors: the EIP-155 example (private key 0x4646…46, nonce 9, 20 gwei, 21000 gas, to 0x3535…35, 1 ether, chain
id 1: signing hash, (v, r, s) and the signed bytes as the EIP lists them) and the key eth-account documents
(0x4c0883…2318 -> 0x2c7536E3605D9C16a7a3D7b1898e529396a65c23). eth-account (RFC 6979 nonces, like OpenSSL's
deterministic ECDSA) is the cross-check for arbitrary transactions.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from eth_account import Account
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.accounts import ChainAccount
from ledger.client import (
    SECP256K1_N,
    ChainSigner,
    RecoverableSignature,
    SignerAccount,
    SoftwareChainSigner,
    ethereum_address,
    recover_address,
    recoverable_signature,
    sign_transaction,
)
from ssi.encoding import b64url_encode
from ssi.errors import KeyError_
from ssi.keys import PrivateKey

#: Byte-for-byte comparisons need RFC 6979 nonces (OpenSSL >= 3.2 through cryptography); elsewhere k is random.
deterministic = pytest.mark.skipif(
    not openssl_backend.ecdsa_deterministic_supported(),
    reason="this OpenSSL has no deterministic ECDSA (RFC 6979): signatures are valid but differ from eth-account's",
)

DOCUMENTED_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
DOCUMENTED_ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"

EIP155_KEY = bytes.fromhex("46" * 32)
EIP155_TX: dict[str, Any] = {
    "nonce": 9,
    "gasPrice": 20 * 10**9,
    "gas": 21000,
    "to": "0x3535353535353535353535353535353535353535",
    "value": 10**18,
    "data": b"",
    "chainId": 1,
}
EIP155_SIGNING_HASH = bytes.fromhex("daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53")
EIP155_R = 18515461264373351373200002665853028612451056578545711640558177340181847433846
EIP155_S = 46948507304638947509940763649030358759909902576025900602547168820602576006531
EIP155_SIGNED = bytes.fromhex(
    "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc21"
    "95fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b"
    "6d83"
)
EIP155_SENDER = "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"


def _jwk_key(secret: bytes) -> PrivateKey:
    public = PrivateKey(ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256K1())).public_key.jwk
    return PrivateKey.from_jwk({**public, "d": b64url_encode(secret)})


class RawEcdsaToken:
    """A signer like a PKCS#11 token: raw randomised ECDSA over the digest (CKM_ECDSA), nothing Ethereum-specific;
    ``recoverable_signature`` adds low-s and the recovery id."""

    def __init__(self, key: PrivateKey) -> None:
        self._key = key.crypto_key
        self.public_key = key.public_key
        self.address = ethereum_address(key.public_key)
        self.raw_signatures = 0

    def sign_digest(self, digest: bytes) -> RecoverableSignature:
        assert isinstance(self._key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
        self.raw_signatures += 1
        return recoverable_signature(digest, r, s, self.public_key)


# -- addresses (Yellow Paper §7) ------------------------------------------------------------------------------------


def test_documented_key_gives_documented_address() -> None:
    """Yellow Paper §7 A(p_r): keccak-256(X ‖ Y)[12:], EIP-55 checksum — eth-account's documented key/address."""
    assert SoftwareChainSigner.from_private_bytes(DOCUMENTED_KEY).address == DOCUMENTED_ADDRESS
    assert SoftwareChainSigner(_jwk_key(DOCUMENTED_KEY)).address == DOCUMENTED_ADDRESS
    public = _jwk_key(DOCUMENTED_KEY).public_key
    point = public.raw_bytes(compressed=False)
    assert ethereum_address(public) == ethereum_address(point) == ethereum_address(point[1:]) == DOCUMENTED_ADDRESS


def test_address_needs_a_secp256k1_key() -> None:
    with pytest.raises(KeyError_) as wrong:
        SoftwareChainSigner(PrivateKey.generate("ES256"))
    assert wrong.value.reason == "wrong_curve"
    with pytest.raises(KeyError_):
        ethereum_address(PrivateKey.generate("ES256").public_key)
    with pytest.raises(KeyError_):
        ethereum_address(b"\x02" + bytes(32))  # compressed points are not accepted here
    for bad in (b"", bytes(31), SECP256K1_N.to_bytes(32, "big")):
        with pytest.raises(KeyError_):
            SoftwareChainSigner.from_private_bytes(bad)


# -- signatures (Yellow Paper App. F, EIP-2) ------------------------------------------------------------------------


@deterministic
def test_eip155_example_vector() -> None:
    """EIP-155 "Example": signing data hash, v = 37 (chain id 1), r, s and the signed transaction, byte for byte."""
    signer = SoftwareChainSigner.from_private_bytes(EIP155_KEY)
    assert signer.address == EIP155_SENDER
    signature = signer.sign_digest(EIP155_SIGNING_HASH)
    assert (signature.r, signature.s, signature.y_parity) == (EIP155_R, EIP155_S, 0)
    signed = sign_transaction(signer, EIP155_TX)
    assert signed.raw == EIP155_SIGNED
    assert signed.hash == keccak(EIP155_SIGNED)
    assert signed.sender == EIP155_SENDER and signed.nonce == 9


def test_eip155_example_serialization_with_the_listed_signature() -> None:
    """EIP-155 "Example" without depending on the nonce: the signing hash, ECDSARECOVER of the listed (v, r, s), and
    the serialization of exactly that signature (v = 0 + 1 * 2 + 35 = 37)."""
    listed = RecoverableSignature(27, EIP155_R, EIP155_S)
    assert recover_address(EIP155_SIGNING_HASH, listed) == EIP155_SENDER

    class Listed:
        address = EIP155_SENDER

        def sign_digest(self, digest: bytes) -> RecoverableSignature:
            assert digest == EIP155_SIGNING_HASH
            return listed

    assert sign_transaction(Listed(), EIP155_TX).raw == EIP155_SIGNED


def test_signature_recovers_to_the_signer_and_is_low_s() -> None:
    """EIP-2: s <= n/2; ECDSARECOVER(digest, v, r, s) is the signer's address."""
    signer = SoftwareChainSigner.generate()
    for index in range(20):
        digest = keccak(index.to_bytes(4, "big"))
        signature = signer.sign_digest(digest)
        assert signature.v in (27, 28)
        assert 0 < signature.s <= SECP256K1_N // 2
        assert recover_address(digest, signature) == signer.address
        assert signature.to_bytes()[64] == signature.v and len(signature.to_bytes()) == 65


def test_high_s_is_normalised_and_recovery_id_follows() -> None:
    """EIP-2: a raw signature with high s is mirrored (n - s); trial recovery then finds the id that matches."""
    key = PrivateKey.generate("ES256K")
    digest = keccak(b"high s")
    assert isinstance(key.crypto_key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(key.crypto_key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
    low = recoverable_signature(digest, r, min(s, SECP256K1_N - s), key.public_key)
    high = recoverable_signature(digest, r, max(s, SECP256K1_N - s), key.public_key)
    assert low == high
    assert recover_address(digest, high) == ethereum_address(key.public_key)


def test_signature_of_another_key_is_refused() -> None:
    """Trial recovery is checked: a signature that is not the signer's is an error, never a wrong v."""
    key, other = PrivateKey.generate("ES256K"), PrivateKey.generate("ES256K")
    digest = keccak(b"x")
    assert isinstance(other.crypto_key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(other.crypto_key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
    with pytest.raises(KeyError_) as refused:
        recoverable_signature(digest, r, s, key.public_key)
    assert refused.value.reason == "invalid_signature"
    for bad_r, bad_s in ((0, s), (r, 0), (SECP256K1_N, s), (r, SECP256K1_N)):
        with pytest.raises(KeyError_):
            recoverable_signature(digest, bad_r, bad_s, key.public_key)


def test_only_32_byte_digests_are_signed() -> None:
    signer = SoftwareChainSigner.generate()
    for digest in (b"", bytes(31), bytes(33)):
        with pytest.raises(ValueError):
            signer.sign_digest(digest)
    with pytest.raises(ValueError):
        recover_address(bytes(32), RecoverableSignature(29, 1, 1))


def test_software_signer_never_shows_or_pickles_its_key() -> None:
    signer = SoftwareChainSigner.from_private_bytes(DOCUMENTED_KEY)
    assert DOCUMENTED_KEY.hex() not in repr(signer) and signer.address in repr(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def test_protocols() -> None:
    signer = SoftwareChainSigner.generate()
    assert isinstance(signer, ChainSigner)
    assert isinstance(RawEcdsaToken(PrivateKey.generate("ES256K")), ChainSigner)
    account = SignerAccount(signer)
    assert isinstance(account, ChainAccount)  # usable by ledger.deploy
    assert account.address == signer.address


# -- transactions (EIP-155, EIP-1559, EIP-2718) -----------------------------------------------------------------------

ADDRESSES = st.binary(min_size=20, max_size=20).map(lambda raw: ethereum_address(keccak(raw) + keccak(raw[::-1])))
COMMON = {
    "nonce": st.integers(0, 2**64 - 2),
    "gas": st.integers(21_000, 30_000_000),
    "value": st.integers(0, 2**128),
    "data": st.binary(max_size=200),
    "chainId": st.integers(1, 2**32),
}


@deterministic
@settings(max_examples=40, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {**COMMON, "maxPriorityFeePerGas": st.integers(0, 10**12), "extra": st.integers(0, 10**12)},
        optional={"to": ADDRESSES},
    )
)
def test_eip1559_transactions_match_eth_account(fields: dict[str, Any]) -> None:
    """EIP-1559 type 2: our signer's bytes equal eth-account's (same RLP, same digest, same RFC 6979 signature)."""
    fields["maxFeePerGas"] = fields["maxPriorityFeePerGas"] + fields.pop("extra")
    signed = sign_transaction(SoftwareChainSigner.from_private_bytes(DOCUMENTED_KEY), fields)
    assert signed.raw[0] == 2
    assert signed.raw == bytes(Account.sign_transaction(fields, DOCUMENTED_KEY).raw_transaction)
    assert Account.recover_transaction(signed.raw) == DOCUMENTED_ADDRESS


@deterministic
@settings(max_examples=30, deadline=None)
@given(fields=st.fixed_dictionaries({**COMMON, "gasPrice": st.integers(0, 10**12)}, optional={"to": ADDRESSES}))
def test_legacy_eip155_transactions_match_eth_account(fields: dict[str, Any]) -> None:
    """EIP-155: v = recovery id + chainId * 2 + 35; bytes equal eth-account's."""
    signed = sign_transaction(SoftwareChainSigner.from_private_bytes(DOCUMENTED_KEY), fields)
    assert signed.raw == bytes(Account.sign_transaction(fields, DOCUMENTED_KEY).raw_transaction)
    assert Account.recover_transaction(signed.raw) == DOCUMENTED_ADDRESS


def test_raw_ecdsa_token_signs_transactions() -> None:
    """A token that only does raw ECDSA (randomised k, any s) produces valid transactions through the protocol."""
    token = RawEcdsaToken(PrivateKey.generate("ES256K"))
    for nonce in range(8):
        fields = {"nonce": nonce, "gas": 50_000, "maxFeePerGas": 7, "maxPriorityFeePerGas": 1, "chainId": 1337}
        signed = sign_transaction(token, {**fields, "to": EIP155_SENDER, "value": 1, "data": b"\x01"})
        assert Account.recover_transaction(signed.raw) == token.address
    assert token.raw_signatures == 8


def test_transactions_without_replay_protection_or_of_someone_else_are_refused() -> None:
    """EIP-155: a chain id is required (unprotected transactions replay on every chain); ``from`` must be the signer."""
    signer = SoftwareChainSigner.generate()
    unprotected = {key: value for key, value in EIP155_TX.items() if key != "chainId"}
    for fields in (unprotected, {**EIP155_TX, "chainId": None}, {**EIP155_TX, "chainId": 0}):
        with pytest.raises(ValueError, match="chainId"):
            sign_transaction(signer, fields)
    with pytest.raises(ValueError, match="from"):
        sign_transaction(signer, {**EIP155_TX, "from": EIP155_SENDER})
    assert sign_transaction(signer, {**EIP155_TX, "from": signer.address.lower()}).sender == signer.address


@deterministic
def test_contract_creation_has_no_recipient() -> None:
    signer = SoftwareChainSigner.from_private_bytes(DOCUMENTED_KEY)
    creation = {"nonce": 0, "gas": 100_000, "gasPrice": 1, "value": 0, "data": b"\x60\x00", "chainId": 5}
    for to in (None, b"", ""):
        signed = sign_transaction(signer, {**creation, "to": to})
        assert signed.raw == bytes(Account.sign_transaction(creation, DOCUMENTED_KEY).raw_transaction)
