"""`govssi verifier`: The OpenID4VP verifier: serve it, and the relying party's commands against a running verifier.

- ``serve [--port P] [--host H] [--chain auto|poa] [--workers N]``: the verifier (``verifier.create_app``) under
  uvicorn (``--workers``: N processes, each on its own socket of one ``SO_REUSEPORT`` group on the port, sharing the
  session store). Public
  base URL ``GOVSSI_VERIFIER_PUBLIC_URL`` (HTTPS), or ``http://127.0.0.1:<port>`` with ``GOVSSI_DEV_ALLOW_HTTP=1``.
  Issuer trust anchors ``GOVSSI_VERIFIER_TRUST_ANCHORS`` (PEM); the chain ``GOVSSI_CHAIN_RPC`` (accreditation, status
  anchors, did:ethr) or, with ``--chain poa``, every node of the PoA network of ``govssi ledger network`` in
  ``$GOVSSI_DATA_DIR/poa``; sessions in the database or ``GOVSSI_REDIS_URL``. Prints one JSON line when ready.
- ``request --url U (--dcql F.json | --preset NAME) [--flow cross_device|same_device] [--response-mode M]
  [--redirect-uri URI]``: a presentation request →
  ``{"authorization_request": "openid4vp://?client_id=…&request_uri=…", "request_uri": …, "session": …}``.
- ``result --url U --session S [--response-code C] [--wait SECONDS]``: the verified claims per Credential Query
  (exit 0), or the refusal / the wallet's error (exit 1); ``{"status": "pending"}`` with exit 1 while undecided.

The relying party's API key (when the verifier requires one) comes from ``GOVSSI_VERIFIER_API_KEY``, never from the
command line. Output is one JSON object — a stable interface for scripts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import typer

from govssi.cli._output import emit, fail, guarded, usage_error

app = typer.Typer(
    help="The OpenID4VP verifier: serve it, and the relying party's commands against a running verifier.",
    no_args_is_help=True,
)

API_KEY_ENV = "GOVSSI_VERIFIER_API_KEY"


def _base(url: str) -> str:
    parts = urlsplit(url)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        usage_error("--url must be https:// (plain http only to 127.0.0.1)")
    return url.rstrip("/")


def _headers() -> dict[str, str]:
    key = os.environ.get(API_KEY_ENV)
    return {"Authorization": f"Bearer {key}"} if key else {}


def _call(method: str, url: str, **kwargs: Any) -> Any:
    import httpx

    try:
        with httpx.Client(timeout=30, follow_redirects=False) as http:
            return http.request(method, url, headers=_headers(), **kwargs)
    except httpx.HTTPError as exc:
        fail("unreachable", f"the verifier at {url} cannot be reached: {type(exc).__name__}")


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        fail("bad_response", f"the verifier answered HTTP {response.status_code} without JSON")
    if not isinstance(body, dict):
        fail("bad_response", "the verifier's answer is not a JSON object")
    return body


@app.command("serve")
@guarded
def serve(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free port).")] = 8070,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (behind a TLS proxy in production).")] = (
        "127.0.0.1"
    ),
    chain_kind: Annotated[
        str,
        typer.Option(
            "--chain",
            help="auto: GOVSSI_CHAIN_RPC (unset: no chain); poa: every node of the PoA network that `govssi ledger "
            "network` runs from $GOVSSI_DATA_DIR/poa (failover).",
        ),
    ] = "auto",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes (uvicorn), each on its own SO_REUSEPORT socket of the port; they share sessions "
            "through the database or GOVSSI_REDIS_URL.",
        ),
    ] = 1,
) -> None:
    """Serve the verifier until SIGTERM or Ctrl-C; print one JSON line when it is ready."""
    import uvicorn

    from govssi.cli._serving import serve_announced, worker_sockets
    from govssi.cli.issuer import listening_socket
    from infra.http import configure_json_logging
    from verifier import VerifierSettings, build_verifier, create_app

    if chain_kind not in ("auto", "poa"):
        usage_error("--chain is auto or poa")
    configure_json_logging()
    settings = VerifierSettings()
    if chain_kind == "poa":
        from ledger.poa.network import network_urls

        settings = settings.model_copy(update={"chain_rpc": ",".join(network_urls(settings.data_dir / "poa"))})
    # IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then — without it every response after the
    # first on a keep-alive connection waited ~40 ms for the client's delayed ACK (Nagle's algorithm). With
    # --workers, one socket per worker (SO_REUSEPORT): the kernel spreads connections over the workers evenly.
    try:
        if workers > 1:
            sockets = worker_sockets(host, port, workers)
        else:
            sockets = [listening_socket(host)]
            sockets[0].bind((host, port))
    except OSError as exc:
        fail("address_in_use", f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    port = int(sockets[0].getsockname()[1])
    if not settings.public_url:
        if not settings.dev_allow_http:
            usage_error("set GOVSSI_VERIFIER_PUBLIC_URL (https://…), or GOVSSI_DEV_ALLOW_HTTP=1 for http://127.0.0.1")
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    service = build_verifier(settings)
    ready = {
        "verifier_url": settings.public_url,
        "client_id_prefix": settings.client_id_prefix,
        "response_mode": settings.response_mode,
        "chain": bool(settings.chain_rpc_urls()),
        "chain_rpc": settings.chain_rpc_urls(),
        "sessions": "redis" if settings.redis_url else "database",
        "ca": str(settings.resolved_ca_dir() / "ca.pem") if settings.client_id_prefix.startswith("x509") else None,
        "workers": workers,
    }
    # built here also with --workers: the keys, the CA and the OpenID Provider's secrets exist before workers start
    verifier_app = create_app(settings, service=service)

    def announce() -> None:
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        sys.stderr.write(f"govssi: verifier at {settings.public_url} (listening on {host}:{port})\n")
        sys.stderr.flush()

    if workers > 1:
        _serve_workers(settings, sockets, announce)
        sys.stderr.write("govssi: verifier stopped\n")
        return
    config = uvicorn.Config(verifier_app, log_level="warning", access_log=False, lifespan="on")
    serve_announced(uvicorn.Server(config), sockets[0], announce)
    sys.stderr.write("govssi: verifier stopped\n")


def _serve_workers(settings: Any, sockets: list[Any], announce: Any) -> None:
    """One spawned uvicorn process per listening socket (:class:`govssi.cli._serving.WorkerSlots`; each builds its
    app with :func:`worker_app` from the environment); ready once every worker serves."""
    import uvicorn

    from govssi.cli._serving import WorkerSlots

    # what the parent decided and the workers cannot (the port-derived URL, the PoA nodes)
    os.environ["GOVSSI_VERIFIER_PUBLIC_URL"] = settings.public_url
    if settings.chain_rpc:
        os.environ["GOVSSI_CHAIN_RPC"] = settings.chain_rpc
    config = uvicorn.Config(
        "govssi.cli.verifier:worker_app",
        factory=True,
        workers=len(sockets),
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    WorkerSlots(config, sockets, on_ready=announce).run()


def worker_app() -> Any:
    """The ASGI app of one ``serve --workers`` process: settings from the environment the parent completed."""
    from infra.http import configure_json_logging
    from verifier import VerifierSettings, build_verifier, create_app

    configure_json_logging()
    settings = VerifierSettings()
    return create_app(settings, service=build_verifier(settings))


@app.command("request")
@guarded
def request(
    url: Annotated[str, typer.Option("--url", help="The verifier's base URL.")],
    dcql: Annotated[Path | None, typer.Option("--dcql", help="A JSON file with the DCQL query.")] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="A named query of the verifier instead.")] = None,
    flow: Annotated[str, typer.Option("--flow", help="cross_device (QR) or same_device.")] = "cross_device",
    response_mode: Annotated[
        str | None, typer.Option("--response-mode", help="direct_post.jwt (default) or direct_post.")
    ] = None,
    redirect_uri: Annotated[
        str | None, typer.Option("--redirect-uri", help="same_device: where the wallet sends the browser back.")
    ] = None,
) -> None:
    """Create a presentation request; print the authorization request to give the wallet and the session."""
    if (dcql is None) == (preset is None):
        usage_error("give --dcql F.json or --preset NAME")
    if flow not in ("cross_device", "same_device"):
        usage_error("--flow is cross_device or same_device")
    body: dict[str, Any] = {"flow": flow}
    if dcql is not None:
        try:
            body["dcql_query"] = json.loads(dcql.read_text(encoding="utf-8"))
        except ValueError:
            usage_error(f"{dcql} is not JSON")
    else:
        body["preset"] = preset
    if response_mode is not None:
        body["response_mode"] = response_mode
    if redirect_uri is not None:
        body["redirect_uri"] = redirect_uri
    response = _call("POST", f"{_base(url)}/api/presentations", json=body)
    answer = _json(response)
    if response.status_code != 201:
        fail(str(answer.get("error", "refused")), str(answer.get("error_description", f"HTTP {response.status_code}")))
    # the stable interface (issue 10): exactly these three keys
    emit(
        {
            "authorization_request": answer["authorization_request"],
            "request_uri": answer.get("request_uri"),
            "session": answer["session"],
        }
    )
    sys.stderr.write("govssi: presentation request created; give authorization_request to the wallet\n")


@app.command("result")
@guarded
def result(
    url: Annotated[str, typer.Option("--url", help="The verifier's base URL.")],
    session: Annotated[str, typer.Option("--session", help="The session of `govssi verifier request`.")],
    response_code: Annotated[
        str | None, typer.Option("--response-code", help="same_device: the response_code of the redirect.")
    ] = None,
    wait: Annotated[float, typer.Option("--wait", min=0, max=3600, help="Seconds to wait for the wallet.")] = 0,
) -> None:
    """Fetch the result once: verified claims (exit 0), or the refusal or wallet error (exit 1)."""
    target = f"{_base(url)}/api/presentations/{quote(session, safe='')}/result"
    params = {"response_code": response_code} if response_code else None
    deadline = time.monotonic() + wait
    while True:
        response = _call("GET", target, params=params)
        answer = _json(response)
        if response.status_code != 202 or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if response.status_code == 202:
        emit(answer)
        sys.stderr.write(f"govssi: the wallet has not answered yet ({answer.get('status')})\n")
        raise typer.Exit(1)
    if response.status_code != 200:
        fail(str(answer.get("error", "refused")), str(answer.get("error_description", f"HTTP {response.status_code}")))
    emit(answer)
    if answer.get("status") != "verified":
        sys.stderr.write(f"govssi: not verified: {answer.get('reason') or answer.get('error')}\n")
        raise typer.Exit(1)
    sys.stderr.write("govssi: presentation verified\n")
