"""Issue 8's end-to-end path exactly as people run it: ``govssi issuer serve`` as its own process (docs/issuer.md,
development mode, no chain), offers made with the clerk's ``govssi issuer offer``, and ``govssi wallet`` receiving
them over HTTP — by reference, by value, from a PNG and a JPEG photo of the QR code, and deferred until a clerk
approves — then ``list``, ``show --raw`` and ``delete``."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import qrcode
from conftest import PIN
from issuer_support import SAMPLE_CLAIMS

_SCRIPT = Path(sys.executable).with_name("govssi")
GOVSSI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from govssi.cli import main; main()"]
API_KEY = "wallet-e2e-bootstrap-key-0001"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    env.update({"GOVSSI_DEV_ALLOW_HTTP": "1", **extra})
    return env


def govssi(*args: str, **env: str) -> dict[str, Any]:
    done = subprocess.run([*GOVSSI, *args], env=_env(**env), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    if args[:2] == ("wallet", "show") or "--raw" in args:
        return {"raw": done.stdout}
    value: dict[str, Any] = json.loads(done.stdout)
    return value


@pytest.fixture(scope="module")
def issuer_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("issuer-serve")
    process = subprocess.Popen(
        [*GOVSSI, "issuer", "serve", "--port", "0", "--no-chain"],
        env=_env(
            GOVSSI_DATA_DIR=str(data),
            GOVSSI_ISSUER_BOOTSTRAP_KEY=API_KEY,
            GOVSSI_KEY_PASSPHRASE="pw",
            GOVSSI_DEFERRED_INTERVAL="1",  # wallets may ask again after 1 s (default 30)
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        (credential_issuer,) = json.loads(line)["credential_issuers"]
        yield str(credential_issuer)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def clerk_offer(issuer_url: str, type_id: str, tmp_path: Path, *, tx_code: bool = True) -> dict[str, Any]:
    claims = tmp_path / f"{type_id}.json"
    claims.write_text(json.dumps(SAMPLE_CLAIMS[type_id.removesuffix("_geprueft")]), encoding="utf-8")
    args = ["issuer", "offer", "--url", issuer_url, "--type", type_id, "--claims", str(claims)]
    return govssi(*args, *(["--tx-code"] if tx_code else []), GOVSSI_API_KEY=API_KEY)


def qr_file(text: str, path: Path, fmt: str) -> Path:
    buffer = io.BytesIO()
    qrcode.make(text).get_image().convert("RGB").save(buffer, format=fmt)
    path.write_bytes(buffer.getvalue())
    return path


def test_wallet_cli_against_issuer_serve(issuer_url: str, tmp_path: Path) -> None:
    wallet = ["wallet", "--data-dir", str(tmp_path / "wallet")]
    pin = {"GOVSSI_WALLET_PIN": PIN}
    stored: list[str] = []

    by_reference = clerk_offer(issuer_url, "bewohnerparkausweis", tmp_path)
    got = govssi(*wallet, "receive", by_reference["offer_uri"], "--tx-code", by_reference["tx_code"], "--yes", **pin)
    assert got["stored"][0]["name"] == "Bewohnerparkausweis" and got["stored"][0]["unused_instances"] == 3
    stored.append(got["stored"][0]["id"])

    by_value = clerk_offer(issuer_url, "dienstausweis", tmp_path, tx_code=False)
    got = govssi(*wallet, "--lang", "en", "receive", by_value["offer_uri_by_value"], "--yes", **pin)
    assert got["stored"][0]["name"] == "Public-employee card"
    stored.append(got["stored"][0]["id"])

    for fmt, suffix in (("PNG", "png"), ("JPEG", "jpg")):
        offer = clerk_offer(issuer_url, "meldebescheinigung", tmp_path)
        image = qr_file(offer["offer_uri"], tmp_path / f"angebot.{suffix}", fmt)
        got = govssi(*wallet, "receive", str(image), "--tx-code", offer["tx_code"], "--yes", "--batch", "2", **pin)
        assert got["stored"][0]["instances"] == 2
        stored.append(got["stored"][0]["id"])

    # deferred: a type a clerk approves (admin API), approved while the wallet waits
    admin = {"Authorization": f"Bearer {API_KEY}"}
    types = httpx.get(f"{issuer_url}/admin/credential-types", headers=admin, timeout=20).json()["credential_types"]
    document = {**types["dienstausweis"], "id": "dienstausweis_geprueft", "requires_approval": True}
    put = httpx.put(f"{issuer_url}/admin/credential-types/{document['id']}", headers=admin, json=document, timeout=20)
    assert put.status_code in (200, 201), put.text
    deferred = clerk_offer(issuer_url, "dienstausweis_geprueft", tmp_path, tx_code=False)
    got = govssi(*wallet, "receive", deferred["offer_uri"], "--yes", **pin)
    assert got["stored"] == [] and got["pending"][0]["configuration_id"] == "dienstausweis_geprueft"
    approved = httpx.post(f"{issuer_url}/admin/offers/{deferred['offer_id']}/approve", headers=admin, timeout=20)
    assert approved.status_code == 200, approved.text
    assert got["pending"][0]["interval"] == 1
    got = govssi(*wallet, "poll", "--wait", "30", "--yes", **pin)
    assert got["pending"] == [] and got["stored"][0]["unused_instances"] == 3
    stored.append(got["stored"][0]["id"])

    listed = govssi(*wallet, "list", **pin)
    assert [c["id"] for c in listed["credentials"]] == stored and listed["pending"] == []
    raw = govssi(*wallet, "show", stored[0], "--raw", **pin)["raw"]
    assert raw.startswith("ey") and raw.rstrip("\n").endswith("~")
    assert govssi(*wallet, "delete", stored[0], **pin) == {"deleted": stored[0]}
    assert [c["id"] for c in govssi(*wallet, "list", **pin)["credentials"]] == stored[1:]
    answer = httpx.get(f"{issuer_url}/admin/credentials", params={"limit": 100}, headers=admin, timeout=20).json()
    events = {c["notification_event"] for c in answer["credentials"]}
    assert events == {"credential_accepted"}
