"""The SD-JWT / JOSE hot path as compiled modules, and the guard that loads a compiled module only when it was built
from the source next to it.

``setup.py`` compiles the modules named in :data:`MODULES` with Cython from their unchanged Python source (no
``.pyx``, no type declarations: ``annotation_typing`` off, so a compiled function accepts and rejects exactly what
the Python source does). Next to each extension module it writes ``<extension file>.sha256``: the SHA-256 of the
``.py`` source it was compiled from. The build is optional: without a C compiler the Python source runs.

Python's import system prefers an extension module over a ``.py`` file of the same name. In an editable install
(``pip install -e``, ``make``) that would run a stale build after the source changed — a ``git pull``, an edit — so
:class:`CompiledGuard` (installed by ``ssi/__init__.py``) checks the hash first and loads the source instead of a
stale build, logging once per module. ``GOVSSI_PURE_PYTHON=1`` loads the Python source for every module (to compare,
or to debug with a Python debugger). :func:`compiled_status` says what was loaded; the benchmark prints it.

Standard library only: ``setup.py`` reads :data:`MODULES` from this file before any dependency is installed.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

#: The modules compiled by ``setup.py``: what one SD-JWT VC issuance, presentation and verification runs.
MODULES: tuple[str, ...] = (
    "ssi.encoding",
    "ssi.jose._jws",
    "ssi.jose._jwt",
    "ssi.keys._jwk",
    "ssi.keys._signer",
    "ssi.sd_jwt._common",
    "ssi.sd_jwt._processing",
    "ssi.sd_jwt._serialization",
    "ssi.sd_jwt.issue",
    "ssi.sd_jwt.present",
    "ssi.sd_jwt.verify",
    "ssi.sd_jwt.vc",
)

#: Set to ``1`` to run the Python source of every module in :data:`MODULES` although a build is there.
PURE_PYTHON_ENV = "GOVSSI_PURE_PYTHON"
#: Suffix of the file next to an extension module that holds the SHA-256 (hex) of the source it was built from.
SOURCE_HASH_SUFFIX = ".sha256"

_log = logging.getLogger("ssi.compiled")


def source_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a source file's octets, as ``setup.py`` records it."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _is_extension(origin: str) -> bool:
    return origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def build_matches_source(extension: str | os.PathLike[str], source: str | os.PathLike[str]) -> bool:
    """Whether the extension module file was compiled from exactly this source (its ``.sha256`` record matches)."""
    record = Path(str(extension) + SOURCE_HASH_SUFFIX)
    try:
        recorded = record.read_text(encoding="ascii").strip()
        return recorded == source_hash(source)
    except (OSError, UnicodeDecodeError):
        return False


class CompiledGuard(importlib.abc.MetaPathFinder):
    """Finds the modules in ``modules`` as the path finder does, but answers with the ``.py`` source when the
    extension module found is not a build of that source (or when ``pure`` is set). Every other module is left to the
    finders after it."""

    def __init__(self, modules: Sequence[str] = MODULES, *, pure: bool | None = None) -> None:
        self.modules = frozenset(modules)
        self.pure = os.environ.get(PURE_PYTHON_ENV, "") == "1" if pure is None else pure
        #: module name -> "compiled", or "python (...)" with the reason; filled as the modules are found
        self.status: dict[str, str] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.origin is None or not _is_extension(spec.origin):
            if spec is not None:
                self.status[fullname] = "python (no build)"
            return spec
        source = Path(spec.origin).with_name(fullname.rpartition(".")[2] + ".py")
        if not source.is_file():  # an installation without sources: the build is all there is
            self.status[fullname] = "compiled"
            return spec
        if self.pure:
            self.status[fullname] = f"python ({PURE_PYTHON_ENV}=1)"
        elif not build_matches_source(spec.origin, source):
            self.status[fullname] = "python (stale build)"
            _log.warning(
                "%s: the compiled module was built from another version of %s; running the Python source "
                "(rebuild: make ext)",
                fullname,
                source.name,
            )
        else:
            self.status[fullname] = "compiled"
            return spec
        return importlib.util.spec_from_file_location(fullname, source)


def install() -> CompiledGuard:
    """Put the guard in front of the import system's path finder (once per process: the one there is returned)."""
    for finder in sys.meta_path:
        if isinstance(finder, CompiledGuard):
            return finder
    guard = CompiledGuard()
    sys.meta_path.insert(0, guard)
    return guard


def compiled_status() -> dict[str, str]:
    """For each module in :data:`MODULES`, imported now if it was not: ``"compiled"`` or ``"python (<why>)"``."""
    guard = install()
    for name in MODULES:
        importlib.import_module(name)
    result: dict[str, str] = {}
    for name in MODULES:
        module = sys.modules[name]
        origin = getattr(module, "__file__", None) or ""
        result[name] = guard.status.get(name, "compiled" if _is_extension(origin) else "python")
    return result
