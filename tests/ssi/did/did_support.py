"""Helpers for the DID tests."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ssi.keys import PrivateKey

_ORDERS = {
    "ES256": (ec.SECP256R1(), 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
    "ES256K": (ec.SECP256K1(), 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141),
}


def private_key_from_secret(alg: str, secret: bytes) -> PrivateKey:
    """A deterministic key from 32 bytes (so hypothesis can shrink and replay examples)."""
    if alg == "EdDSA":
        return PrivateKey(ed25519.Ed25519PrivateKey.from_private_bytes(secret))
    curve, order = _ORDERS[alg]
    return PrivateKey(ec.derive_private_key(int.from_bytes(secret, "big") % (order - 1) + 1, curve))
