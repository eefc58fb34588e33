"""The wallet keeps the rotated refresh token even when the credential request after it fails: the refresh token it
sent is rotated out at that moment (RFC 9700 §4.14.2), and presenting it again is reuse — it would revoke the grant,
so a transient failure must not leave the PID without a usable refresh token."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))

from pid_support import CARD_PIN, PidEnv, pid_issuer

from ssi.errors import WalletError
from wallet_sim import pid as pid_module
from wallet_sim.pid import issue_pid, refresh_pid
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PidEnv]:
    with pid_issuer(tmp_path_factory.mktemp("pid-refresh-resilience")) as running:
        yield running


def test_refresh_survives_a_failed_credential_request(
    env: PidEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 6749 §6 / RFC 9700 §4.14.2: after a token response the new refresh token is the only valid one; the
    wallet stores it before the credential request, so the next refresh works after that request failed."""
    wallet = Wallet.create(tmp_path / "wallet", "246810", kdf=FAST_KDF, allow_http_loopback=True, batch=1)
    try:
        stored = issue_pid(wallet, env.credential_issuer, card=env.card(directory="resilience"), pin=CARD_PIN).stored
        original = pid_module.PidClient.credentials

        def fail(*_args: object, **_kwargs: object) -> object:
            raise WalletError("the network went away", reason="test_network")

        monkeypatch.setattr(pid_module.PidClient, "credentials", fail)
        with pytest.raises(WalletError):
            refresh_pid(wallet, stored.id)
        monkeypatch.setattr(pid_module.PidClient, "credentials", original)
        renewed = refresh_pid(wallet, stored.id)
        assert renewed.claims["family_name"] == "MUSTERMANN"
    finally:
        wallet.close()
