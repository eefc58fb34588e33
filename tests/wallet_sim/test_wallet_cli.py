"""``govssi wallet`` as people and scripts use it, in a subprocess against the real issuer over HTTP: JSON on stdout,
one human line per message on stderr, exit 0 ok / 1 refused / 2 usage; the PIN only from the environment or a
terminal prompt; every wrong input leaves the wallet as it was."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import qrcode
from conftest import PIN, RunningIssuer

from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet

_SCRIPT = Path(sys.executable).with_name("govssi")
GOVSSI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from govssi.cli import main; main()"]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: Any = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update({"GOVSSI_DEV_ALLOW_HTTP": "1", "GOVSSI_WALLET_PIN": PIN})
    environ.update(env or {})
    return subprocess.run(
        [*GOVSSI, *args], env=environ, cwd=cwd, stdin=stdin, capture_output=True, text=True, timeout=90, check=False
    )


@pytest.fixture
def wallet_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "wallet"
    Wallet.create(directory, PIN, kdf=FAST_KDF).close()  # cheap Argon2id; the CLI reads the parameters from the file
    return directory


def ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def refused(result: subprocess.CompletedProcess[str], reason: str) -> dict[str, Any]:
    assert result.returncode == 1, (result.stdout, result.stderr)
    body: dict[str, Any] = json.loads(result.stdout)
    assert body["error"] == reason, body
    assert result.stderr.count("\n") >= 1 and "Traceback" not in result.stderr
    return body


def test_receive_list_show_raw_delete(running_issuer: RunningIssuer, wallet_dir: Path) -> None:
    offer = running_issuer.offer("bewohnerparkausweis")
    d = ["wallet", "--data-dir", str(wallet_dir)]
    received = ok(run(*d, "receive", offer["offer_uri"], "--tx-code", offer["tx_code"], "--yes"))
    (stored,) = received["stored"]
    assert stored["name"] == "Bewohnerparkausweis" and stored["unused_instances"] == 3
    assert received["pending"] == [] and received["declined"] == []
    listed = ok(run(*d, "list"))
    assert [c["id"] for c in listed["credentials"]] == [stored["id"]]
    english = ok(run(*d, "--lang", "en", "list"))
    assert english["credentials"][0]["name"] == "Residential parking permit"
    shown = run(*d, "show", stored["id"])
    details = ok(shown)
    assert details["claims"]["license_plate"] == "K-EM 1964" and "Kennzeichen: K-EM 1964" in shown.stderr
    raw = run(*d, "show", stored["id"], "--raw")
    assert raw.returncode == 0 and raw.stdout.startswith("ey") and raw.stdout.strip().endswith("~")
    assert ok(run(*d, "delete", stored["id"])) == {"deleted": stored["id"]}
    assert ok(run(*d, "list")) == {"credentials": [], "pending": []}
    refused(run(*d, "show", stored["id"]), "unknown_credential")


def test_receive_from_qr_image_file_and_env_data_dir(
    running_issuer: RunningIssuer, wallet_dir: Path, tmp_path: Path
) -> None:
    offer = running_issuer.offer("meldebescheinigung")
    image = tmp_path / "offer.jpg"
    buffer = io.BytesIO()
    qrcode.make(offer["offer_uri"]).get_image().convert("RGB").save(buffer, format="JPEG")
    image.write_bytes(buffer.getvalue())
    env = {"GOVSSI_WALLET_DIR": str(wallet_dir)}
    result = ok(run("wallet", "receive", str(image), "--tx-code", offer["tx_code"], "--yes", "--batch", "2", env=env))
    assert result["stored"][0]["instances"] == 2
    # A second wallet side by side, with its own PIN: --data-dir wins over GOVSSI_WALLET_DIR; it starts empty, is
    # created on first receive, and each wallet lists only its own credentials.
    other = tmp_path / "second-wallet"
    second_env = {**env, "GOVSSI_WALLET_PIN": "975313"}
    assert ok(run("wallet", "--data-dir", str(other), "list", env=second_env)) == {"credentials": [], "pending": []}
    offer2 = running_issuer.offer("dienstausweis")
    d2 = ["wallet", "--data-dir", str(other)]
    ok(run(*d2, "receive", offer2["offer_uri"], "--tx-code", offer2["tx_code"], "--yes", env=second_env))
    firsts = ok(run("wallet", "list", env=env))["credentials"]
    seconds = ok(run(*d2, "list", env=second_env))["credentials"]
    assert [c["vct"].rsplit("/", 1)[1] for c in firsts] == ["meldebescheinigung"]
    assert [c["vct"].rsplit("/", 1)[1] for c in seconds] == ["dienstausweis"]
    refused(run(*d2, "list", env=env), "wrong_wallet_pin")  # the first wallet's PIN does not open the second


def test_wrong_inputs_are_one_line_and_leave_the_wallet_unchanged(
    running_issuer: RunningIssuer, wallet_dir: Path, tmp_path: Path
) -> None:
    d = ["wallet", "--data-dir", str(wallet_dir)]
    offer = running_issuer.offer()
    wrong = "000000" if offer["tx_code"] != "000000" else "111111"
    refused(run(*d, "receive", offer["offer_uri"], "--tx-code", wrong, "--yes"), "wrong_tx_code")
    refused(run(*d, "receive", offer["offer_uri"], "--tx-code", "12", "--yes"), "malformed_tx_code")
    blank = tmp_path / "blank.png"
    buffer = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (120, 120), "white").save(buffer, format="PNG")
    blank.write_bytes(buffer.getvalue())
    refused(run(*d, "receive", str(blank), "--yes"), "no_qr_code")
    refused(run(*d, "receive", str(tmp_path / "missing.png"), "--yes"), "file_not_found")
    refused(run(*d, "receive", "openid-credential-offer://?nothing=1", "--yes"), "malformed_credential_offer")
    refused(
        run(*d, "receive", "http://127.0.0.1:9/issuers/x?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A9%2Fo", "--yes"),
        "issuer_unreachable",
    )
    # the offer is still usable afterwards: the wrong code cost one attempt, nothing else
    ok(run(*d, "receive", offer["offer_uri"], "--tx-code", offer["tx_code"], "--yes"))
    with Wallet.open(wallet_dir, PIN) as wallet:
        assert len(wallet.credentials()) == 1 and wallet.secure_element.key_count() == 3


def test_pin_and_consent_rules(running_issuer: RunningIssuer, wallet_dir: Path) -> None:
    d = ["wallet", "--data-dir", str(wallet_dir)]
    wrong_pin = run(*d, "list", env={"GOVSSI_WALLET_PIN": "999999"})
    refused(wrong_pin, "wrong_wallet_pin")
    no_pin = run(*d, "list", env={"GOVSSI_WALLET_PIN": ""})
    assert no_pin.returncode == 2 and "GOVSSI_WALLET_PIN" in no_pin.stderr
    offer = running_issuer.offer()
    no_yes = run(*d, "receive", offer["offer_uri"], "--tx-code", offer["tx_code"])
    assert no_yes.returncode == 2 and "--yes" in no_yes.stderr
    no_code = run(*d, "receive", offer["offer_uri"], "--yes")
    assert no_code.returncode == 2 and "--tx-code" in no_code.stderr
    assert running_issuer.offer_state(offer["offer_id"])["state"] == "offered"
    bad_lang = run("wallet", "--lang", "fr", "list")
    assert bad_lang.returncode == 2


def test_interactive_prompts_tx_code_and_decline(running_issuer: RunningIssuer, wallet_dir: Path) -> None:
    """A person at a terminal: the transaction code is asked, the claims are shown, "n" declines."""
    offer = running_issuer.offer("dienstausweis")
    master, slave = pty.openpty()
    try:
        os.write(master, f"{offer['tx_code']}\nn\n".encode())
        result = run("wallet", "--data-dir", str(wallet_dir), "receive", offer["offer_uri"], stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
    body = ok(result)
    assert body["stored"] == [] and body["declined"][0]["configuration_id"] == "dienstausweis"
    assert "Transaktionscode" in result.stderr and "Sachbearbeiterin" in result.stderr
    with Wallet.open(wallet_dir, PIN) as wallet:
        assert wallet.credentials() == [] and wallet.secure_element.key_count() == 0


def test_abandoned_consent_declines(running_issuer: RunningIssuer, wallet_dir: Path) -> None:
    """A person who ends the consent prompt (end of input, Ctrl-C) has not accepted: the received credentials and
    their keys are discarded at once and the issuer is told ``credential_deleted`` (§11.1, a user action)."""
    offer = running_issuer.offer("dienstausweis")
    master, slave = pty.openpty()
    try:
        os.write(master, f"{offer['tx_code']}\n\x04".encode())  # the code, then end of input at "store?"
        result = run("wallet", "--data-dir", str(wallet_dir), "receive", offer["offer_uri"], stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "credential_deleted" in result.stderr
    with Wallet.open(wallet_dir, PIN) as wallet:
        assert wallet.credentials() == [] and wallet.secure_element.key_count() == 0
    assert running_issuer.notification_events(offer["offer_id"]) == ["credential_deleted"] * 3


def test_delete_asks_at_a_terminal(running_issuer: RunningIssuer, wallet_dir: Path) -> None:
    """A person deleting at a terminal confirms first ("n" keeps the credential, exit 1); ``--yes`` and scripts
    without a terminal delete at once (the stable ``govssi wallet delete ID``)."""
    d = ["wallet", "--data-dir", str(wallet_dir)]
    ids = []
    for _ in range(2):
        offer = running_issuer.offer()
        received = ok(run(*d, "receive", offer["offer_uri"], "--tx-code", offer["tx_code"], "--yes"))
        ids.append(received["stored"][0]["id"])

    def at_terminal(*args: str, answer: str) -> subprocess.CompletedProcess[str]:
        master, slave = pty.openpty()
        try:
            os.write(master, answer.encode())
            return run(*d, *args, stdin=slave)
        finally:
            os.close(slave)
            os.close(master)

    kept = at_terminal("delete", ids[0], answer="n\n")
    assert refused(kept, "delete_cancelled") and "Bewohnerparkausweis" in kept.stderr
    assert [c["id"] for c in ok(run(*d, "list"))["credentials"]] == ids
    assert ok(at_terminal("delete", ids[0], answer="y\n")) == {"deleted": ids[0]}
    assert ok(at_terminal("delete", ids[1], "--yes", answer="")) == {"deleted": ids[1]}
    assert ok(run(*d, "list"))["credentials"] == []
    with Wallet.open(wallet_dir, PIN) as wallet:
        assert wallet.secure_element.key_count() == 0


def test_init_and_provider(tmp_path: Path) -> None:
    d = ["wallet", "--data-dir", str(tmp_path / "w")]
    created = ok(run(*d, "init"))
    assert created["created"] is True and Path(created["wallet_provider_ca"]).is_file()
    refused(run(*d, "init"), "wallet_exists")
    provider = ok(run(*d, "provider"))
    assert provider["ca_pem"].startswith("-----BEGIN CERTIFICATE-----")
    weak = run("wallet", "--data-dir", str(tmp_path / "w2"), "init", env={"GOVSSI_WALLET_PIN": "1234"})
    refused(weak, "weak_wallet_pin")


def test_serve(wallet_dir: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    process = subprocess.Popen(
        [*GOVSSI, "wallet", "--data-dir", str(wallet_dir), "serve", "--port", "0"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        # the ready line comes once the server accepts connections: the first request must not be refused
        page = httpx.get(ready["wallet_url"], timeout=30)
        assert page.status_code == 200 and 'action="/unlock"' in page.text
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert time.time()


def test_poll_waits_for_the_issuers_interval(wallet_dir: Path) -> None:
    """§8.3 ``interval``: "the minimum amount of time in seconds that the Wallet SHOULD wait ... before sending a new
    request". ``poll`` before then sends nothing and says how long to wait; ``--wait`` shorter than that, too."""
    from fake_issuer import FakeIssuer, serve

    running = serve(FakeIssuer(mode="deferred", pending_polls=0, interval=3600))
    fake = next(running)
    try:
        d = ["wallet", "--data-dir", str(wallet_dir)]
        (pending,) = ok(run(*d, "receive", fake.offer(), "--tx-code", "493536", "--yes"))["pending"]
        early = run(*d, "poll", "--yes")
        assert ok(early)["pending"][0]["pending_id"] == pending["pending_id"]
        waited = re.search(r"asks to wait (\d+) s", early.stderr)
        assert waited and 3000 < int(waited.group(1)) <= 3600, early.stderr  # less the seconds the test took
        assert ok(run(*d, "poll", pending["pending_id"], "--wait", "1", "--yes"))["stored"] == []
        assert [t["polls"] for t in fake.transactions.values()] == [0]
    finally:
        next(running, None)


def test_deferred_issuance_by_cli_against_the_issuer(running_issuer: RunningIssuer, wallet_dir: Path) -> None:
    """Deferred issuance (OpenID4VCI §8.3, §9) with govssi's issuer, where a clerk approves each request: receive
    reports it pending, ``poll`` before the approval keeps it pending, after the approval ``poll --wait`` stores the
    batch and the issuer learns ``credential_accepted``."""
    type_id = running_issuer.approval_type()
    offer = running_issuer.offer(type_id)
    d = ["wallet", "--data-dir", str(wallet_dir)]
    first = ok(run(*d, "receive", offer["offer_uri"], "--tx-code", offer["tx_code"], "--yes"))
    (pending,) = first["pending"]
    assert first["stored"] == [] and pending["configuration_id"] == type_id
    assert ok(run(*d, "poll", "--wait", "3", "--yes"))["pending"][0]["pending_id"] == pending["pending_id"]
    running_issuer.approve(offer["offer_id"])
    polled = ok(run(*d, "poll", pending["pending_id"], "--wait", "10", "--yes"))
    assert polled["pending"] == [] and polled["stored"][0]["unused_instances"] == 3
    assert ok(run(*d, "list"))["pending"] == []
    assert running_issuer.notification_events(offer["offer_id"]) == ["credential_accepted"] * 3


def test_deferred_issuance_by_cli(wallet_dir: Path) -> None:
    """A deferred issuance answered 202 more than once (the fake issuer): receive reports it pending, ``pending``
    lists it, ``poll --wait`` keeps asking at the interval, then fetches and stores the credentials."""
    from fake_issuer import FakeIssuer, serve

    running = serve(FakeIssuer(mode="deferred", pending_polls=1, interval=1))
    fake = next(running)
    try:
        d = ["wallet", "--data-dir", str(wallet_dir)]
        first = ok(run(*d, "receive", fake.offer(), "--tx-code", "493536", "--yes"))
        (pending,) = first["pending"]
        assert first["stored"] == [] and pending["interval"] == 1
        assert ok(run(*d, "pending"))["pending"][0]["pending_id"] == pending["pending_id"]
        polled = ok(run(*d, "poll", pending["pending_id"], "--wait", "10", "--yes"))
        assert len(polled["stored"]) == 1 and polled["pending"] == []
        assert fake.notifications[-1]["event"] == "credential_accepted"
        refused(run(*d, "poll", "p_nothing", "--yes"), "unknown_pending")
    finally:
        next(running, None)
