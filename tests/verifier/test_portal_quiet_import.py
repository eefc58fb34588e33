"""The demo portal starts without a third-party deprecation warning on stderr.

authlib 1.9 prints "AuthlibDeprecationWarning: The httpx module is deprecated; please use httpx2 instead." when
imported on httpx; a newcomer saw it at the top of every ``govssi demo`` boot and every ``python -m verifier.portal``.
"""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_portal_prints_no_authlib_httpx_warning() -> None:
    """In a fresh interpreter (the filter must act on the first import) with warnings shown by default."""
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import verifier.portal"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "httpx module is deprecated" not in result.stderr
    assert "AuthlibDeprecationWarning" not in result.stderr


def test_the_portal_registration_command_writes_only_json() -> None:
    """``python -m verifier.portal registration`` (README, "Each service on its own"): JSON on stdout, stderr empty."""
    result = subprocess.run(
        [sys.executable, "-m", "verifier.portal", "registration", "--base-url", "http://127.0.0.1:8004"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.lstrip().startswith("{") and '"redirect_uris"' in result.stdout
