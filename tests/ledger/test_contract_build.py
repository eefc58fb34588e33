"""The committed contract artifacts are exactly what the pinned compiler makes of the committed sources.

DESIGN.md §3 (Chain): artifacts are committed, and a test checks they match the sources when node is present.
Issue 4: pinned solc-js, standard JSON, optimizer on, ``evmVersion`` paris (the Clique network model runs a
pre-Shanghai VM without PUSH0).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from ledger import build
from ledger.contracts import DID_REGISTRY, STATUS_LIST_ANCHOR, TRUSTED_ISSUER_REGISTRY, load_artifact

PUSH0, PUSH1, PUSH32 = 0x5F, 0x60, 0x7F

needs_toolchain = pytest.mark.skipif(
    build.toolchain_missing() is not None,
    reason=f"recompiling the contracts needs node and npm: {build.toolchain_missing()}",
)


def committed_artifacts() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(build.ARTIFACTS_DIR.glob("*.json"))}


def test_every_contract_has_an_artifact() -> None:
    """Each ``ledger/contracts/*.sol`` has a committed artifact (named after the file's contract), and it loads."""
    sources = sorted(path.stem for path in build.CONTRACTS_DIR.glob("*.sol"))
    assert set(sources) <= {Path(name).stem for name in committed_artifacts()}
    for name in sources:
        assert load_artifact(name).contract_name == name


def test_artifact_records_the_source_hash() -> None:
    """Runs without node: an edited source whose artifact was not rebuilt fails here (SHA-256 of the source bytes)."""
    for name in committed_artifacts():
        artifact = load_artifact(Path(name).stem)
        source = build.LEDGER_DIR.parent / artifact.source_name
        assert hashlib.sha256(source.read_bytes()).hexdigest() == artifact.source_sha256, f"rebuild {name}"


def test_compiler_pinned_exactly_and_settings_fixed() -> None:
    """Issue 4: exact solc-js version in package.json, lock file, and pragma; optimizer 200 runs; evmVersion paris."""
    version = build.pinned_solc_version()
    assert re.fullmatch(r"0\.8\.\d+", version)
    lock = json.loads((build.SOLC_DIR / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/solc"]["version"] == version
    assert lock["packages"][""]["dependencies"]["solc"] == version
    for path in build.CONTRACTS_DIR.glob("*.sol"):
        assert f"pragma solidity {version};" in path.read_text(), f"{path.name} must pin pragma {version} exactly"
    artifact = load_artifact(DID_REGISTRY)
    assert artifact.compiler_version.startswith(version + "+commit.")
    assert artifact.settings["optimizer"] == {"enabled": True, "runs": 200}
    assert artifact.settings["evmVersion"] == "paris"
    assert artifact.settings == build.SETTINGS


def opcodes(code: bytes) -> list[int]:
    """The opcodes of EVM ``code``, skipping PUSH data."""
    ops, pc = [], 0
    while pc < len(code):
        op = code[pc]
        ops.append(op)
        pc += 1 + (op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0)
    return ops


@pytest.mark.parametrize("name", [path.stem for path in sorted(build.ARTIFACTS_DIR.glob("*.json"))])
def test_no_push0_for_the_pre_shanghai_vm(name: str) -> None:
    """evmVersion paris: no runtime code contains PUSH0 (EIP-3855, Shanghai), so it runs on the Clique model."""
    artifact = load_artifact(name)
    runtime = bytes.fromhex(artifact.deployed_bytecode[2:])
    # the CBOR metadata trailer is data, not code: its length is in the last two bytes
    code = runtime[: -(int.from_bytes(runtime[-2:], "big") + 2)]
    assert PUSH0 not in opcodes(code)
    assert opcodes(bytes([PUSH0, PUSH1, PUSH0])) == [PUSH0, PUSH1]  # the scanner itself skips push data


def test_govssi_contracts_are_built_and_within_the_code_size_limit() -> None:
    """The three contracts have artifacts (interfaces have none: nothing to deploy), each runtime below EIP-170's
    24,576 bytes, so any EVM chain accepts them without raising ``contractSizeLimit``."""
    assert {path.stem for path in build.ARTIFACTS_DIR.glob("*.json")} == {
        DID_REGISTRY,
        TRUSTED_ISSUER_REGISTRY,
        STATUS_LIST_ANCHOR,
    }
    for name in (DID_REGISTRY, TRUSTED_ISSUER_REGISTRY, STATUS_LIST_ANCHOR):
        assert len(bytes.fromhex(load_artifact(name).deployed_bytecode[2:])) < 24_576


@needs_toolchain
def test_recompiling_reproduces_the_committed_artifacts_byte_for_byte() -> None:
    """DESIGN.md §3: recompiling with the pinned solc-js gives exactly the committed artifacts, or this fails."""
    rebuilt = build.compile_artifacts()
    assert build.differences(rebuilt) == []
    assert rebuilt == committed_artifacts()


@needs_toolchain
def test_a_changed_source_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The byte comparison catches even a comment-only change (the source hash and the metadata hash change)."""
    contracts = tmp_path / "contracts"
    shutil.copytree(build.CONTRACTS_DIR, contracts)
    source = contracts / f"{DID_REGISTRY}.sol"
    source.write_text(source.read_text() + "// a comment\n")
    monkeypatch.setattr(build, "CONTRACTS_DIR", contracts)
    assert build.differences(build.compile_artifacts()) == [f"{DID_REGISTRY}.json"]


@needs_toolchain
def test_build_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m ledger.build --check`` exits 0 when the artifacts are current and writes nothing."""
    before = committed_artifacts()
    assert build.main(["--check"]) == 0
    assert "match" in capsys.readouterr().out
    assert committed_artifacts() == before
