"""SD-JWT serializations: compact (RFC 9901 §4) and JWS JSON (§8).

Compact: ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~[<KB-JWT>]``. "In the case that there is no Key
Binding JWT, the last element MUST be an empty string and the last separating tilde character MUST NOT be omitted."

JSON (§8.1): the unprotected header carries ``disclosures`` (array of strings) and, in an SD-JWT+KB, ``kb_jwt``; with
the General syntax "``disclosures`` and ``kb_jwt`` MUST be included in the first unprotected header and MUST NOT be
present in any following unprotected headers" (§8.3).

Disclosures are ``BASE64URL`` in the §4 ABNF, i.e. US-ASCII: anything else cannot even be hashed (§4.2.3 hashes
"the US-ASCII bytes of the encoded Disclosure") and is refused here as a malformed Disclosure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ssi.errors import InputTooLarge, SdJwtError
from ssi.sd_jwt._common import DEFAULT_MAX_DISCLOSURES, DEFAULT_MAX_SIZE, slots_maker

_JSON_MEMBERS = ("disclosures", "kb_jwt")


def _check_ascii(disclosures: tuple[str, ...]) -> None:
    if not "".join(disclosures).isascii():
        raise SdJwtError("a Disclosure is not base64url (§4: US-ASCII only)", reason="malformed_disclosure")


@dataclass(frozen=True, slots=True)
class SdJwtParts:
    """An SD-JWT or SD-JWT+KB split into its parts, before any verification."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None
    #: The JWS JSON object with our members removed from the unprotected headers, when parsed from §8 form.
    jws_json: dict[str, Any] | None = None

    @property
    def sd_jwt(self) -> str:
        """The compact SD-JWT without KB-JWT — the ``sd_hash`` input of §4.3.1 (also for the JSON form, §8.1)."""
        return "~".join((self.issuer_jwt, *self.disclosures, ""))

    def compact(self) -> str:
        return self.sd_jwt + (self.kb_jwt or "")


#: ``SdJwtParts(issuer_jwt, disclosures, kb_jwt, jws_json)`` without the frozen dataclass ``__init__``.
_make_parts: Callable[[str, tuple[str, ...], str | None, dict[str, Any] | None], SdJwtParts] = slots_maker(SdJwtParts)


def _is_compact_jws(text: str) -> bool:
    """``text.count(".") == 2``, with at most three searches for a dot (memchr) instead of one pass counting them."""
    first = text.find(".")
    if first < 0:
        return False
    second = text.find(".", first + 1)
    return second >= 0 and text.find(".", second + 1) < 0


def split_compact(
    text: str, *, max_size: int = DEFAULT_MAX_SIZE, max_disclosures: int = DEFAULT_MAX_DISCLOSURES
) -> SdJwtParts:
    """§4: split a compact SD-JWT / SD-JWT+KB. Structure only; nothing is verified here."""
    if not isinstance(text, str):
        raise SdJwtError("SD-JWT must be a string", reason="malformed_sd_jwt")
    if len(text) > max_size:
        raise InputTooLarge(f"SD-JWT is larger than {max_size} bytes")
    parts = text.split("~")
    if len(parts) < 2:
        raise SdJwtError("SD-JWT must contain at least one '~' separator (§4)", reason="malformed_sd_jwt")
    if len(parts) - 2 > max_disclosures:
        raise InputTooLarge(f"SD-JWT carries more than {max_disclosures} Disclosures")
    disclosures = tuple(parts[1:-1])
    if "" in disclosures:
        raise SdJwtError("empty Disclosure between '~' separators (§4)", reason="malformed_sd_jwt")
    if not text.isascii():  # an ASCII text has ASCII Disclosures; otherwise look at them
        _check_ascii(disclosures)
    if not _is_compact_jws(parts[0]):
        raise SdJwtError("Issuer-signed JWT is not a compact JWS", reason="malformed_sd_jwt")
    kb_jwt = parts[-1] or None
    if kb_jwt is not None and not _is_compact_jws(kb_jwt):
        raise SdJwtError("last component is neither empty nor a KB-JWT (§4)", reason="malformed_sd_jwt")
    return _make_parts(parts[0], disclosures, kb_jwt, None)


def split_json(
    obj: Any, *, max_size: int = DEFAULT_MAX_SIZE, max_disclosures: int = DEFAULT_MAX_DISCLOSURES
) -> SdJwtParts:
    """§8: split a JWS JSON serialized SD-JWT (flattened or general).

    The encoded parts (payload, protected headers, signatures, Disclosures, KB-JWT) together must not exceed
    ``max_size`` characters, the same bound as for the compact form.
    """
    if not isinstance(obj, Mapping) or not isinstance(obj.get("payload"), str):
        raise SdJwtError("JSON serialized SD-JWT must be an object with a 'payload' string", reason="malformed_sd_jwt")
    general = "signatures" in obj
    if general and any(k in obj for k in ("protected", "header", "signature")):
        # RFC 7515 §7.2.1/§7.2.2: the general and flattened syntaxes do not mix; parsers that prefer one or the
        # other would see different headers and Disclosures.
        raise SdJwtError("general JWS JSON must not carry flattened members", reason="malformed_sd_jwt")
    entries = obj.get("signatures") if general else [obj]
    if not isinstance(entries, list) or not entries or not all(isinstance(e, Mapping) for e in entries):
        raise SdJwtError("'signatures' must be a non-empty array of objects", reason="malformed_sd_jwt")
    cleaned: list[dict[str, Any]] = []
    disclosures: Any = []
    kb_jwt: Any = None
    for i, entry in enumerate(entries):
        header = entry.get("header", {})
        if not isinstance(header, Mapping):
            raise SdJwtError("unprotected 'header' must be an object", reason="malformed_sd_jwt")
        if i == 0:
            disclosures = header.get("disclosures", [])
            kb_jwt = header.get("kb_jwt")
        elif any(m in header for m in _JSON_MEMBERS):
            raise SdJwtError(
                "'disclosures'/'kb_jwt' are only allowed in the first unprotected header (§8.3)",
                reason="malformed_sd_jwt",
            )
        rest = {k: v for k, v in header.items() if k not in _JSON_MEMBERS}
        entry_clean = {k: v for k, v in entry.items() if k != "header"}
        if rest:
            entry_clean["header"] = rest
        cleaned.append(entry_clean)
    if not isinstance(disclosures, list) or not all(isinstance(d, str) and d for d in disclosures):
        raise SdJwtError("'disclosures' must be an array of non-empty strings (§8.1)", reason="malformed_sd_jwt")
    if len(disclosures) > max_disclosures:
        raise InputTooLarge(f"SD-JWT carries more than {max_disclosures} Disclosures")
    if kb_jwt is not None and (not isinstance(kb_jwt, str) or kb_jwt.count(".") != 2):
        raise SdJwtError("'kb_jwt' must be a compact JWT (§8.1)", reason="malformed_sd_jwt")
    encoded = [obj["payload"], *disclosures, kb_jwt or ""]
    encoded += [e.get(m) for e in entries for m in ("protected", "signature")]
    if sum(len(v) for v in encoded if isinstance(v, str)) > max_size:
        raise InputTooLarge(f"SD-JWT is larger than {max_size} bytes")
    _check_ascii(tuple(disclosures))
    first = cleaned[0]
    protected, signature = first.get("protected"), first.get("signature")
    if not isinstance(protected, str) or not isinstance(signature, str):
        raise SdJwtError("signature entry needs 'protected' and 'signature' strings", reason="malformed_sd_jwt")
    jws_json: dict[str, Any] = {"payload": obj["payload"]}
    if general:
        jws_json["signatures"] = cleaned
    else:
        jws_json.update(first)
    return SdJwtParts(
        issuer_jwt=f"{protected}.{obj['payload']}.{signature}",
        disclosures=tuple(disclosures),
        kb_jwt=kb_jwt,
        jws_json=jws_json,
    )


def to_json(parts: SdJwtParts) -> dict[str, Any]:
    """Render parts in the §8 JSON form they came from (flattened when built from compact)."""
    header: dict[str, Any] = {"disclosures": list(parts.disclosures)}
    if parts.kb_jwt is not None:
        header["kb_jwt"] = parts.kb_jwt
    if parts.jws_json is not None and "signatures" in parts.jws_json:
        sigs = [dict(s) for s in parts.jws_json["signatures"]]
        sigs[0]["header"] = {**sigs[0].get("header", {}), **header}
        return {"payload": parts.jws_json["payload"], "signatures": sigs}
    protected, payload, signature = parts.issuer_jwt.split(".")
    extra = (parts.jws_json or {}).get("header", {})
    return {"payload": payload, "protected": protected, "signature": signature, "header": {**extra, **header}}
