"""Compile ``ledger/contracts/*.sol`` into the committed ``ledger/artifacts/*.json`` with a pinned solc-js.

DESIGN.md §3 (Chain): contracts are compiled with a pinned ``solc`` (the npm package, solc-js) by a script that writes
``ledger/artifacts/*.json``; the artifacts are committed, and a test checks they match the sources when node is present.

The compiler is pinned twice: exactly in ``ledger/solc/package.json`` (with ``package-lock.json``, installed by
``npm ci`` into ``ledger/solc/node_modules``) and by the exact ``pragma solidity`` of every contract. Settings are fixed
here: optimizer on with 200 runs, ``evmVersion`` paris (the Clique network model runs a pre-Shanghai VM without PUSH0).
Compilation is deterministic, so rebuilding from unchanged sources reproduces the artifacts byte for byte.

Usage: ``python -m ledger.build`` rewrites the artifacts; ``python -m ledger.build --check`` only compares (exit 1 on
any difference). Needs ``node`` and ``npm`` on PATH; nothing else of govssi.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

LEDGER_DIR = Path(__file__).resolve().parent
CONTRACTS_DIR = LEDGER_DIR / "contracts"
ARTIFACTS_DIR = LEDGER_DIR / "artifacts"
SOLC_DIR = LEDGER_DIR / "solc"

#: Fixed compiler settings (Solidity standard JSON ``settings``), recorded in every artifact.
SETTINGS: dict[str, Any] = {
    "evmVersion": "paris",
    "optimizer": {"enabled": True, "runs": 200},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}

#: Bounds for the external steps, so a broken toolchain fails instead of hanging.
NPM_TIMEOUT_S = 300
SOLC_TIMEOUT_S = 300


class ContractBuildError(RuntimeError):
    """The toolchain is missing or broken, or a contract does not compile cleanly (errors and warnings both count)."""


def pinned_solc_version() -> str:
    """The exact solc-js version from ``ledger/solc/package.json`` (no ranges allowed)."""
    manifest = json.loads((SOLC_DIR / "package.json").read_text(encoding="utf-8"))
    version = manifest["dependencies"]["solc"]
    if not isinstance(version, str) or not version[:1].isdigit():
        raise ContractBuildError(f"ledger/solc/package.json must pin solc exactly, found {version!r}")
    return version


def toolchain_missing() -> str | None:
    """Why the build cannot run here (``node`` or ``npm`` not on PATH), or None when it can."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not on PATH" if missing else None


def install_solc() -> None:
    """Install the pinned solc-js into ``ledger/solc/node_modules`` (``npm ci``: exactly the lock file) unless that
    version is there already. Concurrent builds (parallel test workers) wait for each other on a lock file."""
    installed = SOLC_DIR / "node_modules" / "solc" / "package.json"

    def present() -> bool:
        return installed.is_file() and json.loads(installed.read_text("utf-8")).get("version") == pinned_solc_version()

    if present():
        return
    reason = toolchain_missing()
    if reason:
        raise ContractBuildError(f"cannot install solc-js: {reason}")
    with (SOLC_DIR / ".npm-install.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not present():
                _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], timeout=NPM_TIMEOUT_S)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def contract_sources() -> dict[str, bytes]:
    """Every ``*.sol`` under ``ledger/contracts``, by file name, as bytes (hashed and compiled exactly as stored)."""
    return {path.name: path.read_bytes() for path in sorted(CONTRACTS_DIR.glob("*.sol"))}


def standard_json_input(sources: Mapping[str, bytes]) -> dict[str, Any]:
    """The Solidity standard JSON input for ``sources`` with the fixed :data:`SETTINGS`."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": content.decode("utf-8")} for name, content in sources.items()},
        "settings": SETTINGS,
    }


def compile_artifacts() -> dict[str, bytes]:
    """Compile the contracts and return the serialized artifacts by file name (``<Contract>.json``).

    Interfaces and abstract contracts (no creation code) get no artifact. Raises :class:`ContractBuildError` on any
    compiler error or warning.
    """
    install_solc()
    sources = contract_sources()
    if not sources:
        raise ContractBuildError(f"no contracts in {CONTRACTS_DIR}")
    result = json.loads(
        _run(
            ["node", str(SOLC_DIR / "compile.mjs")],
            stdin=json.dumps(standard_json_input(sources)),
            timeout=SOLC_TIMEOUT_S,
        )
    )
    version: str = result["version"]
    output: dict[str, Any] = result["output"]
    diagnostics = [d.get("formattedMessage") or d.get("message", "") for d in output.get("errors", [])]
    if diagnostics:
        raise ContractBuildError("solc reported:\n" + "\n".join(diagnostics))
    if not version.startswith(pinned_solc_version() + "+"):
        raise ContractBuildError(f"solc-js {version} is installed, but {pinned_solc_version()} is pinned")

    artifacts: dict[str, bytes] = {}
    for source_name, contracts in sorted(output["contracts"].items()):
        for contract_name, compiled in sorted(contracts.items()):
            if not compiled["evm"]["bytecode"]["object"]:
                continue  # an interface (or abstract contract): nothing to deploy, its ABI lives in its users
            artifact = {
                "contractName": contract_name,
                "sourceName": f"ledger/contracts/{source_name}",
                "sourceSha256": hashlib.sha256(sources[source_name]).hexdigest(),
                "compiler": {"name": "solc-js", "npmPackage": f"solc@{pinned_solc_version()}", "version": version},
                "settings": SETTINGS,
                "abi": compiled["abi"],
                "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            }
            artifacts[f"{contract_name}.json"] = (json.dumps(artifact, indent=2) + "\n").encode("utf-8")
    return artifacts


def differences(artifacts: Mapping[str, bytes]) -> list[str]:
    """File names whose committed artifact differs from ``artifacts`` in any byte, is missing, or is extra."""
    committed = {path.name: path.read_bytes() for path in ARTIFACTS_DIR.glob("*.json")}
    return sorted(name for name in committed.keys() | artifacts.keys() if committed.get(name) != artifacts.get(name))


def write_artifacts(artifacts: Mapping[str, bytes]) -> None:
    """Replace ``ledger/artifacts/*.json`` with ``artifacts``."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    for stale in ARTIFACTS_DIR.glob("*.json"):
        if stale.name not in artifacts:
            stale.unlink()
    for name, content in artifacts.items():
        (ARTIFACTS_DIR / name).write_bytes(content)


def _run(command: Sequence[str], *, stdin: str | None = None, timeout: float) -> str:
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
            list(command),
            cwd=SOLC_DIR,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ContractBuildError(f"{command[0]} failed: {exc}") from exc
    if completed.returncode != 0:
        raise ContractBuildError(f"{' '.join(command)} exited {completed.returncode}: {completed.stderr.strip()}")
    return completed.stdout


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ledger.build [--check]``: rebuild the committed artifacts, or check that they are current."""
    parser = argparse.ArgumentParser(prog="python -m ledger.build", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed artifacts; write nothing")
    args = parser.parse_args(argv)
    try:
        artifacts = compile_artifacts()
    except ContractBuildError as exc:
        sys.stderr.write(f"ledger.build: {exc}\n")
        return 1
    changed = differences(artifacts)
    if args.check:
        if changed:
            sys.stderr.write(f"ledger.build: artifacts differ from the sources: {', '.join(changed)}\n")
            return 1
        sys.stdout.write(f"artifacts match the sources ({len(artifacts)} contract(s))\n")
        return 0
    write_artifacts(artifacts)
    sys.stdout.write(f"wrote {len(artifacts)} artifact(s) to {ARTIFACTS_DIR} ({len(changed)} changed)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
