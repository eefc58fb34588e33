"""``govssi wallet pid`` end to end over real HTTP, in a subprocess as scripts use it: the card's PIN changed with
``govssi wallet eid change-pin``, the PID received through PAR, the eID card, PKCE, DPoP and key attestations, stored
and listed; re-issued without the card by ``pid-refresh``; refused with one line and exit 1 on a wrong PIN, a
card the provider does not accept, or an issuer that is no PID provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuer"))

from pid_support import PidEnv, pid_issuer

from wallet_sim.eid.citizens import find_citizen
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet

WALLET_PIN = "246810"
_SCRIPT = Path(sys.executable).with_name("govssi")
GOVSSI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from govssi.cli import main; main()"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update({"GOVSSI_DEV_ALLOW_HTTP": "1", "GOVSSI_WALLET_PIN": WALLET_PIN})
    return subprocess.run(
        [*GOVSSI, *args], env=environ, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def refused(result: subprocess.CompletedProcess[str], reason: str) -> dict[str, Any]:
    assert result.returncode == 1, (result.stdout, result.stderr)
    body: dict[str, Any] = json.loads(result.stdout)
    assert body["error"] == reason, body
    assert "Traceback" not in result.stderr
    return body


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PidEnv]:
    with pid_issuer(tmp_path_factory.mktemp("pid-cli")) as running:
        yield running


@pytest.fixture
def wallet_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "wallet"
    Wallet.create(directory, WALLET_PIN, kdf=FAST_KDF).close()
    return directory


def test_pid_by_cli_end_to_end(env: PidEnv, wallet_dir: Path) -> None:
    """The stable interface: ``govssi wallet --data-dir D pid --issuer URL --card ID --pin P`` → JSON with the
    stored PID, its claims and what the eID client showed (provider name, requested data)."""
    d = str(wallet_dir)
    ok(run("wallet", "--data-dir", d, "eid", "change-pin", "--card", "erika", "--old", "13579", "--new", "123456"))
    result = run(
        "wallet", "--data-dir", d, "pid", "--issuer", env.credential_issuer, "--card", "erika", "--pin", "123456"
    )
    body = ok(result)
    assert body["card"] == "erika" and body["refreshable"] is True
    assert body["stored"]["vct"] == "urn:eudi:pid:de:1" and body["stored"]["instances"] == 3
    assert body["claims"]["family_name"] == "MUSTERMANN" and body["claims"]["birthdate"] == "1964-08-12"
    assert body["claims"]["age_equal_or_over"]["18"] is True
    assert body["eid"]["provider_name"] == "govssi Demo PID-Provider"
    assert {i["key"] for i in body["eid"]["required"]} >= {"DG4", "DG5", "DG8", "RESTRICTED_IDENTIFICATION"}
    assert "govssi Demo PID-Provider" in result.stderr  # shown before the PIN is used
    listed = ok(run("wallet", "--data-dir", d, "list"))
    assert body["stored"]["id"] in json.dumps(listed)
    renewed = ok(run("wallet", "--data-dir", d, "pid-refresh", body["stored"]["id"]))
    assert renewed["replaced"] == body["stored"]["id"] and renewed["claims"]["family_name"] == "MUSTERMANN"
    listed = json.dumps(ok(run("wallet", "--data-dir", d, "list")))
    assert renewed["stored"]["id"] in listed and body["stored"]["id"] not in listed


def test_pid_cli_deselects_optional_data(env: PidEnv, wallet_dir: Path) -> None:
    d = str(wallet_dir)
    ok(run("wallet", "--data-dir", d, "eid", "change-pin", "--card", "erika", "--old", "13579", "--new", "123456"))
    body = ok(
        run(
            "wallet",
            "--data-dir",
            d,
            "pid",
            "--issuer",
            env.credential_issuer,
            "--card",
            "erika",
            "--pin",
            "123456",
            "--deselect",
            "DG17",
            "--batch",
            "1",
        )
    )
    assert "address" not in body["claims"] and body["stored"]["instances"] == 1
    refused(
        run(
            "wallet",
            "--data-dir",
            d,
            "pid",
            "--issuer",
            env.credential_issuer,
            "--card",
            "erika",
            "--pin",
            "123456",
            "--deselect",
            "DG8",
        ),
        "eid_selection_invalid",
    )


def test_pid_cli_refusals(env: PidEnv, wallet_dir: Path) -> None:
    """A wrong PIN (the card counts it), a card still on its transport PIN, an expired card (no PID), an issuer that
    is no PID provider: exit 1 with the specific reason, nothing stored."""
    d = str(wallet_dir)
    issuer = env.credential_issuer
    refused(
        run("wallet", "--data-dir", d, "pid", "--issuer", issuer, "--card", "erika", "--pin", "123456"),
        "eid_transport_pin_active",
    )
    ok(run("wallet", "--data-dir", d, "eid", "change-pin", "--card", "erika", "--old", "13579", "--new", "123456"))
    refused(
        run("wallet", "--data-dir", d, "pid", "--issuer", issuer, "--card", "erika", "--pin", "654321"), "eid_wrong_pin"
    )
    cards = {c["id"]: c for c in ok(run("wallet", "--data-dir", d, "eid", "cards"))["cards"]}
    assert cards["erika"]["retry_counter"] == 2
    schmidt = find_citizen("schmidt")
    ok(
        run(
            "wallet",
            "--data-dir",
            d,
            "eid",
            "change-pin",
            "--card",
            "schmidt",
            "--old",
            schmidt.transport_pin,
            "--new",
            "123456",
        )
    )
    expired = run("wallet", "--data-dir", d, "pid", "--issuer", issuer, "--card", "schmidt", "--pin", "123456")
    assert "expired" in refused(expired, "pid_authorization_denied")["error_description"]
    demo = f"{env.server.url}/issuers/demo"
    refused(
        run("wallet", "--data-dir", d, "pid", "--issuer", demo, "--card", "erika", "--pin", "123456"),
        "not_a_pid_provider",
    )
    assert ok(run("wallet", "--data-dir", d, "list"))["credentials"] == []
