"""The pairwise pseudonym key (docs/privacy.md "Pseudonyms for portals"): from configuration or a random file, never
a constant in the code, never shorter than 32 bytes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ssi.encoding import b64url_encode
from verifier.oidc import OidcSettings, load_pairwise_secret

# --- OpenID Connect Core 1.0 §8.1 (pairwise sub "MUST NOT be reversible by any party other than the OpenID Provider";
# RFC 6819 §5.1.4.2.2 secrets of enough entropy): the pairwise key is never shorter than 32 bytes ---------------------


@pytest.mark.parametrize("content", ["", "\n", b64url_encode(b"short"), "not base64url!"])
def test_stored_pairwise_secret_that_is_short_or_corrupt_fails_at_start(tmp_path: Path, content: str) -> None:
    """An empty, truncated or corrupt ``pairwise.secret`` is refused when loaded (start-up), not used for pseudonyms
    nor discovered only at the first identifying login."""
    (tmp_path / "pairwise.secret").write_text(content, encoding="ascii")
    with pytest.raises(ValueError, match="pairwise"):
        load_pairwise_secret(OidcSettings(), tmp_path)


def test_stored_pairwise_secret_is_created_once_and_reused(tmp_path: Path) -> None:
    """The default secret is random (never a constant in the code), 32 bytes, and the same on the next start."""
    first = load_pairwise_secret(OidcSettings(), tmp_path)
    other = load_pairwise_secret(OidcSettings(), tmp_path / "other")
    assert len(first) == 32 and first != other
    assert load_pairwise_secret(OidcSettings(), tmp_path) == first
    assert (tmp_path / "pairwise.secret").stat().st_mode & 0o077 == 0
    assert base64.urlsafe_b64decode((tmp_path / "pairwise.secret").read_text() + "=") == first
