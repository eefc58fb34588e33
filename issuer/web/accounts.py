"""Staff accounts of the authorities' admin web UI: per-user accounts with a role (``clerk`` or ``admin``) at one
authority, passwords hashed with Argon2id (RFC 9106; ``argon2-cffi``'s default parameters, the RFC's second
recommended option: t=3, m=64 MiB, p=4).

Table ``staff_account`` (migration ``0004``). An account name is unique per authority and is an identifier (it names
the actor in the audit log as ``user:<name>``), not a person's name. Passwords are never stored or logged; a hash made
with older parameters is replaced on the next successful login (``check_needs_rehash``). An unknown account name costs
the same Argon2 work as a wrong password, so response times do not tell which accounts exist.

Roles: a ``clerk`` makes offers, approves deferred requests and changes credential status; an ``admin`` can in addition
manage credential types and API keys. The first account of an authority is made with :meth:`StaffAccounts.create`
(Python) or ``POST /issuers/{a}/admin/users`` (the authority's API key), see docs/issuer-admin-ui.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ssi.clock import Clock, system_clock
from ssi.errors import SsiError

__all__ = [
    "ACCOUNT_NAME",
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "ROLES",
    "AccountError",
    "StaffAccount",
    "StaffAccounts",
    "staff_account",
]

#: Same rule as :func:`issuer.admin.actor_for_user` (audit actor ``user:<name>``), at most 120 characters.
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,119}$")
ROLES = ("clerk", "admin")
#: BSI IT-Grundschutz ORP.4.A8 asks for passwords of sufficient length; 12 characters is the floor here.
MIN_PASSWORD = 12
MAX_PASSWORD = 256

_metadata = sa.MetaData()
#: Must match migration 0004 (tests/issuer/web/test_admin_ui_accounts.py compares the columns).
staff_account = sa.Table(
    "staff_account",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("authority_id", sa.Integer, nullable=False),
    sa.Column("username", sa.String(120), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("password_changed_at", sa.Float, nullable=False),
    sa.Column("last_login_at", sa.Float, nullable=True),
    sa.Column("disabled_at", sa.Float, nullable=True),
    sa.UniqueConstraint("authority_id", "username", name="uq_staff_account_authority_username"),
)


class AccountError(SsiError):
    """An account cannot be made or changed as asked (name taken, weak password, unknown role)."""

    code = "invalid_request"
    reason = "account_refused"


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """An account as the UI and the admin API see it (never the hash)."""

    id: int
    authority_id: int
    username: str
    role: str
    created_at: float
    last_login_at: float | None
    disabled_at: float | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "created_at": int(self.created_at),
            "last_login_at": None if self.last_login_at is None else int(self.last_login_at),
            "disabled_at": None if self.disabled_at is None else int(self.disabled_at),
        }


def _account(row: Any) -> StaffAccount:
    return StaffAccount(
        row.id, row.authority_id, row.username, row.role, row.created_at, row.last_login_at, row.disabled_at
    )


def check_password_rules(password: Any) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", reason="weak_password")
    if len(set(password)) < 5:
        raise AccountError("a password needs at least 5 different characters", reason="weak_password")


class StaffAccounts:
    """The ``staff_account`` table. ``hasher`` is injectable (tests use cheaper Argon2 parameters)."""

    def __init__(self, engine: Engine, *, hasher: PasswordHasher | None = None, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        self._clock = clock
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        """Verified against when the account does not exist, so both cases cost one Argon2 verification."""
        if self._dummy is None:
            self._dummy = self.hasher.hash("govssi-no-such-account")
        return self._dummy

    def create(
        self, authority_id: int, username: str, password: str, role: str, *, conn: Connection | None = None
    ) -> StaffAccount:
        """A new account; :class:`AccountError` when the name is taken or malformed, the role unknown or the
        password too weak."""
        if not isinstance(username, str) or not ACCOUNT_NAME.match(username):
            raise AccountError(
                "an account name is 1-120 characters: letters, digits and . _ @ + - (not first)", reason="bad_username"
            )
        if role not in ROLES:
            raise AccountError("the role is clerk or admin", reason="bad_role")
        check_password_rules(password)
        now = self._clock()
        values = {
            "authority_id": authority_id,
            "username": username,
            "password_hash": self.hasher.hash(password),
            "role": role,
            "created_at": now,
            "password_changed_at": now,
        }
        try:
            if conn is not None:
                with conn.begin_nested():
                    result = conn.execute(sa.insert(staff_account).values(**values))
            else:
                with self.engine.begin() as own:
                    result = own.execute(sa.insert(staff_account).values(**values))
        except IntegrityError:
            raise AccountError("an account of that name exists at this authority", reason="username_taken") from None
        account_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return StaffAccount(account_id, authority_id, username, role, now, None, None)

    def get(self, authority_id: int, username: str) -> StaffAccount | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(staff_account).where(
                    staff_account.c.authority_id == authority_id, staff_account.c.username == username
                )
            ).first()
        return None if row is None else _account(row)

    def by_id(self, account_id: int) -> StaffAccount | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(staff_account).where(staff_account.c.id == account_id)).first()
        return None if row is None else _account(row)

    def list(self, authority_id: int) -> list[StaffAccount]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(staff_account)
                .where(staff_account.c.authority_id == authority_id)
                .order_by(staff_account.c.username)
            ).all()
        return [_account(row) for row in rows]

    def authenticate(self, authority_id: int, username: str, password: str) -> StaffAccount | None:
        """The account when the name exists at the authority, is not disabled and the password matches; else
        ``None`` (after the same Argon2 work)."""
        row = None
        if isinstance(username, str) and ACCOUNT_NAME.match(username) and isinstance(password, str):
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(staff_account).where(
                        staff_account.c.authority_id == authority_id, staff_account.c.username == username
                    )
                ).first()
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            password = ""
        stored = row.password_hash if row is not None else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled_at is not None:
            return None
        updates: dict[str, Any] = {"last_login_at": self._clock()}
        if self.hasher.check_needs_rehash(stored):
            updates["password_hash"] = self.hasher.hash(password)
        with self.engine.begin() as conn:
            conn.execute(sa.update(staff_account).where(staff_account.c.id == row.id).values(**updates))
        return _account(row)

    def set_password(self, account_id: int, password: str, *, conn: Connection | None = None) -> None:
        check_password_rules(password)
        statement = (
            sa.update(staff_account)
            .where(staff_account.c.id == account_id)
            .values(password_hash=self.hasher.hash(password), password_changed_at=self._clock())
        )
        if conn is not None:
            conn.execute(statement)
            return
        with self.engine.begin() as own:
            own.execute(statement)

    def disable(self, authority_id: int, username: str, *, conn: Connection | None = None) -> bool:
        """Disable a live account (it can no longer log in; its sessions end at their next request)."""
        statement = (
            sa.update(staff_account)
            .where(
                staff_account.c.authority_id == authority_id,
                staff_account.c.username == username,
                staff_account.c.disabled_at.is_(None),
            )
            .values(disabled_at=self._clock())
        )
        if conn is not None:
            return bool(conn.execute(statement).rowcount)
        with self.engine.begin() as own:
            return bool(own.execute(statement).rowcount)
