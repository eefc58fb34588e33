"""docs/operations.md "Backup and restore", done exactly as the document says and then used (issue 7: "restore a
backup into a fresh database and keep issuing and revoking").

The issuer runs over real HTTP with its keys in encrypted key files and the demo CA on disk. It issues credentials,
revokes one and suspends one, and then — while it keeps running — the backup is taken: the database online
(``sqlite3 … ".backup …"`` / ``pg_dump --format=custom``) and the key and CA directories (``tar``). After the backup
it goes on (the "lost period"): an offer open at backup time is delivered, a new credential is issued, another is
revoked, and new status list versions are published. Then the data directory is lost.

Restore into a fresh data directory and a fresh database (``cp`` / ``createdb`` + ``pg_restore``), run
``govssi issuer after-restore``, start the issuer on it with the same public URL, and check that

- the keys and certificates are the ones from before (same ``x5c`` leaf key), the pseudonym secret too ("revoke
  every credential of this licence plate" finds the credentials issued before the backup);
- nothing is issued twice: the offer that was open at backup time (and delivered in the lost period) is withdrawn —
  its pre-authorized code is refused — and new offers issue into a fresh status list whose number skips those the
  lost period could have used, so no (list URI, index) pair of any credential ever issued is used again
  (draft-ietf-oauth-status-list §13.2);
- the status lists are re-published as new versions (the pre-backup revocation and suspension still there) and
  issuing, revoking, suspending and unsuspending work on old and new credentials, published within the window;
- the audit log verifies and records the restore.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from issuer_support import ADMIN, SAMPLE_CLAIMS
from test_cli import API_KEY, run
from vci_client import VciTestClient

from infra.audit import verify_audit_log
from infra.db import sqlite_url
from infra.server import LoopbackServer
from issuer import IssuerSettings, build_issuer, create_app, free_loopback_port
from ssi.jose import parse_compact
from ssi.keys import PublicKey, SoftwareSigner
from ssi.sd_jwt import HeldSdJwt
from ssi.status_list import INVALID, SUSPENDED, VALID, verify_status_list_token

TYPE_ID = "bewohnerparkausweis"
PLATE = SAMPLE_CLAIMS[TYPE_ID]["license_plate"]
WINDOW = 0.2
POSTGRES_ADMIN_URL = os.environ.get("GOVSSI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def serving(data_dir: Path, port: int, database_url: str | None) -> Iterator[str]:
    """The issuer with the default key files in ``data_dir`` at ``http://127.0.0.1:port`` (a fixed public URL:
    credentials and status list URIs contain it)."""
    settings = IssuerSettings(
        data_dir=data_dir,
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}",
        dev_allow_http=True,
        bootstrap_key=API_KEY,
        key_passphrase="backup test passphrase",
        status_publish_window=WINDOW,
        token_rate_limit=0,
    )
    service = build_issuer(settings)
    server = LoopbackServer(create_app(settings, issuer=service), port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}/issuers/demo"
    finally:
        server.stop()
        service.context.storage.engine.dispose()


def _offer(http: httpx.Client, base: str) -> dict[str, Any]:
    response = http.post(
        f"{base}/admin/offers",
        headers=ADMIN,
        json={"credential_configuration_id": TYPE_ID, "claims": SAMPLE_CLAIMS[TYPE_ID], "tx_code": False},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _issue(http: httpx.Client, base: str, count: int = 2, offer: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Issue ``count`` credentials over the pre-authorized flow; their admin records (credential id, status list)."""
    offer = offer or _offer(http, base)
    credentials = VciTestClient(http).receive(
        offer["offer_uri"], None, [SoftwareSigner.generate() for _ in range(count)]
    )
    records = http.get(f"{base}/admin/credentials", headers=ADMIN, params={"offer": offer["offer_id"]}).json()
    by_entry = {(r["status_list"]["uri"], r["status_list"]["idx"]): r for r in records["credentials"]}
    issued = []
    for credential in credentials:
        entry = HeldSdJwt.parse(credential).payload["status"]["status_list"]
        issued.append(by_entry[(entry["uri"], entry["idx"])])
    assert len(issued) == count
    return issued


def _change(http: httpx.Client, base: str, record: dict[str, Any], action: str) -> None:
    response = http.post(f"{base}/admin/credentials/{record['credential_id']}/{action}", headers=ADMIN)
    assert response.status_code == 200, response.text


def _published(http: httpx.Client, base: str) -> dict[str, dict[str, Any]]:
    """Wait until no list has pending changes; the lists by URI."""
    deadline = time.monotonic() + 15
    while True:
        lists = http.get(f"{base}/admin/status-lists", headers=ADMIN).json()["status_lists"]
        if lists and all(not item["pending_changes"] and item["version"] >= 1 for item in lists):
            return {item["uri"]: item for item in lists}
        assert time.monotonic() < deadline, lists
        time.sleep(WINDOW / 2)


def _issuer_key(http: httpx.Client, port: int) -> PublicKey:
    metadata = http.get(f"http://127.0.0.1:{port}/.well-known/jwt-vc-issuer/issuers/demo").json()
    return PublicKey.from_jwk({k: v for k, v in metadata["jwks"]["keys"][0].items() if k in ("kty", "crv", "x", "y")})


def _status(http: httpx.Client, key: PublicKey, record: dict[str, Any]) -> int:
    token = http.get(record["status_list"]["uri"]).text
    assert parse_compact(token)[3]["typ"] == "statuslist+jwt"
    return verify_status_list_token(token, key, ["ES256"]).status(record["status_list"]["idx"])


def _backup_and_restore(
    tmp_path: Path,
    database_url: str | None,
    backup_database: Callable[[Path, Path], None],
    restore_database: Callable[[Path, Path], str | None],
) -> None:
    original, backup, restored = tmp_path / "original", tmp_path / "backup", tmp_path / "restored"
    for directory in (original, backup, restored):
        directory.mkdir()
    port = free_loopback_port()
    ever_issued: set[tuple[str, int]] = set()
    with httpx.Client(timeout=30) as http:
        # -- before the backup ------------------------------------------------------------------------------------
        with serving(original, port, database_url) as base:
            key_before = _issuer_key(http, port)
            before = _issue(http, base) + _issue(http, base)
            _change(http, base, before[0], "revoke")
            _change(http, base, before[1], "suspend")
            open_offer = _offer(http, base)
            lists_at_backup = _published(http, base)
            # The backup, online, while the issuer runs (docs/operations.md).
            backup_database(original, backup)
            with tarfile.open(backup / "issuer-files.tar.gz", "w:gz") as tar:
                tar.add(original / "issuer", arcname="issuer")
            # -- the lost period: what happens after the backup is not in it ---------------------------------------
            lost = _issue(http, base, 1, offer=open_offer) + _issue(http, base, 1)
            _change(http, base, before[2], "revoke")
            lists_lost = _published(http, base)
            ever_issued |= {(r["status_list"]["uri"], r["status_list"]["idx"]) for r in before + lost}
        assert all(lists_lost[uri]["version"] > lists_at_backup[uri]["version"] for uri in lists_at_backup)
        shutil.rmtree(original)  # the disaster

        # -- restore ----------------------------------------------------------------------------------------------
        with tarfile.open(backup / "issuer-files.tar.gz") as tar:
            tar.extractall(restored, filter="data")
        restored_url = restore_database(backup, restored)
        prepared = run(
            "after-restore",
            "--database-url",
            restored_url or sqlite_url(restored / "issuer.db"),
            "--public-url",
            f"http://127.0.0.1:{port}",
        )
        assert prepared.returncode == 0, prepared.stderr
        report = json.loads(prepared.stdout)
        newest = max(int(uri.rsplit("/", 1)[1]) for uri in lists_at_backup)
        assert report["fresh_status_lists"] == {"demo": newest + 11}
        assert report["offers_withdrawn"] == 1  # the offer open at backup time
        assert report["status_lists_to_republish"] == len(lists_at_backup)

        with serving(restored, port, restored_url) as base:
            key = _issuer_key(http, port)
            assert key.thumbprint() == key_before.thumbprint(), "the restored key files hold the same signing key"
            # The offer delivered in the lost period cannot be redeemed again.
            session = VciTestClient(http).start(open_offer["offer_uri"])
            refused = VciTestClient(http).token(session, None)
            assert refused.status == 400 and refused.body["error"] == "invalid_grant", refused.body
            # Every list is re-published as a new version; the pre-backup changes are in it.
            lists = _published(http, base)
            for uri, item in lists_at_backup.items():
                assert lists[uri]["version"] == item["version"] + 1
            assert _status(http, key, before[0]) == INVALID
            assert _status(http, key, before[1]) == SUSPENDED
            # The lost period's revocation is not in the backup: the runbook re-applies such changes.
            assert _status(http, key, before[2]) == VALID
            # Issue and change statuses on the restored issuer.
            after = _issue(http, base) + _issue(http, base, 3)
            fresh_uri = f"{base}/status-lists/{newest + 11}"
            assert {r["status_list"]["uri"] for r in after} == {fresh_uri}
            positions = [(r["status_list"]["uri"], r["status_list"]["idx"]) for r in after]
            assert len(set(positions)) == len(positions) and not set(positions) & ever_issued
            _change(http, base, before[2], "revoke")
            _change(http, base, before[1], "unsuspend")
            _change(http, base, after[0], "revoke")
            _change(http, base, after[1], "suspend")
            _published(http, base)
            assert _status(http, key, before[2]) == INVALID
            assert _status(http, key, before[1]) == VALID
            assert _status(http, key, after[0]) == INVALID
            assert _status(http, key, after[1]) == SUSPENDED
            assert _status(http, key, after[2]) == VALID
            # The pseudonym secret came back with the database: the plate finds the credentials from before.
            found = http.post(
                f"{base}/admin/subjects/credentials", headers=ADMIN, json={"kind": "license_plate", "value": PLATE}
            ).json()["credentials"]
            found_ids = {r["credential_id"] for r in found}
            assert {r["credential_id"] for r in before + after} <= found_ids
            assert not {r["credential_id"] for r in lost} & found_ids
            revoked = http.post(
                f"{base}/admin/subjects/revoke", headers=ADMIN, json={"kind": "license_plate", "value": "k-em1964"}
            ).json()
            assert revoked["status"] == "revoked" and set(revoked["changed"]) | set(revoked["unchanged"]) == found_ids
            _published(http, base)
            assert all(_status(http, key, r) == INVALID for r in before + after)
            audit = http.get(f"{base}/admin/audit/verify", headers=ADMIN).json()
            assert audit["ok"] is True, audit
    verification = verify_audit_log(restored_url or sqlite_url(restored / "issuer.db"))
    assert verification["ok"] is True
    verified = run("audit", "verify", "--database-url", restored_url or sqlite_url(restored / "issuer.db"))
    assert verified.returncode == 0, verified.stderr


def test_sqlite_online_backup_restored_keeps_issuing_and_revoking(tmp_path: Path) -> None:
    """SQLite: ``sqlite3 issuer.db ".backup …"`` (the online backup API) while the issuer runs; restore = copy."""
    sqlite3_cli = shutil.which("sqlite3")

    def backup_database(original: Path, backup: Path) -> None:
        if sqlite3_cli is not None:
            done = subprocess.run(
                [sqlite3_cli, str(original / "issuer.db"), f".backup '{backup / 'issuer.db'}'"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        else:  # the same online backup API through Python's sqlite3 module
            import sqlite3

            with sqlite3.connect(original / "issuer.db") as source, sqlite3.connect(backup / "issuer.db") as target:
                source.backup(target)
        assert not (backup / "issuer.db-wal").exists()

    def restore_database(backup: Path, restored: Path) -> str | None:
        shutil.copyfile(backup / "issuer.db", restored / "issuer.db")
        return None

    _backup_and_restore(tmp_path, None, backup_database, restore_database)


@pytest.fixture
def restore_target_url() -> Iterator[str]:
    """A second fresh PostgreSQL database to restore into (dropped after the test)."""
    psycopg = pytest.importorskip("psycopg")
    name = f"govssi_restore_{os.urandom(6).hex()}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")), reason="needs pg_dump, pg_restore")
def test_postgresql_pg_dump_restored_keeps_issuing_and_revoking(
    tmp_path: Path, postgres_url: str, restore_target_url: str
) -> None:
    """PostgreSQL: ``pg_dump --format=custom`` while the issuer runs; ``pg_restore --no-owner`` into a fresh
    database (the audit log's append-only triggers come back with it)."""
    libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def backup_database(original: Path, backup: Path) -> None:
        done = subprocess.run(
            ["pg_dump", "--format=custom", f"--file={backup / 'issuer.dump'}", libpq],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    def restore_database(backup: Path, restored: Path) -> str:
        done = subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                f"--dbname={restore_target_url}",
                str(backup / "issuer.dump"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return restore_target_url.replace("postgresql://", "postgresql+psycopg://", 1)

    _backup_and_restore(tmp_path, postgres_url, backup_database, restore_database)
    # The restored audit log is still append-only.
    import psycopg

    with psycopg.connect(restore_target_url) as conn, pytest.raises(psycopg.Error):
        conn.execute("DELETE FROM audit_log")
