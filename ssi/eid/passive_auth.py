"""Passive authentication: the security object is signed by a document signer whose certificate chains to a trusted
Country Signing CA (ICAO Doc 9303 Part 11 §5.1, TR-03127 §3.1.3), and each released data group matches its digest
(TR-03127 §4.1: "Comparing the hash values of the data groups read to the values stored in the EF.SOD file").

The trust anchors are injected (:class:`EidTrustAnchors`): Country Signing CA certificates for cards and, separately,
Smart-eID provider CA certificates for Smart-eIDs. A security object's ``kind`` decides which set its chain must reach,
so a Smart-eID provider cannot pass off a Smart-eID as a card (and its level of assurance as "high"), nor a document
signer a card as a Smart-eID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ssi.eid.datagroups import DataGroup, decode_element, element_digest
from ssi.eid.messages import MAX_MESSAGE, SecurityObject
from ssi.errors import CertificateError, EidMalformed, EidVerificationFailed, JoseError
from ssi.jose import verify_compact
from ssi.x509 import verify_x5c

__all__ = ["EidTrustAnchors", "check_data_groups", "verify_security_object"]


@dataclass(frozen=True, slots=True)
class EidTrustAnchors:
    """The CA certificates an eID-Server trusts: Country Signing CAs (cards) and Smart-eID provider CAs."""

    csca: tuple[x509.Certificate, ...]
    smart_eid: tuple[x509.Certificate, ...] = ()

    @classmethod
    def of(cls, csca: Sequence[x509.Certificate], smart_eid: Sequence[x509.Certificate] = ()) -> EidTrustAnchors:
        return cls(tuple(csca), tuple(smart_eid))


def verify_security_object(text: object, anchors: EidTrustAnchors, *, now: float) -> SecurityObject:
    """Parse and verify a security object: its ``x5c`` chain to an anchor of its kind (RFC 5280 path validation at
    ``now``), then its signature with the document signer's key. A Smart-eID's ``exp`` must not have passed.

    Raises :class:`EidVerificationFailed`: ``eid_document_signer_untrusted`` (chain does not reach an anchor of the
    object's kind), ``eid_passive_authentication`` (signature), ``eid_document_expired`` (Smart-eID expired).
    """
    security_object = SecurityObject.parse(text)
    trusted = anchors.csca if security_object.kind == "card" else anchors.smart_eid
    try:
        chain = verify_x5c(security_object.x5c, trusted, now=now)
    except CertificateError as exc:
        raise EidVerificationFailed(
            f"the {security_object.kind} security object's signer does not chain to a trusted "
            f"{'Country Signing CA' if security_object.kind == 'card' else 'Smart-eID provider CA'}: "
            f"{exc.description}",
            reason="eid_document_signer_untrusted",
        ) from None
    try:
        verify_compact(security_object.encoded, chain.public_key, ["ES256"], max_size=MAX_MESSAGE)
    except JoseError:
        raise EidVerificationFailed(
            "the security object's signature does not verify (passive authentication)",
            reason="eid_passive_authentication",
        ) from None
    if security_object.expires_at is not None and now > security_object.expires_at:
        raise EidVerificationFailed("the Smart-eID has expired", reason="eid_document_expired")
    return security_object


def check_data_groups(security_object: SecurityObject, elements: Mapping[DataGroup, str]) -> dict[DataGroup, Any]:
    """Each released element decodes to its data group and matches the digest the security object lists for it
    (ICAO Doc 9303 Part 11 §5.1 step 3: "compare the hash of each data group with the stored value")."""
    values: dict[DataGroup, Any] = {}
    for group, element in elements.items():
        listed = security_object.digests.get(group)
        if listed is None or element_digest(element) != listed:
            raise EidVerificationFailed(
                f"DG{group.value} does not match the security object's digest", reason="eid_data_group_hash"
            )
        decoded_group, value = decode_element(element)
        if decoded_group is not group:
            raise EidMalformed(f"the element released as DG{group.value} holds another group", reason="eid_malformed")
        values[group] = value
    return values
