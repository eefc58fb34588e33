"""Run the real ``govssi`` command in a subprocess, as scripts do."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

_SCRIPT = Path(sys.executable).with_name("govssi")
GOVSSI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from govssi.cli import main; main()"]

Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def govssi(tmp_path: Path) -> Runner:
    """``govssi(*args, env={...})`` runs the CLI in ``tmp_path`` with stdin not a terminal."""

    def run(*args: str, env: Mapping[str | bytes, str | bytes] | None = None) -> subprocess.CompletedProcess[str]:
        environ: dict[str | bytes, str | bytes] = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
        environ.update(env or {})
        return subprocess.run(
            [*GOVSSI, *args],
            cwd=tmp_path,
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run
