"""The authorities' admin web UI (issue 7): server-rendered pages under ``/admin/{authority}/`` in German and
English — log in, create offers with QR codes (printable), list offers and issued credentials (metadata only),
approve or reject deferred requests, revoke/suspend/unsuspend, manage credential types, API keys and staff accounts —
and the staff-account admin API ``/issuers/{authority}/admin/users`` (API key). See docs/issuer-admin-ui.md.

``mount_admin_ui(app, issuer)`` adds it to the issuer app (:func:`issuer.app.create_app` calls it);
``StaffAccounts(engine).create(authority_id, name, password, role)`` or ``create_staff_account`` make accounts from
Python.
"""

from issuer.web.accounts import AccountError, StaffAccount, StaffAccounts
from issuer.web.routes import AdminUi, AdminUiConfig, create_staff_account, disable_staff_account, mount_admin_ui

__all__ = [
    "AccountError",
    "AdminUi",
    "AdminUiConfig",
    "StaffAccount",
    "StaffAccounts",
    "create_staff_account",
    "disable_staff_account",
    "mount_admin_ui",
]
