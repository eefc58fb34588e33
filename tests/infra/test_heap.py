"""infra.heap: the start-up heap frozen out of the cyclic collector for the app's life, given back afterwards."""

from __future__ import annotations

import gc

import pytest

from infra.heap import startup_heap_frozen


def test_frozen_inside_given_back_after() -> None:
    gc.unfreeze()
    kept = [object() for _ in range(100)]
    with startup_heap_frozen():
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_freeze_count() == 0


def test_given_back_when_the_app_fails() -> None:
    gc.unfreeze()
    with pytest.raises(RuntimeError), startup_heap_frozen():
        raise RuntimeError("start-up failed")
    assert gc.get_freeze_count() == 0
