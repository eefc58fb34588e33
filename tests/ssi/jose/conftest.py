"""Shared keys and spec vectors for the JOSE tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from ssi.errors import KeyError_
from ssi.keys import ALGORITHMS, PublicKey, SoftwareSigner


class KidResolver:
    """A key resolver that looks keys up by ``kid`` and refuses unknown ones with an ``SsiError``."""

    def __init__(self, *signers: SoftwareSigner) -> None:
        self.keys = {s.kid: s.public_key for s in signers}
        self.calls: list[dict[str, Any]] = []

    def __call__(self, header: Mapping[str, Any]) -> PublicKey:
        self.calls.append(dict(header))
        kid = header.get("kid")
        if kid not in self.keys:
            raise KeyError_("unknown kid", reason="unknown_kid")
        return self.keys[kid]


@pytest.fixture(scope="session")
def signers() -> dict[str, SoftwareSigner]:
    """One software signer per supported algorithm, kid = algorithm name."""
    return {alg: SoftwareSigner.generate(alg, kid=alg) for alg in ALGORITHMS}


@pytest.fixture(params=sorted(ALGORITHMS))
def signer(request: pytest.FixtureRequest, signers: dict[str, SoftwareSigner]) -> SoftwareSigner:
    return signers[request.param]


@pytest.fixture(scope="session")
def resolver_for() -> type[KidResolver]:
    """``resolver_for(*signers)`` builds a kid → key resolver."""
    return KidResolver
