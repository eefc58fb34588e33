"""JWK import/export (RFC 7517, RFC 7518 §6, RFC 8037), RFC 7638 thumbprints, signers, secrecy of private keys."""

from __future__ import annotations

import copy
import hashlib
import pickle
import traceback
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import InvalidSignature, KeyError_, SsiError, UnsupportedAlgorithm
from ssi.keys import ALGORITHMS, PrivateKey, PublicKey, Signer, SoftwareSigner, jwk_thumbprint

ALGS = sorted(ALGORITHMS)


def _public(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k != "d"}


@pytest.fixture(params=ALGS)
def alg(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- RFC 7638 thumbprints -------------------------------------------------------------------------------------------


def test_rfc7638_s3_1_thumbprint_of_the_rfc_rsa_example(rfc7638_rsa_jwk: dict[str, str]) -> None:
    """RFC 7638 §3.1: the example RSA key has the thumbprint NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs."""
    assert jwk_thumbprint(rfc7638_rsa_jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rfc7638_s3_2_only_required_members_count(rfc7638_rsa_jwk: dict[str, str]) -> None:
    """RFC 7638 §3.2: optional members (alg, kid, use, ...) are not part of the hash input."""
    bare = {k: rfc7638_rsa_jwk[k] for k in ("e", "kty", "n")}
    decorated = {**bare, "use": "sig", "key_ops": ["verify"], "x5t": "abc"}
    assert jwk_thumbprint(bare) == jwk_thumbprint(decorated) == jwk_thumbprint(rfc7638_rsa_jwk)


def test_rfc7638_s3_3_member_order_does_not_matter(rfc7638_rsa_jwk: dict[str, str]) -> None:
    """RFC 7638 §3.3: members are sorted lexicographically, so the input order is irrelevant."""
    reordered = dict(reversed(list(rfc7638_rsa_jwk.items())))
    assert list(reordered) != list(rfc7638_rsa_jwk)
    assert jwk_thumbprint(reordered) == jwk_thumbprint(rfc7638_rsa_jwk)


def test_rfc8037_a3_thumbprint_of_the_ed25519_example(
    rfc8037_private_jwk: dict[str, str], rfc8037_public_jwk: dict[str, str]
) -> None:
    """RFC 8037 §A.3: the §A.2 public key's thumbprint is kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k (crv, kty, x)."""
    expected = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert jwk_thumbprint(rfc8037_public_jwk) == expected
    assert jwk_thumbprint(rfc8037_private_jwk) == expected  # d is not a required public member
    assert PublicKey.from_jwk(rfc8037_public_jwk).thumbprint() == expected
    assert PrivateKey.from_jwk(rfc8037_private_jwk).public_key.thumbprint() == expected


def test_rfc7638_s3_2_ec_thumbprint_uses_crv_kty_x_y(rfc7515_p256_private_jwk: dict[str, str]) -> None:
    """RFC 7638 §3.2: for EC the required members are crv, kty, x, y, serialized without whitespace."""
    jwk = rfc7515_p256_private_jwk
    canonical = f'{{"crv":"P-256","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
    expected = b64url_encode(hashlib.sha256(canonical.encode()).digest())
    assert jwk_thumbprint(jwk) == expected
    assert PublicKey.from_jwk(jwk).thumbprint() == expected


def test_thumbprint_of_generated_keys_matches_the_definition(alg: str) -> None:
    key = PrivateKey.generate(alg).public_key
    members = ("crv", "kty", "x", "y") if key.jwk["kty"] == "EC" else ("crv", "kty", "x")
    canonical = "{" + ",".join(f'"{m}":"{key.jwk[m]}"' for m in members) + "}"
    assert key.thumbprint() == b64url_encode(hashlib.sha256(canonical.encode()).digest())


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "AAAA"},
        {"crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "P-256", "x": "AA"},
        {"kty": "OKP", "x": "AA"},
        {"kty": "RSA", "n": "AA"},
        {"kty": "EC", "crv": "P-256", "x": 1, "y": "AA"},
        [],
        "EC",
        None,
    ],
)
def test_rfc7638_thumbprint_rejects_incomplete_or_unknown_keys(jwk: Any) -> None:
    with pytest.raises(KeyError_):
        jwk_thumbprint(jwk)


# --- import: accepted keys and round trips --------------------------------------------------------------------------


def test_rfc8037_a1_a2_private_key_matches_public_key(rfc8037_private_jwk: dict[str, str]) -> None:
    """RFC 8037 §A.1/§A.2: the public x is derived from d; importing the private key yields exactly §A.2."""
    key = PrivateKey.from_jwk(rfc8037_private_jwk)
    assert key.alg == "EdDSA"
    assert key.public_key.jwk == _public(rfc8037_private_jwk)
    assert key.private_jwk() == rfc8037_private_jwk


def test_rfc7515_a3_p256_private_key_imports(rfc7515_p256_private_jwk: dict[str, str]) -> None:
    key = PrivateKey.from_jwk(rfc7515_p256_private_jwk)
    assert key.alg == "ES256"
    assert key.private_jwk() == rfc7515_p256_private_jwk


def test_private_jwk_round_trip(alg: str) -> None:
    key = PrivateKey.generate(alg)
    again = PrivateKey.from_jwk(key.private_jwk())
    assert again.alg == alg
    assert again.public_key == key.public_key
    assert again.private_jwk() == key.private_jwk()
    assert PublicKey.from_jwk(key.public_key.jwk) == key.public_key
    assert hash(PublicKey.from_jwk(key.public_key.jwk)) == hash(key.public_key)


def test_public_jwk_has_exactly_the_required_members(alg: str) -> None:
    """RFC 7518 §6.2.1 / RFC 8037 §2: exported public JWKs carry kty, crv, x (and y for EC), nothing secret."""
    jwk = PrivateKey.generate(alg).public_key.jwk
    kty, crv = ALGORITHMS[alg]
    assert jwk["kty"] == kty
    assert jwk["crv"] == crv
    assert set(jwk) == ({"kty", "crv", "x", "y"} if kty == "EC" else {"kty", "crv", "x"})


def test_public_jwk_is_computed_once_and_handed_out_as_copies(alg: str) -> None:
    """The cached JWK equals the one computed from the key, and changing a returned JWK changes nothing else."""
    public = PrivateKey.generate(alg).public_key
    first = public.jwk
    assert first == public._public_jwk() == PublicKey.from_jwk(first).jwk
    first["x"] = "changed"
    first["d"] = "secret"
    assert public.jwk == public._public_jwk()
    assert public == PublicKey.from_jwk(public.jwk) and "_jwk" not in repr(public)


def test_imported_jwk_is_the_computed_jwk(alg: str) -> None:
    """The JWK kept from an import (its strictly decoded members) equals the one computed from the key, and only the
    REQUIRED public members are kept."""
    for _ in range(20):
        jwk = PrivateKey.generate(alg).private_jwk()
        imported = PublicKey.from_jwk({**jwk, "kid": "k", "use": "sig", "alg": alg})
        assert imported._jwk == imported._public_jwk()
        assert imported.jwk == {k: v for k, v in jwk.items() if k != "d"}


def test_rfc7518_s6_2_1_2_exported_coordinates_keep_leading_zeros() -> None:
    """RFC 7518 §6.2.1.2: "The length of this octet string MUST be the full size of a coordinate for the curve"."""
    for _ in range(5000):
        key = PrivateKey.generate("ES256")
        if key.public_key.key.public_numbers().x < 2**248:  # type: ignore[union-attr]
            break
    else:  # pragma: no cover - probability about 2^-28
        pytest.skip("no key with a leading zero octet found")
    jwk = key.public_key.jwk
    assert b64url_decode(jwk["x"])[0] == 0
    assert len(b64url_decode(jwk["x"])) == 32
    assert PublicKey.from_jwk(jwk) == key.public_key


def test_public_import_ignores_private_member(rfc8037_private_jwk: dict[str, str]) -> None:
    assert PublicKey.from_jwk(rfc8037_private_jwk).jwk == _public(rfc8037_private_jwk)


@pytest.mark.parametrize("alg", ALGS)
def test_rfc7517_s4_4_matching_alg_member_is_accepted(alg: str) -> None:
    jwk = {**PrivateKey.generate(alg).public_key.jwk, "alg": alg}
    assert PublicKey.from_jwk(jwk).alg == alg


def test_raw_bytes() -> None:
    assert len(PrivateKey.generate("ES256").public_key.raw_bytes()) == 33
    assert len(PrivateKey.generate("ES256K").public_key.raw_bytes(compressed=False)) == 65
    assert len(PrivateKey.generate("EdDSA").public_key.raw_bytes()) == 32


# --- import strictness ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["x", "y"])
@pytest.mark.parametrize("size", [0, 31, 33, 64])
@pytest.mark.parametrize("alg", ["ES256", "ES256K"])
def test_rfc7518_s6_2_1_2_ec_coordinate_length_must_be_full_size(alg: str, member: str, size: int) -> None:
    """RFC 7518 §6.2.1.2/§6.2.1.3: x and y MUST be the full coordinate size (32 octets for P-256 and secp256k1)."""
    jwk = dict(PrivateKey.generate(alg).public_key.jwk)
    raw = b64url_decode(jwk[member])
    jwk[member] = b64url_encode((raw * 3)[:size] if size > 32 else raw[32 - size :])
    with pytest.raises(KeyError_) as info:
        PublicKey.from_jwk(jwk)
    assert info.value.reason == "invalid_jwk"


@pytest.mark.parametrize("size", [0, 31, 33])
def test_rfc8037_s2_okp_x_length(size: int) -> None:
    """RFC 8037 §2 / RFC 8032 §5.1.5: an Ed25519 public key is exactly 32 octets."""
    with pytest.raises(KeyError_):
        PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(b"\x01" * size)})


@pytest.mark.parametrize("alg", ["ES256", "ES256K"])
def test_ec_point_not_on_the_curve_is_rejected(alg: str) -> None:
    """An EC public key must be a point on its curve (invalid-curve attacks, RFC 7518 §6.2.1, SEC 1 §3.2.2)."""
    jwk = dict(PrivateKey.generate(alg).public_key.jwk)
    y = int.from_bytes(b64url_decode(jwk["y"]), "big")
    jwk["y"] = b64url_encode(((y + 1) % 2**256).to_bytes(32, "big"))
    with pytest.raises(KeyError_) as info:
        PublicKey.from_jwk(jwk)
    assert info.value.reason == "invalid_jwk"


def test_p256_point_is_not_accepted_as_secp256k1() -> None:
    """Same coordinate length, different curve: a P-256 point relabelled secp256k1 is not on secp256k1."""
    jwk = {**PrivateKey.generate("ES256").public_key.jwk, "crv": "secp256k1"}
    with pytest.raises(KeyError_):
        PublicKey.from_jwk(jwk)


@pytest.mark.parametrize(
    "bad",
    [
        {"kty": "EC", "crv": "P-384"},
        {"kty": "EC", "crv": "P-521"},
        {"kty": "EC", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "X25519"},
        {"kty": "OKP", "crv": "Ed448"},
        {"kty": "OKP", "crv": "P-256"},
        {"kty": "RSA", "crv": None},
        {"kty": "oct", "crv": None},
        {"kty": None, "crv": "P-256"},
        {"kty": "ec", "crv": "P-256"},
        {"kty": "EC", "crv": "p-256"},
        {"kty": "EC", "crv": ["P-256"]},
        {"kty": "EC", "crv": {"P-256": 1}},
        {"kty": ["EC"], "crv": "P-256"},
        {"kty": "OKP", "crv": ["Ed25519"]},
    ],
)
def test_unsupported_kty_or_crv_is_rejected(bad: dict[str, Any]) -> None:
    jwk = {**PrivateKey.generate("ES256").public_key.jwk, "x": "AAAA"}
    jwk.update({k: v for k, v in bad.items() if v is not None})
    for k, v in bad.items():
        if v is None:
            jwk.pop(k, None)
    with pytest.raises(KeyError_):
        PublicKey.from_jwk(jwk)


@pytest.mark.parametrize(
    ("key_alg", "declared"),
    [
        ("ES256", "ES256K"),
        ("ES256K", "ES256"),
        ("ES256", "EdDSA"),
        ("EdDSA", "ES256"),
        ("ES256", "ES384"),
        ("ES256", "none"),
        ("ES256", "HS256"),
        ("EdDSA", "Ed25519"),
        ("ES256", ["ES256"]),
    ],
)
def test_rfc7517_s4_4_alg_member_must_match_the_curve(key_alg: str, declared: Any) -> None:
    """RFC 7517 §4.4: 'alg' names the algorithm the key is for; a mismatch is an alg/key confusion attempt."""
    key = PrivateKey.generate(key_alg)
    with pytest.raises(KeyError_) as info:
        PublicKey.from_jwk({**key.public_key.jwk, "alg": declared})
    assert info.value.reason == "alg_key_mismatch"
    with pytest.raises(KeyError_):
        PrivateKey.from_jwk({**key.private_jwk(), "alg": declared})


@pytest.mark.parametrize("value", [None, [], ["kty", "EC"], "EC", 42, b"{}", ({"kty": "EC"},)])
def test_non_object_jwk_is_rejected(value: Any) -> None:
    """RFC 7517 §4: a JWK is a JSON object."""
    with pytest.raises(KeyError_):
        PublicKey.from_jwk(value)
    with pytest.raises(KeyError_):
        PrivateKey.from_jwk(value)


@pytest.mark.parametrize("value", [None, 1, ["AAAA"], "AAAA=", "AA AA", "AAA+"])
def test_coordinate_must_be_a_base64url_string(value: Any) -> None:
    jwk: dict[str, Any] = {**PrivateKey.generate("ES256").public_key.jwk, "x": value}
    if value is None:
        del jwk["x"]
    with pytest.raises(KeyError_):
        PublicKey.from_jwk(jwk)


def test_private_d_must_match_public_members(alg: str) -> None:
    """A private JWK whose d belongs to another key is rejected (it would sign for a key it does not name)."""
    one, other = PrivateKey.generate(alg), PrivateKey.generate(alg)
    forged = {**one.public_key.jwk, "d": other.private_jwk()["d"]}
    with pytest.raises(KeyError_) as info:
        PrivateKey.from_jwk(forged)
    assert info.value.reason == "invalid_jwk"


def test_rfc8037_private_d_must_match_x(rfc8037_private_jwk: dict[str, str]) -> None:
    other = PrivateKey.generate("EdDSA").private_jwk()["d"]
    with pytest.raises(KeyError_):
        PrivateKey.from_jwk({**rfc8037_private_jwk, "d": other})


@pytest.mark.parametrize("alg", ["ES256", "ES256K"])
@pytest.mark.parametrize("scalar", ["zero", "order", "max"])
def test_rfc7518_s6_2_2_1_ec_private_scalar_out_of_range(alg: str, scalar: str) -> None:
    curve = ec.SECP256R1() if alg == "ES256" else ec.SECP256K1()
    order = {
        "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
    }[curve.name]
    d = {"zero": 0, "order": order, "max": 2**256 - 1}[scalar]
    jwk = {**PrivateKey.generate(alg).public_key.jwk, "d": b64url_encode(d.to_bytes(32, "big"))}
    with pytest.raises(KeyError_):
        PrivateKey.from_jwk(jwk)


@pytest.mark.parametrize("size", [0, 31, 33])
def test_rfc7518_s6_2_2_1_private_d_length(alg: str, size: int) -> None:
    """RFC 7518 §6.2.2.1: d MUST be ceil(log2(n)/8) octets (32 here); RFC 8037 §2: Ed25519 d is 32 octets."""
    key = PrivateKey.generate(alg)
    raw = b64url_decode(key.private_jwk()["d"])
    jwk = {**key.public_key.jwk, "d": b64url_encode((b"\x00" + raw)[:size] if size > 32 else raw[:size])}
    with pytest.raises(KeyError_):
        PrivateKey.from_jwk(jwk)


def test_private_import_requires_d(alg: str) -> None:
    with pytest.raises(KeyError_):
        PrivateKey.from_jwk(PrivateKey.generate(alg).public_key.jwk)


# --- private key material never leaks -------------------------------------------------------------------------------


def _secret_forms(d_b64: str) -> list[str]:
    raw = b64url_decode(d_b64)
    return [d_b64, raw.hex(), str(int.from_bytes(raw, "big")), repr(raw)]


def _assert_no_secret(text: str, d_b64: str) -> None:
    for form in _secret_forms(d_b64):
        assert form not in text


def test_private_key_repr_and_str_hide_d(alg: str) -> None:
    key = PrivateKey.generate(alg)
    d = key.private_jwk()["d"]
    signer = SoftwareSigner(key, kid="k1")
    for text in (repr(key), str(key), f"{key}", repr(signer), str(signer), repr([key, signer]), repr(key.public_key)):
        _assert_no_secret(text, d)
    assert "thumbprint" in repr(key)


def _bad_private_jwks(alg: str) -> list[tuple[dict[str, Any], str]]:
    """Bad private JWKs, each with the secret (base64url d) that must not appear in the error."""
    key, other = PrivateKey.generate(alg), PrivateKey.generate(alg)
    jwk = key.private_jwk()
    d = jwk["d"]
    raw = b64url_decode(d)
    wrong_alg = "ES256" if alg != "ES256" else "EdDSA"
    reversed_d = b64url_encode(raw[::-1])
    return [
        ({**other.public_key.jwk, "d": d}, d),  # d does not match x/y
        ({**jwk, "d": d + "A"}, d),  # impossible base64url length
        ({**jwk, "d": d + "AA"}, d),  # 33 octets
        ({**jwk, "d": b64url_encode(raw[:31])}, d),  # 31 octets
        ({**jwk, "d": d + "="}, d),  # padding
        ({**jwk, "d": d.replace(d[0], "+")}, d),  # outside the alphabet
        ({**jwk, "alg": wrong_alg}, d),  # alg mismatch
        ({**jwk, "x": d}, d),  # d used as the public coordinate
        ({**jwk, "crv": "P-384"}, d),  # unsupported curve
        ({**jwk, "d": reversed_d}, reversed_d),  # some other scalar
        ({**jwk, "d": list(raw)}, d),  # not a string
    ]


def test_errors_importing_a_bad_private_jwk_never_contain_d(alg: str) -> None:
    """errors.py: messages never contain key material (not in str, repr, description, nor the printed traceback)."""
    for bad, secret in _bad_private_jwks(alg):
        with pytest.raises(SsiError) as info:
            PrivateKey.from_jwk(bad)
        exc = info.value
        printed = "".join(traceback.format_exception(exc))
        for text in (str(exc), repr(exc), exc.description, str(exc.to_dict()), printed):
            _assert_no_secret(text, secret)
            if isinstance(bad["d"], str):
                assert bad["d"] not in text


def test_private_key_cannot_be_pickled_or_copied(alg: str) -> None:
    key = PrivateKey.generate(alg)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(key, protocol=protocol)
        with pytest.raises(TypeError):
            pickle.dumps(SoftwareSigner(key), protocol=protocol)
    with pytest.raises(TypeError):
        copy.deepcopy(key)


# --- keys sign and verify -------------------------------------------------------------------------------------------


def test_generate_rejects_unknown_algorithms() -> None:
    for bad in ("RS256", "none", "HS256", "ES384", "es256", ""):
        with pytest.raises(UnsupportedAlgorithm):
            PrivateKey.generate(bad)


def test_from_crypto_rejects_other_curves() -> None:
    with pytest.raises(KeyError_):
        PublicKey.from_crypto(ec.generate_private_key(ec.SECP384R1()).public_key())
    assert PublicKey.from_crypto(ed25519.Ed25519PrivateKey.generate().public_key()).alg == "EdDSA"


def test_signatures_are_64_octets_and_verify(alg: str) -> None:
    """RFC 7518 §3.4: ECDSA P-256/secp256k1 signatures are R || S, 64 octets; RFC 8032: Ed25519 is 64 octets."""
    key = PrivateKey.generate(alg)
    sig = key.sign(b"data")
    assert len(sig) == 64
    key.public_key.verify(alg, b"data", sig)
    with pytest.raises(InvalidSignature):
        key.public_key.verify(alg, b"other data", sig)


def test_verify_refuses_algorithm_of_another_key_type(alg: str) -> None:
    """RFC 8725 §3.1: the algorithm must be the key's own; ES256 vs ES256K keys are the same size but differ."""
    key = PrivateKey.generate(alg)
    sig = key.sign(b"data")
    for other in ALGS:
        if other != alg:
            with pytest.raises(UnsupportedAlgorithm) as info:
                key.public_key.verify(other, b"data", sig)
            assert info.value.reason == "alg_key_mismatch"


def test_signer_protocol(alg: str) -> None:
    signer = SoftwareSigner.generate(alg, kid="key-1")
    assert isinstance(signer, Signer)
    assert signer.alg == alg
    assert signer.kid == "key-1"
    assert signer.public_jwk == signer.public_key.jwk
    assert "d" not in signer.public_jwk
    signer.public_key.verify(alg, b"m", signer.sign(b"m"))
    assert SoftwareSigner.generate(alg).kid is None


@pytest.mark.parametrize(
    "x",
    [
        b"\xff" * 32,  # y >= p: not a canonical encoding (RFC 8032 §5.1.3 step 1)
        (2).to_bytes(32, "little"),  # y = 2: x² = (y²-1)/(d·y²+1) has no square root mod p (step 2-3)
    ],
)
def test_rfc8037_ed25519_x_off_the_curve_is_refused(x: bytes) -> None:
    """RFC 8037 §2 'x' is an Ed25519 public key, so it must decode as a curve point (RFC 8032 §5.1.3);
    ``cryptography`` would load any 32 bytes, so the import checks it."""
    from ssi.encoding import b64url_encode
    from ssi.keys import ed25519_point_is_valid

    assert not ed25519_point_is_valid(x)
    with pytest.raises(KeyError_) as info:
        PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(x)})
    assert info.value.reason == "invalid_jwk"


def test_rfc8032_valid_ed25519_points_pass_the_curve_check() -> None:
    """Every generated Ed25519 key decodes as a curve point (positive control for the check above)."""
    from ssi.keys import ed25519_point_is_valid

    for _ in range(50):
        assert ed25519_point_is_valid(PrivateKey.generate("EdDSA").public_key.raw_bytes())
