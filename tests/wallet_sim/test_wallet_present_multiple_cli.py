"""`govssi wallet present` (subprocess) with two PIDs in the wallet, against govssi's verifier over HTTP: a Credential
Query with ``multiple: true`` is answered with every matching credential unless ``--use`` names some (OpenID4VP 1.0
§6.1, §8.1), several ``--use`` without ``multiple`` are a usage error, and a verifier preset's purpose is shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from presentation_support import PID, RunningVerifier, running_verifier, store_pid

from verifier.presets import BUILTIN_PRESETS
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet

ROOT = Path(__file__).resolve().parents[2]
PIN = "246810"


@dataclass
class Setup:
    verifier: RunningVerifier
    wallet_dir: Path
    first: str
    second: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    base = tmp_path_factory.mktemp("present-multiple")
    with running_verifier(base) as verifier:
        with Wallet.create(base / "wallet", PIN, kdf=FAST_KDF, allow_http_loopback=True) as wallet:
            first = store_pid(wallet, verifier.issuer, copies=6)
            second = store_pid(
                wallet, verifier.issuer, claims={"family_name": "GABLER", "birthdate": "1990-01-01"}, copies=6
            )
        yield Setup(verifier, base / "wallet", first, second)


def cli(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update(
        PYTHONPATH=str(ROOT),
        GOVSSI_WALLET_PIN=PIN,
        GOVSSI_DEV_ALLOW_HTTP="1",
        GOVSSI_WALLET_VERIFIER_CA=str(setup.verifier.ca_pem),
    )
    command = [sys.executable, "-c", "from govssi.cli import main; main()", "wallet", "--data-dir"]
    return subprocess.run(
        [*command, str(setup.wallet_dir), "--lang", "en", *args],
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _query(multiple: bool) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": "pid",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID]},
        "claims": [{"path": ["family_name"]}],
    }
    if multiple:
        query["multiple"] = True
    return {"credentials": [query]}


def _family_names(result: dict[str, Any]) -> list[str]:
    assert result["status"] == "verified", result
    return sorted(item["claims"]["family_name"] for item in result["credentials"]["pid"])


def test_multiple_is_answered_with_every_matching_credential(setup: Setup) -> None:
    """§6.1 ``multiple``; §8.1 "an array of one or more Presentations": ``--yes`` sends both PIDs, listed in
    ``disclosed``, and the verifier verifies both for the one Credential Query."""
    created = setup.verifier.create(_query(multiple=True))
    answer = cli(setup, "present", created["authorization_request"], "--yes")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    body = json.loads(answer.stdout)
    assert [item["credential"] for item in body["disclosed"]["pid"]] == [setup.first, setup.second]
    assert _family_names(setup.verifier.result(created["session"])) == ["GABLER", "MUSTERMANN"]


def test_without_consent_every_credential_that_would_go_is_listed(setup: Setup) -> None:
    created = setup.verifier.create(_query(multiple=True))
    answer = cli(setup, "present", created["authorization_request"])
    assert answer.returncode == 1
    body = json.loads(answer.stdout)
    assert body["status"] == "consent_required"
    assert [item["credential"] for item in body["would_disclose"]["pid"]] == [setup.first, setup.second]
    assert setup.verifier.status(created["session"]) == "retrieved"


def test_use_picks_exactly_the_named_credentials_of_a_multiple_query(setup: Setup) -> None:
    created = setup.verifier.create(_query(multiple=True))
    answer = cli(setup, "present", created["authorization_request"], "--yes", "--use", f"pid={setup.second}")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert _family_names(setup.verifier.result(created["session"])) == ["GABLER"]


def test_without_multiple_one_credential_and_several_use_is_a_usage_error(setup: Setup) -> None:
    """§8.1: "When multiple is omitted, or set to false, the array MUST contain only one Presentation"."""
    created = setup.verifier.create(_query(multiple=False))
    answer = cli(
        setup, "present", created["authorization_request"], "--yes", "--use", f"pid={setup.first}", "--use",
        f"pid={setup.second}",
    )  # fmt: skip
    assert answer.returncode == 2 and "takes one credential" in answer.stderr
    assert setup.verifier.status(created["session"]) == "retrieved"  # nothing sent
    created = setup.verifier.create(_query(multiple=False))
    answer = cli(setup, "present", created["authorization_request"], "--yes")
    assert answer.returncode == 0, answer.stderr
    assert _family_names(setup.verifier.result(created["session"])) == ["MUSTERMANN"]


def test_the_purpose_of_a_verifier_preset_is_shown(setup: Setup) -> None:
    """The verifier's preset purpose arrives in the request (``credential_sets[].purpose``): in ``purposes`` and on
    the terminal before anything is sent."""
    preset = BUILTIN_PRESETS["pid_identification"]
    created = setup.verifier.create(None, preset="pid_identification")  # type: ignore[arg-type]
    answer = cli(setup, "present", created["authorization_request"])
    body = json.loads(answer.stdout)
    assert body["purposes"] == [preset.purpose]
    assert f"Purpose: {preset.purpose}" in answer.stderr
