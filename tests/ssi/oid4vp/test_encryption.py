"""Encrypted responses (OpenID4VP 1.0 §8.3, §8.3.1; HAIP 1.0: ECDH-ES on P-256 with A128GCM, and A256GCM)."""

from __future__ import annotations

import pytest
from joserfc import jwe
from joserfc.jwk import ECKey

from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import InvalidAuthorizationResponse, Oid4vpError
from ssi.oid4vp import (
    VP_FORMATS,
    ResponseEncryptionKey,
    choose_encryption,
    client_metadata,
    decrypt_response,
    encrypt_response,
)

#: §8.3: the example's private key "can be used to decrypt the above encrypted Authorization Response example".
SPEC_KEY = {
    "kty": "EC",
    "kid": "ac",
    "use": "enc",
    "crv": "P-256",
    "alg": "ECDH-ES",
    "x": "YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk",
    "y": "Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk",
    "d": "Et-3ce0omz8_TuZ96Df9lp0GAaaDoUnDe6X-CRO7Aww",
}
SPEC_RESPONSE = (
    "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTEyOEdDTSIsImtpZCI6ImFjIiwiZXBrIjp7Imt"
    "0eSI6IkVDIiwieCI6Im5ubVZwbTNWM2piaGNhZlFhUkJrU1ZOSGx3Wkh3dC05ck9wSnVmeVlJdWsiLCJ5I"
    "joicjRmakRxd0p5czlxVU9QLV9iM21SNVNaRy0tQ3dPMm1pYzVWU05UWU45ZyIsImNydiI6IlAtMjU2In1"
    "9..uAYcHRUSSn2X0WPX.yVzlGSYG4qbg0bq18JcUiDRw56yVnbKR8E7S7YlEtzT00RqE3Pw5oTpUG3hdLN"
    "4taHZ9gC1kwak8JOnJgQ.1wR024_3-qtAlx1oFIUpQQ"
)
PAYLOAD = {"vp_token": {"pid": ["eyJ...sd-jwt~"]}, "state": "s"}


def reason(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Oid4vpError) as err:
        call(*args, **kwargs)
    return err.value.reason


def test_spec_example_decrypts_section_8_3() -> None:
    """The §8.3 example response decrypts with the example key to its example payload."""
    payload = decrypt_response(SPEC_RESPONSE, ResponseEncryptionKey(SPEC_KEY))
    assert payload == {"vp_token": {"example_credential_id": ["eyJhb...YMetA"]}}


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_round_trip_per_enc(enc: str) -> None:
    key = ResponseEncryptionKey.generate("k-1")
    token = encrypt_response(PAYLOAD, key.public_jwk, enc)
    header = token.split(".")[0]
    assert decrypt_response(token, key) == PAYLOAD
    assert "d" not in key.public_jwk
    assert key.public_jwk["alg"] == "ECDH-ES" and key.public_jwk["use"] == "enc"
    assert header  # kid carried (§8.3)
    from ssi.encoding import b64url_json

    assert b64url_json(header)["kid"] == "k-1"
    assert b64url_json(header)["enc"] == enc


def test_response_to_another_requests_key_is_refused() -> None:
    mine, other = ResponseEncryptionKey.generate("k-1"), ResponseEncryptionKey.generate("k-1")
    token = encrypt_response(PAYLOAD, other.public_jwk, "A128GCM")
    assert reason(decrypt_response, token, mine) == "response_decryption_failed"
    wrong_kid = ResponseEncryptionKey.generate("k-2")
    token = encrypt_response(PAYLOAD, wrong_kid.public_jwk, "A128GCM")
    assert reason(decrypt_response, token, mine) == "response_wrong_key"


def test_tampering_is_detected() -> None:
    key = ResponseEncryptionKey.generate("k")
    token = encrypt_response(PAYLOAD, key.public_jwk, "A128GCM")
    parts = token.split(".")
    for index in (0, 2, 3, 4):
        broken = list(parts)
        broken[index] = broken[index][:-2] + ("AA" if not broken[index].endswith("AA") else "BA")
        assert reason(decrypt_response, ".".join(broken), key) in {
            "response_decryption_failed",
            "response_malformed",
            "response_wrong_alg",
        }
    broken = list(parts)
    broken[1] = "AAAA"
    assert reason(decrypt_response, ".".join(broken), key) == "response_malformed"


def test_algorithms_other_than_offered_are_refused() -> None:
    key = ResponseEncryptionKey.generate("k")
    public = ECKey.import_key(key.public_jwk)
    wrapped = jwe.encrypt_compact(
        {"alg": "ECDH-ES+A128KW", "enc": "A128GCM", "kid": "k"}, b"{}", public, algorithms=["ECDH-ES+A128KW", "A128GCM"]
    )
    assert reason(decrypt_response, wrapped, key) == "response_wrong_alg"
    cbc = jwe.encrypt_compact(
        {"alg": "ECDH-ES", "enc": "A128CBC-HS256", "kid": "k"}, b"{}", public, algorithms=["ECDH-ES", "A128CBC-HS256"]
    )
    assert reason(decrypt_response, cbc, key) == "response_wrong_alg"
    only128 = encrypt_response(PAYLOAD, key.public_jwk, "A256GCM")
    assert reason(decrypt_response, only128, key, enc_values=["A128GCM"]) == "response_wrong_alg"


def test_malformed_and_oversize_responses() -> None:
    key = ResponseEncryptionKey.generate("k")
    assert reason(decrypt_response, None, key) == "response_malformed"
    assert reason(decrypt_response, "a.b.c", key) == "response_malformed"
    assert reason(decrypt_response, "!!.." + ".a.b", key) == "response_malformed"
    assert reason(decrypt_response, "x" * (256 * 1024 + 1), key) == "response_too_large"
    public = ECKey.import_key(key.public_jwk)
    not_json = jwe.encrypt_compact(
        {"alg": "ECDH-ES", "enc": "A128GCM", "kid": "k"}, b"[1", public, algorithms=["ECDH-ES", "A128GCM"]
    )
    assert reason(decrypt_response, not_json, key) == "response_malformed"
    array = jwe.encrypt_compact({"alg": "ECDH-ES", "enc": "A128GCM"}, b"[1]", public, algorithms=["ECDH-ES", "A128GCM"])
    assert reason(decrypt_response, array, key) == "response_malformed"
    header = b64url_encode(json_dumps({"alg": "ECDH-ES", "enc": "A128GCM"}).encode())
    assert reason(decrypt_response, f"{header}..AAAA.AAAA.AAAA", key) == "response_decryption_failed"


def test_wallet_chooses_key_and_enc_section_8_3() -> None:
    key = ResponseEncryptionKey.generate("k")
    metadata = client_metadata(key, vp_formats=VP_FORMATS)
    jwk, enc = choose_encryption(metadata)
    assert jwk == key.public_jwk and enc == "A128GCM"
    # "allowing for the default value of A128GCM when not explicitly set"
    assert choose_encryption({"jwks": metadata["jwks"]})[1] == "A128GCM"
    assert choose_encryption({**metadata, "encrypted_response_enc_values_supported": ["X", "A256GCM"]})[1] == "A256GCM"
    other = {"kty": "EC", "crv": "P-384", "alg": "ECDH-ES", "x": "a", "y": "b"}
    no_alg = {k: v for k, v in key.public_jwk.items() if k != "alg"}
    sig = {**key.public_jwk, "use": "sig"}
    assert choose_encryption({"jwks": {"keys": [other, no_alg, sig, key.public_jwk]}})[0] == key.public_jwk
    for bad, expected in [
        (None, "no_encryption_key"),
        ({"jwks": {"keys": []}}, "no_encryption_key"),
        ({"jwks": {"keys": [no_alg]}}, "no_encryption_key"),
        ({"jwks": {"keys": [key.private_jwk]}}, "no_encryption_key"),
        ({**metadata, "encrypted_response_enc_values_supported": ["A128CBC-HS256"]}, "unsupported_enc"),
        ({**metadata, "encrypted_response_enc_values_supported": "A128GCM"}, "bad_client_metadata"),
    ]:
        assert reason(choose_encryption, bad) == expected


def test_encrypting_to_a_broken_key_is_an_error() -> None:
    bad = {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES", "x": "AAAA", "y": "AAAA"}
    assert reason(encrypt_response, PAYLOAD, bad, "A128GCM") == "bad_encryption_key"
    assert reason(encrypt_response, PAYLOAD, bad, "A192GCM") == "unsupported_enc"


def test_errors_are_invalid_authorization_response() -> None:
    with pytest.raises(InvalidAuthorizationResponse) as err:
        decrypt_response("a", ResponseEncryptionKey.generate("k"))
    assert err.value.code == "invalid_request"
