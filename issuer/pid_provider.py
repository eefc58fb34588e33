"""The issuer's PID provider role: the German PID (``urn:eudi:pid:de:1``, :mod:`ssi.pid`) issued through the eID.

One authority (``GOVSSI_ISSUER_PID_AUTHORITY``, e.g. ``pid``) is the PID provider; its Credential Issuer Identifier
``{public_url}/issuers/{slug}`` is its own authorization server. The flow is the Authorization Code Flow as HAIP 1.0
requires it — PAR (:mod:`issuer.par`), the eID as the authorization step (:mod:`issuer.authorization`), the token
endpoint with PKCE, DPoP nonces, wallet attestation and refresh tokens (:mod:`issuer.pid_tokens`) — and this module's
Credential Endpoint (OpenID4VCI 1.0 §8):

1. the access token (DPoP scheme, RFC 9449 §7.1) and its DPoP proof (``ath``, the token's key, the server nonce);
2. the request (§8.2) names the ``pid`` configuration; proofs are ``jwt`` key proofs (Appendix F.1) each carrying
   the wallet provider's **key attestation** (Appendix D.1), validated against the accepted wallet providers, with
   the ``c_nonce``, the proof key among the attested keys, and key storage meeting the provider's requirement
   (``key_attestations_required``, §12.2.4) — the ``cnf`` keys of a PID live in certified hardware;
3. the PID claims are computed now from the verified eID data (:func:`ssi.pid.pid_claims`: ages at issuance,
   14-day validity capped by the document's expiry), one SD-JWT VC per key with its own status list entry, signed
   with the authority's key (``x5c``);
4. the issuance is recorded in one transaction (issuance, status entries with the card's **subject pseudonym**,
   audit entry), and the token is spent.

**Lost cards.** The card's restricted identification for the provider's sector (TR-03110-2 RI) is the card's
pseudonym at this provider; the issuer stores only its keyed pseudonym (:mod:`issuer.subjects`, kind ``eid_card``)
with every PID. The eID never releases the document number (the real one neither), so a report "card T22000129 is
lost" goes through the card register (:class:`CardRegister`): document number → the card's RI public key, from which
the provider computes the sector identifier with its sector key (:func:`ssi.eid.sector_identifier`, TR-03110-3
§2.7.2), then the pseudonym, and revokes every PID derived from the card; refresh tokens of that card stop working.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography import x509
from sqlalchemy.exc import IntegrityError

from issuer import tables as t
from issuer.authorization import AuthorizationEndpoint, identity_from_json
from issuer.context import IssuerContext, Tenant, digest_key
from issuer.credentials import Delivery, parse_authorization
from issuer.par import PID_SCOPE, PushedAuthorizationRequests
from issuer.pid_tokens import PID_TOKEN_NS, PidGrant, PidTokenEndpoint, lost_card_setting
from issuer.records import CredentialRecords, StatusChange
from issuer.settings import IssuerSettings
from issuer.subjects import subject_pseudonym
from issuer.wallet_auth import WalletClientAuth
from ssi.client_attestation import AUTH_METHOD
from ssi.eid import DemoEidPki, EidTrustAnchors, TerminalCredentials, demo_pki, sector_identifier
from ssi.eid.demo import PID_TERMINAL_CHR
from ssi.encoding import b64url_encode
from ssi.errors import (
    CredentialRequestDenied,
    InvalidCredentialRequest,
    InvalidDpopProof,
    InvalidProof,
    InvalidToken,
    KeyError_,
    SsiError,
    UnknownCredentialConfiguration,
)
from ssi.keys import PrivateKey, PublicKey
from ssi.oid4vci import (
    ClaimDescription,
    CredentialConfiguration,
    CredentialIssuerMetadata,
    CredentialResponse,
    Display,
    VerifiedKeyProof,
    check_distinct_keys,
    parse_credential_request,
)
from ssi.oid4vci.key_attestation import ISO_18045_HIGH, verify_attested_proof_jwt
from ssi.pid import AGE_THRESHOLDS, PID_VCT, pid_claims
from ssi.sd_jwt.vc import issue_sd_jwt_vc
from ssi.x509 import load_pem_certificates

__all__ = [
    "EID_CARD_KIND",
    "PID_CONFIGURATION_ID",
    "CardRegister",
    "DemoCardRegister",
    "PidConfig",
    "PidProvider",
]

log = logging.getLogger("govssi.issuer.pid")

PID_CONFIGURATION_ID: Final = "pid"
#: The subject kind of the card pseudonym (:mod:`issuer.subjects`).
EID_CARD_KIND: Final = "eid_card"
#: §12.2.4 ``key_attestations_required``: the PID's keys in hardware rated against high attack potential.
REQUIRED_KEY_STORAGE: Final = (ISO_18045_HIGH,)
_DELIVERY_ATTEMPTS: Final = 5


class CardRegister(Protocol):
    """The ID card register's answer a revocation needs: a document's restricted-identification public key
    (TR-03110-3 §2.7.2: recorded at personalisation), or ``None`` for an unknown document number."""

    def ri_public_key(self, document_number: str) -> PublicKey | None: ...


@dataclass(frozen=True)
class DemoCardRegister:
    """The register of the simulator's test cards (their keys derive from public labels, as the cards' do)."""

    keys: Mapping[str, PublicKey]

    @classmethod
    def of_test_citizens(cls) -> DemoCardRegister:
        from ssi.eid import demo_key
        from wallet_sim.eid.citizens import load_citizens

        return cls(
            {
                c.document_number.upper(): demo_key(
                    f"card {c.id} {c.document_number} restricted identification"
                ).public_key
                for c in load_citizens()
            }
        )

    def ri_public_key(self, document_number: str) -> PublicKey | None:
        return self.keys.get(document_number.replace(" ", "").upper())


@dataclass
class PidConfig:
    """What the PID provider role needs besides the issuer: its authority, its eID terminal (certificate, key and
    sector key), the eID trust anchors (CSCA, Smart-eID CA), the accepted wallet providers, the card register."""

    authority: str
    terminal: TerminalCredentials
    sector_key: PrivateKey
    eid_anchors: EidTrustAnchors
    wallet_providers: Sequence[x509.Certificate]
    card_register: CardRegister | None = None
    accepted_sources: tuple[str, ...] = ("card",)
    refresh_ttl: float = 30 * 86400.0
    names: tuple[str, str] = ("PID-Provider (Demo)", "PID provider (demo)")

    @classmethod
    def demo(
        cls,
        authority: str,
        *,
        wallet_providers: Sequence[x509.Certificate],
        pki: DemoEidPki | None = None,
        **values: Any,
    ) -> PidConfig:
        pki = pki or demo_pki()
        return cls(
            authority=authority,
            terminal=pki.pid_provider,
            sector_key=pki.sector_key(PID_TERMINAL_CHR),
            eid_anchors=pki.trust_anchors,
            wallet_providers=list(wallet_providers),
            card_register=values.pop("card_register", None) or DemoCardRegister.of_test_citizens(),
            **values,
        )

    @classmethod
    def from_settings(cls, settings: IssuerSettings) -> PidConfig | None:
        """``GOVSSI_ISSUER_PID_AUTHORITY`` set: the demo eID PKI (development: its keys are public) and the wallet
        providers of ``GOVSSI_ISSUER_PID_WALLET_PROVIDERS`` (PEM), or the demo wallet provider with
        ``GOVSSI_DEV_ALLOW_HTTP`` only."""
        if not settings.pid_authority:
            return None
        path: Path | None = settings.pid_wallet_providers
        if path is not None:
            providers = load_pem_certificates(path.read_bytes())
        elif settings.dev_allow_http:
            from wallet_sim.provider import WalletProvider

            providers = [WalletProvider.demo().ca_certificate]
        else:
            raise SsiError(
                "GOVSSI_ISSUER_PID_WALLET_PROVIDERS (PEM of accepted wallet provider CAs) is required",
                reason="pid_wallet_providers",
            )
        return cls.demo(
            settings.pid_authority,
            wallet_providers=providers,
            accepted_sources=settings.pid_eid_sources,
            refresh_ttl=settings.pid_refresh_token_ttl,
        )


def _claim_descriptions() -> tuple[ClaimDescription, ...]:
    def label(de: str, en: str) -> tuple[Display, ...]:
        return (Display("de-DE", de), Display("en-US", en))

    items: list[ClaimDescription] = [
        ClaimDescription(("given_name",), True, "always", label("Vornamen", "Given names")),
        ClaimDescription(("family_name",), True, "always", label("Familienname", "Family name")),
        ClaimDescription(("birthdate",), True, "always", label("Geburtsdatum", "Date of birth")),
        ClaimDescription(("birth_family_name",), False, "always", label("Geburtsname", "Birth name")),
        ClaimDescription(("place_of_birth",), False, "always", label("Geburtsort", "Place of birth")),
        ClaimDescription(("place_of_birth", "locality"), False, "always", label("Ort", "Locality")),
        ClaimDescription(("nationalities",), False, "always", label("Staatsangehörigkeit", "Nationality")),
        ClaimDescription(("address",), False, "always", label("Anschrift", "Address")),
        ClaimDescription(("address", "street_address"), False, "always", label("Straße", "Street")),
        ClaimDescription(("address", "postal_code"), False, "always", label("Postleitzahl", "Postal code")),
        ClaimDescription(("address", "locality"), False, "always", label("Ort", "Locality")),
        ClaimDescription(("address", "country"), False, "always", label("Land", "Country")),
        ClaimDescription(("academic_title",), False, "always", label("Doktorgrad", "Doctoral degree")),
        ClaimDescription(("also_known_as",), False, "always", label("Ordens-/Künstlername", "Religious/artistic name")),
        ClaimDescription(("age_equal_or_over",), True, "always", label("Alter mindestens", "Age at least")),
    ]
    items += [
        ClaimDescription(("age_equal_or_over", str(age)), True, "always", label(f"{age} Jahre", f"{age} years"))
        for age in AGE_THRESHOLDS
    ]
    items += [
        ClaimDescription(("issuing_country",), True, "never", label("Ausstellungsland", "Issuing country")),
        ClaimDescription(("issuing_authority",), True, "never", label("Ausstellende Stelle", "Issuing authority")),
        ClaimDescription(("source_document_type",), True, "never", label("Quelldokument", "Source document")),
    ]
    return tuple(items)


PID_DISPLAY: Final = (
    Display(
        "de-DE", "Personalausweis-PID", "Personenidentifikationsdaten aus dem Online-Ausweis", "#00305E", "#FFFFFF"
    ),
    Display("en-US", "German PID", "Person identification data from the eID", "#00305E", "#FFFFFF"),
)


@dataclass
class PidProvider:
    context: IssuerContext
    config: PidConfig
    records: CredentialRecords
    par: PushedAuthorizationRequests = field(init=False)
    authorization: AuthorizationEndpoint = field(init=False)
    tokens: PidTokenEndpoint = field(init=False)
    client_auth: WalletClientAuth = field(init=False)

    def __post_init__(self) -> None:
        ctx, config = self.context, self.config
        self.client_auth = WalletClientAuth(
            config.wallet_providers, ctx.store, ctx.clock, max_pop_age=ctx.settings.proof_max_age
        )
        self.par = PushedAuthorizationRequests(ctx)
        self.authorization = AuthorizationEndpoint(
            ctx,
            self.par,
            terminal=config.terminal,
            anchors=config.eid_anchors,
            accepted_sources=config.accepted_sources,
        )
        self.tokens = PidTokenEndpoint(ctx, self.client_auth, refresh_ttl=config.refresh_ttl)

    # -- setup -------------------------------------------------------------------------------------------------------

    def ensure_authority(self) -> Tenant:
        """The PID provider's authority (created on first start)."""
        storage = self.context.storage
        if storage.authority(self.config.authority) is None:
            with contextlib.suppress(IntegrityError):  # another instance made it at the same moment
                authority = storage.create_authority(self.config.authority, *self.config.names)
                given = self.context.settings.pid_admin_key
                if given is not None:
                    storage.create_api_key(authority.id, "pid-bootstrap", key=given.get_secret_value())
                else:  # a generated key would have to be logged; secrets do not go into logs
                    log.warning(
                        "created the PID provider authority without an API key (set GOVSSI_ISSUER_PID_ADMIN_KEY on "
                        "its first start to use its admin API)",
                        extra={"fields": {"authority": authority.slug}},
                    )
        return self.context.tenant(self.config.authority)

    @property
    def slug(self) -> str:
        return self.config.authority

    def tenant(self) -> Tenant:
        return self.context.tenant(self.config.authority)

    # -- metadata ----------------------------------------------------------------------------------------------------

    def configuration(self) -> dict[str, Any]:
        algs = self.context.settings.proof_algorithms
        config = CredentialConfiguration(
            vct=PID_VCT,
            scope=PID_SCOPE,
            proof_signing_alg_values_supported=tuple(a for a in algs if a == "ES256") or ("ES256",),
            display=PID_DISPLAY,
            claims=_claim_descriptions(),
        ).to_json()
        config["proof_types_supported"]["jwt"]["key_attestations_required"] = {
            "key_storage": list(REQUIRED_KEY_STORAGE)
        }
        return config

    def credential_issuer_metadata(self, tenant: Tenant) -> dict[str, Any]:
        """OpenID4VCI 1.0 §12.2.4 for the PID provider (no deferred or notification endpoint)."""
        extensions: dict[str, Any] = {}
        if tenant.authority.did:
            extensions["did"] = tenant.authority.did
        return CredentialIssuerMetadata(
            credential_issuer=tenant.credential_issuer,
            credential_endpoint=tenant.credential_endpoint,
            nonce_endpoint=tenant.nonce_endpoint,
            credential_configurations_supported={PID_CONFIGURATION_ID: self.configuration()},
            batch_size=self.context.settings.batch_size,
            display=(Display("de-DE", tenant.authority.name_de), Display("en-US", tenant.authority.name_en)),
            extensions=extensions,
        ).to_json()

    def authorization_server_metadata(self, tenant: Tenant) -> dict[str, Any]:
        """RFC 8414 §2 with RFC 9126 §5 (PAR), RFC 7636 (PKCE), RFC 9207 §3 (``iss``), RFC 9449 §5.1 (DPoP) and the
        attestation-based client authentication (HAIP 1.0 §4.4.1)."""
        issuer = tenant.credential_issuer
        algs = list(self.context.settings.proof_algorithms)
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": tenant.token_endpoint,
            "pushed_authorization_request_endpoint": f"{issuer}/par",
            "require_pushed_authorization_requests": True,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": [PID_SCOPE],
            "token_endpoint_auth_methods_supported": [AUTH_METHOD],
            "client_attestation_signing_alg_values_supported": ["ES256"],
            "client_attestation_pop_signing_alg_values_supported": ["ES256"],
            "dpop_signing_alg_values_supported": algs,
            "authorization_response_iss_parameter_supported": True,
            "pre-authorized_grant_anonymous_access_supported": False,
        }

    # -- tokens ------------------------------------------------------------------------------------------------------

    def pseudonym(self, tenant: Tenant, restricted_id_hex: str) -> str:
        return subject_pseudonym(self.context.subject_secret, tenant.authority.id, EID_CARD_KIND, restricted_id_hex)

    def token(
        self,
        tenant: Tenant,
        form: Mapping[str, str],
        *,
        dpop_headers: list[str],
        attestations: list[str],
        pops: list[str],
    ) -> dict[str, Any]:
        return self.tokens.exchange(
            tenant,
            form,
            dpop_headers=dpop_headers,
            attestations=attestations,
            pops=pops,
            url=tenant.token_endpoint,
            pseudonym_of=self.pseudonym,
        )

    # -- credential endpoint -----------------------------------------------------------------------------------------

    def _authorize(self, tenant: Tenant, authorization: str | None, dpop_headers: list[str]) -> tuple[str, PidGrant]:
        presented = parse_authorization(authorization)
        if presented.scheme != "DPoP":
            # RFC 9449 §7.1: a DPoP-bound token presented as a Bearer token is refused.
            raise InvalidToken("PID access tokens are DPoP-bound; use the DPoP scheme", reason="dpop_bound_token")
        entry = self.context.store.get(PID_TOKEN_NS, digest_key(presented.token))
        if entry is None:
            raise InvalidToken("the access token is unknown, spent or expired", reason="unknown_token")
        grant = PidGrant.from_json(entry)
        if grant.authority_id != tenant.authority.id:
            raise InvalidToken("the access token was not issued by this credential issuer", reason="wrong_issuer")
        if self.tokens.revoked(grant):  # RFC 9700 §4.14.2: a reused code or refresh token revoked its family
            raise InvalidToken("the access token was revoked", reason="revoked_token")
        if not dpop_headers:
            raise InvalidDpopProof("a DPoP proof is required with a DPoP-bound token", reason="dpop_missing")
        self.context.dpop.verify(
            dpop_headers, method="POST", url=tenant.credential_endpoint, access_token=presented.token, jkt=grant.jkt
        )
        return presented.token, grant

    def issue(
        self, tenant: Tenant, body: Mapping[str, Any], authorization: str | None, *, dpop_headers: list[str]
    ) -> CredentialResponse:
        ctx = self.context
        token, grant = self._authorize(tenant, authorization, dpop_headers)  # 1.
        request = parse_credential_request(body, max_proofs=ctx.settings.batch_size)  # 2.
        if request.credential_identifier is not None:
            raise InvalidCredentialRequest(
                "this token response named no credential_identifiers; use credential_configuration_id (§8.2)",
                reason="unexpected_identifier",
            )
        if request.credential_configuration_id != PID_CONFIGURATION_ID:
            raise UnknownCredentialConfiguration("this provider issues the pid configuration", reason="not_pid")
        if request.proof_type != "jwt" or not request.proofs:
            raise InvalidProof("jwt key proofs with key attestations are required", reason="missing_proofs")
        now = ctx.clock()
        proofs: list[VerifiedKeyProof] = []
        for proof in request.proofs:
            verified, _attestation = verify_attested_proof_jwt(
                proof,
                anchors=self.config.wallet_providers,
                audience=tenant.credential_issuer,
                now=now,
                algorithms=("ES256",),
                client_id=grant.client_id,
                nonce_required=True,
                required_key_storage=REQUIRED_KEY_STORAGE,
            )
            if verified.public_key.jwk.get("crv") != "P-256":
                raise InvalidProof("the PID's cnf key is a P-256 key", reason="pid_key_not_p256")
            proofs.append(verified)
        check_distinct_keys(proofs)
        ctx.c_nonces.consume({p.nonce for p in proofs if p.nonce is not None}, tenant.authority.id)
        if ctx.store.take(PID_TOKEN_NS, digest_key(token)) is None:  # spent: one credential request per token
            raise InvalidToken("the access token is unknown, spent or expired", reason="unknown_token")
        if ctx.storage.get_setting(lost_card_setting(grant.subject_pseudonym)) is not None:
            raise CredentialRequestDenied("the eID card was reported lost", reason="card_lost")
        delivery = self.deliver(tenant, grant, proofs)  # 3. 4.
        log.info(
            "pid issued",
            extra={
                "fields": {"authority": tenant.authority.slug, "count": len(proofs), "source": grant.identity.source}
            },
        )
        return delivery.response()

    def deliver(self, tenant: Tenant, grant: PidGrant, proofs: Sequence[VerifiedKeyProof]) -> Delivery:
        ctx = self.context
        keys = ctx.keys(tenant)
        for attempt in range(_DELIVERY_ATTEMPTS):
            now = ctx.clock()
            pid = pid_claims(identity_from_json(grant.identity.identity), now=now)
            allocations = ctx.statuses.choose(
                authority_id=tenant.authority.id, credential_issuer=tenant.credential_issuer, count=len(proofs)
            )
            credentials = [
                issue_sd_jwt_vc(
                    pid.claims,
                    keys.signer,
                    vct=pid.vct,
                    issuer=tenant.credential_issuer,
                    holder_jwk=proof.public_key,
                    status=allocation.status_claim(),
                    disclosable=pid.disclosable,
                    expires_at=pid.expires_at,
                    clock=lambda issued=float(pid.issued_at): issued,
                    header={"x5c": keys.x5c},
                ).compact
                for proof, allocation in zip(proofs, allocations, strict=True)
            ]
            issuance_id = "n" + b64url_encode(secrets.token_bytes(12))
            try:
                with ctx.storage.engine.begin() as conn:
                    conn.execute(
                        t.issuance.insert().values(
                            id=issuance_id,
                            authority_id=tenant.authority.id,
                            offer_id=f"pid-{issuance_id}",
                            type_id=PID_CONFIGURATION_ID,
                            count=len(credentials),
                            issued_at=now,
                        )
                    )
                    ids = ctx.statuses.record(
                        conn,
                        allocations,
                        authority_id=tenant.authority.id,
                        type_id=PID_CONFIGURATION_ID,
                        offer_id=None,
                        holder_thumbprints=[p.thumbprint for p in proofs],
                        expires_at=pid.expires_at,
                        issuance_id=issuance_id,
                        subject_pseudonym=grant.subject_pseudonym,
                    )
                    ctx.audit_append(
                        conn,
                        actor=f"wallet:{grant.client_id}"[:200],
                        tenant=tenant,
                        action="pid.issue",
                        subjects=[f"issuance:{issuance_id}", *(f"credential:{i}" for i in ids)],
                    )
            except IntegrityError:
                if attempt == _DELIVERY_ATTEMPTS - 1:
                    raise
                continue
            return Delivery(credentials, issuance_id, ids)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- lost cards --------------------------------------------------------------------------------------------------

    def card_identifier(self, *, document_number: Any = None, ri_key: Any = None) -> str:
        """A card's restricted identification at this provider (hex; the subject value whose keyed pseudonym its PIDs
        carry): from its document number (via the card register) or its RI public key."""
        if (document_number is None) == (ri_key is None):
            raise SsiError(
                'name the card by "document_number" or by "restricted_identification_key" (a JWK)',
                reason="lost_card_request",
            )
        if document_number is not None:
            if not isinstance(document_number, str) or not 0 < len(document_number) <= 40:
                raise SsiError("document_number is a string", reason="lost_card_request")
            if self.config.card_register is None:
                raise SsiError("no card register is configured; give the RI key", reason="no_card_register")
            public = self.config.card_register.ri_public_key(document_number)
            if public is None:
                raise SsiError("the card register knows no such document number", reason="unknown_document")
        else:
            if not isinstance(ri_key, dict):
                raise SsiError("restricted_identification_key is a public JWK", reason="lost_card_request")
            try:
                public = PublicKey.from_jwk(ri_key)
            except KeyError_:
                raise SsiError(
                    "restricted_identification_key is not a usable key", reason="lost_card_request"
                ) from None
        try:
            restricted_id = sector_identifier(self.config.sector_key, public)
        except SsiError:
            raise SsiError("the RI key is not a P-256 key", reason="lost_card_request") from None
        return restricted_id.hex()

    def report_lost_card(self, tenant: Tenant, card: str, *, actor: str) -> StatusChange:
        """Mark the card (its restricted identification, :meth:`card_identifier`) lost — its refresh tokens stop
        working — and revoke every PID derived from it."""
        self.context.storage.put_setting(
            lost_card_setting(self.pseudonym(tenant, card)), str(int(self.context.clock()))
        )
        return self.records.change_subject(tenant, EID_CARD_KIND, card, "revoke", actor=actor)
