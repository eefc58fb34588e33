"""The wallet sends the eID card's answer only to the PID provider it chose: an authorization response naming an
``eid_response_uri`` of another origin (RFC 6454: scheme, host, port) is refused before anything is sent, and the flow's
keys are destroyed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))

from pid_support import CARD_PIN, PidEnv, pid_issuer

from ssi.errors import Oid4vciError
from wallet_sim.oid4vci.http import HttpAnswer
from wallet_sim.pid import issue_pid
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PidEnv]:
    with pid_issuer(tmp_path_factory.mktemp("pid-response-origin")) as running:
        yield running


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[Wallet]:
    with Wallet.create(tmp_path / "wallet", "246810", kdf=FAST_KDF, allow_http_loopback=True, batch=1) as opened:
        yield opened


def _redirect_eid_response(wallet: Wallet, monkeypatch: pytest.MonkeyPatch, rewrite: str) -> list[str]:
    """Rewrite the authorization endpoint's ``eid_response_uri`` to ``rewrite`` (its path kept); returns every URL
    the wallet then contacts."""
    contacted: list[str] = []
    original = wallet.http.request

    def request(method: str, url: str, name: str, **kwargs: Any) -> HttpAnswer:
        contacted.append(url)
        answer = original(method, url, name, **kwargs)
        if name == "authorization request" and isinstance(answer.body, dict) and "eid_response_uri" in answer.body:
            path = urlsplit(answer.body["eid_response_uri"]).path
            return HttpAnswer(answer.status, answer.headers, {**answer.body, "eid_response_uri": rewrite + path})
        return answer

    monkeypatch.setattr(wallet.http, "request", request)
    return contacted


@pytest.mark.parametrize("other", ["http://localhost:{port}", "http://127.0.0.1:{other_port}"])
def test_eid_response_to_another_origin_is_refused(
    env: PidEnv, wallet: Wallet, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    port = urlsplit(env.credential_issuer).port
    assert port is not None
    foreign = other.format(port=port, other_port=port + 1 if port < 65535 else port - 1)
    contacted = _redirect_eid_response(wallet, monkeypatch, foreign)
    with pytest.raises(Oid4vciError) as info:
        issue_pid(wallet, env.credential_issuer, card=env.card(directory="origin"), pin=CARD_PIN)
    assert info.value.reason == "eid_response_foreign_origin"
    assert foreign in info.value.description and "nothing was sent" in info.value.description
    assert not any(url.startswith(foreign) for url in contacted)
    assert wallet.credentials() == [] and wallet.secure_element.key_count() == 0


def test_eid_response_to_the_providers_origin_is_sent(env: PidEnv, wallet: Wallet) -> None:
    issued = issue_pid(wallet, env.credential_issuer, card=env.card(directory="origin-ok"), pin=CARD_PIN)
    assert issued.stored.claims["family_name"] == "MUSTERMANN"
