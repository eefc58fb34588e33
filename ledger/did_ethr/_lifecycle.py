"""Key lifecycle of a did:ethr issuer: routine rotation, and compromise.

**Routine rotation.** An issuer publishes a new signing key (``setAttribute`` ``did/pub/...``) and revokes the old one
(``revokeAttribute``, or lets its ``validTo`` pass). Credentials it signed with the old key stay valid until they
expire: the verifier checks the key *as it was when the credential was issued*. :class:`SigningKeyHistory` resolves
the issuer's DID at the credential's ``iat`` (``versionTime``: every change stamped later is not applied, every
``validTo`` is compared with ``iat``), takes the ``kid``'s key from that version and verifies with it; the usual
``exp`` check against the current time ends the credential's life. The key must have existed at ``iat``: a key
published later cannot vouch for an earlier date.

**Compromise.** ``iat`` is written by the signer, so whoever holds a stolen key can backdate it into the key's valid
period; after a compromise no signature of that key can be trusted, whatever ``iat`` says. The controller records the
compromise on chain as an ERC-1056 attribute of the identity::

    name  = "did/compromised/jkt"            (bytes32)
    value = SHA-256 JWK thumbprint of the key (RFC 7638; 32 bytes)

and (:meth:`ledger.did_ethr.EthrDidController.mark_compromised`) revokes the key's ``did/pub`` attribute as well, so
resolvers that know nothing of the mark at least drop it from the current document. A mark is **final**: it counts
from the moment any ``DIDAttributeChanged`` event sets it (``validTo`` > 0), whatever its ``validTo``, and a later
``revokeAttribute`` does not lift it (a key that leaked stays leaked; re-trusting it would re-trust every forgery).
The driver leaves marked keys out of *every* version of the document it serves (latest, ``versionId``,
``versionTime``) and lists the thumbprints in the document metadata as ``compromisedKeys``; :class:`SigningKeyHistory`
refuses them with ``keyCompromised``. A DID whose owner became 0x0 (deactivation) revokes every signature of all its
keys ("If the intention is to revoke all the signatures corresponding to the DID, this option MUST be used"), so it is
refused as ``deactivated`` even for credentials issued before.

Why an attribute of the DID and not the trusted-issuer registry (the next ledger issue): the key's controller is the
one who learns of a compromise and must be able to act at once, without a vote of the registry's members; the mark
travels with the DID, so every verifier that resolves the DID sees it, also verifiers that do not consult govssi's
trust registry; it costs one transaction; and the name does not match ``did/pub/`` or ``did/svc/``, so standard
did:ethr resolvers ignore it and it does not shift the ``#delegate-N`` ids. The thumbprint names the key whatever
encoding published it (``Secp256k1``, ``Multikey``, the ``#controllerKey`` of a public-key DID). The trust registry
may still suspend an *issuer* as a whole; that is a governance decision and complements this. Marks cover keys with a
JWK form (P-256, secp256k1, Ed25519, X25519); address-only delegates (``EcdsaSecp256k1RecoveryMethod2020``) are ended
by ``revokeDelegate``, and govssi verifies no signatures with them. If the controller key itself is compromised, the
attacker controls the DID: deactivate it (or change its owner) and issue under a new one.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ledger.did_ethr._events import AttributeChanged, RegistryEvent
from ssi.did import parse_did_url
from ssi.encoding import b64url_decode, b64url_encode, json_loads
from ssi.errors import DidError, DidNotFound, EncodingError, JoseError, SsiError
from ssi.jose import KeyResolver, VerifiedJwt, decode_jwt, numeric_date
from ssi.keys import PublicKey, jwk_thumbprint

if TYPE_CHECKING:
    from ledger.did_ethr._driver import EthrDidDriver
    from ssi.clock import Clock

__all__ = ["COMPROMISE_ATTRIBUTE", "SigningKeyHistory", "compromise_mark", "compromised_thumbprints"]

#: The attribute name of a compromise mark; the value is a 32-byte SHA-256 JWK thumbprint.
COMPROMISE_ATTRIBUTE: Final = "did/compromised/jkt"


def compromise_mark(key: PublicKey | Mapping[str, Any]) -> tuple[str, bytes]:
    """(attribute name, attribute value) marking ``key`` (a :class:`PublicKey` or a public JWK) compromised."""
    thumbprint = key.thumbprint() if isinstance(key, PublicKey) else jwk_thumbprint(key)
    return COMPROMISE_ATTRIBUTE, b64url_decode(thumbprint)


def compromised_thumbprints(history: Iterable[RegistryEvent]) -> frozenset[str]:
    """The thumbprints (base64url) every compromise mark in an identity's history names; marks are final."""
    return frozenset(
        b64url_encode(event.value)
        for event in history
        if isinstance(event, AttributeChanged)
        and event.name == COMPROMISE_ATTRIBUTE
        and event.valid_to > 0
        and len(event.value) == 32
    )


class SigningKeyHistory:
    """Which key a did:ethr DID URL named when a credential was issued — unless it was marked compromised since, or
    the DID was deactivated."""

    def __init__(self, driver: EthrDidDriver) -> None:
        self.driver = driver

    def key_at(self, kid: str, issued_at: float, *, relationship: str = "assertionMethod") -> PublicKey:
        """The key of ``kid`` (an absolute DID URL with a fragment) as the DID document had it at ``issued_at``.

        Raises ``DidError``: ``deactivated`` (the DID is deactivated now), ``keyCompromised`` (the key carries a
        compromise mark, set before or after ``issued_at``), ``notFound`` (no such key at ``issued_at``: not yet
        published, revoked or expired by then), ``invalidVerificationRelationship``.
        """
        url = parse_did_url(kid)
        if url.fragment is None or url.path or url.query is not None:
            raise DidError(
                "a signing key id is a DID URL with a fragment (did:ethr:…#delegate-1)", reason="invalidDidUrl"
            )
        if not math.isfinite(issued_at):
            raise DidError("the issuance time must be a finite number", reason="invalidOptions")
        did = str(url.did)
        if self.driver.resolve_at(did).deactivated:
            raise DidError(
                f"{did} is deactivated: every signature of its keys is revoked (did:ethr 'Delete (Revoke)')",
                reason="deactivated",
            )
        at_issuance = self.driver.resolve_at(did, time=math.floor(issued_at), hide_compromised=False)
        try:
            method = at_issuance.document.find_verification_method(kid, relationship)
        except DidNotFound:
            raise DidNotFound(
                f"{kid} was not a key of {did} at the issuance time (not yet published, revoked or expired)"
            ) from None
        key = method.public_key()
        marked: Collection[str] = at_issuance.document_metadata.get("compromisedKeys", ())
        if key.thumbprint() in marked:
            raise DidError(
                f"{kid} is marked compromised: nothing it signed is trusted, whatever its issuance time",
                reason="keyCompromised",
            )
        return key

    def key_resolver(
        self, issued_at: float, *, relationship: str = "assertionMethod", did: str | None = None
    ) -> KeyResolver:
        """A :data:`ssi.jose.KeyResolver` for the JWS ``kid``, checked as :meth:`key_at`; with ``did``, the ``kid``
        must be a DID URL of that DID (the credential's ``iss``)."""

        def resolve_kid(header: Mapping[str, Any]) -> PublicKey:
            kid = header.get("kid")
            if not isinstance(kid, str):
                raise DidError("the JWS header has no 'kid' DID URL", reason="invalidDidUrl")
            if did is not None and str(parse_did_url(kid).did) != did:
                raise DidError("the 'kid' DID URL belongs to another DID", reason="invalidDidUrl")
            return self.key_at(kid, issued_at, relationship=relationship)

        return resolve_kid

    def verify_jwt(
        self,
        token: str,
        algorithms: Collection[str],
        *,
        did: str | None = None,
        typ: str | Collection[str] | None = None,
        clock: Clock | None = None,
        skew: float = 60.0,
        require: Collection[str] = (),
    ) -> VerifiedJwt:
        """Verify a JWT signed by a did:ethr key with the key valid at its ``iat`` (required).

        ``iat`` is read before the signature is checked only to choose the key; the signature then covers it, so a
        backdated ``iat`` is the signer's statement — trusted for routine rotation, refused for compromised keys.
        """
        issued_at = _unverified_iat(token)
        options: dict[str, Any] = {"typ": typ, "skew": skew, "require": {"iat", *require}}
        if clock is not None:
            options["clock"] = clock
        return decode_jwt(token, self.key_resolver(issued_at, did=did), algorithms, **options)


def _unverified_iat(token: str) -> float:
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise JoseError("a JWT has three parts", reason="malformed_jws")
    try:
        claims = json_loads(b64url_decode(parts[1]))
    except (EncodingError, SsiError):
        raise JoseError("the JWT claims are not a base64url JSON object", reason="malformed_claims") from None
    if not isinstance(claims, dict):
        raise JoseError("the JWT claims are not a JSON object", reason="malformed_claims")
    issued_at = numeric_date(claims, "iat", required=True)
    assert issued_at is not None
    return issued_at
