"""The ``ldp_vc`` Credential Format with the ``bbs-2023`` cryptosuite, as OpenID4VCI 1.0 and OpenID4VP 1.0 use it.

- **Format** (OpenID4VCI 1.0 Appendix A.1.2 "VC Secured using Data Integrity, using JSON-LD": "The Credential Format
  Identifier is ``ldp_vc``"; A.1.2.4: "The value of the ``credential`` claim in the Credential Response MUST be a
  JSON object"). The credential is a W3C VCDM 2.0 credential with a ``bbs-2023`` base proof
  (:mod:`ssi.data_integrity`).
- **DCQL** (OpenID4VP 1.0 B.1): :func:`describe_held` / :func:`describe_presented` give the format-neutral
  :class:`ssi.dcql.CredentialDescription`. Claims path pointers apply to the credential itself (B.1.2: "the
  ``claims_path`` parameter always matches on the root of Verifiable Credential"); types are the *expanded* type IRIs
  (B.1.1 ``type_values``). Baseline bbs-2023 has no holder binding, so ``holder_binding`` is false: such credentials
  answer only Credential Queries with ``require_cryptographic_holder_binding: false`` (§6.1), and B.1: "Otherwise, a
  Verifiable Credential without Holder Binding MUST be returned" — the derived credential itself is the presentation.
- **Binding to the request**: the holder derives a fresh proof for every presentation whose BBS presentation header
  is :func:`presentation_binding` of the request's ``nonce`` and the Verifier's Client Identifier (the
  ``{"aud", "nonce"}`` of :func:`ssi.data_integrity.presentation_header`) — §14.2.2's "bound ... to the intended
  audience (the Client Identifier of the Verifier) and the respective transaction (identified by the ``nonce``)".
  This stops replay, not credential sharing (docs/privacy.md).
- **Selective disclosure**: :func:`selective_pointers` turns the claims path pointers of the chosen claim option into
  the JSON Pointers (RFC 6901) of vc-di-bbs's selective pointers — the holder reveals exactly those claims plus the
  issuer's mandatory ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ssi.data_integrity import VerifiedDocument, expanded_types, presentation_header
from ssi.dcql import FORMAT_LDP_VC, CredentialDescription
from ssi.errors import DataIntegrityError
from ssi.sd_jwt import ClaimPath

__all__ = [
    "CRYPTOSUITE",
    "FORMAT",
    "SUBJECT",
    "VC_TYPE_IRI",
    "claim_path_pointer",
    "credential_type_iri",
    "describe_held",
    "describe_presented",
    "issuer_of",
    "presentation_binding",
    "selective_pointers",
    "subject_claim_paths",
]

FORMAT: Final = FORMAT_LDP_VC
CRYPTOSUITE: Final = "bbs-2023"
SUBJECT: Final = "credentialSubject"
#: The expanded IRI of ``VerifiableCredential`` under the VCDM 2.0 context.
VC_TYPE_IRI: Final = "https://www.w3.org/2018/credentials#VerifiableCredential"


def claim_path_pointer(path: ClaimPath) -> str:
    """A concrete claims path pointer (OpenID4VP 1.0 §7: strings and non-negative integers; no ``null`` wildcard,
    which the wallet resolves to concrete paths first) as an RFC 6901 JSON Pointer: ``~`` → ``~0``, ``/`` → ``~1``."""
    if not path:
        raise DataIntegrityError("a claims path pointer is non-empty", reason="invalid_pointer")
    parts = []
    for part in path:
        if isinstance(part, str):
            parts.append(part.replace("~", "~0").replace("/", "~1"))
        elif isinstance(part, int) and not isinstance(part, bool) and part >= 0:
            parts.append(str(part))
        else:
            raise DataIntegrityError("only concrete claims paths become JSON pointers", reason="invalid_pointer")
    return "/" + "/".join(parts)


def selective_pointers(paths: Iterable[ClaimPath]) -> list[str]:
    """The selective pointers for the claims a claim option discloses (duplicates dropped, order kept). Pointers into
    ``proof`` are refused: the proof is never a claim."""
    out: list[str] = []
    for path in paths:
        if path and path[0] == "proof":
            raise DataIntegrityError("the proof is not a claim", reason="invalid_pointer")
        pointer = claim_path_pointer(path)
        if pointer not in out:
            out.append(pointer)
    return out


def presentation_binding(*, nonce: str, client_id: str) -> bytes:
    """The BBS presentation header of a presentation for this request: ``nonce`` and the full Client Identifier
    (§14.8 "Always Use the Full Client Identifier") as ``aud``."""
    return presentation_header(nonce=nonce, audience=client_id)


def issuer_of(document: Mapping[str, Any]) -> str | None:
    """VCDM 2.0 §4.7: ``issuer`` is a URL or an object whose ``id`` is one."""
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def credential_type_iri(types: Sequence[str]) -> str | None:
    """The one specific type of a credential (its expanded types without ``VerifiableCredential``) — what the
    trusted-issuer registry accredits issuers for. ``None`` unless there is exactly one."""
    specific = [t for t in types if t != VC_TYPE_IRI]
    return specific[0] if len(specific) == 1 else None


def subject_claim_paths(document: Mapping[str, Any]) -> tuple[ClaimPath, ...]:
    """The leaf claims under ``credentialSubject`` (objects are walked, arrays by index; ``id`` and ``type`` of a
    subject node are identifiers, not claims, and are listed too so that revealing them counts as disclosure)."""
    out: list[ClaimPath] = []

    def walk(value: Any, prefix: ClaimPath) -> None:
        if isinstance(value, Mapping) and value:
            for key, item in value.items():
                walk(item, (*prefix, key))
        elif isinstance(value, list) and value:
            for index, item in enumerate(value):
                walk(item, (*prefix, index))
        else:
            out.append(prefix)

    subject = document.get(SUBJECT)
    if subject is not None:
        walk(subject, (SUBJECT,))
    return tuple(out)


def describe_held(secured: Mapping[str, Any], *, handle: Any = None) -> CredentialDescription:
    """A held bbs-2023 credential as the wallet evaluates it (§6.4): every claim it could disclose (the credential
    without its proof), its expanded types, no holder binding."""
    claims = {k: v for k, v in secured.items() if k != "proof"}
    issuer = issuer_of(secured)
    return CredentialDescription(
        format=FORMAT,
        claims=claims,
        types=expanded_types(secured),
        holder_binding=False,
        issuer=issuer,
        issuer_keys=(issuer,) if issuer else (),
        handle=handle,
    )


def describe_presented(
    verified: VerifiedDocument, *, issuer_keys: Sequence[str] = (), handle: Any = None
) -> CredentialDescription:
    """A verified derived credential as the Verifier checks it against the query (§8.6): the revealed document; the
    disclosed claims are the revealed leaves under ``credentialSubject`` (govssi's issuers make only ``issuer`` and
    validity mandatory, so every subject claim in a presentation was selected by the holder). There is no credential
    id: an unlinkable presentation shows nothing that would tell two presentations of one credential apart from
    presentations of two."""
    document = verified.document
    issuer = issuer_of(document)
    return CredentialDescription(
        format=FORMAT,
        claims=document,
        types=expanded_types(document),
        holder_binding=False,
        issuer=issuer,
        issuer_keys=tuple(issuer_keys),
        disclosed=subject_claim_paths(document),
        handle=handle,
    )
