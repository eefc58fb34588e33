"""Fixtures for the issuer tests: issuers on a fresh SQLite file (or PostgreSQL) with in-memory keys, a frozen clock,
and an in-process wallet that drives the protocol objects without HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from issuer_support import make_issuer
from protocol_support import T0, InProcessWallet

from issuer import Issuer
from ssi.clock import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def issuer(tmp_path: Path, clock: FrozenClock) -> Issuer:
    return make_issuer(tmp_path, clock=clock)


@pytest.fixture
def wallet(issuer: Issuer, clock: FrozenClock) -> InProcessWallet:
    return InProcessWallet(issuer, clock)


@pytest.fixture
def issuer_factory(tmp_path: Path, clock: FrozenClock) -> Callable[..., Issuer]:
    def build(**overrides: Any) -> Issuer:
        directory = tmp_path / f"i{len(list(tmp_path.iterdir()))}"
        directory.mkdir()
        return make_issuer(directory, clock=clock, **overrides)

    return build
