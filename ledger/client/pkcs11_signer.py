"""A :class:`~ledger.client.signer.ChainSigner` whose secp256k1 key lives in a PKCS#11 token.

The token's ``CKM_ECDSA`` signs the keccak-256 digest as it is and returns raw ``r ‖ s`` (PKCS#11 v2.40 Current
Mechanisms §2.3.7); :func:`~ledger.client.signer.recoverable_signature` turns that into Ethereum's ``(v, r, s)``:
it verifies the signature under the token's public key, makes ``s`` low (EIP-2) and finds the recovery id. The
private key never leaves the token.

    with Pkcs11Token(module, "issuer-hsm", read_pin()) as token:
        chain_signer = Pkcs11ChainSigner(token.signer(label="chain-key"))   # an ES256K key
        client.transact(registry.functions.setAttribute(...), sender=chain_signer)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.client.signer import RecoverableSignature, ethereum_address, recoverable_signature
from ssi.errors import KeyError_

if TYPE_CHECKING:  # at run time the signer is taken as it comes, so importing this module does not load python-pkcs11
    from ssi.keys import Pkcs11Signer

__all__ = ["Pkcs11ChainSigner"]


class Pkcs11ChainSigner:
    """Chain account of an ES256K :class:`ssi.keys.Pkcs11Signer` (``Pkcs11Token.generate_key("ES256K", ...)``)."""

    __slots__ = ("_point", "_signer", "address", "public_key")

    def __init__(self, signer: Pkcs11Signer) -> None:
        if signer.alg != "ES256K":
            raise KeyError_("a chain account needs a secp256k1 (ES256K) key", reason="wrong_curve")
        self._signer = signer
        self.public_key = signer.public_key
        self._point = signer.public_key.raw_bytes(compressed=False)[1:]
        self.address = ethereum_address(signer.public_key)

    def sign_digest(self, digest: bytes) -> RecoverableSignature:
        """Sign a 32-byte digest as it is (Yellow Paper App. F ``ECDSASIGN``); ``s`` is low (EIP-2)."""
        if not isinstance(digest, bytes | bytearray) or len(digest) != 32:
            raise ValueError("a chain signer signs exactly 32 bytes (a keccak-256 digest)")
        raw = self._signer.sign_digest(bytes(digest))
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        return recoverable_signature(bytes(digest), r, s, self._point)

    def __repr__(self) -> str:
        return f"Pkcs11ChainSigner(address={self.address!r})"

    def __reduce__(self) -> Any:
        raise TypeError("Pkcs11ChainSigner cannot be pickled")
