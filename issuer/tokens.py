"""The Token Endpoint of the authorization server (OpenID4VCI 1.0 §6, RFC 6749 §3.2, RFC 9449 §5) for the
Pre-Authorized Code grant.

Order of the checks, and why:

1. DPoP proof (RFC 9449 §4.3, server nonce §8, ``jti`` replay §11.1) — before anything is consumed, so a client
   told ``use_dpop_nonce`` can retry with the same code. Without a DPoP proof a token is issued only when every
   offered credential type explicitly allows Bearer tokens (HAIP 1.0 §4: sender-constrained tokens).
2. The request's form (RFC 6749 §3.2 repeated parameters, §6.1 parameters).
3. The pre-authorized code (read, not yet consumed): unknown or expired → ``invalid_grant`` (§6.3).
4. The transaction code (§6.3): missing when required, or present when not → ``invalid_request``; wrong →
   ``invalid_grant``. Every attempt is counted atomically first, so at most ``tx_code_max_attempts`` guesses are
   ever compared, however many arrive at once; after that many wrong ones the offer is dead.
5. ``authorization_details`` may only name offered configurations (RFC 9396 §5, ``invalid_authorization_details``).
6. The code is consumed atomically (``take``): of any number of concurrent requests exactly one gets a token.

With the short-lived state in the issuer's own PostgreSQL database, the request is two statements
(:mod:`issuer.pg_requests`): the DPoP ``jti`` recorded with the code's read, and — after the checks — the code taken,
the offer ``redeemed``, its document deleted and the token stored (a counted tx-code attempt is a statement of its
own). Elsewhere each step commits on its own; the request transaction (``IssuerContext.request_state``: a protocol
error keeps what was done before it) remains for a context without those statements.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from infra.ephemeral import EphemeralStore
from issuer.context import IssuerContext, Tenant, digest_key
from issuer.nonces import DPOP_JTI_NS
from issuer.offers import CODE_NS, OFFER_DOC_NS, TX_ATTEMPTS_NS, tx_code_mac
from issuer.pg_requests import PgRequests
from ssi.encoding import b64url_encode
from ssi.errors import InvalidAuthorizationDetails, InvalidDpopProof, InvalidGrant, Oid4vciError, SsiError
from ssi.oid4vci import (
    TOKEN_TYPE_BEARER,
    TOKEN_TYPE_DPOP,
    AuthorizationDetail,
    TokenRequest,
    TokenResponse,
    parse_token_request,
)

__all__ = ["TOKEN_NS", "AccessGrant", "TokenEndpoint"]

TOKEN_NS = "vci_access_token"  # noqa: S105 - a namespace name, not a secret


@dataclass(frozen=True)
class AccessGrant:
    """What an access token stands for (stored under the token's SHA-256)."""

    offer_id: str
    authority_id: int
    configuration_ids: tuple[str, ...]
    #: credential_identifier → credential_configuration_id, when authorization_details were used (§6.2).
    identifiers: dict[str, str]
    jkt: str | None
    client_id: str | None
    #: The credential endpoint was used (delivered or deferred): the token now serves the notification and
    #: deferred credential endpoints only (OpenID4VCI §11: "MUST ensure the Access Token ... is valid at the
    #: Notification Endpoint").
    spent: bool = False
    #: The ``notification_id`` of the credential response this token received.
    notification_id: str | None = None
    #: SHA-256 of the deferred ``transaction_id`` this token may poll for (§9).
    transaction: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "o": self.offer_id,
            "a": self.authority_id,
            "c": list(self.configuration_ids),
            "i": self.identifiers,
            "jkt": self.jkt,
            "cid": self.client_id,
            "s": self.spent,
            "n": self.notification_id,
            "t": self.transaction,
        }

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> AccessGrant:
        return cls(
            offer_id=str(doc["o"]),
            authority_id=int(doc["a"]),  # type: ignore[call-overload]
            configuration_ids=tuple(doc["c"]),  # type: ignore[arg-type]
            identifiers=dict(doc["i"]),  # type: ignore[call-overload]
            jkt=doc["jkt"],  # type: ignore[arg-type]
            client_id=doc["cid"],  # type: ignore[arg-type]
            spent=bool(doc.get("s", False)),
            notification_id=doc.get("n"),  # type: ignore[arg-type]
            transaction=doc.get("t"),  # type: ignore[arg-type]
        )


class _Unread:
    """The default of ``TokenEndpoint._exchange``'s ``entry``: the code was not read by the caller."""


_UNREAD = _Unread()


class TokenEndpoint:
    def __init__(self, context: IssuerContext) -> None:
        self.context = context

    def exchange(
        self, tenant: Tenant, form: Iterable[tuple[str, str]], *, dpop_headers: list[str], url: str
    ) -> TokenResponse:
        ctx = self.context
        fast = ctx.pg_requests()
        if fast is not None:
            return self._exchange_pg(fast, tenant, form, dpop_headers=dpop_headers, url=url)
        with ctx.request_state() as (store, conn):  # 1.-6. and the token: one transaction on the SQL store
            jkt: str | None = None
            if dpop_headers:  # 1.
                jkt = ctx.dpop.verify(dpop_headers, method="POST", url=url, store=store).jkt
            request = parse_token_request(form)  # 2.
            return self._exchange(tenant, request, jkt, store, conn)

    def _exchange_pg(
        self, fast: PgRequests, tenant: Tenant, form: Iterable[tuple[str, str]], *, dpop_headers: list[str], url: str
    ) -> TokenResponse:
        """:meth:`exchange` on PostgreSQL (:mod:`issuer.pg_requests`): the ``jti`` recorded and the code read in one
        statement, the code taken, the offer redeemed and the token stored in another; each commits on its own. The
        order of the checks and what a refused request leaves behind are those of the one-transaction path: a
        refused request's ``jti`` stays recorded, a counted attempt stays counted, the code is taken only by the
        request that gets the token."""
        ctx = self.context
        store = ctx.store
        jkt: str | None = None
        jti: tuple[str, str, float] | None = None
        if dpop_headers:  # 1. (the jti is recorded with the code's read, below)
            proof = ctx.dpop.verify(dpop_headers, method="POST", url=url, record_jti=False)
            jkt = proof.jkt
            key, ttl = ctx.dpop.jti_entry(proof)
            jti = (DPOP_JTI_NS, key, fast.store_now() + ttl)
        try:
            request = parse_token_request(form)  # 2.
        except SsiError:
            if jti is not None and not store.remember_once(DPOP_JTI_NS, jti[1], jti[2] - fast.store_now()):
                raise ctx.dpop.replayed() from None
            raise
        code_key = digest_key(request.pre_authorized_code)
        if jti is None:
            entry = store.get(CODE_NS, code_key)  # 3.
        else:
            fresh, value = fast.jti_and_code(jti=jti, code=(CODE_NS, code_key), store_now=fast.store_now())
            if not fresh:
                raise ctx.dpop.replayed()
            entry = None if value is None else dict(json.loads(value))
        return self._exchange(tenant, request, jkt, store, None, entry=entry, code_key=code_key, fast=fast)

    def _exchange(
        self,
        tenant: Tenant,
        request: TokenRequest,
        jkt: str | None,
        store: EphemeralStore,
        conn: Connection | None,
        *,
        entry: dict[str, Any] | _Unread | None = _UNREAD,
        code_key: str | None = None,
        fast: PgRequests | None = None,
    ) -> TokenResponse:
        ctx = self.context
        if isinstance(entry, _Unread) or code_key is None:
            code_key = digest_key(request.pre_authorized_code)
            entry = store.get(CODE_NS, code_key)  # 3.
        if entry is None or entry.get("a") != tenant.authority.id:
            raise InvalidGrant("the pre-authorized code is wrong, used or expired", reason="unknown_code")
        offer_id: str = entry["o"]
        configuration_ids = tuple(str(c) for c in entry["c"])
        if jkt is None and not all(
            tenant.types[c].bearer_tokens_allowed for c in configuration_ids if c in tenant.types
        ):
            raise InvalidDpopProof("a DPoP proof is required at this token endpoint (HAIP)", reason="dpop_required")
        self._check_tx_code(entry, offer_id, request.tx_code, code_key, store=store, conn=conn)  # 4.
        identifiers: dict[str, str] = {}
        details: list[tuple[AuthorizationDetail, list[str]]] = []
        for detail in request.authorization_details:  # 5.
            if detail.credential_configuration_id not in configuration_ids:
                raise InvalidAuthorizationDetails(
                    "authorization_details asks for a credential that was not offered", reason="not_offered"
                )
            if detail.locations and tenant.credential_issuer not in detail.locations:
                raise InvalidAuthorizationDetails(
                    "authorization_details locations do not name this credential issuer", reason="wrong_location"
                )
            identifier = f"{detail.credential_configuration_id}-{b64url_encode(secrets.token_bytes(6))}"
            identifiers[identifier] = detail.credential_configuration_id
            details.append((detail, [identifier]))
        token = b64url_encode(secrets.token_bytes(32))
        grant = AccessGrant(
            offer_id=offer_id,
            authority_id=tenant.authority.id,
            configuration_ids=tuple(identifiers.values()) if identifiers else configuration_ids,
            identifiers=identifiers,
            jkt=jkt,
            client_id=request.client_id,
        )
        ttl = ctx.settings.access_token_ttl
        if fast is not None:  # 6. and the token in one statement
            store_now = fast.store_now()
            taken, redeemed = fast.redeem(
                code=(CODE_NS, code_key),
                offer_id=offer_id,
                doc_ns=OFFER_DOC_NS,
                token=(TOKEN_NS, digest_key(token), json.dumps(grant.to_json()), store_now + ttl),
                now=ctx.storage.now(),
                store_now=store_now,
            )
            if not taken:
                raise InvalidGrant("the pre-authorized code is wrong, used or expired", reason="code_used")
            if not redeemed:
                raise InvalidGrant("the offer has expired or was withdrawn", reason="offer_closed")
        else:
            if store.take(CODE_NS, code_key) is None:  # 6.
                raise InvalidGrant("the pre-authorized code is wrong, used or expired", reason="code_used")
            if not ctx.storage.redeem_offer(offer_id, conn=conn):
                raise InvalidGrant("the offer has expired or was withdrawn", reason="offer_closed")
            store.delete(OFFER_DOC_NS, offer_id)
            store.put(TOKEN_NS, digest_key(token), grant.to_json(), ttl)
        return TokenResponse(
            access_token=token,
            expires_in=int(ttl),
            token_type=TOKEN_TYPE_DPOP if jkt else TOKEN_TYPE_BEARER,
            authorization_details=details,
        )

    def _check_tx_code(
        self,
        entry: dict[str, object],
        offer_id: str,
        tx_code: str | None,
        code_key: str,
        *,
        store: EphemeralStore,
        conn: Connection | None,
    ) -> None:
        """§6.3: ``invalid_request`` when expected and missing or not expected and present; ``invalid_grant`` when
        wrong; after ``tx_code_max_attempts`` attempts the offer is dead."""
        ctx = self.context
        expected = entry.get("tx")
        if expected is None:
            if tx_code is not None:
                raise Oid4vciError(
                    "this offer has no transaction code; do not send tx_code", reason="unexpected_tx_code"
                )
            return
        if tx_code is None:
            raise Oid4vciError("this offer requires the transaction code (tx_code)", reason="missing_tx_code")
        limit = ctx.settings.tx_code_max_attempts
        attempt = store.incr(TX_ATTEMPTS_NS, offer_id, ctx.settings.offer_ttl)
        if attempt > limit:
            self._kill(offer_id, code_key, store, conn)
            raise InvalidGrant("too many wrong transaction codes; the offer is void", reason="offer_dead")
        if not hmac.compare_digest(str(expected), tx_code_mac(ctx.tx_code_secret, offer_id, tx_code)):
            if attempt >= limit:
                self._kill(offer_id, code_key, store, conn)
            raise InvalidGrant("the transaction code is wrong", reason="wrong_tx_code")

    def _kill(self, offer_id: str, code_key: str, store: EphemeralStore, conn: Connection | None) -> None:
        store.delete(CODE_NS, code_key)
        store.delete(OFFER_DOC_NS, offer_id)
        self.context.storage.kill_offer(offer_id, conn=conn)
