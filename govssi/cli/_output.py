"""How every ``govssi`` command reports results (DESIGN.md §3, a contract with scripts):

- success: one JSON object (or the command's documented text) on stdout, exit 0;
- a refused or failed check: ``{"error": ..., "error_description": ...}`` on stdout, one human line on stderr, exit 1;
- a usage error: one line on stderr, exit 2 (typer/click's own handling, plus :func:`usage_error`).
Never a traceback: :func:`guarded` turns every ``SsiError`` (and I/O errors) into the failure form.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer

from ssi.errors import SsiError

P = ParamSpec("P")
R = TypeVar("R")


def emit(obj: Any) -> None:
    """Print one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def fail(error: str, description: str, *, exit_code: int = 1) -> NoReturn:
    """Report a failed check: JSON on stdout, one line on stderr."""
    emit({"error": error, "error_description": description})
    sys.stderr.write(f"govssi: {description}\n")
    raise typer.Exit(exit_code)


def usage_error(description: str) -> NoReturn:
    """Report wrong usage: one line on stderr, exit 2."""
    sys.stderr.write(f"govssi: usage: {description}\n")
    raise typer.Exit(2)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command, mapping our errors to the failure form (exit 1)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SsiError as exc:
            # The CLI reports the specific rule (``reason``, e.g. ``kb_wrong_nonce``); HTTP endpoints use ``code``.
            fail(exc.reason, exc.description)
        except OSError as exc:
            fail("io_error", f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))

    return wrapper
