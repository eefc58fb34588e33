"""Tampered, replayed and untrusted responses over real HTTP, each refused with its own reason — for both response
modes (``direct_post.jwt`` and ``direct_post``).

Each case runs a whole presentation (create, the wallet fetches the request with its ``wallet_nonce`` and verifies
it, answers at the Response URI) with one thing broken. The Response URI answers 400 with the specific ``reason``;
when the response was this session's own (it decrypted and carried its ``state``), the nonce is spent and the
relying party's result says ``refused`` with the same reason (checked too).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import Env
from joserfc import jwe as jwe_lib
from joserfc.jwk import ECKey
from verifier_support import PID, PID_CLAIMS, HeldCredential, TestIssuer

from ssi.encoding import b64url_encode, b64url_json, json_dumps
from ssi.jose import encode_jwt, sign_compact
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.oid4vp import ResponseEncryptionKey, encrypt_response, response_form
from ssi.sd_jwt import split_compact
from ssi.sd_jwt._common import digest, hash_function
from ssi.status_list import APPLICATION_SPECIFIC, INVALID, SUSPENDED
from ssi.x509 import issue_certificate, make_self_signed_ca, x5c_chain

MODES = ["direct_post.jwt", "direct_post"]
NOW = time.time


@dataclass
class Case:
    """``run(env, mode) -> (HTTP response, session or None)``; ``consumed``: the session is decided (refused)."""

    run: Callable[[Env, str], tuple[Any, str | None]]
    reason: str
    consumed: bool = True
    #: The response modes the tampering applies to (a JWE can only be broken in ``direct_post.jwt``).
    modes: tuple[str, ...] = ("direct_post.jwt", "direct_post")


def present(
    env: Env,
    mode: str,
    *,
    credential: HeldCredential | None = None,
    preset: str = "pid_identification",
    query: dict | None = None,
    **options: Any,
) -> tuple[Any, str]:
    body: dict[str, Any] = {"response_mode": mode}
    if query is not None:
        body["dcql_query"] = query
        body["preset"] = None
        body.pop("preset")
    else:
        body["preset"] = preset
    created = env.create(**body) if query is None else _create_query(env, body)
    wallet = env.wallet(credential or env.credential())
    return wallet.present(created["authorization_request"], **options).response, created["session"]


def _create_query(env: Env, body: dict[str, Any]) -> dict[str, Any]:
    answer = env.http.post(f"{env.url}/api/presentations", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def with_setup(setup: Callable[[Env], Any], **options: Any) -> Callable[[Env, str], tuple[Any, str | None]]:
    def run(env: Env, mode: str) -> tuple[Any, str | None]:
        extra = setup(env) or {}
        return present(env, mode, **{**options, **extra})

    return run


def tamper(fn: Callable[[dict[str, list[str]], Any], Any], **options: Any) -> Callable[[Env, str], tuple[Any, str]]:
    return lambda env, mode: present(env, mode, tamper_token=fn, **options)


def each(fn: Callable[[str], str]) -> Callable[[dict[str, list[str]], Any], dict[str, list[str]]]:
    return lambda token, _request: {k: [fn(p) for p in v] for k, v in token.items()}


# --- presentations rewritten by an attacker --------------------------------------------------------------------------


def strip_kb(presentation: str) -> str:
    return presentation.rsplit("~", 1)[0] + "~"


def kb_by_other_key(presentation: str) -> str:
    parts = split_compact(presentation)
    other = SoftwareSigner(PrivateKey.generate("ES256"))
    payload = presentation.rsplit("~", 1)[1].split(".")[1]
    from ssi.encoding import b64url_json

    kb = encode_jwt(b64url_json(payload), other, typ="kb+jwt")
    return parts.sd_jwt + kb


def flip_payload(presentation: str) -> str:
    jwt, rest = presentation.split("~", 1)
    header, payload, signature = jwt.split(".")
    from ssi.encoding import b64url_json

    claims = b64url_json(payload)
    claims["vct"] = PID + ":forged"
    return ".".join([header, b64url_encode(json_dumps(claims).encode()), signature]) + "~" + rest


def flip_signature(presentation: str) -> str:
    jwt, rest = presentation.split("~", 1)
    header, payload, signature = jwt.split(".")
    broken = ("A" if signature[0] != "A" else "B") + signature[1:]
    return ".".join([header, payload, broken]) + "~" + rest


def tamper_disclosure(presentation: str) -> str:
    parts = presentation.split("~")
    salt_name_value = b64url_encode(json_dumps(["salt", "given_name", "MALLORY"]).encode())
    parts[1] = salt_name_value
    return "~".join(parts)


def _name(disclosure: str) -> Any:
    from ssi.encoding import b64url_json

    items = b64url_json(disclosure)
    return items[1] if len(items) == 3 else None


def sd_hash_case(env: Env, mode: str) -> tuple[Any, str]:
    credential = env.credential()
    every = credential.compact.split("~")[1:-1]

    def insert(token: dict[str, list[str]], _request: Any) -> dict[str, list[str]]:
        out = {}
        for key, items in token.items():
            rewritten = []
            for item in items:
                jwt, *disclosures, kb = item.split("~")
                # a top-level claim the holder did not disclose: referenced by the payload, not covered by sd_hash
                unused = [d for d in every if d not in disclosures and _name(d) == "address"]
                rewritten.append("~".join([jwt, *disclosures, unused[0], kb]))
            out[key] = rewritten
        return out

    return present(env, mode, credential=credential, tamper_token=insert)


# --- responses for other sessions, replays ---------------------------------------------------------------------------


def to_other_session(env: Env, mode: str) -> tuple[Any, str]:
    """A response built for session A, posted to session B's Response URI."""
    a, b = env.create(response_mode=mode), env.create(response_mode=mode)
    wallet = env.wallet(env.credential())
    request_a = wallet.fetch_request(a["authorization_request"])
    request_b = wallet.fetch_request(b["authorization_request"])
    form = response_form(request_a, wallet.presentations(request_a))
    return env.http.post(request_b.response_uri, data=form), b["session"]


def reencrypted_for_other_session(env: Env, mode: str) -> tuple[Any, str]:
    """Session A's presentation re-wrapped for session B (B's key and state): the KB-JWT still names A's nonce."""
    a, b = env.create(response_mode=mode), env.create(response_mode=mode)
    wallet = env.wallet(env.credential())
    request_a = wallet.fetch_request(a["authorization_request"])
    request_b = wallet.fetch_request(b["authorization_request"])
    form = response_form(request_b, wallet.presentations(request_a))
    return env.http.post(request_b.response_uri, data=form), b["session"]


def replayed(env: Env, mode: str) -> tuple[Any, str]:
    created = env.create(response_mode=mode)
    wallet = env.wallet(env.credential())
    presented = wallet.present(created["authorization_request"])
    assert presented.response.status_code == 200
    assert env.result(created["session"]).status_code == 200
    return env.http.post(presented.request.response_uri, data=presented.form), None


def replayed_into_new_session(env: Env, mode: str) -> tuple[Any, str]:
    """A captured VP Token (verified once) sent again in a fresh, correctly wrapped response for a new session."""
    first = env.create(response_mode=mode)
    wallet = env.wallet(env.credential())
    presented = wallet.present(first["authorization_request"])
    assert presented.response.status_code == 200
    second = env.create(response_mode=mode)
    request_b = wallet.fetch_request(second["authorization_request"])
    old_token = wallet.presentations(presented.request)
    return env.http.post(request_b.response_uri, data=response_form(request_b, old_token)), second["session"]


def unknown_session(env: Env, mode: str) -> tuple[Any, None]:
    return env.http.post(f"{env.url}/response/no-such-request", data={"vp_token": "{}", "state": "x"}), None


# --- transport -------------------------------------------------------------------------------------------------------


def wrong_key(env: Env, mode: str) -> tuple[Any, str]:
    def form(_form: dict[str, str], request: Any) -> dict[str, str]:
        keys = request.client_metadata.get("jwks", {}).get("keys", [{"kid": "k"}])
        attacker = ResponseEncryptionKey.generate(keys[0]["kid"])  # the request's kid, another key
        payload = {"vp_token": {"pid": ["x~"]}, "state": request.state}
        return {"response": encrypt_response(payload, attacker.public_jwk, "A128GCM")}

    return present(env, mode, tamper_form=form)


def wrong_kid(env: Env, mode: str) -> tuple[Any, str]:
    def form(_form: dict[str, str], request: Any) -> dict[str, str]:
        attacker = ResponseEncryptionKey.generate("another-kid")
        return {"response": encrypt_response({"vp_token": {}, "state": request.state}, attacker.public_jwk, "A128GCM")}

    return present(env, mode, tamper_form=form)


def plaintext(env: Env, mode: str) -> tuple[Any, str]:
    def form(_form: dict[str, str], request: Any) -> dict[str, str]:
        return {"vp_token": json_dumps({"pid": ["x~"]}), "state": request.state}

    return present(env, mode, tamper_form=form)


def wrong_state(env: Env, mode: str) -> tuple[Any, str]:
    def form(_form: dict[str, str], request: Any) -> dict[str, str]:
        from dataclasses import replace

        return response_form(replace(request, state="another-state"), {"pid": ["x~"]})

    return present(env, mode, tamper_form=form)


def malformed_vp_token(env: Env, mode: str) -> tuple[Any, str]:
    def form(_form: dict[str, str], request: Any) -> dict[str, str]:
        if request.response_mode == "direct_post":
            return {"vp_token": "{not json", "state": request.state}
        jwk = request.client_metadata["jwks"]["keys"][0]
        return {"response": encrypt_response({"vp_token": "{not json", "state": request.state}, jwk, "A128GCM")}

    return present(env, mode, tamper_form=form)


def oversize_presentation(env: Env, mode: str) -> tuple[Any, str]:
    return present(env, mode, tamper_token=lambda token, _r: {"pid": ["e" * (128 * 1024 + 10)]})


def oversize_body(env: Env, mode: str) -> tuple[Any, str]:
    return present(env, mode, tamper_form=lambda form, _r: {**form, "padding": "x" * (300 * 1024)})


def bad_wallet_error(env: Env, mode: str) -> tuple[Any, str]:
    return present(env, mode, tamper_form=lambda _f, request: {"error": "made_up", "state": request.state})


# --- DCQL ------------------------------------------------------------------------------------------------------------

OTHER_TYPE = "https://ausweis.example.org/issuers/koeln/vct/dienstausweis"


def extra_claim(env: Env, mode: str) -> tuple[Any, str]:
    return present(env, mode, extra_paths={"pid": [("address", "locality")]})


def missing_claim(env: Env, mode: str) -> tuple[Any, str]:
    credential = env.credential(claims={"given_name": "ERIKA", "family_name": "MUSTERMANN", "birthdate": "1964-08-12"})
    created = env.create(response_mode=mode)
    wallet = env.wallet(credential)
    request = wallet.fetch_request(created["authorization_request"])
    held = credential.held
    text = held.present(
        [("given_name",), ("family_name",)], holder=credential.holder, audience=request.client_id, nonce=request.nonce
    )
    return wallet.post(request, response_form(request, {"pid": [text]})).response, created["session"]


def other_type(env: Env, mode: str) -> tuple[Any, str]:
    env.trust.accreditations[env.issuer.spki].types = (PID, OTHER_TYPE)
    credential = env.credential(vct=OTHER_TYPE)
    created = env.create(response_mode=mode)
    wallet = env.wallet(credential)
    request = wallet.fetch_request(created["authorization_request"])
    text = credential.held.present(
        [("given_name",), ("family_name",), ("birthdate",)],
        holder=credential.holder,
        audience=request.client_id,
        nonce=request.nonce,
    )
    return wallet.post(request, response_form(request, {"pid": [text]})).response, created["session"]


def two_presentations(env: Env, mode: str) -> tuple[Any, str]:
    return present(env, mode, tamper_token=lambda token, _r: {"pid": token["pid"] * 2})


def unknown_query_id(env: Env, mode: str) -> tuple[Any, str]:
    return present(env, mode, tamper_token=lambda token, _r: {**token, "someone_else": token["pid"]})


def empty_vp_token(env: Env, mode: str) -> tuple[Any, str]:
    return present(env, mode, tamper_token=lambda _t, _r: {})


# --- trust and status ------------------------------------------------------------------------------------------------


def status_value(value: int) -> Callable[[Env, str], tuple[Any, str]]:
    def run(env: Env, mode: str) -> tuple[Any, str]:
        credential = env.credential()
        token = env.issuer.set_status(env.issuer.list_uri("1"), credential.status_index, value)
        env.trust.anchor(env.issuer, token)
        return present(env, mode, credential=credential)

    return run


def accreditation(**changes: Any) -> Callable[[Env], None]:
    def setup(env: Env) -> None:
        record = env.trust.accreditations[env.issuer.spki]
        for key, value in changes.items():
            setattr(record, key, value() if callable(value) else value)

    return setup


def not_accredited(env: Env) -> None:
    env.trust.accreditations.clear()


def compromised_on_did(env: Env) -> None:
    env.trust.compromised.add(("did:ethr:0x539:0x" + "1b" * 20, env.issuer.key.public_key.thumbprint()))


def chain_down(env: Env) -> None:
    env.trust.down = True


def substituted(env: Env, mode: str) -> tuple[Any, str]:
    credential = env.credential()
    env.issuer.publish("1")  # a new token is served, never anchored
    return present(env, mode, credential=credential)


def rolled_back(env: Env, mode: str) -> tuple[Any, str]:
    credential = env.credential()
    old = env.issuer.server.tokens[env.issuer.list_uri("1")]
    newer = env.issuer.set_status(env.issuer.list_uri("1"), credential.status_index, INVALID)
    env.trust.anchor(env.issuer, newer)
    env.issuer.server.tokens[env.issuer.list_uri("1")] = old  # the revocation rolled back
    return present(env, mode, credential=credential)


def not_anchored(env: Env) -> None:
    env.trust.anchors.clear()


def status_down(env: Env) -> None:
    env.issuer.server.down = True


def status_signed_by_another_issuer(env: Env, mode: str) -> tuple[Any, str]:
    other = TestIssuer.create(server=env.issuer.server)
    credential = env.credential()
    # another issuer, certified by another CA — re-certified by ours so only the signer differs
    from ssi.x509 import issue_certificate, x5c_chain

    leaf = issue_certificate(
        env.issuer.ca,
        env.issuer.ca_key,
        other.key.public_key,
        "Andere Behörde",
        now=time.time() - 60,
        days=30,
        uris=[env.issuer.url],
    )
    token = env.issuer.publish("1", signer=SoftwareSigner(other.key), x5c=x5c_chain([leaf]))
    env.trust.anchor(env.issuer, token)
    return present(env, mode, credential=credential)


def status_untrusted(env: Env, mode: str) -> tuple[Any, str]:
    other = TestIssuer.create()
    credential = env.credential()
    token = env.issuer.publish("1", signer=other.signer, x5c=other.x5c)
    env.trust.anchor(env.issuer, token)
    return present(env, mode, credential=credential)


def status_expired(env: Env, mode: str) -> tuple[Any, str]:
    credential = env.credential()
    token = env.issuer.publish("1", now=time.time() - 7200, exp_in=3600)
    env.trust.anchor(env.issuer, token)
    return present(env, mode, credential=credential)


def status_index_out_of_range(env: Env, mode: str) -> tuple[Any, str]:
    holder = SoftwareSigner.generate("ES256")
    env.issuer.next_index = 5000
    compact, idx = env.issuer.issue(holder)
    return present(env, mode, credential=HeldCredential(compact, holder, idx))


def untrusted_issuer(env: Env, mode: str) -> tuple[Any, str]:
    stranger = TestIssuer.create(server=env.issuer.server)
    env.trust.accredit(stranger)
    holder = SoftwareSigner.generate("ES256")
    compact, idx = stranger.issue(holder, status_list="stranger")
    return present(env, mode, credential=HeldCredential(compact, holder, idx))


def credential_with(**issue: Any) -> Callable[[Env, str], tuple[Any, str]]:
    def run(env: Env, mode: str) -> tuple[Any, str]:
        holder = SoftwareSigner.generate("ES256")
        resolved = {k: (v(env) if callable(v) else v) for k, v in issue.items()}
        compact, idx = env.issuer.issue(holder, **resolved)
        return present(env, mode, credential=HeldCredential(compact, holder, idx))

    return run


def legacy_typ(env: Env, mode: str) -> tuple[Any, str]:
    from ssi.sd_jwt.vc import issue_sd_jwt_vc

    holder = SoftwareSigner.generate("ES256")
    credential = issue_sd_jwt_vc(
        {"given_name": "E", "family_name": "M", "birthdate": "1964-08-12"},
        env.issuer.signer,
        vct=PID,
        issuer=env.issuer.url,
        holder_jwk=holder.public_jwk,
        disclosable=[("given_name",), ("family_name",), ("birthdate",)],
        valid_for=3600,
        header={"x5c": env.issuer.x5c},
        legacy_typ=True,
    )
    return present(env, mode, credential=HeldCredential(credential.compact, holder))


CASES: dict[str, Case] = {
    # holder binding (RFC 9901 §7.3, OpenID4VP §14.1.2)
    "kb_wrong_nonce": Case(lambda e, m: present(e, m, nonce="a-nonce-of-another-request"), "kb_wrong_nonce"),
    "kb_wrong_aud": Case(lambda e, m: present(e, m, audience="x509_hash:another-verifier"), "kb_wrong_aud"),
    "kb_aud_without_prefix": Case(
        lambda e, m: present(e, m, tamper_token=None, audience="another-verifier.example"), "kb_wrong_aud"
    ),
    "kb_stale": Case(lambda e, m: present(e, m, kb_iat=time.time() - 3600), "kb_stale"),
    "kb_from_the_future": Case(lambda e, m: present(e, m, kb_iat=time.time() + 3600), "kb_iat_in_future"),
    "kb_missing": Case(tamper(each(strip_kb)), "kb_missing"),
    "kb_by_another_key": Case(tamper(each(kb_by_other_key)), "kb_invalid_signature"),
    "kb_sd_hash_mismatch": Case(sd_hash_case, "kb_sd_hash_mismatch"),
    # other sessions, replays
    "response_to_another_session": Case(to_other_session, "", consumed=False),
    "rewrapped_for_another_session": Case(reencrypted_for_other_session, "kb_wrong_nonce"),
    "replayed_response": Case(replayed, "session_finished", consumed=False),
    "replayed_into_a_new_session": Case(replayed_into_new_session, "kb_wrong_nonce"),
    "unknown_session": Case(unknown_session, "session_unknown", consumed=False),
    # transport
    "encrypted_to_the_wrong_key": Case(wrong_key, "", consumed=False),
    "encrypted_to_another_kid": Case(wrong_kid, "", consumed=False),
    "plaintext_instead_of_encrypted": Case(plaintext, "", consumed=False),
    "wrong_state": Case(wrong_state, "state_mismatch", consumed=False),
    "malformed_vp_token": Case(malformed_vp_token, "vp_token_malformed", consumed=False),
    "oversize_presentation": Case(oversize_presentation, "vp_token_too_large", consumed=False),
    "oversize_body": Case(oversize_body, "", consumed=False),
    "wallet_error_with_unknown_code": Case(bad_wallet_error, "response_malformed", consumed=False),
    # the issuer's signature and the credential itself
    "forged_payload": Case(tamper(each(flip_payload)), "invalid_signature"),
    "forged_signature": Case(tamper(each(flip_signature)), "invalid_signature"),
    "tampered_disclosure": Case(tamper(each(tamper_disclosure)), "unreferenced_disclosure"),
    "untrusted_issuer_ca": Case(untrusted_issuer, "issuer_certificate_untrusted"),
    "no_x5c": Case(credential_with(x5c=[]), "issuer_certificate_invalid"),
    "iss_not_in_certificate": Case(
        credential_with(iss="https://fake-amt.example/issuers/koeln"), "iss_certificate_mismatch"
    ),
    "expired_credential": Case(credential_with(now=time.time() - 3 * 86400, valid_for=86400), "credential_expired"),
    "legacy_typ": Case(legacy_typ, "wrong_typ"),
    # accreditation on the chain
    "issuer_not_accredited": Case(with_setup(not_accredited), "issuer_not_accredited"),
    "not_accredited_for_the_type": Case(
        with_setup(accreditation(types=(OTHER_TYPE,))), "issuer_not_accredited_for_type"
    ),
    "accreditation_expired": Case(
        with_setup(accreditation(valid_until=lambda: time.time() - 60)), "accreditation_expired"
    ),
    "accreditation_not_yet_valid_at_issuance": Case(
        with_setup(accreditation(valid_from=lambda: time.time() + 3600)), "accreditation_not_yet_valid"
    ),
    "accreditation_suspended": Case(with_setup(accreditation(status="suspended")), "accreditation_suspended"),
    "accreditation_revoked": Case(with_setup(accreditation(status="revoked")), "accreditation_revoked"),
    "issuer_key_compromised": Case(
        with_setup(accreditation(compromised_since=lambda: time.time() - 3600)), "issuer_key_compromised"
    ),
    "issuer_key_marked_on_did": Case(with_setup(compromised_on_did), "issuer_key_compromised"),
    "chain_unreachable": Case(with_setup(chain_down), "trust_unavailable"),
    # status
    "revoked": Case(status_value(INVALID), "credential_revoked"),
    "suspended": Case(status_value(SUSPENDED), "credential_suspended"),
    "application_specific_status": Case(status_value(APPLICATION_SPECIFIC), "credential_status_invalid"),
    "status_list_substituted": Case(substituted, "status_list_substituted"),
    "status_list_rolled_back": Case(rolled_back, "status_list_rolled_back"),
    "status_list_not_anchored": Case(with_setup(not_anchored), "status_list_not_anchored"),
    "status_list_unreachable": Case(with_setup(status_down), "status_unavailable"),
    "status_list_of_another_signer": Case(status_signed_by_another_issuer, "status_list_wrong_signer"),
    "status_list_untrusted": Case(status_untrusted, "status_list_untrusted"),
    "status_list_expired": Case(status_expired, "status_list_invalid"),
    "status_index_out_of_range": Case(status_index_out_of_range, "status_index_invalid"),
    # DCQL (§6.4, §8.1)
    "extra_undisclosed_claim": Case(extra_claim, "dcql_claim_not_requested"),
    "missing_requested_claim": Case(missing_claim, "dcql_claim_missing"),
    "credential_of_another_type": Case(other_type, "dcql_type_mismatch"),
    "two_presentations_without_multiple": Case(two_presentations, "dcql_multiple_not_allowed"),
    "answer_to_an_unknown_query": Case(unknown_query_id, "dcql_unknown_id"),
    "empty_vp_token": Case(empty_vp_token, "dcql_credential_missing"),
}

# --- crafted issuer-signed JWTs (re-signed with the issuer's own key: only the one thing differs) --------------------


def _enc(value: Any) -> str:
    return b64url_encode(json_dumps(value).encode())


def _dec(part: str) -> Any:
    return b64url_json(part)


#: An edit of a JOSE header or JWT payload; the environment gives it keys and certificates to use.
Edit = Callable[[dict[str, Any], Env], None]


def resign(
    jwt: str, signer: SoftwareSigner, env: Env, *, header: Edit | None = None, payload: Edit | None = None
) -> str:
    """``jwt`` with its header and payload edited, signed again by ``signer`` (``alg`` from the signer)."""
    head, body, _ = jwt.split(".")
    header_obj, payload_obj = _dec(head), _dec(body)
    if header is not None:
        header(header_obj, env)
    if payload is not None:
        payload(payload_obj, env)
    header_obj.pop("alg", None)
    return sign_compact(json_dumps(payload_obj).encode(), signer, header_obj)


def unsigned(jwt: str) -> str:
    """``alg: none`` with an empty signature (RFC 7518 §3.6) — never acceptable."""
    head, body, _ = jwt.split(".")
    return f"{_enc({**_dec(head), 'alg': 'none'})}.{body}."


def hmac_with_public_key(jwt: str, public_jwk: dict[str, Any]) -> str:
    """HS256 keyed with the signer's *public* key — the algorithm confusion attack (RFC 8725 §2.1)."""
    head, body, _ = jwt.split(".")
    protected = _enc({**_dec(head), "alg": "HS256"})
    mac = hmac.new(json_dumps(public_jwk).encode(), f"{protected}.{body}".encode(), hashlib.sha256).digest()
    return f"{protected}.{body}.{b64url_encode(mac)}"


def reissued(
    *, header: Edit | None = None, payload: Edit | None = None, signer: Callable[[Env], SoftwareSigner] | None = None
) -> Callable[[Env, str], tuple[Any, str]]:
    """The issuer's credential with one edit, re-signed by the issuer; the holder presents it normally."""

    def run(env: Env, mode: str) -> tuple[Any, str]:
        credential = env.credential()
        jwt, rest = credential.compact.split("~", 1)
        key = signer(env) if signer else env.issuer.signer
        compact = resign(jwt, key, env, header=header, payload=payload) + "~" + rest
        return present_directly(env, mode, HeldCredential(compact, credential.holder, credential.status_index))

    return run


IDENTIFICATION = [("given_name",), ("family_name",), ("birthdate",)]


def present_directly(
    env: Env,
    mode: str,
    credential: HeldCredential,
    paths: list[tuple] = IDENTIFICATION,
    preset: str = "pid_identification",
) -> tuple[Any, str]:
    """Present ``paths`` of ``credential`` for a ``pid_identification`` request without the wallet's DCQL matching
    (a credential edited to fail a check may no longer match the query, and the check is what is tested)."""
    created = env.create(response_mode=mode, preset=preset)
    wallet = env.wallet(credential)
    request = wallet.fetch_request(created["authorization_request"])
    text = credential.held.present(paths, holder=credential.holder, audience=request.client_id, nonce=request.nonce)
    return wallet.post(request, response_form(request, {"pid": [text]})).response, created["session"]


def issuer_jwt_replaced(rewrite: Callable[[Env, str], str]) -> Callable[[Env, str], tuple[Any, str]]:
    """The presented Issuer-signed JWT replaced by ``rewrite(env, jwt)`` (what an attacker between wallet and verifier
    could do); the rest of the presentation as the wallet made it."""

    def run(env: Env, mode: str) -> tuple[Any, str]:
        def tamper_token(token: dict[str, list[str]], _request: Any) -> dict[str, list[str]]:
            out = {}
            for key, items in token.items():
                out[key] = []
                for item in items:
                    jwt, rest = item.split("~", 1)
                    out[key].append(rewrite(env, jwt) + "~" + rest)
            return out

        return present(env, mode, tamper_token=tamper_token)

    return run


def self_signed_leaf(env: Env) -> list[str]:
    """The issuer's key in a certificate it signed itself, with the issuer's name (no CA vouches for it)."""
    ca = make_self_signed_ca(env.issuer.key, "Stadt Köln", now=time.time() - 60, days=30)
    return x5c_chain([ca])


def expired_leaf(env: Env) -> list[str]:
    """The issuer's key certified by the right CA — for a period that ended ten days ago."""
    leaf = issue_certificate(
        env.issuer.ca,
        env.issuer.ca_key,
        env.issuer.key.public_key,
        "Stadt Köln",
        now=time.time() - 40 * 86400,
        days=30,
        uris=[env.issuer.url],
    )
    return x5c_chain([leaf])


def setter(name: str, value: Any) -> Edit:
    """Set ``name``; a callable ``value`` is called with the environment."""

    def edit(obj: dict[str, Any], env: Env) -> None:
        obj[name] = value(env) if callable(value) else value

    return edit


def dropper(*names: str) -> Edit:
    def edit(obj: dict[str, Any], _env: Env) -> None:
        for name in names:
            obj.pop(name, None)

    return edit


def sd_alg_case(env: Env, mode: str) -> tuple[Any, str]:
    """``_sd_alg`` changed to a hash the verifier does not accept (RFC 9901 §4.1.1, §7.1 step 3.1)."""
    return issuer_jwt_replaced(lambda e, jwt: resign(jwt, e.issuer.signer, e, payload=setter("_sd_alg", "md5")))(
        env, mode
    )


def duplicate_disclosure(presentation: str) -> str:
    jwt, *disclosures, kb = presentation.split("~")
    return "~".join([jwt, *disclosures, disclosures[0], kb])


def malformed_disclosure(presentation: str) -> str:
    jwt, *disclosures, kb = presentation.split("~")
    return "~".join([jwt, "WyJzYWx0IiwgImdpdmVuX25hbWUiLCAiRVJJS0EiXQ==é", *disclosures[1:], kb])


# --- crafted Key Binding JWTs ----------------------------------------------------------------------------------------

KbEdit = Callable[[dict[str, Any], Any], None]


def rebound(
    *,
    claims: KbEdit | None = None,
    typ: str | None = "kb+jwt",
    header: dict[str, Any] | None = None,
    finish: Callable[[str, HeldCredential], str] | None = None,
) -> Callable[[Env, str], tuple[Any, str]]:
    """The presentation with a KB-JWT built here: the right claims for this request, then one edit."""

    def run(env: Env, mode: str) -> tuple[Any, str]:
        credential = env.credential()

        def tamper_token(token: dict[str, list[str]], request: Any) -> dict[str, list[str]]:
            out = {}
            for key, items in token.items():
                out[key] = []
                for item in items:
                    sd_jwt = item[: item.rindex("~") + 1]
                    kb_claims: dict[str, Any] = {
                        "iat": int(time.time()),
                        "aud": request.client_id,
                        "nonce": request.nonce,
                        "sd_hash": digest(sd_jwt, hash_function("sha-256")),
                    }
                    if claims is not None:
                        claims(kb_claims, request)
                    kb = encode_jwt(kb_claims, credential.holder, typ=typ, header=header)
                    out[key].append(sd_jwt + (finish(kb, credential) if finish else kb))
            return out

        return present(env, mode, credential=credential, tamper_token=tamper_token)

    return run


def kb_set(name: str, value: Callable[[dict[str, Any], Any], Any]) -> KbEdit:
    def edit(claims: dict[str, Any], request: Any) -> None:
        claims[name] = value(claims, request)

    return edit


def kb_drop(name: str) -> KbEdit:
    return lambda claims, _request: claims.pop(name)


# --- status lists served wrongly -------------------------------------------------------------------------------------


def status_list_missing(env: Env) -> dict[str, Any]:
    holder = SoftwareSigner.generate("ES256")
    compact, idx = env.issuer.issue(holder, status_list="never-published")
    env.issuer.server.tokens.pop(env.issuer.list_uri("never-published"), None)
    return {"credential": HeldCredential(compact, holder, idx)}


def status_wrong_content_type(env: Env) -> None:
    env.issuer.server.content_type = "application/json"


def status_token_of_another_list(env: Env, mode: str) -> tuple[Any, str]:
    credential = env.credential()
    other = env.issuer.publish("2")  # a genuine token — of list 2 — served (and anchored) as list 1
    env.issuer.server.tokens[env.issuer.list_uri("1")] = other
    env.trust.anchor(env.issuer, other)
    return present(env, mode, credential=credential)


def status_token_resigned(header: Edit) -> Callable[[Env, str], tuple[Any, str]]:
    def run(env: Env, mode: str) -> tuple[Any, str]:
        credential = env.credential()
        uri = env.issuer.list_uri("1")
        token = resign(env.issuer.server.tokens[uri], env.issuer.signer, env, header=header)
        env.issuer.server.tokens[uri] = token
        env.trust.anchor(env.issuer, token)
        return present(env, mode, credential=credential)

    return run


def status_token_forged(env: Env, mode: str) -> tuple[Any, str]:
    """The list's bits rewritten (a revocation hidden) without the issuer's key; the forgery is even anchored."""
    credential = env.credential()
    uri = env.issuer.list_uri("1")
    head, body, signature = env.issuer.server.tokens[uri].split(".")
    claims = _dec(body)
    claims["exp"] = claims["exp"] + 1
    forged = f"{head}.{_enc(claims)}.{signature}"
    env.issuer.server.tokens[uri] = forged
    env.trust.anchor(env.issuer, forged)
    return present(env, mode, credential=credential)


def status_required(env: Env) -> dict[str, Any]:
    env.service.credentials.require_status = True
    holder = SoftwareSigner.generate("ES256")
    compact, idx = env.issuer.issue(holder, with_status=False)
    return {"credential": HeldCredential(compact, holder, idx)}


# --- accreditation over time -----------------------------------------------------------------------------------------


def issued_before_accreditation(env: Env) -> dict[str, Any]:
    env.trust.accreditations[env.issuer.spki].valid_from = time.time() - 3600
    holder = SoftwareSigner.generate("ES256")
    compact, idx = env.issuer.issue(holder, now=time.time() - 7200)
    return {"credential": HeldCredential(compact, holder, idx)}


def compromised_after_issuance(env: Env) -> dict[str, Any]:
    """Signed two hours ago, the key marked compromised an hour ago: a stolen key can backdate ``iat``."""
    env.trust.accreditations[env.issuer.spki].compromised_since = time.time() - 3600
    holder = SoftwareSigner.generate("ES256")
    compact, idx = env.issuer.issue(holder, now=time.time() - 7200)
    return {"credential": HeldCredential(compact, holder, idx)}


# --- DCQL: what the query asked for, no less and nothing more --------------------------------------------------------


def under_age(env: Env, mode: str) -> tuple[Any, str]:
    """``age_over_18`` asks for ``age_equal_or_over.18`` with ``values: [true]`` (§6.3); the holder is not 18."""
    claims = {**PID_CLAIMS, "age_equal_or_over": {**PID_CLAIMS["age_equal_or_over"], "18": False}}
    credential = env.credential(claims=claims)
    return present_directly(env, mode, credential, [("age_equal_or_over", "18")], preset="age_over_18")


def query_of(*credentials: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"credentials": list(credentials), **extra}


def pid_query(qid: str = "pid", **extra: Any) -> dict[str, Any]:
    return {"id": qid, "format": "dc+sd-jwt", "meta": {"vct_values": [PID]}, **extra}


def second_credential_missing(env: Env, mode: str) -> tuple[Any, str]:
    query = query_of(
        pid_query(claims=[{"path": ["family_name"]}]),
        {
            "id": "permit",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [OTHER_TYPE]},
            "claims": [{"path": ["family_name"]}],
        },
    )
    credential = env.credential()
    created = _create_query(env, {"dcql_query": query, "response_mode": mode})
    wallet = env.wallet(credential)
    request = wallet.fetch_request(created["authorization_request"])
    text = credential.held.present(
        [("family_name",)], holder=credential.holder, audience=request.client_id, nonce=request.nonce
    )
    return wallet.post(request, response_form(request, {"pid": [text]})).response, created["session"]


def claim_set_incomplete(env: Env, mode: str) -> tuple[Any, str]:
    """``claim_sets`` [[name, birthdate], [locality]]: the response discloses the name alone — no set complete."""
    query = query_of(
        pid_query(
            claims=[
                {"id": "n", "path": ["family_name"]},
                {"id": "b", "path": ["birthdate"]},
                {"id": "l", "path": ["address", "locality"]},
            ],
            claim_sets=[["n", "b"], ["l"]],
        )
    )
    credential = env.credential()
    created = _create_query(env, {"dcql_query": query, "response_mode": mode})
    wallet = env.wallet(credential)
    request = wallet.fetch_request(created["authorization_request"])
    text = credential.held.present(
        [("family_name",)], holder=credential.holder, audience=request.client_id, nonce=request.nonce
    )
    return wallet.post(request, response_form(request, {"pid": [text]})).response, created["session"]


def with_query(query: dict[str, Any], paths: list[tuple]) -> Callable[[Env, str], tuple[Any, str]]:
    def run(env: Env, mode: str) -> tuple[Any, str]:
        credential = env.credential()
        created = _create_query(env, {"dcql_query": query, "response_mode": mode})
        wallet = env.wallet(credential)
        request = wallet.fetch_request(created["authorization_request"])
        text = credential.held.present(paths, holder=credential.holder, audience=request.client_id, nonce=request.nonce)
        return wallet.post(request, response_form(request, {"pid": [text]})).response, created["session"]

    return run


# --- the response itself ---------------------------------------------------------------------------------------------


def raw_response(build: Callable[[Any], dict[str, Any]]) -> Callable[[Env, str], tuple[Any, str]]:
    """A response with the parameters ``build(request)`` returns, sent as the request's response mode asks (a form
    for ``direct_post``, encrypted to the request's key for ``direct_post.jwt``)."""

    def form(_form: dict[str, str], request: Any) -> dict[str, str]:
        params = build(request)
        if request.response_mode == "direct_post":
            return {k: v if isinstance(v, str) else json_dumps(v) for k, v in params.items()}
        jwk = request.client_metadata["jwks"]["keys"][0]
        return {"response": encrypt_response(params, jwk, "A128GCM")}

    return lambda env, mode: present(env, mode, tamper_form=form)


def after_refusal(env: Env, mode: str) -> tuple[Any, None]:
    """A first response refused (a KB-JWT for another nonce) decides the session: the right one after it is late."""
    created = env.create(response_mode=mode)
    wallet = env.wallet(env.credential())
    request = wallet.fetch_request(created["authorization_request"])
    bad = wallet.post(request, response_form(request, wallet.presentations(request, nonce="another-nonce")))
    assert bad.response.json()["reason"] == "kb_wrong_nonce"
    good = wallet.post(request, response_form(request, wallet.presentations(request)))
    assert env.result(created["session"]).json()["reason"] == "kb_wrong_nonce"
    return good.response, None


def jwe(
    header: dict[str, Any], build: Callable[[Any], bytes] | None = None, algorithms: tuple[str, ...] = ()
) -> Callable[[Env, str], tuple[Any, str]]:
    """A genuine JWE to the request's key, with ``header`` (``alg``/``enc`` of the test's choice)."""

    def form(_form: dict[str, str], request: Any) -> dict[str, str]:
        jwk = request.client_metadata["jwks"]["keys"][0]
        plaintext = (
            build(request) if build else json_dumps({"vp_token": {"pid": ["x~"]}, "state": request.state}).encode()
        )
        full = {"kid": jwk["kid"], **header}
        registry = jwe_lib.JWERegistry(algorithms=[full["alg"], full["enc"], *algorithms])
        key = ECKey.import_key({k: v for k, v in jwk.items() if k not in ("alg", "use")})
        return {"response": jwe_lib.encrypt_compact(full, plaintext, key, registry=registry)}

    return lambda env, mode: present(env, mode, tamper_form=form)


def jwe_edited(edit: Callable[[list[str]], None]) -> Callable[[Env, str], tuple[Any, str]]:
    """The wallet's own encrypted response with one of its five parts changed."""

    def form(given: dict[str, str], _request: Any) -> dict[str, str]:
        parts = given["response"].split(".")
        edit(parts)
        return {"response": ".".join(parts)}

    return lambda env, mode: present(env, mode, tamper_form=form)


def swap_epk(protected: str) -> str:
    """The sender's ephemeral key in the JWE header replaced by another (the tag covers the header)."""
    header = _dec(protected)
    header["epk"] = {k: v for k, v in PrivateKey.generate("ES256").private_jwk().items() if k != "d"}
    return _enc(header)


def extra_claim_at(path: tuple, preset: str = "pid_identification") -> Callable[[Env, str], tuple[Any, str]]:
    """The wallet discloses ``path`` besides what the query asked for."""
    return lambda env, mode: present(env, mode, preset=preset, extra_paths={"pid": [path]})


def flip(text: str) -> str:
    return ("A" if text[0] != "A" else "B") + text[1:]


def set_part(index: int, value: Callable[[str], str]) -> Callable[[list[str]], None]:
    def edit(parts: list[str]) -> None:
        parts[index] = value(parts[index])

    return edit


def many_disclosures(presentation: str) -> str:
    jwt, *disclosures, kb = presentation.split("~")
    filler = [_enc([f"s{i}", f"c{i}", 1]) for i in range(1100)]
    return "~".join([jwt, *disclosures, *filler, kb])


def deeply_nested(env: Env, jwt: str) -> str:
    """A claim nested 40 levels deep, signed by the issuer: beyond the verifier's processing depth (RFC 9901 §10)."""

    def nest(payload: dict[str, Any], _env: Env) -> None:
        nested: Any = "x"
        for _ in range(40):
            nested = {"n": nested}
        payload["nested"] = nested

    return resign(jwt, env.issuer.signer, env, payload=nest)


JWT_ONLY = ("direct_post.jwt",)

MORE_CASES: dict[str, Case] = {
    # Key Binding JWT built by hand (RFC 9901 §4.3, §7.3 step 5)
    "kb_aud_as_array": Case(rebound(claims=kb_set("aud", lambda c, r: [r.client_id])), "kb_wrong_aud"),
    "kb_aud_is_the_response_uri": Case(rebound(claims=kb_set("aud", lambda c, r: r.response_uri)), "kb_wrong_aud"),
    "kb_without_nonce": Case(rebound(claims=kb_drop("nonce")), "kb_wrong_nonce"),
    "kb_nonce_not_a_string": Case(rebound(claims=kb_set("nonce", lambda c, r: [r.nonce])), "kb_wrong_nonce"),
    "kb_without_iat": Case(rebound(claims=kb_drop("iat")), "kb_malformed"),
    "kb_without_sd_hash": Case(rebound(claims=kb_drop("sd_hash")), "kb_sd_hash_mismatch"),
    "kb_expired": Case(rebound(claims=kb_set("exp", lambda c, r: int(time.time()) - 600)), "kb_expired"),
    "kb_not_yet_valid": Case(rebound(claims=kb_set("nbf", lambda c, r: int(time.time()) + 600)), "kb_not_yet_valid"),
    "kb_typ_jwt": Case(rebound(typ="JWT"), "kb_wrong_typ"),
    "kb_without_typ": Case(rebound(typ=None), "kb_wrong_typ"),
    "kb_alg_none": Case(rebound(finish=lambda kb, _c: unsigned(kb)), "kb_forbidden_algorithm"),
    "kb_hmac_with_holder_public_key": Case(
        rebound(finish=lambda kb, c: hmac_with_public_key(kb, c.holder.public_jwk)), "kb_forbidden_algorithm"
    ),
    "kb_unknown_critical_header": Case(rebound(header={"crit": ["urn:x"], "urn:x": 1}), "kb_unknown_crit"),
    "kb_truncated": Case(rebound(finish=lambda kb, _c: kb.rsplit(".", 1)[0]), "malformed_sd_jwt"),
    # the Issuer-signed JWT (RFC 9901 §7.1, SD-JWT VC §3, HAIP 1.0 §6.1)
    "issuer_alg_none": Case(issuer_jwt_replaced(lambda e, jwt: unsigned(jwt)), "forbidden_algorithm"),
    "issuer_hmac_with_public_key": Case(
        issuer_jwt_replaced(lambda e, jwt: hmac_with_public_key(jwt, e.issuer.key.public_key.jwk)),
        "forbidden_algorithm",
    ),
    "issuer_without_typ": Case(reissued(header=dropper("typ")), "wrong_typ"),
    "issuer_typ_jwt": Case(reissued(header=setter("typ", "JWT")), "wrong_typ"),
    "issuer_unknown_critical_header": Case(
        reissued(header=lambda h, _e: h.update({"crit": ["urn:x"], "urn:x": 1})), "unknown_crit"
    ),
    "issuer_certificate_self_signed": Case(
        reissued(header=setter("x5c", self_signed_leaf)), "issuer_certificate_untrusted"
    ),
    "issuer_certificate_expired": Case(reissued(header=setter("x5c", expired_leaf)), "issuer_certificate_expired"),
    "x5c_of_the_ca_only": Case(reissued(header=setter("x5c", lambda e: x5c_chain([e.issuer.ca]))), "invalid_signature"),
    "x5c_garbage": Case(reissued(header=setter("x5c", ["not a certificate"])), "issuer_certificate_invalid"),
    "neither_x5c_nor_kid": Case(reissued(header=dropper("x5c", "kid")), "issuer_key_unknown"),
    "credential_not_before_in_future": Case(
        reissued(payload=setter("nbf", lambda _e: int(time.time()) + 3600)), "credential_not_yet_valid"
    ),
    "credential_issued_in_future": Case(
        reissued(payload=setter("iat", lambda _e: int(time.time()) + 3600)), "credential_not_yet_valid"
    ),
    "credential_without_iat": Case(reissued(payload=dropper("iat")), "missing_iat"),
    "credential_exp_not_a_number": Case(reissued(payload=setter("exp", "tomorrow")), "malformed_exp"),
    "credential_without_vct": Case(reissued(payload=dropper("vct")), "missing_vct"),
    "iss_plain_http": Case(
        reissued(payload=setter("iss", "http://ausweis.example.org/issuers/koeln")), "iss_not_https"
    ),
    "iss_missing": Case(reissued(payload=dropper("iss")), "iss_missing"),
    "holder_key_missing": Case(reissued(payload=dropper("cnf")), "kb_no_cnf"),
    "sd_alg_not_accepted": Case(sd_alg_case, "unsupported_sd_alg"),
    "disclosure_sent_twice": Case(tamper(each(duplicate_disclosure)), "duplicate_disclosure"),
    "disclosure_not_base64url": Case(tamper(each(malformed_disclosure)), "malformed_disclosure"),
    "status_claim_malformed": Case(
        reissued(payload=setter("status", {"status_list": {"idx": -1, "uri": "https://x.example/s"}})),
        "malformed_status",
    ),
    # status lists (Token Status List §8, anchored digests)
    "status_list_not_found": Case(with_setup(status_list_missing), "status_unavailable"),
    "status_list_wrong_media_type": Case(with_setup(status_wrong_content_type), "status_unavailable"),
    "status_token_of_another_list": Case(status_token_of_another_list, "status_list_invalid"),
    "status_token_wrong_typ": Case(status_token_resigned(setter("typ", "JWT")), "status_list_invalid"),
    "status_token_forged": Case(status_token_forged, "status_list_invalid"),
    "status_required_but_absent": Case(with_setup(status_required), "status_missing"),
    # accreditation over time
    "accreditation_superseded": Case(with_setup(accreditation(status="superseded")), "accreditation_superseded"),
    "issued_before_the_accreditation": Case(with_setup(issued_before_accreditation), "accreditation_not_yet_valid"),
    "key_compromised_after_issuance": Case(with_setup(compromised_after_issuance), "issuer_key_compromised"),
    # DCQL
    "claim_value_not_accepted": Case(under_age, "dcql_claim_value_mismatch"),
    "extra_array_element_disclosed": Case(extra_claim_at(("nationalities", 0)), "dcql_claim_not_requested"),
    "extra_age_disclosed": Case(
        extra_claim_at(("age_equal_or_over", "21"), preset="age_over_18"), "dcql_claim_not_requested"
    ),
    "presentation_not_an_sd_jwt": Case(
        tamper(lambda _t, _r: {"pid": ["omdkb2NUeXBldWV1LmV1cm9wYS5lYy5ldWRpLnBpZC4x"]}), "malformed_sd_jwt"
    ),
    "presentation_object_not_an_sd_jwt": Case(tamper(lambda _t, _r: {"pid": [{"foo": "bar"}]}), "malformed_sd_jwt"),
    "second_required_credential_missing": Case(second_credential_missing, "dcql_credential_missing"),
    "no_claim_set_complete": Case(claim_set_incomplete, "dcql_claim_missing"),
    "issuer_not_of_the_trusted_authority": Case(
        with_query(
            query_of(
                pid_query(
                    claims=[{"path": ["family_name"]}],
                    trusted_authorities=[{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}],
                )
            ),
            [("family_name",)],
        ),
        "dcql_trusted_authority_mismatch",
    ),
    "accredited_in_another_registry": Case(
        with_query(
            query_of(
                pid_query(
                    claims=[{"path": ["family_name"]}],
                    trusted_authorities=[
                        {"type": "govssi_chain_accreditation", "values": ["eip155:1337:0x" + "cd" * 20]}
                    ],
                )
            ),
            [("family_name",)],
        ),
        "dcql_trusted_authority_mismatch",
    ),
    # the response and the session
    "response_after_a_refusal": Case(after_refusal, "session_finished", consumed=False),
    "response_without_state": Case(raw_response(lambda r: {"vp_token": {"pid": ["x~"]}}), "state_mismatch", False),
    "vp_token_missing": Case(raw_response(lambda r: {"state": r.state}), "vp_token_missing", False),
    "vp_token_an_array": Case(
        raw_response(lambda r: {"vp_token": [["x~"]], "state": r.state}), "vp_token_malformed", False
    ),
    "vp_token_entry_empty": Case(
        raw_response(lambda r: {"vp_token": {"pid": []}, "state": r.state}), "vp_token_malformed", False
    ),
    "presentation_a_number": Case(
        raw_response(lambda r: {"vp_token": {"pid": [42]}, "state": r.state}), "vp_token_malformed", False
    ),
    "wallet_error_description_oversize": Case(
        raw_response(lambda r: {"error": "access_denied", "error_description": "x" * 5000, "state": r.state}),
        "response_malformed",
        False,
    ),
    # encrypted responses (§8.3, HAIP 1.0: ECDH-ES on P-256 with A128GCM/A256GCM only)
    "jwe_key_wrapping_alg": Case(
        jwe({"alg": "ECDH-ES+A128KW", "enc": "A128GCM"}), "response_wrong_alg", False, JWT_ONLY
    ),
    "jwe_enc_not_offered": Case(jwe({"alg": "ECDH-ES", "enc": "A192GCM"}), "response_wrong_alg", False, JWT_ONLY),
    "jwe_cbc_hmac_enc": Case(jwe({"alg": "ECDH-ES", "enc": "A128CBC-HS256"}), "response_wrong_alg", False, JWT_ONLY),
    "jwe_plaintext_not_json": Case(
        jwe({"alg": "ECDH-ES", "enc": "A128GCM"}, lambda r: b"vp_token=x"), "response_malformed", False, JWT_ONLY
    ),
    "jwe_plaintext_an_array": Case(
        jwe({"alg": "ECDH-ES", "enc": "A256GCM"}, lambda r: b'["vp_token"]'), "response_malformed", False, JWT_ONLY
    ),
    "jwe_with_an_encrypted_key": Case(
        jwe_edited(set_part(1, lambda _p: "AAAA")), "response_malformed", False, JWT_ONLY
    ),
    "jwe_four_parts": Case(jwe_edited(lambda parts: parts.pop()), "response_malformed", False, JWT_ONLY),
    "jwe_ciphertext_flipped": Case(jwe_edited(set_part(3, flip)), "response_decryption_failed", False, JWT_ONLY),
    "jwe_tag_flipped": Case(jwe_edited(set_part(4, flip)), "response_decryption_failed", False, JWT_ONLY),
    "jwe_iv_flipped": Case(jwe_edited(set_part(2, flip)), "response_decryption_failed", False, JWT_ONLY),
    "jwe_header_swapped_epk": Case(jwe_edited(set_part(0, swap_epk)), "response_decryption_failed", False, JWT_ONLY),
    # oversize (bounded before any expensive work)
    "too_many_credential_queries": Case(
        raw_response(lambda r: {"vp_token": {f"q{i}": ["x~"] for i in range(33)}, "state": r.state}),
        "vp_token_too_large",
        False,
    ),
    "too_many_presentations": Case(
        raw_response(lambda r: {"vp_token": {"pid": ["x~"] * 17}, "state": r.state}), "vp_token_too_large", False
    ),
    "too_many_disclosures": Case(tamper(each(many_disclosures)), "input_too_large"),
    "nesting_too_deep": Case(issuer_jwt_replaced(deeply_nested), "too_deep"),
}

CASES.update(MORE_CASES)

#: Per response mode, the reasons of cases whose reason depends on it ("" above).
MODE_REASONS = {
    ("response_to_another_session", "direct_post.jwt"): "response_wrong_key",
    ("response_to_another_session", "direct_post"): "state_mismatch",
    ("encrypted_to_the_wrong_key", "direct_post.jwt"): "response_decryption_failed",
    ("encrypted_to_the_wrong_key", "direct_post"): "state_mismatch",
    ("encrypted_to_another_kid", "direct_post.jwt"): "response_wrong_key",
    ("encrypted_to_another_kid", "direct_post"): "state_mismatch",
    ("plaintext_instead_of_encrypted", "direct_post.jwt"): "response_not_encrypted",
    ("plaintext_instead_of_encrypted", "direct_post"): "malformed_sd_jwt",
    ("oversize_body", "direct_post.jwt"): "request body too large",
    ("oversize_body", "direct_post"): "request body too large",
}
CONSUMED_IN_PLAIN_MODE = {"plaintext_instead_of_encrypted"}


RUNS = [(name, mode) for name in sorted(CASES) for mode in CASES[name].modes]


@pytest.mark.parametrize(("name", "mode"), RUNS)
def test_refused(fresh: Env, name: str, mode: str) -> None:
    case = CASES[name]
    expected = case.reason or MODE_REASONS[(name, mode)]
    response, session = case.run(fresh, mode)
    if expected == "request body too large":
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "invalid_request"
        return
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request" and body["error_description"]
    assert body["reason"] == expected, body
    if session is None:
        return
    result = fresh.result(session)
    if case.consumed or (mode == "direct_post" and name in CONSUMED_IN_PLAIN_MODE):
        assert result.status_code == 200, result.text
        assert result.json()["status"] == "refused"
        assert result.json()["reason"] == expected
    else:
        # not this session's response: the session stays open for the real wallet
        assert result.status_code == 202, result.text


def test_at_least_a_hundred_distinct_tamperings() -> None:
    """The issue asks for at least 100 tampered or replayed responses, each refused with its specific error: counted
    as distinct tamperings (not doubled by the response modes), each naming the reason it must be refused with."""
    assert len(CASES) >= 100
    assert all(case.reason or any((name, mode) in MODE_REASONS for mode in case.modes) for name, case in CASES.items())


@pytest.mark.parametrize("mode", MODES)
def test_concurrent_double_submission_one_wins(fresh: Env, mode: str) -> None:
    """Two identical responses at the same moment: the nonce is taken once — one verified, one refused."""
    created = fresh.create(response_mode=mode)
    wallet = fresh.wallet(fresh.credential())
    request = wallet.fetch_request(created["authorization_request"])
    form = response_form(request, wallet.presentations(request))
    answers: list[Any] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        answers.append(fresh.http.post(request.response_uri, data=form))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 400, 400, 400]
    assert {a.json()["reason"] for a in answers if a.status_code == 400} <= {"response_replayed", "session_finished"}
    assert fresh.result(created["session"]).json()["status"] == "verified"


def test_expired_session_is_unknown(fresh: Env) -> None:
    created = fresh.create()
    wallet = fresh.wallet(fresh.credential())
    request = wallet.fetch_request(created["authorization_request"])
    form = response_form(request, wallet.presentations(request))
    request_id = request.state
    assert request_id is not None
    fresh.service.store.delete("vp_session", request_id)  # what the store's expiry does
    answer = fresh.http.post(request.response_uri, data=form)
    assert answer.status_code == 400 and answer.json()["reason"] == "session_unknown"
