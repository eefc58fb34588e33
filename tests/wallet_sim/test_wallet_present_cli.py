"""`govssi wallet present AUTHORIZATION_REQUEST [--yes --disclose a,b]` (stable interface, JSON out) in a subprocess
against govssi's verifier over HTTP: both response modes, optional Credential Queries and ``claim_sets``
alternatives chosen with ``--disclose``, the credential chosen with ``--use``, ``--decline``, and nothing sent
without consent."""

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
    base = tmp_path_factory.mktemp("present-cli")
    with running_verifier(base) as verifier:
        with Wallet.create(base / "wallet", PIN, kdf=FAST_KDF, allow_http_loopback=True) as wallet:
            first = store_pid(wallet, verifier.issuer, copies=6)
            second = store_pid(
                wallet,
                verifier.issuer,
                claims={"family_name": "GABLER", "given_name": "GERDA", "birthdate": "1990-01-01"},
                copies=2,
            )
        yield Setup(verifier, base / "wallet", first, second)


def cli(setup: Setup, *args: str, verifier_ca: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update(
        PYTHONPATH=str(ROOT),
        GOVSSI_WALLET_PIN=PIN,
        GOVSSI_DEV_ALLOW_HTTP="1",
        GOVSSI_WALLET_VERIFIER_CA=str(verifier_ca or setup.verifier.ca_pem),
    )
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from govssi.cli import main; main()",
            "wallet",
            "--data-dir",
            str(setup.wallet_dir),
            *args,
        ],
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


QUERY: dict[str, Any] = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [PID]},
            "claims": [
                {"id": "name", "path": ["family_name"]},
                {"id": "vorname", "path": ["given_name"]},
                {"id": "geburt", "path": ["birthdate"]},
            ],
            "claim_sets": [["name", "vorname"], ["name", "geburt"]],
        },
        {"id": "ort", "format": "dc+sd-jwt", "meta": {"vct_values": [PID]}, "claims": [{"path": ["address"]}]},
    ],
    "credential_sets": [
        {"options": [["pid"]], "purpose": {"de": "Anmeldung im Bürgerportal", "en": "Log-in to the portal"}},
        {"options": [["ort"]], "required": False},
    ],
}


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
def test_present_with_yes_sends_the_preferred_minimum(setup: Setup, mode: str) -> None:
    """``--yes``: the Verifier's preferred claim alternative (§6.4.1), no optional Credential Query (§6.4.2), sent
    with the request's response mode (§8.2, §8.3.1); JSON names the verified verifier and what was disclosed."""
    created = setup.verifier.create(QUERY, response_mode=mode)
    answer = cli(setup, "--lang", "en", "present", created["authorization_request"], "--yes")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    body = json.loads(answer.stdout)
    assert body["status"] == "sent" and body["response_mode"] == mode
    assert body["verifier"] == {
        "client_id": created["client_id"],
        "name": "Bürgerportal Musterstadt",
        "prefix": "x509_hash",
        "authenticated": True,
    }
    assert body["purposes"] == ["Log-in to the portal"]
    assert body["disclosed"] == {
        "pid": [{"credential": setup.first, "claims": [["family_name"], ["given_name"]], "vct": PID}]
    }
    assert (
        "Log-in to the portal" in answer.stderr and "optional, not sent unless --disclose: ort, geburt" in answer.stderr
    )
    result = setup.verifier.result(created["session"])
    assert result["status"] == "verified", result
    assert result["credentials"]["pid"][0]["claims"] == {"family_name": "MUSTERMANN", "given_name": "ERIKA"}
    assert "ort" not in result["credentials"]


@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
def test_disclose_adds_optional_items_and_use_picks_the_credential(setup: Setup, mode: str) -> None:
    """``--disclose ort,geburt``: the optional Credential Query ``ort`` and the claim alternative with ``geburt``;
    ``--use pid=ID``: the second PID answers ``pid`` (§6.4.3 the user's choice of credential)."""
    created = setup.verifier.create(QUERY, response_mode=mode)
    answer = cli(
        setup,
        "present",
        created["authorization_request"],
        "--yes",
        "--disclose",
        "ort,geburt",
        "--use",
        f"pid={setup.second}",
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    body = json.loads(answer.stdout)
    assert body["disclosed"]["pid"][0]["credential"] == setup.second
    assert body["disclosed"]["pid"][0]["claims"] == [["family_name"], ["birthdate"]]
    assert body["disclosed"]["ort"][0]["claims"] == [["address"]]
    result = setup.verifier.result(created["session"])
    assert result["status"] == "verified", result
    assert result["credentials"]["pid"][0]["claims"] == {"family_name": "GABLER", "birthdate": "1990-01-01"}
    assert result["credentials"]["ort"][0]["claims"]["address"]["locality"] == "KÖLN"


def test_without_yes_and_without_a_terminal_nothing_is_sent(setup: Setup) -> None:
    """§15.1: consent "before releasing any Verifiable Credential or Presentation to a Verifier, or returning an
    error": without ``--yes`` and no terminal to ask, the command prints who asks and what would be disclosed,
    exits 1 and posts nothing to the Response URI (the session only shows the request was fetched)."""
    created = setup.verifier.create(QUERY)
    answer = cli(setup, "present", created["authorization_request"], "--disclose", "geburt")
    assert answer.returncode == 1, answer.stdout + answer.stderr
    body = json.loads(answer.stdout)
    assert body["status"] == "consent_required"
    assert body["verifier"]["name"] == "Bürgerportal Musterstadt" and body["purposes"] == ["Anmeldung im Bürgerportal"]
    assert body["would_disclose"]["pid"][0]["claims"] == [["family_name"], ["birthdate"]]
    assert body["optional"] == {"credential_queries": ["ort"], "claims": {"pid": ["vorname"]}}
    assert "nothing was sent" in answer.stderr
    assert setup.verifier.status(created["session"]) == "retrieved"


def test_decline_sends_access_denied(setup: Setup) -> None:
    """``--decline``: §8.5 ``access_denied`` ("The End-User did not give consent"); no credential leaves."""
    created = setup.verifier.create(QUERY)
    answer = cli(setup, "present", created["authorization_request"], "--decline")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert json.loads(answer.stdout)["status"] == "declined"
    result = setup.verifier.result(created["session"])
    assert result["status"] == "wallet_error" and result["error"] == "access_denied"


@pytest.mark.parametrize(
    "args",
    [
        ("--disclose", "nationality"),
        ("--disclose", "name"),  # required, not optional
        ("--use", "pid=c_unknown"),
        ("--use", "pid"),
        ("--yes", "--decline"),
    ],
)
def test_bad_choices_are_usage_errors_and_send_nothing(setup: Setup, args: tuple[str, ...]) -> None:
    created = setup.verifier.create(QUERY)
    answer = cli(setup, "present", created["authorization_request"], "--yes", *[a for a in args if a != "--yes"])
    assert answer.returncode == 2, answer.stdout + answer.stderr
    assert answer.stdout == "" and "usage" in answer.stderr
    assert setup.verifier.status(created["session"]) in ("created", "retrieved")


def _at_a_terminal(setup: Setup, answer: str, *args: str) -> tuple[int, dict[str, Any], str]:
    """Run the command with a pseudo-terminal as stdin (so it asks) and type ``answer``."""
    import pty

    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update(
        PYTHONPATH=str(ROOT),
        GOVSSI_WALLET_PIN=PIN,
        GOVSSI_DEV_ALLOW_HTTP="1",
        GOVSSI_WALLET_VERIFIER_CA=str(setup.verifier.ca_pem),
    )
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from govssi.cli import main; main()",
                "wallet",
                "--data-dir",
                str(setup.wallet_dir),
                *args,
            ],
            env=environ,
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(master, answer.encode() + b"\n")
        out, err = process.communicate(timeout=90)
    finally:
        os.close(master)
        os.close(slave)
    return process.returncode, json.loads(out), err


@pytest.mark.parametrize(("answer", "status"), [("y", "sent"), ("n", "declined")])
def test_at_a_terminal_it_asks_first(setup: Setup, answer: str, status: str) -> None:
    """§15.1: shown who asks and what, the user answers; "no" is the End-User's refusal (§8.5 ``access_denied``)."""
    created = setup.verifier.create(QUERY)
    code, body, err = _at_a_terminal(setup, answer, "present", created["authorization_request"])
    assert code == 0, err
    assert body["status"] == status and "Bürgerportal Musterstadt" in err and "Senden? / Send?" in err
    result = setup.verifier.result(created["session"])
    assert result["status"] == ("verified" if status == "sent" else "wallet_error")


def test_an_invalid_signed_request_is_reported_only_with_consent(setup: Setup, tmp_path: Path) -> None:
    """§8.2 / §8.4: an authenticated verifier's request with ``transaction_data`` (unsupported) gets
    ``invalid_request`` at its Response URI — with ``--yes`` (consent to answer, §15.1); without it nothing is sent
    and the command fails with the reason."""
    from presentation_support import ScriptedVerifier

    from infra.server import LoopbackServer
    from ssi.x509 import certificate_to_pem

    scripted = ScriptedVerifier(query=QUERY, extra_claims={"transaction_data": ["eyJ0eXBlIjoieCJ9"]})
    ca = tmp_path / "scripted-ca.pem"
    ca.write_bytes(certificate_to_pem(scripted.ca))
    with LoopbackServer(scripted.app()) as server:
        scripted.url = server.url
        quiet = cli(setup, "present", scripted.link(), verifier_ca=ca)
        assert quiet.returncode == 1 and json.loads(quiet.stdout)["error"] == "transaction_data"
        assert scripted.responses() == []
        answered = cli(setup, "present", scripted.link(), "--yes", verifier_ca=ca)
        assert answered.returncode == 1, answered.stderr
        body = json.loads(answered.stdout)
        assert body["error"] == "transaction_data" and body["reported_to_verifier"]["status"] == "reported"
        (posted,) = scripted.responses()
        assert posted["error"] == "invalid_request" and posted["state"] == "state-1"
