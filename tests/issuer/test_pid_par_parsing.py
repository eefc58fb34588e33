"""The PID provider's request parsers without HTTP: RFC 7636 Appendix B's S256 example, and arbitrary pushed
authorization requests (hypothesis) ending either in a stored request or in an ``SsiError`` with an OAuth code —
never another exception (which the HTTP layer would turn into a 500)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from issuer_support import make_issuer

from issuer import Issuer
from issuer.par import PAR_URN_PREFIX, PushedAuthorizationRequests
from issuer.pid_tokens import pkce_challenge
from ssi.client_attestation import VerifiedClientAttestation
from ssi.errors import SsiError
from ssi.keys import PrivateKey

CLIENT = VerifiedClientAttestation(
    client_id="https://wallet.govssi.example/simulator",
    instance_key=PrivateKey.generate().public_key,
    claims={},
    pop_claims={"jti": "x"},
    attester_chain=(),
)
NAMES = st.sampled_from(
    [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "dpop_jkt",
        "request_uri",
        "request",
        "issuer_state",
        "other",
    ]
)
VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["code", "pid", "S256", "plain", "https://wallet.example/cb", CLIENT.client_id, "x" * 43]),
)


def test_rfc7636_appendix_b_s256() -> None:
    """RFC 7636 Appendix B: the example verifier and its S256 challenge."""
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return make_issuer(tmp_path_factory.mktemp("pid-par-parsing"))


@settings(max_examples=150, deadline=None)
@given(form=st.dictionaries(NAMES, VALUES, max_size=12))
def test_arbitrary_pushed_requests(issuer: Issuer, form: dict[str, str]) -> None:
    """RFC 9126 §2.1: whatever is pushed, the outcome is a request_uri or an OAuth error."""
    tenant = issuer.context.tenant("demo")
    par = PushedAuthorizationRequests(issuer.context)
    try:
        request_uri, expires_in = par.push(tenant, form, CLIENT)
    except SsiError as exc:
        assert exc.code in ("invalid_request", "invalid_client")
        return
    assert request_uri.startswith(PAR_URN_PREFIX) and expires_in > 0
    assert form["response_type"] == "code" and form["code_challenge_method"] == "S256" and "request_uri" not in form
    assert par.take(tenant, request_uri, CLIENT.client_id).code_challenge == form["code_challenge"]
