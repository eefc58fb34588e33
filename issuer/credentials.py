"""The Credential Endpoint (OpenID4VCI 1.0 §8) with batch issuance (§3.3.2, §12.2.4 ``batch_credential_issuance``),
and delivery — the one place credentials are signed and recorded (also for the deferred endpoint, §9).

1. Access token (RFC 6750 §2.1 / RFC 9449 §7.1): a DPoP-bound token only with ``Authorization: DPoP`` and a DPoP proof
   for this request whose ``ath`` is the token's hash and whose key is the token's (``jkt``); a Bearer token only
   when it was issued as one. A token that already received its credentials (or a deferral) is spent here; it stays
   valid at the notification and deferred endpoints (§11, §9).
2. The request (§8.2) and which credential configuration it asks for: ``credential_identifier`` when the token
   response carried identifiers, ``credential_configuration_id`` otherwise.
3. Key proofs (Appendix F.4) — each for a distinct key — and their ``c_nonce`` values, consumed once.
4. A type that needs a clerk's approval: the request (its holder keys) is stored and answered with 202,
   ``transaction_id`` and ``interval`` (§8.3); :mod:`issuer.deferred` delivers after approval.
5. Otherwise one SD-JWT VC per key: ``iss`` the credential issuer, ``cnf.jwk`` that key, its own random status index,
   the issuer's ``x5c`` chain — signed first, then recorded in **one transaction**: the offer ``redeemed`` →
   ``delivered`` with its claim values deleted (a conditional update: of concurrent requests exactly one commits),
   the status entries, the issuance (its id is the ``notification_id``), and the audit entry. A crash before the
   commit leaves the offer redeemed (the wallet may retry with a new ``c_nonce``); after the commit the credentials
   are issued exactly once, whether or not the response reached the wallet. With the short-lived state in the same
   database the access token is marked spent in that transaction too. On PostgreSQL the request is two statements
   (:mod:`issuer.pg_requests`): the token read with the offer's claims, then the DPoP ``jti``, the ``c_nonce``, the
   offer ``delivered``, status entries, issuance, spent token and audit entry in one statement after signing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from infra.db import DriverStatement
from infra.ephemeral import EphemeralStore
from issuer import tables as t
from issuer.context import AUDIT_SUBJECTS, IssuerContext, Tenant, digest_key
from issuer.credential_type import CredentialType
from issuer.nonces import C_NONCE_NS, DPOP_JTI_NS
from issuer.pg_requests import STATUS_INDEX_CONSTRAINT, PgRequests
from issuer.status import StatusAllocation, new_credential_id
from issuer.tokens import TOKEN_NS, AccessGrant
from ssi.dpop import DpopProof
from ssi.encoding import b64url_encode
from ssi.errors import (
    CredentialRequestDenied,
    InvalidCredentialRequest,
    InvalidDpopProof,
    InvalidProof,
    InvalidToken,
    SsiError,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
)
from ssi.keys import jwk_thumbprint
from ssi.oid4vci import (
    CredentialRequest,
    CredentialResponse,
    DeferredResponse,
    VerifiedKeyProof,
    check_distinct_keys,
    parse_credential_request,
    verify_proof_jwt,
)
from ssi.sd_jwt.vc import issue_sd_jwt_vc

__all__ = ["CredentialEndpoint", "Delivery", "Holder", "PresentedToken", "parse_authorization"]

MAX_TOKEN_LENGTH = 512
_DELIVERY_ATTEMPTS = 5
#: Sent to the driver directly on PostgreSQL (``infra.db.DriverStatement``).
_INSERT_ISSUANCE = DriverStatement(
    t.issuance.insert().values(
        {name: sa.bindparam(name) for name in ("id", "authority_id", "offer_id", "type_id", "count", "issued_at")}
    )
)


class _Unset:
    """The default of :meth:`CredentialEndpoint.deliver`'s ``pseudonym``: not read by the caller."""


_UNSET = _Unset()


@dataclass(frozen=True)
class _DeliveryJob:
    """What :meth:`CredentialEndpoint.deliver` was asked to do."""

    tenant: Tenant
    type_id: str
    offer_id: str
    claims: dict[str, Any]
    holders: Sequence[Holder]
    source_state: str
    actor: str
    within: Callable[[Connection], bool] | None
    and_then: Callable[[Connection, str], None] | None
    pseudonym: str | None


@dataclass(frozen=True)
class Holder:
    """A holder key a credential is bound to (``cnf.jwk``) and its RFC 7638 thumbprint."""

    jwk: Mapping[str, Any]
    thumbprint: str

    @classmethod
    def of(cls, proof: VerifiedKeyProof) -> Holder:
        return cls(proof.jwk, proof.thumbprint)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> Holder:
        return cls(jwk, jwk_thumbprint(jwk))


@dataclass(frozen=True)
class Delivery:
    """Signed and recorded credentials: the response's ``notification_id`` is the issuance id."""

    credentials: list[str]
    notification_id: str
    credential_ids: list[str]

    def response(self) -> CredentialResponse:
        return CredentialResponse(self.credentials, notification_id=self.notification_id)


@dataclass(frozen=True)
class PresentedToken:
    scheme: str  # "DPoP" or "Bearer"
    token: str


def parse_authorization(header: str | None) -> PresentedToken:
    """``Authorization: DPoP <token>`` (RFC 9449 §7.1) or ``Bearer <token>`` (RFC 6750 §2.1); the scheme is
    case-insensitive (RFC 9110 §11.1)."""
    if not header:
        raise InvalidToken("an access token is required", reason="missing_token")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or " " in token:
        raise InvalidToken("the Authorization header is malformed", reason="malformed_authorization")
    if scheme.lower() == "dpop":
        return PresentedToken("DPoP", token)
    if scheme.lower() == "bearer":
        return PresentedToken("Bearer", token)
    raise InvalidToken("the Authorization scheme must be DPoP or Bearer", reason="unknown_scheme")


class CredentialEndpoint:
    def __init__(self, context: IssuerContext) -> None:
        self.context = context

    def authorize(
        self,
        tenant: Tenant,
        authorization: str | None,
        *,
        dpop_headers: list[str],
        url: str,
        allow_spent: bool = False,
        store: EphemeralStore | None = None,
    ) -> tuple[PresentedToken, AccessGrant, DpopProof | None]:
        """Step 1: the access token and, for DPoP-bound tokens, the DPoP proof. ``allow_spent``: the notification
        and deferred endpoints accept a token that already went through the credential endpoint. ``store``: the
        short-lived store inside the caller's transaction (``IssuerContext.request_state``)."""
        ctx = self.context
        presented = parse_authorization(authorization)
        entry = (ctx.store if store is None else store).get(TOKEN_NS, digest_key(presented.token))
        grant, proof = self._check_grant(
            tenant, presented, entry, dpop_headers=dpop_headers, url=url, allow_spent=allow_spent, store=store
        )
        return presented, grant, proof

    def _check_grant(
        self,
        tenant: Tenant,
        presented: PresentedToken,
        entry: dict[str, Any] | None,
        *,
        dpop_headers: list[str],
        url: str,
        allow_spent: bool = False,
        store: EphemeralStore | None = None,
        record_jti: bool = True,
    ) -> tuple[AccessGrant, DpopProof | None]:
        """Step 1 for the token's stored ``entry`` (``None``: unknown or expired). ``record_jti=False``: the DPoP
        proof's ``jti`` is left for the caller to record (``DpopCheck.verify``)."""
        ctx = self.context
        if entry is None:
            raise InvalidToken("the access token is unknown, spent or expired", reason="unknown_token")
        grant = AccessGrant.from_json(entry)
        if grant.spent and not allow_spent:
            raise InvalidToken("the access token was used at the credential endpoint already", reason="spent_token")
        if grant.authority_id != tenant.authority.id:
            raise InvalidToken("the access token was not issued by this credential issuer", reason="wrong_issuer")
        proof: DpopProof | None = None
        if grant.jkt is not None:
            if presented.scheme != "DPoP":
                # RFC 9449 §7.1: a DPoP-bound token presented as a Bearer token is refused.
                raise InvalidToken("this access token is DPoP-bound; use the DPoP scheme", reason="dpop_bound_token")
            if not dpop_headers:
                raise InvalidDpopProof("a DPoP proof is required with a DPoP-bound token", reason="dpop_missing")
            proof = ctx.dpop.verify(
                dpop_headers,
                method="POST",
                url=url,
                access_token=presented.token,
                jkt=grant.jkt,
                store=store,
                record_jti=record_jti,
            )
        elif presented.scheme != "Bearer":
            raise InvalidToken("this access token is a Bearer token", reason="bearer_token_as_dpop")
        return grant, proof

    def issue(
        self, tenant: Tenant, body: Mapping[str, Any], authorization: str | None, *, dpop_headers: list[str], url: str
    ) -> CredentialResponse | DeferredResponse:
        """Steps 1.-5. With the short-lived state in the issuer's PostgreSQL database (``IssuerContext.request_state``)
        the whole request is **one transaction**: the token read, the DPoP ``jti``, the consumed ``c_nonce`` values,
        the delivery and the spent token commit together (one commit instead of four); a protocol error commits what
        was done before it (a consumed nonce stays consumed), anything else rolls the request back."""
        ctx = self.context
        later: Callable[[], CredentialResponse | DeferredResponse] | None = None
        # Status entries for the largest batch, counted before the request's connection is taken (never a second
        # connection while holding one).
        ctx.statuses.prepare(
            authority_id=tenant.authority.id, credential_issuer=tenant.credential_issuer, count=ctx.settings.batch_size
        )
        fast = ctx.pg_requests()
        if fast is not None:
            done = self._issue_pg(fast, tenant, body, authorization, dpop_headers=dpop_headers, url=url)
            if done is not None:
                return done
        with ctx.request_state() as (store, conn):
            presented, grant, _ = self.authorize(tenant, authorization, dpop_headers=dpop_headers, url=url, store=store)
            request = parse_credential_request(body, max_proofs=ctx.settings.batch_size)  # 2.
            type_id, ctype = self._configuration(tenant, grant, request)
            if ctype.is_ldp_vc:  # bbs-2023: no key binding, no proofs, one credential (issuer/ldp_vc.py)
                from issuer.ldp_vc import issue_ldp_vc

                later = functools.partial(
                    issue_ldp_vc,
                    self,
                    tenant,
                    presented,
                    grant,
                    type_id=type_id,
                    proofs_sent=request.proof_type is not None,
                )
            else:
                holders = self._holders(tenant, grant, request, store)  # 3.
                if ctype.requires_approval:  # 4.
                    later = functools.partial(self._defer, tenant, presented, grant, type_id, holders)
                else:
                    return self._deliver_now(tenant, presented, grant, type_id, holders, conn=conn)  # 5.
        # Deferral and bbs-2023 issuance run their own transactions, after the request's state has committed.
        return later()

    def _issue_pg(
        self,
        fast: PgRequests,
        tenant: Tenant,
        body: Mapping[str, Any],
        authorization: str | None,
        *,
        dpop_headers: list[str],
        url: str,
    ) -> CredentialResponse | None:
        """Steps 1.-5. on PostgreSQL in two statements (:mod:`issuer.pg_requests`): the token and the offer's claims
        read together; the DPoP ``jti``, the ``c_nonce``, the delivery, the spent token and the audit entry recorded
        together after signing. ``None`` (nothing recorded, nothing consumed) for what this path does not take — a
        type needing approval, bbs-2023, key proofs with different ``c_nonce`` values, more subjects than one audit
        entry holds: the caller then runs the request transaction as before.

        What a refused request leaves behind is that of the request transaction: the checks run in the same order
        (token, DPoP proof, request, key proofs, ``c_nonce``, offer); a protocol error after the DPoP check records
        its ``jti`` first (or reports the replay), one at the offer records the ``c_nonce`` as well."""
        ctx = self.context
        presented = parse_authorization(authorization)
        token_key = digest_key(presented.token)
        store = ctx.store
        found = fast.token_and_claims(token=(TOKEN_NS, token_key), now=ctx.storage.now(), store_now=fast.store_now())
        entry = None if found is None else dict(json.loads(found[0]))
        grant, proof = self._check_grant(tenant, presented, entry, dpop_headers=dpop_headers, url=url, record_jti=False)
        jti = None if proof is None else ctx.dpop.jti_entry(proof)

        def record_jti() -> None:
            if jti is not None and not store.remember_once(DPOP_JTI_NS, *jti):
                raise ctx.dpop.replayed()

        try:
            request = parse_credential_request(body, max_proofs=ctx.settings.batch_size)  # 2.
            type_id, ctype = self._configuration(tenant, grant, request)
            if ctype.is_ldp_vc or ctype.requires_approval:
                return None
            proofs = self._key_proofs(tenant, grant, request)  # 3.
            nonces = {p.nonce for p in proofs if p.nonce is not None}
            if len(nonces) != 1 or len(proofs) + 2 > AUDIT_SUBJECTS:
                return None
            (nonce,) = nonces
            nonce_ttl = ctx.c_nonces.check(nonce, tenant.authority.id)
        except SsiError as error:
            record_jti()
            raise error from None
        assert found is not None  # the grant was checked
        if found[1] is None:  # the offer is not redeemed any more (or expired): refused after the nonce is used
            record_jti()
            if not store.remember_once(C_NONCE_NS, nonce, nonce_ttl):
                raise ctx.c_nonces.used()
            raise CredentialRequestDenied(
                "the credential for this offer was already delivered, or the offer expired", reason="offer_closed"
            )
        claims: dict[str, Any] = json.loads(found[1])
        pseudonym = found[2]
        holders = [Holder.of(p) for p in proofs]
        now = ctx.clock()
        expires_at = ctype.expiry(claims, now)
        allocations = ctx.statuses.choose_unprobed(
            authority_id=tenant.authority.id, credential_issuer=tenant.credential_issuer, count=len(holders)
        )
        issuance_id = "n" + b64url_encode(secrets.token_bytes(12))
        spent = replace(grant, spent=True, notification_id=issuance_id).to_json()
        for attempt in range(_DELIVERY_ATTEMPTS):
            credentials = self._sign(
                tenant, type_id, claims, holders, [a.status_claim() for a in allocations], expires_at=expires_at
            )
            ids = [new_credential_id() for _ in allocations]
            rows, list_count = ctx.statuses.entry_rows(
                allocations,
                ids,
                authority_id=tenant.authority.id,
                type_id=type_id,
                offer_id=grant.offer_id,
                holder_thumbprints=[h.thumbprint for h in holders],
                expires_at=expires_at,
                issuance_id=issuance_id,
                subject_pseudonym=pseudonym,
            )
            store_now = fast.store_now()
            try:
                counts = fast.deliver(
                    jti=None if jti is None else (DPOP_JTI_NS, jti[0], store_now + jti[1]),
                    nonce=(C_NONCE_NS, nonce, store_now + nonce_ttl),
                    offer_id=grant.offer_id,
                    entries=rows,
                    list_count=list_count,
                    issuance={"id": issuance_id, "authority_id": tenant.authority.id, "type_id": type_id},
                    token=(TOKEN_NS, token_key, json.dumps(spent), store_now + ctx.settings.access_token_ttl),
                    audit=ctx.audit.outbox_row(
                        actor="wallet",
                        authority=tenant.authority.slug,
                        action="credential.issue",
                        subjects=[
                            f"offer:{grant.offer_id}",
                            f"issuance:{issuance_id}",
                            *(f"credential:{i}" for i in ids),
                        ],
                    ),
                    now=ctx.storage.now(),
                    store_now=store_now,
                )
            except IntegrityError as error:
                constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
                if constraint != STATUS_INDEX_CONSTRAINT or attempt == _DELIVERY_ATTEMPTS - 1:
                    raise
                # A status index was taken meanwhile: nothing was recorded. Choose again, asking the database.
                allocations = ctx.statuses.choose(
                    authority_id=tenant.authority.id, credential_issuer=tenant.credential_issuer, count=len(holders)
                )
                continue
            if not counts.jti:
                raise ctx.dpop.replayed()
            if not counts.nonce:
                raise ctx.c_nonces.used()
            if not counts.offer:
                raise CredentialRequestDenied(
                    "the credential for this offer was already delivered, or the offer expired", reason="offer_closed"
                )
            ctx.audit.recorded.set()
            return CredentialResponse(credentials, notification_id=issuance_id)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _configuration(tenant: Tenant, grant: AccessGrant, request: CredentialRequest) -> tuple[str, CredentialType]:
        """Step 2: the credential configuration the request asks for."""
        if grant.identifiers:
            if request.credential_identifier is None:
                raise InvalidCredentialRequest(
                    "the token response named credential_identifiers; use credential_identifier (§8.2)",
                    reason="identifier_expected",
                )
            type_id = grant.identifiers.get(request.credential_identifier)
            if type_id is None:
                raise UnknownCredentialIdentifier("unknown credential_identifier", reason="unknown_identifier")
        else:
            if request.credential_configuration_id is None:
                raise InvalidCredentialRequest(
                    "credential_identifier is only used when the token response named identifiers (§8.2)",
                    reason="unexpected_identifier",
                )
            type_id = request.credential_configuration_id
            if type_id not in tenant.types:
                raise UnknownCredentialConfiguration(
                    "unknown credential_configuration_id", reason="unknown_configuration"
                )
            if type_id not in grant.configuration_ids:
                raise UnknownCredentialConfiguration(
                    "this access token does not cover that credential configuration", reason="not_authorized"
                )
        ctype = tenant.types.get(type_id)
        if ctype is None:
            raise CredentialRequestDenied("the credential type is no longer offered", reason="type_removed")
        return type_id, ctype

    def _holders(
        self, tenant: Tenant, grant: AccessGrant, request: CredentialRequest, store: EphemeralStore
    ) -> list[Holder]:
        """Step 3: the key proofs, each for a distinct key, and their ``c_nonce`` values consumed (in ``store``)."""
        proofs = self._key_proofs(tenant, grant, request)
        self.context.c_nonces.consume(
            {p.nonce for p in proofs if p.nonce is not None}, tenant.authority.id, store=store
        )
        return [Holder.of(p) for p in proofs]

    def _key_proofs(self, tenant: Tenant, grant: AccessGrant, request: CredentialRequest) -> list[VerifiedKeyProof]:
        """Step 3 without the ``c_nonce`` values: the key proofs verified, each for a distinct key."""
        ctx = self.context
        # §8.2: proofs "MUST be present if the proof_types_supported parameter is present" (always, here).
        if request.proof_type is None:
            raise InvalidProof(
                "proofs are required: every credential is bound to a holder key", reason="missing_proofs"
            )
        if request.proof_type != "jwt":
            raise InvalidProof(
                f"proof type {request.proof_type!r} is not supported (jwt)", reason="unsupported_proof_type"
            )
        proofs: list[VerifiedKeyProof] = [
            verify_proof_jwt(
                proof,
                audience=tenant.credential_issuer,
                now=ctx.clock(),
                algorithms=ctx.settings.proof_algorithms,
                nonce_required=True,
                client_id=grant.client_id,
                max_age=ctx.settings.proof_max_age,
                skew=ctx.settings.clock_skew,
            )
            for proof in request.proofs
        ]
        check_distinct_keys(proofs)
        return proofs

    def _deliver_now(
        self,
        tenant: Tenant,
        presented: PresentedToken,
        grant: AccessGrant,
        type_id: str,
        holders: Sequence[Holder],
        *,
        conn: Connection | None,
    ) -> CredentialResponse:
        """Step 5, in ``conn``'s transaction when given (the request's; the token is spent in it too)."""
        ctx = self.context
        found = ctx.storage.offer_claims_and_pseudonym(grant.offer_id, "redeemed", conn)
        if found is None:
            raise CredentialRequestDenied(
                "the credential for this offer was already delivered, or the offer expired", reason="offer_closed"
            )
        claims, pseudonym = found
        sql_store = ctx.sql_store()
        if conn is None or sql_store is None:
            delivery = self.deliver(
                tenant, type_id, grant.offer_id, claims, holders, source_state="redeemed", pseudonym=pseudonym
            )
            self.update_grant(presented.token, replace(grant, spent=True, notification_id=delivery.notification_id))
            return delivery.response()

        def spend(tx: Connection, notification_id: str) -> None:
            # The token is spent in the delivery's own transaction: one commit, and never delivered-but-unspent.
            sql_store.bound(tx).replace(
                TOKEN_NS,
                digest_key(presented.token),
                replace(grant, spent=True, notification_id=notification_id).to_json(),
                ctx.settings.access_token_ttl,
            )

        delivery = self.deliver(
            tenant,
            type_id,
            grant.offer_id,
            claims,
            holders,
            source_state="redeemed",
            and_then=spend,
            conn=conn,
            pseudonym=pseudonym,
        )
        return delivery.response()

    def update_grant(self, token: str, grant: AccessGrant, ttl: float | None = None) -> None:
        """Store the changed grant under the token (its lifetime starts again: at most the access-token lifetime,
        or ``ttl``)."""
        self.context.store.replace(
            TOKEN_NS, digest_key(token), grant.to_json(), ttl or self.context.settings.access_token_ttl
        )

    # -- delivery --------------------------------------------------------------------------------------------------

    def deliver(
        self,
        tenant: Tenant,
        type_id: str,
        offer_id: str,
        claims: dict[str, Any],
        holders: Sequence[Holder],
        *,
        source_state: str,
        actor: str = "wallet",
        within: Callable[[Connection], bool] | None = None,
        and_then: Callable[[Connection, str], None] | None = None,
        conn: Connection | None = None,
        pseudonym: str | _Unset | None = _UNSET,
    ) -> Delivery:
        """Sign one credential per holder key, then record them in one transaction with the offer's
        ``source_state`` → ``delivered`` (and ``within``, more of the caller's changes that must hold; ``and_then``,
        changes given the issuance id, before the audit entry); refused with ``credential_request_denied`` when the
        offer is not in ``source_state`` any more. ``conn``: record in the caller's transaction (committed by the
        caller) instead of one of its own. ``pseudonym``: the offer's subject pseudonym when the caller read it."""
        ctx = self.context
        if conn is not None and within is not None:
            # A refusal by ``within`` comes after the offer's update; only a transaction of deliver's own is sure to
            # roll that back (a caller's request transaction commits what precedes a protocol error).
            raise ValueError("deliver: 'within' needs a transaction of its own (no 'conn')")
        if isinstance(pseudonym, _Unset):
            record = ctx.storage.offer(offer_id)
            pseudonym = record.subject_pseudonym if record is not None else None
        job = _DeliveryJob(tenant, type_id, offer_id, claims, holders, source_state, actor, within, and_then, pseudonym)
        if conn is not None:
            return self._deliver_in(conn, job)
        ctx.statuses.prepare(
            authority_id=tenant.authority.id, credential_issuer=tenant.credential_issuer, count=len(holders)
        )
        with ctx.storage.engine.begin() as own:
            return self._deliver_in(own, job)

    def _deliver_in(self, conn: Connection, job: _DeliveryJob) -> Delivery:
        """:meth:`deliver` in ``conn``'s transaction. Indexes are chosen and the credentials signed before the first
        write (the offer's row lock is then held only for the writes); a status index taken meanwhile by a concurrent
        issuance is chosen again and that credential signed again, in the same transaction."""
        ctx = self.context
        options, tenant, type_id, offer_id, claims, holders = (
            job,
            job.tenant,
            job.type_id,
            job.offer_id,
            job.claims,
            job.holders,
        )
        ctype = tenant.types[type_id]
        now = ctx.clock()
        expires_at = ctype.expiry(claims, now)
        allocations, credentials = self._choose_and_sign(
            tenant, type_id, claims, holders, expires_at=expires_at, conn=conn
        )
        if not ctx.storage.deliver_offer(conn, offer_id, options.source_state, len(credentials)) or (
            options.within is not None and not options.within(conn)
        ):
            raise CredentialRequestDenied(
                "the credential for this offer was already delivered, or the offer expired", reason="offer_closed"
            )
        issuance_id = "n" + b64url_encode(secrets.token_bytes(12))
        recorded: list[str] = []
        for attempt in range(_DELIVERY_ATTEMPTS):
            ids = ctx.statuses.try_record(
                conn,
                allocations,
                authority_id=tenant.authority.id,
                type_id=type_id,
                offer_id=offer_id,
                holder_thumbprints=[h.thumbprint for h in holders],
                expires_at=expires_at,
                issuance_id=issuance_id,
                subject_pseudonym=options.pseudonym,
            )
            if ids is not None:
                recorded = ids
                break
            if attempt == _DELIVERY_ATTEMPTS - 1:
                # Not a protocol error: the offer is marked delivered in this transaction, which must roll back.
                raise RuntimeError("no free status list entry was found in several attempts")
            # A concurrent issuance took one of the chosen status indexes: nothing was recorded; choose again.
            allocations, credentials = self._choose_and_sign(
                tenant, type_id, claims, holders, expires_at=expires_at, conn=conn
            )
        _INSERT_ISSUANCE.run(
            conn,
            {
                "id": issuance_id,
                "authority_id": tenant.authority.id,
                "offer_id": offer_id,
                "type_id": type_id,
                "count": len(credentials),
                "issued_at": now,
            },
        )
        if options.and_then is not None:
            options.and_then(conn, issuance_id)
        ctx.audit_append(
            conn,
            actor=options.actor,
            tenant=tenant,
            action="credential.issue",
            subjects=[f"offer:{offer_id}", f"issuance:{issuance_id}", *(f"credential:{i}" for i in recorded)],
        )
        return Delivery(credentials, issuance_id, recorded)

    def _choose_and_sign(
        self,
        tenant: Tenant,
        type_id: str,
        claims: dict[str, Any],
        holders: Sequence[Holder],
        *,
        expires_at: int,
        conn: Connection,
    ) -> tuple[list[StatusAllocation], list[str]]:
        allocations = self.context.statuses.choose(
            authority_id=tenant.authority.id,
            credential_issuer=tenant.credential_issuer,
            count=len(holders),
            conn=conn,
        )
        credentials = self._sign(
            tenant, type_id, claims, holders, [a.status_claim() for a in allocations], expires_at=expires_at
        )
        return allocations, credentials

    def _sign(
        self,
        tenant: Tenant,
        type_id: str,
        claims: dict[str, Any],
        holders: Sequence[Holder],
        statuses: Sequence[dict[str, Any]],
        *,
        expires_at: int,
    ) -> list[str]:
        ctx = self.context
        ctype = tenant.types[type_id]
        keys = ctx.keys(tenant)
        header = {"x5c": keys.x5c}
        vct = ctype.vct(tenant.credential_issuer)
        paths = ctype.disclosable_paths
        return [
            issue_sd_jwt_vc(
                claims,
                keys.signer,
                vct=vct,
                issuer=tenant.credential_issuer,
                holder_jwk=dict(holder.jwk),
                status=status,
                disclosable=paths,
                expires_at=expires_at,
                clock=ctx.clock,
                header=header,
            ).compact
            for holder, status in zip(holders, statuses, strict=True)
        ]

    # -- deferral (§8.3, §9) ---------------------------------------------------------------------------------------

    def _defer(
        self, tenant: Tenant, presented: PresentedToken, grant: AccessGrant, type_id: str, holders: Sequence[Holder]
    ) -> DeferredResponse:
        """Store the request for a clerk: the offer ``redeemed`` → ``pending``, the holder keys in
        ``deferred_request``, an audit entry — one transaction; the token may then poll (and only that)."""
        ctx = self.context
        now = ctx.clock()
        transaction_id = b64url_encode(secrets.token_bytes(32))
        digest = hashlib.sha256(transaction_id.encode("ascii")).hexdigest()
        expires_at = now + ctx.settings.deferred_ttl
        with ctx.storage.engine.begin() as conn:
            if not ctx.storage.defer_offer(conn, grant.offer_id, expires_at):
                raise CredentialRequestDenied(
                    "the credential for this offer was already requested, or the offer expired", reason="offer_closed"
                )
            conn.execute(
                t.deferred_request.insert().values(
                    offer_id=grant.offer_id,
                    authority_id=tenant.authority.id,
                    transaction_sha256=digest,
                    type_id=type_id,
                    holder_jwks=json.dumps([dict(h.jwk) for h in holders]),
                    state="pending",
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            ctx.audit_append(
                conn, actor="wallet", tenant=tenant, action="credential.defer", subjects=[f"offer:{grant.offer_id}"]
            )
        self.update_grant(
            presented.token, replace(grant, spent=True, transaction=digest), ttl=ctx.settings.deferred_ttl
        )
        return DeferredResponse(transaction_id, ctx.settings.deferred_interval)
