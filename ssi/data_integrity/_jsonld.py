"""JSON-LD 1.1 processing for Data Integrity, on pyld, with every context bundled and work bounded.

- **No network, ever**: :class:`ContextLoader` serves only bundled contexts (govssi's own from
  ``ssi/data_integrity/contexts``, the W3C base context from pyld's frozen copy) and any a caller adds explicitly;
  every other URL is refused. VCDM 2.0 Appendix B.1: "Implementations MUST treat the base context value, located at
  https://www.w3.org/ns/credentials/v2, as already retrieved"; its content is pinned by a SHA-256 over canonical
  JSON (pyld's file is formatted differently from the W3C's, so the Recommendation's byte digest cannot apply).
- **Nothing dropped silently** (what JSON-LD "safe mode" guarantees, VC Data Integrity 1.0 §2.4.1 / §4): a term
  without a definition, or a relative IRI in ``@id``/``@type``, is an error instead of a statement that is neither
  signed nor visible as unsigned.
- **RDF Dataset Canonicalization (RDFC-1.0)** with the canonical blank node identifier map the selective disclosure
  functions need, and a work limit: RDFC-1.0 §4.4 notes that "poison" datasets make the Hash N-Degree Quads
  algorithm exponential, and vc-di-bbs §3 ("implementations of that algorithm will detect dataset poisoning by
  default, and abort processing upon detection").
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, Final

from pyld.canon import URDNA2015  # type: ignore[import-untyped]
from pyld.jsonld import JsonLdError as PyLdError  # type: ignore[import-untyped]
from pyld.jsonld import JsonLdProcessor
from pyld.nquads import serialize_nquad  # type: ignore[import-untyped]

from ssi.errors import DataIntegrityError, JsonLdProcessingError

CREDENTIALS_V2: Final = "https://www.w3.org/ns/credentials/v2"
#: govssi's own terms for the claims of its credentials (our namespace; never fetched, always bundled).
GOVSSI_V1: Final = "https://ns.govssi.de/credentials/v1"
#: url → (package, resource path in it, SHA-256 hex of its canonical JSON or None). The W3C base context comes from
#: pyld's frozen copy (a well-kept library that ships it for exactly this use), pinned by the digest of its content;
#: govssi's own context is ours and lives in ssi/data_integrity/contexts.
_BUNDLED: Final[dict[str, tuple[str, str, str | None]]] = {
    # VCDM 2.0 Appendix B.1: implementations "MUST treat the base context value [...] as already retrieved"
    CREDENTIALS_V2: (
        "pyld.documentloader.frozen",
        "bundled/credentials-v2.jsonld",
        "b463c8d6a066214123ddd9827b135e1b50e1fc73322cc52a9b12a4f1fc7d86cf",
    ),
    GOVSSI_V1: ("ssi.data_integrity", "contexts/govssi-v1.jsonld", None),
}


def canonical_json_sha256(document: Any) -> str:
    """SHA-256 (hex) of ``document`` as JSON with sorted keys and no whitespace: a digest of the content, not of how a
    file happens to be formatted."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Bounds: RDFC-1.0 work (Hash N-Degree Quads calls and permutations) and dataset size.
MAX_QUADS: Final = 10_000
MAX_PERMUTATIONS: Final = 50_000

Quad = dict[str, Any]
"""One RDF quad as pyld represents it: ``subject``/``predicate``/``object`` (and ``name`` for a named graph), each
``{"type": "IRI" | "blank node" | "literal", "value": ..., ...}``."""


@functools.cache
def bundled_context(url: str) -> dict[str, Any]:
    """A shipped context document, read from its package (``importlib.resources``) and digest-checked."""
    package, path, digest = _BUNDLED[url]
    document: dict[str, Any] = json.loads(resources.files(package).joinpath(path).read_bytes())
    if digest is not None and canonical_json_sha256(document) != digest:
        raise JsonLdProcessingError(f"bundled context {url} does not match its digest", reason="context_digest")
    return document


class ContextLoader:
    """A pyld document loader that serves only bundled contexts, plus ``extra`` ones given explicitly (e.g. a test
    vector's context). Any other URL raises; nothing is ever fetched."""

    def __init__(self, extra: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        if any(url in _BUNDLED for url in extra or {}):
            raise ValueError("a bundled context cannot be replaced")
        self._extra = {url: copy.deepcopy(dict(doc)) for url, doc in (extra or {}).items()}

    def known(self, url: str) -> bool:
        return url in _BUNDLED or url in self._extra

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if url in self._extra:
            # no tag: pyld's cache of resolved contexts is process-wide and keyed by URL, and another loader may
            # serve another document under the same URL
            return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(self._extra[url])}
        if url in _BUNDLED:
            # "tag": "static" lets pyld keep the resolved context across operations (it is the same for every
            # loader, never changes): without it, pyld re-resolves the whole base context for every expansion
            document = copy.deepcopy(bundled_context(url))
            return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}
        raise JsonLdProcessingError(f"context {url} is not bundled", reason="jsonld_unknown_context")


BUNDLED_CONTEXTS: Final = ContextLoader()


def _unknown_url(exc: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        details = getattr(current, "details", None)
        if getattr(current, "code", None) == "loading remote context failed" and isinstance(details, dict):
            return str(details.get("url"))
        current = getattr(current, "cause", None) or current.__cause__
    return None


def _refuse(exc: PyLdError, what: str) -> JsonLdProcessingError:
    url = _unknown_url(exc)
    if url is not None:
        return JsonLdProcessingError(f"{what}: context {url} is not available offline", reason="jsonld_unknown_context")
    return JsonLdProcessingError(f"{what}: {exc.args[0] if exc.args else exc}", reason="jsonld_invalid")


def _dropped(prop: object) -> None:
    raise JsonLdProcessingError(f"property {prop!r} has no definition in the context", reason="jsonld_dropped_term")


def _is_absolute_iri(value: str) -> bool:
    scheme, colon, _ = value.partition(":")
    return bool(colon) and scheme[:1].isalpha() and all(c.isalnum() or c in "+-." for c in scheme)


def _check_iris(node: Any) -> None:
    """In expanded form every ``@id`` and node ``@type`` is an absolute IRI or a blank node identifier; a relative
    one would be dropped when converting to RDF (JSON-LD 1.1 API §8.2 "skip relative IRIs")."""
    if isinstance(node, list):
        for item in node:
            _check_iris(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@id" and isinstance(value, str) and not (value.startswith("_:") or _is_absolute_iri(value)):
                raise JsonLdProcessingError(f"relative IRI {value!r} as @id", reason="jsonld_relative_iri")
            if key == "@type" and "@value" not in node:
                for t in value if isinstance(value, list) else [value]:
                    if isinstance(t, str) and not (t.startswith("_:") or _is_absolute_iri(t)):
                        raise JsonLdProcessingError(f"relative IRI {t!r} as @type", reason="jsonld_relative_iri")
            if key != "@value":
                _check_iris(value)


def expand(document: Mapping[str, Any] | list[Any], loader: ContextLoader = BUNDLED_CONTEXTS) -> list[Any]:
    """JSON-LD Expansion (JSON-LD 1.1 API §4.1) that refuses dropped terms and relative IRIs.

    The documents have no base IRI (``"base": None``): given an empty one, pyld resolves relative IRIs against
    ``http://example.org/base/``, which would sign an IRI nobody wrote."""
    try:
        expanded: list[Any] = JsonLdProcessor(on_property_dropped=_dropped).expand(
            document, {"documentLoader": loader, "base": None}
        )  # pyld expands a deep copy of the input
    except PyLdError as exc:
        raise _refuse(exc, "JSON-LD expansion failed") from None
    _check_iris(expanded)
    return expanded


def compact(expanded: list[Any], context: Any, loader: ContextLoader = BUNDLED_CONTEXTS) -> dict[str, Any]:
    """JSON-LD Compaction (JSON-LD 1.1 API §4.2) against ``context`` (a document's ``@context`` value)."""
    try:
        compacted: dict[str, Any] = JsonLdProcessor().compact(
            expanded, {"@context": context}, {"documentLoader": loader, "base": None}
        )
    except PyLdError as exc:
        raise _refuse(exc, "JSON-LD compaction failed") from None
    return compacted


def to_quads(expanded: list[Any], loader: ContextLoader = BUNDLED_CONTEXTS) -> list[Quad]:
    """Deserialize (already checked, expanded) JSON-LD to RDF (JSON-LD 1.1 API §8.2) as a list of quads."""
    try:
        dataset = JsonLdProcessor().to_rdf(expanded, {"documentLoader": loader, "base": None})
    except PyLdError as exc:
        raise _refuse(exc, "JSON-LD to RDF failed") from None
    quads: list[Quad] = []
    for graph, triples in dataset.items():
        for triple in triples:
            quad = dict(triple)
            if graph != "@default":
                quad["name"] = {"type": "blank node" if graph.startswith("_:") else "IRI", "value": graph}
            quads.append(quad)
    if len(quads) > MAX_QUADS:
        raise JsonLdProcessingError(f"more than {MAX_QUADS} statements", reason="jsonld_too_large")
    return quads


def document_quads(document: Mapping[str, Any], loader: ContextLoader = BUNDLED_CONTEXTS) -> list[Quad]:
    """A compact JSON-LD document as RDF quads (expansion with the safety checks, then deserialization)."""
    return to_quads(expand(document, loader), loader)


def nquad(quad: Quad) -> str:
    """One quad as an N-Quads line (RDF 1.1 N-Quads, canonical form of RDFC-1.0 §4.6 with the trailing newline)."""
    line: str = serialize_nquad(quad)
    return line


class _BoundedRdfc(URDNA2015):  # type: ignore[misc]
    """pyld's URDNA2015 (identical to RDFC-1.0, whose output it produces) with a bound on the Hash N-Degree Quads
    work: at most ``4·n + 16`` calls for ``n`` blank nodes and ``MAX_PERMUTATIONS`` permutations overall."""

    def __init__(self, blank_nodes: int) -> None:
        super().__init__()
        self._calls_left = 4 * blank_nodes + 16
        self._permutations_left = MAX_PERMUTATIONS

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        self._calls_left -= 1
        if self._calls_left < 0:
            raise DataIntegrityError("RDFC-1.0: too much N-degree hashing (poison dataset)", reason="rdfc_poison")
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: Any) -> Any:
        related = super().create_hash_to_related(id_, issuer)
        for nodes in related.values():
            if len(nodes) > 8:
                raise DataIntegrityError("RDFC-1.0: too many indistinguishable blank nodes", reason="rdfc_poison")
            self._permutations_left -= math.factorial(len(nodes))
        if self._permutations_left < 0:
            raise DataIntegrityError("RDFC-1.0: too many permutations (poison dataset)", reason="rdfc_poison")
        return related


def canonicalize(quads: list[Quad]) -> tuple[list[Quad], dict[str, str]]:
    """RDFC-1.0 (§4.4): the quads with canonical blank node labels, and the canonical identifier map from each input
    blank node label to its canonical one (labels without the ``_:`` prefix, e.g. ``{"b3": "c14n0"}``)."""
    blank = {c["value"] for q in quads for k, c in q.items() if k != "predicate" and c["type"] == "blank node"}
    canonicalizer = _BoundedRdfc(len(blank))
    # the algorithm relabels the terms of the quads it is given in place: give it copies (terms are flat dicts)
    working = [{key: dict(term) for key, term in quad.items()} for quad in quads]
    canonicalizer.main({"@default": working}, {"format": "application/n-quads"})
    issued: dict[str, str] = canonicalizer.canonical_issuer.existing
    return working, {old[2:]: new[2:] for old, new in issued.items()}


def relabel(quads: list[Quad], label_map: Mapping[str, str]) -> list[str]:
    """The quads as N-Quads lines with each blank node label replaced through ``label_map`` (labels without ``_:``),
    sorted (the canonical N-Quads order, RDFC-1.0 §4.4.3 step 7 / vc-di-ecdsa §3.3.1)."""
    lines = []
    for quad in quads:
        out = {}
        for key, component in quad.items():
            if key != "predicate" and component["type"] == "blank node":
                label = component["value"][2:]
                if label not in label_map:
                    raise DataIntegrityError(f"no label for blank node {label}", reason="label_map_incomplete")
                out[key] = {**component, "value": "_:" + label_map[label]}
            else:
                out[key] = component
        lines.append(nquad(out))
    return sorted(lines)


def canonical_nquads(document: Mapping[str, Any], loader: ContextLoader = BUNDLED_CONTEXTS) -> str:
    """RDFC-1.0 canonical N-Quads of a compact JSON-LD document (one string, as hashed by Data Integrity)."""
    canonical, _ = canonicalize(document_quads(document, loader))
    return "".join(sorted(nquad(q) for q in canonical))


LabelMapFactory = Callable[[dict[str, str]], dict[str, str]]
