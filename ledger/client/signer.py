"""Chain signers: secp256k1 keys that sign 32-byte digests with a recoverable ECDSA signature.

Ethereum signs a keccak-256 digest and recovers the sender from the signature (Yellow Paper App. F: ``ECDSASIGN``
returns ``(v, r, s)``, ``ECDSARECOVER`` the public key; EIP-2: ``s`` must be at most ``n/2``). A JWS ``ES256K``
signer (RFC 8812 §3.2) hashes with SHA-256 inside and has no recovery id, so :class:`ssi.keys.Signer` cannot sign
transactions. :class:`ChainSigner` is the small protocol that can: an ``address`` and ``sign_digest(digest)``.

It is deliberately what a PKCS#11 token offers: ``CKM_ECDSA`` signs a pre-hashed digest and returns raw ``(r, s)``.
:func:`recoverable_signature` turns any such ``(r, s)`` into Ethereum's form — low-s normalisation (EIP-2), then the
recovery id found by trial recovery against the known public key — so a hardware signer only needs to wrap its raw
ECDSA call with it. :class:`SoftwareChainSigner` does exactly that over an :class:`ssi.keys.PrivateKey`
(``cryptography`` with a prehashed digest; deterministic RFC 6979 nonces when OpenSSL offers them, so its signatures
equal eth-keys').
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.backends.openssl.backend import backend as _openssl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature
from eth_keys.datatypes import Signature as _EthSignature
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ssi.errors import KeyError_
from ssi.keys import PrivateKey, PublicKey

__all__ = [
    "SECP256K1_N",
    "ChainSigner",
    "RecoverableSignature",
    "SoftwareChainSigner",
    "ethereum_address",
    "recover_address",
    "recoverable_signature",
]

#: Order of the secp256k1 group (SEC 2 §2.4.1).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2

# The digest is keccak-256, not SHA-256; Prehashed only needs a hash of the same length (32 bytes) to size the input.
_PREHASHED_32 = Prehashed(hashes.SHA256())
_DETERMINISTIC = bool(_openssl.ecdsa_deterministic_supported())


class RecoverableSignature(NamedTuple):
    """An Ethereum ECDSA signature: ``v`` in {27, 28} (27 + y-parity of ``R``), ``r`` and low ``s`` as integers."""

    v: int
    r: int
    s: int

    @property
    def y_parity(self) -> int:
        """0 or 1: what typed transactions (EIP-2718) put in their ``v``/``yParity`` field."""
        return self.v - 27

    def to_bytes(self) -> bytes:
        """The 65-byte ``r ‖ s ‖ v`` form (``eth_sign``, ERC-1056 signatures split it again into v, r, s)."""
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.v])


@runtime_checkable
class ChainSigner(Protocol):
    """What signing for a chain account needs from a key; the key itself never leaves the implementation."""

    @property
    def address(self) -> str:
        """The account's EIP-55 checksummed address."""
        ...

    def sign_digest(self, digest: bytes) -> RecoverableSignature:
        """Sign a 32-byte digest as it is (no further hashing); ``s`` must be low (EIP-2)."""
        ...


def ethereum_address(public_key: PublicKey | bytes) -> str:
    """Yellow Paper §7 ``A(p_r)``: the last 20 bytes of ``keccak256(X ‖ Y)`` of the secp256k1 public key, EIP-55 cased.

    Takes a :class:`PublicKey` (alg ``ES256K``) or the 64-byte ``X ‖ Y`` / 65-byte SEC1 uncompressed point.
    """
    point = _uncompressed_xy(public_key)
    return str(to_checksum_address(keccak(point)[-20:]))


def _recover_point(digest: bytes, y_parity: int, r: int, s: int) -> bytes | None:
    try:
        return bytes(_EthSignature(vrs=(y_parity, r, s)).recover_public_key_from_msg_hash(digest).to_bytes())
    except (BadSignature, ValueError):
        return None


def recover_address(digest: bytes, signature: RecoverableSignature) -> str:
    """``ECDSARECOVER``: the address whose key made ``signature`` over ``digest``. Raises ``ValueError`` if none."""
    if signature.v not in (27, 28):
        raise ValueError("v must be 27 or 28")
    point = _recover_point(_digest32(digest), signature.y_parity, signature.r, signature.s)
    if point is None:
        raise ValueError("the signature recovers to no public key")
    return ethereum_address(point)


def _digest32(digest: bytes) -> bytes:
    if not isinstance(digest, bytes | bytearray) or len(digest) != 32:
        raise ValueError("a chain signer signs exactly 32 bytes (a keccak-256 digest)")
    return bytes(digest)


def recoverable_signature(digest: bytes, r: int, s: int, public_key: PublicKey | bytes) -> RecoverableSignature:
    """Ethereum's form of a raw ECDSA ``(r, s)`` over ``digest`` made by ``public_key``'s private key.

    1. The signature must verify under ``public_key`` (checked with OpenSSL; a signer bug or a wrong key stops here).
    2. EIP-2: ``s`` above ``n/2`` is replaced by ``n - s`` (the same signature with ``R`` mirrored), since transactions
       with high ``s`` are invalid.
    3. The recovery id is found by trial: if recovery with y-parity 0 yields ``public_key`` it is 0, otherwise — the
       signature being valid — it is 1. Ids 2 and 3 (``r ≥ n - p``) occur with probability about 2^-127 and are not
       produced.
    Raises :class:`~ssi.errors.KeyError_` when the signature does not belong to ``public_key``.
    """
    digest = _digest32(digest)
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise KeyError_("ECDSA r and s must be in [1, n-1]", reason="invalid_signature")
    point = _uncompressed_xy(public_key)
    verifier = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b"\x04" + point)
    try:
        verifier.verify(encode_dss_signature(r, s), digest, ec.ECDSA(_PREHASHED_32))
    except InvalidSignature:
        raise KeyError_(
            "the signature does not verify under the signer's public key", reason="invalid_signature"
        ) from None
    if s > _HALF_N:
        s = SECP256K1_N - s
    y_parity = 0 if _recover_point(digest, 0, r, s) == point else 1
    return RecoverableSignature(27 + y_parity, r, s)


def _uncompressed_xy(public_key: PublicKey | bytes) -> bytes:
    if isinstance(public_key, PublicKey):
        if public_key.alg != "ES256K":
            raise KeyError_("an Ethereum account needs a secp256k1 (ES256K) key", reason="wrong_curve")
        return public_key.raw_bytes(compressed=False)[1:]
    if len(public_key) == 65 and public_key[0] == 4:
        return bytes(public_key[1:])
    if len(public_key) == 64:
        return bytes(public_key)
    raise KeyError_("an uncompressed secp256k1 point is 64 (X ‖ Y) or 65 (0x04 ‖ X ‖ Y) bytes", reason="invalid_key")


class SoftwareChainSigner:
    """A :class:`ChainSigner` over an in-memory secp256k1 :class:`PrivateKey` (a JWK or an encrypted key file).

    ``repr`` never shows the key, and the object refuses to be pickled (that would copy the key around silently).
    """

    __slots__ = ("_key", "_point", "address", "public_key")

    def __init__(self, key: PrivateKey) -> None:
        if key.alg != "ES256K":
            raise KeyError_("a chain account needs a secp256k1 (ES256K) key", reason="wrong_curve")
        crypto_key = key.crypto_key
        assert isinstance(crypto_key, ec.EllipticCurvePrivateKey)  # ES256K keys are always EC keys
        self._key = crypto_key
        self.public_key = key.public_key
        self._point = key.public_key.raw_bytes(compressed=False)[1:]
        self.address = ethereum_address(key.public_key)

    @classmethod
    def generate(cls) -> SoftwareChainSigner:
        return cls(PrivateKey.generate("ES256K"))

    @classmethod
    def from_private_bytes(cls, secret: bytes) -> SoftwareChainSigner:
        """From a raw 32-byte secp256k1 private scalar (development keys, test vectors)."""
        if len(secret) != 32:
            raise KeyError_("a secp256k1 private key is 32 bytes", reason="invalid_key")
        scalar = int.from_bytes(secret, "big")
        if not 0 < scalar < SECP256K1_N:
            raise KeyError_("secp256k1 private key out of range", reason="invalid_key")
        return cls(PrivateKey(ec.derive_private_key(scalar, ec.SECP256K1())))

    def sign_digest(self, digest: bytes) -> RecoverableSignature:
        digest = _digest32(digest)
        algorithm = ec.ECDSA(_PREHASHED_32, deterministic_signing=_DETERMINISTIC)
        r, s = decode_dss_signature(self._key.sign(digest, algorithm))
        return recoverable_signature(digest, r, s, self._point)

    def __repr__(self) -> str:
        return f"SoftwareChainSigner(address={self.address!r})"

    def __reduce__(self) -> Any:
        raise TypeError("SoftwareChainSigner cannot be pickled")
