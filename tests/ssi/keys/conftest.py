"""Spec test vectors for keys (facts from the RFCs, used as test data)."""

from __future__ import annotations

import pytest

#: RFC 8037 §A.1 (private) / §A.2 (public): the Ed25519 example key.
RFC8037_ED25519_PRIVATE = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}

#: RFC 7515 §A.3.1: the P-256 example key.
RFC7515_P256_PRIVATE = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
}

#: RFC 7638 §3.1: the RSA example key (with its optional alg/kid members).
RFC7638_RSA = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj"
        "hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6"
        "qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awa"
        "pJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


@pytest.fixture
def rfc8037_private_jwk() -> dict[str, str]:
    return dict(RFC8037_ED25519_PRIVATE)


@pytest.fixture
def rfc8037_public_jwk() -> dict[str, str]:
    return {k: v for k, v in RFC8037_ED25519_PRIVATE.items() if k != "d"}


@pytest.fixture
def rfc7515_p256_private_jwk() -> dict[str, str]:
    return dict(RFC7515_P256_PRIVATE)


@pytest.fixture
def rfc7638_rsa_jwk() -> dict[str, str]:
    return dict(RFC7638_RSA)
