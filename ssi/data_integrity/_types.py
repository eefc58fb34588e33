"""The fully expanded ``type`` values of a JSON-LD credential (JSON-LD 1.1 API §4.1 Expansion), as OpenID4VP 1.0
B.1.1 compares them: ``type_values`` lists "the fully expanded types (IRIs) that the Verifier accepts in a
Presentation, after applying the ``@context`` to the Verifiable Credential"."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from ssi.data_integrity._jsonld import BUNDLED_CONTEXTS, ContextLoader, expand
from ssi.errors import DataIntegrityError


def expanded_types(document: Mapping[str, Any], loader: ContextLoader = BUNDLED_CONTEXTS) -> tuple[str, ...]:
    """The expanded IRIs of the document's top-level ``type``, in document order. Only ``@context`` and ``type``
    are expanded (the same result as expanding the whole document; cached per context and types). A ``type`` term
    that no context defines is refused by :func:`ssi.data_integrity._jsonld.expand` (no relative IRIs)."""
    if not isinstance(document, Mapping) or "@context" not in document or "type" not in document:
        raise DataIntegrityError("a credential needs @context and type", reason="invalid_document")
    try:
        key = json.dumps([document["@context"], document["type"]], sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        raise DataIntegrityError("@context and type must be JSON", reason="invalid_document") from None
    if loader is BUNDLED_CONTEXTS:
        return _cached(key)
    return _expanded(key, loader)


@functools.lru_cache(maxsize=256)
def _cached(key: str) -> tuple[str, ...]:
    return _expanded(key, BUNDLED_CONTEXTS)


def _expanded(key: str, loader: ContextLoader) -> tuple[str, ...]:
    context, types = json.loads(key)
    expanded = expand({"@context": context, "type": types, "@id": "urn:govssi:type-probe"}, loader)
    if len(expanded) != 1 or not isinstance(expanded[0].get("@type"), list):
        raise DataIntegrityError("the credential's type does not expand to IRIs", reason="invalid_document")
    return tuple(str(t) for t in expanded[0]["@type"])
