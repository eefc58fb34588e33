"""`govssi demo` boots the trust triangle on free loopback ports and serves its pages (issue 13: boot time, no 5xx)."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

GOVSSI = [sys.executable, "-c", "from govssi.cli import main; main()"]


def _ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (Linux default 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_block(count: int) -> int:
    """A base port with ``count`` consecutive free ports (the demo uses base, base+1, ...).

    Chosen at random *below* the kernel's ephemeral range: a block inside it (as a port-0 probe would give) can be
    taken between this check and the demo's bind by any outgoing connection or port-0 listener of a test running in
    parallel — a CI run once failed that way ("address already in use" on the second boot of a restart test)."""
    top = _ephemeral_start() - count
    for _ in range(200):
        base = random.randrange(20000, top)
        free = True
        for port in range(base, base + count):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise RuntimeError("no free port block")


@pytest.mark.slow
def test_demo_boots_serves_every_page_and_stops_on_sigterm(tmp_path: Path) -> None:
    base = _free_block(6)
    process = subprocess.Popen(
        [
            *GOVSSI,
            "demo",
            "--data-dir",
            str(tmp_path / "demo"),
            "--fresh",
            "--port-base",
            str(base),
            "--chain-port",
            str(base + 5),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        ready = json.loads(line)
        assert ready["start_page"] == f"http://127.0.0.1:{base}"
        assert ready["boot_seconds"] < 60
        for path in ("/", "/?lang=en", "/explorer", "/try?lang=en", "/static/demo.css"):
            response = httpx.get(ready["start_page"] + path, timeout=10)
            assert response.status_code == 200, path
        start = httpx.get(ready["start_page"] + "/?lang=en", timeout=10).text
        assert "active" in start  # the municipal issuer is accredited on the chain
        explorer = httpx.get(ready["start_page"] + "/explorer?lang=en", timeout=10).text
        assert "no hits" in explorer
        issuer = httpx.get(f"http://127.0.0.1:{base + 1}/issuers", timeout=10)
        assert issuer.status_code == 200
        wallet = httpx.get(f"http://127.0.0.1:{base + 3}/", timeout=10, follow_redirects=True)
        assert wallet.status_code == 200
        verifier = httpx.get(f"http://127.0.0.1:{base + 2}/", timeout=10)
        assert verifier.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{base + 2}/healthz", timeout=10).status_code == 200
        # the test cards (wallet_sim/eid/citizens.json) with their public secrets
        assert "ERIKA MUSTERMANN" in start and "13579" in start
        # every page the start page and the journey link opens in a browser (issue 13: no 5xx; a newcomer's
        # click must not land on a 404 or 405 either: the PID provider links its metadata, the chain the explorer)
        journey = httpx.get(ready["start_page"] + "/try?lang=en", timeout=10).text
        links = set(re.findall(r'href="(http://127\.0\.0\.1:[0-9]+[^"]*)"', start + journey))
        assert f"http://127.0.0.1:{base + 2}/" in links and f"http://127.0.0.1:{base + 3}/" in links
        assert f"http://127.0.0.1:{base + 1}/.well-known/openid-credential-issuer/issuers/pid" in links
        assert f"<code>http://127.0.0.1:{base + 5}</code>" in start  # the chain's address is still shown
        for link in sorted(links):
            answer = httpx.get(link, timeout=10, follow_redirects=True)
            assert answer.status_code == 200, (link, answer.status_code)
        for link in sorted(set(re.findall(r'href="(/[^"]*)"', start + journey))):
            answer = httpx.get(ready["start_page"] + link, timeout=10)
            assert answer.status_code == 200, (link, answer.status_code)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0


def test_demo_refuses_a_taken_port_precisely(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [*GOVSSI, "demo", "--data-dir", str(tmp_path / "d"), "--port-base", str(port), "--exit-after-boot"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "demo_failed"
    assert f"start page port {port}" in result.stderr
    # the remedy names the options govssi demo has (there are no per-service port options)
    assert "--port-base" in result.stderr and "--chain-port" in result.stderr
    assert time.monotonic() - started < 30
