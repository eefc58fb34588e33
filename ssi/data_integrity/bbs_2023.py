"""The ``bbs-2023`` Data Integrity cryptosuite (W3C vc-di-bbs, baseline feature option) over ``ssi.bbs``.

Roles, as in the specification:

- **issuer** — :func:`create_base_proof` (§3.4.1-§3.4.5): the base proof, given only to the holder; ``mandatory
  pointers`` name the statements every derived proof must reveal;
- **holder** — :func:`verify_base_proof` on receipt, then :func:`derive_proof` (§3.4.6, §3.3.3) for every
  presentation: a fresh BBS proof revealing the mandatory statements plus the ones the selective pointers name,
  bound to a presentation header (:func:`presentation_header` carries the verifier's nonce and audience);
- **verifier** — :func:`verify_derived_proof` (§3.4.7, §3.3.8), with the issuer's key found through the proof's
  ``verificationMethod`` by an injected lookup (:func:`did_public_key_lookup` for DIDs).

The optional features of §4 (anonymous holder binding, pseudonyms) are not implemented: their proof values (header
bytes other than ``0xd95d02``/``0xd95d03``) are refused.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import itertools
import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import cbor2

from ssi import bbs
from ssi.clock import Clock, system_clock
from ssi.data_integrity._jsonld import (
    BUNDLED_CONTEXTS,
    ContextLoader,
    canonical_nquads,
    canonicalize,
)
from ssi.data_integrity._selective import (
    canonicalize_and_group,
    create_label_map_function,
    create_shuffled_id_label_map_function,
    hash_mandatory_nquads,
    label_replacement_canonicalize_json_ld,
    select_json_ld,
)
from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import BbsError, DataIntegrityError, DidError, EncodingError

CRYPTOSUITE: Final = "bbs-2023"
PROOF_TYPE: Final = "DataIntegrityProof"
BASE_PROOF_HEADER: Final = b"\xd9\x5d\x02"  # §3.3.1 baseline
DERIVED_PROOF_HEADER: Final = b"\xd9\x5d\x03"  # §3.3.6 baseline
#: the headers of the optional features (§3.3.1, §3.3.6: 0x04-0x09), which govssi does not implement
_OTHER_FEATURES: Final = frozenset(b"\xd9\x5d" + bytes([n]) for n in range(4, 10))
HMAC_KEY_LENGTH: Final = 32  # §3.4.2 step 1: "the HMAC key MUST be the same length as the digest size"
MAX_PROOF_VALUE: Final = 256 * 1024
_XSD_DATETIME = re.compile(
    r"-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)

#: verificationMethod URL → the issuer's BBS public key (96 octets)
PublicKeyLookup = Callable[[str], bytes]


# --- proof values (§3.3.1, §3.3.2, §3.3.4-§3.3.7) --------------------------------------------------------------------


@dataclass(frozen=True)
class BaseProofValue:
    """The components of a baseline base proof value (§3.3.2 ``parseBaseProofValue``)."""

    bbs_signature: bytes
    bbs_header: bytes
    public_key: bytes
    hmac_key: bytes
    mandatory_pointers: tuple[str, ...]

    def serialize(self) -> str:
        """§3.3.1 ``serializeBaseProofValue`` (baseline): ``"u" + base64url(0xd95d02 || CBOR([...]))``."""
        components = [
            self.bbs_signature,
            self.bbs_header,
            self.public_key,
            self.hmac_key,
            list(self.mandatory_pointers),
        ]
        return "u" + b64url_encode(BASE_PROOF_HEADER + cbor2.dumps(components))

    @classmethod
    def parse(cls, proof_value: object) -> BaseProofValue:
        """§3.3.2 ``parseBaseProofValue``; errors convey PROOF_VERIFICATION_ERROR."""
        components = _decode_proof_value(proof_value, BASE_PROOF_HEADER, "base")
        if len(components) != 5:
            raise DataIntegrityError("a base proof value has five components", reason="malformed_proof_value")
        signature, header, public_key, hmac_key, pointers = components
        if not all(isinstance(x, bytes) for x in (signature, header, public_key, hmac_key)):
            raise DataIntegrityError("base proof components have the wrong types", reason="malformed_proof_value")
        if not isinstance(pointers, list) or not all(isinstance(p, str) for p in pointers):
            raise DataIntegrityError("mandatory pointers must be strings", reason="malformed_proof_value")
        if len(hmac_key) != HMAC_KEY_LENGTH or len(header) != 64 or len(signature) != bbs.SIGNATURE_LENGTH:
            raise DataIntegrityError("base proof components have the wrong lengths", reason="malformed_proof_value")
        return cls(signature, header, public_key, hmac_key, tuple(pointers))


@dataclass(frozen=True)
class DerivedProofValue:
    """The components of a baseline derived proof value (§3.3.7 ``parseDerivedProofValue``); ``label_map`` is
    decompressed (§3.3.5): canonical id (``c14nN``) → HMAC-shuffled label (``bM``)."""

    bbs_proof: bytes
    label_map: dict[str, str]
    mandatory_indexes: tuple[int, ...]
    selective_indexes: tuple[int, ...]
    presentation_header: bytes

    def serialize(self) -> str:
        """§3.3.6 ``serializeDerivedProofValue`` (baseline) with §3.3.4 ``compressLabelMap``."""
        compressed = {int(k.removeprefix("c14n")): int(v.removeprefix("b")) for k, v in self.label_map.items()}
        components = [
            self.bbs_proof,
            compressed,
            list(self.mandatory_indexes),
            list(self.selective_indexes),
            self.presentation_header,
        ]
        return "u" + b64url_encode(DERIVED_PROOF_HEADER + cbor2.dumps(components))

    @classmethod
    def parse(cls, proof_value: object) -> DerivedProofValue:
        """§3.3.7 ``parseDerivedProofValue`` with §3.3.5 ``decompressLabelMap``."""
        components = _decode_proof_value(proof_value, DERIVED_PROOF_HEADER, "derived")
        if len(components) != 5:
            raise DataIntegrityError(
                "a baseline derived proof value has five components", reason="malformed_proof_value"
            )
        bbs_proof, compressed, mandatory, selective, ph = components
        if not isinstance(bbs_proof, bytes) or not isinstance(ph, bytes) or not isinstance(compressed, dict):
            raise DataIntegrityError("derived proof components have the wrong types", reason="malformed_proof_value")
        if not all(_index(k) and _index(v) for k, v in compressed.items()):
            raise DataIntegrityError("label map entries must be non-negative integers", reason="malformed_proof_value")
        if len(set(compressed.values())) != len(compressed):
            raise DataIntegrityError("label map assigns one label twice", reason="malformed_proof_value")
        for indexes in (mandatory, selective):
            if not isinstance(indexes, list) or not all(_index(i) for i in indexes):
                raise DataIntegrityError("indexes must be non-negative integers", reason="malformed_proof_value")
            if any(a >= b for a, b in itertools.pairwise(indexes)):
                raise DataIntegrityError("indexes must be strictly ascending", reason="malformed_proof_value")
        label_map = {f"c14n{k}": f"b{v}" for k, v in compressed.items()}
        return cls(bbs_proof, label_map, tuple(mandatory), tuple(selective), ph)


def _index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32


def _decode_proof_value(proof_value: object, header: bytes, kind: str) -> list[Any]:
    if not isinstance(proof_value, str) or not proof_value.startswith("u"):
        # §3.3.2 / §3.3.7 step 1: "does not start with u [...] an error MUST be raised"
        raise DataIntegrityError("proofValue must be multibase base64url ('u')", reason="malformed_proof_value")
    if len(proof_value) > MAX_PROOF_VALUE:
        raise DataIntegrityError("proofValue is too long", reason="malformed_proof_value")
    try:
        raw = b64url_decode(proof_value[1:])
    except EncodingError:
        raise DataIntegrityError("proofValue is not base64url", reason="malformed_proof_value") from None
    if raw[:3] in _OTHER_FEATURES:
        raise DataIntegrityError("bbs-2023 optional features are not supported", reason="unsupported_feature")
    if raw[:3] != header:
        raise DataIntegrityError(f"not a bbs-2023 {kind} proof value", reason="malformed_proof_value")
    stream = io.BytesIO(raw[3:])
    try:
        components = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, OverflowError, RecursionError):
        raise DataIntegrityError("proofValue is not valid CBOR", reason="malformed_proof_value") from None
    if stream.tell() != len(raw) - 3 or not isinstance(components, list):
        raise DataIntegrityError("proofValue must hold exactly one CBOR array", reason="malformed_proof_value")
    return components


# --- proof options (VC Data Integrity 1.0 §2.1, vc-di-bbs §2.2.1, §3.4.4) -------------------------------------------


def presentation_header(*, nonce: str, audience: str) -> bytes:
    """The BBS presentation header govssi binds derived proofs to: the UTF-8 of the compact, key-sorted JSON object
    ``{"aud": audience, "nonce": nonce}``. BBS §3.3.6: the presentation header is "suitable for ensuring the
    freshness of a BBS proof, for example, by including in it a (possibly supplied by the Verifier) random value.
    Other use cases include binding the BBS proof to a certain domain/audience"."""
    if not isinstance(nonce, str) or not nonce or not isinstance(audience, str) or not audience:
        raise DataIntegrityError("nonce and audience must be non-empty strings", reason="presentation_binding")
    return json.dumps(
        {"aud": audience, "nonce": nonce}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def _check_datetime(value: object, name: str) -> None:
    if not isinstance(value, str) or not _XSD_DATETIME.fullmatch(value):
        # §3.4.4 step 3: "if the value is not a valid [XMLSCHEMA11-2] datetime, an error MUST be raised"
        raise DataIntegrityError(f"proof {name} must be an XML Schema dateTime", reason="invalid_proof_options")


def _check_proof_options(proof: Mapping[str, Any], *, purpose: str) -> None:
    """vc-di-bbs §2.2.1 and VC Data Integrity §2.1: ``type`` ``DataIntegrityProof``, ``cryptosuite`` ``bbs-2023``,
    ``verificationMethod`` a URL, the expected ``proofPurpose``, ``created``/``expires`` XML Schema dateTimes."""
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        # §3.4.4 step 2: "If proofConfig.type is not set to DataIntegrityProof and/or proofConfig.cryptosuite is not
        # set to bbs-2023, an error MUST be raised"
        raise DataIntegrityError(
            "proof must be a DataIntegrityProof with cryptosuite bbs-2023", reason="wrong_cryptosuite"
        )
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or ":" not in method:
        # §2.2.1: "The verificationMethod property of the proof MUST be a URL."
        raise DataIntegrityError("proof verificationMethod must be a URL", reason="invalid_proof_options")
    if proof.get("proofPurpose") != purpose:
        raise DataIntegrityError(f"proofPurpose must be {purpose}", reason="proof_purpose_mismatch")
    for name in ("created", "expires"):
        if name in proof:
            _check_datetime(proof[name], name)


def _proof_hash(proof_options: Mapping[str, Any], context: Any, loader: ContextLoader) -> bytes:
    """§3.4.4 ``proofConfig`` with ``@context`` set to the document's, canonicalized (RDFC-1.0), hashed (§3.4.3
    step 1, §3.3.8 step 1: SHA-256).

    Every presentation of one issuer's credentials has the same proof options, so the result is cached per options
    (as JSON with sorted keys) and loader: only public data, and it saves a verifier a JSON-LD + RDFC-1.0 run."""
    config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    config["@context"] = context
    try:
        key = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise DataIntegrityError("proof options are not JSON", reason="invalid_proof_options") from None
    return _cached_proof_hash(key, loader)


@functools.lru_cache(maxsize=256)
def _cached_proof_hash(config_json: str, loader: ContextLoader) -> bytes:
    return hashlib.sha256(canonical_nquads(json.loads(config_json), loader).encode()).digest()


def _split_document(secured: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(secured, Mapping) or not isinstance(secured.get("proof"), Mapping):
        raise DataIntegrityError("the document must carry exactly one proof object", reason="missing_proof")
    unsecured = {k: copy.deepcopy(v) for k, v in secured.items() if k != "proof"}
    if "@context" not in unsecured:
        raise DataIntegrityError("the document has no @context", reason="invalid_document")
    return unsecured, copy.deepcopy(dict(secured["proof"]))


# --- issuer (§3.4.1-§3.4.5) ------------------------------------------------------------------------------------------


def create_base_proof(
    unsecured: Mapping[str, Any],
    *,
    secret_key: bytes,
    public_key: bytes,
    verification_method: str,
    mandatory_pointers: Sequence[str],
    created: str | None = None,
    proof_purpose: str = "assertionMethod",
    hmac_key: bytes | None = None,
    loader: ContextLoader = BUNDLED_CONTEXTS,
) -> dict[str, Any]:
    """§3.4.1 Create Base Proof: the secured document (``unsecured`` plus its ``proof``). ``created`` is left out by
    default — vc-di-bbs §6.2.4: "the optional created field [...] could greatly reduce the size of the anonymity
    set". ``hmac_key`` (32 octets) is fresh from the CSPRNG unless given (test vectors)."""
    if not isinstance(unsecured, Mapping) or "proof" in unsecured or "@context" not in unsecured:
        raise DataIntegrityError(
            "an unsecured document with @context and no proof is needed", reason="invalid_document"
        )
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        **({"created": created} if created is not None else {}),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    _check_proof_options(options, purpose=proof_purpose)
    pointers = list(mandatory_pointers)
    key = secrets.token_bytes(HMAC_KEY_LENGTH) if hmac_key is None else hmac_key
    if len(key) != HMAC_KEY_LENGTH:
        raise DataIntegrityError("the HMAC key must be 32 octets", reason="invalid_hmac_key")
    # §3.4.2 Base Proof Transformation
    grouped = canonicalize_and_group(
        unsecured, create_shuffled_id_label_map_function(key), {"mandatory": pointers}, loader
    )
    mandatory = list(grouped.groups["mandatory"].matching.values())
    non_mandatory = list(grouped.groups["mandatory"].non_matching.values())
    # §3.4.3 Base Proof Hashing; §3.4.5 step 2: bbsHeader = proofHash || mandatoryHash
    header = _proof_hash(options, unsecured["@context"], loader) + hash_mandatory_nquads(mandatory)
    # §3.4.5 steps 3-4: bbsMessages = UTF-8 of the non-mandatory N-Quads; Sign(SK, PK, header, messages)
    try:
        signature = bbs.sign(secret_key, public_key, [m.encode() for m in non_mandatory], header=header)
    except BbsError as exc:
        raise DataIntegrityError(f"BBS signing failed: {exc.description}", reason=exc.reason) from None
    proof_value = BaseProofValue(signature, header, public_key, key, tuple(pointers)).serialize()
    return {**copy.deepcopy(dict(unsecured)), "proof": {**options, "proofValue": proof_value}}


# --- holder (§3.3.3, §3.4.6) -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Base:
    unsecured: dict[str, Any]
    proof: dict[str, Any]
    value: BaseProofValue


def _parse_base(secured: Mapping[str, Any], purpose: str) -> _Base:
    unsecured, proof = _split_document(secured)
    _check_proof_options(proof, purpose=purpose)
    return _Base(unsecured, proof, BaseProofValue.parse(proof.get("proofValue")))


def verify_base_proof(
    secured: Mapping[str, Any],
    public_key_for: PublicKeyLookup,
    *,
    proof_purpose: str = "assertionMethod",
    loader: ContextLoader = BUNDLED_CONTEXTS,
) -> dict[str, Any]:
    """The holder's check on receipt (not an algorithm of the specification, which leaves it to the holder): the
    base proof's public key is the verification method's, its header is this document's proof hash and mandatory
    hash, and the BBS signature verifies over the non-mandatory statements. Returns the unsecured document."""
    base = _parse_base(secured, proof_purpose)
    if public_key_for(base.proof["verificationMethod"]) != base.value.public_key:
        raise DataIntegrityError("base proof key is not the verification method's key", reason="wrong_key")
    grouped = canonicalize_and_group(
        base.unsecured,
        create_shuffled_id_label_map_function(base.value.hmac_key),
        {"mandatory": list(base.value.mandatory_pointers)},
        loader,
    )
    mandatory = list(grouped.groups["mandatory"].matching.values())
    header = _proof_hash(base.proof, base.unsecured["@context"], loader) + hash_mandatory_nquads(mandatory)
    if header != base.value.bbs_header:
        raise DataIntegrityError("base proof header does not match the document", reason="header_mismatch")
    messages = [m.encode() for m in grouped.groups["mandatory"].non_matching.values()]
    try:
        bbs.verify(base.value.public_key, base.value.bbs_signature, messages, header=header)
    except BbsError as exc:
        raise DataIntegrityError(f"base proof does not verify: {exc.description}", reason=exc.reason) from None
    return base.unsecured


def derive_proof(
    secured: Mapping[str, Any],
    *,
    selective_pointers: Sequence[str],
    presentation_header: bytes = b"",
    proof_purpose: str = "assertionMethod",
    check_signature: bool = True,
    random_scalars: bbs.RandomScalars = bbs.calculate_random_scalars,
    loader: ContextLoader = BUNDLED_CONTEXTS,
) -> dict[str, Any]:
    """§3.4.6 Add Derived Proof: the reveal document with a fresh derived proof. ``check_signature`` verifies the
    base signature inside BBS ProofGen (draft §3.6.3 RECOMMENDS it; skip only after :func:`verify_base_proof`)."""
    base = _parse_base(secured, proof_purpose)
    data = _disclosure_data(
        base,
        list(selective_pointers),
        presentation_header,
        check_signature=check_signature,
        random_scalars=random_scalars,
        loader=loader,
    )
    proof = {k: v for k, v in base.proof.items() if k != "proofValue"}
    proof["proofValue"] = data.value.serialize()
    return {**data.reveal_document, "proof": proof}


@dataclass(frozen=True)
class _Disclosure:
    value: DerivedProofValue
    reveal_document: dict[str, Any]


def _disclosure_data(
    base: _Base,
    selective_pointers: list[str],
    ph: bytes,
    *,
    check_signature: bool,
    random_scalars: bbs.RandomScalars,
    loader: ContextLoader,
) -> _Disclosure:
    """§3.3.3 ``createDisclosureData`` (baseline)."""
    value = base.value
    mandatory_pointers = list(value.mandatory_pointers)
    combined_pointers = mandatory_pointers + selective_pointers
    # steps 2-6: shuffled labels from the HMAC key; group by mandatory, selective and combined pointers
    grouped = canonicalize_and_group(
        base.unsecured,
        create_shuffled_id_label_map_function(value.hmac_key),
        {"mandatory": mandatory_pointers, "selective": selective_pointers, "combined": combined_pointers},
        loader,
    )
    groups = grouped.groups
    # step 7: mandatory indexes relative to the combined statements
    combined_keys = list(groups["combined"].matching)
    mandatory_indexes = [combined_keys.index(k) for k in groups["mandatory"].matching]
    # step 8: selective indexes relative to the non-mandatory statements (mandatory ones selected again are skipped)
    non_mandatory_keys = list(groups["mandatory"].non_matching)
    position = {k: i for i, k in enumerate(non_mandatory_keys)}
    selective_indexes = [position[k] for k in groups["selective"].matching if k in position]
    # step 9-10: bbsProof = ProofGen(PK, signature, header, ph, messages, disclosed_indexes)
    messages = [nq.encode() for nq in groups["mandatory"].non_matching.values()]
    try:
        bbs_proof = bbs.proof_gen(
            value.public_key,
            value.bbs_signature,
            messages,
            selective_indexes,
            header=value.bbs_header,
            ph=ph,
            random_scalars=random_scalars,
            check_signature=check_signature,
        )
    except BbsError as exc:
        raise DataIntegrityError(f"BBS proof generation failed: {exc.description}", reason=exc.reason) from None
    # step 12: revealDocument = selectJsonLd(document, combinedPointers)
    reveal = select_json_ld(combined_pointers, base.unsecured) or {
        "@context": copy.deepcopy(base.unsecured["@context"])
    }
    # steps 13-15: the verifier's canonical labels of the combined statements → the labels that were signed
    _, canonical_id_map = canonicalize(groups["combined"].deskolemized_quads)
    verifier_label_map = {canonical: grouped.label_map[label] for label, canonical in canonical_id_map.items()}
    derived = DerivedProofValue(bbs_proof, verifier_label_map, tuple(mandatory_indexes), tuple(selective_indexes), ph)
    return _Disclosure(derived, reveal)


# --- verifier (§3.3.8, §3.4.7) ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedDocument:
    """A verified derived proof: the revealed document without its proof, the proof options, and what the proof was
    bound to (the presentation header)."""

    document: dict[str, Any]
    proof_options: dict[str, Any]
    presentation_header: bytes
    verification_method: str


def verify_derived_proof(
    secured: Mapping[str, Any],
    public_key_for: PublicKeyLookup,
    *,
    expected_presentation_header: bytes | None,
    proof_purpose: str = "assertionMethod",
    clock: Clock = system_clock,
    loader: ContextLoader = BUNDLED_CONTEXTS,
) -> VerifiedDocument:
    """§3.4.7 Verify Derived Proof. ``expected_presentation_header`` is what this verifier's request binds the proof
    to (:func:`presentation_header` of its nonce and audience); ``None`` accepts any — only for tests and offline
    checks, since it allows replay. Raises :class:`DataIntegrityError` (``reason`` names the failed check)."""
    unsecured, proof = _split_document(secured)
    _check_proof_options(proof, purpose=proof_purpose)
    if "expires" in proof and _expires_before(proof["expires"], clock()):
        raise DataIntegrityError("the proof has expired", reason="proof_expired")
    # §3.3.8 step 2: parseDerivedProofValue
    derived = DerivedProofValue.parse(proof.get("proofValue"))
    if expected_presentation_header is not None and derived.presentation_header != expected_presentation_header:
        raise DataIntegrityError("the proof is bound to another request", reason="presentation_header_mismatch")
    # step 1: publicKeyBytes from the verification method (VC Data Integrity "Retrieve Verification Method")
    public_key = public_key_for(proof["verificationMethod"])
    # §3.3.8 steps 1, 3-8: proofHash; N-Quads relabeled with the label map; mandatory / non-mandatory split
    proof_hash = _proof_hash(proof, unsecured["@context"], loader)
    nquads, _ = label_replacement_canonicalize_json_ld(unsecured, create_label_map_function(derived.label_map), loader)
    if any(i >= len(nquads) for i in derived.mandatory_indexes):
        raise DataIntegrityError("a mandatory index is outside the revealed statements", reason="index_out_of_range")
    mandatory_set = set(derived.mandatory_indexes)
    mandatory = [nq for i, nq in enumerate(nquads) if i in mandatory_set]
    non_mandatory = [nq for i, nq in enumerate(nquads) if i not in mandatory_set]
    header = proof_hash + hash_mandatory_nquads(mandatory)
    # §3.4.7 step 6: ProofVerify(PK, bbsProof, bbsHeader, ph, disclosedMessages, selectiveIndexes)
    try:
        bbs.proof_verify(
            public_key,
            derived.bbs_proof,
            [nq.encode() for nq in non_mandatory],
            list(derived.selective_indexes),
            header=header,
            ph=derived.presentation_header,
        )
    except BbsError as exc:
        raise DataIntegrityError(f"derived proof does not verify: {exc.description}", reason=exc.reason) from None
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    return VerifiedDocument(unsecured, options, derived.presentation_header, proof["verificationMethod"])


def _expires_before(value: str, now: float) -> bool:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DataIntegrityError("proof expires is not a dateTime", reason="invalid_proof_options") from None
    if moment.tzinfo is None:
        raise DataIntegrityError("proof expires needs a time zone", reason="invalid_proof_options")
    return moment.timestamp() <= now


# --- keys from DIDs ---------------------------------------------------------------------------------------------------


def did_public_key_lookup(resolve: Callable[[str], Any], *, relationship: str = "assertionMethod") -> PublicKeyLookup:
    """A :data:`PublicKeyLookup` over DIDs: ``resolve(did)`` gives a :class:`ssi.did.DidDocument`; the verification
    method must be a ``Multikey`` authorized for ``relationship`` (VC Data Integrity "Retrieve Verification Method";
    vc-di-bbs §2.2.1: dereferencing it "MUST result in an object containing a type property with the value set to
    Multikey"). A ``did:key`` of a BLS12-381 G2 key is read from the DID itself (did:key §3.1)."""

    def lookup(verification_method: str) -> bytes:
        did, _, fragment = verification_method.partition("#")
        if did.startswith("did:key:z") and fragment == did.removeprefix("did:key:"):
            return bbs.public_key_from_multikey(fragment)
        try:
            method = resolve(did).find_verification_method(verification_method, relationship)
        except DidError as exc:
            raise DataIntegrityError(f"verification method: {exc.description}", reason="verification_method") from None
        if method.type != "Multikey" or method.public_key_multibase is None:
            raise DataIntegrityError("the verification method must be a Multikey", reason="verification_method")
        try:
            return bbs.public_key_from_multikey(method.public_key_multibase)
        except DidError as exc:  # vc-di-bbs §2.1.1: not a bls12_381-g2-pub Multikey
            raise DataIntegrityError(f"verification method: {exc.description}", reason="verification_method") from None

    return lookup
