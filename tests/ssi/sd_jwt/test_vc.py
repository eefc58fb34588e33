"""The SD-JWT VC profile (draft-ietf-oauth-sd-jwt-vc-13) as implemented in ``ssi.sd_jwt.vc``.

Section numbers are those of draft -13: §3.2.1 JOSE header (typ), §3.2.2.1 vct, §3.2.2.2 registered claims (never
selectively disclosable: iss, nbf, exp, cnf, vct, vct#integrity, status), §3.2.2.4 without disclosable claims, §3.4
verification (cnf for Key Binding), Token Status List for ``status.status_list``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sdjwt_support import (
    AUD,
    HOLDER,
    HOLDER_JWK,
    HOLDER_PUBLIC_JWK,
    ISSUER,
    ISSUER_KEY,
    KB_POLICY,
    NO_KB_POLICY,
    NONCE,
    NOW,
    clock,
    disclosure,
    reason,
    sd_jwt,
    sha256_digest,
    with_kb,
)

from ssi.encoding import b64url_json
from ssi.errors import KeyError_
from ssi.keys import PublicKey
from ssi.sd_jwt import HeldSdJwt
from ssi.sd_jwt.vc import (
    LEGACY_SD_JWT_VC_TYP,
    NEVER_DISCLOSABLE,
    SD_JWT_VC_TYP,
    check_status_claim,
    issue_sd_jwt_vc,
    verify_sd_jwt_vc,
)

VCT = "https://credentials.example.com/identity_credential"
ISS = "https://issuer.example.com"
STATUS = {"status_list": {"idx": 412, "uri": "https://issuer.example.com/statuslists/1"}}
CLAIMS = {"given_name": "Erika", "family_name": "Mustermann", "birthdate": "1964-08-12", "sub": "user-1"}


def issue(**kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "vct": VCT,
        "issuer": ISS,
        "holder_jwk": HOLDER_PUBLIC_JWK,
        "disclosable": [("given_name",), ("family_name",), ("birthdate",)],
        "clock": clock(),
    }
    args.update(kwargs)
    claims = args.pop("claims", CLAIMS)
    return issue_sd_jwt_vc(claims, ISSUER, **args)


def verify(text: Any, policy: Any = NO_KB_POLICY, **kwargs: Any) -> Any:
    return verify_sd_jwt_vc(text, ISSUER_KEY, policy, clock=clock(), **kwargs)


def vc_payload(**extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"vct": VCT, "iss": ISS, "iat": NOW, "cnf": {"jwk": HOLDER_PUBLIC_JWK}}
    payload.update(extra)
    return payload


def vc_sd_jwt(payload: dict[str, Any], disclosures: list[str] = (), typ: Any = SD_JWT_VC_TYP) -> str:  # type: ignore[assignment]
    header = {} if typ is None else {"typ": typ}
    return sd_jwt(payload, disclosures, header=header)


# --- §3.2.1 typ -------------------------------------------------------------------------------------------------------


def test_s3_2_1_issued_typ_is_dc_sd_jwt() -> None:
    """§3.2.1: "The typ header parameter of the SD-JWT MUST be present. The typ value MUST use dc+sd-jwt"."""
    issued = issue()
    assert b64url_json(issued.issuer_jwt.split(".")[0])["typ"] == SD_JWT_VC_TYP == "dc+sd-jwt"
    # a caller-supplied typ in the header cannot override it
    forced = issue(header={"typ": "JWT", "kid": "k1"})
    header = b64url_json(forced.issuer_jwt.split(".")[0])
    assert header["typ"] == "dc+sd-jwt" and header["kid"] == "k1"


def test_s3_2_1_legacy_typ_only_when_opted_in() -> None:
    """§3.2.1: "it is RECOMMENDED that Verifiers and Holders accept both vc+sd-jwt and dc+sd-jwt ... for a reasonable
    transitional period" — here a deliberate opt-in on both sides, off by default."""
    legacy = issue(legacy_typ=True)
    assert b64url_json(legacy.issuer_jwt.split(".")[0])["typ"] == LEGACY_SD_JWT_VC_TYP == "vc+sd-jwt"
    assert reason(lambda: verify(legacy.compact)) == "wrong_typ"
    assert verify(legacy.compact, accept_legacy_typ=True).claims["vct"] == VCT


@pytest.mark.parametrize("typ", [None, "JWT", "example+sd-jwt", "DC+SD-JWT", "application/dc+sd-jwt", "kb+jwt"])
def test_s3_2_1_verifier_rejects_other_or_missing_typ(typ: Any) -> None:
    text = vc_sd_jwt(vc_payload(), typ=typ)
    assert reason(lambda: verify(text)) == "wrong_typ"
    assert reason(lambda: verify(text, accept_legacy_typ=True)) == "wrong_typ"
    assert verify(vc_sd_jwt(vc_payload())).header["typ"] == "dc+sd-jwt"


# --- §3.2.2.1 vct -----------------------------------------------------------------------------------------------------


def test_s3_2_2_1_vct_is_required_at_issuance() -> None:
    """§3.2.2.1/§3.2.2.2: ``vct`` REQUIRED, a case-sensitive string."""
    assert reason(lambda: issue(vct="")) == "missing_vct"
    assert reason(lambda: issue(vct=None)) == "missing_vct"
    assert reason(lambda: issue(vct=["a"])) == "missing_vct"
    assert issue().payload["vct"] == VCT


@pytest.mark.parametrize("vct", [None, "", 42, ["x"], {"a": 1}])
def test_s3_2_2_1_vct_is_required_at_verification(vct: Any) -> None:
    payload = vc_payload()
    if vct is None:
        del payload["vct"]
    else:
        payload["vct"] = vct
    assert reason(lambda: verify(vc_sd_jwt(payload))) == "missing_vct"


def test_s3_2_2_1_expected_vct_is_compared_case_sensitively() -> None:
    text = vc_sd_jwt(vc_payload())
    assert verify(text, expected_vct=VCT).claims["vct"] == VCT
    assert verify(text, expected_vct=["urn:other", VCT]).claims["vct"] == VCT
    assert reason(lambda: verify(text, expected_vct=VCT.upper())) == "wrong_vct"
    assert reason(lambda: verify(text, expected_vct=["urn:other"])) == "wrong_vct"


# --- §3.2.2.2 never selectively disclosable --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NEVER_DISCLOSABLE))
def test_s3_2_2_2_never_disclosable_claims_refused_at_issuance(name: str) -> None:
    """§3.2.2.2: iss, nbf, exp, cnf, vct, vct#integrity, status "MUST NOT be included in the Disclosures" — neither
    the claim nor any of its sub-claims (``status.status_list``, ``cnf.jwk``)."""
    assert reason(lambda: issue(disclosable=[(name,)])) == "never_disclosable"
    assert reason(lambda: issue(disclosable=[(name, "sub")])) == "never_disclosable"
    assert reason(lambda: issue(claims={**CLAIMS, name: 1})) == "bad_claims"


@pytest.mark.parametrize("name", sorted(NEVER_DISCLOSABLE))
def test_s3_2_2_2_never_disclosable_claims_refused_at_verification(name: str) -> None:
    """§3.2.2.2 at the Verifier: a (re-signed, otherwise valid) SD-JWT VC that discloses one of them is rejected."""
    values = {
        "iss": ISS,
        "nbf": NOW - 10,
        "exp": NOW + 3600,
        "cnf": {"jwk": HOLDER_PUBLIC_JWK},
        "vct": VCT,
        "vct#integrity": "sha256-abc",
        "status": STATUS,
    }
    d = disclosure("salt-x", name, values[name])
    payload = vc_payload(_sd=[sha256_digest(d)], _sd_alg="sha-256")
    payload.pop(name, None)  # only in the Disclosure, so nothing but the §3.2.2.2 rule can object
    text = vc_sd_jwt(payload, [d])
    assert reason(lambda: verify(text)) == "never_disclosable"


@pytest.mark.parametrize(("name", "inner"), [("status", "status_list"), ("cnf", "jwk")])
def test_s3_2_2_2_sub_claims_of_never_disclosable_claims_refused_at_verification(name: str, inner: str) -> None:
    """§3.2.2.2: "(including any of their sub-claims)" — ``status`` in the clear with ``status_list`` disclosed."""
    value = STATUS["status_list"] if name == "status" else HOLDER_PUBLIC_JWK
    d = disclosure("salt-x", inner, value)
    payload = vc_payload(_sd_alg="sha-256")
    payload[name] = {"_sd": [sha256_digest(d)]}
    assert reason(lambda: verify(vc_sd_jwt(payload, [d]))) == "never_disclosable"


def test_s3_2_2_2_sub_and_iat_may_be_disclosed() -> None:
    """§3.2.2.2: "sub ... iat ... MAY be included in Disclosures"."""
    sub = disclosure("salt-sub", "sub", "user-1")
    iat = disclosure("salt-iat", "iat", NOW - 5)
    payload = vc_payload(_sd=sorted([sha256_digest(sub), sha256_digest(iat)]), _sd_alg="sha-256")
    del payload["iat"]
    result = verify(vc_sd_jwt(payload, [sub, iat]))
    assert result.claims["sub"] == "user-1" and result.claims["iat"] == NOW - 5
    issued = issue(disclosable=[("sub",), ("given_name",)])
    assert "sub" not in issued.payload
    assert verify(issued.compact).claims["sub"] == "user-1"


# --- registered claims as parameters ------------------------------------------------------------------------------


def test_registered_claims_are_set_from_parameters() -> None:
    issued = issue(status=STATUS, valid_for=3600, not_before=NOW - 1)
    payload = issued.payload
    assert payload["vct"] == VCT and payload["iss"] == ISS and payload["iat"] == NOW
    assert payload["exp"] == NOW + 3600 and payload["nbf"] == NOW - 1
    assert payload["cnf"] == {"jwk": HOLDER_PUBLIC_JWK}
    assert payload["status"] == STATUS
    assert issue(expires_at=NOW + 10).payload["exp"] == NOW + 10
    assert reason(lambda: issue(valid_for=10, expires_at=NOW + 10)) == "bad_claims"
    result = verify(issued.compact)
    assert result.claims["given_name"] == "Erika" and result.claims["status"] == STATUS


@pytest.mark.parametrize("value", ["tomorrow", True, float("inf"), float("nan"), [1]])
def test_registered_time_parameters_must_be_numeric_dates(value: Any) -> None:
    """RFC 7519 §2/§4.1.4-5: exp and nbf are NumericDates; untyped input (e.g. a claims file) is refused cleanly
    instead of crashing or signing a credential that no Verifier would accept."""
    assert reason(lambda: issue(expires_at=value)) == "bad_claims"
    assert reason(lambda: issue(not_before=value)) == "bad_claims"
    assert reason(lambda: issue(valid_for=value)) == "bad_claims"


@pytest.mark.parametrize("iss", [42, ["a"], {"a": 1}])
def test_issuer_parameter_must_be_a_string(iss: Any) -> None:
    """RFC 7519 §4.1.1: the Issuer never signs a credential its own Verifier would reject (malformed_iss)."""
    assert reason(lambda: issue(issuer=iss)) == "malformed_iss"


def test_validity_claims_are_enforced_at_verification() -> None:
    """§3.2.2.2 exp/nbf + RFC 9901 §7.1 step 6."""
    expired = issue(expires_at=NOW - 100)
    assert reason(lambda: verify(expired.compact)) == "expired"
    early = issue(not_before=NOW + 3600)
    assert reason(lambda: verify(early.compact)) == "not_yet_valid"


def test_s3_2_2_4_without_disclosable_claims_no_sd_and_no_disclosures() -> None:
    """§3.2.2.4: "the SD-JWT VC MUST NOT contain the _sd claim in the JWT body. It also MUST NOT have any
    Disclosures"."""
    issued = issue(disclosable=[])
    assert "_sd" not in issued.payload and "_sd_alg" not in issued.payload
    assert issued.disclosures == ()
    assert issued.compact.count("~") == 1 and issued.compact.endswith("~")
    assert verify(issued.compact).claims["given_name"] == "Erika"


# --- status ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [
        "revoked",
        [STATUS],
        {"status_list": "x"},
        {"status_list": {"idx": -1, "uri": "https://s.example"}},
        {"status_list": {"idx": True, "uri": "https://s.example"}},
        {"status_list": {"idx": 1.5, "uri": "https://s.example"}},
        {"status_list": {"idx": "1", "uri": "https://s.example"}},
        {"status_list": {"uri": "https://s.example"}},
        {"status_list": {"idx": 1}},
        {"status_list": {"idx": 1, "uri": ""}},
        {"status_list": {"idx": 1, "uri": 7}},
    ],
)
def test_status_structure_checked_at_issuance_and_verification(status: Any) -> None:
    """§3.2.2.2 ``status`` with Token Status List: ``status.status_list`` = ``{"idx": int >= 0, "uri": string}``."""
    assert reason(lambda: check_status_claim(status)) == "malformed_status"
    assert reason(lambda: issue(status=status)) == "malformed_status"
    assert reason(lambda: verify(vc_sd_jwt(vc_payload(status=status)))) == "malformed_status"


def test_status_with_other_mechanisms_is_accepted() -> None:
    check_status_claim({"status_list": {"idx": 0, "uri": "https://s.example/1"}})
    check_status_claim({"other_mechanism": {"anything": 1}})
    assert verify(vc_sd_jwt(vc_payload(status=STATUS))).claims["status"] == STATUS


# --- cnf and Key Binding -------------------------------------------------------------------------------------------


def test_cnf_holds_a_public_jwk() -> None:
    """§3.2.2.2 cnf: "It is RECOMMENDED that this contains a JWK"; a private key never goes into a credential."""
    assert reason(lambda: issue(holder_jwk=HOLDER_JWK)) == "bad_claims"
    with pytest.raises(KeyError_):
        issue(holder_jwk={"kty": "EC", "crv": "P-256", "x": "AAAA"})
    assert "cnf" not in issue(holder_jwk=None).payload


def test_cnf_from_an_imported_public_key_is_its_public_jwk() -> None:
    """A :class:`PublicKey` (imported and checked already) gives the same ``cnf.jwk`` as its JWK would."""
    key = PublicKey.from_jwk(HOLDER_PUBLIC_JWK)
    assert issue(holder_jwk=key).payload["cnf"] == {"jwk": key.jwk} == issue(holder_jwk=key.jwk).payload["cnf"]
    assert "d" not in issue(holder_jwk=HOLDER.public_key).payload["cnf"]["jwk"]


@pytest.mark.parametrize("cnf", ["x", ["jwk"], 7])
def test_cnf_must_be_an_object_at_verification(cnf: Any) -> None:
    """RFC 7800 §3.1: ``cnf`` is a JSON object."""
    assert reason(lambda: verify(vc_sd_jwt(vc_payload(cnf=cnf)))) == "malformed_cnf"


@pytest.mark.parametrize("iss", [42, ["a"], {"a": 1}, None])
def test_iss_must_be_a_string(iss: Any) -> None:
    """RFC 7519 §4.1.1: ``iss`` is a StringOrURI."""
    assert reason(lambda: verify(vc_sd_jwt(vc_payload(iss=iss)))) == "malformed_iss"


def test_s3_4_key_binding_uses_cnf() -> None:
    """§3.4: "To verify the KB-JWT, the cnf claim of the SD-JWT MUST be used"."""
    issued = issue()
    text = HeldSdJwt.parse(issued.compact).present(
        [("given_name",)], holder=HOLDER, audience=AUD, nonce=NONCE, clock=clock()
    )
    result = verify(text, KB_POLICY)
    assert result.claims["given_name"] == "Erika" and "family_name" not in result.claims
    assert result.key_binding is not None
    other_holder = issue(holder_jwk=ISSUER_KEY.jwk)
    forged = with_kb(HeldSdJwt.parse(other_holder.compact).present([("given_name",)]))
    assert reason(lambda: verify(forged, KB_POLICY)) == "kb_invalid_signature"
    no_cnf = issue(holder_jwk=None)
    assert reason(lambda: verify(with_kb(no_cnf.compact), KB_POLICY)) == "kb_no_cnf"


def test_vc_policy_keeps_the_callers_other_settings() -> None:
    """The profile only adds the typ rule; algorithms and limits stay the caller's."""
    narrow = replace(NO_KB_POLICY, algorithms=frozenset({"EdDSA"}))
    assert reason(lambda: verify(issue().compact, narrow)) == "algorithm_not_allowed"


def test_json_serialization_vc() -> None:
    """SD-JWT VC data format: "Section 4 or Section 8" of RFC 9901; JSON support is OPTIONAL, we have it."""
    issued = issue(serialization="json")
    obj = issued.to_json()
    assert verify(obj).claims["family_name"] == "Mustermann"
