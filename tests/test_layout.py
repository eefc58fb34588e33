"""The test tree's own rules: pytest imports test modules by basename (rootdir-relative "prepend" import mode, no
``__init__.py`` files), so two test or support modules with the same file name in different directories would fail to
collect — the failure CI saw when tests/verifier/test_cli.py met tests/issuer/test_cli.py."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parent


def test_module_basenames_are_unique() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name in {"__init__.py", "conftest.py"} or "node_modules" in path.parts:
            continue
        if "migrations_sample" in path.parts:  # loaded by Alembic from its directory, never imported by pytest
            continue
        seen[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"test modules sharing a basename: {clashes}"
