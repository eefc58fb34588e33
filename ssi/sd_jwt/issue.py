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
import struct
from _json import encode_basestring  # the C string encoder json.dumps uses (CPython)
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter, is_
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
    make_disclosure,
)
from ssi.sd_jwt._serialization import SdJwtParts, to_json

_RESERVED = frozenset({SD_KEY, ELLIPSIS, SD_ALG_KEY})
#: JSON leaves (``bool`` is an ``int``): checked first, before the (slower) ``Mapping`` ABC check.
_SCALARS = (str, int, float, type(None))
#: The exact types of JSON leaves as the JSON parser makes them (subclasses take the general walk).
_LEAVES = frozenset({str, int, float, bool, type(None)})
#: ``str.__instancecheck__(x)`` is ``isinstance(x, str)``; mapped over the names of a dict it runs in C.
_is_str = str.__instancecheck__


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


@dataclass(frozen=True, slots=True)
class _CompiledPaths:
    """The claim-path tree of a list of paths; never changed once built (the encoder only reads it)."""

    tree: _PathNode
    #: Distinct disclosable nodes: without a wildcard, every existing path is disclosed exactly once by the walk.
    disclosable: int
    wildcard: bool


def _compile_paths(paths: list[ClaimPath]) -> _CompiledPaths:
    tree = _build_tree(paths)
    disclosable, wildcard, stack = 0, False, [tree]
    while stack:
        node = stack.pop()
        disclosable += node.disclosable
        stack.extend(node.children.values())
        if node.every is not None:
            wildcard = True
            stack.append(node.every)
    return _CompiledPaths(tree, disclosable, wildcard)


#: Compiled path lists by the paths themselves: an issuer makes the same claims disclosable in every credential of a
#: type. Only lists of tuples whose items are exactly ``str``, ``int`` or ``None`` are kept (``True == 1`` and
#: ``1.0 == 1`` must not find the tree of another list); emptied when full.
_PATHS_CACHE: dict[tuple[ClaimPath, ...], _CompiledPaths] = {}
_PATHS_CACHE_SIZE = 64
_PATH_ITEM_TYPES = frozenset({str, int, type(None)})
_TUPLE_TYPE = frozenset({tuple})


#: The same compiled lists by the identity of their first path: ``id(paths[0])`` → (the paths as cached, their tree).
#: An issuer that keeps its paths as objects (a credential type's claim paths) hands the very same tuples in again;
#: then the entry is found by comparing objects by identity, in C, without the type test and the hashing of every path.
#: Each entry holds its paths, so the ids of its objects cannot be reused while it is kept; emptied when full.
_PATHS_BY_FIRST: dict[int, tuple[tuple[ClaimPath, ...], _CompiledPaths]] = {}


def _compiled_paths(paths: list[ClaimPath]) -> _CompiledPaths:
    key = tuple(paths)
    if key:
        known = _PATHS_BY_FIRST.get(id(key[0]))
        # the same objects (tuples of str, int and None, immutable) as a list whose types were tested when it was cached
        if known is not None and len(known[0]) == len(key) and all(map(is_, known[0], key)):
            return known[1]
    # the types of the paths and of their items, collected in C (map over the flattened items)
    if set(map(type, key)) <= _TUPLE_TYPE and set(map(type, chain.from_iterable(key))) <= _PATH_ITEM_TYPES:
        compiled = _PATHS_CACHE.get(key)
        if compiled is None:
            compiled = _compile_paths(paths)
            if len(_PATHS_CACHE) >= _PATHS_CACHE_SIZE:
                _PATHS_CACHE.clear()
            _PATHS_CACHE[key] = compiled
        if key:
            if len(_PATHS_BY_FIRST) >= _PATHS_CACHE_SIZE:
                _PATHS_BY_FIRST.clear()
            _PATHS_BY_FIRST[id(key[0])] = (key, compiled)
        return compiled
    return _compile_paths(paths)


def _check_paths_exist(claims: Mapping[str, Any], paths: list[ClaimPath]) -> None:
    for path in paths:
        if not _path_exists(claims, path):
            raise SdJwtError(
                f"claim path {format_claim_path(path)!r} does not exist in the claims", reason="unknown_claim_path"
            )


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
            # an index is an int (a float such as 1.0 cannot index a list: not there, rather than a TypeError)
            if not isinstance(value, (list, tuple)) or not isinstance(part, int) or not 0 <= part < len(value):
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
    #: For an issuance by :func:`issue_sd_jwt`, until ``disclosures`` is first read: the encoder whose Disclosures they
    #: are (``disclosures`` is made from it then, and this is set back to ``None``). An issuer that only sends the
    #: compact form (both of govssi's) never needs the ``Disclosure`` objects, which are most of an issuance's objects.
    _pending: _Encoder | None = field(default=None, init=False, repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:
        # only called for an attribute that is not set: ``disclosures`` of an issuance before its first read
        if name == "disclosures":
            encoder = _GET_PENDING(self)
            if encoder is not None:
                made = encoder.made()
                _SET_DISCLOSURES(self, made)
                _SET_PENDING(self, None)
                return made
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def compact(self) -> str:
        """§4: ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~``."""
        encoder = self._pending
        if encoder is not None:  # the encoded Disclosures, in order, without the objects
            return "~".join([self.issuer_jwt, *encoder.disclosures, ""])
        return "~".join([self.issuer_jwt, *map(_ENCODED, self.disclosures), ""])

    def to_json(self) -> dict[str, Any]:
        """§8 JWS JSON serialization with the Disclosures in the (first) unprotected header."""
        parts = SdJwtParts(self.issuer_jwt, tuple(d.encoded for d in self.disclosures), None, self.jws_json)
        return to_json(parts)


_GET_PENDING: Callable[[IssuedSdJwt], _Encoder | None] = vars(IssuedSdJwt)["_pending"].__get__
_SET_PENDING: Callable[[IssuedSdJwt, _Encoder | None], None] = vars(IssuedSdJwt)["_pending"].__set__
_SET_DISCLOSURES: Callable[[IssuedSdJwt, tuple[Disclosure, ...]], None] = vars(IssuedSdJwt)["disclosures"].__set__
_SET_ISSUED = tuple(vars(IssuedSdJwt)[name].__set__ for name in ("issuer_jwt", "payload", "serialization", "jws_json"))


def _make_issued(
    issuer_jwt: str,
    encoder: _Encoder,
    payload: dict[str, Any],
    serialization: Literal["compact", "json"],
    jws_json: dict[str, Any] | None,
) -> IssuedSdJwt:
    """An ``IssuedSdJwt`` whose ``disclosures`` are made from ``encoder`` when first read (see ``_pending``)."""
    issued: IssuedSdJwt = object.__new__(IssuedSdJwt)
    set_jwt, set_payload, set_serialization, set_jws_json = _SET_ISSUED
    set_jwt(issued, issuer_jwt)
    set_payload(issued, payload)
    set_serialization(issued, serialization)
    set_jws_json(issued, jws_json)
    _SET_PENDING(issued, encoder)
    return issued


#: ``d.encoded`` of a Disclosure, as a C callable (for ``map``).
_ENCODED: Callable[[Disclosure], str] = attrgetter("encoded")

#: §9.3: "The RECOMMENDED minimum length of the randomly-generated portion of the salt is 128 bits."
SALT_BYTES = 16
_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
_b2a = binascii.b2a_base64
_ascii_text = bytes.decode  # UTF-8, which for base64url text is its ASCII


def system_salts(count: int) -> list[str]:
    """``count`` salts from the operating system's CSPRNG, each ``b64url_encode(os.urandom(SALT_BYTES))``.

    One ``os.urandom`` call for all of them (consecutive slices of CSPRNG output are as independent as separate
    calls) and one base64 encoding for their text: each salt's 16 random octets are followed by two zero octets, so
    every salt is a whole number of 3-octet groups (24 characters) and its first 22 characters are exactly the
    unpadded base64url of the 16 octets (the 22nd carries the last 2 random bits and 4 zero bits, as the padded
    encoding of 16 octets does). Drawn per issuance, never kept in a module-level pool: a forked worker would
    otherwise hand out the same salts as its parent.
    """
    buf = bytearray(os.urandom(_SALT_GROUP * count))
    # bytearray zeros, not bytes: compiled (ssi/_compiled.py), a slice assignment to a bytearray takes only a bytearray
    buf[SALT_BYTES::_SALT_GROUP] = bytearray(count)
    buf[SALT_BYTES + 1 :: _SALT_GROUP] = bytearray(count)
    # the 22 salt characters of each 24-character group, cut out by one struct unpack (in C), then each as text
    return list(map(_ascii_text, _salt_layout(count).unpack(_b2a(buf, newline=False).translate(_STD_TO_URL))))


#: Octets per salt in :func:`system_salts`: the 16 random ones and two zero octets (144 bits, 24 base64 characters).
_SALT_GROUP = SALT_BYTES + 2
_SALT_LAYOUTS: dict[int, struct.Struct] = {}


def _salt_layout(count: int) -> struct.Struct:
    """``count`` times 22 characters kept and 2 skipped (``22s2x``): the salts of ``count`` 24-character groups (cached
    by count, at most 64 counts)."""
    layout = _SALT_LAYOUTS.get(count)
    if layout is None:
        layout = struct.Struct("22s2x" * count)
        if len(_SALT_LAYOUTS) >= 64:
            _SALT_LAYOUTS.clear()
        _SALT_LAYOUTS[count] = layout
    return layout


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


#: The place of a Disclosure in the walk's order until :meth:`_Encoder._disclose_all` has encoded it.
_PENDING = ""


class _Encoder:
    def __init__(self, sd_alg: str, decoys: int, rng: RandomSource, expected: int) -> None:
        self.hash_fn = hash_function(sd_alg)
        self.decoys = decoys
        self.rng = rng
        #: The encoded Disclosures in the walk's order (each slot reserved with ``_PENDING`` until encoded); the
        #: ``Disclosure`` objects are made by :meth:`made`, from ``batches``.
        self.disclosures: list[Any] = []
        #: What :meth:`_disclose_all` encoded: its ``(slot, salt, name, value)`` and the encoded texts, per call.
        self.batches: list[tuple[list[tuple[int, str, str | None, Any]], list[str]]] = []
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

    def _reserve(self, name: str | None, value: Any) -> tuple[int, str, str | None, Any]:
        """Draw the salt of a Disclosure and keep its place in ``disclosures`` (the walk's order) until it is made."""
        salt = self._salt()
        slot = len(self.disclosures)
        self.disclosures.append(_PENDING)
        return (slot, salt, name, value)

    def _disclose(self, name: str | None, value: Any) -> str:
        """``Disclosure.create(salt, name, value)`` and its digest (§4.2.1-4.2.3): :meth:`_disclose_all` of one."""
        return self._disclose_all([self._reserve(name, value)])[0]

    def _disclose_all(self, pending: list[tuple[int, str, str | None, Any]]) -> list[str]:
        """Make the Disclosures ``(slot, salt, name, value)`` of one object or array, put each in its slot, and return
        their digests in order: for each, ``Disclosure.create(salt, name, value)`` and ``digest(encoded, hash_fn)``
        (§4.2.1-4.2.3), with the text steps done once for all of them.

        Each ``name`` is None or a claim name that :meth:`obj` has checked (a string, not ``_sd``/``...``/``_sd_alg``),
        and each ``value`` a tree this walk has just built, so the encoder's cycle check has nothing to find.
        Compact JSON has no raw line feed (the encoder escapes control characters; checked below all the same) and
        UTF-8 writes no other character with the byte 0x0A, so the joined texts split back at line feeds exactly;
        ``b2a_base64`` ends each encoding with one, so one translate and one decode serve every encoding and digest.
        """
        # disclosure_json(salt, name, value), with the most common case (a claim whose value is a string) inline
        texts = "\n".join(
            [
                f'["{salt}",{encode_basestring(name)},{encode_basestring(value)}]'
                if type(value) is str and name is not None
                else disclosure_json(salt, name, value)
                for _, salt, name, value in pending
            ]
        )
        pieces = texts.encode("utf-8").split(b"\n")
        if len(pieces) != len(pending):  # pragma: no cover - the JSON encoder escapes line feeds
            raise SdJwtError("a Disclosure's JSON text contains a raw line feed", reason="bad_claims")
        ascii_texts = b"".join(map(_b2a, pieces)).translate(_STD_TO_URL, b"=").split(b"\n")
        ascii_texts.pop()  # after the last line feed
        hash_fn = self.hash_fn
        digests = (
            b"".join([_b2a(hash_fn(text).digest()) for text in ascii_texts])
            .translate(_STD_TO_URL, b"=")
            .decode("ascii")
            .split("\n")
        )
        digests.pop()
        encoded = list(map(_ascii_text, ascii_texts))
        disclosures = self.disclosures
        for (slot, _, _, _), text in zip(pending, encoded, strict=True):
            disclosures[slot] = text
        self.batches.append((pending, encoded))
        return digests

    def made(self) -> tuple[Disclosure, ...]:
        """The Disclosures in the walk's order: for each encoded one, ``Disclosure(salt, name, value, encoded)``."""
        made = list(self.disclosures)
        for pending, texts in self.batches:
            for (slot, salt, name, value), text in zip(pending, texts, strict=True):
                made[slot] = make_disclosure(salt, name, value, text)
        return tuple(made)

    def value(self, value: Any, node: _PathNode | None, path: ClaimPath) -> Any:
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, (dict, Mapping)):  # a dict is decided before the (slower) ABC check
            return self.obj(value, node, path)
        if isinstance(value, (list, tuple)):
            return self.array(value, node, path)
        return value

    def plain(self, value: Any) -> Any:
        """``self.value(value, None, path)``: a value with nothing disclosable below it, copied. A dict whose names are
        all strings and none reserved is copied in one go and only its container members are walked (in order);
        anything else takes the general walk, which raises its error in the same order."""
        kind = type(value)
        if kind is dict:
            if all(map(_is_str, value)) and _RESERVED.isdisjoint(value):
                out = value.copy()
                for key, member in value.items():
                    if type(member) not in _LEAVES:
                        out[key] = self.plain(member)
                return out
            return self.obj(value, None, ())
        if kind is list:
            return [item if type(item) in _LEAVES else self.plain(item) for item in value]
        return self.value(value, None, ())

    def obj(self, value: Mapping[str, Any], node: _PathNode | None, path: ClaimPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        pending: list[tuple[int, str, str | None, Any]] = []
        salts, disclosures = self.salts, self.disclosures
        for key, member in value.items():
            if not isinstance(key, str):
                raise SdJwtError("claim names must be strings", reason="bad_claims")
            if key in _RESERVED:
                raise SdJwtError(f"claim name {key!r} is reserved by RFC 9901 §4.1", reason="reserved_claim_name")
            child = node.children.get(key) if node is not None else None
            # a JSON leaf has nothing below it to encode: no call, no path tuple
            if isinstance(member, _SCALARS):
                encoded = member
            elif child is None or (not child.children and child.every is None):
                encoded = self.plain(member)  # nothing below is disclosable
            else:
                encoded = self.value(member, child, (*path, key))
            if child is not None and child.disclosable:
                # self._reserve(key, encoded), inline: the salt (from the batch while it lasts) and the place
                salt = salts.pop() if salts else self._salt()
                pending.append((len(disclosures), salt, key, encoded))
                disclosures.append(_PENDING)
            else:
                out[key] = encoded
        if node is not None and node.every is not None:
            raise SdJwtError(f"'*' used on the object {format_claim_path(path) or '<root>'!r}", reason="bad_claim_path")
        if pending:
            out[SD_KEY] = sorted(self._disclose_all(pending) + self._decoy_digests())
        return out

    def array(self, value: list[Any] | tuple[Any, ...], node: _PathNode | None, path: ClaimPath) -> list[Any]:
        out: list[Any] = []
        #: (position in ``out``, Disclosure to make): the placeholders become {"...": digest} once all are made
        pending: list[tuple[int, tuple[int, str, str | None, Any]]] = []
        for i, item in enumerate(value):
            child = _merge(node.children.get(i) if node else None, node.every if node else None)
            encoded = self.value(item, child, (*path, i))
            if child is not None and child.disclosable:
                pending.append((len(out), self._reserve(None, encoded)))
                out.append(None)
            else:
                out.append(encoded)
        if pending:
            digests = self._disclose_all([reserved for _, reserved in pending])
            for (position, _), d in zip(pending, digests, strict=True):
                out[position] = {ELLIPSIS: d}
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
    # Every path must exist, and that is checked first: an absent path is reported before any other error. Without
    # a wildcard the walk itself tells: it discloses each existing path once, so all exist when it made as many
    # Disclosures as there are disclosable nodes; the paths are checked one by one only otherwise.
    try:
        compiled = _compiled_paths(paths)
        if compiled.wildcard:
            _check_paths_exist(claims, paths)
        encoder = _Encoder(sd_alg, decoys, rng, len(paths))
        payload = encoder.obj(claims, compiled.tree, ())
    except Exception:
        _check_paths_exist(claims, paths)  # an absent path's error comes first, as when checked before the walk
        raise
    if not compiled.wildcard and len(encoder.disclosures) != compiled.disclosable:
        _check_paths_exist(claims, paths)
        raise SdJwtError("a claim path was not found in the claims", reason="unknown_claim_path")  # pragma: no cover
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
    return _make_issued(issuer_jwt, encoder, payload, serialization, jws_json)
