"""Every help text of the ``govssi`` command line reaches the reader whole.

Typer renders help with rich markup, where ``[word …]`` is a style tag and vanishes: "[default: <data dir>/demo]"
was shown as nothing at all. Literal brackets must be written ``\\[``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from rich.text import Text
from typer.testing import CliRunner

from govssi.cli import app


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree (typer's own click objects), groups included."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = list(_commands(ROOT))


def _texts(command: Any) -> Iterator[tuple[str, str]]:
    for label, text in (("help", command.help), ("short_help", command.short_help), ("epilog", command.epilog)):
        if text:
            yield label, text
    for param in command.params:
        text = getattr(param, "help", None)
        if text:
            yield f"--{param.name}", text


def test_command_tree_is_walked() -> None:
    """The walk reaches the nested commands the README names (not only the top level)."""
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"demo", "wallet eid change-pin", "ledger dev-accredit", "issuer offer", "verifier serve"} <= paths


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "govssi" for p, _ in COMMANDS])
def test_help_text_survives_rich_markup(path: tuple[str, ...], command: Any) -> None:
    """No help text of the command or its options loses characters to rich markup."""
    for where, text in _texts(command):
        shown = Text.from_markup(text).plain
        assert shown == text.replace("\\[", "["), f"govssi {' '.join(path)} {where}: {text!r} is shown as {shown!r}"


def test_demo_data_dir_default_is_shown() -> None:
    """The regression seen by a newcomer: ``govssi demo --help`` names the --data-dir default."""
    result = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "[default: <data dir>/demo]" in result.output
