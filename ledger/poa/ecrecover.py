"""Fast secp256k1 public-key recovery (Yellow Paper App. F, ``ECDSARECOVER``) for the network model's nodes.

Why it exists: eth-keys recovers keys in pure Python when coincurve is not installed (it is not here), about 20 ms per
recovery, and a Clique node recovers a lot — the sealer of every block it imports (py-evm's Clique code does it three
times per block: fee recipient, seal check, signer snapshot) and the sender of every transaction. Seven nodes on two
cores would spend most of their time there. This module computes the same recovery with the same group law, only
faster (about a quarter of the time: Jacobian coordinates, Shamir's trick with width-w NAF digits, a precomputed table
of odd multiples of G), and remembers recent results, so the three recoveries of one block cost one.

It plugs into eth-keys through its documented extension point, the ``ECC_BACKEND_CLASS`` environment variable
(:func:`install`, which the node process calls at start): :class:`RecoveringBackend` is eth-keys'
``NativeECCBackend`` with :meth:`~RecoveringBackend.ecdsa_recover` replaced; signing and verification are untouched.
Signatures outside the usual ranges (``r`` or ``s`` not in ``[1, n-1]``) go to eth-keys' own code, so every answer —
key or :class:`~eth_keys.exceptions.BadSignature` — is eth-keys' answer; tests check that on random and malformed
signatures.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Final

from eth_keys.backends.coincurve import is_coincurve_available
from eth_keys.backends.native.ecdsa import ecdsa_raw_recover
from eth_keys.backends.native.main import NativeECCBackend
from eth_keys.datatypes import PublicKey, Signature
from eth_keys.exceptions import BadSignature

__all__ = ["BACKEND_PATH", "RecoveringBackend", "install", "recover_public_key"]

#: secp256k1 (SEC 2 §2.4.1): field prime, group order, generator.
_P: Final = 2**256 - 2**32 - 977
_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_GX: Final = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798
_GY: Final = 0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8
#: The point at infinity in Jacobian coordinates.
_INFINITY: Final = (0, 1, 0)
#: wNAF window widths: the fixed generator affords a bigger precomputed table than the per-signature point R.
_G_WIDTH: Final = 7
_R_WIDTH: Final = 5
_CACHE_SIZE: Final = 8192
#: The import path :func:`install` puts into ``ECC_BACKEND_CLASS``.
BACKEND_PATH: Final = "ledger.poa.ecrecover.RecoveringBackend"

_Point = tuple[int, int, int]


def _double(point: _Point) -> _Point:
    """2·P in Jacobian coordinates (a = 0: dbl-2009-l)."""
    x, y, z = point
    if y == 0 or z == 0:
        return _INFINITY
    yy = y * y % _P
    s = 4 * x * yy % _P
    m = 3 * x * x % _P
    x3 = (m * m - 2 * s) % _P
    return x3, (m * (s - x3) - 8 * yy * yy) % _P, 2 * y * z % _P


def _add(p: _Point, q: _Point) -> _Point:
    """P + Q in Jacobian coordinates (add-2007-bl without the doubling shortcut)."""
    x1, y1, z1 = p
    x2, y2, z2 = q
    if z1 == 0:
        return q
    if z2 == 0:
        return p
    z1z1 = z1 * z1 % _P
    z2z2 = z2 * z2 % _P
    u1 = x1 * z2z2 % _P
    u2 = x2 * z1z1 % _P
    s1 = y1 * z2 * z2z2 % _P
    s2 = y2 * z1 * z1z1 % _P
    if u1 == u2:
        return _double(p) if s1 == s2 else _INFINITY
    h = u2 - u1
    r = s2 - s1
    hh = h * h % _P
    hhh = h * hh % _P
    v = u1 * hh % _P
    x3 = (r * r - hhh - 2 * v) % _P
    return x3, (r * (v - x3) - s1 * hhh) % _P, h * z1 * z2 % _P


def _negate(point: _Point) -> _Point:
    return point[0], (_P - point[1]) % _P, point[2]


def _wnaf(k: int, width: int) -> list[int]:
    """The width-``width`` non-adjacent form of ``k``, least significant digit first (odd digits below 2^(w-1))."""
    digits: list[int] = []
    full = 1 << width
    half = full >> 1
    while k:
        digit = 0
        if k & 1:
            digit = k & (full - 1)
            if digit >= half:
                digit -= full
            k -= digit
        digits.append(digit)
        k >>= 1
    return digits


def _odd_multiples(point: _Point, count: int) -> list[_Point]:
    """P, 3P, 5P, … (``count`` points)."""
    twice = _double(point)
    table = [point]
    for _ in range(count - 1):
        table.append(_add(table[-1], twice))
    return table


_G_TABLE: Final = _odd_multiples((_GX, _GY, 1), 1 << (_G_WIDTH - 2))


def _combination(u1: int, point: _Point, u2: int) -> _Point:
    """u1·P + u2·G (Shamir's trick: one pass of doublings over both scalars' wNAF digits)."""
    digits1 = _wnaf(u1, _R_WIDTH)
    digits2 = _wnaf(u2, _G_WIDTH)
    table = _odd_multiples(point, 1 << (_R_WIDTH - 2))
    accumulator = _INFINITY
    for position in range(max(len(digits1), len(digits2)) - 1, -1, -1):
        accumulator = _double(accumulator)
        if position < len(digits1) and (digit := digits1[position]):
            multiple = table[abs(digit) >> 1]
            accumulator = _add(accumulator, multiple if digit > 0 else _negate(multiple))
        if position < len(digits2) and (digit := digits2[position]):
            multiple = _G_TABLE[abs(digit) >> 1]
            accumulator = _add(accumulator, multiple if digit > 0 else _negate(multiple))
    return accumulator


def recover_public_key(msg_hash: bytes, v: int, r: int, s: int) -> bytes:
    """The 64-byte public key ``X ‖ Y`` that signed the 32-byte ``msg_hash`` with ``(v, r, s)``, ``v`` the y-parity
    of ``R`` (0 or 1) — exactly what eth-keys' ``ecdsa_raw_recover`` returns. Raises ``BadSignature`` when no key
    does (``r`` is no x-coordinate on the curve, or the result is the point at infinity).

    Yellow Paper App. F / SEC 1 §4.1.6: ``R = (r, y)`` with ``y``'s parity ``v``; ``Q = r⁻¹·(s·R − e·G)``.
    """
    if v not in (0, 1) or not (0 < r < _N and 0 < s < _N):
        return ecdsa_raw_recover(msg_hash, (v, r, s))  # eth-keys' answer for the unusual cases, errors included
    alpha = (r * r * r + 7) % _P
    beta = pow(alpha, (_P + 1) // 4, _P)  # p ≡ 3 (mod 4): the square root, if there is one
    if beta * beta % _P != alpha:
        raise BadSignature("Invalid signature")
    y = beta if beta & 1 == v else _P - beta
    r_inverse = pow(r, -1, _N)
    e = int.from_bytes(msg_hash, "big")
    x, y, z = _combination(s * r_inverse % _N, (r, y, 1), (-e) * r_inverse % _N)
    if z == 0:
        raise BadSignature("InvalidSignature")
    z_inverse = pow(z, -1, _P)
    z_inverse2 = z_inverse * z_inverse % _P
    return (x * z_inverse2 % _P).to_bytes(32, "big") + (y * z_inverse2 * z_inverse % _P).to_bytes(32, "big")


class _RecoveryCache:
    """Recent recoveries by (digest, v, r, s): a block's seal is recovered several times while it is imported."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[bytes, int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def recover(self, msg_hash: bytes, v: int, r: int, s: int) -> bytes:
        key = (bytes(msg_hash), v, r, s)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        public_key = recover_public_key(msg_hash, v, r, s)
        with self._lock:
            self._entries[key] = public_key
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return public_key


_cache = _RecoveryCache(_CACHE_SIZE)


class RecoveringBackend(NativeECCBackend):
    """eth-keys' native backend with fast, cached public-key recovery (everything else unchanged)."""

    def ecdsa_recover(self, msg_hash: bytes, signature: Signature) -> PublicKey:
        v, r, s = signature.vrs
        return PublicKey(_cache.recover(msg_hash, v, r, s), backend=self)


def install() -> None:
    """Make :class:`RecoveringBackend` eth-keys' default in this process (and the processes it starts) — unless an
    ``ECC_BACKEND_CLASS`` is configured already or coincurve is installed (eth-keys then uses it; it is faster)."""
    if "ECC_BACKEND_CLASS" not in os.environ and not is_coincurve_available():
        os.environ["ECC_BACKEND_CLASS"] = BACKEND_PATH
