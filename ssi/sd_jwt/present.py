"""The Holder's role (RFC 9901 §7.2): pick Disclosures by claim path and add a Key Binding JWT (§4.3).

Selecting a claim path discloses what is needed to reach it (the Disclosures of its ancestors, §7.2 step 2: every
selected Disclosure's digest must be in the Issuer-signed JWT or in another *selected* Disclosure) and everything
below it. ``None`` in a path selects every element of an array.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ssi.clock import Clock, system_clock
from ssi.encoding import b64url_json, json_loads
from ssi.errors import EncodingError, SdJwtError
from ssi.jose import encode_jwt
from ssi.keys import Signer
from ssi.sd_jwt._common import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_DISCLOSURES,
    DEFAULT_MAX_SIZE,
    KB_JWT_TYP,
    ClaimPath,
    digest,
    format_claim_path,
    hash_function,
)
from ssi.sd_jwt._processing import DisclosedClaim, process_payload
from ssi.sd_jwt._serialization import SdJwtParts, split_compact, split_json, to_json


def _exists(value: Any, path: ClaimPath) -> bool:
    for i, part in enumerate(path):
        if part is None:
            rest = path[i + 1 :]
            return isinstance(value, list) and (not rest or any(_exists(v, rest) for v in value))
        if isinstance(part, str):
            if not isinstance(value, dict) or part not in value:
                return False
        elif not isinstance(value, list) or not 0 <= part < len(value):
            return False
        value = value[part]
    return True


def _on_one_line(requested: ClaimPath, claim: ClaimPath) -> bool:
    """Whether ``claim`` is an ancestor or descendant of (or equal to) ``requested``; ``None`` matches any index."""
    for want, have in zip(requested, claim, strict=False):
        if want is None:
            if not isinstance(have, int):
                return False
        elif want != have:
            return False
    return True


def _line_test(requested: ClaimPath) -> Callable[[ClaimPath], bool]:
    """:func:`_on_one_line` for one requested path; without ``None`` it is a prefix comparison of tuples (in C)."""
    if None in requested:
        return lambda claim: _on_one_line(requested, claim)
    size = len(requested)
    return lambda claim: claim[:size] == requested[: len(claim)]


def create_key_binding_jwt(
    sd_jwt: str,
    holder: Signer,
    *,
    audience: str,
    nonce: str,
    sd_alg: str = "sha-256",
    iat: int | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """§4.3: a KB-JWT with ``typ`` ``kb+jwt`` and claims ``iat``, ``aud``, ``nonce``, ``sd_hash``.

    ``sd_hash`` (§4.3.1) is the base64url digest, with the ``_sd_alg`` hash, of the US-ASCII bytes of
    ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~``.
    """
    if not isinstance(audience, str) or not audience:
        raise SdJwtError("KB-JWT 'aud' must be a non-empty string (§4.3)", reason="kb_bad_input")
    if not isinstance(nonce, str) or not nonce:
        raise SdJwtError("KB-JWT 'nonce' must be a non-empty string (§4.3)", reason="kb_bad_input")
    claims: dict[str, Any] = dict(extra_claims or {})
    claims.update(
        iat=int(time.time()) if iat is None else iat,
        aud=audience,
        nonce=nonce,
        sd_hash=digest(sd_jwt, hash_function(sd_alg)),
    )
    return encode_jwt(claims, holder, typ=KB_JWT_TYP)


@dataclass(frozen=True, slots=True)
class HeldSdJwt:
    """An SD-JWT as the Holder keeps it, with every Disclosure located in the processed payload.

    :meth:`parse` checks structure and Disclosures (RFC 9901 §7.1 steps 1, 3-5) but not the Issuer's signature:
    the Holder's wallet verifies that with the Issuer's key before storing (``ssi.sd_jwt.verify``).
    """

    parts: SdJwtParts
    header: dict[str, Any]
    payload: dict[str, Any]
    claims: dict[str, Any]
    disclosed: tuple[DisclosedClaim, ...]
    sd_alg: str

    @classmethod
    def parse(
        cls, sd_jwt: str | Mapping[str, Any], *, max_size: int = DEFAULT_MAX_SIZE, max_depth: int = DEFAULT_MAX_DEPTH
    ) -> HeldSdJwt:
        if isinstance(sd_jwt, Mapping):
            parts = split_json(sd_jwt, max_disclosures=DEFAULT_MAX_DISCLOSURES)
        else:
            parts = split_compact(sd_jwt.strip(), max_size=max_size)
        if parts.kb_jwt is not None:
            # §7.2: "If the Holder receives an SD-JWT+KB, it MUST be rejected."
            raise SdJwtError("the Holder received an SD-JWT+KB, not an SD-JWT (§7.2)", reason="kb_unexpected")
        protected, payload_b64, _ = parts.issuer_jwt.split(".")
        try:
            header, payload = b64url_json(protected), b64url_json(payload_b64)
        except EncodingError as exc:
            raise SdJwtError(f"Issuer-signed JWT is malformed: {exc.description}", reason="malformed_sd_jwt") from None
        if not isinstance(header, dict) or not isinstance(payload, dict):
            raise SdJwtError("Issuer-signed JWT header and payload must be objects", reason="malformed_sd_jwt")
        processed = process_payload(payload, parts.disclosures, max_depth=max_depth)
        return cls(parts, header, payload, processed.claims, processed.disclosed, processed.sd_alg)

    @property
    def holder_jwk(self) -> dict[str, Any] | None:
        cnf = self.payload.get("cnf")
        jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
        return jwk if isinstance(jwk, dict) else None

    def select(self, paths: Iterable[ClaimPath]) -> tuple[DisclosedClaim, ...]:
        """The Disclosures that reveal ``paths`` (ancestors included, §7.2 step 2), in payload processing order —
        an order fixed by the credential, independent of the order of the request."""
        by_digest = {c.digest: c for c in self.disclosed}
        chosen: set[str] = set()
        for path in paths:
            if not _exists(self.claims, path):
                raise SdJwtError(
                    f"the credential has no claim at {format_claim_path(path)!r}", reason="unknown_claim_path"
                )
            on_line = _line_test(path)
            for claim in self.disclosed:
                if on_line(claim.path):
                    d: str | None = claim.digest
                    while d is not None and d not in chosen:  # walk up so every ancestor is disclosed too
                        chosen.add(d)
                        d = by_digest[d].parent
        return tuple(c for c in self.disclosed if c.digest in chosen)

    def present(
        self,
        paths: Iterable[ClaimPath],
        *,
        holder: Signer | None = None,
        audience: str | None = None,
        nonce: str | None = None,
        clock: Clock = system_clock,
        serialization: Literal["compact", "json"] | None = None,
        kb_extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Assemble the presentation (§7.2 step 3-5); with ``holder`` an SD-JWT+KB bound to ``audience``/``nonce``.

        The serialization follows the issued form unless ``serialization`` says otherwise. JSON is returned as text.
        """
        # select() keeps the credential's own order, not the order of the request (that would hint at the query).
        encoded = tuple(c.disclosure.encoded for c in self.select(paths))
        parts = SdJwtParts(self.parts.issuer_jwt, encoded, None, self.parts.jws_json)
        kb = None
        if holder is not None:
            if audience is None or nonce is None:
                raise SdJwtError("Key Binding needs an audience and a nonce (§4.3)", reason="kb_bad_input")
            kb = create_key_binding_jwt(
                parts.sd_jwt,
                holder,
                audience=audience,
                nonce=nonce,
                sd_alg=self.sd_alg,
                iat=int(clock()),
                extra_claims=kb_extra_claims,
            )
        parts = SdJwtParts(parts.issuer_jwt, parts.disclosures, kb, parts.jws_json)
        form = serialization or ("json" if self.parts.jws_json is not None else "compact")
        if form == "json":
            from ssi.encoding import json_dumps

            return json_dumps(to_json(parts))
        return parts.compact()


def parse_presentation_text(text: str) -> str | dict[str, Any]:
    """Accept either serialization as text: a JSON object (§8) or the compact form (§4)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            obj = json_loads(stripped)
        except EncodingError as exc:
            raise SdJwtError(
                f"JSON serialized SD-JWT is malformed: {exc.description}", reason="malformed_sd_jwt"
            ) from None
        if not isinstance(obj, dict):
            raise SdJwtError("JSON serialized SD-JWT must be an object", reason="malformed_sd_jwt")
        return obj
    return stripped
