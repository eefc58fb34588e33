"""Property-based API tests against the issuer's OpenAPI schema (schemathesis, in-process over ASGI): whatever a
client sends within and around the schema, the issuer never answers 5xx, and every JSON error is the OAuth error
object. Bounded (a dozen examples per operation) to stay well under a minute."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from issuer_support import ADMIN, PUBLIC_URL, make_issuer
from issuer_support import settings as issuer_settings

from issuer import create_app

# schemathesis loads the schema when the module is collected, so the issuer is built here, in a directory of its own.
_DIRECTORY = Path(tempfile.mkdtemp(prefix="govssi-issuer-schemathesis-"))
atexit.register(shutil.rmtree, _DIRECTORY, True)  # also when the module's tests are deselected
_SERVICE = make_issuer(_DIRECTORY)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(issuer_settings(_DIRECTORY), issuer=_SERVICE))


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _SERVICE.context.storage.engine.dispose()
    shutil.rmtree(_DIRECTORY, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    headers = dict(ADMIN) if "/admin/" in case.path else {}
    if case.path_parameters is not None and "slug" in case.path_parameters:
        # A generated slug names no authority, so the request would stop at "unknown authority" before any handler
        # read its body: the cases go to the demo authority (unknown slugs: test_http_api).
        case.path_parameters["slug"] = "demo"
    response = case.call(headers=headers, base_url=PUBLIC_URL)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    content_type = response.headers.get("content-type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0]
    if response.status_code >= 400 and content_type.startswith("application/json"):
        body = response.json()
        assert isinstance(body.get("error"), str) and isinstance(body.get("error_description"), str)
