"""Digital Credentials Query Language (OpenID4VP 1.0 §6) and Claims Path Pointers (§7), for both roles.

- **Parsing** (:meth:`DcqlQuery.parse`): every structural rule of §6.1-§6.3 and §7 is checked and a malformed
  query raises :class:`~ssi.errors.DcqlError` with a specific ``reason`` (``dcql_*``). Unknown properties are kept in
  :attr:`DcqlQuery.raw` but otherwise ignored (§6: "Implementations MUST ignore any unknown properties").
- **Claims path pointers** (:func:`select_claims`): the processing rules of §7.1 (JSON) and §7.2 (mdoc).
- **Wallet side** (:func:`evaluate`): which held credentials satisfy which Credential Query (§6.4.2), which claims
  must be disclosed for each (the options of §6.4.1, in the Verifier's order of preference, with ``values`` applied),
  and whether the Credential Set Queries can be satisfied; :meth:`Evaluation.default_selection` picks what a wallet
  sends when the user accepts the Verifier's preferences.
- **Verifier side** (:func:`check_response`): a VP Token's presentations satisfy the query — no less (every required
  Credential Query / Credential Set Query, every claim of one claim option, the requested formats, types, holder
  binding and trusted authorities) and nothing undisclosed smuggled in (a selectively disclosable claim may only be
  disclosed when a requested claim needs it, §6.4: "Wallets MUST NOT send selectively disclosable claims that have
  not been selected"). The result is the projection of each presentation onto the claims the query asked for.

Credentials are described format-neutrally by :class:`CredentialDescription` (:func:`describe_sd_jwt` and
:func:`describe_verified_sd_jwt` build them for SD-JWT VC).

**Trusted authorities** (§6.1.1): ``aki`` is matched here (the base64url KeyIdentifier of the AuthorityKeyIdentifier
of any certificate in the credential's ``x5c``). govssi adds one type, :data:`TRUSTED_AUTHORITY_CHAIN`
(``"govssi_chain_accreditation"``): each value names a trusted-issuer registry on a chain, as a CAIP-10 account id
``eip155:<chain id>:<registry address>``, and a credential matches when that registry accredits its issuer for its
credential type. Matching it needs the chain, so callers pass a matcher for it (``authorities``); without one it
never matches. ``etsi_tl`` and ``openid_federation`` likewise match only through a caller's matcher.

Deliberate limits: SD-JWT VC type inheritance (§6.4.1 ``vct_values``: the Wallet MAY return credentials inheriting
from a requested type) is not followed — types match exactly. ``transaction_data`` is not supported (§5.1: such
requests are refused by the OpenID4VP layer).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ssi.encoding import b64url_decode
from ssi.errors import DcqlError, EncodingError
from ssi.sd_jwt import ClaimPath, HeldSdJwt, VerifiedSdJwt

__all__ = [
    "FORMAT_JWT_VC_JSON",
    "FORMAT_LDP_VC",
    "FORMAT_MDOC",
    "FORMAT_SD_JWT_VC",
    "TRUSTED_AUTHORITY_AKI",
    "TRUSTED_AUTHORITY_CHAIN",
    "TRUSTED_AUTHORITY_ETSI_TL",
    "TRUSTED_AUTHORITY_OPENID_FEDERATION",
    "AuthorityMatcher",
    "CheckedPresentation",
    "CheckedResponse",
    "ClaimOption",
    "ClaimsQuery",
    "CredentialDescription",
    "CredentialMatch",
    "CredentialQuery",
    "CredentialSetQuery",
    "DcqlQuery",
    "Evaluation",
    "SelectedClaim",
    "Selection",
    "TrustedAuthoritiesQuery",
    "check_response",
    "claim_path_covers",
    "describe_sd_jwt",
    "describe_verified_sd_jwt",
    "evaluate",
    "project_claims",
    "select_claims",
    "values_match",
]

FORMAT_SD_JWT_VC = "dc+sd-jwt"
FORMAT_MDOC = "mso_mdoc"
FORMAT_JWT_VC_JSON = "jwt_vc_json"
FORMAT_LDP_VC = "ldp_vc"
_W3C_FORMATS = frozenset({FORMAT_JWT_VC_JSON, FORMAT_LDP_VC})

TRUSTED_AUTHORITY_AKI = "aki"
TRUSTED_AUTHORITY_ETSI_TL = "etsi_tl"
TRUSTED_AUTHORITY_OPENID_FEDERATION = "openid_federation"
#: govssi extension: accreditation in a trusted-issuer registry on a chain; values ``eip155:<chain id>:<address>``.
TRUSTED_AUTHORITY_CHAIN = "govssi_chain_accreditation"

#: Bounds on a query (a query is attacker-controlled input for a wallet, and a stored object for a verifier).
MAX_CREDENTIAL_QUERIES = 32
MAX_CLAIMS = 128
MAX_CLAIM_SETS = 32
MAX_CREDENTIAL_SETS = 16
MAX_OPTIONS = 16
MAX_PATH_LENGTH = 16
MAX_VALUES = 64
MAX_STRING = 1024
MAX_ID_LENGTH = 128
MAX_TRUSTED_AUTHORITIES = 16

#: §6.1 ``id``: "a non-empty string consisting of alphanumeric, underscore (_), or hyphen (-) characters".
_ID = re.compile(r"[A-Za-z0-9_-]+")
_CAIP10 = re.compile(r"eip155:[1-9][0-9]{0,18}:0x[0-9a-fA-F]{40}")

ClaimValue = str | int | bool


# --- the query model (§6.1-§6.3) ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimsQuery:
    """§6.3 Claims Query: ``path`` (a claims path pointer, §7), optional ``id``, ``values`` and (mdoc)
    ``intent_to_retain``."""

    path: ClaimPath
    id: str | None = None
    values: tuple[ClaimValue, ...] | None = None
    intent_to_retain: bool | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out["path"] = list(self.path)
        if self.values is not None:
            out["values"] = list(self.values)
        if self.intent_to_retain is not None:
            out["intent_to_retain"] = self.intent_to_retain
        return out


@dataclass(frozen=True, slots=True)
class TrustedAuthoritiesQuery:
    """§6.1.1 Trusted Authorities Query: ``type`` and a non-empty array of ``values``."""

    type: str
    values: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "values": list(self.values)}


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    """§6.1 Credential Query."""

    id: str
    format: str
    meta: dict[str, Any]
    multiple: bool = False
    claims: tuple[ClaimsQuery, ...] | None = None
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    trusted_authorities: tuple[TrustedAuthoritiesQuery, ...] | None = None
    require_cryptographic_holder_binding: bool = True

    @property
    def vct_values(self) -> tuple[str, ...] | None:
        """§B.3.5 (SD-JWT VC) ``meta.vct_values``."""
        values = self.meta.get("vct_values")
        return tuple(values) if isinstance(values, list) else None

    @property
    def doctype_value(self) -> str | None:
        """§B.2.3 (mdoc) ``meta.doctype_value``."""
        value = self.meta.get("doctype_value")
        return value if isinstance(value, str) else None

    @property
    def type_values(self) -> tuple[tuple[str, ...], ...] | None:
        """§B.1.1 (W3C VC) ``meta.type_values``."""
        values = self.meta.get("type_values")
        return tuple(tuple(inner) for inner in values) if isinstance(values, list) else None

    def claim(self, claim_id: str) -> ClaimsQuery:
        for claim in self.claims or ():
            if claim.id == claim_id:
                return claim
        raise KeyError(claim_id)

    def claim_options(self) -> tuple[tuple[ClaimsQuery, ...], ...]:
        """The claim combinations this query accepts, in the Verifier's order of preference (§6.4.1):

        - no ``claims``: one option without claims ("the Wallet MUST return only the claims that are mandatory");
        - ``claims`` without ``claim_sets``: one option with all of them;
        - ``claim_sets``: one option per claim set.
        """
        if self.claims is None:
            return ((),)
        if self.claim_sets is None:
            return (self.claims,)
        return tuple(tuple(self.claim(claim_id) for claim_id in claim_set) for claim_set in self.claim_sets)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "format": self.format}
        if self.multiple:
            out["multiple"] = True
        out["meta"] = self.meta
        if self.trusted_authorities is not None:
            out["trusted_authorities"] = [ta.to_json() for ta in self.trusted_authorities]
        if not self.require_cryptographic_holder_binding:
            out["require_cryptographic_holder_binding"] = False
        if self.claims is not None:
            out["claims"] = [claim.to_json() for claim in self.claims]
        if self.claim_sets is not None:
            out["claim_sets"] = [list(claim_set) for claim_set in self.claim_sets]
        return out


@dataclass(frozen=True, slots=True)
class CredentialSetQuery:
    """§6.2 Credential Set Query: ``options`` (each a list of Credential Query ids) and ``required`` (default true).
    ``purpose`` is kept as given (not defined by OpenID4VP 1.0; some Verifiers send it for display)."""

    options: tuple[tuple[str, ...], ...]
    required: bool = True
    purpose: Any = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"options": [list(option) for option in self.options]}
        if not self.required:
            out["required"] = False
        if self.purpose is not None:
            out["purpose"] = self.purpose
        return out


@dataclass(frozen=True, slots=True)
class DcqlQuery:
    """A validated DCQL query (§6). ``raw`` is the query as received (unknown properties included)."""

    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSetQuery, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, obj: Any, *, ignore_duplicate_claims: bool = False) -> DcqlQuery:
        """Validate a DCQL query object (§6). Raises :class:`DcqlError` naming the broken rule.

        §6.1 ``claims``: "Verifiers MUST NOT point to the same claim more than once in a single query. Wallets SHOULD
        ignore such duplicate claim queries." By default a duplicate is an error (``dcql_duplicate_claim``); a wallet
        passes ``ignore_duplicate_claims=True`` and the later duplicates are dropped.
        """
        return _parse_query(obj, ignore_duplicate_claims)

    def credential(self, credential_id: str) -> CredentialQuery:
        for query in self.credentials:
            if query.id == credential_id:
                return query
        raise KeyError(credential_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(query.id for query in self.credentials)

    def to_json(self) -> dict[str, Any]:
        """The query as JSON, with only the properties this model knows."""
        out: dict[str, Any] = {"credentials": [query.to_json() for query in self.credentials]}
        if self.credential_sets is not None:
            out["credential_sets"] = [cs.to_json() for cs in self.credential_sets]
        return out

    def required_ids(self) -> frozenset[str]:
        """Credential Query ids that every answer needs: all of them without ``credential_sets`` (§6.4.2), else the
        ids common to every option of a required set."""
        if self.credential_sets is None:
            return frozenset(self.ids)
        required: set[str] = set()
        for cs in self.credential_sets:
            if cs.required:
                common = set(cs.options[0])
                for option in cs.options[1:]:
                    common &= set(option)
                required |= common
        return frozenset(required)


# --- parsing ------------------------------------------------------------------------------------------------------


def _fail(reason: str, description: str) -> DcqlError:
    return DcqlError(description, reason=reason)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail("dcql_malformed", f"{where} must be a JSON object")
    return value


def _array(value: Any, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _fail("dcql_malformed", f"{where} must be a non-empty array")
    if len(value) > limit:
        raise _fail("dcql_too_large", f"{where} has more than {limit} entries")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail("dcql_malformed", f"{where} must be a non-empty string")
    if len(value) > MAX_STRING:
        raise _fail("dcql_too_large", f"{where} is longer than {MAX_STRING} characters")
    return value


def _identifier(value: Any, where: str) -> str:
    """§6.1/§6.3 ``id``: "a non-empty string consisting of alphanumeric, underscore (_), or hyphen (-) characters"."""
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not _ID.fullmatch(value):
        raise _fail("dcql_bad_id", f"{where} must be a non-empty string of letters, digits, '_' and '-'")
    return value


def _boolean(obj: Mapping[str, Any], name: str, default: bool, where: str) -> bool:
    if name not in obj:
        return default
    value = obj[name]
    if not isinstance(value, bool):
        raise _fail("dcql_malformed", f"{where}.{name} must be a boolean")
    return value


def parse_claims_path(value: Any, where: str = "path") -> ClaimPath:
    """§7: "A claims path pointer MUST be a non-empty array of strings, nulls and non-negative integers"."""
    if not isinstance(value, list) or not value:
        raise _fail("dcql_bad_path", f"{where} must be a non-empty array")
    if len(value) > MAX_PATH_LENGTH:
        raise _fail("dcql_bad_path", f"{where} is longer than {MAX_PATH_LENGTH} components")
    out: list[str | int | None] = []
    for component in value:
        text = isinstance(component, str) and len(component) <= MAX_STRING
        index = isinstance(component, int) and not isinstance(component, bool) and 0 <= component < 2**31
        if component is None or text or index:
            out.append(component)
        else:
            raise _fail("dcql_bad_path", f"{where} components must be strings, null or non-negative integers (§7)")
    return tuple(out)


def _parse_values(value: Any, where: str) -> tuple[ClaimValue, ...]:
    """§6.3 ``values``: "A non-empty array of strings, integers or boolean values"."""
    items = _array(value, where, MAX_VALUES)
    for item in items:
        if isinstance(item, str):
            if len(item) > MAX_STRING:
                raise _fail("dcql_too_large", f"{where} entries must be at most {MAX_STRING} characters")
        elif not isinstance(item, (int, bool)) or (isinstance(item, int) and not -(2**63) <= item < 2**64):
            raise _fail("dcql_bad_values", f"{where} entries must be strings, integers or booleans (§6.3)")
    return tuple(items)


def _parse_claims(
    value: Any, where: str, fmt: str, ids_required: bool, ignore_duplicates: bool
) -> tuple[ClaimsQuery, ...]:
    items = _array(value, where, MAX_CLAIMS)
    claims: list[ClaimsQuery] = []
    seen_ids: set[str] = set()
    seen_paths: set[ClaimPath] = set()
    for i, raw in enumerate(items):
        here = f"{where}[{i}]"
        obj = _object(raw, here)
        if "path" not in obj:
            raise _fail("dcql_bad_path", f"{here}.path is REQUIRED (§6.3)")
        path = parse_claims_path(obj["path"], f"{here}.path")
        if fmt == FORMAT_MDOC and (len(path) != 2 or not all(isinstance(p, str) for p in path)):
            # §7.2 step 1: "If the claims path pointer does not contain exactly two components or one of the
            # components is not a string then abort processing and return an error."
            raise _fail("dcql_bad_path", f"{here}.path of an mdoc claim is [namespace, data element] (§7.2)")
        claim_id = None
        if "id" in obj:
            claim_id = _identifier(obj["id"], f"{here}.id")
            if claim_id in seen_ids:
                # §6.3: "Within the particular claims array, the same id MUST NOT be present more than once."
                raise _fail("dcql_duplicate_claim_id", f"claim id {claim_id!r} appears twice in {where}")
            seen_ids.add(claim_id)
        elif ids_required:
            # §6.3 id: "REQUIRED if claim_sets is present in the Credential Query"
            raise _fail("dcql_missing_claim_id", f"{here}.id is REQUIRED when claim_sets is present (§6.3)")
        values = _parse_values(obj["values"], f"{here}.values") if "values" in obj else None
        retain = None
        if "intent_to_retain" in obj:
            retain = _boolean(obj, "intent_to_retain", False, here)
        if path in seen_paths:
            if ignore_duplicates and claim_id is None:
                continue
            if not ignore_duplicates:
                raise _fail("dcql_duplicate_claim", f"{here} points to a claim already requested (§6.1)")
        seen_paths.add(path)
        claims.append(ClaimsQuery(path=path, id=claim_id, values=values, intent_to_retain=retain))
    return tuple(claims)


def _parse_meta(value: Any, where: str, fmt: str) -> dict[str, Any]:
    meta = _object(value, where)
    if fmt == FORMAT_SD_JWT_VC:
        # §B.3.5 vct_values: "REQUIRED. A non-empty array of strings"
        if "vct_values" not in meta:
            raise _fail("dcql_bad_meta", f"{where}.vct_values is REQUIRED for {fmt} (§B.3.5)")
        for i, vct in enumerate(_array(meta["vct_values"], f"{where}.vct_values", MAX_VALUES)):
            _string(vct, f"{where}.vct_values[{i}]")
    elif fmt == FORMAT_MDOC:
        # §B.2.3 doctype_value: "REQUIRED. String"
        if "doctype_value" not in meta:
            raise _fail("dcql_bad_meta", f"{where}.doctype_value is REQUIRED for {fmt} (§B.2.3)")
        _string(meta["doctype_value"], f"{where}.doctype_value")
    elif fmt in _W3C_FORMATS:
        # §B.1.1 type_values: "REQUIRED. A non-empty array of string arrays"
        if "type_values" not in meta:
            raise _fail("dcql_bad_meta", f"{where}.type_values is REQUIRED for {fmt} (§B.1.1)")
        for i, inner in enumerate(_array(meta["type_values"], f"{where}.type_values", MAX_VALUES)):
            for j, name in enumerate(_array(inner, f"{where}.type_values[{i}]", MAX_VALUES)):
                _string(name, f"{where}.type_values[{i}][{j}]")
    return meta


def _parse_trusted_authorities(value: Any, where: str) -> tuple[TrustedAuthoritiesQuery, ...]:
    out = []
    for i, raw in enumerate(_array(value, where, MAX_TRUSTED_AUTHORITIES)):
        here = f"{where}[{i}]"
        obj = _object(raw, here)
        if "type" not in obj or "values" not in obj:
            raise _fail("dcql_bad_trusted_authorities", f"{here} needs 'type' and 'values' (§6.1.1)")
        kind = _string(obj["type"], f"{here}.type")
        values = tuple(_string(v, f"{here}.values[{j}]") for j, v in enumerate(_array(obj["values"], here, 64)))
        if kind == TRUSTED_AUTHORITY_AKI:
            for v in values:
                try:
                    b64url_decode(v)
                except EncodingError:
                    raise _fail(
                        "dcql_bad_trusted_authorities", f"{here}: an 'aki' value is base64url (§6.1.1.1)"
                    ) from None
        elif kind == TRUSTED_AUTHORITY_CHAIN:
            for v in values:
                if not _CAIP10.fullmatch(v):
                    raise _fail(
                        "dcql_bad_trusted_authorities",
                        f"{here}: a {TRUSTED_AUTHORITY_CHAIN} value is eip155:<chain id>:<registry address>",
                    )
        out.append(TrustedAuthoritiesQuery(kind, values))
    return tuple(out)


def _parse_credential_query(raw: Any, where: str, ignore_duplicates: bool) -> CredentialQuery:
    obj = _object(raw, where)
    for name in ("id", "format", "meta"):
        if name not in obj:
            raise _fail("dcql_malformed", f"{where}.{name} is REQUIRED (§6.1)")
    query_id = _identifier(obj["id"], f"{where}.id")
    fmt = _string(obj["format"], f"{where}.format")
    meta = _parse_meta(obj["meta"], f"{where}.meta", fmt)
    multiple = _boolean(obj, "multiple", False, where)
    binding = _boolean(obj, "require_cryptographic_holder_binding", True, where)
    authorities = None
    if "trusted_authorities" in obj:
        authorities = _parse_trusted_authorities(obj["trusted_authorities"], f"{where}.trusted_authorities")
    claim_sets_raw = obj.get("claim_sets")
    if "claim_sets" in obj and "claims" not in obj:
        # §6.4.1: "claim_sets MUST NOT be present if claims is absent."
        raise _fail("dcql_claim_sets_without_claims", f"{where}.claim_sets needs claims (§6.4.1)")
    claims = None
    if "claims" in obj:
        claims = _parse_claims(obj["claims"], f"{where}.claims", fmt, "claim_sets" in obj, ignore_duplicates)
    claim_sets = None
    if "claim_sets" in obj:
        known = {claim.id for claim in claims or ()}
        sets = []
        for i, claim_set in enumerate(_array(claim_sets_raw, f"{where}.claim_sets", MAX_CLAIM_SETS)):
            members = _array(claim_set, f"{where}.claim_sets[{i}]", MAX_CLAIMS)
            ids = tuple(_identifier(m, f"{where}.claim_sets[{i}]") for m in members)
            for claim_id in ids:
                if claim_id not in known:
                    raise _fail("dcql_unknown_claim_id", f"{where}.claim_sets[{i}] names no claim with id {claim_id!r}")
            if len(set(ids)) != len(ids):
                raise _fail("dcql_duplicate_claim_id", f"{where}.claim_sets[{i}] names a claim twice")
            sets.append(ids)
        claim_sets = tuple(sets)
    return CredentialQuery(
        id=query_id,
        format=fmt,
        meta=meta,
        multiple=multiple,
        claims=claims,
        claim_sets=claim_sets,
        trusted_authorities=authorities,
        require_cryptographic_holder_binding=binding,
    )


def _parse_query(obj: Any, ignore_duplicates: bool) -> DcqlQuery:
    top = _object(obj, "dcql_query")
    if "credentials" not in top:
        raise _fail("dcql_malformed", "dcql_query.credentials is REQUIRED (§6)")
    credentials = []
    ids: set[str] = set()
    for i, raw in enumerate(_array(top["credentials"], "credentials", MAX_CREDENTIAL_QUERIES)):
        query = _parse_credential_query(raw, f"credentials[{i}]", ignore_duplicates)
        if query.id in ids:
            # §6.1 id: "Within the Authorization Request, the same id MUST NOT be present more than once."
            raise _fail("dcql_duplicate_credential_id", f"credential query id {query.id!r} appears twice")
        ids.add(query.id)
        credentials.append(query)
    credential_sets = None
    if "credential_sets" in top:
        sets = []
        for i, raw in enumerate(_array(top["credential_sets"], "credential_sets", MAX_CREDENTIAL_SETS)):
            here = f"credential_sets[{i}]"
            cs = _object(raw, here)
            if "options" not in cs:
                raise _fail("dcql_malformed", f"{here}.options is REQUIRED (§6.2)")
            options = []
            for j, option in enumerate(_array(cs["options"], f"{here}.options", MAX_OPTIONS)):
                members = tuple(
                    _identifier(m, f"{here}.options[{j}]")
                    for m in _array(option, f"{here}.options[{j}]", MAX_CREDENTIAL_QUERIES)
                )
                for member in members:
                    # §6.2 options: "non-empty array of identifiers which reference elements in credentials"
                    if member not in ids:
                        raise _fail(
                            "dcql_unknown_credential_id", f"{here}.options[{j}] names no credential query {member!r}"
                        )
                if len(set(members)) != len(members):
                    raise _fail("dcql_malformed", f"{here}.options[{j}] names a credential query twice")
                options.append(members)
            required = _boolean(cs, "required", True, here)
            sets.append(CredentialSetQuery(tuple(options), required, cs.get("purpose")))
        credential_sets = tuple(sets)
    return DcqlQuery(tuple(credentials), credential_sets, raw=top)


# --- claims path pointers (§7) ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SelectedClaim:
    """One element a claims path pointer selected: its concrete path (no ``None``) and its value."""

    path: ClaimPath
    value: Any


def select_claims(credential: Any, path: ClaimPath) -> tuple[SelectedClaim, ...]:
    """Process a claims path pointer against a JSON-based credential (§7.1 "Processing").

    Returns the selected elements; an empty tuple where §7.1 says "abort processing and return an error" (a
    component applied to the wrong kind of element, or an empty selection at the end) — for DCQL both mean the
    claim does not exist in the credential.
    """
    # 1. "Select the root element of the Credential, i.e., the top-level JSON object."
    if not isinstance(credential, dict):
        return ()
    selection: list[SelectedClaim] = [SelectedClaim((), credential)]
    # 2. "Process the query of the claims path pointer array from left to right"
    for component in path:
        nxt: list[SelectedClaim] = []
        if isinstance(component, str):
            # 2.1 "If any of the currently selected element(s) is not an object, abort processing and return an
            # error. If the key does not exist in any element currently selected, remove that element."
            for element in selection:
                if not isinstance(element.value, dict):
                    return ()
                if component in element.value:
                    nxt.append(SelectedClaim((*element.path, component), element.value[component]))
        elif component is None:
            # 2.2 "select all elements of the currently selected array(s). If any ... is not an array, abort"
            for element in selection:
                if not isinstance(element.value, list):
                    return ()
                nxt.extend(SelectedClaim((*element.path, i), v) for i, v in enumerate(element.value))
        elif isinstance(component, int) and not isinstance(component, bool) and component >= 0:
            # 2.3 "select the element at the respective index ... If the index does not exist in a selected array,
            # remove that array from the selection."
            for element in selection:
                if not isinstance(element.value, list):
                    return ()
                if component < len(element.value):
                    nxt.append(SelectedClaim((*element.path, component), element.value[component]))
        else:
            return ()  # 2.4 "If the component is anything else, abort processing and return an error."
        selection = nxt
    # 3. "If the set of elements currently selected is empty, abort processing and return an error."
    return tuple(selection)


def values_match(value: Any, values: Sequence[ClaimValue]) -> bool:
    """§6.3: "the type and value of the claim both match exactly for at least one of the elements" — a boolean
    never equals an integer (``true`` is not ``1``), a string never a number."""
    for expected in values:
        if isinstance(expected, bool) or isinstance(value, bool):
            if isinstance(expected, bool) and isinstance(value, bool) and expected is value:
                return True
        elif type(expected) is type(value) and expected == value:
            return True
    return False


def _select_for_query(credential: Any, claim: ClaimsQuery) -> tuple[SelectedClaim, ...]:
    """The claim's selection with its ``values`` restriction applied: §6.4.1 "the Wallet SHOULD NOT return the claim
    if its value does not match ... the claim should be treated the same as if it did not exist"."""
    selected = select_claims(credential, claim.path)
    if claim.values is None:
        return selected
    values = claim.values
    return tuple(s for s in selected if values_match(s.value, values))


def claim_path_covers(requested: ClaimPath, disclosed: ClaimPath) -> bool:
    """Whether disclosing the claim at ``disclosed`` is needed for (an ancestor of) or part of (a descendant of)
    the claim ``requested`` points to; ``None`` in ``requested`` stands for any array index."""
    for want, have in zip(requested, disclosed, strict=False):
        if want is None:
            if not isinstance(have, int):
                return False
        elif want != have:
            return False
    return True


class _Whole:
    """A selected value in :func:`project_claims`' tree (kept whole: what is below it is selected too)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def project_claims(credential: Mapping[str, Any], paths: Iterable[ClaimPath]) -> dict[str, Any]:
    """The part of ``credential`` the claims path pointers select, as a nested object: arrays keep the selected
    elements in their order (compacted), objects the selected members. A selected object or array is kept whole,
    whatever else selects parts of it."""
    tree: dict[Any, Any] = {}
    for path in paths:
        for selected in select_claims(credential, path):
            node: Any = tree
            for component in selected.path[:-1]:
                node = node.setdefault(component, {})
                if isinstance(node, _Whole):
                    break  # an ancestor is already selected whole
            else:
                node[selected.path[-1]] = _Whole(selected.value)

    def build(node: Any) -> Any:
        if isinstance(node, _Whole):
            return node.value
        if node and all(isinstance(k, int) for k in node):
            return [build(node[k]) for k in sorted(node)]
        return {k: build(v) for k, v in node.items()}

    result = build(tree)
    return result if isinstance(result, dict) else {}


# --- describing credentials -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialDescription:
    """What DCQL needs to know of one credential, whichever format.

    - ``claims``: the claims as a JSON object. For a held SD-JWT VC, every claim the holder could disclose (the
      processed payload with all Disclosures); for a received presentation, what was disclosed.
    - ``vct`` / ``doctype`` / ``types``: the type (SD-JWT VC, mdoc, W3C expanded types).
    - ``holder_binding``: the wallet can prove (held: the credential has ``cnf``) / proved (received: a verified
      Key Binding JWT) possession of the holder key.
    - ``x5c``: the issuer's certificate chain as in the credential (for ``aki``).
    - ``issuer``: the issuer's identifier (``iss``); ``issuer_keys``: identifiers of the issuer for registries (its
      DID, ``sha256:<hex>`` of its certificate key) — for the caller's trusted-authority matchers.
    - ``disclosed``: received presentations only — the claim paths of the selectively disclosable claims that were
      disclosed (``None`` for a held credential).
    - ``credential_id``: identifies the underlying credential (e.g. a digest of the Issuer-signed JWT), so the
      Verifier knows when several Credential Queries were answered with the same credential (§6.4).
    - ``handle``: the caller's own reference (wallet credential id, verifier-side presentation object).
    """

    format: str
    claims: Mapping[str, Any]
    vct: str | None = None
    doctype: str | None = None
    types: tuple[str, ...] = ()
    holder_binding: bool = True
    x5c: tuple[str, ...] = ()
    issuer: str | None = None
    issuer_keys: tuple[str, ...] = ()
    disclosed: tuple[ClaimPath, ...] | None = None
    credential_id: str | None = None
    handle: Any = field(default=None, compare=False)


def describe_sd_jwt(held: HeldSdJwt, *, handle: Any = None, issuer_keys: Sequence[str] = ()) -> CredentialDescription:
    """A held SD-JWT VC as the wallet evaluates it: all its claims, ``cnf`` as the holder binding capability."""
    payload = held.payload
    x5c = held.header.get("x5c")
    vct = payload.get("vct")
    iss = payload.get("iss")
    return CredentialDescription(
        format=FORMAT_SD_JWT_VC,
        claims=held.claims,
        vct=vct if isinstance(vct, str) else None,
        holder_binding=held.holder_jwk is not None,
        x5c=tuple(x for x in x5c if isinstance(x, str)) if isinstance(x5c, list) else (),
        issuer=iss if isinstance(iss, str) else None,
        issuer_keys=tuple(issuer_keys),
        credential_id=held.parts.issuer_jwt,
        handle=handle,
    )


def describe_verified_sd_jwt(
    verified: VerifiedSdJwt, *, handle: Any = None, issuer_keys: Sequence[str] = ()
) -> CredentialDescription:
    """A verified SD-JWT VC presentation as the Verifier checks it against the query."""
    x5c = verified.header.get("x5c")
    vct = verified.signed_payload.get("vct")
    iss = verified.signed_payload.get("iss")
    return CredentialDescription(
        format=FORMAT_SD_JWT_VC,
        claims=verified.claims,
        vct=vct if isinstance(vct, str) else None,
        holder_binding=verified.key_binding is not None,
        x5c=tuple(x for x in x5c if isinstance(x, str)) if isinstance(x5c, list) else (),
        issuer=iss if isinstance(iss, str) else None,
        issuer_keys=tuple(issuer_keys),
        disclosed=tuple(claim.path for claim in verified.disclosed),
        # one credential answering two Credential Queries has one signed payload (its digests are salted: unique)
        credential_id=hashlib.sha256(
            json.dumps(verified.signed_payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
        ).hexdigest(),
        handle=handle,
    )


# --- matching one credential to one Credential Query ---------------------------------------------------------------

#: ``(trusted authorities query type, one value, credential) -> matches`` for types other than ``aki``.
AuthorityMatcher = Callable[[str, str, CredentialDescription], bool]


def _authority_key_ids(x5c: Sequence[str]) -> set[bytes]:
    from cryptography import x509

    from ssi.errors import CertificateError
    from ssi.x509 import parse_x5c

    try:
        certificates = parse_x5c(list(x5c))
    except CertificateError:
        return set()
    out = set()
    for certificate in certificates:
        try:
            aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        if aki.key_identifier is not None:
            out.add(aki.key_identifier)
    return out


def _matches_authority(
    authority: TrustedAuthoritiesQuery,
    credential: CredentialDescription,
    matchers: Mapping[str, AuthorityMatcher],
) -> bool:
    if authority.type == TRUSTED_AUTHORITY_AKI:
        # §6.1.1.1: "The raw byte representation of this element MUST match with the AuthorityKeyIdentifier element
        # of an X.509 certificate in the certificate chain present in the Credential"
        ids = _authority_key_ids(credential.x5c)
        return any(b64url_decode(value) in ids for value in authority.values)
    matcher = matchers.get(authority.type)
    if matcher is None:
        return False
    return any(matcher(authority.type, value, credential) for value in authority.values)


def _mismatch(
    query: CredentialQuery, credential: CredentialDescription, matchers: Mapping[str, AuthorityMatcher]
) -> tuple[str, str] | None:
    """Why ``credential`` cannot answer ``query`` apart from its claims (reason, description), or ``None``."""
    if credential.format != query.format:
        return "dcql_format_mismatch", f"credential query {query.id!r} asks for format {query.format!r}"
    if query.format == FORMAT_SD_JWT_VC:
        if credential.vct not in (query.vct_values or ()):
            return "dcql_type_mismatch", f"credential query {query.id!r} asks for other credential types (vct)"
    elif query.format == FORMAT_MDOC:
        if credential.doctype != query.doctype_value:
            return "dcql_type_mismatch", f"credential query {query.id!r} asks for another doctype"
    elif query.format in _W3C_FORMATS:
        types = set(credential.types)
        if not any(set(alternative) <= types for alternative in query.type_values or ()):
            return "dcql_type_mismatch", f"credential query {query.id!r} asks for other credential types"
    if query.require_cryptographic_holder_binding and not credential.holder_binding:
        # §6.1 require_cryptographic_holder_binding: default true; B.3: SD-JWTs without cnf "cannot be returned"
        return "dcql_holder_binding_missing", f"credential query {query.id!r} requires cryptographic holder binding"
    if query.trusted_authorities is not None and not any(
        _matches_authority(authority, credential, matchers) for authority in query.trusted_authorities
    ):
        return (
            "dcql_trusted_authority_mismatch",
            f"the issuer is none of the trusted authorities credential query {query.id!r} names",
        )
    return None


# --- wallet side: evaluation (§6.4) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimOption:
    """One way a credential satisfies a Credential Query's claims: ``index`` of the claim set (0 without
    ``claim_sets``), the claims' ids, and the concrete claim paths to disclose (``values`` applied: with
    ``["nationalities", null]`` and ``values`` only the matching elements)."""

    index: int
    claim_ids: tuple[str | None, ...]
    paths: tuple[ClaimPath, ...]


@dataclass(frozen=True, slots=True)
class CredentialMatch:
    """A held credential that satisfies a Credential Query, with the claim options it can satisfy in the Verifier's
    order of preference (``options[0]`` is what the wallet SHOULD return, §6.4.1)."""

    query_id: str
    credential: CredentialDescription
    options: tuple[ClaimOption, ...]

    @property
    def preferred(self) -> ClaimOption:
        return self.options[0]


@dataclass(frozen=True, slots=True)
class Selection:
    """What the wallet presents: per Credential Query id, the chosen credentials and claim option for each."""

    presentations: Mapping[str, tuple[tuple[CredentialMatch, ClaimOption], ...]]

    @property
    def query_ids(self) -> frozenset[str]:
        return frozenset(self.presentations)


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`."""

    query: DcqlQuery
    matches: Mapping[str, tuple[CredentialMatch, ...]]
    #: For each Credential Set Query (same order), the indexes of its options whose credentials are all available.
    satisfiable_options: tuple[tuple[int, ...], ...]
    satisfiable: bool
    #: Credential Query ids the wallet may leave out: those only in optional Credential Set Queries.
    optional_ids: frozenset[str]

    def default_selection(self, *, include_optional: bool = True) -> Selection:
        """The Verifier's preferences: per Credential Set Query the first satisfiable option (optional sets only
        with ``include_optional``), per Credential Query the first matching credential and its first claim option.
        Raises ``DcqlError`` (``dcql_unsatisfiable``) when the query cannot be satisfied (§6.4.2: "If the Wallet
        cannot deliver all non-optional Credentials ... it MUST NOT return any Credential(s)")."""
        if not self.satisfiable:
            raise DcqlError("the wallet holds no credentials that satisfy the query", reason="dcql_unsatisfiable")
        chosen: list[str] = []
        if self.query.credential_sets is None:
            chosen = list(self.query.ids)
        else:
            for cs, satisfiable in zip(self.query.credential_sets, self.satisfiable_options, strict=True):
                if satisfiable and (cs.required or include_optional):
                    chosen.extend(i for i in cs.options[satisfiable[0]] if i not in chosen)
        return self.select({query_id: (0,) for query_id in chosen})

    def select(
        self, choice: Mapping[str, Sequence[int]], *, options: Mapping[tuple[str, int], int] | None = None
    ) -> Selection:
        """A user's choice: per Credential Query id the indexes into :attr:`matches` of the credentials to present
        (more than one only for ``multiple``), and optionally per ``(query id, match index)`` the index into that
        match's :attr:`CredentialMatch.options`. Checked against the query like a Verifier would."""
        presentations: dict[str, tuple[tuple[CredentialMatch, ClaimOption], ...]] = {}
        for query_id, indexes in choice.items():
            matches = self.matches.get(query_id, ())
            query = self.query.credential(query_id)
            if not indexes:
                raise DcqlError(f"no credential chosen for {query_id!r}", reason="dcql_bad_selection")
            if len(indexes) > 1 and not query.multiple:
                raise DcqlError(f"credential query {query_id!r} takes one credential", reason="dcql_bad_selection")
            picked = []
            for index in indexes:
                if not 0 <= index < len(matches):
                    raise DcqlError(f"no credential {index} matches {query_id!r}", reason="dcql_bad_selection")
                match = matches[index]
                option_index = (options or {}).get((query_id, index), 0)
                if not 0 <= option_index < len(match.options):
                    raise DcqlError(f"no claim option {option_index} for {query_id!r}", reason="dcql_bad_selection")
                picked.append((match, match.options[option_index]))
            presentations[query_id] = tuple(picked)
        _check_credential_sets(self.query, set(presentations))
        return Selection(presentations)


def _claim_options(query: CredentialQuery, claims: Mapping[str, Any]) -> tuple[ClaimOption, ...]:
    out = []
    for index, option in enumerate(query.claim_options()):
        paths: list[ClaimPath] = []
        for claim in option:
            selected = _select_for_query(claims, claim)
            if not selected:
                break
            paths.extend(s.path for s in selected if s.path not in paths)
        else:
            out.append(ClaimOption(index, tuple(claim.id for claim in option), tuple(paths)))
    return tuple(out)


def evaluate(
    query: DcqlQuery,
    credentials: Iterable[CredentialDescription],
    *,
    authorities: Mapping[str, AuthorityMatcher] | None = None,
) -> Evaluation:
    """The wallet's evaluation of ``query`` over the credentials it holds (§6.4).

    §6.4.2: "Credentials not matching the respective constraints expressed within credentials MUST NOT be
    returned, i.e., they are treated as if they would not exist in the Wallet" — a credential lacking a requested
    claim (or whose path cannot be processed) is skipped, never an error for the whole request.
    """
    held = list(credentials)
    matchers = authorities or {}
    matches: dict[str, tuple[CredentialMatch, ...]] = {}
    for cq in query.credentials:
        found = []
        for credential in held:
            if _mismatch(cq, credential, matchers) is not None:
                continue
            options = _claim_options(cq, credential.claims)
            if options:  # §6.4.1 "If the Wallet cannot deliver all claims ... it MUST NOT return the Credential."
                found.append(CredentialMatch(cq.id, credential, options))
        matches[cq.id] = tuple(found)
    available = {query_id for query_id, found in matches.items() if found}
    if query.credential_sets is None:
        return Evaluation(query, matches, (), available == set(query.ids), frozenset())
    satisfiable_options = tuple(
        tuple(i for i, option in enumerate(cs.options) if set(option) <= available) for cs in query.credential_sets
    )
    satisfiable = all(
        options or not cs.required for cs, options in zip(query.credential_sets, satisfiable_options, strict=True)
    )
    in_required = {i for cs in query.credential_sets if cs.required for option in cs.options for i in option}
    optional = frozenset(i for cs in query.credential_sets for option in cs.options for i in option) - in_required
    return Evaluation(query, matches, satisfiable_options, satisfiable, optional)


# --- verifier side: checking a response (§8.6 step 2.2 and 3) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedPresentation:
    """A presentation that satisfies its Credential Query: the claim option it satisfies and the claims the query
    asked for (:func:`project_claims` over that option's paths)."""

    query_id: str
    credential: CredentialDescription
    option: ClaimOption
    claims: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CheckedResponse:
    presentations: Mapping[str, tuple[CheckedPresentation, ...]]


def _check_credential_sets(query: DcqlQuery, returned: set[str]) -> None:
    """§6.4.2 Selecting Credentials, as the Verifier checks it."""
    if query.credential_sets is None:
        # "If credential_sets is not provided, the Verifier requests presentations for all Credentials"
        missing = sorted(set(query.ids) - returned)
        if missing:
            raise DcqlError(f"no presentation for credential query {missing[0]!r}", reason="dcql_credential_missing")
        return
    for i, cs in enumerate(query.credential_sets):
        if cs.required and not any(set(option) <= returned for option in cs.options):
            # "satisfying all of the Credential Set Queries in the credential_sets array where the required
            # attribute is true or omitted"
            raise DcqlError(
                f"required credential set {i} is not satisfied by the presentations", reason="dcql_credential_missing"
            )
    referenced = {i for cs in query.credential_sets for option in cs.options for i in option}
    extra = sorted(returned - referenced)
    if extra:
        raise DcqlError(
            f"credential query {extra[0]!r} is in no credential set, so it was not requested",
            reason="dcql_unrequested_credential",
        )


def _satisfied_options(query: CredentialQuery, credential: CredentialDescription) -> tuple[ClaimOption, ...]:
    return _claim_options(query, credential.claims)


def _claim_failure(query: CredentialQuery, credential: CredentialDescription) -> DcqlError:
    """The most specific reason no claim option is satisfied: a requested claim is absent, or present with a value
    other than the requested ones."""
    for option in query.claim_options():
        for claim in option:
            if not select_claims(credential.claims, claim.path):
                return DcqlError(
                    f"credential query {query.id!r}: the presentation lacks a requested claim",
                    reason="dcql_claim_missing",
                )
    return DcqlError(
        f"credential query {query.id!r}: a claim does not have any of the requested values",
        reason="dcql_claim_value_mismatch",
    )


def _smuggled(disclosed: Iterable[ClaimPath], allowed: Sequence[ClaimPath]) -> ClaimPath | None:
    for path in disclosed:
        if not any(claim_path_covers(requested, path) for requested in allowed):
            return path
    return None


def check_response(
    query: DcqlQuery,
    presented: Mapping[str, Sequence[CredentialDescription]],
    *,
    authorities: Mapping[str, AuthorityMatcher] | None = None,
) -> CheckedResponse:
    """Check that verified presentations, keyed by Credential Query id as in the VP Token (§8.1), satisfy ``query``.

    §8.6: the Verifier "MUST NOT rely on the Wallet to enforce these constraints" (§14.9) — it checks, in
    order: every key names a Credential Query; one presentation unless ``multiple`` (§8.1); format, type, holder
    binding and trusted authorities per presentation; a claim option satisfied in full, ``values`` included; no
    selectively disclosable claim disclosed beyond the satisfied option (claims of another Credential Query answered
    with the same credential count as requested, §6.4); the Credential Set Queries (§6.4.2).
    """
    matchers = authorities or {}
    known = set(query.ids)
    for query_id in presented:
        if query_id not in known:
            raise DcqlError(f"the VP Token answers an unknown credential query {query_id!r}", reason="dcql_unknown_id")
    per_query: dict[str, list[tuple[CredentialDescription, tuple[ClaimOption, ...]]]] = {}
    for query_id, items in presented.items():
        cq = query.credential(query_id)
        if not items:
            raise DcqlError(f"the VP Token has no presentation for {query_id!r}", reason="dcql_empty_presentations")
        if len(items) > 1 and not cq.multiple:
            # §8.1: "When multiple is omitted, or set to false, the array MUST contain only one Presentation."
            raise DcqlError(
                f"credential query {query_id!r} allows one presentation, got {len(items)}",
                reason="dcql_multiple_not_allowed",
            )
        checked = []
        for credential in items:
            mismatch = _mismatch(cq, credential, matchers)
            if mismatch is not None:
                raise DcqlError(mismatch[1], reason=mismatch[0])
            options = _satisfied_options(cq, credential)
            if not options:
                raise _claim_failure(cq, credential)
            checked.append((credential, options))
        per_query[query_id] = checked
    _check_credential_sets(query, set(presented))
    # Nothing smuggled: each disclosed selectively disclosable claim must be covered by the chosen option of its own
    # Credential Query, or of another Credential Query the same credential answered.
    by_credential: dict[str, list[tuple[str, int]]] = {}
    for query_id, checked in per_query.items():
        for index, (credential, _) in enumerate(checked):
            if credential.credential_id is not None:
                by_credential.setdefault(credential.credential_id, []).append((query_id, index))
    result: dict[str, tuple[CheckedPresentation, ...]] = {}
    for query_id, checked in per_query.items():
        out = []
        for index, (credential, options) in enumerate(checked):
            extra: list[ClaimPath] = []
            for other, j in by_credential.get(credential.credential_id or "", []):
                if (other, j) != (query_id, index):
                    other_query = query.credential(other)
                    for sibling_option in per_query[other][j][1]:
                        extra.extend(_option_query_paths(other_query, sibling_option))
            chosen = None
            for option in options:
                allowed = [*_option_query_paths(query.credential(query_id), option), *extra]
                if credential.disclosed is None or _smuggled(credential.disclosed, allowed) is None:
                    chosen = option
                    break
            if chosen is None:
                raise DcqlError(
                    f"credential query {query_id!r}: the presentation discloses a claim the query did not ask for",
                    reason="dcql_claim_not_requested",
                )
            claims = project_claims(credential.claims, _option_query_paths(query.credential(query_id), chosen))
            out.append(CheckedPresentation(query_id, credential, chosen, claims))
        result[query_id] = tuple(out)
    return CheckedResponse(result)


def _option_query_paths(query: CredentialQuery, option: ClaimOption) -> list[ClaimPath]:
    """The claims path pointers (as requested, wildcards kept) of a satisfied claim option."""
    claims = query.claim_options()[option.index]
    return [claim.path for claim in claims]
