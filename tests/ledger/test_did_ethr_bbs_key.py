"""A BBS (BLS12-381 G2) key on a did:ethr (issue 14): the did:ethr spec's ``Multikey`` — attribute
``did/pub/Multikey/veriKey`` whose value "MUST include the multicodec prefix" (``bls12_381-g2-pub``, 0xeb01) — read
back from the registry's events as a ``Multikey`` verification method that vc-di-bbs §2.1.1 accepts, found by
``ssi.data_integrity.did_public_key_lookup``; revoked like any attribute."""

from __future__ import annotations

import pytest
from did_ethr_support import EthrTestChain, did_of

from ledger.did_ethr import multikey_attribute, verification_method_thumbprint
from ledger.did_ethr._keys import BLS12_381_G2_PUB
from ssi import bbs
from ssi.data_integrity import did_public_key_lookup
from ssi.errors import DataIntegrityError


@pytest.fixture
def t() -> EthrTestChain:
    return EthrTestChain.create()


def test_a_bbs_key_published_as_multikey_resolves_for_bbs_2023(t: EthrTestChain) -> None:
    controller = t.controller("bbs-issuer")
    did = did_of(controller)
    public_key = bbs.sk_to_pk(bbs.keygen(b"did:ethr BBS test key material, 32+ bytes"))
    name, value = multikey_attribute(BLS12_381_G2_PUB, public_key)
    assert name == "did/pub/Multikey/veriKey" and value[:2] == b"\xeb\x01" and len(value) == 98
    controller.set_attribute(name, value)
    driver = t.driver()
    document = driver.resolve(did)
    (method,) = [vm for vm in document.verification_method if vm.type == "Multikey"]
    # "take the attribute value (which already includes the [...] multicodec prefix) and encode it as
    # publicKeyMultibase using base58btc with a z prefix"
    assert method.public_key_multibase == bbs.public_key_to_multikey(public_key)
    assert method.id == f"{did}#delegate-1" and method.controller == did
    assert method in document.verification_methods("assertionMethod")  # veriKey → assertionMethod
    assert "https://w3id.org/security/multikey/v1" in document.to_json()["@context"]
    assert verification_method_thumbprint(method.to_json()) is None  # no JWK form: compromise marks cannot name it
    lookup = did_public_key_lookup(driver.resolve)
    assert lookup(method.id) == public_key
    with pytest.raises(DataIntegrityError):
        lookup(f"{did}#controller")  # vc-di-bbs §2.2.1: the verification method must be a Multikey
    controller.revoke_attribute(name, value)
    t.advance(1)
    with pytest.raises(DataIntegrityError):
        did_public_key_lookup(t.driver().resolve)(method.id)


def test_a_malformed_bls_multikey_is_not_a_bbs_key(t: EthrTestChain) -> None:
    """vc-di-bbs §2.1.1: a key that is not a valid G2 point is refused when it is used, not silently trusted."""
    controller = t.controller("bbs-broken")
    controller.set_attribute(*multikey_attribute(BLS12_381_G2_PUB, bytes(96)))
    did = did_of(controller)
    with pytest.raises(DataIntegrityError, match="BLS12-381") as err:
        did_public_key_lookup(t.driver().resolve)(f"{did}#delegate-1")
    assert err.value.reason == "verification_method"
