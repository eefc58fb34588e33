"""``ssi.keys.Pkcs11Token`` / ``Pkcs11Signer`` against SoftHSM2: keys made in the token sign JWS and SD-JWT VCs, the
public key verifies them, and the private key cannot be read or wrapped out (PKCS#11 v2.40 Base §4.9)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.util.ec import encode_named_curve_parameters
from softhsm_support import USER_PIN, SoftHsm, skip_reason

from ssi.clock import FrozenClock
from ssi.errors import Pkcs11Error, UnsupportedAlgorithm
from ssi.jose import decode_jwt, encode_jwt, sign_compact, verify_compact
from ssi.keys import PIN_ENV, PIN_FILE_ENV, Pkcs11Signer, Pkcs11Token, PublicKey, Signer, jwk_thumbprint, read_pin
from ssi.keys import _pkcs11 as impl
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy
from ssi.sd_jwt.vc import issue_sd_jwt_vc, verify_sd_jwt_vc

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

TOKEN = "govssi-a"
OTHER_TOKEN = "govssi-b"


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """One token directory per test run (per module and xdist worker), with two initialised tokens."""
    previous = os.environ.get("SOFTHSM2_CONF")
    softhsm = SoftHsm.create(tmp_path_factory.mktemp("softhsm"))
    softhsm.init_token(TOKEN)
    softhsm.init_token(OTHER_TOKEN)
    softhsm.activate()
    yield softhsm
    assert not any(m.logins for m in impl._modules.values()), "a test left a token logged in"
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def token(hsm: SoftHsm) -> Iterator[Pkcs11Token]:
    with Pkcs11Token(hsm.module, TOKEN, USER_PIN) as tok:
        yield tok


def _label(request: pytest.FixtureRequest) -> str:
    return f"k-{request.node.name}"[:60]


def _raw_session(hsm: SoftHsm, label: str = TOKEN) -> pkcs11.Session:
    """A plain python-pkcs11 session beside the signer's (the application is logged in already)."""
    return pkcs11.lib(os.path.realpath(hsm.module)).get_token(token_label=label).open(rw=True)


# --- signing ------------------------------------------------------------------------------------------------------


def test_generated_es256_key_signs_compact_jws(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """RFC 7518 §3.4: ES256 = ECDSA P-256 SHA-256, signature R || S; the public JWK verifies it."""
    signer = token.generate_key("ES256", label=_label(request))
    assert isinstance(signer, Signer)
    assert signer.alg == "ES256"
    assert signer.public_jwk["crv"] == "P-256" and "d" not in signer.public_jwk
    assert signer.kid == jwk_thumbprint(signer.public_jwk)  # RFC 7638 thumbprint unless given
    token_jws = sign_compact(b"Heidestrasse 17", signer)
    verified = verify_compact(token_jws, PublicKey.from_jwk(signer.public_jwk), ["ES256"])
    assert verified.payload == b"Heidestrasse 17"
    assert verified.header == {"alg": "ES256", "kid": signer.kid}


def test_es256k_key_on_secp256k1(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """RFC 8812 §3.2: ES256K = ECDSA secp256k1 SHA-256 (SoftHSM2 knows the curve through OpenSSL)."""
    signer = token.generate_key("ES256K", label=_label(request), kid="chain-1")
    assert signer.public_jwk["crv"] == "secp256k1"
    assert signer.kid == "chain-1"
    jwt = encode_jwt({"iss": "did:example:authority", "iat": 1_700_000_000}, signer, typ="JWT")
    claims = decode_jwt(jwt, signer.public_key, ["ES256K"], clock=FrozenClock(1_700_000_000)).claims
    assert claims["iss"] == "did:example:authority"


def test_sign_digest_is_raw_ecdsa_over_the_digest(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """CKM_ECDSA signs the given digest as it is (Current Mechanisms §2.3.7)."""
    signer = token.generate_key(label=_label(request))
    digest = bytes(range(32))
    raw = signer.sign_digest(digest)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = signer.public_key.key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    with pytest.raises(ValueError):
        signer.sign_digest(digest[:31])


def test_sd_jwt_vc_issued_and_key_bound_with_token_keys(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """SD-JWT VC signed by a token key, Key Binding JWT (RFC 9901 §4.3) signed by another token key."""
    issuer = token.generate_key(label=_label(request) + "-issuer")
    holder = token.generate_key(label=_label(request) + "-holder")
    clock = FrozenClock(1_750_000_000)
    issued = issue_sd_jwt_vc(
        {"family_name": "MUSTERMANN", "given_name": "ERIKA", "birthdate": "1964-08-12"},
        issuer,
        vct="urn:eudi:pid:de:1",
        issuer="https://pid.example.de",
        holder_jwk=holder.public_jwk,
        disclosable=[("family_name",), ("given_name",), ("birthdate",)],
        valid_for=14 * 86400,
        clock=clock,
    )
    presentation = HeldSdJwt.parse(issued.compact).present(
        [("given_name",)], holder=holder, audience="https://portal.example.de", nonce="n-1", clock=clock
    )
    policy = VerificationPolicy(audience="https://portal.example.de", nonce="n-1")
    result = verify_sd_jwt_vc(presentation, issuer.public_key, policy, expected_vct="urn:eudi:pid:de:1", clock=clock)
    assert result.claims["given_name"] == "ERIKA"
    assert "family_name" not in result.claims
    assert result.header["kid"] == issuer.kid


def test_concurrent_signing_from_threads(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """Base §5.4: python-pkcs11 initialises the module for single-threaded use; 8 threads share one connection and
    every call into the module is serialised (SoftHSM2 crashes otherwise)."""
    signer = token.generate_key(label=_label(request))
    results: list[tuple[bytes, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            for i in range(25):
                message = f"{n}-{i}".encode()
                sig = signer.sign(message)
                with lock:
                    results.append((message, sig))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 200
    for message, sig in results:
        signer.public_key.verify("ES256", message, sig)


# --- the key never leaves the token -------------------------------------------------------------------------------


def test_private_key_value_cannot_be_read(hsm: SoftHsm, token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """Base §4.9 (CKA_SENSITIVE): "the attribute CKA_VALUE ... cannot be revealed"; generated in the token, so
    CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE are true."""
    label = _label(request)
    token.generate_key(label=label)
    with _raw_session(hsm) as session:
        private = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC, label=label)
        with pytest.raises(p11.AttributeSensitive):
            _ = private[Attribute.VALUE]
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.ALWAYS_SENSITIVE] is True
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        assert private[Attribute.TOKEN] is True and private[Attribute.PRIVATE] is True
        assert private[Attribute.DERIVE] is False and private[Attribute.DECRYPT] is False
        # Base §4.9: CKA_EXTRACTABLE "can be changed ... only to CK_FALSE"; SoftHSM2 answers CKR_ACTION_PROHIBITED.
        with pytest.raises(p11.PKCS11Error):
            private[Attribute.EXTRACTABLE] = True
        assert private[Attribute.EXTRACTABLE] is False


def test_private_key_cannot_be_wrapped_out(hsm: SoftHsm, token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """Base §4.9 (CKA_EXTRACTABLE false): the key "cannot be wrapped" — C_WrapKey answers CKR_KEY_UNEXTRACTABLE."""
    label = _label(request)
    token.generate_key(label=label)
    with _raw_session(hsm) as session:
        private = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC, label=label)
        wrapping = session.generate_key(KeyType.AES, 256, capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP)
        with pytest.raises(p11.KeyUnextractable):
            wrapping.wrap_key(private, mechanism=Mechanism.AES_KEY_WRAP_PAD)


def test_extractable_key_is_refused(hsm: SoftHsm, token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """A key whose value could exist outside the token is not used for signing."""
    label = _label(request)
    with _raw_session(hsm) as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        params.generate_keypair(
            id=b"\x42\x42",
            label=label,
            store=True,
            private_template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
        )
    with pytest.raises(Pkcs11Error) as caught:
        token.signer(label=label)
    assert caught.value.reason == "pkcs11_key_extractable"
    assert caught.value.code == "server_error"


def test_public_key_of_another_pair_is_caught(hsm: SoftHsm, token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """CKA_ID pairs public and private key (Base §4.8); a public key that does not verify the private key's
    signature (a mislabelled import) is refused when the signer is opened, not after signing credentials."""
    label = _label(request)
    with _raw_session(hsm) as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        template = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False}
        public_1, _ = params.generate_keypair(id=b"\x10", label=label, store=True, private_template=template)
        public_2, _ = params.generate_keypair(
            id=b"\x11", label=label + "-2", store=True, private_template=template,
            public_template={Attribute.MODIFIABLE: True},
        )  # fmt: skip
        public_1.destroy()
        public_2[Attribute.ID] = b"\x10"
    with pytest.raises(Pkcs11Error) as caught:
        token.signer(label=label)
    assert caught.value.reason == "pkcs11_key_mismatch"


# --- finding keys -------------------------------------------------------------------------------------------------


def test_lookup_by_label_id_or_both_after_reopening(hsm: SoftHsm, request: pytest.FixtureRequest) -> None:
    """Token objects persist: a new connection (a restarted issuer) finds the key by CKA_LABEL and/or CKA_ID."""
    label = _label(request)
    with Pkcs11Token(hsm.module, TOKEN, USER_PIN) as first:
        made = first.generate_key(label=label, key_id=b"\x01\x02\x03")
        jws = sign_compact(b"x", made)
    assert not any(m.logins for m in impl._modules.values())  # the last connection logged out
    with Pkcs11Token(hsm.module, TOKEN, USER_PIN) as second:
        for signer in (
            second.signer(label=label),
            second.signer(key_id=b"\x01\x02\x03"),
            second.signer(label=label, key_id=b"\x01\x02\x03"),
        ):
            assert signer.public_jwk == made.public_jwk
            assert signer.key_id == b"\x01\x02\x03" and signer.label == label
            verify_compact(jws, signer.public_key, ["ES256"])
            verify_compact(sign_compact(b"y", signer), made.public_key, ["ES256"])
        infos = [k for k in second.list_keys() if k.label == label]
        assert [(k.key_id, k.alg) for k in infos] == [(b"\x01\x02\x03", "ES256")]


def test_missing_and_duplicate_keys(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    label = _label(request)
    with pytest.raises(Pkcs11Error) as caught:
        token.signer(label=label)
    assert caught.value.reason == "pkcs11_key_not_found"
    token.generate_key(label=label, key_id=b"\xaa")
    with pytest.raises(Pkcs11Error) as caught:
        token.generate_key(label=label)  # the label would become ambiguous
    assert caught.value.reason == "pkcs11_key_exists"
    with pytest.raises(Pkcs11Error) as caught:
        token.generate_key(label=label + "-other", key_id=b"\xaa")
    assert caught.value.reason == "pkcs11_key_exists"
    with pytest.raises(Pkcs11Error) as caught:
        token.signer()
    assert caught.value.reason == "pkcs11_bad_label"
    with pytest.raises(UnsupportedAlgorithm):
        token.generate_key("EdDSA", label=label + "-ed")
    # the session that saw the errors still works
    assert len(token.signer(label=label).sign(b"z")) == 64


def test_curve_parameters_are_the_named_curve_oids() -> None:
    """RFC 5480 §2.1.1.1 namedCurve, as python-pkcs11 (asn1crypto) encodes them."""
    assert impl._CURVES["ES256"][1] == encode_named_curve_parameters("secp256r1")
    assert impl._CURVES["ES256K"][1] == encode_named_curve_parameters("secp256k1")


# --- login, PIN and connection errors -----------------------------------------------------------------------------


def test_wrong_pin_is_refused(hsm: SoftHsm) -> None:
    with pytest.raises(Pkcs11Error) as caught:
        Pkcs11Token(hsm.module, OTHER_TOKEN, "000000")
    assert caught.value.reason == "pkcs11_pin_incorrect"
    assert "000000" not in str(caught.value) and USER_PIN not in str(caught.value)
    assert not any(m.logins for m in impl._modules.values())


def test_wrong_pin_is_refused_while_already_logged_in(hsm: SoftHsm, token: Pkcs11Token) -> None:
    """Login is per application (Base §5.6.1): a second connection must not ride on the first one's login."""
    with pytest.raises(Pkcs11Error) as caught:
        Pkcs11Token(hsm.module, TOKEN, "000000")
    assert caught.value.reason == "pkcs11_pin_incorrect"
    with Pkcs11Token(hsm.module, TOKEN, USER_PIN) as second:
        assert isinstance(second.list_keys(), list)
    token.list_keys()  # closing the second connection did not log the first one out


def test_unknown_token_and_module(hsm: SoftHsm, tmp_path: Path) -> None:
    with pytest.raises(Pkcs11Error) as caught:
        Pkcs11Token(hsm.module, "no-such-token", USER_PIN)
    assert caught.value.reason == "pkcs11_token_not_found"
    (tmp_path / "not-a-module.so").write_text("hello")
    with pytest.raises(Pkcs11Error) as caught:
        Pkcs11Token(tmp_path / "not-a-module.so", TOKEN, USER_PIN)
    assert caught.value.reason == "pkcs11_module"
    with pytest.raises(Pkcs11Error) as caught:
        Pkcs11Token(hsm.module, TOKEN, "")
    assert caught.value.reason == "pkcs11_pin_required"


def test_secrets_stay_out_of_repr_and_pickle(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    signer = token.generate_key(label=_label(request))
    assert USER_PIN not in repr(token) and USER_PIN not in repr(signer)
    assert USER_PIN not in repr(vars(token).get("_login", ""))
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    with pytest.raises(TypeError):
        pickle.dumps(token)


# --- recovery and lifecycle ---------------------------------------------------------------------------------------


def test_signing_survives_a_lost_session(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """A session closed under the signer (CKR_SESSION_HANDLE_INVALID) is replaced and the operation retried."""
    signer = token.generate_key(label=_label(request))
    signer.sign(b"warm up")
    assert token._session is not None
    token._session.session.close()
    signer.public_key.verify("ES256", b"again", signer.sign(b"again"))


def test_signing_survives_a_logout(token: Pkcs11Token, request: pytest.FixtureRequest) -> None:
    """A logout invalidates private key handles (CKR_OBJECT_HANDLE_INVALID); the token logs in again, once."""
    signer = token.generate_key(label=_label(request))
    signer.sign(b"warm up")
    login = token._login
    assert login.session is not None
    login.session.close()  # C_Logout for the whole application, then the session is gone
    generation = login.generation
    signer.public_key.verify("ES256", b"again", signer.sign(b"again"))
    assert login.generation == generation + 1


def test_closed_and_forked_tokens_refuse(hsm: SoftHsm, request: pytest.FixtureRequest) -> None:
    token = Pkcs11Token(hsm.module, TOKEN, USER_PIN)
    signer = token.generate_key(label=_label(request))
    real_pid = token._pid
    token._pid = real_pid + 1  # as seen from a child after fork()
    with pytest.raises(Pkcs11Error) as caught:
        signer.sign(b"x")
    assert caught.value.reason == "pkcs11_fork"
    token._pid = real_pid
    token.close()
    token.close()  # idempotent
    with pytest.raises(Pkcs11Error) as caught:
        signer.sign(b"x")
    assert caught.value.reason == "pkcs11_closed"


# --- PIN sources and import cost ----------------------------------------------------------------------------------


def test_read_pin_from_environment_or_file(tmp_path: Path) -> None:
    assert read_pin({}) is None
    assert read_pin({PIN_ENV: "123456"}) == "123456"
    pin_file = tmp_path / "pin"
    pin_file.write_text("654321\n")
    assert read_pin({PIN_FILE_ENV: str(pin_file)}) == "654321"
    for env, reason in (
        ({PIN_ENV: "1", PIN_FILE_ENV: str(pin_file)}, "pkcs11_pin_ambiguous"),
        ({PIN_FILE_ENV: str(tmp_path / "missing")}, "pkcs11_pin_file"),
    ):
        with pytest.raises(Pkcs11Error) as caught:
            read_pin(env)
        assert caught.value.reason == reason
    pin_file.write_text("\n")
    with pytest.raises(Pkcs11Error):
        read_pin({PIN_FILE_ENV: str(pin_file)})


def test_ssi_keys_does_not_import_pkcs11_until_asked() -> None:
    code = (
        "import sys, ssi.keys; assert 'pkcs11' not in sys.modules; "
        "assert ssi.keys.Pkcs11Signer.__name__ == 'Pkcs11Signer'; assert 'pkcs11' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_signer_type_is_exported() -> None:
    assert Pkcs11Signer is impl.Pkcs11Signer
