"""Build step beyond pyproject.toml: the SD-JWT / JOSE hot path compiled with Cython (ssi/_compiled.py says why).

The modules in ``ssi._compiled.MODULES`` are compiled from their unchanged ``.py`` source. The build is optional: when
Cython or a C compiler is missing, setuptools reports it and the Python source runs. Next to each extension module
this writes ``<file>.sha256``, the SHA-256 of the source it came from; ``ssi._compiled.CompiledGuard`` loads a build
only when that record matches the source beside it. Generated C goes to ``build/cython``, not into the source tree.

    .venv/bin/python setup.py build_ext --inplace      # what `make ext` runs after a source change
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def _compiled_module() -> object:
    """ssi/_compiled.py by its path (standard library only): importing ``ssi`` would need the dependencies."""
    spec = importlib.util.spec_from_file_location("_govssi_compiled", ROOT / "ssi" / "_compiled.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclass/typing machinery looks the module up while executing it
    spec.loader.exec_module(module)
    return module


_COMPILED = _compiled_module()
MODULES: tuple[str, ...] = _COMPILED.MODULES  # type: ignore[attr-defined]


def _source(name: str) -> str:
    return name.replace(".", "/") + ".py"


class CythonBuildExt(build_ext):
    """build_ext that turns the ``.py`` sources into C first (skipped, with a message, when Cython is missing), then
    records each extension's source hash beside it."""

    def finalize_options(self) -> None:
        # before setuptools prepares the extensions: it keeps per-extension state on the objects cythonize returns
        try:
            from Cython.Build import cythonize
        except ImportError:
            print("govssi: Cython is not installed; the Python source of the SD-JWT/JOSE modules will run")
            self.distribution.ext_modules = []
        else:
            self.distribution.ext_modules = cythonize(
                self.distribution.ext_modules,
                build_dir="build/cython",
                quiet=True,
                compiler_directives={
                    "language_level": 3,
                    # annotations are documentation, as in CPython: a compiled function takes what the source takes
                    "annotation_typing": False,
                },
            )
        super().finalize_options()
        if self.parallel is None:  # pip's build runs one compiler at a time unless told; each module is its own file
            self.parallel = os.cpu_count() or 1

    def build_extension(self, ext: Extension) -> None:
        super().build_extension(ext)
        _record_source(Path(self.get_ext_fullpath(ext.name)), ext.name)

    def copy_extensions_to_source(self) -> None:
        """Editable installs build elsewhere and copy the extension modules into the source tree: the records too."""
        super().copy_extensions_to_source()
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            package, _, _ = ext.name.rpartition(".")
            filename = Path(self.get_ext_filename(self.get_ext_fullname(ext.name))).name
            _record_source(Path(build_py.get_package_dir(package)) / filename, ext.name)


def _record_source(built: Path, name: str) -> None:
    """``<extension file>.sha256``: the source the extension was compiled from (an optional extension that failed
    to build leaves no file, and no record)."""
    if built.is_file():
        record = Path(str(built) + _COMPILED.SOURCE_HASH_SUFFIX)  # type: ignore[attr-defined]
        record.write_text(_COMPILED.source_hash(ROOT / _source(name)) + "\n", encoding="ascii")  # type: ignore[attr-defined]


setup(
    ext_modules=[Extension(name, [_source(name)], optional=True) for name in MODULES],
    cmdclass={"build_ext": CythonBuildExt},
)
