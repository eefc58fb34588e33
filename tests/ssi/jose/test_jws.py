"""JWS (RFC 7515) compact and JSON serializations, algorithm allowlists (RFC 8725), JWA signatures (RFC 7518, 8037)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.encoding import b64url_decode, b64url_encode, json_dumps
from ssi.errors import InputTooLarge, InvalidSignature, JoseError, SsiError, UnsupportedAlgorithm
from ssi.jose import (
    DEFAULT_MAX_SIZE,
    FORBIDDEN_ALGORITHMS,
    check_header,
    parse_compact,
    sign_compact,
    sign_json,
    verify_compact,
    verify_json,
)
from ssi.keys import ALGORITHMS, PrivateKey, PublicKey, SoftwareSigner

PROPERTY = settings(max_examples=200, deadline=None)
ALL = sorted(ALGORITHMS)

# RFC 8037 §A.1/§A.2 key and §A.4 JWS.
RFC8037_PRIVATE = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)
# RFC 7515 §A.3 key and JWS (ES256).
RFC7515_P256 = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}
RFC7515_A3_JWS = (
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)


def _b64json(obj: Any) -> str:
    return b64url_encode(json_dumps(obj).encode())


def _forge(header: dict[str, Any], payload: bytes, signer: SoftwareSigner | None = None) -> str:
    """A compact JWS with an arbitrary protected header, signed by ``signer`` (or with an empty signature)."""
    signing_input = f"{_b64json(header)}.{b64url_encode(payload)}"
    sig = signer.sign(signing_input.encode()) if signer else b""
    return f"{signing_input}.{b64url_encode(sig)}"


# --- RFC test vectors -----------------------------------------------------------------------------------------------


def test_rfc8037_a4_a5_ed25519_example_verifies() -> None:
    """RFC 8037 §A.5: the §A.4 JWS verifies with the §A.2 public key."""
    public = PublicKey.from_jwk({k: v for k, v in RFC8037_PRIVATE.items() if k != "d"})
    verified = verify_compact(RFC8037_JWS, public, ["EdDSA"])
    assert verified.header == {"alg": "EdDSA"}
    assert verified.payload == b"Example of Ed25519 signing"
    assert verified.signing_input == b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"


def test_rfc8037_a4_signing_reproduces_the_example() -> None:
    """RFC 8037 §A.4: Ed25519 is deterministic, so signing the example with the §A.1 key gives the same JWS."""
    signer = SoftwareSigner(PrivateKey.from_jwk(RFC8037_PRIVATE))
    assert sign_compact(b"Example of Ed25519 signing", signer) == RFC8037_JWS


def test_rfc8037_a5_tampered_example_fails() -> None:
    public = PublicKey.from_jwk({k: v for k, v in RFC8037_PRIVATE.items() if k != "d"})
    tampered = RFC8037_JWS.replace("RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc", b64url_encode(b"Example of Ed25519 signinG"))
    with pytest.raises(InvalidSignature):
        verify_compact(tampered, public, ["EdDSA"])


def test_rfc7515_a3_es256_example_verifies() -> None:
    """RFC 7515 §A.3 / RFC 7518 §3.4: the ES256 example signature is the 64-octet R || S and verifies."""
    verified = verify_compact(RFC7515_A3_JWS, PublicKey.from_jwk(RFC7515_P256), ["ES256"])
    assert len(b64url_decode(RFC7515_A3_JWS.split(".")[2])) == 64
    assert verified.json_payload() == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}


def test_rfc7518_s3_4_der_encoded_ecdsa_signature_is_rejected() -> None:
    """RFC 7518 §3.4: the JWS signature is R || S; the ASN.1 DER form is not a JWS signature."""
    head, payload, sig = RFC7515_A3_JWS.split(".")
    raw = b64url_decode(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    with pytest.raises(InvalidSignature):
        verify_compact(f"{head}.{payload}.{b64url_encode(der)}", PublicKey.from_jwk(RFC7515_P256), ["ES256"])


def test_rfc7518_s3_4_der_signature_from_a_fresh_key_is_rejected() -> None:
    key = PrivateKey.generate("ES256")
    signing_input = f"{_b64json({'alg': 'ES256'})}.{b64url_encode(b'payload')}"
    der = key.crypto_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
    with pytest.raises(InvalidSignature):
        verify_compact(f"{signing_input}.{b64url_encode(der)}", key.public_key, ["ES256"])
    # and the same signature as R || S does verify: only the encoding was wrong
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    rs = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    verify_compact(f"{signing_input}.{b64url_encode(rs)}", key.public_key, ["ES256"])


@pytest.mark.parametrize("alg", ALL)
def test_rfc7518_s3_4_signatures_are_64_octets(signers: dict[str, SoftwareSigner], alg: str) -> None:
    token = sign_compact(b"x", signers[alg])
    assert len(b64url_decode(token.split(".")[2])) == 64


@pytest.mark.parametrize("length", [0, 32, 63, 65, 72, 128])
def test_wrong_signature_length_is_invalid(signer: SoftwareSigner, length: int) -> None:
    head, payload, _ = sign_compact(b"x", signer).split(".")
    with pytest.raises(InvalidSignature):
        verify_compact(f"{head}.{payload}.{b64url_encode(bytes(length))}", signer.public_key, [signer.alg])


# --- compact serialization (§7.1) -----------------------------------------------------------------------------------


def test_rfc7515_s7_1_compact_serialization(signer: SoftwareSigner) -> None:
    """RFC 7515 §7.1: BASE64URL(UTF8(header)) '.' BASE64URL(payload) '.' BASE64URL(signature)."""
    token = sign_compact(b'{"hello":"world"}', signer, {"typ": "example"})
    parts = token.split(".")
    assert len(parts) == 3
    assert all("=" not in p for p in parts)
    assert json.loads(b64url_decode(parts[0])) == {"typ": "example", "alg": signer.alg, "kid": signer.kid}
    assert b64url_decode(parts[1]) == b'{"hello":"world"}'
    verified = verify_compact(token, signer.public_key, [signer.alg])
    assert verified.payload == b'{"hello":"world"}'
    assert verified.header["typ"] == "example"
    assert verified.key == signer.public_key
    assert verified.signing_input == f"{parts[0]}.{parts[1]}".encode()
    assert parse_compact(token) == (parts[0], parts[1], parts[2], verified.header)


def test_sign_compact_takes_alg_from_the_signer(signer: SoftwareSigner) -> None:
    token = sign_compact(b"x", signer, {"alg": "none", "kid": "explicit"})
    header = parse_compact(token)[3]
    assert header["alg"] == signer.alg
    assert header["kid"] == "explicit"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.rsplit(".", 1)[0],  # two parts
        lambda t: t + ".",  # four parts
        lambda t: t + ".AAAA.AAAA",  # five parts (JWE shape)
        lambda t: t.replace(".", "..", 1),
        lambda t: " " + t,
        lambda t: t + "\n",
        lambda t: t.replace(".", ". ", 1),
        lambda t: "",
        lambda t: ".".join(p + "=" * (-len(p) % 4) for p in t.split(".")),  # padded
        lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else "+" + t,  # base64 alphabet
    ],
)
def test_rfc7515_s7_1_malformed_compact_is_rejected(signer: SoftwareSigner, mutate: Any) -> None:
    token = mutate(sign_compact(b"payload!", signer))
    with pytest.raises(JoseError):
        verify_compact(token, signer.public_key, [signer.alg])


@pytest.mark.parametrize("header", [b"[]", b'"alg"', b"null", b"1", b'{"alg":"ES256","alg":"ES256"}', b"{"])
def test_rfc7515_s5_2_header_must_be_a_json_object(header: bytes) -> None:
    """RFC 7515 §5.2 steps 3-4: the JOSE header is a JSON object without duplicate member names."""
    token = f"{b64url_encode(header)}.{b64url_encode(b'x')}.{b64url_encode(bytes(64))}"
    with pytest.raises(JoseError) as info:
        parse_compact(token)
    assert info.value.reason == "malformed_header"


def test_parse_compact_rejects_non_strings() -> None:
    for value in (None, b"a.b.c", 1, ["a", "b", "c"]):
        with pytest.raises(JoseError):
            parse_compact(value)  # type: ignore[arg-type]


# --- RFC 8725 §3.1 / §3.2: algorithms ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", sorted(FORBIDDEN_ALGORITHMS))
def test_rfc8725_s3_1_forbidden_algorithms_never_accepted_even_if_allowlisted(
    signers: dict[str, SoftwareSigner], alg: str
) -> None:
    """RFC 8725 §3.1/§3.2: 'none' and HMAC are refused even when a careless caller puts them on the allowlist."""
    public = signers["ES256"].public_key
    if alg == "none":
        token = _forge({"alg": "none"}, b"{}")
    else:
        # The classic key-confusion attack: HMAC keyed with the verifier's public key bytes.
        secret = json_dumps(public.jwk).encode()
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        signing_input = f"{_b64json({'alg': alg})}.{b64url_encode(b'{}')}"
        mac = hmac.new(secret, signing_input.encode(), digest).digest()
        token = f"{signing_input}.{b64url_encode(mac)}"
    for allowlist in ([alg], [alg, "ES256"], ["ES256"], ALL):
        with pytest.raises(UnsupportedAlgorithm) as info:
            verify_compact(token, public, allowlist)
        assert info.value.reason in {"forbidden_algorithm", "algorithm_not_allowed"}
    with pytest.raises(UnsupportedAlgorithm) as info:
        verify_compact(token, public, ["ES256"])
    assert info.value.reason == "forbidden_algorithm"  # refused as forbidden, not merely "not on this list"


@pytest.mark.parametrize("alg", sorted(FORBIDDEN_ALGORITHMS))
def test_rfc8725_s3_1_forbidden_algorithm_in_allowlist_is_refused_up_front(signer: SoftwareSigner, alg: str) -> None:
    token = sign_compact(b"x", signer)
    with pytest.raises(UnsupportedAlgorithm) as info:
        verify_compact(token, signer.public_key, [signer.alg, alg])
    assert info.value.reason == "forbidden_algorithm"
    with pytest.raises(UnsupportedAlgorithm):
        verify_json(sign_json(b"x", [signer]), signer.public_key, [signer.alg, alg])


def test_rfc8725_s3_1_algorithm_not_on_allowlist_is_rejected(signer: SoftwareSigner) -> None:
    token = sign_compact(b"x", signer)
    others = [a for a in ALL if a != signer.alg]
    with pytest.raises(UnsupportedAlgorithm) as info:
        verify_compact(token, signer.public_key, others)
    assert info.value.reason == "algorithm_not_allowed"
    with pytest.raises(UnsupportedAlgorithm):
        verify_compact(token, signer.public_key, [])


def test_rfc8725_s3_1_allowlist_given_as_one_string_is_refused(signers: dict[str, SoftwareSigner]) -> None:
    """A str is a Collection[str]: "ES256" in "ES256K" must not make ES256 allowed."""
    es256 = signers["ES256"]
    token = sign_compact(b"x", es256)
    with pytest.raises(UnsupportedAlgorithm):
        verify_compact(token, es256.public_key, "ES256K")
    with pytest.raises(UnsupportedAlgorithm):
        verify_json(sign_json(b"x", [es256]), es256.public_key, "ES256K")


@pytest.mark.parametrize(("header_alg", "key_alg"), [(h, k) for h in ALL for k in ALL if h != k])
def test_rfc8725_s3_1_alg_key_mismatch_is_rejected(
    signers: dict[str, SoftwareSigner], header_alg: str, key_alg: str
) -> None:
    """RFC 8725 §3.1: the header alg must be the key's algorithm (ES256 header + Ed25519 key, ES256K vs ES256)."""
    key_signer = signers[key_alg]
    # signed by the very key we verify with, but the header claims another algorithm
    token = _forge({"alg": header_alg}, b"x", key_signer)
    with pytest.raises(UnsupportedAlgorithm) as info:
        verify_compact(token, key_signer.public_key, ALL)
    assert info.value.reason == "alg_key_mismatch"


def test_rfc8725_s3_1_es256k_signature_is_not_es256(signers: dict[str, SoftwareSigner]) -> None:
    """Same key and signature sizes, different curves: an ES256K JWS never verifies as ES256 and vice versa."""
    k1, r1 = signers["ES256K"], signers["ES256"]
    token = sign_compact(b"x", k1)
    with pytest.raises(UnsupportedAlgorithm):
        verify_compact(token, r1.public_key, ["ES256", "ES256K"])
    _head, payload, sig = token.split(".")
    relabelled = f"{_b64json({'alg': 'ES256', 'kid': 'ES256K'})}.{payload}.{sig}"
    with pytest.raises(SsiError):
        verify_compact(relabelled, r1.public_key, ["ES256"])


@pytest.mark.parametrize(
    "header",
    [{}, {"alg": None}, {"alg": 256}, {"alg": ["ES256"]}, {"alg": {"name": "ES256"}}, {"alg": ""}],
)
def test_rfc7515_s4_1_1_alg_must_be_a_string(signer: SoftwareSigner, header: dict[str, Any]) -> None:
    with pytest.raises(JoseError):
        verify_compact(_forge(header, b"x", signer), signer.public_key, ALL)


# --- header parameters: kid (§4.1.4) and crit (§4.1.11) -------------------------------------------------------------


@pytest.mark.parametrize("kid", [1, None, ["k"], {"k": 1}, True, 1.5])
def test_rfc7515_s4_1_4_kid_must_be_a_string(signer: SoftwareSigner, kid: Any) -> None:
    """RFC 7515 §4.1.4: "The 'kid' value MUST be a case-sensitive string"."""
    token = _forge({"alg": signer.alg, "kid": kid}, b"x", signer)
    with pytest.raises(JoseError) as info:
        verify_compact(token, signer.public_key, [signer.alg])
    assert info.value.reason == "malformed_kid"
    jws = sign_json(b"x", [SoftwareSigner.generate(signer.alg)], headers=[{"kid": kid}])
    with pytest.raises(JoseError):
        verify_json(jws, signer.public_key, [signer.alg])
    jws = sign_json(b"x", [SoftwareSigner.generate(signer.alg)], unprotected=[{"kid": kid}])
    with pytest.raises(JoseError) as info:
        verify_json(jws, signer.public_key, [signer.alg])
    assert info.value.reason == "malformed_kid"


def test_rfc7515_s4_1_11_understood_critical_parameter_is_accepted(signer: SoftwareSigner) -> None:
    token = sign_compact(b"x", signer, {"crit": ["exp_ext"], "exp_ext": 1})
    assert verify_compact(token, signer.public_key, [signer.alg], understood_crit=["exp_ext"]).header["exp_ext"] == 1


@pytest.mark.parametrize(
    ("crit_header", "understood", "reason"),
    [
        ({"crit": ["exp_ext"], "exp_ext": 1}, [], "unknown_crit"),  # MUST reject if not understood
        ({"crit": ["exp_ext", "other"], "exp_ext": 1, "other": 2}, ["exp_ext"], "unknown_crit"),
        ({"crit": ["exp_ext"]}, ["exp_ext"], "malformed_crit"),  # listed but absent
        ({"crit": []}, [], "malformed_crit"),  # MUST NOT be empty
        ({"crit": "exp_ext", "exp_ext": 1}, ["exp_ext"], "malformed_crit"),  # must be an array
        ({"crit": [1]}, [], "malformed_crit"),
        ({"crit": None}, [], "malformed_crit"),
        ({"crit": {"exp_ext": 1}, "exp_ext": 1}, ["exp_ext"], "malformed_crit"),
        ({"crit": ["kid"], "kid": "k"}, ["kid"], "malformed_crit"),  # registered names MUST NOT be listed
        ({"crit": ["alg"]}, ["alg"], "malformed_crit"),
        ({"crit": ["typ"], "typ": "JWT"}, ["typ"], "malformed_crit"),
        ({"crit": ["x5t#S256"], "x5t#S256": "a"}, ["x5t#S256"], "malformed_crit"),
        ({"crit": ["crit"]}, ["crit"], "malformed_crit"),
    ],
)
def test_rfc7515_s4_1_11_crit(
    signer: SoftwareSigner, crit_header: dict[str, Any], understood: list[str], reason: str
) -> None:
    """RFC 7515 §4.1.11: crit is a non-empty array of names that are understood, present, and not registered."""
    token = _forge({"alg": signer.alg, **crit_header}, b"x", signer)
    with pytest.raises(JoseError) as info:
        verify_compact(token, signer.public_key, [signer.alg], understood_crit=understood)
    assert info.value.reason == reason
    jws = {
        "payload": b64url_encode(b"x"),
        "protected": token.split(".")[0],
        "signature": token.split(".")[2],
    }
    with pytest.raises(JoseError) as info:
        verify_json(jws, signer.public_key, [signer.alg], understood_crit=understood)
    assert info.value.reason == reason


def test_check_header_directly() -> None:
    assert check_header({"alg": "ES256"}, ["ES256"]) == "ES256"
    for bad in (None, [], "ES256", {"typ": "JWT"}):
        with pytest.raises(JoseError):
            check_header(bad, ["ES256"])


# --- JSON serialization (§7.2) --------------------------------------------------------------------------------------


def test_rfc7515_s7_2_2_flattened(signer: SoftwareSigner) -> None:
    """RFC 7515 §7.2.2: payload, protected, header, signature at the top level; exactly one signature."""
    jws = sign_json(b"payload", [signer], unprotected=[{"x-note": "n"}])
    assert set(jws) == {"payload", "protected", "header", "signature"}
    assert "signatures" not in jws
    verified = verify_json(jws, signer.public_key, [signer.alg])
    assert verified.payload == b"payload"
    assert verified.header == {"alg": signer.alg, "kid": signer.kid, "x-note": "n"}
    assert set(sign_json(b"payload", [signer])) == {"payload", "protected", "signature"}


def test_rfc7515_s7_2_2_flattened_carries_exactly_one_signature(signers: dict[str, SoftwareSigner]) -> None:
    with pytest.raises(JoseError):
        sign_json(b"x", [signers["ES256"], signers["EdDSA"]], flattened=True)
    with pytest.raises(JoseError):
        sign_json(b"x", [])


def test_rfc7515_s7_2_1_general_with_multiple_signatures(signers: dict[str, SoftwareSigner], resolver_for: Any) -> None:
    """RFC 7515 §7.2.1: one payload, several signatures, each with its own protected/unprotected header."""
    all_signers = [signers[a] for a in ALL]
    jws = sign_json(b"multi", all_signers, flattened=False, unprotected=[{"x-i": i} for i in range(len(ALL))])
    assert set(jws) == {"payload", "signatures"}
    assert len(jws["signatures"]) == len(ALL)
    resolver = resolver_for(*all_signers)
    verified = verify_json(jws, resolver, ALL, require_all=True)
    assert verified.payload == b"multi"
    assert len(resolver.calls) == len(ALL)  # every signature was checked
    # with a resolver that knows only one of the keys, that signature is the one returned
    only_eddsa = resolver_for(signers["EdDSA"])
    assert verify_json(jws, only_eddsa, ALL).header["kid"] == "EdDSA"
    with pytest.raises(SsiError):
        verify_json(jws, only_eddsa, ALL, require_all=True)


def test_rfc7515_s7_2_1_one_bad_signature(signers: dict[str, SoftwareSigner], resolver_for: Any) -> None:
    all_signers = [signers[a] for a in ALL]
    jws = sign_json(b"multi", all_signers, flattened=False)
    sig = bytearray(b64url_decode(jws["signatures"][1]["signature"]))
    sig[0] ^= 1
    jws["signatures"][1]["signature"] = b64url_encode(bytes(sig))
    resolver = resolver_for(*all_signers)
    with pytest.raises(InvalidSignature):
        verify_json(jws, resolver, ALL, require_all=True)
    assert verify_json(jws, resolver, ALL).header["kid"] == ALL[0]
    for entry in jws["signatures"]:
        entry["signature"] = jws["signatures"][1]["signature"]
    with pytest.raises(InvalidSignature):
        verify_json(jws, resolver, ALL)


def test_rfc7515_s7_2_1_protected_and_unprotected_must_be_disjoint(signer: SoftwareSigner) -> None:
    """RFC 7515 §7.2.1: "The Header Parameter values [...] MUST be disjoint" — verifying side."""
    jws = sign_json(b"x", [signer], headers=[{"typ": "a"}])
    jws["header"] = {"typ": "b"}
    with pytest.raises(JoseError) as info:
        verify_json(jws, signer.public_key, [signer.alg])
    assert info.value.reason == "malformed_header"
    jws["header"] = {"kid": signer.kid}  # the protected header already has kid
    with pytest.raises(JoseError):
        verify_json(jws, signer.public_key, [signer.alg])


def test_rfc7515_s7_2_1_sign_json_never_produces_overlapping_headers(signer: SoftwareSigner) -> None:
    """Producing side of §7.2.1: a kid given unprotected is not repeated in the protected header."""
    jws = sign_json(b"x", [signer], unprotected=[{"kid": signer.kid}])
    assert "kid" not in json.loads(b64url_decode(jws["protected"]))
    assert verify_json(jws, signer.public_key, [signer.alg]).header["kid"] == signer.kid
    for protected, unprotected in (({"typ": "a"}, {"typ": "a"}), ({}, {"alg": "none"}), ({}, {"crit": ["b64"]})):
        with pytest.raises(JoseError):
            sign_json(b"x", [signer], headers=[protected], unprotected=[unprotected])


@pytest.mark.parametrize(
    "unprotected",
    [{"crit": ["x-ext"], "x-ext": 1}, {"crit": ["x-ext"]}, {"alg": "none"}, {"alg": "ES256"}],
)
def test_rfc7515_alg_and_crit_only_in_protected_header(signer: SoftwareSigner, unprotected: dict[str, Any]) -> None:
    """§4.1.11: crit "MUST be integrity protected"; alg in an unprotected header would be attacker-controlled.

    The signature is valid, so only the header placement rule can reject these.
    """
    jws = sign_json(b"x", [signer], headers=[{"kid": signer.kid}])
    jws["header"] = unprotected
    with pytest.raises(JoseError) as info:
        verify_json(jws, signer.public_key, [signer.alg], understood_crit=["x-ext"])
    assert info.value.reason == "malformed_header"
    assert verify_json(sign_json(b"x", [signer]), signer.public_key, [signer.alg])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda j: {**j, "signature": j["signatures"][0]["signature"]},  # mixes flattened into general
        lambda j: {**j, "protected": j["signatures"][0]["protected"]},
        lambda j: {**j, "header": {}},
        lambda j: {**j, "signatures": []},
        lambda j: {**j, "signatures": {}},
        lambda j: {**j, "signatures": ["x"]},
        lambda j: {"signatures": j["signatures"]},
        lambda j: {**j, "payload": None},
        lambda j: {**j, "payload": j["payload"] + "="},
        lambda j: {**j, "signatures": [{**j["signatures"][0], "header": []}]},
        lambda j: {**j, "signatures": [{**j["signatures"][0], "protected": None}]},
        lambda j: {**j, "signatures": [{**j["signatures"][0], "signature": 7}]},
        lambda j: {**j, "signatures": [{**j["signatures"][0], "protected": _b64json([1])}]},
        lambda j: {**j, "signatures": [{**j["signatures"][0], "protected": "e30="}]},
    ],
)
def test_rfc7515_s7_2_malformed_json_serialization(signer: SoftwareSigner, mutate: Any) -> None:
    jws = mutate(sign_json(b"x", [signer], flattened=False))
    with pytest.raises(JoseError):
        verify_json(jws, signer.public_key, [signer.alg])


@pytest.mark.parametrize("value", [None, [], "a.b.c", 1])
def test_verify_json_rejects_non_objects(signer: SoftwareSigner, value: Any) -> None:
    with pytest.raises(JoseError):
        verify_json(value, signer.public_key, [signer.alg])


# --- size limits ----------------------------------------------------------------------------------------------------


def test_oversized_compact_rejected_before_decoding(signer: SoftwareSigner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs over max_size (default 64 KiB) are refused before any base64url/JSON decoding."""
    import ssi.jose._jws as jws_module

    assert DEFAULT_MAX_SIZE == 64 * 1024
    big = sign_compact(b"x" * DEFAULT_MAX_SIZE, signer)
    assert len(big) > DEFAULT_MAX_SIZE

    def no_decoding(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("decoded an oversized input")

    monkeypatch.setattr(jws_module, "b64url_decode", no_decoding)
    monkeypatch.setattr(jws_module, "json_loads", no_decoding)
    for token in (big, "!" * (DEFAULT_MAX_SIZE + 1)):
        with pytest.raises(InputTooLarge):
            verify_compact(token, signer.public_key, [signer.alg])
        with pytest.raises(InputTooLarge):
            parse_compact(token)
    jws = sign_json(b"x" * DEFAULT_MAX_SIZE, [signer])
    with pytest.raises(InputTooLarge):
        verify_json(jws, signer.public_key, [signer.alg])


def test_size_limit_is_configurable(signer: SoftwareSigner) -> None:
    token = sign_compact(b"x" * 100, signer)
    verify_compact(token, signer.public_key, [signer.alg], max_size=len(token))
    with pytest.raises(InputTooLarge):
        verify_compact(token, signer.public_key, [signer.alg], max_size=len(token) - 1)
    big = sign_compact(b"x" * (2 * DEFAULT_MAX_SIZE), signer)
    assert verify_compact(big, signer.public_key, [signer.alg], max_size=4 * DEFAULT_MAX_SIZE).payload
    jws = sign_json(b"x" * 100, [signer])
    verify_json(jws, signer.public_key, [signer.alg], max_size=400)
    with pytest.raises(InputTooLarge):
        verify_json(jws, signer.public_key, [signer.alg], max_size=100)


def test_just_under_the_default_limit_is_processed(signer: SoftwareSigner) -> None:
    with pytest.raises(JoseError):  # parsed (and rejected as malformed), not refused as too large
        verify_compact("!" * DEFAULT_MAX_SIZE, signer.public_key, [signer.alg])


# --- key resolvers --------------------------------------------------------------------------------------------------


def test_resolver_receives_header_and_its_errors_propagate(
    signers: dict[str, SoftwareSigner], resolver_for: Any
) -> None:
    es256 = signers["ES256"]
    resolver = resolver_for(es256)
    token = sign_compact(b"x", es256, {"typ": "t"})
    assert verify_compact(token, resolver, ["ES256"]).key == es256.public_key
    assert resolver.calls == [{"alg": "ES256", "kid": "ES256", "typ": "t"}]
    stranger = SoftwareSigner.generate("ES256", kid="stranger")
    with pytest.raises(SsiError):
        verify_compact(sign_compact(b"x", stranger), resolver, ["ES256"])


def test_signature_from_another_key_of_the_same_type_fails(signer: SoftwareSigner) -> None:
    other = SoftwareSigner.generate(signer.alg, kid=signer.kid)
    with pytest.raises(InvalidSignature):
        verify_compact(sign_compact(b"x", other), signer.public_key, [signer.alg])


# --- properties -----------------------------------------------------------------------------------------------------


@PROPERTY
@given(payload=st.binary(max_size=300), alg=st.sampled_from(ALL), header=st.dictionaries(st.text(), st.integers()))
def test_sign_verify_round_trip(
    signers: dict[str, SoftwareSigner], payload: bytes, alg: str, header: dict[str, int]
) -> None:
    signer = signers[alg]
    header = {k: v for k, v in header.items() if k not in {"alg", "kid", "crit"}}
    token = sign_compact(payload, signer, header)
    verified = verify_compact(token, signer.public_key, [alg])
    assert verified.payload == payload
    assert verified.header == {**header, "alg": alg, "kid": alg}
    jws = sign_json(payload, [signer], headers=[header])
    assert verify_json(jws, signer.public_key, [alg]).payload == payload


def _flipped(token: str, index: int, bit: int) -> str:
    return token[:index] + chr(ord(token[index]) ^ (1 << bit)) + token[index + 1 :]


@pytest.mark.parametrize("alg", ALL)
def test_every_single_bit_flip_in_a_compact_jws_fails(signers: dict[str, SoftwareSigner], alg: str) -> None:
    """Exhaustive: no one-bit change anywhere in the token (header, payload, signature, dots) still verifies."""
    signer = signers[alg]
    token = sign_compact(b'{"sub":"ERIKA MUSTERMANN"}', signer, {"typ": "JWT"})
    for index in range(len(token)):
        for bit in range(8):
            with pytest.raises(SsiError):
                verify_compact(_flipped(token, index, bit), signer.public_key, [alg])


@PROPERTY
@given(payload=st.binary(max_size=100), alg=st.sampled_from(ALL), data=st.data())
def test_random_single_bit_flip_fails(signers: dict[str, SoftwareSigner], payload: bytes, alg: str, data: Any) -> None:
    signer = signers[alg]
    token = sign_compact(payload, signer)
    index = data.draw(st.integers(0, len(token) - 1))
    bit = data.draw(st.integers(0, 7))
    with pytest.raises(SsiError):
        verify_compact(_flipped(token, index, bit), signer.public_key, [alg])


@PROPERTY
@given(payload=st.binary(max_size=100), data=st.data())
def test_random_single_bit_flip_in_json_serialization_fails(
    signers: dict[str, SoftwareSigner], payload: bytes, data: Any
) -> None:
    signer = signers[data.draw(st.sampled_from(ALL))]
    jws = sign_json(payload, [signer])
    member = data.draw(st.sampled_from(["payload", "protected", "signature"]))
    index = data.draw(st.integers(0, max(len(jws[member]) - 1, 0)))
    if not jws[member]:
        return
    jws[member] = _flipped(jws[member], index, data.draw(st.integers(0, 7)))
    with pytest.raises(SsiError):
        verify_json(jws, signer.public_key, [signer.alg])


@PROPERTY
@given(st.text(max_size=300))
def test_arbitrary_text_to_parse_and_verify_compact_raises_only_ssi_errors(
    signers: dict[str, SoftwareSigner], text: str
) -> None:
    for call in (
        lambda: parse_compact(text),
        lambda: verify_compact(text, signers["ES256"].public_key, ALL),
    ):
        with contextlib.suppress(SsiError):
            call()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)
b64_segments = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=80).map(b64url_encode),
    st.dictionaries(st.sampled_from(["alg", "kid", "crit", "typ", "x"]), json_values, max_size=4).map(_b64json),
    st.sampled_from(["eyJhbGciOiJFUzI1NiJ9", "eyJhbGciOiJFZERTQSJ9", "eyJhbGciOiJub25lIn0", ""]),
)


@PROPERTY
@given(st.lists(b64_segments, min_size=1, max_size=4))
def test_structured_garbage_compact_raises_only_ssi_errors(
    signers: dict[str, SoftwareSigner], parts: list[str]
) -> None:
    with contextlib.suppress(SsiError):
        verify_compact(".".join(parts), signers["ES256"].public_key, ALL)


@PROPERTY
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"payload": b64_segments},
            optional={
                "protected": b64_segments,
                "signature": b64_segments,
                "header": json_values,
                "signatures": st.lists(
                    st.fixed_dictionaries(
                        {}, optional={"protected": b64_segments, "signature": b64_segments, "header": json_values}
                    )
                    | json_values,
                    max_size=3,
                ),
            },
        ),
    )
)
def test_arbitrary_json_to_verify_json_raises_only_ssi_errors(
    signers: dict[str, SoftwareSigner], resolver_for: Any, value: Any
) -> None:
    for key in (signers["EdDSA"].public_key, resolver_for(*signers.values())):
        with contextlib.suppress(SsiError):
            verify_json(value, key, ALL)


@PROPERTY
@given(st.text(max_size=200))
def test_arbitrary_text_to_verify_json_raises_only_ssi_errors(signers: dict[str, SoftwareSigner], text: str) -> None:
    for value in (text, {"payload": text}, {"payload": "", "protected": text, "signature": text}):
        with contextlib.suppress(SsiError):
            verify_json(value, signers["ES256"].public_key, ALL)  # type: ignore[arg-type]
