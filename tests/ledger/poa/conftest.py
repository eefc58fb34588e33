"""The PoA network model tests: in-process chains recover keys through the model's fast eth-keys backend, as the
node processes do (tests/ledger/poa/test_poa_ecrecover.py shows it answers exactly as eth-keys)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.poa import ecrecover


@pytest.fixture(autouse=True)
def _fast_recovery(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ECC_BACKEND_CLASS", ecrecover.BACKEND_PATH)
    yield
