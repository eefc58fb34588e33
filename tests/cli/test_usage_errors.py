"""DESIGN.md §3 / issue "Foundation": every command reports a usage error as ONE line on stderr and exits 2 —
never click's multi-line panel, never a traceback. ``--help`` still works and exits 0."""

from __future__ import annotations

from typing import Any

import pytest

USAGE_ERRORS = [
    pytest.param([], id="no-command"),
    pytest.param(["nosuch"], id="unknown-command"),
    pytest.param(["keys"], id="group-without-command"),
    pytest.param(["keys", "generate"], id="missing-required-option"),
    pytest.param(["keys", "generate", "--alg", "RS256", "--out", "k.jwk"], id="bad-alg-value"),
    pytest.param(["keys", "generate", "--alg", "ES256", "--out", "k.jwk", "--bogus"], id="unknown-option"),
    pytest.param(["did", "resolve"], id="missing-argument"),
    pytest.param(["sdjwt", "verify", "x", "--issuer-jwk", "k", "--aud", "a"], id="aud-without-nonce"),
    pytest.param(
        ["sdjwt", "issue", "--claims", "c", "--issuer-key", "k", "--holder-jwk", "h", "--sd", "a", "--sd-all"],
        id="sd-and-sd-all",
    ),
    pytest.param(["ledger", "node", "--port", "notaport"], id="bad-int-option"),
]


@pytest.mark.parametrize("args", USAGE_ERRORS)
def test_usage_error_is_one_line_on_stderr_with_exit_2(govssi: Any, args: list[str]) -> None:
    result = govssi(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("govssi: usage: ")
    assert "Traceback" not in result.stderr and "╭" not in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["keys", "--help"], ["sdjwt", "verify", "--help"]])
def test_help_exits_0(govssi: Any, args: list[str]) -> None:
    result = govssi(*args)
    assert result.returncode == 0
    assert "Usage" in result.stdout
    assert result.stderr == ""
