"""Attestation-Based Client Authentication (draft-ietf-oauth-attestation-based-client-auth §5, §7) as OpenID4VCI 1.0
Appendix E and HAIP 1.0 §4.4.1 use it: each verification rule refused on its own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ssi.client_attestation import (
    ATTESTATION_POP_TYP,
    ATTESTATION_TYP,
    create_client_attestation,
    create_client_attestation_pop,
    verify_client_attestation,
)
from ssi.encoding import b64url_decode
from ssi.errors import InvalidClient
from ssi.jose import encode_jwt
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.x509 import issue_certificate, make_self_signed_ca, x5c_chain

NOW = 1_800_000_000.0
AS = "https://issuer.example.de/issuers/pid"
CLIENT = "https://wallet.example/solution"


class Provider:
    def __init__(self) -> None:
        self.ca_key = PrivateKey.generate("ES256")
        self.ca = make_self_signed_ca(self.ca_key, "Provider CA", now=NOW - 86400)
        self.key = PrivateKey.generate("ES256")
        self.cert = issue_certificate(self.ca, self.ca_key, self.key.public_key, "Attester", now=NOW - 86400)
        self.x5c = x5c_chain([self.cert])


@pytest.fixture(scope="module")
def provider() -> Provider:
    return Provider()


def claims(token: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return result


def attest(provider: Provider, instance: SoftwareSigner, **kw: Any) -> str:
    return create_client_attestation(
        SoftwareSigner(provider.key), provider.x5c, client_id=CLIENT, instance_jwk=instance.public_jwk, now=NOW, **kw
    )


def test_roundtrip_and_claims(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    attestation = attest(provider, instance, extra_claims={"wallet_name": "W"})
    pop = create_client_attestation_pop(instance, audience=AS, now=NOW, challenge="ch-1")
    verified = verify_client_attestation(
        [attestation], [pop], anchors=[provider.ca], audience=AS, now=NOW + 5, client_id=CLIENT, challenge="ch-1"
    )
    assert verified.client_id == CLIENT
    assert verified.instance_key.jwk == instance.public_jwk
    assert verified.claims["wallet_name"] == "W"
    assert len(verified.jti) >= 16
    header = json.loads(b64url_decode(attestation.split(".")[0]))
    assert header["typ"] == ATTESTATION_TYP and header["x5c"] == provider.x5c  # HAIP 1.0 §4.4.1
    assert json.loads(b64url_decode(pop.split(".")[0])) == {"typ": ATTESTATION_POP_TYP, "alg": "ES256"}
    body = claims(attestation)
    assert body["sub"] == CLIENT and body["exp"] > body["iat"] and "d" not in body["cnf"]["jwk"]


def refused(provider: Provider, attestation: list[str], pop: list[str], reason: str, **kw: Any) -> None:
    args: dict[str, Any] = {"anchors": [provider.ca], "audience": AS, "now": NOW + 5}
    args.update(kw)
    with pytest.raises(InvalidClient) as info:
        verify_client_attestation(attestation, pop, **args)
    assert info.value.reason == reason
    assert info.value.code == "invalid_client"


def test_7_1_item_1_exactly_one_header(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    a, p = attest(provider, instance), create_client_attestation_pop(instance, audience=AS, now=NOW)
    refused(provider, [], [p], "attestation_header_count")
    refused(provider, [a, a], [p], "attestation_header_count")
    refused(provider, [a], [p, p], "attestation_header_count")


def test_7_1_item_4_untrusted_attester(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    other = Provider()
    refused(
        provider,
        [attest(other, instance)],
        [create_client_attestation_pop(instance, audience=AS, now=NOW)],
        "attestation_invalid",
    )


def test_7_1_item_6_expired_attestation(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    a = attest(provider, instance, lifetime=60)
    p = create_client_attestation_pop(instance, audience=AS, now=NOW + 600)
    refused(provider, [a], [p], "attestation_invalid", now=NOW + 600)


def test_7_1_item_2_wrong_typ(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    body = {"sub": CLIENT, "exp": NOW + 60, "cnf": {"jwk": instance.public_jwk}}
    a = encode_jwt(body, SoftwareSigner(provider.key), typ="JWT", header={"x5c": provider.x5c})
    refused(provider, [a], [create_client_attestation_pop(instance, audience=AS, now=NOW)], "attestation_invalid")


def test_7_1_item_2_missing_cnf(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    body = {"sub": CLIENT, "exp": NOW + 60}
    a = encode_jwt(body, SoftwareSigner(provider.key), typ=ATTESTATION_TYP, header={"x5c": provider.x5c})
    refused(provider, [a], [create_client_attestation_pop(instance, audience=AS, now=NOW)], "attestation_missing_cnf")


def test_7_1_item_5_private_key_in_cnf(provider: Provider) -> None:
    instance = PrivateKey.generate("ES256")
    body = {"sub": CLIENT, "exp": NOW + 60, "cnf": {"jwk": instance.private_jwk()}}
    a = encode_jwt(body, SoftwareSigner(provider.key), typ=ATTESTATION_TYP, header={"x5c": provider.x5c})
    p = create_client_attestation_pop(SoftwareSigner(instance), audience=AS, now=NOW)
    refused(provider, [a], [p], "attestation_private_cnf")


def test_7_1_item_7_client_id_must_be_sub(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    a, p = attest(provider, instance), create_client_attestation_pop(instance, audience=AS, now=NOW)
    refused(provider, [a], [p], "attestation_wrong_client", client_id="https://other.example")


def test_7_2_item_4_pop_signed_by_another_key(provider: Provider) -> None:
    a = attest(provider, SoftwareSigner.generate())
    p = create_client_attestation_pop(SoftwareSigner.generate(), audience=AS, now=NOW)
    refused(provider, [a], [p], "pop_invalid")


def test_7_2_item_7_pop_audience(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    a, p = attest(provider, instance), create_client_attestation_pop(instance, audience="https://x.example", now=NOW)
    refused(provider, [a], [p], "pop_wrong_aud")


def test_7_2_item_5_challenge(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    a = attest(provider, instance)
    refused(
        provider,
        [a],
        [create_client_attestation_pop(instance, audience=AS, now=NOW)],
        "pop_wrong_challenge",
        challenge="c",
    )
    p = create_client_attestation_pop(instance, audience=AS, now=NOW, challenge="other")
    refused(provider, [a], [p], "pop_wrong_challenge", challenge="c")


def test_7_2_item_6_pop_freshness(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    a = attest(provider, instance, lifetime=7200)
    p = create_client_attestation_pop(instance, audience=AS, now=NOW)
    refused(provider, [a], [p], "pop_too_old", now=NOW + 1000)


def test_7_2_pop_typ(provider: Provider) -> None:
    instance = SoftwareSigner.generate()
    a = attest(provider, instance)
    p = encode_jwt({"aud": AS, "jti": "j" * 20, "iat": NOW}, instance, typ="dpop+jwt")
    refused(provider, [a], [p], "pop_invalid")
