"""Issuing ``ldp_vc`` credentials secured with ``bbs-2023`` (issue 14) at the Credential Endpoint (OpenID4VCI 1.0 §8).

What differs from SD-JWT VC issuance (:mod:`issuer.credentials`):

1. **No key proofs.** Baseline bbs-2023 binds the credential to no holder key, so the configuration has no
   ``cryptographic_binding_methods_supported`` and no ``proof_types_supported`` (§12.2.4: "omitted otherwise"), and
   the request carries no ``proofs`` (§14.2: "indicating to the Wallet to omit the proofs parameter"). A key proof
   here would prove possession of a key the credential never names: it would bind nothing and protect nothing. What
   it does for SD-JWT VCs besides binding — freshness of the request (``c_nonce``, §8.2) — is done by the one-time,
   DPoP-bound access token (RFC 9449: proof of possession of the wallet's DPoP key on this very request), spent here,
   and the single-use offer. A request that sends ``proofs`` anyway is refused (``invalid_proof``) rather than
   letting the wallet believe the credential is bound to its key.
2. **One credential, no batch.** Unlinkability comes from the holder deriving a fresh proof per presentation, not from
   one-time copies.
3. **No status entry** (docs/privacy.md: a list index is unique per credential and would link every presentation):
   short validity instead. Nothing is recorded per credential but the issuance and its audit entry.
4. **Day-granular validity**: ``validFrom`` is the start (UTC) of the day of issuance and ``validUntil`` that plus the
   type's ``validity.days`` (or the day after its ``until_claim`` date, if earlier) — every credential of a type
   issued on one day carries the same dates.
5. **Issuer and key**: ``issuer`` is the authority's did:ethr and ``verificationMethod`` the ``Multikey`` that
   publishes its BBS key there (:func:`issuer.chain.IssuerChain.ensure_bbs_anchored`, remembered by
   :func:`remember_bbs_method`); without a chain (development) a ``did:key`` of the BBS key.
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from issuer import tables as t
from issuer.bbs_key import BbsKey
from issuer.context import Tenant
from issuer.credential_type import LDP_VC_CONTEXT, CredentialType
from issuer.tokens import AccessGrant
from ssi.data_integrity import create_base_proof
from ssi.encoding import b64url_encode
from ssi.errors import CredentialRequestDenied, InvalidProof
from ssi.oid4vci import CredentialResponse
from ssi.vc import format_datetime_stamp

if TYPE_CHECKING:
    from issuer.credentials import CredentialEndpoint, PresentedToken

__all__ = ["bbs_verification_method", "build_credential", "issue_ldp_vc", "remember_bbs_method"]

_DAY = 86400


def _setting_name(slug: str) -> str:
    return f"bbs_verification_method:{slug}"


def remember_bbs_method(storage: Any, slug: str, did: str, key: BbsKey, verification_method: str) -> None:
    """Keep which verification method of the authority's DID publishes its BBS key (found on the chain)."""
    value = {"did": did, "multikey": key.multikey, "verification_method": verification_method}
    storage.put_setting(_setting_name(slug), json.dumps(value, sort_keys=True))


def bbs_verification_method(storage: Any, tenant: Tenant, key: BbsKey) -> tuple[str, str]:
    """``(issuer, verificationMethod)``: the authority's did:ethr and the method remembered for this very key, else
    (no chain, or the key not published yet) the key's ``did:key`` (did:key §3.1: ``did:key:<mb>#<mb>``)."""
    raw = storage.get_setting(_setting_name(tenant.authority.slug))
    if raw is not None and tenant.authority.did:
        known = json.loads(raw)
        if known.get("multikey") == key.multikey and known.get("did") == tenant.authority.did:
            return str(known["did"]), str(known["verification_method"])
    did = f"did:key:{key.multikey}"
    return did, f"{did}#{key.multikey}"


def _validity(ctype: CredentialType, claims: Mapping[str, Any], now: float) -> tuple[int, int]:
    start = int(now) // _DAY * _DAY
    until = start + ctype.validity_days * _DAY
    if ctype.until_claim is not None and isinstance(claims.get(ctype.until_claim), str):
        day = datetime.date.fromisoformat(claims[ctype.until_claim]) + datetime.timedelta(days=1)
        until = min(until, int(datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC).timestamp()))
    return start, until


def build_credential(ctype: CredentialType, claims: Mapping[str, Any], *, issuer: str, now: float) -> dict[str, Any]:
    """The unsecured VCDM 2.0 credential (§4): contexts (both bundled), types, ``issuer``, day-granular
    ``validFrom``/``validUntil`` (§4.9), the claims as ``credentialSubject`` (§4.8) — no ``id`` anywhere, no
    ``credentialStatus`` (vc-di-bbs §6.2.3: identifiers "cannot be used for individuals")."""
    valid_from, valid_until = _validity(ctype, claims, now)
    if valid_until <= now:
        raise CredentialRequestDenied("the credential would already have expired", reason="expired_claims")
    return {
        "@context": list(LDP_VC_CONTEXT),
        "type": ["VerifiableCredential", ctype.vc_type],
        "issuer": issuer,
        "validFrom": format_datetime_stamp(valid_from),
        "validUntil": format_datetime_stamp(valid_until),
        "credentialSubject": json.loads(json.dumps(claims)),
    }


def issue_ldp_vc(
    endpoint: CredentialEndpoint,
    tenant: Tenant,
    presented: PresentedToken,
    grant: AccessGrant,
    *,
    type_id: str,
    proofs_sent: bool,
) -> CredentialResponse:
    """Sign one bbs-2023 credential for the grant's offer and record the delivery in one transaction (the offer
    ``redeemed`` → ``delivered`` with its claims deleted, the issuance, the audit entry) — then spend the token."""
    ctx = endpoint.context
    ctype = tenant.types[type_id]
    if proofs_sent:
        raise InvalidProof(
            "this credential is bound to no key (bbs-2023 baseline): omit proofs (OpenID4VCI 1.0 §8.2, §12.2.4)",
            reason="unexpected_proofs",
        )
    keys = ctx.keys(tenant)
    if keys.bbs is None:
        raise CredentialRequestDenied("this issuer has no BBS key", reason="no_bbs_key")
    claims = ctx.storage.offer_claims(grant.offer_id, "redeemed")
    if claims is None:
        raise CredentialRequestDenied(
            "the credential for this offer was already delivered, or the offer expired", reason="offer_closed"
        )
    issuer, method = bbs_verification_method(ctx.storage, tenant, keys.bbs)
    now = ctx.clock()
    secured = create_base_proof(
        build_credential(ctype, claims, issuer=issuer, now=now),
        secret_key=keys.bbs.secret_key,
        public_key=keys.bbs.public_key,
        verification_method=method,
        mandatory_pointers=list(ctype.mandatory_pointers),
    )
    issuance_id = "n" + b64url_encode(secrets.token_bytes(12))
    with ctx.storage.engine.begin() as conn:
        if not ctx.storage.deliver_offer(conn, grant.offer_id, "redeemed", 1):
            raise CredentialRequestDenied(
                "the credential for this offer was already delivered, or the offer expired", reason="offer_closed"
            )
        conn.execute(
            t.issuance.insert().values(
                id=issuance_id,
                authority_id=tenant.authority.id,
                offer_id=grant.offer_id,
                type_id=type_id,
                count=1,
                issued_at=now,
            )
        )
        ctx.audit_append(
            conn,
            actor="wallet",
            tenant=tenant,
            action="credential.issue",
            subjects=[f"offer:{grant.offer_id}", f"issuance:{issuance_id}"],
        )
    endpoint.update_grant(presented.token, replace(grant, spent=True, notification_id=issuance_id))
    return CredentialResponse([secured], notification_id=issuance_id)
