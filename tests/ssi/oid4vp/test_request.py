"""Authorization Requests (OpenID4VP 1.0 §5, RFC 9101): the Verifier signs, the Wallet verifies per Client Identifier
Prefix (§5.9.3) — and refuses each broken request with its own reason."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from oid4vp_support import HOST, NOW, QUERY, RESPONSE_URI, make_verifier, request

from ssi.did import default_resolver
from ssi.encoding import b64url_encode, json_dumps
from ssi.errors import InvalidRequestObject, InvalidRequestUriMethod, Oid4vpError
from ssi.jose import encode_jwt, sign_compact
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vp import (
    REQUEST_OBJECT_TYP,
    AuthorizationRequest,
    WalletRequestPolicy,
    authorization_request_link,
    create_request_object,
    did_client_id,
    parse_authorization_request_link,
    parse_request_uri_post,
    request_uri_post_form,
    verify_request_object,
    verify_unsigned_request,
    x509_san_dns_client_id,
)

V = make_verifier()
POLICY = WalletRequestPolicy(x509_anchors=[V.ca], did_resolver=default_resolver())


def link_for(req: AuthorizationRequest, method: str | None = "post") -> Any:
    return parse_authorization_request_link(
        authorization_request_link(req.client_id, f"https://{HOST}/request/req-1", request_uri_method=method)
    )


def refusal(token: str, link: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidRequestObject) as err:
        verify_request_object(token, link, kwargs.pop("policy", POLICY), now=kwargs.pop("now", NOW), **kwargs)
    assert err.value.code in {"invalid_request", "invalid_request_uri_method"}
    return err.value.reason


def signed(req: AuthorizationRequest, **kwargs: Any) -> str:
    kwargs.setdefault("x5c", V.x5c)
    return create_request_object(req, kwargs.pop("signer", V.signer), now=kwargs.pop("now", NOW), **kwargs)


def test_x509_hash_request_round_trip_haip() -> None:
    """HAIP 1.0: x509_hash MUST be used by the Verifier; the wallet checks chain, hash and signature."""
    req, _ = request(V)
    token = signed(req)
    verified = verify_request_object(token, link_for(req), POLICY, now=NOW)
    assert verified.request == req
    assert verified.verifier.prefix == "x509_hash"
    assert verified.verifier.name == "Portal Musterstadt"
    assert verified.verifier.authenticated
    assert verified.request.extra["aud"] == "https://self-issued.me/v2"  # §5.8 static discovery


def test_x509_san_dns_request_round_trip() -> None:
    req, _ = request(V, client_id=x509_san_dns_client_id(HOST))
    verified = verify_request_object(signed(req), link_for(req), POLICY, now=NOW)
    assert verified.verifier.prefix == "x509_san_dns"


def test_decentralized_identifier_request_round_trip() -> None:
    req, _ = request(V, client_id=did_client_id(V.did))
    token = create_request_object(req, V.did_signer, kid=V.kid, now=NOW)
    verified = verify_request_object(token, link_for(req), POLICY, now=NOW)
    assert verified.verifier.name == V.did


def test_wallet_nonce_section_5_10() -> None:
    form = request_uri_post_form("qPmxiNFCR3QTm19POc8u", {"vp_formats_supported": {}})
    posted = parse_request_uri_post(form)
    assert posted.wallet_nonce == "qPmxiNFCR3QTm19POc8u"
    assert posted.wallet_metadata == {"vp_formats_supported": {}}
    req, _ = request(V, wallet_nonce=posted.wallet_nonce)
    verify_request_object(signed(req), link_for(req), POLICY, now=NOW, wallet_nonce="qPmxiNFCR3QTm19POc8u")
    replayed, _ = request(V, wallet_nonce="an-older-one")
    assert refusal(signed(replayed), link_for(req), wallet_nonce="qPmxiNFCR3QTm19POc8u") == "wallet_nonce_mismatch"
    plain, _ = request(V)
    assert refusal(signed(plain), link_for(req), wallet_nonce="qPmxiNFCR3QTm19POc8u") == "wallet_nonce_mismatch"
    for bad in ({"wallet_nonce": "a b"}, {"wallet_metadata": "[]"}, {"wallet_metadata": "{"}):
        with pytest.raises(Oid4vpError):
            parse_request_uri_post(bad)


def _raw(claims: dict[str, Any], header: dict[str, Any] | None = None, signer: SoftwareSigner = V.signer) -> str:
    return sign_compact(
        json_dumps(claims).encode(), signer, {"typ": REQUEST_OBJECT_TYP, "x5c": V.x5c, **(header or {})}
    )


def _unsigned(claims: dict[str, Any]) -> str:
    header = {"alg": "none", "typ": REQUEST_OBJECT_TYP, "x5c": V.x5c}
    return f"{b64url_encode(json_dumps(header).encode())}.{b64url_encode(json_dumps(claims).encode())}."


def claims_of(req: AuthorizationRequest, **changes: Any) -> dict[str, Any]:
    claims = {**req.to_claims(), "aud": "https://self-issued.me/v2", "iat": NOW, "exp": NOW + 300, **changes}
    return {k: v for k, v in claims.items() if v is not None}


OTHER_CA_KEY = PrivateKey.generate("ES256")


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        # §5: typ MUST be oauth-authz-req+jwt
        (lambda req: encode_jwt(claims_of(req), V.signer, header={"x5c": V.x5c}), "request_wrong_typ"),
        (lambda req: encode_jwt(claims_of(req), V.signer, typ="JWT", header={"x5c": V.x5c}), "request_wrong_typ"),
        # the signature: by another key, none, garbage
        (
            lambda req: _raw(claims_of(req), signer=SoftwareSigner(PrivateKey.generate("ES256"))),
            "request_bad_signature",
        ),
        (
            lambda req: _raw(claims_of(req), signer=SoftwareSigner(PrivateKey.generate("EdDSA"))),
            "request_bad_signature",
        ),
        (lambda req: "not.a.jws", "request_malformed"),
        (lambda req: _unsigned(claims_of(req)), "request_bad_signature"),
        # §5.9.3 x509: the chain must lead to a trusted anchor, the leaf be the one the client_id names
        (lambda req: _raw(claims_of(req), {"x5c": None}), "x5c_malformed"),
        (lambda req: _raw(claims_of(req), {"x5c": make_verifier().x5c}), "x5c_untrusted"),
        # §5.10.1: client_id claim identical to the link's
        (lambda req: _raw(claims_of(req, client_id="x509_hash:other")), "client_id_mismatch"),
        (lambda req: _raw(claims_of(req, client_id=None)), "client_id_mismatch"),
        # §5.8 aud; time claims
        (lambda req: _raw(claims_of(req, aud="https://wallet.example")), "request_wrong_aud"),
        (lambda req: _raw(claims_of(req, exp=NOW - 3600)), "request_expired"),
        (lambda req: _raw(claims_of(req, iat=NOW + 3600)), "request_iat_in_future"),
        # parameters (§5, §8.2)
        (lambda req: _raw(claims_of(req, response_type="code")), "unsupported_response_type"),
        (lambda req: _raw(claims_of(req, response_mode="fragment")), "unsupported_response_mode"),
        (lambda req: _raw(claims_of(req, redirect_uri=RESPONSE_URI)), "redirect_uri_present"),
        (lambda req: _raw(claims_of(req, response_uri=None)), "missing_response_uri"),
        (lambda req: _raw(claims_of(req, response_uri="http://verifier.example.org/r")), "insecure_response_uri"),
        (lambda req: _raw(claims_of(req, response_uri="relative/path")), "bad_response_uri"),
        (lambda req: _raw(claims_of(req, nonce=None)), "missing_nonce"),
        (lambda req: _raw(claims_of(req, nonce="a b")), "bad_nonce"),
        (lambda req: _raw(claims_of(req, nonce="")), "bad_nonce"),
        (lambda req: _raw(claims_of(req, state="ö")), "bad_state"),
        (lambda req: _raw(claims_of(req, dcql_query=None)), "missing_dcql_query"),
        (lambda req: _raw(claims_of(req, scope="pid")), "dcql_and_scope"),
        (lambda req: _raw(claims_of(req, dcql_query=None, scope="pid")), "invalid_scope"),
        (lambda req: _raw(claims_of(req, dcql_query={"credentials": []})), "dcql_malformed"),
        (lambda req: _raw(claims_of(req, dcql_query="{")), "bad_dcql_query"),
        (lambda req: _raw(claims_of(req, transaction_data=["e30"])), "transaction_data"),
        (lambda req: _raw(claims_of(req, client_metadata=[])), "bad_client_metadata"),
        (lambda req: _raw(claims_of(req, wallet_nonce=5)), "bad_wallet_nonce"),
    ],
)
def test_broken_request_objects_are_refused(build: Any, expected: str) -> None:
    req, _ = request(V)
    assert refusal(build(req), link_for(req)) == expected


def test_x509_hash_must_name_the_leaf() -> None:
    req, _ = request(V, client_id="x509_hash:" + b64url_encode(b"\x00" * 32))
    assert refusal(signed(req), link_for(req)) == "client_id_x509_hash_mismatch"


def test_x509_san_dns_rules_section_5_9_3() -> None:
    req, _ = request(V, client_id=x509_san_dns_client_id("other.example.org"))
    assert refusal(signed(req), link_for(req)) == "client_id_san_mismatch"
    # "the FQDN of the redirect_uri value MUST match the Client Identifier" (here: response_uri)
    req, _ = request(V, client_id=x509_san_dns_client_id(HOST), response_uri="https://elsewhere.example/response")
    assert refusal(signed(req), link_for(req)) == "response_uri_not_client_id"


def test_certificate_expiry_is_checked() -> None:
    req, _ = request(V)
    assert refusal(signed(req), link_for(req), now=NOW + 40 * 86400) == "x5c_untrusted"


def test_decentralized_identifier_rules() -> None:
    req, _ = request(V, client_id=did_client_id(V.did))
    token = create_request_object(req, V.did_signer, kid=V.kid, now=NOW)
    assert refusal(token, link_for(req), policy=WalletRequestPolicy()) == "unsupported_client_id_prefix"
    other = make_verifier()
    foreign = create_request_object(req, other.did_signer, kid=other.kid, now=NOW)
    assert refusal(foreign, link_for(req)) == "kid_not_of_client_did"
    no_kid = create_request_object(req, V.did_signer, now=NOW)
    assert refusal(no_kid, link_for(req)) == "missing_kid"
    wrong_key = create_request_object(req, other.did_signer, kid=V.kid, now=NOW)
    assert refusal(wrong_key, link_for(req)) == "request_bad_signature"


@pytest.mark.parametrize(
    "client_id",
    [
        "redirect_uri:" + RESPONSE_URI,  # §5.9.3: "cannot be signed"
        "openid_federation:https://federation.example",
        "verifier_attestation:verifier.example",
        "origin:https://verifier.example",  # §5.9.3: "The Wallet MUST NOT accept this Client Identifier Prefix"
        "pre-registered-client",
        "https://verifier.example",
    ],
)
def test_unsupported_prefixes_section_5_9(client_id: str) -> None:
    req, _ = request(V, client_id=client_id)
    assert refusal(signed(req), link_for(req)) == "unsupported_client_id_prefix"


def test_unsigned_redirect_uri_requests_only_when_allowed() -> None:
    """§5.9.3 redirect_uri: unsigned, development only — off unless the wallet allows it."""
    req, _ = request(V, client_id="redirect_uri:" + RESPONSE_URI, state=None)
    link = parse_authorization_request_link("openid4vp://?" + urlencode(req.to_query_parameters()))
    with pytest.raises(InvalidRequestObject) as err:
        verify_unsigned_request(link, POLICY)
    assert err.value.reason == "unsupported_client_id_prefix"
    allowed = WalletRequestPolicy(allow_redirect_uri=True)
    verified = verify_unsigned_request(link, allowed)
    assert verified.request.nonce == req.nonce and verified.request.dcql_query == QUERY
    assert not verified.verifier.authenticated
    elsewhere, _ = request(V, client_id="redirect_uri:https://evil.example/cb")
    bad = parse_authorization_request_link("openid4vp://?" + urlencode(elsewhere.to_query_parameters()))
    with pytest.raises(InvalidRequestObject) as err:
        verify_unsigned_request(bad, allowed)
    assert err.value.reason == "response_uri_not_client_id"
    signed_prefix, _ = request(V)
    unsigned_x509 = parse_authorization_request_link("openid4vp://?" + urlencode(signed_prefix.to_query_parameters()))
    with pytest.raises(InvalidRequestObject) as err:
        verify_unsigned_request(unsigned_x509, allowed)
    assert err.value.reason == "unsigned_request"


def test_link_round_trip_section_5_4() -> None:
    req, _ = request(V)
    text = authorization_request_link(req.client_id, "https://v.example/request/1", request_uri_method="post")
    assert text.startswith("openid4vp://?client_id=x509_hash%3A")
    params = parse_qs(urlsplit(text).query)
    assert params["request_uri_method"] == ["post"]
    link = parse_authorization_request_link(text)
    assert (link.client_id, link.request_uri, link.request_uri_method) == (
        req.client_id,
        "https://v.example/request/1",
        "post",
    )
    assert parse_authorization_request_link(text.replace("openid4vp://", "haip://")).request_uri_method == "post"
    with pytest.raises(Oid4vpError):
        authorization_request_link("c", "https://v/r", request_uri_method="put")


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("", "bad_link"),
        ("mailto:x", "bad_link"),
        ("openid4vp://?request_uri=https://v/r", "missing_client_id"),
        ("openid4vp://?client_id=a&client_id=b&request_uri=x", "repeated_parameter"),
        ("openid4vp://?client_id=a&request_uri_method=post", "request_uri_method_without_request_uri"),
        ("openid4vp://?client_id=a&request_uri=x&request=y", "bad_link"),
        ("openid4vp://?client_id=&request_uri=x", "bad_client_id"),
        ("openid4vp://?client_id=x509_hash:&request_uri=x", "bad_client_id"),
    ],
)
def test_malformed_links(link: str, expected: str) -> None:
    with pytest.raises(InvalidRequestObject) as err:
        parse_authorization_request_link(link)
    assert err.value.reason == expected


def test_invalid_request_uri_method_error_code_section_8_5() -> None:
    """§8.5 invalid_request_uri_method: "neither get nor post (case-sensitive)"."""
    with pytest.raises(InvalidRequestUriMethod) as err:
        parse_authorization_request_link("openid4vp://?client_id=a&request_uri=https://v/r&request_uri_method=POST")
    assert err.value.code == "invalid_request_uri_method"


def test_request_objects_carry_what_the_prefix_needs() -> None:
    req, _ = request(V)
    token = signed(req)
    from ssi.jose import parse_compact

    header = parse_compact(token)[3]
    assert header["typ"] == "oauth-authz-req+jwt" and header["x5c"] == V.x5c and header["alg"] == "ES256"
    assert replace(req, state=None).to_claims().get("state") is None
