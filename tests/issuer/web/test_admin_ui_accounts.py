"""Staff accounts of the admin web UI (issue 7 "log in: per-user accounts with roles clerk/admin per authority,
passwords hashed with argon2"): the table from migration 0004, Argon2id hashes, the rules for names, roles and
passwords, same work for unknown accounts, rehash on new parameters, and the admin-API endpoint (the authority's API
key) that creates the first accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
import sqlalchemy as sa
from admin_ui_support import FAST_HASHER, ui_app
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from issuer_support import ADMIN, PUBLIC_URL

from issuer import Issuer
from issuer.web import AccountError, StaffAccounts, create_staff_account
from issuer.web.accounts import staff_account

PASSWORD = "Parkausweis-2025!"


@pytest.fixture
def accounts(issuer: Issuer) -> StaffAccounts:
    return StaffAccounts(issuer.context.storage.engine, hasher=FAST_HASHER, clock=issuer.context.clock)


def authority_id(issuer: Issuer, slug: str = "demo") -> int:
    return issuer.context.tenant(slug).authority.id


def test_migration_0004_makes_the_described_table(issuer: Issuer) -> None:
    inspector = sa.inspect(issuer.context.storage.engine)
    columns = {c["name"]: c for c in inspector.get_columns("staff_account")}
    assert set(columns) == {c.name for c in staff_account.columns}
    for column in staff_account.columns:
        assert columns[column.name]["nullable"] == column.nullable, column.name
    uniques = inspector.get_unique_constraints("staff_account")
    assert any(set(u["column_names"]) == {"authority_id", "username"} for u in uniques)


def test_password_stored_as_argon2id_only(issuer: Issuer, accounts: StaffAccounts) -> None:
    account = accounts.create(authority_id(issuer), "erika.clerk", PASSWORD, "clerk")
    assert account.role == "clerk" and not account.is_admin
    with issuer.context.storage.engine.connect() as conn:
        stored = conn.execute(sa.select(staff_account.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_authenticate(issuer: Issuer, accounts: StaffAccounts) -> None:
    aid = authority_id(issuer)
    accounts.create(aid, "erika.clerk", PASSWORD, "clerk")
    found = accounts.authenticate(aid, "erika.clerk", PASSWORD)
    assert found is not None and found.username == "erika.clerk"
    assert accounts.get(aid, "erika.clerk").last_login_at == issuer.context.clock()  # type: ignore[union-attr]
    assert accounts.authenticate(aid, "erika.clerk", PASSWORD + "x") is None
    assert accounts.authenticate(aid, "Erika.clerk", PASSWORD) is None  # names are exact
    assert accounts.authenticate(aid, "nobody", PASSWORD) is None
    assert accounts.authenticate(aid, "erika.clerk", "x" * 10_000) is None
    assert accounts.authenticate(aid, "../../etc", PASSWORD) is None


def test_accounts_belong_to_one_authority(issuer: Issuer, accounts: StaffAccounts) -> None:
    storage = issuer.context.storage
    koeln = storage.create_authority("koeln", "Stadt Köln", "City of Cologne")
    accounts.create(authority_id(issuer), "erika.clerk", PASSWORD, "clerk")
    assert accounts.authenticate(koeln.id, "erika.clerk", PASSWORD) is None
    # The same name at another authority is another account.
    accounts.create(koeln.id, "erika.clerk", "Ein-anderes-Passwort-1", "admin")
    assert accounts.authenticate(koeln.id, "erika.clerk", "Ein-anderes-Passwort-1") is not None


def test_unknown_account_costs_one_argon2_verification(issuer: Issuer) -> None:
    """Response time must not tell whether an account exists (OWASP ASVS 2.2 / user enumeration)."""
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            calls.append(str(hash))
            return super().verify(hash, password)

    hasher = Counting(time_cost=1, memory_cost=1024, parallelism=1)
    accounts = StaffAccounts(issuer.context.storage.engine, hasher=hasher)
    accounts.create(authority_id(issuer), "erika.clerk", PASSWORD, "clerk")
    accounts.authenticate(authority_id(issuer), "nobody", PASSWORD)
    accounts.authenticate(authority_id(issuer), "erika.clerk", "wrong-password-123")
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("username", "password", "role", "reason"),
    [
        ("", PASSWORD, "clerk", "bad_username"),
        (".erika", PASSWORD, "clerk", "bad_username"),
        ("erika clerk", PASSWORD, "clerk", "bad_username"),
        ("e" * 121, PASSWORD, "clerk", "bad_username"),
        ("erika", PASSWORD, "root", "bad_role"),
        ("erika", "short-1", "clerk", "weak_password"),
        ("erika", "aaaaaaaaaaaaaaaa", "clerk", "weak_password"),
        ("erika", "x" * 257, "clerk", "weak_password"),
    ],
)
def test_account_rules(
    issuer: Issuer, accounts: StaffAccounts, username: str, password: str, role: str, reason: str
) -> None:
    with pytest.raises(AccountError) as refused:
        accounts.create(authority_id(issuer), username, password, role)
    assert refused.value.reason == reason


def test_name_taken(issuer: Issuer, accounts: StaffAccounts) -> None:
    accounts.create(authority_id(issuer), "erika.clerk", PASSWORD, "clerk")
    with pytest.raises(AccountError) as refused:
        accounts.create(authority_id(issuer), "erika.clerk", PASSWORD, "admin")
    assert refused.value.reason == "username_taken"


def test_disabled_account_cannot_log_in(issuer: Issuer, accounts: StaffAccounts) -> None:
    aid = authority_id(issuer)
    accounts.create(aid, "erika.clerk", PASSWORD, "clerk")
    assert accounts.disable(aid, "erika.clerk")
    assert not accounts.disable(aid, "erika.clerk")  # already
    assert accounts.authenticate(aid, "erika.clerk", PASSWORD) is None


def test_hash_upgraded_on_login_when_parameters_change(issuer: Issuer) -> None:
    engine = issuer.context.storage.engine
    old = StaffAccounts(engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    old.create(authority_id(issuer), "erika.clerk", PASSWORD, "clerk")
    new = StaffAccounts(engine, hasher=PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    assert new.authenticate(authority_id(issuer), "erika.clerk", PASSWORD) is not None
    with engine.connect() as conn:
        stored = conn.execute(sa.select(staff_account.c.password_hash)).scalar_one()
    assert "m=2048,t=2" in stored
    assert new.authenticate(authority_id(issuer), "erika.clerk", PASSWORD) is not None


def test_create_staff_account_is_audited(issuer: Issuer, accounts: StaffAccounts) -> None:
    tenant = issuer.context.tenant("demo")
    create_staff_account(
        issuer, accounts, tenant, username="max.admin", password=PASSWORD, role="admin", actor="apikey:boot"
    )
    entries = issuer.admin.audit_entries(tenant)
    assert entries[-1]["action"] == "staff.create_admin"
    assert entries[-1]["actor"] == "apikey:boot" and entries[-1]["subjects"] == ["user:max.admin"]
    assert PASSWORD not in str(entries)


# -- the admin API endpoint -----------------------------------------------------------------------------------------


@pytest.fixture
def api(issuer: Issuer, tmp_path: Path) -> TestClient:
    return TestClient(ui_app(issuer, tmp_path), base_url=PUBLIC_URL)


def test_api_creates_lists_and_disables_users(api: TestClient, issuer: Issuer) -> None:
    created = api.post(
        "/issuers/demo/admin/users",
        json={"username": "max.admin", "password": PASSWORD, "role": "admin"},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    assert created.json()["username"] == "max.admin" and created.json()["role"] == "admin"
    assert "password" not in created.text and "argon2" not in created.text
    assert created.headers["cache-control"] == "no-store"
    listed = api.get("/issuers/demo/admin/users", headers=ADMIN).json()["users"]
    assert [u["username"] for u in listed] == ["max.admin"]
    assert api.delete("/issuers/demo/admin/users/max.admin", headers=ADMIN).status_code == 204
    assert api.delete("/issuers/demo/admin/users/max.admin", headers=ADMIN).status_code == 404
    assert api.get("/issuers/demo/admin/users", headers=ADMIN).json()["users"][0]["disabled_at"] is not None
    actions = [e["action"] for e in issuer.admin.audit_entries(issuer.context.tenant("demo"))]
    assert actions[-2:] == ["staff.create_admin", "staff.disable"]


def test_api_default_role_is_clerk(api: TestClient) -> None:
    created = api.post("/issuers/demo/admin/users", json={"username": "erika", "password": PASSWORD}, headers=ADMIN)
    assert created.status_code == 201 and created.json()["role"] == "clerk"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"username": "erika", "password": "short"}, 400),
        ({"username": "erika", "password": PASSWORD, "role": "root"}, 400),
        ({"username": " erika", "password": PASSWORD}, 400),
        ({"username": 5, "password": PASSWORD}, 400),
        ({"password": PASSWORD}, 400),
    ],
)
def test_api_refuses_bad_accounts(api: TestClient, body: dict[str, object], status: int) -> None:
    response = api.post("/issuers/demo/admin/users", json=body, headers=ADMIN)
    assert response.status_code == status
    assert response.json()["error"] == "invalid_request"


def test_api_name_taken_is_409(api: TestClient) -> None:
    body = {"username": "erika", "password": PASSWORD}
    assert api.post("/issuers/demo/admin/users", json=body, headers=ADMIN).status_code == 201
    assert api.post("/issuers/demo/admin/users", json=body, headers=ADMIN).status_code == 409


def test_api_needs_this_authoritys_key(api: TestClient, issuer: Issuer) -> None:
    body = {"username": "erika", "password": PASSWORD}
    missing = api.post("/issuers/demo/admin/users", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    wrong = api.post("/issuers/demo/admin/users", json=body, headers={"Authorization": "Bearer gsk_nope_nope0000000"})
    assert wrong.status_code == 401
    koeln = issuer.context.storage.create_authority("koeln", "Stadt Köln", "City of Cologne")
    koeln_key = issuer.context.storage.create_api_key(koeln.id, "koeln")
    foreign = api.post("/issuers/demo/admin/users", json=body, headers={"Authorization": f"Bearer {koeln_key}"})
    assert foreign.status_code == 401
    assert api.get("/issuers/demo/admin/users", headers={"Authorization": f"Bearer {koeln_key}"}).status_code == 401
    assert api.post("/issuers/nowhere/admin/users", json=body, headers=ADMIN).status_code == 404
