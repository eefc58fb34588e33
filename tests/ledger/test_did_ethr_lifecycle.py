"""Key lifecycle of a did:ethr issuer (``ledger/did_ethr/_lifecycle.py``, ``ledger/README.md``).

Routine rotation keeps credentials signed before it verifiable until they expire (the key is taken from the DID
document as it was at the credential's ``iat``); a key marked compromised (``did/compromised/jkt``) invalidates
everything it signed whatever ``iat`` says; a deactivated DID invalidates every signature.
"""

from __future__ import annotations

from typing import Any

import pytest
from did_ethr_support import CHAIN_ID, EthrTestChain, chain_key, did_of

from ledger.did_ethr import COMPROMISE_ATTRIBUTE, EthrDidController, SigningKeyHistory, compromise_mark, ethr_did
from ssi.did import DidResolver
from ssi.errors import DidError, JoseError, TokenExpired
from ssi.jose import encode_jwt
from ssi.keys import PrivateKey, SoftwareSigner

YEAR = 365 * 24 * 3600


class Issuer:
    """An issuer on the test chain: a did:ethr whose keys it rotates."""

    def __init__(self, t: EthrTestChain, label: str = "issuer") -> None:
        self.t = t
        self.ctl: EthrDidController = t.controller(label)
        self.did = did_of(self.ctl)
        self.history = SigningKeyHistory(t.driver())

    def publish(self, key: PrivateKey, **options: Any) -> int:
        """Publish ``key``; return the block time of the publication."""
        return self.t.timestamp(self.ctl.publish_key(key.public_key, **options).block_number)

    def credential(self, key: PrivateKey, kid: str, iat: int, lifetime: int = YEAR) -> str:
        claims = {"iss": self.did, "iat": iat, "exp": iat + lifetime, "vct": "urn:example:diploma"}
        return encode_jwt(claims, SoftwareSigner(key, kid=f"{self.did}#{kid}"), typ="JWT")

    def verify(self, token: str) -> dict[str, Any]:
        return self.history.verify_jwt(token, ["ES256", "EdDSA", "ES256K"], did=self.did, clock=self.t.clock).claims


def _reason(action: Any) -> str:
    with pytest.raises(DidError) as info:
        action()
    return info.value.reason


@pytest.fixture
def rotated() -> tuple[Issuer, PrivateKey, PrivateKey, str, dict[str, int]]:
    """Key A published, a credential signed with it, then a routine rotation to key B (A revoked)."""
    t = EthrTestChain.create()
    issuer = Issuer(t)
    key_a, key_b = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
    times = {"a published": issuer.publish(key_a)}
    t.advance(1000)
    times["signed"] = int(t.clock())
    token = issuer.credential(key_a, "delegate-1", times["signed"])
    t.advance(1000)
    times["b published"] = issuer.publish(key_b)
    times["a revoked"] = t.timestamp(issuer.ctl.revoke_key(key_a.public_key).block_number)
    t.advance(1000)
    return issuer, key_a, key_b, token, times


def test_credential_signed_before_a_routine_rotation_still_verifies(rotated: Any) -> None:
    """The key is checked as it was at ``iat``: valid then, so the credential verifies until it expires."""
    issuer, key_a, _, token, _ = rotated
    assert issuer.verify(token)["vct"] == "urn:example:diploma"
    assert issuer.history.key_at(f"{issuer.did}#delegate-1", issuer.t.clock() - 2500) == key_a.public_key
    # the current document no longer has A: a verifier looking only at the latest version would refuse
    latest = DidResolver([issuer.history.driver]).resolve(issuer.did)
    assert [vm.id.split("#")[1] for vm in latest.verification_method] == ["controller", "delegate-2"]


def test_credential_verifies_until_it_expires(rotated: Any) -> None:
    issuer, _, _, token, times = rotated
    issuer.t.now.now = times["signed"] + YEAR + 120  # past exp and the 60 s skew
    with pytest.raises(TokenExpired):
        issuer.verify(token)


def test_a_rotated_key_signs_nothing_new(rotated: Any) -> None:
    """A credential dated after the revocation finds no key A at its ``iat``."""
    issuer, key_a, _, _, times = rotated
    token = issuer.credential(key_a, "delegate-1", times["a revoked"] + 10)
    assert _reason(lambda: issuer.verify(token)) == "notFound"


def test_a_key_cannot_vouch_for_a_time_before_it_was_published(rotated: Any) -> None:
    issuer, _, key_b, _, times = rotated
    token = issuer.credential(key_b, "delegate-2", times["b published"] - 10)
    assert _reason(lambda: issuer.verify(token)) == "notFound"
    assert issuer.verify(issuer.credential(key_b, "delegate-2", times["b published"] + 10))


def test_a_compromise_mark_invalidates_everything_the_key_signed(rotated: Any) -> None:
    """After ``did/compromised/jkt`` = thumbprint(A), no signature of A verifies: not the credential signed before
    the rotation, not one with a backdated ``iat``; B is unaffected."""
    issuer, key_a, key_b, token, times = rotated
    backdated = issuer.credential(key_a, "delegate-1", times["a published"] + 1)
    assert issuer.verify(backdated)  # before the mark, a backdated iat passes: A was valid then
    issuer.ctl.mark_compromised(key_a.public_key, purpose=None)  # A is already revoked
    for forged in (token, backdated):
        assert _reason(lambda forged=forged: issuer.verify(forged)) == "keyCompromised"
    assert issuer.verify(issuer.credential(key_b, "delegate-2", int(issuer.t.clock())))
    # every version of the document leaves A out and names it in the metadata
    driver = issuer.history.driver
    for version in (driver.resolve_at(issuer.did), driver.resolve_at(issuer.did, time=times["signed"])):
        assert "delegate-1" not in str(version.document.to_json())
        assert version.document_metadata["compromisedKeys"] == [key_a.public_key.thumbprint()]
    assert driver.compromised_keys(issuer.did) == {key_a.public_key.thumbprint()}


def test_marking_a_published_key_also_revokes_it() -> None:
    """``mark_compromised`` sets the mark first, then revokes the ``did/pub`` attribute, so resolvers that do not know
    the mark drop the key from the current document too."""
    t = EthrTestChain.create()
    issuer = Issuer(t)
    key = PrivateKey.generate("EdDSA")
    issuer.publish(key)
    issuer.ctl.mark_compromised(key.public_key)
    t.advance(1)
    shown = issuer.history.driver.resolve_at(issuer.did, hide_compromised=False)
    assert [vm.id.split("#")[1] for vm in shown.document.verification_method] == ["controller"]


def test_a_mark_is_final(rotated: Any) -> None:
    """Revoking the mark attribute does not lift it: a key that leaked stays leaked."""
    issuer, key_a, _, token, _ = rotated
    name, value = compromise_mark(key_a.public_key)
    issuer.ctl.set_attribute(name, value, 1)
    issuer.ctl.revoke_attribute(name, value)
    issuer.t.advance(10)
    assert _reason(lambda: issuer.verify(token)) == "keyCompromised"


def test_a_revocation_alone_is_no_mark(rotated: Any) -> None:
    issuer, key_a, _, token, _ = rotated
    issuer.ctl.revoke_attribute(*compromise_mark(key_a.public_key))  # validTo 0: a revocation, never a mark
    issuer.ctl.set_attribute(COMPROMISE_ATTRIBUTE, b"short", YEAR)  # not a thumbprint
    assert issuer.verify(token)


def test_one_mark_covers_every_encoding_of_a_key() -> None:
    """The thumbprint names the key whether it was published as ``Secp256k1`` or as ``Multikey``."""
    t = EthrTestChain.create()
    issuer = Issuer(t)
    key = PrivateKey.generate("ES256K")
    issuer.publish(key)  # did/pub/Secp256k1/veriKey
    issuer.ctl.set_attribute("did/pub/Multikey/veriKey", b"\xe7\x01" + key.public_key.raw_bytes(compressed=True))
    t.advance(1)
    iat = int(t.clock())
    for kid in ("delegate-1", "delegate-2"):
        assert issuer.verify(issuer.credential(key, kid, iat))
    issuer.ctl.set_attribute(*compromise_mark(key.public_key), YEAR)
    for kid in ("delegate-1", "delegate-2"):
        assert _reason(lambda kid=kid: issuer.verify(issuer.credential(key, kid, iat))) == "keyCompromised"


def test_controller_key_of_a_public_key_did_can_be_marked() -> None:
    t = EthrTestChain.create()
    key = chain_key("pubkey issuer")
    did = ethr_did(key.public_key, CHAIN_ID)
    ctl = t.controller("pubkey issuer")
    history = SigningKeyHistory(t.driver())
    assert history.key_at(f"{did}#controllerKey", t.clock()) == key.public_key
    ctl.mark_compromised(key.public_key, purpose=None)
    assert _reason(lambda: history.key_at(f"{did}#controllerKey", t.clock() - 100)) == "keyCompromised"
    assert "controllerKey" not in str(history.driver.resolve(did).to_json())


def test_deactivation_revokes_every_signature(rotated: Any) -> None:
    """Spec "Delete (Revoke)": "If the intention is to revoke all the signatures corresponding to the DID, this
    option MUST be used" — credentials issued before are refused too."""
    issuer, _, key_b, token, _ = rotated
    fresh = issuer.credential(key_b, "delegate-2", int(issuer.t.clock()))
    issuer.ctl.deactivate()
    for credential in (token, fresh):
        assert _reason(lambda credential=credential: issuer.verify(credential)) == "deactivated"


def test_kid_and_iat_checks(rotated: Any) -> None:
    issuer, key_a, _, token, times = rotated
    other = Issuer(issuer.t, "other issuer")
    with pytest.raises(DidError) as info:
        other.verify(token)  # kid of another DID than the expected issuer
    assert info.value.reason == "invalidDidUrl"
    assert _reason(lambda: issuer.history.key_at(issuer.did, times["signed"])) == "invalidDidUrl"
    assert _reason(lambda: issuer.history.key_at(f"{issuer.did}#delegate-1", float("nan"))) == "invalidOptions"
    no_iat = encode_jwt({"iss": issuer.did}, SoftwareSigner(key_a, kid=f"{issuer.did}#delegate-1"))
    with pytest.raises(JoseError) as jose:
        issuer.verify(no_iat)
    assert jose.value.reason == "missing_iat"
    for malformed in ("a.b", "a.!!.c", "a.bnVsbA.c"):
        with pytest.raises(JoseError):
            issuer.verify(malformed)
