"""``govssi issuer serve | offer | make-ca`` as scripts use them: JSON on stdout, one line on stderr, exit codes
0 / 1 / 2, API keys never on the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from issuer_support import ADMIN, SAMPLE_CLAIMS, demo_ca

from issuer import IssuerSettings, MemoryKeyring, loopback_issuer
from ssi.keys import PrivateKey, write_key_file
from ssi.x509 import load_pem_certificates, verify_x5c, x5c_chain

_SCRIPT = Path(sys.executable).with_name("govssi")
GOVSSI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from govssi.cli import main; main()"]
API_KEY = ADMIN["Authorization"][7:]


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    env.update(extra or {})
    return env


def run(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GOVSSI, "issuer", *args], env=_env(env), cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = IssuerSettings(data_dir=tmp_path_factory.mktemp("cli-issuer"), bootstrap_key=API_KEY)
    with loopback_issuer(settings, keyring=MemoryKeyring(demo_ca())) as (_server, issuer):
        assert issuer.bootstrap is not None
        yield issuer.bootstrap.credential_issuer


def test_offer(running: str, tmp_path: Path) -> None:
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps(SAMPLE_CLAIMS["bewohnerparkausweis"]), encoding="utf-8")
    qr = tmp_path / "offer.svg"
    done = run(
        "offer",
        "--url",
        running,
        "--type",
        "bewohnerparkausweis",
        "--claims",
        str(claims),
        "--tx-code",
        "--qr-svg",
        str(qr),
        env={"GOVSSI_API_KEY": API_KEY},
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["offer_uri"].startswith("openid-credential-offer://?credential_offer_uri=")
    assert out["tx_code"].isdigit() and len(out["tx_code"]) == 6
    assert qr.read_text().startswith("<svg")
    key_file = tmp_path / "api-key"
    key_file.write_text(API_KEY + "\n")
    no_tx = run(
        "offer", "--url", running, "--type", "dienstausweis", "--claims", str(claims), "--api-key-file", str(key_file)
    )
    assert no_tx.returncode == 1  # the parking permit's claims do not fit the employee card
    assert json.loads(no_tx.stdout)["error"] == "invalid_request"
    claims.write_text(json.dumps(SAMPLE_CLAIMS["dienstausweis"]), encoding="utf-8")
    ok = run(
        "offer", "--url", running, "--type", "dienstausweis", "--claims", str(claims), "--api-key-file", str(key_file)
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["tx_code"] is None


def test_offer_refusals(running: str, tmp_path: Path) -> None:
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps(SAMPLE_CLAIMS["dienstausweis"]), encoding="utf-8")
    no_key = run("offer", "--url", running, "--type", "dienstausweis", "--claims", str(claims))
    assert no_key.returncode == 2 and "GOVSSI_API_KEY" in no_key.stderr and no_key.stdout == ""
    # The issue: the API key comes from GOVSSI_API_KEY or --api-key-file, "never on the command line".
    for option in ("--api-key", "--key"):
        on_line = run("offer", "--url", running, "--type", "dienstausweis", "--claims", str(claims), option, API_KEY)
        assert on_line.returncode == 2 and on_line.stdout == "" and API_KEY not in on_line.stderr
    remote_http = run(
        "offer",
        "--url",
        "http://issuer.example.de/issuers/demo",
        "--type",
        "dienstausweis",
        "--claims",
        str(claims),
        env={"GOVSSI_API_KEY": API_KEY},
    )
    assert remote_http.returncode == 2 and "https" in remote_http.stderr
    wrong_key = run(
        "offer", "--url", running, "--type", "dienstausweis", "--claims", str(claims), env={"GOVSSI_API_KEY": "x" * 20}
    )
    assert wrong_key.returncode == 1 and json.loads(wrong_key.stdout)["error"] == "invalid_token"
    assert "x" * 20 not in wrong_key.stdout + wrong_key.stderr
    unreachable = run(
        "offer",
        "--url",
        "http://127.0.0.1:9/issuers/demo",
        "--type",
        "t",
        "--claims",
        str(claims),
        "--timeout",
        "2",
        env={"GOVSSI_API_KEY": API_KEY},
    )
    assert unreachable.returncode == 1 and json.loads(unreachable.stdout)["error"] == "issuer_unavailable"


def test_make_ca(tmp_path: Path) -> None:
    key = PrivateKey.generate("ES256")
    write_key_file(tmp_path / "issuer.jwk", key)
    done = run(
        "make-ca",
        "--dir",
        str(tmp_path / "ca"),
        "--issuer-key",
        str(tmp_path / "issuer.jwk"),
        "--issuer-url",
        "https://issuer.example.de/issuers/demo",
        "--out",
        str(tmp_path / "issuer.pem"),
        env={"GOVSSI_KEY_PASSPHRASE": "ca passphrase"},
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ca_key_encrypted"] is True and len(out["ca_spki_sha256"]) == 64
    ca = load_pem_certificates((tmp_path / "ca" / "ca.pem").read_bytes())[0]
    leaf = load_pem_certificates((tmp_path / "issuer.pem").read_bytes())[0]
    chain = verify_x5c(x5c_chain([leaf]), [ca], now=time.time())
    assert chain.public_key == key.public_key
    again = run("make-ca", "--dir", str(tmp_path / "ca"))
    assert again.returncode == 1 and json.loads(again.stdout)["error"] == "exists"
    assert run("make-ca", "--dir", str(tmp_path / "x"), "--issuer-key", "k").returncode == 2


def _serve(tmp_path: Path, *args: str, env: Mapping[str, str]) -> tuple[subprocess.Popen[str], dict[str, object]]:
    process = subprocess.Popen(
        [*GOVSSI, "issuer", "serve", "--port", "0", *args],
        env=_env({"GOVSSI_DATA_DIR": str(tmp_path), **env}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise AssertionError(process.stderr.read() if process.stderr else "no output")
    return process, json.loads(line)


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_serve_needs_https_or_the_development_setting(tmp_path: Path) -> None:
    done = run("serve", "--port", "0", "--no-chain", env={"GOVSSI_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2 and "GOVSSI_ISSUER_PUBLIC_URL" in done.stderr


def test_serve_first_start_prints_the_bootstrap_key_once(tmp_path: Path) -> None:
    env = {"GOVSSI_DEV_ALLOW_HTTP": "1", "GOVSSI_KEY_PASSPHRASE": "pw"}
    process, ready = _serve(tmp_path, "--no-chain", env=env)
    try:
        key = ready["bootstrap_api_key"]
        (issuer_url,) = ready["credential_issuers"]  # type: ignore[misc]
        assert isinstance(key, str) and key.startswith("gsk_")
        metadata = httpx.get(f"{ready['issuer_url']}/.well-known/openid-credential-issuer/issuers/demo", timeout=10)
        assert metadata.json()["credential_issuer"] == issuer_url
        created = httpx.post(
            f"{issuer_url}/admin/offers",
            headers={"Authorization": f"Bearer {key}"},
            json={"credential_configuration_id": "dienstausweis", "claims": SAMPLE_CLAIMS["dienstausweis"]},
            timeout=10,
        )
        assert created.status_code == 201
    finally:
        _stop(process)
    assert (tmp_path / "issuer" / "ca" / "ca.pem").exists()  # the demo CA made on first start
    process, ready = _serve(tmp_path, "--no-chain", env=env)
    _stop(process)
    assert "bootstrap_api_key" not in ready  # printed once only


@pytest.mark.slow
def test_serve_with_the_in_process_chain_anchors_the_did(tmp_path: Path) -> None:
    env = {"GOVSSI_DEV_ALLOW_HTTP": "1", "GOVSSI_ISSUER_BOOTSTRAP_KEY": API_KEY, "GOVSSI_KEY_PASSPHRASE": "pw"}
    process, ready = _serve(tmp_path, env=env)
    try:
        assert "bootstrap_api_key" not in ready  # it came from the environment
        chain = ready["chain"]
        assert isinstance(chain, dict) and chain["chain_id"] == 1337 and chain["in_process_node"]
        status = httpx.get(f"{ready['issuer_url']}/status", timeout=10).json()
        (entry,) = status["authorities"]
        assert entry["anchored"] is True and entry["did"].startswith("did:ethr:0x539:")
        # the in-process chain has the cooperative's registry (ledger.bootstrap); nobody voted for this issuer
        assert set(entry["accreditation"].values()) == {"not_accredited"}
        metadata = httpx.get(f"{ready['issuer_url']}/.well-known/openid-credential-issuer/issuers/demo", timeout=10)
        assert metadata.json()["did"] == entry["did"]
    finally:
        _stop(process)


def test_serve_refuses_a_short_bootstrap_key(tmp_path: Path) -> None:
    env = {"GOVSSI_DATA_DIR": str(tmp_path), "GOVSSI_DEV_ALLOW_HTTP": "1", "GOVSSI_ISSUER_BOOTSTRAP_KEY": "short"}
    done = run("serve", "--port", "0", "--no-chain", env=env)
    assert done.returncode == 1 and json.loads(done.stdout)["error"] == "bad_bootstrap_key"
    assert "short" not in done.stdout
