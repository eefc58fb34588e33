"""The PID provider's token endpoint: the Authorization Code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.5/§4.6)
and the Refresh Token grant (RFC 6749 §6) — both DPoP-bound (RFC 9449) and authenticated with the wallet attestation
(HAIP 1.0 §4.4.1).

Order of the checks:

1. DPoP proof (RFC 9449 §4.3) for ``POST`` at this URL with the server's nonce (§8: a missing or stale nonce is
   ``use_dpop_nonce`` with a fresh ``DPoP-Nonce``), its ``jti`` not seen before (§11.1) — HAIP 1.0 §4: tokens are
   sender-constrained, so a request without a DPoP proof is refused.
2. Client authentication: the wallet attestation and its PoP (:mod:`issuer.wallet_auth`), ``invalid_client``.
3. The grant:

   - ``authorization_code``: the code is taken atomically (single use, RFC 6749 §4.1.2 "MUST NOT be used more than
     once"); it must have been issued to this client and wallet instance (the attested instance key of the PAR
     request), ``redirect_uri`` must be identical to the pushed one (§4.1.3), ``code_verifier`` must be present and
     ``BASE64URL(SHA256(code_verifier)) == code_challenge`` (RFC 7636 §4.6, else ``invalid_grant``), and when the PAR
     request named ``dpop_jkt`` the DPoP key must be that key (RFC 9449 §10).
   - ``refresh_token``: bound to the DPoP key and the wallet instance it was issued to (RFC 9449 §5: "refresh tokens
     issued to public clients ... MUST be bound"; RFC 9700 §4.14.2), rotated on every use (the old one is taken
     atomically), refused once the card it derives from was reported lost.

   Every token issued from one authorization code is one **family**. A used code or a rotated-out refresh token is
   remembered with its family; presented again, it revokes the family — every refresh and access token of it
   (RFC 9700 §4.14.2: "one of them will present an invalidated refresh token, which will inform the authorization
   server of the breach ... it will revoke the active refresh token"; RFC 6749 §4.1.2: a code used more than once
   — "SHOULD revoke ... all tokens previously issued based on that authorization code").

4. The answer (RFC 6749 §5.1): a DPoP-bound ``access_token`` for one credential request, ``token_type`` ``DPoP``,
   ``expires_in``, and a new ``refresh_token`` (re-issuance without the card, until ``pid_refresh_token_ttl`` after
   the eID authentication: rotation hands out new refresh tokens, never a longer grant — a PID is not re-derived
   from eID data older than that).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from issuer.authorization import AUTH_CODE_NS, VerifiedIdentity
from issuer.context import IssuerContext, Tenant, digest_key
from issuer.wallet_auth import WalletClientAuth
from ssi.client_attestation import VerifiedClientAttestation
from ssi.encoding import b64url_encode
from ssi.errors import InvalidDpopProof, InvalidGrant, Oid4vciError, UnsupportedGrantType

__all__ = ["PID_REFRESH_NS", "PID_TOKEN_NS", "PidGrant", "PidTokenEndpoint", "lost_card_setting", "pkce_challenge"]

PID_TOKEN_NS: Final = "pid_access_token"  # noqa: S105 - a namespace name
PID_REFRESH_NS: Final = "pid_refresh_token"
#: Used codes (``c:``) and rotated-out refresh tokens (``r:``), by digest → their family (reuse detection).
PID_USED_NS: Final = "pid_grant_used"
#: Revoked token families.
PID_FAMILY_REVOKED_NS: Final = "pid_family_revoked"
#: How long a used code is remembered (it lives 60 s; reuse later than this finds nothing to revoke).
_USED_CODE_TTL: Final = 600.0
AUTHORIZATION_CODE: Final = "authorization_code"
REFRESH_TOKEN: Final = "refresh_token"  # noqa: S105 - a grant type
#: RFC 7636 §4.1: "code_verifier = high-entropy cryptographic random STRING using the unreserved characters ...
#: with a minimum length of 43 characters and a maximum length of 128 characters".
_VERIFIER: Final = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 §4.2 S256: ``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))``."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def lost_card_setting(pseudonym: str) -> str:
    """The ``setting`` row that marks a card (by its subject pseudonym) reported lost."""
    return f"pid_lost_card:{pseudonym}"


@dataclass(frozen=True)
class PidGrant:
    """What a PID access or refresh token stands for."""

    authority_id: int
    identity: VerifiedIdentity
    client_id: str
    instance_jkt: str
    jkt: str
    subject_pseudonym: str
    #: The access token received its credentials (it is single-use at the credential endpoint).
    spent: bool = False
    #: The token family: every token issued from one authorization code (revoked together on reuse).
    family: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.authority_id,
            "v": self.identity.to_json(),
            "cid": self.client_id,
            "ijkt": self.instance_jkt,
            "jkt": self.jkt,
            "sp": self.subject_pseudonym,
            "s": self.spent,
            "f": self.family,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PidGrant:
        return cls(
            authority_id=int(doc["a"]),
            identity=VerifiedIdentity.from_json(doc["v"]),
            client_id=str(doc["cid"]),
            instance_jkt=str(doc["ijkt"]),
            jkt=str(doc["jkt"]),
            subject_pseudonym=str(doc["sp"]),
            spent=bool(doc.get("s", False)),
            family=str(doc.get("f", "")),
        )


class PidTokenEndpoint:
    def __init__(self, context: IssuerContext, client_auth: WalletClientAuth, *, refresh_ttl: float) -> None:
        self.context = context
        self.client_auth = client_auth
        self.refresh_ttl = refresh_ttl

    def revoked(self, grant: PidGrant) -> bool:
        """The grant's family was revoked (a reused code or refresh token, RFC 9700 §4.14.2)."""
        return bool(grant.family) and self.context.store.get(PID_FAMILY_REVOKED_NS, grant.family) is not None

    def _revoke_family(self, family: str) -> None:
        # Every token of the family was issued before now and lives at most refresh_ttl: the mark outlives them.
        self.context.store.replace(PID_FAMILY_REVOKED_NS, family, {}, self.refresh_ttl)

    def _reused(self, kind: str, key: str) -> bool:
        """``True`` when ``key`` (a code's or refresh token's digest) was used before; its family is revoked."""
        used = self.context.store.get(PID_USED_NS, f"{kind}:{key}")
        if used is None or not used.get("f"):
            return False
        self._revoke_family(str(used["f"]))
        return True

    def exchange(
        self,
        tenant: Tenant,
        form: Mapping[str, str],
        *,
        dpop_headers: list[str],
        attestations: list[str],
        pops: list[str],
        url: str,
        pseudonym_of: Any,
    ) -> dict[str, Any]:
        ctx = self.context
        if not dpop_headers:  # 1.
            raise InvalidDpopProof("a DPoP proof is required at this token endpoint (HAIP)", reason="dpop_required")
        proof = ctx.dpop.verify(dpop_headers, method="POST", url=url)
        client = self.client_auth.verify(  # 2.
            attestations, pops, audience=tenant.credential_issuer, client_id=form.get("client_id")
        )
        grant_type = form.get("grant_type")  # 3.
        if grant_type == AUTHORIZATION_CODE:
            grant = self._authorization_code(tenant, form, client, proof.jkt, pseudonym_of)
        elif grant_type == REFRESH_TOKEN:
            grant = self._refresh(tenant, form, client, proof.jkt)
        elif grant_type is None:
            raise Oid4vciError("grant_type is required", reason="missing_grant_type")
        else:
            raise UnsupportedGrantType(
                "this authorization server issues PIDs with authorization_code and refresh_token grants",
                reason="unsupported_grant_type",
            )
        access_token = b64url_encode(secrets.token_bytes(32))
        refresh_token = b64url_encode(secrets.token_bytes(32))
        ttl = ctx.settings.access_token_ttl
        ctx.store.put(PID_TOKEN_NS, digest_key(access_token), grant.to_json(), ttl)
        # The grant ends pid_refresh_token_ttl after the eID authentication, however often it was rotated.
        refresh_ttl = max(1.0, grant.identity.authenticated_at + self.refresh_ttl - ctx.clock())
        ctx.store.put(PID_REFRESH_NS, digest_key(refresh_token), grant.to_json(), refresh_ttl)
        return {  # 4.
            "access_token": access_token,
            "token_type": "DPoP",
            "expires_in": int(ttl),
            "refresh_token": refresh_token,
            "scope": grant.identity.request.scope,
        }

    def _authorization_code(
        self, tenant: Tenant, form: Mapping[str, str], client: VerifiedClientAttestation, jkt: str, pseudonym_of: Any
    ) -> PidGrant:
        code = form.get("code")
        if not code or len(code) > 512:
            raise Oid4vciError("code is required", reason="missing_code")
        verifier = form.get("code_verifier")
        if verifier is None:
            # RFC 7636 §4.5 code_verifier REQUIRED; the code is not consumed by a request this malformed.
            raise Oid4vciError("code_verifier is required (PKCE, RFC 7636 §4.5)", reason="pkce_verifier_missing")
        key = digest_key(code)
        entry = self.context.store.take(AUTH_CODE_NS, key)
        if entry is None:
            if self._reused("c", key):
                raise InvalidGrant(
                    "the authorization code was used before; the tokens issued with it are revoked (RFC 6749 §4.1.2)",
                    reason="code_reuse",
                )
            raise InvalidGrant("the authorization code is wrong, used or expired", reason="unknown_code")
        family = b64url_encode(secrets.token_bytes(16))
        self.context.store.replace(PID_USED_NS, f"c:{key}", {"f": family}, _USED_CODE_TTL)
        verified = VerifiedIdentity.from_json(entry)
        request = verified.request
        if request.authority_id != tenant.authority.id:
            raise InvalidGrant("the authorization code was issued by another issuer", reason="unknown_code")
        if request.client_id != client.client_id or request.instance_jkt != client.instance_key.thumbprint():
            raise InvalidGrant("the authorization code was issued to another client", reason="code_wrong_client")
        if form.get("redirect_uri") != request.redirect_uri:
            raise InvalidGrant(
                "redirect_uri differs from the authorization request (RFC 6749 §4.1.3)", reason="redirect_uri"
            )
        if not _VERIFIER.match(verifier) or not hmac.compare_digest(pkce_challenge(verifier), request.code_challenge):
            raise InvalidGrant("the code_verifier does not match the code_challenge (RFC 7636 §4.6)", reason="pkce")
        if request.dpop_jkt is not None and request.dpop_jkt != jkt:
            raise InvalidGrant("the DPoP key is not the one named by dpop_jkt (RFC 9449 §10)", reason="dpop_jkt")
        return PidGrant(
            authority_id=tenant.authority.id,
            identity=verified,
            client_id=client.client_id,
            instance_jkt=client.instance_key.thumbprint(),
            jkt=jkt,
            subject_pseudonym=pseudonym_of(tenant, verified.restricted_id),
            family=family,
        )

    def _refresh(
        self, tenant: Tenant, form: Mapping[str, str], client: VerifiedClientAttestation, jkt: str
    ) -> PidGrant:
        ctx = self.context
        token = form.get("refresh_token")
        if not token or len(token) > 512:
            raise Oid4vciError("refresh_token is required", reason="missing_refresh_token")
        key = digest_key(token)
        entry = ctx.store.get(PID_REFRESH_NS, key)
        if entry is None:
            self._refresh_reuse(key)
            raise InvalidGrant("the refresh token is unknown, used or expired", reason="unknown_refresh_token")
        grant = PidGrant.from_json(entry)
        if grant.authority_id != tenant.authority.id:
            raise InvalidGrant("the refresh token was issued by another issuer", reason="unknown_refresh_token")
        if self.revoked(grant):
            ctx.store.delete(PID_REFRESH_NS, key)
            raise InvalidGrant("the refresh token was revoked (a token of its grant was reused)", reason="revoked")
        if grant.jkt != jkt:
            raise InvalidGrant("the refresh token is bound to another DPoP key (RFC 9449 §5)", reason="refresh_jkt")
        if grant.client_id != client.client_id or grant.instance_jkt != client.instance_key.thumbprint():
            raise InvalidGrant("the refresh token was issued to another client", reason="refresh_wrong_client")
        if ctx.clock() >= grant.identity.authenticated_at + self.refresh_ttl:
            ctx.store.delete(PID_REFRESH_NS, key)
            raise InvalidGrant(
                "re-issuance without the card has ended (pid_refresh_token_ttl since the eID authentication)",
                reason="refresh_expired",
            )
        if ctx.storage.get_setting(lost_card_setting(grant.subject_pseudonym)) is not None:
            ctx.store.delete(PID_REFRESH_NS, key)
            raise InvalidGrant("the eID card this PID derives from was reported lost", reason="card_lost")
        if ctx.store.take(PID_REFRESH_NS, key) is None:  # rotation: of concurrent uses exactly one succeeds
            self._refresh_reuse(key)
            raise InvalidGrant("the refresh token is unknown, used or expired", reason="unknown_refresh_token")
        if grant.family:
            ctx.store.replace(PID_USED_NS, f"r:{key}", {"f": grant.family}, self.refresh_ttl)
        return replace(grant, spent=False)

    def _refresh_reuse(self, key: str) -> None:
        if self._reused("r", key):
            raise InvalidGrant(
                "the refresh token was used before; its grant is revoked (RFC 9700 §4.14.2)", reason="refresh_reuse"
            )
