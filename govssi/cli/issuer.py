"""`govssi issuer`: The OpenID4VCI credential issuer: serve it, and the clerk's commands against a running issuer.

- ``serve [--port P] [--host H] [--no-chain | --chain auto|poa]``: the issuer (``issuer.create_app``) under uvicorn.
  The chain is ``GOVSSI_CHAIN_RPC`` or, without it, a local chain node started in-process on 127.0.0.1 (data in
  ``$GOVSSI_DATA_DIR/chain``); with ``--chain poa`` every node of the PoA network that ``govssi ledger network`` runs
  from ``$GOVSSI_DATA_DIR/poa`` (failover), where govssi's contracts are deployed at their development addresses if
  they are missing. On a Clique network (``--chain poa``, or its URLs in ``GOVSSI_CHAIN_RPC``) transactions count
  once they are final (``ledger.client.finality``). The public base URL is ``GOVSSI_ISSUER_PUBLIC_URL`` (HTTPS), or
  ``http://127.0.0.1:<port>`` when ``GOVSSI_DEV_ALLOW_HTTP=1``. On the first start with an empty database the demo
  authority is created; its API key comes from ``GOVSSI_ISSUER_BOOTSTRAP_KEY`` or is generated and printed once
  (``bootstrap_api_key`` in the ready line).
- ``offer --url ISSUER_URL --type TYPE --claims F.json [--tx-code]``: a clerk's offer; API key from
  ``GOVSSI_API_KEY`` or ``--api-key-file`` (never on the command line). Prints ``{"offer_uri", "tx_code", ...}``.
- ``make-ca [--dir D]``: a demo CA (``ca.pem``, ``ca.key.json``; encrypted with ``GOVSSI_KEY_PASSPHRASE`` when set)
  and, with ``--issuer-key`` and ``--issuer-url``, an issuer certificate chain for that key.
- ``credentials --url U [--type T] [--status S] [--offer O] [--limit N]``: issued credentials (metadata only).
- ``revoke|suspend|unsuspend --url U --credential ID``: change a credential's status (published within the
  issuer's publication window); exit 1 when the issuer refuses (e.g. unsuspending a revoked credential).
- ``status-list --url U --credential ID``: the status list URI and index of a credential, and its status.
- ``after-restore [--database-url URL] [--public-url U] [--skip-lists N]``: run once on a restored database before
  the issuer starts (``issuer.restore``: a fresh status list per authority, open offers withdrawn, every list
  re-published and re-anchored); prints what it did. docs/operations.md.
- ``audit verify [--database-url URL] [--head SEQ:HASH]``: recompute the audit log's hash chain
  (``infra.audit.verify_audit_log``) in the issuer's database; exit 1 when it does not verify.

The clerk's commands take the API key from ``GOVSSI_API_KEY`` or ``--api-key-file`` (never from the command line) and
talk HTTPS (plain HTTP only to loopback). Their output is one JSON object — a stable interface for scripts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from govssi.cli._output import emit, fail, guarded, usage_error

app = typer.Typer(
    help="The OpenID4VCI credential issuer: serve it, and the clerk's commands against a running issuer.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The issuer's hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

API_KEY_ENV = "GOVSSI_API_KEY"


@app.command("serve")
@guarded
def serve(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free port).")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (behind a TLS proxy in production).")] = (
        "127.0.0.1"
    ),
    no_chain: Annotated[
        bool, typer.Option("--no-chain", help="Run without a chain (no DID anchoring, accreditation unknown).")
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes (uvicorn) sharing the socket.")
    ] = 1,
    chain_kind: Annotated[
        str,
        typer.Option(
            "--chain",
            help="auto: GOVSSI_CHAIN_RPC, else an in-process local node; poa: the PoA network of `govssi ledger "
            "network` in $GOVSSI_DATA_DIR/poa (every node's URL, failover; govssi's contracts deployed there if "
            "missing).",
        ),
    ] = "auto",
) -> None:
    """Serve the credential issuer until SIGTERM or Ctrl-C; print one JSON line when it is ready."""

    import uvicorn

    from infra.http import configure_json_logging
    from issuer import IssuerSettings, build_issuer, create_app

    if chain_kind not in ("auto", "poa"):
        usage_error("--chain is auto or poa")
    if chain_kind == "poa" and no_chain:
        usage_error("--chain poa and --no-chain exclude each other")
    configure_json_logging()
    settings = IssuerSettings()
    sock = listening_socket(host)
    try:
        sock.bind((host, port))
    except OSError as exc:
        fail("address_in_use", f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    port = int(sock.getsockname()[1])
    if not settings.public_url:
        if not settings.dev_allow_http:
            usage_error("set GOVSSI_ISSUER_PUBLIC_URL (https://…), or GOVSSI_DEV_ALLOW_HTTP=1 for http://127.0.0.1")
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    closers: list[Any] = []
    try:
        chain, chain_report, anchoring = (
            (None, {"configured": False}, None) if no_chain else _chain(settings, closers, poa=chain_kind == "poa")
        )
        # The parent migrates, creates the demo authority and anchors the DIDs once; workers find it all done.
        service = build_issuer(settings, chain=chain, anchoring=anchoring)
        ready = {
            "issuer_url": settings.public_url,
            "credential_issuers": [
                service.context.credential_issuer(a.slug) for a in service.context.storage.authorities()
            ],
            "chain": chain_report,
            "workers": workers,
        }
        if service.bootstrap is not None and service.bootstrap.api_key is not None:
            ready["bootstrap_api_key"] = service.bootstrap.api_key

        async def announce() -> None:
            sys.stdout.write(json.dumps(ready) + "\n")
            sys.stdout.flush()
            sys.stderr.write(f"govssi: issuer at {settings.public_url} (listening on {host}:{port})\n")
            sys.stderr.flush()

        if workers == 1:
            config = uvicorn.Config(
                create_app(settings, issuer=service), log_level="warning", access_log=False, lifespan="on"
            )
            _run(uvicorn.Server(config), sock, announce)
        else:
            service.check_chain()
            _run_workers(settings, chain_report, workers, sock, announce)
    finally:
        for close in reversed(closers):
            close()
    sys.stderr.write("govssi: issuer stopped\n")


def listening_socket(host: str) -> Any:
    """The TCP socket ``serve`` listens on. Its protocol is given as ``IPPROTO_TCP``: asyncio sets ``TCP_NODELAY`` on
    an accepted connection only when the socket says so (``asyncio.base_events._set_nodelay``), and accepted sockets
    inherit the listener's. Without it every response after the first on a keep-alive connection waited for the
    client's delayed ACK (Nagle's algorithm; about 40 ms on Linux)."""
    import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


#: Set by ``serve --workers`` for its worker processes (spawned: they start from the environment).
_WORKER_ENV = "GOVSSI_ISSUER_WORKER_CHAIN"


def _run_workers(settings: Any, chain_report: dict[str, Any], workers: int, sock: Any, announce: Any) -> None:
    """uvicorn's supervisor with ``workers`` spawned processes on the bound socket; ready when all answer."""
    import asyncio
    import threading
    import time
    import urllib.request

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ["GOVSSI_ISSUER_PUBLIC_URL"] = settings.public_url
    os.environ[_WORKER_ENV] = json.dumps(
        {k: chain_report.get(k) for k in ("rpc", "did_registry", "status_anchor")} if chain_report.get("rpc") else {}
    )
    config = uvicorn.Config(
        "govssi.cli.issuer:worker_app",
        factory=True,
        workers=workers,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    host, port = sock.getsockname()[:2]

    def wait_ready() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2):
                    asyncio.run(announce())
                    return
            except OSError:
                time.sleep(0.1)

    threading.Thread(target=wait_ready, name="issuer-ready", daemon=True).start()
    Multiprocess(config, sockets=[sock]).run()


def worker_app() -> Any:
    """The ASGI app of one ``serve --workers`` process: settings from the environment, the chain the parent chose."""
    from govssi.cli._chain import chain_client
    from infra.http import configure_json_logging
    from issuer import IssuerChain, IssuerSettings, LedgerStatusAnchoring, build_issuer, create_app

    configure_json_logging()
    settings = IssuerSettings()
    chosen = json.loads(os.environ.get(_WORKER_ENV) or "{}")
    chain, anchoring = None, None
    if chosen.get("rpc"):
        from issuer.chain import accreditation_registry

        client = chain_client(list(chosen["rpc"]), timeout=30.0, confirmations=None)
        chain = IssuerChain(client, chosen["did_registry"], accreditation_registry(client))
        if chosen.get("status_anchor"):
            anchoring = LedgerStatusAnchoring(client, chosen["status_anchor"])
    return create_app(settings, issuer=build_issuer(settings, chain=chain, anchoring=anchoring))


def _run(server: Any, sock: Any, announce: Any) -> None:
    from govssi.cli._serving import serve_announced

    serve_announced(server, sock, announce)


def _chain(settings: Any, closers: list[Any], *, poa: bool = False) -> tuple[Any, dict[str, Any], Any]:
    """The chain for DID anchoring, accreditation and status-list anchoring: with ``poa`` the PoA network in
    ``<data dir>/poa`` (its contracts bootstrapped if missing), else ``GOVSSI_CHAIN_RPC``, else an in-process local
    node on 127.0.0.1 with govssi's contracts at their development addresses. Transactions count once final: on a
    Clique network at its finality depth (``ledger.client.finality``), elsewhere when mined."""
    from govssi.cli._chain import chain_client
    from infra.db import create_engine
    from issuer import IssuerChain, LedgerStatusAnchoring, NoStatusAnchoring, did_registry_address
    from issuer.chain import accreditation_registry
    from issuer.storage import IssuerStorage

    urls = settings.chain_rpc_urls()
    report: dict[str, Any] = {"configured": True}
    if poa:
        from ledger.poa.bootstrap import bootstrap_network
        from ledger.poa.network import network_urls

        network_dir = settings.data_dir / "poa"  # the network of `govssi ledger network` (its default directory)
        urls = network_urls(network_dir)
        bootstrap_network(urls, network_dir)
        report["network"] = "poa"
        report["network_dir"] = str(network_dir)
    elif not urls:
        from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer

        directory = settings.data_dir / "chain"  # the local chain of `govssi ledger node` (one user at a time)
        local = LocalChain.open(directory)
        closers.append(local.close)
        node = RpcServer(JsonRpcHandler(EthereumApi(local)), 0)
        node.start()
        closers.append(node.stop)
        urls = [node.url]
        report["in_process_node"] = node.url
        report["data_dir"] = str(directory)
    client = chain_client(urls, timeout=30.0, confirmations=None)
    closers.append(client.close)
    if "in_process_node" in report:
        # The in-process chain gets govssi's contracts and the demo cooperative at their development addresses
        # (ledger.bootstrap), so GOVSSI_DID_REGISTRY / GOVSSI_TRUSTED_ISSUER_REGISTRY / GOVSSI_STATUS_ANCHOR defaults
        # find them.
        from ledger.bootstrap import bootstrap_development_chain

        bootstrap_development_chain(client, directory)
    storage = IssuerStorage(create_engine(settings.effective_database_url()))
    storage.migrate()
    registry = did_registry_address(client, settings.did_registry or _dev_did_registry(client), storage)
    accreditation = accreditation_registry(client)
    anchor = _status_anchor(client, settings)
    anchoring = LedgerStatusAnchoring(client, anchor) if anchor else NoStatusAnchoring("no status-list anchor")
    report.update(
        {
            "rpc": urls,
            "chain_id": client.chain_id,
            "did_registry": registry,
            "accreditation": accreditation.source,
            "status_anchor": anchor,
        }
    )
    return IssuerChain(client, registry, accreditation), report, anchoring


def _dev_did_registry(client: Any) -> str | None:
    """The development deployment's DID registry (ledger.bootstrap) when it is on this chain."""
    from ledger.bootstrap import addresses_from_env

    address = addresses_from_env().did_registry
    return address if client.code(address) else None


def _status_anchor(client: Any, settings: Any) -> str | None:
    """``GOVSSI_STATUS_ANCHOR``, else the development deployment's anchor when it is on this chain."""
    from ledger.bootstrap import addresses_from_env

    if settings.status_anchor:
        return str(settings.status_anchor)
    address = addresses_from_env().status_anchor
    return str(address) if client.code(address) else None


def _api_key(api_key_file: Path | None) -> str:
    if api_key_file is not None:
        from govssi.cli._files import read_text

        key = read_text(api_key_file).strip()
    else:
        key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        usage_error(f"the API key comes from ${API_KEY_ENV} or --api-key-file (never from the command line)")
    return key


def _check_issuer_url(url: str) -> str:
    from ssi.oid4vci import is_loopback_host

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        usage_error("--url must be the credential issuer URL (https://host/issuers/<authority>)")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        usage_error("--url must use https (plain http only to 127.0.0.1 / localhost): the API key travels with it")
    return url.rstrip("/")


@app.command("offer")
@guarded
def offer(
    url: Annotated[str, typer.Option("--url", help="The credential issuer URL (…/issuers/<authority>).")],
    type_id: Annotated[str, typer.Option("--type", help="Credential type (credential configuration id).")],
    claims: Annotated[Path, typer.Option("--claims", help="JSON file with the claim values.")],
    tx_code: Annotated[
        bool, typer.Option("--tx-code", help="Require a transaction code (handed to the citizen separately).")
    ] = False,
    tx_code_length: Annotated[
        int | None, typer.Option("--tx-code-length", min=4, max=12, help="Digits of the transaction code.")
    ] = None,
    api_key_file: Annotated[
        Path | None, typer.Option("--api-key-file", help=f"File holding the API key \\[default: ${API_KEY_ENV}].")
    ] = None,
    qr_svg: Annotated[Path | None, typer.Option("--qr-svg", help="Also write the offer's QR code (SVG) here.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the issuer.")] = 30.0,
) -> None:
    """Create a credential offer; print {"offer_uri", "tx_code", "offer_id", "credential_offer_uri", …}."""
    import httpx

    from govssi.cli._files import read_json_object

    base = _check_issuer_url(url)
    key = _api_key(api_key_file)
    body: dict[str, Any] = {
        "credential_configuration_id": type_id,
        "claims": read_json_object(claims),
        "tx_code": tx_code,
    }
    if tx_code_length is not None:
        body["tx_code_length"] = tx_code_length
    try:
        response = httpx.post(
            f"{base}/admin/offers", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        fail("issuer_unavailable", f"cannot reach the issuer at {base}: {exc}")
    try:
        answer = response.json()
    except ValueError:
        fail("bad_response", f"the issuer answered HTTP {response.status_code} without JSON")
    if response.status_code != 201 or not isinstance(answer, dict):
        error = answer.get("error", "refused") if isinstance(answer, dict) else "refused"
        description = answer.get("error_description", "") if isinstance(answer, dict) else ""
        fail(str(error), f"the issuer refused the offer (HTTP {response.status_code}): {description}")
    if qr_svg is not None:
        qr_svg.write_text(str(answer.get("qr_svg", "")), encoding="utf-8")
    emit(
        {
            "offer_uri": answer["offer_uri"],
            "tx_code": answer["tx_code"],
            "offer_id": answer["offer_id"],
            "credential_offer_uri": answer["credential_offer_uri"],
            "offer_uri_by_value": answer["offer_uri_by_value"],
            "expires_at": answer["expires_at"],
        }
    )


@app.command("make-ca")
@guarded
def make_ca(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where to write ca.pem and ca.key.json \\[default: $GOVSSI_DATA_DIR/issuer/ca]."),
    ] = None,
    common_name: Annotated[str, typer.Option("--common-name", help="The CA's name.")] = "govssi Demo-CA",
    issuer_key: Annotated[
        Path | None, typer.Option("--issuer-key", help="An issuer's key (JWK or key file) to certify as well.")
    ] = None,
    issuer_url: Annotated[
        str | None, typer.Option("--issuer-url", help="The credential issuer URL for that certificate.")
    ] = None,
    issuer_name: Annotated[str, typer.Option("--issuer-name", help="The authority's name.")] = "Demo-Behörde",
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the issuer's chain (PEM).")] = None,
) -> None:
    """Create a demo CA (development only) and optionally an issuer certificate; print where they are."""
    import time

    from govssi.cli._files import PASSPHRASE_ENV, load_public
    from issuer import CertificateAuthority, IssuerSettings
    from issuer.storage import Authority
    from ssi.x509 import certificate_to_pem, spki_sha256

    if (issuer_key is None) != (issuer_url is None) or (issuer_key is not None and out is None):
        usage_error("--issuer-key, --issuer-url and --out go together")
    target = directory or IssuerSettings().resolved_ca_dir()
    if (target / "ca.pem").exists() or (target / "ca.key.json").exists():
        fail("exists", f"{target} already holds a CA; refusing to overwrite it")
    passphrase = os.environ.get(PASSPHRASE_ENV) or None
    ca = CertificateAuthority.create_files(target, passphrase=passphrase, now=time.time(), common_name=common_name)
    result: dict[str, Any] = {
        "ca_cert": str(target / "ca.pem"),
        "ca_key": str(target / "ca.key.json"),
        "ca_key_encrypted": passphrase is not None,
        "ca_spki_sha256": spki_sha256(ca.certificate).hex(),
    }
    if issuer_key is not None and issuer_url is not None and out is not None:
        from ssi.oid4vci import check_credential_issuer_identifier

        check_credential_issuer_identifier(issuer_url, allow_http_loopback=True)
        authority = Authority(0, "cli", issuer_name, issuer_name, None)
        leaf = ca.certify(load_public(issuer_key), authority, issuer_url, now=time.time())
        out.write_bytes(certificate_to_pem(leaf))
        result["issuer_certificate"] = str(out)
        result["issuer_spki_sha256"] = spki_sha256(leaf).hex()
    emit(result)


# -- the clerk's commands against the admin API ------------------------------------------------------------------------

ApiKeyFile = Annotated[
    Path | None, typer.Option("--api-key-file", help=f"File holding the API key \\[default: ${API_KEY_ENV}].")
]
IssuerUrl = Annotated[str, typer.Option("--url", help="The credential issuer URL (…/issuers/<authority>).")]
CredentialOption = Annotated[str, typer.Option("--credential", help="The credential id (from `credentials`).")]
Timeout = Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the issuer.")]


def _admin_call(
    method: str, url: str, path: str, api_key_file: Path | None, timeout: float, **kwargs: Any
) -> dict[str, Any]:
    """One admin API request; the issuer's error object (or an unreachable issuer) ends the command with exit 1."""
    import httpx

    base = _check_issuer_url(url)
    key = _api_key(api_key_file)
    try:
        response = httpx.request(
            method, f"{base}/admin{path}", headers={"Authorization": f"Bearer {key}"}, timeout=timeout, **kwargs
        )
    except httpx.HTTPError as exc:
        fail("issuer_unavailable", f"cannot reach the issuer at {base}: {exc}")
    try:
        answer = response.json()
    except ValueError:
        fail("bad_response", f"the issuer answered HTTP {response.status_code} without JSON")
    if response.status_code >= 300 or not isinstance(answer, dict):
        error = answer.get("error", "refused") if isinstance(answer, dict) else "refused"
        description = answer.get("error_description", "") if isinstance(answer, dict) else ""
        fail(str(error), f"the issuer refused (HTTP {response.status_code}): {description}")
    return answer


def _credential_path(credential: str) -> str:
    import re

    if not re.fullmatch(r"c[A-Za-z0-9_-]{1,31}", credential):
        usage_error("--credential is a credential id as `govssi issuer credentials` lists them (c…)")
    return f"/credentials/{credential}"


@app.command("credentials")
@guarded
def credentials(
    url: IssuerUrl,
    type_id: Annotated[str | None, typer.Option("--type", help="Only this credential type.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only credentials in this status: valid, revoked, suspended.")
    ] = None,
    offer_id: Annotated[str | None, typer.Option("--offer", help="Only credentials issued for this offer.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many, newest first.")] = 100,
    api_key_file: ApiKeyFile = None,
    timeout: Timeout = 30.0,
) -> None:
    """List issued credentials (metadata only: type, times, status, holder-key thumbprint, status list entry)."""
    if status is not None and status not in ("valid", "revoked", "suspended"):
        usage_error("--status is valid, revoked or suspended")
    params: dict[str, Any] = {"limit": limit}
    for name, value in (("type", type_id), ("status", status), ("offer", offer_id)):
        if value is not None:
            params[name] = value
    answer = _admin_call("GET", url, "/credentials", api_key_file, timeout, params=params)
    emit({"credentials": answer.get("credentials", [])})


def _change(action: str, url: str, credential: str, api_key_file: Path | None, timeout: float) -> None:
    answer = _admin_call("POST", url, f"{_credential_path(credential)}/{action}", api_key_file, timeout)
    record = answer.get("credential", {})
    emit(
        {
            "credential_id": credential,
            "action": action,
            "status": record.get("status", answer.get("status")),
            "changed": credential in answer.get("changed", []),
            "status_list": record.get("status_list"),
        }
    )


@app.command("revoke")
@guarded
def revoke(
    url: IssuerUrl, credential: CredentialOption, api_key_file: ApiKeyFile = None, timeout: Timeout = 30.0
) -> None:
    """Revoke a credential (final; the status list shows INVALID within the publication window)."""
    _change("revoke", url, credential, api_key_file, timeout)


@app.command("suspend")
@guarded
def suspend(
    url: IssuerUrl, credential: CredentialOption, api_key_file: ApiKeyFile = None, timeout: Timeout = 30.0
) -> None:
    """Suspend a credential (SUSPENDED until unsuspended)."""
    _change("suspend", url, credential, api_key_file, timeout)


@app.command("unsuspend")
@guarded
def unsuspend(
    url: IssuerUrl, credential: CredentialOption, api_key_file: ApiKeyFile = None, timeout: Timeout = 30.0
) -> None:
    """Make a suspended credential valid again."""
    _change("unsuspend", url, credential, api_key_file, timeout)


@app.command("status-list")
@guarded
def status_list(
    url: IssuerUrl, credential: CredentialOption, api_key_file: ApiKeyFile = None, timeout: Timeout = 30.0
) -> None:
    """The status list URI and index of a credential (its ``status.status_list``), and its status."""
    record = _admin_call("GET", url, _credential_path(credential), api_key_file, timeout)
    entry = record.get("status_list") or {}
    emit(
        {"credential_id": credential, "uri": entry.get("uri"), "idx": entry.get("idx"), "status": record.get("status")}
    )


@audit_app.command("verify")
@guarded
def audit_verify(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="The issuer's database \\[default: $GOVSSI_DATABASE_URL, else the SQLite file in $GOVSSI_DATA_DIR].",
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="A head kept outside the database, SEQ:HASH: the log must still contain it."),
    ] = None,
) -> None:
    """Recompute the audit log's hash chain; print the result; exit 1 unless it verifies."""
    from infra.audit import AuditHead, verify_audit_log
    from issuer import IssuerSettings

    trusted: AuditHead | None = None
    if head is not None:
        seq, _, digest = head.partition(":")
        if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            usage_error("--head is SEQ:HASH (a number, a colon, 64 lower-case hex digits)")
        trusted = AuditHead(int(seq), digest)
    url = database_url or IssuerSettings().effective_database_url()
    result = verify_audit_log(url, trusted_head=trusted)
    if not result.get("ok"):
        result.setdefault("error", str(result.get("reason") or "audit_log_broken"))
        result.setdefault(
            "error_description",
            f"the audit log does not verify at seq {result.get('first_bad_seq')} ({result.get('reason')})",
        )
        emit(result)
        sys.stderr.write(f"govssi: {result['error_description']}\n")
        raise typer.Exit(1)
    emit(result)
    sys.stderr.write(f"govssi: audit log verified: {result['entries']} entries\n")


@app.command("after-restore")
@guarded
def after_restore(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="The restored database \\[default: $GOVSSI_DATABASE_URL, else the SQLite file in $GOVSSI_DATA_DIR].",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="The issuer's public URL \\[default: $GOVSSI_ISSUER_PUBLIC_URL]."),
    ] = None,
    skip_lists: Annotated[
        int, typer.Option("--skip-lists", min=0, max=10000, help="Status list numbers to leave out (lost period).")
    ] = 10,
) -> None:
    """Prepare a restored database before the issuer starts on it: no status index or offer is used twice and
    verifiers see a new anchored status list version, not a rolled-back one."""
    from infra.db import create_engine
    from issuer import IssuerSettings
    from issuer.restore import prepare_restored_database

    settings = IssuerSettings()
    engine = create_engine(database_url or settings.effective_database_url())
    try:
        report = prepare_restored_database(
            engine,
            public_url=public_url or settings.public_url or None,
            skip_lists=skip_lists,
            size=settings.status_list_size,
            fill=settings.status_list_fill,
        )
    except ValueError as exc:
        usage_error(str(exc))
    finally:
        engine.dispose()
    emit(report.to_json())
    sys.stderr.write("govssi: restored database prepared; start the issuer\n")
