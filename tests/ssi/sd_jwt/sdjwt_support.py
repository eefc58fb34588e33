"""Shared material for the SD-JWT tests: fixed keys, and builders for hand-made (re-signed) SD-JWTs.

The builders let a test construct exactly the violating input it needs and sign it with the genuine Issuer (or
Holder) key, so the signature is valid and only the rule under test can reject it.

Keys: the P-256 Issuer and Holder keys of the RFC 9901 examples (Appendix A.5 gives the Issuer's public key; the
private halves are published in the sd-jwt-python test settings). They are public test keys, never secrets.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from ssi.clock import FrozenClock
from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import KeyError_, SsiError
from ssi.jose import sign_compact
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner
from ssi.sd_jwt import ClaimPath, VerificationPolicy

ISSUER_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "d": "Ur2bNKuBPOrAaxsRnbSH6hIhmNTxSGXshDSUD1a1y7g",
    "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
    "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8",
}
HOLDER_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "d": "5K5SCos8zf9zRemGGUl6yfok-_NiiryNZsvANWMhF-I",
    "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
    "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ",
}

#: The second Issuer key of the sd-jwt-python ``json_serialization_general`` test case.
SECOND_ISSUER_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "d": "WsGosxrp0XK7VEviPL9xBm3fBb7Xys2vLhPGhESNoXY",
    "x": "bN-hp3IN0GZB3OlaQnHDPhY4nZsZbQyo4wY-y1NWCvA",
    "y": "vaSsH5jt9zt3aQvTvrSaFYLyjPG9Ug-2vntoNXlCbVU",
}

ISSUER = SoftwareSigner(PrivateKey.from_jwk(ISSUER_JWK))
#: The same two Issuer keys with ``kid``s (§8.3 General JSON serialization).
ISSUER_1 = SoftwareSigner(PrivateKey.from_jwk(ISSUER_JWK), "issuer-key-1")
ISSUER_2 = SoftwareSigner(PrivateKey.from_jwk(SECOND_ISSUER_JWK), "issuer-key-2")
HOLDER = SoftwareSigner(PrivateKey.from_jwk(HOLDER_JWK))
ISSUER_KEY: PublicKey = ISSUER.public_key
HOLDER_PUBLIC_JWK: dict[str, str] = HOLDER.public_jwk
#: A second, unrelated key pair (an attacker, or a second Issuer).
OTHER = SoftwareSigner(PrivateKey.generate("ES256"))

NOW = 1_700_000_000
AUD = "https://verifier.example.org"
NONCE = "n-0S6_WzA2Mj"

#: Key Binding required (the default Verifier policy of RFC 9901 §7.3 as used here).
KB_POLICY = VerificationPolicy(audience=AUD, nonce=NONCE)
#: A Verifier that expects a plain SD-JWT (no KB-JWT).
NO_KB_POLICY = VerificationPolicy(require_key_binding=False)

#: Marker: leave a claim out of a hand-built KB-JWT.
OMIT = object()


def clock(now: float = NOW) -> FrozenClock:
    return FrozenClock(now)


def raw_disclosure(items: Any, *, separators: tuple[str, str] = (", ", ": ")) -> str:
    """base64url of the UTF-8 JSON of ``items`` — any shape, so malformed Disclosures can be built too."""
    return b64url_encode(json.dumps(items, separators=separators, ensure_ascii=False).encode("utf-8"))


def disclosure(salt: str, *rest: Any) -> str:
    """An object-property Disclosure ``[salt, name, value]`` or array-element Disclosure ``[salt, value]``."""
    return raw_disclosure([salt, *rest])


def sha256_digest(encoded: str) -> str:
    """RFC 9901 §4.2.3, independently of the library: base64url(SHA-256(ASCII(encoded)))."""
    return base64.urlsafe_b64encode(hashlib.sha256(encoded.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def digest_with(encoded: str, name: str) -> str:
    return base64.urlsafe_b64encode(hashlib.new(name, encoded.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def decoy(seed: str = "decoy") -> str:
    """A digest that matches no Disclosure (§4.2.5)."""
    return sha256_digest(b64url_encode(seed.encode("utf-8")))


def issuer_jwt(
    payload: Any, *, header: Mapping[str, Any] | None = None, signer: SoftwareSigner = ISSUER, raw: bytes | None = None
) -> str:
    """Sign ``payload`` (any JSON value, or ``raw`` bytes) as an Issuer-signed JWT with a genuine signature."""
    body = raw if raw is not None else json_dumps(payload).encode("utf-8")
    return sign_compact(body, signer, header)


def sd_jwt(
    payload: Any,
    disclosures: Iterable[str] = (),
    *,
    header: Mapping[str, Any] | None = None,
    signer: SoftwareSigner = ISSUER,
) -> str:
    """``<Issuer-signed JWT>~<D1>~...~<DN>~`` over a hand-built payload (§4)."""
    return issuer_jwt(payload, header=header, signer=signer) + "~" + "".join(d + "~" for d in disclosures)


def kb_jwt(
    sd_jwt_text: str,
    *,
    signer: SoftwareSigner = HOLDER,
    header: Mapping[str, Any] | None = None,
    typ: Any = "kb+jwt",
    hash_name: str = "sha256",
    **claims: Any,
) -> str:
    """A KB-JWT (§4.3) over ``sd_jwt_text``; keyword arguments override (or with ``OMIT`` remove) claims."""
    body: dict[str, Any] = {"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": digest_with(sd_jwt_text, hash_name)}
    for name, value in claims.items():
        if value is OMIT:
            body.pop(name, None)
        else:
            body[name] = value
    hdr = dict(header or {})
    if typ is not OMIT:
        hdr["typ"] = typ
    return sign_compact(json_dumps(body).encode("utf-8"), signer, hdr)


def with_kb(sd_jwt_text: str, **kwargs: Any) -> str:
    return sd_jwt_text + kb_jwt(sd_jwt_text, **kwargs)


def unsigned_jwt(header: Mapping[str, Any], payload: Any, signature: bytes = b"") -> str:
    return ".".join(
        [
            b64url_encode(json_dumps(dict(header)).encode("utf-8")),
            b64url_encode(json_dumps(payload).encode("utf-8")),
            b64url_encode(signature),
        ]
    )


def reason(fn: Callable[[], Any], error: type[SsiError] = SsiError) -> str:
    """Run ``fn``, expect an ``SsiError`` (subclass ``error``), return its ``reason``."""
    with pytest.raises(error) as info:
        fn()
    return info.value.reason


class KidResolver:
    """Resolve the Issuer key by ``kid`` (as a Verifier with a JWKS would); unknown kids are refused."""

    def __init__(self, keys: Mapping[str, PublicKey]) -> None:
        self.keys = dict(keys)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, header: Mapping[str, Any]) -> PublicKey:
        self.calls.append(dict(header))
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in self.keys:
            raise KeyError_("unknown kid", reason="unknown_kid")
        return self.keys[kid]


def without_sd(value: Any) -> bool:
    """True when no ``_sd``/``_sd_alg``/``...`` key is left anywhere (§7.1 step 3.5/3.6)."""
    if isinstance(value, dict):
        return all(k not in ("_sd", "_sd_alg", "...") and without_sd(v) for k, v in value.items())
    if isinstance(value, list):
        return all(without_sd(v) for v in value)
    return True


# --- claims with selective-disclosure marks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sd:
    """A value (or mapping key) marked selectively disclosable, like ``!sd`` in the sd-jwt-python test data."""

    value: Any


def strip_sd(value: Any, path: ClaimPath = ()) -> tuple[Any, list[ClaimPath]]:
    """Plain claims and the claim paths that the :class:`Sd` marks make selectively disclosable."""
    paths: list[ClaimPath] = []
    if isinstance(value, Sd):
        plain, inner = strip_sd(value.value, path)
        return plain, [path, *inner]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, member in value.items():
            name = key.value if isinstance(key, Sd) else key
            assert isinstance(name, str), f"claim names are strings, got {name!r}"
            plain, inner = strip_sd(member, (*path, name))
            out[name] = plain
            if isinstance(key, Sd):
                paths.append((*path, name))
            paths.extend(inner)
        return out, paths
    if isinstance(value, list):
        items = []
        for i, item in enumerate(value):
            plain, inner = strip_sd(item, (*path, i))
            items.append(plain)
            paths.extend(inner)
        return items, paths
    return value, paths


def holder_paths(selection: Any, path: ClaimPath = ()) -> list[ClaimPath]:
    """A ``holder_disclosed_claims``-style selection → claim paths: ``True`` discloses that path, a mapping or list
    recurses (lists positionally), ``False``/``None`` withhold."""
    if selection is True:
        return [path]
    if isinstance(selection, dict):
        return [p for key, member in selection.items() for p in holder_paths(member, (*path, key))]
    if isinstance(selection, list):
        return [p for i, member in enumerate(selection) for p in holder_paths(member, (*path, i))]
    return []
