"""Public and private keys as JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037) with RFC 7638 thumbprints.

Supported: EC P-256 (ES256, HAIP's mandatory algorithm), EC secp256k1 (ES256K, RFC 8812 — chain keys) and OKP
Ed25519 (EdDSA, RFC 8037). Import is strict: exact coordinate lengths, points must lie on the curve, the curve must
match the algorithm. Private key material is never part of a repr, str or error message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ssi.encoding import b64url_decode, b64url_encode, json_dumps
from ssi.errors import EncodingError, InvalidSignature, KeyError_, UnsupportedAlgorithm

#: JWS ``alg`` → (JWK ``kty``, ``crv``). The only algorithms govssi signs or verifies with.
ALGORITHMS: dict[str, tuple[str, str]] = {
    "ES256": ("EC", "P-256"),
    "ES256K": ("EC", "secp256k1"),
    "EdDSA": ("OKP", "Ed25519"),
}
_EC_CURVES: dict[str, tuple[ec.EllipticCurve, int]] = {
    "P-256": (ec.SECP256R1(), 32),
    "secp256k1": (ec.SECP256K1(), 32),
}
_CRV_TO_ALG = {crv: alg for alg, (_, crv) in ALGORITHMS.items()}
#: ES256 and ES256K both hash with SHA-256 (RFC 7518 §3.4, RFC 8812 §3.2). The signature primitives are called on
#: ``cryptography`` directly (what PyJWT's JWA classes wrap): one shared, immutable ECDSA parameter object instead of
#: a new one per signature, and the R || S conversion inline — verification is on every request's hot path.
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_EC_SIZE = 32  # octets per coordinate and per R / S: both curves are 256-bit

PublicKeyType = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKeyType = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


#: ``ecdsa_der``'s octets before R and between R and S when neither has a leading zero octet, by the high bits of R's
#: and S's first octets (``[r_high][s_high]``): ``30 L 02 Lr [00]`` and ``02 Ls [00]`` (a 0x00 before a set high bit).
_DER_HEADS = (
    (b"\x30\x44\x02\x20", b"\x30\x45\x02\x20"),
    (b"\x30\x45\x02\x21\x00", b"\x30\x46\x02\x21\x00"),
)
_DER_MIDS = (b"\x02\x20", b"\x02\x21\x00")


def ecdsa_der(signature: bytes) -> bytes:
    """The DER ``Ecdsa-Sig-Value`` (RFC 3279 §2.2.3: ``SEQUENCE { r INTEGER, s INTEGER }``) of a 64-octet JWS R || S,
    the bytes ``encode_dss_signature(R, S)`` returns, built without two big integers: each INTEGER is its minimal
    big-endian two's-complement octets (leading zeros dropped, one 0x00 put back before a set high bit; zero is one
    0x00), and 4 + 33 + 33 octets of content fit DER's one-octet length (X.690 §8.1.3.4).

    When neither R nor S starts with a zero octet (all but about 1 in 128 signatures) nothing is dropped, and the
    octets around R and S are one of four fixed layouts, taken from a table by the two high bits."""
    if len(signature) == 2 * _EC_SIZE:
        r0 = signature[0]
        s0 = signature[_EC_SIZE]
        if r0 and s0:
            s_high = s0 >> 7
            return b"".join(
                (_DER_HEADS[r0 >> 7][s_high], signature[:_EC_SIZE], _DER_MIDS[s_high], signature[_EC_SIZE:])
            )
    return _ecdsa_der_general(signature)


def _ecdsa_der_general(signature: bytes) -> bytes:
    """:func:`ecdsa_der` for any R || S, leading zero octets included."""
    r = signature[:_EC_SIZE].lstrip(b"\0")
    s = signature[_EC_SIZE:].lstrip(b"\0")
    if not r or r[0] > 127:
        r = b"\0" + r
    if not s or s[0] > 127:
        s = b"\0" + s
    return b"".join((bytes((0x30, len(r) + len(s) + 4, 0x02, len(r))), r, bytes((0x02, len(s))), s))


#: The DER layouts of a signature whose R and S are 32 octets each after at most one 0x00 (all but about 1 in 128 of
#: what OpenSSL writes), by their first four octets ``30 L 02 Lr``: (R's offset, the offset and value of the octet
#: before R, the offset and octets of ``02 Ls [00]`` before S, the total size).
_RAW_LAYOUTS: dict[bytes, tuple[int, int, int, int, bytes, int]] = {
    b"\x30\x44\x02\x20": (4, 3, 0x20, 36, b"\x02\x20", 70),
    b"\x30\x45\x02\x20": (4, 3, 0x20, 36, b"\x02\x21\x00", 71),
    b"\x30\x45\x02\x21": (5, 4, 0x00, 37, b"\x02\x20", 71),
    b"\x30\x46\x02\x21": (5, 4, 0x00, 37, b"\x02\x21\x00", 72),
}


def ecdsa_raw(der: bytes) -> bytes:
    """R || S, each 32 octets big-endian (RFC 7518 §3.4), of a DER ``Ecdsa-Sig-Value`` over a 256-bit curve as OpenSSL
    writes it: what ``decode_dss_signature`` and two ``int.to_bytes(32)`` give, read off the two INTEGERs' octets
    (``30 L 02 Lr <r> 02 Ls <s>``, one-octet lengths, at most one 0x00 before a set high bit). Anything else is refused
    as ``decode_dss_signature`` would refuse it (``ValueError``).

    The four layouts with 32-octet R and S (after their 0x00, if any) are read by a table of offsets; everything else
    takes the general parse."""
    layout = _RAW_LAYOUTS.get(der[:4])
    if layout is not None:
        r_at, before_r, before_r_value, s_header_at, s_header, size = layout
        if (
            len(der) == size
            and der[before_r] == before_r_value
            and der[s_header_at : s_header_at + len(s_header)] == s_header
        ):
            return der[r_at : r_at + _EC_SIZE] + der[size - _EC_SIZE :]
    return _ecdsa_raw_general(der)


def _ecdsa_raw_general(der: bytes) -> bytes:
    """:func:`ecdsa_raw` for every DER text (the four common layouts included)."""
    size = len(der)
    size_r = der[3] if size >= 8 else 0
    if (
        size < 8
        or size_r == 0
        or size_r > _EC_SIZE + 1
        or size < 8 + size_r - 1
        or der[0] != 0x30
        or der[1] != size - 2
        or der[2] != 0x02
        or der[4 + size_r] != 0x02
        or not 0 < der[5 + size_r] <= _EC_SIZE + 1
        or 6 + size_r + der[5 + size_r] != size
    ):
        raise ValueError("not a DER ECDSA signature of a 256-bit curve")
    r = der[4 : 4 + size_r]
    s = der[6 + size_r :]
    if len(r) > _EC_SIZE:
        if r[0]:
            raise ValueError("not a DER ECDSA signature of a 256-bit curve")
        r = r[1:]
    if len(s) > _EC_SIZE:
        if s[0]:
            raise ValueError("not a DER ECDSA signature of a 256-bit curve")
        s = s[1:]
    return b"".join((bytes(_EC_SIZE - len(r)), r, bytes(_EC_SIZE - len(s)), s))


def _coord(jwk: Mapping[str, Any], name: str, size: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise KeyError_(f"JWK member {name!r} is missing or not a string", reason="invalid_jwk")
    try:
        raw = b64url_decode(value)
    except EncodingError:
        raise KeyError_(f"JWK member {name!r} is not base64url", reason="invalid_jwk") from None
    if len(raw) != size:
        # RFC 7518 §6.2.1.2: "The length of this octet string MUST be the full size of a coordinate for the curve"
        raise KeyError_(f"JWK member {name!r} must be {size} octets", reason="invalid_jwk")
    return raw


_ED25519_P = 2**255 - 19
_ED25519_D = (-121665 * pow(121666, -1, _ED25519_P)) % _ED25519_P


def ed25519_point_is_valid(raw: bytes) -> bool:
    """RFC 8032 §5.1.3 point decoding: ``y < p`` and ``x² = (y² - 1) / (d·y² + 1)`` has a square root.

    ``cryptography`` loads any 32 bytes as an Ed25519 public key, so a point off the curve would only fail at
    verification time; this check refuses it at import (RFC 8037 §2 keys must be valid points).
    """
    if len(raw) != 32:
        return False
    number = int.from_bytes(raw, "little")
    x_sign = number >> 255
    y = number & ((1 << 255) - 1)
    p = _ED25519_P
    if y >= p:
        return False
    u = (y * y - 1) % p
    v = (_ED25519_D * y * y + 1) % p
    x2 = u * pow(v, -1, p) % p
    if x2 == 0:
        return x_sign == 0  # x = 0 has no negative: "if x = 0 and x_0 = 1, decoding fails"
    return pow(x2, (p - 1) // 2, p) == 1  # Euler's criterion: x² is a quadratic residue


def jwk_thumbprint(jwk: Mapping[str, Any], hash_name: str = "sha256") -> str:
    """RFC 7638 §3: hash of the JSON of the REQUIRED members only, in lexicographic order, no whitespace."""
    if not isinstance(jwk, Mapping):
        raise KeyError_("JWK must be a JSON object", reason="invalid_jwk")
    kty = jwk.get("kty")
    members: tuple[str, ...]
    if kty == "EC":
        members = ("crv", "kty", "x", "y")
    elif kty == "OKP":
        members = ("crv", "kty", "x")  # RFC 8037 §2
    elif kty == "RSA":
        members = ("e", "kty", "n")
    else:
        raise KeyError_("JWK has an unsupported or missing 'kty'", reason="invalid_jwk")
    try:
        required = {m: jwk[m] for m in members}
    except KeyError:
        raise KeyError_("JWK lacks a member required for its thumbprint", reason="invalid_jwk") from None
    if not all(isinstance(v, str) for v in required.values()):
        raise KeyError_("JWK thumbprint members must be strings", reason="invalid_jwk")
    digest = hashlib.new(hash_name, json_dumps(required).encode("utf-8")).digest()
    return b64url_encode(digest)


#: Imported public keys by their ``(kty, crv, x, y, alg)`` member values (``y`` and ``alg`` may be ``None`` for
#: absent). Only successful imports of plain ``dict`` JWKs whose members are exactly ``str`` are kept, so a key is
#: found only for the very member values it was imported from; emptied when full (at most _JWK_CACHE_SIZE keys).
#: A ``PublicKey`` is immutable, so sharing one between callers is safe.
_JWK_CACHE: dict[tuple[str, str, str, str | None, str | None], PublicKey] = {}
_JWK_CACHE_SIZE = 256
#: Whether a ``cryptography`` public key class is an EC key: ``isinstance`` against the ABC costs a Python-level
#: ``__instancecheck__`` on every signature; there are only a handful of key classes.
_IS_EC_PUBLIC_KEY: dict[type, bool] = {}
#: The same for private key classes (``PrivateKey.sign``).
_IS_EC_PRIVATE_KEY: dict[type, bool] = {}


def _jwk_cache_key(jwk: dict[str, Any]) -> tuple[str, str, str, str | None, str | None] | None:
    """The members an import depends on, or ``None`` when one is not exactly a ``str`` (not cached then)."""
    kty, crv, x, y, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("x"), jwk.get("y"), jwk.get("alg")
    if type(kty) is not str or type(crv) is not str or type(x) is not str:
        return None
    if (y is not None and type(y) is not str) or (alg is not None and type(alg) is not str):
        return None
    return (kty, crv, x, y, alg)


@dataclass(frozen=True, slots=True, eq=False)
class PublicKey:
    """A verification key. Construct with :meth:`from_jwk` or from a :class:`PrivateKey`."""

    alg: str
    key: PublicKeyType
    #: The public JWK, computed once on first use (the key is immutable); handed out as copies only.
    _jwk: dict[str, str] | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublicKey:
        """Import a public JWK strictly. Private members (``d``) are ignored, never used.

        The result depends on ``kty``, ``crv``, ``x``, ``y`` and ``alg`` only, so a key imported before is taken from
        :data:`_JWK_CACHE` (keyed by exactly those member values) instead of decoding and checking the point again;
        a verifier sees the same holder key (``cnf.jwk``) in every presentation of a credential.
        """
        if type(jwk) is dict:
            key = _jwk_cache_key(jwk)
            if key is not None:
                cached = _JWK_CACHE.get(key)
                if cached is None:
                    cached = cls._import_jwk(jwk)
                    if len(_JWK_CACHE) >= _JWK_CACHE_SIZE:
                        _JWK_CACHE.clear()
                    _JWK_CACHE[key] = cached
                return cached
        return cls._import_jwk(jwk)

    @classmethod
    def _import_jwk(cls, jwk: Mapping[str, Any]) -> PublicKey:
        if not isinstance(jwk, (dict, Mapping)):  # a dict is decided before the (slower) ABC check
            raise KeyError_("JWK must be a JSON object", reason="invalid_jwk")
        kty, crv = jwk.get("kty"), jwk.get("crv")
        if not isinstance(crv, str):  # a JSON array/object here is not hashable: refuse before the lookup
            crv = None
        if kty == "EC" and crv in _EC_CURVES:
            curve, size = _EC_CURVES[crv]
            x, y = _coord(jwk, "x", size), _coord(jwk, "y", size)
            try:
                key: PublicKeyType = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
            except ValueError:
                raise KeyError_("EC JWK point is not on the curve", reason="invalid_jwk") from None
        elif kty == "OKP" and crv == "Ed25519":
            x = _coord(jwk, "x", 32)
            if not ed25519_point_is_valid(x):
                raise KeyError_("Ed25519 JWK 'x' is not a point on the curve", reason="invalid_jwk")
            key = ed25519.Ed25519PublicKey.from_public_bytes(x)
        else:
            raise KeyError_(
                "JWK key type/curve is not supported (EC P-256, EC secp256k1, OKP Ed25519)", reason="unsupported_key"
            )
        alg = _CRV_TO_ALG[str(crv)]
        declared = jwk.get("alg")
        if declared is not None and declared != alg:
            # RFC 7517 §4.4: the key is intended for use with 'alg'; a mismatch is an alg/key confusion attempt.
            raise KeyError_("JWK 'alg' does not match its curve", reason="alg_key_mismatch")
        result = cls(alg=alg, key=key)
        # The coordinates were decoded strictly and canonically to full-size octet strings, so their text is exactly
        # what _public_jwk() would encode again: the JWK of an imported key costs nothing later (e.g. as cnf.jwk).
        coords = {"x": jwk["x"], "y": jwk["y"]} if kty == "EC" else {"x": jwk["x"]}
        object.__setattr__(result, "_jwk", {"kty": str(kty), "crv": str(crv), **coords})
        return result

    @classmethod
    def from_crypto(cls, key: PublicKeyType) -> PublicKey:
        if isinstance(key, ed25519.Ed25519PublicKey):
            return cls(alg="EdDSA", key=key)
        if isinstance(key, ec.EllipticCurvePublicKey):
            for crv, (curve, _) in _EC_CURVES.items():
                if key.curve.name == curve.name:
                    return cls(alg=_CRV_TO_ALG[crv], key=key)
        raise KeyError_("unsupported public key type", reason="unsupported_key")

    @property
    def jwk(self) -> dict[str, str]:
        """The public JWK with exactly the REQUIRED members (a new dict on every call)."""
        cached = self._jwk
        if cached is None:
            cached = self._public_jwk()
            object.__setattr__(self, "_jwk", cached)  # a cache of a pure function of the immutable key
        return dict(cached)

    def _public_jwk(self) -> dict[str, str]:
        if isinstance(self.key, ed25519.Ed25519PublicKey):
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

            raw = self.key.public_bytes(Encoding.Raw, PublicFormat.Raw)
            return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
        numbers = self.key.public_numbers()
        kty, crv = ALGORITHMS[self.alg]
        return {
            "kty": kty,
            "crv": crv,
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }

    def thumbprint(self) -> str:
        return jwk_thumbprint(self.jwk)

    def raw_bytes(self, compressed: bool = True) -> bytes:
        """Raw public key bytes (compressed SEC1 point for EC; 32 bytes for Ed25519) — used by did:key."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        if isinstance(self.key, ed25519.Ed25519PublicKey):
            return self.key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        fmt = PublicFormat.CompressedPoint if compressed else PublicFormat.UncompressedPoint
        return self.key.public_bytes(Encoding.X962, fmt)

    def verify(self, alg: str, data: bytes, signature: bytes) -> None:
        """Verify a JWS signature (RFC 7518 §3.4: ECDSA signatures are the fixed-size R || S octets).

        Raises ``UnsupportedAlgorithm`` when ``alg`` does not belong to this key (alg/key confusion) and
        ``InvalidSignature`` when the signature does not verify.
        """
        if alg != self.alg:
            raise UnsupportedAlgorithm(
                f"algorithm {alg!r} does not match the key ({self.alg})", reason="alg_key_mismatch"
            )
        if len(signature) != 64:  # both ECDSA-256 (R || S) and Ed25519 signatures are 64 octets
            raise InvalidSignature("signature must be 64 octets")
        key: Any = self.key  # its class decided below (without typing.cast: a call at run time)
        is_ec = _IS_EC_PUBLIC_KEY.get(type(key))
        if is_ec is None:  # the first key of its class: one ABC check, remembered for the class
            is_ec = _IS_EC_PUBLIC_KEY[type(key)] = isinstance(key, ec.EllipticCurvePublicKey)
        try:
            if is_ec:
                # RFC 7518 §3.4: R and S as 32-octet big-endian integers, concatenated; OpenSSL takes them as DER.
                key.verify(ecdsa_der(signature), data, _ECDSA_SHA256)
            else:
                # RFC 8037 §3.1: Ed25519 signatures are used as they are
                key.verify(signature, data)
        except _CryptoInvalidSignature:
            raise InvalidSignature("signature does not verify") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.jwk == other.jwk

    def __hash__(self) -> int:
        return hash(self.thumbprint())

    def __repr__(self) -> str:
        return f"PublicKey(alg={self.alg!r}, thumbprint={self.thumbprint()!r})"


class PrivateKey:
    """A software private key. ``repr``/``str`` never show the secret."""

    __slots__ = ("_key", "alg", "public_key")

    def __init__(self, key: PrivateKeyType) -> None:
        self._key = key
        self.public_key = PublicKey.from_crypto(key.public_key())
        self.alg = self.public_key.alg

    @classmethod
    def generate(cls, alg: str = "ES256") -> PrivateKey:
        if alg not in ALGORITHMS:
            raise UnsupportedAlgorithm(f"cannot generate a key for algorithm {alg!r}; use one of {sorted(ALGORITHMS)}")
        if alg == "EdDSA":
            return cls(ed25519.Ed25519PrivateKey.generate())
        return cls(ec.generate_private_key(_EC_CURVES[ALGORITHMS[alg][1]][0]))

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PrivateKey:
        """Import a private JWK; checks that ``d`` belongs to the public members given."""
        public = PublicKey.from_jwk(jwk)
        kty, crv = ALGORITHMS[public.alg]
        d = _coord(jwk, "d", 32)
        try:
            if kty == "OKP":
                key: PrivateKeyType = ed25519.Ed25519PrivateKey.from_private_bytes(d)
            else:
                key = ec.derive_private_key(int.from_bytes(d, "big"), _EC_CURVES[crv][0])
        except ValueError:
            raise KeyError_("JWK private scalar is out of range", reason="invalid_jwk") from None
        result = cls(key)
        if result.public_key != public:
            raise KeyError_("JWK private key does not match its public members", reason="invalid_jwk")
        return result

    def private_jwk(self) -> dict[str, str]:
        """Export including ``d``. Callers must write it only to protected storage."""
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        jwk = dict(self.public_key.jwk)
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            jwk["d"] = b64url_encode(self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
        else:
            jwk["d"] = b64url_encode(self._key.private_numbers().private_value.to_bytes(32, "big"))
        return jwk

    def sign(self, data: bytes) -> bytes:
        """JWS signature: raw R || S for ECDSA (RFC 7518 §3.4), 64 bytes for Ed25519 (RFC 8037 §3.1)."""
        key: Any = self._key  # its class decided below (without typing.cast: a call at run time)
        is_ec = _IS_EC_PRIVATE_KEY.get(type(key))
        if is_ec is None:  # the first key of its class: one ABC check, remembered for the class
            is_ec = _IS_EC_PRIVATE_KEY[type(key)] = isinstance(key, ec.EllipticCurvePrivateKey)
        if is_ec:
            return ecdsa_raw(key.sign(data, _ECDSA_SHA256))
        signature: bytes = key.sign(data)
        return signature

    @property
    def crypto_key(self) -> PrivateKeyType:
        """The underlying ``cryptography`` key (for X.509 and similar; never log it)."""
        return self._key

    def __repr__(self) -> str:
        return f"PrivateKey(alg={self.alg!r}, thumbprint={self.public_key.thumbprint()!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # pickling would copy the secret around silently
        raise TypeError("PrivateKey cannot be pickled")
