"""`govssi wallet present`: answer an OpenID4VP 1.0 request from the terminal (the command is declared in
:mod:`govssi.cli.wallet`; this module holds its logic).

Consent rules (OpenID4VP 1.0 §15.1: "Wallets SHOULD obtain explicit, informed consent from the End-User before
releasing any Verifiable Credential or Presentation to a Verifier, or returning an error"):

- ``--yes``: consent given in advance — send the presentation (or, when nothing matches, ``access_denied``).
- ``--decline``: send ``access_denied`` (§8.5) and nothing else.
- neither, on a terminal: show who asks, the purpose and every claim, then ask; "no" sends ``access_denied``.
- neither, without a terminal: print the same as JSON (``"status": "consent_required"``) and send nothing to the
  Verifier's Response URI; exit 1. (The Request Object was fetched to know who asks; verifiers hand it out once, so
  a new request is needed to answer.)

Which credentials: ``--use QUERY_ID=CREDENTIAL_ID``; default the first that matches. A Credential Query with
``multiple: true`` (§6.1 "whether multiple Credentials can be returned for this Credential Query") is answered with
every matching credential by default — the Verifier asked for all of that kind, and they are listed (``disclosed``,
or ``would_disclose`` without consent) like every other claim — and ``--use`` repeated for that query picks exactly
those; several ``--use`` for a query without ``multiple`` are a usage error (§8.1: "the array MUST contain only one
Presentation").

``access_denied`` is the same for "nothing matches" and "the user said no", without a description (§15.4.1, §15.9).
An authenticated verifier's request that breaks a parameter rule (§8.2 ``redirect_uri`` with ``direct_post``, §8.4
``transaction_data``) is answered with ``invalid_request`` when ``--yes`` or ``--decline`` was given.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from govssi.cli._output import emit, usage_error
from ssi.errors import DcqlError
from ssi.oid4vp import AnswerableInvalidRequest

if TYPE_CHECKING:
    from ssi.dcql import Selection
    from wallet_sim.oid4vp import Proposal, ResolvedRequest
    from wallet_sim.wallet import Wallet

__all__ = ["VERIFIER_CA_ENV", "run_present", "verifier_policy"]

VERIFIER_CA_ENV = "GOVSSI_WALLET_VERIFIER_CA"


def _say(line: str) -> None:
    sys.stderr.write(line.rstrip() + "\n")


def verifier_policy(ca_files: Sequence[Path]) -> Any:
    """Whom the wallet trusts to sign requests: the CAs of ``--verifier-ca`` / GOVSSI_WALLET_VERIFIER_CA (x509
    prefixes), DIDs resolvable without a network (did:key, did:jwk) and did:ethr on GOVSSI_CHAIN_RPC; the unsigned
    ``redirect_uri`` prefix and plain HTTP to loopback only with GOVSSI_DEV_ALLOW_HTTP."""
    from ssi.did import default_resolver
    from ssi.oid4vp import WalletRequestPolicy
    from ssi.x509 import load_pem_certificates
    from wallet_sim.wallet import dev_http_allowed

    paths = list(ca_files)
    paths += [Path(p) for p in os.environ.get(VERIFIER_CA_ENV, "").split(os.pathsep) if p.strip()]
    anchors = [cert for path in paths for cert in load_pem_certificates(path.read_bytes())]
    resolver = default_resolver()
    client = _chain_client()
    if client is not None:
        from ledger.bootstrap import addresses_from_env
        from ledger.did_ethr import EthrDidDriver

        resolver.register(EthrDidDriver({client.chain_id: (client.w3, addresses_from_env().did_registry)}))
    dev = dev_http_allowed()
    return WalletRequestPolicy(
        x509_anchors=anchors, did_resolver=resolver, allow_http_loopback=dev, allow_redirect_uri=dev
    )


def _chain_client() -> Any:
    """The chain on GOVSSI_CHAIN_RPC (comma-separated URLs), or ``None``."""
    rpc = os.environ.get("GOVSSI_CHAIN_RPC", "").strip()
    if not rpc:
        return None
    from govssi.cli._chain import chain_client

    return chain_client([url.strip() for url in rpc.split(",") if url.strip()], timeout=15.0)


def chain_authorities() -> Any:
    """DCQL ``trusted_authorities`` of type ``govssi_chain_accreditation`` checked against the trusted-issuer
    registry on GOVSSI_CHAIN_RPC (GOVSSI_TRUSTED_ISSUER_REGISTRY); ``None`` without a chain (the type never
    matches then, :mod:`wallet_sim.oid4vp.trust`)."""
    client = _chain_client()
    if client is None:
        return None
    from ledger.bootstrap import addresses_from_env
    from ledger.trust import TrustRegistry
    from wallet_sim.oid4vp.trust import chain_authorities as matchers

    registry = TrustRegistry(client, addresses_from_env().trusted_issuer_registry)
    return matchers({f"eip155:{client.chain_id}:{registry.address}": registry})


def _parse_use(items: Sequence[str]) -> dict[str, list[str]]:
    """``--use`` items by Credential Query, in order (several for one query: a ``multiple`` query's choice)."""
    out: dict[str, list[str]] = {}
    for item in items:
        query_id, sep, credential_id = item.partition("=")
        if not sep or not query_id.strip() or not credential_id.strip():
            usage_error(f"--use takes QUERY_ID=CREDENTIAL_ID, not {item!r}")
        out.setdefault(query_id.strip(), []).append(credential_id.strip())
    return out


def _choice(
    proposal: Proposal, disclose: Sequence[str], use: dict[str, list[str]]
) -> tuple[list[str], dict[str, list[str]]]:
    """``--disclose`` items: ids of Credential Queries answered only when chosen (optional sets, alternatives), or
    optional claims (claim ids or dotted paths) of a Credential Query. Anything else is a usage error."""
    include: list[str] = []
    claims: dict[str, list[str]] = {}
    queries = proposal.queries()
    for item in disclose:
        if any(q.query_id == item and not q.default for q in queries):
            include.append(item)
            continue
        found = False
        for query in queries:
            try:
                used = proposal.candidates_for(query.query_id, use.get(query.query_id))
                choices = [c for credential_id in used for c in proposal.claims(query.query_id, credential_id)]
            except DcqlError:  # an unknown --use credential, several without multiple: reported by choose()
                choices = []
            for claim in choices:
                if not claim.required and item in (claim.claim_id, _path(claim.path)):
                    if item not in claims.get(query.query_id, []):
                        claims.setdefault(query.query_id, []).append(item)
                    found = True
        if not found:
            usage_error(f"--disclose {item!r} names no optional credential query or optional claim of this request")
    return include, claims


def _path(path: Sequence[Any]) -> str:
    from wallet_sim.oid4vp import path_text

    return path_text(path)


def _summary(resolved: ResolvedRequest, lang: str) -> dict[str, Any]:
    verifier = resolved.verifier
    return {
        "verifier": {
            "client_id": verifier.client_id,
            "name": verifier.name,
            "prefix": verifier.prefix,
            "authenticated": verifier.authenticated,
        },
        "purposes": resolved.purposes_in(lang),
        "response_uri_host": resolved.response_host,
        "response_mode": resolved.request.response_mode,
    }


def _optional(proposal: Proposal, selection: Selection) -> dict[str, Any]:
    """What the user could still add with ``--disclose``."""
    queries = [q.query_id for q in proposal.queries() if not q.default and q.query_id not in selection.presentations]
    claims: dict[str, list[str]] = {}
    for query_id, items in selection.presentations.items():
        for match, option in items:
            for claim in proposal.claims(query_id, proposal.credential_id(match.credential)):
                if not claim.required and claim.claim_id not in option.claim_ids:
                    claims.setdefault(query_id, []).append(claim.name)
    return {"credential_queries": queries, "claims": claims}


def _show(
    wallet: Wallet, summary: dict[str, Any], disclosed: dict[str, Any], optional: dict[str, Any], lang: str
) -> None:
    verifier = summary["verifier"]
    checked = "geprüft" if lang == "de" else "verified"
    if not verifier["authenticated"]:
        checked = "NICHT geprüft (nur Entwicklung)" if lang == "de" else "NOT verified (development only)"
    _say(f"{verifier['name']} ({verifier['prefix']}: {checked}) {'fragt an' if lang == 'de' else 'asks'}:")
    for purpose in summary["purposes"]:
        _say(f"  {'Zweck' if lang == 'de' else 'Purpose'}: {purpose}")
    for query_id, items in disclosed.items():
        for item in items:
            stored = wallet.credential(item["credential"])
            paths = ", ".join(_path(path) for path in item["claims"]) or "—"
            _say(f"  {query_id}: {stored.name(lang)} ({stored.issuer_name(lang)}): {paths}")
    if optional["credential_queries"] or optional["claims"]:
        names = optional["credential_queries"] + [n for v in optional["claims"].values() for n in v]
        _say(f"  optional, not sent unless --disclose: {', '.join(names)}")
    _say(f"  → {summary['response_uri_host']}")


def run_present(
    wallet_dir_options: Any,
    open_wallet: Any,
    authorization_request: str,
    *,
    yes: bool,
    decline: bool,
    disclose: str | None,
    use: Sequence[str],
    verifier_ca: Sequence[Path],
    interactive: bool,
) -> None:
    from wallet_sim.oid4vp import PresentationClient, propose
    from wallet_sim.oid4vp import present as send

    lang = wallet_dir_options.lang
    if yes and decline:
        usage_error("--yes and --decline exclude each other")
    items = [item.strip() for item in (disclose or "").split(",") if item.strip()]
    credentials = _parse_use(use)
    policy = verifier_policy(verifier_ca)
    with open_wallet(wallet_dir_options) as wallet, PresentationClient(policy) as client:
        try:
            resolved = client.resolve(authorization_request)
        except AnswerableInvalidRequest as exc:
            # §8.2/§8.4: an authenticated verifier's invalid request is answered with invalid_request — after
            # consent to answer at all (--yes or --decline), like every response (§15.1)
            if not (yes or decline):
                raise
            outcome = client.report_invalid(exc)
            emit(
                {
                    "error": exc.reason,
                    "error_description": exc.description,
                    "reported_to_verifier": outcome.to_json() if outcome else None,
                }
            )
            _say(f"govssi: the verifier's request is invalid ({exc.description}); the verifier was told")
            raise typer.Exit(1) from None
        summary = _summary(resolved, lang)
        if decline:
            emit({**summary, **client.decline(resolved).to_json()})
            return
        proposal = propose(wallet, resolved, authorities=chain_authorities())
        if not proposal.satisfiable:
            _say(
                f"{resolved.verifier.name}: "
                + ("kein passender Nachweis" if lang == "de" else "no matching credential")
            )
            if not yes and not (interactive and typer.confirm("Dem Prüfer absagen? / Tell the verifier?", err=True)):
                emit({**summary, "status": "no_matching_credentials", "sent": False})
                raise typer.Exit(1)
            outcome = client.decline(resolved)  # the same access_denied as "no" (§15.4.1)
            emit({**summary, "status": "no_matching_credentials", "sent": True, "verifier_answer": outcome.to_json()})
            _say("govssi: the wallet holds nothing that satisfies this request; the verifier was told (access_denied)")
            raise typer.Exit(1)
        include, claims = _choice(proposal, items, credentials)
        try:
            selection = proposal.choose(include=include, credentials=credentials, disclose=claims)
        except DcqlError as exc:  # names what the verifier accepts
            usage_error(exc.description)
        disclosed = proposal.describe(selection)
        optional = _optional(proposal, selection)
        _show(wallet, summary, disclosed, optional, lang)
        if not yes:
            if not interactive:
                emit({**summary, "status": "consent_required", "would_disclose": disclosed, "optional": optional})
                _say("govssi: nothing was sent; consent is needed (--yes), and the verifier needs a new request")
                raise typer.Exit(1)
            if not typer.confirm("Senden? / Send?", default=False, err=True):
                emit({**summary, **client.decline(resolved).to_json()})
                return
        outcome = send(wallet, client, proposal, selection)
        emit({**summary, "disclosed": disclosed, **outcome.to_json()})
        if outcome.status != "sent":
            _say(f"govssi: the verifier refused the presentation: {outcome.reason or outcome.error}")
            raise typer.Exit(1)
        _say("govssi: presented" + (f"; continue at {outcome.redirect_uri}" if outcome.redirect_uri else ""))
