"""The compiled SD-JWT/JOSE modules (setup.py, ssi/_compiled.py): what runs is what the source says.

- The test suite runs the compiled build (the README's test command builds it), so every SD-JWT rule test is also a
  test of the compiled code.
- ``GOVSSI_PURE_PYTHON=1`` runs the Python source, and both give the same credentials, presentations, verification
  results and error codes for the same input (Ed25519 signatures and seeded salts are deterministic).
- A build that does not match the source beside it is never loaded.
"""

from __future__ import annotations

import importlib.machinery
import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from ssi import _compiled
from ssi._compiled import MODULES, PURE_PYTHON_ENV, CompiledGuard, compiled_status, source_hash

ROOT = Path(__file__).resolve().parents[2]

#: Issues, presents and verifies one SD-JWT VC (deterministically), then verifies tampered variants; prints JSON.
_SCRIPT = r"""
import json, random, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ssi._compiled import compiled_status
from ssi.clock import FrozenClock
from ssi.errors import SsiError
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import issue_sd_jwt_vc, verify_sd_jwt_vc

class Seeded:
    def __init__(self, seed): self._rng = random.Random(seed)
    def token_bytes(self, n): return self._rng.randbytes(n)
    def randbelow(self, n): return self._rng.randrange(n)

issuer = PrivateKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
holder = PrivateKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64))))
clock = FrozenClock(1_790_000_000)
claims = {"given_name": "ERIKA", "family_name": "MUSTERMANN", "birthdate": "1964-08-12",
          "address": {"locality": "KÖLN", "postal_code": "51147", "street_address": "HEIDESTRASSE 17"},
          "nationalities": ["DE", "AT"], "age_equal_or_over": {"18": True, "65": False}, "n": 1.5, "big": 2**70}
paths = [("given_name",), ("family_name",), ("birthdate",), ("address",), ("address", "locality"),
         ("address", "postal_code"), ("nationalities", 0), ("nationalities", 1), ("age_equal_or_over", "18"), ("n",)]
issued = issue_sd_jwt_vc(claims, SoftwareSigner(issuer, kid="k1"), vct="urn:eudi:pid:de:1", issuer="https://i.example",
                         holder_jwk=holder.public_key, status={"status_list": {"idx": 7, "uri": "https://i.example/s"}},
                         disclosable=paths, valid_for=86400, clock=clock, decoys=3, rng=Seeded(5))
held = HeldSdJwt.parse(issued.compact)
shown = [("given_name",), ("address", "locality"), ("nationalities", 1)]
presentation = held.present(shown, holder=SoftwareSigner(holder), audience="https://v.example", nonce="n1", clock=clock)
policy = VerificationPolicy(algorithms=frozenset({"EdDSA"}), kb_algorithms=frozenset({"EdDSA"}),
                            audience="https://v.example", nonce="n1")

def verify(text):
    try:
        result = verify_sd_jwt_vc(text, issuer.public_key, policy, clock=clock)
    except SsiError as exc:
        return {"error": exc.reason, "description": exc.description}
    return {"claims": result.claims, "disclosed": [list(map(str, d.path)) for d in result.disclosed],
            "kb": result.key_binding}

sd_jwt, kb = presentation.rsplit("~", 1)
parts = sd_jwt.split("~")
tampered = [
    presentation,
    sd_jwt + "~",                                       # KB-JWT missing
    "~".join(parts[:1] + parts[2:]) + "~" + kb,          # a Disclosure dropped
    "~".join(parts[:1] + parts[1:][::-1]) + "~" + kb,    # reordered
    "~".join(parts + [parts[1]]) + "~" + kb,             # duplicated
    presentation[:-3] + "AAA",                           # KB signature broken
    "x" + presentation,                                  # header broken
    presentation.replace("~", "~~", 1),                  # empty Disclosure
]
print(json.dumps({"status": compiled_status(), "issued": issued.compact,
                  "disclosures": [[d.salt, d.name, d.value] for d in issued.disclosures],
                  "presentation": presentation, "results": [verify(t) for t in tampered]}, sort_keys=True))
"""


def _run(pure: bool) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != PURE_PYTHON_ENV}
    if pure:
        env[PURE_PYTHON_ENV] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_the_test_suite_runs_the_compiled_build() -> None:
    """The README's test command builds the modules (``make test`` → ``make ext``); without the build these tests
    would test only the Python source. Run ``make ext`` if this fails after a source change outside make."""
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        assert set(compiled_status().values()) == {f"python ({PURE_PYTHON_ENV}=1)"}
        return
    status = compiled_status()
    assert set(status) == set(MODULES)
    if set(status.values()) == {"python (no build)"} and shutil.which(_c_compiler()) is None:
        pytest.skip(f"no C compiler ({_c_compiler()}): the install skipped the build, the Python source runs")
    not_compiled = {name: how for name, how in status.items() if how != "compiled"}
    assert not not_compiled, f"modules running as Python source (run `make ext`): {not_compiled}"


def _c_compiler() -> str:
    """The compiler setuptools would run (the one this Python was built with, or ``$CC``)."""
    command = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return str(command).split()[0]


def test_compiled_and_python_source_give_the_same_results() -> None:
    """Same credential text (Disclosures, salts, decoys, signature), same presentation, same verified claims and
    the same error code for each tampered presentation (RFC 9901 §7.1, §7.3)."""
    pure, compiled = _run(pure=True), _run(pure=False)
    assert set(pure.pop("status").values()) == {f"python ({PURE_PYTHON_ENV}=1)"}  # type: ignore[attr-defined]
    assert set(compiled.pop("status").values()) == {"compiled"}  # type: ignore[attr-defined]
    assert pure == compiled
    results = compiled["results"]
    assert isinstance(results, list)
    assert results[0]["claims"]["address"] == {"locality": "KÖLN", "street_address": "HEIDESTRASSE 17"}
    assert results[0]["claims"]["nationalities"] == ["AT"]
    assert [r.get("error") for r in results[1:]] == [
        "kb_missing",
        "kb_sd_hash_mismatch",
        "kb_sd_hash_mismatch",
        "duplicate_disclosure",
        "kb_invalid_signature",
        "malformed_header",
        "malformed_sd_jwt",
    ]


def _fake_package(tmp_path: Path, *, record: str | None) -> tuple[Path, Path]:
    package = tmp_path / "pkgx"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = package / "mod.py"
    source.write_text("VALUE = 'python source'\n")
    build = package / f"mod{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    build.write_bytes(b"\x7fELF not really")  # never loaded: find_spec only decides
    if record is not None:
        Path(str(build) + _compiled.SOURCE_HASH_SUFFIX).write_text(record + "\n")
    return source, build


@pytest.mark.parametrize(
    ("pure", "chosen", "status"),
    [(False, "build", "compiled"), (True, "source", f"python ({PURE_PYTHON_ENV}=1)")],
)
def test_a_build_of_this_source_is_chosen_unless_pure_python_is_set(
    tmp_path: Path, pure: bool, chosen: str, status: str
) -> None:
    source, build = _fake_package(tmp_path, record=None)
    Path(str(build) + ".sha256").write_text(source_hash(source) + "\n")
    guard = CompiledGuard(["pkgx.mod"], pure=pure)
    spec = guard.find_spec("pkgx.mod", [str(source.parent)])
    assert spec is not None and spec.origin == str(build if chosen == "build" else source)
    assert guard.status == {"pkgx.mod": status}


@pytest.mark.parametrize("record", [None, "0" * 64, "not a hash"])
def test_a_stale_or_unrecorded_build_is_not_loaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, record: str | None
) -> None:
    """A build from another version of the source (a pull or an edit after ``make``) runs the ``.py`` instead."""
    source, _ = _fake_package(tmp_path, record=record)
    guard = CompiledGuard(["pkgx.mod"], pure=False)
    with caplog.at_level(logging.WARNING, logger="ssi.compiled"):
        spec = guard.find_spec("pkgx.mod", [str(source.parent)])
    assert spec is not None and spec.origin == str(source)
    assert guard.status == {"pkgx.mod": "python (stale build)"}
    assert "pkgx.mod: the compiled module was built from another version of mod.py" in caplog.text


def test_other_modules_are_left_to_the_import_system(tmp_path: Path) -> None:
    source, _ = _fake_package(tmp_path, record="0" * 64)
    guard = CompiledGuard(["pkgx.mod"], pure=False)
    assert guard.find_spec("pkgx.other", [str(source.parent)]) is None
    assert guard.find_spec("json", None) is None
    assert guard.status == {}


def _scratch_tree(tmp_path: Path) -> dict[str, str]:
    """The files setup.py needs, copied without any build; the environment for a build with no C compiler."""
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "ssi", tmp_path / "ssi", ignore=shutil.ignore_patterns("*.so", "*.sha256", "__pycache__"))
    env = {**os.environ, "CC": str(tmp_path / "no-such-cc")}
    env.pop(PURE_PYTHON_ENV, None)
    return env


def _build_in_place(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_a_c_compiler_the_build_is_skipped_and_the_source_runs(tmp_path: Path) -> None:
    """setup.py's extensions are optional (cythonize's copies of them lose the flag; setup.py sets it again): with no
    C compiler the build warns, leaves no extension module and no record, and the Python source runs."""
    pytest.importorskip("Cython")
    env = _scratch_tree(tmp_path)
    build = _build_in_place(tmp_path, env)
    assert build.returncode == 0, build.stderr[-2000:]
    assert 'building extension "ssi.sd_jwt.verify" failed' in build.stderr
    assert not list((tmp_path / "ssi").rglob("*.so")) and not list((tmp_path / "ssi").rglob("*.so.sha256"))
    run = subprocess.run(
        [sys.executable, "-c", "import json, ssi._compiled as c; print(json.dumps(c.compiled_status()))"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert set(json.loads(run.stdout).values()) == {"python (no build)"}


def test_generated_c_follows_the_source_content_not_its_timestamp(tmp_path: Path) -> None:
    """cythonize regenerates C when the source is newer; a source put back with an older time (``cp -p``, an
    archive) must still get new C, or the build would record the new source's hash for the old code."""
    pytest.importorskip("Cython")
    env = _scratch_tree(tmp_path)
    assert _build_in_place(tmp_path, env).returncode == 0
    source, c_file = tmp_path / "ssi/sd_jwt/vc.py", tmp_path / "build/cython/ssi/sd_jwt/vc.c"
    assert Path(str(c_file) + ".sha256").read_text().strip() == source_hash(source)
    old = c_file.stat().st_mtime - 3600
    source.write_text(source.read_text() + "\nMARKER_FOR_THE_REBUILD = 1\n")
    os.utime(source, (old, old))  # older than the C generated from the previous text
    assert _build_in_place(tmp_path, env).returncode == 0
    assert "MARKER_FOR_THE_REBUILD" in c_file.read_text()
    assert Path(str(c_file) + ".sha256").read_text().strip() == source_hash(source)
