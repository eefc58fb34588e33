"""Credential offers with the Pre-Authorized Code grant (OpenID4VCI 1.0 §3.5, §4.1): what a clerk creates for a
citizen whose data the authority already has.

- the **pre-authorized code** "MUST be short lived and single use" (§4.1.1): 256 random bits, kept in the short-lived
  store under its SHA-256 until it is exchanged or the offer expires;
- the **transaction code** (``tx_code``, numeric, configurable length) goes to the citizen on a second channel
  (§13.4.1 "Transaction Code ... via a separate channel"); only a MAC of it is stored;
- the offer travels **by value** (``credential_offer``) or **by reference** (``credential_offer_uri``, a unique URL
  per offer, §4.1.3), as an ``openid-credential-offer://`` link and as a QR code (SVG);
- claim values wait in the database until delivery or expiry (then they are deleted);
- the subject's identifier (the type's ``subject`` claim, or one the clerk passes, e.g. a document number) is kept
  only as a keyed pseudonym (:mod:`issuer.subjects`), for "revoke everything issued for this subject";
- the offer and its audit entry are stored in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from issuer.context import IssuerContext, NotFound, Tenant, digest_key
from issuer.subjects import subject_pseudonym
from ssi.encoding import b64url_encode
from ssi.errors import SsiError
from ssi.oid4vci import CredentialOffer, PreAuthorizedCodeGrant, TxCode

__all__ = ["CODE_NS", "CreatedOffer", "OFFER_DOC_NS", "OfferDesk", "qr_svg", "tx_code_mac"]

CODE_NS = "vci_pre_auth_code"
OFFER_DOC_NS = "vci_offer_doc"
TX_ATTEMPTS_NS = "vci_tx_attempts"


def tx_code_mac(secret: bytes, offer_id: str, tx_code: str) -> str:
    return hmac.new(secret, f"{offer_id}\x00{tx_code}".encode(), hashlib.sha256).hexdigest()


def qr_svg(data: str) -> str:
    """An inline SVG QR code (the ``qrcode`` package's path image: one ``<path>``, scalable)."""
    import qrcode  # type: ignore[import-untyped]
    import qrcode.image.svg  # type: ignore[import-untyped]

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=4)
    text: str = image.to_string(encoding="unicode")
    return text


@dataclass(frozen=True)
class CreatedOffer:
    """What the clerk gets back: the links (by reference: short, for QR codes; by value), the transaction code to
    hand over separately, and the QR code."""

    offer_id: str
    credential_offer: CredentialOffer
    credential_offer_uri: str
    tx_code: str | None
    expires_at: float

    @property
    def link_by_reference(self) -> str:
        return CredentialOffer.link_by_reference(self.credential_offer_uri)

    @property
    def link_by_value(self) -> str:
        return self.credential_offer.link_by_value()

    def to_json(self, *, with_qr: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "offer_id": self.offer_id,
            "offer_uri": self.link_by_reference,
            "offer_uri_by_value": self.link_by_value,
            # HAIP 1.0 §4.2: wallets support at least the custom URL scheme haip://.
            "offer_uri_haip": CredentialOffer.link_by_reference(self.credential_offer_uri, scheme="haip://"),
            "credential_offer_uri": self.credential_offer_uri,
            "credential_offer": self.credential_offer.to_json(),
            "tx_code": self.tx_code,
            "expires_at": int(self.expires_at),
        }
        if with_qr:
            out["qr_svg"] = qr_svg(self.link_by_reference)
        return out


class OfferDesk:
    def __init__(self, context: IssuerContext) -> None:
        self.context = context

    def create(
        self,
        tenant: Tenant,
        type_id: str,
        claims: Any,
        *,
        tx_code: bool = True,
        tx_code_length: int | None = None,
        subject: tuple[str, str] | None = None,
        actor: str = "system",
    ) -> CreatedOffer:
        """Check the claims against the type, store them, and make the offer. ``subject`` is ``(kind, identifier)``
        for types whose subject is not one of their claims (otherwise the type's ``subject`` claim is used)."""
        ctx = self.context
        ctype = tenant.types.get(type_id)
        if ctype is None:
            raise NotFound(f"this authority has no credential type {type_id!r}")
        checked = ctype.check_claims(claims)
        if subject is None and ctype.subject_kind is not None:
            value = ctype.subject_value(checked)
            subject = None if value is None else (ctype.subject_kind, value)
        pseudonym = (
            None
            if subject is None
            else subject_pseudonym(ctx.subject_secret, tenant.authority.id, subject[0], subject[1])
        )
        now = ctx.clock()
        if ctype.expiry(checked, now) <= now:
            raise SsiError("the credential would already be expired (validity / until claim)", reason="expired_claims")
        offer_id = b64url_encode(secrets.token_bytes(16))
        code = b64url_encode(secrets.token_bytes(32))
        length = tx_code_length or ctx.settings.tx_code_length
        if not 4 <= length <= 12:
            raise SsiError("tx_code_length must be between 4 and 12", reason="bad_tx_code_length")
        tx = "".join(str(secrets.randbelow(10)) for _ in range(length)) if tx_code else None
        expires_at = now + ctx.settings.offer_ttl
        ttl = ctx.settings.offer_ttl
        offer = CredentialOffer(
            credential_issuer=tenant.credential_issuer,
            credential_configuration_ids=(type_id,),
            pre_authorized_code=PreAuthorizedCodeGrant(
                code,
                None
                if tx is None
                else TxCode(
                    input_mode="numeric",
                    length=length,
                    description="Bitte geben Sie den Code ein, den Sie von der Behörde erhalten haben. / "
                    "Please enter the code you received from the authority.",
                ),
            ),
        )
        with ctx.storage.transaction() as conn:
            ctx.storage.insert_offer(
                offer_id=offer_id,
                authority_id=tenant.authority.id,
                type_id=type_id,
                claims=checked,
                tx_code_required=tx is not None,
                expires_at=expires_at,
                subject_pseudonym=pseudonym,
                conn=conn,
            )
            ctx.audit_append(
                conn,
                actor=actor,
                tenant=tenant,
                action="offer.create",
                subjects=[f"offer:{offer_id}", f"type:{type_id}"],
            )
        ctx.store.put(
            CODE_NS,
            digest_key(code),
            {
                "o": offer_id,
                "a": tenant.authority.id,
                "c": [type_id],
                "tx": None if tx is None else tx_code_mac(ctx.tx_code_secret, offer_id, tx),
            },
            ttl,
        )
        ctx.store.put(OFFER_DOC_NS, offer_id, {"a": tenant.authority.id, "offer": offer.to_json()}, ttl)
        return CreatedOffer(offer_id, offer, tenant.offer_uri(offer_id), tx, expires_at)

    def document(self, tenant: Tenant, offer_id: str) -> dict[str, Any]:
        """The Credential Offer object behind a ``credential_offer_uri`` (§4.1.3), while the offer is open."""
        entry = self.context.store.get(OFFER_DOC_NS, offer_id) if len(offer_id) <= 64 else None
        if entry is None or entry.get("a") != tenant.authority.id:
            raise NotFound("no such credential offer (unknown, redeemed or expired)")
        offer: dict[str, Any] = entry["offer"]
        return offer

    def status(self, tenant: Tenant, offer_id: str) -> dict[str, Any]:
        """An offer's state for the clerk (never its claim values)."""
        record = self.context.storage.offer(offer_id) if len(offer_id) <= 64 else None
        if record is None or record.authority_id != tenant.authority.id:
            raise NotFound("no such offer")
        return record.to_json(self.context.clock())

    def list(
        self, tenant: Tenant, *, state: str | None = None, type_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The authority's offers, newest first (metadata only)."""
        now = self.context.clock()
        records = self.context.storage.offers(
            tenant.authority.id, state=state, type_id=type_id, limit=max(1, min(limit, 1000)), offset=max(0, offset)
        )
        return [record.to_json(now) for record in records]
