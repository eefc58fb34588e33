"""Credential types as data: one JSON document per type, which an authority can add without code.

A type document says which claims a credential of the type has, which of them are selectively disclosable, how a
wallet displays the type and its claims (German and English), and how long a credential is valid::

    {
      "id": "bewohnerparkausweis",             # credential configuration id and scope; [a-z0-9_-]{2,64}
      "format": "dc+sd-jwt",                   # or "ldp_vc" (below)
      "vct": null,                             # optional; default "{credential issuer}/vct/{id}"
      "name": "...", "description": "...",     # for developers (SD-JWT VC type metadata §6.2)
      "display": [{"locale": "de-DE", "name": "...", "description": "...",
                   "background_color": "#...", "text_color": "#..."}, ...],
      "validity": {"days": 365, "until_claim": "valid_until"},
      "bearer_tokens_allowed": false,          # HAIP: DPoP unless a type explicitly allows Bearer tokens
      "requires_approval": false,              # true: a clerk approves each request (deferred issuance, §9)
      "subject": {"claim": ["license_plate"], "kind": "license_plate"},  # keyed pseudonym for revocation
      "claims": [{"path": ["address", "locality"], "type": "string", "mandatory": true, "sd": "always",
                  "max_length": 100, "display": [{"locale": "de-DE", "label": "Ort"}, ...]}, ...]
    }

Claim ``type`` is ``string``, ``date`` (``YYYY-MM-DD``), ``integer``, ``boolean`` or ``object`` (whose members are
declared by longer paths). ``sd`` follows SD-JWT VC §9.4: ``always`` claims become Disclosures, ``never`` and
``allowed`` claims stay in the signed payload. The claims registered by SD-JWT VC (``iss``, ``vct``, ``cnf``,
``status``, ``exp``, ``nbf``, ``iat``, …) are set by the issuer and cannot be declared.

``subject`` names what identifies the person or thing a credential is about (the licence plate of a parking permit,
the document number of an ID card): ``claim`` is the path of a string claim, ``kind`` groups identifiers across types
(default: the claim's name). The issuer keeps only a keyed pseudonym of the value (:mod:`issuer.subjects`), so a
clerk can revoke "everything issued for this plate" without claim values being stored. Types whose subject is not a
claim (the PID's document number comes from the eID card) leave ``claim`` out and the offer names the identifier.

**ldp_vc with bbs-2023** (issue 14; OpenID4VCI 1.0 Appendix A.1.2): ``"format": "ldp_vc"``, ``"cryptosuite":
"bbs-2023"`` and ``"vc_type"``, the credential's type — a term of govssi's bundled context
(``https://ns.govssi.de/credentials/v1``), as is every claim name. The credential is a VCDM 2.0 credential whose
claims are the ``credentialSubject``; all of them are selectively disclosable (``sd`` must stay ``always``), the
holder derives a fresh proof for each presentation. ``mandatory_pointers`` (default ``["/issuer", "/validUntil"]``)
name what every presentation reveals; only top-level members outside ``credentialSubject`` may be named — which
subject claims a verifier sees is the verifier's query's business (and a verifier can then tell them apart as
"selected by the holder", OpenID4VP 1.0 §6.4). The accredited type (``vct`` in the issuer's reports and the
trusted-issuer registry) is the expanded type IRI, e.g. ``https://ns.govssi.de/credentials#AgeCredential``. Such
types have no ``subject`` pseudonym, no clerk approval and no status entry (docs/privacy.md: short validity
instead).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ssi.data_integrity import CREDENTIALS_V2, GOVSSI_V1, bundled_context, expanded_types
from ssi.encoding import json_loads
from ssi.errors import EncodingError, SsiError
from ssi.oid4vci import (
    SD_JWT_VC_FORMAT,
    ClaimDescription,
    CredentialConfiguration,
    Display,
    TypeMetadata,
)

__all__ = [
    "CredentialType",
    "CredentialTypeError",
    "ClaimsRejected",
    "load_credential_type",
    "shipped_credential_types",
]

TYPE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
CLAIM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
CLAIM_TYPES = ("string", "date", "integer", "boolean", "object")
LDP_VC_FORMAT = "ldp_vc"
FORMATS = (SD_JWT_VC_FORMAT, LDP_VC_FORMAT)
#: The contexts of govssi's ldp_vc credentials (both bundled: nothing is fetched, ssi.data_integrity).
LDP_VC_CONTEXT = (CREDENTIALS_V2, GOVSSI_V1)
DEFAULT_MANDATORY_POINTERS = ("/issuer", "/validUntil")
#: Members a mandatory pointer may name (VCDM 2.0 §4: top level, outside credentialSubject).
MANDATORY_MEMBERS = frozenset({"issuer", "validFrom", "validUntil", "type"})
SUBJECT_KIND = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
#: Set by the issuer (SD-JWT VC §3.2.2.2, RFC 7519) — never declared by a type, never taken from an offer.
RESERVED_CLAIMS = frozenset({"iss", "vct", "vct#integrity", "cnf", "status", "exp", "nbf", "iat", "jti", "sub", "_sd"})
MAX_DOCUMENT = 64 * 1024
MAX_CLAIMS = 64
MAX_TEXT = 300
MAX_STRING_CLAIM = 500


class CredentialTypeError(SsiError):
    """A credential type document is malformed."""

    reason = "invalid_credential_type"


class ClaimsRejected(SsiError):
    """Claim values for an offer do not fit the credential type."""

    reason = "claims_rejected"


@dataclass(frozen=True, slots=True)
class ClaimRule:
    path: tuple[str, ...]
    type: str
    mandatory: bool
    sd: str
    max_length: int
    display: tuple[Display, ...]


@dataclass(frozen=True, slots=True)
class CredentialType:
    """A parsed, checked credential type."""

    id: str
    name: str
    description: str | None
    display: tuple[Display, ...]
    claims: tuple[ClaimRule, ...]
    validity_days: int
    until_claim: str | None
    bearer_tokens_allowed: bool
    explicit_vct: str | None
    document: Mapping[str, Any]
    #: A clerk approves every request for this type (OpenID4VCI §9 deferred issuance).
    requires_approval: bool = False
    #: Path of the string claim that identifies the subject (for the keyed pseudonym), and its kind.
    subject_claim: tuple[str, ...] | None = None
    subject_kind: str | None = None
    #: ``dc+sd-jwt`` or ``ldp_vc`` (bbs-2023).
    format: str = SD_JWT_VC_FORMAT
    #: ldp_vc: the credential's type term and the expanded type IRI; the mandatory pointers of its base proofs.
    vc_type: str | None = None
    type_iri: str | None = None
    mandatory_pointers: tuple[str, ...] = ()

    @property
    def is_ldp_vc(self) -> bool:
        return self.format == LDP_VC_FORMAT

    # -- metadata --------------------------------------------------------------------------------------------------

    def vct(self, credential_issuer: str) -> str:
        """The type's ``vct``: the document's own, or an HTTPS URL under the issuer where its Type Metadata is
        served (SD-JWT VC §6.3.1). For ldp_vc the expanded type IRI (what accreditations name)."""
        if self.type_iri is not None:
            return self.type_iri
        return self.explicit_vct or f"{credential_issuer}/vct/{self.id}"

    def _descriptions(self) -> tuple[ClaimDescription, ...]:
        return tuple(ClaimDescription(c.path, c.mandatory, c.sd, c.display) for c in self.claims)

    def configuration(
        self, credential_issuer: str, *, algorithms: Sequence[str], proof_algorithms: Sequence[str]
    ) -> CredentialConfiguration | dict[str, Any]:
        if self.is_ldp_vc:
            return self.ldp_vc_configuration()
        return CredentialConfiguration(
            vct=self.vct(credential_issuer),
            scope=self.id,
            credential_signing_alg_values_supported=tuple(algorithms),
            proof_signing_alg_values_supported=tuple(proof_algorithms),
            display=self.display,
            claims=self._descriptions(),
        )

    def ldp_vc_configuration(self) -> dict[str, Any]:
        """OpenID4VCI 1.0 §12.2.4 and A.1.2.2: ``format`` ``ldp_vc``, ``scope`` (HAIP 1.0 §4.6),
        ``credential_definition`` ("REQUIRED ... ``@context``: REQUIRED ... ``type``: REQUIRED"), the cryptosuite as
        ``credential_signing_alg_values_supported``, display and claims (paths from the credential's root, B.2).

        No ``cryptographic_binding_methods_supported`` and no ``proof_types_supported``: baseline bbs-2023 binds the
        credential to no holder key, and §12.2.4 says the former "MUST be present when Cryptographic Key Binding is
        required for a Credential, and omitted otherwise", the latter "MUST be present if
        cryptographic_binding_methods_supported is present, and omitted otherwise" — the Wallet then omits ``proofs``
        (§8.2)."""
        metadata: dict[str, Any] = {"display": [d.to_json() for d in self.display]}
        claims = [
            ClaimDescription(("credentialSubject", *c.path), c.mandatory, "always", c.display).to_issuer_metadata()
            for c in self.claims
        ]
        metadata["claims"] = claims
        return {
            "format": LDP_VC_FORMAT,
            "scope": self.id,
            "credential_definition": {
                "@context": list(LDP_VC_CONTEXT),
                "type": ["VerifiableCredential", self.vc_type],
            },
            "credential_signing_alg_values_supported": ["bbs-2023"],
            "credential_metadata": metadata,
        }

    def type_metadata(self, credential_issuer: str) -> TypeMetadata:
        return TypeMetadata(
            vct=self.vct(credential_issuer),
            name=self.name,
            description=self.description,
            display=self.display,
            claims=self._descriptions(),
        )

    # -- claims ----------------------------------------------------------------------------------------------------

    @property
    def disclosable_paths(self) -> list[tuple[str, ...]]:
        """Paths of the claims that become Disclosures (``sd: always``)."""
        return [c.path for c in self.claims if c.sd == "always"]

    def check_claims(self, claims: Any) -> dict[str, Any]:
        """Check claim values for an offer: only declared claims, every mandatory one, each of its declared type.
        Returns a copy (plain JSON)."""
        if not isinstance(claims, dict):
            raise ClaimsRejected("claims must be a JSON object", reason="claims_not_object")
        rules = {c.path: c for c in self.claims}
        self._walk(claims, (), rules)
        for rule in self.claims:
            if rule.mandatory and not _present(claims, rule.path):
                parent_present = len(rule.path) == 1 or _present(claims, rule.path[:-1])
                if parent_present:
                    raise ClaimsRejected(f"claim {'.'.join(rule.path)} is mandatory", reason="missing_claim")
        copied: dict[str, Any] = json.loads(json.dumps(claims))
        return copied

    def _walk(self, value: dict[str, Any], prefix: tuple[str, ...], rules: Mapping[tuple[str, ...], ClaimRule]) -> None:
        for name, item in value.items():
            path = (*prefix, name)
            rule = rules.get(path)
            if rule is None:
                raise ClaimsRejected(
                    f"claim {'.'.join(path)} is not part of the type {self.id}", reason="unknown_claim"
                )
            _check_value(rule, item)
            if rule.type == "object":
                self._walk(item, path, rules)

    def subject_value(self, claims: Mapping[str, Any]) -> str | None:
        """The value of the ``subject`` claim in ``claims`` (checked claims), or ``None`` when the type has none."""
        if self.subject_claim is None:
            return None
        value: Any = claims
        for part in self.subject_claim:
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return value if isinstance(value, str) else None

    def expiry(self, claims: Mapping[str, Any], issued_at: float) -> int:
        """``exp``: ``validity.days`` after issuance, or the end (UTC) of the ``until_claim`` date if that is
        earlier."""
        exp = int(issued_at) + self.validity_days * 86400
        if self.until_claim is not None and isinstance(claims.get(self.until_claim), str):
            day = datetime.date.fromisoformat(claims[self.until_claim])
            end = datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=datetime.UTC)
            exp = min(exp, int(end.timestamp()))
        return exp


def _present(claims: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    value: Any = claims
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def _check_value(rule: ClaimRule, value: Any) -> None:
    where = ".".join(rule.path)
    if rule.type == "object":
        ok = isinstance(value, dict)
    elif rule.type == "boolean":
        ok = isinstance(value, bool)
    elif rule.type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53
    else:
        ok = isinstance(value, str) and 0 < len(value) <= rule.max_length
        if ok and rule.type == "date":
            try:
                ok = datetime.date.fromisoformat(value).isoformat() == value
            except ValueError:
                ok = False
    if not ok:
        raise ClaimsRejected(f"claim {where} must be a valid {rule.type}", reason="bad_claim_value")


# -- loading -----------------------------------------------------------------------------------------------------------


def _text(doc: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = doc.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise CredentialTypeError(f"{name} must be a non-empty string of at most {MAX_TEXT} characters")
    return value


def _displays(items: Any, *, name_key: str, where: str) -> tuple[Display, ...]:
    if items is None:
        return ()
    if not isinstance(items, list) or not items:
        raise CredentialTypeError(f"{where}.display must be a non-empty array")
    out: list[Display] = []
    for item in items:
        if not isinstance(item, dict):
            raise CredentialTypeError(f"{where}.display entries must be objects")
        locale = _text(item, "locale", required=True)
        assert locale is not None
        if not LOCALE.match(locale):
            raise CredentialTypeError(f"{where}.display locale {locale!r} is not a language tag")
        name = _text(item, name_key, required=True)
        assert name is not None
        colours = {}
        for key in ("background_color", "text_color"):
            colour = _text(item, key)
            if colour is not None and not COLOR.match(colour):
                raise CredentialTypeError(f"{where}.display {key} must be #RRGGBB")
            colours[key] = colour
        out.append(Display(locale, name, _text(item, "description"), **colours))
    if len({d.locale for d in out}) != len(out):
        # OpenID4VCI §12.2.4 / SD-JWT VC §8: "There MUST be only one object for each language identifier".
        raise CredentialTypeError(f"{where}.display has two entries for one locale")
    return tuple(out)


def load_credential_type(document: Any) -> CredentialType:
    """Parse and check a type document (a JSON object, or its text)."""
    if isinstance(document, (str, bytes)):
        if len(document) > MAX_DOCUMENT:
            raise CredentialTypeError("credential type document is too large")
        try:
            document = json_loads(document)
        except EncodingError as exc:
            raise CredentialTypeError(f"credential type document is not JSON: {exc.description}") from None
    if not isinstance(document, dict):
        raise CredentialTypeError("a credential type document is a JSON object")
    type_id = document.get("id")
    if not isinstance(type_id, str) or not TYPE_ID.match(type_id):
        raise CredentialTypeError("id must match [a-z0-9][a-z0-9_-]{1,63}")
    fmt = document.get("format", SD_JWT_VC_FORMAT)
    if fmt not in FORMATS:
        raise CredentialTypeError("format must be dc+sd-jwt or ldp_vc")
    vct = document.get("vct")
    if vct is not None and (not isinstance(vct, str) or not vct or len(vct) > 256):
        raise CredentialTypeError("vct must be a string")
    display = _displays(document.get("display"), name_key="name", where=type_id)
    if not display:
        raise CredentialTypeError("display is required (German and English names)")
    validity = document.get("validity", {})
    if not isinstance(validity, dict):
        raise CredentialTypeError("validity must be an object")
    days = validity.get("days", 365)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        raise CredentialTypeError("validity.days must be an integer from 1 to 3650")
    until_claim = validity.get("until_claim")
    claims_doc = document.get("claims")
    if not isinstance(claims_doc, list) or not claims_doc or len(claims_doc) > MAX_CLAIMS:
        raise CredentialTypeError(f"claims must be a non-empty array of at most {MAX_CLAIMS} entries")
    rules: list[ClaimRule] = []
    seen: set[tuple[str, ...]] = set()
    for item in claims_doc:
        if not isinstance(item, dict):
            raise CredentialTypeError("claims entries must be objects")
        path = item.get("path")
        if not isinstance(path, list) or not path or not all(isinstance(p, str) and CLAIM_NAME.match(p) for p in path):
            raise CredentialTypeError("a claim path is a non-empty array of claim names")
        key = tuple(path)
        if key in seen:
            raise CredentialTypeError(f"claim {'.'.join(key)} is declared twice")
        if key[0] in RESERVED_CLAIMS:
            raise CredentialTypeError(f"claim {key[0]} is set by the issuer and cannot be declared")
        if len(key) > 1 and key[:-1] not in seen:
            raise CredentialTypeError(f"declare {'.'.join(key[:-1])} (type object) before {'.'.join(key)}")
        if len(key) > 1 and next(r for r in rules if r.path == key[:-1]).type != "object":
            raise CredentialTypeError(f"{'.'.join(key[:-1])} must be of type object to have members")
        claim_type = item.get("type", "string")
        if claim_type not in CLAIM_TYPES:
            raise CredentialTypeError(f"claim type must be one of {', '.join(CLAIM_TYPES)}")
        sd = item.get("sd", "always")
        if sd not in ("always", "allowed", "never"):
            raise CredentialTypeError("sd must be always, allowed or never")
        mandatory = item.get("mandatory", False)
        if not isinstance(mandatory, bool):
            raise CredentialTypeError("mandatory must be true or false")
        max_length = item.get("max_length", 200)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= MAX_STRING_CLAIM:
            raise CredentialTypeError(f"max_length must be an integer from 1 to {MAX_STRING_CLAIM}")
        claim_display = _displays(item.get("display"), name_key="label", where=".".join(key))
        seen.add(key)
        rules.append(ClaimRule(key, claim_type, mandatory, sd, max_length, claim_display))
    if until_claim is not None:
        rule = next((r for r in rules if r.path == (until_claim,)), None)
        if rule is None or rule.type != "date":
            raise CredentialTypeError("validity.until_claim must name a top-level claim of type date")
    bearer = document.get("bearer_tokens_allowed", False)
    if not isinstance(bearer, bool):
        raise CredentialTypeError("bearer_tokens_allowed must be true or false")
    approval = document.get("requires_approval", False)
    if not isinstance(approval, bool):
        raise CredentialTypeError("requires_approval must be true or false")
    subject_claim, subject_kind = _subject(document.get("subject"), rules)
    ldp: dict[str, Any] = {}
    if fmt == LDP_VC_FORMAT:
        if vct is not None or subject_claim is not None or document.get("subject") is not None or approval:
            raise CredentialTypeError("ldp_vc types have no vct, subject or requires_approval")
        ldp = _ldp_vc(document, rules)
    return CredentialType(
        id=type_id,
        name=_text(document, "name") or display[0].name,
        description=_text(document, "description"),
        display=display,
        claims=tuple(rules),
        validity_days=days,
        until_claim=until_claim,
        bearer_tokens_allowed=bearer,
        explicit_vct=vct,
        document=document,
        requires_approval=approval,
        subject_claim=subject_claim,
        subject_kind=subject_kind,
        **ldp,
    )


def _ldp_vc(document: Mapping[str, Any], rules: Sequence[ClaimRule]) -> dict[str, Any]:
    """The ldp_vc members (module docstring): cryptosuite, type term, claims defined by the context, mandatory
    pointers."""
    if document.get("cryptosuite") != "bbs-2023":
        raise CredentialTypeError("an ldp_vc type needs cryptosuite bbs-2023")
    vc_type = document.get("vc_type")
    terms = bundled_context(GOVSSI_V1)["@context"]
    if not isinstance(vc_type, str) or vc_type not in terms:
        raise CredentialTypeError(f"vc_type must be a type defined in {GOVSSI_V1}")
    for rule in rules:
        if rule.path[-1] not in terms:
            # JSON-LD would refuse the claim (ssi.data_integrity: no term may be dropped)
            raise CredentialTypeError(f"claim {'.'.join(rule.path)} is not defined in {GOVSSI_V1}")
        if rule.sd != "always":
            raise CredentialTypeError("every claim of an ldp_vc type is selectively disclosable (sd: always)")
    pointers = document.get("mandatory_pointers", list(DEFAULT_MANDATORY_POINTERS))
    if not isinstance(pointers, list) or not all(
        isinstance(p, str) and p.startswith("/") and p[1:] in MANDATORY_MEMBERS for p in pointers
    ):
        raise CredentialTypeError(
            f"mandatory_pointers name top-level members only: {', '.join(sorted(MANDATORY_MEMBERS))}"
        )
    if "/issuer" not in pointers:
        raise CredentialTypeError("mandatory_pointers must include /issuer (a verifier checks who issued it)")
    (_, type_iri) = expanded_types({"@context": list(LDP_VC_CONTEXT), "type": ["VerifiableCredential", vc_type]})
    return {"format": LDP_VC_FORMAT, "vc_type": vc_type, "type_iri": type_iri, "mandatory_pointers": tuple(pointers)}


def _subject(doc: Any, rules: Sequence[ClaimRule]) -> tuple[tuple[str, ...] | None, str | None]:
    """``subject``: ``{"claim": [path], "kind": name}``; the claim must be a declared mandatory string claim."""
    if doc is None:
        return None, None
    if not isinstance(doc, dict) or set(doc) - {"claim", "kind"}:
        raise CredentialTypeError('subject must be an object with "claim" and/or "kind"')
    path = doc.get("claim")
    claim: tuple[str, ...] | None = None
    if path is not None:
        rule = next((r for r in rules if isinstance(path, list) and r.path == tuple(path)), None)
        if rule is None or rule.type != "string" or not rule.mandatory:
            raise CredentialTypeError("subject.claim must name a declared, mandatory string claim")
        claim = rule.path
    kind = doc.get("kind", claim[-1].lower() if claim else None)
    if not isinstance(kind, str) or not SUBJECT_KIND.match(kind):
        raise CredentialTypeError("subject.kind must match [a-z][a-z0-9_]{1,39}")
    return claim, kind


def shipped_credential_types() -> dict[str, CredentialType]:
    """The types that come with govssi (``issuer/credential_types/*.json``)."""
    out: dict[str, CredentialType] = {}
    for entry in resources.files("issuer").joinpath("credential_types").iterdir():
        if entry.name.endswith(".json"):
            ctype = load_credential_type(entry.read_bytes())
            out[ctype.id] = ctype
    return out


def load_credential_type_file(path: Path) -> CredentialType:
    """A type document from a file."""
    data = path.read_bytes()
    return load_credential_type(data)
