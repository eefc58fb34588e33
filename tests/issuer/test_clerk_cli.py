"""The clerk's commands of issue 7 as scripts use them — ``govssi issuer credentials``, ``revoke`` / ``suspend`` /
``unsuspend``, ``status-list`` and ``audit verify``: one JSON object on stdout, exit 0 / 1 / 2, API key only from
``GOVSSI_API_KEY`` or ``--api-key-file``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from issuer_support import ADMIN, SAMPLE_CLAIMS, demo_ca
from test_cli import API_KEY, run
from vci_client import VciTestClient

from issuer import Issuer, IssuerSettings, MemoryKeyring, loopback_issuer
from ssi.keys import SoftwareSigner
from ssi.status_list import INVALID, SUSPENDED, VALID, verify_status_list_token

KEY_ENV = {"GOVSSI_API_KEY": API_KEY}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Issuer, Path]]:
    data_dir = tmp_path_factory.mktemp("clerk-cli")
    settings = IssuerSettings(data_dir=data_dir, bootstrap_key=API_KEY, status_publish_window=0.2)
    with loopback_issuer(settings, keyring=MemoryKeyring(demo_ca())) as (_server, issuer):
        assert issuer.bootstrap is not None
        yield issuer.bootstrap.credential_issuer, issuer, data_dir


def _receive(base: str, count: int = 2) -> None:
    with httpx.Client(timeout=20) as http:
        offer = http.post(
            f"{base}/admin/offers",
            headers=ADMIN,
            json={"credential_configuration_id": "bewohnerparkausweis", "claims": SAMPLE_CLAIMS["bewohnerparkausweis"]},
        ).json()
        VciTestClient(http).receive(
            offer["offer_uri"], offer["tx_code"], [SoftwareSigner.generate() for _ in range(count)]
        )


def test_credentials_status_list_and_status_changes(running: tuple[str, Issuer, Path]) -> None:
    base, issuer, _ = running
    _receive(base)
    listed = run("credentials", "--url", base, "--type", "bewohnerparkausweis", env=KEY_ENV)
    assert listed.returncode == 0, listed.stderr
    credentials = json.loads(listed.stdout)["credentials"]
    assert len(credentials) >= 2 and all(c["status"] == "valid" for c in credentials)
    target = credentials[0]["credential_id"]
    where = run("status-list", "--url", base, "--credential", target, env=KEY_ENV)
    entry = json.loads(where.stdout)
    assert where.returncode == 0 and entry["uri"].startswith(f"{base}/status-lists/") and isinstance(entry["idx"], int)
    keys = issuer.context.keys(issuer.context.tenant("demo"))

    def published_status() -> int:
        issuer.publisher.publish_due()
        issuer.publisher._cache.clear()
        token = httpx.get(entry["uri"], timeout=10).text
        return verify_status_list_token(token, keys.public_key, ["ES256"]).status(entry["idx"])

    suspended = run("suspend", "--url", base, "--credential", target, env=KEY_ENV)
    assert suspended.returncode == 0 and json.loads(suspended.stdout) == {
        "credential_id": target,
        "action": "suspend",
        "status": "suspended",
        "changed": True,
        "status_list": {"uri": entry["uri"], "idx": entry["idx"]},
    }
    assert published_status() == SUSPENDED
    assert json.loads(run("unsuspend", "--url", base, "--credential", target, env=KEY_ENV).stdout)["status"] == "valid"
    assert published_status() == VALID
    revoked = run("revoke", "--url", base, "--credential", target, env=KEY_ENV)
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["status"] == "revoked"
    assert published_status() == INVALID
    again = run("revoke", "--url", base, "--credential", target, env=KEY_ENV)
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] is False
    refused = run("unsuspend", "--url", base, "--credential", target, env=KEY_ENV)
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"] == "invalid_request"
    only = json.loads(run("credentials", "--url", base, "--status", "revoked", env=KEY_ENV).stdout)["credentials"]
    assert [c["credential_id"] for c in only] == [target]


def test_clerk_commands_refuse_and_misuse(running: tuple[str, Issuer, Path], tmp_path: Path) -> None:
    base, _, _ = running
    unknown = run("revoke", "--url", base, "--credential", "cNoSuchCredential", env=KEY_ENV)
    assert unknown.returncode == 1 and json.loads(unknown.stdout)["error"] == "not_found"
    assert run("revoke", "--url", base, "--credential", "not an id", env=KEY_ENV).returncode == 2
    assert run("credentials", "--url", base).returncode == 2  # no API key anywhere
    assert run("credentials", "--url", base, "--status", "gone", env=KEY_ENV).returncode == 2
    assert run("credentials", "--url", "http://issuer.example.de/issuers/demo", env=KEY_ENV).returncode == 2
    wrong = run("credentials", "--url", base, env={"GOVSSI_API_KEY": "gsk_0000000000000000_" + "A" * 43})
    assert wrong.returncode == 1 and json.loads(wrong.stdout)["error"] == "invalid_token"
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    assert run("credentials", "--url", base, "--api-key-file", str(key_file)).returncode == 0


def test_audit_verify(running: tuple[str, Issuer, Path], tmp_path: Path) -> None:
    _, issuer, data_dir = running
    database = data_dir / "issuer.db"
    ok = run("audit", "verify", env={"GOVSSI_DATA_DIR": str(data_dir)})
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["ok"] is True and result["entries"] >= 2
    head = f"{result['head']['seq']}:{result['head']['hash']}"
    assert run("audit", "verify", "--database-url", f"sqlite:///{database}", "--head", head).returncode == 0
    assert run("audit", "verify", "--head", "12:xyz", env={"GOVSSI_DATA_DIR": str(data_dir)}).returncode == 2
    # A copy whose second entry was altered behind the triggers' back.
    copy = tmp_path / "tampered.db"
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'apikey:someone-else' WHERE seq = 2")
    broken = run("audit", "verify", "--database-url", f"sqlite:///{copy}")
    assert broken.returncode == 1
    out = json.loads(broken.stdout)
    assert out["ok"] is False and out["first_bad_seq"] == 2 and out["reason"] == "hash_mismatch"
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    missing = run("audit", "verify", "--database-url", f"sqlite:///{empty}")
    assert missing.returncode == 1 and json.loads(missing.stdout)["reason"] == "no_audit_log"
    assert issuer.admin.verify_audit()["ok"] is True
