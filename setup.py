"""Build step beyond pyproject.toml: the SD-JWT / JOSE hot path compiled with Cython (ssi/_compiled.py says why).

The modules in ``ssi._compiled.MODULES`` are compiled from their unchanged ``.py`` source. The build is optional: when
Cython or a C compiler is missing, setuptools reports it and the Python source runs. Next to each extension module
this writes ``<file>.sha256``, the SHA-256 of the source it came from; ``ssi._compiled.CompiledGuard`` loads a build
only when that record matches the source beside it. Generated C goes to ``build/cython``, not into the source tree,
each ``.c`` with the same kind of record: C whose record does not match its source is generated again, whatever the
files' times say (cythonize itself goes by times).

    .venv/bin/python setup.py build_ext --inplace      # what `make ext` runs (in well under a second when current)
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


#: Generated C, out of the source tree. Each ``.c`` has a ``.c.sha256`` beside it: the source it was generated from.
C_DIR = "build/cython"


def _c_file(name: str) -> Path:
    return ROOT / C_DIR / (name.replace(".", "/") + ".c")


def _record(path: Path) -> Path:
    return Path(str(path) + _COMPILED.SOURCE_HASH_SUFFIX)  # type: ignore[attr-defined]


def _recorded(path: Path) -> str | None:
    try:
        return _record(path).read_text(encoding="ascii").strip()
    except OSError:
        return None


class CythonBuildExt(build_ext):
    """build_ext that turns the ``.py`` sources into C first (skipped, with a message, when Cython is missing), then
    records beside each extension the hash of the source its C was generated from."""

    def finalize_options(self) -> None:
        # before setuptools prepares the extensions: it keeps per-extension state on the objects cythonize returns
        try:
            from Cython.Build import cythonize
        except ImportError:
            print("govssi: Cython is not installed; the Python source of the SD-JWT/JOSE modules will run")
            self.distribution.ext_modules = []
        else:
            hashes = {name: _COMPILED.source_hash(ROOT / _source(name)) for name in MODULES}  # type: ignore[attr-defined]
            for name, digest in hashes.items():
                # cythonize regenerates C by timestamps; a source put back with an older time would keep stale C
                if _recorded(_c_file(name)) != digest:
                    _c_file(name).unlink(missing_ok=True)
            extensions = cythonize(
                self.distribution.ext_modules,
                build_dir=str(ROOT / C_DIR),
                quiet=True,
                compiler_directives={
                    "language_level": 3,
                    # annotations are documentation, as in CPython: a compiled function takes what the source takes
                    "annotation_typing": False,
                },
            )
            for ext in extensions:
                ext.optional = True  # cythonize's copies drop it: without a C compiler the install goes on
            for name, digest in hashes.items():
                _record(_c_file(name)).write_text(digest + "\n", encoding="ascii")
            self.distribution.ext_modules = extensions
        super().finalize_options()
        if self.parallel is None:  # pip's build runs one compiler at a time unless told; each module is its own file
            self.parallel = os.cpu_count() or 1

    def build_extension(self, ext: Extension) -> None:
        super().build_extension(ext)
        _record_build(Path(self.get_ext_fullpath(ext.name)), ext.name)

    def copy_extensions_to_source(self) -> None:
        """Editable installs build elsewhere and copy the extension modules into the source tree: the records too."""
        super().copy_extensions_to_source()
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            package, _, _ = ext.name.rpartition(".")
            filename = Path(self.get_ext_filename(self.get_ext_fullname(ext.name))).name
            _record_build(Path(build_py.get_package_dir(package)) / filename, ext.name)


def _record_build(built: Path, name: str) -> None:
    """``<extension file>.sha256``: the source of the C the extension was compiled from (an optional extension that
    failed to build leaves no file, and no record)."""
    digest = _recorded(_c_file(name))
    if built.is_file() and digest is not None:
        _record(built).write_text(digest + "\n", encoding="ascii")


setup(
    ext_modules=[Extension(name, [_source(name)], optional=True) for name in MODULES],
    cmdclass={"build_ext": CythonBuildExt},
)
