"""Status List Tokens (§5.1) and the Relying Party's status check with fetching and caching (§8, §13.7).

draft-ietf-oauth-status-list-20. The clock is a FrozenClock and the fetcher an in-memory double, except for one test
over HTTP on 127.0.0.1 that checks the Accept header really goes out (§8.1).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.clock import FrozenClock
from ssi.encoding import b64url_json, json_dumps
from ssi.errors import FetchError, InputTooLarge, SsiError, StatusListError, TokenExpired
from ssi.fetch import FetchResponse
from ssi.jose import encode_jwt, sign_compact
from ssi.keys import PublicKey, SoftwareSigner
from ssi.status_list import (
    INVALID,
    STATUS_LIST_JWT_MEDIA_TYPE,
    STATUS_LIST_JWT_TYP,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListReference,
    StatusListVerifier,
    issue_status_list_token,
    status_list_http_fetcher,
    verify_status_list_token,
)

URI = "https://example.com/statuslists/1"
NOW = 1_700_000_000
SIGNER = SoftwareSigner.generate("ES256", kid="status-key-1")
OTHER_SIGNER = SoftwareSigner.generate("ES256")
KEY = SIGNER.public_key


def _list(revoked: tuple[int, ...] = (), bits: int = 1, size: int = 64) -> StatusList:
    status_list = StatusList(size, bits)
    for idx in revoked:
        status_list.set(idx, INVALID)
    return status_list


def _token(status_list: StatusList | None = None, *, uri: str = URI, **kwargs: Any) -> str:
    kwargs.setdefault("clock", FrozenClock(NOW))
    return issue_status_list_token(status_list or _list(), uri=uri, signer=SIGNER, **kwargs)


def _signed(claims: Mapping[str, Any], typ: str | None = STATUS_LIST_JWT_TYP, signer: SoftwareSigner = SIGNER) -> str:
    """A token with exactly these claims (to test the verifier against tokens our issuer would never make)."""
    return encode_jwt(claims, signer, typ=typ)


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": URI, "iat": NOW, "exp": NOW + 3600, "ttl": 300, "status_list": _list().to_json()}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not ...}


def _verify(token: str, **kwargs: Any) -> Any:
    kwargs.setdefault("clock", FrozenClock(NOW + 1))
    kwargs.setdefault("uri", URI)
    return verify_status_list_token(token, KEY, ["ES256"], **kwargs)


def _reason_of(token: str, **kwargs: Any) -> str:
    with pytest.raises(StatusListError) as exc_info:
        _verify(token, **kwargs)
    return exc_info.value.reason


# --- §5.1: issuing --------------------------------------------------------------------------------------------------


def test_section_5_1_issued_header_has_typ_statuslist_jwt() -> None:
    """§5.1: "`typ`: REQUIRED. The JWT type MUST be `statuslist+jwt`"; alg/kid come from the Signer."""
    header = b64url_json(_token().split(".")[0])
    assert header == {"typ": "statuslist+jwt", "alg": "ES256", "kid": "status-key-1"}


def test_section_5_1_issued_claims() -> None:
    """§5.1: sub = the list's URI, iat, exp and ttl as given, status_list per §4.2."""
    status_list = _list(revoked=(3,))
    token = _token(status_list, exp=NOW + 86400, ttl=43200)
    claims = b64url_json(token.split(".")[1])
    assert claims == {"sub": URI, "iat": NOW, "exp": NOW + 86400, "ttl": 43200, "status_list": status_list.to_json()}


def test_section_5_1_exp_and_ttl_are_optional_and_iat_comes_from_the_clock() -> None:
    claims = b64url_json(_token(clock=FrozenClock(NOW + 0.75)).split(".")[1])
    assert claims == {"sub": URI, "iat": NOW, "status_list": _list().to_json()}
    claims = b64url_json(_token(iat=NOW - 5).split(".")[1])
    assert claims["iat"] == NOW - 5


def test_section_11_3_extra_header_parameters_and_section_5_1_rule_1_extra_claims() -> None:
    """§11.3: x5c/kid may identify the key; §5.1 rule 1: "The JWT MAY contain other claims"."""
    token = _token(header={"x5c": ["MIIBfake"], "kid": "override"}, claims={"iss": "https://issuer.example"})
    header, claims = (b64url_json(part) for part in token.split(".")[:2])
    assert header["x5c"] == ["MIIBfake"] and header["kid"] == "override"
    assert claims["iss"] == "https://issuer.example"
    assert _verify(token).claims["iss"] == "https://issuer.example"


@pytest.mark.parametrize("name", ["typ", "alg"])
def test_issue_rejects_overriding_typ_or_alg(name: str) -> None:
    with pytest.raises(StatusListError) as exc_info:
        _token(header={name: "JWT"})
    assert exc_info.value.reason == "reserved_header"


@pytest.mark.parametrize("name", ["sub", "iat", "exp", "ttl", "status_list"])
def test_issue_rejects_extra_claims_that_override_section_5_1_claims(name: str) -> None:
    with pytest.raises(StatusListError) as exc_info:
        _token(claims={name: 1})
    assert exc_info.value.reason == "reserved_claim"


@pytest.mark.parametrize("ttl", [0, -1, -0.5, True, float("inf"), float("nan"), "60"])
def test_section_5_1_issue_ttl_must_be_a_positive_number(ttl: Any) -> None:
    """§5.1 ttl: "The value of the claim MUST be a positive number encoded in JSON as a number"."""
    with pytest.raises(StatusListError) as exc_info:
        _token(ttl=ttl)
    assert exc_info.value.reason == "malformed_ttl"


@pytest.mark.parametrize("exp", [NOW, NOW - 1, True, 1.5e9])
def test_issue_exp_must_be_after_iat(exp: Any) -> None:
    with pytest.raises(StatusListError) as exc_info:
        _token(exp=exp)
    assert exc_info.value.reason == "malformed_exp"


def test_section_5_1_issue_sub_must_be_a_uri() -> None:
    with pytest.raises(StatusListError) as exc_info:
        _token(uri="statuslists/1")
    assert exc_info.value.reason == "malformed_sub"


# --- §5.1 / §8.3: verifying -----------------------------------------------------------------------------------------


def test_issue_verify_round_trip() -> None:
    status_list = _list(revoked=(0, 9), bits=2)
    status_list.set(10, SUSPENDED)
    token = _verify(_token(status_list, exp=NOW + 600, ttl=60))
    assert (token.uri, token.issued_at, token.expires_at, token.ttl) == (URI, NOW, NOW + 600, 60)
    assert token.status_list == status_list
    assert [token.status(i) for i in (0, 1, 9, 10)] == [INVALID, VALID, INVALID, SUSPENDED]


def test_section_5_1_typ_must_be_statuslist_jwt() -> None:
    """§5.1: typ MUST be `statuslist+jwt` (RFC 8725 §3.11 explicit typing): other or missing typ is rejected."""
    assert _reason_of(_signed(_claims(), typ="JWT")) == "token_wrong_typ"
    assert _reason_of(_signed(_claims(), typ="application/statuslist+jwt")) == "token_wrong_typ"
    assert _reason_of(_signed(_claims(), typ=None)) == "token_wrong_typ"


def test_section_5_1_rule_2_invalid_signature_is_rejected() -> None:
    """§5.1 rule 2: "Relying Parties MUST reject JWTs with an invalid signature"."""
    assert _reason_of(_signed(_claims(), signer=OTHER_SIGNER)) == "token_invalid_signature"
    head, _, sig = _token().split(".")
    tampered_payload = _signed({**_claims(), "status_list": _list(revoked=(1,)).to_json()}).split(".")[1]
    assert _reason_of(f"{head}.{tampered_payload}.{sig}") == "token_invalid_signature"


def test_algorithm_allowlist_is_enforced() -> None:
    """RFC 8725 §3.1 via ssi.jose: an ``alg`` outside the caller's allowlist is rejected."""
    with pytest.raises(StatusListError) as exc_info:
        verify_status_list_token(_token(), KEY, ["EdDSA"], uri=URI, clock=FrozenClock(NOW))
    assert exc_info.value.reason == "token_algorithm_not_allowed"


def test_key_resolver_gets_the_header() -> None:
    seen: list[Mapping[str, Any]] = []

    def resolve(header: Mapping[str, Any]) -> PublicKey:
        seen.append(header)
        return KEY

    token = verify_status_list_token(
        _token(header={"x5c": ["MIIB"]}), resolve, ["ES256"], uri=URI, clock=FrozenClock(NOW)
    )
    assert token.uri == URI
    assert seen[0]["kid"] == "status-key-1" and seen[0]["x5c"] == ["MIIB"]


def test_section_5_1_sub_is_required() -> None:
    """§5.1 sub: REQUIRED."""
    assert _reason_of(_signed(_claims(sub=...))) == "missing_sub"
    assert _reason_of(_signed(_claims(sub=5))) == "malformed_sub"
    assert _reason_of(_signed(_claims(sub="relative/1"))) == "malformed_sub"


def test_section_8_3_step_4a_sub_must_equal_the_referenced_uri() -> None:
    """§8.3 step 4a: "The subject claim ... MUST be equal to the `uri` claim" of the Referenced Token."""
    token = _token()
    assert _reason_of(token, uri="https://example.com/statuslists/2") == "sub_mismatch"
    assert _reason_of(token, uri=URI + "/") == "sub_mismatch"
    assert _reason_of(token, uri="HTTPS://example.com/statuslists/1") == "sub_mismatch"
    assert _verify(token, uri=None).uri == URI  # without a reference nothing to compare


def test_section_5_1_iat_is_required_and_not_in_the_future() -> None:
    """§5.1 iat: REQUIRED; RFC 7519 validity: an iat in the future (beyond skew) is rejected."""
    assert _reason_of(_signed(_claims(iat=...))) == "token_missing_iat"
    assert _reason_of(_signed(_claims(iat="now"))) == "token_malformed_iat"
    assert _reason_of(_signed(_claims(iat=NOW + 3600))) == "token_iat_in_future"


def test_section_8_3_step_4c_expired_token_is_rejected() -> None:
    """§8.3 step 4c: "If the expiration time is defined ... it MUST be checked if the Status List Token is expired"."""
    token = _token(exp=NOW + 100)
    assert _verify(token, clock=FrozenClock(NOW + 99), skew=0).expires_at == NOW + 100
    with pytest.raises(StatusListError) as exc_info:
        _verify(token, clock=FrozenClock(NOW + 100), skew=0)
    assert exc_info.value.reason == "token_expired"
    # Not a TokenExpired itself: an expired *status list* must not read as an expired *credential*.
    assert not isinstance(exc_info.value, TokenExpired)
    assert isinstance(exc_info.value.__cause__, TokenExpired)
    assert _reason_of(token, clock=FrozenClock(NOW + 161)) == "token_expired"  # default skew 60 s
    assert _reason_of(_signed(_claims(exp="later"))) == "token_malformed_exp"


@pytest.mark.parametrize("ttl", [0, -1, -0.001, True, False, "300", None, [300], {"s": 1}])
def test_section_5_1_ttl_must_be_a_positive_number(ttl: Any) -> None:
    """§5.1 ttl: "The value of the claim MUST be a positive number encoded in JSON as a number"."""
    assert _reason_of(_signed(_claims(ttl=ttl))) == "malformed_ttl"


@pytest.mark.parametrize(
    ("member", "reason"), [("ttl", "malformed_ttl"), ("exp", "malformed_exp"), ("iat", "malformed_iat")]
)
def test_json_numbers_that_overflow_to_infinity_are_rejected(member: str, reason: str) -> None:
    """JSON ``1e400`` parses to infinity: an infinite ttl/exp would make a token cacheable and valid forever."""
    claims = {"sub": URI, "iat": NOW, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}
    raw = json_dumps({**claims, member: 0}).replace(f'"{member}":0', f'"{member}":1e400')
    token = sign_compact(raw.encode(), SIGNER, {"typ": STATUS_LIST_JWT_TYP})
    # Rejected by the JSON layer (out of IEEE 754 range), the JWT layer or our own claim checks.
    assert _reason_of(token) in {reason, f"token_{reason}", "token_malformed_claims", "token_iat_in_future"}


@pytest.mark.parametrize(
    ("member", "reason"), [("ttl", "malformed_ttl"), ("exp", "malformed_exp"), ("iat", "malformed_iat")]
)
def test_huge_integers_are_rejected(member: str, reason: str) -> None:
    """A 400-digit JSON integer is not a usable NumericDate or ttl (and must not raise OverflowError)."""
    assert _reason_of(_signed(_claims(**{member: 10**400}))) in {reason, f"token_{reason}", "token_malformed_claims"}


def test_section_5_1_ttl_may_be_fractional_or_absent() -> None:
    assert _verify(_signed(_claims(ttl=0.5))).ttl == 0.5
    assert _verify(_signed(_claims(ttl=...))).ttl is None
    assert _verify(_signed(_claims(exp=...))).expires_at is None


def test_section_5_1_status_list_is_required_and_checked() -> None:
    """§5.1 status_list: REQUIRED, "conforming to the structure defined in §4.2"."""
    assert _reason_of(_signed(_claims(status_list=...))) == "missing_status_list"
    assert _reason_of(_signed(_claims(status_list={"bits": 3, "lst": "eNrbuRgAAhcBXQ"}))) == "unsupported_bits"
    assert _reason_of(_signed(_claims(status_list={"bits": 1, "lst": "eNrbuRgAAhcBXQ=="}))) == "malformed_lst"
    assert _reason_of(_signed(_claims(status_list="eNrbuRgAAhcBXQ"))) == "malformed_status_list"


def test_decompression_limit_applies_to_tokens() -> None:
    token = _token(StatusList(8 * 100_000, 1))
    assert _reason_of(token, max_decompressed_size=99_999) == "decompressed_too_large"
    assert _verify(token, max_decompressed_size=100_000).status_list.size == 800_000


def test_section_8_3_step_4b_local_freshness_policy_on_iat() -> None:
    """§8.3 step 4b: with a local freshness policy, the RP "SHOULD check the issued at claim"."""
    token = _token(exp=NOW + 86400)
    assert _verify(token, clock=FrozenClock(NOW + 600), max_token_age=600).issued_at == NOW
    assert _reason_of(token, clock=FrozenClock(NOW + 601), max_token_age=600) == "token_too_old"


def test_token_size_limit_and_type() -> None:
    token = _token()
    assert _reason_of(token, max_size=len(token) - 1) == "token_too_large"
    with pytest.raises(StatusListError) as exc_info:
        verify_status_list_token(token.encode(), KEY, ["ES256"])  # type: ignore[arg-type]
    assert exc_info.value.reason == "malformed_token"


def test_verified_status_list_is_read_only() -> None:
    token = _verify(_token())
    with pytest.raises(StatusListError):
        token.status_list.set(0, INVALID)


# --- §8: the Relying Party's verifier -------------------------------------------------------------------------------


class Publisher:
    """An in-memory Status Provider: serves the current token for each URI and counts requests."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.requests: list[str] = []
        self.status = 200
        self.content_type: str | None = STATUS_LIST_JWT_MEDIA_TYPE
        self.headers: dict[str, str] = {}
        self.error: SsiError | None = None

    def publish(self, status_list: StatusList, uri: str = URI, **kwargs: Any) -> None:
        self.tokens[uri] = _token(status_list, uri=uri, **kwargs)

    def __call__(self, url: str) -> FetchResponse:
        self.requests.append(url)
        if self.error is not None:
            raise self.error
        body = self.tokens.get(url, "").encode()
        return FetchResponse(self.status, body, self.content_type, self.headers)


@pytest.fixture
def publisher() -> Publisher:
    publisher = Publisher()
    publisher.publish(_list(revoked=(3,)), exp=NOW + 86400, ttl=3600)
    return publisher


def _verifier(publisher: Publisher, clock: FrozenClock | None = None, **kwargs: Any) -> StatusListVerifier:
    kwargs.setdefault("max_age", 600)
    return StatusListVerifier(publisher, KEY, ["ES256"], clock=clock or FrozenClock(NOW), **kwargs)


def _claim(idx: int, uri: str = URI) -> dict[str, Any]:
    return {"status_list": {"idx": idx, "uri": uri}}


def test_section_8_3_check_returns_the_status_value(publisher: Publisher) -> None:
    """§8.3 steps 1-7: parse the reference, fetch, verify, read the status at idx."""
    verifier = _verifier(publisher)
    assert verifier.check(_claim(3)) == INVALID
    assert verifier.check(_claim(4)) == VALID
    assert verifier.status(StatusListReference(idx=3, uri=URI)) == INVALID
    assert publisher.requests == [URI]


def test_section_8_3_two_bit_statuses(publisher: Publisher) -> None:
    status_list = StatusList(16, 2)
    status_list.set(5, SUSPENDED)
    status_list.set(6, 0x03)
    publisher.publish(status_list)
    verifier = _verifier(publisher)
    assert [verifier.check(_claim(i)) for i in (4, 5, 6)] == [VALID, SUSPENDED, 0x03]


def test_section_8_3_step_1_malformed_reference_fails_before_fetching(publisher: Publisher) -> None:
    """§8.3 step 1 comes first: a bad reference never causes a request."""
    verifier = _verifier(publisher)
    for claim in ({}, _claim(-1), {"status_list": {"idx": 0, "uri": "/relative"}}, None):
        with pytest.raises(StatusListError):
            verifier.check(claim)
    assert publisher.requests == []


def test_section_8_3_step_6_index_out_of_bounds(publisher: Publisher) -> None:
    """§8.3 step 6: out of bounds "MUST be rejected"."""
    with pytest.raises(StatusListError) as exc_info:
        _verifier(publisher).check(_claim(64))
    assert exc_info.value.reason == "index_out_of_range"


def test_section_8_3_step_4a_served_token_for_another_list_is_rejected(publisher: Publisher) -> None:
    """§8.3 step 4a: a provider serving list 2 at the URI of list 1 is caught by the sub check."""
    publisher.tokens[URI] = _token(_list(), uri="https://example.com/statuslists/2")
    with pytest.raises(StatusListError) as exc_info:
        _verifier(publisher).check(_claim(3))
    assert exc_info.value.reason == "sub_mismatch"


@pytest.mark.parametrize("status", [404, 500, 503, 301, 302, 304, 100, 199, 300])
def test_section_8_2_non_2xx_responses_are_errors(publisher: Publisher, status: int) -> None:
    """§8.2: a successful response "MUST use an HTTP status code in the 2xx range" (3xx are not followed here)."""
    publisher.status = status
    with pytest.raises(StatusListError) as exc_info:
        _verifier(publisher).check(_claim(3))
    assert exc_info.value.reason == "http_status"
    assert str(status) in exc_info.value.description


@pytest.mark.parametrize("status", [200, 203])
def test_section_8_2_2xx_responses_are_accepted(publisher: Publisher, status: int) -> None:
    publisher.status = status
    assert _verifier(publisher).check(_claim(3)) == INVALID


@pytest.mark.parametrize(
    "content_type", [None, "", "application/jwt", "text/plain", "application/statuslist+cwt", "application/json"]
)
def test_section_8_2_wrong_content_type_is_rejected(publisher: Publisher, content_type: str | None) -> None:
    """§8.2: "the Status Provider MUST use the following content-type: application/statuslist+jwt"."""
    publisher.content_type = content_type
    with pytest.raises(StatusListError) as exc_info:
        _verifier(publisher).check(_claim(3))
    assert exc_info.value.reason == "wrong_content_type"


@pytest.mark.parametrize("content_type", ["application/statuslist+jwt; charset=utf-8", "Application/StatusList+JWT"])
def test_section_8_2_content_type_parameters_and_case(publisher: Publisher, content_type: str) -> None:
    """RFC 9110 §8.3.1: media types are case-insensitive; parameters do not change the type."""
    publisher.content_type = content_type
    assert _verifier(publisher).check(_claim(3)) == INVALID


def test_oversized_response_is_rejected(publisher: Publisher) -> None:
    token_size = len(publisher.tokens[URI])
    with pytest.raises(StatusListError) as exc_info:
        _verifier(publisher, max_token_size=token_size - 1).check(_claim(3))
    assert exc_info.value.reason == "token_too_large"
    assert _verifier(publisher, max_token_size=token_size).check(_claim(3)) == INVALID


def test_fetcher_errors_map_to_status_list_errors(publisher: Publisher) -> None:
    """A fetcher that refuses (FetchError) or stops reading (InputTooLarge) yields a clear StatusListError."""
    publisher.error = FetchError("connection refused", reason="unreachable")
    with pytest.raises(StatusListError) as exc_info:
        _verifier(publisher).check(_claim(3))
    assert exc_info.value.reason == "fetch_failed"
    assert isinstance(exc_info.value.__cause__, FetchError)
    publisher.error = InputTooLarge("response is larger than 262144 bytes")
    with pytest.raises(StatusListError) as exc_info:
        _verifier(publisher).check(_claim(3))
    assert exc_info.value.reason == "token_too_large"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("ü".encode(), "malformed_token"),
        (b"", "token_malformed_jws"),
        (b"not.a.jwt", "token_malformed_header"),
    ],
)
def test_malformed_response_bodies(publisher: Publisher, body: bytes, reason: str) -> None:
    publisher.tokens[URI] = body.decode("utf-8")
    with pytest.raises(StatusListError) as exc_info:
        _verifier(publisher).check(_claim(3))
    assert exc_info.value.reason == reason


def test_trailing_newline_in_body_is_not_silently_accepted(publisher: Publisher) -> None:
    """§8.2: the body "contains the raw Status List Token" — the compact serialization, nothing else."""
    publisher.tokens[URI] += "\n"
    with pytest.raises(StatusListError):
        _verifier(publisher).check(_claim(3))


@pytest.mark.parametrize("max_age", [-1, float("nan"), float("inf"), True, "60"])
def test_max_age_must_be_a_finite_non_negative_number(publisher: Publisher, max_age: Any) -> None:
    with pytest.raises(ValueError, match="max_age"):
        _verifier(publisher, max_age=max_age)


# --- §13.7 / §8.3 step 4d: caching ----------------------------------------------------------------------------------


def test_section_13_7_max_age_zero_fetches_every_time_and_revocation_is_seen_at_once(publisher: Publisher) -> None:
    """Max age 0: every check fetches, so a revoked credential is never accepted from a stale cache."""
    clock = FrozenClock(NOW)
    verifier = _verifier(publisher, clock, max_age=0)
    assert verifier.check(_claim(7)) == VALID
    publisher.publish(_list(revoked=(3, 7)), exp=NOW + 86400, ttl=3600)  # the issuer revokes idx 7
    assert verifier.check(_claim(7)) == INVALID  # same instant, long ttl: still seen
    assert len(publisher.requests) == 2


def test_section_8_3_step_4d_ttl_bounds_the_cache(publisher: Publisher) -> None:
    """§8.3 step 4d: "retrieve a fresh copy if (time status was resolved + ttl < current time)"."""
    clock = FrozenClock(NOW)
    publisher.publish(_list(), exp=NOW + 86400, ttl=60)
    verifier = _verifier(publisher, clock, max_age=3600)
    verifier.check(_claim(7))
    clock.advance(59.9)
    publisher.publish(_list(revoked=(7,)), exp=NOW + 86400, ttl=60)
    assert verifier.check(_claim(7)) == VALID  # cached: within ttl
    assert len(publisher.requests) == 1
    clock.advance(0.1)
    assert verifier.check(_claim(7)) == INVALID  # ttl over: fresh copy
    assert len(publisher.requests) == 2


def test_section_13_7_exp_bounds_the_cache(publisher: Publisher) -> None:
    """§13.7: after exp the list "MUST NOT be relied upon any longer" — not even from the cache."""
    clock = FrozenClock(NOW)
    publisher.publish(_list(), exp=NOW + 30)  # no ttl
    verifier = _verifier(publisher, clock, max_age=3600, skew=0)
    verifier.check(_claim(7))
    clock.advance(29)
    verifier.check(_claim(7))
    assert len(publisher.requests) == 1
    clock.advance(1)
    with pytest.raises(StatusListError) as exc_info:  # refetched, and the provider still serves the expired token
        verifier.check(_claim(7))
    assert exc_info.value.reason == "token_expired"
    assert len(publisher.requests) == 2


def test_section_11_5_max_age_bounds_the_cache(publisher: Publisher) -> None:
    """§11.5: the RP's own upper bound wins over a long ttl/exp."""
    clock = FrozenClock(NOW)
    verifier = _verifier(publisher, clock, max_age=10)  # token: ttl 3600, exp + 1 day
    verifier.check(_claim(3))
    clock.advance(9.99)
    verifier.check(_claim(3))
    assert len(publisher.requests) == 1
    clock.advance(0.01)
    verifier.check(_claim(3))
    assert len(publisher.requests) == 2


def test_section_8_2_http_caching_headers_do_not_extend_the_cache(publisher: Publisher) -> None:
    """§8.2: "Relying Parties MUST prioritize the exp and ttl claims ... over the HTTP headers"."""
    clock = FrozenClock(NOW)
    publisher.publish(_list(), exp=NOW + 86400, ttl=5)
    publisher.headers = {"cache-control": "max-age=31536000", "expires": "Thu, 01 Jan 2099 00:00:00 GMT"}
    verifier = _verifier(publisher, clock, max_age=3600)
    verifier.check(_claim(1))
    clock.advance(5)
    verifier.check(_claim(1))
    assert len(publisher.requests) == 2


@settings(max_examples=200, deadline=None)
@given(
    ttl=st.none() | st.integers(1, 500),
    exp_in=st.none() | st.integers(1, 500),
    max_age=st.integers(0, 500),
    later=st.integers(0, 600),
)
def test_property_cache_entry_lives_min_of_ttl_exp_and_max_age(
    ttl: int | None, exp_in: int | None, max_age: int, later: int
) -> None:
    """§13.7: a cached token is reused only while now - fetch time < min(ttl, exp - fetch time, max age)."""
    publisher = Publisher()
    publisher.publish(_list(), exp=None if exp_in is None else NOW + exp_in, ttl=ttl)
    clock = FrozenClock(NOW)
    verifier = _verifier(publisher, clock, max_age=max_age, skew=0)
    verifier.check(_claim(0))
    clock.advance(later)
    lifetime = min(x for x in (ttl, exp_in, max_age) if x is not None)
    try:
        verifier.check(_claim(0))
    except StatusListError as exc:  # refetched after exp: the served token is expired
        assert exc.reason == "token_expired"
        assert exp_in is not None and later >= exp_in
    assert len(publisher.requests) == (1 if later < lifetime else 2)


def test_failures_are_not_cached(publisher: Publisher) -> None:
    verifier = _verifier(publisher)
    publisher.status = 503
    with pytest.raises(StatusListError):
        verifier.check(_claim(3))
    publisher.status = 200
    assert verifier.check(_claim(3)) == INVALID
    assert len(publisher.requests) == 2


def test_clock_going_backwards_refetches(publisher: Publisher) -> None:
    clock = FrozenClock(NOW)
    verifier = _verifier(publisher, clock)
    verifier.check(_claim(3))
    clock.advance(-1)
    verifier.check(_claim(3))
    assert len(publisher.requests) == 2


def test_cache_is_per_uri_and_bounded(publisher: Publisher) -> None:
    other = "https://example.com/statuslists/2"
    publisher.publish(_list(revoked=(5,)), uri=other, exp=NOW + 86400, ttl=3600)
    verifier = _verifier(publisher)
    assert verifier.check(_claim(3)) == INVALID
    assert verifier.check(_claim(5, other)) == INVALID
    assert verifier.check(_claim(5)) == VALID
    assert publisher.requests == [URI, other]
    small = _verifier(publisher, max_entries=1)
    for uri in (URI, other, URI):
        small.check(_claim(0, uri))
    assert publisher.requests[2:] == [URI, other, URI]
    verifier.clear_cache()
    verifier.check(_claim(3))
    assert publisher.requests[-1] == URI and len(publisher.requests) == 6


def test_cached_token_cannot_be_modified_by_callers(publisher: Publisher) -> None:
    verifier = _verifier(publisher)
    with pytest.raises(StatusListError) as exc_info:
        verifier.token(URI).status_list.set(3, VALID)
    assert exc_info.value.reason == "read_only"
    assert verifier.check(_claim(3)) == INVALID


# --- §8.1 over real HTTP on 127.0.0.1 -------------------------------------------------------------------------------


@pytest.fixture
def http_provider() -> Iterator[tuple[str, list[str | None]]]:
    accepts: list[str | None] = []
    body = _token(_list(revoked=(2,)), uri="http://127.0.0.1/placeholder").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            accepts.append(self.headers.get("Accept"))
            self.send_response(200)
            self.send_header("Content-Type", STATUS_LIST_JWT_MEDIA_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/statuslists/1", accepts
    finally:
        server.shutdown()
        server.server_close()


def test_section_8_1_request_sends_accept_statuslist_jwt(http_provider: tuple[str, list[str | None]]) -> None:
    """§8.1: the request carries ``Accept: application/statuslist+jwt``; the token is served for another URI."""
    url, accepts = http_provider
    fetcher = status_list_http_fetcher(allow_http=True, allow_private=True)
    assert fetcher.accept == STATUS_LIST_JWT_MEDIA_TYPE
    verifier = StatusListVerifier(fetcher, KEY, ["ES256"], max_age=0, clock=FrozenClock(NOW))
    with pytest.raises(StatusListError) as exc_info:
        verifier.check(_claim(2, url))
    assert exc_info.value.reason == "sub_mismatch"  # fetched and verified; only sub differs from the real URL
    assert accepts == [STATUS_LIST_JWT_MEDIA_TYPE]


# --- properties: arbitrary input raises only SsiError ---------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_property_arbitrary_response_bodies_raise_only_ssi_errors(body: bytes) -> None:
    verifier = StatusListVerifier(
        lambda url: FetchResponse(200, body, STATUS_LIST_JWT_MEDIA_TYPE), KEY, ["ES256"], max_age=0
    )
    with pytest.raises(SsiError):
        verifier.check(_claim(0))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.text(alphabet="eyJhbGciOiJFUzI1NiJ9.-_", max_size=300))
def test_property_arbitrary_token_text_raises_only_ssi_errors(token: str) -> None:
    with pytest.raises(SsiError):
        _verify(token)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
_claim_values = {
    "sub": st.just(URI) | _json_values,
    "iat": st.integers(NOW - 10, NOW + 10) | _json_values,
    "exp": st.integers(NOW - 100, NOW + 100) | _json_values,
    "ttl": st.integers(-5, 5) | _json_values,
    "status_list": st.fixed_dictionaries(
        {"bits": st.sampled_from([1, 2, 3, 8]) | _json_values, "lst": st.just("eNrbuRgAAhcBXQ") | _json_values}
    )
    | _json_values,
}


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional=_claim_values))
def test_property_validly_signed_arbitrary_claims_raise_only_ssi_errors(claims: dict[str, Any]) -> None:
    """Signed but hostile claim sets: either a consistent token comes out or an SsiError."""
    try:
        token = _verify(_signed(claims))
    except SsiError:
        return
    assert token.uri == URI and token.status_list.bits in (1, 2, 8)
    assert token.ttl is None or token.ttl > 0
