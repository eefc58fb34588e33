"""The wallet's OpenID4VP 1.0 client: fetch and verify the request, match it to the credentials held, present.

1. **Request** (:meth:`PresentationClient.resolve`): the link (``openid4vp://``, ``haip://``) names the Request URI;
   with ``request_uri_method=post`` the wallet POSTs a fresh ``wallet_nonce`` (§5.10) and requires it back in the
   Request Object; the Request Object is verified by its Client Identifier Prefix (``ssi.oid4vp.wallet``: x509 trust
   anchors for ``x509_hash``/``x509_san_dns``, DID resolution for ``decentralized_identifier``; the unsigned
   ``redirect_uri`` prefix only when development allows it).
2. **Match** (:func:`propose`): every stored credential evaluated against the DCQL query (``ssi.dcql.evaluate``) —
   which credentials satisfy which Credential Query, which claims each would disclose, which queries are optional.
3. **Choose** (:meth:`Proposal.choose`): which credential answers each Credential Query, which optional Credential
   Queries (``credential_sets`` with ``required: false``, or another alternative of a set) are added, and which
   optional claims (claims of a ``claim_sets`` alternative that not every alternative contains) the user agrees to.
   Without a choice the wallet follows the Verifier's order of preference (§6.4.1 "the Wallet SHOULD return the
   first option that it can satisfy") for claims and leaves optional Credential Queries out. A Credential Query
   with ``multiple: true`` (§6.1: "whether multiple Credentials can be returned for this Credential Query"; §8.1
   the VP Token entry is then "an array of one or more Presentations") is answered by default with every matching
   credential — the Verifier asked for all of that kind, each is shown before consent and the user may keep fewer;
   without ``multiple`` exactly one.
4. **Present** (:meth:`PresentationClient.respond`): per chosen credential the first unused one-time copy, only the
   selected Disclosures, a KB-JWT signed in the secure element (``aud`` = the full Client Identifier, ``nonce``);
   ``direct_post`` or ``direct_post.jwt`` (encrypted to the verifier's per-request key); the copies used are
   retired. Declining or having nothing that matches sends the error response ``access_denied`` (§8.5) — the same
   response in both cases, without a description (§15.4.1: the Verifier "cannot distinguish between the case where
   an End-User did not consent ... and the case where the claim value did not match"; §15.9: error responses
   "SHOULD avoid including sensitive or detailed contextual information").

Verifier endpoints are contacted like issuer endpoints: HTTPS only (plain HTTP to loopback in development), no
HTTP redirects followed (§5.10.1, §8.2), bounded answers, and no ``User-Agent`` naming the software (§15.8: "avoid
sending any additional HTTP headers identifying the software used for the request"). The ``redirect_uri`` a
Response URI returns is only passed on when it is an absolute ``https`` URL (``http`` to loopback in development).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ssi.dcql import (
    AuthorityMatcher,
    ClaimOption,
    CredentialDescription,
    CredentialMatch,
    Evaluation,
    Selection,
    describe_sd_jwt,
    evaluate,
)
from ssi.encoding import json_loads
from ssi.errors import DcqlError, EncodingError, FetchError, InvalidRequestObject, Oid4vpError, SsiError
from ssi.oid4vci import check_https_url
from ssi.oid4vp import (
    REQUEST_OBJECT_MEDIA_TYPE,
    AnswerableInvalidRequest,
    AuthorizationRequest,
    AuthorizationRequestLink,
    VerifierIdentity,
    WalletRequestPolicy,
    choose_encryption,
    error_response_form,
    parse_authorization_request_link,
    request_uri_post_form,
    response_form,
    verify_request_object,
    verify_unsigned_request,
)

if TYPE_CHECKING:
    from wallet_sim.wallet import Wallet

__all__ = [
    "ClaimChoice",
    "PresentationClient",
    "PresentationOutcome",
    "Proposal",
    "QueryChoice",
    "ResolvedRequest",
    "WALLET_METADATA",
    "path_text",
    "present",
    "propose",
    "safe_redirect_uri",
]

MAX_ANSWER = 256 * 1024
#: What this wallet supports (§10.1), sent with ``request_uri_method=post``.
WALLET_METADATA: dict[str, Any] = {
    "vp_formats_supported": {
        "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]},
        # B.1.3.2.3: proof_type_values / cryptosuite_values (bbs-2023 derived credentials, wallet_sim/ldp_vc.py)
        "ldp_vc": {"proof_type_values": ["DataIntegrityProof"], "cryptosuite_values": ["bbs-2023"]},
    },
    "client_id_prefixes_supported": ["x509_hash", "x509_san_dns", "decentralized_identifier"],
    "authorization_encryption_alg_values_supported": ["ECDH-ES"],
    "authorization_encryption_enc_values_supported": ["A128GCM", "A256GCM"],
    "request_object_signing_alg_values_supported": ["ES256"],
}


@dataclass(frozen=True)
class ResolvedRequest:
    """A verified Authorization Request and who sent it."""

    request: AuthorizationRequest
    verifier: VerifierIdentity
    link: AuthorizationRequestLink

    @property
    def purposes(self) -> list[str]:
        """The ``purpose`` texts of the Credential Set Queries (shown to the user; not defined by OpenID4VP 1.0)."""
        return self.purposes_in("de")

    def purposes_in(self, lang: str) -> list[str]:
        """``credential_sets[].purpose`` as drafts 23-25 defined it (§6.2 there: "A string, number or object
        specifying the purpose of the query ... The Wallet MAY use this information to show the user the reason for
        the request"; removed before 1.0 final, openid/OpenID4VP#518, yet still sent — govssi's verifier puts its
        presets' purpose there, ``verifier.presets.with_purpose``) — strings and numbers as they are; an object is
        read as texts by language tag (``lang``, else ``en``, else the first string)."""
        out: list[str] = []
        for cs in self.request.dcql_query.credential_sets or ():
            purpose = cs.purpose
            if isinstance(purpose, bool) or purpose is None:
                continue
            if isinstance(purpose, str | int | float):
                text = str(purpose)
            elif isinstance(purpose, dict):
                texts = {str(k).lower(): v for k, v in purpose.items() if isinstance(v, str)}
                text = texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")
            else:
                continue
            if text and text[:500] not in out:
                out.append(text[:500])
        return out

    @property
    def response_host(self) -> str:
        """Where the answer goes (the Response URI's host), for the consent screen."""
        return urlsplit(self.request.response_uri).netloc

    @property
    def encrypted(self) -> bool:
        return self.request.response_mode == "direct_post.jwt"


@dataclass(frozen=True)
class PresentationOutcome:
    """``sent`` (the verifier accepted: ``redirect_uri`` where to go next), ``declined`` (our error response was
    delivered), ``reported`` (our ``invalid_request`` about its request was delivered), or ``refused`` (the
    verifier answered with an error: ``error``, ``reason``)."""

    status: str
    redirect_uri: str | None = None
    error: str | None = None
    error_description: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class PresentationClient:
    """HTTP to verifiers and the protocol steps; ``policy`` says whom the wallet trusts."""

    def __init__(self, policy: WalletRequestPolicy, *, client: httpx.Client | None = None, timeout: float = 15.0):
        self.policy = policy
        self._own = client is None
        if client is None:
            client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
            # §15.8: "avoid sending any additional HTTP headers identifying the software used for the request"
            del client.headers["user-agent"]
        self._client = client

    def close(self) -> None:
        if self._own:
            self._client.close()

    def __enter__(self) -> PresentationClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, url: str, name: str, **kwargs: Any) -> httpx.Response:
        check_https_url(url, name, allow_http_loopback=self.policy.allow_http_loopback)
        try:
            with self._client.stream(method, url, **kwargs) as response:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER:
                        raise FetchError(f"the verifier's {name} answer is too large", reason="response_too_large")
                    chunks.append(chunk)
                response._content = b"".join(chunks)
        except httpx.HTTPError as exc:
            raise FetchError(
                f"the verifier is unreachable ({name}): {type(exc).__name__}", reason="verifier_unreachable"
            ) from None
        if 300 <= response.status_code < 400:
            raise FetchError(f"the verifier answered the {name} with a redirect", reason="unexpected_redirect")
        return response

    def resolve(self, link_text: str) -> ResolvedRequest:
        """Steps 1: the request by reference (or by value), verified (:mod:`ssi.oid4vp.wallet`)."""
        link = parse_authorization_request_link(link_text)
        if link.request_uri is None and link.request is None:
            verified = verify_unsigned_request(link, self.policy)
            return _answerable(ResolvedRequest(verified.request, verified.verifier, link))
        wallet_nonce = None
        if link.request is not None:
            token = link.request
        else:
            assert link.request_uri is not None
            headers = {"Accept": REQUEST_OBJECT_MEDIA_TYPE}
            if link.request_uri_method == "post":
                wallet_nonce = secrets.token_urlsafe(24)
                form = request_uri_post_form(wallet_nonce, WALLET_METADATA)
                answer = self._send("POST", link.request_uri, "request URI", data=form, headers=headers)
            else:
                answer = self._send("GET", link.request_uri, "request URI", headers=headers)
            # §5.10.2: "If the Verifier responds with any HTTP error response, the Wallet MUST terminate the process."
            if answer.status_code != 200:
                raise Oid4vpError(
                    f"the verifier's Request URI answered HTTP {answer.status_code}", reason="request_uri_error"
                )
            media = answer.headers.get("content-type", "").split(";")[0].strip().lower()
            if media != REQUEST_OBJECT_MEDIA_TYPE:
                raise Oid4vpError(
                    f"the Request Object must come as {REQUEST_OBJECT_MEDIA_TYPE} (§5.10.1)",
                    reason="request_wrong_media_type",
                )
            token = answer.text
        verified = verify_request_object(token, link, self.policy, wallet_nonce=wallet_nonce)
        return _answerable(ResolvedRequest(verified.request, verified.verifier, link))

    def _deliver(self, request: AuthorizationRequest, form: Mapping[str, str]) -> httpx.Response:
        return self._send("POST", request.response_uri, "response URI", data=dict(form))

    def respond(
        self, resolved: ResolvedRequest, vp_token: Mapping[str, Sequence[str | Mapping[str, Any]]]
    ) -> PresentationOutcome:
        answer = self._deliver(resolved.request, response_form(resolved.request, vp_token))
        return self._outcome(answer, "sent")

    def decline(
        self, resolved: ResolvedRequest, error: str = "access_denied", description: str | None = None
    ) -> PresentationOutcome:
        """§8.5 error response: ``access_denied`` — "The Wallet did not have the requested Credentials to satisfy the
        Authorization Request" or "The End-User did not give consent". Sent the same way for both and without a
        description unless the caller gives one (§15.4.1, §15.9); encrypted with ``direct_post.jwt`` (§8.3.1)."""
        form = error_response_form(resolved.request, error, description)
        return self._outcome(self._deliver(resolved.request, form), "declined")

    def report_invalid(self, error: InvalidRequestObject) -> PresentationOutcome | None:
        """§8.5 ``invalid_request`` to an authenticated Verifier whose signed request broke a parameter rule (§8.2
        "If the redirect_uri Authorization Request parameter is present when the Response Mode is direct_post, the
        Wallet MUST return an invalid_request Authorization Response error"; §8.4 unsupported ``transaction_data``),
        POSTed to its signed Response URI without encryption (§8.3.1: "If a Wallet is unable to generate an
        encrypted response, it MAY send an error response without encryption"). ``None`` — nothing sent — when the
        request is not answerable (not authenticated, or no safe Response URI)."""
        if not isinstance(error, AnswerableInvalidRequest):
            return None
        destination = error.destination
        form = error_response_form(None, error.code, error.description[:300], state=destination.state)
        return self._outcome(self._send("POST", destination.response_uri, "response URI", data=form), "reported")

    def _outcome(self, answer: httpx.Response, success: str) -> PresentationOutcome:
        return _outcome(answer, success, allow_http_loopback=self.policy.allow_http_loopback)


def _answerable(resolved: ResolvedRequest) -> ResolvedRequest:
    """A ``direct_post.jwt`` request must name a key the wallet can encrypt to (§8.3: a JWK with ``alg``, here a
    P-256 ``ECDH-ES`` key per HAIP 1.0, and an ``enc`` both support) — checked before the user is asked, so nothing
    is signed for a response that could not be sent (``Oid4vpError``: ``no_encryption_key``, ``unsupported_enc``)."""
    if resolved.request.response_mode == "direct_post.jwt":
        choose_encryption(resolved.request.client_metadata)
    return resolved


def safe_redirect_uri(value: Any, *, allow_http_loopback: bool = False) -> str | None:
    """The ``redirect_uri`` of a Response URI answer if the wallet may send the user agent there (§8.2: "an absolute
    URI as defined by RFC 3986 Section 4.3"): ``https`` with a host and no user information (``http`` to loopback
    only in development); anything else (``javascript:``, relative, custom schemes) is dropped."""
    if not isinstance(value, str) or not value or len(value) > 4096 or any(ord(c) < 0x21 for c in value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme == "https" or (allow_http_loopback and loopback and parts.scheme == "http"):
        return value
    return None


def _outcome(answer: httpx.Response, success: str, *, allow_http_loopback: bool = False) -> PresentationOutcome:
    body: Any = None
    try:
        body = json_loads(answer.content) if answer.content else None
    except EncodingError:
        body = None
    if answer.status_code == 200:
        # §8.2: "it MUST respond with an HTTP status code of 200 with Content-Type of application/json and a JSON
        # object"; redirect_uri OPTIONAL — "The Wallet MUST ignore any unrecognized parameters."
        redirect = body.get("redirect_uri") if isinstance(body, dict) else None
        safe = safe_redirect_uri(redirect, allow_http_loopback=allow_http_loopback)
        if redirect is not None and safe is None:
            return PresentationOutcome(success, reason="redirect_uri_refused")
        return PresentationOutcome(success, redirect_uri=safe)
    data = body if isinstance(body, dict) else {}
    return PresentationOutcome(
        "refused",
        error=str(data.get("error", f"http_{answer.status_code}"))[:64],
        error_description=str(data.get("error_description", ""))[:300] or None,
        reason=str(data["reason"])[:64] if isinstance(data.get("reason"), str) else None,
    )


# --- matching the wallet's credentials (§6.4) ---------------------------------------------------------------------


def path_text(path: Sequence[Any]) -> str:
    """A claim path as the user names it: ``address.locality``, ``nationalities.*`` (``null`` selects all)."""
    return ".".join("*" if part is None else str(part) for part in path)


@dataclass(frozen=True)
class ClaimChoice:
    """One claim of a Credential Query as the consent screen shows it: its claims query ``id`` (``claim_sets``
    need ids, §6.3), the query's ``path``, whether every alternative the credential can satisfy contains it
    (``required``) and whether the default (the Verifier's preferred alternative) discloses it."""

    claim_id: str | None
    path: tuple[Any, ...]
    required: bool
    default: bool

    @property
    def name(self) -> str:
        return self.claim_id or path_text(self.path)


@dataclass(frozen=True)
class QueryChoice:
    """One Credential Query the wallet can answer: ``required`` (every answer contains it; otherwise it is an
    optional Credential Query or another alternative of a Credential Set Query, added only when chosen),
    ``candidates`` (wallet credential ids that satisfy it, the default first), ``multiple`` (§6.1: several of them
    may be returned; by default all are)."""

    query_id: str
    required: bool
    default: bool
    candidates: tuple[str, ...]
    multiple: bool = False


@dataclass
class Proposal:
    """What the wallet could send: the evaluation of the query over its credentials (``credential_ids`` by
    description) and the selection it would make by default (the Verifier's preferences, required sets only)."""

    resolved: ResolvedRequest
    evaluation: Evaluation
    credential_ids: dict[int, str] = field(default_factory=dict)

    @property
    def satisfiable(self) -> bool:
        return self.evaluation.satisfiable

    # -- what can be chosen -----------------------------------------------------------------------------------------

    def _chosen_ids(self, include: Collection[str]) -> list[str]:
        """Credential Query ids answered (§6.4.2): all without ``credential_sets``; else per Credential Set Query the
        first satisfiable option containing an included id, or — for a required set — its first satisfiable one."""
        query = self.evaluation.query
        if query.credential_sets is None:
            return list(query.ids)
        chosen: list[str] = []
        for cs, satisfiable in zip(query.credential_sets, self.evaluation.satisfiable_options, strict=True):
            wanted = [i for i in satisfiable if set(include) & set(cs.options[i])]
            pick = wanted[0] if wanted else (satisfiable[0] if cs.required and satisfiable else None)
            if pick is not None:
                chosen.extend(i for i in cs.options[pick] if i not in chosen)
        return chosen

    def queries(self) -> list[QueryChoice]:
        """Every Credential Query the wallet could answer, for the consent screen (§6.4.3: the Wallet presents "a
        choice of which Credential(s) to present if multiple of the sets of Credentials in options can satisfy the
        request")."""
        default = set(self._chosen_ids(()))
        answerable: list[str] = []
        query = self.evaluation.query
        if query.credential_sets is None:
            answerable = list(query.ids)
        else:
            for cs, satisfiable in zip(query.credential_sets, self.evaluation.satisfiable_options, strict=True):
                for index in satisfiable:
                    answerable.extend(i for i in cs.options[index] if i not in answerable)
        required = self.evaluation.query.required_ids()
        return [
            QueryChoice(
                query_id,
                query_id in required,
                query_id in default,
                tuple(self.credential_id(m.credential) for m in self.evaluation.matches.get(query_id, ())),
                query.credential(query_id).multiple,
            )
            for query_id in answerable
            if self.evaluation.matches.get(query_id)
        ]

    def _match(self, query_id: str, credential_id: str | None) -> tuple[int, CredentialMatch]:
        matches = self.evaluation.matches.get(query_id, ())
        for index, match in enumerate(matches):
            if credential_id is None or self.credential_id(match.credential) == credential_id:
                return index, match
        raise DcqlError(
            f"credential {credential_id!r} does not answer credential query {query_id!r}", reason="dcql_bad_selection"
        )

    def claims(self, query_id: str, credential_id: str | None = None) -> list[ClaimChoice]:
        """The claims credential ``credential_id`` (default: the first that matches) would disclose for
        ``query_id``, required or optional (§6.4.1: ``claim_sets`` are alternatives; a claim not in every
        alternative the credential can satisfy is optional)."""
        _, match = self._match(query_id, credential_id)
        query = self.evaluation.query.credential(query_id)
        if query.claims is None:
            return []  # §6.4.1: only "the claims that are mandatory to present"
        if query.claim_sets is None:
            return [ClaimChoice(c.id, tuple(c.path), True, True) for c in query.claims]
        common = set.intersection(*(set(option.claim_ids) for option in match.options))
        out: list[ClaimChoice] = []
        for option in match.options:
            for claim_id in option.claim_ids:
                if claim_id is None or any(c.claim_id == claim_id for c in out):
                    continue
                preferred = claim_id in match.preferred.claim_ids
                out.append(ClaimChoice(claim_id, tuple(query.claim(claim_id).path), claim_id in common, preferred))
        return out

    def _option(self, query_id: str, match: CredentialMatch, consented: Collection[str] | None) -> ClaimOption:
        """The claim alternative to disclose: the Verifier's preferred one (§6.4.1) without a choice, else the first
        alternative (in the Verifier's order) whose optional claims the user all consented to."""
        if consented is None:
            return match.preferred
        query = self.evaluation.query.credential(query_id)
        for option in match.options:
            optional = [
                claim_id
                for claim_id in option.claim_ids
                if claim_id is not None and not all(claim_id in o.claim_ids for o in match.options)
            ]
            if all(c in consented or path_text(query.claim(c).path) in consented for c in optional):
                return option
        alternatives = " | ".join(
            ",".join(str(c) for c in option.claim_ids if c is not None) for option in match.options
        )
        raise DcqlError(
            f"the verifier accepts for {query_id!r} only one of these claim combinations: {alternatives}",
            reason="dcql_bad_selection",
        )

    def candidates_for(self, query_id: str, chosen: str | Sequence[str] | None = None) -> list[str]:
        """The wallet credential ids that answer ``query_id``: ``chosen`` (one id, or several for a ``multiple``
        query; repeats dropped), else the default — every match of a ``multiple`` query (§6.1), the first of any
        other. Choosing none, or several without ``multiple`` (§8.1: "When multiple is omitted, or set to false, the
        array MUST contain only one Presentation"), is ``DcqlError`` (``dcql_bad_selection``)."""
        matches = self.evaluation.matches.get(query_id, ())
        multiple = self.evaluation.query.credential(query_id).multiple
        if chosen is None:
            ids = [self.credential_id(m.credential) for m in matches]
            return ids if multiple else ids[:1]
        picked = [chosen] if isinstance(chosen, str) else list(dict.fromkeys(chosen))
        if not picked:
            raise DcqlError(f"choose at least one credential for {query_id!r}", reason="dcql_bad_selection")
        if len(picked) > 1 and not multiple:
            raise DcqlError(f"credential query {query_id!r} takes one credential", reason="dcql_bad_selection")
        return picked

    def choose(
        self,
        *,
        include: Collection[str] = (),
        credentials: Mapping[str, str | Sequence[str]] | None = None,
        disclose: Mapping[str, Collection[str]] | None = None,
    ) -> Selection:
        """The user's choice: ``include`` — optional Credential Query ids (or ids of another alternative of a
        Credential Set Query) to answer too; ``credentials`` — per Credential Query the wallet credential id to use,
        or several for a ``multiple`` query (default: :meth:`candidates_for`); ``disclose`` — per Credential Query
        the optional claims (claim ids or dotted paths) the user agrees to, for each credential presented (default:
        the Verifier's preferred alternative). An id that names nothing the wallet can answer is ``DcqlError``
        (``dcql_bad_selection``); the result is checked like a Verifier would (:meth:`ssi.dcql.Evaluation.select`)."""
        if not self.satisfiable:
            raise DcqlError("the wallet holds no credentials that satisfy the query", reason="dcql_unsatisfiable")
        answerable = {q.query_id for q in self.queries()}
        for query_id in include:
            if query_id not in answerable:
                raise DcqlError(
                    f"{query_id!r} is no credential query this wallet can answer", reason="dcql_bad_selection"
                )
        chosen = self._chosen_ids(include)
        for query_id in [*(credentials or {}), *(disclose or {})]:
            if query_id not in chosen:
                raise DcqlError(f"credential query {query_id!r} is not answered", reason="dcql_bad_selection")
        choice: dict[str, list[int]] = {}
        options: dict[tuple[str, int], int] = {}
        for query_id in chosen:
            choice[query_id] = []
            for credential_id in self.candidates_for(query_id, (credentials or {}).get(query_id)):
                index, match = self._match(query_id, credential_id)
                option = self._option(query_id, match, (disclose or {}).get(query_id))
                choice[query_id].append(index)
                options[(query_id, index)] = match.options.index(option)
        return self.evaluation.select(choice, options=options)

    def selection(self, *, include: Sequence[str] = ()) -> Selection:
        """The default selection plus the optional Credential Queries named in ``include`` (their ids)."""
        return self.choose(include=include)

    def credential_id(self, description: CredentialDescription) -> str:
        return self.credential_ids[id(description)]

    def describe(self, selection: Selection) -> dict[str, list[dict[str, Any]]]:
        """What each chosen credential discloses (for the consent screen and the JSON output)."""
        return {
            query_id: [
                {
                    "credential": self.credential_id(match.credential),
                    "claims": [list(path) for path in option.paths],
                    "vct": match.credential.vct,
                }
                for match, option in items
            ]
            for query_id, items in selection.presentations.items()
        }


def propose(
    wallet: Wallet, resolved: ResolvedRequest, *, authorities: Mapping[str, AuthorityMatcher] | None = None
) -> Proposal:
    """Step 2: evaluate the request's DCQL query over the wallet's SD-JWT VCs with unused copies (expired ones are
    left out: a verifier would refuse them). ``authorities``: matchers for ``trusted_authorities`` types other than
    ``aki`` (:func:`wallet_sim.oid4vp.trust.chain_authorities`); without one such a type never matches."""
    descriptions = []
    ids: dict[int, str] = {}
    now = wallet.clock()
    for stored in wallet.credentials():
        if stored.format == "ldp_vc" and not stored.is_expired(now):  # bbs-2023: reusable (wallet_sim/ldp_vc.py)
            from wallet_sim.ldp_vc import describe_stored

            ldp = describe_stored(wallet, stored)
            ids[id(ldp)] = stored.id
            descriptions.append(ldp)
            continue
        if stored.format != "dc+sd-jwt" or stored.is_expired(now) or not stored.unused:
            continue
        held = wallet.presentation_material(stored.id).held
        description = describe_sd_jwt(held, handle=stored.id)
        ids[id(description)] = stored.id
        descriptions.append(description)
    return Proposal(resolved, evaluate(resolved.request.dcql_query, descriptions, authorities=authorities), ids)


def present(
    wallet: Wallet, client: PresentationClient, proposal: Proposal, selection: Selection
) -> PresentationOutcome:
    """Step 3: build the VP Token from fresh one-time copies, send it, and retire the copies that were sent."""
    request = proposal.resolved.request
    vp_token: dict[str, list[str | Mapping[str, Any]]] = {}
    used: list[str] = []
    for query_id, items in selection.presentations.items():
        for match, option in items:
            if match.credential.format == "ldp_vc":  # a fresh derived proof, nothing to retire
                from wallet_sim.ldp_vc import held_document, present_ldp_vc

                document = held_document(wallet, proposal.credential_id(match.credential))
                presented = present_ldp_vc(document, option.paths, nonce=request.nonce, client_id=request.client_id)
                vp_token.setdefault(query_id, []).append(presented)
                continue
            material = wallet.presentation_material(proposal.credential_id(match.credential))
            vp_token.setdefault(query_id, []).append(
                material.held.present(
                    option.paths,
                    holder=material.signer,
                    audience=request.client_id,  # §14.8 "Always Use the Full Client Identifier"
                    nonce=request.nonce,
                    clock=wallet.clock,
                )
            )
            used.append(material.instance_id)
    try:
        outcome = client.respond(proposal.resolved, vp_token)
    finally:
        # sent is sent: a copy that left the wallet is never presented again, whatever the verifier answered
        for instance_id in used:
            with contextlib.suppress(SsiError):
                wallet.mark_used(instance_id)
    return outcome
