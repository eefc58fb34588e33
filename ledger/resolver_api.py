"""A DID resolver HTTP(S) endpoint, ``GET /1.0/identifiers/{did}``, as the DIF Universal Resolver serves it and the
W3C DID Resolution specification (v1.0, Candidate Recommendation 2026, "CR1") defines it in §12.1 "HTTP(S) Binding".

:func:`did_resolution_router` builds a FastAPI ``APIRouter`` around an injected :class:`ssi.did.DidResolver`, so the
issuer and verifier services mount the same endpoint with their own resolver (did:key, did:jwk, did:web, did:ethr on
their chain); :func:`resolver_app` is a standalone app with ``/healthz`` (``govssi did serve``). The route is thin:
:func:`resolve_over_http` does the work on plain values and tests call it without HTTP.

Request (§12.1): the DID follows ``/identifiers/``, literally (``did:ethr:0x539:0x…``) or URL-encoded as a whole
(``did%3Aethr%3A0x539%3A0x…``, RFC 3986 §2.1: "If any other resolution options [...] than accept are provided: The
input DID MUST be URL-encoded"). The raw request path is read, so percent-encodings that belong to the DID itself
(``did:web:localhost%3A8443``) survive. DID parameters come in the DID URL's query (§3, ``?versionId=12``, URL-encoded
with the DID) or as resolution options in the HTTP query (§4.1: ``versionId``, ``versionTime``; ``expandRelativeUrls``
is always honoured since documents are written with absolute DID URLs; ``noCache=true`` is refused as §13.2 says a
resolver that denies it must).

Representations (``Accept``, RFC 9110 §12.5.1, with ``q`` weights and wildcards):

=====================================================================  ===========================================
``application/did-resolution`` (§9; the default, also for ``*/*``)    the DID resolution result
``application/ld+json;profile="https://w3id.org/did-resolution"``      the same result (earlier drafts, DIF)
``application/did+ld+json`` (DID Core §6.3)                            the bare DID document (needs ``@context``)
``application/did+json`` (DID Core §6.2), ``application/did``          the bare DID document
=====================================================================  ===========================================

"The HTTP response MUST contain a Content-Type HTTP response header. Its value MUST be the value of the contentType
metadata property in the didResolutionMetadata" — so ``contentType`` names the representation actually sent.

Errors (§12.1 table; §11 error types; DID Core 1.0 §7.1.2 names as ``title``): the body is always a DID resolution
result whose ``didResolutionMetadata.error`` is an RFC 9457 problem object ``{type, title, detail}``, sent as
``application/did-resolution`` (or the ``ld+json`` profile when that was asked for):

====================================================================  ======
``invalidDid``, ``invalidDidUrl``, ``invalidOptions`` (and did:key's   400
``invalidPublicKey``, ``invalidPublicKeyLength``,
``unsupportedPublicKeyType``)
``notFound``                                                          404
``representationNotSupported``                                        406
deactivated (§12.1: "The HTTP response status code MUST be 410")      410
``invalidDidDocument``, ``internalError``                             500
``methodNotSupported``, ``featureNotSupported``                       501
====================================================================  ======

A deactivated DID answers 410 with its document metadata (``deactivated: true``, ``versionId``, ``updated``) and
``didDocument: null`` (§4.4: "If the input DID has been deactivated, return [...] didDocument: null"). Internal
failures never show a traceback or the node's address: the detail names the failed component's reason only.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from ssi.did import MEDIA_TYPE, DidResolver, ResolutionResult, did_parameters, parse_did, parse_did_url
from ssi.errors import DidError, SsiError

__all__ = [
    "DID_DOCUMENT_JSON",
    "DID_DOCUMENT_LD_JSON",
    "DID_RESOLUTION",
    "DID_RESOLUTION_LD",
    "ERROR_TYPES",
    "HttpAnswer",
    "Representation",
    "did_resolution_router",
    "negotiate",
    "resolve_over_http",
    "resolver_app",
]

_log = logging.getLogger("ledger.resolver_api")

#: §9 "The media type of this data structure is defined to be application/did-resolution".
DID_RESOLUTION: Final = "application/did-resolution"
#: The DID resolution result as earlier DID Resolution drafts and the DIF Universal Resolver name it.
DID_RESOLUTION_PROFILE: Final = "https://w3id.org/did-resolution"
DID_RESOLUTION_LD: Final = f'application/ld+json;profile="{DID_RESOLUTION_PROFILE}"'
#: DID Core 1.0 §6.2 (JSON) and §6.3 (JSON-LD) representations of a DID document.
DID_DOCUMENT_JSON: Final = MEDIA_TYPE
DID_DOCUMENT_LD_JSON: Final = "application/did+ld+json"
#: The DID document media type of DID Core 1.1 drafts (the DID Resolution CR's examples use it).
DID_DOCUMENT_GENERIC: Final = "application/did"

_ERROR_BASE: Final = "https://www.w3.org/ns/did#"
#: DID Resolution error name (``DidError.reason``) → (§11 error type, §12.1 HTTP status).
ERROR_TYPES: Final[Mapping[str, tuple[str, int]]] = {
    "invalidDid": ("INVALID_DID", 400),
    "invalidDidUrl": ("INVALID_DID_URL", 400),
    "invalidOptions": ("INVALID_OPTIONS", 400),
    # did:key's own resolution errors: the identifier does not encode a usable key, so the DID is invalid.
    "invalidPublicKey": ("INVALID_DID", 400),
    "invalidPublicKeyLength": ("INVALID_DID", 400),
    "unsupportedPublicKeyType": ("INVALID_DID", 400),
    "notFound": ("NOT_FOUND", 404),
    "representationNotSupported": ("REPRESENTATION_NOT_SUPPORTED", 406),
    "invalidDidDocument": ("INVALID_DID_DOCUMENT", 500),
    "internalError": ("INTERNAL_ERROR", 500),
    "methodNotSupported": ("METHOD_NOT_SUPPORTED", 501),
    "featureNotSupported": ("FEATURE_NOT_SUPPORTED", 501),
}
#: Resolution options (§4.1) passed on to the resolver as DID parameters (§3).
_VERSION_OPTIONS: Final = frozenset({"versionId", "versionTime"})
#: Most characters of an ``Accept`` header looked at (a longer one is cut there; browsers send ~100).
_MAX_ACCEPT: Final = 2048
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DID_END: Final = re.compile(r"[/?#]")


# -- representations and content negotiation (RFC 9110 §12.5.1) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Representation:
    """A media type the endpoint can send: the whole resolution result, or only the DID document."""

    media_type: str  # type/subtype, lower case
    parameters: tuple[tuple[str, str], ...] = ()
    full_result: bool = True

    @property
    def content_type(self) -> str:
        params = "".join(f';{name}="{value}"' for name, value in self.parameters)
        return self.media_type + params


#: In order of preference when a client accepts several equally (``*/*``: the full result).
REPRESENTATIONS: Final = (
    Representation(DID_RESOLUTION),
    Representation("application/ld+json", (("profile", DID_RESOLUTION_PROFILE),)),
    Representation(DID_DOCUMENT_LD_JSON, full_result=False),
    Representation(DID_DOCUMENT_JSON, full_result=False),
    Representation(DID_DOCUMENT_GENERIC, full_result=False),
)


@dataclass(frozen=True, slots=True)
class _MediaRange:
    type: str
    subtype: str
    parameters: dict[str, str]
    weight: float

    def precedence(self, offer: Representation) -> int | None:
        """How specifically this range matches ``offer`` (RFC 9110 §12.5.1: "Media ranges can be overridden by more
        specific media ranges or specific media types"), or ``None`` when it does not."""
        offer_type, _, offer_subtype = offer.media_type.partition("/")
        if self.type == "*":
            return 0 if self.subtype == "*" and not self.parameters else None
        if self.type != offer_type:
            return None
        if self.subtype == "*":
            return 1 if not self.parameters else None
        if self.subtype != offer_subtype:
            return None
        offered = dict(offer.parameters)
        for name, value in self.parameters.items():
            if name == "charset" and value.lower() == "utf-8":
                continue  # every representation is UTF-8 JSON
            if offered.get(name) != value:
                return None
        return 2 + len(self.parameters)


def _parse_parameter(text: str) -> tuple[str, str] | None:
    name, sep, value = text.partition("=")
    name, value = name.strip().lower(), value.strip()
    if not sep or not _TOKEN.fullmatch(name):
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", value[1:-1])  # quoted-string with quoted-pairs (RFC 9110 §5.6.4)
    elif not _TOKEN.fullmatch(value):
        return None
    return name, value


def _media_ranges(accept: str) -> list[_MediaRange]:
    """The well-formed media ranges of an ``Accept`` value; malformed members are ignored (RFC 9110 §12.5.1 lets a
    server disregard what it cannot parse)."""
    ranges: list[_MediaRange] = []
    for member in accept[:_MAX_ACCEPT].split(","):
        kind, *raw_params = member.split(";")
        media_type, slash, subtype = kind.strip().lower().partition("/")
        if not slash or not _TOKEN.fullmatch(media_type) or not _TOKEN.fullmatch(subtype):
            continue
        if media_type == "*" and subtype != "*":
            continue
        parameters: dict[str, str] = {}
        weight = 1.0
        well_formed = True
        for raw in raw_params:
            parsed = _parse_parameter(raw)
            if parsed is None:
                well_formed = False
                break
            name, value = parsed
            if name == "q":
                # RFC 9110 §12.4.2: weight = "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]
                if not re.fullmatch(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?", value):
                    well_formed = False
                    break
                weight = float(value)
                break  # what follows the weight are accept-ext parameters, not media type parameters
            parameters[name] = value
        if well_formed:
            ranges.append(_MediaRange(media_type, subtype, parameters, weight))
    return ranges


def negotiate(accept: str | None) -> Representation | None:
    """The representation to send for an ``Accept`` header value (``None``: nothing acceptable, 406).

    No header, an empty one, or one without a well-formed member accepts anything (RFC 9110 §12.5.1: "A request
    without any Accept header field implies that the user agent will accept any media type"). Each offer gets the
    weight of the most specific range that matches it; the highest non-zero weight wins, ties in the order of
    :data:`REPRESENTATIONS`.
    """
    ranges = _media_ranges(accept) if accept else []
    if not ranges:
        return REPRESENTATIONS[0]
    best: Representation | None = None
    best_weight = 0.0
    for offer in REPRESENTATIONS:
        matches = [(p, r.weight) for r in ranges if (p := r.precedence(offer)) is not None]
        if not matches:
            continue
        weight = max(matches)[1]
        if weight > best_weight:
            best, best_weight = offer, weight
    return best


# -- the request ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """Status, ``Content-Type`` and JSON body of a response."""

    status: int
    content_type: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _Refusal(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def identifier_from_path(raw: str) -> str:
    """The DID URL in the raw (undecoded) path segment after ``/identifiers/``.

    §12.1: the DID is appended as it is, or — when resolution options are given — "URL-encoded (as specified in
    RFC3986 Section 2.1)". A literal DID starts with ``did:`` and keeps its own percent-encodings; an encoded one
    (``did%3A…``) is decoded exactly once.
    """
    if raw[:6].lower() == "did%3a":
        try:
            return unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise _Refusal("invalidDid", "the URL-encoded DID is not UTF-8 (RFC 3986 §2.1, DID Core §3.1)") from None
    return raw


def _options(query: str) -> dict[str, str]:
    """Resolution options from the HTTP query (§12.1: "Encode all resolution options except accept as query
    parameters"); each at most once."""
    if not query:
        return {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise _Refusal("invalidOptions", "the query is not a list of resolution options (name=value&...)") from None
    options: dict[str, str] = {}
    for name, value in pairs:
        if name in options:
            raise _Refusal("invalidOptions", f"resolution option {name!r} is given twice")
        options[name] = value
    return options


def _did_url(identifier: str, options: Mapping[str, str]) -> str:
    """The DID (with DID parameters) to resolve: the identifier's own DID parameters plus the supported options."""
    # §4.4 step 1: "Validate that the input DID conforms to the did rule of the DID Syntax" (invalidDid); then the rest
    # of the DID URL (invalidDidUrl). A DID has no '/', '?' or '#' (DID Core §3.1).
    did = _DID_END.split(identifier, maxsplit=1)[0]
    try:
        parse_did(did)
    except DidError as exc:
        raise _Refusal("invalidDid", exc.description) from None
    url = parse_did_url(identifier)
    if url.path or url.fragment is not None:
        raise _Refusal(
            "featureNotSupported",
            "this endpoint resolves DIDs (with DID parameters); dereferencing a DID URL path or fragment is not "
            "supported (DID Resolution §5)",
        )
    parameters = did_parameters(url.query)
    for name, value in options.items():
        if name in _VERSION_OPTIONS:
            if name in parameters:
                raise _Refusal("invalidOptions", f"{name} is given both in the DID URL and as a resolution option")
            parameters[name] = value
        elif name == "expandRelativeUrls":
            # §4.1 expandRelativeUrls: documents are always written with absolute DID URLs, so true is honoured.
            if value not in ("true", "false"):
                raise _Refusal("invalidOptions", "expandRelativeUrls is true or false")
        elif name == "noCache":
            if value == "true":
                # §13.2: "Resolvers that deny resolution without caching MUST respond with a FEATURE_NOT_SUPPORTED
                # error". Caches here follow the chain's events, so what they return is current anyway.
                raise _Refusal("featureNotSupported", "this resolver does not bypass its caches (noCache=true)")
            if value != "false":
                raise _Refusal("invalidOptions", "noCache is true or false")
        else:
            # §4.4: "Determine whether the input DID resolution options are supported [...] If not [...]
            # FEATURE_NOT_SUPPORTED"
            raise _Refusal("featureNotSupported", f"resolution option {name[:40]!r} is not supported")
    if parameters.keys() >= _VERSION_OPTIONS:
        raise _Refusal("invalidOptions", "versionId and versionTime are mutually exclusive (DID Resolution §13.4)")
    if not parameters:
        return str(url.did)
    return f"{url.did}?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in parameters.items())


def _error(reason: str, detail: str, representation: Representation | None) -> HttpAnswer:
    """§12.1: "the HTTP response status code MUST correspond to the type property of the error object"."""
    error_type, status = ERROR_TYPES.get(reason, ("INTERNAL_ERROR", 500))
    result_type = representation if representation is not None and representation.full_result else REPRESENTATIONS[0]
    body = {
        "didDocument": None,
        "didDocumentMetadata": {},
        # §11: "The type value of the error object MUST be a URL"; "title [...] short but specific"; "detail [...]
        # a longer human-readable string" (RFC 9457 §3.1).
        "didResolutionMetadata": {"error": {"type": _ERROR_BASE + error_type, "title": reason, "detail": detail}},
    }
    return HttpAnswer(status, result_type.content_type, body)


def _internal_detail(exc: DidError) -> str:
    """What an internal error may tell a client: the failing component's reason, not its message (which can name
    the chain node's address or other configuration)."""
    cause = exc.__cause__
    if cause is None:
        return exc.description  # raised by a driver on purpose, e.g. an unconfigured did:ethr network
    kind = cause.reason if isinstance(cause, SsiError) else "unexpected failure"
    return f"the DID could not be resolved: {kind}"


def resolve_over_http(
    resolver: DidResolver, raw_identifier: str, query: str = "", accept: str | None = None
) -> HttpAnswer:
    """The whole endpoint on plain values: the raw path segment after ``/identifiers/``, the raw HTTP query, the
    ``Accept`` header. Never raises."""
    representation = negotiate(accept)
    try:
        did_url = _did_url(identifier_from_path(raw_identifier), _options(query))
        if representation is None:
            # §4.1 accept, §11 REPRESENTATION_NOT_SUPPORTED
            offered = ", ".join(r.content_type for r in REPRESENTATIONS)
            raise _Refusal("representationNotSupported", f"no acceptable representation; offered: {offered}")
        result = resolver.resolve_result(did_url)
        return _success(result, representation)
    except _Refusal as refusal:
        return _error(refusal.reason, refusal.detail, representation)
    except DidError as exc:
        if ERROR_TYPES.get(exc.reason, ("", 500))[1] == 500:
            _log.warning("DID resolution failed: %s (%s)", exc.reason, exc.description)
            return _error(exc.reason, _internal_detail(exc), representation)
        return _error(exc.reason, exc.description, representation)
    except Exception:
        _log.exception("DID resolution endpoint failed")
        return _error("internalError", "an unexpected error occurred in the resolver", representation)


def _success(result: ResolutionResult, representation: Representation) -> HttpAnswer:
    document = result.document.to_json()
    document_metadata = dict(result.document_metadata)
    if result.deactivated:
        # §12.1: "If the DID resolution [...] function returns a deactivated metadata property with the value true
        # in the didDocumentMetadata [...] The HTTP response status code MUST be 410." §4.4: didDocument null.
        content_type = representation.content_type if representation.full_result else DID_RESOLUTION
        body = {
            "didDocument": None,
            "didDocumentMetadata": document_metadata,
            "didResolutionMetadata": {k: v for k, v in result.resolution_metadata.items() if k != "contentType"},
        }
        return HttpAnswer(410, content_type, body)
    if representation.full_result:
        document_type = str(result.resolution_metadata.get("contentType") or DID_DOCUMENT_JSON)
    else:
        if representation.media_type == DID_DOCUMENT_LD_JSON and "@context" not in document:
            # DID Core §6.3.1: the JSON-LD representation "MUST include the @context property"
            raise _Refusal(
                "representationNotSupported", "this DID document has no @context, so no application/did+ld+json"
            )
        document_type = representation.content_type
    resolution_metadata = {**result.resolution_metadata, "contentType": document_type}
    if not representation.full_result:
        # §12.1: the Content-Type "MUST be the value of the contentType metadata property in the didResolutionMetadata"
        return HttpAnswer(200, document_type, document)
    body = {
        "didDocument": document,
        "didDocumentMetadata": document_metadata,
        "didResolutionMetadata": resolution_metadata,
    }
    return HttpAnswer(200, representation.content_type, body)


# -- FastAPI -------------------------------------------------------------------------------------------------------


class _AnyText(Convertor[str]):
    """The rest of the path, whatever it holds: Starlette's ``path`` convertor (``.*``) stops at a newline (``%0A``),
    which would leave such requests to the framework's plain 404 instead of a DID resolution error."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("did_url", _AnyText())


def _raw_identifier(request: Request, decoded: str) -> str:
    """The undecoded path segment(s) after ``/identifiers/``. The route's own prefix has no encoded slashes, so it
    spans as many ``/`` in the raw path as in the decoded one."""
    raw_path = request.scope.get("raw_path")
    path = str(request.scope.get("path", ""))
    if not isinstance(raw_path, bytes) or not path.endswith(decoded):
        return decoded  # an ASGI server that does not pass the raw path: the DID as the server decoded it
    separators = path[: len(path) - len(decoded)].count("/")
    parts = raw_path.decode("latin-1").split("/", separators)
    return parts[separators] if len(parts) > separators else ""


def _response(answer: HttpAnswer) -> Response:
    content = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # The answer depends on Accept (RFC 9110 §12.5.5).
    headers = {"Vary": "Accept", **answer.headers}
    return Response(content, status_code=answer.status, media_type=answer.content_type, headers=headers)


def did_resolution_router(resolver: DidResolver, *, prefix: str = "/1.0") -> APIRouter:
    """``GET {prefix}/identifiers/{did}``: DID resolution over HTTP (DID Resolution §12.1) with ``resolver``.

    Mount it with ``app.include_router(did_resolution_router(resolver))``. Resolution blocks on the chain, so the route
    is a plain function: FastAPI runs it in its thread pool.
    """
    router = APIRouter(prefix=prefix, tags=["DID resolution"])

    @router.get(
        "/identifiers/{did:did_url}",
        summary="Resolve a DID (W3C DID Resolution §12.1, DIF Universal Resolver)",
        response_class=Response,
        responses={
            200: {"description": "The DID resolution result, or the DID document (per Accept)"},
            400: {"description": "invalidDid / invalidDidUrl / invalidOptions"},
            404: {"description": "notFound"},
            406: {"description": "representationNotSupported"},
            410: {"description": "deactivated (the document metadata is returned)"},
            500: {"description": "internalError / invalidDidDocument"},
            501: {"description": "methodNotSupported / featureNotSupported"},
        },
    )
    def resolve(did: str, request: Request) -> Response:
        raw = _raw_identifier(request, did)
        query = request.scope.get("query_string", b"")
        text = query.decode("latin-1") if isinstance(query, bytes) else ""
        return _response(resolve_over_http(resolver, raw, text, request.headers.get("accept")))

    return router


def resolver_app(resolver: DidResolver, *, title: str = "govssi DID resolver") -> FastAPI:
    """A standalone resolver service: the resolution route and ``GET /healthz`` (DESIGN.md §3, Health)."""
    app = FastAPI(title=title, version="1.0")
    app.include_router(did_resolution_router(resolver))

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "methods": sorted(resolver.methods)}

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("request failed")
        return JSONResponse({"error": "server_error", "error_description": "internal error"}, status_code=500)

    return app
