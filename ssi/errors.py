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
