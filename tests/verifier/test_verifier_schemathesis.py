"""Property-based API tests against the verifier's OpenAPI schema (schemathesis, in-process over ASGI): whatever a
client sends within and around the schema, the verifier never answers 5xx, and every JSON error is the OAuth error
object. Bounded (a dozen examples per operation) to stay well under a minute; the event stream is left out (it stays
open by design)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from verifier_support import FakeTrust, TestIssuer, sqlite_store, verifier_identity
from verifier_support import settings as verifier_settings

from verifier import build_verifier, create_app

# schemathesis loads the schema when the module is collected, so the verifier is built here, in a directory of its own.
_DIRECTORY = Path(tempfile.mkdtemp(prefix="govssi-verifier-schemathesis-"))
atexit.register(shutil.rmtree, _DIRECTORY, True)
_ISSUER = TestIssuer.create()
_TRUST = FakeTrust()
_TRUST.trust_issuer(_ISSUER)
_SETTINGS = verifier_settings(_DIRECTORY)
_SERVICE = build_verifier(
    _SETTINGS,
    store=sqlite_store(_DIRECTORY),
    keys=verifier_identity(_SETTINGS.public_url).keys,
    trust=_TRUST,
    key_history=None,
    did_resolver=None,
    anchors=[_ISSUER.ca],
    fetcher=_ISSUER.server,
)
_SESSION = _SERVICE.create(_SERVICE.query_for(preset="pid_identification")[0])
# The server-sent events stream stays open until the session is decided (tests/verifier/test_flows.py covers it).
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_SETTINGS, service=_SERVICE)).exclude(
    path_regex=r"/events$"
)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    # half of the examples address a live session, so the deeper paths are reached too
    if case.path_parameters:
        for name in ("session", "state"):
            if name in case.path_parameters and hash(str(case.path_parameters[name])) % 2:
                case.path_parameters[name] = _SESSION.transaction_id if name == "session" else _SESSION.request_id
    response = case.call(base_url=_SETTINGS.public_url)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    content_type = response.headers.get("content-type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0]
    if response.status_code >= 400 and content_type.startswith("application/json"):
        body = response.json()
        assert isinstance(body.get("error"), str) and isinstance(body.get("error_description"), str)
