"""The fast public-key recovery gives eth-keys' answer — the key, or BadSignature — for every input (Yellow Paper
App. F ECDSARECOVER), and plugs into eth-keys through ECC_BACKEND_CLASS."""

from __future__ import annotations

import os

import pytest
from eth_keys import keys
from eth_keys.backends.native.ecdsa import ecdsa_raw_recover, ecdsa_raw_sign
from eth_keys.exceptions import BadSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.poa import ecrecover
from ledger.poa.ecrecover import RecoveringBackend, recover_public_key

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
P = 2**256 - 2**32 - 977

secrets = st.integers(min_value=1, max_value=N - 1).map(lambda k: k.to_bytes(32, "big"))
digests = st.binary(min_size=32, max_size=32)


def _outcome(function: object, *args: object) -> object:
    try:
        return function(*args)  # type: ignore[operator]
    except BadSignature:
        return BadSignature


@settings(max_examples=60, deadline=None)
@given(secret=secrets, digest=digests)
def test_recovers_the_signing_key(secret: bytes, digest: bytes) -> None:
    v, r, s = ecdsa_raw_sign(digest, secret)
    expected = keys.PrivateKey(secret).public_key.to_bytes()
    assert recover_public_key(digest, v, r, s) == expected
    # The other parity recovers another key — the same one eth-keys finds.
    assert recover_public_key(digest, 1 - v, r, s) == ecdsa_raw_recover(digest, (1 - v, r, s))


@settings(max_examples=80, deadline=None)
@given(
    digest=digests,
    v=st.integers(min_value=0, max_value=1),
    r=st.one_of(st.integers(min_value=1, max_value=N - 1), st.sampled_from([1, 2, N - 1, P - N + 5])),
    s=st.one_of(st.integers(min_value=1, max_value=N - 1), st.sampled_from([1, N - 1])),
)
def test_arbitrary_signatures_give_eth_keys_answer(digest: bytes, v: int, r: int, s: int) -> None:
    """Random (v, r, s): about half the r values are no x-coordinate on the curve (BadSignature in both)."""
    assert _outcome(recover_public_key, digest, v, r, s) == _outcome(ecdsa_raw_recover, digest, (v, r, s))


@pytest.mark.parametrize(("v", "r", "s"), [(0, 0, 1), (0, 1, 0), (0, N, 1), (1, 5, N), (0, 2**256 - 1, 1), (2, 1, 1)])
def test_values_out_of_range_are_left_to_eth_keys(v: int, r: int, s: int) -> None:
    digest = bytes(range(32))
    assert _outcome(recover_public_key, digest, v, r, s) == _outcome(ecdsa_raw_recover, digest, (v, r, s))


def test_a_zero_digest_and_a_digest_above_the_order() -> None:
    secret = (7).to_bytes(32, "big")
    for digest in (bytes(32), (N + 5).to_bytes(32, "big"), b"\xff" * 32):
        v, r, s = ecdsa_raw_sign(digest, secret)
        assert recover_public_key(digest, v, r, s) == ecdsa_raw_recover(digest, (v, r, s))


def test_the_backend_is_eth_keys_recovery(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ECC_BACKEND_CLASS naming it, eth-keys (and so py-evm) recovers through it; repeated recoveries are served
    from its cache."""
    monkeypatch.setenv("ECC_BACKEND_CLASS", ecrecover.BACKEND_PATH)
    key = keys.PrivateKey(b"\x11" * 32)
    signature = key.sign_msg_hash(b"\x22" * 32)
    assert isinstance(signature.backend, RecoveringBackend) or isinstance(
        keys.PublicKey.get_backend(), RecoveringBackend
    )
    assert signature.recover_public_key_from_msg_hash(b"\x22" * 32) == key.public_key
    assert signature.recover_public_key_from_msg_hash(b"\x22" * 32) == key.public_key


def test_install_respects_a_configured_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECC_BACKEND_CLASS", "eth_keys.backends.NativeECCBackend")
    ecrecover.install()
    assert os.environ["ECC_BACKEND_CLASS"] == "eth_keys.backends.NativeECCBackend"
    monkeypatch.delenv("ECC_BACKEND_CLASS")
    ecrecover.install()
    assert os.environ["ECC_BACKEND_CLASS"] == ecrecover.BACKEND_PATH
