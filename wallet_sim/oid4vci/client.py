"""The wallet's OpenID4VCI 1.0 client for the Pre-Authorized Code Flow (§3.5), step by step.

1. :meth:`IssuanceClient.resolve` — the offer (by value, by reference §4.1.3), the Credential Issuer Metadata
   (§12.2.2, checked by :class:`ssi.oid4vci.CredentialIssuerMetadata`), the Authorization Server Metadata
   (RFC 8414 §3, ``issuer`` identical §3.3) and the SD-JWT VC Type Metadata of each offered type (display).
2. :meth:`IssuanceClient.token` — Token Request (§6.1) with ``tx_code``, DPoP-bound (RFC 9449; HAIP 1.0 §4) with one
   retry on ``use_dpop_nonce`` (RFC 9449 §8), and wallet attestation client authentication when the authorization
   server offers ``attest_jwt_client_auth`` (HAIP §4.4; challenge endpoint and ``use_attestation_challenge``).
3. :meth:`IssuanceClient.c_nonce` — Nonce Endpoint (§7).
4. :meth:`IssuanceClient.request_credentials` — Credential Request (§8.2) with one key proof per holder key
   (``jwt`` typed ``openid4vci-proof+jwt``, Appendix F.1; with a ``key_attestation`` when the configuration requires
   one, or the ``attestation`` proof type when that is all it accepts), batch up to ``batch_size`` (§12.2.4); retries
   once on ``use_dpop_nonce`` (401, RFC 9449 §9) and once on ``invalid_nonce`` with a fresh ``c_nonce`` (§8.3.1.2).
   The answer is credentials (200) or a deferred transaction (202, ``transaction_id`` + ``interval``).
5. :meth:`IssuanceClient.poll_deferred` — Deferred Credential Endpoint (§9).
6. :meth:`IssuanceClient.notify` — Notification Endpoint (§11): ``credential_accepted``, ``credential_deleted``,
   ``credential_failure``.

State that must outlive a process (a deferred issuance) is plain JSON: :class:`IssuerEndpoints` and
:class:`TokenGrant`. Keys are :class:`ssi.keys.Signer` objects (the secure element's); the client never sees private
keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from ssi.client_attestation import AUTH_METHOD, CHALLENGE_HEADER
from ssi.clock import Clock
from ssi.dcql import FORMAT_LDP_VC as LDP_VC_FORMAT
from ssi.dpop import create_dpop_proof
from ssi.encoding import json_loads
from ssi.errors import EncodingError, FetchError, IssuerError, Oid4vciError, SsiError, WalletError
from ssi.keys import Signer
from ssi.oid4vci import (
    CREDENTIAL_OFFER_SCHEME,
    PRE_AUTHORIZED_CODE_GRANT,
    SD_JWT_VC_FORMAT,
    TOKEN_TYPE_BEARER,
    TOKEN_TYPE_DPOP,
    WELL_KNOWN_AUTHORIZATION_SERVER,
    WELL_KNOWN_CREDENTIAL_ISSUER,
    CredentialIssuerMetadata,
    CredentialOffer,
    TokenRequest,
    TxCode,
    create_proof_jwt,
    error_description,
    parse_credential_offer_link,
    well_known_url,
)
from ssi.oid4vci.key_attestation import ATTESTATION_PROOF_TYPE, create_attested_proof_jwt
from wallet_sim.oid4vci.display import normalise_display
from wallet_sim.oid4vci.http import HttpAnswer, IssuerHttp

__all__ = [
    "DeferredTransaction",
    "IssuanceClient",
    "IssuedCredentials",
    "IssuerEndpoints",
    "ResolvedOffer",
    "TokenGrant",
    "WalletAuthenticator",
    "check_tx_code",
    "parse_offer_text",
]

#: HAIP 1.0 §4.1: "at least a custom URL scheme haip:// MUST be supported" besides §4.1's openid-credential-offer://.
OFFER_SCHEMES: Final = ("openid-credential-offer", "haip", "https")
NOTIFICATION_EVENTS: Final = ("credential_accepted", "credential_failure", "credential_deleted")
#: A wallet waits at least this long between deferred polls, whatever the issuer says (§8.3 ``interval``).
MIN_INTERVAL: Final = 1.0
#: Given the wallet attestation for an authorization server, the headers for one request (audience, challenge).
WalletAuthenticator = Callable[[str, str | None], dict[str, str]]


def parse_offer_text(text: str, *, allow_http_loopback: bool = False) -> CredentialOffer | str:
    """A credential offer as a person pastes it: an ``openid-credential-offer://`` or ``haip://`` link, a wallet
    link ``https://…?credential_offer_uri=…``, or the offer JSON object itself. Returns the offer (by value) or the
    ``credential_offer_uri`` to fetch (by reference)."""
    text = text.strip()
    if not text:
        raise WalletError("no credential offer was given", reason="malformed_offer")
    if text.startswith("{"):
        try:
            obj = json_loads(text)
        except EncodingError as exc:
            raise WalletError(f"the offer is not valid JSON: {exc.description}", reason="malformed_offer") from None
        return CredentialOffer.from_json(obj, allow_http_loopback=allow_http_loopback)
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme not in OFFER_SCHEMES and not (allow_http_loopback and scheme == "http"):
        raise WalletError(
            f"not a credential offer: expected {CREDENTIAL_OFFER_SCHEME}, haip:// or an https link",
            reason="malformed_offer",
        )
    return parse_credential_offer_link(text, allow_http_loopback=allow_http_loopback)


def check_tx_code(tx_code: str, spec: TxCode) -> str:
    """The Transaction Code as the offer describes it (§4.1.1): ``numeric`` by default ("only digits"), the given
    ``length`` — checked before sending, so a typo does not spend one of the issuer's few attempts."""
    tx_code = tx_code.strip()
    mode = spec.input_mode or "numeric"
    if not tx_code:
        raise WalletError("the transaction code is empty", reason="malformed_tx_code")
    if mode == "numeric" and not re.fullmatch(r"[0-9]+", tx_code):
        raise WalletError("the transaction code has digits only", reason="malformed_tx_code")
    if spec.length is not None and len(tx_code) != spec.length:
        raise WalletError(f"the transaction code has {spec.length} characters", reason="malformed_tx_code")
    if len(tx_code) > 64:
        raise WalletError("the transaction code is too long", reason="malformed_tx_code")
    return tx_code


@dataclass(frozen=True)
class IssuerEndpoints:
    """What the wallet keeps of an issuer's metadata to finish an issuance later (JSON-serialisable)."""

    credential_issuer: str
    credential_endpoint: str
    token_endpoint: str
    authorization_server: str
    nonce_endpoint: str | None = None
    deferred_credential_endpoint: str | None = None
    notification_endpoint: str | None = None
    batch_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> IssuerEndpoints:
        values: dict[str, Any] = {k: obj.get(k) for k in cls.__dataclass_fields__}
        return cls(**values)


@dataclass
class ResolvedOffer:
    """An offer with everything the wallet learnt about its issuer before asking the user."""

    offer: CredentialOffer
    endpoints: IssuerEndpoints
    issuer_metadata: dict[str, Any]
    as_metadata: dict[str, Any]
    configurations: dict[str, dict[str, Any]]
    type_metadata: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def credential_issuer(self) -> str:
        return self.offer.credential_issuer

    @property
    def tx_code(self) -> TxCode | None:
        grant = self.offer.pre_authorized_code
        return None if grant is None else grant.tx_code

    def display(self, configuration_id: str) -> dict[str, Any]:
        return normalise_display(
            self.issuer_metadata, self.configurations[configuration_id], self.type_metadata.get(configuration_id)
        )

    def client_auth_supported(self) -> bool:
        methods = self.as_metadata.get("token_endpoint_auth_methods_supported")
        return isinstance(methods, list) and AUTH_METHOD in methods

    def anonymous_access(self) -> bool:
        """§12.3 ``pre-authorized_grant_anonymous_access_supported`` ("If omitted, the default value is false")."""
        return self.as_metadata.get("pre-authorized_grant_anonymous_access_supported") is True


@dataclass
class TokenGrant:
    """An access token and its DPoP binding (JSON-serialisable, kept for deferred issuance and notifications)."""

    access_token: str
    token_type: str
    expires_at: float | None
    dpop_key_id: str | None = None
    dpop_nonce: str | None = None
    client_id: str | None = None
    credential_identifiers: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> TokenGrant:
        values: dict[str, Any] = {k: obj[k] for k in cls.__dataclass_fields__ if k in obj}
        return cls(**values)


@dataclass(frozen=True)
class IssuedCredentials:
    """§8.3 immediate response: the credentials (compact strings) and the ``notification_id``."""

    configuration_id: str
    credentials: tuple[Any, ...]  # strings; JSON objects for ldp_vc (A.1.2.4)
    notification_id: str | None


@dataclass(frozen=True)
class DeferredTransaction:
    """§8.3 deferred response: poll the Deferred Credential Endpoint with ``transaction_id`` after ``interval`` s."""

    configuration_id: str
    transaction_id: str
    interval: float
    next_poll_at: float


class IssuanceClient:
    """The protocol steps over :class:`IssuerHttp`. ``signer_for`` turns a stored DPoP key id back into a signer."""

    def __init__(self, http: IssuerHttp, *, clock: Clock, signer_for: Callable[[str], Signer]) -> None:
        self.http = http
        self._clock = clock
        self._signer_for = signer_for

    # -- 1. offer and metadata --------------------------------------------------------------------------------------

    def resolve(self, offer: CredentialOffer | str) -> ResolvedOffer:
        """Fetch what the offer points to and check it (§4.1, §12.2.2, §12.2.4, RFC 8414 §3.3)."""
        loopback = self.http.allow_http_loopback
        if isinstance(offer, str):
            try:
                document = self.http.get_json(offer, "credential offer")
            except FetchError as exc:
                if exc.reason == "not_found":
                    raise WalletError(
                        "the credential offer is unknown, already used or expired (ask the authority for a new one)",
                        reason="offer_expired",
                    ) from None
                raise
            offer = CredentialOffer.from_json(document, allow_http_loopback=loopback)
        grant = offer.pre_authorized_code
        if grant is None:
            raise WalletError(
                "this offer needs the authorization code flow; the wallet redeems pre-authorized offers here",
                reason="unsupported_grant",
            )
        issuer = offer.credential_issuer
        try:
            metadata_json = self.http.get_json(well_known_url(issuer, WELL_KNOWN_CREDENTIAL_ISSUER), "issuer metadata")
        except FetchError as exc:
            if exc.reason == "not_found":
                raise WalletError(
                    f"{issuer} is not a credential issuer (no metadata)", reason="unknown_issuer"
                ) from None
            raise
        metadata = CredentialIssuerMetadata.from_json(
            metadata_json, expected_issuer=issuer, allow_http_loopback=loopback
        )
        configurations: dict[str, dict[str, Any]] = {}
        for config_id in offer.credential_configuration_ids:
            config = metadata.credential_configurations_supported.get(config_id)
            if not isinstance(config, Mapping):
                raise WalletError(
                    f"the issuer's metadata does not describe the offered credential {config_id!r}",
                    reason="unknown_configuration",
                )
            if config.get("format") not in (SD_JWT_VC_FORMAT, LDP_VC_FORMAT):
                raise WalletError(
                    f"the offered credential {config_id!r} has format {config.get('format')!r}; "
                    f"this wallet holds {SD_JWT_VC_FORMAT} and {LDP_VC_FORMAT} (bbs-2023) credentials",
                    reason="unsupported_format",
                )
            configurations[config_id] = dict(config)
        as_id = self._authorization_server(metadata, grant.authorization_server)
        try:
            as_json = self.http.get_json(
                well_known_url(as_id, WELL_KNOWN_AUTHORIZATION_SERVER), "authorization server metadata"
            )
        except FetchError as exc:
            if exc.reason == "not_found" and as_id == issuer:
                raise WalletError(
                    f"{issuer} publishes no authorization server metadata", reason="unknown_issuer"
                ) from None
            raise
        if as_json.get("issuer") != as_id:  # RFC 8414 §3.3: "MUST be identical ... MUST NOT be used"
            raise Oid4vciError("authorization server metadata names another issuer", reason="as_issuer_mismatch")
        token_endpoint = self.http.check_url(as_json.get("token_endpoint"), "token_endpoint")
        grants = as_json.get("grant_types_supported")
        if isinstance(grants, list) and PRE_AUTHORIZED_CODE_GRANT not in grants:
            raise WalletError(
                "the authorization server does not accept pre-authorized codes", reason="unsupported_grant"
            )
        dpop_algs = as_json.get("dpop_signing_alg_values_supported")
        if isinstance(dpop_algs, list) and "ES256" not in dpop_algs:
            raise WalletError("the authorization server does not accept ES256 DPoP proofs", reason="unsupported_dpop")
        extensions = metadata.extensions
        endpoints = IssuerEndpoints(
            credential_issuer=issuer,
            credential_endpoint=metadata.credential_endpoint,
            token_endpoint=token_endpoint,
            authorization_server=as_id,
            nonce_endpoint=metadata.nonce_endpoint,
            deferred_credential_endpoint=self._optional_url(
                extensions.get("deferred_credential_endpoint"), "deferred_credential_endpoint"
            ),
            notification_endpoint=self._optional_url(extensions.get("notification_endpoint"), "notification_endpoint"),
            batch_size=metadata.batch_size,
        )
        resolved = ResolvedOffer(offer, endpoints, dict(metadata_json), dict(as_json), configurations)
        for config_id, config in configurations.items():
            resolved.type_metadata[config_id] = self._type_metadata(config.get("vct"))
        return resolved

    def _optional_url(self, value: Any, name: str) -> str | None:
        return None if value is None else self.http.check_url(value, name)

    @staticmethod
    def _authorization_server(metadata: CredentialIssuerMetadata, hint: str | None) -> str:
        """§12.2.4 ``authorization_servers``; §4.1.1 ``authorization_server``: "The value of this parameter MUST match
        with one of the values in the authorization_servers array" (and the wallet "MUST NOT proceed" otherwise)."""
        if hint is not None:
            if hint not in metadata.authorization_servers:
                raise Oid4vciError(
                    "the offer names an authorization server the issuer does not list",
                    reason="unknown_authorization_server",
                )
            return hint
        return metadata.authorization_server

    def _type_metadata(self, vct: Any) -> dict[str, Any] | None:
        """SD-JWT VC §6.3.1: a ``vct`` that is an HTTPS URL is where its Type Metadata lives. Display only: a failure
        leaves the wallet with the issuer metadata's display (never blocks issuance)."""
        if not isinstance(vct, str):
            return None
        try:
            self.http.check_url(vct, "vct")
            document = self.http.get_json(vct, "type metadata")
        except SsiError:
            return None
        return document if document.get("vct") == vct else None

    # -- 2. token ---------------------------------------------------------------------------------------------------

    def _dpop(
        self, grant_or_key: TokenGrant | Signer, method: str, url: str, nonce: str | None, token: str | None
    ) -> str:
        signer = (
            grant_or_key
            if not isinstance(grant_or_key, TokenGrant)
            else self._signer_for(str(grant_or_key.dpop_key_id))
        )
        return create_dpop_proof(signer, htm=method, htu=url, now=self._clock(), nonce=nonce, access_token=token)

    def token(
        self,
        resolved: ResolvedOffer,
        tx_code: str | None,
        *,
        dpop_key: Signer,
        dpop_key_id: str,
        authenticate: WalletAuthenticator | None = None,
        client_id: str | None = None,
    ) -> TokenGrant:
        """Token Request (§6.1) → a DPoP-bound access token. ``authenticate`` is used when the authorization server
        supports wallet attestations (HAIP 1.0 §4.4) or refuses anonymous access (§6.3 ``invalid_client``)."""
        grant = resolved.offer.pre_authorized_code
        assert grant is not None  # resolve() refused offers without it
        spec = grant.tx_code
        if spec is not None:
            if tx_code is None:
                raise WalletError(
                    "this offer needs the transaction code the authority sent you", reason="tx_code_required"
                )
            tx_code = check_tx_code(tx_code, spec)
        else:
            tx_code = None  # §6.1: only when the offer asked for one (an unexpected one is invalid_request, §6.3)
        use_auth = authenticate is not None and (resolved.client_auth_supported() or not resolved.anonymous_access())
        form = TokenRequest(grant.pre_authorized_code, tx_code, client_id=client_id if use_auth else None).to_form()
        url = resolved.endpoints.token_endpoint
        as_id = resolved.endpoints.authorization_server
        dpop_nonce: str | None = None
        challenge = self._attestation_challenge(resolved) if use_auth else None
        answer: HttpAnswer | None = None
        for _attempt in range(3):
            headers = {"DPoP": self._dpop(dpop_key, "POST", url, dpop_nonce, None)}
            if use_auth:
                assert authenticate is not None
                headers.update(authenticate(as_id, challenge))
            answer = self.http.request("POST", url, "token request", headers=headers, form=form)
            new_nonce = answer.headers.get("dpop-nonce")
            if (
                answer.status in (400, 401)
                and answer.error == "use_dpop_nonce"
                and new_nonce
                and new_nonce != dpop_nonce
            ):
                dpop_nonce = new_nonce  # RFC 9449 §8: retry with the server's nonce
                continue
            new_challenge = answer.headers.get(CHALLENGE_HEADER.lower())
            if answer.status in (400, 401) and answer.error == "use_attestation_challenge" and new_challenge:
                challenge = new_challenge
                continue
            break
        assert answer is not None
        if answer.status != 200:
            self._token_error(answer, tx_code is not None)
        body = answer.body if isinstance(answer.body, dict) else {}
        access_token, token_type = body.get("access_token"), body.get("token_type")
        if not isinstance(access_token, str) or not access_token or not isinstance(token_type, str):
            raise Oid4vciError("the token response lacks access_token or token_type", reason="bad_token_response")
        if token_type.lower() not in (TOKEN_TYPE_DPOP.lower(), TOKEN_TYPE_BEARER.lower()):
            raise Oid4vciError(f"unsupported token_type {error_description(token_type)!r}", reason="bad_token_response")
        expires_in = body.get("expires_in")
        identifiers: dict[str, list[str]] = {}
        for detail in body.get("authorization_details") or []:
            # §6.2: "credential_identifiers: REQUIRED. A non-empty array of strings" per openid_credential entry.
            if isinstance(detail, dict) and detail.get("type") == "openid_credential":
                ids = detail.get("credential_identifiers")
                config_id = detail.get("credential_configuration_id")
                if (
                    isinstance(config_id, str)
                    and isinstance(ids, list)
                    and ids
                    and all(isinstance(i, str) for i in ids)
                ):
                    identifiers[config_id] = list(ids)
        return TokenGrant(
            access_token=access_token,
            token_type=TOKEN_TYPE_DPOP if token_type.lower() == "dpop" else TOKEN_TYPE_BEARER,
            expires_at=self._clock() + float(expires_in)
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
            else None,
            dpop_key_id=dpop_key_id,
            dpop_nonce=answer.headers.get("dpop-nonce") or dpop_nonce,
            client_id=client_id if use_auth else None,
            credential_identifiers=identifiers,
        )

    def _attestation_challenge(self, resolved: ResolvedOffer) -> str | None:
        """Attestation-based client auth §6.1: "If the Authorization Server offers a challenge endpoint, the Client
        MUST retrieve a challenge"."""
        endpoint = resolved.as_metadata.get("challenge_endpoint")
        if endpoint is None:
            return None
        answer = self.http.request(
            "POST", self.http.check_url(endpoint, "challenge_endpoint"), "attestation challenge", empty_body=True
        )
        self.http.raise_for_error(answer, "attestation challenge")
        challenge = answer.body.get("attestation_challenge") if isinstance(answer.body, dict) else None
        if not isinstance(challenge, str) or not challenge:
            raise Oid4vciError("the challenge endpoint sent no attestation_challenge", reason="bad_challenge_response")
        return challenge

    @staticmethod
    def _token_error(answer: HttpAnswer, sent_tx_code: bool) -> None:
        """§6.3 in the citizen's words: ``invalid_grant`` is a wrong transaction code or a spent/expired code."""
        if answer.error == "invalid_grant":
            if sent_tx_code:
                raise IssuerError(
                    "the issuer refused the transaction code, or the offer is already used or expired",
                    code="invalid_grant",
                    status=answer.status,
                    reason="wrong_tx_code",
                )
            raise IssuerError(
                "the offer is already used or expired (ask the authority for a new one)",
                code="invalid_grant",
                status=answer.status,
                reason="offer_expired",
            )
        IssuerHttp.raise_for_error(answer, "token request")
        raise Oid4vciError(f"unexpected token response status {answer.status}", reason="bad_token_response")

    # -- 3. nonce ---------------------------------------------------------------------------------------------------

    def c_nonce(self, endpoints: IssuerEndpoints, grant: TokenGrant) -> str | None:
        """§7.1: POST to the Nonce Endpoint (no access token); §7.2 ``c_nonce`` REQUIRED. ``None`` when the issuer has
        no Nonce Endpoint ("the Credential Issuer does not require the use of c_nonce")."""
        if endpoints.nonce_endpoint is None:
            return None
        answer = self.http.request("POST", endpoints.nonce_endpoint, "nonce request", empty_body=True)
        if answer.headers.get("dpop-nonce"):
            grant.dpop_nonce = answer.headers["dpop-nonce"]
        self.http.raise_for_error(answer, "nonce request")
        nonce = answer.body.get("c_nonce") if isinstance(answer.body, dict) else None
        if not isinstance(nonce, str) or not nonce or len(nonce) > 512:
            raise Oid4vciError("the nonce response lacks a c_nonce", reason="bad_nonce_response")
        return nonce

    # -- 4. credential ----------------------------------------------------------------------------------------------

    def _authorized(
        self, endpoints: IssuerEndpoints, grant: TokenGrant, url: str, name: str, body: Mapping[str, Any]
    ) -> HttpAnswer:
        """A request with the access token (RFC 6750 / RFC 9449 §7.1), retried once on ``use_dpop_nonce``."""
        answer: HttpAnswer | None = None
        for _attempt in range(2):
            headers = {"Authorization": f"{grant.token_type} {grant.access_token}"}
            if grant.token_type == TOKEN_TYPE_DPOP:
                headers["DPoP"] = self._dpop(grant, "POST", url, grant.dpop_nonce, grant.access_token)
            answer = self.http.request("POST", url, name, headers=headers, json=dict(body))
            if answer.headers.get("dpop-nonce"):
                new_nonce = answer.headers["dpop-nonce"]
                retry = (
                    answer.status == 401
                    and answer.www_authenticate_error() == "use_dpop_nonce"
                    and new_nonce != grant.dpop_nonce
                )
                grant.dpop_nonce = new_nonce
                if retry:
                    continue
            break
        assert answer is not None
        if answer.status == 401:
            code = answer.www_authenticate_error() or answer.error or "invalid_token"
            raise IssuerError(
                f"the issuer did not accept the access token for the {name} ({error_description(code)}); "
                "the issuance took too long or was already completed",
                code=error_description(code),
                status=401,
            )
        return answer

    def _proofs(
        self,
        *,
        resolved_config: Mapping[str, Any],
        endpoints: IssuerEndpoints,
        grant: TokenGrant,
        holders: Sequence[Signer],
        nonce: str | None,
        key_attestation: Callable[[str | None], str] | None,
    ) -> dict[str, list[str]]:
        proof_types = resolved_config.get("proof_types_supported")
        if not isinstance(proof_types, Mapping):
            return {}  # §8.2: proofs only "if the proof_types_supported parameter is present"
        jwt_type = proof_types.get("jwt")
        if isinstance(jwt_type, Mapping):
            algs = jwt_type.get("proof_signing_alg_values_supported")
            if isinstance(algs, list) and "ES256" not in algs:
                raise WalletError("the issuer accepts no ES256 key proofs", reason="unsupported_proof")
            wants_attestation = "key_attestations_required" in jwt_type
            if wants_attestation and key_attestation is None:
                raise WalletError("the issuer requires key attestations", reason="unsupported_proof")
            now = self._clock()
            if wants_attestation:
                assert key_attestation is not None
                attestation = key_attestation(nonce)  # HAIP §4.5.1: one attestation for all keys of the request
                return {
                    "jwt": [
                        create_attested_proof_jwt(
                            h,
                            attestation,
                            audience=endpoints.credential_issuer,
                            now=now,
                            nonce=nonce,
                            client_id=grant.client_id,
                        )
                        for h in holders
                    ]
                }
            return {
                "jwt": [
                    create_proof_jwt(
                        h, audience=endpoints.credential_issuer, now=now, nonce=nonce, client_id=grant.client_id
                    )
                    for h in holders
                ]
            }
        if ATTESTATION_PROOF_TYPE in proof_types and key_attestation is not None:
            # F.3: "exactly one JWT" attesting all keys, with the c_nonce in its nonce claim.
            return {ATTESTATION_PROOF_TYPE: [key_attestation(nonce)]}
        raise WalletError("the issuer accepts none of the wallet's key proof types", reason="unsupported_proof")

    def request_credentials(
        self,
        resolved: ResolvedOffer,
        grant: TokenGrant,
        configuration_id: str,
        holders: Sequence[Signer],
        *,
        key_attestation: Callable[[str | None], str] | None = None,
    ) -> IssuedCredentials | DeferredTransaction:
        """Credential Request (§8.2) for ``configuration_id`` with one proof per holder key (a batch when several)."""
        endpoints = resolved.endpoints
        config = resolved.configurations[configuration_id]
        if len(holders) > 1 and (endpoints.batch_size is None or len(holders) > endpoints.batch_size):
            raise WalletError("more keys than the issuer's batch_size", reason="batch_too_large")
        body: dict[str, Any] = {}
        identifiers = grant.credential_identifiers.get(configuration_id)
        if identifiers:
            body["credential_identifier"] = identifiers[0]  # §8.2: REQUIRED when the token response returned them
        else:
            body["credential_configuration_id"] = configuration_id
        answer: HttpAnswer | None = None
        for _attempt in range(2):
            nonce = self.c_nonce(endpoints, grant)
            proofs = self._proofs(
                resolved_config=config,
                endpoints=endpoints,
                grant=grant,
                holders=holders,
                nonce=nonce,
                key_attestation=key_attestation,
            )
            if proofs:
                body["proofs"] = proofs
            answer = self._authorized(endpoints, grant, endpoints.credential_endpoint, "credential request", body)
            if answer.status == 400 and answer.error == "invalid_nonce":
                continue  # §8.3.1.2: "The wallet should retrieve a new c_nonce value"
            break
        assert answer is not None
        return self._credential_answer(
            answer,
            configuration_id,
            max_count=max(len(holders), 1),
            name="credential request",
            objects=config.get("format") == LDP_VC_FORMAT,
        )

    def _credential_answer(
        self, answer: HttpAnswer, configuration_id: str, *, max_count: int, name: str, objects: bool = False
    ) -> IssuedCredentials | DeferredTransaction:
        IssuerHttp.raise_for_error(answer, name)
        body = answer.body if isinstance(answer.body, dict) else None
        if body is None:
            raise Oid4vciError(f"the {name} answer is not a JSON object", reason="bad_credential_response")
        if answer.status == 202:
            # §8.3: "transaction_id ... interval: REQUIRED if transaction_id is present ... a positive number".
            transaction_id, interval = body.get("transaction_id"), body.get("interval")
            if not isinstance(transaction_id, str) or not transaction_id or len(transaction_id) > 512:
                raise Oid4vciError("a deferred answer needs a transaction_id", reason="bad_credential_response")
            if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
                raise Oid4vciError("a deferred answer needs a positive interval", reason="bad_credential_response")
            wait = max(float(interval), MIN_INTERVAL)
            return DeferredTransaction(configuration_id, transaction_id, wait, self._clock() + wait)
        if answer.status != 200:
            raise Oid4vciError(f"unexpected {name} status {answer.status}", reason="bad_credential_response")
        items = body.get("credentials")
        # §8.3: "credentials ... an array of one or more issued Credentials. The elements of the array MUST be
        # objects"; "The number of elements ... matches the number of keys ... unless the Issuer decides to issue
        # fewer Credentials".
        if not isinstance(items, list) or not items or len(items) > max_count:
            raise Oid4vciError(
                "the credential response carries no (or too many) credentials", reason="bad_credential_response"
            )
        credentials: list[Any] = []
        for item in items:
            credential = item.get("credential") if isinstance(item, dict) else None
            if objects and isinstance(credential, dict):  # A.1.2.4 ldp_vc: "MUST be a JSON object"
                credentials.append(credential)
                continue
            if not isinstance(credential, str) or not credential:
                raise Oid4vciError(
                    "each credential must be an object with a credential string", reason="bad_credential_response"
                )
            credentials.append(credential)
        notification_id = body.get("notification_id")
        if notification_id is not None and (not isinstance(notification_id, str) or len(notification_id) > 512):
            raise Oid4vciError("notification_id must be a string", reason="bad_credential_response")
        return IssuedCredentials(configuration_id, tuple(credentials), notification_id)

    # -- 5. deferred ------------------------------------------------------------------------------------------------

    def poll_deferred(
        self, endpoints: IssuerEndpoints, grant: TokenGrant, transaction: DeferredTransaction, *, max_count: int
    ) -> IssuedCredentials | DeferredTransaction:
        """§9.1 Deferred Credential Request ``{"transaction_id"}`` → credentials (200) or still pending (202);
        ``invalid_transaction_id`` and ``credential_request_denied`` end the transaction (§9.3)."""
        if endpoints.deferred_credential_endpoint is None:
            raise WalletError("the issuer has no deferred credential endpoint", reason="no_deferred_endpoint")
        answer = self._authorized(
            endpoints,
            grant,
            endpoints.deferred_credential_endpoint,
            "deferred credential request",
            {"transaction_id": transaction.transaction_id},
        )
        result = self._credential_answer(
            answer, transaction.configuration_id, max_count=max_count, name="deferred credential request"
        )
        if isinstance(result, DeferredTransaction) and result.transaction_id != transaction.transaction_id:
            # §9.2: "The value of transaction_id MUST be same as the value of transaction_id in the ... Request."
            raise Oid4vciError("the deferred answer names another transaction", reason="bad_credential_response")
        return result

    # -- 6. notification --------------------------------------------------------------------------------------------

    def notify(
        self,
        endpoints: IssuerEndpoints,
        grant: TokenGrant,
        notification_id: str,
        event: str,
        description: str | None = None,
    ) -> bool:
        """§11.1 Notification Request. Best effort (§11: "there are no guarantees that a Credential Issuer will
        receive a notification"): ``False`` when the issuer has no endpoint or did not accept it."""
        if event not in NOTIFICATION_EVENTS:
            raise ValueError(f"unknown notification event {event!r}")
        if endpoints.notification_endpoint is None:
            return False
        body: dict[str, Any] = {"notification_id": notification_id, "event": event}
        if description:
            body["event_description"] = error_description(description)[:200]
        try:
            answer = self._authorized(endpoints, grant, endpoints.notification_endpoint, "notification", body)
        except SsiError:
            return False
        return 200 <= answer.status < 300
