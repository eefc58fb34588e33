"""A throw-away SoftHSM2 (Debian's softhsm2) token directory for tests.

SoftHSM2 reads ``$SOFTHSM2_CONF`` (and with it the token directory) in ``C_Initialize``, and python-pkcs11 loads the
module once per process; so after pointing ``SOFTHSM2_CONF`` at a new directory and initialising its tokens with
``softhsm2-util``, the loaded module is re-initialised (``C_Finalize`` + ``C_Initialize``). Every
``Pkcs11Token`` of the previous directory must be closed by then.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pkcs11

#: Where Debian's softhsm2 package puts the module (the first is a symlink to the second).
MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
USER_PIN = "246810"
SO_PIN = "13579135"


def find_module() -> str | None:
    return next((path for path in MODULE_CANDIDATES if os.path.exists(path)), None)


def skip_reason() -> str | None:
    """Why SoftHSM2 tests cannot run here, or ``None``."""
    if find_module() is None:
        return f"SoftHSM2 is not installed (no {MODULE_CANDIDATES[0]}; apt-get install softhsm2)"
    if shutil.which("softhsm2-util") is None:
        return "softhsm2-util is not on PATH (apt-get install softhsm2)"
    return None


@dataclass
class SoftHsm:
    """A token directory with its own configuration file."""

    directory: Path
    module: str

    @classmethod
    def create(cls, directory: Path) -> SoftHsm:
        module = find_module()
        assert module is not None
        tokens = directory / "tokens"
        tokens.mkdir(parents=True)
        conf = directory / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        return cls(directory, module)

    @property
    def conf(self) -> Path:
        return self.directory / "softhsm2.conf"

    @property
    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}

    def init_token(self, label: str, pin: str = USER_PIN, so_pin: str = SO_PIN) -> None:
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
            timeout=30,
        )

    def activate(self) -> None:
        """Point this process's SoftHSM2 at this directory (re-initialising the module if it is loaded)."""
        os.environ["SOFTHSM2_CONF"] = str(self.conf)
        # The path Pkcs11Token uses (python-pkcs11 keeps one library object per path string). The first time this
        # loads and initialises the module with the new configuration ...
        lib = pkcs11.lib(os.path.realpath(self.module))
        lib.reinitialize()  # ... and every later time: C_Initialize re-reads the configuration and the tokens
