"""Test support for the admin web UI: an issuer app with the UI mounted (cheap Argon2 parameters), staff accounts,
and a browser-like client that keeps the session cookie, reads CSRF tokens from pages and sends ``Origin``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from issuer_support import PUBLIC_URL, settings
from protocol_support import InProcessWallet

from issuer import Issuer, create_app
from issuer.web import AdminUiConfig, StaffAccounts, create_staff_account, mount_admin_ui
from ssi.keys import SoftwareSigner

#: Argon2id with small parameters: the tests check behaviour, not the cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CLERK = ("erika.clerk", "Parkausweis-2025!")
ADMIN_USER = ("max.admin", "Verwaltung-Sicher-42")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def ui_app(issuer: Issuer, tmp_path: Any, **config: Any) -> FastAPI:
    app = create_app(settings(tmp_path), issuer=issuer)
    mount_admin_ui(app, issuer, config=AdminUiConfig(hasher=FAST_HASHER, **config))
    return app


def add_staff(app: FastAPI, issuer: Issuer, slug: str = "demo") -> None:
    accounts: StaffAccounts = app.state.admin_ui.accounts
    tenant = issuer.context.tenant(slug)
    for (name, password), role in ((CLERK, "clerk"), (ADMIN_USER, "admin")):
        create_staff_account(issuer, accounts, tenant, username=name, password=password, role=role, actor="test:setup")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Browser:
    """A TestClient that behaves like a browser on the admin UI (same-origin form posts)."""

    client: TestClient
    slug: str = "demo"

    @property
    def base(self) -> str:
        return f"/admin/{self.slug}"

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(self.base + path, follow_redirects=False, **kwargs)

    def post(
        self,
        path: str,
        data: dict[str, Any],
        *,
        page: str | None = None,
        origin: str | None = PUBLIC_URL,
        csrf: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """POST the form of ``page`` (GET first to read its CSRF token) to ``path``."""
        if csrf is None:
            csrf = csrf_of(self.get(page or path).text)
        headers = {"Origin": origin} if origin is not None else {}
        return self.client.post(
            self.base + path, data={"csrf": csrf, **data}, headers=headers, follow_redirects=False, **kwargs
        )

    def login(self, user: tuple[str, str] = CLERK) -> Any:
        response = self.post("/login", {"username": user[0], "password": user[1]})
        assert response.status_code == 303, response.text
        return response


def browser(app: FastAPI) -> Browser:
    return Browser(TestClient(app, base_url=PUBLIC_URL))


def issue_credential(wallet: InProcessWallet, type_id: str = "bewohnerparkausweis", **claims: Any) -> str:
    """Issue one credential through the protocol objects; its credential id."""
    offer = wallet.offer(type_id, **claims)
    token = wallet.token(offer, offer.tx_code)
    wallet.credential(token, wallet.request_body([SoftwareSigner.generate("ES256")], type_id))
    records = wallet.issuer.admin.credentials(wallet.tenant, offer_id=offer.offer_id)
    assert len(records) == 1
    return str(records[0].credential_id)
