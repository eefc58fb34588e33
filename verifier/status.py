"""Status checks of presented credentials (Token Status List, draft-ietf-oauth-status-list §8) with the chain's
anchored digests.

``ssi.status_list.StatusListVerifier`` fetches, verifies and caches Status List Tokens (fresh for
``min(ttl, exp - fetch time, GOVSSI_STATUS_MAX_AGE)``; 0 fetches on every check). On top of it:

- the token must be signed by the credential's own issuer (:meth:`StatusChecker._check_signer`): with the key that
  signed the credential, or — after a key rotation — with another key of the same issuer: an ``x5c`` chain to our
  trust anchors whose certificate key the registry accredits now for the issuer's DID, or a ``kid`` in the issuer's
  did:ethr that the DID document lists now (not revoked, not marked compromised);
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
from ssi.x509 import spki_sha256
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
        self._check_signer(token, issuer_key, issuer_did)
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

    def _check_signer(self, token: StatusListToken, issuer_key: PublicKey, issuer_did: str | None) -> None:
        """The Status List Token must come from the credential's issuer, with one of its keys that is trusted now.

        draft-ietf-oauth-status-list §11.3 (Key Resolution and Trust Management) leaves the rule to the ecosystem:
        "This specification does not mandate specific methods for key resolution and trust management, however the
        following recommendations are made for specifications, profiles, or ecosystems [...]: If the Issuer of the
        Referenced Token is the same entity as the Status Issuer, then the same key that is embedded into the
        Referenced Token may be used for the Status List Token. [...] Alternatively, the Status Issuer may use the same
        web-based key resolution that is used for the Referenced Token." HAIP 1.0 §6.1.1 carries issuer keys in
        ``x5c``. govssi's ecosystem rule — the Status Issuer is the credential's issuer, identified by its DID in the
        cooperative's registry — accepts, in this order:

        1. the key that signed the credential ("the same key", §11.3);
        2. an ``x5c`` chain valid now to our trust anchors whose leaf key's SHA-256 (``ssi.x509.spki_sha256``) is named
           by the **live** accreditation of the same DID, with no compromise mark (``IssuerTrust.status_list_signer``:
           the key the cooperative accredited for this issuer after a routine rotation, docs/operations.md);
        3. for a token without ``x5c``: a ``kid`` DID URL in the same issuer DID, resolved **now** (the DID document
           lists neither revoked keys nor keys marked compromised), whose key the DID carries no compromise mark for.

        Anything else — a key of another issuer or accredited for another DID, a superseded, revoked, expired or
        compromised accreditation, a ``kid`` in another DID, no registry to ask — is refused as
        ``status_list_wrong_signer``; a chain that is expired or leads to no anchor, and a ``kid`` the DID document no
        longer lists, fail before, when the token's signature is checked (``status_list_untrusted``). A signer's
        accreditation is judged now, not at the credential's ``iat``: a status list speaks about now."""
        header = token.header
        now = self._clock()
        if "x5c" in header:
            try:
                chain = self._chains.verify(header["x5c"], now=now)
            except CertificateError as exc:
                raise _wrong_signer(f"its x5c chain is not trusted now ({exc.description})") from None
            if chain.public_key == issuer_key:
                return
            self._accredited_signer(spki_sha256(chain.leaf), chain.public_key, issuer_did, now)
            return
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid.startswith("did:") or self._did_resolver is None:
            raise _wrong_signer("it names neither an x5c chain nor a DID key")
        try:
            key: PublicKey = self._did_resolver.public_key(kid)
        except SsiError as exc:
            raise _wrong_signer(f"its kid does not resolve to a current key ({exc.description})") from None
        if key == issuer_key:
            return
        if issuer_did is None or kid.split("#", 1)[0] != issuer_did:
            raise _wrong_signer("its kid is a key of another DID than the credential's issuer")
        self._not_compromised(issuer_did, key)

    def _accredited_signer(self, cert_key: bytes, key: PublicKey, issuer_did: str | None, now: float) -> None:
        """Rule 2 of :meth:`_check_signer`: the registry accredits this certificate key for the issuer's DID now."""
        if self.trust is None or issuer_did is None:
            raise _wrong_signer("it is signed by another key than the credential and no registry vouches for it")
        try:
            did = self.trust.status_list_signer(cert_key, now=now)
        except TrustUnavailable:
            raise CredentialRefused(
                "the chain cannot confirm the status list's signer (fail closed)", reason="status_anchor_unavailable"
            ) from None
        if did is None:
            raise _wrong_signer("its certificate key is not accredited now (unknown, superseded, or compromised)")
        if did != issuer_did:
            raise _wrong_signer("its certificate key is accredited for another issuer")
        self._not_compromised(issuer_did, key)

    def _not_compromised(self, issuer_did: str, key: PublicKey) -> None:
        if self.trust is None:
            return
        try:
            compromised = self.trust.key_compromised(issuer_did, key)
        except TrustUnavailable:
            raise CredentialRefused(
                "the chain cannot confirm the status list's signer (fail closed)", reason="status_anchor_unavailable"
            ) from None
        if compromised:
            raise _wrong_signer("the issuer's DID marks its key compromised")

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


def _wrong_signer(why: str) -> CredentialRefused:
    return CredentialRefused(
        f"the status list token is not signed by a current key of the credential's issuer: {why}",
        reason="status_list_wrong_signer",
    )
