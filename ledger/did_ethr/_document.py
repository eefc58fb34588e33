"""Building a did:ethr DID document from an identity's registry events (did:ethr method spec, "Read (Resolve)").

A pure function of the event history, the DID, the chain id, a block height (``versionId``) and a time ``now``; it
interprets the events in order exactly as ethr-did-resolver's ``wrapDidDocument`` does:

- events after the requested block, and events in blocks whose timestamp is after ``now``, are not applied; the
  first of them is ``nextVersionId``; ``versionId`` is the latest block applied;
- ``DIDOwnerChanged`` sets the controller; the owner 0x0 deactivates ("Delete (Revoke)": "all preexisting keys and
  services MUST be considered revoked") and ends the walk: the document is then empty;
- ``DIDDelegateChanged`` of type ``veriKey`` adds an ``EcdsaSecp256k1RecoveryMethod2020`` delegate to
  ``assertionMethod``, ``sigAuth`` to ``authentication`` and ``assertionMethod`` both;
  "Only events with a validTo [...] greater or equal to the current time should be included"; a later event for the
  same delegate with an expired ``validTo`` removes it (revocation);
- ``DIDAttributeChanged`` ``did/pub/<algorithm>/<purpose>/<encoding>`` adds a key ("Known Key Types", see
  :mod:`ledger.did_ethr._keys`; unknown algorithms verbatim with the encoding hint), ``did/svc/<type>`` a service
  whose endpoint is the value as JSON if it parses, else as text;
- ids: "Attribute or delegate changes that result in verificationMethod entries MUST set the id
  ${did}#delegate-${eventIndex}" (every delegate event and every ``did/pub/`` attribute event counts, revocations
  too), services ``${did}#service-${eventIndex}``; ``#controller`` always, and ``#controllerKey`` for a public-key
  DID while its own address controls it.

Deliberate differences from ethr-did-resolver (each documented in ``ledger/README.md``): a 32-byte
``Secp256k1`` value is not read as a private key (:func:`ledger.did_ethr._keys.secp256k1_jwk`); the owner
comparison for ``#controllerKey`` ignores letter case (14.x compares a lower-case owner with a checksummed address, so
a DID whose owner was set back to itself loses ``#controllerKey``); entries DID Core cannot represent (a service
endpoint that is not a URI, map or set of them) are left out instead of making the whole document invalid; and keys
carrying a compromise mark (:mod:`ledger.did_ethr._lifecycle`) are left out of every version.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ledger.did_ethr._events import AttributeChanged, DelegateChanged, OwnerChanged, RegistryEvent
from ledger.did_ethr._identifier import EthrDid
from ledger.did_ethr._keys import (
    ALGORITHM_TYPES,
    MULTICODEC_PREFIXES,
    VM_ED25519,
    VM_MULTIKEY,
    VM_RECOVERY,
    VM_SECP256K1,
    VM_X25519,
    multibase_base58btc,
    secp256k1_jwk,
    verification_method_thumbprint,
)
from ssi.did import DID_CONTEXT, Service, VerificationMethod, parse_did
from ssi.errors import DidError

__all__ = ["DocumentVersion", "build_document", "ld_context"]

ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
SECP256K1_RECOVERY_CONTEXT: Final = "https://w3id.org/security/suites/secp256k1recovery-2020/v2"
SECURITY_V2_CONTEXT: Final = "https://w3id.org/security/v2"
_TYPE_CONTEXTS: Final = (
    (VM_ED25519, "https://w3id.org/security/suites/ed25519-2020/v1"),
    (VM_X25519, "https://w3id.org/security/suites/x25519-2020/v1"),
    (VM_MULTIKEY, "https://w3id.org/security/multikey/v1"),
)
# JavaScript's \w (no unicode flag) is ASCII; Python's is not. \Z: JS '$' never matches before a final newline.
_ATTRIBUTE: Final = re.compile(r"did/(pub|svc)/([A-Za-z0-9_]+)(/([A-Za-z0-9_]+))?(/([A-Za-z0-9_]+))?\Z")


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    """One version of a did:ethr DID document and what resolution metadata needs."""

    #: The DID document as ethr-did-resolver writes it (``application/did+ld+json``, with ``@context``).
    document: dict[str, Any]
    deactivated: bool
    #: Block of the latest change applied (0: none).
    version_id: int
    #: Block of the first change not applied (in a later block, or timestamped after ``now``), if any.
    next_version_id: int | None
    #: The time from which this version, built for a moving ``now``, would differ (a ``validTo`` passes or a
    #: future-stamped block becomes current); ``math.inf`` if never.
    valid_until: float


def build_document(
    ethr: EthrDid,
    history: Iterable[RegistryEvent],
    chain_id: int,
    *,
    block_height: int | None,
    now: int,
    hidden_keys: Collection[str] = (),
) -> DocumentVersion:
    """The DID document of ``ethr`` at ``block_height`` (``None``: latest) and time ``now`` (Unix seconds).

    ``hidden_keys`` are JWK thumbprints of keys to leave out (compromise marks).
    """
    did = ethr.did
    controller = ethr.address
    version_id = 0
    next_version_id: int | None = None
    deactivated = False
    delegate_count = 0
    service_count = 0
    valid_until = math.inf
    # Insertion-ordered like JavaScript objects: re-adding an existing key keeps its place, a deleted key that comes
    # back goes to the end.
    auth: dict[str, str] = {}
    key_agreement: dict[str, str] = {}
    signing: dict[str, str] = {}
    methods: dict[str, dict[str, Any]] = {}
    services: dict[str, dict[str, Any]] = {}

    for event in history:
        if (block_height is not None and event.block_number > block_height) or event.block_timestamp > now:
            if next_version_id is None or event.block_number < next_version_id:
                next_version_id = event.block_number
            if event.block_timestamp > now:
                valid_until = min(valid_until, event.block_timestamp)
            continue
        version_id = max(version_id, event.block_number)
        if isinstance(event, OwnerChanged):
            controller = event.owner
            if event.owner == ZERO_ADDRESS:
                deactivated = True
                break
        elif isinstance(event, DelegateChanged):
            index = f"DIDDelegateChanged-{event.delegate_type}-{event.delegate.lower()}"
            delegate_count += 1
            vm_id = f"{did}#delegate-{delegate_count}"
            if event.valid_to >= now:
                valid_until = min(valid_until, event.valid_to + 1)
                if event.delegate_type in ("sigAuth", "veriKey"):
                    if event.delegate_type == "sigAuth":
                        auth[index] = vm_id
                    methods[index] = {
                        "id": vm_id,
                        "type": VM_RECOVERY,
                        "controller": did,
                        "blockchainAccountId": f"eip155:{chain_id}:{event.delegate}",
                    }
                    signing[index] = vm_id
            else:
                for entries in (auth, signing, methods):
                    entries.pop(index, None)
        elif isinstance(event, AttributeChanged):
            index = f"DIDAttributeChanged-{event.name}-0x{event.value.hex()}"
            if event.name.startswith("did/pub/"):
                delegate_count += 1
            elif event.name.startswith("did/svc/"):
                service_count += 1
            match = _ATTRIBUTE.match(event.name)
            if match is None:
                continue
            section, algorithm, purpose, encoding = match[1], match[2], match[4], match[6]
            if section == "pub":
                if event.valid_to >= now:
                    valid_until = min(valid_until, event.valid_to + 1)
                    method = _public_key(f"{did}#delegate-{delegate_count}", did, algorithm, encoding, event.value)
                    if method is None:
                        continue
                    methods[index] = method
                    if purpose == "sigAuth":
                        auth[index] = method["id"]
                        signing[index] = method["id"]
                    elif purpose == "enc":
                        key_agreement[index] = method["id"]
                    else:
                        signing[index] = method["id"]
                else:
                    for entries in (methods, auth, signing, key_agreement):
                        entries.pop(index, None)
            else:
                endpoint = _service_endpoint(event.value)
                if endpoint is _NOT_TEXT:
                    continue
                if event.valid_to >= now:
                    valid_until = min(valid_until, event.valid_to + 1)
                    services[index] = {
                        "id": f"{did}#service-{service_count}",
                        "type": algorithm,
                        "serviceEndpoint": endpoint,
                    }
                else:
                    services.pop(index, None)

    if deactivated:
        base = {"id": did, "verificationMethod": [], "authentication": [], "assertionMethod": []}
        return DocumentVersion(
            document={**base, "@context": ld_context(base)},
            deactivated=True,
            version_id=version_id,
            next_version_id=next_version_id,
            valid_until=math.inf,
        )

    verification_methods: list[dict[str, Any]] = [
        {
            "id": f"{did}#controller",
            "type": VM_RECOVERY,
            "controller": did,
            "blockchainAccountId": f"eip155:{chain_id}:{controller}",
        }
    ]
    authentication = [f"{did}#controller"]
    assertion = [f"{did}#controller"]
    if ethr.public_key is not None and controller.lower() == ethr.address.lower():
        jwk = secp256k1_jwk(ethr.public_key)
        if jwk is not None:  # parse_ethr_did only accepts points on the curve
            verification_methods.append(
                {"id": f"{did}#controllerKey", "type": VM_SECP256K1, "controller": did, "publicKeyJwk": jwk}
            )
            authentication.append(f"{did}#controllerKey")
            assertion.append(f"{did}#controllerKey")
    verification_methods.extend(methods.values())
    document: dict[str, Any] = {
        "id": did,
        "verificationMethod": verification_methods,
        "authentication": [*authentication, *auth.values()],
        "assertionMethod": [*assertion, *signing.values()],
    }
    if services:
        document["service"] = list(services.values())
    if key_agreement:
        document["keyAgreement"] = list(key_agreement.values())
    document = _representable(document, hidden_keys)
    document["@context"] = ld_context(document)
    return DocumentVersion(
        document=document,
        deactivated=False,
        version_id=version_id,
        next_version_id=next_version_id,
        valid_until=valid_until,
    )


def _public_key(vm_id: str, did: str, algorithm: str, encoding: str | None, value: bytes) -> dict[str, Any] | None:
    """The verification method of a ``did/pub/`` attribute ("Known Key Types"); ``None`` if its value is no key."""
    vm_type = ALGORITHM_TYPES.get(algorithm, algorithm)
    method: dict[str, Any] = {"id": vm_id, "type": vm_type, "controller": did}
    if vm_type == VM_SECP256K1:
        # "The resolver MUST convert the elliptic curve point from the attribute value to publicKeyJwk format."
        jwk = secp256k1_jwk(value)
        if jwk is None:
            return None
        method["publicKeyJwk"] = jwk
    elif vm_type in MULTICODEC_PREFIXES:
        # "encode the raw 32-byte [...] public key data from the event value as publicKeyMultibase by prepending the
        # multicodec prefix [...] and encoding the result as base58btc with a z prefix"
        method["publicKeyMultibase"] = multibase_base58btc(MULTICODEC_PREFIXES[vm_type] + value)
    elif vm_type == VM_MULTIKEY:
        # "take the attribute value (which already includes the [...] multicodec prefix) and encode it as
        # publicKeyMultibase using base58btc with a z prefix"
        method["publicKeyMultibase"] = multibase_base58btc(value)
    elif encoding in (None, "hex"):
        # "When the resolver encounters an unknown key algorithm, it MUST present it verbatim as the verification
        # method type with publicKeyHex as the default key encoding, or [...] follows the encoding hint"
        method["publicKeyHex"] = value.hex()
    elif encoding == "base64":
        method["publicKeyBase64"] = base64.b64encode(value).decode("ascii")
    elif encoding == "base58":
        method["publicKeyBase58"] = multibase_base58btc(value)[1:]
    else:
        method["value"] = value.hex()
    return method


class _NotText:
    pass


_NOT_TEXT: Final = _NotText()


def _service_endpoint(value: bytes) -> Any:
    """The endpoint of a ``did/svc/`` attribute: the UTF-8 value parsed as JSON, else the text itself.

    A value that is not UTF-8 is no service (the registry used for something else). JSON is parsed as JavaScript's
    ``JSON.parse`` does: no ``NaN``/``Infinity``, the last of duplicate names wins.
    """
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return _NOT_TEXT
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _representable(document: dict[str, Any], hidden_keys: Collection[str]) -> dict[str, Any]:
    """Leave out verification methods and services DID Core cannot represent, and hidden (compromised) keys, with
    every reference to them."""
    base = parse_did(document["id"])
    dropped: set[str] = set()
    kept_methods = []
    for method in document["verificationMethod"]:
        if (hidden_keys and verification_method_thumbprint(method) in hidden_keys) or not _valid_method(method, base):
            dropped.add(method["id"])
        else:
            kept_methods.append(method)
    out = dict(document)
    out["verificationMethod"] = kept_methods
    for name in ("authentication", "assertionMethod", "keyAgreement"):
        if name in out:
            out[name] = [ref for ref in out[name] if ref not in dropped]
            if not out[name] and name == "keyAgreement":
                del out[name]
    if "service" in out:
        out["service"] = [service for service in out["service"] if _valid_service(service, base)]
        if not out["service"]:
            del out["service"]
    return out


def _valid_method(method: Mapping[str, Any], base: Any) -> bool:
    try:
        VerificationMethod.from_json(method, base)
    except DidError:
        return False
    return True


def _valid_service(service: Mapping[str, Any], base: Any) -> bool:
    try:
        Service.from_json(service, base)
    except DidError:
        return False
    return True


def ld_context(document: Mapping[str, Any]) -> list[Any]:
    """The JSON-LD ``@context`` for the verification method types and key properties in ``document`` (did:ethr
    method spec, "JSON-LD Context Definition" and the "Known Key Types" table)."""
    contexts: list[Any] = [DID_CONTEXT, SECP256K1_RECOVERY_CONTEXT]
    methods: list[Mapping[str, Any]] = list(document.get("verificationMethod") or [])
    types = {method.get("type") for method in methods}
    has = {name: any(name in method for method in methods) for name in _INLINE_TERMS}
    if VM_SECP256K1 in types or has["publicKeyBase58"]:
        contexts.append(SECURITY_V2_CONTEXT)
    contexts.extend(context for vm_type, context in _TYPE_CONTEXTS if vm_type in types)
    inline: dict[str, Any] = {}
    if has["publicKeyHex"]:
        inline["publicKeyHex"] = _INLINE_TERMS["publicKeyHex"]
    if has["publicKeyJwk"]:
        inline["publicKeyJwk"] = _INLINE_TERMS["publicKeyJwk"]
    if has["publicKeyBase58"] and SECURITY_V2_CONTEXT not in contexts:  # pragma: no cover - base58 adds security/v2
        inline["publicKeyBase58"] = _INLINE_TERMS["publicKeyBase58"]
    if has["publicKeyBase64"]:
        inline["publicKeyBase64"] = _INLINE_TERMS["publicKeyBase64"]
    if inline:
        contexts.append(inline)
    return contexts


_INLINE_TERMS: Final[dict[str, Any]] = {
    "publicKeyHex": "https://w3id.org/security#publicKeyHex",
    "publicKeyJwk": {"@id": "https://w3id.org/security#publicKeyJwk", "@type": "@json"},
    "publicKeyBase58": "https://w3id.org/security#publicKeyBase58",
    "publicKeyBase64": "https://w3id.org/security#publicKeyBase64",
}
