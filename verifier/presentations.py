"""Verifying the presentations in a VP Token (OpenID4VP 1.0 §8.6) — each SD-JWT VC on its own, then the set against
the DCQL query.

Per presentation (:meth:`CredentialVerifier.verify`), in order:

1. SD-JWT VC (RFC 9901 §7, draft-ietf-oauth-sd-jwt-vc §3): the issuer's signature with the key from ``x5c``,
   validated to the configured trust anchors (HAIP 1.0 §6.1.1), or — govssi's chain route — from the ``kid`` DID URL
   of a did:ethr issuer, taken as it was at ``iat`` and never when marked compromised
   (``ledger.did_ethr.SigningKeyHistory``); ``typ`` ``dc+sd-jwt``; validity (``exp``, ``nbf``, ``iat``); the
   Key Binding JWT (§7.3: ``aud`` = our Client Identifier, ``nonce`` = this request's, ``iat`` fresh, ``sd_hash``)
   unless the Credential Query waived holder binding (B.3) and none was sent.
2. ``iss``: an https URL that the certificate names (a ``uniformResourceIdentifier`` SAN, or its host a ``dNSName``
   SAN), or the DID whose key signed.
3. Trust: the issuer (its certificate key's SHA-256, or its DID) accredited in the trusted-issuer registry for the
   credential's ``vct`` at ``iat`` and now; its key not marked compromised on its DID.
4. Status (:class:`verifier.status.StatusChecker`): valid, in a list signed by the same issuer and anchored.

Then (:func:`verify_vp_token`): KB-JWT failures reject the whole response (§14.1.2: "If any Verifiable Presentation
in the response does not contain the correct nonce value, the response MUST be rejected"); other failing
presentations are discarded (§8.6); the rest must satisfy the query (``ssi.dcql.check_response``). When they do not
and a presentation was discarded, the discarded presentation's error is the reason given.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from ssi.dcql import (
    FORMAT_LDP_VC,
    FORMAT_SD_JWT_VC,
    TRUSTED_AUTHORITY_CHAIN,
    CheckedPresentation,
    CredentialDescription,
    CredentialQuery,
    DcqlQuery,
    check_response,
    describe_verified_sd_jwt,
)
from ssi.encoding import b64url_json
from ssi.errors import (
    CertificateError,
    CredentialRefused,
    DcqlError,
    DidError,
    EncodingError,
    JoseError,
    KeyBindingError,
    SdJwtError,
    SsiError,
    TokenExpired,
    TokenNotYetValid,
)
from ssi.jose import numeric_date
from ssi.keys import PublicKey
from ssi.sd_jwt import VerificationPolicy, split_compact, split_json
from ssi.sd_jwt.vc import verify_sd_jwt_vc
from ssi.x5c_cache import X5cChainCache
from ssi.x509 import parse_x5c, spki_sha256, verify_x5c
from verifier.status import StatusChecker, StatusOutcome
from verifier.trust import IssuerStanding, IssuerTrust, TrustUnavailable

__all__ = ["CredentialVerifier", "VerifiedCredential", "VerifiedResponse", "verify_vp_token"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class VerifiedCredential:
    """One presentation that passed every check of the module docstring."""

    description: CredentialDescription
    issuer: str | None
    vct: str | None
    issued_at: float | None
    expires_at: float | None
    key_route: str
    standing: IssuerStanding | None
    status: StatusOutcome


@dataclass(frozen=True)
class VerifiedResponse:
    """A VP Token that satisfies the query: per Credential Query id the checked presentations (claims projected onto
    the query), and the presentations that were discarded (Credential Query id, reason)."""

    presentations: Mapping[str, tuple[tuple[CheckedPresentation, VerifiedCredential], ...]]
    discarded: tuple[tuple[str, str], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        credentials: dict[str, list[dict[str, Any]]] = {}
        for query_id, items in self.presentations.items():
            credentials[query_id] = [
                {
                    "claims": checked.claims,
                    "issuer": verified.issuer,
                    "vct": verified.vct,
                    "issued_at": verified.issued_at,
                    "expires_at": verified.expires_at,
                    "holder_binding": verified.description.holder_binding,
                    "claim_set": list(checked.option.claim_ids) if checked.option.claim_ids else None,
                    "status": verified.status.state,
                    "status_anchored": verified.status.anchored,
                    "issuer_key": verified.key_route,
                    "accreditation": verified.standing.record if verified.standing else None,
                }
                for checked, verified in items
            ]
        out: dict[str, Any] = {"credentials": credentials}
        if self.discarded:
            out["discarded"] = [{"credential_query": q, "reason": r} for q, r in self.discarded]
        return out


def _refused(reason: str, description: str) -> CredentialRefused:
    return CredentialRefused(description, reason=reason)


def _unverified_payload(parts_issuer_jwt: str) -> dict[str, Any]:
    try:
        payload = b64url_json(parts_issuer_jwt.split(".")[1])
    except (EncodingError, IndexError):
        raise SdJwtError("the Issuer-signed JWT is malformed", reason="malformed_sd_jwt") from None
    if not isinstance(payload, dict):
        raise SdJwtError("the Issuer-signed JWT payload must be an object", reason="malformed_sd_jwt")
    return payload


def _iss_in_certificate(iss: Any, leaf: x509.Certificate, *, allow_http_loopback: bool) -> None:
    """SD-JWT VC §3.5 / HAIP 1.0 §6.1.1: the ``iss`` (an HTTPS URL) is tied to the ``x5c`` leaf."""
    if not isinstance(iss, str):
        raise _refused("iss_missing", "the credential has no 'iss' (HAIP 1.0 §6.1)")
    parts = urlsplit(iss)
    secure = parts.scheme == "https" or (allow_http_loopback and parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not secure or not parts.hostname:
        raise _refused("iss_not_https", "the credential's 'iss' must be an https URL (HAIP 1.0 §6.1)")
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier) if san else []
    dns = san.get_values_for_type(x509.DNSName) if san else []
    if iss not in uris and parts.hostname not in dns:
        raise _refused("iss_certificate_mismatch", "the issuer certificate does not name the credential's 'iss'")


class CredentialVerifier:
    """Checks one SD-JWT VC presentation (module docstring). ``key_history`` is a
    ``ledger.did_ethr.SigningKeyHistory`` for did:ethr issuers (``None``: the DID route is off); ``trust`` answers
    accreditation (``None`` with ``require_accreditation`` refuses every credential as ``trust_unavailable``)."""

    def __init__(
        self,
        *,
        anchors: Collection[x509.Certificate],
        status: StatusChecker,
        trust: IssuerTrust | None,
        clock: Any,
        key_history: Any | None = None,
        kb_max_age: float = 300.0,
        skew: float = 60.0,
        require_accreditation: bool = True,
        require_status: bool = False,
        allow_http_loopback: bool = False,
        ldp_vc: Any | None = None,
    ) -> None:
        #: ``verifier.ldp_vc.LdpVcVerifier`` for ldp_vc (bbs-2023) presentations; ``None``: SD-JWT VC only
        self.ldp_vc = ldp_vc
        self.anchors = list(anchors)
        #: the issuers' validated chains (each credential of an issuer carries the same ``x5c``)
        self._chains = X5cChainCache(self.anchors)
        self.status = status
        self.trust = trust
        self.clock = clock
        self.key_history = key_history
        self.kb_max_age = kb_max_age
        self.skew = skew
        self.require_accreditation = require_accreditation
        self.require_status = require_status
        self.allow_http_loopback = allow_http_loopback

    def verify(
        self, presentation: str | Mapping[str, Any], *, query: CredentialQuery, client_id: str, nonce: str
    ) -> VerifiedCredential:
        if query.format == FORMAT_LDP_VC and self.ldp_vc is not None:  # bbs-2023: verifier/ldp_vc.py
            result: VerifiedCredential = self.ldp_vc.verify(presentation, query=query, client_id=client_id, nonce=nonce)
            return result
        if query.format != FORMAT_SD_JWT_VC:
            raise DcqlError(f"format {query.format!r} is not supported by this verifier", reason="dcql_format_mismatch")
        if isinstance(presentation, Mapping):
            parts = split_json(presentation)
        elif isinstance(presentation, str):
            parts = split_compact(presentation)
        else:
            raise SdJwtError("an SD-JWT VC presentation is a string or a JSON object", reason="malformed_sd_jwt")
        unverified = _unverified_payload(parts.issuer_jwt)
        # B.3: with require_cryptographic_holder_binding false an SD-JWT without KB-JWT may be returned; a KB-JWT
        # that is there is always checked.
        require_kb = query.require_cryptographic_holder_binding or parts.kb_jwt is not None
        policy = VerificationPolicy(
            audience=client_id,
            nonce=nonce,
            require_key_binding=require_kb,
            kb_max_age=self.kb_max_age,
            skew=self.skew,
            required_claims=frozenset({"iat"}),
        )
        captured: dict[str, Any] = {}

        def issuer_key(header: Mapping[str, Any]) -> PublicKey:
            if "x5c" in header:
                try:
                    chain = self._chains.verify(header["x5c"], now=self.clock())
                except CertificateError as exc:
                    if exc.reason == "x5c_untrusted":
                        self._certificate_outside_validity(header["x5c"])
                    raise
                captured.update(route="x5c", leaf=chain.leaf)
                return chain.public_key
            kid, iss = header.get("kid"), unverified.get("iss")
            if (
                self.key_history is not None
                and isinstance(kid, str)
                and isinstance(iss, str)
                and iss.startswith("did:")
            ):
                issued_at = numeric_date(unverified, "iat", required=True)
                assert issued_at is not None
                captured.update(route="did", did=iss)
                key: PublicKey = self.key_history.key_resolver(issued_at, did=iss)(header)
                return key
            raise _refused("issuer_key_unknown", "the credential names no trusted issuer key (x5c, HAIP 1.0 §6.1.1)")

        try:
            verified = verify_sd_jwt_vc(presentation, issuer_key, policy, clock=self.clock)
        except CertificateError as exc:
            reason = "issuer_certificate_untrusted" if exc.reason == "x5c_untrusted" else "issuer_certificate_invalid"
            raise _refused(reason, f"the issuer's certificate: {exc.description}") from None
        except DidError as exc:
            if exc.reason == "keyCompromised":
                raise _refused("issuer_key_compromised", exc.description) from None
            raise _refused("issuer_key_unknown", f"the issuer's DID: {exc.description}") from None
        except TokenExpired:
            raise _refused("credential_expired", "the credential has expired") from None
        except TokenNotYetValid as exc:
            raise _refused("credential_not_yet_valid", f"the credential is not valid yet ({exc.reason})") from None
        except KeyBindingError:
            raise
        except JoseError as exc:
            raise SdJwtError(f"the credential's signature: {exc.description}", reason=exc.reason) from None
        signed = verified.signed_payload
        vct = signed.get("vct") if isinstance(signed.get("vct"), str) else None
        issued_at = numeric_date(signed, "iat")
        expires_at = numeric_date(signed, "exp")
        route = captured.get("route", "x5c")
        issuer_ref: str | bytes
        issuer_keys: tuple[str, ...]
        route_did: str | None = None
        if route == "x5c":
            leaf: x509.Certificate = captured["leaf"]
            _iss_in_certificate(signed.get("iss"), leaf, allow_http_loopback=self.allow_http_loopback)
            spki = spki_sha256(leaf)
            issuer_ref, issuer_keys = spki, (f"sha256:{spki.hex()}",)
        else:
            route_did = str(captured["did"])
            issuer_ref, issuer_keys = route_did, (route_did,)
        standing = self._standing(issuer_ref, vct or "", issued_at or 0.0)
        issuer_did = standing.did if standing is not None and standing.did else route_did
        if route == "x5c" and issuer_did is not None and self.trust is not None:
            try:
                compromised = self.trust.key_compromised(issuer_did, verified.issuer_key)
            except TrustUnavailable:
                raise _refused(
                    "trust_unavailable", "the chain cannot be asked about the issuer (fail closed)"
                ) from None
            if compromised:
                raise _refused("issuer_key_compromised", "the issuer's DID marks its signing key compromised")
        if issuer_did is not None:
            issuer_keys = (*issuer_keys, issuer_did)
        if "status" not in signed and self.require_status:
            raise _refused("status_missing", "the credential has no status (required by this verifier)")
        outcome = self.status.check(signed.get("status"), issuer_key=verified.issuer_key, issuer_did=issuer_did)
        return VerifiedCredential(
            description=describe_verified_sd_jwt(verified, issuer_keys=issuer_keys),
            issuer=signed.get("iss") if isinstance(signed.get("iss"), str) else None,
            vct=vct,
            issued_at=issued_at,
            expires_at=expires_at,
            key_route=route,
            standing=standing,
            status=outcome,
        )

    def _certificate_outside_validity(self, x5c: Any) -> None:
        """RFC 5280 §6.1.3 (a)(2): a chain that fails only because the leaf's validity period does not include now is
        refused as ``issuer_certificate_expired`` / ``issuer_certificate_not_yet_valid`` — told apart from an untrusted
        chain by validating it again at a moment inside the leaf's period."""
        leaf = parse_x5c(x5c)[0]
        start, end = leaf.not_valid_before_utc.timestamp(), leaf.not_valid_after_utc.timestamp()
        now = self.clock()
        if start <= now <= end:
            return
        try:
            verify_x5c(x5c, self.anchors, now=(start + end) / 2)
        except CertificateError:
            return
        if now > end:
            raise _refused("issuer_certificate_expired", "the issuer's certificate has expired")
        raise _refused("issuer_certificate_not_yet_valid", "the issuer's certificate is not valid yet")

    def _standing(self, issuer: str | bytes, vct: str, issued_at: float) -> IssuerStanding | None:
        if self.trust is None:
            if self.require_accreditation:
                raise _refused("trust_unavailable", "no trusted-issuer registry is configured (fail closed)")
            return None
        try:
            standing = self.trust.standing(issuer, vct, issued_at=issued_at, now=self.clock())
        except TrustUnavailable:
            raise _refused("trust_unavailable", "the trusted-issuer registry cannot be reached (fail closed)") from None
        if standing.refusal is not None and self.require_accreditation:
            raise _refused(standing.refusal, f"the issuer may not issue this credential type ({standing.refusal})")
        return standing

    def chain_matcher(self) -> Any:
        """A DCQL ``trusted_authorities`` matcher for :data:`ssi.dcql.TRUSTED_AUTHORITY_CHAIN`: the value must name
        our registry, and the credential's issuer be accredited there (already checked when it got here)."""
        registry = self.trust.registry_id if self.trust is not None else None

        def match(_kind: str, value: str, credential: CredentialDescription) -> bool:
            return registry is not None and value.lower() == registry.lower() and bool(credential.issuer_keys)

        return match


def verify_vp_token(
    vp_token: Mapping[str, Sequence[str | Mapping[str, Any]]],
    query: DcqlQuery,
    verifier: CredentialVerifier,
    *,
    client_id: str,
    nonce: str,
) -> VerifiedResponse:
    """The VP Token against the query (module docstring). Raises the specific ``SsiError`` of the refusal."""
    known = set(query.ids)
    for query_id, items in vp_token.items():
        if query_id not in known:
            raise DcqlError(f"the VP Token answers an unknown credential query {query_id!r}", reason="dcql_unknown_id")
        if len(items) > 1 and not query.credential(query_id).multiple:
            raise DcqlError(
                f"credential query {query_id!r} allows one presentation", reason="dcql_multiple_not_allowed"
            )
    presented: dict[str, list[CredentialDescription]] = {}
    verified_by_description: dict[int, VerifiedCredential] = {}
    discarded: list[tuple[str, SsiError]] = []
    for query_id, items in vp_token.items():
        cq = query.credential(query_id)
        for item in items:
            try:
                result = verifier.verify(item, query=cq, client_id=client_id, nonce=nonce)
            except KeyBindingError:
                raise  # §14.1.2: a presentation not bound to this request rejects the whole response
            except SsiError as exc:
                discarded.append((query_id, exc))
                continue
            presented.setdefault(query_id, []).append(result.description)
            verified_by_description[id(result.description)] = result
    try:
        checked = check_response(query, presented, authorities={TRUSTED_AUTHORITY_CHAIN: verifier.chain_matcher()})
    except DcqlError:
        if discarded:
            raise discarded[0][1] from None
        raise
    out = {
        query_id: tuple((item, verified_by_description[id(item.credential)]) for item in items)
        for query_id, items in checked.presentations.items()
    }
    return VerifiedResponse(out, tuple((q, e.reason) for q, e in discarded))
