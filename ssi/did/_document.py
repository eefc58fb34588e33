"""The DID document data model (W3C DID Core 1.0 §5) and its JSON representation (§6.2, ``application/did+json``).

Parsing is strict: every core property must have the type §5 gives it, relative DID URLs are resolved against the
DID (§3.2.2) and every reference into the document must exist. Properties that DID Core does not define are kept
as they are (§4.1 extensibility) and written back on serialization.

Verification method look-up (§5.2.2, §5.3) returns an :class:`ssi.keys.PublicKey` for the types govssi verifies
with: ``JsonWebKey2020`` / ``JsonWebKey`` (``publicKeyJwk``) and ``Multikey`` (``publicKeyMultibase``), plus the two
suite-specific types the did:ethr method spec ("Known Key Types") produces for published keys:
``Ed25519VerificationKey2020`` (``publicKeyMultibase`` of an ed25519-pub multicodec key) and
``EcdsaSecp256k1VerificationKey2019`` (``publicKeyJwk`` on secp256k1).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ssi.did._multikey import decode_multikey
from ssi.did._syntax import Did, parse_did, parse_did_url, resolve_did_url
from ssi.encoding import json_dumps, json_loads
from ssi.errors import DidError, DidNotFound, KeyError_
from ssi.keys import PublicKey

MEDIA_TYPE: Final = "application/did+json"
"""§6.2.1: "a conforming producer MUST specify a media type of application/did+json"."""

DID_CONTEXT: Final = "https://www.w3.org/ns/did/v1"
_DID_CONTEXTS: Final = frozenset({DID_CONTEXT, "https://www.w3.org/ns/did/v1.1"})  # v1.1: DID Core 1.1 drafts

#: §5.3 verification relationships, as JSON property names.
RELATIONSHIPS: Final = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)
JWK_TYPES: Final = frozenset({"JsonWebKey2020", "JsonWebKey"})
MULTIKEY_TYPE: Final = "Multikey"
#: Ed25519 Signature 2020 suite: publicKeyMultibase holds the ed25519-pub multicodec key (0xed01), base58btc.
ED25519_2020_TYPE: Final = "Ed25519VerificationKey2020"
#: ECDSA secp256k1 2019 suite as the did:ethr method spec uses it: publicKeyJwk with crv secp256k1.
SECP256K1_2019_TYPE: Final = "EcdsaSecp256k1VerificationKey2019"
#: Suite-specific types and the one algorithm their key may have.
_SUITE_ALGS: Final = {ED25519_2020_TYPE: "EdDSA", SECP256K1_2019_TYPE: "ES256K"}

# RFC 7517 §8.1.1 "Private" parameter information class (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
_PRIVATE_JWK_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_CORE_PROPERTIES: Final = frozenset(
    {"@context", "id", "controller", "alsoKnownAs", "verificationMethod", "service", *RELATIONSHIPS}
)
_METHOD_CORE: Final = frozenset({"id", "type", "controller", "publicKeyJwk", "publicKeyMultibase"})
_SERVICE_CORE: Final = frozenset({"id", "type", "serviceEndpoint"})

# RFC 3986 §3.1 scheme, then only characters a URI may contain (§2: unreserved, reserved, '%' of pct-encoded).
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_PCT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _invalid(description: str) -> DidError:
    return DidError(description, reason="invalidDidDocument")


def _is_uri(value: object) -> bool:
    """A URI conforming to RFC 3986 (§4.3 absolute form: scheme, then URI characters, well-formed %XX, one '#')."""
    return (
        isinstance(value, str)
        and _URI.fullmatch(value) is not None
        and _BAD_PCT.search(value) is None
        and value.count("#") <= 1
    )


def _string_set(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(f"{name} must be a set (JSON array) of strings")
    if len(set(value)) != len(value):
        raise _invalid(f"{name} is a set and must not contain the same item twice")
    return list(value)


def _reference(value: str, base: Did, allow_relative: bool, what: str) -> str:
    """§3.2.2: resolve a relative DID URL against the DID; return the absolute DID URL."""
    if not allow_relative and not value.startswith("did:"):
        raise _invalid(f"{what} must be an absolute DID URL in this DID document")
    try:
        return str(resolve_did_url(value, base))
    except DidError as exc:
        raise _invalid(f"{what} is not a DID URL: {exc.description}") from None


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    """A verification method (§5.2). ``id`` is always an absolute DID URL."""

    id: str
    type: str
    controller: str
    public_key_jwk: dict[str, Any] | None = None
    public_key_multibase: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    """Members other than the ones above (§4.1 extensibility), e.g. ``blockchainAccountId``."""

    @classmethod
    def from_json(cls, obj: object, base: Did, *, allow_relative: bool = True) -> VerificationMethod:
        """Parse one verification method map of the DID document of ``base``."""
        if not isinstance(obj, Mapping):
            raise _invalid("a verification method must be a map (JSON object)")
        # §5.2: "The verification method map MUST include the id, type, controller, and specific verification
        # material properties that are determined by the value of type"
        vm_id, vm_type, controller = obj.get("id"), obj.get("type"), obj.get("controller")
        if not isinstance(vm_id, str):
            raise _invalid("verification method id must be a string (DID Core §5.2)")
        absolute_id = _reference(vm_id, base, allow_relative, "verification method id")
        if not isinstance(vm_type, str) or not vm_type:
            # §5.2 type: "MUST be a string that references exactly one verification method type"
            raise _invalid("verification method type must be a non-empty string (DID Core §5.2)")
        if not isinstance(controller, str):
            raise _invalid("verification method controller must be a string (DID Core §5.2)")
        try:
            parse_did(controller)
        except DidError:
            # §5.2 controller: "MUST be a string that conforms to the rules in 3.1 DID Syntax"
            raise _invalid("verification method controller must be a DID (DID Core §5.2)") from None
        jwk, multibase = obj.get("publicKeyJwk"), obj.get("publicKeyMultibase")
        if jwk is not None and multibase is not None:
            # §5.2.1: "A verification method MUST NOT contain multiple verification material properties for the
            # same material."
            raise _invalid("verification method has both publicKeyJwk and publicKeyMultibase (DID Core §5.2.1)")
        if "publicKeyJwk" in obj:
            jwk = _check_public_jwk(obj["publicKeyJwk"])
        if "publicKeyMultibase" in obj and (not isinstance(multibase, str) or not multibase):
            # §5.2.1 publicKeyMultibase: "the value MUST be a string representation of a [MULTIBASE] encoded key"
            raise _invalid("publicKeyMultibase must be a non-empty string (DID Core §5.2.1)")
        if vm_type in JWK_TYPES and jwk is None:
            raise _invalid(f"a {vm_type} verification method needs publicKeyJwk")
        if vm_type == MULTIKEY_TYPE and multibase is None:
            raise _invalid("a Multikey verification method needs publicKeyMultibase")
        return cls(
            id=absolute_id,
            type=vm_type,
            controller=controller,
            public_key_jwk=jwk,
            public_key_multibase=multibase,
            properties={k: copy.deepcopy(v) for k, v in obj.items() if k not in _METHOD_CORE},
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "controller": self.controller}
        if self.public_key_jwk is not None:
            out["publicKeyJwk"] = copy.deepcopy(self.public_key_jwk)
        if self.public_key_multibase is not None:
            out["publicKeyMultibase"] = self.public_key_multibase
        out.update(copy.deepcopy(self.properties))
        return out

    def public_key(self) -> PublicKey:
        """The verification key, for ``JsonWebKey2020``/``JsonWebKey``, ``Multikey``, ``Ed25519VerificationKey2020``
        and ``EcdsaSecp256k1VerificationKey2019`` methods.

        Raises ``DidError`` with ``unsupportedPublicKeyType`` for other types or key types govssi does not verify
        with, and ``invalidPublicKey`` for malformed key material (or a key of another algorithm than a
        suite-specific type names).
        """
        if (self.type in JWK_TYPES or self.type == SECP256K1_2019_TYPE) and self.public_key_jwk is not None:
            if not isinstance(self.public_key_jwk.get("crv"), str):
                raise DidError("publicKeyJwk has no supported 'crv'", reason="unsupportedPublicKeyType")
            try:
                key = PublicKey.from_jwk(self.public_key_jwk)
            except KeyError_ as exc:
                reason = "unsupportedPublicKeyType" if exc.reason == "unsupported_key" else "invalidPublicKey"
                raise DidError(f"verification method key: {exc.description}", reason=reason) from exc
            return self._suite_checked(key)  # PublicKey.from_jwk refuses Ed25519 points off the curve
        if self.type in (MULTIKEY_TYPE, ED25519_2020_TYPE) and self.public_key_multibase is not None:
            return self._suite_checked(decode_multikey(self.public_key_multibase))
        raise DidError(
            f"verification method type {self.type!r} is not supported (JsonWebKey2020, JsonWebKey, Multikey, "
            f"{ED25519_2020_TYPE}, {SECP256K1_2019_TYPE})",
            reason="unsupportedPublicKeyType",
        )

    def _suite_checked(self, key: PublicKey) -> PublicKey:
        expected = _SUITE_ALGS.get(self.type)
        if expected is not None and key.alg != expected:
            # A suite-specific type fixes the algorithm; another key under its name is an algorithm confusion.
            raise DidError(f"a {self.type} verification method holds a {key.alg} key", reason="invalidPublicKey")
        return key


def _check_public_jwk(value: object) -> dict[str, Any]:
    # §5.2.1 publicKeyJwk: "the value MUST be a map representing a JSON Web Key that conforms to [RFC7517]. The map
    # MUST NOT contain "d", or any other members of the private information class"
    if not isinstance(value, Mapping):
        raise _invalid("publicKeyJwk must be a map (JSON object) (DID Core §5.2.1)")
    if not isinstance(value.get("kty"), str):
        raise _invalid("publicKeyJwk lacks the string member 'kty' (RFC 7517 §4.1)")
    private = _PRIVATE_JWK_MEMBERS & set(value)
    if private:
        raise _invalid("publicKeyJwk contains private key members (DID Core §5.2.1)")
    return copy.deepcopy(dict(value))


@dataclass(frozen=True, slots=True)
class Service:
    """A service (§5.4). ``id`` is absolute (a relative DID URL is resolved against the DID)."""

    id: str
    type: str | tuple[str, ...]
    service_endpoint: str | dict[str, Any] | tuple[str | dict[str, Any], ...]
    properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: object, base: Did, *, allow_relative: bool = True) -> Service:
        if not isinstance(obj, Mapping):
            raise _invalid("a service must be a map (JSON object) (DID Core §5.4)")
        # §5.4: "Each service map MUST contain id, type, and serviceEndpoint properties."
        missing = _SERVICE_CORE - set(obj)
        if missing:
            raise _invalid(f"service lacks {sorted(missing)} (DID Core §5.4)")
        raw_id = obj["id"]
        if not isinstance(raw_id, str):
            raise _invalid("service id must be a string (DID Core §5.4)")
        if raw_id.startswith("did:") or not _is_uri(raw_id):
            service_id = _reference(raw_id, base, allow_relative, "service id")
        else:
            service_id = raw_id  # §5.4 id: "MUST be a URI conforming to [RFC3986]"
        raw_type = obj["type"]
        service_type: str | tuple[str, ...]
        if isinstance(raw_type, str) and raw_type:
            service_type = raw_type
        elif isinstance(raw_type, list) and raw_type:
            # §5.4 type: "MUST be a string or a set of strings"
            service_type = tuple(_string_set(raw_type, "service type"))
            if not all(service_type):
                raise _invalid("service type strings must not be empty (DID Core §5.4)")
        else:
            raise _invalid("service type must be a string or a set of strings (DID Core §5.4)")
        return cls(
            id=service_id,
            type=service_type,
            service_endpoint=_service_endpoint(obj["serviceEndpoint"]),
            properties={k: copy.deepcopy(v) for k, v in obj.items() if k not in _SERVICE_CORE},
        )

    def to_json(self) -> dict[str, Any]:
        endpoint: Any = self.service_endpoint
        if isinstance(endpoint, tuple):
            endpoint = list(endpoint)
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type if isinstance(self.type, str) else list(self.type),
            "serviceEndpoint": copy.deepcopy(endpoint),
        }
        out.update(copy.deepcopy(self.properties))
        return out


def _service_endpoint(value: object) -> str | dict[str, Any] | tuple[str | dict[str, Any], ...]:
    # §5.4 serviceEndpoint: "MUST be a string, a map, or a set composed of one or more strings and/or maps. All
    # string values MUST be valid URIs conforming to [RFC3986]"
    def one(item: object) -> str | dict[str, Any]:
        if isinstance(item, str):
            if not _is_uri(item):
                raise _invalid("serviceEndpoint strings must be URIs (DID Core §5.4)")
            return item
        if isinstance(item, Mapping):
            return copy.deepcopy(dict(item))
        raise _invalid("serviceEndpoint must be a URI string, a map, or a set of them (DID Core §5.4)")

    if isinstance(value, list):
        if not value:
            raise _invalid("serviceEndpoint set must contain one or more items (DID Core §5.4)")
        items = tuple(one(item) for item in value)
        if len({json_dumps(item) for item in items}) != len(items):
            raise _invalid("serviceEndpoint is a set and must not contain the same item twice")
        return items
    return one(value)


VerificationRelationship = tuple[VerificationMethod | str, ...]
"""Entries of a relationship: embedded methods, or references (absolute DID URLs) to methods."""


@dataclass(frozen=True, slots=True)
class DidDocument:
    """A DID document (§5). Build it with :meth:`from_json`, which enforces the rules; serialize with
    :meth:`to_json` (``application/did+json``, :data:`MEDIA_TYPE`)."""

    id: str
    controller: tuple[str, ...] = ()
    also_known_as: tuple[str, ...] = ()
    verification_method: tuple[VerificationMethod, ...] = ()
    authentication: VerificationRelationship = ()
    assertion_method: VerificationRelationship = ()
    key_agreement: VerificationRelationship = ()
    capability_invocation: VerificationRelationship = ()
    capability_delegation: VerificationRelationship = ()
    service: tuple[Service, ...] = ()
    context: str | tuple[Any, ...] | None = None
    """The JSON-LD ``@context`` if the document carried one (§6.3.1), else ``None``."""
    properties: dict[str, Any] = field(default_factory=dict)
    """Properties DID Core does not define (§4.1), kept for serialization."""

    # -- parsing ---------------------------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any], *, allow_relative_urls: bool = True) -> DidDocument:
        """Parse a DID document from its JSON representation (§6.2.2) or an already decoded JSON object.

        ``allow_relative_urls=False`` refuses relative DID URLs (did:web: "Whenever a DID URL is present within a
        did:web document, it must be an absolute URL").
        """
        obj = json_loads(data) if isinstance(data, str | bytes) else data
        if not isinstance(obj, Mapping):
            # §6.2.2: "A conforming consumer for a JSON representation that is consuming a DID document with a
            # root element that is not a JSON Object MUST report an error."
            raise _invalid("the DID document must be a JSON object (DID Core §6.2.2)")
        # §5.1.1 id: "MUST be a string that conforms to the rules in 3.1 DID Syntax and MUST exist in the root map"
        doc_id = obj.get("id")
        if not isinstance(doc_id, str):
            raise _invalid("the DID document must have a string id (DID Core §5.1.1)")
        try:
            base = parse_did(doc_id)
        except DidError:
            raise _invalid("the DID document id must be a DID (DID Core §5.1.1)") from None
        fields: dict[str, Any] = {"id": doc_id}
        fields["context"] = _context(obj["@context"]) if "@context" in obj else None
        fields["controller"] = _controller(obj["controller"]) if "controller" in obj else ()
        if "alsoKnownAs" in obj:
            # §5.1.3 alsoKnownAs: "MUST be a set where each item in the set is a URI conforming to [RFC3986]"
            aka = _string_set(obj["alsoKnownAs"], "alsoKnownAs")
            if not all(_is_uri(item) for item in aka):
                raise _invalid("alsoKnownAs items must be URIs (DID Core §5.1.3)")
            fields["also_known_as"] = tuple(aka)
        methods: list[VerificationMethod] = []
        if "verificationMethod" in obj:
            value = obj["verificationMethod"]
            # §5.2 verificationMethod: "MUST be a set of verification methods, where each verification method is
            # expressed using a map"
            if not isinstance(value, list):
                raise _invalid("verificationMethod must be a set (JSON array) of maps (DID Core §5.2)")
            methods = [VerificationMethod.from_json(item, base, allow_relative=allow_relative_urls) for item in value]
        fields["verification_method"] = tuple(methods)
        embedded: list[VerificationMethod] = []
        for name in RELATIONSHIPS:
            if name in obj:
                entries = _relationship(obj[name], name, base, allow_relative_urls)
                embedded.extend(e for e in entries if isinstance(e, VerificationMethod))
                fields[_snake(name)] = entries
        _check_unique_ids([*methods, *embedded])
        _check_references(fields, methods, doc_id)
        if "service" in obj:
            value = obj["service"]
            # §5.4 service: "MUST be a set of services, where each service is described by a map"
            if not isinstance(value, list):
                raise _invalid("service must be a set (JSON array) of maps (DID Core §5.4)")
            services = tuple(Service.from_json(s, base, allow_relative=allow_relative_urls) for s in value)
            ids = [s.id for s in services]
            if len(set(ids)) != len(ids):
                # §5.4: "A conforming consumer MUST produce an error if it detects multiple service entries with
                # the same id."
                raise _invalid("two services have the same id (DID Core §5.4)")
            fields["service"] = services
        fields["properties"] = {k: copy.deepcopy(v) for k, v in obj.items() if k not in _CORE_PROPERTIES}
        return cls(**fields)

    # -- serialization ---------------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The JSON representation (§6.2.1) as a dict; relative references are written in absolute form."""
        out: dict[str, Any] = {}
        if self.context is not None:
            out["@context"] = self.context if isinstance(self.context, str) else copy.deepcopy(list(self.context))
        out["id"] = self.id
        if self.controller:
            out["controller"] = self.controller[0] if len(self.controller) == 1 else list(self.controller)
        if self.also_known_as:
            out["alsoKnownAs"] = list(self.also_known_as)
        if self.verification_method:
            out["verificationMethod"] = [vm.to_json() for vm in self.verification_method]
        for name in RELATIONSHIPS:
            entries: VerificationRelationship = getattr(self, _snake(name))
            if entries:
                out[name] = [e.to_json() if isinstance(e, VerificationMethod) else e for e in entries]
        if self.service:
            out["service"] = [s.to_json() for s in self.service]
        out.update(copy.deepcopy(self.properties))
        return out

    def to_json_text(self) -> str:
        """Compact ``application/did+json`` text."""
        return json_dumps(self.to_json())

    # -- look-up ---------------------------------------------------------------------------------------------------

    @property
    def did(self) -> Did:
        return parse_did(self.id)

    def relationship(self, name: str) -> VerificationRelationship:
        """The entries of a verification relationship (§5.3), by its JSON name (``assertionMethod``, …)."""
        if name not in RELATIONSHIPS:
            raise ValueError(f"unknown verification relationship {name!r}; use one of {', '.join(RELATIONSHIPS)}")
        entries: VerificationRelationship = getattr(self, _snake(name))
        return entries

    def verification_methods(self, relationship: str) -> tuple[VerificationMethod, ...]:
        """The methods usable for ``relationship`` that live in this document (embedded or referenced).

        References to methods in other DID documents are skipped; dereferencing them needs a resolver.
        """
        by_id = {vm.id: vm for vm in self.verification_method}
        out: list[VerificationMethod] = []
        for entry in self.relationship(relationship):
            if isinstance(entry, VerificationMethod):
                out.append(entry)
            elif entry in by_id:
                out.append(by_id[entry])
        return tuple(out)

    def find_verification_method(self, did_url: str, relationship: str | None = None) -> VerificationMethod:
        """Dereference a verification method by DID URL (absolute, or relative such as ``#key-1``; §5.2.2).

        With ``relationship``, the method must be embedded in or referenced by that verification relationship
        (§5.3: "Verification methods that are not associated with a particular verification relationship cannot
        be used for that verification relationship."); otherwise ``invalidVerificationRelationship``.
        Raises ``DidNotFound`` when the URL does not name a method in this document (including a URL of another DID).
        """
        if relationship is not None:
            entries = self.relationship(relationship)
        try:
            url = resolve_did_url(did_url, self.did)
        except DidError as exc:
            raise DidError(exc.description, reason="invalidDidUrl") from None
        target = str(url)
        if str(url.did) != self.id:
            raise DidNotFound(f"{target} does not belong to the DID document of {self.id}")
        all_methods = [*self.verification_method]
        for name in RELATIONSHIPS:
            all_methods.extend(e for e in self.relationship(name) if isinstance(e, VerificationMethod))
        found = next((vm for vm in all_methods if vm.id == target), None)
        if found is None:
            raise DidNotFound(f"no verification method {target} in the DID document")
        if relationship is not None:
            allowed = any(
                (isinstance(e, VerificationMethod) and e is found) or (isinstance(e, str) and e == target)
                for e in entries
            )
            if not allowed:
                raise DidError(
                    f"verification method {target} is not authorized for {relationship} (DID Core §5.3)",
                    reason="invalidVerificationRelationship",
                )
        return found

    def public_key(self, did_url: str, relationship: str | None = None) -> PublicKey:
        """:meth:`find_verification_method`, then the method's :class:`PublicKey`."""
        return self.find_verification_method(did_url, relationship).public_key()


def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name)


def _context(value: object) -> str | tuple[Any, ...]:
    # §6.3.1 @context: "MUST be the string https://www.w3.org/ns/did/v1, or a list where the first item is the
    # string https://www.w3.org/ns/did/v1" (a JSON-LD context is a string or a list of strings and/or maps)
    if isinstance(value, str):
        if value not in _DID_CONTEXTS:
            raise _invalid(f"@context must be {DID_CONTEXT} or start with it (DID Core §6.3.1)")
        return value
    if isinstance(value, list) and value and all(isinstance(item, str | Mapping) for item in value):
        if not isinstance(value[0], str) or value[0] not in _DID_CONTEXTS:
            raise _invalid(f"@context must be {DID_CONTEXT} or start with it (DID Core §6.3.1)")
        return tuple(copy.deepcopy(value))
    raise _invalid("@context must be a string or a list of strings and maps (DID Core §6.3.1)")


def _controller(value: object) -> tuple[str, ...]:
    # §5.1.2 controller: "MUST be a string or a set of strings that conform to the rules in 3.1 DID Syntax"
    items = [value] if isinstance(value, str) else _string_set(value, "controller")
    for item in items:
        try:
            parse_did(item)
        except DidError:
            raise _invalid("controller values must be DIDs (DID Core §5.1.2)") from None
    return tuple(items)


def _relationship(value: object, name: str, base: Did, allow_relative: bool) -> VerificationRelationship:
    # §5.3.x: "If present, the associated value MUST be a set of one or more verification methods. Each
    # verification method MAY be embedded or referenced."
    if not isinstance(value, list) or not value:
        raise _invalid(f"{name} must be a set of one or more verification methods (DID Core §5.3)")
    entries: list[VerificationMethod | str] = []
    for item in value:
        if isinstance(item, str):
            entries.append(_reference(item, base, allow_relative, f"{name} reference"))
        elif isinstance(item, Mapping):
            entries.append(VerificationMethod.from_json(item, base, allow_relative=allow_relative))
        else:
            raise _invalid(f"{name} entries must be DID URL strings or verification method maps (DID Core §5.3)")
    ids = [e.id if isinstance(e, VerificationMethod) else e for e in entries]
    if len(set(ids)) != len(ids):
        raise _invalid(f"{name} is a set and must not contain the same verification method twice")
    return tuple(entries)


def _check_unique_ids(methods: list[VerificationMethod]) -> None:
    # §5.2 verificationMethod is a set; two maps with one id would make dereferencing (§5.2.2) ambiguous.
    ids = [vm.id for vm in methods]
    if len(set(ids)) != len(ids):
        raise _invalid("two verification methods have the same id (DID Core §5.2)")


def _check_references(fields: Mapping[str, Any], methods: list[VerificationMethod], doc_id: str) -> None:
    # §5.2.2: a reference "will need to be retrieved from elsewhere in the DID document or from another DID document";
    # a reference into this document that names no method here cannot be dereferenced at all.
    known = {vm.id for vm in methods}
    for name in RELATIONSHIPS:
        for entry in fields.get(_snake(name), ()):
            if isinstance(entry, str) and entry not in known and _did_of(entry) == doc_id:
                raise _invalid(f"{name} references {entry}, which is not a verification method of this document")


def _did_of(url: str) -> str:
    return str(parse_did_url(url).did)  # references were made absolute when parsed
