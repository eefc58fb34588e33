"""The services on the PoA network model (issue 12, "Then": the services accept ``--chain poa`` or
``GOVSSI_CHAIN_RPC`` with the node URLs).

``govssi issuer serve --chain poa`` finds the network of ``govssi ledger network`` in ``$GOVSSI_DATA_DIR/poa``,
deploys govssi's contracts at their development addresses there (``ledger.poa.bootstrap``, waited for until final),
anchors its DID, and — once the demo cooperative accredited it (``govssi ledger dev-accredit`` over the nodes' URLs)
— anchors each published status list version through the network; transactions count at the Clique finality depth.
A verifier's reader over the node URLs (the first node killed: failover) finds the served token's digest as the
current version and the earlier one as rolled back. ``govssi verifier serve --chain poa`` connects to every node.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from issuer_support import ADMIN, SAMPLE_CLAIMS
from test_cli import API_KEY, GOVSSI, _env, _serve, _stop
from vci_client import VciTestClient

from ledger.bootstrap import DEV_ADDRESSES
from ledger.client import ChainClient, ClientPolicy, FailoverPolicy
from ledger.poa import Network
from ledger.trust import StatusAnchorReader, TrustRegistry
from ssi.keys import SoftwareSigner
from ssi.sd_jwt import HeldSdJwt

pytestmark = pytest.mark.slow


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    """4 validators (finality depth 3), period 1 s, free ports, in ``<GOVSSI_DATA_DIR>/poa`` as the CLI has it."""
    net = Network(tmp_path / "poa", validators=4, period=1, base_port=0).start()
    try:
        yield net
    finally:
        net.stop()


def _lists(http: httpx.Client, base: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = http.get(f"{base}/admin/status-lists", headers=ADMIN).json()["status_lists"]
    return listed


def _wait_anchored(http: httpx.Client, base: str, version: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = _lists(http, base)
        if listed and listed[0]["version"] >= version and listed[0]["anchor_state"] == "anchored":
            return listed[0]
        time.sleep(0.2)
    raise AssertionError(f"status list version {version} not anchored in {timeout} s: {_lists(http, base)}")


def test_an_issuer_anchors_status_lists_through_the_poa_network(tmp_path: Path, network: Network) -> None:
    env = {
        "GOVSSI_DEV_ALLOW_HTTP": "1",
        "GOVSSI_ISSUER_BOOTSTRAP_KEY": API_KEY,
        "GOVSSI_KEY_PASSPHRASE": "pw",
        "GOVSSI_STATUS_PUBLISH_WINDOW": "0.2",
        "GOVSSI_ANCHOR_RETRY": "1",
    }
    process, ready = _serve(tmp_path, "--chain", "poa", env=env)
    try:
        chain = ready["chain"]
        assert isinstance(chain, dict)
        assert chain["network"] == "poa" and chain["rpc"] == network.urls and chain["chain_id"] == 1337
        assert chain["did_registry"] == DEV_ADDRESSES.did_registry
        assert chain["status_anchor"] == DEV_ADDRESSES.status_anchor
        assert (tmp_path / "poa" / "cooperative" / "member-1.jwk").exists()  # the demo cooperative's keys
        (base,) = ready["credential_issuers"]  # type: ignore[misc]
        status = httpx.get(f"{ready['issuer_url']}/status", timeout=10).json()
        (entry,) = status["authorities"]
        did = entry["did"]
        assert entry["anchored"] is True and did.startswith("did:ethr:0x539:")

        accredited = subprocess.run(
            [*GOVSSI, "ledger", "dev-accredit", "--rpc", network.rpc, "--issuer", str(base)],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert accredited.returncode == 0, accredited.stderr

        with httpx.Client(timeout=30) as http:
            offer = http.post(
                f"{base}/admin/offers",
                headers=ADMIN,
                json={
                    "credential_configuration_id": "bewohnerparkausweis",
                    "claims": SAMPLE_CLAIMS["bewohnerparkausweis"],
                },
            ).json()
            (credential,) = VciTestClient(http).receive(
                offer["offer_uri"], offer["tx_code"], [SoftwareSigner.generate()]
            )
            payload = HeldSdJwt.parse(credential).payload
            uri, vct = payload["status"]["status_list"]["uri"], payload["vct"]
            first = _wait_anchored(http, base, 1, timeout=90)
            first_token = http.get(uri).text
            assert hashlib.sha256(first_token.encode()).hexdigest() == first["sha256"]
            (record,) = http.get(f"{base}/admin/credentials", headers=ADMIN).json()["credentials"]
            revoked = http.post(f"{base}/admin/credentials/{record['credential_id']}/revoke", headers=ADMIN)
            assert revoked.status_code == 200
            second = _wait_anchored(http, base, 2, timeout=90)
            second_token = http.get(uri).text
            assert hashlib.sha256(second_token.encode()).hexdigest() == second["sha256"]
    finally:
        _stop(process)
    assert process.returncode in (0, -15)  # stopped by SIGTERM (uvicorn re-raises it after a graceful shutdown)

    network.kill(0)  # a verifier lists every node: the first is gone, the others answer
    reader_client = ChainClient.connect(
        network.urls, policy=ClientPolicy(), failover=FailoverPolicy(attempt_timeout=1, request_budget=5)
    )
    try:
        reader = StatusAnchorReader(reader_client, DEV_ADDRESSES.status_anchor)
        assert reader.check(did, uri, hashlib.sha256(second_token.encode()).digest()).state == "current"
        assert reader.check(did, uri, hashlib.sha256(first_token.encode()).digest()).state == "rolled_back"
        registry = TrustRegistry(reader_client, DEV_ADDRESSES.trusted_issuer_registry)
        assert registry.check(did, vct, time.time()).accredited
    finally:
        reader_client.close()


def test_the_verifier_serves_on_the_poa_network(tmp_path: Path, network: Network) -> None:
    process = subprocess.Popen(
        [*GOVSSI, "verifier", "serve", "--port", "0", "--chain", "poa"],
        env=_env({"GOVSSI_DATA_DIR": str(tmp_path), "GOVSSI_DEV_ALLOW_HTTP": "1", "GOVSSI_KEY_PASSPHRASE": "pw"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        ready = json.loads(line)
        assert ready["chain"] is True and ready["chain_rpc"] == network.urls
    finally:
        _stop(process)  # type: ignore[arg-type]
    no_network = subprocess.run(
        [*GOVSSI, "verifier", "serve", "--port", "0", "--chain", "poa"],
        env=_env({"GOVSSI_DATA_DIR": str(tmp_path / "elsewhere"), "GOVSSI_DEV_ALLOW_HTTP": "1"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert no_network.returncode == 1 and json.loads(no_network.stdout)["error"] == "no_network"
