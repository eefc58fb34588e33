"""``govssi did resolve``: the DID document as JSON on stdout (exit 0); errors as JSON on stdout plus one line on
stderr (exit 1); usage errors exit 2 (DESIGN.md §3)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import base58
import pytest
from cli_support import cli_failure as _failure

from ssi.did import DidDocument, did_jwk_from_public_key, did_key_from_public_key
from ssi.encoding import b64url_encode, json_dumps
from ssi.keys import PrivateKey

DID_KEY_SPEC_EXAMPLE = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def _ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_resolve_did_key(govssi: Any) -> None:
    out = _ok(govssi("did", "resolve", DID_KEY_SPEC_EXAMPLE))
    assert out["id"] == DID_KEY_SPEC_EXAMPLE
    assert out["verificationMethod"][0]["type"] == "Multikey"
    assert DidDocument.from_json(out).public_key(out["assertionMethod"][0], "assertionMethod").alg == "EdDSA"


def test_resolve_did_jwk(govssi: Any) -> None:
    key = PrivateKey.generate("ES256").public_key
    did = did_jwk_from_public_key(key)
    out = _ok(govssi("did", "resolve", did))
    assert DidDocument.from_json(out).public_key("#0", "authentication") == key


@pytest.mark.parametrize(
    ("did", "error"),
    [
        ("did:Key:z6Mk", "invalidDid"),
        ("not-a-did", "invalidDid"),
        (DID_KEY_SPEC_EXAMPLE + "#frag", "invalidDid"),
        ("did:example:123", "methodNotSupported"),
        ("did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW", "unsupportedPublicKeyType"),
        ("did:key:z" + base58.b58encode(b"\xe7\x01" + bytes(32)).decode(), "invalidPublicKeyLength"),
        ("did:web:127.0.0.1", "invalidDid"),
    ],
)
def test_failures(govssi: Any, did: str, error: str) -> None:
    assert _failure(govssi("did", "resolve", did))["error"] == error


def test_private_did_jwk_is_refused(govssi: Any) -> None:
    jwk = PrivateKey.generate("ES256").private_jwk()
    out = _failure(govssi("did", "resolve", "did:jwk:" + b64url_encode(json_dumps(jwk).encode())))
    assert out["error"] == "invalidDid"
    assert jwk["d"] not in out["error_description"]


def test_usage_errors_exit_2(govssi: Any) -> None:
    assert govssi("did", "resolve").returncode == 2
    assert govssi("did", "resolve", "did:key:z", "--no-such-flag").returncode == 2


# -- did:web against a server on 127.0.0.1 ------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[int, bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        status, body = self.server.routes.get(self.path, (404, b""))
        self.send_response(status)
        self.send_header("Content-Type", "application/did+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.routes = {}
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _publish(server: _Server, *segments: str) -> tuple[str, PrivateKey]:
    """Serve a DID document for did:web:localhost%3A<port>[:segment…] (did:web Read steps 1-5)."""
    did = f"did:web:localhost%3A{server.server_address[1]}" + "".join(f":{s}" for s in segments)
    key = PrivateKey.generate("ES256")
    doc = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": [
            {"id": f"{did}#key-1", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": key.public_key.jwk}
        ],
        "assertionMethod": [f"{did}#key-1"],
    }
    location = "/" + "/".join(segments) + "/did.json" if segments else "/.well-known/did.json"
    server.routes[location] = (200, json.dumps(doc).encode())
    return did, key


def test_resolve_did_web_on_loopback_with_the_flag(govssi: Any, server: _Server) -> None:
    did, key = _publish(server, "issuer", "dept-7")
    out = _ok(govssi("did", "resolve", did, "--allow-http-loopback"))
    assert out["id"] == did
    assert DidDocument.from_json(out).public_key("#key-1", "assertionMethod") == key.public_key


def test_resolve_did_web_well_known(govssi: Any, server: _Server) -> None:
    did, _ = _publish(server)
    assert _ok(govssi("did", "resolve", did, "--allow-http-loopback"))["id"] == did


def test_did_web_on_loopback_is_refused_without_the_flag(govssi: Any, server: _Server) -> None:
    did, _ = _publish(server)
    out = _failure(govssi("did", "resolve", did))
    assert out["error"] == "internalError"
    assert "non-public address" in out["error_description"]


def test_did_web_not_found(govssi: Any, server: _Server) -> None:
    did = f"did:web:localhost%3A{server.server_address[1]}:nobody"
    assert _failure(govssi("did", "resolve", did, "--allow-http-loopback"))["error"] == "notFound"


def test_did_key_for_each_algorithm(govssi: Any) -> None:
    for alg in ("EdDSA", "ES256", "ES256K"):
        key = PrivateKey.generate(alg).public_key
        out = _ok(govssi("did", "resolve", did_key_from_public_key(key)))
        assert DidDocument.from_json(out).public_key(out["authentication"][0]) == key
