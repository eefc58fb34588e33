"""Server-side sessions of the admin web UI, kept in the issuer's short-lived store (:mod:`infra.ephemeral`, SQL or
Redis), so several instances share them and a restart does not log anyone out.

- The cookie holds only a random session id (256 bits); the store keys the session by the id's SHA-256, so a dump of
  the store gives no usable cookie (OWASP Session Management: session ids are secrets).
- Idle timeout: each request moves the entry's expiry to ``idle_timeout`` seconds ahead (the store forgets it when
  nobody asks); an absolute lifetime (``max_lifetime``) ends a session however active it is.
- Every session, also the anonymous one that shows the login form, has its own CSRF token (synchronizer token
  pattern). Logging in always starts a **new** session with a new id and token and deletes the old one (session
  fixation, OWASP ASVS V3.2.1).
- Cookie: ``HttpOnly``, ``SameSite=Strict``, ``Path=/admin``; over TLS also ``Secure`` with the ``__Host-`` prefix
  (RFC 6265bis §4.1.3.2 — then the path is ``/``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from infra.ephemeral import EphemeralStore
from ssi.clock import Clock

__all__ = ["AdminSession", "AdminSessions", "cookie_name"]

NAMESPACE = "admin_ui_session"
#: Write the sliding expiry at most this often per session (one store write per minute, not per request).
TOUCH_INTERVAL = 30.0


def cookie_name(secure: bool) -> str:
    return "__Host-govssi-admin" if secure else "govssi-admin"


@dataclass
class AdminSession:
    """One browser's session. ``account_id`` is ``None`` before login."""

    id: str
    csrf: str
    created: float
    seen: float
    lang: str = "de"
    authority_id: int | None = None
    slug: str | None = None
    account_id: int | None = None
    username: str | None = None
    role: str | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)
    is_new: bool = False

    def to_store(self) -> dict[str, Any]:
        return {
            "csrf": self.csrf,
            "created": self.created,
            "seen": self.seen,
            "lang": self.lang,
            "authority_id": self.authority_id,
            "slug": self.slug,
            "account_id": self.account_id,
            "username": self.username,
            "role": self.role,
            "flash": [list(item) for item in self.flash],
        }

    @property
    def signed_in(self) -> bool:
        return self.account_id is not None


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


class AdminSessions:
    def __init__(self, store: EphemeralStore, *, clock: Clock, idle_timeout: float, max_lifetime: float) -> None:
        self._store = store
        self._clock = clock
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime

    def new(self, *, lang: str = "de") -> AdminSession:
        now = self._clock()
        session = AdminSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now, lang, is_new=True)
        self._store.put(NAMESPACE, _key(session.id), session.to_store(), self.idle_timeout)
        return session

    def load(self, session_id: str | None) -> AdminSession | None:
        """The live session of this id (its idle expiry moved ahead), or ``None``."""
        if not session_id or len(session_id) > 100:
            return None
        value = self._store.get(NAMESPACE, _key(session_id))
        if value is None:
            return None
        now = self._clock()
        if now - float(value["created"]) >= self.max_lifetime or now - float(value["seen"]) >= self.idle_timeout:
            self._store.delete(NAMESPACE, _key(session_id))
            return None
        session = AdminSession(
            id=session_id,
            csrf=str(value["csrf"]),
            created=float(value["created"]),
            seen=float(value["seen"]),
            lang=str(value.get("lang") or "de"),
            authority_id=value.get("authority_id"),
            slug=value.get("slug"),
            account_id=value.get("account_id"),
            username=value.get("username"),
            role=value.get("role"),
            flash=[(str(a), str(b)) for a, b in value.get("flash", [])],
        )
        if now - session.seen >= TOUCH_INTERVAL:
            session.seen = now
            self.save(session)
        return session

    def save(self, session: AdminSession) -> None:
        remaining = min(self.idle_timeout, self.max_lifetime - (self._clock() - session.created))
        if remaining <= 0:
            self.delete(session)
            return
        self._store.replace(NAMESPACE, _key(session.id), session.to_store(), remaining)

    def delete(self, session: AdminSession) -> None:
        self._store.delete(NAMESPACE, _key(session.id))

    def sign_in(
        self, old: AdminSession, *, authority_id: int, slug: str, account_id: int, username: str, role: str
    ) -> AdminSession:
        """A fresh session (new id, new CSRF token) for the account; the pre-login session is deleted."""
        self.delete(old)
        session = self.new(lang=old.lang)
        session.authority_id, session.slug = authority_id, slug
        session.account_id, session.username, session.role = account_id, username, role
        self.save(session)
        return session
