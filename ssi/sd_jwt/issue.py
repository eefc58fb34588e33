"""The Issuer's role: create an SD-JWT (RFC 9901 §4, §5) from plain claims and a list of disclosable claim paths.

- Object properties and array elements are made selectively disclosable by claim path; a path and one of its
  descendants both disclosable gives recursive disclosures (§4.2.6).
- Salts: 128 bits from a cryptographically secure source, base64url (§4.2.1 item 1, §9.3).
- ``_sd`` arrays are sorted (§4.2.4.1: "The Issuer MUST hide the original order of the claims in the array ... it is
  RECOMMENDED to shuffle the array of hashes, e.g., by sorting it alphanumerically").
- Decoy digests (§4.2.5) are hashes over random bytes, with the same hash function.
- Claim names ``_sd``, ``...`` and ``_sd_alg`` are reserved (§4.1 item 7) and refused in input claims.
"""

from __future__ import annotations

import binascii
import os
import secrets
from _json import encode_basestring  # the C string encoder json.dumps uses (CPython)
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ssi.encoding import b64url_encode, json_dumps_acyclic
from ssi.errors import SdJwtError
from ssi.jose import sign_compact, sign_json
from ssi.keys import Signer
from ssi.sd_jwt._common import (
    DEFAULT_SD_ALG,
    ELLIPSIS,
    SD_ALG_KEY,
    SD_KEY,
    ClaimPath,
    Disclosure,
    digest,
    format_claim_path,
    hash_function,
)
from ssi.sd_jwt._serialization import SdJwtParts, to_json

_RESERVED = frozenset({SD_KEY, ELLIPSIS, SD_ALG_KEY})
#: JSON leaves (``bool`` is an ``int``): checked first, before the (slower) ``Mapping`` ABC check.
_SCALARS = (str, int, float, type(None))


class RandomSource(Protocol):
    """Randomness used for salts and decoys (``secrets`` by default; injectable for reproducible tests)."""

    def token_bytes(self, nbytes: int) -> bytes: ...

    def randbelow(self, exclusive_upper_bound: int) -> int: ...


class _Secrets:
    # os.urandom is what secrets.token_bytes returns (through two Python frames).
    token_bytes = staticmethod(os.urandom)
    randbelow = staticmethod(secrets.randbelow)


SYSTEM_RANDOM: RandomSource = _Secrets()


@dataclass(slots=True)
class _PathNode:
    disclosable: bool = False
    children: dict[str | int, _PathNode] = field(default_factory=dict)
    every: _PathNode | None = None  # the None wildcard over array elements


def _build_tree(paths: Iterable[ClaimPath]) -> _PathNode:
    root = _PathNode()
    for path in paths:
        if not path:
            raise SdJwtError("the root of the payload cannot be selectively disclosable", reason="bad_claim_path")
        node = root
        for part in path:
            if part is None:
                node.every = node.every or _PathNode()
                node = node.every
            elif isinstance(part, (str, int)) and not isinstance(part, bool):
                child = node.children.get(part)
                if child is None:
                    child = node.children[part] = _PathNode()
                node = child
            else:
                raise SdJwtError(f"claim path item {part!r} is not a string, index or None", reason="bad_claim_path")
        node.disclosable = True
    return root


def _path_exists(value: Any, path: ClaimPath) -> bool:
    """Whether ``path`` addresses something in the plain claims (``None`` matches any element of an array)."""
    for i, part in enumerate(path):
        if part is None:
            if not isinstance(value, (list, tuple)):
                return False
            rest = path[i + 1 :]
            return not rest or any(_path_exists(item, rest) for item in value)
        if isinstance(part, str):
            if not isinstance(value, (dict, Mapping)) or part not in value:  # a dict matches before the ABC check
                return False
            value = value[part]
        else:
            if not isinstance(value, (list, tuple)) or not 0 <= part < len(value):
                return False
            value = value[part]
    return True


@dataclass(frozen=True, slots=True)
class IssuedSdJwt:
    """An issued SD-JWT: what the Issuer hands to the Holder."""

    issuer_jwt: str
    disclosures: tuple[Disclosure, ...]
    payload: dict[str, Any]
    serialization: Literal["compact", "json"] = "compact"
    jws_json: dict[str, Any] | None = None

    @property
    def compact(self) -> str:
        """§4: ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~``."""
        return "~".join([self.issuer_jwt, *[d.encoded for d in self.disclosures], ""])

    def to_json(self) -> dict[str, Any]:
        """§8 JWS JSON serialization with the Disclosures in the (first) unprotected header."""
        parts = SdJwtParts(self.issuer_jwt, tuple(d.encoded for d in self.disclosures), None, self.jws_json)
        return to_json(parts)


#: §9.3: "The RECOMMENDED minimum length of the randomly-generated portion of the salt is 128 bits."
SALT_BYTES = 16
_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
_b2a = binascii.b2a_base64


def system_salts(count: int) -> list[str]:
    """``count`` salts from the operating system's CSPRNG, each ``b64url_encode(os.urandom(SALT_BYTES))``.

    One ``os.urandom`` call for all of them (consecutive 16-byte slices of CSPRNG output are as independent as
    separate calls) and one translate/decode for their text. Drawn per issuance, never kept in a module-level pool: a
    forked worker would otherwise hand out the same salts as its parent.
    """
    raw = os.urandom(SALT_BYTES * count)
    lines = b"".join([_b2a(raw[i : i + SALT_BYTES]) for i in range(0, len(raw), SALT_BYTES)])
    salts = lines.translate(_STD_TO_URL, b"=").decode("ascii").split("\n")
    salts.pop()  # the text after the last newline
    return salts


def disclosure_json(salt: str, name: str | None, value: Any) -> str:
    """The JSON text of ``[salt, name, value]`` (``[salt, value]`` without a name) as ``json_dumps`` writes it, for a
    base64url ``salt`` and a ``value`` that cannot contain a cycle. JSON scalars are written without the encoder."""
    kind = type(value)
    if kind is str:
        text = encode_basestring(value)
    elif kind is int:
        text = int.__repr__(value)
    elif value is True:
        text = "true"
    elif value is False:
        text = "false"
    elif value is None:
        text = "null"
    else:
        text = json_dumps_acyclic(value)
    # a base64url salt needs no escaping: '"' + salt + '"' is its JSON string
    if name is None:
        return f'["{salt}",{text}]'
    return f'["{salt}",{encode_basestring(name)},{text}]'


class _Encoder:
    def __init__(self, sd_alg: str, decoys: int, rng: RandomSource, expected: int) -> None:
        self.hash_fn = hash_function(sd_alg)
        self.decoys = decoys
        self.rng = rng
        self.disclosures: list[Disclosure] = []
        #: Salts drawn ahead from the system CSPRNG, used from the end; ``None`` with an injected random source,
        #: which is asked for each salt as before (reproducible tests).
        self.salts: list[str] | None = [] if rng is SYSTEM_RANDOM else None
        self.expected = max(expected, 1)

    def _salt(self) -> str:
        salts = self.salts
        if salts is None:
            return b64url_encode(self.rng.token_bytes(SALT_BYTES))
        if not salts:
            salts.extend(system_salts(self.expected))
        return salts.pop()

    def _decoy_digests(self) -> list[str]:
        count = self.rng.randbelow(self.decoys + 1) if self.decoys else 0
        # §4.2.5: a decoy is the digest over a random salt, built like a Disclosure's
        return [digest(self._salt(), self.hash_fn) for _ in range(count)]

    def _disclose(self, name: str | None, value: Any) -> str:
        """``Disclosure.create(salt, name, value)`` and its digest (§4.2.1-4.2.3), with the steps inline.

        ``name`` is None or a claim name that :meth:`obj` has checked (a string, not ``_sd``/``...``/``_sd_alg``),
        and ``value`` a tree this walk has just built, so the encoder's cycle check has nothing to find.
        """
        salt = self._salt()
        encoded = _b2a(disclosure_json(salt, name, value).encode("utf-8"), newline=False)
        text = encoded.translate(_STD_TO_URL, b"=").decode("ascii")
        self.disclosures.append(Disclosure(salt, name, value, text))
        return (
            _b2a(self.hash_fn(text.encode("ascii")).digest(), newline=False)
            .translate(_STD_TO_URL, b"=")
            .decode("ascii")
        )

    def value(self, value: Any, node: _PathNode | None, path: ClaimPath) -> Any:
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, (dict, Mapping)):  # a dict is decided before the (slower) ABC check
            return self.obj(value, node, path)
        if isinstance(value, (list, tuple)):
            return self.array(value, node, path)
        return value

    def obj(self, value: Mapping[str, Any], node: _PathNode | None, path: ClaimPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        digests: list[str] = []
        for key, member in value.items():
            if not isinstance(key, str):
                raise SdJwtError("claim names must be strings", reason="bad_claims")
            if key in _RESERVED:
                raise SdJwtError(f"claim name {key!r} is reserved by RFC 9901 §4.1", reason="reserved_claim_name")
            child = node.children.get(key) if node is not None else None
            # a JSON leaf has nothing below it to encode: no call, no path tuple
            encoded = member if isinstance(member, _SCALARS) else self.value(member, child, (*path, key))
            if child is not None and child.disclosable:
                digests.append(self._disclose(key, encoded))
            else:
                out[key] = encoded
        if node is not None and node.every is not None:
            raise SdJwtError(f"'*' used on the object {format_claim_path(path) or '<root>'!r}", reason="bad_claim_path")
        if digests:
            out[SD_KEY] = sorted(digests + self._decoy_digests())
        return out

    def array(self, value: list[Any] | tuple[Any, ...], node: _PathNode | None, path: ClaimPath) -> list[Any]:
        out: list[Any] = []
        any_disclosable = False
        for i, item in enumerate(value):
            child = _merge(node.children.get(i) if node else None, node.every if node else None)
            encoded = self.value(item, child, (*path, i))
            if child is not None and child.disclosable:
                out.append({ELLIPSIS: self._disclose(None, encoded)})
                any_disclosable = True
            else:
                out.append(encoded)
        if any_disclosable:
            for d in self._decoy_digests():
                out.insert(self.rng.randbelow(len(out) + 1), {ELLIPSIS: d})
        return out


def _merge(a: _PathNode | None, b: _PathNode | None) -> _PathNode | None:
    if a is None or b is None:
        return a or b
    merged = _PathNode(disclosable=a.disclosable or b.disclosable)
    for key in set(a.children) | set(b.children):
        m = _merge(a.children.get(key), b.children.get(key))
        if m is not None:
            merged.children[key] = m
    merged.every = _merge(a.every, b.every)
    return merged


def issue_sd_jwt(
    claims: Mapping[str, Any],
    signer: Signer,
    *,
    disclosable: Iterable[ClaimPath] = (),
    header: Mapping[str, Any] | None = None,
    sd_alg: str = DEFAULT_SD_ALG,
    decoys: int = 0,
    rng: RandomSource = SYSTEM_RANDOM,
    serialization: Literal["compact", "json"] = "compact",
    extra_signers: Iterable[Signer] = (),
) -> IssuedSdJwt:
    """Create an SD-JWT.

    ``disclosable`` lists the claim paths to make selectively disclosable; every path must exist in ``claims``
    (a typo must not silently leave a claim in the clear). ``decoys`` is the maximum number of decoy digests added
    to each ``_sd`` array or array with disclosable elements. ``extra_signers`` adds signatures in the General JSON
    serialization (§8.3).
    """
    if not isinstance(claims, (dict, Mapping)):
        raise SdJwtError("claims must be a JSON object", reason="bad_claims")
    if decoys < 0:
        raise SdJwtError("decoys must not be negative", reason="bad_claims")
    paths = list(disclosable)
    for path in paths:
        if not _path_exists(claims, path):
            raise SdJwtError(
                f"claim path {format_claim_path(path)!r} does not exist in the claims", reason="unknown_claim_path"
            )
    encoder = _Encoder(sd_alg, decoys, rng, len(paths))
    payload = encoder.obj(claims, _build_tree(paths), ())
    if encoder.disclosures or sd_alg != DEFAULT_SD_ALG:
        payload[SD_ALG_KEY] = sd_alg
    body = json_dumps_acyclic(payload).encode("utf-8")  # a tree the walk just built
    extra = list(extra_signers)
    jws_json: dict[str, Any] | None = None
    if serialization == "json":
        jws_json = sign_json(
            body, [signer, *extra], headers=[dict(header or {})] * (1 + len(extra)), flattened=not extra
        )
        first = jws_json if not extra else jws_json["signatures"][0]
        issuer_jwt = f"{first['protected']}.{jws_json['payload']}.{first['signature']}"
    else:
        if extra:
            raise SdJwtError("several signatures need the JSON serialization (§8.3)", reason="bad_claims")
        issuer_jwt = sign_compact(body, signer, header)
    return IssuedSdJwt(
        issuer_jwt=issuer_jwt,
        disclosures=tuple(encoder.disclosures),
        payload=payload,
        serialization=serialization,
        jws_json=jws_json,
    )
