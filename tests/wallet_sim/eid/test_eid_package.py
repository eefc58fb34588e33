"""wallet_sim.eid's public API resolves, stays light (no HTTP client or image decoders), and the eID-Server side
(ssi.eid, ssi.pid) never imports the simulator."""

from __future__ import annotations

import subprocess
import sys

import ssi.eid
import wallet_sim.eid


def test_every_export_resolves() -> None:
    for module in (wallet_sim.eid, ssi.eid):
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_imports_stay_light_and_layered() -> None:
    code = (
        "import sys, ssi.eid, ssi.pid; "
        "server = sorted(m for m in sys.modules if m.startswith(('wallet_sim', 'issuer'))); "
        "import wallet_sim.eid; heavy = sorted(m for m in ('httpx', 'zxingcpp', 'PIL', 'argon2', 'fastapi') "
        "if m in sys.modules); print(server, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"
