"""``govssi verifier`` as scripts use it (subprocesses): ``request`` and ``result`` against a running verifier (JSON on
stdout, exit 0 / 1 / 2), the relying party's API key only from the environment, and ``serve``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from conftest import Env

ROOT = Path(__file__).resolve().parents[2]
GOVSSI = [sys.executable, "-c", "from govssi.cli import main; main()"]


def run(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ["PYTHONPATH"] = str(ROOT)  # the repository's packages, also those added since the venv was installed
    environ.update(env or {})
    return subprocess.run(
        [*GOVSSI, "verifier", *args],
        cwd=cwd or ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_request_and_result(fresh: Env, tmp_path: Path) -> None:
    created = run("request", "--url", fresh.url, "--preset", "age_over_18")
    assert created.returncode == 0, created.stderr
    out = json.loads(created.stdout)
    # the stable interface, exactly: {"authorization_request": "openid4vp://?client_id=…&request_uri=…",
    # "request_uri": …, "session": …}
    assert set(out) == {"authorization_request", "request_uri", "session"}
    link = urlsplit(out["authorization_request"])
    assert (link.scheme, link.netloc, link.path) == ("openid4vp", "", "")
    params = parse_qs(link.query)
    assert list(params)[:2] == ["client_id", "request_uri"] and params["request_uri"] == [out["request_uri"]]
    assert params["client_id"][0].startswith("x509_hash:")
    assert isinstance(out["session"], str) and len(out["session"]) >= 32

    pending = run("result", "--url", fresh.url, "--session", out["session"])
    assert pending.returncode == 1 and json.loads(pending.stdout) == {"status": "created"}

    assert fresh.wallet(fresh.credential()).present(out["authorization_request"]).response.status_code == 200
    result = run("result", "--url", fresh.url, "--session", out["session"])
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "verified"
    # the verified claims per credential query
    assert set(body) >= {"status", "credentials"}
    assert body["credentials"]["pid"][0]["claims"] == {"age_equal_or_over": {"18": True}}
    again = run("result", "--url", fresh.url, "--session", out["session"])
    assert again.returncode == 1 and json.loads(again.stdout)["error"] == "not_found"


def test_request_from_a_dcql_file_and_a_refusal(fresh: Env, tmp_path: Path) -> None:
    query = tmp_path / "query.json"
    query.write_text(
        json.dumps(
            {
                "credentials": [
                    {
                        "id": "pid",
                        "format": "dc+sd-jwt",
                        "meta": {"vct_values": ["urn:eudi:pid:de:1"]},
                        "claims": [{"path": ["family_name"]}],
                    }
                ]
            }
        )
    )
    created = run("request", "--url", fresh.url, "--dcql", str(query), "--response-mode", "direct_post")
    assert created.returncode == 0, created.stderr
    out = json.loads(created.stdout)
    fresh.trust.accreditations.clear()
    fresh.wallet(fresh.credential()).present(out["authorization_request"])
    refused = run("result", "--url", fresh.url, "--session", out["session"], "--wait", "5")
    assert refused.returncode == 1
    body = json.loads(refused.stdout)
    assert body["status"] == "refused" and body["reason"] == "issuer_not_accredited"


@pytest.mark.parametrize(
    "args",
    [
        ("request", "--url", "http://127.0.0.1:1", "--preset", "a", "--dcql", "q.json"),
        ("result", "--url", "http://127.0.0.1:1"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    answer = run(*args)
    assert answer.returncode == 2, (answer.stdout, answer.stderr)


def test_unknown_preset_exit_1(fresh: Env) -> None:
    answer = run("request", "--url", fresh.url, "--preset", "no_such_preset")
    assert answer.returncode == 1
    assert json.loads(answer.stdout)["error"] == "invalid_request"


@pytest.mark.slow
def test_serve_with_an_api_key(tmp_path: Path) -> None:
    """``serve`` prints its ready line; with GOVSSI_VERIFIER_API_KEY set the relying-party API needs the key, which
    ``request`` takes from the same variable (never from the command line)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
    environ.update(
        PYTHONPATH=str(ROOT),
        GOVSSI_DATA_DIR=str(tmp_path),
        GOVSSI_DEV_ALLOW_HTTP="1",
        GOVSSI_VERIFIER_API_KEY="rp-secret-0001",
    )
    process = subprocess.Popen(
        [*GOVSSI, "verifier", "serve", "--port", "0"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        url = ready["verifier_url"]
        assert ready["client_id_prefix"] == "x509_hash" and ready["sessions"] == "database"
        assert Path(ready["ca"]).exists()
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        denied = run("request", "--url", url, "--preset", "age_over_18")
        assert denied.returncode == 1 and json.loads(denied.stdout)["error"] == "invalid_token"
        allowed = run(
            "request", "--url", url, "--preset", "age_over_18", env={"GOVSSI_VERIFIER_API_KEY": "rp-secret-0001"}
        )
        assert allowed.returncode == 0, allowed.stdout
        assert json.loads(allowed.stdout)["request_uri"].startswith(url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert time.time() > 0
