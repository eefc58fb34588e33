"""The one exception hierarchy of govssi.

Every error carries the error code a protocol endpoint answers with (OAuth 2.0 / OpenID4VC ``error`` values,
RFC 6749 §5.2, OpenID4VCI 1.0 §8.3.1.2, OpenID4VP 1.0 §8.5) plus a finer ``reason`` that names the rule that was
broken, so tests and logs can tell *which* check failed. Services map ``SsiError`` to HTTP in one place.

Messages never contain key material or personal data: they name the rule, not the value.
"""

from __future__ import annotations


class SsiError(Exception):
    """Base of every error raised by ``ssi``.

    ``code`` is the protocol error code (what goes into ``error``); ``reason`` is a stable, specific
    machine-readable identifier of the failed check (what tests assert on).
    """

    code: str = "invalid_request"
    reason: str = "invalid"

    def __init__(self, description: str, *, reason: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        if reason is not None:
            self.reason = reason

    def to_dict(self) -> dict[str, str]:
        """OAuth-style error object (RFC 6749 §5.2)."""
        return {"error": self.code, "error_description": self.description}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, description={self.description!r})"


class EncodingError(SsiError):
    """Malformed base64url, JSON, UTF-8 or compressed data."""

    reason = "malformed_encoding"


class InputTooLarge(SsiError):
    """Input exceeds a configured size or depth limit (defence against resource exhaustion)."""

    reason = "input_too_large"


class KeyError_(SsiError):
    """A key is malformed, unsupported, or does not fit the algorithm."""

    reason = "invalid_key"


class KeyFileError(SsiError):
    """An encrypted key file cannot be opened (wrong passphrase, tampered, unknown format)."""

    reason = "key_file"


class JoseError(SsiError):
    """A JWS/JWT is malformed or fails a check (RFC 7515 / RFC 7519)."""

    reason = "invalid_jws"


class UnsupportedAlgorithm(JoseError):
    """The ``alg`` is not on the caller's allowlist (never ``none``, never HMAC with public keys)."""

    reason = "unsupported_algorithm"


class InvalidSignature(JoseError):
    """The signature does not verify with the given key."""

    reason = "invalid_signature"


class TokenExpired(JoseError):
    """``exp`` is in the past, beyond the allowed clock skew (RFC 7519 §4.1.4)."""

    reason = "expired"


class TokenNotYetValid(JoseError):
    """``nbf`` or ``iat`` lies in the future, beyond the allowed clock skew (RFC 7519 §4.1.5, §4.1.6)."""

    reason = "not_yet_valid"


class DidError(SsiError):
    """DID parsing or resolution failed. ``reason`` uses the DID Resolution error names."""

    reason = "invalidDid"


class DidNotFound(DidError):
    """The DID (or the verification method in a DID URL) does not exist."""

    reason = "notFound"


class MethodNotSupported(DidError):
    """No resolver is registered for the DID method."""

    reason = "methodNotSupported"


class FetchError(SsiError):
    """An injected fetcher refused or failed to retrieve a resource."""

    reason = "fetch_failed"


class StatusListError(SsiError):
    """A Token Status List or status list token is malformed or fails a check."""

    reason = "invalid_status_list"


class CredentialError(SsiError):
    """A credential (SD-JWT VC, …) is malformed or fails verification."""

    code = "invalid_credential"
    reason = "invalid_credential"


class SdJwtError(CredentialError):
    """An SD-JWT (RFC 9901) or SD-JWT VC is malformed or fails a check of RFC 9901 §7.

    ``reason`` names the violated rule, e.g. ``unreferenced_disclosure`` (§7.1 step 5), ``duplicate_digest``
    (§7.1 step 4), ``claim_name_collision`` (§7.1 step 3.3.2.3), ``kb_sd_hash_mismatch`` (§7.3 step 5.7).
    """

    reason = "invalid_sd_jwt"


class KeyBindingError(SdJwtError):
    """The Key Binding JWT is missing, malformed, or fails a check of RFC 9901 §7.3 step 5."""

    reason = "kb_invalid"


class ChainError(SsiError):
    """A chain operation failed (DESIGN.md §1: the PoA Ethereum chain behind the DID and trust registries).

    ``reason`` names what failed, e.g. ``transaction_failed`` (mined with status 0), ``chain_id_mismatch``.
    """

    code = "server_error"
    reason = "chain_error"


class ChainUnavailable(ChainError):
    """No chain node answered in time (connection refused, timeout, not a JSON-RPC endpoint)."""

    code = "temporarily_unavailable"
    reason = "chain_unavailable"


class ChainStorageError(ChainError):
    """A local chain's data directory cannot be used: unreadable, corrupt, in use, or made for another chain."""

    reason = "chain_storage"


class TransactionRejected(ChainError):
    """A node refused a transaction before executing it (bad nonce, chain id, signature, gas, funds)."""

    code = "invalid_request"
    reason = "transaction_rejected"


class ExecutionReverted(ChainError):
    """EVM execution reverted. ``data`` holds the revert data (e.g. ABI-encoded ``Error(string)``)."""

    reason = "execution_reverted"

    def __init__(self, description: str, *, data: bytes = b"", reason: str | None = None) -> None:
        super().__init__(description, reason=reason)
        self.data = data


class ChainIdMismatch(ChainError):
    """An endpoint answered ``eth_chainId`` with another chain than the others (or than the one configured).

    Sending to the wrong chain would sign transactions for a network nobody meant (EIP-155 replay protection only
    makes them invalid elsewhere, it does not stop reads from the wrong registry), so this is a configuration error.
    """

    reason = "chain_id_mismatch"


class TransactionFailed(ExecutionReverted):
    """A transaction reverted. ``transaction_hash`` is ``None`` when it reverted at gas estimation and was never sent;
    ``revert_reason`` is the ``Error(string)`` message when there is one; ``data`` the raw revert data if known."""

    reason = "transaction_failed"

    def __init__(
        self,
        description: str,
        *,
        transaction_hash: bytes | None = None,
        revert_reason: str | None = None,
        data: bytes = b"",
        reason: str | None = None,
    ) -> None:
        super().__init__(description, data=data, reason=reason)
        self.transaction_hash = transaction_hash
        self.revert_reason = revert_reason


class TransactionNotConfirmed(ChainUnavailable):
    """A signed transaction whose fate is unknown within the deadline: maybe no node took it, maybe it is pending or
    not yet ``confirmations`` deep. ``raw_transaction`` can be resent as it is (``ChainClient.resend``): it has the
    same nonce and hash, so it is applied at most once."""

    reason = "transaction_not_confirmed"

    def __init__(self, description: str, *, transaction_hash: bytes, raw_transaction: bytes | None = None) -> None:
        super().__init__(description)
        self.transaction_hash = transaction_hash
        self.raw_transaction = raw_transaction


class InvalidDpopProof(JoseError):
    """A DPoP proof fails a check of RFC 9449 §4.3 (error code ``invalid_dpop_proof``, RFC 9449 §5/§7.1)."""

    code = "invalid_dpop_proof"
    reason = "invalid_dpop_proof"


class UseDpopNonce(InvalidDpopProof):
    """The server requires a (fresh) nonce in the DPoP proof (RFC 9449 §8: error ``use_dpop_nonce``)."""

    code = "use_dpop_nonce"
    reason = "use_dpop_nonce"


class CertificateError(SsiError):
    """An X.509 certificate or ``x5c`` chain is malformed, not valid now, or does not lead to a trust anchor."""

    reason = "invalid_certificate"


class Oid4vciError(SsiError):
    """A message of OpenID for Verifiable Credential Issuance 1.0 (or of the OAuth 2.0 exchanges it builds on) is
    malformed or refused. Subclasses carry the error code the endpoint answers with (§6.3, §8.3.1.2; RFC 6749 §5.2;
    RFC 6750 §3.1)."""

    reason = "invalid_oid4vci_message"


class InvalidGrant(Oid4vciError):
    """RFC 6749 §5.2 ``invalid_grant``; OpenID4VCI 1.0 §6.3: a wrong Transaction Code, a wrong or expired
    Pre-Authorized Code."""

    code = "invalid_grant"
    reason = "invalid_grant"


class UnsupportedGrantType(Oid4vciError):
    """RFC 6749 §5.2 ``unsupported_grant_type``: the grant type is not supported by the authorization server."""

    code = "unsupported_grant_type"
    reason = "unsupported_grant_type"


class InvalidClient(Oid4vciError):
    """RFC 6749 §5.2 ``invalid_client``: client authentication failed (or is required and missing)."""

    code = "invalid_client"
    reason = "invalid_client"


class InvalidToken(Oid4vciError):
    """RFC 6750 §3.1 ``invalid_token``: the access token is missing, expired, revoked, malformed or not meant for this
    resource."""

    code = "invalid_token"
    reason = "invalid_token"


class InvalidCredentialRequest(Oid4vciError):
    """OpenID4VCI 1.0 §8.3.1.2 ``invalid_credential_request``: "missing a required parameter, includes an unsupported
    parameter or parameter value, repeats the same parameter, or is otherwise malformed"."""

    code = "invalid_credential_request"
    reason = "invalid_credential_request"


class UnknownCredentialConfiguration(Oid4vciError):
    """OpenID4VCI 1.0 §8.3.1.2 ``unknown_credential_configuration``: "Requested Credential Configuration is
    unknown"."""

    code = "unknown_credential_configuration"
    reason = "unknown_credential_configuration"


class UnknownCredentialIdentifier(Oid4vciError):
    """OpenID4VCI 1.0 §8.3.1.2 ``unknown_credential_identifier``: "Requested Credential identifier is unknown"."""

    code = "unknown_credential_identifier"
    reason = "unknown_credential_identifier"


class InvalidProof(Oid4vciError):
    """OpenID4VCI 1.0 §8.3.1.2 ``invalid_proof``: the ``proofs`` parameter is missing, a key proof is invalid, or a
    key proof carries no ``c_nonce``."""

    code = "invalid_proof"
    reason = "invalid_proof"


class InvalidNonce(Oid4vciError):
    """OpenID4VCI 1.0 §8.3.1.2 ``invalid_nonce``: a key proof carries a ``c_nonce`` the issuer does not (or no longer)
    accept; the wallet should fetch a new one from the Nonce Endpoint."""

    code = "invalid_nonce"
    reason = "invalid_nonce"


class InvalidEncryptionParameters(Oid4vciError):
    """OpenID4VCI 1.0 §8.3.1.2 ``invalid_encryption_parameters``: encryption parameters are invalid or missing."""

    code = "invalid_encryption_parameters"
    reason = "invalid_encryption_parameters"


class CredentialRequestDenied(Oid4vciError):
    """OpenID4VCI 1.0 §8.3.1.2 ``credential_request_denied``: the issuer does not accept the request (unrecoverable
    for the wallet), e.g. the offer's data was already delivered."""

    code = "credential_request_denied"
    reason = "credential_request_denied"


class InvalidAuthorizationDetails(Oid4vciError):
    """RFC 9396 §5 ``invalid_authorization_details``: an ``authorization_details`` value is malformed, of an unknown
    type, or asks for something the grant does not cover."""

    code = "invalid_authorization_details"
    reason = "invalid_authorization_details"


class Pkcs11Error(KeyError_):
    """A PKCS#11 token (HSM) or its module refused or failed: module not loadable, token or key not found, wrong or
    locked PIN, a key that could leave the token, a failed operation. ``reason`` says which (``pkcs11_*``). For a
    service this is its own failure, never the client's."""

    code = "server_error"
    reason = "pkcs11_failed"


class WalletError(SsiError):
    """The wallet simulator refused an operation because of its own state or the user's input (not a protocol
    peer's answer): e.g. ``unknown_credential``, ``wallet_not_found``, ``offer_declined``, ``malformed_qr``."""

    reason = "wallet_error"


class WalletPinError(WalletError):
    """The wallet PIN is wrong (``wrong_wallet_pin``), too weak (``weak_wallet_pin``) or, after too many wrong
    attempts, the wallet waits before it accepts another (``wallet_pin_locked``)."""

    code = "access_denied"
    reason = "wrong_wallet_pin"


class SecureElementLocked(WalletError):
    """The simulated secure element signs only after the wallet PIN unlocked it."""

    code = "access_denied"
    reason = "secure_element_locked"


class IssuerError(Oid4vciError):
    """A credential issuer or its authorization server answered with an error: ``code`` is the error code it sent
    (``invalid_grant``, ``credential_request_denied`` …), ``status`` the HTTP status, ``reason`` ``issuer_<code>``."""

    def __init__(self, description: str, *, code: str, status: int, reason: str | None = None) -> None:
        super().__init__(description, reason=reason or f"issuer_{code}")
        self.code = code
        self.status = status


class BbsError(SsiError):
    """The BBS signature scheme (draft-irtf-cfrg-bbs-signatures) refused an input or a result. ``reason`` names the
    rule, e.g. ``bbs_point_not_in_subgroup``, ``bbs_indexes_not_ascending``; messages never carry key material."""

    reason = "bbs_invalid"


class BbsEncodingError(BbsError):
    """An octet string is not a valid encoding for the ciphersuite: wrong length, a point that is not canonical, not on
    the curve, not in the subgroup or the identity, a scalar out of range (draft §4.2.4 "Serialization")."""

    reason = "bbs_malformed"


class BbsInputError(BbsError):
    """An argument breaks a rule of an operation: key material too short, disclosed indexes out of range or not in
    ascending order, a wrong number of messages, a secret key out of range, too many messages for our limits."""

    reason = "bbs_invalid_input"


class BbsVerificationError(BbsError):
    """A BBS signature or proof is well-formed but does not verify (draft §3.6.2, §3.6.4: result INVALID)."""

    code = "invalid_credential"
    reason = "bbs_verification_failed"


class InvalidTransactionId(Oid4vciError):
    """OpenID4VCI 1.0 §9.3 ``invalid_transaction_id``: "the ``transaction_id`` was not issued by the respective
    Credential Issuer or it was already used to obtain a Credential"."""

    code = "invalid_transaction_id"
    reason = "invalid_transaction_id"


class InvalidNotificationId(Oid4vciError):
    """OpenID4VCI 1.0 §11.3 ``invalid_notification_id``: "The ``notification_id`` in the Notification Request was
    invalid"."""

    code = "invalid_notification_id"
    reason = "invalid_notification_id"


class InvalidNotificationRequest(Oid4vciError):
    """OpenID4VCI 1.0 §11.3 ``invalid_notification_request``: the Notification Request "is missing a required
    parameter, includes an unsupported parameter or parameter value, repeats the same parameter, or is otherwise
    malformed"."""

    code = "invalid_notification_request"
    reason = "invalid_notification_request"


class DcqlError(SsiError):
    """A DCQL query (OpenID4VP 1.0 §6) is malformed (``dcql_malformed``, ``dcql_bad_path``, ``dcql_duplicate_claim``
    …), cannot be satisfied by the wallet (``dcql_unsatisfiable``), or a response does not satisfy it
    (``dcql_claim_missing``, ``dcql_claim_not_requested``, ``dcql_credential_missing`` …)."""

    code = "invalid_request"
    reason = "dcql_malformed"


class Oid4vpError(SsiError):
    """A message of OpenID for Verifiable Presentations 1.0 is malformed or refused. Subclasses name the side:
    :class:`InvalidRequestObject` (the Wallet refuses a request), :class:`InvalidAuthorizationResponse` (the Verifier
    refuses what arrived at its Response URI), :class:`AuthorizationDenied` (the Wallet answered with an error)."""

    reason = "invalid_oid4vp_message"


class InvalidRequestObject(Oid4vpError):
    """OpenID4VP 1.0 §8.5 ``invalid_request`` from the Wallet's side: a Request Object or request parameter breaks a
    rule (``request_wrong_typ``, ``client_id_mismatch``, ``client_id_x509_hash_mismatch``, ``wallet_nonce_mismatch``,
    ``unsupported_client_id_prefix`` …)."""

    reason = "invalid_request_object"


class InvalidRequestUriMethod(InvalidRequestObject):
    """OpenID4VP 1.0 §8.5 ``invalid_request_uri_method``: "The value of the request_uri_method request parameter is
    neither get nor post (case-sensitive)"."""

    code = "invalid_request_uri_method"
    reason = "invalid_request_uri_method"


class InvalidAuthorizationResponse(Oid4vpError):
    """The Verifier refuses an Authorization Response (§8.2, §8.3.1, §8.6): malformed, not encrypted as requested,
    encrypted to another key, for another request, replayed, or a presentation fails verification. ``reason`` names
    the check (``response_decryption_failed``, ``state_mismatch``, ``session_finished``, ``kb_wrong_nonce`` …)."""

    reason = "invalid_authorization_response"


class AuthorizationDenied(Oid4vpError):
    """The Wallet answered with an Authorization Error Response (§8.5): ``code`` is its error code (``access_denied``,
    ``vp_formats_not_supported`` …), ``reason`` ``wallet_<code>``."""

    def __init__(self, description: str, *, code: str, reason: str | None = None) -> None:
        super().__init__(description, reason=reason or f"wallet_{code}")
        self.code = code


class CredentialRefused(CredentialError):
    """A presented credential is authentic but the Verifier's trust policy refuses it: revoked or suspended, issuer not
    accredited for its type or accreditation ended, issuer key compromised, status list substituted, rolled back or
    unreachable. ``reason`` says which (``credential_revoked``, ``issuer_not_accredited`` …)."""

    reason = "credential_refused"


class DataIntegrityError(CredentialError):
    """A Data Integrity proof (W3C VC Data Integrity 1.0; the ``bbs-2023`` cryptosuite of vc-di-bbs) cannot be created
    or does not verify: malformed proof options or proof value, a selection that does not match the document, a
    canonicalization limit, a failed BBS check (``reason`` says which)."""

    reason = "data_integrity"


class JsonLdProcessingError(DataIntegrityError):
    """JSON-LD processing refused a document: a context that is not bundled (nothing is fetched), a term without a
    definition, a relative IRI, malformed JSON-LD."""

    reason = "jsonld_invalid"


class VerifiableCredentialError(CredentialError):
    """A credential breaks a rule of the W3C Verifiable Credentials Data Model 2.0 (``@context``, ``type``,
    ``issuer``, ``credentialSubject``, ``validFrom``/``validUntil`` …) or is outside its validity period."""

    reason = "vc_invalid"


class InvalidBlock(ChainError):
    """A block breaks a consensus rule and is refused (the PoA network model, EIP-225 Clique). ``reason`` names the
    rule: ``unauthorized_signer``, ``recently_signed``, ``wrong_difficulty``, ``invalid_timestamp``,
    ``invalid_seal``, ``invalid_checkpoint``, ``invalid_header``, ``unknown_parent``, ``malformed_block``, or
    ``invalid_block`` for what the EVM refuses while executing it (state root, gas, receipts)."""

    reason = "invalid_block"


class ChainStalled(TransactionNotConfirmed):
    """The chain stopped growing while a transaction waited for its block or its confirmations: a Clique network
    seals only while more than half of its signers are online. Like its base class it carries the signed bytes, which
    may be resent once the network seals again."""

    reason = "chain_stalled"


class EidError(SsiError):
    """The simulated eID (BSI TR-03110 / TR-03127 / TR-03130 style): a card, a Smart-eID or the eID-Server side
    refused. ``reason`` names the rule (``eid_*``). OAuth code ``access_denied``: for the PID issuer a failed eID
    authentication is the authorization step the citizen did not pass (RFC 6749 §4.1.2.1)."""

    code = "access_denied"
    reason = "eid_error"


class EidMalformed(EidError):
    """An eID message (request, response, security object, card-verifiable certificate) is not well-formed."""

    code = "invalid_request"
    reason = "eid_malformed"


class EidCardRefused(EidError):
    """The card (or the Smart-eID) refused an operation: PIN handling (``eid_wrong_pin``, ``eid_can_required``,
    ``eid_wrong_can``, ``eid_pin_blocked``, ``eid_transport_pin_active``, ``eid_wrong_puk``, ``eid_puk_exhausted``,
    ``eid_pin_format``) or terminal authentication (``eid_terminal_untrusted``, ``eid_terminal_expired``,
    ``eid_chat_widened``, ``eid_request_signature``, ``eid_request_expired``, ``eid_request_invalid``,
    ``eid_selection_invalid``)."""

    reason = "eid_card_refused"


class EidVerificationFailed(EidError):
    """The eID-Server side rejected a card's response: unknown or used session (``eid_unknown_session``), chip
    authentication (``eid_chip_authentication``), passive authentication (``eid_passive_authentication``,
    ``eid_document_signer_untrusted``, ``eid_data_group_hash``), released data (``eid_unrequested_data``,
    ``eid_required_data_missing``), validity (``eid_document_expired``, ``eid_session_expired``)."""

    reason = "eid_verification_failed"


class PidMappingError(CredentialError):
    """Verified eID data cannot make a German PID (``ssi.pid``): a mandatory attribute is missing
    (``pid_mapping``), the document has expired (``pid_document_expired``) or its type is unknown
    (``pid_document_type``)."""

    code = "access_denied"
    reason = "pid_mapping"
