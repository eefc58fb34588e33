"""Who may sign the Status List Token of a credential (``verifier.status.StatusChecker._check_signer``).

draft-ietf-oauth-status-list §11.3 (Key Resolution and Trust Management): "This specification does not mandate
specific methods for key resolution and trust management, however the following recommendations are made for
specifications, profiles, or ecosystems [...]: If the Issuer of the Referenced Token is the same entity as the Status
Issuer, then the same key that is embedded into the Referenced Token may be used for the Status List Token. [...]
Alternatively, the Status Issuer may use the same web-based key resolution that is used for the Referenced Token."

govssi's rule: the credential's issuer signs — with the credential's own key, or after a routine key rotation
(docs/operations.md) with an ``x5c`` key (HAIP 1.0 §6.1.1) that chains to our anchors and that the registry accredits
now for the same issuer DID, or with a ``kid`` of the same did:ethr that is valid now. Every other signer is refused.
The chain's answers are data here (``FakeTrust``); tests/verifier/test_chain_trust.py runs a rotation on a real chain.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from verifier_support import ISSUER_DID, PID, Accreditation, FakeTrust, TestIssuer

from ssi.errors import CredentialRefused, DidNotFound
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner
from ssi.status_list import INVALID, issue_status_list_token
from ssi.x509 import issue_certificate, make_self_signed_ca, spki_sha256, x5c_chain
from verifier.status import StatusChecker

OTHER_DID = "did:ethr:0x539:0x" + "2c" * 20


class FakeDids:
    """A DID resolver's ``public_key(kid)`` over the keys a DID document lists *now* (revoked keys are absent)."""

    def __init__(self) -> None:
        self.keys: dict[str, PublicKey] = {}

    def public_key(self, did_url: str, relationship: str | None = None) -> PublicKey:
        try:
            return self.keys[did_url]
        except KeyError:
            raise DidNotFound(f"{did_url} is not in the DID document", reason="notFound") from None


@dataclass
class Env:
    issuer: TestIssuer
    trust: FakeTrust
    dids: FakeDids
    checker: StatusChecker
    old_key: PublicKey
    old_spki: bytes
    status: dict[str, Any]

    def check(self, *, issuer_did: str | None = ISSUER_DID) -> str:
        return self.checker.check(self.status, issuer_key=self.old_key, issuer_did=issuer_did).state

    def publish(self, **kwargs: Any) -> str:
        """Sign the list again (by default with the issuer's current key and chain) and anchor it."""
        token = self.issuer.publish("1", **kwargs)
        self.trust.anchor(self.issuer, token)
        return token

    def publish_with_header(self, signer: SoftwareSigner, header: Mapping[str, Any]) -> str:
        uri = self.issuer.list_uri("1")
        now = int(time.time())
        token = issue_status_list_token(
            self.issuer.lists[uri], uri=uri, signer=signer, iat=now, exp=now + 3600, ttl=300, header=header
        )
        self.issuer.server.tokens[uri] = token
        self.trust.anchor(self.issuer, token)
        return token

    def rotate(self, **accreditation: Any) -> bytes:
        """docs/operations.md "Key rotation": a new certificate key, accredited for the same DID (superseding the old
        accreditation), signs the next version of the list."""
        new_spki = self.issuer.rotate()
        self.trust.accreditations[self.old_spki] = Accreditation(ISSUER_DID, (PID,), status="superseded")
        self.trust.accreditations[new_spki] = Accreditation(**{"did": ISSUER_DID, "types": (PID,), **accreditation})
        self.publish()
        return new_spki


def _env(*, trust: bool = True, require_anchored: bool = True) -> Env:
    issuer = TestIssuer.create()
    fake = FakeTrust()
    fake.accredit(issuer, PID)
    dids = FakeDids()
    checker = StatusChecker(
        issuer.server,
        [issuer.ca],
        did_resolver=dids,
        trust=fake if trust else None,
        max_age=0,
        clock=time.time,
        require_anchored=require_anchored,
    )
    uri = issuer.list_uri("1")
    idx = 7
    env = Env(
        issuer, fake, dids, checker, issuer.key.public_key, issuer.spki, {"status_list": {"idx": idx, "uri": uri}}
    )
    env.publish()
    return env


@pytest.fixture
def env() -> Env:
    return _env()


def _refused(env: Env, reason: str, **kwargs: Any) -> CredentialRefused:
    with pytest.raises(CredentialRefused) as caught:
        env.check(**kwargs)
    assert caught.value.reason == reason, caught.value.description
    return caught.value


# --- accepted ---------------------------------------------------------------------------------------------------------


def test_the_credentials_own_key_signs_its_list(env: Env) -> None:
    """§11.3: "the same key that is embedded into the Referenced Token may be used for the Status List Token"."""
    assert env.check() == "valid"


def test_after_a_rotation_the_new_accredited_key_signs_the_old_credentials_list(env: Env) -> None:
    """The new certificate key, chained to our anchors and accredited for the same DID, answers for credentials of
    the old key: valid, and revoked once the issuer revokes the entry (in a version signed with the new key)."""
    env.rotate()
    assert env.check() == "valid"
    env.issuer.lists[env.issuer.list_uri("1")].set(env.status["status_list"]["idx"], INVALID)
    env.publish()
    _refused(env, "credential_revoked")


def test_a_suspended_issuer_still_signs_its_lists_with_its_new_key(env: Env) -> None:
    """docs/ledger.md "Accreditations": a suspended issuer "may still anchor status lists (it must publish
    revocations)" — its revocations count (whether its credentials are accepted is the accreditation check's
    business, verifier/presentations.py)."""
    env.rotate(status="suspended")
    env.issuer.lists[env.issuer.list_uri("1")].set(env.status["status_list"]["idx"], INVALID)
    env.publish()
    _refused(env, "credential_revoked")


def test_a_did_key_of_the_same_issuer_signs_its_list(env: Env) -> None:
    """§11.3 "the same web-based key resolution that is used for the Referenced Token": a ``kid`` in the issuer's own
    did:ethr, listed in its DID document now."""
    new = PrivateKey.generate("ES256")
    env.dids.keys[f"{ISSUER_DID}#key-2"] = new.public_key
    env.publish_with_header(SoftwareSigner(new), {"kid": f"{ISSUER_DID}#key-2"})
    assert env.check() == "valid"


# --- refused ----------------------------------------------------------------------------------------------------------


def test_a_key_the_registry_does_not_accredit_is_refused(env: Env) -> None:
    new_spki = env.rotate()
    del env.trust.accreditations[new_spki]
    error = _refused(env, "status_list_wrong_signer")
    assert "not accredited" in error.description


def test_a_key_accredited_for_another_did_is_refused(env: Env) -> None:
    """Another issuer's accredited key, certified by a trusted CA, does not answer for this issuer's credentials."""
    env.rotate(did=OTHER_DID)
    error = _refused(env, "status_list_wrong_signer")
    assert "another issuer" in error.description


@pytest.mark.parametrize("status", ["superseded", "revoked"])
def test_a_key_whose_accreditation_ended_is_refused(env: Env, status: str) -> None:
    env.rotate(status=status)
    _refused(env, "status_list_wrong_signer")


def test_a_key_whose_accreditation_expired_is_refused(env: Env) -> None:
    env.rotate(valid_until=time.time() - 60)
    _refused(env, "status_list_wrong_signer")


def test_a_key_marked_compromised_in_the_registry_is_refused(env: Env) -> None:
    """A compromise mark refuses the key whatever ``since`` says: a stolen key writes any ``iat`` (docs/ledger.md)."""
    env.rotate(compromised_since=time.time() + 3600)
    _refused(env, "status_list_wrong_signer")


def test_a_key_marked_compromised_on_the_did_is_refused(env: Env) -> None:
    env.rotate()
    env.trust.compromised.add((ISSUER_DID, env.issuer.key.public_key.thumbprint()))
    error = _refused(env, "status_list_wrong_signer")
    assert "compromised" in error.description


def test_without_a_registry_only_the_credentials_own_key_counts() -> None:
    env = _env(trust=False)
    env.rotate()
    _refused(env, "status_list_wrong_signer")


def test_without_an_issuer_did_only_the_credentials_own_key_counts(env: Env) -> None:
    env.checker.require_anchored = False
    env.rotate()
    _refused(env, "status_list_wrong_signer", issuer_did=None)


def test_the_registry_down_during_the_signer_check_fails_closed() -> None:
    env = _env(require_anchored=False)
    env.rotate()
    env.trust.down = True
    _refused(env, "status_anchor_unavailable")


def test_a_chain_to_no_anchor_is_refused(env: Env) -> None:
    """An accreditation does not replace the PKI: a key certified by a CA we do not trust is refused before its
    accreditation is looked at (``status_list_untrusted``, the more specific reason)."""
    other_ca_key = PrivateKey.generate("ES256")
    other_ca = make_self_signed_ca(other_ca_key, "Other CA", now=time.time() - 86400, days=3650)
    new_spki = env.rotate()
    leaf = issue_certificate(
        other_ca, other_ca_key, env.issuer.key.public_key, "Stadt Köln", now=time.time() - 60, days=30
    )
    assert spki_sha256(leaf) == new_spki  # the accredited key, only under another CA
    env.publish(x5c=x5c_chain([leaf, other_ca]))
    _refused(env, "status_list_untrusted")


def test_an_expired_certificate_is_refused(env: Env) -> None:
    new_spki = env.rotate()
    expired = issue_certificate(
        env.issuer.ca,
        env.issuer.ca_key,
        env.issuer.key.public_key,
        "Stadt Köln",
        now=time.time() - 40 * 86400,
        days=30,
        uris=[env.issuer.url],
    )
    assert spki_sha256(expired) == new_spki
    env.publish(x5c=x5c_chain([expired]))
    _refused(env, "status_list_untrusted")


def test_a_did_key_of_another_did_is_refused(env: Env) -> None:
    new = PrivateKey.generate("ES256")
    env.dids.keys[f"{OTHER_DID}#key-1"] = new.public_key
    env.publish_with_header(SoftwareSigner(new), {"kid": f"{OTHER_DID}#key-1"})
    error = _refused(env, "status_list_wrong_signer")
    assert "another DID" in error.description


def test_a_did_key_no_longer_listed_is_refused(env: Env) -> None:
    """A revoked ``veriKey`` is not in the DID document now: the token cannot be verified at all."""
    new = PrivateKey.generate("ES256")
    env.publish_with_header(SoftwareSigner(new), {"kid": f"{ISSUER_DID}#key-2"})
    _refused(env, "status_list_untrusted")


def test_a_did_key_marked_compromised_is_refused(env: Env) -> None:
    new = PrivateKey.generate("ES256")
    env.dids.keys[f"{ISSUER_DID}#key-2"] = new.public_key
    env.trust.compromised.add((ISSUER_DID, new.public_key.thumbprint()))
    env.publish_with_header(SoftwareSigner(new), {"kid": f"{ISSUER_DID}#key-2"})
    _refused(env, "status_list_wrong_signer")


def test_a_list_of_the_old_key_after_the_rotation_still_counts(env: Env) -> None:
    """Rule 1 holds whatever the registry says about the old key: the issuer may keep signing an old key's lists with
    the old key (it does not; docs/operations.md)."""
    old_signer, old_x5c = env.issuer.signer, env.issuer.x5c
    env.rotate()
    env.publish(signer=old_signer, x5c=old_x5c)
    assert env.check() == "valid"
