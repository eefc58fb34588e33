"""The selective disclosure functions of vc-di-ecdsa §3.3 (shared by ecdsa-sd-2023 and bbs-2023, which cites them),
plus bbs-2023's ``createShuffledIdLabelMapFunction`` (vc-di-bbs §3.2.1).

Blank nodes are skolemized and deskolemized on the RDF terms themselves, not with a regular expression over N-Quads
text (§3.3.5/§3.3.6 show one): a literal that happens to contain ``<urn:...>`` or ``_:`` stays what it is, and the
URN scheme is fresh per call so an IRI in the document can never be taken for a skolemized blank node.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ssi.data_integrity._jsonld import (
    BUNDLED_CONTEXTS,
    ContextLoader,
    LabelMapFactory,
    Quad,
    canonicalize,
    compact,
    expand,
    relabel,
    to_quads,
)
from ssi.encoding import b64url_encode
from ssi.errors import DataIntegrityError

_POINTER_SEGMENT = re.compile(r"(?:[^~]|~[01])*")
_INTEGER = re.compile(r"0|[1-9][0-9]*")

# --- label maps (§3.3.3, §3.3.4; vc-di-bbs §3.2.1) ------------------------------------------------------------------


def create_label_map_function(label_map: Mapping[str, str]) -> LabelMapFactory:
    """§3.3.3 ``createLabelMapFunction``: each canonical identifier is replaced by ``label_map[canonical]``."""

    def factory(canonical_id_map: dict[str, str]) -> dict[str, str]:
        out = {}
        for input_label, canonical in canonical_id_map.items():
            if canonical not in label_map:
                raise DataIntegrityError(f"label map has no entry for {canonical}", reason="label_map_incomplete")
            out[input_label] = label_map[canonical]
        return out

    return factory


def create_shuffled_id_label_map_function(hmac_key: bytes) -> LabelMapFactory:
    """vc-di-bbs §3.2.1 ``createShuffledIdLabelMapFunction``: HMAC-SHA-256 each canonical identifier, encode as
    ``"u" + base64url``, then label each blank node ``"b" + (rank of its digest among all digests)``."""

    def factory(canonical_id_map: dict[str, str]) -> dict[str, str]:
        digests = {
            key: "u" + b64url_encode(hmac.new(hmac_key, canonical.encode(), hashlib.sha256).digest())
            for key, canonical in canonical_id_map.items()
        }
        rank = {digest: index for index, digest in enumerate(sorted(digests.values()))}
        return {key: f"b{rank[digest]}" for key, digest in digests.items()}

    return factory


# --- canonicalization with label replacement (§3.3.1, §3.3.2, §3.3.14) ----------------------------------------------


def label_replacement_canonicalize(quads: list[Quad], factory: LabelMapFactory) -> tuple[list[str], dict[str, str]]:
    """§3.3.1 ``labelReplacementCanonicalizeNQuads``: canonicalize, let ``factory`` map the canonical identifier map
    to new labels, and return the canonical N-Quads (sorted) with the new labels, and the label map (input label →
    new label)."""
    canonical, canonical_id_map = canonicalize(quads)
    label_map = factory(canonical_id_map)
    by_canonical = {canonical_id_map[old]: new for old, new in label_map.items()}
    return relabel(canonical, by_canonical), label_map


def label_replacement_canonicalize_json_ld(
    document: Mapping[str, Any], factory: LabelMapFactory, loader: ContextLoader = BUNDLED_CONTEXTS
) -> tuple[list[str], dict[str, str]]:
    """§3.3.2 ``labelReplacementCanonicalizeJsonLd``."""
    return label_replacement_canonicalize(to_quads(expand(document, loader), loader), factory)


def relabel_blank_nodes(quads: list[Quad], label_map: Mapping[str, str]) -> list[str]:
    """§3.3.14 ``relabelBlankNodes`` (sorted N-Quads lines)."""
    return relabel(quads, label_map)


# --- skolemization (§3.3.7-§3.3.9) -----------------------------------------------------------------------------------


class _Skolemizer:
    def __init__(self) -> None:
        self.prefix = f"urn:bnid-{secrets.token_hex(8)}:"
        self.count = 0

    def expanded(self, expanded: list[Any]) -> list[Any]:
        """§3.3.7 ``skolemizeExpandedJsonLd``: every node object gets an IRI ``@id`` (existing blank node labels
        are kept, unlabeled nodes get a fresh one)."""
        out: list[Any] = []
        for element in expanded:
            if not isinstance(element, dict) or "@value" in element:
                out.append(copy.deepcopy(element))
                continue
            if "@list" in element:  # a list object is no node: its items may be (and get their ids there)
                out.append({**element, "@list": self.expanded(element["@list"])})
                continue
            node: dict[str, Any] = {}
            for prop, value in element.items():
                if isinstance(value, list):
                    node[prop] = self.expanded(value)
                else:
                    node[prop] = self.expanded([value])[0]
            node_id = node.get("@id")
            if node_id is None:
                node["@id"] = f"{self.prefix}n{self.count}"
                self.count += 1
            elif isinstance(node_id, str) and node_id.startswith("_:"):
                node["@id"] = self.prefix + "x" + node_id[2:]
            out.append(node)
        return out

    def deskolemize(self, quads: list[Quad]) -> list[Quad]:
        """§3.3.6 ``deskolemizeNQuads``, on RDF terms: our skolem IRIs become blank nodes again."""
        out = []
        for quad in quads:
            new = {}
            for key, term in quad.items():
                if key != "predicate" and term["type"] == "IRI" and term["value"].startswith(self.prefix):
                    new[key] = {"type": "blank node", "value": "_:" + term["value"][len(self.prefix) :]}
                else:
                    new[key] = term
            out.append(new)
        return out


# --- JSON pointers and selection (§3.3.10-§3.3.13) -------------------------------------------------------------------


def json_pointer_to_paths(pointer: str) -> list[str | int]:
    """§3.3.10 ``jsonPointerToPaths`` for an RFC 6901 pointer (``/a/0/b~1c``): integers where a segment parses as
    one (RFC 6901 §4: array indexes are "0" or digits without a leading zero), ``~1`` → ``/``, ``~0`` → ``~``."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise DataIntegrityError(f"{pointer!r} is not a JSON pointer to a member", reason="invalid_json_pointer")
    paths: list[str | int] = []
    for segment in pointer.split("/")[1:]:
        if not _POINTER_SEGMENT.fullmatch(segment):
            raise DataIntegrityError(f"bad escape in JSON pointer {pointer!r}", reason="invalid_json_pointer")
        if _INTEGER.fullmatch(segment):
            paths.append(int(segment))
        else:
            paths.append(segment.replace("~1", "/").replace("~0", "~"))
    return paths


def _initial_selection(source: Any) -> dict[str, Any]:
    """§3.3.11 ``createInitialSelection``: the node's non-blank ``id`` and its ``type``."""
    selection: dict[str, Any] = {}
    if isinstance(source, dict):
        if isinstance(source.get("id"), str) and not source["id"].startswith("_:"):
            selection["id"] = source["id"]
        if "type" in source:
            selection["type"] = copy.deepcopy(source["type"])
    return selection


class _Sparse(dict[int, Any]):
    """A selected array while pointers are applied (JavaScript sparse arrays); made dense at the end."""


def _step(container: Any, path: str | int, pointer: str) -> Any:
    if isinstance(container, dict):
        key = str(path)
        if key not in container:
            raise DataIntegrityError(f"JSON pointer {pointer} does not match the document", reason="pointer_mismatch")
        return container[key]
    if isinstance(container, list) and isinstance(path, int) and path < len(container):
        return container[path]
    raise DataIntegrityError(f"JSON pointer {pointer} does not match the document", reason="pointer_mismatch")


def _select_paths(pointer: str, paths: list[str | int], document: Any, selection: dict[str, Any]) -> None:
    """§3.3.12 ``selectPaths``."""
    value: Any = document
    selected_parent: Any = selection
    selected_value: Any = selection
    key: str | int = ""
    for path in paths:
        selected_parent = selected_value
        value = _step(value, path, pointer)
        key = path if isinstance(selected_parent, _Sparse) else str(path)
        selected_value = selected_parent.get(key)
        if selected_value is None:
            selected_value = _Sparse() if isinstance(value, list) else _initial_selection(value)
            selected_parent[key] = selected_value
    if isinstance(value, list):
        selected_value = copy.deepcopy(value)
    elif isinstance(value, dict):
        base = dict(selected_value) if isinstance(selected_value, dict) else {}
        selected_value = {**base, **copy.deepcopy(value)}
    else:
        selected_value = value
    selected_parent[key] = selected_value


def _dense(value: Any) -> Any:
    if isinstance(value, _Sparse):
        return [_dense(value[i]) for i in sorted(value)]
    if isinstance(value, dict):
        return {k: _dense(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dense(v) for v in value]
    return value


def select_json_ld(pointers: Sequence[str], document: Mapping[str, Any]) -> dict[str, Any] | None:
    """§3.3.13 ``selectJsonLd``: the part of a compact document the pointers reach, with the ``id``/``type`` of every
    node on the way and the document's ``@context``; ``None`` when there are no pointers."""
    if not pointers:
        return None
    selection = _initial_selection(document)
    selection["@context"] = copy.deepcopy(document.get("@context"))
    for pointer in pointers:
        paths = json_pointer_to_paths(pointer)
        if not paths:
            raise DataIntegrityError("a JSON pointer must name a member", reason="invalid_json_pointer")
        _select_paths(pointer, paths, document, selection)
    dense: dict[str, Any] = _dense(selection)
    return dense


# --- grouping (§3.3.15-§3.3.17) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """One group of §3.3.16: the canonical N-Quads (by index in the full list) that the group's pointers select
    (``matching``) and the others (``non_matching``), and the selection's deskolemized quads."""

    matching: dict[int, str]
    non_matching: dict[int, str]
    deskolemized_quads: list[Quad]


@dataclass(frozen=True)
class Grouped:
    """The result of §3.3.16 ``canonicalizeAndGroup``."""

    groups: dict[str, Group]
    label_map: dict[str, str]
    nquads: list[str]


def canonicalize_and_group(
    document: Mapping[str, Any],
    factory: LabelMapFactory,
    group_definitions: Mapping[str, Sequence[str]],
    loader: ContextLoader = BUNDLED_CONTEXTS,
) -> Grouped:
    """§3.3.16 ``canonicalizeAndGroup``: skolemize (§3.3.8), canonicalize with label replacement (§3.3.1), then for
    each group select its pointers (§3.3.15 ``selectCanonicalNQuads``) and split the canonical N-Quads into the ones
    the selection contains and the rest."""
    skolem = _Skolemizer()
    expanded = skolem.expanded(expand(document, loader))
    skolemized_compact = compact(expanded, document.get("@context"), loader)
    deskolemized = skolem.deskolemize(to_quads(expanded, loader))
    nquads, label_map = label_replacement_canonicalize(deskolemized, factory)
    groups = {}
    for name, pointers in group_definitions.items():
        selection = select_json_ld(pointers, skolemized_compact)
        selected_quads = [] if selection is None else skolem.deskolemize(to_quads(expand(selection, loader), loader))
        selected = set(relabel(selected_quads, label_map))
        matching = {i: nq for i, nq in enumerate(nquads) if nq in selected}
        non_matching = {i: nq for i, nq in enumerate(nquads) if nq not in selected}
        groups[name] = Group(matching, non_matching, selected_quads)
    return Grouped(groups, label_map, nquads)


def hash_mandatory_nquads(mandatory: Sequence[str]) -> bytes:
    """§3.3.17 ``hashMandatoryNQuads`` with SHA-256 over the UTF-8 of the joined N-Quads."""
    return hashlib.sha256("".join(mandatory).encode()).digest()
