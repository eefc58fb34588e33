"""The wallet's side of ``ldp_vc`` credentials secured with ``bbs-2023`` (issue 14): receiving, holding, presenting.

- **Receiving** (:func:`check_ldp_vc_credentials`, OpenID4VCI 1.0 A.1.2.4: the credential "MUST be a JSON object"):
  a VCDM 2.0 credential (§4, validity period now) of the configuration's type, whose base proof verifies
  (``ssi.data_integrity.verify_base_proof``: the signature over the non-mandatory statements, the header over the
  mandatory ones) with the key its ``verificationMethod`` names. The key: with a DID resolver (the chain) from the
  issuer's DID document; without one, the key in the base proof, accepted only when the verification method
  belongs to the DID the credential issuer's metadata names (govssi's ``did`` member, fetched over HTTPS from the
  issuer the wallet is talking to) or is a self-certifying ``did:key`` — a verifier checks the key on the chain
  anyway.
- **Holding**: stored like SD-JWT VCs (the credential as JSON text in one instance) but never marked used: nothing in
  it is shown to a verifier as such, so one credential serves every presentation.
- **Presenting** (:func:`describe_stored`, :func:`present_ldp_vc`): a **fresh derived proof per presentation**
  disclosing only the claims of the chosen DCQL claim option (``ssi.ldp_vc.selective_pointers``) plus the issuer's
  mandatory ones, bound to the request by the BBS presentation header (``nonce`` and the full Client Identifier,
  OpenID4VP 1.0 §14.2.2, §14.8). B.1: without holder binding "a Verifiable Credential without Holder Binding MUST be
  returned" — the derived credential itself is the VP Token entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ssi.clock import Clock
from ssi.data_integrity import BaseProofValue, derive_proof, did_public_key_lookup, verify_base_proof
from ssi.dcql import CredentialDescription
from ssi.errors import CredentialError, SsiError
from ssi.ldp_vc import FORMAT, SUBJECT, describe_held, issuer_of, presentation_binding, selective_pointers
from ssi.sd_jwt import ClaimPath
from ssi.vc import check_credential, parse_datetime_stamp

if TYPE_CHECKING:
    from wallet_sim.wallet import StoredCredential, Wallet

__all__ = ["CheckedLdpVc", "check_ldp_vc_credentials", "describe_stored", "held_document", "present_ldp_vc"]


@dataclass(frozen=True)
class CheckedLdpVc:
    """A received bbs-2023 credential that passed the checks, shaped like ``CheckedCredential`` for the wallet's
    accept/decline steps: ``compact`` is the credential as JSON text, no holder key."""

    document: dict[str, Any]
    type_iri: str | None

    @property
    def compact(self) -> str:
        return json.dumps(self.document, ensure_ascii=False, separators=(",", ":"))

    @property
    def key_id(self) -> None:
        return None

    @property
    def payload(self) -> dict[str, Any]:
        """What the store keeps next to the claims: the type (as ``vct``) and the validity period."""
        return {
            "vct": self.type_iri,
            "iat": _timestamp(self.document.get("validFrom"), "validFrom"),
            "exp": _timestamp(self.document.get("validUntil"), "validUntil"),
        }

    @property
    def claims(self) -> dict[str, Any]:
        subject = self.document.get(SUBJECT)
        return dict(subject) if isinstance(subject, Mapping) else {}


def _timestamp(value: Any, name: str) -> float | None:
    return None if value is None else parse_datetime_stamp(value, name).timestamp()


def _fixed(key: bytes) -> Callable[[str], bytes]:
    return lambda _method: key


def _refused(description: str, reason: str) -> CredentialError:
    return CredentialError(f"the issued credential: {description}", reason=reason)


def _key_lookup(issuer_did: str | None, resolve: Callable[[str], Any] | None) -> Callable[[Mapping[str, Any]], bytes]:
    def lookup(document: Mapping[str, Any]) -> bytes:
        method = str(document["proof"]["verificationMethod"])
        did = method.partition("#")[0]
        if resolve is not None or did.startswith("did:key:"):
            return did_public_key_lookup(resolve or (lambda _did: None))(method)
        if issuer_did is None or did != issuer_did:
            raise _refused("its key belongs to a DID the issuer's metadata does not name", "issuer_key_unknown")
        return BaseProofValue.parse(document["proof"].get("proofValue")).public_key

    return lookup


def check_ldp_vc_credentials(
    credentials: Sequence[Any],
    *,
    configuration: Mapping[str, Any],
    issuer_did: Any,
    clock: Clock,
    resolve: Callable[[str], Any] | None = None,
) -> list[CheckedLdpVc]:
    """Check the credentials of one ldp_vc Credential Response (module docstring); raises ``CredentialError``."""
    definition = configuration.get("credential_definition")
    expected_types = definition.get("type") if isinstance(definition, Mapping) else None
    lookup = _key_lookup(issuer_did if isinstance(issuer_did, str) else None, resolve)
    checked = []
    for document in credentials:
        if not isinstance(document, dict) or not isinstance(document.get("proof"), dict):
            raise _refused("an ldp_vc credential is a JSON object with a proof (A.1.2.4)", "bad_credential")
        try:
            check_credential(document, clock=clock)
            if isinstance(expected_types, list) and document.get("type") != expected_types:
                raise _refused("its type is not the offered configuration's", "wrong_type")
            if str(document["proof"].get("verificationMethod", "")).partition("#")[0] != issuer_of(document):
                raise _refused("its proof is not by its issuer's key", "issuer_key_mismatch")
            key = lookup(document)
            verify_base_proof(document, _fixed(key))
            description = describe_held(document)
        except CredentialError:
            raise
        except SsiError as exc:
            raise _refused(exc.description, exc.reason) from None
        specific = [t for t in description.types if not t.endswith("#VerifiableCredential")]
        checked.append(CheckedLdpVc(document, specific[0] if len(specific) == 1 else None))
    if not checked:
        raise _refused("the response carries no credential", "bad_credential")
    return checked


def held_document(wallet: Wallet, credential_id: str) -> dict[str, Any]:
    """The stored bbs-2023 credential (with its base proof)."""
    document = json.loads(wallet.compact(credential_id))
    if not isinstance(document, dict):
        raise CredentialError("the stored credential is not an ldp_vc", reason="bad_credential")
    return document


def describe_stored(wallet: Wallet, stored: StoredCredential) -> CredentialDescription:
    """A stored bbs-2023 credential for DCQL evaluation (``ssi.ldp_vc.describe_held``; ``handle`` its id)."""
    return describe_held(held_document(wallet, stored.id), handle=stored.id)


def present_ldp_vc(
    document: Mapping[str, Any], paths: Iterable[ClaimPath], *, nonce: str, client_id: str
) -> dict[str, Any]:
    """A fresh derived credential revealing ``paths`` (and the issuer's mandatory statements), bound to the request."""
    return derive_proof(
        document,
        selective_pointers=selective_pointers(paths),
        presentation_header=presentation_binding(nonce=nonce, client_id=client_id),
    )


def is_ldp_vc(stored: StoredCredential) -> bool:
    return stored.format == FORMAT
