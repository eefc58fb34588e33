"""Test helpers for ``ssi.bbs``: where the draft's fixtures are, and the draft's mocked random scalars."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ssi.bbs import BLS12_381_SHA_256, BLS12_381_SHAKE_256, Ciphersuite
from ssi.bbs._suite import EXPAND_LEN, R

REPO_ROOT = Path(__file__).resolve().parents[3]
#: Test vectors of draft-irtf-cfrg-bbs-signatures (see its SOURCE.md); read from here, never copied.
FIXTURES = (REPO_ROOT / ".." / "shared" / "bbs-fixtures").resolve()
SUITE_DIRS: dict[str, Ciphersuite] = {
    "bls12-381-sha-256": BLS12_381_SHA_256,
    "bls12-381-shake-256": BLS12_381_SHAKE_256,
}

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(),
    reason=f"BBS fixtures not found at {FIXTURES} (expected ../shared/bbs-fixtures from the repo root)",
)


def load(suite_dir: str, name: str) -> Any:
    return json.loads((FIXTURES / suite_dir / name).read_text())


def seeded_random_scalars(seed: bytes, dst: bytes, suite: Ciphersuite) -> Callable[[int], list[int]]:
    """Draft §8.1 ``mocked_calculate_random_scalars(count) := seeded_random_scalars(SEED, DST, count)``:
    ``v = expand_message(SEED, DST, expand_len * count)``, ``r_i = OS2IP(v[(i-1)*expand_len .. i*expand_len-1]) mod
    r``."""

    def calculate(count: int) -> list[int]:
        # "ABORT if: count * expand_len > 65535"
        assert count * EXPAND_LEN <= 65535
        v = suite.expand_message(seed, dst, EXPAND_LEN * count)
        return [int.from_bytes(v[i * EXPAND_LEN : (i + 1) * EXPAND_LEN], "big") % R for i in range(count)]

    return calculate


def mocked_random_scalars(suite_dir: str) -> Callable[[int], list[int]]:
    """The mocked random scalars the suite's proof fixtures were made with (``mockedRng.json``: SEED and DST)."""
    rng = load(suite_dir, "mockedRng.json")
    return seeded_random_scalars(bytes.fromhex(rng["seed"]), bytes.fromhex(rng["dst"]), SUITE_DIRS[suite_dir])
