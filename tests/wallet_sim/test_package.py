"""The package's public API: every documented name resolves, and importing the package stays light (so
``wallet_sim.eid`` does not pull the HTTP client and image decoders)."""

from __future__ import annotations

import subprocess
import sys

import wallet_sim


def test_every_export_resolves() -> None:
    for name in wallet_sim.__all__:
        assert getattr(wallet_sim, name) is not None


def test_import_is_light() -> None:
    code = (
        "import sys, wallet_sim; print(sorted(m for m in ('httpx', 'zxingcpp', 'PIL', 'argon2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
