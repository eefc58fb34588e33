"""RFC 9901 §7.1 step 3-5: match Disclosures to embedded digests and build the Processed SD-JWT Payload.

Used by the holder (to know what each Disclosure reveals and where) and the verifier. The walk records, for every
Disclosure it uses, the claim path of the revealed value in the processed payload and the Disclosure it was nested
in, so a holder can select by path and a verifier can report exactly what was disclosed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pybase64

from ssi.encoding import b64url_decode, json_loads
from ssi.errors import EncodingError, InputTooLarge, SdJwtError
from ssi.sd_jwt._common import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_SD_ALG,
    ELLIPSIS,
    SD_ALG_KEY,
    SD_KEY,
    ClaimPath,
    Disclosure,
    hash_function,
    make_disclosure,
    slots_maker,
)


@dataclass(frozen=True, slots=True)
class DisclosedClaim:
    """A Disclosure as it was used: where its value sits in the processed payload and what it was nested in."""

    path: ClaimPath
    disclosure: Disclosure
    digest: str
    #: Digest of the Disclosure whose value contained this one's digest; ``None`` when embedded in the signed JWT.
    parent: str | None


@dataclass(frozen=True, slots=True)
class ProcessedPayload:
    claims: dict[str, Any]
    disclosed: tuple[DisclosedClaim, ...]
    sd_alg: str


#: ``DisclosedClaim(path, disclosure, digest, parent)`` / ``ProcessedPayload(claims, disclosed, sd_alg)`` without the
#: frozen dataclass ``__init__``.
_make_disclosed: Callable[[ClaimPath, Disclosure, str, str | None], DisclosedClaim] = slots_maker(DisclosedClaim)
_make_processed: Callable[[dict[str, Any], tuple[DisclosedClaim, ...], str], ProcessedPayload] = slots_maker(
    ProcessedPayload
)
_SPECIAL_KEYS = frozenset({SD_KEY, ELLIPSIS, SD_ALG_KEY})
#: What ``ssi.encoding.b64url_encode`` calls: base64 in the URL-safe alphabet, padding stripped after.
_b64url = pybase64.b64encode_as_string
_URL_ALTCHARS = b"-_"
#: ``str.__instancecheck__(x)`` is ``isinstance(x, str)``; mapped over a list it runs without a Python-level loop.
_is_str = str.__instancecheck__


class _Walk:
    __slots__ = ("by_digest", "disclosed", "max_depth", "seen")

    def __init__(self, by_digest: dict[str, str], max_depth: int) -> None:
        self.by_digest = by_digest
        self.max_depth = max_depth
        self.seen: set[str] = set()
        self.disclosed: list[DisclosedClaim] = []

    def _too_deep(self) -> InputTooLarge:
        return InputTooLarge(f"SD-JWT nesting deeper than {self.max_depth} levels", reason="too_deep")

    def _claim_digest(self, d: str) -> str | None:
        # §7.1 step 4: "If any digest value is encountered more than once ... the SD-JWT MUST be rejected."
        if d in self.seen:
            raise SdJwtError("a digest value appears more than once (§7.1 step 4)", reason="duplicate_digest")
        self.seen.add(d)
        return self.by_digest.get(d)

    def value(self, node: Any, path: ClaimPath, depth: int, parent: str | None) -> Any:
        if depth > self.max_depth:
            raise self._too_deep()
        if isinstance(node, dict):
            return self.obj(node, path, depth, parent)
        if isinstance(node, list):
            return self.array(node, path, depth, parent)
        return node

    def _members(self, node: dict[str, Any], path: ClaimPath, depth: int, parent: str | None) -> dict[str, Any]:
        """The members of ``node`` other than ``_sd``, walked one by one in order (§4.1 item 7, §4.1.1)."""
        out: dict[str, Any] = {}
        child_depth = depth + 1
        leaf_too_deep = child_depth > self.max_depth  # what value() decides for a leaf one level down
        for key, val in node.items():
            if key in _SPECIAL_KEYS:
                if key == SD_KEY:
                    continue
                if key == ELLIPSIS:
                    # §4.1 item 7: "MUST NOT contain the claims _sd or ... except for the purpose of conveying digests"
                    raise SdJwtError(
                        "'...' is only allowed as the single key of an array element", reason="misused_ellipsis"
                    )
                if depth != 0:
                    # §4.1.1: "It MUST NOT be used in any object nested within the payload."
                    raise SdJwtError("'_sd_alg' is only allowed at the top level (§4.1.1)", reason="misplaced_sd_alg")
            if isinstance(val, (dict, list)):
                out[key] = self.value(val, (*path, key), child_depth, parent)
            elif leaf_too_deep:
                raise self._too_deep()
            else:
                out[key] = val  # a leaf: nothing to walk, no path to build
        return out

    def obj(self, node: dict[str, Any], path: ClaimPath, depth: int, parent: str | None) -> dict[str, Any]:
        child_depth = depth + 1
        leaf_too_deep = child_depth > self.max_depth  # what value() decides for a leaf one level down
        if type(node) is dict and ELLIPSIS not in node and (depth == 0 or SD_ALG_KEY not in node) and not leaf_too_deep:
            # No member the loop below could refuse ('...', a nested '_sd_alg', a leaf too deep), and every container
            # member is at most max_depth deep: the members copied in one go (same order), the containers among them
            # replaced by their walks in order, '_sd' taken out below.
            out = node.copy()
            for key, val in node.items():
                if isinstance(val, dict):
                    if key != SD_KEY:
                        out[key] = self.obj(val, (*path, key), child_depth, parent)
                elif isinstance(val, list) and key != SD_KEY:
                    out[key] = self.array(val, (*path, key), child_depth, parent)
            if SD_KEY not in node:
                return out
            del out[SD_KEY]
        else:
            out = self._members(node, path, depth, parent)
            if SD_KEY not in node:
                return out
        sd = node[SD_KEY]
        # §7.1 step 3.2.1: "objects having an _sd key that refers to an array of strings"; anything else is misuse.
        if not isinstance(sd, list) or not all(map(_is_str, sd)):
            raise SdJwtError("'_sd' must be an array of strings (§4.2.4.1)", reason="malformed_sd")
        self._digests(sd, out, path, child_depth, parent)
        return out

    def _object_disclosure(self, d: str, out: dict[str, Any]) -> tuple[str, Disclosure]:
        """The Disclosure of an ``_sd`` digest and its claim name (§7.1 step 3.3.2)."""
        encoded = self.by_digest[d]
        try:
            items = json_loads(b64url_decode(encoded))
        except EncodingError:
            items = None
        if type(items) is list and len(items) == 3 and type(items[0]) is str and type(items[1]) is str:
            name: str | None = items[1]
            if name in _SPECIAL_KEYS:
                disclosure = Disclosure.parse(encoded)  # refuses it (§7.1 step 3.3.2.2)
            else:
                # what Disclosure.parse returns for a well-formed object property Disclosure
                disclosure = make_disclosure(items[0], name, items[2], encoded)
        else:
            disclosure = Disclosure.parse(encoded)  # decides, and refuses, as always
            name = disclosure.name
        if name is None:
            # §7.1 step 3.3.2.1: an _sd digest needs a three-element Disclosure
            raise SdJwtError(
                "array-element Disclosure referenced from '_sd' (§7.1 step 3.3.2.1)",
                reason="disclosure_type_mismatch",
            )
        if name in out:
            # §7.1 step 3.3.2.3: "If the claim name already exists at the level of the _sd key ... reject"
            raise SdJwtError(
                f"disclosed claim {name!r} already exists at its level (§7.1 step 3.3.2.3)",
                reason="claim_name_collision",
            )
        return name, disclosure

    def _digests(
        self, sd: list[str], out: dict[str, Any], path: ClaimPath, child_depth: int, parent: str | None
    ) -> None:
        """The digests of an ``_sd`` array one by one (§7.1 steps 3.2-3.3 and 4), disclosed claims added to ``out``."""
        seen, by_digest = self.seen, self.by_digest
        leaf_too_deep = child_depth > self.max_depth
        for d in sd:
            # §7.1 step 4: "If any digest value is encountered more than once ... the SD-JWT MUST be rejected."
            if d in seen:
                raise SdJwtError("a digest value appears more than once (§7.1 step 4)", reason="duplicate_digest")
            seen.add(d)
            if d not in by_digest:
                continue  # §7.1 step 3.3.1: a decoy or an undisclosed claim
            name, disclosure = self._object_disclosure(d, out)
            child = (*path, name)
            self.disclosed.append(_make_disclosed(child, disclosure, d, parent))
            value = disclosure.value
            if isinstance(value, (dict, list)):
                out[name] = self.value(value, child, child_depth, d)
            elif leaf_too_deep:
                raise self._too_deep()
            else:
                out[name] = value  # a leaf, as value() would return it after its depth check

    def array(self, node: list[Any], path: ClaimPath, depth: int, parent: str | None) -> list[Any]:
        out: list[Any] = []
        child_depth = depth + 1
        for item in node:
            if isinstance(item, dict) and ELLIPSIS in item:
                d = item[ELLIPSIS]
                # §4.2.4.2: "There MUST NOT be any other keys in the object"; the value is a digest string.
                if len(item) != 1 or not isinstance(d, str):
                    raise SdJwtError(
                        'array element digest must be {"...": <string>} (§4.2.4.2)', reason="misused_ellipsis"
                    )
                encoded = self._claim_digest(d)
                if encoded is None:
                    continue  # §7.1 step 3.4: remove elements whose digest was not found
                disclosure = Disclosure.parse(encoded)
                if disclosure.name is not None:
                    # §7.1 step 3.3.3.1: an array digest needs a two-element Disclosure
                    raise SdJwtError(
                        "object-property Disclosure referenced from an array (§7.1 step 3.3.3.1)",
                        reason="disclosure_type_mismatch",
                    )
                child = (*path, len(out))
                self.disclosed.append(_make_disclosed(child, disclosure, d, parent))
                out.append(self.value(disclosure.value, child, child_depth, d))
            elif isinstance(item, (dict, list)):
                out.append(self.value(item, (*path, len(out)), child_depth, parent))
            elif child_depth > self.max_depth:
                raise self._too_deep()
            else:
                out.append(item)
        return out


def index_disclosures(encoded: Iterable[str], hash_fn: Callable[[bytes], Any]) -> dict[str, str]:
    """Digest → Disclosure. The same Disclosure twice is refused: §4 "A Holder MUST NOT ... send a Disclosure more
    than once"."""
    by_digest: dict[str, str] = {}
    for e in encoded:
        d = _b64url(hash_fn(e.encode("ascii")).digest(), _URL_ALTCHARS).rstrip("=")  # digest(e, hash_fn), inline
        if d in by_digest:
            raise SdJwtError("the same Disclosure is present more than once (§4)", reason="duplicate_disclosure")
        by_digest[d] = e
    return by_digest


def process_payload(
    payload: Any, disclosures: Iterable[str], *, max_depth: int = DEFAULT_MAX_DEPTH
) -> ProcessedPayload:
    """§7.1 steps 2.5 and 3-5 over an (already signature-checked, when verifying) Issuer-signed JWT payload."""
    if not isinstance(payload, dict):
        raise SdJwtError("SD-JWT payload must be a JSON object", reason="malformed_sd_jwt")
    sd_alg = payload.get(SD_ALG_KEY, DEFAULT_SD_ALG)
    hash_fn = hash_function(sd_alg)
    walk = _Walk(index_disclosures(disclosures, hash_fn), max_depth)
    claims = walk.obj(payload, (), 0, None)
    claims.pop(SD_ALG_KEY, None)  # §7.1 step 3.6
    if len(walk.disclosed) != len(walk.by_digest):
        # §7.1 step 5: "If any Disclosure was not referenced by digest value ... the SD-JWT MUST be rejected."
        raise SdJwtError("a Disclosure is not referenced by any digest (§7.1 step 5)", reason="unreferenced_disclosure")
    return _make_processed(claims, tuple(walk.disclosed), sd_alg)
