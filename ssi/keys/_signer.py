"""The ``Signer`` protocol: everything that signs in govssi goes through it.

A signer exposes its JWS ``alg``, an optional ``kid``, its public JWK and a ``sign(bytes)`` that returns the JWS
signature octets. Software keys, encrypted key files and PKCS#11 tokens (SoftHSM2 in tests, a real HSM in production)
are interchangeable behind it; nothing outside the signer ever sees private key material.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ssi.keys._jwk import PrivateKey, PublicKey


@runtime_checkable
class Signer(Protocol):
    """What a JWS producer needs from a key."""

    @property
    def alg(self) -> str: ...

    @property
    def kid(self) -> str | None: ...

    @property
    def public_jwk(self) -> dict[str, str]: ...

    def sign(self, data: bytes) -> bytes: ...


class SoftwareSigner:
    """A :class:`Signer` over an in-memory :class:`PrivateKey`."""

    __slots__ = ("_key", "_kid")

    def __init__(self, key: PrivateKey, kid: str | None = None) -> None:
        self._key = key
        self._kid = kid

    @classmethod
    def generate(cls, alg: str = "ES256", kid: str | None = None) -> SoftwareSigner:
        return cls(PrivateKey.generate(alg), kid)

    @property
    def alg(self) -> str:
        return self._key.alg

    @property
    def kid(self) -> str | None:
        return self._kid

    @property
    def public_jwk(self) -> dict[str, str]:
        return self._key.public_key.jwk

    @property
    def public_key(self) -> PublicKey:
        return self._key.public_key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:
        return f"SoftwareSigner(alg={self.alg!r}, kid={self._kid!r})"
