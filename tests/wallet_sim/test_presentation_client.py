"""The wallet simulator's OpenID4VP 1.0 client (wallet_sim.oid4vp) against a scripted verifier over real HTTP: how it
fetches the request (§5.10 with ``wallet_nonce``, GET per RFC 9101), what it refuses (HTTP errors, redirects, wrong
media type, a Request Object without our ``wallet_nonce``), what it sends (no software-identifying headers, the
KB-JWT's ``aud``/``nonce``, ``direct_post`` and ``direct_post.jwt`` encrypted with ECDH-ES to the request's key,
``access_denied`` without detail), and which ``redirect_uri`` it passes on; plus the user's choices over the DCQL
evaluation (credential, optional Credential Queries, ``claim_sets`` alternatives)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from presentation_support import PID, ScriptedVerifier, TestIssuer, store_pid

from infra.server import LoopbackServer
from ssi.encoding import b64url_json
from ssi.errors import DcqlError, FetchError, InvalidRequestObject, Oid4vpError
from ssi.jose import parse_compact
from ssi.oid4vp import (
    DIRECT_POST,
    VP_FORMATS,
    WalletRequestPolicy,
)
from wallet_sim.oid4vp import PresentationClient, present, propose, safe_redirect_uri
from wallet_sim.store import FAST_KDF
from wallet_sim.wallet import Wallet

PIN = "246810"


QUERY = {
    "credentials": [
        {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID]}, "claims": [{"path": ["family_name"]}]}
    ]
}


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer.create()


@pytest.fixture
def wallet(tmp_path: Path, issuer: TestIssuer) -> Iterator[Wallet]:
    wallet = Wallet.create(tmp_path / "w", PIN, kdf=FAST_KDF, allow_http_loopback=True)
    store_pid(wallet, issuer)
    yield wallet
    wallet.close()


@pytest.fixture
def verifier() -> Iterator[ScriptedVerifier]:
    scripted = ScriptedVerifier(query=QUERY)
    with LoopbackServer(scripted.app()) as server:
        scripted.url = server.url
        yield scripted


def _send(wallet: Wallet, verifier: ScriptedVerifier, link: str | None = None, **choice: Any) -> Any:
    with PresentationClient(verifier.policy()) as client:
        resolved = client.resolve(link or verifier.link())
        proposal = propose(wallet, resolved)
        return present(wallet, client, proposal, proposal.choose(**choice))


# --- fetching the request -----------------------------------------------------------------------------------------


def test_request_uri_method_post_sends_a_fresh_wallet_nonce_and_metadata(
    wallet: Wallet, verifier: ScriptedVerifier
) -> None:
    """§5.10: POST, ``application/x-www-form-urlencoded``, ``Accept: application/oauth-authz-req+jwt``,
    ``wallet_nonce`` (fresh per fetch) and ``wallet_metadata`` (a JSON string, §10.1)."""
    for _ in range(2):
        with PresentationClient(verifier.policy()) as client:
            resolved = client.resolve(verifier.link("post"))
        assert resolved.request.wallet_nonce is not None
    first, second = verifier.seen
    for fetch in (first, second):
        assert fetch["method"] == "POST"
        assert fetch["headers"]["accept"] == "application/oauth-authz-req+jwt"
        assert fetch["headers"]["content-type"] == "application/x-www-form-urlencoded"
        metadata = json.loads(fetch["wallet_metadata"])
        assert metadata["vp_formats_supported"]["dc+sd-jwt"]["kb-jwt_alg_values"] == ["ES256"]
        assert "x509_hash" in metadata["client_id_prefixes_supported"]
        assert len(fetch["wallet_nonce"]) >= 22  # at least 128 bits, base64url
    assert first["wallet_nonce"] != second["wallet_nonce"]


@pytest.mark.parametrize("method", ["get", None])
def test_request_uri_method_get_or_absent_fetches_with_get(
    wallet: Wallet, verifier: ScriptedVerifier, method: str | None
) -> None:
    """§5.1 ``request_uri_method``: "If ``request_uri_method`` value is ``get``, the Wallet MUST send the request to
    retrieve the Request Object using the HTTP GET method"; absent, RFC 9101 (GET) applies — no wallet_nonce."""
    with PresentationClient(verifier.policy()) as client:
        resolved = client.resolve(verifier.link(method))
    (fetch,) = verifier.seen
    assert fetch["method"] == "GET" and "wallet_nonce" not in fetch
    assert resolved.request.wallet_nonce is None and resolved.verifier.name == "Prüfstelle Test"


def test_a_request_object_without_our_wallet_nonce_is_refused(verifier: ScriptedVerifier) -> None:
    """§5.10.1: "the Wallet MUST validate whether the request object contains the respective nonce value in a
    ``wallet_nonce`` claim. If it does not, the Wallet MUST terminate request processing" — nothing is sent."""
    verifier.echo_nonce = False
    with PresentationClient(verifier.policy()) as client, pytest.raises(InvalidRequestObject) as err:
        client.resolve(verifier.link("post"))
    assert err.value.reason == "wallet_nonce_mismatch" and verifier.responses() == []


@pytest.mark.parametrize("status", [400, 404, 500])
def test_an_http_error_at_the_request_uri_ends_the_process(verifier: ScriptedVerifier, status: int) -> None:
    """§5.10.2: "If the Verifier responds with any HTTP error response, the Wallet MUST terminate the process.\""""
    verifier.request_status = status
    with PresentationClient(verifier.policy()) as client, pytest.raises(Oid4vpError) as err:
        client.resolve(verifier.link())
    assert err.value.reason == "request_uri_error"


def test_redirects_are_not_followed(verifier: ScriptedVerifier) -> None:
    """§5.10.1: "The Wallet SHOULD NOT follow HTTP redirects and SHOULD treat them as an error response"."""
    verifier.request_redirect = True
    with PresentationClient(verifier.policy()) as client, pytest.raises(FetchError) as err:
        client.resolve(verifier.link())
    assert err.value.reason == "unexpected_redirect" and len(verifier.seen) == 1


def test_the_request_object_must_come_with_its_media_type(verifier: ScriptedVerifier) -> None:
    """§5.10.1: "The Request URI response MUST be an HTTP response with the content type
    ``application/oauth-authz-req+jwt``"."""
    verifier.request_media_type = "text/plain"
    with PresentationClient(verifier.policy()) as client, pytest.raises(Oid4vpError) as err:
        client.resolve(verifier.link())
    assert err.value.reason == "request_wrong_media_type"


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({"vp_formats_supported": VP_FORMATS}, "no_encryption_key"),
        (
            {"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "use": "sig", "alg": "ES256"}]}},
            "no_encryption_key",
        ),
        ("enc_only_cbc", "unsupported_enc"),
    ],
)
def test_direct_post_jwt_without_a_usable_key_is_refused_before_consent(
    wallet: Wallet, verifier: ScriptedVerifier, metadata: Any, reason: str
) -> None:
    """§8.3: the Wallet selects a key from ``client_metadata.jwks`` ("The alg parameter MUST be present in the
    JWKs", HAIP 1.0: P-256 ECDH-ES) and an ``enc`` from ``encrypted_response_enc_values_supported`` — a request that
    offers none is refused when it is resolved: no presentation is signed and no copy is used."""
    if metadata == "enc_only_cbc":
        verifier.enc_values = ("A128CBC-HS256",)
    else:
        verifier.client_metadata_override = metadata
    with PresentationClient(verifier.policy()) as client, pytest.raises(Oid4vpError) as err:
        client.resolve(verifier.link())
    assert err.value.reason == reason
    assert verifier.responses() == [] and wallet.credentials()[0].unused == 2


def test_no_header_names_the_wallet_software(wallet: Wallet, verifier: ScriptedVerifier) -> None:
    """§15.8: Wallets SHOULD "avoid sending any additional HTTP headers identifying the software used for the
    request (e.g., HTTP libraries or their versions) when retrieving a ``request_uri`` or sending to
    ``response_uri``"."""
    _send(wallet, verifier)
    assert len(verifier.seen) == 2
    for seen in verifier.seen:
        assert "user-agent" not in seen["headers"], seen["headers"]
        assert not any("httpx" in value or "python" in value.lower() for value in seen["headers"].values())


# --- the response -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_direct_post_jwt_is_encrypted_to_the_requests_key(wallet: Wallet, verifier: ScriptedVerifier, enc: str) -> None:
    """§8.3.1: one ``response`` parameter, a JWE to the key in ``client_metadata.jwks`` with ``alg`` ECDH-ES (HAIP
    1.0), ``kid`` of that key (§8.3), ``enc`` the first the Verifier offers that the wallet supports; its payload
    the response parameters as top-level members."""
    verifier.enc_values = (enc,)
    outcome = _send(wallet, verifier)
    assert outcome.status == "sent" and outcome.redirect_uri == "https://portal.example/done"
    (posted,) = verifier.responses()
    assert set(posted) - {"path", "headers"} == {"response"}
    header = json.loads(__import__("base64").urlsafe_b64decode(posted["response"].split(".")[0] + "=="))
    assert header["alg"] == "ECDH-ES" and header["enc"] == enc and header["kid"] == "k1"
    payload = verifier.decrypted()
    assert payload["state"] == "state-1" and list(payload["vp_token"]) == ["pid"]


def test_direct_post_sends_the_vp_token_with_a_key_binding_jwt(wallet: Wallet, verifier: ScriptedVerifier) -> None:
    """§8.2 ``direct_post``: ``vp_token`` (JSON, keyed by Credential Query id, §8.1) and ``state``; the KB-JWT's
    ``aud`` is the full Client Identifier (§14.8 "Always Use the Full Client Identifier") and ``nonce`` the
    request's (§14.1); only the requested claim is disclosed (§6.4.1)."""
    verifier.response_mode = DIRECT_POST
    _send(wallet, verifier)
    (posted,) = verifier.responses()
    assert posted["state"] == "state-1"
    (presentation,) = json.loads(posted["vp_token"])["pid"]
    _, *disclosures, kb_jwt = presentation.split("~")
    assert [b64url_json(d)[1] for d in disclosures] == ["family_name"]
    kb = b64url_json(parse_compact(kb_jwt)[1])
    assert kb["aud"] == verifier.client_id and kb["nonce"] == "nonce-abcdefghijklmnop"


def test_declining_sends_access_denied_without_detail(wallet: Wallet, verifier: ScriptedVerifier) -> None:
    """§8.5 ``access_denied``: "The End-User did not give consent"; encrypted like any response (§8.3.1); §15.9:
    error responses "SHOULD avoid including sensitive or detailed contextual information"."""
    with PresentationClient(verifier.policy()) as client:
        outcome = client.decline(client.resolve(verifier.link()))
    assert outcome.status == "declined"
    assert verifier.decrypted() == {"error": "access_denied", "state": "state-1"}


def test_no_match_and_no_consent_look_the_same_to_the_verifier(tmp_path: Path, verifier: ScriptedVerifier) -> None:
    """§15.4.1: the Verifier "cannot distinguish between the case where an End-User did not consent to releasing
    the Credential and the case where the claim value did not match" — the same error response for both."""
    verifier.response_mode = DIRECT_POST
    verifier.query = {
        "credentials": [
            {
                "id": "pid",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [PID]},
                "claims": [{"path": ["family_name"], "values": ["GABLER"]}],
            }
        ]
    }
    forms = []
    for holds_pid in (False, True):
        with Wallet.create(tmp_path / f"w{holds_pid}", PIN, kdf=FAST_KDF, allow_http_loopback=True) as wallet:
            if holds_pid:
                store_pid(wallet, TestIssuer.create())
            with PresentationClient(verifier.policy()) as client:
                resolved = client.resolve(verifier.link())
                assert not propose(wallet, resolved).satisfiable  # MUSTERMANN is not GABLER
                client.decline(resolved)
        forms.append({k: v for k, v in verifier.responses()[-1].items() if k != "headers"})
    assert forms[0] == forms[1] == {"path": "response", "error": "access_denied", "state": "state-1"}


@pytest.mark.parametrize(
    ("redirect", "passed_on"),
    [
        ("https://portal.example/back?response_code=abc", True),
        ("http://127.0.0.1:1/done", True),
        ("javascript:alert(1)", False),
        ("/relative/path", False),
        ("openid4vp://?x=1", False),
        ("https://user:pw@portal.example/", False),
        ("http://portal.example/plain", False),
    ],
)
def test_only_safe_redirect_uris_are_followed(
    wallet: Wallet, verifier: ScriptedVerifier, redirect: str, passed_on: bool
) -> None:
    """§8.2 ``redirect_uri``: "an absolute URI as defined by RFC 3986 Section 4.3" where the wallet sends the user
    agent — https only (http to loopback in development), never a script or a relative reference."""
    verifier.response_answer = {"redirect_uri": redirect, "unknown": "ignored"}
    outcome = _send(wallet, verifier)
    assert outcome.status == "sent"
    assert outcome.redirect_uri == (redirect if passed_on else None)
    assert (outcome.reason == "redirect_uri_refused") is not passed_on
    assert safe_redirect_uri(redirect, allow_http_loopback=True) == (redirect if passed_on else None)


def test_a_sent_copy_is_retired(wallet: Wallet, verifier: ScriptedVerifier) -> None:
    """One-time copies (DESIGN.md; §15.5 unlinkability): each presentation uses an unused copy and retires it."""
    (stored,) = wallet.credentials()
    assert stored.unused == 2
    _send(wallet, verifier)
    assert wallet.credential(stored.id).unused == 1


# --- choices over the DCQL evaluation (§6.4) -----------------------------------------------------------------------


def _resolve(wallet: Wallet, verifier: ScriptedVerifier, query: dict[str, Any]) -> Any:
    verifier.query = query
    with PresentationClient(verifier.policy()) as client:
        return propose(wallet, client.resolve(verifier.link()))


def test_choice_of_credential(wallet: Wallet, verifier: ScriptedVerifier, issuer: TestIssuer) -> None:
    """§6.4.3: "the Wallet presents the End-User with a choice of which Credential(s) to present" — the chosen
    credential is the one presented; a credential that does not answer the query is refused."""
    second = store_pid(wallet, issuer, claims={"family_name": "GABLER", "given_name": "ERIKA"})
    first = next(c.id for c in wallet.credentials() if c.id != second)
    proposal = _resolve(wallet, verifier, QUERY)
    (choice,) = proposal.queries()
    assert set(choice.candidates) == {first, second} and choice.required
    selection = proposal.choose(credentials={"pid": second})
    assert proposal.describe(selection)["pid"][0]["credential"] == second
    with pytest.raises(DcqlError) as err:
        proposal.choose(credentials={"pid": "c_unknown"})
    assert err.value.reason == "dcql_bad_selection"


def test_optional_credential_query_only_when_chosen(wallet: Wallet, verifier: ScriptedVerifier) -> None:
    """§6.2 ``required``: "whether this set of Credentials is required to satisfy the particular use case"; §6.4.2:
    the others "optionally" — left out unless the user adds them."""
    query = {
        "credentials": [
            {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID]}, "claims": [{"path": ["family_name"]}]},
            {"id": "adresse", "format": "dc+sd-jwt", "meta": {"vct_values": [PID]}, "claims": [{"path": ["address"]}]},
        ],
        "credential_sets": [{"options": [["pid"]]}, {"options": [["adresse"]], "required": False}],
    }
    proposal = _resolve(wallet, verifier, query)
    assert {(q.query_id, q.required, q.default) for q in proposal.queries()} == {
        ("pid", True, True),
        ("adresse", False, False),
    }
    assert set(proposal.choose().presentations) == {"pid"}
    assert set(proposal.choose(include=["adresse"]).presentations) == {"pid", "adresse"}
    with pytest.raises(DcqlError):
        proposal.choose(include=["unknown"])


def test_claim_sets_follow_the_verifiers_preference_unless_the_user_narrows(
    wallet: Wallet, verifier: ScriptedVerifier
) -> None:
    """§6.4.1: "the Wallet SHOULD return the first option that it can satisfy" — the default; "there can be reasons
    to deviate": the user's consent to fewer claims picks the first alternative within it, and an alternative the
    Verifier does not accept is refused."""
    query = {
        "credentials": [
            {
                "id": "pid",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [PID]},
                "claims": [
                    {"id": "name", "path": ["family_name"]},
                    {"id": "ort", "path": ["address", "locality"]},
                    {"id": "geburt", "path": ["birthdate"]},
                ],
                "claim_sets": [["name", "ort", "geburt"], ["name", "ort"]],
            }
        ]
    }
    proposal = _resolve(wallet, verifier, query)
    claims = {c.name: (c.required, c.default) for c in proposal.claims("pid")}
    assert claims == {"name": (True, True), "ort": (True, True), "geburt": (False, True)}
    preferred = proposal.describe(proposal.choose())["pid"][0]["claims"]
    assert preferred == [["family_name"], ["address", "locality"], ["birthdate"]]
    narrowed = proposal.describe(proposal.choose(disclose={"pid": []}))["pid"][0]["claims"]
    assert narrowed == [["family_name"], ["address", "locality"]]
    by_path = proposal.describe(proposal.choose(disclose={"pid": ["birthdate"]}))["pid"][0]["claims"]
    assert by_path == preferred
    alternatives = {
        "credentials": [
            {**query["credentials"][0], "claim_sets": [["name", "geburt"], ["name", "ort"]]}  # type: ignore[dict-item]
        ]
    }
    proposal = _resolve(wallet, verifier, alternatives)
    with pytest.raises(DcqlError) as err:
        proposal.choose(disclose={"pid": []})
    assert err.value.reason == "dcql_bad_selection" and "name,geburt | name,ort" in err.value.description
    assert proposal.describe(proposal.choose(disclose={"pid": ["ort"]}))["pid"][0]["claims"] == [
        ["family_name"],
        ["address", "locality"],
    ]


@pytest.mark.parametrize(
    ("purpose", "lang", "shown"),
    [
        ("Prüfung der Identität", "en", ["Prüfung der Identität"]),
        ({"de": "Altersprüfung", "en": "Age check"}, "en", ["Age check"]),
        ({"de": "Altersprüfung", "en": "Age check"}, "de", ["Altersprüfung"]),
        (7, "de", ["7"]),
    ],
)
def test_purpose_shown_in_the_users_language(
    wallet: Wallet, verifier: ScriptedVerifier, purpose: Any, lang: str, shown: list[str]
) -> None:
    """§6.2 ``purpose``: "A string, number or object specifying the purpose of the query"."""
    proposal = _resolve(wallet, verifier, {**QUERY, "credential_sets": [{"options": [["pid"]], "purpose": purpose}]})
    assert proposal.resolved.purposes_in(lang) == shown


# --- trusted_authorities (§6.1.1) -----------------------------------------------------------------------------------

REGISTRY = "eip155:1337:0x" + "ab" * 20


@dataclass
class _Accreditation:
    types: tuple[str, ...]
    active: bool = True

    def permits(self, credential_type: str, at_time: float) -> bool:
        return self.active and credential_type in self.types


@dataclass
class _Registry:
    """``ledger.trust.TrustRegistry.accreditation`` as data: accreditations by issuer key."""

    entries: dict[Any, _Accreditation] = field(default_factory=dict)
    down: bool = False

    def accreditation(self, issuer: Any) -> _Accreditation | None:
        if self.down:
            from ssi.errors import ChainError

            raise ChainError("the chain does not answer", reason="unreachable")
        return self.entries.get(issuer)


def _authority_query(kind: str, value: str) -> dict[str, Any]:
    return {
        "credentials": [
            {**QUERY["credentials"][0], "trusted_authorities": [{"type": kind, "values": [value]}]}  # type: ignore[dict-item]
        ]
    }


def test_chain_accreditation_authority_matches_only_what_the_registry_accredits(
    wallet: Wallet, verifier: ScriptedVerifier, issuer: TestIssuer
) -> None:
    """§6.1.1: "Every Credential returned by the Wallet SHOULD match at least one of the conditions present in the
    corresponding trusted_authorities array" — govssi's ``govssi_chain_accreditation``: the named registry accredits
    the issuer's certificate key for the ``vct``. Without a registry, another registry, no accreditation for the
    type, or an unreachable chain: no match."""
    from wallet_sim.oid4vp.trust import chain_authorities

    verifier.query = _authority_query("govssi_chain_accreditation", REGISTRY)
    registry = _Registry({issuer.spki: _Accreditation((PID,))})
    with PresentationClient(verifier.policy()) as client:
        resolved = client.resolve(verifier.link())
    assert not propose(wallet, resolved).satisfiable
    assert propose(wallet, resolved, authorities=chain_authorities({REGISTRY.upper(): registry})).satisfiable
    assert not propose(
        wallet, resolved, authorities=chain_authorities({"eip155:1:0x" + "cd" * 20: registry})
    ).satisfiable
    registry.entries[issuer.spki] = _Accreditation(("urn:other",))
    assert not propose(wallet, resolved, authorities=chain_authorities({REGISTRY: registry})).satisfiable
    registry.entries[issuer.spki] = _Accreditation((PID,), active=False)
    assert not propose(wallet, resolved, authorities=chain_authorities({REGISTRY: registry})).satisfiable
    registry.entries[issuer.spki] = _Accreditation((PID,))
    registry.down = True
    assert not propose(wallet, resolved, authorities=chain_authorities({REGISTRY: registry})).satisfiable


def test_aki_authority_matches_the_issuers_ca(wallet: Wallet, verifier: ScriptedVerifier, issuer: TestIssuer) -> None:
    """§6.1.1.1 ``aki``: the KeyIdentifier of the AuthorityKeyIdentifier of a certificate in the credential's
    ``x5c`` — the issuer's CA matches, another CA does not."""
    from cryptography import x509

    from ssi.encoding import b64url_encode

    aki = issuer.chain[0].extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki is not None
    for value, expected in ((b64url_encode(aki), True), (b64url_encode(b"\x01" * 20), False)):
        verifier.query = _authority_query("aki", value)
        verifier.seen.clear()
        with PresentationClient(verifier.policy()) as client:
            assert propose(wallet, client.resolve(verifier.link())).satisfiable is expected


def test_unsigned_redirect_uri_requests_only_in_development(tmp_path: Path, wallet: Wallet) -> None:
    """§5.9.3 ``redirect_uri``: "Requests using the redirect_uri Client Identifier Prefix cannot be signed" — they
    authenticate nobody, so the wallet refuses them unless development allows it; then the Verifier is marked as
    not authenticated and its Client Identifier must be the Response URI."""
    from presentation_support import pid_query, running_verifier

    with running_verifier(tmp_path / "v", client_id_prefix="redirect_uri") as running:
        link = running.create(pid_query("family_name"))["authorization_request"]
        with (
            PresentationClient(WalletRequestPolicy(allow_http_loopback=True)) as client,
            pytest.raises(InvalidRequestObject) as err,
        ):
            client.resolve(link)
        assert err.value.reason == "unsupported_client_id_prefix"
        trusted = store_pid(wallet, running.issuer)
        created = running.create(pid_query("family_name"), response_mode="direct_post")
        policy = WalletRequestPolicy(allow_http_loopback=True, allow_redirect_uri=True)
        with PresentationClient(policy) as client:
            resolved = client.resolve(created["authorization_request"])
            assert not resolved.verifier.authenticated and resolved.verifier.prefix == "redirect_uri"
            assert resolved.verifier.client_id == f"redirect_uri:{resolved.request.response_uri}"
            proposal = propose(wallet, resolved)
            outcome = present(wallet, client, proposal, proposal.choose(credentials={"pid": trusted}))
            assert outcome.status == "sent", outcome
        assert running.result(created["session"])["status"] == "verified"


# --- an authenticated verifier's invalid request (§8.2, §8.4, §8.5) -------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"redirect_uri": "https://portal.example/cb"}, "redirect_uri_present"),
        ({"transaction_data": ["eyJ0eXBlIjoieCJ9"]}, "transaction_data"),
    ],
)
def test_an_invalid_signed_request_is_answered_with_invalid_request(
    verifier: ScriptedVerifier, extra: dict[str, Any], reason: str
) -> None:
    """§8.2: "If the redirect_uri Authorization Request parameter is present when the Response Mode is direct_post,
    the Wallet MUST return an invalid_request Authorization Response error"; §8.4: "If the Wallet does not support
    transaction_data parameter, it MUST return an error upon receiving a request that includes it" — to the
    authenticated Verifier's signed Response URI with its ``state``; unencrypted (§8.3.1 MAY)."""
    from ssi.oid4vp import AnswerableInvalidRequest

    verifier.extra_claims = extra
    with PresentationClient(verifier.policy()) as client:
        with pytest.raises(AnswerableInvalidRequest) as err:
            client.resolve(verifier.link())
        assert err.value.reason == reason and verifier.responses() == []
        outcome = client.report_invalid(err.value)
    assert outcome is not None and outcome.status == "reported"
    (posted,) = verifier.responses()
    assert posted["error"] == "invalid_request" and posted["state"] == "state-1" and posted["error_description"]


def test_an_unauthenticated_failure_is_not_answered(verifier: ScriptedVerifier) -> None:
    """A request that failed its authenticity checks (here §5.10.1 ``wallet_nonce``) names no trustworthy Response
    URI: the wallet answers nothing (§5.10.1 "the Wallet MUST terminate request processing")."""
    verifier.echo_nonce = False
    with PresentationClient(verifier.policy()) as client:
        with pytest.raises(InvalidRequestObject) as err:
            client.resolve(verifier.link())
        assert client.report_invalid(err.value) is None
    assert verifier.responses() == []
