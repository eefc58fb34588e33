"""``govssi issuer serve --workers N`` (uvicorn worker processes on one socket, spawned after the parent migrated,
created the demo authority and anchored the DIDs; each worker opens its keys itself): a credential issued through
one worker is revoked through the admin API, and the status list served by any worker shows it."""

from __future__ import annotations

import time
from base64 import b64decode
from pathlib import Path

import httpx
from cryptography.x509 import load_der_x509_certificate
from issuer_support import ADMIN, SAMPLE_CLAIMS
from test_cli import API_KEY, _serve, _stop
from vci_client import VciTestClient

from ssi.jose import parse_compact
from ssi.keys import PublicKey, SoftwareSigner
from ssi.sd_jwt import HeldSdJwt
from ssi.status_list import INVALID, verify_status_list_token


def test_serve_with_two_workers(tmp_path: Path) -> None:
    env = {
        "GOVSSI_DEV_ALLOW_HTTP": "1",
        "GOVSSI_ISSUER_BOOTSTRAP_KEY": API_KEY,
        "GOVSSI_KEY_PASSPHRASE": "pw",
        "GOVSSI_STATUS_PUBLISH_WINDOW": "0.2",
    }
    process, ready = _serve(tmp_path, "--no-chain", "--workers", "2", env=env)
    try:
        assert ready["workers"] == 2
        (base,) = ready["credential_issuers"]  # type: ignore[misc]
        with httpx.Client(timeout=20) as http:
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
            entry = HeldSdJwt.parse(credential).payload["status"]["status_list"]
            (record,) = http.get(f"{base}/admin/credentials", headers=ADMIN).json()["credentials"]
            assert record["status_list"] == entry
            revoked = http.post(f"{base}/admin/credentials/{record['credential_id']}/revoke", headers=ADMIN)
            assert revoked.status_code == 200
            deadline = time.monotonic() + 15
            samples: list[str] = []
            while time.monotonic() < deadline and len(samples) < 6:
                listed = http.get(f"{base}/admin/status-lists", headers=ADMIN).json()["status_lists"]
                if listed and not listed[0]["pending_changes"] and listed[0]["version"] >= 2:
                    samples.append(http.get(entry["uri"]).text)  # several requests: they reach both workers
                else:
                    time.sleep(0.05)
            assert len(samples) == 6 and len(set(samples)) == 1, "every worker serves the same current version"
            header = parse_compact(samples[0])[3]
            key = PublicKey.from_crypto(load_der_x509_certificate(b64decode(header["x5c"][0])).public_key())
            assert verify_status_list_token(samples[0], key, ["ES256"]).status(entry["idx"]) == INVALID
    finally:
        _stop(process)
    assert process.returncode == 0
