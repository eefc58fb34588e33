"""What the wallet checks about credentials it receives before it keeps them.

RFC 9901 §7.2 / ``HeldSdJwt``: "the Holder's wallet verifies [the Issuer's signature] with the Issuer's key before
storing". The issuer key comes from the JWT VC Issuer Metadata of ``iss`` (SD-JWT VC §5: ``/.well-known/jwt-vc-issuer``
inserted into the ``iss`` URL, ``issuer`` identical to ``iss``), fetched over HTTPS — the same origin the wallet got
the offer's metadata from. When the credential carries ``x5c`` (HAIP 1.0 §6.1.1), its leaf must hold that same key.

Then, per credential: SD-JWT VC structure and ``typ`` (:func:`ssi.sd_jwt.vc.verify_sd_jwt_vc`), the ``vct`` of the
offered configuration, ``iss`` equal to the credential issuer the wallet talked to (govssi's issuers sign as their
identifier; a credential naming another issuer would be shown under a name nobody vouched for), validity times, and
``cnf.jwk`` equal to one of the keys the wallet proved — each key at most once (§8.3: "Each key provided by the Wallet
is used to bind to, at most, one Credential").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ssi.clock import Clock
from ssi.errors import CredentialError, KeyError_, SsiError
from ssi.keys import PublicKey
from ssi.oid4vci import WELL_KNOWN_JWT_VC_ISSUER, well_known_url
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import verify_sd_jwt_vc
from ssi.x509 import parse_x5c
from wallet_sim.oid4vci.http import IssuerHttp

__all__ = ["TECHNICAL_CLAIMS", "CheckedCredential", "check_credentials", "credential_claims", "issuer_key_resolver"]


@dataclass(frozen=True)
class CheckedCredential:
    """A received credential that passed the checks, with the holder key it is bound to."""

    compact: str
    key_id: str | None
    held: HeldSdJwt
    payload: dict[str, Any]

    @property
    def claims(self) -> dict[str, Any]:
        """The subject's claims: the processed payload without the registered claims that only steer verification."""
        return credential_claims(self.held.claims)


#: SD-JWT VC §3.2.2 / RFC 7519 claims about the credential itself, not about the citizen.
TECHNICAL_CLAIMS = frozenset({"iss", "iat", "exp", "nbf", "cnf", "vct", "vct#integrity", "status", "_sd_alg"})


def credential_claims(processed: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in processed.items() if name not in TECHNICAL_CLAIMS}


def issuer_key_resolver(http: IssuerHttp, iss: str) -> Callable[[Mapping[str, Any]], PublicKey]:
    """A key resolver for credentials of ``iss``: the JWT VC Issuer Metadata key named by ``kid`` (SD-JWT VC §5.2,
    ``jwks`` by value or ``jwks_uri``), and the ``x5c`` leaf key when present must be that key."""
    document = http.get_json(
        well_known_url(http.check_url(iss, "iss"), WELL_KNOWN_JWT_VC_ISSUER), "JWT VC issuer metadata"
    )
    if document.get("issuer") != iss:  # SD-JWT VC §5.2: "MUST be identical to the iss value in the JWT"
        raise CredentialError("JWT VC issuer metadata names another issuer", reason="issuer_metadata_mismatch")
    jwks = document.get("jwks")
    if jwks is None and isinstance(document.get("jwks_uri"), str):
        jwks = http.get_json(http.check_url(document["jwks_uri"], "jwks_uri"), "issuer JWKS")
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise CredentialError("the issuer publishes no keys", reason="issuer_keys_missing")

    def resolve(header: Mapping[str, Any]) -> PublicKey:
        kid = header.get("kid")
        candidates = [k for k in keys if isinstance(k, Mapping) and (kid is None or k.get("kid") == kid)]
        public_candidates = []
        for jwk in candidates:
            try:
                public_candidates.append(
                    PublicKey.from_jwk({n: v for n, v in jwk.items() if n in ("kty", "crv", "x", "y")})
                )
            except KeyError_:
                continue
        if "x5c" in header:
            leaf = PublicKey.from_crypto(parse_x5c(header["x5c"])[0].public_key())  # type: ignore[arg-type]
            if leaf not in public_candidates:
                raise CredentialError(
                    "the credential's x5c key is not the issuer's published key", reason="x5c_key_mismatch"
                )
            return leaf
        if len(public_candidates) != 1:
            raise CredentialError("the credential names no key the issuer publishes", reason="unknown_issuer_key")
        return public_candidates[0]

    return resolve


def check_credentials(
    credentials: Sequence[str],
    *,
    http: IssuerHttp,
    credential_issuer: str,
    vct: str | None,
    holder_keys: Mapping[str, Mapping[str, Any]],
    clock: Clock,
) -> list[CheckedCredential]:
    """Check every credential of one response (all or nothing: §11.1 "Partial errors during issuance of multiple
    Credentials as a batch ... MUST be treated as the overall issuance flow failing"). ``holder_keys`` maps key ids to
    the public JWKs proven in the request."""
    if not credentials:
        raise CredentialError("the issuer sent no credential", reason="no_credential")
    resolver: Callable[[Mapping[str, Any]], PublicKey] | None = None
    remaining = {key_id: PublicKey.from_jwk(jwk) for key_id, jwk in holder_keys.items()}
    checked = []
    for compact in credentials:
        try:
            held = HeldSdJwt.parse(compact)
            payload = held.payload
            iss = payload.get("iss")
            if iss != credential_issuer:
                raise CredentialError(
                    "the credential names another issuer than the one that issued it", reason="wrong_iss"
                )
            if resolver is None:
                resolver = issuer_key_resolver(http, credential_issuer)
            verify_sd_jwt_vc(
                held.parts.sd_jwt,
                resolver,
                VerificationPolicy(require_key_binding=False, algorithms=frozenset({"ES256"})),
                expected_vct=vct,
                clock=clock,
            )
        except SsiError as exc:
            raise CredentialError(
                f"a received credential failed the wallet's checks: {exc.description}", reason=f"received_{exc.reason}"
            ) from None
        key_id: str | None = None
        if holder_keys:
            jwk = held.holder_jwk
            try:
                bound = PublicKey.from_jwk(jwk) if jwk is not None else None
            except KeyError_:
                bound = None
            match = [k for k, v in remaining.items() if v == bound]
            if not match:
                raise CredentialError(
                    "a received credential is not bound to a key the wallet proved", reason="wrong_cnf"
                )
            key_id = match[0]
            del remaining[key_id]
        checked.append(CheckedCredential(compact, key_id, held, payload))
    return checked
