"""``bench/`` is not an installed package: make the repository root importable for the benchmark smoke tests
(``python -m pytest`` has it on sys.path already; the ``pytest`` script does not)."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
