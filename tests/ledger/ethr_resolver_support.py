"""The reference did:ethr resolver (npm ``ethr-did-resolver``, pinned exactly in ``ledger/ethr-resolver/package.json``
with its lock file), installed on demand like ``ledger/solc`` (``npm ci`` under a file lock) and run by a small node
script (``ledger/ethr-resolver/resolve.mjs``) that prints the resolution results as JSON.

The newest ethr-did-resolver the npm registry offers is 11.1.3. It predates the current did:ethr spec's key table
(14.x implements it: ``publicKeyJwk`` for ``Secp256k1``, ``publicKeyMultibase`` for ``Ed25519``/``X25519``/
``Multikey``, ``@context`` per key type, ``#controllerKey`` as a JWK); :func:`to_current_spec` converts an 11.1.3
document into the current spec's representation with exactly that table, so everything else — which entries exist,
their ids, types, relationships, services, controllers, metadata — is compared as is.
"""

from __future__ import annotations

import base64
import fcntl
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import base58

from ledger.did_ethr._keys import ED25519_PUB, X25519_PUB, multibase_base58btc, secp256k1_jwk

RESOLVER_DIR = Path(__file__).resolve().parents[2] / "ledger" / "ethr-resolver"
NPM_TIMEOUT_S = 300
RESOLVE_TIMEOUT_S = 120


def pinned_version() -> str:
    version = json.loads((RESOLVER_DIR / "package.json").read_text("utf-8"))["dependencies"]["ethr-did-resolver"]
    assert isinstance(version, str) and version[:1].isdigit(), "ethr-did-resolver must be pinned exactly"
    return version


def install() -> str | None:
    """Install the pinned resolver (``npm ci``) unless present; return why it cannot be used, or ``None``."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not on PATH"
    installed = RESOLVER_DIR / "node_modules" / "ethr-did-resolver" / "package.json"

    def present() -> bool:
        return installed.is_file() and json.loads(installed.read_text("utf-8")).get("version") == pinned_version()

    if present():
        return None
    with (RESOLVER_DIR / ".npm-install.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not present():
                completed = subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                    cwd=RESOLVER_DIR,
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT_S,
                    check=False,
                )
                if completed.returncode != 0:
                    return f"npm ci of ethr-did-resolver failed: {completed.stderr.strip()[-300:]}"
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"npm ci of ethr-did-resolver failed: {exc}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return None if present() else "ethr-did-resolver is not installed after npm ci"


def resolve(rpc_url: str, registry: str, chain_id: int, now: int, dids: list[str]) -> dict[str, Any]:
    """ethr-did-resolver's resolution result for each DID (URL), resolving at time ``now``."""
    completed = subprocess.run(
        ["node", str(RESOLVER_DIR / "resolve.mjs"), rpc_url, registry, str(chain_id), str(now), *dids],
        cwd=RESOLVER_DIR,
        capture_output=True,
        text=True,
        timeout=RESOLVE_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results: dict[str, Any] = json.loads(completed.stdout)
    return results


#: ethr-did-resolver 11.x type names → the current spec's ("Known Key Types").
_TYPE_RENAMES = {
    "Ed25519VerificationKey2018": "Ed25519VerificationKey2020",
    "X25519KeyAgreementKey2019": "X25519KeyAgreementKey2020",
}


_KNOWN_TYPES = (
    "EcdsaSecp256k1VerificationKey2019",
    "Ed25519VerificationKey2020",
    "X25519KeyAgreementKey2020",
    "Multikey",
)
_ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "publicKeyHex": bytes.fromhex,
    "publicKeyBase58": lambda text: bytes(base58.b58decode(text)),
    "publicKeyBase64": base64.b64decode,
}


def to_current_spec(document: dict[str, Any]) -> dict[str, Any]:
    """An 11.x DID document in the current spec's key representation (no ``@context``, no empty sets)."""
    out = {name: value for name, value in document.items() if name != "@context" and value != []}
    methods = []
    for method in document.get("verificationMethod", []):
        converted = dict(method)
        converted["type"] = _TYPE_RENAMES.get(method["type"], method["type"])
        encoded = [name for name in _ENCODINGS if name in method]
        if encoded and converted["type"] in _KNOWN_TYPES:
            # 11.x honours the encoding hint for every type; the current spec only for unknown ones
            raw = _ENCODINGS[encoded[0]](converted.pop(encoded[0]))
            if converted["type"] == "EcdsaSecp256k1VerificationKey2019":
                converted["publicKeyJwk"] = secp256k1_jwk(raw)
            elif converted["type"] == "Ed25519VerificationKey2020":
                converted["publicKeyMultibase"] = multibase_base58btc(ED25519_PUB + raw)
            elif converted["type"] == "X25519KeyAgreementKey2020":
                converted["publicKeyMultibase"] = multibase_base58btc(X25519_PUB + raw)
            else:
                converted["publicKeyMultibase"] = multibase_base58btc(raw)
        methods.append(converted)
    if methods:
        out["verificationMethod"] = methods
    return out


def without_context(document: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != "@context"}


def multibase_bytes(value: str) -> bytes:
    assert value.startswith("z")
    return bytes(base58.b58decode(value[1:]))
