"""Building blocks shared by the three roles: disclosures (RFC 9901 §4.2), digests (§4.2.3), claim paths.

A *claim path* addresses a claim in the processed (plain) payload, as in OpenID4VP DCQL (§7): a tuple whose items
are a string (object member), a non-negative int (array index) or ``None`` (every element of an array).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from ssi.encoding import b64url_decode, b64url_encode, json_dumps, json_loads
from ssi.errors import EncodingError, SdJwtError

ClaimPath = tuple[str | int | None, ...]
_T = TypeVar("_T")

SD_KEY = "_sd"
ELLIPSIS = "..."
SD_ALG_KEY = "_sd_alg"
KB_JWT_TYP = "kb+jwt"
DEFAULT_SD_ALG = "sha-256"

#: §4.1.1: "a hash algorithm value from the 'Hash Name String' column in the IANA 'Named Information Hash Algorithm'
#: registry"; sha-256 MUST be supported. We accept the SHA-2 family members below, nothing weaker.
HASH_ALGORITHMS: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
}

#: Limits against resource exhaustion (all configurable on the verifier).
DEFAULT_MAX_SIZE = 512 * 1024
DEFAULT_MAX_DISCLOSURES = 1024
DEFAULT_MAX_DEPTH = 32


def hash_function(sd_alg: Any) -> Callable[[bytes], Any]:
    """§7.1 step 2.5: the ``_sd_alg`` value must be understood and deemed secure."""
    if not isinstance(sd_alg, str):
        raise SdJwtError("'_sd_alg' must be a string", reason="unsupported_sd_alg")
    try:
        return HASH_ALGORITHMS[sd_alg]
    except KeyError:
        raise SdJwtError(f"hash algorithm {sd_alg!r} is not supported", reason="unsupported_sd_alg") from None


def digest(encoded: str, hash_fn: Callable[[bytes], Any]) -> str:
    """§4.2.3: the digest is taken over the US-ASCII bytes of the base64url-encoded Disclosure, then base64url."""
    return b64url_encode(hash_fn(encoded.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A Disclosure (§4.2.1 object property ``[salt, name, value]``, §4.2.2 array element ``[salt, value]``).

    ``encoded`` is kept verbatim: digests are computed over the encoded form, never a re-encoding.
    """

    salt: str
    name: str | None
    value: Any
    encoded: str

    @property
    def is_array_element(self) -> bool:
        return self.name is None

    @classmethod
    def create(cls, salt: str, name: str | None, value: Any) -> Disclosure:
        """§4.2.1 item 2: the claim name "MUST be a string and MUST NOT be ``_sd``, ``...``"."""
        if name is not None and (not isinstance(name, str) or name in (SD_KEY, ELLIPSIS)):
            raise SdJwtError(f"claim name {name!r} cannot be selectively disclosed", reason="forbidden_claim_name")
        items = [salt, value] if name is None else [salt, name, value]
        encoded = b64url_encode(json_dumps(items).encode("utf-8"))
        return cls(salt, name, value, encoded)

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        """Decode and validate a Disclosure's structure (§4.2.1, §4.2.2; §7.1 step 3.3.2.1-2 / 3.3.3.1)."""
        try:
            items = json_loads(b64url_decode(encoded))
        except EncodingError as exc:
            raise SdJwtError(
                f"Disclosure is not base64url-encoded JSON: {exc.description}", reason="malformed_disclosure"
            ) from None
        if not isinstance(items, list) or len(items) not in (2, 3):
            raise SdJwtError("Disclosure must be a JSON array of two or three elements", reason="malformed_disclosure")
        if not isinstance(items[0], str):
            raise SdJwtError("Disclosure salt must be a string (§4.2.1 item 1)", reason="malformed_disclosure")
        if len(items) == 2:
            if cls is Disclosure:
                return make_disclosure(items[0], None, items[1], encoded)
            return cls(items[0], None, items[1], encoded)
        name = items[1]
        if not isinstance(name, str):
            raise SdJwtError("Disclosure claim name must be a string (§4.2.1 item 2)", reason="malformed_disclosure")
        if name in (SD_KEY, ELLIPSIS, SD_ALG_KEY):
            raise SdJwtError(
                f"Disclosure must not disclose a claim named {name!r} (§7.1 step 3.3.2.2)",
                reason="forbidden_claim_name",
            )
        if cls is Disclosure:
            return make_disclosure(items[0], name, items[2], encoded)
        return cls(items[0], name, items[2], encoded)


def slots_maker(cls: type[_T]) -> Callable[..., _T]:
    """A function ``make(*values)`` that returns what ``cls(*values)`` returns for a frozen, slotted dataclass whose
    ``__init__`` only stores its fields in order (no defaults applied, no ``__post_init__``), without that ``__init__``
    (one ``object.__setattr__`` lookup and call per field): a new object, each slot set through its descriptor."""
    new = object.__new__
    setters = tuple(vars(cls)[f.name].__set__ for f in fields(cls))  # type: ignore[arg-type]
    if len(setters) == 3:
        s0, s1, s2 = setters

        def make3(a: Any, b: Any, c: Any) -> _T:
            made: _T = new(cls)
            s0(made, a)
            s1(made, b)
            s2(made, c)
            return made

        return make3
    if len(setters) == 4:
        s0, s1, s2, s3 = setters

        def make4(a: Any, b: Any, c: Any, d: Any) -> _T:
            made: _T = new(cls)
            s0(made, a)
            s1(made, b)
            s2(made, c)
            s3(made, d)
            return made

        return make4
    if len(setters) == 6:
        u0, u1, u2, u3, u4, u5 = setters

        def make6(a: Any, b: Any, c: Any, d: Any, e: Any, f: Any) -> _T:  # noqa: PLR0917 - the six fields in order
            made: _T = new(cls)
            u0(made, a)
            u1(made, b)
            u2(made, c)
            u3(made, d)
            u4(made, e)
            u5(made, f)
            return made

        return make6

    def make(*values: Any) -> _T:
        if len(values) != len(setters):
            raise TypeError(f"{cls.__name__} takes {len(setters)} values, got {len(values)}")
        made: _T = new(cls)
        for setter, value in zip(setters, values, strict=True):
            setter(made, value)
        return made

    return make


#: ``Disclosure(salt, name, value, encoded)`` for a Disclosure already checked or built by this package.
make_disclosure: Callable[[str, str | None, Any, str], Disclosure] = slots_maker(Disclosure)


def parse_claim_path(text: str, claims: Any = None) -> ClaimPath:
    """Parse the CLI/config notation ``address.street_address``, ``nationalities.0``, ``nationalities.*``.

    A segment of digits is ambiguous (``age_equal_or_over.18`` names an object member "18"; ``nationalities.0``
    an array index). Given the plain ``claims``, each segment is typed by the container it addresses; without them,
    digits mean an array index.
    """
    if not isinstance(text, str) or not text:
        raise SdJwtError("empty claim path", reason="bad_claim_path")
    out: list[str | int | None] = []
    node = claims
    for part in text.split("."):
        if not part:
            raise SdJwtError(f"claim path {text!r} has an empty segment", reason="bad_claim_path")
        if part == "*":
            out.append(None)
            node = node[0] if isinstance(node, list) and node else None
        elif part.isascii() and part.isdigit() and not isinstance(node, dict):
            out.append(int(part))
            node = node[int(part)] if isinstance(node, list) and int(part) < len(node) else None
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)


def format_claim_path(path: Sequence[str | int | None]) -> str:
    return ".".join("*" if p is None else str(p) for p in path)
