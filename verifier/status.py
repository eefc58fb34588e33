"""Status checks of presented credentials (Token Status List, draft-ietf-oauth-status-list §8) with the chain's
anchored digests.

``ssi.status_list.StatusListVerifier`` fetches, verifies and caches Status List Tokens (fresh for
``min(ttl, exp - fetch time, GOVSSI_STATUS_MAX_AGE)``; 0 fetches on every check). On top of it:

- the token must be signed by the credential's own issuer: HAIP 1.0 puts the key in the token's ``x5c`` (validated to
  our trust anchors, and its leaf key must be the key that signed the credential); a did:ethr issuer's token names its
  key by ``kid`` in the issuer's DID;
- the SHA-256 of the token as served must be the **latest anchored** version (``ledger.trust.StatusAnchorReader``):
  an older anchored digest means the list was rolled back, an unknown one that it was substituted. A cached token
  that is no longer the latest is dropped and fetched again once before the credential is refused.
Every failure raises ``CredentialRefused`` with a reason; unreachable status lists and anchors fail closed unless
``fail_open`` (then the result says ``status: "unchecked"``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ssi.errors import CertificateError, CredentialRefused, DidError, SsiError, StatusListError
from ssi.fetch import Fetcher, FetchResponse
from ssi.keys import PublicKey
from ssi.status_list import INVALID, SUSPENDED, VALID, StatusListReference, StatusListToken, StatusListVerifier
from ssi.x5c_cache import X5cChainCache
from verifier.trust import IssuerTrust, TrustUnavailable

__all__ = ["StatusChecker", "StatusOutcome"]

#: StatusListError reasons that mean "could not get the list" (fail closed unless policy says otherwise).
_UNREACHABLE = frozenset({"fetch_failed", "http_status", "wrong_content_type", "token_too_large"})


@dataclass(frozen=True, slots=True)
class StatusOutcome:
    """``valid`` or ``unchecked`` (no status claim, or fail-open); ``anchored`` when the chain vouched for the list."""

    state: str
    uri: str | None = None
    anchored: bool = False


class _DigestRecordingFetcher:
    """Remembers the SHA-256 of the last body fetched per URI: the digest of the token the cache holds (a token is
    cached only after its own fetch, and every fetch replaces the entry)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.digests: dict[str, bytes] = {}

    def __call__(self, url: str) -> FetchResponse:
        response = self.fetcher(url)
        self.digests[url] = hashlib.sha256(response.body).digest()
        return response


class StatusChecker:
    def __init__(
        self,
        fetcher: Fetcher,
        anchors: Collection[x509.Certificate],
        *,
        did_resolver: Any | None = None,
        trust: IssuerTrust | None,
        max_age: float,
        clock: Any,
        skew: float = 60.0,
        fail_open: bool = False,
        require_anchored: bool = True,
    ) -> None:
        self._recorder = _DigestRecordingFetcher(fetcher)
        self._anchors = list(anchors)
        #: the token's chain is validated when it is fetched and again for each credential it answers for
        self._chains = X5cChainCache(self._anchors)
        self._did_resolver = did_resolver
        self._clock = clock
        self.trust = trust
        self.fail_open = fail_open
        self.require_anchored = require_anchored
        self._verifier = StatusListVerifier(
            self._recorder, self._token_key, ("ES256",), max_age=max_age, clock=clock, skew=skew
        )
        # One check at a time: the digest recorded for a URI must be the one of the token the cache returns.
        self._lock = threading.Lock()

    def _token_key(self, header: Mapping[str, Any]) -> PublicKey:
        """The Status List Token's key: ``x5c`` to our anchors (HAIP), or a ``kid`` DID URL (did:ethr issuers)."""
        if "x5c" in header:
            return self._chains.verify(header["x5c"], now=self._clock()).public_key
        kid = header.get("kid")
        if isinstance(kid, str) and kid.startswith("did:") and self._did_resolver is not None:
            return self._did_resolver.public_key(kid)  # type: ignore[no-any-return]
        raise CertificateError("the status list token names no trusted key (x5c)", reason="status_list_untrusted")

    def _fetch(self, uri: str) -> tuple[StatusListToken, bytes]:
        token = self._verifier.token(uri)
        return token, self._recorder.digests[uri]

    def check(self, status: Any, *, issuer_key: PublicKey, issuer_did: str | None) -> StatusOutcome:
        """The status of a credential from its ``status`` claim. ``issuer_key`` signed the credential;
        ``issuer_did`` is the issuer's DID per the registry (status lists are anchored under it)."""
        if status is None:
            return StatusOutcome("unchecked")
        try:
            reference = StatusListReference.from_status_claim(status)
        except SsiError:
            raise CredentialRefused("the credential's status claim is malformed", reason="status_malformed") from None
        with self._lock:
            try:
                token, digest = self._fetch(reference.uri)
                anchored = self._anchored(reference.uri, digest, issuer_did, retry=True)
                if anchored is _REFETCH:
                    self._verifier.clear_cache()
                    token, digest = self._fetch(reference.uri)
                    anchored = self._anchored(reference.uri, digest, issuer_did, retry=False)
            except StatusListError as exc:
                if exc.reason in _UNREACHABLE:
                    if self.fail_open:
                        return StatusOutcome("unchecked", reference.uri)
                    raise CredentialRefused(
                        "the status list cannot be fetched (fail closed)", reason="status_unavailable"
                    ) from None
                raise CredentialRefused(
                    f"the status list token is not valid: {exc.description}", reason="status_list_invalid"
                ) from None
            except (CertificateError, DidError) as exc:
                raise CredentialRefused(
                    f"the status list token is not signed by a trusted key: {exc.description}",
                    reason="status_list_untrusted",
                ) from None
            except TrustUnavailable:
                if self.fail_open:
                    return StatusOutcome("unchecked", reference.uri)
                raise CredentialRefused(
                    "the chain cannot confirm the status list (fail closed)", reason="status_anchor_unavailable"
                ) from None
        self._check_signer(token, issuer_key)
        try:
            value = token.status(reference.idx)
        except SsiError:
            raise CredentialRefused("the status index is outside the list", reason="status_index_invalid") from None
        if value == INVALID:
            raise CredentialRefused("the credential is revoked (status INVALID)", reason="credential_revoked")
        if value == SUSPENDED:
            raise CredentialRefused("the credential is suspended", reason="credential_suspended")
        if value != VALID:
            raise CredentialRefused(f"the credential's status is {value:#x}", reason="credential_status_invalid")
        return StatusOutcome("valid", reference.uri, anchored is True)

    def _check_signer(self, token: StatusListToken, issuer_key: PublicKey) -> None:
        """The token must be signed with the credential's own key (same issuer; §11.3 leaves it to the ecosystem)."""
        header = token.header
        if "x5c" in header:
            try:
                key = self._chains.verify(header["x5c"], now=self._clock()).public_key
            except CertificateError:
                key = None
        else:
            kid = header.get("kid")
            key = self._did_resolver.public_key(kid) if isinstance(kid, str) and self._did_resolver else None
        if key is None or key != issuer_key:
            raise CredentialRefused(
                "the status list token is signed by another key than the credential", reason="status_list_wrong_signer"
            )

    def _anchored(self, uri: str, digest: bytes, issuer_did: str | None, *, retry: bool) -> Any:
        """``True`` when the digest is the latest anchored one, ``None`` when anchors are not checked, or
        :data:`_REFETCH` once when the cached token is no longer the latest."""
        if self.trust is None or not self.require_anchored:
            return None
        if issuer_did is None:
            raise CredentialRefused("the issuer has no DID to look its anchors up", reason="status_list_not_anchored")
        state = self.trust.status_list_state(issuer_did, uri, digest)
        if state == "current":
            return True
        if retry:
            return _REFETCH
        reasons = {
            "rolled_back": ("the status list was rolled back to an older version", "status_list_rolled_back"),
            "unknown": ("the status list does not match any anchored version", "status_list_substituted"),
            "not_anchored": ("the issuer anchored no version of this status list", "status_list_not_anchored"),
        }
        description, reason = reasons.get(state, ("the status list is not anchored", "status_list_not_anchored"))
        raise CredentialRefused(description, reason=reason)


_REFETCH = object()
