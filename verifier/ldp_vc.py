"""Verifying ``ldp_vc`` presentations secured with ``bbs-2023`` (issue 14) in an OpenID4VP 1.0 VP Token.

Baseline bbs-2023 has no holder binding, so such credentials are requested with ``require_cryptographic_holder_binding:
false`` (§6.1; the request then carries a fresh ``state`` of at least 128 bits, §5.3 — :func:`check_request_state`),
and B.1: "a Verifiable Credential without Holder Binding MUST be returned" — each VP Token entry is a derived
credential. Per presentation (:meth:`LdpVcVerifier.verify`), in order:

1. The Credential Query waived holder binding; the presentation is a JSON object (§8.1).
2. **Bound to this request**: the derived proof's BBS presentation header is exactly
   ``{"aud": <our Client Identifier>, "nonce": <this request's nonce>}`` (``ssi.ldp_vc.presentation_binding``;
   §14.2.2: bound "to the intended audience (the Client Identifier of the Verifier) and the respective transaction
   (identified by the nonce)"). Otherwise the whole response is rejected ("If any Verifiable Presentation in the
   response does not contain the correct nonce value, the response MUST be rejected"). This stops **replay** of a
   captured presentation, here or at another verifier — not **credential sharing**: whoever holds the base credential
   can derive a presentation for any request (docs/privacy.md).
3. **The derived proof** (vc-di-bbs §3.4.7 via ``ssi.data_integrity.verify_derived_proof``) with the issuer's BBS key
   from its DID document (did:ethr on the chain: a ``Multikey`` of type bls12_381-g2-pub; vc-di-bbs §2.2.1), and the
   key's DID is the credential's ``issuer`` (VCDM 2.0 §4.7).
4. **The credential** (VCDM 2.0 §4, validity period §4.9 with the configured skew); a ``credentialStatus`` is refused
   (govssi's unlinkable credentials carry none: its index would link presentations; this verifier cannot check one).
5. **Accreditation**: the issuer DID accredited in the trusted-issuer registry for the credential's expanded type IRI
   (``ssi.ldp_vc.credential_type_iri``) at ``validFrom`` and now (``verifier.trust.IssuerTrust``, fail closed).

The checked presentation is then matched against the DCQL query with the others (``ssi.dcql.check_response``: no
claim disclosed that the query did not ask for).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final

from ssi.clock import Clock
from ssi.data_integrity import did_public_key_lookup, verify_derived_proof
from ssi.dcql import FORMAT_LDP_VC, CredentialQuery, DcqlQuery
from ssi.errors import (
    CredentialRefused,
    DataIntegrityError,
    DcqlError,
    KeyBindingError,
    SsiError,
    VerifiableCredentialError,
)
from ssi.ldp_vc import credential_type_iri, describe_presented, issuer_of, presentation_binding
from ssi.vc import check_credential, parse_datetime_stamp
from verifier.status import StatusOutcome
from verifier.trust import IssuerStanding, IssuerTrust, TrustUnavailable

__all__ = [
    "LDP_VC_VP_FORMATS",
    "MIN_STATE_BITS",
    "LdpVcVerifier",
    "check_ldp_vc_query",
    "check_request_state",
    "state_token",
]

#: §11.1 vp_formats_supported, B.1.3.2.3: ``proof_type_values`` / ``cryptosuite_values``.
LDP_VC_VP_FORMATS: Final = {"ldp_vc": {"proof_type_values": ["DataIntegrityProof"], "cryptosuite_values": ["bbs-2023"]}}
#: §5.3: "a cryptographically strong pseudo-random number with at least 128 bits of entropy".
MIN_STATE_BITS: Final = 128
_BASE64URL_BITS_PER_CHAR: Final = 6


def state_token(nbytes: int = 24) -> str:
    """A fresh ``state`` (base64url of ``nbytes`` random octets; 24 octets = 192 bits)."""
    return secrets.token_urlsafe(nbytes)


def check_request_state(query: DcqlQuery, state: str | None) -> None:
    """§5.3: "if at least one Presentation without Holder Binding is requested", the Verifier MUST include a
    ``state`` "with at least 128 bits of entropy", "chosen fresh for each Authorization Request" (the caller draws it
    from the CSPRNG for every request). Checks the length the token's alphabet (base64url, 6 bits per character) needs
    for that; raises ``ValueError`` — a configuration error of the verifier, never the wallet's fault."""
    if all(c.require_cryptographic_holder_binding for c in query.credentials):
        return
    if state is None or len(state) * _BASE64URL_BITS_PER_CHAR < MIN_STATE_BITS:
        raise ValueError("a request without holder binding needs a state of at least 128 random bits (§5.3)")


def check_ldp_vc_query(query: CredentialQuery) -> None:
    """An ``ldp_vc`` Credential Query this verifier can satisfy: bbs-2023 baseline has no holder binding (§6.1: the
    default ``true`` would make the query unsatisfiable)."""
    if query.format == FORMAT_LDP_VC and query.require_cryptographic_holder_binding:
        raise DcqlError(
            f"credential query {query.id!r}: ldp_vc (bbs-2023) has no holder binding; set "
            "require_cryptographic_holder_binding to false",
            reason="dcql_holder_binding_unsupported",
        )


def _refused(reason: str, description: str) -> CredentialRefused:
    return CredentialRefused(description, reason=reason)


class LdpVcVerifier:
    """Checks one bbs-2023 ``ldp_vc`` presentation (module docstring). ``resolve`` is a DID resolver
    (``ssi.did.DidResolver.resolve``; ``None``: only ``did:key`` issuers, which no registry accredits); ``trust``
    answers accreditation (``None`` with ``require_accreditation`` refuses every credential, fail closed)."""

    def __init__(
        self,
        *,
        resolve: Callable[[str], Any] | None,
        trust: IssuerTrust | None,
        clock: Clock,
        skew: float = 60.0,
        require_accreditation: bool = True,
    ) -> None:
        self.lookup = did_public_key_lookup(resolve or (lambda did: None))
        self.trust = trust
        self.clock = clock
        self.skew = skew
        self.require_accreditation = require_accreditation

    def verify(self, presentation: Any, *, query: CredentialQuery, client_id: str, nonce: str) -> Any:
        """The :class:`verifier.presentations.VerifiedCredential` of one presentation, or the refusal."""
        from verifier.presentations import VerifiedCredential

        check_ldp_vc_query(query)  # 1.
        if not isinstance(presentation, Mapping):
            raise DataIntegrityError("an ldp_vc presentation is a JSON object (§8.1)", reason="malformed_presentation")
        expected = presentation_binding(nonce=nonce, client_id=client_id)
        try:  # 2. and 3.
            verified = verify_derived_proof(
                presentation, self.lookup, expected_presentation_header=expected, clock=self.clock
            )
        except DataIntegrityError as exc:
            if exc.reason == "presentation_header_mismatch":
                raise KeyBindingError(
                    "the derived proof is bound to another request (nonce and audience of its presentation header)",
                    reason="presentation_binding_mismatch",
                ) from None
            raise
        document = verified.document
        issuer = issuer_of(document)
        if issuer is None or verified.verification_method.partition("#")[0] != issuer:
            raise _refused("issuer_key_mismatch", "the proof's key does not belong to the credential's issuer")
        try:  # 4.
            check_credential(document, clock=self.clock, allowed_skew=self.skew)
        except VerifiableCredentialError as exc:
            reason = {"vc_expired": "credential_expired", "vc_not_yet_valid": "credential_not_yet_valid"}.get(
                exc.reason, exc.reason
            )
            raise _refused(reason, exc.description) from None
        if "credentialStatus" in document:
            raise _refused("status_unsupported", "unlinkable (bbs-2023) credentials carry no status entry here")
        description = describe_presented(verified, issuer_keys=(issuer,))
        type_iri = credential_type_iri(description.types)
        if type_iri is None:
            raise _refused("credential_type_unknown", "the credential names no single specific type")
        valid_from = _time(document.get("validFrom"), "validFrom")
        standing = self._standing(issuer, type_iri, valid_from if valid_from is not None else self.clock())  # 5.
        return VerifiedCredential(
            description=description,
            issuer=issuer,
            vct=type_iri,
            issued_at=valid_from,
            expires_at=_time(document.get("validUntil"), "validUntil"),
            key_route="did",
            standing=standing,
            status=StatusOutcome("unchecked"),
        )

    def _standing(self, issuer: str, type_iri: str, issued_at: float) -> IssuerStanding | None:
        if self.trust is None:
            if self.require_accreditation:
                raise _refused("trust_unavailable", "no trusted-issuer registry is configured (fail closed)")
            return None
        try:
            standing = self.trust.standing(issuer, type_iri, issued_at=issued_at, now=self.clock())
        except TrustUnavailable:
            raise _refused("trust_unavailable", "the trusted-issuer registry cannot be reached (fail closed)") from None
        if standing.refusal is not None and self.require_accreditation:
            raise _refused(standing.refusal, f"the issuer may not issue this credential type ({standing.refusal})")
        return standing


def _time(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_datetime_stamp(value, name).timestamp()
    except SsiError:
        return None
